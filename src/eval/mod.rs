//! Evaluation of one run: cost, efficiency against the 60–80 % band, and SLA windows.

pub mod cost;
pub mod efficiency;
pub mod sla;

use serde::Serialize;

use crate::model::scenario::Scenario;
use crate::sim::engine::RunResult;

/// Everything the ranking and the reports need from one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Cost.
    pub cost: cost::Cost,
    /// Efficiency.
    pub efficiency: efficiency::Efficiency,
    /// Distance of the utilization from the 60–80 % band (0 inside; mean of CPU and memory).
    pub band_distance: f64,
    /// SLA windows.
    pub sla: sla::SlaOutcome,
}

/// Evaluates `run` of `scenario`.
pub fn evaluate(scenario: &Scenario, run: &RunResult) -> Evaluation {
    let cost = cost::cost(scenario, run);
    let efficiency = efficiency::efficiency(scenario, run);
    let band_distance = (efficiency::band_distance(efficiency.cpu)
        + efficiency::band_distance(efficiency.memory))
        / 2.0;
    Evaluation {
        cost,
        efficiency,
        band_distance,
        sla: sla::sla_outcome(scenario, run),
    }
}
