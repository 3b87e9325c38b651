//! Building HTML safely by hand.
//!
//! The invariant every page relies on: **text that came from a user only ever reaches a page
//! through [`esc`]** (or [`link`], which also refuses non-HTTP URLs). Literal markup is written
//! by the page functions as string literals; anything interpolated into it is wrapped in `esc`.
//! `esc` escapes all five characters that matter in both text and quoted attribute values, so
//! the same call is right in either place. `tests/ui_escaping.rs` feeds hostile strings through
//! every user-supplied field and checks that none arrives raw. Words come from the message
//! catalogue ([`super::i18n`]) through [`t`] and [`tf`], which escape the catalogue's text and
//! every argument alike, so neither a translation nor a user's string can add markup.

use std::fmt::{self, Write};

pub use super::i18n::Lang;
use super::i18n::{pieces, Piece};

/// Text made safe for HTML text and double- or single-quoted attribute values.
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

/// Escapes user text for a page.
pub fn esc(text: &str) -> Esc<'_> {
    Esc(text)
}

/// Escapes optional user text; absent shows as a dash.
pub fn esc_or_dash(text: Option<&str>) -> Esc<'_> {
    Esc(text.filter(|t| !t.is_empty()).unwrap_or("–"))
}

/// A link to a user-supplied URL if it is plain `http(s)`; otherwise the URL as inert text.
/// (`javascript:` and `data:` URLs in a crawler's report must never become clickable.)
pub fn link(url: Option<&str>) -> String {
    match url {
        Some(u) if is_web_url(u) => format!(
            "<a href=\"{}\" rel=\"noopener noreferrer nofollow\" target=\"_blank\">{}</a>",
            esc(u),
            esc(u)
        ),
        other => esc_or_dash(other).to_string(),
    }
}

fn is_web_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.chars().any(char::is_control)
}

pub use reelguard_service::time::{utc, utc_date};

/// A catalogue message, escaped for a page: `t(lang, "queue.title")`.
pub fn t(lang: Lang, key: &str) -> Esc<'static> {
    Esc(lang.text(key))
}

/// An argument to [`tf`].
pub enum Arg<'a> {
    /// Text, escaped where it lands (user strings, numbers).
    Text(String),
    /// Markup this crate built (a `<kbd>`, a link made by [`link`]); kept as it is.
    Html(&'a str),
}

impl From<&str> for Arg<'_> {
    fn from(text: &str) -> Self {
        Arg::Text(text.to_string())
    }
}

impl From<&String> for Arg<'_> {
    fn from(text: &String) -> Self {
        Arg::Text(text.clone())
    }
}

impl From<String> for Arg<'_> {
    fn from(text: String) -> Self {
        Arg::Text(text)
    }
}

macro_rules! number_args {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg<'_> {
            fn from(n: $t) -> Self {
                Arg::Text(n.to_string())
            }
        }
    )*};
}
number_args!(i64, u64, u32, usize);

/// A catalogue message with its `{name}` placeholders filled, as HTML: the message's own text
/// and every [`Arg::Text`] are escaped; a placeholder without an argument is left visible
/// (`{name}`), so the mistake shows on the page instead of vanishing.
pub fn tf(lang: Lang, key: &str, args: &[(&str, Arg<'_>)]) -> String {
    let text = lang.text(key);
    let mut out = String::with_capacity(text.len() + 16);
    for piece in pieces(text).unwrap_or_else(|| vec![Piece::Text(text)]) {
        match piece {
            Piece::Text(part) => {
                let _ = write!(out, "{}", esc(part));
            }
            Piece::Arg(name) => match args.iter().find(|(n, _)| *n == name) {
                Some((_, Arg::Text(value))) => {
                    let _ = write!(out, "{}", esc(value));
                }
                Some((_, Arg::Html(markup))) => out.push_str(markup),
                None => {
                    tracing::warn!(key, name, "message argument missing");
                    let _ = write!(out, "{{{}}}", esc(name));
                }
            },
        }
    }
    out
}

/// A message as plain text with text arguments filled (for `<title>` and other places that
/// escape later); markup arguments are dropped.
pub fn tf_plain(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let text = lang.text(key);
    let mut out = String::with_capacity(text.len() + 16);
    for piece in pieces(text).unwrap_or_else(|| vec![Piece::Text(text)]) {
        match piece {
            Piece::Text(part) => out.push_str(part),
            Piece::Arg(name) => match args.iter().find(|(n, _)| *n == name) {
                Some((_, value)) => out.push_str(value),
                None => {
                    let _ = write!(out, "{{{name}}}");
                }
            },
        }
    }
    out
}

/// Seconds as `m:ss.s`, the way a reviewer scrubs a player.
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0);
    let minutes = (s / 60.0).floor();
    format!("{}:{:04.1}", minutes as u64, s - minutes * 60.0)
}

/// Where a page sits in the navigation, and who is looking.
pub struct Frame<'a> {
    /// The `<title>`.
    pub title: &'a str,
    /// The caller's role (`body[data-role]`), if logged in.
    pub role: Option<&'a str>,
    /// The caller's member name.
    pub member: Option<&'a str>,
    /// The session's CSRF token (for the logout form).
    pub csrf: Option<&'a str>,
    /// The page's language.
    pub lang: Lang,
}

/// The messages the page script needs (`app.js` reads them from `#rg-messages`), so the
/// script holds no words either.
const SCRIPT_MESSAGES: &[&str] = &[
    "js.reject_prompt",
    "js.confirm_question",
    "js.unviewed",
    "js.viewed_all",
    "js.reason_needed",
];

/// `#rg-messages`: a JSON data block (never run: the CSP allows no inline script anyway), with
/// `<` written as `\u003c` so no message can close the element.
fn script_messages(lang: Lang) -> String {
    let map: serde_json::Map<String, serde_json::Value> = SCRIPT_MESSAGES
        .iter()
        .map(|k| (k.to_string(), serde_json::Value::from(lang.text(k))))
        .collect();
    let json = serde_json::Value::Object(map)
        .to_string()
        .replace('<', "\\u003c");
    format!("<script type=\"application/json\" id=\"rg-messages\">{json}</script>")
}

/// The language switcher: a small form that posts the choice (and, when logged in, the
/// session's CSRF token); the server stores it and sends the browser back where it was.
fn language_switcher(frame: &Frame<'_>) -> String {
    let mut out = String::from("<form id=\"language\" method=\"post\" action=\"/ui/language\">");
    if let Some(csrf) = frame.csrf {
        out.push_str(&csrf_field(csrf));
    }
    for (lang, key) in [(Lang::ZhCn, "name.lang_zh"), (Lang::En, "name.lang_en")] {
        let _ = write!(
            out,
            "<button type=\"submit\" name=\"lang\" value=\"{}\" lang=\"{}\"{}>{}</button>",
            lang.code(),
            lang.code(),
            if lang == frame.lang {
                " aria-pressed=\"true\" disabled"
            } else {
                ""
            },
            t(frame.lang, key)
        );
    }
    out.push_str("</form>");
    out
}

/// A whole page: the frame around `body`.
pub fn page(frame: &Frame<'_>, body: &str) -> String {
    let lang = frame.lang;
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · reelguard</title>\
         <link rel=\"stylesheet\" href=\"/ui/static/app.css\">\
         <script src=\"/ui/static/app.js\" defer></script>{}</head>\
         <body data-role=\"{}\"><header class=\"bar\"><a class=\"brand\" href=\"/ui/\">reelguard</a>",
        lang.code(),
        esc(frame.title),
        script_messages(lang),
        esc(frame.role.unwrap_or("anonymous")),
    );
    if let (Some(role), Some(member), Some(csrf)) = (frame.role, frame.member, frame.csrf) {
        out.push_str("<nav>");
        if role == "reviewer" {
            let _ = write!(
                out,
                "<a href=\"/ui/queue\">{}</a> <a href=\"/ui/notices\">{}</a>",
                t(lang, "nav.queue"),
                t(lang, "nav.notices")
            );
        }
        if role == "member" {
            let _ = write!(
                out,
                "<a href=\"/ui/member\">{}</a> <a href=\"/ui/notices\">{}</a>",
                t(lang, "nav.my_works"),
                t(lang, "nav.notices")
            );
        }
        let role_key = format!("role.{role}");
        let _ = write!(
            out,
            "</nav><span class=\"who\">{}</span>{}\
             <form id=\"logout\" method=\"post\" action=\"/ui/logout\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">{}</button></form>",
            tf(
                lang,
                "frame.who",
                &[
                    ("member", member.into()),
                    ("role", lang.text(&role_key).into())
                ]
            ),
            language_switcher(frame),
            esc(csrf),
            t(lang, "frame.logout")
        );
    } else {
        out.push_str("<span class=\"who\"></span>");
        out.push_str(&language_switcher(frame));
    }
    out.push_str("</header><main>");
    out.push_str(body);
    out.push_str("</main></body></html>");
    out
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_both_attribute_quotes() {
        let hostile = "<script>x</script>\"'&";
        assert_eq!(
            esc(hostile).to_string(),
            "&lt;script&gt;x&lt;/script&gt;&quot;&#39;&amp;"
        );
        assert_eq!(esc("微短剧 plain").to_string(), "微短剧 plain");
    }

    #[test]
    fn only_web_urls_become_links() {
        assert!(link(Some("https://v.example/1?a=1&b=2")).starts_with("<a href="));
        assert!(link(Some("https://v.example/1?a=1&b=2")).contains("a=1&amp;b=2"));
        for bad in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "data:text/html,x",
            "https://x\n.example",
        ] {
            let html = link(Some(bad));
            assert!(!html.contains("<a "), "{bad:?} became a link: {html}");
        }
        assert_eq!(link(None), "–");
    }

    #[test]
    fn messages_and_their_arguments_are_escaped() {
        let html = tf(
            Lang::En,
            "frame.who",
            &[("member", "<b>x</b>".into()), ("role", "r&d".into())],
        );
        assert!(
            html.contains("&lt;b&gt;x&lt;/b&gt;") && html.contains("r&amp;d"),
            "{html}"
        );
        let kbd = "<kbd>j</kbd>";
        let html = tf(Lang::ZhCn, "frame.who", &[("member", Arg::Html(kbd))]);
        assert!(html.contains(kbd) && html.contains("{role}"), "{html}");
        assert_eq!(t(Lang::En, "nav.queue").to_string(), "Queue");
    }

    #[test]
    fn the_page_says_its_language_and_carries_the_script_messages() {
        let frame = Frame {
            title: "x",
            role: None,
            member: None,
            csrf: None,
            lang: Lang::default(),
        };
        let html = page(&frame, "");
        assert!(html.contains("<html lang=\"zh-CN\">"), "{html}");
        let start = html.find("id=\"rg-messages\">").expect("messages block");
        let block = &html[start
            ..html[start..]
                .find("</script>")
                .map_or(html.len(), |e| start + e)];
        assert!(!block[20..].contains('<'), "{block}");
        assert!(block.contains("js.reject_prompt"), "{block}");
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_795_710_000), "2026-11-26 16:20 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(clock(75.25), "1:15.2");
    }
}
