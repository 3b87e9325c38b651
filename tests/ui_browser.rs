//! The review workbench in a real headless Chromium (Debian's `chromium` and `chromedriver`,
//! installed by `fixtures/install-deps`), driven over WebDriver by `tests/support/browser.rs`.
//!
//! Screenshots are written to `$CARGO_TARGET_TMPDIR/ui-screenshots/<test>-<step>.png`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::json;
use support::browser::{answer_confirm_dialog, keys, screenshot_dir, view_every_still, Browser};
use support::web::Web;
use support::{pending_match, register_work, street, street_variant, submit_suspect, Daemon, Site};

// ---- the plumbing, proven on a static page ---------------------------------------------------

const PLUMBING_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Plumbing page</title>
<style>body{font:16px sans-serif;margin:2em} #out{color:#060;font-weight:bold}
 .box{width:300px;height:120px;background:linear-gradient(90deg,#c33,#33c);margin:1em 0}</style>
</head><body data-role="tester">
<h1>WebDriver plumbing 微短剧</h1>
<div class="box"></div>
<form id="f" action="/submitted" method="get">
  <input name="q" id="q" value="preset">
  <button type="button" id="go">Show it</button>
  <button type="submit" id="send">Send</button>
</form>
<p id="out">nothing yet</p>
<p id="keys"></p>
<ul id="list"><li>one</li><li>two</li><li>three</li></ul>
<script>
document.getElementById('go').addEventListener('click', function () {
  document.getElementById('out').textContent = 'clicked: ' + document.getElementById('q').value;
});
document.addEventListener('keydown', function (e) {
  if (e.target && e.target.tagName === 'INPUT') return;
  document.getElementById('keys').textContent += e.key + ',';
});
setTimeout(function () {
  var p = document.createElement('p'); p.id = 'late'; p.textContent = 'late arrival';
  document.body.appendChild(p);
}, 700);
</script>
</body></html>"#;

/// Serves `PLUMBING_PAGE` for `/`, an echo page for `/submitted?...`, 404 otherwise, from a
/// thread on 127.0.0.1; returns the base URL. The thread lives as long as the test process.
fn serve_static_page() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // A connection Chromium opens and never uses must not block the next request.
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                match reader.read_line(&mut header) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if header.trim().is_empty() => break,
                    Ok(_) => {}
                }
            }
            let target = request_line.split(' ').nth(1).unwrap_or("/").to_string();
            let (status, body) = if target == "/" {
                ("200 OK", PLUMBING_PAGE.to_string())
            } else if let Some(query) = target.strip_prefix("/submitted?") {
                let query = query.replace('&', "&amp;").replace('<', "&lt;");
                (
                    "200 OK",
                    format!("<!doctype html><title>Submitted</title><p id=\"query\">{query}</p>"),
                )
            } else {
                ("404 Not Found", "<title>Not found</title>".to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

#[test]
fn the_browser_client_drives_a_real_page() {
    let base = serve_static_page();
    let started = Instant::now();
    let browser = Browser::start("plumbing");
    let startup = started.elapsed();
    println!(
        "chromedriver ready after {:?}; session (Chromium start) {:?}; total start-up {startup:?}",
        browser.startup.chromedriver_ready, browser.startup.session_created
    );

    let t = Instant::now();
    browser.goto(&format!("{base}/"));
    println!("first page load {:?}", t.elapsed());
    assert_eq!(browser.title(), "Plumbing page");
    assert_eq!(browser.current_url(), format!("{base}/"));
    assert_eq!(
        browser.find("body").attribute("data-role").as_deref(),
        Some("tester")
    );
    assert!(browser.find("h1").text().contains("微短剧"));
    assert_eq!(browser.find_all("#list li").len(), 3);
    assert!(browser.try_find("#nothing-here").is_none());

    // Type into the input, click the JS-handled button.
    let input = browser.find("input[name=q]");
    assert_eq!(input.property("value"), json!("preset"));
    input.fill("hello <world>");
    assert_eq!(input.property("value"), json!("hello <world>"));
    browser.find("#go").click();
    assert_eq!(browser.find("#out").text(), "clicked: hello <world>");

    // Page-level key presses through the Actions API (focus away from the input first).
    browser.execute("document.activeElement.blur();", &[]);
    browser.press_keys("jk");
    browser.press_keys(keys::ENTER);
    assert_eq!(browser.find("#keys").text(), "j,k,Enter,");

    // execute() with element and plain arguments, returning JSON.
    let list = browser.find("#list");
    let got = browser.execute(
        "return [arguments[0].children.length, arguments[1] * 2, document.title];",
        &[list.as_arg(), json!(21)],
    );
    assert_eq!(got, json!([3, 42, "Plumbing page"]));

    // An element that appears later.
    let t = Instant::now();
    assert_eq!(
        browser.wait_for("#late", Duration::from_secs(10)).text(),
        "late arrival"
    );
    println!("#late appeared after {:?}", t.elapsed());

    // A screenshot: a real, decodable PNG of the page.
    let t = Instant::now();
    let path = browser.snap("page");
    println!("screenshot took {:?}", t.elapsed());
    let png = std::fs::read(&path).expect("reading the screenshot");
    assert!(png.len() > 1024, "screenshot is only {} bytes", png.len());
    let image = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .expect("the screenshot decodes as PNG");
    // --window-size=1280,1000 is the window; the viewport is as wide and a little shorter.
    assert!(
        image.width() == 1280 && image.height() > 600,
        "viewport {}x{}",
        image.width(),
        image.height()
    );
    println!("screenshots in {}", screenshot_dir().display());

    // A real form submission navigates (GET with the typed value).
    browser.find("#send").click();
    browser.wait_for("#query", Duration::from_secs(10));
    assert!(
        browser
            .current_url()
            .starts_with(&format!("{base}/submitted?q=hello")),
        "{}",
        browser.current_url()
    );
    assert_eq!(browser.find("#query").text(), "q=hello+%3Cworld%3E");

    // A missing element panics with the URL and the page title in the message.
    let message = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        browser.find("#definitely-missing");
    }))
    .expect_err("find() of a missing element panics");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("#definitely-missing")
            && message.contains("/submitted?q=")
            && message.contains("Submitted"),
        "{message}"
    );

    let t = Instant::now();
    drop(browser);
    println!("session end + chromedriver kill {:?}", t.elapsed());
    println!("whole test {:?}", started.elapsed());
}

// ---- the review workbench ------------------------------------------------------------------

const TITLE: &str = "Street Hearts";

/// Panics with a clear message if this build has no review workbench under `/ui/`.
fn require_workbench(daemon: &Daemon) {
    let r = support::call("GET", &daemon.url("/ui/login"), None, None);
    assert!(
        r.status == 200 && r.text.contains("form") && r.text.contains("login"),
        "GET /ui/login answered {} ({} bytes): the review workbench (the /ui/ contract: \
         form#login, /ui/queue, /ui/matches/{{id}}, /ui/notices/{{id}}, /ui/member) is not \
         in this build",
        r.status,
        r.text.len()
    );
}

/// A plain GET of `url` outside the browser, with the browser's cookies.
fn get_with_cookies(daemon: &Daemon, browser: &Browser, url: &str) -> support::web::Page {
    Web::with_cookies(daemon, &browser.cookie_header()).fetch(url)
}

/// Polls until the current URL's path is `path` (query ignored).
fn wait_for_path(browser: &Browser, base: &str, path: &str) {
    support::poll(Duration::from_secs(15), Duration::from_millis(50), || {
        let url = browser.current_url();
        let here = url.strip_prefix(base).unwrap_or(&url);
        if here.split(['?', '#']).next() == Some(path) {
            Ok(())
        } else {
            Err(format!(
                "expected to land on {path}, still {}",
                browser.where_am_i()
            ))
        }
    })
}

/// Logs in through `form#login` and checks where `/ui/` sends this role.
fn log_in(browser: &Browser, daemon: &Daemon, key: &str, role: &str, lands_on: &str) {
    browser.goto(&daemon.url("/ui/login"));
    let form = browser.find("form#login");
    assert!(
        form.try_find("input[name=csrf]").is_some(),
        "form#login has no hidden input[name=csrf] {}",
        browser.where_am_i()
    );
    form.find("input[name=key]").fill(key);
    form.find("button[type=submit]").click();
    wait_for_path(browser, &daemon.base, lands_on);
    assert_eq!(
        browser.find("body").attribute("data-role").as_deref(),
        Some(role),
        "body[data-role] {}",
        browser.where_am_i()
    );
    assert!(
        browser.try_find("form#logout").is_some(),
        "no form#logout {}",
        browser.where_am_i()
    );
}

/// Submits `form#logout` (its submit button if it has one) and checks the session is gone.
fn log_out(browser: &Browser, daemon: &Daemon) {
    let form = browser.find("form#logout");
    let before = browser.current_url();
    match form.try_find("button, input[type=submit]") {
        Some(button) => button.click(),
        None => {
            browser.execute("arguments[0].submit();", &[form.as_arg()]);
        }
    }
    let started = Instant::now();
    while browser.current_url() == before && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    browser.goto(&daemon.url("/ui/queue"));
    assert!(
        browser.try_find("table#queue").is_none() && browser.try_find("form#login").is_some(),
        "after submitting form#logout, /ui/queue should give the login page {}",
        browser.where_am_i()
    );
}

/// Polls until every `img` matching `css` has loaded (`naturalWidth > 0`); at least `min`.
fn wait_for_images(browser: &Browser, daemon: &Daemon, css: &str, min: usize, timeout: Duration) {
    let script = "var imgs = Array.from(document.querySelectorAll(arguments[0]));
        return imgs.length >= arguments[1] && imgs.every(function (i) {
          return i.complete && i.naturalWidth > 0; });";
    let started = Instant::now();
    loop {
        if browser.execute(script, &[json!(css), json!(min)]) == json!(true) {
            println!("`{css}` loaded after {:?}", started.elapsed());
            return;
        }
        if started.elapsed() > timeout {
            let state = browser.execute(
                "return Array.from(document.querySelectorAll(arguments[0])).map(function (i) {
                   return {src: i.currentSrc || i.src, complete: i.complete,
                           naturalWidth: i.naturalWidth}; });",
                &[json!(css)],
            );
            let fetched: Vec<String> = state
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["src"].as_str())
                .map(|src| {
                    let page = get_with_cookies(daemon, browser, src);
                    let (status, content_type) = (page.status, page.content_type);
                    format!(
                        "{src}: HTTP {status} {content_type} {} bytes",
                        page.bytes.len()
                    )
                })
                .collect();
            panic!(
                "`{css}`: want at least {min} images, all loaded, within {timeout:?}; they \
                 are {state}; fetched outside the browser: {fetched:?} {}",
                browser.where_am_i()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The first integer in `text`.
fn first_number(text: &str) -> Option<u64> {
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Whether `value` (any depth) contains a string or number equal to `wanted`.
fn json_contains(value: &serde_json::Value, wanted: &str) -> bool {
    match value {
        serde_json::Value::String(s) => s == wanted,
        serde_json::Value::Number(n) => n.to_string() == wanted,
        serde_json::Value::Array(items) => items.iter().any(|v| json_contains(v, wanted)),
        serde_json::Value::Object(map) => map.values().any(|v| json_contains(v, wanted)),
        _ => false,
    }
}

const CONFIRM: &str = "form#decision button[name=decision][value=confirm]";

/// Loads the match page in a window too short to show the stills, and checks that confirm is
/// disabled while none has been seen. The window stays short: the caller restores it.
fn confirm_waits_for_the_stills(browser: &Browser, daemon: &Daemon, url: &str) {
    browser.set_window_size(1280, 420);
    // Without the fragment, so that this is a new load rather than a jump within the page.
    browser.goto(url.split('#').next().unwrap_or(url));
    browser.execute("window.scrollTo(0, 0);", &[]);
    wait_for_images(
        browser,
        daemon,
        ".thumb-pair img",
        1,
        Duration::from_secs(20),
    );
    assert_eq!(
        browser.find(CONFIRM).property("disabled"),
        json!(true),
        "confirm is enabled before any still was viewed {}",
        browser.where_am_i()
    );
}

#[test]
fn a_reviewer_confirms_a_match_and_finds_the_notice() {
    let started = Instant::now();
    let site = Site::start(&[]);
    let daemon = &site.daemon;
    let studio_a = site.key("studio-a", "member");
    let studio_b = site.key("studio-b", "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");
    let work_id = register_work(daemon, &studio_a, TITLE, Some("ST-001"), &street(1));
    submit_suspect(
        daemon,
        &crawler,
        &[
            ("platform", "douyin"),
            ("url", "https://video.example/v/123"),
            ("uploader", "copycat"),
            ("title_seen", "Street ep1"),
            ("found_at", "1700000000"),
            ("filename", "v123.mp4"),
        ],
        &street_variant(1, "mirror"),
    );
    let api_match = pending_match(daemon, &reviewer, &work_id);
    let match_id = api_match["id"].as_i64().expect("match id");
    println!(
        "daemon, work and pending match ready after {:?}",
        started.elapsed()
    );
    require_workbench(daemon);

    let browser = Browser::start("reviewer");
    println!(
        "browser up after {:?} (chromedriver {:?}, session {:?})",
        started.elapsed(),
        browser.startup.chromedriver_ready,
        browser.startup.session_created
    );

    // A bad key: the login page again, with an error.
    browser.goto(&daemon.url("/ui/login"));
    browser.find("form#login input[name=key]").fill("not-a-key");
    browser.find("form#login button[type=submit]").click();
    browser.wait_for("form#login .error, .error", Duration::from_secs(10));
    assert!(
        browser.try_find("form#login").is_some(),
        "a bad key shows the login form again {}",
        browser.where_am_i()
    );
    browser.snap("1-bad-key");

    // The reviewer logs in and lands on the queue.
    log_in(&browser, daemon, &reviewer, "reviewer", "/ui/queue");
    let row_css = format!("table#queue tbody tr.match-row[data-match-id=\"{match_id}\"]");
    let rows = browser.find_all("table#queue tbody tr.match-row");
    assert_eq!(rows.len(), 1, "one match listed {}", browser.where_am_i());
    let count = browser.find("#queue-count").text();
    assert_eq!(
        first_number(&count),
        Some(1),
        "#queue-count reads {count:?}"
    );
    let row = browser.find(&row_css);
    assert!(row.find("td.title").text().contains(TITLE));
    assert!(row.find("td.platform").text().contains("douyin"));
    assert!(first_number(&row.find("td.score").text()).is_some());
    let open = row.find("a.open-match");
    assert_eq!(
        open.attribute("href").as_deref(),
        Some(format!("/ui/matches/{match_id}").as_str())
    );
    let filters = browser.find("form#filters");
    for field in ["work_id", "member", "platform", "min_score", "max_age_days"] {
        assert!(
            filters.try_find(&format!("[name={field}]")).is_some(),
            "form#filters has no field named {field} {}",
            browser.where_am_i()
        );
    }
    browser.snap("2-queue");

    // The filters are a GET form: another platform lists nothing, the right one lists it.
    browser.goto(&daemon.url("/ui/queue?platform=kuaishou"));
    assert_eq!(browser.find_all("table#queue tbody tr.match-row").len(), 0);
    assert_eq!(first_number(&browser.find("#queue-count").text()), Some(0));
    browser.goto(&daemon.url("/ui/queue?platform=douyin"));
    assert_eq!(browser.find_all("table#queue tbody tr.match-row").len(), 1);

    // Keyboard: j selects the (only) row, o opens it.
    browser.goto(&daemon.url("/ui/queue"));
    browser.find(&row_css);
    browser.execute(
        "if (document.activeElement) document.activeElement.blur();",
        &[],
    );
    browser.press_keys("j");
    let selected = browser.find_all("table#queue tbody tr.match-row.selected");
    assert_eq!(
        selected.len(),
        1,
        "j selects one row {}",
        browser.where_am_i()
    );
    assert_eq!(
        selected[0].attribute("data-match-id"),
        Some(match_id.to_string())
    );
    browser.press_keys("o");
    let match_path = format!("/ui/matches/{match_id}");
    wait_for_path(&browser, &daemon.base, &match_path);

    // The match page: title, sources, timeline, transformation, score, state, stills.
    let h1 = browser.find("h1").text();
    assert!(h1.contains(TITLE) && h1.contains('1'), "h1 reads {h1:?}");
    let sources = browser.find("table#sources");
    let sources_text = sources.text();
    for seen in ["douyin", "copycat", "Street ep1"] {
        assert!(
            sources_text.contains(seen),
            "table#sources lacks {seen:?}: {sources_text}"
        );
    }
    assert!(
        sources
            .try_find("a[href=\"https://video.example/v/123\"]")
            .is_some(),
        "the https source URL is a link {}",
        browser.where_am_i()
    );
    let segments = browser.find_all("#timeline rect.segment");
    assert!(!segments.is_empty(), "no #timeline rect.segment");
    let api_segments = api_match["segments"].as_array().map_or(0, Vec::len);
    assert_eq!(
        segments.len(),
        api_segments,
        "one rect.segment per matched segment"
    );
    let transformation = browser.find("#transformation");
    assert!(
        transformation
            .attribute("data-edits")
            .is_some_and(|e| e.split(',').any(|t| t == "mirror")),
        "#transformation[data-edits] reads {:?}",
        transformation.attribute("data-edits")
    );
    assert!(
        transformation.text().contains("镜像"),
        "#transformation reads {:?}",
        transformation.text()
    );
    assert!(first_number(&browser.find("#score").text()).is_some());
    assert_eq!(
        browser.find("#state").attribute("data-state").as_deref(),
        Some("pending_review")
    );
    assert_eq!(browser.find("#state").text().trim(), "待审核");
    let pairs = browser.find_all(".thumb-pair");
    assert!(!pairs.is_empty(), "no .thumb-pair {}", browser.where_am_i());
    for pair in &pairs {
        pair.find("img.thumb-suspect");
        pair.find("img.thumb-registered");
    }
    wait_for_images(
        &browser,
        daemon,
        ".thumb-pair img",
        2 * pairs.len(),
        Duration::from_secs(20),
    );
    // The stills are real JPEGs.
    let src = browser
        .find(".thumb-pair img.thumb-suspect")
        .property("src")
        .as_str()
        .expect("img src")
        .to_string();
    let still = get_with_cookies(daemon, &browser, &src);
    assert_eq!(still.status, 200, "GET {src}");
    assert!(
        still.content_type.starts_with("image/jpeg"),
        "{src}: {}",
        still.content_type
    );
    assert!(
        still.bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "{src} is not a JPEG"
    );
    let decision = browser.find("form#decision");
    assert!(
        decision.try_find("input[name=csrf]").is_some(),
        "form#decision has no csrf"
    );
    decision.find("button[name=decision][value=reject]");
    browser.snap("3-match");

    // Confirm with a reason, once every still pair has been seen and the dialog answered:
    // back on the match page, confirmed, with a link to the notice.
    confirm_waits_for_the_stills(&browser, daemon, &daemon.url(&match_path));
    browser.set_window_size(1280, 1000);
    let decision = browser.find("form#decision");
    decision
        .find("textarea[name=reason]")
        .fill("same footage, mirrored");
    view_every_still(&browser);
    decision
        .find("button[name=decision][value=confirm]")
        .click();
    answer_confirm_dialog(&browser);
    browser.wait_until(
        "var s = document.querySelector('#state');
         return !!s && s.dataset.state === 'confirmed';",
        &[],
        Duration::from_secs(15),
        "#state reads confirmed after confirming",
    );
    wait_for_path(&browser, &daemon.base, &match_path);
    assert!(
        browser.try_find("form#decision").is_none(),
        "form#decision after the decision"
    );
    let notice_link = browser.find("a.notice-link");
    let notice_path = notice_link.attribute("href").expect("a.notice-link href");
    let notice_number = notice_path
        .strip_prefix("/ui/notices/")
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .unwrap_or_else(|| panic!("a.notice-link href is {notice_path:?}"))
        .to_string();
    browser.snap("4-confirmed");
    notice_link.click();
    wait_for_path(&browser, &daemon.base, &notice_path);

    // The printable notice and its JSON twin.
    let notice_id = browser.find("#notice-id").text().trim().to_string();
    assert!(!notice_id.is_empty(), "#notice-id is empty");
    let sha = browser.find("#evidence-sha256").text().trim().to_string();
    assert!(
        sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
        "#evidence-sha256 reads {sha:?}"
    );
    wait_for_images(
        &browser,
        daemon,
        "img.evidence-thumb",
        1,
        Duration::from_secs(20),
    );
    let json_link = browser.find("a#notice-json");
    assert_eq!(
        json_link.attribute("href").as_deref(),
        Some(format!("/ui/notices/{notice_number}.json").as_str())
    );
    browser.snap("5-notice");
    let json_url = json_link
        .property("href")
        .as_str()
        .expect("href")
        .to_string();
    let answer = get_with_cookies(daemon, &browser, &json_url);
    assert_eq!(answer.status, 200, "GET {json_url}: {}", answer.body);
    assert!(
        answer.content_type.starts_with("application/json"),
        "{json_url}: {}",
        answer.content_type
    );
    let notice_json: serde_json::Value =
        serde_json::from_slice(&answer.bytes).expect("notice JSON");
    assert!(
        json_contains(&notice_json, &notice_id),
        "{json_url} lacks {notice_id:?}"
    );
    assert!(
        json_contains(&notice_json, &sha),
        "{json_url} lacks the evidence hash {sha}"
    );

    // Another member: the match does not exist for them.
    log_out(&browser, daemon);
    log_in(&browser, daemon, &studio_b, "member", "/ui/member");
    browser.goto(&daemon.url(&match_path));
    assert_eq!(browser.find("h1").text().trim(), "未找到");
    assert!(
        !browser.page_source().contains(TITLE),
        "the 404 page names the work"
    );
    let status = get_with_cookies(daemon, &browser, &daemon.url(&match_path)).status;
    assert_eq!(status, 404, "studio-b GET {match_path}");
    browser.snap("6-other-member-404");

    // The owning member: their dashboard, and the match read-only.
    log_out(&browser, daemon);
    log_in(&browser, daemon, &studio_a, "member", "/ui/member");
    assert!(browser.find("table#works").text().contains(TITLE));
    browser.find("#infringement-chart svg.drama");
    browser.find("table#notices");
    browser.snap("7-member");
    browser.goto(&daemon.url(&match_path));
    assert!(browser.find("h1").text().contains(TITLE));
    assert_eq!(
        browser.find("#state").attribute("data-state").as_deref(),
        Some("confirmed")
    );
    assert!(
        browser.try_find("form#decision").is_none(),
        "the owning member sees form#decision {}",
        browser.where_am_i()
    );
    browser.snap("8-owner-read-only");
    println!("screenshots in {}", screenshot_dir().display());
    println!("whole test {:?}", started.elapsed());
}

/// The queue's keyboard shortcuts: `j` selects, `c` does not confirm but takes the reviewer to
/// the match's decision, where `c` asks once (and only after the stills were seen); `x` asks
/// for a reason and rejects from the queue.
#[test]
fn a_reviewer_decides_from_the_queue_with_the_keyboard() {
    let site = Site::start(&[]);
    let daemon = &site.daemon;
    let studio = site.key("studio", "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");
    register_work(daemon, &studio, TITLE, None, &street(1));
    for (variant, url) in [
        ("mirror", "https://video.example/v/1"),
        ("borders", "https://video.example/v/2"),
    ] {
        submit_suspect(
            daemon,
            &crawler,
            &[("platform", "douyin"), ("url", url)],
            &street_variant(1, variant),
        );
    }
    require_workbench(daemon);
    let browser = Browser::start("keyboard");
    log_in(&browser, daemon, &reviewer, "reviewer", "/ui/queue");
    assert_eq!(browser.find_all("table#queue tbody tr.match-row").len(), 2);
    assert!(
        browser
            .try_find("table#queue button[value=confirm]")
            .is_none(),
        "the queue has a one-click confirm {}",
        browser.where_am_i()
    );
    let selected = "var r = document.querySelector('tr.match-row.selected'); \
                    return r ? r.dataset.matchId : null;";
    let decided = |id: &str| {
        let r = support::call(
            "GET",
            &daemon.url(&format!("/v1/matches/{id}")),
            Some(&reviewer),
            None,
        );
        r.json
    };

    browser.execute("document.activeElement.blur();", &[]);
    browser.press_keys("j");
    let first = browser.execute(selected, &[]);
    let first = first.as_str().expect("j selects the first row").to_string();
    browser.snap("1-selected");
    browser.press_keys("c");
    wait_for_path(&browser, &daemon.base, &format!("/ui/matches/{first}"));
    assert_eq!(
        decided(&first)["state"],
        "pending_review",
        "c in the queue decided without the evidence"
    );
    confirm_waits_for_the_stills(&browser, daemon, &browser.current_url());
    browser
        .find("form#decision textarea[name=reason]")
        .fill("same footage, mirrored");
    browser.execute("document.activeElement.blur();", &[]);
    // `c` before the stills were seen confirms nothing and opens nothing.
    browser.press_keys("c");
    let dialog_open = "var d = document.getElementById('confirm-dialog'); return !!d && d.open;";
    assert_eq!(browser.execute(dialog_open, &[]), json!(false));
    assert_eq!(decided(&first)["state"], "pending_review");
    browser.set_window_size(1280, 1000);
    view_every_still(&browser);
    browser.execute("document.activeElement.blur();", &[]);
    browser.press_keys("c");
    browser.wait_until(dialog_open, &[], Duration::from_secs(5), "c to ask once");
    browser.snap("2-asks-once");
    assert_eq!(
        decided(&first)["state"],
        "pending_review",
        "c confirmed before the dialog was answered"
    );
    browser.find("#confirm-yes").click();
    browser.wait_until(
        "var s = document.querySelector('#state'); return !!s && s.dataset.state === 'confirmed';",
        &[],
        Duration::from_secs(20),
        "the match confirmed after the dialog's yes",
    );
    let m = decided(&first);
    assert_eq!(m["state"], "confirmed", "{m}");
    assert_eq!(m["decisions"][0]["reason"], "same footage, mirrored");

    browser.goto(&daemon.url("/ui/queue"));
    assert_eq!(browser.find_all("table#queue tbody tr.match-row").len(), 1);
    browser.execute("document.activeElement.blur();", &[]);
    browser.press_keys("j");
    let second = browser.execute(selected, &[]);
    let second = second
        .as_str()
        .expect("j selects the remaining row")
        .to_string();
    assert_ne!(first, second);
    browser.press_keys("x");
    browser.answer_prompt("licensed clip, not a copy", Duration::from_secs(10));
    browser.wait_until(
        "return document.querySelectorAll('tr.match-row').length === 0;",
        &[],
        Duration::from_secs(20),
        "the rejected match to leave the queue",
    );
    let m = decided(&second);
    assert_eq!(m["state"], "rejected", "{m}");
    assert_eq!(m["decisions"][0]["reason"], "licensed clip, not a copy");
    browser.snap("3-queue-empty");
}
