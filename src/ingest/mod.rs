//! Reading recorded inputs: traffic traces (rate series and per-request logs) and pod metrics
//! (`kubectl top`, Prometheus, usage CSVs).

pub mod metrics;
pub mod traffic;

/// `text` without a leading UTF-8 byte-order mark, which editors on Windows put at the start of
/// a file they save (the CSV, YAML and manifest readers skip it; so do the JSON and timeline
/// readers).
pub fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}
