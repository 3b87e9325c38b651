//! The unregistered-neighbour scenario of `reelguard eval`: every fixture episode is left out
//! of the catalogue in turn, and the suspects that show it (its variants, and compilations
//! that hold it) are matched against the rest.
//!
//! The decision that shapes this module: **measure the error a full catalogue hides.** With
//! every episode registered, a copy of street e2 is credited to e2, because e2's claim on the
//! stretch beats its neighbours'. A rights holder registers what they hold, not always every
//! episode, and then nothing outbids a neighbour with the same static-camera background: the
//! copy is credited to e4, and a notice would cite it (issue 11). Here any match to the left-out
//! episode's stretch is a wrong match and each of its segments a false segment; the other
//! episodes of a compilation are still expected, so the scenario also shows recall lost to a
//! cure that is too strong.
//!
//! The suspects are not decoded again: the main evaluation hands over the views its full pass
//! aligned (`reelguard_pipeline::scan_file_probes`), and a suspect its key-frame pass ruled out
//! is decoded fully here. Every view is matched as a full pass would (`--full`): a neighbour
//! is a candidate, so the key-frame pass never rules these suspects out.

use rayon::prelude::*;
use reelguard_align::QueryFrame;
use reelguard_index::{Catalogue, MatchParams};
use reelguard_media::{fingerprint_file, Options};
use reelguard_pipeline::probe_frames;

use super::{register, score_each, Case, Episodes, Evaluation, Found, Outcome, Registered};

/// Scores the scenario. `views[i]` are `cases[i]`'s full-pass views, if its scan ran one.
pub fn evaluate(
    episodes: &Episodes,
    cases: &[Case],
    views: Vec<Option<Vec<Vec<QueryFrame>>>>,
    params: &MatchParams,
) -> anyhow::Result<Evaluation> {
    let full = Options {
        detect_insets: true,
        ..Options::default()
    };
    let quiet = |_: reelguard_media::Progress| {};
    // Views for every case that shows an episode; a failed decode is that case's outcome.
    let views: Vec<Result<Vec<Vec<QueryFrame>>, String>> = cases
        .par_iter()
        .zip(views)
        .with_max_len(1)
        .map(|(case, views)| match views {
            Some(views) => Ok(views),
            None => fingerprint_file(&case.file, &full, &quiet)
                .map(|fp| probe_frames(&fp))
                .map_err(|e| e.to_string()),
        })
        .collect();
    let mut scored: Vec<(Case, Outcome, Registered)> = Vec::new();
    for name in episodes.values().flatten().map(|(name, _)| name) {
        let shown: Vec<usize> = (0..cases.len()).filter(|&i| cases[i].shows(name)).collect();
        if shown.is_empty() {
            continue;
        }
        let data = tempfile::tempdir()?;
        let mut catalogue = Catalogue::open(data.path())?;
        let ids = register(episodes, &mut catalogue, Some(name))?;
        let snapshot = catalogue.snapshot();
        let outcomes: Vec<Outcome> = shown
            .par_iter()
            .map(|&i| {
                let _case =
                    tracing::debug_span!("case", file = %cases[i].file.display(), left_out = %name)
                        .entered();
                let started = std::time::Instant::now();
                let found = views[i].clone().and_then(|views| {
                    let probes: Vec<&[QueryFrame]> = views.iter().map(Vec::as_slice).collect();
                    snapshot
                        .find_probes(&probes, params)
                        .map(|(matches, _)| matches.iter().map(Found::from).collect())
                        .map_err(|e| e.to_string())
                });
                (found, started.elapsed().as_secs_f64() * 1000.0)
            })
            .collect();
        for (&i, outcome) in shown.iter().zip(outcomes) {
            scored.push((cases[i].clone(), outcome, ids.clone()));
        }
    }
    let (cases, rest): (Vec<Case>, Vec<(Outcome, Registered)>) = scored
        .into_iter()
        .map(|(case, outcome, ids)| (case, (outcome, ids)))
        .unzip();
    let (outcomes, ids): (Vec<Outcome>, Vec<Registered>) = rest.into_iter().unzip();
    let ids: Vec<&Registered> = ids.iter().collect();
    Ok(score_each(&cases, outcomes, &ids))
}
