//! Building HTML safely by hand.
//!
//! The invariant every page relies on: **text that came from a user only ever reaches a page
//! through [`esc`]** (or [`link`], which also refuses non-HTTP URLs). Literal markup is written
//! by the page functions as string literals; anything interpolated into it is wrapped in `esc`.
//! `esc` escapes all five characters that matter in both text and quoted attribute values, so
//! the same call is right in either place. `tests/ui_escaping.rs` feeds hostile strings through
//! every user-supplied field and checks that none arrives raw.

use std::fmt::{self, Write};

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
}

/// A whole page: the frame around `body`.
pub fn page(frame: &Frame<'_>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · reelguard</title>\
         <link rel=\"stylesheet\" href=\"/ui/static/app.css\">\
         <script src=\"/ui/static/app.js\" defer></script></head>\
         <body data-role=\"{}\"><header class=\"bar\"><a class=\"brand\" href=\"/ui/\">reelguard</a>",
        esc(frame.title),
        esc(frame.role.unwrap_or("anonymous")),
    );
    if let (Some(role), Some(member), Some(csrf)) = (frame.role, frame.member, frame.csrf) {
        out.push_str("<nav>");
        if role == "reviewer" {
            out.push_str("<a href=\"/ui/queue\">Queue</a> <a href=\"/ui/notices\">Notices</a>");
        }
        if role == "member" {
            out.push_str("<a href=\"/ui/member\">My works</a> <a href=\"/ui/notices\">Notices</a>");
        }
        let _ = write!(
            out,
            "</nav><span class=\"who\">{} ({})</span>\
             <form id=\"logout\" method=\"post\" action=\"/ui/logout\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Log out</button></form>",
            esc(member),
            esc(role),
            esc(csrf)
        );
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
    fn dates_are_civil_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_795_710_000), "2026-11-26 16:20 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(clock(75.25), "1:15.2");
    }
}
