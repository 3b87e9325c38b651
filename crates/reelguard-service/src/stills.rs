//! Serving evidence to the people allowed to see it: a match's stills (extracted with FFmpeg on
//! first view, at most one per core at a time so a page of them cannot starve the job workers)
//! and the files a notice cites.

use reelguard_store::Caller;

use crate::error::AppError;
use crate::evidence::{self, EvidenceError, Side};
use crate::{matches, review, Service};

/// A still as the workbench serves it.
#[derive(Debug)]
pub enum Still {
    /// The JPEG.
    Jpeg(Vec<u8>),
    /// The side's file is not kept (or could not be read): say which, in place of the still.
    Missing(&'static str),
}

fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// The still `file` (`<k>-suspect.jpg` or `<k>-registered.jpg`) of a match the caller may read.
pub async fn still(
    service: &Service,
    caller: &Caller,
    raw_match_id: &str,
    file: &str,
) -> Result<Still, AppError> {
    let row = matches::get(service, caller, raw_match_id).await?;
    let not_found = || AppError::NotFound(format!("still {file}"));
    let (index, side) = file
        .strip_suffix(".jpg")
        .and_then(|name| name.split_once('-'))
        .and_then(|(k, side)| Some((k.parse::<usize>().ok()?, Side::parse(side)?)))
        .ok_or_else(not_found)?;
    let _permit = permits()
        .acquire()
        .await
        .map_err(|e| AppError::Internal(format!("still permits: {e}")))?;
    let (dirs, decoder) = (
        service.evidence.clone(),
        std::sync::Arc::clone(&service.decoder),
    );
    let started = std::time::Instant::now();
    let made = service
        .blocking(move || {
            Ok(
                evidence::still(decoder.as_ref(), &dirs, &row, index, side).and_then(|path| {
                    std::fs::read(&path).map_err(|source| EvidenceError::Io {
                        what: format!("reading {}", path.display()),
                        source,
                    })
                }),
            )
        })
        .await?;
    service
        .metrics
        .still_latency
        .observe(started.elapsed().as_secs_f64());
    match made {
        Ok(bytes) => Ok(Still::Jpeg(bytes)),
        Err(EvidenceError::NoSuchStill(_)) => Err(not_found()),
        Err(EvidenceError::SourceGone(what)) => Ok(Still::Missing(what)),
        Err(other) => {
            tracing::warn!(error = %other, "still extraction failed");
            Ok(Still::Missing("unreadable"))
        }
    }
}

/// A file a notice cites (a still or its bundle), for a caller who may read the notice;
/// answers the bytes and whether it is JSON.
pub async fn notice_file(
    service: &Service,
    caller: &Caller,
    raw_notice_id: &str,
    file: &str,
) -> Result<(Vec<u8>, bool), AppError> {
    let notice = review::notice(service, caller, raw_notice_id).await?;
    let not_found = || AppError::NotFound(format!("evidence file {file}"));
    let path =
        evidence::evidence_file(&service.evidence, notice.match_id, file).ok_or_else(not_found)?;
    let bytes = tokio::fs::read(&path).await.map_err(|_| not_found())?;
    Ok((bytes, file.ends_with(".json")))
}
