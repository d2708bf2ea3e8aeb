//! quantity_parse cases.
use super::Outcome;

pub fn run_case(_case: &serde_json::Value) -> Outcome {
    Outcome::Unsupported("not written yet".into())
}
