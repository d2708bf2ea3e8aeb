//! SLA per window: each objective's p99 latency and error rate against its targets; a run
//! breaches when more windows fail than the SLA allows.

use serde::{Deserialize, Serialize};

use crate::model::scenario::Scenario;
use crate::sim::engine::RunResult;

/// How one objective fared over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveOutcome {
    /// Service.
    pub service: String,
    /// Class.
    pub class: String,
    /// Windows where this objective failed.
    pub breached_windows: u32,
    /// Worst window p99, seconds.
    pub worst_p99_s: f64,
    /// Worst window error rate.
    pub worst_error_rate: f64,
    /// Error rate over the whole run.
    pub error_rate: f64,
    /// Median over windows of the window p99, seconds.
    pub median_p99_s: f64,
}

/// SLA outcome of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaOutcome {
    /// Windows evaluated.
    pub windows: u32,
    /// Windows in which any objective failed.
    pub breached_windows: u32,
    /// `breached_windows / windows`.
    pub breached_fraction: f64,
    /// Whether the run breaches the SLA (more failed windows than allowed).
    pub breached: bool,
    /// Per objective.
    pub objectives: Vec<ObjectiveOutcome>,
}

/// Whether a window's figures fail an objective.
pub fn window_fails(
    p99_s: f64,
    errors: f64,
    arrivals: f64,
    p99_target_s: f64,
    max_error_rate: f64,
) -> bool {
    if arrivals <= 0.0 {
        return false;
    }
    p99_s > p99_target_s || errors / arrivals > max_error_rate
}

/// Rounds to 12 decimals: queueing tails give rates like 1e-111 that mean "none".
fn clean(x: f64) -> f64 {
    (x * 1e12).round() / 1e12
}

/// Scores `run` against the scenario's SLA.
pub fn sla_outcome(scenario: &Scenario, run: &RunResult) -> SlaOutcome {
    let sla = &scenario.sla;
    let mut breached = 0u32;
    let mut per: Vec<(u32, f64, f64, f64, f64, Vec<f64>)> =
        vec![(0, 0.0, 0.0, 0.0, 0.0, Vec::new()); sla.objectives.len()];
    for w in &run.windows {
        let mut any = false;
        for (i, (o, f)) in sla.objectives.iter().zip(&w.objectives).enumerate() {
            let target = o.p99 as f64 / 1000.0;
            let fails = window_fails(f.p99_s, f.errors, f.arrivals, target, o.max_error_rate);
            let e = &mut per[i];
            if fails {
                e.0 += 1;
                any = true;
            }
            e.1 = e.1.max(f.p99_s);
            if f.arrivals > 0.0 {
                e.2 = e.2.max(f.errors / f.arrivals);
                e.5.push(f.p99_s);
            }
            e.3 += f.errors;
            e.4 += f.arrivals;
        }
        if any {
            breached += 1;
        }
    }
    let windows = run.windows.len() as u32;
    let fraction = if windows > 0 {
        f64::from(breached) / f64::from(windows)
    } else {
        0.0
    };
    let objectives = sla
        .objectives
        .iter()
        .zip(per)
        .map(|(o, (b, worst, worst_err, errors, arrivals, mut p99s))| {
            p99s.sort_by(f64::total_cmp);
            ObjectiveOutcome {
                service: o.service.clone(),
                class: o.class.clone(),
                breached_windows: b,
                worst_p99_s: worst,
                worst_error_rate: clean(worst_err),
                error_rate: clean(if arrivals > 0.0 {
                    errors / arrivals
                } else {
                    0.0
                }),
                median_p99_s: p99s.get(p99s.len() / 2).copied().unwrap_or(0.0),
            }
        })
        .collect();
    SlaOutcome {
        windows,
        breached_windows: breached,
        breached_fraction: fraction,
        breached: fraction > sla.max_breached_window_fraction,
        objectives,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_fails_on_latency_or_errors_not_when_idle() {
        assert!(!window_fails(0.5, 0.0, 100.0, 1.0, 0.001));
        assert!(window_fails(1.5, 0.0, 100.0, 1.0, 0.001));
        assert!(window_fails(0.5, 1.0, 100.0, 1.0, 0.001));
        assert!(!window_fails(0.5, 0.1, 1000.0, 1.0, 0.001));
        assert!(!window_fails(9.0, 9.0, 0.0, 1.0, 0.001));
    }
}
