//! Finding the part of a frame that holds the picture.
//!
//! Pirates put an episode on a bigger canvas: black or coloured borders (letterbox,
//! pillarbox), or the "reframe" in which the vertical episode sits sharp in the middle of a
//! horizontal canvas filled with a blurred, enlarged copy of itself. Both are *soft*: a
//! border has no detail at all, a blurred background very little. So the region is found
//! from a sharpness profile: for every column, the mean absolute *second difference* of luma
//! along the column, over all rows and frames of a chunk (and for every row, along the row).
//! A second difference, because a blurred background can still have strong smooth gradients
//! (colour bands) but almost no curvature; along the line, not across it, so the hard edge
//! between the sharp strip and its background counts as detail on neither side.
//!
//! The decision is per chunk of frames (a few seconds), not per frame: one frame of a dark
//! scene would look like a border, a few seconds of video rarely do.

// Pixel loops read neighbours at x±1 and y±1: index arithmetic is the clearest form.
#![allow(clippy::needless_range_loop)]

use serde::{Deserialize, Serialize};

/// Where the picture is, in analysis-thumbnail pixels or (after [`Region::scaled`]) in source
/// pixels. Invariant: `width > 0`, `height > 0`, and the rectangle lies within its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// What surrounded the picture.
    pub kind: RegionKind,
}

pub use reelguard_model::RegionKind;

impl Region {
    /// The whole frame.
    pub fn full(width: u32, height: u32) -> Self {
        Region {
            x: 0,
            y: 0,
            width,
            height,
            kind: RegionKind::Full,
        }
    }

    /// The same region in a frame of another size (analysis thumbnail to source pixels).
    pub fn scaled(&self, from: (u32, u32), to: (u32, u32)) -> Region {
        let sx = to.0 as f64 / from.0.max(1) as f64;
        let sy = to.1 as f64 / from.1.max(1) as f64;
        let x = ((self.x as f64 * sx).round() as u32).min(to.0.saturating_sub(1));
        let y = ((self.y as f64 * sy).round() as u32).min(to.1.saturating_sub(1));
        let width = ((self.width as f64 * sx).round() as u32).clamp(1, to.0 - x);
        let height = ((self.height as f64 * sy).round() as u32).clamp(1, to.1 - y);
        Region {
            x,
            y,
            width,
            height,
            kind: self.kind,
        }
    }
}

/// A grey analysis image, row-major, `width * height` bytes.
pub struct GreyImage<'a> {
    /// Pixels.
    pub pixels: &'a [u8],
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

/// A side is trimmed only where its sharpness falls below this fraction of the picture's.
const SOFT_FRACTION: f64 = 0.3;
/// Trims smaller than this fraction of the side are noise, not a border.
const MIN_TRIM_FRACTION: f64 = 0.03;
/// A region smaller than this fraction of a side is more likely a wrong guess than a picture.
const MIN_KEEP_FRACTION: f64 = 0.2;
/// Below this mean gradient (in luma levels) the border counts as flat (no motion, no detail).
const FLAT_GRADIENT: f64 = 0.6;

/// Detects the picture region of a chunk of same-sized analysis frames.
pub fn detect(frames: &[GreyImage<'_>]) -> Region {
    let Some(first) = frames.first() else {
        return Region::full(1, 1);
    };
    let (width, height) = (first.width, first.height);
    if width < 8 || height < 8 {
        return Region::full(width as u32, height as u32);
    }
    let mut column_sharpness = vec![0f64; width];
    let mut row_sharpness = vec![0f64; height];
    let mut used = 0usize;
    for frame in frames
        .iter()
        .filter(|f| f.width == width && f.height == height)
    {
        used += 1;
        let p = frame.pixels;
        let at = |x: usize, y: usize| p[y * width + x] as i32;
        for y in 1..height - 1 {
            for x in 1..width - 1 {
                let centre = 2 * at(x, y);
                column_sharpness[x] += (at(x, y - 1) + at(x, y + 1) - centre).unsigned_abs() as f64;
                row_sharpness[y] += (at(x - 1, y) + at(x + 1, y) - centre).unsigned_abs() as f64;
            }
        }
    }
    let column_norm = (used * (height - 2)).max(1) as f64;
    let row_norm = (used * (width - 2)).max(1) as f64;
    column_sharpness.iter_mut().for_each(|s| *s /= column_norm);
    row_sharpness.iter_mut().for_each(|s| *s /= row_norm);
    // The outermost lines have no neighbour on one side: copy their neighbour's value.
    column_sharpness[0] = column_sharpness[1];
    column_sharpness[width - 1] = column_sharpness[width - 2];
    row_sharpness[0] = row_sharpness[1];
    row_sharpness[height - 1] = row_sharpness[height - 2];
    if std::env::var_os("REELGUARD_DEBUG_REGION").is_some() {
        eprintln!(
            "columns {:?}",
            column_sharpness
                .iter()
                .map(|v| (v * 10.0).round() / 10.0)
                .collect::<Vec<_>>()
        );
        eprintln!(
            "rows {:?}",
            row_sharpness
                .iter()
                .map(|v| (v * 10.0).round() / 10.0)
                .collect::<Vec<_>>()
        );
    }

    let (left, right, soft_x) = centred_trim(&column_sharpness);
    let (top, bottom, soft_y) = centred_trim(&row_sharpness);
    if (left, right, top, bottom) == (0, width, 0, height) {
        return Region::full(width as u32, height as u32);
    }
    // Flat surround = border; a soft but non-flat one = blurred reframe.
    let surround = soft_x.into_iter().chain(soft_y).fold(0f64, f64::max);
    let kind = if surround < FLAT_GRADIENT {
        RegionKind::Borders
    } else {
        RegionKind::Reframe
    };
    Region {
        x: left as u32,
        y: top as u32,
        width: (right - left) as u32,
        height: (bottom - top) as u32,
        kind,
    }
}

/// [`trim`], keeping a trim of a soft-but-not-flat surround only when it is centred: a
/// reframe puts the picture in the middle of its blurred copy, while natural footage with a
/// soft side (sky, a defocused background, a smooth fractal) is soft on one side only, and
/// cutting it off would make the region — and so every hash — depend on the scene.
fn centred_trim(profile: &[f64]) -> (usize, usize, Option<f64>) {
    let n = profile.len();
    let (start, end, soft) = trim(profile);
    let Some(soft) = soft else {
        return (start, end, soft);
    };
    if soft < FLAT_GRADIENT {
        return (start, end, Some(soft));
    }
    let (before, after) = (start, n - end);
    let larger = before.max(after) as f64;
    let centred =
        before > 0 && after > 0 && (before as f64 - after as f64).abs() <= larger * 0.35 + 2.0;
    if centred {
        (start, end, Some(soft))
    } else {
        (0, n, None)
    }
}

/// Trims soft ends off a sharpness profile. Returns `[start, end)` and the mean sharpness of
/// the trimmed parts (None when nothing was trimmed).
fn trim(profile: &[f64]) -> (usize, usize, Option<f64>) {
    let n = profile.len();
    // Reference sharpness: the median of the central 30%, which any sane framing keeps.
    let mut centre: Vec<f64> = profile[n * 35 / 100..(n * 65 / 100).max(n * 35 / 100 + 1)].to_vec();
    centre.sort_by(f64::total_cmp);
    let reference = centre[centre.len() / 2];
    if reference <= FLAT_GRADIENT {
        // A flat picture (fade, title card): nothing to measure against.
        return (0, n, None);
    }
    let threshold = reference * SOFT_FRACTION;
    // A run of 2 sharp lines marks the edge, so a single noisy line in a border does not.
    let is_edge = |i: usize, step: isize| -> bool {
        let j = i as isize + step;
        profile[i] >= threshold && (0..n as isize).contains(&j) && profile[j as usize] >= threshold
    };
    let start = (0..n).find(|&i| is_edge(i, 1)).unwrap_or(0);
    let end = (0..n).rev().find(|&i| is_edge(i, -1)).map_or(n, |i| i + 1);
    let min_trim = ((n as f64) * MIN_TRIM_FRACTION).ceil() as usize;
    let start = if start >= min_trim { start } else { 0 };
    let end = if n - end >= min_trim { end } else { n };
    if end <= start || ((end - start) as f64) < n as f64 * MIN_KEEP_FRACTION {
        return (0, n, None);
    }
    let trimmed: Vec<f64> = profile[..start]
        .iter()
        .chain(&profile[end..])
        .copied()
        .collect();
    let soft = (!trimmed.is_empty()).then(|| trimmed.iter().sum::<f64>() / trimmed.len() as f64);
    (start, end, soft)
}

/// Luma step that counts as an edge for inset detection.
const INSET_EDGE: u8 = 10;
/// An inset side must run along at least this fraction of the frame's side.
const INSET_MIN_SIDE: f64 = 0.2;
/// An inset smaller than this fraction of the frame area is too small to hash.
const INSET_MIN_AREA: f64 = 0.08;
/// Window candidates returned per chunk.
pub const MAX_INSETS: usize = 3;
/// Lines considered per direction (the strongest ones).
const MAX_INSET_LINES: usize = 40;
/// An inset larger than this is the frame itself.
const INSET_MAX_AREA: f64 = 0.8;

/// Finds picture-in-picture windows: rectangles whose four sides are edges present in
/// *every* frame of the chunk, at the same place. Returns up to [`MAX_INSETS`] candidates,
/// sharpest frame first.
///
/// Content edges move or fade from frame to frame, so the per-pixel *minimum* edge strength
/// over the chunk keeps only edges that never move: the frame of an overlaid window, and
/// static scenery. Among rectangles whose sides are at least 90% such persistent lines, the ones
/// with the strongest edges along their sides win: an overlaid window has a hard frame, while
/// scenery (a game board, a building) has softer lines. A static scene can still hold several
/// such rectangles, so callers hash every candidate as a separate probe, *in addition* to the
/// whole frame: a wrong guess costs a probe, never a match.
pub fn detect_insets(frames: &[GreyImage<'_>]) -> Vec<Region> {
    let Some(first) = frames.first() else {
        return Vec::new();
    };
    let (w, h) = (first.width, first.height);
    let usable: Vec<&GreyImage<'_>> = frames
        .iter()
        .filter(|f| f.width == w && f.height == h)
        .collect();
    if usable.len() < 4 || w < 16 || h < 16 {
        return Vec::new();
    }
    // Persistent vertical edges (between x and x+1) and horizontal ones (between y and y+1).
    let mut vertical = vec![u8::MAX; w * h];
    let mut horizontal = vec![u8::MAX; w * h];
    for frame in &usable {
        let p = frame.pixels;
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let v = if x + 1 < w {
                    p[i].abs_diff(p[i + 1])
                } else {
                    0
                };
                let hz = if y + 1 < h {
                    p[i].abs_diff(p[i + w])
                } else {
                    0
                };
                vertical[i] = vertical[i].min(v);
                horizontal[i] = horizontal[i].min(hz);
            }
        }
    }
    let min_w = ((w as f64) * INSET_MIN_SIDE).ceil() as usize;
    let min_h = ((h as f64) * INSET_MIN_SIDE).ceil() as usize;
    // Strength of the persistent edge at a line pixel: the strongest of x-1..=x+1 (or y±1),
    // since the window frame may straddle two analysis pixels. The line is "on" there when
    // that strength reaches INSET_EDGE. Prefix sums of both along every column and row line
    // make the coverage and sharpness of any rectangle's sides O(1).
    let column_strength = |x: usize, y: usize| {
        (x.saturating_sub(1)..=(x + 1).min(w - 1))
            .map(|xx| vertical[y * w + xx])
            .max()
            .unwrap_or(0) as u32
    };
    let row_strength = |x: usize, y: usize| {
        (y.saturating_sub(1)..=(y + 1).min(h - 1))
            .map(|yy| horizontal[yy * w + x])
            .max()
            .unwrap_or(0) as u32
    };
    let on = |strength: u32| u32::from(strength >= u32::from(INSET_EDGE));
    let mut column_prefix = vec![0u32; w * (h + 1)];
    let mut column_power = vec![0u32; w * (h + 1)];
    for x in 0..w {
        for y in 0..h {
            let (i, strength) = (x * (h + 1) + y, column_strength(x, y));
            column_prefix[i + 1] = column_prefix[i] + on(strength);
            column_power[i + 1] = column_power[i] + strength;
        }
    }
    let mut row_prefix = vec![0u32; h * (w + 1)];
    let mut row_power = vec![0u32; h * (w + 1)];
    for y in 0..h {
        for x in 0..w {
            let (i, strength) = (y * (w + 1) + x, row_strength(x, y));
            row_prefix[i + 1] = row_prefix[i] + on(strength);
            row_power[i + 1] = row_power[i] + strength;
        }
    }
    let column_count = |x: usize, y0: usize, y1: usize| {
        column_prefix[x * (h + 1) + y1 + 1] - column_prefix[x * (h + 1) + y0]
    };
    let row_count = |y: usize, x0: usize, x1: usize| {
        row_prefix[y * (w + 1) + x1 + 1] - row_prefix[y * (w + 1) + x0]
    };
    // The strongest lines only: a static scene has many persistent edges, a window has four.
    let strongest = |mut lines: Vec<(usize, u32)>, min: usize| -> Vec<usize> {
        lines.retain(|&(_, n)| n as usize >= min);
        lines.sort_by_key(|line| std::cmp::Reverse(line.1));
        lines.truncate(MAX_INSET_LINES);
        let mut positions: Vec<usize> = lines.into_iter().map(|(i, _)| i).collect();
        positions.sort_unstable();
        positions
    };
    let candidate_columns = strongest(
        (1..w - 1).map(|x| (x, column_count(x, 0, h - 1))).collect(),
        min_h,
    );
    let candidate_rows = strongest(
        (1..h - 1).map(|y| (y, row_count(y, 0, w - 1))).collect(),
        min_w,
    );
    let coverage = |x0: usize, x1: usize, y0: usize, y1: usize| -> f64 {
        let covered = column_count(x0, y0, y1)
            + column_count(x1, y0, y1)
            + row_count(y0, x0, x1)
            + row_count(y1, x0, x1);
        covered as f64 / (2 * (y1 - y0 + 1) + 2 * (x1 - x0 + 1)) as f64
    };
    let strength = |x0: usize, x1: usize, y0: usize, y1: usize| -> f64 {
        let column = |x: usize| column_power[x * (h + 1) + y1 + 1] - column_power[x * (h + 1) + y0];
        let row = |y: usize| row_power[y * (w + 1) + x1 + 1] - row_power[y * (w + 1) + x0];
        let total = column(x0) + column(x1) + row(y0) + row(y1);
        total as f64 / (2 * (y1 - y0 + 1) + 2 * (x1 - x0 + 1)) as f64
    };
    let frame_area = (w * h) as f64;
    let mut found: Vec<(f64, Region)> = Vec::new();
    for (i, &x0) in candidate_columns.iter().enumerate() {
        for &x1 in &candidate_columns[i + 1..] {
            if x1 - x0 < min_w {
                continue;
            }
            for (j, &y0) in candidate_rows.iter().enumerate() {
                for &y1 in &candidate_rows[j + 1..] {
                    if y1 - y0 < min_h {
                        continue;
                    }
                    let area = ((x1 - x0) * (y1 - y0)) as f64 / frame_area;
                    if !(INSET_MIN_AREA..=INSET_MAX_AREA).contains(&area) {
                        continue;
                    }
                    let covered = coverage(x0, x1, y0, y1);
                    if covered < 0.9 {
                        continue;
                    }
                    // The window's interior, inside its frame line.
                    let region = Region {
                        x: (x0 + 2) as u32,
                        y: (y0 + 2) as u32,
                        width: (x1 - x0).saturating_sub(3).max(1) as u32,
                        height: (y1 - y0).saturating_sub(3).max(1) as u32,
                        kind: RegionKind::Inset,
                    };
                    found.push((covered * strength(x0, x1, y0, y1), region));
                }
            }
        }
    }
    // The sharpest-framed rectangles, each clearly different from those already taken.
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut chosen: Vec<Region> = Vec::new();
    for (_, region) in found {
        if chosen.len() == MAX_INSETS {
            break;
        }
        if chosen.iter().all(|c| overlap_ratio(c, &region) < 0.5) {
            chosen.push(region);
        }
    }
    chosen
}

/// Intersection over union of two rectangles.
pub fn overlap_ratio(a: &Region, b: &Region) -> f64 {
    let ix = (a.x + a.width)
        .min(b.x + b.width)
        .saturating_sub(a.x.max(b.x)) as f64;
    let iy = (a.y + a.height)
        .min(b.y + b.height)
        .saturating_sub(a.y.max(b.y)) as f64;
    let intersection = ix * iy;
    let union = (a.width * a.height + b.width * b.height) as f64 - intersection;
    if union <= 0.0 {
        0.0
    } else {
        intersection / union
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured picture of `w x h` placed at `(x0, y0)` on a canvas filled by `surround`.
    fn canvas(
        w: usize,
        h: usize,
        inner: (usize, usize, usize, usize),
        surround: impl Fn(usize, usize) -> u8,
    ) -> Vec<u8> {
        let (x0, y0, iw, ih) = inner;
        let mut pixels = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let inside = x >= x0 && x < x0 + iw && y >= y0 && y < y0 + ih;
                pixels[y * w + x] = if inside {
                    (((x * 37) ^ (y * 91)) % 200) as u8 + 20
                } else {
                    surround(x, y)
                };
            }
        }
        pixels
    }

    fn detect_one(pixels: &[u8], width: usize, height: usize) -> Region {
        detect(&[GreyImage {
            pixels,
            width,
            height,
        }])
    }

    #[test]
    fn a_full_frame_picture_is_full() {
        let pixels = canvas(90, 160, (0, 0, 90, 160), |_, _| 0);
        assert_eq!(detect_one(&pixels, 90, 160), Region::full(90, 160));
    }

    #[test]
    fn black_pillarbox_is_trimmed_as_borders() {
        let pixels = canvas(160, 90, (55, 0, 50, 90), |_, _| 16);
        let region = detect_one(&pixels, 160, 90);
        assert_eq!(
            (region.x, region.width, region.kind),
            (55, 50, RegionKind::Borders)
        );
        assert_eq!((region.y, region.height), (0, 90));
    }

    #[test]
    fn blurred_surround_is_trimmed_as_reframe() {
        // Smooth waves: soft, but not flat.
        let pixels = canvas(160, 90, (58, 0, 44, 90), |x, y| {
            (90.0 + 20.0 * (x as f64 / 3.0).sin() + 20.0 * (y as f64 / 3.0).cos()) as u8
        });
        let region = detect_one(&pixels, 160, 90);
        assert_eq!(
            (region.x, region.width, region.kind),
            (58, 44, RegionKind::Reframe)
        );
    }

    #[test]
    fn flat_frames_are_left_alone() {
        let pixels = vec![0u8; 90 * 160];
        assert_eq!(detect_one(&pixels, 90, 160), Region::full(90, 160));
    }
}
