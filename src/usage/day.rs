//! UTC calendar days for the ledger: `YYYY-MM-DD` from a `SystemTime`, parsing and
//! validating a date given by a client, and day arithmetic for retention (civil-from-days,
//! proleptic Gregorian).

use std::time::{SystemTime, UNIX_EPOCH};

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A day number as `YYYY-MM-DD`.
pub fn format_day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC day number of `t`.
pub fn day_number(t: SystemTime) -> i64 {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64) - 1,
    };
    secs.div_euclid(86_400)
}

/// The UTC date of `t`, `YYYY-MM-DD`.
pub fn utc_day(t: SystemTime) -> String {
    format_day(day_number(t))
}

/// Parses a strict `YYYY-MM-DD` (a real calendar date) into its canonical form.
pub fn parse_day(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let n = days_from_civil(i64::from(y), m, d);
    let canonical = format_day(n);
    (canonical == s).then_some(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn days_round_trip_and_reject_non_dates() {
        assert_eq!(format_day(0), "1970-01-01");
        assert_eq!(
            utc_day(UNIX_EPOCH + Duration::from_secs(1_709_251_199)),
            "2024-02-29"
        );
        assert_eq!(
            utc_day(UNIX_EPOCH + Duration::from_secs(1_709_251_200)),
            "2024-03-01"
        );
        for n in [-1, 0, 59, 365, 11_016, 19_782, 30_000] {
            assert_eq!(parse_day(&format_day(n)), Some(format_day(n)));
        }
        for bad in [
            "2024-02-30",
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "20240101",
            "abcd-ef-gh",
            "2024-00-10",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }
}
