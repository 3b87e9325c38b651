//! The workbench in Chinese, in a real headless Chromium with Debian's Noto Sans CJK
//! (`fonts-noto-cjk`, installed by `fixtures/install-deps`): every page renders in Simplified
//! Chinese by default (`<html lang="zh-CN">`, and no English word anywhere a reviewer reads it
//! except a few names and codes), a long Chinese title is never clipped, English is one click
//! away and remembered, and the print layout drops the workbench's chrome.
//!
//! Screenshots go to `$CARGO_TARGET_TMPDIR/ui-screenshots/chinese-<step>.png`.

mod support;

use std::time::Duration;

use serde_json::json;
use support::browser::{screenshot_dir, Browser};
use support::{pending_match, register_work, street, street_variant, submit_suspect, Site};

/// A long title, as micro-dramas have: longer than any fixed label width the pages had.
const TITLE: &str = "总裁的替身新娘：重生之后她带着双胞胎回来了";

/// Words that may stay in Latin letters on a Chinese page: the product's name, protocol and
/// format names, the time zone, and the English language choice itself.
const ALLOWED: &[&str] = &[
    "reelguard",
    "API",
    "URL",
    "UTC",
    "HTTP",
    "HTTPS",
    "HMAC",
    "SHA",
    "Webhook",
    "JSON",
    "English",
];

/// Every Latin-letter word (two letters or more) a reader sees on the page, outside `code`,
/// `kbd`, `script`, `style` and elements marked `lang="en"`: text nodes (SVG tooltips
/// included), `placeholder`, `title`, `alt`, `aria-label`, and the document title. The users'
/// own strings (`data`: titles, names, URLs) are taken out first; what remains came from the
/// workbench.
fn english_words(browser: &Browser, data: &[&str]) -> Vec<String> {
    let script = r#"
        var allowed = arguments[0].map(function (w) { return w.toLowerCase(); });
        var data = arguments[1];
        var skip = 'script, style, code, kbd, [lang="en"]';
        var found = [];
        function check(text, where) {
          var t = text;
          data.forEach(function (d) { t = t.split(d).join(' '); });
          (t.match(/[A-Za-z]{2,}/g) || []).forEach(function (w) {
            if (allowed.indexOf(w.toLowerCase()) < 0) {
              found.push(w + ' in ' + where + ': ' + text.trim().slice(0, 100));
            }
          });
        }
        var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
          var node = walker.currentNode, el = node.parentElement;
          if (!el || el.closest(skip)) continue;
          check(node.textContent, el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''));
        }
        document.querySelectorAll('[placeholder], [title], [alt], [aria-label]').forEach(function (el) {
          if (el.closest(skip)) return;
          ['placeholder', 'title', 'alt', 'aria-label'].forEach(function (a) {
            var v = el.getAttribute(a);
            if (v) check(v, el.tagName.toLowerCase() + '[' + a + ']');
          });
        });
        check(document.title, 'document title');
        return found;"#;
    browser
        .execute(script, &[json!(ALLOWED), json!(data)])
        .as_array()
        .expect("a list of words")
        .iter()
        .filter_map(|w| w.as_str().map(str::to_string))
        .collect()
}

/// The page is in Chinese: `<html lang="zh-CN">`, CJK text in its heading, no English word.
fn assert_chinese(browser: &Browser, data: &[&str], page: &str) {
    assert_eq!(
        browser.find("html").attribute("lang").as_deref(),
        Some("zh-CN"),
        "{page}: html[lang] {}",
        browser.where_am_i()
    );
    let h1 = browser.find("h1").text();
    assert!(
        h1.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{page}: the heading {h1:?} holds no Chinese"
    );
    let words = english_words(browser, data);
    assert!(
        words.is_empty(),
        "{page}: English on a zh-CN page {}:\n{}",
        browser.where_am_i(),
        words.join("\n")
    );
}

/// Every element matching `css` shows `TITLE` whole: its text holds the full title, and its
/// content is not wider than its box (`scrollWidth <= clientWidth`, nothing cut or hidden).
fn assert_title_whole(browser: &Browser, css: &str) {
    let boxes = browser.execute(
        "return Array.from(document.querySelectorAll(arguments[0])).map(function (e) {
           return {text: e.textContent, sw: e.scrollWidth, cw: e.clientWidth,
                   sh: e.scrollHeight, ch: e.clientHeight}; });",
        &[json!(css)],
    );
    let boxes = boxes.as_array().expect("boxes");
    assert!(!boxes.is_empty(), "no {css} {}", browser.where_am_i());
    let mut titled = 0;
    for b in boxes {
        let text = b["text"].as_str().unwrap_or("");
        if text.contains(TITLE) {
            titled += 1;
        }
        let (sw, cw) = (b["sw"].as_i64().unwrap_or(0), b["cw"].as_i64().unwrap_or(0));
        println!("{css}: {text:?} scrollWidth {sw} clientWidth {cw}");
        assert!(
            sw <= cw,
            "{css} {text:?} is clipped: scrollWidth {sw} > clientWidth {cw}"
        );
        assert!(!text.contains('…'), "{css} {text:?} is truncated");
    }
    assert!(
        titled > 0,
        "no {css} holds the whole title {TITLE:?}: {boxes:?}"
    );
}

#[test]
fn the_workbench_is_chinese_by_default_with_whole_titles_english_on_request_and_a_print_layout() {
    let site = Site::start(&[]);
    let daemon = &site.daemon;
    let studio = site.key("studio-a", "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");
    let work_id = register_work(daemon, &studio, TITLE, Some("ST-001"), &street(1));
    let url = "https://video.example/v/88";
    submit_suspect(
        daemon,
        &crawler,
        &[
            ("platform", "douyin"),
            ("url", url),
            ("uploader", "搬运工小王"),
            ("title_seen", "替身新娘 第1集 高清"),
            ("found_at", "1700000000"),
        ],
        &street_variant(1, "mirror"),
    );
    let api_match = pending_match(daemon, &reviewer, &work_id);
    let match_id = api_match["id"].as_i64().expect("match id");
    let mut data: Vec<String> = [
        TITLE,
        "studio-a",
        "review-team",
        "douyin",
        url,
        "ST-001",
        "https://",
    ]
    .map(str::to_string)
    .to_vec();
    let data_refs = |d: &[String]| d.iter().map(String::as_str).collect::<Vec<_>>();

    let browser = Browser::start("chinese");
    browser.goto(&daemon.url("/ui/login"));
    assert_chinese(&browser, &data_refs(&data), "login");
    assert_eq!(browser.find("h1").text(), "登录审核工作台");
    browser.find("form#login input[name=key]").fill("not-a-key");
    browser.find("form#login button[type=submit]").click();
    let error = browser.wait_for(".error", Duration::from_secs(10)).text();
    assert_eq!(error, "该密钥无效。");

    browser.find("form#login input[name=key]").fill(&reviewer);
    browser.find("form#login button[type=submit]").click();
    browser.wait_for("table#queue", Duration::from_secs(15));
    assert_eq!(browser.find("h1").text(), "审核队列");
    assert_chinese(&browser, &data_refs(&data), "queue");
    assert_title_whole(&browser, "table#queue td.title");
    browser.snap("1-queue");

    browser.goto(&daemon.url(&format!("/ui/matches/{match_id}")));
    assert_chinese(&browser, &data_refs(&data), "match");
    assert_title_whole(&browser, "#timeline .lane-label");
    let font = browser.execute("return getComputedStyle(document.body).fontFamily;", &[]);
    assert!(
        font.as_str()
            .is_some_and(|f| f.starts_with("\"Noto Sans CJK SC\"")),
        "the page's font stack starts {font}"
    );
    // Chromium finds its fonts through fontconfig: the CJK family the stack names is there.
    let families = std::process::Command::new("fc-list")
        .args([":lang=zh-cn", "family"])
        .output()
        .expect("running fc-list");
    let families = String::from_utf8_lossy(&families.stdout);
    assert!(
        families.contains("Noto Sans CJK SC"),
        "fontconfig has no Noto Sans CJK SC (fixtures/install-deps installs fonts-noto-cjk): {families}"
    );
    browser.snap("2-match");

    // Confirm: the stills first, then the question, then the notice.
    browser
        .find("form#decision textarea[name=reason]")
        .fill("同一画面，左右镜像");
    for pair in browser.find_all("#stills .thumb-pair") {
        browser.execute(
            "arguments[0].scrollIntoView({block: 'center'});",
            &[pair.as_arg()],
        );
        browser.wait_until(
            "return arguments[0].classList.contains('viewed');",
            &[pair.as_arg()],
            Duration::from_secs(20),
            "a still pair to count as viewed",
        );
    }
    assert_eq!(browser.find("#evidence-progress").text(), "全部截图已查看");
    browser
        .find("form#decision button[name=decision][value=confirm]")
        .click();
    browser.wait_until(
        "var d = document.getElementById('confirm-dialog'); return !!d && d.open;",
        &[],
        Duration::from_secs(5),
        "the confirm dialog",
    );
    assert_eq!(browser.find("#confirm-dialog h3").text(), "确认这是侵权？");
    browser.snap("3-asks-once");
    browser.find("#confirm-yes").click();
    browser.wait_until(
        "var s = document.querySelector('#state'); return !!s && s.dataset.state === 'confirmed';",
        &[],
        Duration::from_secs(20),
        "the match confirmed",
    );
    assert_eq!(browser.find("#state").text(), "已确认侵权");
    let notice_link = browser.find("a.notice-link");
    data.push(notice_link.text().trim().to_string());
    assert_chinese(&browser, &data_refs(&data), "match, confirmed");

    browser.goto(&daemon.url("/ui/notices"));
    assert_chinese(&browser, &data_refs(&data), "notices");

    // The printed notice: no navigation, no forms; Chromium's PDF of it is a real PDF.
    let notice_href = browser
        .find("table#notices a")
        .attribute("href")
        .expect("a notice link");
    browser.goto(&daemon.url(&notice_href));
    browser.emulate_media("print");
    let printed = browser.execute(
        "function shown(css) { var e = document.querySelector(css);
           return !!e && getComputedStyle(e).display !== 'none'; }
         return {bar: shown('header.bar'), language: shown('#language'),
                 doc: shown('.notice-doc'), hide: shown('.print-hide')};",
        &[],
    );
    assert_eq!(
        printed,
        json!({"bar": false, "language": false, "doc": true, "hide": false}),
        "print layout {}",
        browser.where_am_i()
    );
    browser.snap("4-notice-print");
    browser.emulate_media("");
    let pdf = browser.print_pdf();
    assert!(pdf.starts_with(b"%PDF-"), "the print is not a PDF");
    println!("notice printed to PDF: {} bytes", pdf.len());

    // A missing page: the heading in Chinese; the server's own detail is marked English.
    browser.goto(&daemon.url("/ui/matches/999999"));
    assert_eq!(browser.find("h1").text(), "未找到");
    assert_chinese(&browser, &data_refs(&data), "404");

    // English on request, kept by the browser across pages and a logout.
    browser.goto(&daemon.url("/ui/queue"));
    browser.find("form#language button[value=en]").click();
    browser.wait_until(
        "return document.documentElement.lang === 'en';",
        &[],
        Duration::from_secs(10),
        "the page in English after choosing it",
    );
    assert!(
        browser.current_url().ends_with("/ui/queue"),
        "the switch returns to the page it was made on: {}",
        browser.where_am_i()
    );
    assert_eq!(browser.find("h1").text(), "Review queue");
    browser.snap("5-queue-english");
    browser.find("form#logout button").click();
    browser.wait_for("form#login", Duration::from_secs(10));
    assert_eq!(
        browser.find("html").attribute("lang").as_deref(),
        Some("en")
    );
    assert_eq!(browser.find("h1").text(), "Log in to the review workbench");
    browser.find("form#language button[value=zh-CN]").click();
    browser.wait_until(
        "return document.documentElement.lang === 'zh-CN';",
        &[],
        Duration::from_secs(10),
        "Chinese again",
    );

    // The member's dashboard: the chart's row label holds the whole title too.
    browser.find("form#login input[name=key]").fill(&studio);
    browser.find("form#login button[type=submit]").click();
    browser.wait_for("table#works", Duration::from_secs(15));
    assert_chinese(&browser, &data_refs(&data), "member");
    assert_title_whole(&browser, "#infringement-chart .chart-label");
    assert_title_whole(&browser, "table#works td.title");
    browser.snap("6-member");
    println!("screenshots in {}", screenshot_dir().display());
}
