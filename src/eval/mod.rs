//! Evaluation of one run: cost, efficiency against the 60–80 % band, and SLA windows.

pub mod cost;
pub mod efficiency;
pub mod sla;

use serde::{Deserialize, Serialize};

use crate::model::config::Config;
use crate::model::scenario::Scenario;
use crate::sim::engine::RunResult;

/// Everything the ranking and the reports need from one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Cost.
    pub cost: cost::Cost,
    /// Efficiency.
    pub efficiency: efficiency::Efficiency,
    /// Distance of the utilization from the 60–80 % band (0 inside; mean of CPU and memory).
    pub band_distance: f64,
    /// SLA windows.
    pub sla: sla::SlaOutcome,
    /// What each workload's control plane did (the "why" behind the SLA and the cost).
    pub activity: Vec<WorkloadActivity>,
}

/// Replicas, scaling and failures of one workload during the run (the "why" behind its SLA
/// and cost): the run's own record, plus what is derived from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadActivity {
    /// Workload.
    pub workload: String,
    /// QoS class of its pods.
    pub qos_class: crate::k8s::pod::QosClass,
    /// Mean pods bound to nodes over the run.
    pub mean_pods: f64,
    /// Mean CFS throttled-period ratio (`nr_throttled / nr_periods`) of its ready pods.
    pub throttled_period_ratio: f64,
    /// Warnings an operator should read before trusting the figures.
    pub warnings: Vec<String>,
    /// What the engine recorded.
    #[serde(flatten)]
    pub run: crate::sim::engine::WorkloadRun,
}

fn warnings(w: &crate::sim::engine::WorkloadRun, config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let limit = config
        .workloads
        .get(&w.name)
        .and_then(|c| c.resources.limits.memory);
    if let (Some(l), true) = (limit, w.oom_kills > 0) {
        out.push(format!(
            "{} OOM kills ({} restarts, {} in CrashLoopBackOff): the working set reaches the memory limit {} (peak {:.0}Mi); raise the limit or lower the load per pod",
            w.oom_kills,
            w.restarts,
            w.crash_loop_restarts,
            l,
            w.peak_pod_memory_bytes / 1_048_576.0
        ));
    }
    if w.pressure_evictions > 0 {
        out.push(format!(
            "{} pods evicted under node memory pressure: they use more memory than they request; raise the memory request toward the working set",
            w.pressure_evictions
        ));
    }
    if w.probe_unready_transitions > 0 {
        out.push(format!(
            "{} times a pod turned unready when its readiness probe timed out behind busy workers: Object/External Value metrics multiply by ready pods and stop scaling up; serve the probe outside the worker pool or add capacity",
            w.probe_unready_transitions
        ));
    }
    if w.unfittable_pods > 0 {
        out.push(format!(
            "{} pod(s) fit no node of the pool even when it is empty: they stay Pending",
            w.unfittable_pods
        ));
    }
    out
}

/// Evaluates `run` of `config` on `scenario`.
pub fn evaluate(scenario: &Scenario, config: &Config, run: &RunResult) -> Evaluation {
    let cost = cost::cost(scenario, run);
    let efficiency = efficiency::efficiency(scenario, run);
    let band_distance = (efficiency::band_distance(efficiency.cpu)
        + efficiency::band_distance(efficiency.memory))
        / 2.0;
    let horizon_s = run.horizon as f64 / 1000.0;
    let activity = run
        .workloads
        .iter()
        .map(|w| WorkloadActivity {
            workload: w.name.clone(),
            qos_class: config
                .workloads
                .get(&w.name)
                .map_or(crate::k8s::pod::QosClass::BestEffort, |c| c.qos_class()),
            mean_pods: if horizon_s > 0.0 {
                (w.pod_seconds / horizon_s * 100.0).round() / 100.0
            } else {
                0.0
            },
            throttled_period_ratio: if w.ready_pod_seconds > 0.0 {
                (w.throttled_pod_seconds / w.ready_pod_seconds * 1e4).round() / 1e4
            } else {
                0.0
            },
            warnings: warnings(w, config),
            run: w.clone(),
        })
        .collect();
    Evaluation {
        cost,
        efficiency,
        band_distance,
        sla: sla::sla_outcome(scenario, run),
        activity,
    }
}
