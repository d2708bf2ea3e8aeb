//! Reading recorded inputs: traffic traces (rate series and per-request logs) and pod metrics
//! (`kubectl top`, Prometheus, usage CSVs).

pub mod metrics;
pub mod traffic;
