//! The evidence behind a match: side-by-side stills of the suspect and the registered episode
//! at matched moments, extracted with FFmpeg, and the evidence bundle a notice is issued on.
//!
//! Layout under `<data>/`:
//! - `references/<episode id>`: the registered episode's file, kept after registration so the
//!   registered side of a still can be extracted later (the catalogue keeps only hashes).
//! - `evidence/match-<id>/<k>-suspect.jpg`, `<k>-registered.jpg`: stills, made on first view
//!   (or at confirmation) and never rewritten: a file, once there, is what a notice hashed.
//! - `evidence/match-<id>/bundle-<sha256>.json`: the bundle a notice was issued on, named by
//!   its own SHA-256. Content-addressed, so a second (refused) confirmation can never replace
//!   the bundle an earlier notice points to.
//!
//! Verifying a notice later: hash the bundle file (it must equal the notice's
//! `evidence.bundle_sha256`), then hash each still the bundle lists.

use std::path::{Path, PathBuf};

use reelguard_media::Decoder;
use reelguard_model::Segment;
use reelguard_store::{MatchRow, Source};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Longer side of a still, in pixels: enough to recognise a face or a logo, small enough
/// that a page of them loads at once.
pub const STILL_SIDE: u32 = 360;

/// Most still pairs per match.
pub const MAX_STILLS: usize = 9;

const JPEG_QUALITY: u8 = 85;

/// Why evidence could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The file to extract from is not kept (e.g. suspects deleted after their scan).
    #[error("the {0} file is not kept")]
    SourceGone(&'static str),
    /// FFmpeg could not extract the still.
    #[error("extracting a still: {0}")]
    Media(#[from] reelguard_media::MediaError),
    /// Reading or writing evidence files failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// No such still for this match.
    #[error("match has no still {0}")]
    NoSuchStill(usize),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> EvidenceError {
    let what = what.into();
    move |source| EvidenceError::Io { what, source }
}

/// Which side of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The pirated upload.
    Suspect,
    /// The member's registered episode.
    Registered,
}

impl Side {
    /// As in file names and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Suspect => "suspect",
            Side::Registered => "registered",
        }
    }

    /// Parses `suspect` / `registered`.
    pub fn parse(text: &str) -> Option<Side> {
        match text {
            "suspect" => Some(Side::Suspect),
            "registered" => Some(Side::Registered),
            _ => None,
        }
    }
}

/// A matched moment: where to take the suspect's still and the registered one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StillPoint {
    /// Position in the match's list of stills.
    pub index: usize,
    /// Which segment it illustrates.
    pub segment: usize,
    /// Suspect seconds.
    pub suspect_t: f64,
    /// Episode seconds (the same moment, through the segment's offset and speed).
    pub ref_t: f64,
}

/// The moments a match is illustrated at: three per segment (early, middle, late) for up to
/// three segments, one per segment beyond that, at most [`MAX_STILLS`].
pub fn still_points(segments: &[Segment]) -> Vec<StillPoint> {
    let fractions: &[f64] = if segments.len() <= 3 {
        &[0.15, 0.5, 0.85]
    } else {
        &[0.5]
    };
    let mut points = Vec::new();
    for (segment, s) in segments.iter().enumerate() {
        for f in fractions {
            if points.len() == MAX_STILLS {
                return points;
            }
            let suspect_t = s.suspect_start_s + f * (s.suspect_end_s - s.suspect_start_s);
            let ref_t = (s.ref_start_s + (suspect_t - s.suspect_start_s) * s.speed).clamp(
                s.ref_start_s.min(s.ref_end_s),
                s.ref_end_s.max(s.ref_start_s),
            );
            points.push(StillPoint {
                index: points.len(),
                segment,
                suspect_t,
                ref_t,
            });
        }
    }
    points
}

/// A match's segments as notices and bundles cite them.
pub fn segments_value(segments: &[Segment]) -> Value {
    crate::present::segments_json(segments)
}

/// The segments a reviewer did not reject, in order.
pub fn accepted(segments: &[Segment], rejected: &[usize]) -> Vec<Segment> {
    segments
        .iter()
        .enumerate()
        .filter(|(i, _)| !rejected.contains(i))
        .map(|(_, s)| *s)
        .collect()
}

/// The indices (in the match) of the segments a reviewer did not reject.
pub fn accepted_indices(count: usize, rejected: &[usize]) -> Vec<usize> {
    (0..count).filter(|i| !rejected.contains(i)).collect()
}

/// Where the evidence files live.
#[derive(Debug, Clone)]
pub struct EvidenceDirs {
    /// `<data>/uploads/suspects`.
    pub suspects: PathBuf,
    /// `<data>/references`.
    pub references: PathBuf,
    /// `<data>/evidence`.
    pub evidence: PathBuf,
    /// `<data>/legal`.
    pub legal: PathBuf,
}

impl EvidenceDirs {
    /// The layout under a data directory.
    pub fn new(data_dir: &Path, uploads: &Path) -> EvidenceDirs {
        EvidenceDirs {
            suspects: uploads.join("suspects"),
            references: data_dir.join("references"),
            evidence: data_dir.join("evidence"),
            legal: data_dir.join("legal"),
        }
    }

    /// The kept file of a registered episode.
    pub fn reference(&self, episode_id: u64) -> PathBuf {
        self.references.join(episode_id.to_string())
    }

    fn match_dir(&self, match_id: i64) -> PathBuf {
        self.evidence.join(format!("match-{match_id}"))
    }

    /// A still's file (which may not exist yet).
    pub fn still_path(&self, match_id: i64, index: usize, side: Side) -> PathBuf {
        self.match_dir(match_id)
            .join(format!("{index}-{}.jpg", side.as_str()))
    }

    /// `<data>/legal`: members' certificates and authorisations, named by SHA-256.
    pub fn legal_dir(&self) -> PathBuf {
        self.legal.clone()
    }

    /// A bundle's file.
    pub fn bundle_path(&self, match_id: i64, sha256: &str) -> PathBuf {
        self.match_dir(match_id)
            .join(format!("bundle-{sha256}.json"))
    }
}

/// Keeps a registered episode's file as its reference (a rename within the data directory,
/// made durable: the upload it replaces is about to be forgotten).
pub fn keep_reference(dirs: &EvidenceDirs, episode_id: u64, upload: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(&dirs.references)?;
    std::fs::rename(upload, dirs.reference(episode_id))?;
    sync_dir(&dirs.references)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Writes a file whole or not at all, durably: a notice's hash is committed right after its
/// evidence is written, so a crash must not leave a cited still or bundle empty (a file that
/// exists is never rewritten).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), EvidenceError> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or(EvidenceError::SourceGone("evidence directory"))?;
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let tmp = dir.join(format!(
        ".tmp-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut file =
        std::fs::File::create(&tmp).map_err(io(format!("creating {}", tmp.display())))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(format!("writing {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io(format!("renaming to {}", path.display())))?;
    sync_dir(dir).map_err(io(format!("syncing {}", dir.display())))
}

/// A still's file by its index in [`still_points`], extracted with FFmpeg on first use.
/// Blocking: call it off the runtime.
pub fn still(
    decoder: &dyn Decoder,
    dirs: &EvidenceDirs,
    row: &MatchRow,
    index: usize,
    side: Side,
) -> Result<PathBuf, EvidenceError> {
    let point = still_points(&row.segments)
        .into_iter()
        .nth(index)
        .ok_or(EvidenceError::NoSuchStill(index))?;
    still_at(decoder, dirs, row, &point, side)
}

fn still_at(
    decoder: &dyn Decoder,
    dirs: &EvidenceDirs,
    row: &MatchRow,
    point: &StillPoint,
    side: Side,
) -> Result<PathBuf, EvidenceError> {
    let path = dirs.still_path(row.id, point.index, side);
    if path.exists() {
        return Ok(path);
    }
    let (source, at) = match side {
        Side::Suspect => (dirs.suspects.join(&row.suspect_sha256), point.suspect_t),
        Side::Registered => (dirs.reference(row.episode_id), point.ref_t),
    };
    if !source.exists() {
        return Err(EvidenceError::SourceGone(side.as_str()));
    }
    let limits = reelguard_media::Limits::default();
    let image = decoder.still(&source, at, STILL_SIDE, &limits)?;
    let jpeg = reelguard_media::encode_jpeg(&image, JPEG_QUALITY)?;
    write_atomically(&path, &jpeg)?;
    Ok(path)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    reelguard_store::hex(&Sha256::digest(bytes))
}

/// SHA-256 of a file, streamed; `None` if it is not there.
fn file_sha256(path: &Path) -> Result<Option<String>, EvidenceError> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(EvidenceError::Io {
                what: format!("opening {}", path.display()),
                source,
            })
        }
    };
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(io(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(Some(reelguard_store::hex(&hasher.finalize())))
}

/// A written evidence bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// SHA-256 of the bundle file's bytes.
    pub sha256: String,
    /// The bundle's content.
    pub content: Value,
}

/// Makes every still of a match (those already made are reused), hashes them, and writes the
/// bundle that a notice will cite. Blocking: call it off the runtime.
pub fn bundle(
    decoder: &dyn Decoder,
    dirs: &EvidenceDirs,
    row: &MatchRow,
    sources: &[Source],
    rejected: &[usize],
) -> Result<Bundle, EvidenceError> {
    let mut stills = Vec::new();
    // Still indices stay those of the whole match (a still on disk is named by its index), but
    // a rejected segment's stills are neither made nor cited.
    for point in still_points(&row.segments)
        .into_iter()
        .filter(|p| !rejected.contains(&p.segment))
    {
        let mut entry = json!({
            "index": point.index,
            "segment": point.segment,
            "suspect_t": crate::present::round(point.suspect_t, 2),
            "ref_t": crate::present::round(point.ref_t, 2),
        });
        for side in [Side::Suspect, Side::Registered] {
            // A side whose file is not kept is recorded as missing rather than failing the
            // confirmation: the segments and hashes still stand as evidence.
            entry[side.as_str()] = match still_at(decoder, dirs, row, &point, side) {
                Ok(path) => {
                    let bytes =
                        std::fs::read(&path).map_err(io(format!("reading {}", path.display())))?;
                    json!({
                        "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
                        "sha256": sha256_hex(&bytes),
                    })
                }
                Err(EvidenceError::SourceGone(what)) => json!({"missing": what}),
                Err(other) => return Err(other),
            };
        }
        stills.push(entry);
    }
    let content = json!({
        "format": "reelguard-evidence/1",
        "match_id": row.id,
        "rights_holder": row.member,
        "work": {"work_id": row.work_id, "title": row.title},
        "episode": row.episode,
        "suspect_sha256": row.suspect_sha256,
        // The registered episode's file as the member uploaded it: with the suspect's hash,
        // this ties the stills to the two exact files they were taken from.
        "registered_sha256": file_sha256(&dirs.reference(row.episode_id))?,
        "sources": sources.iter().map(crate::present::source_json).collect::<Vec<_>>(),
        "score": row.score,
        "segments": segments_value(&accepted(&row.segments, rejected)),
        "segment_indices": accepted_indices(row.segments.len(), rejected),
        "transformation": row.transformation,
        "content_box": row.content_box,
        "found_at": row.created_at,
        "stills": stills,
    });
    // serde_json's maps are ordered by key here (no `preserve_order`), so the same content
    // always serialises to the same bytes.
    let bytes = serde_json::to_vec_pretty(&content).map_err(|e| EvidenceError::Io {
        what: "serialising the bundle".into(),
        source: std::io::Error::other(e),
    })?;
    let sha256 = sha256_hex(&bytes);
    let path = dirs.bundle_path(row.id, &sha256);
    if !path.exists() {
        write_atomically(&path, &bytes)?;
    }
    Ok(Bundle { sha256, content })
}

/// Whether a file name is one of a match's evidence files (stills or bundles), so that a
/// request can never name anything else in the directory.
pub fn is_evidence_file(name: &str) -> bool {
    let still = name
        .strip_suffix("-suspect.jpg")
        .or_else(|| name.strip_suffix("-registered.jpg"))
        .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
    let bundle = name
        .strip_prefix("bundle-")
        .and_then(|n| n.strip_suffix(".json"))
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    still || bundle
}

/// A match's evidence file by name (see [`is_evidence_file`]).
pub fn evidence_file(dirs: &EvidenceDirs, match_id: i64, name: &str) -> Option<PathBuf> {
    is_evidence_file(name).then(|| dirs.match_dir(match_id).join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(s0: f64, s1: f64, r0: f64, r1: f64, speed: f64) -> Segment {
        Segment {
            suspect_start_s: s0,
            suspect_end_s: s1,
            ref_start_s: r0,
            ref_end_s: r1,
            speed,
            mirrored: false,
            matched_frames: 10,
            mean_distance: 3.0,
            coverage: 1.0,
            score: 0.9,
            evidence: 100.0,
            signal: reelguard_model::VIDEO_PHASH,
            false_match_rate: None,
            confirmed_by: None,
        }
    }

    #[test]
    fn still_points_follow_offset_and_speed() {
        let segments = [segment(10.0, 30.0, 0.0, 25.0, 1.25)];
        let points = still_points(&segments);
        assert_eq!(points.len(), 3);
        assert!((points[1].suspect_t - 20.0).abs() < 1e-9);
        assert!((points[1].ref_t - 12.5).abs() < 1e-9);
        assert!(points.iter().all(|p| p.ref_t >= 0.0 && p.ref_t <= 25.0));
    }

    #[test]
    fn a_compilation_gets_one_still_per_segment_up_to_the_cap() {
        let segments = vec![segment(0.0, 10.0, 0.0, 10.0, 1.0); 20];
        let points = still_points(&segments);
        assert_eq!(points.len(), MAX_STILLS);
        assert_eq!(points[8].segment, 8);
        assert!(still_points(&[]).is_empty());
    }

    #[test]
    fn only_evidence_names_resolve() {
        assert!(is_evidence_file("0-suspect.jpg"));
        assert!(is_evidence_file("12-registered.jpg"));
        assert!(is_evidence_file(&format!("bundle-{}.json", "a".repeat(64))));
        for bad in [
            "../x",
            "-suspect.jpg",
            "1-suspect.jpg/..",
            "bundle-../../etc.json",
            "x.jpg",
        ] {
            assert!(!is_evidence_file(bad), "{bad}");
        }
    }
}
