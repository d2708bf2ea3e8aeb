//! Simulated time: integer milliseconds, and Go-style duration strings (`15s`, `5m`, `1h30m`).

use std::fmt;

/// A point in simulated time or a duration, in milliseconds. Never a float.
pub type Millis = u64;

/// One second in [`Millis`].
pub const SECOND: Millis = 1_000;
/// One minute in [`Millis`].
pub const MINUTE: Millis = 60 * SECOND;
/// One hour in [`Millis`].
pub const HOUR: Millis = 60 * MINUTE;
/// One day in [`Millis`].
pub const DAY: Millis = 24 * HOUR;
/// Hours in the average month used for monthly cost projections (8760 h / 12, as cloud
/// calculators and OpenCost use).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The longest duration costsim accepts: 2^63 − 1 ms (about 106751991167 days), so that a
/// duration also fits in an `i64` and sums of a few durations cannot wrap a `u64`.
pub const MAX_DURATION: Millis = i64::MAX as Millis;

/// Parses a duration such as `300ms`, `15s`, `5m`, `1h30m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Millis, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration; expected e.g. `15s`, `5m`, `300ms`".into());
    }
    if let Ok(secs) = t.parse::<f64>() {
        return seconds_to_millis(secs, s);
    }
    let mut total: f64 = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("duration `{s}` has a number without a unit"))?;
        if num_len == 0 {
            return Err(format!(
                "invalid duration `{s}`; expected e.g. `15s`, `5m`, `300ms`"
            ));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("invalid number in duration `{s}`"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor_ms = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 6e4,
            "h" => 3.6e6,
            "d" => 8.64e7,
            u => {
                return Err(format!(
                    "unknown unit `{u}` in duration `{s}`; expected ms, s, m, h or d"
                ))
            }
        };
        total += value * factor_ms;
        rest = &rest[unit_len..];
    }
    checked_millis(total, s)
}

fn seconds_to_millis(secs: f64, s: &str) -> Result<Millis, String> {
    if secs.is_nan() || secs < 0.0 {
        return Err(format!(
            "duration `{s}` must be a non-negative number of seconds"
        ));
    }
    checked_millis(secs * 1000.0, s)
}

/// `ms` rounded to whole milliseconds, or an error when it exceeds [`MAX_DURATION`] (never a
/// saturating cast).
fn checked_millis(ms: f64, s: &str) -> Result<Millis, String> {
    // 2^63 as f64; every f64 below it rounds to at most MAX_DURATION.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let rounded = ms.round();
    if rounded.is_nan() || rounded >= LIMIT {
        return Err(format!(
            "duration `{s}` is too long: at most {}d ({MAX_DURATION}ms)",
            MAX_DURATION / DAY
        ));
    }
    Ok(rounded as Millis)
}

/// Formats a duration compactly (`1h30m`, `15s`, `250ms`).
pub fn format_duration(ms: Millis) -> String {
    struct D(Millis);
    impl fmt::Display for D {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let ms = self.0;
            if ms == 0 {
                return write!(f, "0s");
            }
            if ms % SECOND != 0 {
                return write!(f, "{ms}ms");
            }
            let (h, m, s) = (ms / HOUR, (ms % HOUR) / MINUTE, (ms % MINUTE) / SECOND);
            if h > 0 {
                write!(f, "{h}h")?;
            }
            if m > 0 {
                write!(f, "{m}m")?;
            }
            if s > 0 {
                write!(f, "{s}s")?;
            }
            Ok(())
        }
    }
    D(ms).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_style_durations() {
        assert_eq!(parse_duration("15s"), Ok(15_000));
        assert_eq!(parse_duration("5m"), Ok(300_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("300ms"), Ok(300));
        assert_eq!(parse_duration("2.5"), Ok(2_500));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-3").is_err());
    }

    #[test]
    fn rejects_durations_beyond_the_maximum() {
        let max_days = MAX_DURATION / DAY;
        assert_eq!(
            parse_duration(&format!("{max_days}d")),
            Ok(max_days * DAY),
            "the maximum given in the message is accepted"
        );
        for long in [
            "999999999999d",
            "99999999999999999d",
            "106751991168d",
            "1e300",
            "1e400",
            "9223372036854775808ms",
            "106751991167d1000000h",
        ] {
            let e = parse_duration(long).unwrap_err();
            assert!(e.contains("too long"), "{long}: {e}");
            assert!(e.contains(&format!("at most {max_days}d")), "{long}: {e}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for ms in [0, 250, 15_000, 300_000, 5_400_000, 86_400_000] {
            assert_eq!(parse_duration(&format_duration(ms)), Ok(ms));
        }
    }
}
