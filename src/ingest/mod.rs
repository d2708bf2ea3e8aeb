//! Reading recorded inputs: traffic traces (rate series and per-request logs).

pub mod traffic;
