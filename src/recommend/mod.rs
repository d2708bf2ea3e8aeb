//! Percentile right-sizing from recorded usage, as krr and the VPA do it, and over/under-
//! provisioning flags. No IO: samples in, recommendations out.
//!
//! [`recommend`] groups samples by workload container — the workload from the pod name
//! ([`workload_of`]), the container name (empty = the pod as a whole) — and gives each group
//! krr `simple` ([`krr`]) and VPA ([`vpa`]) recommendations, usage statistics, and per pod the
//! mean usage as a fraction of the current request: below 30 % the pod is over-provisioned,
//! above 90 % under-provisioned.

pub mod krr;
pub mod vpa;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::ingest::metrics::{workload_of, UsageSample};
use crate::model::config::{Resources, WorkloadConfig};

/// Below this mean usage / request a pod is over-provisioned (DESIGN.md §9).
pub const OVER_PROVISIONED_BELOW: f64 = 0.30;
/// Above this mean usage / request a pod is under-provisioned (DESIGN.md §9).
pub const UNDER_PROVISIONED_ABOVE: f64 = 0.90;

/// Which recommenders to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommender {
    /// krr `simple` only.
    Krr,
    /// The VPA recommender only.
    Vpa,
    /// Both.
    Both,
}

/// What recommendations are for: one container name of one workload.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ContainerKey {
    /// Namespace (empty when the source has none).
    pub namespace: String,
    /// Workload, from the pod names.
    pub workload: String,
    /// Container name; empty for pod-level metrics.
    pub container: String,
}

/// How a pod's usage compares with its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provisioning {
    /// Mean usage below 30 % of the request.
    Over,
    /// Mean usage above 90 % of the request.
    Under,
    /// In between.
    Ok,
    /// No request (or no usage) to compare.
    Unknown,
}

/// The provisioning class of a utilization (usage / request).
pub fn provisioning(utilization: Option<f64>) -> Provisioning {
    match utilization {
        Some(u) if u < OVER_PROVISIONED_BELOW => Provisioning::Over,
        Some(u) if u > UNDER_PROVISIONED_ABOVE => Provisioning::Under,
        Some(_) => Provisioning::Ok,
        None => Provisioning::Unknown,
    }
}

/// One pod's utilization of its current requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodUtilization {
    /// Pod name.
    pub pod: String,
    /// Mean CPU usage / CPU request.
    pub cpu: Option<f64>,
    /// Mean working set / memory request.
    pub memory: Option<f64>,
    /// CPU provisioning.
    pub cpu_flag: Provisioning,
    /// Memory provisioning.
    pub memory_flag: Provisioning,
}

/// Usage of a workload container over all its pods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UsageSummary {
    /// CPU samples.
    pub cpu_samples: usize,
    /// Memory samples.
    pub memory_samples: usize,
    /// First to last sample, ms.
    pub span_ms: i64,
    /// Mean CPU, millicores.
    pub cpu_mean_milli: Option<f64>,
    /// Highest CPU sample, millicores.
    pub cpu_max_milli: Option<f64>,
    /// Mean working set, bytes.
    pub memory_mean_bytes: Option<f64>,
    /// Highest working set, bytes.
    pub memory_max_bytes: Option<i64>,
}

/// Everything [`recommend`] says about one workload container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerReport {
    /// Which container.
    pub key: ContainerKey,
    /// Its pods, sorted.
    pub pods: Vec<String>,
    /// Containers per pod of the workload (the VPA splits the pod minimum over them).
    pub containers_per_pod: usize,
    /// Usage statistics.
    pub usage: UsageSummary,
    /// Current requests and limits, if known.
    pub current: Option<Resources>,
    /// krr `simple`, if asked for.
    pub krr: Option<krr::KrrRecommendation>,
    /// The VPA recommender, if asked for.
    pub vpa: Option<vpa::VpaRecommendation>,
    /// Per pod utilization of the current requests.
    pub utilization: Vec<PodUtilization>,
}

/// The current resources of `container` of a workload configured as `cfg`: a sidecar of that
/// name, else the app container; for pod-level metrics (empty name) the sum over containers
/// (requests defaulted to limits; a limit only when every container sets one).
pub fn current_resources(cfg: &WorkloadConfig, container: &str) -> Resources {
    if !container.is_empty() {
        return cfg
            .sidecars
            .iter()
            .find(|s| s.name == container)
            .map(|s| s.resources)
            .unwrap_or(cfg.resources);
    }
    let req = sum_over_containers(cfg, |r| {
        let e = r.effective_requests();
        (e.cpu.map(|c| c.0), e.memory.map(|m| m.0))
    });
    let lim = sum_over_containers(cfg, |r| {
        (r.limits.cpu.map(|c| c.0), r.limits.memory.map(|m| m.0))
    });
    use crate::model::config::ResourceList;
    use crate::quantity::{Bytes, MilliCpu};
    Resources {
        requests: ResourceList {
            cpu: req.0.map(MilliCpu),
            memory: req.1.map(Bytes),
        },
        limits: ResourceList {
            cpu: lim.0.map(MilliCpu),
            memory: lim.1.map(Bytes),
        },
    }
}

/// A CPU (millicores) and memory (bytes) pair, each possibly unset.
type Pair = (Option<i64>, Option<i64>);

/// Sums `f` over the pod's containers; a resource is `None` unless every container sets it.
fn sum_over_containers(cfg: &WorkloadConfig, f: impl Fn(&Resources) -> Pair) -> Pair {
    let each: Vec<Pair> = cfg.containers().map(f).collect();
    (
        each.iter().map(|e| e.0).sum::<Option<i64>>(),
        each.iter().map(|e| e.1).sum::<Option<i64>>(),
    )
}

/// Recommendations per workload container, sorted by key. `current` gives a container's
/// present resources (or `None`).
pub fn recommend(
    samples: &[UsageSample],
    current: &dyn Fn(&ContainerKey) -> Option<Resources>,
    which: Recommender,
    vpa_config: &vpa::VpaConfig,
    krr_config: &krr::KrrConfig,
) -> Vec<ContainerReport> {
    let mut groups: BTreeMap<ContainerKey, Vec<&UsageSample>> = BTreeMap::new();
    let mut containers: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for s in samples {
        let key = ContainerKey {
            namespace: s.namespace.clone(),
            workload: workload_of(&s.pod).to_string(),
            container: s.container.clone(),
        };
        containers
            .entry((key.namespace.clone(), key.workload.clone()))
            .or_default()
            .insert(s.container.clone());
        groups.entry(key).or_default().push(s);
    }
    groups
        .into_iter()
        .map(|(key, mut group)| {
            group.sort_by(|a, b| (a.t_ms, &a.pod).cmp(&(b.t_ms, &b.pod)));
            let per_pod = containers
                .get(&(key.namespace.clone(), key.workload.clone()))
                .map_or(1, BTreeSet::len);
            let current = current(&key);
            report(key, &group, per_pod, current, which, vpa_config, krr_config)
        })
        .collect()
}

fn report(
    key: ContainerKey,
    group: &[&UsageSample],
    containers_per_pod: usize,
    current: Option<Resources>,
    which: Recommender,
    vpa_config: &vpa::VpaConfig,
    krr_config: &krr::KrrConfig,
) -> ContainerReport {
    let mut pods: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for s in group {
        let e = pods.entry(s.pod.as_str()).or_default();
        if let Some(c) = s.cpu_cores() {
            e.0.push(c);
        }
        if let Some(m) = s.working_set_bytes {
            e.1.push(m as f64);
        }
    }
    let span_ms = match (group.first(), group.last()) {
        (Some(a), Some(b)) => b.t_ms - a.t_ms,
        _ => 0,
    };
    let cpu_all: Vec<f64> = pods.values().flat_map(|p| p.0.iter().copied()).collect();
    let mem_all: Vec<f64> = pods.values().flat_map(|p| p.1.iter().copied()).collect();
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let usage = UsageSummary {
        cpu_samples: cpu_all.len(),
        memory_samples: mem_all.len(),
        span_ms,
        cpu_mean_milli: mean(&cpu_all).map(|c| c * 1000.0),
        cpu_max_milli: cpu_all.iter().copied().reduce(f64::max).map(|c| c * 1000.0),
        memory_mean_bytes: mean(&mem_all),
        memory_max_bytes: group.iter().filter_map(|s| s.working_set_bytes).max(),
    };
    let krr = matches!(which, Recommender::Krr | Recommender::Both).then(|| {
        let cpu: Vec<Vec<f64>> = pods.values().map(|p| p.0.clone()).collect();
        let mem: Vec<Vec<f64>> = pods.values().map(|p| p.1.clone()).collect();
        krr::simple(&cpu, &mem, span_ms, krr_config)
    });
    let vpa = matches!(which, Recommender::Vpa | Recommender::Both)
        .then(|| vpa_recommendation(group, containers_per_pod, vpa_config));
    let utilization = pods
        .iter()
        .map(|(pod, (cpu, mem))| {
            let req = current.map(|r| r.effective_requests());
            let cpu_u = match (mean(cpu), req.and_then(|r| r.cpu)) {
                (Some(u), Some(r)) if r.0 > 0 => Some(u * 1000.0 / r.0 as f64),
                _ => None,
            };
            let mem_u = match (mean(mem), req.and_then(|r| r.memory)) {
                (Some(u), Some(r)) if r.0 > 0 => Some(u / r.0 as f64),
                _ => None,
            };
            PodUtilization {
                pod: pod.to_string(),
                cpu: cpu_u,
                memory: mem_u,
                cpu_flag: provisioning(cpu_u),
                memory_flag: provisioning(mem_u),
            }
        })
        .collect();
    ContainerReport {
        key,
        pods: pods.keys().map(|p| p.to_string()).collect(),
        containers_per_pod,
        usage,
        current,
        krr,
        vpa,
        utilization,
    }
}

/// Feeds a workload container's samples (sorted by time) through one VPA container state per
/// pod into one aggregation, as the recommender's feeder does, and estimates. CPU enters as
/// whole millicores rounded up (the metrics API's `MilliValue`).
fn vpa_recommendation(
    group: &[&UsageSample],
    containers_per_pod: usize,
    config: &vpa::VpaConfig,
) -> vpa::VpaRecommendation {
    let mut agg = vpa::AggregateContainerState::new(config);
    let mut states: BTreeMap<&str, vpa::ContainerState> = BTreeMap::new();
    for s in group {
        let st = states.entry(s.pod.as_str()).or_default();
        if let Some(milli) = s.cpu_milli_ceil() {
            st.add_cpu_sample(milli, s.t_ms, &mut agg);
        }
        if let Some(m) = s.working_set_bytes {
            st.add_memory_sample(m, s.t_ms, &mut agg);
        }
    }
    vpa::estimate(&agg, containers_per_pod, config)
}

/// Which recommendation to apply to a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    /// krr `simple`: CPU request, no CPU limit, memory request = limit.
    Krr,
    /// The VPA target as requests, limits scaled to keep the current limit/request ratio (the
    /// VPA's default `controlledValues: RequestsAndLimits`; rounded down).
    Vpa,
}

/// `base` with `report`'s recommendation applied to its workload's container, named `name`;
/// `None` when the workload is not in `base`, the recommendation is incomplete, or the
/// metrics are pod-level and the pod has sidecars (a pod total cannot be split).
pub fn apply_recommendation(
    base: &crate::model::config::Config,
    report: &ContainerReport,
    which: Applied,
    name: &str,
) -> Option<crate::model::config::Config> {
    use crate::model::config::ResourceList;
    use crate::quantity::{Bytes, MilliCpu};
    let mut config = base.clone();
    config.name = name.to_string();
    let w = config.workloads.get_mut(&report.key.workload)?;
    let target: &mut Resources = if report.key.container.is_empty() {
        if !w.sidecars.is_empty() {
            return None;
        }
        &mut w.resources
    } else {
        match w
            .sidecars
            .iter_mut()
            .find(|s| s.name == report.key.container)
        {
            Some(s) => &mut s.resources,
            None => &mut w.resources,
        }
    };
    *target = match which {
        Applied::Krr => {
            let k = report.krr?;
            let (cpu, mem) = (k.cpu_request_milli?, k.memory_bytes?);
            Resources {
                requests: ResourceList {
                    cpu: Some(MilliCpu(cpu)),
                    memory: Some(Bytes(mem)),
                },
                limits: ResourceList {
                    cpu: None,
                    memory: Some(Bytes(mem)),
                },
            }
        }
        Applied::Vpa => {
            let v = report.vpa?.target;
            let old = *target;
            let req = old.effective_requests();
            let scale = |limit: Option<i64>, request: Option<i64>, new: i64| match (limit, request)
            {
                (Some(l), Some(r)) if r > 0 => Some(
                    (i128::from(l) * i128::from(new) / i128::from(r)).min(i64::MAX as i128) as i64,
                ),
                _ => None,
            };
            Resources {
                requests: ResourceList {
                    cpu: Some(MilliCpu(v.cpu_milli)),
                    memory: Some(Bytes(v.memory_bytes)),
                },
                limits: ResourceList {
                    cpu: scale(
                        old.limits.cpu.map(|c| c.0),
                        req.cpu.map(|c| c.0),
                        v.cpu_milli,
                    )
                    .map(MilliCpu),
                    memory: scale(
                        old.limits.memory.map(|m| m.0),
                        req.memory.map(|m| m.0),
                        v.memory_bytes,
                    )
                    .map(Bytes),
                },
            }
        }
    };
    Some(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pod: &str, t_ms: i64, cpu_milli: i64, mib: i64) -> UsageSample {
        UsageSample::usage(
            String::new(),
            pod.into(),
            String::new(),
            t_ms,
            Some(cpu_milli * 1_000_000),
            Some(mib << 20),
        )
    }

    fn base() -> crate::model::config::Config {
        crate::model::load::from_yaml_str(
            "name: baseline\nworkloads:\n  web:\n    node_pool: light\n    replicas: 2\n    resources:\n      requests: { cpu: 100m, memory: 128Mi }\n      limits: { cpu: 200m, memory: 256Mi }\n",
            "b.yaml",
        )
        .unwrap()
    }

    #[test]
    fn flags_and_applied_recommendations() {
        // Two pods of `web` for 4 h: 20m and 95m mean against a 100m request.
        let mut s = Vec::new();
        for i in 0..240 {
            s.push(sample("web-5f9f6bb846-tx6mj", i * 60_000, 20, 40));
            s.push(sample("web-5f9f6bb846-b2cdf", i * 60_000, 95, 100));
        }
        let cfg = base();
        let current = |k: &ContainerKey| {
            cfg.workloads
                .get(&k.workload)
                .map(|w| current_resources(w, &k.container))
        };
        let r = recommend(
            &s,
            &current,
            Recommender::Both,
            &vpa::VpaConfig::default(),
            &krr::KrrConfig::default(),
        );
        assert_eq!(r.len(), 1);
        let u = &r[0].utilization;
        assert_eq!(u[0].pod, "web-5f9f6bb846-b2cdf");
        assert_eq!(
            (u[0].cpu_flag, u[0].memory_flag),
            (Provisioning::Under, Provisioning::Ok)
        );
        assert_eq!(u[1].cpu_flag, Provisioning::Over);
        assert!((u[1].cpu.unwrap() - 0.2).abs() < 1e-12);
        // krr: max per-pod p95 = 95m; memory 100Mi × 1.15 = 115Mi.
        let k = apply_recommendation(&cfg, &r[0], Applied::Krr, "krr").unwrap();
        let res = k.workloads["web"].resources;
        assert_eq!(res.requests.cpu, Some(crate::quantity::MilliCpu(95)));
        assert_eq!(res.limits.cpu, None);
        assert_eq!(res.requests.memory, Some(crate::quantity::Bytes(115 << 20)));
        assert_eq!(res.limits.memory, res.requests.memory);
        // VPA: limits keep the 2:1 ratio.
        let v = apply_recommendation(&cfg, &r[0], Applied::Vpa, "vpa").unwrap();
        let res = v.workloads["web"].resources;
        let t = r[0].vpa.unwrap().target;
        assert_eq!(res.requests.cpu.unwrap().0, t.cpu_milli);
        assert_eq!(res.limits.cpu.unwrap().0, 2 * t.cpu_milli);
        assert_eq!(res.limits.memory.unwrap().0, 2 * t.memory_bytes);
        assert_eq!(v.name, "vpa");
    }
}

/// What a Resource Utilization HPA target means against the recorded usage (field case
/// "hair-trigger HPA"): utilization is usage over the pod's request, so the target sits at
/// `request × target %` per pod, and a burst of `k` times that asks for `ceil(k × N)`
/// replicas.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HpaThreshold {
    /// Workload (the baseline's, matched by name).
    pub workload: String,
    /// `cpu` or `memory`.
    pub resource: String,
    /// The HPA's `averageUtilization`, percent.
    pub target_percent: i32,
    /// The pod's request of the resource (all its containers, as the HPA sums them):
    /// millicores or bytes.
    pub pod_request: i64,
    /// `pod_request × target / 100`: the per-pod usage at which the HPA holds still.
    pub threshold: f64,
    /// Per-pod usage (summed over containers) at the 95th percentile of the samples
    /// (linear interpolation) and at its maximum, in the unit of `pod_request`.
    pub p95: f64,
    /// The highest per-pod usage recorded.
    pub max: f64,
    /// `p95 / threshold`: the HPA's usage ratio in a p95 burst (tolerance 0.1).
    pub p95_ratio: f64,
    /// The pod request that puts the p95 at the target: `p95 / (target / 100)`.
    pub request_for_p95_at_target: f64,
}

/// For each workload of `config` with an HPA whose metrics include a Resource Utilization
/// target (none listed: CPU 80 %, the API default) and with samples in `samples`: the target's
/// threshold against the recorded per-pod usage.
pub fn hpa_thresholds(
    samples: &[UsageSample],
    config: &crate::model::config::Config,
) -> Vec<HpaThreshold> {
    let mut out = Vec::new();
    for (name, w) in &config.workloads {
        let Some(h) = &w.hpa else { continue };
        let mine: Vec<UsageSample> = samples
            .iter()
            .filter(|s| workload_of(&s.pod) == name)
            .cloned()
            .collect();
        if mine.is_empty() {
            continue;
        }
        let pods = crate::ingest::metrics::pod_totals(&mine);
        let mut targets: Vec<(String, i32)> = h
            .metrics
            .iter()
            .filter(|m| m.kind == "Resource")
            .filter_map(|m| {
                let r = m.resource.as_ref()?;
                let u = r.target.average_utilization?;
                (r.target.kind == "Utilization").then(|| (r.name.clone(), u))
            })
            .collect();
        if h.metrics.is_empty() {
            targets.push(("cpu".into(), 80));
        }
        let req = w.pod_requests();
        for (resource, target) in targets {
            let (request, values): (Option<i64>, Vec<f64>) = match resource.as_str() {
                "cpu" => (
                    req.cpu_milli,
                    pods.iter()
                        .filter_map(|s| s.cpu_nanocores)
                        .map(|n| n as f64 / 1e6)
                        .collect(),
                ),
                "memory" => (
                    req.memory_bytes,
                    pods.iter()
                        .filter_map(|s| s.working_set_bytes)
                        .map(|b| b as f64)
                        .collect(),
                ),
                _ => continue,
            };
            let (Some(request), Some(p95)) = (request, krr::quantile(&values, 0.95)) else {
                continue;
            };
            if request <= 0 || target <= 0 {
                continue;
            }
            let threshold = request as f64 * f64::from(target) / 100.0;
            out.push(HpaThreshold {
                workload: name.clone(),
                resource,
                target_percent: target,
                pod_request: request,
                threshold,
                p95,
                max: values.iter().copied().fold(f64::MIN, f64::max),
                p95_ratio: p95 / threshold,
                request_for_p95_at_target: p95 * 100.0 / f64::from(target),
            });
        }
    }
    out
}
