//! The review workbench in a real headless Chromium (Debian's `chromium` and `chromedriver`,
//! installed by `fixtures/install-deps`), driven over WebDriver by `tests/support/browser.rs`.
//!
//! Screenshots are written to `$CARGO_TARGET_TMPDIR/ui-screenshots/<test>-<step>.png`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::json;
use support::browser::{keys, screenshot_dir, Browser};

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
                    format!(
                        "<!doctype html><title>Submitted</title><p id=\"query\">{query}</p>"
                    ),
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
        browser
            .wait_for("#late", Duration::from_secs(10))
            .text(),
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
        browser.current_url().starts_with(&format!("{base}/submitted?q=hello")),
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
