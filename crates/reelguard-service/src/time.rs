//! Calendar dates from Unix seconds, without a time-zone database: what notices and pages
//! print. UTC, and China Standard Time for notices to Chinese platforms (a fixed UTC+8), so a
//! date never depends on the server's locale.

/// A Unix time's date, `2026-11-26`.
pub fn utc_date(unix: i64) -> String {
    let (y, m, d) = civil_date(unix.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// A Unix time as `2026-11-26 14:05 UTC`.
pub fn utc(unix: i64) -> String {
    let secs = unix.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02} UTC",
        utc_date(unix),
        secs / 3600,
        secs % 3600 / 60
    )
}

/// China Standard Time's offset from UTC, in seconds (UTC+8, no daylight saving).
pub const CST_OFFSET_S: i64 = 8 * 3600;

/// A Unix time as `2026-11-26 22:05`, in China Standard Time (what platforms in China read).
pub fn cst(unix: i64) -> String {
    let local = unix.saturating_add(CST_OFFSET_S);
    let secs = local.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}",
        utc_date(local),
        secs / 3600,
        secs % 3600 / 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_known_days() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc(1_764_600_000), "2025-12-01 14:40 UTC");
        assert_eq!(utc_date(-1), "1969-12-31");
        // 14:40 UTC is 22:40 in Beijing; 20:00 UTC is already the next day there.
        assert_eq!(cst(1_764_600_000), "2025-12-01 22:40");
        assert_eq!(cst(1_764_619_200), "2025-12-02 04:00");
    }
}
