//! The bridge between the simulator's pods and the upstream HPA controller logic in
//! [`crate::k8s::hpa`]: converts configs to specs and pods to what the controller sees.

use crate::k8s::hpa::spec::{
    ContainerResourceMetricSource, ExternalMetricSource, MetricIdentifier, MetricTarget,
    ObjectMetricSource, PodsMetricSource, ResourceMetricSource,
};
use crate::k8s::hpa::{
    Behavior, ControllerConfig, HpaController, HpaPod, HpaScalingPolicy, HpaScalingRules, HpaSpec,
    MetricInput, MetricSpec, PodMetricPoint, PodMetrics, PodPhase, PolicyType, ResourceName,
    Sample, SelectPolicy,
};
use crate::k8s::pod::{Pod, PodSample, PodStatus};
use crate::model::config::{HpaConfig, MetricConfig, MetricTargetConfig, ScalingRulesConfig};
use crate::quantity::{Quantity, QuantityFormat};
use crate::time::Millis;

/// Converts an HPA config (Kubernetes YAML shape) into the controller's spec and validates it
/// as the API server would. Errors give the field (relative to `hpa`) and the problem.
pub fn to_spec(h: &HpaConfig) -> Result<HpaSpec, (String, String)> {
    let mut metrics = Vec::with_capacity(h.metrics.len());
    for (i, m) in h.metrics.iter().enumerate() {
        metrics.push(metric_spec(m).map_err(|(f, e)| (format!("metrics[{i}].{f}"), e))?);
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
    // Defaulted once, as the API server does on create: the controller then reads the rules
    // in place at every sync.
    spec.behavior = behavior.map(|b| b.with_defaults());
    spec.validate().map_err(|m| (String::new(), m))?;
    Ok(spec)
}

/// The metric the simulator computes for `Pods`, `Object` and `External` sources.
pub const REQUESTS_PER_SECOND: &str = "requests_per_second";

/// One metric config as the controller's spec; errors name the field relative to the metric.
fn metric_spec(m: &MetricConfig) -> Result<MetricSpec, (String, String)> {
    let field = m.kind.to_ascii_lowercase();
    let missing = || (field.clone(), format!("missing for a {} metric", m.kind));
    // The API server takes exactly the source the type names: another one set beside it is
    // rejected, not ignored.
    let own = match m.kind.as_str() {
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        "Pods" => "pods",
        "Object" => "object",
        "External" => "external",
        _ => "",
    };
    let sources = [
        ("resource", m.resource.is_some()),
        ("containerResource", m.container_resource.is_some()),
        ("pods", m.pods.is_some()),
        ("object", m.object.is_some()),
        ("external", m.external.is_some()),
    ];
    if let Some((extra, _)) = sources
        .iter()
        .find(|(k, set)| *set && *k != own && !own.is_empty())
    {
        return Err((
            (*extra).to_string(),
            format!(
                "set on a {} metric: only `{own}` may be (the API server rejects a metric with a second source)",
                m.kind
            ),
        ));
    }
    match m.kind.as_str() {
        "Resource" => {
            let r = m.resource.as_ref().ok_or_else(missing)?;
            let name = resource_name(&r.name, "resource.name")?;
            let target = target(&r.target, "resource.target", &["Utilization", "AverageValue"])?;
            Ok(MetricSpec::Resource(ResourceMetricSource { name, target }))
        }
        "ContainerResource" => {
            let r = m
                .container_resource
                .as_ref()
                .ok_or_else(|| ("containerResource".into(), missing().1))?;
            let name = resource_name(&r.name, "containerResource.name")?;
            let target = target(
                &r.target,
                "containerResource.target",
                &["Utilization", "AverageValue"],
            )?;
            Ok(MetricSpec::ContainerResource(
                ContainerResourceMetricSource {
                    name,
                    container: r.container.clone(),
                    target,
                },
            ))
        }
        "Pods" | "Object" | "External" => {
            let c = match m.kind.as_str() {
                "Pods" => &m.pods,
                "Object" => &m.object,
                _ => &m.external,
            }
            .as_ref()
            .ok_or_else(missing)?;
            if c.metric.name != REQUESTS_PER_SECOND {
                return Err((
                    format!("{field}.metric.name"),
                    format!(
                        "`{}` is not a metric the simulator computes; expected {REQUESTS_PER_SECOND}",
                        c.metric.name
                    ),
                ));
            }
            let at = format!("{field}.target");
            let metric = MetricIdentifier {
                name: c.metric.name.clone(),
            };
            Ok(match m.kind.as_str() {
                "Pods" => MetricSpec::Pods(PodsMetricSource {
                    metric,
                    target: target(&c.target, &at, &["AverageValue"])?,
                }),
                "Object" => MetricSpec::Object(ObjectMetricSource {
                    described_object: None,
                    metric,
                    target: target(&c.target, &at, &["Value", "AverageValue"])?,
                }),
                _ => MetricSpec::External(ExternalMetricSource {
                    metric,
                    target: target(&c.target, &at, &["Value", "AverageValue"])?,
                }),
            })
        }
        other => Err((
            "type".into(),
            format!("`{other}` is not a metric source type; expected Resource, ContainerResource, Pods, Object or External"),
        )),
    }
}

/// `cpu` or `memory`, the resources the HPA can scale on; errors name `at`.
fn resource_name(name: &str, at: &str) -> Result<ResourceName, (String, String)> {
    match name {
        "cpu" => Ok(ResourceName::Cpu),
        "memory" => Ok(ResourceName::Memory),
        other => Err((
            at.into(),
            format!("`{other}` is not a resource the HPA can scale on; expected cpu or memory"),
        )),
    }
}

/// A metric target of one of the `allowed` kinds; errors name the field under `at`.
fn target(
    t: &MetricTargetConfig,
    at: &str,
    allowed: &[&str],
) -> Result<MetricTarget, (String, String)> {
    if !allowed.contains(&t.kind.as_str()) {
        return Err((
            format!("{at}.type"),
            format!(
                "`{}` is not valid here; expected {}",
                t.kind,
                allowed.join(" or ")
            ),
        ));
    }
    let need = |name: &str| {
        (
            format!("{at}.{name}"),
            format!("missing for a {} target", t.kind),
        )
    };
    // A target in milli-units; a value beyond i64 is rejected, never saturated.
    let milli = |q: Option<&Quantity>, name: &str| {
        let q = q.ok_or_else(|| need(name))?;
        q.checked_milli_value().ok_or_else(|| {
            (
                format!("{at}.{name}"),
                format!(
                    "{q} is too large: at most {}",
                    Quantity::from_milli(i64::MAX, QuantityFormat::DecimalSI)
                ),
            )
        })
    };
    Ok(match t.kind.as_str() {
        "Utilization" => MetricTarget::Utilization(
            t.average_utilization
                .ok_or_else(|| need("averageUtilization"))?,
        ),
        "AverageValue" => {
            MetricTarget::AverageValue(milli(t.average_value.as_ref(), "averageValue")?)
        }
        _ => MetricTarget::Value(milli(t.value.as_ref(), "value")?),
    })
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

/// The fetch error of an Object or External metric before the service has a rate.
const NO_RATE_YET: &str = "no rate observed yet";

/// What a `ContainerResource` metric reads of its container in every pod of the workload:
/// the container's requests as the HPA sees them (`None` when unset) and its usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerView {
    /// CPU request, millicores.
    pub cpu_request_milli: Option<i64>,
    /// Memory request, bytes.
    pub memory_request_bytes: Option<i64>,
    /// Where its usage comes from.
    pub usage: ContainerUsage,
}

/// A container's usage in a pod's metrics sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerUsage {
    /// The app container: the pod's usage less its sidecars' (millicores, bytes).
    App {
        /// The sidecars' CPU, millicores.
        sidecars_cpu_milli: i64,
        /// The sidecars' memory, bytes.
        sidecars_memory_bytes: i64,
    },
    /// A sidecar: its profile's constant usage (millicores, bytes).
    Sidecar {
        /// CPU, millicores.
        cpu_milli: i64,
        /// Memory, bytes.
        memory_bytes: i64,
    },
}

impl ContainerView {
    /// The container's request and sample of `resource` in a pod with sample `pod`, in the
    /// controller's milli-units (memory bytes × 1000).
    fn point(&self, resource: ResourceName, pod: Option<PodSample>) -> PodMetricPoint {
        let usage = |s: &PodSample| match (self.usage, resource) {
            (
                ContainerUsage::App {
                    sidecars_cpu_milli, ..
                },
                ResourceName::Cpu,
            ) => (s.cpu_milli - sidecars_cpu_milli).max(0),
            (
                ContainerUsage::App {
                    sidecars_memory_bytes,
                    ..
                },
                ResourceName::Memory,
            ) => (s.memory_bytes - sidecars_memory_bytes)
                .max(0)
                .saturating_mul(1000),
            (ContainerUsage::Sidecar { cpu_milli, .. }, ResourceName::Cpu) => cpu_milli,
            (ContainerUsage::Sidecar { memory_bytes, .. }, ResourceName::Memory) => {
                memory_bytes.saturating_mul(1000)
            }
        };
        PodMetricPoint {
            request: match resource {
                ResourceName::Cpu => self.cpu_request_milli,
                ResourceName::Memory => self.memory_request_bytes.map(|b| b.saturating_mul(1000)),
            },
            sample: pod.map(|s| Sample {
                value: usage(&s),
                timestamp: s.at,
                window: s.window,
            }),
        }
    }
}

/// One workload's HPA during a run: its spec, controller state and controller settings.
#[derive(Debug, Clone)]
pub struct WorkloadHpa {
    spec: HpaSpec,
    controller: HpaController,
    config: ControllerConfig,
    pods: Vec<HpaPod>,
    inputs: Vec<MetricInput>,
    /// The container each `ContainerResource` metric reads, aligned with the spec's metrics.
    containers: Vec<Option<ContainerView>>,
    /// What the last full reconcile read: a sync that reads the same repeats its proposal
    /// ([`HpaController::reconcile_repeat`]).
    seen: Seen,
    /// Whether syncs may repeat the last proposal (off only to test that repeating changes
    /// nothing).
    repeats: bool,
}

/// What one full reconcile read of the workload (buffers reused between reconciles).
#[derive(Debug, Clone, Default, PartialEq)]
struct Seen {
    /// A sync reading the same may repeat it: the classification of every pod no longer
    /// depends on the time (see [`classified_for_good`]).
    repeatable: bool,
    spec_replicas: u32,
    status_replicas: i32,
    service_rate_milli: Option<i64>,
    pods: Vec<SeenPod>,
}

/// One pod as a reconcile reads it, its requests aside (they are fixed for the pod's id). The
/// sample's time and window are left out: they matter only while a pod is within its CPU
/// initialization period.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SeenPod {
    id: usize,
    status: PodStatus,
    ready: bool,
    start_time: Option<Millis>,
    ready_transition: Option<Millis>,
    sample: Option<(i64, i64, i64)>,
}

/// Whether the CPU readiness check of `groupPods` classifies pod `p` at `now` as it will at
/// every later sync that reads the same pod (status, readiness, times and values): it is past
/// its CPU initialization period (`init`), has no sample, or is ready with a sample that covers
/// a whole window after its last readiness change. Later samples of such a pod start at or
/// after this one's end, so they cover one too, and after the period a ready pod is trusted
/// anyway.
fn classified_for_good(p: &Pod, now: Millis, init: Millis) -> bool {
    let Some(start) = p.start_time else {
        return true;
    };
    let since = p.ready_transition.unwrap_or(start);
    start.saturating_add(init) <= now
        || p.sample
            .is_none_or(|s| p.ready && s.at >= since.saturating_add(s.window))
}

impl SeenPod {
    fn of(id: usize, p: &Pod) -> SeenPod {
        SeenPod {
            id,
            status: p.status,
            ready: p.ready,
            start_time: p.start_time,
            ready_transition: p.ready_transition,
            sample: p
                .sample
                .map(|s| (s.cpu_milli, s.memory_bytes, s.served_per_s_milli)),
        }
    }
}

impl WorkloadHpa {
    /// A fresh controller for `h` (already validated by [`to_spec`]), with production defaults
    /// and the scenario's sync period (and pre-1.19 mode, if asked); `container` names what a
    /// `ContainerResource` metric reads of each of the pod's containers.
    pub fn new(
        h: &HpaConfig,
        cp: &crate::model::scenario::ControlPlane,
        container: impl Fn(&str) -> Option<ContainerView>,
    ) -> WorkloadHpa {
        let spec = to_spec(h)
            .unwrap_or_else(|_| HpaSpec::new(1, 1, crate::k8s::hpa::spec::default_metrics()));
        let containers = spec
            .metrics
            .iter()
            .map(|m| match m {
                MetricSpec::ContainerResource(r) => container(&r.container),
                _ => None,
            })
            .collect();
        WorkloadHpa {
            containers,
            spec,
            controller: HpaController::new(),
            config: ControllerConfig {
                sync_period: cp.hpa_sync_period,
                pre_surge_fix: cp.hpa_pre_surge_fix,
                ..ControllerConfig::default()
            },
            pods: Vec::new(),
            inputs: Vec::new(),
            seen: Seen::default(),
            repeats: true,
        }
    }

    /// Turns repeated proposals off: every sync reconciles in full.
    #[cfg(test)]
    pub(crate) fn without_repeats(mut self) -> WorkloadHpa {
        self.repeats = false;
        self
    }

    /// Whether a metric reads the service's arrival rate (an Object or External metric).
    pub fn reads_service_rate(&self) -> bool {
        self.spec.has_object_or_external_metric()
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
    /// `pods`) and of its service's arrival rate (milli-requests/s over the last metrics
    /// window, for Object and External metrics), and the replicas it wants. Reuses its
    /// buffers: no allocation once warm.
    pub fn sync(
        &mut self,
        now: Millis,
        spec_replicas: u32,
        pods: &[Pod],
        ids: &[usize],
        service_rate_milli: Option<i64>,
    ) -> u32 {
        if self.reads_as_before(spec_replicas, pods, ids, service_rate_milli) {
            let again = self.controller.reconcile_repeat(
                now,
                &self.spec,
                spec_replicas as i32,
                self.seen.status_replicas,
                &self.config,
            );
            if let Some(out) = again {
                return out.desired_replicas.max(0) as u32;
            }
        }
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
        for ((m, input), view) in self
            .spec
            .metrics
            .iter()
            .zip(self.inputs.iter_mut())
            .zip(&self.containers)
        {
            if let MetricSpec::ContainerResource(r) = m {
                let Some(view) = view else {
                    *input = MetricInput::FetchError(format!(
                        "no container `{}` in the pods",
                        r.container
                    ));
                    continue;
                };
                if !matches!(input, MetricInput::PerPod(_)) {
                    *input = MetricInput::PerPod(PodMetrics::default());
                }
                if let MetricInput::PerPod(metrics) = input {
                    metrics.per_pod.clear();
                    metrics
                        .per_pod
                        .extend(ids.iter().map(|&id| view.point(r.name, pods[id].sample)));
                }
                continue;
            }
            let name = match m {
                MetricSpec::Resource(r) => Some(r.name),
                MetricSpec::Pods(_) => None,
                _ => {
                    // Object and External: the service's arrival rate.
                    match service_rate_milli {
                        Some(v) => *input = MetricInput::Value(v),
                        None => {
                            if !matches!(input, MetricInput::FetchError(e) if e == NO_RATE_YET) {
                                *input = MetricInput::FetchError(NO_RATE_YET.into());
                            }
                        }
                    }
                    continue;
                }
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
                let sample = |value: fn(&crate::k8s::pod::PodSample) -> i64| {
                    p.sample.map(|s| Sample {
                        value: value(&s),
                        timestamp: s.at,
                        window: s.window,
                    })
                };
                let (request, sample) = match name {
                    Some(ResourceName::Cpu) => (p.requests.cpu_milli, sample(|s| s.cpu_milli)),
                    Some(ResourceName::Memory) => (
                        p.requests.memory_bytes.map(|b| b.saturating_mul(1000)),
                        sample(|s| s.memory_bytes.saturating_mul(1000)),
                    ),
                    None => (None, sample(|s| s.served_per_s_milli)),
                };
                PodMetricPoint { request, sample }
            }));
        }
        let status_replicas = ids.iter().filter(|&&id| pods[id].is_active()).count() as i32;
        let out = self.controller.reconcile_in_place(
            now,
            &self.spec,
            spec_replicas as i32,
            status_replicas,
            &self.inputs,
            &self.pods,
            &self.config,
        );
        let seen = &mut self.seen;
        seen.spec_replicas = spec_replicas;
        seen.status_replicas = status_replicas;
        seen.service_rate_milli = service_rate_milli;
        seen.pods.clear();
        seen.pods
            .extend(ids.iter().map(|&id| SeenPod::of(id, &pods[id])));
        let init = self.config.cpu_initialization_period;
        seen.repeatable = ids
            .iter()
            .all(|&id| classified_for_good(&pods[id], now, init));
        out.desired_replicas.max(0) as u32
    }

    /// After a sync at `now` that left the scale as it was: the last time up to which syncs
    /// that read the same inputs leave it so (they only record their recommendation; see
    /// [`WorkloadHpa::sync_unchanged`]), or `None` when that is not known.
    pub fn settled_until(&self, now: Millis) -> Option<Millis> {
        if !(self.repeats && self.seen.repeatable) {
            return None;
        }
        self.controller.settled_until(now, &self.spec, &self.config)
    }

    /// A sync at `now` whose inputs are those of the last one, within the time
    /// [`WorkloadHpa::settled_until`] gave: records what it records, changes nothing else.
    pub fn sync_unchanged(&mut self, now: Millis) {
        let seen = &self.seen;
        let again = self.controller.repeat_settled(
            now,
            &self.spec,
            seen.spec_replicas as i32,
            seen.status_replicas,
            &self.config,
        );
        debug_assert!(again.is_some());
    }

    /// Whether the pods and the arrival rate read as at the last full reconcile, and that one
    /// may be repeated.
    fn reads_as_before(
        &self,
        spec_replicas: u32,
        pods: &[Pod],
        ids: &[usize],
        service_rate_milli: Option<i64>,
    ) -> bool {
        let seen = &self.seen;
        self.repeats
            && seen.repeatable
            && seen.spec_replicas == spec_replicas
            && seen.service_rate_milli == service_rate_milli
            && seen.pods.len() == ids.len()
            && seen
                .pods
                .iter()
                .zip(ids)
                .all(|(s, &id)| *s == SeenPod::of(id, &pods[id]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::pod::{PodRequests, PodSample};
    use crate::time::MINUTE;

    const NOW: Millis = 60 * MINUTE;

    fn hpa(metric: &str) -> WorkloadHpa {
        let text = format!("minReplicas: 3\nmaxReplicas: 100\nmetrics:\n{metric}");
        let config: HpaConfig = crate::model::load::from_yaml_str(&text, "hpa.yaml").unwrap();
        WorkloadHpa::new(
            &config,
            &crate::model::scenario::ControlPlane::default(),
            |_| None,
        )
    }

    /// A running pod started at `start`, using 900m of its 1000m request, ready or turned
    /// unready at `transition`.
    fn pod(start: Millis, ready: bool, transition: Millis) -> Pod {
        let mut p = Pod::new(0, PodRequests::new(Some(1000), Some(1 << 30)), start);
        p.status = PodStatus::Running;
        p.start_time = Some(start);
        p.running_at = Some(start);
        p.ready = ready;
        p.probe_failing = !ready;
        p.ready_transition = Some(transition);
        p.sample = Some(PodSample {
            cpu_milli: 900,
            memory_bytes: 1 << 29,
            at: NOW - 1000,
            window: 60_000,
            served_per_s_milli: 222,
        });
        p
    }

    /// A pod's CPU classification is fixed once it is past its initialization period, has no
    /// sample, or is ready with a sample covering a whole window after its readiness change
    /// (`groupPods`: within the period a sample must start after the change).
    #[test]
    fn classification_is_fixed_once_a_window_follows_the_readiness_change() {
        let init = 5 * MINUTE;
        let at = |p: &mut Pod, at: Millis, window: Millis| {
            if let Some(s) = p.sample.as_mut() {
                s.at = at;
                s.window = window;
            }
        };
        let start = NOW - MINUTE;
        // Ready at start + 10 s; the sample covers [NOW − 25 s, NOW − 10 s].
        let mut p = pod(start, true, start + 10_000);
        at(&mut p, NOW - 10_000, 15_000);
        assert!(classified_for_good(&p, NOW, init));
        // Its window began before the change: later samples may be trusted, this one not.
        at(&mut p, start + 20_000, 15_000);
        assert!(!classified_for_good(&p, NOW, init));
        // Unready within the period: trusted once it ends if it was ever ready.
        let mut q = pod(start, false, start + 30_000);
        at(&mut q, NOW - 10_000, 15_000);
        assert!(!classified_for_good(&q, NOW, init));
        assert!(classified_for_good(&q, start + init, init));
        q.sample = None;
        assert!(classified_for_good(&q, NOW, init));
    }

    const EXTERNAL: &str = "  - type: External\n    external:\n      metric: { name: requests_per_second }\n      target: { type: Value, value: 600m }\n";

    /// Field case "unready pods: metric above target, no scale-up" (kubernetes#84095): an
    /// External Value metric multiplies by the ready pods: 666m/600m = 1.11 × 1 ready pod →
    /// ceil(1.11) = 2 → held at minReplicas 3; with no pod ready (#130130) even a tenfold
    /// metric proposes 0: no scale-up at all.
    #[test]
    fn unready_pods_external_value_metric_never_scales_up() {
        let pods = vec![
            pod(0, true, 0),
            pod(0, false, NOW - MINUTE),
            pod(0, true, 0),
        ];
        let mut pods = pods;
        pods[2].ready = false;
        let ids = [0, 1, 2];
        assert_eq!(hpa(EXTERNAL).sync(NOW, 3, &pods, &ids, Some(666)), 3);
        pods[0].ready = false;
        assert_eq!(hpa(EXTERNAL).sync(NOW, 3, &pods, &ids, Some(6000)), 3);
        // All ready: ceil(3 × 1.11) = 4.
        let ready: Vec<Pod> = (0..3).map(|_| pod(0, true, 0)).collect();
        assert_eq!(hpa(EXTERNAL).sync(NOW, 3, &ready, &ids, Some(666)), 4);
    }

    /// The same field case for a CPU Resource metric: pods that turned unready after the CPU
    /// initialization period keep counting with their usage (900m/1000m = 90 % against 60 %:
    /// ceil(3 × 1.5) = 5), while pods unready inside it count as 0 usage on a scale-up, which
    /// here cancels it (900 / 3 = 30 % < 60 %: stays 3).
    #[test]
    fn unready_pods_cpu_resource_metric_follows_the_initialization_rule() {
        let cpu = "  - type: Resource\n    resource: { name: cpu, target: { type: Utilization, averageUtilization: 60 } }\n";
        let ids = [0, 1, 2];
        let late = vec![
            pod(0, true, 0),
            pod(0, false, NOW - MINUTE),
            pod(0, false, NOW - MINUTE),
        ];
        assert_eq!(hpa(cpu).sync(NOW, 3, &late, &ids, None), 5);
        let young = NOW - MINUTE;
        let early = vec![
            pod(0, true, 0),
            pod(young, false, young),
            pod(young, false, young),
        ];
        assert_eq!(hpa(cpu).sync(NOW, 3, &early, &ids, None), 3);
    }

    /// Field case "rolling update ratchets the HPA up" (kubernetes#72775, fixed by PR
    /// #85027): mid-rollout, 10 old pods at 80 % of a 100 % target and 3 ready surge pods
    /// without metrics yet. The missing pods are filled in at 100 %: (10 × 0.8 + 3) / 13 =
    /// 0.846, and ceil(0.846 × 13) = 11 pods. Upstream keeps the current 10 (the proposal may
    /// not rise while the ratio is below 1); the pre-fix mode takes 11, and each surge on top
    /// of it ratchets further.
    #[test]
    fn rolling_update_surge_ratchets_only_before_the_fix() {
        let cpu = "  - type: Resource\n    resource: { name: cpu, target: { type: Utilization, averageUtilization: 100 } }\n";
        let text = format!("minReplicas: 10\nmaxReplicas: 40\nmetrics:\n{cpu}");
        let config: HpaConfig = crate::model::load::from_yaml_str(&text, "hpa.yaml").unwrap();
        let mut pods: Vec<Pod> = (0..13).map(|_| pod(0, true, 0)).collect();
        for p in &mut pods[..10] {
            p.sample.as_mut().unwrap().cpu_milli = 800;
        }
        for p in &mut pods[10..] {
            p.sample = None;
            p.start_time = Some(NOW - 20_000);
            p.running_at = Some(NOW - 10_000);
            p.ready_transition = Some(NOW - 5_000);
        }
        let ids: Vec<usize> = (0..13).collect();
        let mut cp = crate::model::scenario::ControlPlane::default();
        assert_eq!(
            WorkloadHpa::new(&config, &cp, |_| None).sync(NOW, 10, &pods, &ids, None),
            10
        );
        cp.hpa_pre_surge_fix = true;
        assert_eq!(
            WorkloadHpa::new(&config, &cp, |_| None).sync(NOW, 10, &pods, &ids, None),
            11
        );
    }

    #[test]
    fn metric_sources_name_their_field_when_wrong() {
        let bad = |m: &str| {
            let text = format!("maxReplicas: 5\nmetrics:\n{m}");
            let config: HpaConfig = crate::model::load::from_yaml_str(&text, "h").unwrap();
            to_spec(&config).unwrap_err()
        };
        let (f, m) = bad("  - type: External\n    external:\n      metric: { name: queue_depth }\n      target: { type: Value, value: 1 }\n");
        assert_eq!(f, "metrics[0].external.metric.name");
        assert!(m.contains("requests_per_second"), "{m}");
        let (f, _) = bad("  - type: Pods\n    pods:\n      metric: { name: requests_per_second }\n      target: { type: Value, value: 1 }\n");
        assert_eq!(f, "metrics[0].pods.target.type");
        let (f, _) = bad("  - type: Object\n");
        assert_eq!(f, "metrics[0].object");
        let (f, _) = bad("  - type: Cheese\n");
        assert_eq!(f, "metrics[0].type");
    }

    /// A ContainerResource metric reads the app container as the pod less its sidecars, over
    /// the app's own request: pods sampled at 900m with a 300m sidecar and a 1000m pod request
    /// (app 400m + sidecar 600m). CPU Utilization 100 %: the pod-level ratio is 900/1000 = 0.9
    /// (within the 0.1 tolerance: stays 3), the app's (900 − 300)/400 = 1.5 (ceil(3 × 1.5) =
    /// 5), the sidecar's constant 300/600 = 0.5 (ceil(1.5) = 2, held at minReplicas 3).
    #[test]
    fn container_resource_reads_the_container_not_the_pod() {
        let pods = vec![pod(0, true, 0), pod(0, true, 0), pod(0, true, 0)];
        let ids = [0, 1, 2];
        let metric = |kind: &str| {
            format!("  - type: {kind}\n    {}: {{ name: cpu, {}target: {{ type: Utilization, averageUtilization: 100 }} }}\n",
                if kind == "Resource" { "resource" } else { "containerResource" },
                if kind == "Resource" { "" } else { "container: c, " })
        };
        let app = ContainerView {
            cpu_request_milli: Some(400),
            memory_request_bytes: None,
            usage: ContainerUsage::App {
                sidecars_cpu_milli: 300,
                sidecars_memory_bytes: 0,
            },
        };
        let sidecar = ContainerView {
            cpu_request_milli: Some(600),
            memory_request_bytes: None,
            usage: ContainerUsage::Sidecar {
                cpu_milli: 300,
                memory_bytes: 0,
            },
        };
        let cp = crate::model::scenario::ControlPlane::default();
        let with = |kind: &str, view: Option<ContainerView>| {
            let text = format!(
                "minReplicas: 3\nmaxReplicas: 100\nmetrics:\n{}",
                metric(kind)
            );
            let config: HpaConfig = crate::model::load::from_yaml_str(&text, "hpa.yaml").unwrap();
            WorkloadHpa::new(&config, &cp, |_| view).sync(NOW, 3, &pods, &ids, None)
        };
        assert_eq!(with("Resource", None), 3);
        assert_eq!(with("ContainerResource", Some(app)), 5);
        assert_eq!(with("ContainerResource", Some(sidecar)), 3);
        let point = app.point(ResourceName::Memory, pods[0].sample);
        assert_eq!(point.sample.map(|s| s.value), Some((1i64 << 29) * 1000));
    }
}
