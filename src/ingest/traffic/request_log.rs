//! Reading a per-request log (one row per request arrival) into a [`RequestLog`].

use super::civil::{format_utc, parse_digits, parse_timestamp_ns, NS_PER_S, TIMESTAMP_FORMATS};
use super::table::{field_text, read_text, Table};
use super::{RequestLog, RequestLogOptions};
use crate::error::Result;
use csv::ByteRecord;
use std::path::Path;

/// Default arrival-time column (the Azure LLM inference trace's).
const DEFAULT_TIMESTAMP_COLUMN: &str = "TIMESTAMP";
/// Prompt-token column read when present and `context_tokens_column` is `None`.
const DEFAULT_CONTEXT_COLUMN: &str = "ContextTokens";
/// Output-token column read when present and `generated_tokens_column` is `None`.
const DEFAULT_GENERATED_COLUMN: &str = "GeneratedTokens";
/// Longest log accepted, from first to last arrival: 400 days. Keeps [`RequestLog::to_rate_series`]
/// within memory when a timestamp is mistyped.
const MAX_SPAN_NS: i64 = 400 * 86_400 * NS_PER_S;

/// Reads the request log at `path` (see [`parse_request_log`]); the log's `source` is the path.
///
/// A file that cannot be read or is not UTF-8 is an input error naming the file.
pub fn read_request_log(path: &Path, opts: &RequestLogOptions) -> Result<RequestLog> {
    let (text, source) = read_text(path)?;
    parse_request_log(&text, &source, opts)
}

/// Parses a per-request log: a header, then one row per request with its arrival time and
/// optionally its token counts. `source_name` names the text in errors and becomes
/// [`RequestLog::source`].
///
/// - Arrival times are ISO-8601 / RFC 3339 text with up to 9 fraction digits (the Azure trace has
///   7; no zone = UTC) or unix seconds with an optional fraction. They must be non-decreasing:
///   equal times are concurrent requests, a decrease is an error naming the line and both values.
/// - Token counts are non-negative integers (up to 4,294,967,295).
///
/// Errors (all [`Error::Input`], exit code 2) name the file and line, as for
/// [`parse_rate_csv`](super::parse_rate_csv); a log longer than 400 days is rejected at the
/// first row beyond that.
pub fn parse_request_log(
    text: &str,
    source_name: &str,
    opts: &RequestLogOptions,
) -> Result<RequestLog> {
    let mut table = Table::open(text, source_name)?;
    let ts_name = if opts.timestamp_column.is_empty() {
        DEFAULT_TIMESTAMP_COLUMN
    } else {
        opts.timestamp_column.as_str()
    };
    let ts_col = table.require(ts_name, "timestamp_column")?;
    let ctx_col = token_column(
        &table,
        opts.context_tokens_column.as_deref(),
        DEFAULT_CONTEXT_COLUMN,
        "context_tokens_column",
    )?;
    let gen_col = token_column(
        &table,
        opts.generated_tokens_column.as_deref(),
        DEFAULT_GENERATED_COLUMN,
        "generated_tokens_column",
    )?;

    let mut arrivals_ns: Vec<i64> = Vec::new();
    let mut context_tokens: Vec<u32> = Vec::new();
    let mut generated_tokens: Vec<u32> = Vec::new();
    let mut prev_line = 0u64;
    let mut rec = ByteRecord::new();
    while let Some(line) = table.next(&mut rec)? {
        let ts_field = Table::field(&rec, ts_col);
        let s = field_text(ts_field);
        let t = parse_timestamp_ns(&s).map_err(|why| {
            table.field_error(
                line,
                ts_col,
                format!("cannot read the arrival time `{s}` ({why}); expected {TIMESTAMP_FORMATS}"),
            )
        })?;
        if let Some(&prev) = arrivals_ns.last() {
            if t < prev {
                return Err(table.field_error(
                    line,
                    ts_col,
                    format!(
                        "arrival time `{s}` ({}) is before the previous row's ({}) on line \
                         {prev_line}; arrivals must be in non-decreasing time order (equal times \
                         are allowed: concurrent requests)",
                        format_ns_utc(t),
                        format_ns_utc(prev)
                    ),
                ));
            }
        }
        if let Some(&first) = arrivals_ns.first() {
            if t.saturating_sub(first) > MAX_SPAN_NS {
                return Err(table.field_error(
                    line,
                    ts_col,
                    format!(
                        "arrival time `{s}` is more than 400 days after the first arrival ({}); \
                         request logs that long are not supported — check this timestamp or \
                         split the log",
                        format_ns_utc(first)
                    ),
                ));
            }
        }
        if let Some(c) = ctx_col {
            context_tokens.push(parse_tokens(&table, &rec, line, c)?);
        }
        if let Some(c) = gen_col {
            generated_tokens.push(parse_tokens(&table, &rec, line, c)?);
        }
        arrivals_ns.push(t);
        prev_line = line;
    }

    let Some(&first_ns) = arrivals_ns.first() else {
        return Err(table.no_data_rows());
    };
    let start_unix_ms = round_ns_to_ms(first_ns);
    let arrival_offsets_ms = arrivals_ns
        .iter()
        .map(|&t| (round_ns_to_ms(t) - start_unix_ms) as u64)
        .collect();
    Ok(RequestLog {
        source: source_name.to_string(),
        start_unix_ms,
        arrival_offsets_ms,
        context_tokens,
        generated_tokens,
    })
}

/// Resolves an optional token column: `Some(name)` must exist; `None` uses `default` if present.
fn token_column(
    table: &Table<'_>,
    configured: Option<&str>,
    default: &str,
    option: &str,
) -> Result<Option<usize>> {
    match configured {
        Some(name) => table.require(name, option).map(Some),
        None => table.find_unique(default),
    }
}

fn parse_tokens(table: &Table<'_>, rec: &ByteRecord, line: u64, col: usize) -> Result<u32> {
    let b = Table::field(rec, col);
    parse_digits(b)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| {
            table.field_error(
                line,
                col,
                format!(
                    "expected a non-negative integer number of tokens (at most {}), found `{}`",
                    u32::MAX,
                    field_text(b)
                ),
            )
        })
}

/// Nearest millisecond (halves round up).
fn round_ns_to_ms(ns: i64) -> i64 {
    ns.saturating_add(500_000).div_euclid(1_000_000)
}

/// `2023-11-16T18:15:46.6805900Z`-style text of a nanosecond instant.
fn format_ns_utc(ns: i64) -> String {
    let s = format_utc(ns.div_euclid(NS_PER_S));
    let frac = ns.rem_euclid(NS_PER_S);
    if frac == 0 {
        s
    } else {
        let digits = format!("{frac:09}");
        format!(
            "{}.{}Z",
            s.trim_end_matches('Z'),
            digits.trim_end_matches('0')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_fractional_instants() {
        assert_eq!(
            format_ns_utc(1_700_158_546_680_590_000),
            "2023-11-16T18:15:46.68059Z"
        );
        assert_eq!(format_ns_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(round_ns_to_ms(1_700_158_546_680_590_000), 1_700_158_546_681);
        assert_eq!(round_ns_to_ms(-1), 0);
        assert_eq!(round_ns_to_ms(-600_000), -1);
    }
}
