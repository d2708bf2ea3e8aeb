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
    /// Connections per downstream server against its limit.
    pub connections: Vec<ServerConnections>,
    /// The services with an availability floor (`min_replicas` in the scenario), against the
    /// fewest replicas the config may run them on.
    pub availability: Vec<Availability>,
}

/// A service's availability floor against the fewest replicas a config may run it on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    /// Workload.
    pub workload: String,
    /// The scenario's floor.
    pub floor: u32,
    /// The fewest replicas the config may run: its HPA's `minReplicas`, or `replicas` (no more
    /// than its topology spread can place on the nodes its pools may have).
    pub fewest: u32,
}

impl Availability {
    /// The config never runs the workload on fewer replicas than the floor.
    pub fn holds(&self) -> bool {
        self.fewest >= self.floor
    }
}

/// The availability floors of `scenario` against `config` (services with a floor above 1 that
/// the config runs).
pub fn availability(scenario: &Scenario, config: &Config) -> Vec<Availability> {
    scenario
        .services
        .iter()
        .filter(|s| s.min_replicas > 1)
        .filter_map(|s| {
            let w = config.workloads.get(&s.name)?;
            let mut fewest = w.replica_range().0;
            // A spread whose min_domains exceeds the nodes its pools may ever have holds each
            // node to max_skew of its pods (the emptiest domain counts as empty): no more than
            // that many can be scheduled, whatever the replicas.
            if let Some(ts) = &w.topology_spread {
                let nodes: u64 = w
                    .pools()
                    .into_iter()
                    .filter_map(|name| scenario.catalog.pools.iter().find(|p| p.name == name))
                    .map(|p| u64::from(p.max_nodes))
                    .sum();
                if ts.min_domains.is_some_and(|d| u64::from(d) > nodes) {
                    let placeable = nodes.saturating_mul(u64::from(ts.max_skew));
                    fewest = fewest.min(u32::try_from(placeable).unwrap_or(u32::MAX));
                }
            }
            Some(Availability {
                workload: s.name.clone(),
                floor: s.min_replicas,
                fewest,
            })
        })
        .collect()
}

/// A downstream server's connections: what the run saw, and what the pools could open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerConnections {
    /// The run's record (peak, mean, refused).
    #[serde(flatten)]
    pub run: crate::sim::engine::ServerRun,
    /// Connections the pools can open at `maxReplicas` plus a rollout's surge (every process
    /// of [`WorkloadConfig::peak_pods`] filling its pool, plus monitors): what the server must
    /// admit when a latency spike makes every pool grow during a rollout at the peak.
    ///
    /// [`WorkloadConfig::peak_pods`]: crate::model::config::WorkloadConfig::peak_pods
    pub budget_at_max_replicas: u64,
    /// Connections held at idle at `minReplicas` (`minPoolSize` and monitors).
    pub idle_at_min_replicas: u64,
    /// The budget fits the limit (true when the server has none).
    pub within_limit: bool,
}

impl Evaluation {
    /// What makes this replay unacceptable (empty when nothing does): SLA windows, connection
    /// budgets over a server's limit, and services below their availability floor. The verdict itself is
    /// `search::risk::verdict`'s.
    pub fn infeasible_because(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.sla.breached {
            out.push(format!(
                "SLA: {} of {} windows failed",
                self.sla.breached_windows, self.sla.windows
            ));
        }
        out.extend(self.static_reasons());
        out
    }

    /// What makes the config as a whole unacceptable, whatever a replay says: connection
    /// budgets over a server's limit and services below their availability floor.
    pub fn static_reasons(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in self.connections.iter().filter(|c| !c.within_limit) {
            out.push(format!(
                "{}: pools can open {} connections at maxReplicas with a rollout's surge, over its limit of {}",
                c.run.server,
                c.budget_at_max_replicas,
                c.run.limit.unwrap_or(0)
            ));
        }
        for a in self.availability.iter().filter(|a| !a.holds()) {
            out.push(format!(
                "{}: may run on {} replica{}, below the scenario's availability floor of {}",
                a.workload,
                a.fewest,
                if a.fewest == 1 { "" } else { "s" },
                a.floor
            ));
        }
        out
    }

    /// Whether the config as a whole (not one replay) is unacceptable: a connection budget
    /// over a server's limit, or a service below its availability floor.
    pub fn statically_infeasible(&self) -> bool {
        self.connections.iter().any(|c| !c.within_limit)
            || self.availability.iter().any(|a| !a.holds())
    }
}

/// Connection budgets of `config` per server the run recorded.
fn connections(scenario: &Scenario, config: &Config, run: &RunResult) -> Vec<ServerConnections> {
    run.servers
        .iter()
        .map(|s| {
            let (mut budget, mut idle) = (0u64, 0u64);
            for svc in &scenario.services {
                let Some(w) = config.workloads.get(&svc.name) else {
                    continue;
                };
                let Some(pool) = w.client_pools.get(&s.server).and_then(|p| p.resolve().ok())
                else {
                    continue;
                };
                let (min, _) = w.replica_range();
                let procs = svc.profile.workers;
                let concurrency = svc.profile.concurrency_per_worker;
                budget += crate::model::pools::connection_budget(
                    &pool,
                    w.peak_pods(),
                    procs,
                    concurrency,
                );
                idle += crate::model::pools::idle_connections(&pool, min, procs);
            }
            ServerConnections {
                run: s.clone(),
                budget_at_max_replicas: budget,
                idle_at_min_replicas: idle,
                within_limit: s.limit.is_none_or(|l| budget <= u64::from(l)),
            }
        })
        .collect()
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

fn warnings(
    w: &crate::sim::engine::WorkloadRun,
    config: &Config,
    scenario: &Scenario,
    horizon_s: f64,
) -> Vec<String> {
    let mut out = Vec::new();
    // The floor promises a pod left after one failure; pods sharing a node do not keep it.
    let service = scenario.services.iter().find(|s| s.name == w.name);
    let floor = service.map_or(1, |s| s.min_replicas);
    // A driver always pools: calls to a limited server without a configured pool are
    // simulated as never waiting, with no connection budget checked.
    if let (Some(svc), Some(wc)) = (service, config.workloads.get(&w.name)) {
        let unpooled = svc
            .profile
            .servers()
            .into_iter()
            .filter(|s| scenario.servers.contains_key(*s) && !wc.client_pools.contains_key(*s));
        for server in unpooled {
            let clients = scenario.servers[server]
                .protocol
                .map_or("pymongo, motor or redis-py", |p| p.clients());
            out.push(format!(
                "it calls `{server}`, which has a connection limit, with no client pool configured: its calls never wait and no connection budget is checked; set client_pools.{server}.client ({clients}) to model the driver's defaults"
            ));
        }
    }
    // A sidecar requesting far more than it uses dilutes a Resource Utilization target (the
    // HPA divides the pod's usage by the sum of its containers' requests), while each
    // container is OOM-killed at its own limit (field case: nginx at the app's 1600Mi).
    if let (Some(svc), Some(wc)) = (service, config.workloads.get(&w.name)) {
        let utilization_targets: Vec<&str> = wc.hpa.as_ref().map_or(Vec::new(), |h| {
            let mut v: Vec<&str> = h
                .metrics
                .iter()
                .filter_map(|m| m.resource.as_ref())
                .filter(|r| r.target.kind == "Utilization")
                .map(|r| r.name.as_str())
                .collect();
            if h.metrics.is_empty() {
                v.push("cpu");
            }
            v
        });
        for sc in &wc.sidecars {
            let Some(usage) = svc.profile.sidecar(&sc.name) else {
                continue;
            };
            let req = sc.resources.effective_requests();
            let checks = [
                ("memory", req.memory.map(|m| m.0), usage.memory.0, "Mi"),
                ("cpu", req.cpu.map(|c| c.0), usage.cpu.0, "m"),
            ];
            for (resource, request, used, unit) in checks {
                let Some(request) = request.filter(|&r| r > 0) else {
                    continue;
                };
                if !utilization_targets.contains(&resource) || used * 10 > request {
                    continue;
                }
                let (shown_req, shown_use, suggest) = if resource == "memory" {
                    let mi = |b: i64| (b as f64 / 1_048_576.0).ceil() as i64;
                    (
                        mi(request),
                        mi(used),
                        ((mi(used) * 2).max(16) as u64).next_power_of_two() as i64,
                    )
                } else {
                    (request, used, (used * 2).max(10))
                };
                out.push(format!(
                    "sidecar `{}` requests {shown_req}{unit} of {resource} but uses {shown_use}{unit}: the HPA's {resource} utilization is the pod's usage over all containers' requests, so it is diluted and may never reach the target while the app container hits its own limit; right-size the sidecar (e.g. {suggest}{unit}) or target the app with a ContainerResource metric",
                    sc.name
                ));
            }
        }
    }
    let spread = config
        .workloads
        .get(&w.name)
        .and_then(|c| c.topology_spread.as_ref());
    if floor > 1 && w.single_node_seconds > 0.0 && horizon_s > 0.0 {
        let share = w.single_node_seconds / horizon_s * 100.0;
        let share = if share < 0.5 {
            "under 1".to_string()
        } else {
            format!("{:.0}", share.min(100.0))
        };
        let advice = if spread.is_some() {
            "its topology_spread keeps pods apart only while two or more of them are ready and the pools have the nodes for them (see pending pods and max_nodes)".to_string()
        } else {
            "spread them over nodes (`topology_spread: { max_skew: 1, min_domains: 2 }` in the config, a topologySpreadConstraint on kubernetes.io/hostname in the manifests) and simulate that config to price the extra node".to_string()
        };
        out.push(format!(
            "all its ready pods ran on one node {share} % of the time: a node failure (not simulated) is then a full outage despite the availability floor of {floor}; {advice}"
        ));
    }
    if floor > 1 && w.below_floor_seconds > 0.0 && horizon_s > 0.0 {
        out.push(format!(
            "fewer than its availability floor of {floor} pods were ready for {:.0} s ({:.2} % of the time; fewest {}): the floor holds for the config's replicas, not for what failures (OOM kills, evictions, pods no node could take) left running",
            w.below_floor_seconds,
            (w.below_floor_seconds / horizon_s * 100.0).min(100.0),
            w.ready_min
        ));
    }
    if w.capped_pods > 0 {
        let pools = config.workloads.get(&w.name).map_or(Vec::new(), |c| {
            c.pools()
                .into_iter()
                .filter_map(|name| scenario.catalog.pools.iter().find(|p| p.name == name))
                .map(|p| format!("{} max_nodes {}", p.name, p.max_nodes))
                .collect()
        });
        let why = match spread {
            Some(ts) => format!(
                " and its topology_spread (max_skew {}{}) lets no node there take another of its pods",
                ts.max_skew,
                ts.min_domains.map_or(String::new(), |d| format!(", min_domains {d}"))
            ),
            None => " and their nodes are full".to_string(),
        };
        out.push(format!(
            "{} pod(s) stayed Pending although they fit a node: the autoscaler could add none ({}){why}; raise max_nodes or lower the replicas",
            w.capped_pods,
            pools.join(", ")
        ));
    }
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
    if let (Some(l), true) = (limit, w.worker_oom_kills > 0) {
        let svc = service.map(|s| &s.profile);
        let per_worker = svc.map_or(String::new(), |p| {
            format!(
                "; {} workers of {} at rest plus {} per request served",
                p.workers,
                p.memory.base_per_worker.with_unit(),
                p.memory.growth_per_request.with_unit()
            )
        });
        out.push(format!(
            "{} worker processes OOM-killed alone at the memory limit {l} (oom_kill: process, as under cgroup v1): Kubernetes sees no restart and no OOMKilled status, only the failed requests{per_worker}; size the limit for workers × the peak worker working set plus the master, or bound each worker's growth with max_requests",
            w.worker_oom_kills
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
    if w.pool_errors > 0.5 {
        out.push(format!(
            "{:.0} requests failed at a connection-pool checkout (timeouts, a full raising pool, or connections the server refused); pool wait p99 peaked at {}",
            w.pool_errors,
            if w.pool_wait_p99_s.is_finite() {
                format!("{:.1} ms", w.pool_wait_p99_s * 1000.0)
            } else {
                "∞ (a blocking pool saturated)".into()
            }
        ));
    }
    if w.downstream_errors > 0.5 {
        out.push(format!(
            "{:.0} requests failed because a server they call failed their calls (it had no ready pod, or rejected or timed them out): give the server more replicas or capacity",
            w.downstream_errors
        ));
    }
    if w.pool_slots_lost > 0 {
        out.push(format!(
            "{} pool slots per process lost at failovers (redis-py 8.0.0–8.0.1 Sentinel pool leak, redis/redis-py#4187): upgrade redis-py",
            w.pool_slots_lost
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
            warnings: warnings(w, config, scenario, horizon_s),
            run: w.clone(),
        })
        .collect();
    Evaluation {
        cost,
        efficiency,
        band_distance,
        sla: sla::sla_outcome(scenario, run),
        activity,
        connections: connections(scenario, config, run),
        availability: availability(scenario, config),
    }
}
