//! Reading a rate CSV (one row per time bin) into a [`RateSeries`].

use super::civil::{format_utc, parse_digits, parse_timestamp_ns, NS_PER_S, TIMESTAMP_FORMATS};
use super::table::{field_text, read_text, Table};
use super::{Gap, GapPolicy, RateCsvOptions, RateSeries};
use crate::error::{Error, Result};
use crate::time::format_duration;
use csv::ByteRecord;
use std::collections::HashMap;
use std::path::Path;

/// Timestamp column names tried, in order, when `timestamp_column` is empty.
const TIMESTAMP_CANDIDATES: &[&str] = &["unix_s", "minute_start_unix_s", "timestamp", "time"];
/// Count column names tried, in order, when `count_column` is empty.
const COUNT_CANDIDATES: &[&str] = &["requests", "count", "requests_count"];
/// Largest series (after zero-filling) accepted: 50 M bins = 400 MB of counts, about 19 months
/// at 1-s bins. Guards against a mistyped timestamp allocating without bound.
pub(super) const MAX_BINS: u64 = 50_000_000;

/// Reads the rate CSV at `path` (see [`parse_rate_csv`]); the series' `source` is the path.
///
/// A file that cannot be read or is not UTF-8 is an input error naming the file.
pub fn read_rate_csv(path: &Path, opts: &RateCsvOptions) -> Result<RateSeries> {
    let (text, source) = read_text(path)?;
    parse_rate_csv(&text, &source, opts)
}

/// Parses a rate CSV: a header, then one row per time bin with the bin's start time and its
/// request count. `source_name` names the text in errors and becomes [`RateSeries::source`].
///
/// - Timestamps are integer unix seconds or ISO-8601 / RFC 3339 text on whole seconds, strictly
///   increasing.
/// - The bin width is the most common step between consecutive timestamps (ties: the smaller).
///   Every timestamp must lie on the grid `first + k·bin`; a step of several bins is a gap,
///   handled per [`RateCsvOptions::gaps`].
/// - Counts are non-negative numbers (fractions allowed).
///
/// Errors (all [`Error::Input`], exit code 2) name the file and line: empty file or header only,
/// missing column (listing the header's columns), wrong field count, unreadable timestamp or
/// count, equal or decreasing timestamps (both values), off-grid timestamps, and gaps under
/// [`GapPolicy::Error`] (the line where the gap ends, the missing span and how to proceed).
pub fn parse_rate_csv(text: &str, source_name: &str, opts: &RateCsvOptions) -> Result<RateSeries> {
    let mut table = Table::open(text, source_name)?;
    let ts_col = if opts.timestamp_column.is_empty() {
        detect_timestamp_column(&table)?
    } else {
        table.require(&opts.timestamp_column, "timestamp_column")?
    };
    let count_col = if opts.count_column.is_empty() {
        table.detect(COUNT_CANDIDATES, "request counts", "count_column")?
    } else {
        table.require(&opts.count_column, "count_column")?
    };
    if count_col == ts_col {
        return Err(Error::input(
            source_name,
            Some("count_column".into()),
            "is the timestamp column too: the counts would be the timestamps",
        ));
    }

    let mut times: Vec<i64> = Vec::new();
    let mut counts: Vec<f64> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    let mut rec = ByteRecord::new();
    while let Some(line) = table.next(&mut rec)? {
        let ts_field = Table::field(&rec, ts_col);
        let t = parse_bin_start(ts_field).map_err(|m| table.field_error(line, ts_col, m))?;
        if let (Some(&prev), Some(&prev_line)) = (times.last(), lines.last()) {
            if t <= prev {
                return Err(table.field_error(
                    line,
                    ts_col,
                    format!(
                        "timestamp `{}` ({t} = {}) is not after the previous row's {prev} ({}) on \
                         line {prev_line}; rows must be in strictly increasing time order, one \
                         row per bin",
                        field_text(ts_field),
                        format_utc(t),
                        format_utc(prev)
                    ),
                ));
            }
        }
        let count_field = Table::field(&rec, count_col);
        let c = parse_count(count_field).map_err(|m| table.field_error(line, count_col, m))?;
        times.push(t);
        counts.push(c);
        lines.push(line);
    }

    let n = times.len();
    if n == 0 {
        return Err(table.no_data_rows());
    }
    if n == 1 {
        return Err(Error::at_line(
            source_name,
            lines[0],
            "the file has only one data row; the bin width is the step between consecutive \
             timestamps, so at least two rows are needed",
        ));
    }

    let bin = most_common_step(&times);
    let bin_s = u32::try_from(bin).map_err(|_| {
        Error::at_line(
            source_name,
            lines[1],
            format!("the bin width {bin} s (the most common step between rows) is too large"),
        )
    })?;

    // Grid check and gap detection.
    let mut gaps: Vec<Gap> = Vec::new();
    let mut first_gap_row = 0;
    let mut largest_gap_row = 0;
    let mut largest_missing = 0u64;
    for i in 1..n {
        let step = times[i] - times[i - 1];
        if step % bin != 0 {
            return Err(Error::at_line(
                source_name,
                lines[i],
                format!(
                    "timestamp {} ({}) is {step} s after the previous row (line {}), not a \
                     multiple of the bin width {bin} s (the most common step between rows); \
                     every row must start a bin on the grid {} + k × {bin} s set by the first \
                     row (line {})",
                    times[i],
                    format_utc(times[i]),
                    lines[i - 1],
                    times[0],
                    lines[0]
                ),
            ));
        }
        if step > bin {
            let missing = (step / bin - 1) as u64;
            if gaps.is_empty() {
                first_gap_row = i;
            }
            if missing > largest_missing {
                largest_missing = missing;
                largest_gap_row = i;
            }
            gaps.push(Gap {
                after_line: lines[i - 1],
                from_unix_s: times[i - 1] + bin,
                missing_bins: missing,
            });
        }
    }

    if let (GapPolicy::Error, Some(first)) = (opts.gaps, gaps.first()) {
        let i = first_gap_row;
        let missing_s = first.missing_bins.saturating_mul(u64::from(bin_s));
        return Err(Error::at_line(
            source_name,
            lines[i],
            format!(
                "the trace has a gap before this row: {} missing bin(s) of {bin_s} s ({}) from \
                 {} (unix {}) up to this row's {} (unix {}); the previous row is line {}{}. To \
                 proceed, set `gaps: fill_zero` in the scenario's traffic source (the missing \
                 bins are then read as zero requests and reported), or trim the trace to a span \
                 without gaps",
                first.missing_bins,
                format_duration(missing_s.saturating_mul(1000)),
                format_utc(first.from_unix_s),
                first.from_unix_s,
                format_utc(times[i]),
                times[i],
                first.after_line,
                if gaps.len() > 1 {
                    format!(" (this is the first of {} gaps in the file)", gaps.len())
                } else {
                    String::new()
                }
            ),
        ));
    }

    let total_bins = ((times[n - 1] - times[0]) / bin) as u64 + 1;
    if total_bins > MAX_BINS {
        return Err(Error::at_line(
            source_name,
            lines[largest_gap_row],
            format!(
                "zero-filling the gaps would make a series of {total_bins} bins of {bin_s} s, \
                 more than the {MAX_BINS} supported; the largest gap ends on this line — check \
                 its timestamp or trim the trace"
            ),
        ));
    }

    let counts = if gaps.is_empty() {
        counts
    } else {
        let mut filled = Vec::with_capacity(total_bins as usize);
        filled.push(counts[0]);
        for i in 1..n {
            let missing = ((times[i] - times[i - 1]) / bin - 1) as usize;
            filled.extend(std::iter::repeat_n(0.0, missing));
            filled.push(counts[i]);
        }
        filled
    };

    Ok(RateSeries {
        source: source_name.to_string(),
        start_unix_s: times[0],
        bin_s,
        counts,
        gaps,
    })
}

fn detect_timestamp_column(table: &Table<'_>) -> Result<usize> {
    if let Some(i) = TIMESTAMP_CANDIDATES.iter().find_map(|c| table.find(c)) {
        return Ok(i);
    }
    if let Some(i) = table
        .headers
        .iter()
        .position(|h| h.to_ascii_lowercase().ends_with("unix_s"))
    {
        return Ok(i);
    }
    table.detect(TIMESTAMP_CANDIDATES, "bin timestamps", "timestamp_column")
}

/// The most common positive step between consecutive (strictly increasing) `times`; ties go to
/// the smaller step. `times` has at least two entries.
fn most_common_step(times: &[i64]) -> i64 {
    let mut hist: HashMap<i64, u64> = HashMap::new();
    let (mut run_step, mut run_len) = (0i64, 0u64);
    for w in times.windows(2) {
        let s = w[1] - w[0];
        if s == run_step {
            run_len += 1;
        } else {
            if run_len > 0 {
                *hist.entry(run_step).or_default() += run_len;
            }
            run_step = s;
            run_len = 1;
        }
    }
    if run_len > 0 {
        *hist.entry(run_step).or_default() += run_len;
    }
    hist.into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or(1, |(step, _)| step)
}

/// A bin start: integer unix seconds (fast path) or a timestamp text on a whole second.
/// Latest unix second read as a bin start (3000-01-01): later numbers are timestamps in
/// milliseconds or smaller units, which would read as bins of 1000 s or more.
const MAX_UNIX_S: u64 = 32_503_680_000;

fn parse_bin_start(b: &[u8]) -> std::result::Result<i64, String> {
    if let Some(v) = parse_digits(b) {
        if v > MAX_UNIX_S {
            return Err(format!(
                "timestamp {v} is after the year 3000 in unix seconds: milliseconds? Give unix \
                 seconds (or an RFC 3339 time)"
            ));
        }
        return Ok(v as i64);
    }
    let s = field_text(b);
    let ns = parse_timestamp_ns(&s).map_err(|why| {
        format!("cannot read the timestamp `{s}` ({why}); expected {TIMESTAMP_FORMATS}")
    })?;
    if ns % NS_PER_S != 0 {
        return Err(format!(
            "timestamp `{s}` is not on a whole second; rate-series bins start on whole seconds"
        ));
    }
    Ok(ns / NS_PER_S)
}

/// Largest request count accepted in one bin (10^12): far above any real trace, low enough
/// that scaled sums stay finite. A scaled trace (`traffic.scale`) is held to the same cap.
pub const MAX_COUNT: f64 = 1e12;

/// A request count: a non-negative finite number, at most [`MAX_COUNT`].
fn parse_count(b: &[u8]) -> std::result::Result<f64, String> {
    if let Some(v) = parse_digits(b) {
        if v as f64 > MAX_COUNT {
            return Err(format!(
                "the request count {v} is too large; at most {MAX_COUNT:e} per bin"
            ));
        }
        return Ok(v as f64);
    }
    let s = field_text(b);
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > MAX_COUNT => Err(format!(
            "the request count `{s}` is too large; at most {MAX_COUNT:e} per bin"
        )),
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v + 0.0),
        Ok(v) if v < 0.0 => Err(format!(
            "the request count `{s}` is negative; expected a non-negative number of requests"
        )),
        _ => Err(format!(
            "expected a non-negative number of requests, found `{s}`"
        )),
    }
}
