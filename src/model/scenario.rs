//! The scenario file: traffic, services, node pools, SLA, baseline and candidate space.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::config::{Config, WorkloadConfig};
use crate::model::node_pool::LimitRangeDefaults;
use crate::model::service::duration_serde;
use crate::time::Millis;

/// A recorded trace the scenario replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum TrafficSource {
    /// A request-count series: `timestamp,count` per bin.
    RateCsv {
        /// CSV path, relative to the scenario file.
        path: String,
        /// Timestamp column (unix seconds or RFC 3339).
        #[serde(default = "default_ts_column")]
        timestamp_column: String,
        /// Count column.
        #[serde(default = "default_count_column")]
        count_column: String,
        /// What to do with gaps: `error` (default) or `fill_zero`.
        #[serde(default)]
        gaps: crate::ingest::traffic::GapPolicy,
    },
    /// A per-request log with arrival timestamps and token counts (the Azure LLM trace).
    RequestLog {
        /// CSV path, relative to the scenario file.
        path: String,
        /// Timestamp column.
        #[serde(default = "default_log_ts_column")]
        timestamp_column: String,
        /// Context (prompt) tokens column.
        #[serde(default)]
        context_tokens_column: Option<String>,
        /// Generated tokens column.
        #[serde(default)]
        generated_tokens_column: Option<String>,
    },
}

fn default_ts_column() -> String {
    "unix_s".into()
}
fn default_count_column() -> String {
    "requests".into()
}
fn default_log_ts_column() -> String {
    "TIMESTAMP".into()
}

/// Where a service's arrivals come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTraffic {
    /// Name of a `rate_csv` traffic source giving the service's total request rate.
    #[serde(default)]
    pub source: Option<String>,
    /// Scale factor `×k` applied to the recorded rate.
    #[serde(default = "one")]
    pub scale: f64,
    /// The recorded counts are averaged over blocks of this length to give the arrival rate;
    /// their dispersion inside a block gives the arrivals' burstiness (default 60 s; `0s`
    /// replays the bins as recorded). Scaling a raw per-second series ×k would scale its
    /// Poisson noise ×k as well (variance ×k² instead of ×k), which is not what k times as
    /// many users look like.
    #[serde(with = "duration_serde", default = "default_smoothing")]
    pub smoothing: Millis,
    /// The service is a downstream server: its operations come from the services that call it.
    #[serde(default)]
    pub downstream_only: bool,
    /// Per request class, a `request_log` source giving its burstiness and token counts.
    #[serde(
        default,
        deserialize_with = "crate::model::load::unique_keys::deserialize"
    )]
    pub class_logs: BTreeMap<String, String>,
}

fn one() -> f64 {
    1.0
}

fn default_smoothing() -> Millis {
    60 * crate::time::SECOND
}

/// A service of the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRef {
    /// Service name; configs and the SLA refer to it.
    pub name: String,
    /// Service profile file, relative to the scenario file.
    pub profile: String,
    /// Its traffic.
    pub traffic: ServiceTraffic,
    /// Availability floor: the fewest replicas a config may run this service on (its
    /// `replicas`, or its HPA's `minReplicas`). `2` keeps a pod serving through the loss of one
    /// pod (N+1), which the SLA windows alone do not demand: the model simulates drains, OOM
    /// kills and rollouts, not failures. Pods that share a node fall together: the run warns
    /// when a floored workload's ready pods all ran on one node. Default 1: no floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<u32>,
}

/// One SLA objective: a latency percentile and an error rate per window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaObjective {
    /// Service.
    pub service: String,
    /// Request class.
    pub class: String,
    /// Maximum p99 latency in each window.
    #[serde(with = "duration_serde")]
    pub p99: Millis,
    /// Maximum error rate (failed / arrived) in each window, e.g. `0.001`.
    pub max_error_rate: f64,
}

/// The SLA: objectives per window and how many windows may fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    /// Window length (default 5 min).
    #[serde(with = "duration_serde", default = "default_window")]
    pub window: Millis,
    /// A run breaches the SLA when more than this fraction of windows fail.
    pub max_breached_window_fraction: f64,
    /// The objectives.
    pub objectives: Vec<SlaObjective>,
}

fn default_window() -> Millis {
    5 * crate::time::MINUTE
}

/// Control-plane timing; defaults are the upstream ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlPlane {
    /// metrics-server resolution (default 15 s, as its shipped manifests set).
    #[serde(with = "duration_serde", default = "default_15s")]
    pub metrics_resolution: Millis,
    /// HPA sync period (default 15 s).
    #[serde(with = "duration_serde", default = "default_15s")]
    pub hpa_sync_period: Millis,
    /// Cluster-autoscaler loop (default 10 s).
    #[serde(with = "duration_serde", default = "default_10s")]
    pub autoscaler_interval: Millis,
    /// Scale-down utilization threshold (requested/allocatable; default 0.5).
    #[serde(default = "default_threshold")]
    pub scale_down_utilization_threshold: f64,
    /// Scale-down unneeded time (default 10 min).
    #[serde(with = "duration_serde", default = "default_10m")]
    pub scale_down_unneeded_time: Millis,
    /// Grace period of a deleted pod before its requests leave the node (default 30 s).
    #[serde(with = "duration_serde", default = "default_30s")]
    pub termination_grace: Millis,
    /// Reproduce the HPA before kubernetes PR #85027/#89465 (1.19): with pods missing
    /// metrics during a rollout, the proposal may exceed the current replicas although the
    /// usage is below target (the surge ratchet of kubernetes#72775). Default off: upstream.
    #[serde(default)]
    pub hpa_pre_surge_fix: bool,
    /// How the cluster autoscaler picks a pool when pending pods could go to several.
    #[serde(default)]
    pub expander: Expander,
    /// What the kernel's OOM killer kills when a container reaches its memory limit.
    #[serde(default, skip_serializing_if = "OomKill::is_default")]
    pub oom_kill: OomKill,
}

/// What an OOM kill at a container's memory limit takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OomKill {
    /// The whole container: cgroup v2 with Kubernetes ≥ 1.28 sets `memory.oom.group`, so every
    /// process of it dies and the kubelet restarts it (restartCount + 1).
    #[default]
    Container,
    /// The largest process only (cgroup v1, or the kubelet's `singleProcessOOMKill`): with
    /// several worker processes (gunicorn), one worker dies with its requests in flight, the
    /// master forks a fresh one at its resting size, and the container keeps running: no
    /// restart, no readiness change (gunicorn#2215).
    Process,
}

impl OomKill {
    fn is_default(&self) -> bool {
        *self == OomKill::Container
    }
}

/// Cluster-autoscaler expander (`--expander`). `random`, upstream's default, is left out: a
/// simulation must be reproducible.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expander {
    /// The option that leaves the least CPU and memory idle on the new nodes (ACK's default).
    #[default]
    LeastWaste,
    /// The option whose new nodes cost least per pending pod they take.
    Price,
}

impl Default for ControlPlane {
    fn default() -> Self {
        ControlPlane {
            metrics_resolution: default_15s(),
            hpa_sync_period: default_15s(),
            autoscaler_interval: default_10s(),
            scale_down_utilization_threshold: default_threshold(),
            scale_down_unneeded_time: default_10m(),
            termination_grace: default_30s(),
            hpa_pre_surge_fix: false,
            expander: Expander::default(),
            oom_kill: OomKill::default(),
        }
    }
}

fn default_15s() -> Millis {
    15 * crate::time::SECOND
}
fn default_10s() -> Millis {
    10 * crate::time::SECOND
}
fn default_30s() -> Millis {
    30 * crate::time::SECOND
}
fn default_10m() -> Millis {
    10 * crate::time::MINUTE
}
fn default_threshold() -> f64 {
    0.5
}

/// A node-pool selection rule: pods whose memory request falls in the range must run on
/// `pool` (as a nodeAffinity a platform team injects by policy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementRule {
    /// Applies to pods requesting at least this much memory.
    #[serde(default)]
    pub min_memory_request: Option<crate::quantity::Bytes>,
    /// Applies to pods requesting less than this much memory.
    #[serde(default)]
    pub max_memory_request: Option<crate::quantity::Bytes>,
    /// The pool they must run on.
    pub pool: String,
}

impl PlacementRule {
    /// Whether a pod requesting `memory_bytes` falls under the rule.
    pub fn matches(&self, memory_bytes: i64) -> bool {
        self.min_memory_request.is_none_or(|m| memory_bytes >= m.0)
            && self.max_memory_request.is_none_or(|m| memory_bytes < m.0)
    }
}

/// The scenario file (`models/scenarios/*.yaml`), as written; paths unresolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Scenario name.
    pub name: String,
    /// What it models.
    #[serde(default)]
    pub description: String,
    /// Named traffic sources.
    #[serde(deserialize_with = "crate::model::load::unique_keys::deserialize")]
    pub traffic: BTreeMap<String, TrafficSource>,
    /// The services.
    pub services: Vec<ServiceRef>,
    /// Node-pool catalog file.
    pub node_pools: String,
    /// Whether the cluster pays the catalog's management fee.
    #[serde(default = "yes")]
    pub management_fee: bool,
    /// Node-pool selection rules; the first that matches a pod decides its pool.
    #[serde(default)]
    pub placement: Vec<PlacementRule>,
    /// The LimitRange (`type: Container`) of the workloads' namespace, if it has one.
    #[serde(default)]
    pub limit_range: Option<LimitRangeDefaults>,
    /// Deployment rollouts (new ReplicaSets) during the run.
    #[serde(default)]
    pub rollouts: Vec<Rollout>,
    /// Connection limits of the downstream servers, by name.
    #[serde(default)]
    pub servers: BTreeMap<String, crate::model::pools::ServerConfig>,
    /// The SLA.
    pub sla: Sla,
    /// Baseline (current) configuration file.
    pub baseline: String,
    /// Candidate space file.
    pub space: String,
    /// Control-plane timing.
    #[serde(default)]
    pub control_plane: ControlPlane,
    /// Simulate only the first part of the trace (e.g. `1d`); default: all of it.
    #[serde(with = "crate::model::service::opt_duration_serde", default)]
    pub horizon: Option<Millis>,
}

fn yes() -> bool {
    true
}

/// Traffic inputs of one request class, measured from its request log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassInput {
    /// Squared coefficient of variation of inter-arrival times (1 = Poisson).
    pub arrival_scv: f64,
    /// External-wait durations in seconds, as equally likely sorted atoms (empty: no wait).
    pub external_s: Vec<f64>,
}

/// A service ready to simulate: its profile and traffic.
#[derive(Debug, Clone)]
pub struct Service {
    /// Name.
    pub name: String,
    /// Profile.
    pub profile: crate::model::service::ServiceProfile,
    /// Recorded request-count series (shared, never copied per candidate).
    pub rate: Option<std::sync::Arc<crate::ingest::traffic::RateSeries>>,
    /// Scale factor on the series.
    pub scale: f64,
    /// Arrivals come only from callers' downstream operations.
    pub downstream_only: bool,
    /// Per class of the profile (same order).
    pub classes: Vec<ClassInput>,
    /// Availability floor: the fewest replicas a config may run it on (1: none).
    pub min_replicas: u32,
}

/// A rollout of a workload's Deployment (a new pod template) at a time of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// Service whose Deployment rolls.
    pub service: String,
    /// When, from the trace start.
    #[serde(with = "duration_serde")]
    pub at: Millis,
}

/// A scenario with every file read and checked: what the engine needs.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The scenario file (or `<embedded default>`).
    pub file: String,
    /// Services, callers before the servers they call.
    pub services: Vec<Service>,
    /// Node-pool catalog.
    pub catalog: crate::model::node_pool::NodePoolCatalog,
    /// SLA.
    pub sla: Sla,
    /// Control-plane timing.
    pub control_plane: ControlPlane,
    /// Whether the management fee is charged.
    pub management_fee: bool,
    /// Node-pool selection rules.
    pub placement: Vec<PlacementRule>,
    /// The workloads' namespace LimitRange: at admission, containers get its defaults for
    /// the requests and limits they leave out, and one outside its bounds is refused
    /// ([`Scenario::admitted`]).
    pub limit_range: Option<LimitRangeDefaults>,
    /// Rollouts: (service index, time).
    pub rollouts: Vec<(usize, Millis)>,
    /// Connection limits of the downstream servers, by name.
    pub servers: BTreeMap<String, crate::model::pools::ServerConfig>,
    /// Baseline configuration.
    pub baseline: crate::model::config::Config,
    /// File of the baseline configuration.
    pub baseline_file: String,
    /// Candidate space.
    pub space: crate::model::space::Space,
    /// File of the space.
    pub space_file: String,
    /// Simulation step: the gcd of the trace bin and the control-plane periods.
    pub step: Millis,
    /// Simulated span.
    pub horizon: Millis,
    /// Unix time (s) of the trace start.
    pub trace_start_unix_s: i64,
    /// Notes for the user (gaps filled, traces trimmed).
    pub notes: Vec<String>,
    /// CFS replays shared by the candidates (a cache: it changes no result).
    pub cfs_cache: crate::k8s::cfs::ReplayCache,
    /// Compiled fluid models shared by the runs, warm with their states (a cache: it changes no
    /// result).
    pub model_cache: crate::sim::fluid::ModelCache,
    /// Drawn arrivals shared by the runs of a replication (a cache: it changes no result).
    pub arrival_cache: crate::sim::arrivals::ArrivalCache,
}

impl Scenario {
    /// Index of the service named `name`.
    pub fn service_index(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| s.name == name)
    }

    /// A fingerprint of everything a run depends on (services with their profiles and traces,
    /// pools, SLA, control plane, placement, rollouts, servers, baseline, space, step, horizon):
    /// two scenarios with the same digest give the same results. Not of the file names, the
    /// notes or the caches.
    pub fn digest(&self) -> String {
        digest_of(self.fingerprint(true).as_bytes())
    }

    /// [`Scenario::digest`] without the baseline (what `--manifests` replaces) and the space
    /// (which only chooses the candidates): the model that gave a search's figures, so the
    /// same for every search of it.
    pub fn model_digest(&self) -> String {
        digest_of(self.fingerprint(false).as_bytes())
    }

    /// The text the digests hash: with the baseline and the space, or without both.
    fn fingerprint(&self, whole: bool) -> String {
        // A trace's `source` is its path as given (relative to the working directory, or
        // absolute): the same files reached by another path are the same scenario.
        let services: Vec<Service> = self
            .services
            .iter()
            .map(|s| {
                let mut s = s.clone();
                if let Some(r) = &s.rate {
                    let mut r = (**r).clone();
                    r.source.clear();
                    s.rate = Some(std::sync::Arc::new(r));
                }
                s
            })
            .collect();
        let text = format!(
            "{:?}|{:?}|{:?}|{:?}|{}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{}|{}",
            services,
            self.catalog,
            self.sla,
            self.control_plane,
            self.management_fee,
            self.placement,
            self.rollouts,
            self.servers,
            whole.then_some(&self.baseline),
            whole.then_some(&self.space),
            self.step,
            self.horizon,
            self.trace_start_unix_s,
        );
        // Only a scenario with a LimitRange fingerprints it: the others keep their digests.
        match &self.limit_range {
            Some(l) => format!("{text}|{l:?}"),
            None => text,
        }
    }

    /// Each service's availability floor (`min_replicas`), by name: what the emitted
    /// PodDisruptionBudgets keep.
    pub fn availability_floors(&self) -> std::collections::BTreeMap<String, u32> {
        self.services
            .iter()
            .map(|s| (s.name.clone(), s.min_replicas))
            .collect()
    }

    /// `config` as the API server admits its pods into the workloads' namespace (see
    /// [`LimitRangeDefaults::admit`]; borrowed unchanged without a LimitRange).
    pub fn admitted<'c>(&self, config: &'c Config) -> std::borrow::Cow<'c, Config> {
        admitted(self.limit_range.as_ref(), config)
    }

    /// Workload `w` as the API server admits its pods into the workloads' namespace
    /// ([`LimitRangeDefaults::admit`]; borrowed unchanged without a LimitRange).
    pub fn admitted_workload<'w>(
        &self,
        w: &'w WorkloadConfig,
    ) -> std::borrow::Cow<'w, WorkloadConfig> {
        match &self.limit_range {
            Some(l) => std::borrow::Cow::Owned(l.admit(w)),
            None => std::borrow::Cow::Borrowed(w),
        }
    }

    /// Why the API server refuses the pods of workload `w` (as written) in the workloads'
    /// namespace: the field, relative to the workload, and the reason (see
    /// [`LimitRangeDefaults::refuses_workload`]).
    pub fn refuses(&self, w: &WorkloadConfig) -> Option<(String, String)> {
        self.limit_range.as_ref()?.refuses_workload(w)
    }
}

/// `config` with every workload as [`LimitRangeDefaults::admit`] admits it under
/// `limit_range` (borrowed unchanged without one).
pub fn admitted<'c>(
    limit_range: Option<&LimitRangeDefaults>,
    config: &'c Config,
) -> std::borrow::Cow<'c, Config> {
    let Some(l) = limit_range else {
        return std::borrow::Cow::Borrowed(config);
    };
    let mut admitted = config.clone();
    for w in admitted.workloads.values_mut() {
        *w = l.admit(w);
    }
    std::borrow::Cow::Owned(admitted)
}

/// 64-bit FNV-1a of `bytes` as 16 hex digits: a stable fingerprint (the same on every run and
/// machine), not a cryptographic hash.
pub fn digest_of(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
