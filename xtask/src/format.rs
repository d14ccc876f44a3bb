//! Formatting shared by the reports: durations as divan prints them,
//! dates, medians.

/// A duration in nanoseconds in the unit divan would use.
pub(crate) fn format_ns(ns: f64) -> String {
    let (value, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    let digits = if value >= 100.0 {
        1
    } else if value >= 10.0 {
        2
    } else {
        3
    };
    format!("{value:.digits$} {unit}")
}

/// `YYYY-MM-DD` of a Unix timestamp (UTC), by the civil-from-days algorithm
/// of Howard Hinnant.
pub(crate) fn utc_date(timestamp: u64) -> String {
    let days = (timestamp / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The median, `None` for no values.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) { f64::midpoint(sorted[mid - 1], sorted[mid]) } else { sorted[mid] })
}

/// The first `n` characters of a commit id, whatever a file holds.
pub(crate) fn short_id(commit: &str, n: usize) -> &str {
    commit.char_indices().nth(n).map_or(commit, |(end, _)| &commit[..end])
}

/// Writes a report file atomically (through `homodyne-perf`'s writer, which
/// syncs the file and its directory).
pub(crate) fn write_text(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    homodyne_perf::write_atomically(path, |file| file.write_all(text.as_bytes()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_date(timestamp: u64, expected: &str) {
        assert_eq!(utc_date(timestamp), expected, "{timestamp}");
    }

    #[test]
    fn dates_match_python_datetime() {
        // Reference: datetime.datetime.utcfromtimestamp(t).date().
        check_date(0, "1970-01-01");
        check_date(951_782_400, "2000-02-29");
        check_date(1_795_651_200, "2026-11-26");
        check_date(4_102_444_799, "2099-12-31");
    }

    #[test]
    fn durations_use_divan_units() {
        assert_eq!(format_ns(12.345), "12.35 ns");
        assert_eq!(format_ns(1_470.0), "1.470 µs");
        assert_eq!(format_ns(15_000_000.0), "15.00 ms");
        assert_eq!(format_ns(197_000_000.0), "197.0 ms");
        assert_eq!(format_ns(2.5e9), "2.500 s");
    }

    #[test]
    fn short_ids_never_split_a_character() {
        assert_eq!(short_id("0123456789abcdef", 7), "0123456");
        assert_eq!(short_id("ab", 7), "ab");
        assert_eq!(short_id("ééééééééé", 3), "ééé");
    }

    #[test]
    fn medians_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
