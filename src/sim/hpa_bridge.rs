//! The bridge between the simulator's pods and the upstream HPA controller logic in
//! [`crate::k8s::hpa`]: converts configs to specs and pods to what the controller sees.

use crate::k8s::hpa::{
    Behavior, ControllerConfig, HpaController, HpaPod, HpaScalingPolicy, HpaScalingRules, HpaSpec,
    MetricInput, MetricSpec, PodMetricPoint, PodMetrics, PodPhase, PolicyType, ResourceName,
    Sample, SelectPolicy,
};
use crate::k8s::pod::{Pod, PodStatus};
use crate::model::config::{HpaConfig, ScalingRulesConfig};
use crate::time::Millis;

/// Converts an HPA config (Kubernetes YAML shape) into the controller's spec and validates it
/// as the API server would. Errors give the field (relative to `hpa`) and the problem.
pub fn to_spec(h: &HpaConfig) -> Result<HpaSpec, (String, String)> {
    let mut metrics = Vec::with_capacity(h.metrics.len());
    for (i, m) in h.metrics.iter().enumerate() {
        let f = |n: &str| format!("metrics[{i}].{n}");
        if m.kind != "Resource" {
            return Err((
                f("type"),
                format!(
                    "metric type `{}` is not simulated (no custom-metrics source); use `Resource` with cpu or memory",
                    m.kind
                ),
            ));
        }
        let Some(r) = &m.resource else {
            return Err((f("resource"), "missing for a Resource metric".into()));
        };
        let name = match r.name.as_str() {
            "cpu" => ResourceName::Cpu,
            "memory" => ResourceName::Memory,
            other => {
                return Err((
                    f("resource.name"),
                    format!(
                        "`{other}` is not a resource the HPA can scale on; expected cpu or memory"
                    ),
                ))
            }
        };
        let t = &r.target;
        let spec = match t.kind.as_str() {
            "Utilization" => match t.average_utilization {
                Some(u) => MetricSpec::resource_utilization(name, u),
                None => {
                    return Err((
                        f("resource.target.averageUtilization"),
                        "missing for a Utilization target".into(),
                    ))
                }
            },
            "AverageValue" => match &t.average_value {
                Some(q) => MetricSpec::resource_average_value(name, q.milli_value()),
                None => {
                    return Err((
                        f("resource.target.averageValue"),
                        "missing for an AverageValue target".into(),
                    ))
                }
            },
            other => {
                return Err((
                    f("resource.target.type"),
                    format!("`{other}` is not valid for a Resource metric; expected Utilization or AverageValue"),
                ))
            }
        };
        metrics.push(spec);
    }
    let behavior = match &h.behavior {
        None => None,
        Some(b) => Some(Behavior {
            scale_up: b
                .scale_up
                .as_ref()
                .map(|r| rules(r, "behavior.scaleUp"))
                .transpose()?,
            scale_down: b
                .scale_down
                .as_ref()
                .map(|r| rules(r, "behavior.scaleDown"))
                .transpose()?,
        }),
    };
    let mut spec = HpaSpec::new(h.min_replicas, h.max_replicas, metrics);
    if spec.metrics.is_empty() {
        spec.metrics = crate::k8s::hpa::spec::default_metrics();
    }
    spec.behavior = behavior;
    spec.validate().map_err(|m| (String::new(), m))?;
    Ok(spec)
}

fn rules(r: &ScalingRulesConfig, at: &str) -> Result<HpaScalingRules, (String, String)> {
    let select_policy = match r.select_policy.as_deref() {
        None => None,
        Some("Max") => Some(SelectPolicy::Max),
        Some("Min") => Some(SelectPolicy::Min),
        Some("Disabled") => Some(SelectPolicy::Disabled),
        Some(other) => {
            return Err((
                format!("{at}.selectPolicy"),
                format!("`{other}` is not a select policy; expected Max, Min or Disabled"),
            ))
        }
    };
    let policies = match &r.policies {
        None => None,
        Some(ps) => {
            let mut out = Vec::with_capacity(ps.len());
            for (i, p) in ps.iter().enumerate() {
                let policy_type = match p.kind.as_str() {
                    "Pods" => PolicyType::Pods,
                    "Percent" => PolicyType::Percent,
                    other => {
                        return Err((
                            format!("{at}.policies[{i}].type"),
                            format!("`{other}` is not a policy type; expected Pods or Percent"),
                        ))
                    }
                };
                out.push(HpaScalingPolicy {
                    policy_type,
                    value: p.value,
                    period_seconds: p.period_seconds,
                });
            }
            Some(out)
        }
    };
    let tolerance = match &r.tolerance {
        None => None,
        Some(q) => Some(
            q.to_decimal_string()
                .parse::<f64>()
                .map_err(|_| (format!("{at}.tolerance"), "not a number".to_string()))?,
        ),
    };
    Ok(HpaScalingRules {
        stabilization_window_seconds: r.stabilization_window_seconds,
        select_policy,
        policies,
        tolerance,
    })
}

/// One workload's HPA during a run: its spec, controller state and controller settings.
#[derive(Debug, Clone)]
pub struct WorkloadHpa {
    spec: HpaSpec,
    controller: HpaController,
    config: ControllerConfig,
    pods: Vec<HpaPod>,
    inputs: Vec<MetricInput>,
}

impl WorkloadHpa {
    /// A fresh controller for `h` (already validated by [`to_spec`]), with production defaults
    /// and the scenario's sync period.
    pub fn new(h: &HpaConfig, sync_period: Millis) -> WorkloadHpa {
        let spec = to_spec(h)
            .unwrap_or_else(|_| HpaSpec::new(1, 1, crate::k8s::hpa::spec::default_metrics()));
        WorkloadHpa {
            spec,
            controller: HpaController::new(),
            config: ControllerConfig {
                sync_period,
                ..ControllerConfig::default()
            },
            pods: Vec::new(),
            inputs: Vec::new(),
        }
    }

    /// The initial replica count clamped into [minReplicas, maxReplicas].
    pub fn clamp_initial(&self, replicas: u32) -> u32 {
        let (lo, hi) = (
            self.spec.min_replicas.max(0) as u32,
            self.spec.max_replicas.max(0) as u32,
        );
        replicas.clamp(lo.min(hi), hi)
    }

    /// One HPA sync at `now`: what the controller sees of the workload's pods (`ids` into
    /// `pods`), and the replicas it wants. Reuses its buffers: no allocation once warm.
    pub fn sync(&mut self, now: Millis, spec_replicas: u32, pods: &[Pod], ids: &[usize]) -> u32 {
        self.pods.clear();
        for &id in ids {
            let p = &pods[id];
            self.pods.push(HpaPod {
                phase: match p.status {
                    PodStatus::Unscheduled | PodStatus::Starting => PodPhase::Pending,
                    PodStatus::Running | PodStatus::BackOff | PodStatus::Terminating => {
                        PodPhase::Running
                    }
                },
                deleting: p.status == PodStatus::Terminating,
                ready: p.ready,
                start_time: p.start_time,
                ready_transition_time: p.ready_transition.or(p.start_time),
            });
        }
        self.inputs.resize_with(self.spec.metrics.len(), || {
            MetricInput::PerPod(PodMetrics::default())
        });
        for (m, input) in self.spec.metrics.iter().zip(self.inputs.iter_mut()) {
            let name = match m {
                MetricSpec::Resource(r) => r.name,
                _ => ResourceName::Cpu,
            };
            if !matches!(input, MetricInput::PerPod(_)) {
                *input = MetricInput::PerPod(PodMetrics::default());
            }
            let MetricInput::PerPod(metrics) = input else {
                continue;
            };
            metrics.per_pod.clear();
            metrics.per_pod.extend(ids.iter().map(|&id| {
                let p = &pods[id];
                let (request, sample) = match name {
                    ResourceName::Cpu => (
                        p.requests.cpu_milli,
                        p.sample.map(|s| Sample {
                            value: s.cpu_milli,
                            timestamp: s.at,
                            window: s.window,
                        }),
                    ),
                    ResourceName::Memory => (
                        p.requests.memory_bytes.map(|b| b.saturating_mul(1000)),
                        p.sample.map(|s| Sample {
                            value: s.memory_bytes.saturating_mul(1000),
                            timestamp: s.at,
                            window: s.window,
                        }),
                    ),
                };
                PodMetricPoint { request, sample }
            }));
        }
        let status_replicas = ids.iter().filter(|&&id| pods[id].is_active()).count() as i32;
        let out = self.controller.reconcile(
            now,
            &self.spec,
            spec_replicas as i32,
            status_replicas,
            &self.inputs,
            &self.pods,
            &self.config,
        );
        out.desired_replicas.max(0) as u32
    }
}
