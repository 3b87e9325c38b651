//! From a crawled compilation to a sent Chinese notice, in a real headless Chromium, the way a
//! reviewer of the alliance works: one segment of the compilation is a false match and is
//! dropped on the match page (it leaves the notice and its stills); the draft notice says what
//! papers are missing and cannot be sent until they are there; it is sent from its page; the
//! same file re-posted on a second platform shows up as a re-post waiting for a notice and is
//! noticed in one step, without reviewing it again; and the public evidence link of the sent
//! notice opens logged out.
//!
//! Screenshots go to `$CARGO_TARGET_TMPDIR/ui-screenshots/takedown-<step>.png`
//! (`takedown-3-notice-sent.png` is the one `docs/notice.zh-CN.png` is made from).

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::browser::{answer_confirm_dialog, screenshot_dir, view_every_still, Browser};
use support::takedown::{alliance_site, now, two_segment_copy, Papers};
use support::{
    call, create_work, matches_of, queue_suspect, register_episodes, street, submit_suspect,
};

const STUDIO: &str = "星河影业";
const TITLE: &str = "逆袭之路：街头少年";
const FIRST_URL: &str = "https://www.douyin.example/video/7301";
const REPOST_URL: &str = "https://www.bilibili.example/video/BV1xx411c7mD";

/// Whether `text` holds a CJK character.
fn chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Polls until the page's path is `path`.
fn wait_for_path(browser: &Browser, base: &str, path: &str) {
    support::poll(Duration::from_secs(20), Duration::from_millis(50), || {
        let url = browser.current_url();
        let here = url.strip_prefix(base).unwrap_or(&url).to_string();
        if here.split(['?', '#']).next() == Some(path) {
            Ok(())
        } else {
            Err(format!("expected {path}, still {}", browser.where_am_i()))
        }
    })
}

/// Every image matching `css` has loaded (at least `min` of them).
fn wait_for_images(browser: &Browser, css: &str, min: usize) {
    browser.wait_until(
        "var imgs = Array.from(document.querySelectorAll(arguments[0]));
         return imgs.length >= arguments[1] && imgs.every(function (i) {
           return i.complete && i.naturalWidth > 0; });",
        &[json!(css), json!(min)],
        Duration::from_secs(30),
        &format!("{min}+ images {css} to load"),
    );
}

/// The notice page's state, as the page marks it.
fn notice_state(browser: &Browser) -> String {
    browser
        .find("#notice-state")
        .attribute("data-state")
        .unwrap_or_default()
}

/// The text of every row of the document's table `css` (its heading row left out).
fn rows(browser: &Browser, css: &str) -> Vec<String> {
    let rows = browser.execute(
        "return Array.from(document.querySelectorAll(arguments[0] + ' tr')).slice(1)
           .map(function (r) { return r.textContent; });",
        &[json!(css)],
    );
    rows.as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect()
}

/// Sends the open draft notice from its page and waits for it to read "sent".
fn send_from_page(browser: &Browser) {
    let send = browser.find("button#to-sent");
    assert!(
        send.attribute("disabled").is_none(),
        "send is disabled {}",
        browser.where_am_i()
    );
    assert_eq!(send.text(), "发送通知");
    send.click();
    browser.wait_until(
        "var s = document.getElementById('notice-state'); return !!s && s.dataset.state === 'sent';",
        &[],
        Duration::from_secs(20),
        "the notice to read sent",
    );
    assert_eq!(browser.find("#notice-state").text(), "已发送");
    assert!(
        browser.try_find("#tracking tr[data-state=sent]").is_some(),
        "the tracking lists the sending {}",
        browser.where_am_i()
    );
}

#[test]
fn a_reviewer_takes_a_crawled_compilation_to_a_sent_chinese_notice_and_notices_its_repost() {
    let started = Instant::now();
    let site = alliance_site();
    let daemon = &site.daemon;
    let studio = site.key(STUDIO, "member");
    let crawler = site.key("crawler-co", "crawler");
    let reviewer = site.key("review-team", "reviewer");
    let work_id = create_work(daemon, &studio, &json!({"title": TITLE}));
    register_episodes(daemon, &studio, &work_id, &[street(1)]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = two_segment_copy(tmp.path());
    let found = (now() - 3 * 3600).to_string();
    let crawled = submit_suspect(
        daemon,
        &crawler,
        &[
            ("platform", "douyin"),
            ("url", FIRST_URL),
            ("uploader", "搬运工小王"),
            ("title_seen", "逆袭之路 第1集 高能合集"),
            ("found_at", &found),
        ],
        &copy,
    );
    let suspect = crawled["suspect_id"].as_i64().expect("suspect");
    let found_matches = matches_of(daemon, &reviewer, suspect);
    assert_eq!(found_matches.len(), 1, "{found_matches:?}");
    let match_id = found_matches[0]["id"].as_i64().expect("match id");
    let segments = found_matches[0]["segments"].as_array().expect("segments");
    assert_eq!(
        segments.len(),
        2,
        "the compilation's two stretches: {segments:?}"
    );
    let setup = started.elapsed();

    let browser = Browser::start("takedown");
    browser.set_window_size(1280, 1100);
    browser.goto(&daemon.url("/ui/login"));
    browser.find("form#login input[name=key]").fill(&reviewer);
    browser.find("form#login button[type=submit]").click();
    browser.wait_for("table#queue", Duration::from_secs(15));

    // The match: drop the first segment, view the stills, confirm once.
    let match_path = format!("/ui/matches/{match_id}");
    browser.goto(&daemon.url(&match_path));
    assert_eq!(
        browser.find("html").attribute("lang").as_deref(),
        Some("zh-CN")
    );
    assert!(chinese(&browser.find("h1").text()));
    let drop = browser.find("#segments tr[data-segment='0'] input.drop-segment");
    assert!(
        drop.attribute("disabled").is_none(),
        "the keep/drop choice is live {}",
        browser.where_am_i()
    );
    assert_eq!(
        browser.find("#segment-hint").text(),
        "合集中误匹配的片段可以单独剔除，剔除的片段及其截图不会写入通知。"
    );
    drop.click();
    browser
        .find("form#decision textarea[name=reason]")
        .fill("第二段与正片一致；第一段为误匹配，已剔除");
    view_every_still(&browser);
    browser.snap("1-match-one-segment-dropped");
    browser
        .find("form#decision button[name=decision][value=confirm]")
        .click();
    answer_confirm_dialog(&browser);
    browser.wait_until(
        "var s = document.querySelector('#state'); return !!s && s.dataset.state === 'confirmed';",
        &[],
        Duration::from_secs(30),
        "the match confirmed",
    );
    assert_eq!(
        browser
            .find("#segments tr[data-segment='0'] td.segment-verdict")
            .text(),
        "已剔除（不写入通知）"
    );
    assert!(browser
        .find("#segments tr[data-segment='0']")
        .attribute("class")
        .is_some_and(|c| c.contains("dropped")));
    assert_eq!(
        browser
            .find("#segments tr[data-segment='1'] td.segment-verdict")
            .text(),
        "保留"
    );

    // The draft notice: Chinese, one time range, the kept segment's stills only, and what is
    // missing before it can be sent.
    let notice_path = browser
        .find("p.notice a.notice-link")
        .attribute("href")
        .expect("a notice link");
    browser.find("p.notice a.notice-link").click();
    wait_for_path(&browser, &daemon.base, &notice_path);
    let notice_id: i64 = notice_path
        .trim_start_matches("/ui/notices/")
        .parse()
        .expect("notice id");
    assert_eq!(notice_state(&browser), "draft");
    assert_eq!(browser.find("#notice-state").text(), "草稿");
    assert!(chinese(&browser.find("h1").text()));
    assert_eq!(
        browser.find("article.notice-doc h1").text(),
        "要求删除或断开链接侵权网络内容的通知"
    );
    assert_eq!(
        browser
            .find("article.notice-doc")
            .attribute("lang")
            .as_deref(),
        Some("zh-CN")
    );
    let ranges = rows(&browser, "article.notice-doc table.ranges");
    assert_eq!(ranges.len(), 1, "one time range, the kept one: {ranges:?}");
    let api = call(
        "GET",
        &daemon.url(&format!("/v1/notices/{notice_id}")),
        Some(&studio),
        None,
    );
    let evidence = &api.json["notice"]["evidence"];
    assert_eq!(evidence["rejected_segments"], json!([0]), "{}", api.text);
    assert_eq!(evidence["segment_indices"], json!([1]));
    let stills = evidence["stills"].as_array().expect("stills").len();
    assert!(stills > 0);
    wait_for_images(
        &browser,
        "article.notice-doc img.evidence-thumb",
        2 * stills,
    );
    assert_eq!(
        browser
            .find_all("article.notice-doc img.evidence-thumb")
            .len(),
        2 * stills,
        "the dropped segment's stills are not in the notice"
    );
    let missing = browser.find("#missing").text();
    assert!(missing.starts_with("以下材料齐全后才能发送"), "{missing}");
    for gap in [
        "权利人的通讯地址",
        "权利人的联系电话",
        "的权属证明（作品登记号和登记证书）",
        "权利人对短剧版权联盟的授权书",
    ] {
        assert!(missing.contains(gap), "{gap} not listed in {missing}");
    }
    assert!(
        browser
            .find("button#to-sent")
            .attribute("disabled")
            .is_some(),
        "send is refused while papers are missing"
    );
    browser.snap("2-draft-papers-missing");

    // The rights holder's papers arrive (through the API, as its back office sends them);
    // the reviewer sends the notice from its page.
    Papers {
        site: &site,
        member: STUDIO,
        member_key: &studio,
        work_id: &work_id,
    }
    .complete();
    browser.goto(&daemon.url(&notice_path));
    assert!(
        browser.try_find("#missing").is_none(),
        "nothing missing now"
    );
    send_from_page(&browser);
    let public_url = browser
        .find("article.notice-doc a[href*='/public/evidence/']")
        .attribute("href")
        .expect("the public evidence link");
    let doc_text = browser.find("article.notice-doc").text();
    for expected in [
        "一、权利人信息",
        "二、代理人信息及授权",
        "短剧版权联盟",
        "国作登字-2026-I-00012345",
        FIRST_URL,
        "搬运工小王",
        "北京时间",
        "对本通知书的真实性负责",
    ] {
        assert!(
            doc_text.contains(expected),
            "{expected:?} not in the notice"
        );
    }
    browser.set_window_size(1000, 1400);
    browser.execute(
        "document.querySelector('article.notice-doc').scrollIntoView();",
        &[],
    );
    browser.snap("3-notice-sent");
    browser.set_window_size(1280, 1100);
    let first_done = started.elapsed();

    // The same file, re-posted on a second platform: a re-post waiting for a notice.
    let repost = queue_suspect(
        daemon,
        &crawler,
        &[
            ("platform", "bilibili"),
            ("url", REPOST_URL),
            ("uploader", "二次搬运君"),
            ("title_seen", "【合集】逆袭之路 第1集"),
            ("found_at", &now().to_string()),
        ],
        &copy,
    );
    assert_eq!(repost["deduplicated"], true, "{repost}");
    browser.goto(&daemon.url("/ui/notices"));
    let waiting = browser.find_all("table#sightings tr.sighting");
    assert_eq!(waiting.len(), 1, "{}", browser.where_am_i());
    let row = browser.find("table#sightings tr.sighting");
    assert!(row.text().contains(REPOST_URL) && row.text().contains("bilibili"));
    let notify = row.find("form.notify-repost button");
    assert_eq!(notify.text(), "通知此转载");
    browser.snap("4-repost-waiting");
    notify.click();
    browser.wait_until(
        "return /\\/ui\\/notices\\/\\d+$/.test(location.pathname) && !!document.getElementById('notice-state');",
        &[],
        Duration::from_secs(20),
        "the re-post's new notice",
    );
    let repost_path = browser.current_url().replacen(&daemon.base, "", 1);
    assert_ne!(repost_path, notice_path, "a notice of its own");
    assert_eq!(notice_state(&browser), "draft");
    assert!(browser.try_find("#repost-of").is_some());
    let items = rows(&browser, "article.notice-doc table.items");
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(items[0].contains(REPOST_URL) && !items[0].contains(FIRST_URL));
    assert_eq!(
        rows(&browser, "article.notice-doc table.ranges").len(),
        1,
        "the decision's kept segment, not re-reviewed"
    );
    send_from_page(&browser);
    browser.goto(&daemon.url("/ui/notices"));
    assert!(browser.try_find("table#sightings").is_none());
    assert!(browser.try_find("#no-sightings").is_some());
    // The match page lists both notices, one per sighting.
    browser.goto(&daemon.url(&match_path));
    assert_eq!(
        browser
            .find_all("#sources td.source-notice a.notice-link")
            .len(),
        2
    );

    // The public evidence link, opened logged out.
    browser.find("form#logout button").click();
    browser.wait_for("form#login", Duration::from_secs(10));
    browser.goto(&public_url);
    assert_eq!(
        browser.find("html").attribute("lang").as_deref(),
        Some("zh-CN")
    );
    assert_eq!(
        browser.find("h1").text(),
        "要求删除或断开链接侵权网络内容的通知"
    );
    assert!(browser.try_find("form#login").is_none());
    let public_text = browser.find("body").text();
    assert!(public_text.contains(FIRST_URL) && public_text.contains("已发送"));
    assert!(
        !public_text.contains("review-team"),
        "the reviewer stays private"
    );
    wait_for_images(&browser, "img.evidence-thumb", 2 * stills);
    browser.snap("5-public-evidence-logged-out");
    browser.goto(&daemon.url("/ui/queue"));
    browser.wait_for("form#login", Duration::from_secs(10));

    println!(
        "setup (register, ffmpeg compilation, scan) {setup:?}; to the first sent notice \
         {first_done:?}; whole walk {:?}; screenshots in {}",
        started.elapsed(),
        screenshot_dir().display()
    );
}
