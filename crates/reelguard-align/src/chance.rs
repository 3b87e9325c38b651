//! Chance alignments: how often a suspect that shows none of an episode still produces a
//! segment at least as strong against it, turned into an estimated false-match rate.
//!
//! The decision that shapes this module: **a measured tail, extrapolated conservatively.**
//! `reelguard bench chance` aligns unrelated footage against registered episodes with every
//! threshold off and records the evidence of each chance segment. No false match can be
//! *observed* at one per million suspects on a few thousand alignments, so the upper tail of
//! that sample is fitted with an exponential (the tail of a Gumbel-type maximum, which sums
//! of weakly dependent per-frame scores have), its scale raised to a one-sided 95% upper
//! bound so too few samples err towards reporting nothing. A rate is then
//! `chance segments per alignment x alignments per suspect x 1e6`.
//!
//! Two kinds of segment need more evidence than the pooled tail asks for, and get it by
//! multiplying their rate (which moves their evidence threshold up by `scale x ln factor`):
//! - **speeds outside the plausible range** (default 0.8–1.6x). Chance lines are spread evenly
//!   over the searched speeds, so the tail alone cannot tell 0.72x from 1.0x; but pirates
//!   speed up, and a notice citing a 0.72x stretch was the worst error seen (issue 11). The
//!   factor is a prior, not a measurement: such a stretch must be that much less likely to be
//!   chance before it is reported.
//! - **short segments** (under `short_s`, default 4 s): their tail is fitted on its own
//!   ([`Calibration::short`]) and used when it is the heavier, and their rate is multiplied
//!   by `short_s / duration`: a suspect offers that many more disjoint places for a short
//!   chance stretch, so a 2-second segment needs `scale x ln 2` more evidence than a 4-second
//!   one at the same tail (the fixtures' short chance tail is lighter than the pooled one, so
//!   this factor is what makes short segments pay).

use crate::Segment;

/// An exponential tail fitted to the strongest chance segments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChanceModel {
    /// Evidence above which the tail was fitted.
    pub threshold: f64,
    /// Chance segments per alignment (one suspect view x one episode) above `threshold`.
    pub per_alignment: f64,
    /// Evidence per e-fold drop of the tail (the conservative upper bound of the fit).
    pub scale: f64,
}

impl ChanceModel {
    /// Fits the top `tail_fraction` of `evidence` (at least 10 values), the chance segments
    /// of `alignments` alignments. `None` when there are too few to fit.
    pub fn fit(evidence: &[f64], alignments: usize, tail_fraction: f64) -> Option<ChanceModel> {
        let mut sorted: Vec<f64> = evidence.iter().copied().filter(|e| e.is_finite()).collect();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let k = ((sorted.len() as f64 * tail_fraction).ceil() as usize).max(10);
        if sorted.len() <= k || alignments == 0 {
            return None;
        }
        let threshold = sorted[k];
        let excess: f64 = sorted[..k].iter().map(|e| e - threshold).sum::<f64>() / k as f64;
        let scale = excess.max(1e-6) * upper_bound_factor(k);
        Some(ChanceModel {
            threshold,
            per_alignment: k as f64 / alignments as f64,
            scale,
        })
    }

    /// Expected chance segments per alignment with at least `evidence`.
    pub fn exceedance(&self, evidence: f64) -> f64 {
        self.per_alignment * (-(evidence - self.threshold) / self.scale).exp()
    }

    /// The evidence at which [`ChanceModel::exceedance`] falls to `per_alignment`.
    pub fn evidence_for(&self, per_alignment: f64) -> f64 {
        self.threshold + self.scale * (self.per_alignment / per_alignment.max(1e-300)).ln()
    }
}

/// `2k / chi2_{0.05}(2k)`: the exponential scale's one-sided 95% upper bound over its maximum
/// likelihood estimate from `k` exceedances (Wilson–Hilferty for the chi-square quantile).
fn upper_bound_factor(k: usize) -> f64 {
    let nu = 2.0 * k as f64;
    let z = -1.644_854;
    let a = 2.0 / (9.0 * nu);
    let quantile = nu * (1.0 - a + z * a.sqrt()).powi(3);
    nu / quantile.max(1e-9)
}

/// Turns a segment into an estimated false-match rate per million suspects.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Tail of every chance segment.
    pub any: ChanceModel,
    /// Tail of chance segments shorter than `short_s`.
    pub short: ChanceModel,
    /// Segments shorter than this use the heavier of the two tails.
    pub short_s: f64,
    /// Speeds outside this range (inclusive) are implausible for a pirated copy.
    pub plausible_speed: (f64, f64),
    /// How much less likely to be chance an implausible-speed segment must be.
    pub implausible_speed_factor: f64,
    /// Segments estimated above this many false matches per million suspects are not
    /// reported.
    pub max_rate_per_million: f64,
}

impl Calibration {
    /// Estimated chance segments at least as strong as `segment` per million suspects, each
    /// aligned against `alignments` episodes (views x candidates).
    pub fn false_match_rate(&self, segment: &Segment, alignments: usize) -> f64 {
        let duration = segment.suspect_end_s - segment.suspect_start_s;
        let mut per_alignment = self.any.exceedance(segment.evidence);
        if duration < self.short_s {
            // A suspect holds about `short_s / duration` times more disjoint places for a
            // short stretch than for one of `short_s`, each a chance to look like something.
            per_alignment = per_alignment.max(self.short.exceedance(segment.evidence))
                * (self.short_s / duration.max(0.1));
        }
        let (slow, fast) = self.plausible_speed;
        if segment.speed < slow - 1e-9 || segment.speed > fast + 1e-9 {
            per_alignment *= self.implausible_speed_factor;
        }
        per_alignment * alignments.max(1) as f64 * 1e6
    }

    /// `false_match_rate` within the configured limit (a NaN rate is never within it).
    pub fn accepts(&self, rate: f64) -> bool {
        rate <= self.max_rate_per_million
    }

    /// Gives every segment its rate and keeps those within the limit.
    pub fn apply(&self, segments: Vec<Segment>, alignments: usize) -> Vec<Segment> {
        segments
            .into_iter()
            .filter_map(|mut segment| {
                let rate = self.false_match_rate(&segment, alignments);
                segment.false_match_rate = Some(rate);
                self.accepts(rate).then_some(segment)
            })
            .collect()
    }
}

/// Fitted by `reelguard bench chance` on the tune split of the fixtures (video pHash, the
/// aligner's default [`crate::Params`]); the check split's chance segments validate it.
impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            any: ChanceModel {
                threshold: FIT_ANY.0,
                per_alignment: FIT_ANY.1,
                scale: FIT_ANY.2,
            },
            short: ChanceModel {
                threshold: FIT_SHORT.0,
                per_alignment: FIT_SHORT.1,
                scale: FIT_SHORT.2,
            },
            short_s: 4.0,
            plausible_speed: (0.8, 1.6),
            implausible_speed_factor: 1000.0,
            // Set on the tune split: its weakest true match (a 15% crop of a synthetic clip,
            // evidence 126) estimates 372 per million; 1 per million would need evidence 207
            // and lose 3 of its 11 crop15 copies. See the README's calibration table.
            max_rate_per_million: 1000.0,
        }
    }
}

/// (threshold, per alignment, scale) of the pooled tail of plausible-speed chance segments
/// from `reelguard bench chance` (tune split: 921 alignments, top 10%).
const FIT_ANY: (f64, f64, f64) = (4.0, 0.231_27, 13.683_2);
/// The same for those shorter than `short_s`.
const FIT_SHORT: (f64, f64, f64) = (2.0, 0.186_75, 8.092_1);

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(evidence: f64, speed: f64, seconds: f64) -> Segment {
        Segment {
            suspect_start_s: 0.0,
            suspect_end_s: seconds,
            ref_start_s: 0.0,
            ref_end_s: seconds * speed,
            speed,
            mirrored: false,
            matched_frames: 10,
            mean_distance: 10.0,
            coverage: 0.5,
            score: 0.3,
            evidence,
            signal: reelguard_model::VIDEO_PHASH,
            false_match_rate: None,
            confirmed_by: None,
        }
    }

    fn calibration() -> Calibration {
        let model = ChanceModel {
            threshold: 10.0,
            per_alignment: 0.1,
            scale: 5.0,
        };
        Calibration {
            any: model,
            short: ChanceModel {
                scale: 8.0,
                ..model
            },
            short_s: 4.0,
            plausible_speed: (0.8, 1.6),
            implausible_speed_factor: 1000.0,
            max_rate_per_million: 1.0,
        }
    }

    #[test]
    fn the_fitted_scale_of_an_exponential_sample_covers_the_true_one() {
        // Exponential quantiles with scale 4 above 20: the fit's upper bound is at or above 4
        // and not wildly so; the tail is a tenth of the sample.
        let n = 2000;
        let sample: Vec<f64> = (0..n)
            .map(|i| 20.0 - 4.0 * (1.0 - (i as f64 + 0.5) / n as f64).ln())
            .collect();
        let model = ChanceModel::fit(&sample, 100, 0.1).expect("fit");
        assert!(model.scale >= 4.0 && model.scale < 5.5, "{model:?}");
        assert!((model.per_alignment - 2.0).abs() < 0.01, "{model:?}");
        let top = sample.iter().copied().fold(0.0, f64::max);
        // About one value in the sample at least as strong as its maximum.
        let expected = model.exceedance(top) * 100.0;
        assert!(expected > 0.5 && expected < 3.0, "{expected}");
    }

    #[test]
    fn too_few_chance_segments_give_no_model() {
        assert_eq!(ChanceModel::fit(&[1.0; 5], 10, 0.1), None);
        assert_eq!(ChanceModel::fit(&[1.0; 50], 0, 0.1), None);
    }

    #[test]
    fn evidence_for_inverts_exceedance() {
        let model = calibration().any;
        let e = model.evidence_for(1e-9);
        assert!((model.exceedance(e) - 1e-9).abs() < 1e-15);
    }

    #[test]
    fn implausible_speeds_need_more_evidence() {
        let c = calibration();
        let plausible = c.false_match_rate(&segment(100.0, 1.0, 10.0), 10);
        let slow = c.false_match_rate(&segment(100.0, 0.72, 10.0), 10);
        assert!((slow / plausible - 1000.0).abs() < 1e-6);
        assert_eq!(
            c.false_match_rate(&segment(100.0, 1.6, 10.0), 10),
            plausible
        );
    }

    #[test]
    fn short_segments_use_the_heavier_tail_and_more_alignments_raise_the_rate() {
        let c = calibration();
        let long = c.false_match_rate(&segment(100.0, 1.0, 10.0), 10);
        let short = c.false_match_rate(&segment(100.0, 1.0, 3.0), 10);
        assert!(short > long * 100.0, "{short} vs {long}");
        let more = c.false_match_rate(&segment(100.0, 1.0, 10.0), 20);
        assert!((more / long - 2.0).abs() < 1e-9);
    }

    #[test]
    fn apply_rates_every_segment_and_drops_the_likely_chance_ones() {
        let c = calibration();
        let kept = c.apply(
            vec![segment(200.0, 1.0, 10.0), segment(12.0, 1.0, 10.0)],
            10,
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].evidence, 200.0);
        assert!(kept[0].false_match_rate.is_some_and(|r| r < 1e-6));
    }

    #[test]
    fn a_nan_rate_is_never_accepted() {
        assert!(!calibration().accepts(f64::NAN));
        assert!(calibration().accepts(0.5));
    }
}
