//! Civil (proleptic Gregorian) date ↔ unix time, and the timestamp text formats traces use.
//!
//! Written here rather than pulled from a date crate: traces only need UTC offsets, no time-zone
//! database, and the conversion is a few lines (H. Hinnant's `days_from_civil` algorithm).

/// Nanoseconds per second.
pub(crate) const NS_PER_S: i64 = 1_000_000_000;

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d`.
///
/// `m` must be 1–12 and `d` 1–31 (callers validate against [`days_in_month`]); any `y` whose
/// day count fits in an `i64` works, including years before 1970.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = (i64::from(m) + 9) % 12; // March = 0 … February = 11
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `(year, month, day)` of day `z` since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Whether `y` is a Gregorian leap year.
pub(crate) fn is_leap_year(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Number of days in month `m` (1–12) of year `y`.
pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Formats unix seconds as RFC 3339 UTC, e.g. `1995-07-28T17:33:00Z`.
pub(crate) fn format_utc(unix_s: i64) -> String {
    let days = unix_s.div_euclid(86_400);
    let secs = unix_s.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// What a timestamp field may hold, for error messages.
pub(crate) const TIMESTAMP_FORMATS: &str = "unix seconds (e.g. `804571201`) or an ISO-8601 / \
     RFC 3339 date-time such as `1995-07-01T00:00:00-04:00` or `2023-11-16 18:17:03.9799600` \
     (no zone = UTC)";

/// Parses a field holding only ASCII digits (at most 18) as a non-negative integer.
pub(crate) fn parse_digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 18 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(c - b'0');
    }
    Some(v)
}

/// Parses a timestamp to nanoseconds since the unix epoch.
///
/// Accepted: unix seconds with an optional sign and fraction (`804571201`, `1700158546.68059`), or
/// `YYYY-MM-DD`, optionally followed by `T`/`t`/space, `HH:MM`, optional `:SS`, optional `.`/`,`
/// and 1–9 fraction digits, and an optional zone `Z`, `±HH:MM`, `±HHMM` or `±HH` (an optional
/// space may precede the zone). No zone means UTC. Years 0000–9999; leap seconds (`:60`) are
/// rejected. The error says what is wrong with the text.
pub(crate) fn parse_timestamp_ns(s: &str) -> Result<i64, String> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err("the field is empty".into());
    }
    if looks_numeric(b) {
        return parse_unix_seconds_ns(b);
    }
    parse_iso_ns(b)
}

fn looks_numeric(b: &[u8]) -> bool {
    let body = match b.first() {
        Some(b'-') | Some(b'+') => &b[1..],
        _ => b,
    };
    !body.is_empty()
        && body.iter().all(|c| c.is_ascii_digit() || *c == b'.')
        && body.iter().filter(|c| **c == b'.').count() <= 1
}

/// `[-+]digits[.digits]` seconds → ns. Fraction digits beyond the ninth (sub-nanosecond) are
/// ignored.
fn parse_unix_seconds_ns(b: &[u8]) -> Result<i64, String> {
    let (neg, body) = match b[0] {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let (int_part, frac_part) = match body.iter().position(|c| *c == b'.') {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, &body[body.len()..]),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err("no digits".into());
    }
    let secs = if int_part.is_empty() {
        0
    } else {
        parse_digits(int_part).ok_or("the number of seconds is too large")?
    };
    let mut frac_ns: i64 = 0;
    for (i, &c) in frac_part.iter().take(9).enumerate() {
        frac_ns += i64::from(c - b'0') * 10_i64.pow(8 - i as u32);
    }
    let total = i64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(NS_PER_S))
        .and_then(|ns| ns.checked_add(frac_ns))
        .ok_or("the number of seconds is too large")?;
    Ok(if neg { -total } else { total })
}

/// Reads exactly `n` ASCII digits at `*pos`, advancing it.
fn digits(b: &[u8], pos: &mut usize, n: usize, what: &str) -> Result<u32, String> {
    let end = *pos + n;
    let field = b
        .get(*pos..end)
        .filter(|f| f.iter().all(u8::is_ascii_digit))
        .ok_or_else(|| format!("expected {n} digits for the {what}"))?;
    *pos = end;
    Ok(field
        .iter()
        .fold(0u32, |v, &c| v * 10 + u32::from(c - b'0')))
}

fn expect(b: &[u8], pos: &mut usize, c: u8, after: &str) -> Result<(), String> {
    if b.get(*pos) == Some(&c) {
        *pos += 1;
        Ok(())
    } else {
        Err(format!("expected `{}` after the {after}", c as char))
    }
}

fn parse_iso_ns(b: &[u8]) -> Result<i64, String> {
    let mut p = 0;
    let year = digits(b, &mut p, 4, "year")?;
    expect(b, &mut p, b'-', "year")?;
    let month = digits(b, &mut p, 2, "month")?;
    expect(b, &mut p, b'-', "month")?;
    let day = digits(b, &mut p, 2, "day")?;
    let y = i64::from(year);
    if !(1..=12).contains(&month) {
        return Err(format!("month {month:02} is out of range 01–12"));
    }
    if day == 0 || day > days_in_month(y, month) {
        return Err(format!(
            "day {day:02} does not exist in {year:04}-{month:02}"
        ));
    }
    let (mut hour, mut minute, mut second, mut frac_ns) = (0u32, 0u32, 0u32, 0i64);
    if matches!(b.get(p), Some(b'T' | b't' | b' ')) && b.get(p + 1).is_some_and(u8::is_ascii_digit)
    {
        p += 1;
        hour = digits(b, &mut p, 2, "hour")?;
        expect(b, &mut p, b':', "hour")?;
        minute = digits(b, &mut p, 2, "minute")?;
        if b.get(p) == Some(&b':') {
            p += 1;
            second = digits(b, &mut p, 2, "second")?;
            if matches!(b.get(p), Some(b'.' | b',')) {
                p += 1;
                let start = p;
                while b.get(p).is_some_and(u8::is_ascii_digit) {
                    p += 1;
                }
                let n = p - start;
                if n == 0 || n > 9 {
                    return Err("expected 1 to 9 digits of fractional seconds".into());
                }
                for (i, &c) in b[start..p].iter().enumerate() {
                    frac_ns += i64::from(c - b'0') * 10_i64.pow(8 - i as u32);
                }
            }
        }
        if hour > 23 {
            return Err(format!("hour {hour:02} is out of range 00–23"));
        }
        if minute > 59 {
            return Err(format!("minute {minute:02} is out of range 00–59"));
        }
        if second > 59 {
            return Err(format!(
                "second {second:02} is out of range 00–59 (leap seconds are not supported)"
            ));
        }
    }
    // Zone.
    if b.get(p) == Some(&b' ') && matches!(b.get(p + 1), Some(b'Z' | b'z' | b'+' | b'-')) {
        p += 1;
    }
    let offset_s: i64 = match b.get(p) {
        None => 0,
        Some(b'Z' | b'z') => {
            p += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            p += 1;
            let oh = digits(b, &mut p, 2, "zone offset hours")?;
            let mut om = 0;
            if b.get(p) == Some(&b':') {
                p += 1;
                om = digits(b, &mut p, 2, "zone offset minutes")?;
            } else if b.get(p).is_some_and(u8::is_ascii_digit) {
                om = digits(b, &mut p, 2, "zone offset minutes")?;
            }
            if oh > 23 || om > 59 {
                return Err(format!("zone offset {oh:02}:{om:02} is out of range"));
            }
            let off = i64::from(oh * 3600 + om * 60);
            if sign == b'-' {
                -off
            } else {
                off
            }
        }
        Some(_) => {
            return Err(format!(
                "unexpected text `{}` after the date-time",
                String::from_utf8_lossy(&b[p..])
            ))
        }
    };
    if p != b.len() {
        return Err(format!(
            "unexpected text `{}` after the zone",
            String::from_utf8_lossy(&b[p..])
        ));
    }
    let days = days_from_civil(y, month, day);
    let local_s = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Ok((local_s - offset_s) * NS_PER_S + frac_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_instants() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(1600, 1, 1), -135_140);
        // Values cross-checked with Python's datetime.
        assert_eq!(
            parse_timestamp_ns("1995-07-01T00:00:00-04:00"),
            Ok(804_571_200 * NS_PER_S)
        );
        assert_eq!(
            parse_timestamp_ns("1995-07-01T00:00:01-04:00"),
            Ok(804_571_201 * NS_PER_S)
        );
        assert_eq!(
            parse_timestamp_ns("2023-11-16 18:17:03.9799600"),
            Ok(1_700_158_623 * NS_PER_S + 979_960_000)
        );
        assert_eq!(
            parse_timestamp_ns("2023-11-16 18:15:46.6805900"),
            Ok(1_700_158_546_680_590_000)
        );
        assert_eq!(parse_timestamp_ns("1969-12-31T23:59:59Z"), Ok(-NS_PER_S));
        assert_eq!(
            parse_timestamp_ns("2024-02-29"),
            Ok(1_709_164_800 * NS_PER_S)
        );
        assert_eq!(
            parse_timestamp_ns("2024-02-29T05:30+05:30"),
            Ok(1_709_164_800 * NS_PER_S)
        );
        assert_eq!(
            parse_timestamp_ns("2024-02-29 05:30:00 +0530"),
            Ok(1_709_164_800 * NS_PER_S)
        );
        assert_eq!(
            parse_timestamp_ns("2024-02-28t19:00:00-05"),
            Ok(1_709_164_800 * NS_PER_S)
        );
        assert_eq!(
            parse_timestamp_ns("2024-02-29T00:00:00,5z"),
            Ok(1_709_164_800 * NS_PER_S + 500_000_000)
        );
    }

    #[test]
    fn numeric_seconds() {
        assert_eq!(parse_timestamp_ns("804571201"), Ok(804_571_201 * NS_PER_S));
        assert_eq!(
            parse_timestamp_ns("1700158546.68059"),
            Ok(1_700_158_546_680_590_000)
        );
        assert_eq!(parse_timestamp_ns("-1.5"), Ok(-1_500_000_000));
        assert_eq!(parse_timestamp_ns(".25"), Ok(250_000_000));
        assert!(parse_timestamp_ns("99999999999999999999").is_err());
        assert!(parse_timestamp_ns("1.2.3").is_err());
        assert!(parse_timestamp_ns("-").is_err());
    }

    #[test]
    fn rejects_bad_dates() {
        for bad in [
            "",
            "2023-02-29",
            "2023-13-01",
            "2023-00-10",
            "2023-04-31",
            "2023-11-16T24:00:00",
            "2023-11-16T12:60:00",
            "2023-11-16T12:00:60",
            "2023-11-16T12:00:00.",
            "2023-11-16T12:00:00.1234567890",
            "2023-11-16T12:00:00+25:00",
            "2023-11-16T12:00:00 UTC",
            "23-11-16",
            "2023/11/16",
            "abc",
            "2023-11-16T1:00",
        ] {
            assert!(
                parse_timestamp_ns(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    /// Walks every day from 1600 to 2400 and checks both directions of the conversion against a
    /// naive day counter.
    #[test]
    fn civil_round_trip_every_day() {
        let mut z = days_from_civil(1600, 1, 1);
        for y in 1600..2400 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    assert_eq!(days_from_civil(y, m, d), z, "{y}-{m}-{d}");
                    assert_eq!(civil_from_days(z), (y, m, d));
                    z += 1;
                }
            }
        }
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(806_952_780), "1995-07-28T17:33:00Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
        let s = format_utc(1_709_164_799);
        assert_eq!(parse_timestamp_ns(&s), Ok(1_709_164_799 * NS_PER_S));
    }
}
