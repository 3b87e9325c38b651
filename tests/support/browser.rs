//! A small W3C WebDriver client for the UI tests: it starts Debian's `/usr/bin/chromedriver`
//! on a free port of 127.0.0.1, opens one headless Chromium session and drives it over plain
//! HTTP. It is a test helper: every failure panics, naming the page it happened on.
//!
//! Dropping a [`Browser`] ends the session and kills chromedriver's whole process group, so no
//! Chromium is left behind. When the test is panicking, it first saves a `failure` screenshot.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// Debian's Chromium and its WebDriver (installed by `fixtures/install-deps`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The W3C key used in element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Special keys for [`Browser::press_keys`] and [`Element::send_keys`] (WebDriver code points).
pub mod keys {
    /// Enter.
    pub const ENTER: &str = "\u{E007}";
}

/// Where a test's screenshots go: `$CARGO_TARGET_TMPDIR/ui-screenshots`.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots")
}

/// A free TCP port on 127.0.0.1 (bound and released; the small race is fine for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// How long start-up took, for reports.
#[derive(Debug, Clone, Copy)]
pub struct StartupTimes {
    /// From spawning chromedriver to its `/status` reporting ready.
    pub chromedriver_ready: Duration,
    /// Creating the session (this is where Chromium starts).
    pub session_created: Duration,
}

/// One headless Chromium session driven through chromedriver.
pub struct Browser {
    driver: Child,
    driver_url: String,
    session: String,
    agent: ureq::Agent,
    test: String,
    /// Chromium's profile and chromedriver's log; removed on drop.
    profile: tempfile::TempDir,
    /// Start-up timings.
    pub startup: StartupTimes,
}

/// A reference to an element of the current page.
pub struct Element<'b> {
    browser: &'b Browser,
    id: String,
    /// The selector it was found by (for messages).
    pub css: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session. `test` names the screenshots.
    pub fn start(test: &str) -> Browser {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: run fixtures/install-deps (Debian's chromium and \
                 chromium-driver)"
            );
        }
        let profile = tempfile::Builder::new()
            .prefix("reelguard-chromium-")
            .tempdir()
            .expect("tempdir for the Chromium profile");
        let log_path = profile.path().join("chromedriver.log");
        let log = std::fs::File::create(&log_path).expect("chromedriver log");
        let port = free_port();
        let started = Instant::now();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log_path.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log);
        // Its own process group, so that drop can kill chromedriver and every Chromium process
        // it started, even if the session could not be ended politely.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command.spawn().expect("spawning chromedriver");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(90)))
            .build()
            .into();
        let mut browser = Browser {
            driver,
            driver_url: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            agent,
            test: test.to_string(),
            profile,
            startup: StartupTimes {
                chromedriver_ready: Duration::ZERO,
                session_created: Duration::ZERO,
            },
        };
        // Wait for /status to say ready.
        loop {
            if let Some(status) = browser.driver.try_wait().expect("waiting on chromedriver") {
                panic!(
                    "chromedriver exited ({status}) before it was ready; log:\n{}",
                    browser.driver_log()
                );
            }
            let ready = browser
                .agent
                .get(format!("{}/status", browser.driver_url))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver was not ready within 30 s; log:\n{}",
                browser.driver_log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        browser.startup.chromedriver_ready = started.elapsed();
        let session_started = Instant::now();
        let user_data = browser.profile.path().join("profile");
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": {"pageLoad": 60_000, "script": 30_000, "implicit": 0},
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-quic",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--window-size=1280,1000",
                            format!("--user-data-dir={}", user_data.display()),
                        ],
                    },
                },
            },
        });
        let (status, value) = browser.raw("POST", "/session", Some(&capabilities));
        if status != 200 {
            panic!(
                "creating a Chromium session failed (HTTP {status}): {value}\nchromedriver log:\n{}",
                browser.driver_log()
            );
        }
        browser.session = value["sessionId"]
            .as_str()
            .expect("sessionId in the new-session answer")
            .to_string();
        browser.startup.session_created = session_started.elapsed();
        browser
    }

    fn driver_log(&self) -> String {
        let text = std::fs::read_to_string(self.profile.path().join("chromedriver.log"))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// One WebDriver request; returns the HTTP status and the answer's `value`.
    fn raw(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.driver_url);
        let result = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            "POST" => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(&json!({})).to_string()),
            other => panic!("unsupported WebDriver method {other}"),
        };
        let mut response = result.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status().as_u16();
        let mut text = String::new();
        response
            .body_mut()
            .as_reader()
            .read_to_string(&mut text)
            .unwrap_or_else(|e| panic!("reading WebDriver {method} {path}: {e}"));
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, value["value"].clone())
    }

    /// A session command; panics with the page's URL and title if it fails.
    fn cmd(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, value) = self.try_cmd(method, path, body);
        if status != 200 {
            panic!(
                "WebDriver {method} {path} failed (HTTP {status}): {} — {}\n{}",
                value["error"].as_str().unwrap_or("?"),
                value["message"].as_str().unwrap_or(&value.to_string()),
                self.where_am_i()
            );
        }
        value
    }

    fn try_cmd(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.raw(method, &format!("/session/{}{path}", self.session), body)
    }

    /// "on URL (title "T")", for messages; never panics.
    pub fn where_am_i(&self) -> String {
        let url = self.try_cmd("GET", "/url", None).1;
        let title = self.try_cmd("GET", "/title", None).1;
        format!(
            "on {} (page title {:?})",
            url.as_str().unwrap_or("<unknown URL>"),
            title.as_str().unwrap_or("<unknown>")
        )
    }

    /// Navigates and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(&json!({ "url": url })));
    }

    /// The current URL.
    pub fn current_url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .expect("URL string")
            .to_string()
    }

    /// The page title.
    pub fn title(&self) -> String {
        self.cmd("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's HTML as the browser now has it.
    pub fn page_source(&self) -> String {
        self.cmd("GET", "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn element_from(&self, value: &Value, css: &str) -> Element<'_> {
        Element {
            browser: self,
            id: value[ELEMENT_KEY]
                .as_str()
                .expect("an element reference")
                .to_string(),
            css: css.to_string(),
        }
    }

    /// The first element matching `css`, if there is one now.
    pub fn try_find(&self, css: &str) -> Option<Element<'_>> {
        let body = json!({"using": "css selector", "value": css});
        let (status, value) = self.try_cmd("POST", "/element", Some(&body));
        match (status, value["error"].as_str()) {
            (200, _) => Some(self.element_from(&value, css)),
            (_, Some("no such element")) => None,
            _ => panic!(
                "finding `{css}` failed (HTTP {status}): {value}\n{}",
                self.where_am_i()
            ),
        }
    }

    /// The first element matching `css`; panics (naming the page) if there is none.
    pub fn find(&self, css: &str) -> Element<'_> {
        self.try_find(css).unwrap_or_else(|| {
            panic!("no element matches `{css}` {}", self.where_am_i());
        })
    }

    /// Every element matching `css` (possibly none).
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let body = json!({"using": "css selector", "value": css});
        self.cmd("POST", "/elements", Some(&body))
            .as_array()
            .expect("an array of elements")
            .iter()
            .map(|v| self.element_from(v, css))
            .collect()
    }

    /// Polls until an element matches `css`; panics (naming the page) after `timeout`.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Element<'_> {
        let started = Instant::now();
        loop {
            if let Some(element) = self.try_find(css) {
                return element;
            }
            if started.elapsed() > timeout {
                panic!(
                    "no element matched `{css}` within {timeout:?} {}",
                    self.where_am_i()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls a JavaScript expression (the body of a function returning a value) until it
    /// returns `true`; panics with `what` and the page after `timeout`.
    pub fn wait_until(&self, script: &str, args: &[Value], timeout: Duration, what: &str) {
        let started = Instant::now();
        loop {
            if self.execute(script, args) == Value::Bool(true) {
                return;
            }
            if started.elapsed() > timeout {
                panic!("{what}: not so within {timeout:?} {}", self.where_am_i());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `script` as the body of a function with `arguments` = `args`; returns its result.
    /// Elements can be passed with [`Element::as_arg`].
    pub fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(&json!({"script": script, "args": args})),
        )
    }

    /// Types raw keys to whatever has focus (the Actions API: a key down and up per
    /// character, so page-level `keydown` listeners see them). Special keys: [`keys`].
    pub fn press_keys(&self, text: &str) {
        let mut actions = Vec::new();
        for c in text.chars() {
            let key = c.to_string();
            actions.push(json!({"type": "keyDown", "value": key}));
            actions.push(json!({"type": "keyUp", "value": key}));
        }
        let body = json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]});
        self.cmd("POST", "/actions", Some(&body));
        // With a prompt open (a key opened it), any other command would make chromedriver
        // dismiss it; nothing is held down by then, so there is nothing to release.
        if self.try_cmd("GET", "/alert/text", None).0 != 200 {
            self.cmd("DELETE", "/actions", None);
        }
    }

    /// Waits for a `window.prompt` (or alert) to open, types `text` into it and accepts it.
    pub fn answer_prompt(&self, text: &str, timeout: Duration) {
        let started = std::time::Instant::now();
        while self.try_cmd("GET", "/alert/text", None).0 != 200 {
            assert!(
                started.elapsed() < timeout,
                "no prompt opened within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.cmd("POST", "/alert/text", Some(&json!({ "text": text })));
        self.cmd("POST", "/alert/accept", Some(&json!({})));
    }

    /// Every cookie of the current page's origin, as a `Cookie:` header value (HttpOnly ones
    /// included), to make the same requests outside the browser.
    pub fn cookie_header(&self) -> String {
        self.cmd("GET", "/cookie", None)
            .as_array()
            .expect("cookies")
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c["name"].as_str().unwrap_or(""),
                    c["value"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Resizes the browser window (the viewport follows).
    pub fn set_window_size(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(&json!({"width": width, "height": height})),
        );
    }

    /// A Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`).
    pub fn cdp(&self, command: &str, params: Value) -> Value {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(&json!({"cmd": command, "params": params})),
        )
    }

    /// Renders the page for `media` (`"print"`, or `""` for the screen again).
    pub fn emulate_media(&self, media: &str) {
        self.cdp("Emulation.setEmulatedMedia", json!({ "media": media }));
    }

    /// The page printed to PDF by Chromium (WebDriver's Print command), as bytes.
    pub fn print_pdf(&self) -> Vec<u8> {
        let encoded = self.cmd("POST", "/print", Some(&json!({"background": false})));
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64 PDF"))
            .expect("decoding the PDF")
    }

    /// Saves a PNG screenshot of the viewport to `path`; returns its bytes.
    pub fn screenshot(&self, path: &Path) -> Vec<u8> {
        let encoded = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64 screenshot"))
            .expect("decoding the screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, &png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        png
    }

    /// Saves `<screenshot_dir>/<test>-<step>.png` and prints where; returns the path.
    pub fn snap(&self, step: &str) -> PathBuf {
        let path = screenshot_dir().join(format!("{}-{step}.png", self.test));
        self.screenshot(&path);
        println!("screenshot: {}", path.display());
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            if std::thread::panicking() {
                let path = screenshot_dir().join(format!("{}-failure.png", self.test));
                let encoded = self.try_cmd("GET", "/screenshot", None).1;
                if let Some(png) = encoded
                    .as_str()
                    .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
                {
                    let _ = std::fs::create_dir_all(screenshot_dir());
                    if std::fs::write(&path, png).is_ok() {
                        eprintln!("failure screenshot: {}", path.display());
                    }
                }
            }
            let _ = self.raw("DELETE", &format!("/session/{}", self.session), None);
        }
        // chromedriver leads its own process group: end it and anything left in it.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Element<'_> {
    /// This element as an argument for [`Browser::execute`].
    pub fn as_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    /// Clicks it (scrolling it into view).
    pub fn click(&self) {
        self.browser
            .cmd("POST", &self.path("/click"), Some(&json!({})));
    }

    /// Empties an input or textarea.
    pub fn clear(&self) {
        self.browser
            .cmd("POST", &self.path("/clear"), Some(&json!({})));
    }

    /// Types into it (it gets focus first).
    pub fn send_keys(&self, text: &str) {
        self.browser
            .cmd("POST", &self.path("/value"), Some(&json!({ "text": text })));
    }

    /// Clears it, then types `text`.
    pub fn fill(&self, text: &str) {
        self.clear();
        self.send_keys(text);
    }

    /// Its rendered text.
    pub fn text(&self) -> String {
        self.browser
            .cmd("GET", &self.path("/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// An HTML attribute, if present.
    pub fn attribute(&self, name: &str) -> Option<String> {
        self.browser
            .cmd("GET", &self.path(&format!("/attribute/{name}")), None)
            .as_str()
            .map(str::to_string)
    }

    /// A DOM property (`value`, `naturalWidth`, `href` resolved, ...).
    pub fn property(&self, name: &str) -> Value {
        self.browser
            .cmd("GET", &self.path(&format!("/property/{name}")), None)
    }

    /// The first descendant matching `css`, if any.
    pub fn try_find(&self, css: &str) -> Option<Element<'_>> {
        let body = json!({"using": "css selector", "value": css});
        let (status, value) = self
            .browser
            .try_cmd("POST", &self.path("/element"), Some(&body));
        match (status, value["error"].as_str()) {
            (200, _) => Some(self.browser.element_from(&value, css)),
            (_, Some("no such element")) => None,
            _ => panic!(
                "finding `{css}` inside `{}` failed (HTTP {status}): {value}\n{}",
                self.css,
                self.browser.where_am_i()
            ),
        }
    }

    /// The first descendant matching `css`; panics (naming the page) if there is none.
    pub fn find(&self, css: &str) -> Element<'_> {
        self.try_find(css).unwrap_or_else(|| {
            panic!(
                "no element matches `{css}` inside `{}` {}",
                self.css,
                self.browser.where_am_i()
            )
        })
    }
}
