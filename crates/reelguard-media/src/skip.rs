//! Which packets the decoder may drop without changing a single sampled frame.
//!
//! Sampling keeps the first frame (in display order) of each sampling slot, about 5 of 30
//! frames a second. A frame that is neither sampled nor a reference of another frame need not
//! be decoded at all, and crawled uploads are mostly non-reference B-frames. The decoder knows
//! which frames are references; we know which will be sampled. So each packet is sent with
//! `skip_frame = AVDISCARD_NONREF` unless its frame may be sampled: the decoder then drops it
//! only if nothing else refers to it. H.264 and HEVC read `skip_frame` per picture, when the
//! picture's first slice is parsed; with frame threading FFmpeg copies the caller's value into
//! the worker thread's context when the packet is submitted, so switching it between packets
//! holds with threads too.
//!
//! The decision that shaped this module: **err towards decoding.** A frame is sampled iff its
//! slot is later than its predecessor's in display order ([`slot`], the same arithmetic the
//! sampler uses). Packets arrive in decode order, so the predecessor is looked for among the
//! timestamps of packets already sent and a lookahead of packets not yet sent. Any timestamp
//! we have not seen can only make the predecessor we find *earlier* than the true one, which
//! only ever turns "skip" into "decode". Packets without a timestamp, the first packets of a
//! stream, and every packet after a decode failure are decoded.

use std::collections::BTreeSet;

/// Packets read ahead of the decoder, so the predecessor of a frame whose display-order
/// neighbour comes later in decode order is known. H.264 reorders by at most 16 frames.
pub(crate) const LOOKAHEAD: usize = 16;
/// Timestamps remembered; dropping the oldest only makes the planner more cautious.
const MAX_REMEMBERED: usize = 256;
/// Packets decoded in full at the start of a stream, so a video still shows at least two
/// frames whatever the decoder may drop.
const FIRST_PACKETS_DECODED: u64 = 2;

/// The sampling slot of a time: frame `t` is sampled iff its slot is later than that of the
/// previous frame offered. The epsilon keeps 0.6 / 0.2 = 2.9999… in slot 3, not slot 2.
pub(crate) fn slot(t: f64, interval: f64) -> f64 {
    (t / interval + 1e-6).floor()
}

/// Decides, packet by packet, whether the decoder may drop a non-reference frame.
pub(crate) struct SkipPlanner {
    interval: f64,
    /// Timestamps (stream units) of packets seen: sent, or waiting in the lookahead.
    seen: BTreeSet<i64>,
    /// Maps a timestamp to seconds, as the sampler does.
    time: Box<dyn Fn(i64) -> f64>,
    sent: u64,
    enabled: bool,
    /// Packets sent allowed to be dropped (whether the decoder did drop them is its business).
    pub skippable: u64,
}

impl SkipPlanner {
    /// A planner for a stream sampled every `interval` seconds; `time` converts a packet
    /// timestamp to the sampler's seconds. Disabled, it never lets a packet be dropped.
    pub fn new(interval: f64, time: Box<dyn Fn(i64) -> f64>, enabled: bool) -> SkipPlanner {
        SkipPlanner {
            interval,
            seen: BTreeSet::new(),
            time,
            sent: 0,
            enabled,
            skippable: 0,
        }
    }

    /// A packet entered the lookahead.
    pub fn note(&mut self, pts: Option<i64>) {
        if let Some(pts) = pts {
            self.seen.insert(pts);
            if self.seen.len() > MAX_REMEMBERED {
                self.seen.pop_first();
            }
        }
    }

    /// A packet failed to decode: the frames that come out may no longer be the ones the
    /// timestamps promise, so nothing more is skipped.
    pub fn disable(&mut self) {
        self.enabled = false;
    }

    /// Whether the packet leaving the lookahead may be dropped if no frame refers to it.
    pub fn may_skip(&mut self, pts: Option<i64>) -> bool {
        self.sent += 1;
        if !self.enabled || self.sent <= FIRST_PACKETS_DECODED {
            return false;
        }
        let Some(pts) = pts else {
            return false;
        };
        let Some(&previous) = self.seen.range(..pts).next_back() else {
            return false;
        };
        let (t, t0) = ((self.time)(pts), (self.time)(previous));
        let skip =
            t.is_finite() && t0.is_finite() && slot(t, self.interval) <= slot(t0, self.interval);
        self.skippable += u64::from(skip);
        skip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 30 fps in a 1/30 time base, sampled at 5 fps: six frames a slot.
    fn planner() -> SkipPlanner {
        SkipPlanner::new(0.2, Box::new(|pts| pts as f64 / 30.0), true)
    }

    /// Feeds packets in decode order with a lookahead, returns the timestamps that may be
    /// skipped.
    fn plan(planner: &mut SkipPlanner, decode_order: &[i64], lookahead: usize) -> Vec<i64> {
        let mut skipped = Vec::new();
        for (i, &pts) in decode_order.iter().enumerate() {
            if i == 0 {
                for &ahead in decode_order.iter().take(lookahead + 1) {
                    planner.note(Some(ahead));
                }
            } else if let Some(&ahead) = decode_order.get(i + lookahead) {
                planner.note(Some(ahead));
            }
            if planner.may_skip(Some(pts)) {
                skipped.push(pts);
            }
        }
        skipped
    }

    /// The frames the sampler takes: the first of each slot, in display order.
    fn sampled(display: &[i64]) -> Vec<i64> {
        let mut last = f64::NEG_INFINITY;
        let mut out = Vec::new();
        for &pts in display {
            let s = slot(pts as f64 / 30.0, 0.2);
            if s > last {
                out.push(pts);
                last = s;
            }
        }
        out
    }

    #[test]
    fn never_skips_a_frame_the_sampler_takes_whatever_the_lookahead() {
        // I P B B B repeated (x264 -bf 3 order: P first, then its B-frames).
        let mut order = vec![0];
        for base in (0..120).step_by(4) {
            order.extend([base + 4, base + 2, base + 1, base + 3]);
        }
        let mut display = order.clone();
        display.sort_unstable();
        let taken = sampled(&display);
        for lookahead in [0, 1, 4, LOOKAHEAD] {
            let skipped = plan(&mut planner(), &order, lookahead);
            assert!(
                skipped.iter().all(|pts| !taken.contains(pts)),
                "lookahead {lookahead}: skipped {skipped:?}, sampled {taken:?}"
            );
            // With any lookahead the prediction is exact: every frame the sampler leaves may
            // be dropped, but the second packet (the first P-frame), always decoded.
            let unsampled = order.len() - taken.len();
            if lookahead > 0 {
                assert_eq!(skipped.len(), unsampled - 1, "lookahead {lookahead}");
            } else {
                assert!(skipped.len() * 10 >= unsampled * 8, "{}", skipped.len());
            }
        }
    }

    #[test]
    fn without_a_timestamp_or_once_disabled_every_packet_is_decoded() {
        let mut p = planner();
        for pts in 0..10 {
            p.note(Some(pts));
        }
        assert!(!p.may_skip(Some(0)));
        assert!(!p.may_skip(Some(1)), "the first packets are always decoded");
        assert!(p.may_skip(Some(2)));
        assert!(!p.may_skip(None));
        p.disable();
        assert!(!p.may_skip(Some(3)));
    }

    #[test]
    fn absurd_timestamps_are_decoded_not_skipped() {
        let mut p = SkipPlanner::new(0.2, Box::new(|_| f64::NAN), true);
        for pts in [0, 1, 2, 3] {
            p.note(Some(pts));
        }
        assert!((0..4).all(|pts| !p.may_skip(Some(pts))));
    }
}
