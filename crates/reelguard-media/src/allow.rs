//! Which containers an upload may be read as, and what to say about the ones it may not.
//!
//! The decision that shaped this module: **the allow-list is a closed set of named families,
//! not free text.** FFmpeg will happily read game music (libgme inflates a gzip bomb whole),
//! image sequences, playlists, concat scripts and network-capable formats if its prober picks
//! them; a configuration that could name any demuxer could name those too. [`Demuxers`] can
//! only hold the families we mean to read, and becomes FFmpeg's `format_whitelist`.
//!
//! Still and animated images are not on the list, but they are common uploads from crawlers,
//! so they get a clear answer from their header alone (parsed here, in Rust, without handing
//! the bytes to an image decoder): "not a video", or "too large" when the header claims more
//! pixels than [`crate::Limits::max_pixels`].

use std::fmt;

/// A set of container families (FFmpeg demuxers) that uploads may be read as.
///
/// The default is every family below; a deployment can narrow it (for example to MP4 and
/// Matroska only) through [`crate::Limits::demuxers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Demuxers(u16);

/// (flag, configuration name, FFmpeg demuxer name). FFmpeg matches a whitelist entry against
/// every alias of a demuxer, so `mov` admits "mov,mp4,m4a,3gp,3g2,mj2" and `matroska` admits
/// "matroska,webm".
const FAMILIES: &[(u16, &str, &str)] = &[
    (1 << 0, "mp4", "mov"),
    (1 << 1, "matroska", "matroska"),
    (1 << 2, "flv", "flv"),
    (1 << 3, "mpegts", "mpegts"),
    (1 << 4, "mpegps", "mpeg"),
    (1 << 5, "avi", "avi"),
    (1 << 6, "ogg", "ogg"),
    (1 << 7, "h264", "h264"),
    (1 << 8, "hevc", "hevc"),
];

impl Demuxers {
    /// MP4, MOV, 3GP (FFmpeg's `mov` demuxer).
    pub const MP4: Demuxers = Demuxers(1 << 0);
    /// Matroska and WebM.
    pub const MATROSKA: Demuxers = Demuxers(1 << 1);
    /// Flash video.
    pub const FLV: Demuxers = Demuxers(1 << 2);
    /// MPEG transport streams.
    pub const MPEGTS: Demuxers = Demuxers(1 << 3);
    /// MPEG program streams (`.mpg`, `.vob`).
    pub const MPEGPS: Demuxers = Demuxers(1 << 4);
    /// AVI.
    pub const AVI: Demuxers = Demuxers(1 << 5);
    /// Ogg.
    pub const OGG: Demuxers = Demuxers(1 << 6);
    /// Raw H.264 elementary streams.
    pub const H264: Demuxers = Demuxers(1 << 7);
    /// Raw HEVC elementary streams.
    pub const HEVC: Demuxers = Demuxers(1 << 8);
    /// No container at all (every file is refused; for tests).
    pub const NONE: Demuxers = Demuxers(0);
    /// Every family above.
    pub const ALL: Demuxers = Demuxers((1 << 9) - 1);

    /// Both sets.
    pub const fn union(self, other: Demuxers) -> Demuxers {
        Demuxers(self.0 | other.0)
    }

    /// This set less `other`.
    pub const fn without(self, other: Demuxers) -> Demuxers {
        Demuxers(self.0 & !other.0)
    }

    /// Whether every family of `other` is in this set.
    pub const fn contains(self, other: Demuxers) -> bool {
        self.0 & other.0 == other.0
    }

    /// Parses a comma-separated list of family names (`mp4,matroska,flv,mpegts,mpegps,avi,
    /// ogg,h264,hevc`, or `all`). Unknown names are an error, never ignored: a typo must not
    /// silently narrow (or widen) what is read.
    pub fn parse(list: &str) -> Result<Demuxers, String> {
        let mut set = Demuxers::NONE;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name.eq_ignore_ascii_case("all") {
                set = Demuxers::ALL;
                continue;
            }
            let family = FAMILIES
                .iter()
                .find(|(_, config, _)| config.eq_ignore_ascii_case(name))
                .ok_or_else(|| format!("unknown container family {name:?}"))?;
            set = set.union(Demuxers(family.0));
        }
        Ok(set)
    }

    /// The raw bits (for the worker protocol).
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// The set from raw bits; bits of no family are dropped.
    pub const fn from_bits(bits: u16) -> Demuxers {
        Demuxers(bits & Demuxers::ALL.0)
    }

    /// FFmpeg's `format_whitelist` for this set. Empty sets give a name no demuxer has, since
    /// an empty whitelist would mean "everything".
    pub fn ffmpeg_whitelist(self) -> String {
        let names: Vec<&str> = FAMILIES
            .iter()
            .filter(|(bit, _, _)| self.0 & bit != 0)
            .map(|(_, _, ffmpeg)| *ffmpeg)
            .collect();
        if names.is_empty() {
            "none-allowed".to_string()
        } else {
            names.join(",")
        }
    }

    /// Whether FFmpeg's demuxer `name` (an `AVInputFormat` name, possibly a comma-separated
    /// alias list such as "matroska,webm") is in this set.
    pub fn allows(self, name: &str) -> bool {
        FAMILIES.iter().any(|(bit, _, ffmpeg)| {
            self.0 & bit != 0 && name.split(',').any(|alias| alias == *ffmpeg)
        })
    }
}

impl Default for Demuxers {
    fn default() -> Self {
        Demuxers::ALL
    }
}

impl fmt::Display for Demuxers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = FAMILIES
            .iter()
            .filter(|(bit, _, _)| self.0 & bit != 0)
            .map(|(_, config, _)| *config)
            .collect();
        f.write_str(&names.join(","))
    }
}

/// Whether FFmpeg's demuxer `name` reads still or animated images.
pub(crate) fn is_image_demuxer(name: &str) -> bool {
    name.split(',').any(|alias| {
        alias.ends_with("_pipe")
            || matches!(
                alias,
                "gif" | "apng" | "image2" | "webp" | "ico" | "jpegxl_anim" | "alias_pix"
            )
    })
}

/// The picture size an image file's header declares, when it is one of the formats crawlers
/// actually meet (PNG, GIF, WebP). `None` when the header is too short or not understood: the
/// file is then simply "not a video".
pub(crate) fn image_dimensions(header: &[u8]) -> Option<(u32, u32)> {
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(header.get(at..at + 4)?.try_into().ok()?))
    };
    let le16 = |at: usize| -> Option<u32> {
        Some(u16::from_le_bytes(header.get(at..at + 2)?.try_into().ok()?) as u32)
    };
    let le24 = |at: usize| -> Option<u32> {
        let b = header.get(at..at + 3)?;
        Some(b[0] as u32 | (b[1] as u32) << 8 | (b[2] as u32) << 16)
    };
    if header.starts_with(b"\x89PNG\r\n\x1a\n") && header.get(12..16) == Some(b"IHDR") {
        return Some((be32(16)?, be32(20)?));
    }
    if header.starts_with(b"GIF87a") || header.starts_with(b"GIF89a") {
        return Some((le16(6)?, le16(8)?));
    }
    if header.starts_with(b"RIFF") && header.get(8..12) == Some(b"WEBP") {
        return match header.get(12..16)? {
            // Extended: 24-bit canvas size minus one.
            b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
            // Lossless: 14-bit sizes minus one, packed after the signature byte.
            b"VP8L" => {
                let bits = u32::from_le_bytes(header.get(21..25)?.try_into().ok()?);
                Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
            }
            // Lossy key frame: 14-bit sizes after the start code.
            b"VP8 " => Some((le16(26)? & 0x3fff, le16(28)? & 0x3fff)),
            _ => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_whitelist_names_every_family_and_nothing_else() {
        assert_eq!(
            Demuxers::default().ffmpeg_whitelist(),
            "mov,matroska,flv,mpegts,mpeg,avi,ogg,h264,hevc"
        );
        assert!(Demuxers::ALL.allows("mov,mp4,m4a,3gp,3g2,mj2"));
        assert!(Demuxers::ALL.allows("matroska,webm"));
        for refused in [
            "libgme", "image2", "hls", "concat", "png_pipe", "asf", "amrwb",
        ] {
            assert!(!Demuxers::ALL.allows(refused), "{refused}");
        }
    }

    #[test]
    fn parsing_refuses_unknown_names_and_narrows_the_set() {
        let set = Demuxers::parse("mp4, matroska").expect("valid");
        assert!(set.allows("mov,mp4,m4a,3gp,3g2,mj2"));
        assert!(!set.allows("flv"));
        assert_eq!(set.to_string(), "mp4,matroska");
        assert!(Demuxers::parse("mp4,gme").is_err());
        assert_eq!(Demuxers::parse("all"), Ok(Demuxers::ALL));
        assert_eq!(Demuxers::NONE.ffmpeg_whitelist(), "none-allowed");
        assert_eq!(Demuxers::from_bits(0xffff), Demuxers::ALL);
    }

    #[test]
    fn image_headers_give_their_declared_size() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&100_000u32.to_be_bytes());
        png.extend_from_slice(&100_000u32.to_be_bytes());
        assert_eq!(image_dimensions(&png), Some((100_000, 100_000)));
        assert_eq!(image_dimensions(b"GIF89a\x40\x00\x20\x00"), Some((64, 32)));
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0\0\0\0".to_vec();
        webp.extend_from_slice(&[0x3f, 0, 0, 0x1f, 0, 0]);
        assert_eq!(image_dimensions(&webp), Some((64, 32)));
        assert_eq!(image_dimensions(b"\x89PNG"), None);
        assert_eq!(image_dimensions(b""), None);
        assert!(is_image_demuxer("png_pipe"));
        assert!(is_image_demuxer("gif"));
        assert!(!is_image_demuxer("mov,mp4,m4a,3gp,3g2,mj2"));
    }
}
