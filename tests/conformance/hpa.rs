//! hpa_replicas and hpa_behavior cases.
use super::Outcome;

pub fn run_replicas_case(_case: &serde_json::Value) -> Outcome {
    Outcome::Unsupported("not written yet".into())
}

pub fn run_behavior_case(_case: &serde_json::Value) -> Outcome {
    Outcome::Unsupported("not written yet".into())
}
