//! Cursor pagination, the same for every list: `?limit=N&cursor=C` in, `next_cursor` out
//! (`null` on the last page).
//!
//! The decision that shapes it: keyset pages on record ids, never offsets, so a page stays
//! exact while new records arrive (a newest-first list's next page starts below the last id
//! seen; an oldest-first list's above it). The cursor is opaque to clients — a version tag and
//! the id — so its form can change without breaking them; a cursor that does not decode is a
//! 400. Each page asks for one row more than it returns, to know whether another follows.

use reelguard_service::query::{DEFAULT_LIMIT, MAX_LIMIT};

use crate::error::ApiError;

const TAG: &str = "c1.";

/// Most items on one page: one less than the service's row limit, since one row more than the
/// page is read.
pub const MAX_PAGE: u32 = MAX_LIMIT - 1;

/// The page's size: `limit`, by default [`DEFAULT_LIMIT`], within 1–[`MAX_PAGE`].
pub fn limit(requested: Option<u32>) -> u32 {
    requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_PAGE)
}

/// The id a cursor carries (`None`: no cursor, the first page).
pub fn decode(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    cursor
        .strip_prefix(TAG)
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .filter(|id| *id >= 0)
        .map(Some)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "cursor {cursor:?} is not one this API gave (pass next_cursor as it came)"
            ))
        })
}

fn encode(id: i64) -> String {
    format!("{TAG}{id:x}")
}

/// Cuts a list read with one row more than `limit` to the page, and names the next page: the
/// cursor of the last row kept, if a row was cut.
pub fn trim<T>(rows: &mut Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> Option<String> {
    let limit = limit as usize;
    if rows.len() <= limit {
        return None;
    }
    rows.truncate(limit);
    rows.last().map(|last| encode(id(last)))
}

/// A page of a short list the service returns whole (members, keys, works), oldest first:
/// the rows after the cursor's id, in id order.
pub fn of_whole<T>(
    mut rows: Vec<T>,
    cursor: Option<&str>,
    limit: u32,
    id: impl Fn(&T) -> i64,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let after = decode(cursor)?.unwrap_or(i64::MIN);
    rows.sort_by_key(&id);
    let mut page: Vec<T> = rows
        .into_iter()
        .filter(|r| id(r) > after)
        .take(limit as usize + 1)
        .collect();
    let next = trim(&mut page, limit, id);
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_a_foreign_one_is_refused() {
        assert_eq!(decode(Some(&encode(4242))).expect("decodes"), Some(4242));
        assert_eq!(decode(None).expect("none"), None);
        for bad in ["", "42", "c1.", "c1.zz", "c1.-5", "c2.10"] {
            assert!(decode(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn pages_of_a_whole_list_cover_it_once_in_order() {
        let rows: Vec<i64> = vec![5, 1, 9, 3, 7];
        let (mut seen, mut cursor) = (Vec::new(), None::<String>);
        loop {
            let (page, next) = of_whole(rows.clone(), cursor.as_deref(), 2, |r| *r).expect("page");
            assert!(page.len() <= 2);
            seen.extend(page);
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        assert_eq!(seen, vec![1, 3, 5, 7, 9]);
    }

    #[test]
    fn the_documented_page_sizes_are_the_real_ones() {
        // `crate::wire::requests::Page` says: default 100, at most 999.
        assert_eq!(limit(None), 100);
        assert_eq!(limit(Some(5000)), 999);
        assert_eq!(limit(Some(0)), 1);
    }

    #[test]
    fn a_full_last_page_names_no_next_one() {
        let mut rows = vec![3, 2, 1];
        assert_eq!(trim(&mut rows, 3, |r| *r), None);
        let mut rows = vec![4, 3, 2, 1];
        assert_eq!(trim(&mut rows, 3, |r| *r), Some(encode(2)));
        assert_eq!(rows, vec![4, 3, 2]);
    }
}
