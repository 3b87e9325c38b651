//! The review workbench escapes what users typed: hostile strings go into every user-supplied
//! field (work title and external id, every field of a crawler's sighting, the reviewer's
//! reason) and every page that shows them is checked as HTML text — nothing raw, each in its
//! escaped form where it is shown, no `javascript:` link, the right Content-Type and a
//! Content-Security-Policy — and once more in headless Chromium, where nothing may run.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::browser::Browser;
use support::web::{tags, Form, Page, Web};
use support::{call, pending_match, register_work, street, street_variant, submit_suspect, Site};

const SCRIPT: &str = "<script>window.__pwned=1</script>";
const IMG: &str = "\"><img src=x onerror=window.__pwned=1>";
const JS_URL: &str = "javascript:window.__pwned=1";
const ATTR: &str = "' onmouseover='window.__pwned=1";
const TEXTAREA: &str = "</textarea><script>window.__pwned=1</script>";
const TEMPLATE: &str = "{{7*7}}";
const CJK: &str = "微短剧";

/// Every short hostile string, after a marker naming the field (so a page shows which field
/// it displays): at most 500 bytes, the API's limit for a work title.
fn hostile(field: &str) -> String {
    format!("{field} {SCRIPT} {IMG} {ATTR} {TEXTAREA} {TEMPLATE} {CJK}")
}

/// 2000 bytes of `&<>"'` (a source field may hold up to 2048).
fn big() -> String {
    "&<>\"'".repeat(400)
}

/// HTML-escapes all of `& < > " '` the canonical way; pages are normalised to it first.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page with every spelling of an escaped quote made canonical (`&quot;`, `&#39;`).
fn normalised(html: &str) -> String {
    html.replace("&#34;", "&quot;")
        .replace("&#x22;", "&quot;")
        .replace("&#X22;", "&quot;")
        .replace("&#x27;", "&#39;")
        .replace("&#X27;", "&#39;")
        .replace("&apos;", "&#39;")
}

// ---- the checks -----------------------------------------------------------------------------

/// The pieces that must never appear unescaped.
fn dangerous_pieces() -> Vec<String> {
    vec![
        SCRIPT.into(),
        IMG.into(),
        ATTR.into(),
        TEXTAREA.into(),
        "<img src=x".into(),
        "&<>\"'&<>\"'".into(),
    ]
}

/// Checks one HTML page; `shown` are field values the contract says this page displays.
fn check_page(what: &str, page: &Page, shown: &[&str], values: &[(&str, String)]) {
    assert!(
        page.content_type
            .eq_ignore_ascii_case("text/html; charset=utf-8"),
        "{what}: Content-Type is {:?}",
        page.content_type
    );
    assert!(
        page.csp.as_deref().is_some_and(|c| !c.trim().is_empty()),
        "{what}: no Content-Security-Policy header"
    );
    let html = &page.body;
    for piece in dangerous_pieces() {
        assert!(
            !html.contains(piece.as_str()),
            "{what}: {piece:?} appears unescaped"
        );
    }
    assert!(
        !html.to_ascii_lowercase().contains("href=\"javascript:"),
        "{what}: href=\"javascript: in the page"
    );
    let norm = normalised(html);
    for name in shown {
        let value = &values
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no field {name}"))
            .1;
        assert!(
            norm.contains(&escaped(value)),
            "{what}: the {name} {value:?} is not shown in its escaped form {:?}",
            escaped(value)
        );
    }
    // Structure: no injected elements, handlers or script URLs.
    for tag in tags(html).iter().filter(|t| !t.closing) {
        for (attr, value) in &tag.attrs {
            assert!(
                !matches!(attr.as_str(), "onerror" | "onmouseover"),
                "{what}: <{} {attr}={value:?}> is in the page",
                tag.name
            );
            if matches!(attr.as_str(), "href" | "src" | "action" | "formaction") {
                let scheme: String = value
                    .chars()
                    .filter(|c| !c.is_whitespace() && !c.is_control())
                    .collect::<String>()
                    .to_ascii_lowercase();
                for bad in ["javascript:", "data:", "vbscript:"] {
                    assert!(
                        !scheme.starts_with(bad),
                        "{what}: <{} {attr}={value:?}>",
                        tag.name
                    );
                }
            }
        }
        if tag.name == "img" {
            assert_ne!(
                tag.attr("src"),
                Some("x"),
                "{what}: an injected <img src=x>"
            );
        }
        if tag.name == "script" {
            let text = tag.raw_text.as_deref().unwrap_or("");
            assert!(
                !text.contains("__pwned"),
                "{what}: a <script> runs hostile text: {text:?}"
            );
        }
    }
}

/// The first `<a>` whose class list has `class`: its href.
fn link_with_class(html: &str, class: &str) -> Option<String> {
    tags(html)
        .into_iter()
        .find(|t| {
            !t.closing
                && t.name == "a"
                && t.attr("class")
                    .is_some_and(|c| c.split_whitespace().any(|c| c == class))
        })
        .and_then(|t| t.attr("href").map(str::to_string))
}

#[test]
fn hostile_strings_are_escaped_on_every_page() {
    let started = Instant::now();
    let site = Site::start(&[]);
    let daemon = &site.daemon;
    let studio = site.key("studio-a", "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");

    let https_url = format!("https://video.example/{IMG}?a=1&b={SCRIPT}");
    let values: Vec<(&str, String)> = vec![
        ("title", hostile("title")),
        ("external_id", hostile("extid")),
        ("platform1", hostile("plat1")),
        ("uploader1", hostile("upl1")),
        ("title_seen1", format!("seen1 {}", big())),
        ("url1", JS_URL.to_string()),
        ("platform2", hostile("plat2")),
        ("uploader2", format!("upl2 {}", big())),
        ("title_seen2", hostile("seen2")),
        ("url2", https_url.clone()),
        ("url3", format!(" JaVaScRiPt:{}", "window.__pwned=1")),
        ("url4", format!("data:text/html,{SCRIPT}")),
        ("reason", format!("reason {} {}", hostile("why"), big())),
    ];
    let v = |name: &str| {
        values
            .iter()
            .find(|(n, _)| *n == name)
            .expect(name)
            .1
            .clone()
    };
    for (name, value) in &values {
        assert!(value.len() <= 4000, "{name} is {} bytes", value.len());
    }

    let work_id = register_work(
        daemon,
        &studio,
        &v("title"),
        Some(&v("external_id")),
        &street(1),
    );
    let mirror = street_variant(1, "mirror");
    let filename = format!("x{IMG}.mp4");
    let sightings = [
        [
            ("platform", v("platform1")),
            ("url", v("url1")),
            ("uploader", v("uploader1")),
            ("title_seen", v("title_seen1")),
        ],
        [
            ("platform", v("platform2")),
            ("url", v("url2")),
            ("uploader", v("uploader2")),
            ("title_seen", v("title_seen2")),
        ],
        [
            ("platform", "p3".into()),
            ("url", v("url3")),
            ("uploader", CJK.into()),
            ("title_seen", TEMPLATE.into()),
        ],
        [
            ("platform", "p4".into()),
            ("url", v("url4")),
            ("uploader", ATTR.into()),
            ("title_seen", TEXTAREA.into()),
        ],
    ];
    for sighting in &sightings {
        let mut meta: Vec<(&str, &str)> = sighting.iter().map(|(k, v)| (*k, v.as_str())).collect();
        meta.push(("filename", &filename));
        submit_suspect(daemon, &crawler, &meta, &mirror);
    }
    let api_match = pending_match(daemon, &reviewer, &work_id);
    let match_id = api_match["id"].as_i64().expect("match id");
    assert_eq!(
        api_match["suspect"]["sources"].as_array().map(Vec::len),
        Some(4),
        "four sightings of one suspect: {api_match}"
    );
    println!("set up in {:?}", started.elapsed());

    // The reviewer, over plain HTTP.
    let mut web = Web::new(daemon);
    let login = web.get("/ui/login");
    assert_eq!(
        login.status, 200,
        "GET /ui/login answered {}: the review workbench (the /ui/ contract) is not in this \
         build",
        login.status
    );
    check_page("GET /ui/login", &login, &[], &values);
    // A login POST without a csrf token, or with a wrong one, is refused.
    let page = web.post_form("/ui/login", &[("key", &reviewer)]);
    assert_eq!(page.status, 403, "POST /ui/login without csrf");
    let page = web.post_form("/ui/login", &[("key", &reviewer), ("csrf", "forged")]);
    assert_eq!(page.status, 403, "POST /ui/login with a wrong csrf");
    // A wrong key (with a good token): the login page again, 401, with an .error element.
    let login = web.get("/ui/login");
    let form = Form::find(&login.body, "login").expect("form#login on /ui/login");
    let csrf = form.value("csrf").expect("form#login has input[name=csrf]");
    let action = form.action.clone().unwrap_or_else(|| "/ui/login".into());
    let page = web.post_form(&action, &[("key", SCRIPT), ("csrf", &csrf)]);
    assert_eq!(page.status, 401, "POST {action} with a wrong key");
    assert!(
        tags(&page.body).iter().any(|t| t
            .attr("class")
            .is_some_and(|c| c.split_whitespace().any(|c| c == "error"))),
        "no .error element on a refused login"
    );
    assert!(
        Form::find(&page.body, "login").is_some(),
        "no form#login on a refused login"
    );
    check_page("POST /ui/login (wrong key)", &page, &[], &values);
    let landed = web.log_in(&reviewer);
    assert_eq!(landed, "/ui/queue", "a reviewer lands on the queue");

    let queue = web.get("/ui/queue");
    assert_eq!(queue.status, 200);
    check_page("GET /ui/queue", &queue, &["title"], &values);
    let norm = normalised(&queue.body);
    assert!(
        norm.contains(&escaped(&v("platform1"))) || norm.contains(&escaped(&v("platform2"))),
        "GET /ui/queue: neither hostile platform is shown escaped"
    );

    let match_path = format!("/ui/matches/{match_id}");
    let page = web.get(&match_path);
    assert_eq!(page.status, 200, "GET {match_path}");
    check_page(
        &format!("GET {match_path}"),
        &page,
        &[
            "title",
            "platform1",
            "uploader1",
            "title_seen1",
            "url1",
            "platform2",
            "uploader2",
            "title_seen2",
        ],
        &values,
    );
    for verbatim in [TEMPLATE, CJK] {
        assert!(
            page.body.contains(verbatim),
            "{match_path}: {verbatim:?} is not shown as is"
        );
    }
    // The https sighting is a link to exactly the URL the crawler gave; the others are not.
    let hrefs: Vec<String> = tags(&page.body)
        .into_iter()
        .filter(|t| !t.closing && t.name == "a")
        .filter_map(|t| t.attr("href").map(str::to_string))
        .collect();
    assert!(
        hrefs.contains(&https_url),
        "{match_path}: no <a href> to the https sighting {https_url:?}; links: {hrefs:?}"
    );

    // The decision form: without the csrf token it is refused, with it the match is confirmed.
    let form = Form::find(&page.body, "decision").expect("form#decision on the match page");
    let csrf = form
        .value("csrf")
        .expect("form#decision has input[name=csrf]");
    let action = form.action.clone().unwrap_or_else(|| match_path.clone());
    let reason = v("reason");
    let refused = web.post_form(
        &action,
        &[("reason", reason.as_str()), ("decision", "confirm")],
    );
    assert_eq!(refused.status, 403, "POST {action} without csrf");
    let r = call(
        "GET",
        &daemon.url(&format!("/v1/matches/{match_id}")),
        Some(&reviewer),
        None,
    );
    assert_eq!(
        r.json["state"], "pending_review",
        "a refused POST changed the match"
    );
    let decided = web.post_form(
        &action,
        &[
            ("csrf", csrf.as_str()),
            ("reason", reason.as_str()),
            ("decision", "confirm"),
        ],
    );
    assert_eq!(decided.status, 303, "POST {action}: {}", decided.body);
    let page = web.get(&match_path);
    assert_eq!(page.status, 200);
    check_page(
        &format!("GET {match_path} (confirmed)"),
        &page,
        &["title"],
        &values,
    );
    let notice_path = link_with_class(&page.body, "notice-link")
        .unwrap_or_else(|| panic!("{match_path}: no a.notice-link after confirming"));
    let notice = web.get(&notice_path);
    assert_eq!(notice.status, 200, "GET {notice_path}");
    check_page(&format!("GET {notice_path}"), &notice, &[], &values);

    // The rights holder's dashboard.
    let mut member = Web::new(daemon);
    assert_eq!(member.log_in(&studio), "/ui/member");
    let dashboard = member.get("/ui/member");
    check_page("GET /ui/member", &dashboard, &["title"], &values);
    let own_match = member.get(&match_path);
    assert_eq!(own_match.status, 200);
    check_page(
        &format!("GET {match_path} (owner)"),
        &own_match,
        &["title"],
        &values,
    );
    let missing = member.get("/ui/matches/999999");
    assert_eq!(missing.status, 404);
    check_page("GET /ui/matches/999999", &missing, &[], &values);

    // In Chromium: the same pages run nothing hostile and show the text as typed.
    let browser = Browser::start("escaping");
    browser.goto(&daemon.url("/ui/login"));
    browser.find("form#login input[name=key]").fill(&reviewer);
    browser.find("form#login button[type=submit]").click();
    browser.wait_for("table#queue", Duration::from_secs(15));
    // The match is decided by now; the queue lists decided matches on request.
    browser.goto(&daemon.url("/ui/queue?state=all"));
    let title = v("title");
    let shown = browser.find("table#queue td.title").text();
    assert_eq!(
        shown.trim(),
        title,
        "td.title shows the title exactly as typed"
    );
    for path in ["/ui/queue", match_path.as_str(), notice_path.as_str()] {
        browser.goto(&daemon.url(path));
        // Hover everything, in case a handler slipped through.
        browser.execute(
            "document.querySelectorAll('*').forEach(function (e) {
               e.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); });",
            &[],
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            browser.execute("return typeof window.__pwned;", &[]),
            json!("undefined"),
            "hostile script ran {}",
            browser.where_am_i()
        );
    }
    browser.goto(&daemon.url(&match_path));
    assert!(
        browser.find("h1").text().contains(&title),
        "the match page's h1 shows the title exactly as typed"
    );
    let sources = browser.find("table#sources").text();
    assert!(
        sources.contains(&v("uploader1")),
        "table#sources shows the uploader as typed"
    );
    browser.snap("match");
    println!("whole test {:?}", started.elapsed());
}

/// The checks themselves, on hand-made pages: a well-escaped page passes, and each way of
/// getting it wrong is caught.
#[test]
fn the_escaping_checks_catch_unescaped_pages() {
    let values = vec![("title", hostile("title")), ("url1", JS_URL.to_string())];
    let page = |body: String| Page {
        status: 200,
        content_type: "text/html; charset=utf-8".into(),
        csp: Some("default-src 'self'".into()),
        location: None,
        bytes: body.as_bytes().to_vec(),
        body,
    };
    let good = format!(
        "<!doctype html><html><head><title>{t}</title><script src=\"/ui/app.js\"></script>\
         </head><body data-role=\"reviewer\"><h1 title='{t}'>{t}</h1><td>{u}</td>\
         <a href=\"https://x.example/?q={t}\">link</a><!-- a comment -->\
         <textarea name=reason>{t}</textarea></body></html>",
        t = escaped(&values[0].1),
        u = JS_URL
    );
    check_page("good", &page(good.clone()), &["title", "url1"], &values);
    // Other spellings of escaped quotes are fine too.
    let other_quotes = good.replace("&quot;", "&#34;").replace("&#39;", "&#x27;");
    check_page("good", &page(other_quotes), &["title", "url1"], &values);

    let bad_pages = [
        (
            "raw title",
            good.replacen(&escaped(&values[0].1), &values[0].1, 1),
        ),
        (
            "javascript link",
            good.replace("https://x.example/", "javascript:alert(1)//"),
        ),
        (
            "entity-encoded javascript link",
            good.replace("https://x.example/", " &#106;avascript&colon;alert(1)//"),
        ),
        (
            "injected handler",
            good.replace("<td>", "<td x='' onmouseover='window.__pwned=1'>"),
        ),
        ("title not shown", good.replace(&escaped(&values[0].1), "")),
        (
            "double-escaped title",
            good.replace(&escaped(&values[0].1), &escaped(&escaped(&values[0].1))),
        ),
        (
            "hostile inline script",
            good.replace("</body>", "<script>window.__pwned=1;</script></body>"),
        ),
    ];
    for (name, body) in bad_pages {
        let caught = std::panic::catch_unwind(|| {
            check_page(name, &page(body), &["title", "url1"], &values);
        });
        assert!(caught.is_err(), "the checks missed: {name}");
    }
    let mut no_csp = page(good.clone());
    no_csp.csp = None;
    assert!(std::panic::catch_unwind(|| check_page("no csp", &no_csp, &[], &values)).is_err());
    let mut wrong_type = page(good);
    wrong_type.content_type = "text/html".into();
    assert!(
        std::panic::catch_unwind(|| check_page("wrong type", &wrong_type, &[], &values)).is_err()
    );
}
