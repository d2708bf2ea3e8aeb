//! Expanding a candidate space into configurations: every grid point applied to the baseline.

use crate::model::config::{
    Config, HpaConfig, MetricConfig, MetricTargetConfig, ResourceMetricConfig,
};
use crate::model::space::{LimitChoice, LimitRule, Space};
use crate::quantity::{Bytes, MilliCpu};

/// Number of grid points of `space`.
pub fn grid_size(space: &Space) -> usize {
    let g = &space.grid;
    [
        g.cpu_request.len(),
        g.memory_request.len(),
        g.cpu_limit.len(),
        g.memory_limit.len(),
        g.min_replicas.len(),
        g.max_replicas.len(),
        g.target_cpu_utilization.len(),
        g.node_pool.len(),
    ]
    .iter()
    .product()
}

fn limit_cpu(choice: &LimitChoice<MilliCpu>, request: MilliCpu) -> Option<MilliCpu> {
    match choice {
        LimitChoice::Rule(LimitRule::None) => None,
        LimitChoice::Rule(LimitRule::Ratio(r)) => {
            Some(MilliCpu((request.0 as f64 * r).round() as i64))
        }
        LimitChoice::Absolute(q) => Some(*q),
    }
}

fn limit_memory(choice: &LimitChoice<Bytes>, request: Bytes) -> Option<Bytes> {
    match choice {
        LimitChoice::Rule(LimitRule::None) => None,
        LimitChoice::Rule(LimitRule::Ratio(r)) => {
            // Round to whole MiB, as people write limits.
            let mib = (request.0 as f64 * r / 1_048_576.0).round() as i64;
            Some(Bytes(mib * 1_048_576))
        }
        LimitChoice::Absolute(q) => Some(*q),
    }
}

/// The configurations of the grid, in a fixed order (the last field varies fastest). Grid
/// points that are invalid (min > max replicas, limit below request) are skipped.
pub fn expand(space: &Space, baseline: &Config) -> Vec<Config> {
    let g = &space.grid;
    let Some(base) = baseline.workloads.get(&space.workload) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for cpu in &g.cpu_request {
        for mem in &g.memory_request {
            for cl in &g.cpu_limit {
                for ml in &g.memory_limit {
                    for &min in &g.min_replicas {
                        for &max in &g.max_replicas {
                            for &target in &g.target_cpu_utilization {
                                for pool in &g.node_pool {
                                    if min > max {
                                        continue;
                                    }
                                    let cpu_limit = limit_cpu(cl, *cpu);
                                    let mem_limit = limit_memory(ml, *mem);
                                    if cpu_limit.is_some_and(|l| l < *cpu)
                                        || mem_limit.is_some_and(|l| l < *mem)
                                    {
                                        continue;
                                    }
                                    let mut w = base.clone();
                                    w.node_pool = pool.clone();
                                    w.resources.requests.cpu = Some(*cpu);
                                    w.resources.requests.memory = Some(*mem);
                                    w.resources.limits.cpu = cpu_limit;
                                    w.resources.limits.memory = mem_limit;
                                    let behavior =
                                        base.hpa.as_ref().and_then(|h| h.behavior.clone());
                                    w.hpa = Some(HpaConfig {
                                        min_replicas: min,
                                        max_replicas: max,
                                        metrics: vec![MetricConfig {
                                            kind: "Resource".into(),
                                            resource: Some(ResourceMetricConfig {
                                                name: "cpu".into(),
                                                target: MetricTargetConfig {
                                                    kind: "Utilization".into(),
                                                    average_utilization: Some(target),
                                                    average_value: None,
                                                    value: None,
                                                },
                                            }),
                                            ..MetricConfig::default()
                                        }],
                                        behavior,
                                    });
                                    w.replicas =
                                        w.replicas.clamp(min.max(1) as u32, max.max(1) as u32);
                                    let mut c = baseline.clone();
                                    c.name = describe(&space.workload, &w);
                                    c.workloads.insert(space.workload.clone(), w);
                                    out.push(c);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// A short, unique name for a workload setting, e.g.
/// `backend cpu=250m/500m mem=512Mi/1Gi hpa=2-10@70% pool=highmem`.
pub fn describe(workload: &str, w: &crate::model::config::WorkloadConfig) -> String {
    let q = |c: Option<MilliCpu>| c.map_or("none".to_string(), |c| format!("{}m", c.0));
    let b = |m: Option<Bytes>| m.map_or("none".to_string(), |m| m.to_string());
    let hpa = w.hpa.as_ref().map_or("none".to_string(), |h| {
        let t = h
            .metrics
            .iter()
            .filter_map(|m| m.resource.as_ref())
            .filter_map(|r| {
                r.target
                    .average_utilization
                    .map(|u| format!("{}{}%", r.name, u))
            })
            .collect::<Vec<_>>()
            .join(",");
        format!("{}-{}@{}", h.min_replicas, h.max_replicas, t)
    });
    let pools: Vec<String> = w
        .client_pools
        .iter()
        .filter_map(|(server, p)| p.resolve().ok().map(|r| format!("{server}:{}", r.max_size)))
        .collect();
    let pools = if pools.is_empty() {
        String::new()
    } else {
        format!(" conns={}", pools.join(","))
    };
    format!(
        "{workload} cpu={}/{} mem={}/{} hpa={hpa} pool={}{pools}",
        q(w.resources.requests.cpu),
        q(w.resources.limits.cpu),
        b(w.resources.requests.memory),
        b(w.resources.limits.memory),
        w.node_pool
    )
}
