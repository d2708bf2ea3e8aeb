//! Efficiency, in the two senses users confuse: per workload, usage / request (what the
//! 60–80 % band is about); per pool, requested / allocatable (what the cluster autoscaler acts
//! on) and used / allocatable.

use serde::{Deserialize, Serialize};

use crate::model::scenario::Scenario;
use crate::sim::engine::RunResult;

/// Lower edge of the target utilization band (the operators' story: 60–80 %).
pub const BAND_LOW: f64 = 0.60;
/// Upper edge of the target band.
pub const BAND_HIGH: f64 = 0.80;

/// Usage over request of one workload, time-weighted over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadEfficiency {
    /// Workload.
    pub workload: String,
    /// CPU usage / CPU request (None when nothing was requested).
    pub cpu: Option<f64>,
    /// Memory usage / memory request.
    pub memory: Option<f64>,
}

/// Request and usage over allocatable of one pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolEfficiency {
    /// Pool.
    pub pool: String,
    /// CPU requested (DaemonSets included) / allocatable.
    pub cpu_requested: Option<f64>,
    /// Memory requested / allocatable.
    pub memory_requested: Option<f64>,
    /// CPU used by workload pods / allocatable.
    pub cpu_used: Option<f64>,
    /// Memory used by workload pods / allocatable.
    pub memory_used: Option<f64>,
}

/// Efficiency of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Efficiency {
    /// Usage / request of CPU over all workloads (request-weighted).
    pub cpu: f64,
    /// Usage / request of memory over all workloads.
    pub memory: f64,
    /// Per workload.
    pub workloads: Vec<WorkloadEfficiency>,
    /// Per pool that had nodes.
    pub pools: Vec<PoolEfficiency>,
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

/// The band score: 0 inside [60 %, 80 %], else the distance to the nearest edge.
pub fn band_distance(utilization: f64) -> f64 {
    if utilization < BAND_LOW {
        BAND_LOW - utilization
    } else if utilization > BAND_HIGH {
        utilization - BAND_HIGH
    } else {
        0.0
    }
}

/// Efficiency of `run`.
pub fn efficiency(scenario: &Scenario, run: &RunResult) -> Efficiency {
    let (mut cu, mut cr, mut mu, mut mr) = (0.0, 0.0, 0.0, 0.0);
    let workloads = run
        .workloads
        .iter()
        .map(|w| {
            cu += w.cpu_usage_core_s;
            cr += w.cpu_request_core_s;
            mu += w.memory_usage_byte_s;
            mr += w.memory_request_byte_s;
            WorkloadEfficiency {
                workload: w.name.clone(),
                cpu: ratio(w.cpu_usage_core_s, w.cpu_request_core_s),
                memory: ratio(w.memory_usage_byte_s, w.memory_request_byte_s),
            }
        })
        .collect();
    let pools = scenario
        .catalog
        .pools
        .iter()
        .zip(&run.pools)
        .filter(|(_, r)| r.node_seconds > 0.0)
        .map(|(p, r)| PoolEfficiency {
            pool: p.name.clone(),
            cpu_requested: ratio(r.requested_cpu_milli_s, r.allocatable_cpu_milli_s),
            memory_requested: ratio(r.requested_memory_byte_s, r.allocatable_memory_byte_s),
            cpu_used: ratio(r.used_cpu_core_s * 1000.0, r.allocatable_cpu_milli_s),
            memory_used: ratio(r.used_memory_byte_s, r.allocatable_memory_byte_s),
        })
        .collect();
    Efficiency {
        cpu: ratio(cu, cr).unwrap_or(0.0),
        memory: ratio(mu, mr).unwrap_or(0.0),
        workloads,
        pools,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_distance_is_zero_inside_and_linear_outside() {
        assert_eq!(band_distance(0.6), 0.0);
        assert_eq!(band_distance(0.7), 0.0);
        assert_eq!(band_distance(0.8), 0.0);
        assert!((band_distance(0.3) - 0.3).abs() < 1e-12);
        assert!((band_distance(0.95) - 0.15).abs() < 1e-12);
    }
}
