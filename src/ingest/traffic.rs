//! Traffic traces: request-count series in fixed bins ([`RateSeries`], read from a rate CSV by
//! [`read_rate_csv`]) and per-request arrival logs ([`RequestLog`], e.g. the Azure LLM inference
//! trace, read by [`read_request_log`]).
//!
//! Only [`read_rate_csv`] and [`read_request_log`] touch the file system; [`parse_rate_csv`] and
//! [`parse_request_log`] are the IO-free cores. Every bad-input error is an
//! [`Error::Input`](crate::Error::Input) naming the file, the 1-based line (the header is line 1)
//! and what was expected; exit code 2.
//!
//! ```
//! use costsim::ingest::traffic::{parse_rate_csv, GapPolicy, RateCsvOptions};
//!
//! let csv = "unix_s,requests\n100,3\n101,0\n104,2\n";
//! // A missing second is an error unless gaps are zero-filled.
//! assert!(parse_rate_csv(csv, "t.csv", &RateCsvOptions::default()).is_err());
//! let opts = RateCsvOptions { gaps: GapPolicy::FillZero, ..Default::default() };
//! let s = parse_rate_csv(csv, "t.csv", &opts).unwrap();
//! assert_eq!((s.start_unix_s, s.bin_s), (100, 1));
//! assert_eq!(s.counts, vec![3.0, 0.0, 0.0, 0.0, 2.0]);
//! assert_eq!(s.gaps[0].missing_bins, 2);
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

pub(crate) mod civil;
mod rate_csv;
mod request_log;
pub(crate) mod table;

pub use rate_csv::{parse_rate_csv, read_rate_csv, MAX_COUNT};
pub use request_log::{parse_request_log, read_request_log};

/// How a rate CSV names its columns and what to do with gaps.
///
/// An empty column name means "detect from the header": the timestamp column is the first of
/// `unix_s`, `minute_start_unix_s`, `timestamp`, `time` present (case-insensitive), else the first
/// column whose name ends in `unix_s`; the count column is the first of `requests`, `count`,
/// `requests_count`. Other columns (e.g. `minute_start_local_edt`) are ignored. `Default` leaves
/// both names empty and uses [`GapPolicy::Error`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RateCsvOptions {
    /// Column holding the bin start: integer unix seconds, or ISO-8601 / RFC 3339 text (no zone =
    /// UTC). Empty = detect.
    pub timestamp_column: String,
    /// Column holding the request count of the bin (non-negative, may be fractional). Empty =
    /// detect.
    pub count_column: String,
    /// What to do when rows are missing between two timestamps.
    pub gaps: GapPolicy,
}

/// What to do with a gap (missing bins) in a rate CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapPolicy {
    /// Reject the trace, naming the line where the first gap ends (`"error"`, the default).
    #[default]
    Error,
    /// Insert zero-count bins and record each gap in [`RateSeries::gaps`] (`"fill_zero"`).
    FillZero,
}

/// A request-count series in fixed bins.
///
/// Bin `k` covers `[start_unix_s + k·bin_s, start_unix_s + (k+1)·bin_s)` and holds
/// `counts[k]` requests.
#[derive(Debug, Clone, PartialEq)]
pub struct RateSeries {
    /// Where the series came from (file name), for reports and errors.
    pub source: String,
    /// Start of bin 0, unix seconds (UTC).
    pub start_unix_s: i64,
    /// Bin width in seconds (≥ 1).
    pub bin_s: u32,
    /// Requests per bin (non-negative).
    pub counts: Vec<f64>,
    /// Gaps that were zero-filled ([`GapPolicy::FillZero`]), in time order; empty otherwise.
    pub gaps: Vec<Gap>,
}

/// A span of missing rows that was filled with zero-count bins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Line of the last row before the gap (1-based, header = line 1).
    pub after_line: u64,
    /// Start of the first missing bin, unix seconds.
    pub from_unix_s: i64,
    /// Number of missing (zero-filled) bins, in bins of the series' `bin_s`.
    pub missing_bins: u64,
}

/// Per-request log (e.g. the Azure LLM trace): arrival offsets and per-request token counts.
///
/// Arrival `i` happened at `start_unix_ms + arrival_offsets_ms[i]`; offsets are non-decreasing and
/// the first is 0. The token vectors are either empty (column not read) or one entry per request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestLog {
    /// Where the log came from (file name).
    pub source: String,
    /// First arrival, unix milliseconds (UTC), rounded to the nearest millisecond.
    pub start_unix_ms: i64,
    /// Arrival times relative to `start_unix_ms`, milliseconds (each arrival rounded to the
    /// nearest millisecond), non-decreasing.
    pub arrival_offsets_ms: Vec<u64>,
    /// Prompt (context) tokens per request; empty if the log has no such column.
    pub context_tokens: Vec<u32>,
    /// Generated (output) tokens per request; empty if the log has no such column.
    pub generated_tokens: Vec<u32>,
}

/// How a request log names its columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestLogOptions {
    /// Column holding the arrival time: ISO-8601 / RFC 3339 text (up to 9 fraction digits; no
    /// zone = UTC) or unix seconds (fraction allowed). Default `TIMESTAMP`; empty = `TIMESTAMP`.
    pub timestamp_column: String,
    /// Column of prompt tokens. `None`: read `ContextTokens` if the header has it, else leave
    /// [`RequestLog::context_tokens`] empty. `Some(name)`: the column is required.
    pub context_tokens_column: Option<String>,
    /// Column of generated tokens. `None`: read `GeneratedTokens` if present.
    /// `Some(name)`: required.
    pub generated_tokens_column: Option<String>,
}

impl Default for RequestLogOptions {
    fn default() -> Self {
        RequestLogOptions {
            timestamp_column: "TIMESTAMP".into(),
            context_tokens_column: None,
            generated_tokens_column: None,
        }
    }
}

/// Mean and population variance of `xs` (`None` when empty).
fn mean_var(xs: impl Iterator<Item = f64> + Clone) -> Option<(f64, f64)> {
    let (n, sum) = xs.clone().fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    if n == 0 {
        return None;
    }
    let mean = sum / n as f64;
    let var = xs.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
    Some((mean, var))
}

impl RequestLog {
    /// Number of requests.
    pub fn len(&self) -> usize {
        self.arrival_offsets_ms.len()
    }

    /// Whether the log holds no request.
    pub fn is_empty(&self) -> bool {
        self.arrival_offsets_ms.is_empty()
    }

    /// Counts arrivals in bins of `bin_s` seconds (0 is treated as 1). Bin 0 starts at the whole
    /// second at or before the first arrival; the last bin holds the last arrival (so it may
    /// cover only part of its width). No gaps are recorded: an empty bin is a real zero.
    pub fn to_rate_series(&self, bin_s: u32) -> RateSeries {
        let bin_s = bin_s.max(1);
        let start_unix_s = self.start_unix_ms.div_euclid(1000);
        let lead_ms = self.start_unix_ms.rem_euclid(1000) as u64;
        let bin_ms = u64::from(bin_s) * 1000;
        let idx = |off: u64| (lead_ms.saturating_add(off) / bin_ms) as usize;
        let n_bins = self
            .arrival_offsets_ms
            .iter()
            .map(|&o| idx(o))
            .max()
            .map_or(0, |m| m + 1);
        let mut counts = vec![0.0; n_bins];
        for &o in &self.arrival_offsets_ms {
            counts[idx(o)] += 1.0;
        }
        RateSeries {
            source: self.source.clone(),
            start_unix_s,
            bin_s,
            counts,
            gaps: Vec::new(),
        }
    }

    /// Squared coefficient of variation (variance / mean²) of the inter-arrival times, using the
    /// population variance. 1 for a Poisson process; larger is burstier. NaN with fewer than two
    /// arrivals or when all arrivals coincide.
    pub fn interarrival_scv(&self) -> f64 {
        let gaps = self
            .arrival_offsets_ms
            .windows(2)
            .map(|w| w[1].saturating_sub(w[0]) as f64);
        match mean_var(gaps) {
            Some((mean, var)) if mean > 0.0 => var / (mean * mean),
            _ => f64::NAN,
        }
    }

    /// Seconds from the first to the last arrival.
    pub fn duration_s(&self) -> f64 {
        match (
            self.arrival_offsets_ms.first(),
            self.arrival_offsets_ms.last(),
        ) {
            (Some(&a), Some(&b)) => b.saturating_sub(a) as f64 / 1000.0,
            _ => 0.0,
        }
    }

    /// Mean arrival rate, requests per second: inter-arrival intervals over the span from the
    /// first to the last arrival, `(n − 1) / duration_s()` (= 1 / mean inter-arrival time). NaN
    /// when the duration is zero (fewer than two arrivals, or all at once).
    pub fn mean_rate_per_s(&self) -> f64 {
        let d = self.duration_s();
        if d > 0.0 {
            (self.len() - 1) as f64 / d
        } else {
            f64::NAN
        }
    }
}

impl RateSeries {
    /// Number of bins.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether the series has no bin.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The series with every count multiplied by `k` (traffic scaling). `k` should be finite and
    /// non-negative; the caller validates it. Gaps are kept.
    pub fn scaled(&self, k: f64) -> RateSeries {
        RateSeries {
            counts: self.counts.iter().map(|c| c * k).collect(),
            ..self.clone_meta()
        }
    }

    /// The largest count of any bin (0 for an empty series; gaps are skipped).
    pub fn max_count(&self) -> f64 {
        self.counts.iter().copied().fold(0.0, f64::max)
    }

    /// Total requests over the series.
    pub fn total(&self) -> f64 {
        self.counts.iter().sum()
    }

    /// Highest mean rate over any `window_bins` consecutive bins, in requests per second.
    /// `window_bins` is clamped to `1..=len()`; an empty series gives 0.
    pub fn peak(&self, window_bins: usize) -> f64 {
        let n = self.counts.len();
        if n == 0 {
            return 0.0;
        }
        let w = window_bins.clamp(1, n);
        let mut sum: f64 = self.counts[..w].iter().sum();
        let mut best = sum;
        for i in w..n {
            sum += self.counts[i] - self.counts[i - w];
            best = best.max(sum);
        }
        best.max(0.0) / (w as f64 * f64::from(self.bin_s.max(1)))
    }

    /// The series summed into bins of `bin_s` seconds, which must be a positive multiple of the
    /// current bin width. Bins start at the same `start_unix_s`; the last bin may sum fewer source
    /// bins (the total is preserved). Gaps keep their start; `missing_bins` is converted to the
    /// new width, rounded up.
    pub fn rebin(&self, bin_s: u32) -> Result<RateSeries> {
        if bin_s == 0 || self.bin_s == 0 || bin_s % self.bin_s != 0 {
            return Err(Error::input(
                &self.source,
                None,
                format!(
                    "cannot rebin a series of {} s bins into {bin_s} s bins: the new bin width \
                     must be a positive multiple of {} s",
                    self.bin_s, self.bin_s
                ),
            ));
        }
        let factor = (bin_s / self.bin_s) as usize;
        let counts = self.counts.chunks(factor).map(|c| c.iter().sum()).collect();
        let gaps = self
            .gaps
            .iter()
            .map(|g| Gap {
                missing_bins: g.missing_bins.div_ceil(factor as u64),
                ..*g
            })
            .collect();
        Ok(RateSeries {
            bin_s,
            counts,
            gaps,
            ..self.clone_meta()
        })
    }

    /// Index of dispersion of the counts (population variance / mean): 1 for Poisson arrivals,
    /// larger is burstier at this bin width. Zero-filled gap bins count as zeros. NaN for an empty
    /// or all-zero series.
    pub fn dispersion_index(&self) -> f64 {
        match mean_var(self.counts.iter().copied()) {
            Some((mean, var)) if mean > 0.0 => var / mean,
            _ => f64::NAN,
        }
    }

    /// Everything but the counts.
    fn clone_meta(&self) -> RateSeries {
        RateSeries {
            source: self.source.clone(),
            start_unix_s: self.start_unix_s,
            bin_s: self.bin_s,
            counts: Vec::new(),
            gaps: self.gaps.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
