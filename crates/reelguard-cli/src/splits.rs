//! Which fixture footage tunes thresholds and which only checks them, and the manifests that
//! say where each clip came from.
//!
//! The decision that shapes this module: **split by source, never by clip.** Variants of one
//! episode share its picture, so a random split of clips would put the same footage on both
//! sides. Footage is split by the Debian package it came from (the fixtures' `footage/`
//! manifest), a generated clip by its lavfi generator, and an episode by its drama's source:
//! `blupi` (planetblupi-common) and `synth` (lavfi) tune; `street` (opencv-doc) checks, with
//! the unrelated clips of opencv-doc, python-kivy-examples and five-or-more. A pair of a
//! suspect and an episode tunes only when both sides do, so nothing from a check source ever
//! shapes a threshold.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

/// One side of the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Thresholds may be fitted on it.
    Tune,
    /// Only measured.
    Check,
}

impl Split {
    /// Both sides, in report order.
    pub const ALL: [Split; 2] = [Split::Tune, Split::Check];

    /// The lower-case name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Split::Tune => "tune",
            Split::Check => "check",
        }
    }

    /// Check when either side is: a pair tunes only when all of it does.
    pub fn and(self, other: Split) -> Split {
        self.max(other)
    }
}

impl std::str::FromStr for Split {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tune" => Ok(Split::Tune),
            "check" => Ok(Split::Check),
            other => Err(format!("no split {other:?}: tune or check")),
        }
    }
}

/// Debian packages whose footage tunes; every other source checks.
const TUNE_PACKAGES: &[&str] = &["planetblupi-common", "gnome-mahjongg", "gnome-tetravex"];
/// Dramas made of tune footage (`synth` is lavfi-generated mandelbrot/life/sierpinski;
/// `radio`, of the fixtures with sound, is blupi's picture with English speech, and `voice`,
/// street's picture with Mandarin, checks).
const TUNE_DRAMAS: &[&str] = &["blupi", "synth", "radio"];
/// Generated unrelated footage that tunes (`mandelbrot` and `life` check, a region and a seed
/// the synth drama does not use).
const TUNE_GENERATORS: &[&str] = &["testsrc2", "cellauto"];

/// A drama's side.
pub fn drama_split(drama: &str) -> Split {
    if TUNE_DRAMAS.contains(&drama) {
        Split::Tune
    } else {
        Split::Check
    }
}

/// A Debian package's side.
pub fn package_split(package: &str) -> Split {
    if TUNE_PACKAGES.contains(&package) {
        Split::Tune
    } else {
        Split::Check
    }
}

/// A lavfi generator's side.
pub fn generator_split(generator: &str) -> Split {
    if TUNE_GENERATORS.contains(&generator) {
        Split::Tune
    } else {
        Split::Check
    }
}

/// Reads a fixtures manifest: one map per row, keyed by the header.
pub fn read_tsv(path: &Path) -> anyhow::Result<Vec<HashMap<String, String>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .context("empty manifest")?
        .split('\t')
        .collect();
    Ok(lines
        .map(|l| {
            header
                .iter()
                .map(|h| h.to_string())
                .zip(l.split('\t').map(str::to_string))
                .collect()
        })
        .collect())
}

/// A manifest field, or an error naming the row.
pub fn field<'a>(row: &'a HashMap<String, String>, key: &str) -> anyhow::Result<&'a str> {
    row.get(key)
        .map(String::as_str)
        .with_context(|| format!("manifest row without {key}: {row:?}"))
}

/// Where the fixtures came from: original name → drama, unrelated clip name → split.
pub struct Sources {
    /// Original (episode) name → drama.
    pub drama_of: HashMap<String, String>,
    /// Unrelated clip name → its package's side.
    pub unrelated: HashMap<String, Split>,
}

impl Sources {
    /// Reads `originals/`, `unrelated/` and `footage/` manifests.
    pub fn read(fixtures: &Path) -> anyhow::Result<Sources> {
        let mut drama_of = HashMap::new();
        for row in read_tsv(&fixtures.join("originals/MANIFEST.tsv"))? {
            drama_of.insert(
                field(&row, "name")?.to_string(),
                field(&row, "drama")?.to_string(),
            );
        }
        let mut package_of = HashMap::new();
        for row in read_tsv(&fixtures.join("footage/MANIFEST.tsv"))? {
            package_of.insert(
                field(&row, "file")?.to_string(),
                field(&row, "package")?.to_string(),
            );
        }
        let mut unrelated = HashMap::new();
        for row in read_tsv(&fixtures.join("unrelated/MANIFEST.tsv"))? {
            let source = field(&row, "source_file")?;
            // A source the footage manifest does not list is of unknown origin: it checks.
            let split = package_of
                .get(source)
                .map_or(Split::Check, |p| package_split(p));
            unrelated.insert(field(&row, "name")?.to_string(), split);
        }
        Ok(Sources {
            drama_of,
            unrelated,
        })
    }

    /// The side of a suspect showing these originals (an unknown original checks).
    pub fn originals_split<'a>(&self, originals: impl IntoIterator<Item = &'a str>) -> Split {
        originals
            .into_iter()
            .map(|o| {
                self.drama_of
                    .get(o)
                    .map_or(Split::Check, |d| drama_split(d))
            })
            .fold(Split::Tune, Split::and)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_tunes_only_when_both_sides_do() {
        assert_eq!(Split::Tune.and(Split::Tune), Split::Tune);
        assert_eq!(Split::Tune.and(Split::Check), Split::Check);
        assert_eq!(Split::Check.and(Split::Tune), Split::Check);
    }

    #[test]
    fn sources_split_by_package_drama_and_generator() {
        assert_eq!(drama_split("blupi"), Split::Tune);
        assert_eq!(drama_split("street"), Split::Check);
        assert_eq!(drama_split("radio"), Split::Tune);
        assert_eq!(drama_split("voice"), Split::Check);
        assert_eq!(drama_split("never-heard-of"), Split::Check);
        assert_eq!(package_split("gnome-mahjongg"), Split::Tune);
        assert_eq!(package_split("opencv-doc"), Split::Check);
        assert_eq!(generator_split("testsrc2"), Split::Tune);
        assert_eq!(generator_split("life"), Split::Check);
    }

    #[test]
    fn split_names_parse_back() {
        for split in Split::ALL {
            assert_eq!(split.name().parse::<Split>(), Ok(split));
        }
        assert!("all".parse::<Split>().is_err());
    }
}
