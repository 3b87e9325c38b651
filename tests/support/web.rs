//! A browser-less visitor of the review workbench: a cookie jar over ureq that follows no
//! redirects and returns 4xx/5xx as answers, plus a small HTML tag scanner (enough for
//! server-rendered pages) to read forms and attributes the way a browser would.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{url_encode, Daemon};

/// One answer of the workbench.
pub struct Page {
    pub status: u16,
    pub content_type: String,
    pub csp: Option<String>,
    pub location: Option<String>,
    pub body: String,
    /// The body as sent (images).
    pub bytes: Vec<u8>,
}

/// A visitor: one cookie jar, no redirects followed, 4xx/5xx returned as answers.
pub struct Web<'d> {
    daemon: &'d Daemon,
    agent: ureq::Agent,
    cookies: BTreeMap<String, String>,
}

impl<'d> Web<'d> {
    pub fn new(daemon: &'d Daemon) -> Self {
        Web {
            daemon,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(60)))
                .build()
                .into(),
            cookies: BTreeMap::new(),
        }
    }

    /// A visitor holding these cookies (`a=b; c=d`), e.g. a session copied from another.
    pub fn with_cookies(daemon: &'d Daemon, header: &str) -> Self {
        let mut web = Web::new(daemon);
        for pair in header.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                web.cookies.insert(name.to_string(), value.to_string());
            }
        }
        web
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn answer(
        &mut self,
        what: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Page {
        let mut response = result.unwrap_or_else(|e| panic!("{what}: {e}"));
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (content_type, csp, location) = (
            header("content-type").unwrap_or_default(),
            header("content-security-policy"),
            header("location"),
        );
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap_or_default();
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                // Judge expiry by the attributes only: a random cookie value may well contain
                // "1970" (about one token in a thousand does).
                let attributes: Vec<String> = set
                    .split(';')
                    .skip(1)
                    .map(|a| a.trim().to_ascii_lowercase())
                    .collect();
                let expired = value.is_empty()
                    || attributes.iter().any(|a| {
                        a == "max-age=0" || (a.starts_with("expires=") && a.contains("1970"))
                    });
                if expired {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_string(), value.trim().to_string());
                }
            }
        }
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_vec()
            .unwrap_or_else(|e| panic!("reading {what}: {e}"));
        let body = String::from_utf8_lossy(&bytes).into_owned();
        Page {
            status,
            content_type,
            csp,
            location,
            body,
            bytes,
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        self.fetch(&self.daemon.url(path))
    }

    /// GET of an absolute URL (an `img.src` or `a.href` as a browser resolved it).
    pub fn fetch(&mut self, url: &str) -> Page {
        let request = self.agent.get(url).header("Cookie", &self.cookie_header());
        self.answer(&format!("GET {url}"), request.call())
    }

    pub fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect();
        let request = self
            .agent
            .post(self.daemon.url(path))
            .header("Cookie", &self.cookie_header())
            .header("Content-Type", "application/x-www-form-urlencoded");
        self.answer(&format!("POST {path}"), request.send(body.join("&")))
    }

    /// GET, following same-site redirects (up to 5); returns the final page and its path.
    pub fn get_following(&mut self, path: &str) -> (String, Page) {
        let mut path = path.to_string();
        for _ in 0..5 {
            let page = self.get(&path);
            if !(300..400).contains(&page.status) {
                return (path, page);
            }
            let location = page
                .location
                .unwrap_or_else(|| panic!("GET {path}: {} without Location", page.status));
            path = location
                .strip_prefix(&self.daemon.base)
                .unwrap_or(&location)
                .to_string();
        }
        panic!("GET {path}: too many redirects");
    }

    /// Logs in with `key` through form#login; returns where `/ui/` sends this role.
    pub fn log_in(&mut self, key: &str) -> String {
        let login = self.get("/ui/login");
        assert_eq!(
            login.status, 200,
            "GET /ui/login answered {}: the review workbench (the /ui/ contract) is not in \
             this build",
            login.status
        );
        let form = Form::find(&login.body, "login").expect("form#login on /ui/login");
        let csrf = form.value("csrf").expect("form#login has input[name=csrf]");
        let action = form.action.clone().unwrap_or_else(|| "/ui/login".into());
        let page = self.post_form(&action, &[("key", key), ("csrf", &csrf)]);
        assert_eq!(page.status, 303, "logging in: {}", page.body);
        let (path, page) = self.get_following("/ui/");
        assert_eq!(page.status, 200, "GET {path}: {}", page.body);
        path
    }
}

// ---- a small HTML tag scanner (enough for server-rendered pages) ----------------------------

#[derive(Debug, Clone)]
pub struct Tag {
    pub name: String,
    pub closing: bool,
    pub attrs: Vec<(String, String)>,
    /// For script/style/textarea/title: the raw text up to the closing tag.
    pub raw_text: Option<String>,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes the character references a browser would in an attribute value (the common ones).
pub fn decode_entities(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|&e| e <= 12);
        let Some(end) = end else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "colon" => Some(':'),
            "Tab" => Some('\t'),
            "NewLine" => Some('\n'),
            _ => {
                if let Some(hex) = entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                {
                    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse().ok().and_then(char::from_u32)
                } else {
                    None
                }
            }
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The tags of `html`, in order, with decoded attribute values.
pub fn tags(html: &str) -> Vec<Tag> {
    let mut out = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        i += off;
        if html[i..].starts_with("<!--") {
            i = html[i..].find("-->").map_or(html.len(), |e| i + e + 3);
            continue;
        }
        if html[i..].starts_with("<!") || html[i..].starts_with("<?") {
            i = html[i..].find('>').map_or(html.len(), |e| i + e + 1);
            continue;
        }
        let closing = bytes.get(i + 1) == Some(&b'/');
        let mut j = i + 1 + usize::from(closing);
        let name_start = j;
        while j < bytes.len() && bytes[j].is_ascii_alphanumeric() {
            j += 1;
        }
        if j == name_start {
            i += 1; // a lone '<' in text
            continue;
        }
        let name = html[name_start..j].to_ascii_lowercase();
        let mut attrs = Vec::new();
        // Attributes up to '>'.
        loop {
            while j < bytes.len() && (bytes[j].is_ascii_whitespace() || bytes[j] == b'/') {
                j += 1;
            }
            if j >= bytes.len() || bytes[j] == b'>' {
                j += 1;
                break;
            }
            let attr_start = j;
            while j < bytes.len()
                && !bytes[j].is_ascii_whitespace()
                && !matches!(bytes[j], b'=' | b'>' | b'/')
            {
                j += 1;
            }
            let attr = html[attr_start..j].to_ascii_lowercase();
            while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            let mut value = String::new();
            if j < bytes.len() && bytes[j] == b'=' {
                j += 1;
                while j < bytes.len() && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < bytes.len() && (bytes[j] == b'"' || bytes[j] == b'\'') {
                    let quote = bytes[j] as char;
                    let end = html[j + 1..].find(quote).map_or(html.len(), |e| j + 1 + e);
                    value = decode_entities(&html[j + 1..end]);
                    j = (end + 1).min(html.len());
                } else {
                    let start = j;
                    while j < bytes.len() && !bytes[j].is_ascii_whitespace() && bytes[j] != b'>' {
                        j += 1;
                    }
                    value = decode_entities(&html[start..j]);
                }
            }
            if !attr.is_empty() {
                attrs.push((attr, value));
            }
        }
        let mut raw_text = None;
        if !closing && matches!(name.as_str(), "script" | "style" | "textarea" | "title") {
            let close = format!("</{name}");
            let lower = html[j.min(html.len())..].to_ascii_lowercase();
            let end = lower.find(&close).map_or(html.len(), |e| j + e);
            raw_text = Some(html[j.min(end)..end].to_string());
            j = end;
        }
        out.push(Tag {
            name,
            closing,
            attrs,
            raw_text,
        });
        i = j.min(html.len());
    }
    out
}

/// A form: its action and its named inputs' values.
pub struct Form {
    pub action: Option<String>,
    pub inputs: Vec<(String, String)>,
}

impl Form {
    pub fn find(html: &str, id: &str) -> Option<Form> {
        let all = tags(html);
        let start = all
            .iter()
            .position(|t| !t.closing && t.name == "form" && t.attr("id") == Some(id))?;
        let action = all[start].attr("action").map(str::to_string);
        let mut inputs = Vec::new();
        for t in &all[start + 1..] {
            if t.name == "form" {
                break;
            }
            if !t.closing && t.name == "input" {
                if let Some(name) = t.attr("name") {
                    inputs.push((name.to_string(), t.attr("value").unwrap_or("").to_string()));
                }
            }
        }
        Some(Form { action, inputs })
    }

    pub fn value(&self, name: &str) -> Option<String> {
        self.inputs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}
