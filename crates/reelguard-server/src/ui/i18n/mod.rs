//! The workbench's words: one message catalogue per language, Simplified Chinese (the
//! default) and English, as data files compiled into the binary (`zh-CN.txt`, `en.txt` beside
//! this file), and the lookup that page code uses through [`super::html::t`] and
//! [`super::html::tf`].
//!
//! The decision that shaped it: **no user-visible word lives in page code.** The alliance's
//! reviewers read Chinese, so a string written in Rust would be a string they cannot read;
//! pages name a message by key and the catalogue says it. The format is deliberately plain,
//! one `key = text` per line (`#` starts a comment line, blank lines are ignored, the text runs
//! to the end of the line and may hold `{name}` placeholders), so a translator edits a text
//! file, and a duplicate key or a malformed line is a test failure rather than a silent
//! override. Catalogue text is plain text, never markup: `html::t`/`html::tf` escape it and
//! every argument, so a translation cannot inject HTML either. This module knows nothing of
//! HTML; escaping stays in [`super::html`].
//!
//! Which language a page is in: the key's stored choice (`api_keys.language`, on the
//! caller), else the `rg_lang` cookie (both set by the switcher in the page header), else
//! zh-CN ([`Lang::resolve`]).

use std::collections::HashMap;
use std::sync::OnceLock;

/// A language the workbench speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// Simplified Chinese, the default.
    #[default]
    ZhCn,
    /// English.
    En,
}

/// Every language, default first.
pub const LANGS: [Lang; 2] = [Lang::ZhCn, Lang::En];

/// The cookie that remembers a browser's choice when the user has no stored preference.
pub const LANG_COOKIE: &str = "rg_lang";

const ZH_CN: &str = include_str!("zh-CN.txt");
const EN: &str = include_str!("en.txt");

/// Why a catalogue file is malformed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CatalogueError {
    /// A line that is neither a comment, blank, nor `key = text`.
    #[error("line {line}: expected `key = text`")]
    Malformed {
        /// 1-based line number.
        line: usize,
    },
    /// A key given twice (the second would silently win).
    #[error("line {line}: duplicate key {key:?}")]
    Duplicate {
        /// 1-based line number of the second occurrence.
        line: usize,
        /// The key.
        key: String,
    },
    /// A `{` without its `}`, or an empty or non-identifier placeholder name.
    #[error("line {line}: bad placeholder in {key:?}")]
    Placeholder {
        /// 1-based line number.
        line: usize,
        /// The key.
        key: String,
    },
}

/// A catalogue's text cut at its placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Literal text.
    Text(&'a str),
    /// A `{name}` placeholder, by name.
    Arg(&'a str),
}

/// Splits a message into literal text and placeholders; `None` if a placeholder is malformed.
pub fn pieces(text: &str) -> Option<Vec<Piece<'_>>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        let name = &after[..close];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        out.push(Piece::Arg(name));
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return None;
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Some(out)
}

/// Parses a catalogue file into its entries, in file order.
pub fn parse(text: &str) -> Result<Vec<(&str, &str)>, CatalogueError> {
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(CatalogueError::Malformed { line });
        };
        let (key, value) = (key.trim(), value.trim());
        let key_ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !key_ok || value.is_empty() {
            return Err(CatalogueError::Malformed { line });
        }
        if pieces(value).is_none() {
            return Err(CatalogueError::Placeholder {
                line,
                key: key.to_string(),
            });
        }
        if seen.insert(key, line).is_some() {
            return Err(CatalogueError::Duplicate {
                line,
                key: key.to_string(),
            });
        }
        out.push((key, value));
    }
    Ok(out)
}

fn table(lang: Lang) -> &'static HashMap<&'static str, &'static str> {
    static ZH: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    static ENG: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let (cell, text) = match lang {
        Lang::ZhCn => (&ZH, ZH_CN),
        Lang::En => (&ENG, EN),
    };
    cell.get_or_init(|| match parse(text) {
        Ok(entries) => entries.into_iter().collect(),
        Err(error) => {
            // The unit tests refuse a malformed catalogue; a build that got past them anyway
            // shows keys rather than failing every page.
            tracing::error!(lang = lang.code(), %error, "message catalogue is malformed");
            HashMap::new()
        }
    })
}

impl Lang {
    /// The BCP 47 tag, as in `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    /// A tag back to a language (`zh-CN`, `zh`, `en`, any case); `None` for others.
    pub fn parse(tag: &str) -> Option<Lang> {
        match tag.trim().to_ascii_lowercase().as_str() {
            "zh-cn" | "zh" | "zh-hans" | "zh-hans-cn" => Some(Lang::ZhCn),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }

    /// The page's language: the user's stored preference, else the cookie, else zh-CN.
    pub fn resolve(preference: Option<&str>, cookie: Option<&str>) -> Lang {
        preference
            .and_then(Lang::parse)
            .or_else(|| cookie.and_then(Lang::parse))
            .unwrap_or_default()
    }

    /// The plain text of a message. An unknown key comes back as itself (and is logged), so
    /// it shows up as an English-looking word that the page-language test catches.
    pub fn text(self, key: &str) -> &'static str {
        match table(self).get(key) {
            Some(text) => text,
            None => {
                tracing::warn!(lang = self.code(), key, "no such message in the catalogue");
                // Leaked once per distinct missing key at most in practice; keys are literals.
                missing(key)
            }
        }
    }

    /// A message's text if the catalogue has the key (for codes such as states and edit tags,
    /// which fall back to the code itself).
    pub fn get(self, key: &str) -> Option<&'static str> {
        table(self).get(key).copied()
    }

    /// Every key of this language's catalogue.
    pub fn keys(self) -> impl Iterator<Item = &'static str> {
        table(self).keys().copied()
    }
}

/// A missing key as a `'static` string (interned, so a loop over a missing key does not leak).
fn missing(key: &str) -> &'static str {
    static SEEN: OnceLock<std::sync::Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(text) = seen.get(key) {
        return text;
    }
    let text: &'static str = Box::leak(key.to_string().into_boxed_str());
    seen.insert(key.to_string(), text);
    text
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    fn placeholders(text: &str) -> BTreeSet<&str> {
        pieces(text)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| match p {
                Piece::Arg(name) => Some(name),
                Piece::Text(_) => None,
            })
            .collect()
    }

    fn catalogue(text: &str) -> BTreeMap<&str, &str> {
        parse(text)
            .unwrap_or_else(|e| panic!("catalogue malformed: {e}"))
            .into_iter()
            .collect()
    }

    #[test]
    fn both_catalogues_parse_and_have_the_same_keys_and_placeholders() {
        let zh = catalogue(ZH_CN);
        let en = catalogue(EN);
        let only_zh: Vec<&&str> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        let only_en: Vec<&&str> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        assert!(only_zh.is_empty(), "keys only in zh-CN.txt: {only_zh:?}");
        assert!(only_en.is_empty(), "keys only in en.txt: {only_en:?}");
        for (key, zh_text) in &zh {
            assert_eq!(
                placeholders(zh_text),
                placeholders(en[key]),
                "{key}: placeholders differ between zh-CN and en"
            );
        }
        assert!(zh.len() > 50, "only {} messages", zh.len());
    }

    #[test]
    fn the_chinese_catalogue_is_chinese() {
        // A key copied across untranslated would pass the key test; most messages must hold
        // CJK characters (the rest are symbols, numbers or names like "reelguard").
        let zh = catalogue(ZH_CN);
        let en = catalogue(EN);
        let untranslated: Vec<&&str> = zh
            .keys()
            .filter(|k| {
                let text = zh[*k];
                text == en[*k] && text.chars().any(|c| c.is_ascii_alphabetic())
            })
            .filter(|k| !k.starts_with("name."))
            .collect();
        assert!(
            untranslated.is_empty(),
            "zh-CN has English text for {untranslated:?}"
        );
    }

    #[test]
    fn a_duplicate_key_or_malformed_line_is_refused() {
        assert_eq!(
            parse("a = x\nb = y\na = z"),
            Err(CatalogueError::Duplicate {
                line: 3,
                key: "a".into()
            })
        );
        assert_eq!(
            parse("# c\n\nno equals sign"),
            Err(CatalogueError::Malformed { line: 3 })
        );
        assert_eq!(
            parse("a = open {brace"),
            Err(CatalogueError::Placeholder {
                line: 1,
                key: "a".into()
            })
        );
        assert_eq!(
            parse("a.b-c_d = 审核 {n} 条"),
            Ok(vec![("a.b-c_d", "审核 {n} 条")])
        );
    }

    #[test]
    fn the_language_is_the_preference_then_the_cookie_then_chinese() {
        assert_eq!(Lang::resolve(None, None), Lang::ZhCn);
        assert_eq!(Lang::resolve(None, Some("en")), Lang::En);
        assert_eq!(Lang::resolve(Some("zh-CN"), Some("en")), Lang::ZhCn);
        assert_eq!(Lang::resolve(Some("en"), None), Lang::En);
        assert_eq!(Lang::resolve(Some("klingon"), Some("en")), Lang::En);
        assert_eq!(Lang::resolve(None, Some("<script>")), Lang::ZhCn);
        for lang in LANGS {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
        }
    }

    /// Every key that page code names exists (a typo would otherwise show the key itself).
    #[test]
    fn every_key_the_pages_use_is_in_the_catalogue() {
        let zh = catalogue(ZH_CN);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
        let mut files = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("src/ui").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs" || e == "js") {
                    files.push(path);
                }
            }
        }
        let mut used = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).expect("source file");
            // `t(lang, "key")`, `tf(lang, "key", ...)`, `.text("key")` and JS `msg("key")`.
            for opener in ["t(lang, \"", "tf(lang, \"", ".text(\"", "msg(\""] {
                let mut rest = text.as_str();
                while let Some(at) = rest.find(opener) {
                    rest = &rest[at + opener.len()..];
                    let key = rest.split('"').next().unwrap_or("");
                    if key.contains('.') && !key.contains(' ') {
                        used += 1;
                        assert!(
                            zh.contains_key(key),
                            "{} uses {key:?}, which the catalogue lacks",
                            file.display()
                        );
                    }
                }
            }
        }
        assert!(used > 20, "found only {used} message uses in src/ui");
    }
}
