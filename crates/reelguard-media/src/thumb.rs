//! Reducing a region of an analysis frame to the 32x32 thumbnail the hash reads.

use crate::region::{GreyImage, Region};
use reelguard_hash::{Thumb, THUMB_PIXELS, THUMB_SIDE};

/// Box-filters `region` of `image` down to 32x32: every output pixel is the mean of the source
/// pixels its footprint covers (at least one), which is what an area downscale does and what
/// keeps the hash stable across source resolutions.
pub fn region_thumb(image: &GreyImage<'_>, region: &Region) -> Thumb {
    let mut thumb = [0u8; THUMB_PIXELS];
    let (x0, y0) = (region.x as usize, region.y as usize);
    let width = (region.width as usize)
        .min(image.width.saturating_sub(x0))
        .max(1);
    let height = (region.height as usize)
        .min(image.height.saturating_sub(y0))
        .max(1);
    let spans = |length: usize| -> [(usize, usize); THUMB_SIDE] {
        let mut spans = [(0, 1); THUMB_SIDE];
        for (i, span) in spans.iter_mut().enumerate() {
            let start = i * length / THUMB_SIDE;
            let end = ((i + 1) * length / THUMB_SIDE).max(start + 1).min(length);
            *span = (start.min(length - 1), end.max(start.min(length - 1) + 1));
        }
        spans
    };
    let columns = spans(width);
    let rows = spans(height);
    for (ty, &(row_start, row_end)) in rows.iter().enumerate() {
        for (tx, &(col_start, col_end)) in columns.iter().enumerate() {
            let mut sum = 0u32;
            for y in row_start..row_end {
                let line = &image.pixels[(y0 + y) * image.width + x0..];
                sum += line[col_start..col_end]
                    .iter()
                    .map(|&p| p as u32)
                    .sum::<u32>();
            }
            let count = ((row_end - row_start) * (col_end - col_start)) as u32;
            thumb[ty * THUMB_SIDE + tx] = ((sum + count / 2) / count) as u8;
        }
    }
    thumb
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::RegionKind;

    #[test]
    fn averages_blocks_of_the_region_only() {
        // 64x64 image: left half 0, right half 200; region = right half.
        let pixels: Vec<u8> = (0..64 * 64)
            .map(|i| if i % 64 >= 32 { 200 } else { 0 })
            .collect();
        let image = GreyImage {
            pixels: &pixels,
            width: 64,
            height: 64,
        };
        let region = Region {
            x: 32,
            y: 0,
            width: 32,
            height: 64,
            kind: RegionKind::Borders,
        };
        assert!(region_thumb(&image, &region).iter().all(|&p| p == 200));
    }

    #[test]
    fn tiny_regions_are_upsampled_without_panicking() {
        let pixels = [7u8; 4 * 3];
        let image = GreyImage {
            pixels: &pixels,
            width: 4,
            height: 3,
        };
        let thumb = region_thumb(&image, &Region::full(4, 3));
        assert!(thumb.iter().all(|&p| p == 7));
    }
}
