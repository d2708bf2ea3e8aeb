//! The discrete-event engine: an integer-millisecond clock, a one-off event queue (pod start,
//! readiness, termination, node ready), periodic control loops (metrics scrape, HPA sync,
//! cluster autoscaler, SLA windows) and the fluid load step. No IO.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand_chacha::ChaCha8Rng;

use crate::k8s::cluster_autoscaler::{plan_scale_up, pods_fit_elsewhere, SpreadGroup, SpreadPods};
use crate::k8s::pod::{deletion_rank, Pod, PodRequests, PodStatus};
use crate::k8s::scheduler::{pick_node, HostnameSpread, Node, Spread};
use crate::model::config::Config;
use crate::model::scenario::{Expander, Scenario};
use crate::sim::arrivals::{day_map, ArrivalSource, Variation};
use crate::sim::fluid::{ModelKey, ServiceModel};
use crate::sim::hpa_bridge::{ContainerUsage, ContainerView, WorkloadHpa};
use crate::sim::latency::{self, Histogram};
use crate::sim::requests::{RequestModel, RequestOptions};
use crate::sim::rng::{self, Purpose};
use crate::time::{Millis, MINUTE, SECOND};

/// CA waits this long after a scale-up before any scale-down (`--scale-down-delay-after-add`,
/// default 10 min, cluster-autoscaler FAQ).
const SCALE_DOWN_DELAY_AFTER_ADD: Millis = 10 * MINUTE;
/// Timeline resolution.
const TIMELINE_EVERY: Millis = MINUTE;

/// How the pods' load is computed; the control plane is the same for both.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LoadModel {
    /// Per step and pod, queueing formulas ([`crate::sim::fluid`]); the default.
    #[default]
    Fluid,
    /// Every request an event ([`crate::sim::requests`]).
    Requests(RequestOptions),
}

/// Options of one run beyond the scenario, the config and the seed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Options {
    /// The load model.
    pub load_model: LoadModel,
    /// The replication: every random draw of the run (arrivals, start-up and provisioning
    /// delays, the request-level engine's draws) comes from its stream `replication`, the same
    /// for every candidate (common random numbers).
    pub replication: u64,
    /// How the replication varies the recorded traffic (none by default: the replay as given).
    pub variation: Variation,
    /// Leave the per-minute timeline out of the result (a Monte Carlo replication keeps only
    /// its SLA record).
    pub skip_timeline: bool,
}

/// One SLA window's figures for one objective.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct ObjectiveWindow {
    /// Requests that arrived.
    pub arrivals: f64,
    /// Requests that failed (rejected, no ready pod, timed out).
    pub errors: f64,
    /// Median latency of served requests, seconds (0 when none).
    pub p50_s: f64,
    /// 95th percentile, seconds.
    pub p95_s: f64,
    /// 99th percentile, seconds.
    pub p99_s: f64,
}

/// One SLA window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WindowRun {
    /// Window start.
    pub start: Millis,
    /// Per objective of the scenario's SLA (same order).
    pub objectives: Vec<ObjectiveWindow>,
}

/// What one workload did during the run.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct WorkloadRun {
    /// Workload (service) name.
    #[serde(skip)]
    pub name: String,
    /// Node pool index its pods run on.
    #[serde(skip)]
    pub pool: usize,
    /// CPU used, core-seconds.
    pub cpu_usage_core_s: f64,
    /// CPU requested by bound pods, core-seconds.
    pub cpu_request_core_s: f64,
    /// Memory used, byte-seconds.
    pub memory_usage_byte_s: f64,
    /// Memory requested by bound pods, byte-seconds.
    pub memory_request_byte_s: f64,
    /// Pod-seconds of bound pods.
    pub pod_seconds: f64,
    /// Pod-seconds spent Pending (unschedulable or waiting for a node).
    pub pending_pod_seconds: f64,
    /// Fewest ready pods seen.
    pub ready_min: u32,
    /// Seconds in which its ready pods (at least one) all ran on one node: a node failure then
    /// takes every one of them.
    #[serde(default)]
    pub single_node_seconds: f64,
    /// Seconds in which fewer pods were ready than the scenario's availability floor (OOM
    /// kills, evictions, pods no node could take).
    #[serde(default)]
    pub below_floor_seconds: f64,
    /// Most ready pods seen.
    pub ready_max: u32,
    /// HPA scale-ups.
    pub scale_ups: u32,
    /// HPA scale-downs.
    pub scale_downs: u32,
    /// Pods evicted by node scale-down.
    pub evictions: u32,
    /// Requests that arrived.
    pub arrivals: f64,
    /// Requests rejected (no ready pod, no worker slot, backlog shed).
    pub rejected: f64,
    /// Requests that timed out.
    pub timed_out: f64,
    /// Most pods that could fit no node of their pool at once.
    pub unfittable_pods: u32,
    /// Most pods at once that fit an empty node of their pool but that the autoscaler could
    /// place nowhere: the pools were at `max_nodes` (with a topology spread, no node there
    /// could take another of them). They stay Pending.
    #[serde(default)]
    pub capped_pods: u32,
    /// Highest working set of one ready pod, bytes.
    pub peak_pod_memory_bytes: f64,
    /// Pods the kubelet evicted under node memory pressure.
    pub pressure_evictions: u32,
    /// Containers killed for exceeding their memory limit.
    pub oom_kills: u32,
    /// Worker processes the OOM killer took alone (`control_plane.oom_kill: process`): the
    /// container kept running and did not restart.
    #[serde(default)]
    pub worker_oom_kills: u32,
    /// Container restarts (after OOM kills).
    pub restarts: u32,
    /// Restarts that waited longer than the first back-off (CrashLoopBackOff).
    pub crash_loop_restarts: u32,
    /// In-flight requests lost when their container was killed.
    pub killed_requests: f64,
    /// Σ over ready pod-seconds of the CFS throttled-period ratio (divide by
    /// `ready_pod_seconds`).
    pub throttled_pod_seconds: f64,
    /// Ready pod-seconds.
    pub ready_pod_seconds: f64,
    /// Requests failed at a pool checkout (timeout, a raising pool full, refused connection).
    pub pool_errors: f64,
    /// Requests that failed because a modeled server they call failed their calls (no ready
    /// pod, rejected or timed out there), under the fluid model.
    #[serde(default)]
    pub downstream_errors: f64,
    /// Highest 99th percentile of the checkout wait over the steps, seconds (infinite when a
    /// blocking pool saturated).
    pub pool_wait_p99_s: f64,
    /// Pool slots lost to failovers, per process.
    pub pool_slots_lost: u32,
    /// Times a pod turned unready because its readiness probe timed out behind busy workers.
    pub probe_unready_transitions: u32,
    /// Rollouts started.
    pub rollouts: u32,
    /// Most pods of the workload at once, surge included, terminating ones not (they are in
    /// `pod_seconds` until their grace period ends).
    pub peak_pods: u32,
    /// Events the request-level engine processed (0 under the fluid model; not reported).
    #[serde(skip)]
    pub request_events: u64,
}

/// What one node pool did during the run.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct PoolRun {
    /// Billed node-seconds (from the instance request to its removal).
    pub node_seconds: f64,
    /// Most nodes at once.
    pub peak_nodes: u32,
    /// Σ over Ready nodes of requested CPU (DaemonSets included) × time, millicore-seconds.
    pub requested_cpu_milli_s: f64,
    /// Σ over Ready nodes of allocatable CPU × time, millicore-seconds.
    pub allocatable_cpu_milli_s: f64,
    /// Σ over Ready nodes of requested memory × time, byte-seconds.
    pub requested_memory_byte_s: f64,
    /// Σ over Ready nodes of allocatable memory × time, byte-seconds.
    pub allocatable_memory_byte_s: f64,
    /// CPU actually used by workload pods on the pool, core-seconds.
    pub used_cpu_core_s: f64,
    /// Memory actually used by workload pods on the pool, byte-seconds.
    pub used_memory_byte_s: f64,
}

/// One timeline sample.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TimelinePoint {
    /// Time.
    pub at: Millis,
    /// Per workload: desired replicas.
    pub desired: Vec<u32>,
    /// Per workload: ready pods.
    pub ready: Vec<u32>,
    /// Per pool: existing nodes.
    pub nodes: Vec<u32>,
    /// Per workload: mean CPU use of a ready pod over its request (0 when none).
    pub cpu_utilization: Vec<f64>,
}

/// The outcome of one simulated run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunResult {
    /// Simulated span.
    pub horizon: Millis,
    /// Per pool (catalog order).
    pub pools: Vec<PoolRun>,
    /// Per workload (scenario service order).
    pub workloads: Vec<WorkloadRun>,
    /// SLA windows.
    pub windows: Vec<WindowRun>,
    /// Timeline, one point per minute.
    pub timeline: Vec<TimelinePoint>,
    /// Per downstream server some workload pools connections to (name order).
    pub servers: Vec<ServerRun>,
}

/// Connections one downstream server saw during the run (on its primary).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ServerRun {
    /// Server name.
    pub server: String,
    /// Its connection limit, if the scenario gives one.
    pub limit: Option<u32>,
    /// Most connections at once (pool connections plus monitors).
    pub peak_connections: f64,
    /// Time-averaged connections.
    pub mean_connections: f64,
    /// Connection-seconds refused over the limit.
    pub refused_connection_seconds: f64,
    /// Connections opened during the run (new processes' pools and monitors, pools growing).
    #[serde(default)]
    pub opened_connections: f64,
    /// Most connections opened within one second (pymongo opens `maxConnecting` per pool at
    /// once, each taking the server's handshake time): the storm a scale-out puts on it.
    #[serde(default)]
    pub peak_opens_per_s: f64,
}

/// One workload's pool toward one server during the run.
#[derive(Debug, Clone)]
struct PoolState {
    server: usize,
    pool: crate::model::pools::ClientPool,
    /// Operations per request, per class.
    ops: Vec<f64>,
    /// Operations per request over the class mix.
    ops_per_request: f64,
    /// Mean time an operation holds a connection, seconds.
    hold_s: f64,
    /// Connections each process keeps open.
    open: f64,
    /// In use per process in the last step.
    in_use: f64,
    /// Slots lost to failovers (redis-py 8.0.0–8.0.1 Sentinel pools).
    lost: u32,
    /// Share of its connections the server refused in the last step.
    refused: f64,
    /// The last step's usable connections and operations per second, and what the pool did:
    /// a step at the same load reuses it (the load changes once per trace bin, not per step).
    last_step: Option<(u32, f64, crate::sim::pools::PoolStep)>,
    /// A call blocks the whole worker process (sync driver in an event loop).
    blocking: bool,
    /// The server's connection establishment time, seconds.
    handshake_s: f64,
    /// Ready pods in the last step (the new ones' pools start from `minPoolSize`).
    ready_before: u32,
    /// Processes and open connections per process at the last tally.
    tallied: (f64, f64),
    /// A checkout failure probability and, per class, the chance a request's operations all
    /// succeed under it (`(1 − fail)^ops`), kept while the failure probability holds.
    survive: (f64, Vec<f64>),
}

/// A downstream server's running tally.
#[derive(Debug, Clone, Default)]
struct ServerState {
    limit: Option<u32>,
    failovers: Vec<Millis>,
    connections: f64,
    pool_connections: f64,
    /// Share of pool connections refused in the last step.
    refused_share: f64,
    /// Connections opened in this step, and within its first second.
    opened: f64,
    opens_first_second: f64,
    /// The workload that serves it, when it runs in the cluster (Redis), and what each client
    /// connection costs that workload's pods in memory, bytes.
    workload: Option<usize>,
    bytes_per_connection: f64,
    run: ServerRun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKind {
    /// A workload's Deployment gets a new pod template (the id is the workload).
    Rollout,
    NodeReady,
    PodRunning,
    PodReady,
    PodGone,
}

/// Per-workload state during the run.
struct Workload {
    service: usize,
    /// Its first pool (where it starts), and every pool its pods may run on.
    pool: usize,
    pools: Vec<usize>,
    requests: PodRequests,
    /// The app container's memory limit.
    memory_limit: Option<f64>,
    /// CPU (cores) and memory (bytes) the sidecars of one pod use.
    sidecar_cpu_cores: f64,
    sidecar_memory: f64,
    /// Some sidecar uses more memory than its limit: it is OOM-killed on every start.
    sidecar_oom: bool,
    /// Start-up time the init containers add to every (first) start.
    init_delay: Millis,
    /// Arrivals counted at the last scrape and when; the arrival rate over that window
    /// (milli-requests/s), what an Object or External metric reports.
    arrivals_at_scrape: (f64, Millis),
    arrival_rate_milli: Option<i64>,
    /// Arrival rate of the current step, requests/s.
    lambda: f64,
    /// Queueing delay of the last step, seconds (what a probe on the workers waits).
    queue_wait_s: f64,
    /// The last step's waiting time before its state (backlog plus pool checkouts), seconds,
    /// and its latency bin (a logarithm), kept while the wait holds.
    wait_bin: (f64, u16),
    /// Consecutive readiness-probe failures.
    probe_failures: u32,
    /// Current pod-template revision, and whether pods of older ones remain.
    revision: u32,
    rolling: bool,
    /// Rolling-update strategy.
    strategy: crate::model::config::RollingUpdateConfig,
    /// Its spread over nodes, if it has one.
    spread: Option<HostnameSpread>,
    /// Client pools toward downstream servers.
    client_pools: Vec<PoolState>,
    /// Pods whose containers run (they hold their pools' connections).
    running: u32,
    /// Share of arrivals the concurrency limit admitted in the last step (fluid model).
    admitted: f64,
    /// Memory each ready pod holds for its clients' connections (an in-cluster server),
    /// bytes, from the last tally.
    connection_memory: f64,
    hpa: Option<WorkloadHpa>,
    desired: u32,
    /// Its arrival rate per recorded bin under the run's variation.
    arrivals: ArrivalSource,
    model: ServiceModel,
    /// What compiled `model`: its key in the scenario's model cache.
    model_key: ModelKey,
    /// The request-level state, under [`LoadModel::Requests`].
    request_model: Option<RequestModel>,
    backlog_core_s: f64,
    pods: Vec<usize>,
    serving: u32,
    run: WorkloadRun,
}

/// An SLA objective's window accumulator.
struct ObjectiveAcc {
    service: usize,
    weights: Vec<f64>,
    touched: Vec<u32>,
    /// Latencies counted one by one (request-level engine; none under the fluid model).
    direct: Option<Histogram>,
    arrivals: f64,
    errors: f64,
}

impl ObjectiveAcc {
    /// Counts `lost` requests a killed container held as errors. They arrived (and were
    /// counted as served, or already as errors: rejected, timed out) before; a kill can only
    /// turn a request of the window that has not failed into a failure, so the errors never
    /// exceed the arrivals (counting every in-flight request on top gave error rates above
    /// 100 % when pods were killed while shedding).
    fn fail_in_flight(&mut self, lost: f64) {
        let room = (self.arrivals - self.errors).max(0.0);
        self.errors += lost.min(room);
    }
}

/// The periods at whose multiples the clock stops: the metrics scrape and HPA sync, and the
/// others (window, timeline, trace bins, readiness probes).
#[derive(Debug)]
struct ClockPeriods {
    /// Metrics resolution and HPA sync period (a zero one never stops the clock).
    metrics: [Millis; 2],
    /// The others, ascending. A stop at one of them is never a metrics-only stop, even when
    /// its value is also a metrics period's (a 15 s trace bin under a 15 s scrape).
    other: Vec<Millis>,
}

/// One class of a workload that calls modeled servers, in one step: what its failed calls
/// fail ([`Sim::fail_downstream`]).
#[derive(Debug, Clone, Copy)]
struct Caller {
    /// The workload.
    workload: usize,
    /// The class's index among all classes (into `Sim::calls`).
    class: usize,
    /// Requests not failed otherwise: per second under the fluid model, counted in the step
    /// under the request-level one.
    ok: f64,
    /// Where the failures go: the class's slot in `rates.objectives` (fluid: integrated with
    /// the step's rates), or its objective, counted at once (request-level).
    objective: CallerObjective,
}

/// Where a [`Caller`]'s failed requests count.
#[derive(Debug, Clone, Copy)]
enum CallerObjective {
    /// The slot in `rates.objectives`, if the class has an objective (fluid model).
    Rate(Option<usize>),
    /// The objective, if any, counted directly (request-level model).
    Count(Option<usize>),
}

/// What one fluid step adds to the run's integrals, per second. A steady step's rates hold
/// over the stretch after it, so a deferred stretch adds them again over its length.
#[derive(Debug, Default)]
struct StepRates {
    /// Per workload (scenario order).
    workloads: Vec<WorkloadRates>,
    /// (objective, arrivals, errors) of each class with an objective.
    objectives: Vec<(usize, f64, f64)>,
    /// (objective, latency law, requests served) of each class with an objective.
    weights: Vec<(usize, u32, f64)>,
    /// Per node pool (catalog order).
    pools: Vec<PoolRates>,
    /// Per downstream server: (connections, connections over its limit).
    servers: Vec<(f64, f64)>,
}

/// One workload's rates in a [`StepRates`] (requests, pods or resources per second).
#[derive(Debug, Default, Clone, Copy)]
struct WorkloadRates {
    arrivals: f64,
    rejected: f64,
    timed_out: f64,
    pool_errors: f64,
    downstream_errors: f64,
    ready_pods: f64,
    throttled_pods: f64,
    single_node: f64,
    below_floor: f64,
    cpu_usage: f64,
    memory_usage: f64,
    cpu_request: f64,
    memory_request: f64,
    bound_pods: f64,
    pending_pods: f64,
}

/// One node pool's rates in a [`StepRates`].
#[derive(Debug, Default, Clone, Copy)]
struct PoolRates {
    used_cpu_cores: f64,
    used_memory_bytes: f64,
    requested_cpu_milli: f64,
    allocatable_cpu_milli: f64,
    requested_memory_bytes: f64,
    allocatable_memory_bytes: f64,
}

/// Advances a running pod's counters by `dt_ms` at its step's rates.
fn advance(p: &mut Pod, dt_ms: Millis) {
    let served = p.served_per_s * dt_ms as f64 / 1000.0;
    p.served += served;
    p.served_total.0 += served;
    p.cpu_used_core_ms += p.cpu_cores * dt_ms as f64;
}

/// The simulation of one configuration.
struct Sim<'a> {
    sc: &'a Scenario,
    now: Millis,
    seq: u64,
    events: BinaryHeap<Reverse<(Millis, u64, EventKind, usize)>>,
    pods: Vec<Pod>,
    nodes: Vec<Node>,
    workloads: Vec<Workload>,
    objectives: Vec<ObjectiveAcc>,
    objective_of: Vec<Vec<Option<usize>>>,
    startup_rng: ChaCha8Rng,
    provisioning_rng: ChaCha8Rng,
    /// The replication's day map (day bootstrap; empty otherwise).
    days: Vec<u64>,
    last_scale_up: Option<Millis>,
    need_schedule: bool,
    /// Counts changes to what the cluster autoscaler reads (pods created, deleted or moved
    /// through their lifecycle, nodes added, ready or removed).
    cluster_changes: u64,
    /// Live pods no node has taken yet (`PodStatus::Unscheduled`), kept as their statuses change.
    unscheduled: u32,
    /// `cluster_changes` when the autoscaler last ran, and the first time after that run at
    /// which an unneeded node's timer (or the scale-down delay after a scale-up) runs out.
    autoscaler_seen: Option<(u64, Millis)>,
    /// Skip autoscaler loops that cannot act (off only to test that skipping changes nothing).
    skip_idle_autoscaler: bool,
    /// Merge the fluid steps of a steady stretch across stops where only the scrape and the
    /// HPA sync run (off only to test that merging changes nothing but rounding).
    merge_steady: bool,
    /// The last fluid step left every input of the next one as it found it (see
    /// [`Sim::fluid_step`]): its rates hold until something changes.
    steady: bool,
    /// A steady step not integrated yet: its start and length (ms). Its rates are the last
    /// step's; it ends at the current stop.
    deferred: Option<(Millis, Millis)>,
    /// Stops merged into a steady step so far.
    merged_stops: u64,
    /// The last fluid step's rates (reused buffers).
    rates: StepRates,
    /// Start of the last full fluid step (its rates hold since).
    step_start: Millis,
    /// The HPAs are settled: (time of the last sync run, last time up to which syncs are
    /// known to change nothing). The clock skips those scrapes and syncs; they are caught up
    /// at the next stop ([`Sim::catch_up`]).
    quiet: Option<(Millis, Millis)>,
    /// Let settled HPAs skip stops (off only to test that skipping changes nothing).
    skip_settled: bool,
    downstream: Vec<f64>,
    calls: Vec<Vec<(usize, f64)>>,
    hist: Histogram,
    windows: Vec<WindowRun>,
    timeline: Vec<TimelinePoint>,
    /// Leave the timeline out ([`Options::skip_timeline`]).
    skip_timeline: bool,
    pools: Vec<PoolRun>,
    node_count: Vec<u32>,
    /// Pods to OOM-kill after this step (reused buffer).
    oom: Vec<usize>,
    /// Working set per node (reused buffer).
    node_memory: Vec<f64>,
    /// In-flight requests per class of one ready pod in this step (reused buffer).
    in_flight: Vec<f64>,
    /// Ready pod ids of one workload (reused buffer, request-level engine).
    ready_ids: Vec<usize>,
    /// Downstream servers with pools (name order).
    servers: Vec<ServerState>,
    /// Per class of one workload: share of requests failing at a pool (reused buffer).
    pool_fail: Vec<f64>,
    /// This step's callers of modeled servers, per class (reused buffer; see
    /// [`Sim::fail_downstream`]).
    callers: Vec<Caller>,
}

/// Adds a running pod's working set `bytes` to node `n`'s in `node_memory`; whether the node
/// is now over its memory capacity.
fn add_node_memory(node_memory: &mut [f64], nodes: &[Node], n: usize, bytes: f64) -> bool {
    node_memory[n] += bytes;
    node_memory[n] > nodes[n].capacity.memory_bytes as f64
}

/// What a `ContainerResource` metric on `container` reads in the pods of `wc`: the app
/// container (named like the service) or a sidecar, with its requests and usage; `None` for a
/// name the pod has no container of.
fn container_view(
    svc: &crate::model::scenario::Service,
    wc: &crate::model::config::WorkloadConfig,
    container: &str,
) -> Option<ContainerView> {
    let requests = crate::model::config::Resources::effective_request_values;
    let used = |name: &str| {
        svc.profile
            .sidecar(name)
            .map_or((0, 0), |u| (u.cpu.0, u.memory.0))
    };
    let (cpu_request_milli, memory_request_bytes, usage) = if container == svc.name {
        let (cpu, mem) = requests(&wc.resources);
        let (sc_cpu, sc_mem) = wc
            .sidecars
            .iter()
            .map(|s| used(&s.name))
            .fold((0, 0), |(c, m), (uc, um)| (c + uc, m + um));
        (
            cpu,
            mem,
            ContainerUsage::App {
                sidecars_cpu_milli: sc_cpu,
                sidecars_memory_bytes: sc_mem,
            },
        )
    } else {
        let s = wc.sidecars.iter().find(|s| s.name == container)?;
        let (cpu, mem) = requests(&s.resources);
        let (cpu_milli, memory_bytes) = used(container);
        (
            cpu,
            mem,
            ContainerUsage::Sidecar {
                cpu_milli,
                memory_bytes,
            },
        )
    };
    Some(ContainerView {
        cpu_request_milli,
        memory_request_bytes,
        usage,
    })
}

/// CPU cores and memory bytes one pod's sidecars use (from the service profile), and whether
/// any of them exceeds its own memory limit.
fn sidecar_usage(
    svc: &crate::model::scenario::Service,
    wc: &crate::model::config::WorkloadConfig,
) -> (f64, f64, bool) {
    let (mut cpu, mut mem, mut oom) = (0.0, 0.0, false);
    for sc in &wc.sidecars {
        if let Some(u) = svc.profile.sidecar(&sc.name) {
            cpu += u.cpu.0 as f64 / 1000.0;
            mem += u.memory.0 as f64;
            oom |= sc.resources.limits.memory.is_some_and(|l| u.memory.0 > l.0);
        }
    }
    (cpu, mem, oom)
}

/// The workload's client pools (validated configs), with each one's operations per request
/// per class and its mean hold time (the calls' round trip, operation-weighted).
fn client_pools(
    svc: &crate::model::scenario::Service,
    wc: &crate::model::config::WorkloadConfig,
    server_names: &[String],
    servers: &std::collections::BTreeMap<String, crate::model::pools::ServerConfig>,
) -> Vec<PoolState> {
    wc.client_pools
        .iter()
        .filter_map(|(server, cfg)| {
            let pool = cfg.resolve().ok()?;
            let index = server_names.iter().position(|n| n == server)?;
            let calls = |c: &crate::model::service::RequestClass| {
                c.downstream.iter().filter(|d| &d.server == server).fold(
                    (0.0, 0.0),
                    |(ops, held), d| {
                        (
                            ops + d.ops_per_request,
                            held + d.ops_per_request * d.round_trip as f64,
                        )
                    },
                )
            };
            let ops: Vec<f64> = svc.profile.classes.iter().map(|c| calls(c).0).collect();
            let (total_ops, held_ms) = svc
                .profile
                .classes
                .iter()
                .map(|c| {
                    let (o, h) = calls(c);
                    (c.share * o, c.share * h)
                })
                .fold((0.0, 0.0), |(a, b), (o, h)| (a + o, b + h));
            let hold_s = if total_ops > 0.0 {
                held_ms / total_ops / 1000.0
            } else {
                0.0
            };
            Some(PoolState {
                server: index,
                blocking: pool.blocks_process(svc.profile.worker_kind),
                handshake_s: servers.get(server).map_or(
                    crate::model::pools::DEFAULT_HANDSHAKE_MS as f64 / 1000.0,
                    |s| s.handshake_s(),
                ),
                ready_before: 0,
                tallied: (0.0, 0.0),
                survive: (f64::NAN, Vec::new()),
                open: f64::from(pool.min_size),
                pool,
                ops,
                ops_per_request: total_ops,
                hold_s,
                in_use: 0.0,
                lost: 0,
                refused: 0.0,
                last_step: None,
            })
        })
        .collect()
}

/// The request-level engine's semaphore for a client pool.
fn request_pool(p: &PoolState, server_names: &[String]) -> crate::sim::requests::PoolSpec {
    use crate::model::pools::Exhausted;
    use crate::sim::requests::{PoolMode, PoolSpec};
    PoolSpec {
        server: server_names[p.server].clone(),
        size: p.pool.max_size,
        blocks_process: p.blocking,
        mode: match p.pool.exhausted {
            Exhausted::Raise => PoolMode::Raise,
            Exhausted::Block { timeout_s } => PoolMode::Block {
                timeout_ms: timeout_s.map(|t| t * 1000.0),
            },
        },
    }
}

/// Simulates `config` on `scenario` with `seed`. The config must have been checked with
/// [`crate::model::validate::check_config`].
pub fn simulate(scenario: &Scenario, config: &Config, seed: u64) -> RunResult {
    simulate_with(scenario, config, seed, &Options::default())
}

/// [`simulate`] with `options` (the load model).
pub fn simulate_with(
    scenario: &Scenario,
    config: &Config,
    seed: u64,
    options: &Options,
) -> RunResult {
    let mut sim = Sim::new(scenario, config, seed, options);
    sim.run();
    sim.finish()
}

impl<'a> Sim<'a> {
    fn new(sc: &'a Scenario, config: &Config, seed: u64, options: &Options) -> Sim<'a> {
        // The pods run as admitted: with the namespace LimitRange's defaults.
        let admitted = sc.admitted(config);
        let config: &Config = &admitted;
        let server_names: Vec<String> = config
            .workloads
            .values()
            .flat_map(|w| w.client_pools.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let servers = server_names
            .iter()
            .map(|name| {
                let limits = sc.servers.get(name);
                ServerState {
                    workload: sc.service_index(name),
                    bytes_per_connection: limits.map_or(
                        crate::model::pools::REDIS_BYTES_PER_CONNECTION as f64,
                        |l| l.bytes_per_connection(),
                    ),
                    limit: limits.map(|l| l.max_connections),
                    failovers: limits.map_or_else(Vec::new, |l| l.failovers.clone()),
                    run: ServerRun {
                        server: name.clone(),
                        limit: limits.map(|l| l.max_connections),
                        ..ServerRun::default()
                    },
                    ..ServerState::default()
                }
            })
            .collect();
        let mut workloads = Vec::with_capacity(sc.services.len());
        for (si, svc) in sc.services.iter().enumerate() {
            let wc = &config.workloads[&svc.name];
            let requests = wc.pod_requests();
            let (sidecar_cpu_cores, sidecar_memory, sidecar_oom) = sidecar_usage(svc, wc);
            let pool = sc.catalog.pool_index(&wc.node_pool).unwrap_or(0);
            let hpa = wc
                .hpa
                .as_ref()
                .map(|h| WorkloadHpa::new(h, &sc.control_plane, |c| container_view(svc, wc, c)));
            let mut desired = wc.replicas;
            if let Some(h) = &hpa {
                desired = h.clamp_initial(desired);
            }
            let pools = wc
                .pools()
                .iter()
                .filter_map(|p| sc.catalog.pool_index(p))
                .collect();
            let client_pools = client_pools(svc, wc, &server_names, &sc.servers);
            let blocked = crate::sim::pools::blocked_s_per_class(&svc.profile.classes, |s| {
                client_pools
                    .iter()
                    .any(|p| p.blocking && server_names[p.server] == s)
            });
            let cpu_limit = wc.resources.limits.cpu.map(|q| q.0);
            let model_key = (si, cpu_limit, blocked.iter().map(|b| b.to_bits()).collect());
            let model = sc.model_cache.checkout(&model_key, || {
                ServiceModel::new(svc, cpu_limit)
                    .with_cache(sc.cfs_cache.clone(), si)
                    .with_blocking(&blocked)
            });
            let request_model = match &options.load_model {
                LoadModel::Fluid => None,
                LoadModel::Requests(opts) => {
                    let mut opts = opts.clone();
                    opts.pools
                        .extend(client_pools.iter().map(|p| request_pool(p, &server_names)));
                    Some(RequestModel::new(
                        svc,
                        &model,
                        &opts,
                        rng::indexed_stream(
                            seed,
                            options.replication,
                            Purpose::Requests,
                            si as u64,
                        ),
                    ))
                }
            };
            workloads.push(Workload {
                service: si,
                pool,
                pools,
                requests,
                memory_limit: wc.resources.limits.memory.map(|m| m.0 as f64),
                sidecar_cpu_cores,
                sidecar_memory,
                sidecar_oom,
                init_delay: wc.init_duration(),
                arrivals_at_scrape: (0.0, 0),
                arrival_rate_milli: None,
                lambda: 0.0,
                queue_wait_s: 0.0,
                wait_bin: (f64::NAN, 0),
                probe_failures: 0,
                revision: 0,
                rolling: false,
                strategy: wc.rolling_update.unwrap_or_default(),
                spread: wc.topology_spread.map(|t| t.rule()),
                client_pools,
                running: 0,
                connection_memory: 0.0,
                admitted: 1.0,
                hpa,
                desired,
                arrivals: ArrivalSource::new(
                    seed,
                    options.replication,
                    si as u64,
                    svc.scale,
                    options.variation,
                ),
                model,
                model_key,
                request_model,
                backlog_core_s: 0.0,
                pods: Vec::new(),
                serving: 0,
                run: WorkloadRun {
                    name: svc.name.clone(),
                    pool,
                    ready_min: u32::MAX,
                    ..WorkloadRun::default()
                },
            });
        }
        let mut objectives = Vec::new();
        let mut objective_of: Vec<Vec<Option<usize>>> = sc
            .services
            .iter()
            .map(|s| vec![None; s.profile.classes.len()])
            .collect();
        for (oi, o) in sc.sla.objectives.iter().enumerate() {
            let s = sc.service_index(&o.service).unwrap_or(0);
            let c = sc.services[s]
                .profile
                .classes
                .iter()
                .position(|c| c.name == o.class)
                .unwrap_or(0);
            objective_of[s][c] = Some(oi);
            objectives.push(ObjectiveAcc {
                service: s,
                weights: Vec::new(),
                touched: Vec::new(),
                direct: None,
                arrivals: 0.0,
                errors: 0.0,
            });
        }
        // Downstream calls to modeled services: (server index, ops per request) per class.
        let calls = sc
            .services
            .iter()
            .flat_map(|s| s.profile.classes.iter())
            .map(|c| {
                c.downstream
                    .iter()
                    .filter_map(|d| sc.service_index(&d.server).map(|i| (i, d.ops_per_request)))
                    .collect()
            })
            .collect();
        let mut sim = Sim {
            sc,
            now: 0,
            seq: 0,
            events: BinaryHeap::new(),
            pods: Vec::new(),
            nodes: Vec::new(),
            workloads,
            objectives,
            objective_of,
            startup_rng: rng::stream(seed, options.replication, Purpose::PodStartup),
            provisioning_rng: rng::stream(seed, options.replication, Purpose::NodeProvisioning),
            days: if options.variation.bootstrap_days {
                day_map(seed, options.replication, sc.horizon)
            } else {
                Vec::new()
            },
            last_scale_up: None,
            need_schedule: false,
            cluster_changes: 0,
            unscheduled: 0,
            autoscaler_seen: None,
            skip_idle_autoscaler: true,
            merge_steady: true,
            steady: false,
            deferred: None,
            merged_stops: 0,
            rates: StepRates::default(),
            step_start: 0,
            quiet: None,
            skip_settled: true,
            downstream: vec![0.0; sc.services.len()],
            calls,
            hist: Histogram::default(),
            windows: Vec::new(),
            timeline: Vec::new(),
            skip_timeline: options.skip_timeline,
            pools: vec![PoolRun::default(); sc.catalog.pools.len()],
            node_count: vec![0; sc.catalog.pools.len()],
            oom: Vec::new(),
            node_memory: Vec::new(),
            in_flight: Vec::new(),
            ready_ids: Vec::new(),
            servers,
            pool_fail: Vec::new(),
            callers: Vec::new(),
        };
        // Every candidate of this replication draws the same arrivals: once per search.
        for wl in &mut sim.workloads {
            let svc = &sc.services[wl.service];
            if let (Some(rate), false) = (&svc.rate, svc.downstream_only) {
                wl.arrivals
                    .share(&sc.arrival_cache, rate, sc.horizon, &sim.days);
            }
        }
        sim
    }

    /// The pool's `min_nodes` when some workload of the config uses it; 0 otherwise (a pool no
    /// workload uses would be deleted, not kept warm).
    /// Workload `w`'s pods bound to each node (by node index), terminating ones left out, as
    /// the spread filter counts them.
    fn spread_counts(&self, w: usize) -> Vec<u32> {
        let mut counts = vec![0u32; self.nodes.len()];
        for &id in &self.workloads[w].pods {
            let p = &self.pods[id];
            if let (Some(n), false) = (p.node, p.status == PodStatus::Terminating) {
                counts[n] += 1;
            }
        }
        counts
    }

    /// The spread groups of the pods' workloads `owners` (one per spreading workload, in
    /// order) for a plan placing pods on the nodes `targets`: each workload's pods on its other
    /// existing nodes (`fixed`: every node of its pools, provisioning ones too, as the
    /// autoscaler's snapshot holds them, but not `excluded`) and on the targets. Returns the
    /// groups and each pod's group, aligned with `owners`.
    fn spread_groups(
        &self,
        owners: &[usize],
        targets: &[usize],
        excluded: Option<usize>,
    ) -> (Vec<SpreadGroup>, Vec<Option<usize>>) {
        let mut groups = Vec::new();
        let mut group_of_workload = vec![None; self.workloads.len()];
        for &w in owners {
            let Some(rule) = self.workloads[w].spread else {
                continue;
            };
            if group_of_workload[w].is_some() {
                continue;
            }
            let counts = self.spread_counts(w);
            let pools = &self.workloads[w].pools;
            let fixed = (0..self.nodes.len())
                .filter(|&n| {
                    self.nodes[n].exists()
                        && pools.contains(&self.nodes[n].pool)
                        && Some(n) != excluded
                        && !targets.contains(&n)
                })
                .map(|n| counts[n])
                .collect();
            let on_targets = targets.iter().map(|&n| counts[n]).collect();
            group_of_workload[w] = Some(groups.len());
            groups.push(SpreadGroup {
                rule,
                fixed,
                on_targets,
            });
        }
        let group_of = owners.iter().map(|&w| group_of_workload[w]).collect();
        (groups, group_of)
    }

    fn min_nodes(&self, pool: usize) -> u32 {
        if self.workloads.iter().any(|w| w.pools.contains(&pool)) {
            self.sc.catalog.pools[pool].min_nodes
        } else {
            0
        }
    }

    fn push(&mut self, at: Millis, kind: EventKind, id: usize) {
        self.cluster_changes += 1;
        self.seq += 1;
        self.events.push(Reverse((at, self.seq, kind, id)));
    }

    fn new_node(&mut self, pool: usize, ready_at: Millis) -> usize {
        let p = &self.sc.catalog.pools[pool];
        let alloc = p.allocatable();
        let cap = p.capacity_for_pods();
        let (daemonset_cpu_milli, daemonset_memory_bytes) = p.daemonset_requests();
        self.nodes.push(Node {
            pool,
            capacity: cap,
            allocatable_cpu_milli: alloc.cpu_milli,
            allocatable_memory_bytes: alloc.memory_bytes,
            daemonset_cpu_milli,
            daemonset_memory_bytes,
            created_at: self.now,
            ready_at,
            removed_at: None,
            cpu_requested: 0,
            memory_requested: 0,
            pods: 0,
            unneeded_since: None,
        });
        let id = self.nodes.len() - 1;
        self.cluster_changes += 1;
        if ready_at > self.now {
            self.push(ready_at, EventKind::NodeReady, id);
        }
        id
    }

    /// Warm start: the initial replicas already run on enough Ready nodes.
    fn warm_start(&mut self) {
        for w in 0..self.workloads.len() {
            for _ in 0..self.workloads[w].desired {
                let p = Pod::new(w, self.workloads[w].requests, 0);
                self.pods.push(p);
                self.unscheduled += 1;
                let id = self.pods.len() - 1;
                self.workloads[w].pods.push(id);
            }
        }
        for pool in 0..self.sc.catalog.pools.len() {
            let min = self.min_nodes(pool);
            let (pending, owners): (Vec<PodRequests>, Vec<usize>) = self
                .pods
                .iter()
                .filter(|p| self.workloads[p.workload].pool == pool)
                .map(|p| (p.requests, p.workload))
                .unzip();
            let (groups, group_of) = self.spread_groups(&owners, &[], None);
            let spread = SpreadPods {
                group_of: &group_of,
                groups: &groups,
            };
            let cap = self.sc.catalog.pools[pool].capacity_for_pods();
            let max = self.sc.catalog.pools[pool].max_nodes;
            let plan = plan_scale_up(&[], 0, &pending, spread, cap, max);
            for _ in 0..plan.new_nodes.max(min) {
                self.new_node(pool, 0);
            }
        }
        let mut counts: Vec<Vec<u32>> = vec![vec![0; self.nodes.len()]; self.workloads.len()];
        for id in 0..self.pods.len() {
            let w = self.pods[id].workload;
            let pool = self.workloads[w].pool;
            let req = self.pods[id].requests;
            let spread = self.workloads[w].spread.map(|rule| Spread {
                rule,
                counts: &counts[w],
            });
            if let Some(n) = pick_node(&self.nodes, &[pool], &req, 0, spread) {
                counts[w][n] += 1;
                self.nodes[n].bind(&req);
                self.unscheduled -= 1;
                let p = &mut self.pods[id];
                p.node = Some(n);
                p.status = PodStatus::Running;
                p.start_time = Some(0);
                p.running_at = Some(0);
                p.ready = true;
                p.ready_transition = Some(0);
                let w = p.workload;
                self.workloads[w].serving += 1;
            }
        }
        self.need_schedule = true;
    }

    fn run(&mut self) {
        self.warm_start();
        for &(w, at) in &self.sc.rollouts {
            if at < self.sc.horizon {
                self.push(at, EventKind::Rollout, w);
            }
        }
        let step = self.sc.step.max(1);
        let cp = self.sc.control_plane.clone();
        let window = self.sc.sla.window.max(step);
        let horizon = self.sc.horizon;
        let periods = self.clock_periods(window);
        let mut t = 0;
        while t < horizon {
            // A stop where only the scrape and the HPA sync are due, inside a steady stretch,
            // does not end the stretch's step unless the sync changes the replicas.
            self.catch_up(t);
            let merge = self.merge_steady && self.steady && self.only_metrics_due(t, &periods);
            if !merge {
                self.integrate_deferred();
            }
            self.now = t;
            self.process_events(t);
            if t > 0 && t % window == 0 {
                self.close_window(t - window);
            }
            if t % cp.metrics_resolution == 0 {
                self.scrape(t);
            }
            if t >= cp.metrics_resolution && t % cp.hpa_sync_period == 0 {
                self.hpa_sync(t);
            }
            // The scheduler tries pending pods before the autoscaler looks: it only acts on
            // pods the scheduler found unschedulable.
            if self.need_schedule {
                self.schedule_pending(t);
            }
            let autoscaled = t % cp.autoscaler_interval == 0 && self.autoscaler_may_act(t);
            if autoscaled {
                self.autoscale(t);
                if self.need_schedule {
                    self.schedule_pending(t);
                }
            }
            if t % TIMELINE_EVERY == 0 && !self.skip_timeline {
                self.sample_timeline(t);
            }
            self.probe_readiness(t);
            for w in 0..self.workloads.len() {
                if self.workloads[w].rolling {
                    self.sync_deployment(w, t);
                }
            }
            // The sync or the autoscaler may have ended the steady stretch. An autoscaler loop
            // that changed nothing leaves the step's inputs as they were: the step is the last
            // one again, so its rates are integrated over it without computing them anew
            // (exactly what the step would add).
            let steady = merge && self.steady;
            let deferring = steady && !autoscaled;
            if deferring {
                self.settle(t);
            }
            let next = self.next_stop(t, &periods);
            if deferring {
                let (start, len) = self.deferred.unwrap_or((t, 0));
                self.deferred = Some((start, len + (next - t)));
                self.merged_stops += 1;
            } else if steady {
                self.integrate_deferred();
                self.step_start = t;
                self.deferred = Some((t, next - t));
                self.integrate_deferred();
            } else {
                self.integrate_deferred();
                self.fluid_step(t, next - t);
            }
            t = next;
        }
        self.catch_up(horizon);
        self.integrate_deferred();
        self.now = horizon;
        // The last whole window ends at the horizon only when the horizon is a whole number
        // of windows; a shorter tail is not a window (the scenario notes it).
        if horizon >= window && horizon % window == 0 {
            self.close_window(horizon - window);
        }
    }

    /// The periods at whose multiples the clock stops: the SLA window, the metrics scrape, the
    /// HPA sync, the timeline, every traffic bin and every readiness probe (the autoscaler
    /// loop stops it only when it may act; see [`Sim::next_stop`]).
    fn clock_periods(&self, window: Millis) -> ClockPeriods {
        let cp = &self.sc.control_plane;
        let mut periods = vec![window, TIMELINE_EVERY];
        for w in &self.workloads {
            let svc = &self.sc.services[w.service];
            periods.extend(
                svc.rate
                    .as_ref()
                    .map(|r| Millis::from(r.bin_s.max(1)) * SECOND),
            );
            periods.extend(svc.profile.readiness_probe.map(|p| p.period));
        }
        periods.retain(|&p| p > 0);
        periods.sort_unstable();
        periods.dedup();
        ClockPeriods {
            metrics: [cp.metrics_resolution, cp.hpa_sync_period],
            other: periods,
        }
    }

    /// Whether only the metrics scrape, the HPA sync and the autoscaler loop are due at stop
    /// `t`: no event, no failover, no window, bin, timeline or probe boundary, no rollout or
    /// pending pod. (An autoscaler loop that changes the cluster ends the steady stretch
    /// itself: [`Sim::end_steady_stretch`].)
    fn only_metrics_due(&self, t: Millis, periods: &ClockPeriods) -> bool {
        // `other` holds the SLA window too.
        t > 0
            && periods.other.iter().all(|&p| t % p != 0)
            && self.events.peek().is_none_or(|Reverse((at, ..))| *at > t)
            && !self.need_schedule
            && self.workloads.iter().all(|w| !w.rolling)
            && self.servers.iter().all(|s| !s.failovers.contains(&t))
    }

    /// Before a change to the pods or nodes at a stop that may have merged into a steady
    /// stretch: the stretch ends here, integrated at the rates that held until now, and the
    /// stop takes a full step.
    fn end_steady_stretch(&mut self) {
        self.integrate_deferred();
        self.steady = false;
    }

    /// Integrates the deferred steady step, if any: the last step's rates over its length
    /// (its inputs held, or it would not have been deferred).
    fn integrate_deferred(&mut self) {
        if let Some((_, len)) = self.deferred.take() {
            self.add_rates(len);
            for wl in &self.workloads {
                for &id in &wl.pods {
                    let p = &mut self.pods[id];
                    if p.status == PodStatus::Running {
                        advance(p, len);
                    }
                }
            }
        }
    }

    /// At a merged stop `t` whose syncs changed nothing: when every HPA is settled (see
    /// [`WorkloadHpa::settled_until`]) and the last scrape read the steady rates only, the
    /// scrapes and syncs until the earliest of their limits will read the same and change
    /// nothing, so the clock skips them.
    fn settle(&mut self, t: Millis) {
        let cp = &self.sc.control_plane;
        // The syncs ran at `t` on the scrape at `t` (when the sync period is longer than the
        // resolution, a scrape-only stop's HPAs last read an older sample).
        let (sync, resolution) = (cp.hpa_sync_period, cp.metrics_resolution);
        let synced_now = sync > 0 && resolution > 0 && t % sync == 0 && t % resolution == 0;
        if !self.skip_settled || !synced_now || self.step_start + resolution > t {
            return;
        }
        let mut until = Millis::MAX;
        for wl in &self.workloads {
            if let Some(hpa) = &wl.hpa {
                match hpa.settled_until(t) {
                    Some(u) => until = until.min(u),
                    None => return,
                }
            }
        }
        if until >= t + sync.max(resolution) {
            self.quiet = Some((t, until));
        }
    }

    /// Catches up with the scrapes and syncs the clock skipped before stop `t`: each settled
    /// HPA's last skipped sync (it records the recommendation they share) and the last
    /// scrape, at their own times.
    fn catch_up(&mut self, t: Millis) {
        let Some((from, _)) = self.quiet.take() else {
            return;
        };
        let cp = &self.sc.control_plane;
        let (sync, resolution) = (cp.hpa_sync_period, cp.metrics_resolution);
        // The skipped syncs all record the same recommendation, and the stabilization only
        // asks whether a recommendation is within its window: the latest one answers for them
        // all, so only the last skipped sync is recorded.
        if let (Some(n), Some(m)) = (from.checked_div(sync), (t - 1).checked_div(sync)) {
            let (first, last) = ((n + 1) * sync, m * sync);
            if last >= first && last >= resolution {
                for wl in &mut self.workloads {
                    if let Some(hpa) = wl.hpa.as_mut() {
                        hpa.sync_unchanged(last);
                    }
                }
            }
        }
        if let Some(n) = (t - 1).checked_div(resolution) {
            let last = n * resolution;
            if last > from {
                self.scrape(last);
            }
        }
    }

    /// Adds the last step's rates over `dt_ms` to the run's integrals.
    fn add_rates(&mut self, dt_ms: Millis) {
        let dt = dt_ms as f64 / 1000.0;
        let r = &self.rates;
        for (wl, r) in self.workloads.iter_mut().zip(&r.workloads) {
            let run = &mut wl.run;
            run.arrivals += r.arrivals * dt;
            run.rejected += r.rejected * dt;
            run.timed_out += r.timed_out * dt;
            run.pool_errors += r.pool_errors * dt;
            run.downstream_errors += r.downstream_errors * dt;
            run.ready_pod_seconds += r.ready_pods * dt;
            run.throttled_pod_seconds += r.throttled_pods * dt;
            run.single_node_seconds += r.single_node * dt;
            run.below_floor_seconds += r.below_floor * dt;
            run.cpu_usage_core_s += r.cpu_usage * dt;
            run.memory_usage_byte_s += r.memory_usage * dt;
            run.cpu_request_core_s += r.cpu_request * dt;
            run.memory_request_byte_s += r.memory_request * dt;
            run.pod_seconds += r.bound_pods * dt;
            run.pending_pod_seconds += r.pending_pods * dt;
        }
        for &(o, arrivals, errors) in &r.objectives {
            let acc = &mut self.objectives[o];
            acc.arrivals += arrivals * dt;
            acc.errors += errors * dt;
        }
        for &(o, law, served) in &r.weights {
            let acc = &mut self.objectives[o];
            let law = law as usize;
            if acc.weights.len() <= law {
                acc.weights.resize(law + 1, 0.0);
            }
            if acc.weights[law] == 0.0 && served > 0.0 {
                acc.touched.push(law as u32);
            }
            acc.weights[law] += served * dt;
        }
        for (pr, r) in self.pools.iter_mut().zip(&r.pools) {
            pr.used_cpu_core_s += r.used_cpu_cores * dt;
            pr.used_memory_byte_s += r.used_memory_bytes * dt;
            pr.requested_cpu_milli_s += r.requested_cpu_milli * dt;
            pr.allocatable_cpu_milli_s += r.allocatable_cpu_milli * dt;
            pr.requested_memory_byte_s += r.requested_memory_bytes * dt;
            pr.allocatable_memory_byte_s += r.allocatable_memory_bytes * dt;
        }
        for (s, &(connections, excess)) in self.servers.iter_mut().zip(&r.servers) {
            s.run.mean_connections += connections * dt;
            s.run.refused_connection_seconds += excess * dt;
        }
    }

    /// The next time after `t` at which something can happen: a multiple of one of `periods`,
    /// an autoscaler tick at which it may act, a one-off event or a server failover. Between
    /// two stops every input of the fluid step is constant, so one step covers the interval
    /// (the design's "one step per trace bin", cut at every control-loop and event time).
    fn next_stop(&self, t: Millis, periods: &ClockPeriods) -> Millis {
        let after = |p: Millis| (t / p + 1) * p;
        // While the HPAs are settled, their scrapes and syncs up to `until` are caught up later.
        let metrics_after = |p: Millis| match self.quiet {
            Some((_, until)) => (t.max(until) / p).saturating_add(1).saturating_mul(p),
            None => after(p),
        };
        let mut next = periods
            .other
            .iter()
            .map(|&p| after(p))
            .chain(
                periods
                    .metrics
                    .iter()
                    .filter(|&&p| p > 0)
                    .map(|&p| metrics_after(p)),
            )
            .fold(self.sc.horizon, Millis::min);
        next = next.min(self.next_autoscaler_run(t));
        if let Some(Reverse((at, ..))) = self.events.peek() {
            next = next.min((*at).max(t + 1));
        }
        for s in &self.servers {
            if let Some(&f) = s.failovers.iter().filter(|&&f| f > t).min() {
                next = next.min(f);
            }
        }
        next
    }

    fn process_events(&mut self, t: Millis) {
        while let Some(Reverse((at, _, _, _))) = self.events.peek() {
            if *at > t {
                break;
            }
            let Some(Reverse((at, _, kind, id))) = self.events.pop() else {
                break;
            };
            self.now = at;
            self.cluster_changes += 1;
            match kind {
                EventKind::Rollout => {
                    let wl = &mut self.workloads[id];
                    wl.revision += 1;
                    wl.rolling = true;
                    wl.run.rollouts += 1;
                    self.sync_deployment(id, at);
                }
                EventKind::NodeReady => self.need_schedule = true,
                EventKind::PodRunning => self.on_pod_running(id, at),
                EventKind::PodReady => self.on_pod_ready(id, at),
                EventKind::PodGone => self.on_pod_gone(id),
            }
        }
        self.now = t;
    }

    fn on_pod_running(&mut self, id: usize, at: Millis) {
        let p = &mut self.pods[id];
        if p.status != PodStatus::Starting && p.status != PodStatus::BackOff {
            return;
        }
        p.status = PodStatus::Running;
        p.running_at = Some(at);
        p.cpu_at_scrape = (p.cpu_used_core_ms, at);
        let delay = self.sc.services[self.workloads[p.workload].service]
            .profile
            .readiness_delay;
        self.push(at + delay, EventKind::PodReady, id);
    }

    fn on_pod_ready(&mut self, id: usize, at: Millis) {
        let p = &mut self.pods[id];
        if p.status != PodStatus::Running || p.ready {
            return;
        }
        p.ready = true;
        p.ready_transition = Some(at);
        self.workloads[p.workload].serving += 1;
    }

    /// Readiness probes answered by saturated workers: `failure_threshold` timeouts in a row
    /// make the serving pods unready; one answered probe makes them ready again. The fluid
    /// model loads every ready pod alike, so they fail together.
    fn probe_readiness(&mut self, t: Millis) {
        for w in 0..self.workloads.len() {
            let si = self.workloads[w].service;
            let Some(probe) = self.sc.services[si].profile.readiness_probe else {
                continue;
            };
            if t % probe.period.max(1) != 0 {
                continue;
            }
            let wl = &mut self.workloads[w];
            let failing = wl.queue_wait_s * 1000.0 > probe.timeout as f64;
            wl.probe_failures = if failing { wl.probe_failures + 1 } else { 0 };
            let unready = wl.probe_failures >= probe.failure_threshold;
            for &id in &wl.pods {
                let p = &mut self.pods[id];
                if p.status != PodStatus::Running {
                    continue;
                }
                if unready && p.ready {
                    p.ready = false;
                    p.probe_failing = true;
                    p.ready_transition = Some(t);
                    wl.serving -= 1;
                    wl.run.probe_unready_transitions += 1;
                } else if !failing && p.probe_failing {
                    p.ready = true;
                    p.probe_failing = false;
                    p.ready_transition = Some(t);
                    wl.serving += 1;
                }
            }
        }
    }

    fn on_pod_gone(&mut self, id: usize) {
        self.drop_requests(id);
        let p = &self.pods[id];
        if let Some(n) = p.node {
            let req = p.requests;
            self.nodes[n].release(&req);
        }
        let w = p.workload;
        self.workloads[w].pods.retain(|&q| q != id);
        self.need_schedule = true;
        self.cluster_changes += 1;
    }

    fn schedule_pending(&mut self, t: Millis) {
        self.need_schedule = false;
        for w in 0..self.workloads.len() {
            let pools = std::mem::take(&mut self.workloads[w].pools);
            let startup = self.sc.services[self.workloads[w].service].profile.startup;
            let init_delay = self.workloads[w].init_delay;
            let rule = self.workloads[w].spread;
            let mut counts = if rule.is_some() {
                self.spread_counts(w)
            } else {
                Vec::new()
            };
            for k in 0..self.workloads[w].pods.len() {
                let id = self.workloads[w].pods[k];
                if self.pods[id].status != PodStatus::Unscheduled {
                    continue;
                }
                let req = self.pods[id].requests;
                let spread = rule.map(|rule| Spread {
                    rule,
                    counts: &counts,
                });
                let Some(n) = pick_node(&self.nodes, &pools, &req, t, spread) else {
                    continue;
                };
                if rule.is_some() {
                    counts[n] += 1;
                }
                self.nodes[n].bind(&req);
                self.unscheduled -= 1;
                let p = &mut self.pods[id];
                p.node = Some(n);
                p.status = PodStatus::Starting;
                p.start_time = Some(t);
                let delay = startup.at(rng::unit(&mut self.startup_rng)) + init_delay;
                self.push(t + delay, EventKind::PodRunning, id);
            }
            self.workloads[w].pools = pools;
        }
    }

    /// Deployment/ReplicaSet controller: create or delete pods to match `desired`; during a
    /// rollout, the rolling update instead.
    fn sync_deployment(&mut self, w: usize, t: Millis) {
        if self.workloads[w].rolling && self.roll(w, t) {
            return;
        }
        let active: Vec<usize> = self.workloads[w]
            .pods
            .iter()
            .copied()
            .filter(|&id| self.pods[id].is_active())
            .collect();
        let desired = self.workloads[w].desired as usize;
        if active.len() < desired {
            for _ in active.len()..desired {
                self.create_pod(w, t);
            }
        } else if active.len() > desired {
            let mut victims = active;
            let colocated = self.colocated(w);
            victims.sort_by_key(|&id| deletion_rank(&self.pods[id], colocated(&self.pods[id])));
            for &id in victims.iter().take(victims.len() - desired) {
                self.delete_pod(id, t);
            }
        }
    }

    /// For the ReplicaSet controller's deletion rank: how many active pods of workload `w` (any
    /// revision) share a pod's node, the pod itself included (unassigned pods count together).
    fn colocated(&self, w: usize) -> impl Fn(&Pod) -> u32 {
        let mut on_node = vec![0u32; self.nodes.len() + 1];
        let slot = |p: &Pod| p.node.unwrap_or(self.nodes.len());
        for &id in &self.workloads[w].pods {
            let p = &self.pods[id];
            if p.is_active() {
                on_node[slot(p)] += 1;
            }
        }
        let unassigned = self.nodes.len();
        move |p: &Pod| on_node[p.node.unwrap_or(unassigned)]
    }

    fn create_pod(&mut self, w: usize, t: Millis) {
        let mut p = Pod::new(w, self.workloads[w].requests, t);
        p.revision = self.workloads[w].revision;
        self.pods.push(p);
        self.unscheduled += 1;
        let id = self.pods.len() - 1;
        self.workloads[w].pods.push(id);
        self.need_schedule = true;
        self.cluster_changes += 1;
    }

    /// One pass of the Deployment controller's rolling update (`reconcileNewReplicaSet`,
    /// `reconcileOldReplicaSets`): grow the new revision while all pods stay within
    /// `desired + maxSurge`, then remove old pods — unready ones first — while the ready pods
    /// stay at least `desired − maxUnavailable` (new pods not yet ready count against it).
    /// Returns false once no old pod is left (the rollout is complete).
    fn roll(&mut self, w: usize, t: Millis) -> bool {
        let revision = self.workloads[w].revision;
        let desired = self.workloads[w].desired;
        let (surge, unavailable) = self.workloads[w].strategy.resolve(desired);
        let (mut new, mut new_ready, mut old) = (Vec::new(), 0u32, Vec::new());
        for &id in &self.workloads[w].pods {
            let p = &self.pods[id];
            if !p.is_active() {
                continue;
            }
            if p.revision == revision {
                new.push(id);
                new_ready += u32::from(p.is_serving());
            } else {
                old.push(id);
            }
        }
        if old.is_empty() {
            self.workloads[w].rolling = false;
            return false;
        }
        let count = |v: &Vec<usize>| v.len() as u32;
        let total = count(&new) + count(&old);
        // Scale the new ReplicaSet up within the surge (or down if the HPA lowered desired).
        let room = (desired + surge).saturating_sub(total);
        let grow = room.min(desired.saturating_sub(count(&new)));
        for _ in 0..grow {
            self.create_pod(w, t);
        }
        let colocated = self.colocated(w);
        if count(&new) > desired {
            new.sort_by_key(|&id| deletion_rank(&self.pods[id], colocated(&self.pods[id])));
            for &id in &new[..(count(&new) - desired) as usize] {
                self.delete_pod(id, t);
            }
        }
        // Scale the old ones down within the availability budget.
        let total = total + grow;
        let min_available = desired.saturating_sub(unavailable);
        let new_unavailable = (count(&new) + grow).min(desired).saturating_sub(new_ready);
        let mut cleanup = total.saturating_sub(min_available + new_unavailable);
        if cleanup == 0 {
            return true;
        }
        let colocated = self.colocated(w);
        old.sort_by_key(|&id| deletion_rank(&self.pods[id], colocated(&self.pods[id])));
        let old_ready = old.iter().filter(|&&id| self.pods[id].is_serving()).count() as u32;
        let mut spare_ready = (new_ready + old_ready).saturating_sub(min_available);
        for &id in &old {
            if self.pods[id].is_serving() {
                if spare_ready == 0 {
                    break;
                }
                spare_ready -= 1;
            } else if cleanup == 0 {
                continue;
            } else {
                cleanup -= 1;
            }
            self.delete_pod(id, t);
        }
        true
    }

    fn delete_pod(&mut self, id: usize, t: Millis) {
        let grace = self.sc.control_plane.termination_grace;
        let p = &mut self.pods[id];
        if p.is_serving() {
            self.workloads[p.workload].serving -= 1;
        }
        let unbound = p.node.is_none();
        if p.status == PodStatus::Unscheduled {
            self.unscheduled -= 1;
        }
        p.ready = false;
        p.status = PodStatus::Terminating;
        p.deleted_at = Some(t);
        if unbound {
            self.on_pod_gone(id);
        } else {
            self.push(t + grace, EventKind::PodGone, id);
        }
    }

    fn scrape(&mut self, t: Millis) {
        let resolution = self.sc.control_plane.metrics_resolution;
        // Counters stand at the start of a deferred step: add what its rates did since.
        let behind_ms = self.deferred.map_or(0, |(start, _)| t - start);
        let behind_s = behind_ms as f64 / 1000.0;
        // Only Object and External metrics read the arrival rate.
        for wl in self
            .workloads
            .iter_mut()
            .filter(|wl| wl.hpa.as_ref().is_some_and(|h| h.reads_service_rate()))
        {
            let (a0, at0) = wl.arrivals_at_scrape;
            if t > at0 {
                let arrivals = wl.run.arrivals + wl.lambda * behind_s;
                let rate = (arrivals - a0) / (t - at0) as f64 * 1e6;
                wl.arrival_rate_milli = Some(rate.round() as i64);
                wl.arrivals_at_scrape = (arrivals, t);
            }
        }
        // The workloads' pod lists hold the live pods; the slab keeps every pod ever created.
        // Samples feed the HPA and the timeline only: without a timeline, a workload without
        // an HPA is not scraped.
        let timeline = !self.skip_timeline;
        for &id in self
            .workloads
            .iter()
            .filter(|wl| timeline || wl.hpa.is_some())
            .flat_map(|wl| &wl.pods)
        {
            let p = &mut self.pods[id];
            if p.status != PodStatus::Running {
                continue;
            }
            let (used0, at0) = p.cpu_at_scrape;
            let Some(running_at) = p.running_at else {
                continue;
            };
            if t < running_at + resolution || t <= at0 {
                continue;
            }
            let window = t - at0;
            let used = p.cpu_used_core_ms + p.cpu_cores * behind_ms as f64;
            let served = p.served_total.0 + p.served_per_s * behind_s;
            p.sample = Some(crate::k8s::pod::PodSample {
                cpu_milli: ((used - used0) / window as f64 * 1000.0).round() as i64,
                memory_bytes: p.memory_bytes.round() as i64,
                at: t,
                window,
                served_per_s_milli: ((served - p.served_total.1) / window as f64 * 1e6).round()
                    as i64,
            });
            p.cpu_at_scrape = (used, t);
            p.served_total.1 = served;
        }
    }

    fn hpa_sync(&mut self, t: Millis) {
        for w in 0..self.workloads.len() {
            let wl = &mut self.workloads[w];
            let current = wl.desired;
            let Some(hpa) = wl.hpa.as_mut() else {
                continue;
            };
            let desired = hpa.sync(t, current, &self.pods, &wl.pods, wl.arrival_rate_milli);
            if desired != current {
                // The pods change from here: the steady step so far ends now.
                self.end_steady_stretch();
                if desired > current {
                    self.workloads[w].run.scale_ups += 1;
                } else {
                    self.workloads[w].run.scale_downs += 1;
                }
                self.workloads[w].desired = desired;
                self.sync_deployment(w, t);
            }
        }
    }

    /// Cluster-autoscaler scale-up: each pool is an option for the pending pods that may run on
    /// it (binpacked onto its provisioning nodes, then new ones); the expander picks the best
    /// option, its pods are taken, and the rest are offered again until no option helps. Node
    /// requests go out in pool order. Pods that fit no empty node of any of their pools are
    /// counted as unfittable.
    fn scale_up(&mut self, t: Millis) {
        let n_pools = self.sc.catalog.pools.len();
        // (pod id, its workload) of every Unscheduled pod, in workload order.
        let mut pending: Vec<(usize, usize)> = Vec::new();
        for (w, wl) in self.workloads.iter().enumerate() {
            for &id in &wl.pods {
                if self.pods[id].status == PodStatus::Unscheduled {
                    pending.push((id, w));
                }
            }
        }
        let mut new_nodes = vec![0u32; n_pools];
        loop {
            let mut best: Option<(usize, u32, Vec<usize>, f64)> = None;
            for (pool, &planned) in new_nodes.iter().enumerate() {
                let takers: Vec<usize> = pending
                    .iter()
                    .enumerate()
                    .filter(|(_, &(_, w))| self.workloads[w].pools.contains(&pool))
                    .map(|(k, _)| k)
                    .collect();
                if takers.is_empty() {
                    continue;
                }
                let reqs: Vec<PodRequests> = takers
                    .iter()
                    .map(|&k| self.pods[pending[k].0].requests)
                    .collect();
                let targets: Vec<usize> = (0..self.nodes.len())
                    .filter(|&i| {
                        let n = &self.nodes[i];
                        n.pool == pool && n.exists() && n.ready_at > t
                    })
                    .collect();
                let owners: Vec<usize> = takers.iter().map(|&k| pending[k].1).collect();
                let (groups, group_of) = self.spread_groups(&owners, &targets, None);
                let spread = SpreadPods {
                    group_of: &group_of,
                    groups: &groups,
                };
                let provisioning: Vec<&Node> = targets.iter().map(|&i| &self.nodes[i]).collect();
                let existing = self
                    .nodes
                    .iter()
                    .filter(|n| n.pool == pool && n.exists())
                    .count() as u32
                    + planned;
                let p = &self.sc.catalog.pools[pool];
                let cap = p.capacity_for_pods();
                let plan = plan_scale_up(&provisioning, existing, &reqs, spread, cap, p.max_nodes);
                if plan.placed.is_empty() {
                    continue;
                }
                let helped: Vec<usize> = plan.placed.iter().map(|&i| takers[i]).collect();
                let score = match self.sc.control_plane.expander {
                    Expander::LeastWaste => {
                        let (cpu, mem) = helped.iter().fold((0.0, 0.0), |(c, m), &k| {
                            let r = self.pods[pending[k].0].requests;
                            (c + r.sched_cpu() as f64, m + r.sched_memory() as f64)
                        });
                        let nodes = f64::from(plan.new_nodes.max(1));
                        let (tc, tm) = (
                            cap.cpu_milli as f64 * nodes,
                            cap.memory_bytes as f64 * nodes,
                        );
                        if plan.new_nodes == 0 {
                            0.0
                        } else {
                            (tc - cpu).max(0.0) / tc + (tm - mem).max(0.0) / tm
                        }
                    }
                    Expander::Price => {
                        f64::from(plan.new_nodes) * p.node_cost_per_hour() / helped.len() as f64
                    }
                };
                if best.as_ref().is_none_or(|b| score < b.3) {
                    best = Some((pool, plan.new_nodes, helped, score));
                }
            }
            let Some((pool, nodes, helped, _)) = best else {
                break;
            };
            new_nodes[pool] += nodes;
            let mut k = 0;
            pending.retain(|_| {
                k += 1;
                !helped.contains(&(k - 1))
            });
        }
        // Pods no pool of theirs can ever hold.
        let mut unfittable = vec![0u32; self.workloads.len()];
        let mut capped = vec![0u32; self.workloads.len()];
        for &(id, w) in &pending {
            let r = self.pods[id].requests;
            let fits_somewhere = self.workloads[w].pools.iter().any(|&pool| {
                let cap = self.sc.catalog.pools[pool].capacity_for_pods();
                r.sched_cpu() <= cap.cpu_milli
                    && r.sched_memory() <= cap.memory_bytes
                    && cap.pods > 0
            });
            unfittable[w] += u32::from(!fits_somewhere);
            capped[w] += u32::from(fits_somewhere);
        }
        for ((wl, u), c) in self.workloads.iter_mut().zip(unfittable).zip(capped) {
            wl.run.unfittable_pods = wl.run.unfittable_pods.max(u);
            wl.run.capped_pods = wl.run.capped_pods.max(c);
        }
        if new_nodes.iter().any(|&c| c > 0) {
            self.end_steady_stretch();
        }
        for (pool, &count) in new_nodes.iter().enumerate() {
            let delay = self.sc.catalog.pools[pool].provisioning_delay;
            for _ in 0..count {
                let d = delay.at(rng::unit(&mut self.provisioning_rng));
                self.new_node(pool, t + d);
                self.last_scale_up = Some(t);
            }
        }
    }

    /// The first autoscaler tick after `t` at which it may act (nothing changing before).
    fn next_autoscaler_run(&self, t: Millis) -> Millis {
        let ca = self.sc.control_plane.autoscaler_interval.max(1);
        let tick = (t / ca + 1) * ca;
        match self.autoscaler_seen {
            _ if self.autoscaler_may_act(tick) => tick,
            // Idle until an unneeded node's timer runs out: the first tick at or after it.
            Some((_, due)) => due.div_ceil(ca).saturating_mul(ca).max(tick),
            None => tick,
        }
    }

    /// Whether a live pod waits for a node (the count, checked against the pods in debug builds).
    fn any_unscheduled(&self) -> bool {
        debug_assert_eq!(
            self.unscheduled as usize,
            self.workloads
                .iter()
                .flat_map(|w| &w.pods)
                .filter(|&&id| self.pods[id].status == PodStatus::Unscheduled)
                .count()
        );
        self.unscheduled > 0
    }

    /// Whether the autoscaler loop at `t` can do anything: pods wait for a node, the cluster
    /// changed since its last run, or an unneeded node's timer runs out. Otherwise the loop
    /// would find exactly what it found last time and change nothing, so the clock need not
    /// stop for it.
    fn autoscaler_may_act(&self, t: Millis) -> bool {
        match self.autoscaler_seen {
            Some((changes, next_due))
                if self.skip_idle_autoscaler && changes == self.cluster_changes && t < next_due =>
            {
                self.any_unscheduled()
            }
            _ => true,
        }
    }

    fn autoscale(&mut self, t: Millis) {
        // Changes the loop itself makes (nodes added or drained) let the next loop run too.
        let changes = self.cluster_changes;
        self.autoscale_loop(t);
        // When the timers run out: an unneeded node becomes due for removal (no earlier than
        // the scale-down delay after the last scale-up). A node already due that stayed stays
        // until something changes (pool minimum, pods that fit nowhere else).
        let cp = &self.sc.control_plane;
        let delay_end = self.last_scale_up.map(|s| s + SCALE_DOWN_DELAY_AFTER_ADD);
        let next_due = self
            .nodes
            .iter()
            .filter(|n| n.is_ready(t))
            .filter_map(|n| n.unneeded_since)
            .map(|s| {
                let due = s + cp.scale_down_unneeded_time;
                delay_end.map_or(due, |d| due.max(d))
            })
            .filter(|&due| due > t)
            .min()
            .unwrap_or(Millis::MAX);
        self.autoscaler_seen = Some((changes, next_due));
    }

    /// Whether evicting the pods `on_node` keeps every floored workload at its floor of ready
    /// pods: the floor stands for a PodDisruptionBudget with `minAvailable` = floor, which the
    /// cluster autoscaler's drain respects (a node whose pods exceed a budget's
    /// `disruptionsAllowed` = healthy − minAvailable is not removed).
    fn disruption_allowed(&self, on_node: &[usize]) -> bool {
        self.workloads.iter().enumerate().all(|(w, wl)| {
            let floor = self.sc.services[wl.service].min_replicas;
            if floor <= 1 {
                return true;
            }
            let evicted = on_node
                .iter()
                .filter(|&&id| self.pods[id].workload == w && self.pods[id].ready)
                .count() as u32;
            evicted == 0 || wl.serving.saturating_sub(evicted) >= floor
        })
    }

    fn autoscale_loop(&mut self, t: Millis) {
        let cp = self.sc.control_plane.clone();
        // Scale-up for pods that found no node.
        if self.any_unscheduled() {
            self.scale_up(t);
        }
        // Scale-down of nodes unneeded for long enough.
        let threshold = cp.scale_down_utilization_threshold;
        for n in self.nodes.iter_mut().filter(|n| n.is_ready(t)) {
            if n.utilization() < threshold {
                n.unneeded_since.get_or_insert(t);
            } else {
                n.unneeded_since = None;
            }
        }
        if self
            .last_scale_up
            .is_some_and(|s| t < s + SCALE_DOWN_DELAY_AFTER_ADD)
        {
            return;
        }
        let mut drained_one = false;
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            let due = n.is_ready(t)
                && n.unneeded_since
                    .is_some_and(|s| t >= s + cp.scale_down_unneeded_time);
            if !due {
                continue;
            }
            let pool = n.pool;
            let in_pool = self
                .nodes
                .iter()
                .filter(|m| m.pool == pool && m.exists())
                .count() as u32;
            if in_pool <= self.min_nodes(pool) {
                continue;
            }
            let on_node: Vec<usize> = self
                .workloads
                .iter()
                .flat_map(|w| w.pods.iter().copied())
                .filter(|&id| self.pods[id].node == Some(i) && self.pods[id].is_active())
                .collect();
            if !on_node.is_empty() {
                if drained_one || !self.disruption_allowed(&on_node) {
                    continue;
                }
                let reqs: Vec<PodRequests> =
                    on_node.iter().map(|&id| self.pods[id].requests).collect();
                let targets: Vec<usize> = (0..self.nodes.len())
                    .filter(|&j| {
                        let m = &self.nodes[j];
                        j != i && m.pool == pool && m.is_ready(t)
                    })
                    .collect();
                let owners: Vec<usize> = on_node.iter().map(|&id| self.pods[id].workload).collect();
                let (groups, group_of) = self.spread_groups(&owners, &targets, Some(i));
                let spread = SpreadPods {
                    group_of: &group_of,
                    groups: &groups,
                };
                let others: Vec<&Node> = targets.iter().map(|&j| &self.nodes[j]).collect();
                if !pods_fit_elsewhere(&others, &reqs, spread) {
                    continue;
                }
                drained_one = true;
            }
            self.end_steady_stretch();
            self.nodes[i].removed_at = Some(t);
            self.cluster_changes += 1;
            for id in on_node {
                let w = self.pods[id].workload;
                self.workloads[w].run.evictions += 1;
                self.delete_pod(id, t);
                self.sync_deployment(w, t);
            }
        }
    }

    fn fluid_step(&mut self, t: Millis, dt_ms: Millis) {
        self.step_start = t;
        let dt = dt_ms as f64 / 1000.0;
        // Working sets per node, summed as the pods' usage is set (recounted if a pod is
        // OOM-killed during the step).
        self.node_memory.clear();
        self.node_memory.resize(self.nodes.len(), 0.0);
        let mut pressure = false;
        let mut killed = false;
        // Whether this step leaves every input of the next one as it found it (backlog,
        // admitted share, pools, memory): then the next one repeats its rates.
        let mut steady = true;
        self.downstream.iter_mut().for_each(|d| *d = 0.0);
        let rates = &mut self.rates;
        rates.workloads.clear();
        rates
            .workloads
            .resize(self.workloads.len(), WorkloadRates::default());
        rates.objectives.clear();
        rates.weights.clear();
        rates.pools.clear();
        rates.pools.resize(self.pools.len(), PoolRates::default());
        rates.servers.clear();
        self.callers.clear();
        let mut class_base = 0;
        for w in 0..self.workloads.len() {
            let si = self.workloads[w].service;
            let svc = &self.sc.services[si];
            let lambda = if svc.downstream_only {
                self.downstream[si]
            } else {
                let days = &self.days;
                let src = &mut self.workloads[w].arrivals;
                svc.rate.as_ref().map_or(0.0, |r| src.rate(r, t, days))
            };
            let n_classes = svc.profile.classes.len();
            let wl = &mut self.workloads[w];
            wl.lambda = lambda;
            let ready = wl.serving;
            let before = (wl.backlog_core_s, wl.queue_wait_s, wl.admitted);
            wl.run.ready_min = wl.run.ready_min.min(ready);
            wl.run.ready_max = wl.run.ready_max.max(ready);
            let arrivals = lambda * dt;
            let rw = &mut self.rates.workloads[w];
            rw.arrivals = lambda;
            let mut served_per_s_ready_pod = 0.0;
            let (cpu_ready_cores, mem_ready) = if wl.request_model.is_some() {
                steady = false;
                self.requests_step(w, t, dt_ms, lambda, class_base)
            } else if ready == 0 || lambda <= 0.0 {
                wl.backlog_core_s = 0.0;
                wl.queue_wait_s = 0.0;
                if arrivals > 0.0 {
                    rw.rejected = lambda;
                    for c in 0..n_classes {
                        if let Some(o) = self.objective_of[si][c] {
                            let share = svc.profile.classes[c].share;
                            let a = lambda * share;
                            self.rates.objectives.push((o, a, a));
                        }
                    }
                }
                self.in_flight.clear();
                (wl.model.idle_cores, wl.model.base_memory)
            } else {
                let m = &mut wl.model;
                let lambda_pod = lambda / f64::from(ready);
                // Only admitted requests bring work (the last step's admitted share).
                let work = lambda_pod * m.mean_cpu_s * wl.admitted;
                let cap = m.saturation_cores;
                let b0 = wl.backlog_core_s;
                let mut b1 = (b0 + (work - cap) * dt).max(0.0);
                let max_backlog = m.max_backlog_core_s(lambda_pod);
                let mut shed = 0.0;
                if b1 > max_backlog {
                    shed = (b1 - max_backlog) / m.mean_cpu_s.max(1e-9) * f64::from(ready);
                    b1 = max_backlog;
                }
                wl.backlog_core_s = b1;
                let busy = if b1 > 0.0 {
                    cap
                } else {
                    (work + b0 / dt).min(cap)
                };
                let mut wait_s = (b0 + b1) / 2.0 / cap;
                wl.queue_wait_s = wait_s;
                // Client pools: checkout waits add to the latency, failures to the errors.
                self.pool_fail.clear();
                self.pool_fail.resize(n_classes, 0.0);
                let procs = f64::from(m.workers.max(1));
                // Requests check connections out while they are handled: at the pod's
                // completion rate (its busy cores over the CPU per request), which leaves out
                // the requests the concurrency limit rejects or the backlog bound sheds and
                // never exceeds what the pod can serve.
                let handled_pod = if m.mean_cpu_s > 0.0 {
                    busy / m.mean_cpu_s
                } else {
                    lambda_pod * wl.admitted
                };
                for ps in &mut wl.client_pools {
                    let per_request = ps.ops_per_request;
                    let capacity = ps.pool.max_size.saturating_sub(ps.lost);
                    let ops_per_s = handled_pod / procs * per_request;
                    let step = match ps.last_step {
                        Some((c, o, step)) if c == capacity && o == ops_per_s => step,
                        _ => {
                            let step = crate::sim::pools::pool_step(
                                &ps.pool, capacity, ops_per_s, ps.hold_s,
                            );
                            ps.last_step = Some((capacity, ops_per_s, step));
                            step
                        }
                    };
                    ps.in_use = step.in_use;
                    let target = match ps.pool.max_idle_s {
                        None => ps.open.max(step.needed),
                        Some(_) => step.needed,
                    }
                    .max(f64::from(ps.pool.min_size));
                    let establish = crate::sim::pools::establish_wait(
                        &ps.pool,
                        (ps.open, target),
                        (ps.ready_before, ready),
                        ps.handshake_s,
                        ops_per_s,
                        dt,
                    );
                    steady &= ps.ready_before == ready && ps.open == establish.open;
                    ps.ready_before = ready;
                    ps.open = establish.open;
                    wl.run.pool_wait_p99_s = wl.run.pool_wait_p99_s.max(step.wait_p99_s);
                    if step.mean_wait_s.is_finite() {
                        wait_s += per_request * (step.mean_wait_s + establish.wait_per_op_s);
                    }
                    let fail = (step.fail_per_op + ps.refused).min(1.0);
                    if ps.survive.0 != fail {
                        // (1 − fail)^ops is 1 when 1 − fail rounds to 1 (a pool that fails
                        // nothing, or less than half an ulp of 1): no power to take.
                        ps.survive.1.clear();
                        ps.survive.1.extend(ps.ops.iter().map(|&ops| {
                            if 1.0 - fail < 1.0 {
                                (1.0 - fail).powf(ops)
                            } else {
                                1.0
                            }
                        }));
                        ps.survive.0 = fail;
                    }
                    for (f, &ok) in self.pool_fail.iter_mut().zip(&ps.survive.1) {
                        *f = 1.0 - (1.0 - *f) * ok;
                    }
                }
                if wl.wait_bin.0 != wait_s {
                    let bin = if wait_s > latency::FIRST_EDGE_S {
                        latency::bin_of(wait_s) as u16
                    } else {
                        0
                    };
                    wl.wait_bin = (wait_s, bin);
                }
                let wait_bin = wl.wait_bin.1;
                let si_state = m.state(lambda_pod, wait_bin);
                let st = m.state_law(si_state);
                rw.ready_pods = f64::from(ready);
                rw.throttled_pods = st.throttled_ratio * f64::from(ready);
                wl.admitted = 1.0 - st.rejected;
                let shed_frac = if arrivals > 0.0 {
                    (shed / arrivals).min(1.0)
                } else {
                    0.0
                };
                let refused = (st.rejected + shed_frac).min(1.0);
                served_per_s_ready_pod = lambda_pod * (1.0 - refused);
                let mut mem = m.base_memory;
                self.in_flight.clear();
                for c in 0..n_classes {
                    let cm = &m.classes[c];
                    // Per second.
                    let a = lambda * cm.share;
                    let rejected = a * refused;
                    let served = a - rejected;
                    let outcome = st.classes[c];
                    let timed_out = served * outcome.timed_out;
                    let pool_failed = (served - timed_out) * self.pool_fail[c];
                    rw.rejected += rejected;
                    rw.timed_out += timed_out;
                    rw.pool_errors += pool_failed;
                    // Requests the concurrency limit rejects hold no memory (found by the
                    // request-level validation: counting them OOM-killed overloaded pods).
                    let in_flight = lambda_pod * cm.share * outcome.mean_latency * (1.0 - refused);
                    self.in_flight.push(in_flight);
                    mem += in_flight * cm.memory_per_request;
                    let slot = self.objective_of[si][c].map(|o| {
                        self.rates.weights.push((o, outcome.law, served));
                        self.rates
                            .objectives
                            .push((o, a, rejected + timed_out + pool_failed));
                        self.rates.objectives.len() - 1
                    });
                    let calls = &self.calls[class_base + c];
                    for &(server, ops) in calls {
                        self.downstream[server] += served * ops;
                    }
                    if !calls.is_empty() {
                        self.callers.push(Caller {
                            workload: w,
                            class: class_base + c,
                            ok: served - timed_out - pool_failed,
                            objective: CallerObjective::Rate(slot),
                        });
                    }
                }
                (m.idle_cores + busy, mem)
            };
            let wl = &self.workloads[w];
            steady &= before == (wl.backlog_core_s, wl.queue_wait_s, wl.admitted);
            class_base += n_classes;
            // Per-pod usage and the efficiency integrals.
            let wl = &mut self.workloads[w];
            let idle = wl.model.idle_cores;
            let base_mem = wl.model.base_memory;
            let memory = &self.sc.services[si].profile.memory;
            let workers = wl.model.workers;
            // Memory that grows with the requests served changes every step.
            steady &= memory.growth_per_request.0 == 0 || wl.running == 0;
            let per_process_oom =
                self.sc.control_plane.oom_kill == crate::model::scenario::OomKill::Process;
            let mut worker_kills: Vec<usize> = Vec::new();
            let (mut cpu_used, mut mem_used, mut cpu_req, mut mem_req) = (0.0, 0.0, 0.0, 0.0);
            let mut bound = 0u32;
            let mut pending = 0u32;
            let mut running = 0u32;
            let mut active = 0u32;
            // The node of the first ready pod, and whether another ready pod runs elsewhere.
            let (mut ready_node, mut spread) = (None, false);
            for &id in &wl.pods {
                let p = &mut self.pods[id];
                if p.ready && p.status == PodStatus::Running {
                    match ready_node {
                        None => ready_node = p.node,
                        Some(n) => spread |= p.node != Some(n),
                    }
                }
                active += u32::from(p.is_active());
                match p.status {
                    PodStatus::Unscheduled => pending += 1,
                    PodStatus::Starting => {
                        bound += 1;
                        pending += 1;
                    }
                    PodStatus::Running => {
                        bound += 1;
                        running += 1;
                        let usage = wl.request_model.as_ref().and_then(|rm| rm.usage(id));
                        let (c, mut m) = if let (true, Some(u)) = (p.ready, usage) {
                            p.served_per_s = u.served / dt;
                            (idle + u.cpu_cores, base_mem + u.memory_bytes)
                        } else if p.ready {
                            p.served_per_s = served_per_s_ready_pod;
                            (cpu_ready_cores, mem_ready)
                        } else {
                            p.served_per_s = 0.0;
                            (idle, base_mem)
                        };
                        // Metrics and usage are the pod's: app plus sidecars.
                        p.cpu_cores = c + wl.sidecar_cpu_cores;
                        advance(p, dt_ms);
                        m += memory.growth_bytes(p.served, workers);
                        if p.ready {
                            m += wl.connection_memory;
                            wl.run.peak_pod_memory_bytes = wl.run.peak_pod_memory_bytes.max(m);
                        }
                        let app_over = wl.memory_limit.is_some_and(|l| m > l);
                        if app_over
                            && !wl.sidecar_oom
                            && per_process_oom
                            && workers > 1
                            && memory.growth_per_request.0 > 0
                            && p.served > 0.0
                        {
                            // The largest process goes alone: a worker that grew the most
                            // (they serve alike), which the master replaces at its resting
                            // size; its share of the requests in flight fails.
                            let share = 1.0 / f64::from(workers);
                            m -= memory.growth_bytes(p.served, workers) * share;
                            p.served *= 1.0 - share;
                            worker_kills.push(id);
                        } else if wl.sidecar_oom || app_over {
                            self.oom.push(id);
                        }
                        let (c, m) = (p.cpu_cores, m + wl.sidecar_memory);
                        p.memory_bytes = m;
                        cpu_used += c;
                        mem_used += m;
                        if let Some(n) = p.node {
                            pressure |= add_node_memory(&mut self.node_memory, &self.nodes, n, m);
                            let pr = &mut self.rates.pools[self.nodes[n].pool];
                            pr.used_cpu_cores += c;
                            pr.used_memory_bytes += m;
                        }
                    }
                    PodStatus::BackOff => bound += 1,
                    PodStatus::Terminating => {
                        if p.node.is_some() {
                            bound += 1;
                        }
                    }
                }
                if p.node.is_some() {
                    // Allocation and efficiency count the running containers' requests
                    // (an init container's are reserved only while the pod is placed).
                    cpu_req += p.requests.scheduled_cpu_milli as f64 / 1000.0;
                    mem_req += p.requests.scheduled_memory_bytes as f64;
                }
            }
            wl.run.peak_pods = wl.run.peak_pods.max(active);
            let rw = &mut self.rates.workloads[w];
            if ready_node.is_some() && !spread {
                rw.single_node = 1.0;
            }
            if wl.serving < self.sc.services[si].min_replicas {
                rw.below_floor = 1.0;
            }
            rw.cpu_usage = cpu_used;
            rw.memory_usage = mem_used;
            rw.cpu_request = cpu_req;
            rw.memory_request = mem_req;
            rw.bound_pods = f64::from(bound);
            rw.pending_pods = f64::from(pending);
            wl.running = running;
            if !worker_kills.is_empty() {
                self.worker_oom_kill(w, &worker_kills, workers, t + dt_ms);
                steady = false;
            }
            if !self.oom.is_empty() {
                self.oom_kill(w, t + dt_ms);
                killed = true;
            }
        }
        self.fail_downstream();
        steady &= self.tally_connections(t, dt_ms);
        let count = &mut self.node_count;
        count.iter_mut().for_each(|c| *c = 0);
        for n in &self.nodes {
            if !n.exists() {
                continue;
            }
            count[n.pool] += 1;
            if !n.is_ready(t) {
                continue;
            }
            let pr = &mut self.rates.pools[n.pool];
            pr.requested_cpu_milli += (n.cpu_requested + n.daemonset_cpu_milli) as f64;
            pr.allocatable_cpu_milli += n.allocatable_cpu_milli as f64;
            pr.requested_memory_bytes += (n.memory_requested + n.daemonset_memory_bytes) as f64;
            pr.allocatable_memory_bytes += n.allocatable_memory_bytes as f64;
        }
        for (pr, &c) in self.pools.iter_mut().zip(count.iter()) {
            pr.peak_nodes = pr.peak_nodes.max(c);
        }
        self.add_rates(dt_ms);
        if killed {
            pressure = self.count_node_memory();
        }
        if pressure {
            self.relieve_memory_pressure(t + dt_ms);
        }
        self.steady = steady && !killed && !pressure;
    }

    /// Fails the step's callers' requests whose calls to a modeled server fail there: a
    /// server that rejects or times out a share `f` of its operations (all of them with no
    /// ready pod) fails a request making `k` calls with probability `1 − (1 − f)^k` (the
    /// client raises, the handler errors). Servers come after their callers in the scenario,
    /// so the workloads are taken last first: a server's own failed calls count before its
    /// callers read its share.
    fn fail_downstream(&mut self) {
        // Most steps, no server fails a call (a server failing only at its own servers has
        // callers' entries of its own that find them).
        let failing = |e: &Caller| {
            self.calls[e.class]
                .iter()
                .any(|&(server, _)| self.server_failure(server) > 0.0)
        };
        if !self.callers.iter().any(failing) {
            return;
        }
        let mut entries = std::mem::take(&mut self.callers);
        for w in (0..self.workloads.len()).rev() {
            for e in entries.iter().filter(|e| e.workload == w) {
                let survive: f64 = self.calls[e.class]
                    .iter()
                    .map(|&(server, ops)| {
                        let f = self.server_failure(server);
                        if f > 0.0 {
                            (1.0 - f).powf(ops)
                        } else {
                            1.0
                        }
                    })
                    .product();
                if survive >= 1.0 {
                    continue;
                }
                let failed = e.ok * (1.0 - survive);
                match e.objective {
                    CallerObjective::Rate(slot) => {
                        self.rates.workloads[w].downstream_errors += failed;
                        if let Some(slot) = slot {
                            self.rates.objectives[slot].2 += failed;
                        }
                    }
                    CallerObjective::Count(objective) => {
                        self.workloads[w].run.downstream_errors += failed;
                        if let Some(o) = objective {
                            self.objectives[o].errors += failed;
                        }
                        if let Some(rm) = self.workloads[w].request_model.as_mut() {
                            rm.downstream_failed += failed;
                        }
                    }
                }
            }
        }
        entries.clear();
        self.callers = entries;
    }

    /// The share of its arrivals the workload of service `server` fails this step (rejected,
    /// timed out, failed at its pools, its pods killed, failed at its own servers); 0 without
    /// arrivals.
    fn server_failure(&self, server: usize) -> f64 {
        // One workload per service, in scenario order: a server's index is its workload's.
        debug_assert_eq!(self.workloads[server].service, server);
        let (arrivals, failed) = match &self.workloads[server].request_model {
            Some(rm) => rm
                .stats
                .iter()
                .fold((0.0, rm.downstream_failed), |(a, f), st| {
                    (
                        a + st.arrivals,
                        f + st.rejected + st.timed_out + st.pool_failed + st.killed,
                    )
                }),
            None => {
                let r = &self.rates.workloads[server];
                (
                    r.arrivals,
                    r.rejected + r.timed_out + r.pool_errors + r.downstream_errors,
                )
            }
        };
        if arrivals > 0.0 {
            (failed / arrivals).min(1.0)
        } else {
            0.0
        }
    }

    /// The request-level step of workload `w` over `[t, t + dt_ms)` at `lambda` requests per
    /// second: runs its [`RequestModel`] on the ready pods and books the step's arrivals,
    /// errors, latencies, throttling and downstream calls as the fluid step does. Returns the
    /// per-pod CPU and memory of an idle pod (each ready pod's own usage comes from the model).
    fn requests_step(
        &mut self,
        w: usize,
        t: Millis,
        dt_ms: Millis,
        lambda: f64,
        class_base: usize,
    ) -> (f64, f64) {
        let dt = dt_ms as f64 / 1000.0;
        let si = self.workloads[w].service;
        self.ready_ids.clear();
        for &id in &self.workloads[w].pods {
            if self.pods[id].is_serving() {
                self.ready_ids.push(id);
            }
        }
        let wl = &mut self.workloads[w];
        let Some(rm) = wl.request_model.as_mut() else {
            return (wl.model.idle_cores, wl.model.base_memory);
        };
        // The servers' refusals of the last step, as the fluid step applies them.
        for ps in &wl.client_pools {
            rm.set_refused(&self.servers[ps.server].run.server, ps.refused);
        }
        rm.step(t, t + dt_ms, lambda, &self.ready_ids);
        // Connections each process holds toward each server: the pool's peak use so far
        // shared over the ready processes (kept open unless idle connections close).
        let procs = (self.ready_ids.len() as f64 * f64::from(wl.model.workers.max(1))).max(1.0);
        let offset = rm.pool_stats.len().saturating_sub(wl.client_pools.len());
        for (ps, stats) in wl.client_pools.iter_mut().zip(&rm.pool_stats[offset..]) {
            let now = stats.in_use as f64 / procs;
            ps.in_use = now;
            let peak = (stats.peak_in_use as f64 / procs).ceil();
            ps.open = match ps.pool.max_idle_s {
                None => ps.open.max(peak),
                Some(_) => now.ceil(),
            }
            .max(f64::from(ps.pool.min_size));
        }
        // What a probe queued behind the requests would wait: their mean worker wait.
        let waits = rm.waits;
        wl.queue_wait_s = if waits.started > 0 {
            waits.wait_ms / waits.started as f64 / 1000.0
        } else {
            0.0
        };
        let pod_s = self.ready_ids.len() as f64 * dt;
        wl.run.ready_pod_seconds += pod_s;
        let (periods, throttled) = rm.periods;
        if periods > 0 {
            wl.run.throttled_pod_seconds += throttled as f64 / periods as f64 * pod_s;
        }
        for (c, st) in rm.stats.iter().enumerate() {
            wl.run.rejected += st.rejected;
            wl.run.timed_out += st.timed_out;
            wl.run.pool_errors += st.pool_failed;
            if let Some(o) = self.objective_of[si][c] {
                let acc = &mut self.objectives[o];
                acc.arrivals += st.arrivals;
                acc.errors += st.rejected + st.timed_out + st.pool_failed;
                let direct = acc.direct.get_or_insert_with(Histogram::default);
                for (m, x) in direct.mass.iter_mut().zip(st.latency.mass.iter()) {
                    *m += x;
                }
            }
            let calls = &self.calls[class_base + c];
            for &(server, ops) in calls {
                self.downstream[server] += st.served / dt * ops;
            }
            if !calls.is_empty() {
                self.callers.push(Caller {
                    workload: w,
                    class: class_base + c,
                    // Answered in time (the timed out answered late or were dropped).
                    ok: (st.served - st.timed_out).max(0.0),
                    objective: CallerObjective::Count(self.objective_of[si][c]),
                });
            }
        }
        (wl.model.idle_cores, wl.model.base_memory)
    }

    /// Fails the requests pod `id` still holds under the request-level engine (its container
    /// was killed, evicted, or its grace period ended) and counts them as errors.
    fn drop_requests(&mut self, id: usize) {
        let w = self.pods[id].workload;
        if let Some(rm) = self.workloads[w].request_model.as_mut() {
            rm.kill(id);
            self.count_lost_requests(w);
        }
    }

    /// Counts the requests the request-level engine of workload `w` just lost
    /// (`RequestModel::lost`) as killed, and as errors in their SLA objectives.
    fn count_lost_requests(&mut self, w: usize) {
        let si = self.workloads[w].service;
        let wl = &mut self.workloads[w];
        let Some(rm) = wl.request_model.as_ref() else {
            return;
        };
        for (c, &lost) in rm.lost.iter().enumerate() {
            wl.run.killed_requests += lost;
            if let Some(o) = self.objective_of[si][c] {
                self.objectives[o].fail_in_flight(lost);
            }
        }
    }

    /// Connections at each downstream server after a step: every running pod's processes keep
    /// their pools' open connections and their monitors. Over the server's limit, the excess is
    /// refused: that share of each pool's connections fails its checkouts in the next step. A
    /// failover inside the step costs leaking pools one slot per connection in flight. New
    /// processes and growing pools count as opened connections (the storm figures), and a
    /// server that is a workload of the scenario holds its connections' memory on its ready
    /// pods in the next step. Returns whether every tally input of the next step (open
    /// connections, refused shares, connection memory) stayed as it was.
    fn tally_connections(&mut self, t: Millis, dt_ms: Millis) -> bool {
        if self.servers.is_empty() {
            return true;
        }
        let mut steady = true;
        for s in &mut self.servers {
            s.connections = 0.0;
            s.pool_connections = 0.0;
            s.opened = 0.0;
            s.opens_first_second = 0.0;
        }
        for wl in &mut self.workloads {
            let procs = f64::from(wl.running) * f64::from(wl.model.workers.max(1));
            for ps in &mut wl.client_pools {
                let server = &mut self.servers[ps.server];
                let open = ps
                    .open
                    .min(f64::from(ps.pool.max_size.saturating_sub(ps.lost)));
                let (opened, first_second) = crate::sim::pools::connection_opens(
                    &ps.pool,
                    ps.tallied,
                    (procs, open),
                    ps.handshake_s,
                );
                steady &= ps.tallied == (procs, open);
                ps.tallied = (procs, open);
                server.opened += opened;
                server.opens_first_second += first_second;
                server.pool_connections += procs * open;
                server.connections += procs * (open + f64::from(ps.pool.monitors_per_member));
                if ps.pool.leaks_on_failover
                    && server.failovers.iter().any(|&f| f >= t && f < t + dt_ms)
                {
                    let in_flight = ps.in_use.round() as u32;
                    let capacity = ps.pool.max_size.saturating_sub(ps.lost);
                    ps.lost += in_flight.min(capacity);
                    steady = false;
                    wl.run.pool_slots_lost = ps.lost;
                }
            }
        }
        for s in &mut self.servers {
            s.run.peak_connections = s.run.peak_connections.max(s.connections);
            let excess = s
                .limit
                .map_or(0.0, |l| (s.connections - f64::from(l)).max(0.0));
            self.rates.servers.push((s.connections, excess));
            s.run.opened_connections += s.opened;
            s.run.peak_opens_per_s = s.run.peak_opens_per_s.max(s.opens_first_second);
            s.refused_share = if s.pool_connections > 0.0 {
                (excess / s.pool_connections).min(1.0)
            } else {
                0.0
            };
        }
        for wl in &mut self.workloads {
            for ps in &mut wl.client_pools {
                steady &= ps.refused == self.servers[ps.server].refused_share;
                ps.refused = self.servers[ps.server].refused_share;
            }
        }
        for s in &self.servers {
            if let Some(w) = s.workload {
                let wl = &mut self.workloads[w];
                let memory = crate::sim::pools::connection_memory_per_pod(
                    s.connections,
                    s.bytes_per_connection,
                    wl.serving,
                );
                steady &= wl.connection_memory == memory;
                wl.connection_memory = memory;
            }
        }
        steady
    }

    /// Kubelet eviction under node memory pressure: while the working sets of a node's pods
    /// exceed what the node offers them (allocatable, which already holds back the eviction
    /// threshold, less DaemonSet requests), evict the pod that exceeds its memory request the
    /// most (BestEffort pods, with no request, first), as `rankMemoryPressure` orders them. The
    /// ReplicaSet replaces evicted pods. Called with each node's working set in `node_memory`
    /// when some node is over its capacity.
    fn relieve_memory_pressure(&mut self, t: Millis) {
        for n in 0..self.nodes.len() {
            while self.node_memory[n] > self.nodes[n].capacity.memory_bytes as f64 {
                let victim = self
                    .workloads
                    .iter()
                    .flat_map(|w| w.pods.iter().copied())
                    .filter(|&id| {
                        let p = &self.pods[id];
                        p.node == Some(n) && p.status == PodStatus::Running
                    })
                    .max_by(|&a, &b| {
                        let excess = |id: usize| {
                            let p = &self.pods[id];
                            p.memory_bytes - p.requests.sched_memory() as f64
                        };
                        excess(a).total_cmp(&excess(b)).then(b.cmp(&a))
                    });
                let Some(id) = victim else {
                    break;
                };
                self.node_memory[n] -= self.pods[id].memory_bytes;
                let w = self.pods[id].workload;
                self.workloads[w].run.pressure_evictions += 1;
                self.delete_pod(id, t);
                self.on_pod_gone_now(id);
                self.sync_deployment(w, t);
            }
        }
    }

    /// Sums the running pods' working sets per node into `node_memory`; whether some node is
    /// over its capacity.
    fn count_node_memory(&mut self) -> bool {
        self.node_memory.clear();
        self.node_memory.resize(self.nodes.len(), 0.0);
        let mut pressure = false;
        for w in &self.workloads {
            for &id in &w.pods {
                let p = &self.pods[id];
                if let (Some(n), PodStatus::Running) = (p.node, p.status) {
                    pressure |=
                        add_node_memory(&mut self.node_memory, &self.nodes, n, p.memory_bytes);
                }
            }
        }
        pressure
    }

    /// An evicted pod's resources leave the node at once (the kubelet killed it).
    fn on_pod_gone_now(&mut self, id: usize) {
        self.drop_requests(id);
        if let Some(n) = self.pods[id].node.take() {
            let req = self.pods[id].requests;
            self.nodes[n].release(&req);
        }
        self.need_schedule = true;
        self.cluster_changes += 1;
    }

    /// The OOM killer took one worker process of each pod in `ids` at `t` (`oom_kill:
    /// process`): the requests it held fail (the fluid model: its share, 1 of `workers`, of
    /// the pod's requests in flight; the request-level engine: the requests on that process);
    /// the container keeps running, ready, with no restart (the master forks a fresh worker).
    fn worker_oom_kill(&mut self, w: usize, ids: &[usize], workers: u32, t: Millis) {
        let si = self.workloads[w].service;
        let share = 1.0 / f64::from(workers.max(1));
        for &id in ids {
            self.workloads[w].run.worker_oom_kills += 1;
            if let Some(rm) = self.workloads[w].request_model.as_mut() {
                // The request-level engine knows which requests the process held.
                rm.kill_worker(id, t as f64);
                self.count_lost_requests(w);
            } else if self.pods[id].ready {
                self.lose_fluid_in_flight(w, si, share);
            }
        }
    }

    /// Fails `share` of one ready pod's in-flight requests of workload `w` (service `si`)
    /// under the fluid model (`self.in_flight`, per class, from the last step): killed
    /// requests, and errors in their SLA objectives.
    fn lose_fluid_in_flight(&mut self, w: usize, si: usize, share: f64) {
        for (c, &lost) in self.in_flight.iter().enumerate() {
            let lost = lost * share;
            self.workloads[w].run.killed_requests += lost;
            if let Some(o) = self.objective_of[si][c] {
                self.objectives[o].fail_in_flight(lost);
            }
        }
    }

    /// Kills the containers in `self.oom` (working set above the memory limit at the end of
    /// the step): their in-flight requests fail, they leave the endpoints, and they restart
    /// after the kubelet's back-off (10 s doubling to 5 min, reset after 10 min of running).
    fn oom_kill(&mut self, w: usize, t: Millis) {
        let si = self.workloads[w].service;
        let restart_delay = self.sc.services[si].profile.restart_delay;
        let victims = std::mem::take(&mut self.oom);
        for &id in &victims {
            if self.workloads[w].request_model.is_some() {
                self.drop_requests(id);
            }
            let p = &mut self.pods[id];
            if p.ready {
                self.workloads[w].serving -= 1;
                if self.workloads[w].request_model.is_none() {
                    self.lose_fluid_in_flight(w, si, 1.0);
                }
            }
            let p = &mut self.pods[id];
            p.ready = false;
            p.probe_failing = false;
            p.ready_transition = Some(t);
            p.status = PodStatus::BackOff;
            p.sample = None;
            p.restarts += 1;
            p.served = 0.0;
            let (backoff, next) =
                crate::k8s::pod::restart_backoff(p.next_backoff, p.running_at.unwrap_or(0), t);
            p.next_backoff = next;
            let run = &mut self.workloads[w].run;
            run.oom_kills += 1;
            run.restarts += 1;
            if backoff > crate::k8s::pod::INITIAL_BACKOFF {
                run.crash_loop_restarts += 1;
            }
            self.push(t + backoff + restart_delay, EventKind::PodRunning, id);
        }
        self.oom = victims;
        self.oom.clear();
    }

    fn close_window(&mut self, start: Millis) {
        let mut figures = Vec::with_capacity(self.objectives.len());
        for o in &mut self.objectives {
            // `hist` is empty between windows; only the bins the window's laws cover get mass.
            let model = &self.workloads[o.service].model;
            let (mut first, mut end) = (latency::BINS, 0);
            for &i in &o.touched {
                let law = model.law(i);
                let bins = law.bins();
                (first, end) = (first.min(bins.start), end.max(bins.end));
                self.hist.add_law(law, o.weights[i as usize]);
                o.weights[i as usize] = 0.0;
            }
            o.touched.clear();
            if let Some(direct) = &mut o.direct {
                for (m, d) in self.hist.mass.iter_mut().zip(direct.mass.iter()) {
                    *m += d;
                }
                direct.clear();
                (first, end) = (0, latency::BINS);
            }
            let within = first.min(end)..end;
            let [p50, p95, p99] = self
                .hist
                .quantiles_within(within.clone(), [0.50, 0.95, 0.99]);
            self.hist.clear_within(within);
            figures.push(ObjectiveWindow {
                arrivals: o.arrivals,
                // The request engine counts a failure when it happens, an arrival when it
                // arrives: right after an overload a window can see more failures (of the last
                // window's arrivals) than arrivals. Its error rate is then 100 %, not more.
                errors: o.errors.min(o.arrivals),
                p50_s: p50.unwrap_or(0.0),
                p95_s: p95.unwrap_or(0.0),
                p99_s: p99.unwrap_or(0.0),
            });
            o.arrivals = 0.0;
            o.errors = 0.0;
        }
        self.windows.push(WindowRun {
            start,
            objectives: figures,
        });
    }

    fn sample_timeline(&mut self, t: Millis) {
        let mut nodes = vec![0u32; self.pools.len()];
        for n in self.nodes.iter().filter(|n| n.exists()) {
            nodes[n.pool] += 1;
        }
        let mut util = Vec::with_capacity(self.workloads.len());
        for w in &self.workloads {
            let mut sum = 0.0;
            let mut k = 0.0;
            for &id in &w.pods {
                let p = &self.pods[id];
                if let (true, Some(s), Some(r)) = (p.is_serving(), p.sample, p.requests.cpu_milli) {
                    if r > 0 {
                        sum += s.cpu_milli as f64 / r as f64;
                        k += 1.0;
                    }
                }
            }
            util.push(if k > 0.0 { sum / k } else { 0.0 });
        }
        self.timeline.push(TimelinePoint {
            at: t,
            desired: self.workloads.iter().map(|w| w.desired).collect(),
            ready: self.workloads.iter().map(|w| w.serving).collect(),
            nodes,
            cpu_utilization: util,
        });
    }

    fn finish(mut self) -> RunResult {
        let horizon = self.sc.horizon;
        for n in &self.nodes {
            let end = n.removed_at.unwrap_or(horizon).min(horizon);
            self.pools[n.pool].node_seconds += end.saturating_sub(n.created_at) as f64 / 1000.0;
        }
        let workloads = self
            .workloads
            .into_iter()
            .map(|mut w| {
                if w.run.ready_min == u32::MAX {
                    w.run.ready_min = 0;
                }
                if let Some(rm) = &w.request_model {
                    w.run.request_events = rm.events;
                    // The p99 of the run's granted checkout waits, per pool (the fluid model
                    // keeps the worst step's).
                    for stats in &rm.pool_stats {
                        let p99 = stats.wait.quantile(0.99).unwrap_or(0.0);
                        w.run.pool_wait_p99_s = w.run.pool_wait_p99_s.max(p99);
                    }
                }
                self.sc.model_cache.checkin(w.model_key, w.model);
                w.run
            })
            .collect();
        let horizon_s = horizon as f64 / 1000.0;
        let servers = self
            .servers
            .into_iter()
            .map(|mut s| {
                if horizon_s > 0.0 {
                    s.run.mean_connections /= horizon_s;
                }
                s.run
            })
            .collect();
        RunResult {
            horizon,
            pools: self.pools,
            workloads,
            windows: self.windows,
            timeline: self.timeline,
            servers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load::Files;

    /// The bundled default scenario cut to its first `hours`.
    fn default_scenario_hours(hours: Millis) -> Scenario {
        let mut sc = crate::model::build::load_scenario(
            Files::Embedded,
            std::path::Path::new("models/scenarios/default.yaml"),
        )
        .unwrap();
        sc.horizon = hours * 60 * MINUTE;
        sc
    }

    /// Killing pods that hold requests never makes a window's errors exceed its arrivals: with
    /// far too many workers per pod (validation bypassed) the backend is OOM-killed over and
    /// over while it rejects its traffic, and counting the killed in-flight requests on top of
    /// the rejected ones gave error rates above 100 %.
    #[test]
    fn errors_never_exceed_arrivals_when_pods_are_killed() {
        let mut sc = default_scenario_hours(6);
        let b = sc.service_index("backend").unwrap();
        sc.services[b].profile.workers = 100_000;
        let mut sim = Sim::new(&sc, &sc.baseline, 1, &Options::default());
        sim.run();
        let run = sim.finish();
        assert!(run.workloads[b].oom_kills > 0, "the backend is OOM-killed");
        for w in &run.windows {
            for o in &w.objectives {
                assert!(
                    o.errors <= o.arrivals * (1.0 + 1e-12),
                    "window at {}: {} errors of {} arrivals",
                    w.start,
                    o.errors,
                    o.arrivals
                );
            }
        }
    }

    /// The autoscaler loops the clock skips are the ones that would change nothing: a day of
    /// the default scenario with every loop run gives the same node history, scale events and
    /// pending time (up to the rounding of steps cut at the skipped ticks).
    /// A server down fails its callers: with no Redis pod, every backend request (both of its
    /// classes call Redis) fails at its Redis calls, the frontend's (no calls) do not, and a
    /// Redis pod back serves them all again. 2 h of the default scenario under the fluid
    /// model, 20 minutes under the request-level one.
    #[test]
    fn a_server_without_ready_pods_fails_the_requests_that_call_it() {
        let sc = default_scenario_hours(2);
        let mut config = sc.baseline.clone();
        config.workloads.get_mut("redis").unwrap().replicas = 0;
        let [b, f, r] = ["backend", "frontend", "redis"].map(|n| sc.service_index(n).unwrap());
        let run = |config: &Config| {
            let mut sim = Sim::new(&sc, config, 1, &Options::default());
            sim.run();
            sim.finish()
        };
        let down = run(&config);
        let backend = &down.workloads[b];
        let handled = backend.arrivals - backend.rejected - backend.timed_out - backend.pool_errors;
        assert!(backend.arrivals > 100_000.0, "{}", backend.arrivals);
        assert!(
            (backend.downstream_errors - handled).abs() < 1e-6 * handled,
            "{} of {handled}",
            backend.downstream_errors
        );
        assert!(down.workloads[r].rejected > 0.0);
        assert_eq!(down.workloads[f].downstream_errors, 0.0);
        let errors = |run: &RunResult, objective: usize| -> (f64, f64) {
            run.windows.iter().fold((0.0, 0.0), |(e, a), w| {
                (
                    e + w.objectives[objective].errors,
                    a + w.objectives[objective].arrivals,
                )
            })
        };
        // Objectives: backend/api, backend/llm, frontend/static.
        for o in 0..2 {
            let (e, a) = errors(&down, o);
            assert!(e > 0.999 * a, "objective {o}: {e} errors of {a}");
        }
        assert_eq!(errors(&down, 2).0, 0.0);
        let up = run(&sc.baseline);
        assert_eq!(up.workloads[b].downstream_errors, 0.0);
        assert!(errors(&up, 0).0 < 1e-3 * errors(&up, 0).1);

        // The request-level engine counts the same failures (its first 20 minutes).
        let mut short = sc.clone();
        short.horizon = 20 * MINUTE;
        let options = Options {
            load_model: LoadModel::Requests(crate::sim::requests::RequestOptions::default()),
            ..Options::default()
        };
        let mut sim = Sim::new(&short, &config, 1, &options);
        sim.run();
        let down = sim.finish();
        let backend = &down.workloads[b];
        assert!(backend.arrivals > 10_000.0, "{}", backend.arrivals);
        assert!(
            backend.downstream_errors > 0.99 * (backend.arrivals - backend.rejected),
            "{} of {} arrivals",
            backend.downstream_errors,
            backend.arrivals
        );
        // The request engine fails a request when it is answered: the LLM requests still in
        // flight at the horizon (up to ~17 s each) are arrivals without an outcome.
        for o in 0..2 {
            let (e, a) = errors(&down, o);
            assert!(e > 0.97 * a, "objective {o}: {e} errors of {a}");
        }
        assert_eq!(errors(&down, 2).0, 0.0);
    }

    #[test]
    fn skipped_autoscaler_loops_change_nothing() {
        let sc = default_scenario_hours(24);
        let run = |skip: bool| {
            let mut sim = Sim::new(&sc, &sc.baseline, 1, &Options::default());
            sim.skip_idle_autoscaler = skip;
            sim.run();
            let nodes: Vec<(usize, Millis, Millis, Option<Millis>)> = sim
                .nodes
                .iter()
                .map(|n| (n.pool, n.created_at, n.ready_at, n.removed_at))
                .collect();
            (nodes, sim.finish())
        };
        let (skipped_nodes, skipped) = run(true);
        let (all_nodes, all) = run(false);
        assert!(
            skipped_nodes.iter().any(|n| n.3.is_some()),
            "a node is removed"
        );
        assert_eq!(skipped_nodes, all_nodes);
        for (a, b) in skipped.workloads.iter().zip(&all.workloads) {
            assert_eq!(
                (a.scale_ups, a.scale_downs, a.evictions),
                (b.scale_ups, b.scale_downs, b.evictions)
            );
            approx::assert_relative_eq!(
                a.pending_pod_seconds,
                b.pending_pod_seconds,
                max_relative = 1e-9
            );
        }
    }

    /// Whether two JSON values agree: numbers within `rel` (relative, or 1e-6 absolute near
    /// zero), everything else exactly; the first difference's path otherwise.
    fn json_close(
        a: &serde_json::Value,
        b: &serde_json::Value,
        rel: f64,
        path: &str,
    ) -> Result<(), String> {
        use serde_json::Value::*;
        match (a, b) {
            (Number(x), Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                let close = (x - y).abs() <= rel * x.abs().max(y.abs()) || (x - y).abs() < 1e-6;
                close.then_some(()).ok_or(format!("{path}: {x} vs {y}"))
            }
            (Array(x), Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .try_for_each(|(i, (x, y))| json_close(x, y, rel, &format!("{path}[{i}]"))),
            (Object(x), Object(y)) if x.len() == y.len() => x.iter().try_for_each(|(k, v)| {
                json_close(
                    v,
                    y.get(k).ok_or(format!("{path}.{k} missing"))?,
                    rel,
                    &format!("{path}.{k}"),
                )
            }),
            _ => (a == b).then_some(()).ok_or(format!("{path}: {a} vs {b}")),
        }
    }

    /// 36 h of the default scenario, its space's candidates and Monte Carlo options for
    /// `replication` (Poisson counts per bin).
    fn space_under_monte_carlo(replication: u64) -> (Scenario, Vec<Config>, Options) {
        let sc = default_scenario_hours(36);
        let configs = crate::search::space::expand(&sc.space, &sc.baseline);
        let options = Options {
            replication,
            variation: crate::sim::arrivals::Variation {
                poisson: true,
                ..Default::default()
            },
            ..Options::default()
        };
        (sc, configs, options)
    }

    /// Merging the fluid steps of steady stretches across scrape-and-sync stops changes
    /// nothing but rounding: every figure of the run (counts, windows, breaches, costs,
    /// usage integrals, the timeline) of candidates across the default space, under Monte
    /// Carlo traffic, equals the run that steps at every stop to 1e-9.
    #[test]
    fn merged_steady_steps_change_nothing_but_rounding() {
        let (sc, configs, options) = space_under_monte_carlo(3);
        let mut compared = 0;
        let picked: Vec<&Config> = configs.iter().step_by(99).collect();
        // Both of the space's maxReplicas are among them.
        for max in ["-6@", "-10@"] {
            assert!(picked.iter().any(|c| c.name.contains(max)), "{max}");
        }
        for config in std::iter::once(&sc.baseline).chain(picked) {
            let run = |merge: bool| {
                let mut sim = Sim::new(&sc, config, 1, &options);
                sim.merge_steady = merge;
                // Merged stops only (the skipped ones are another test's).
                sim.skip_settled = false;
                sim.run();
                (
                    sim.merged_stops,
                    serde_json::to_value(sim.finish()).unwrap(),
                )
            };
            let ((merged_stops, merged), (none, stepped)) = (run(true), run(false));
            // 36 h has 8,640 scrape-and-sync stops; most lie inside steady stretches.
            assert!(
                merged_stops > 4_000 && none == 0,
                "{}: {merged_stops}",
                config.name
            );
            json_close(&merged, &stepped, 1e-9, &config.name).unwrap();
            compared += 1;
        }
        assert_eq!(compared, 9);
    }

    /// A run of `config` with HPA repeats and settled skips on or off.
    fn run_hpa_variant(
        sc: &Scenario,
        config: &Config,
        options: &Options,
        repeat: bool,
        skip: bool,
    ) -> RunResult {
        let mut sim = Sim::new(sc, config, 1, options);
        sim.skip_settled = skip;
        if !repeat {
            for w in &mut sim.workloads {
                w.hpa = w.hpa.take().map(WorkloadHpa::without_repeats);
            }
        }
        sim.run();
        sim.finish()
    }

    /// HPA syncs that repeat the last full reconcile's proposal, and the scrapes and syncs the
    /// clock skips while the HPAs are settled, change nothing: the default space's candidates
    /// under Monte Carlo traffic give byte-identical runs when the clock stops at every sync
    /// and every sync reconciles in full.
    #[test]
    fn repeated_and_skipped_hpa_syncs_change_nothing() {
        let (sc, configs, options) = space_under_monte_carlo(5);
        for config in std::iter::once(&sc.baseline).chain(configs.iter().step_by(121)) {
            let run = |repeat, skip| run_hpa_variant(&sc, config, &options, repeat, skip);
            let full = run(false, false);
            assert_eq!(run(true, false), full, "{}: repeats", config.name);
            assert_eq!(run(true, true), full, "{}: skipped syncs", config.name);
        }
    }

    /// The same holds off the default control plane: a 30 s HPA sync over a 15 s scrape (a
    /// scrape-only stop's HPAs read an older sample, so the clock may not settle there; the
    /// first version did and moved scale events), and an HPA with a behavior (its syncs
    /// repeat, the clock never skips them).
    #[test]
    fn skipped_syncs_change_nothing_off_the_default_control_plane() {
        let (mut sc, configs, options) = space_under_monte_carlo(7);
        sc.control_plane.hpa_sync_period = 30 * SECOND;
        let mut with_behavior = sc.baseline.clone();
        let behavior: crate::model::config::BehaviorConfig = crate::model::load::from_yaml_str(
            "scaleDown: { stabilizationWindowSeconds: 120 }\n",
            "behavior.yaml",
        )
        .unwrap();
        for w in with_behavior.workloads.values_mut() {
            if let Some(h) = w.hpa.as_mut() {
                h.behavior = Some(behavior.clone());
            }
        }
        for config in [&sc.baseline, &with_behavior, &configs[100]] {
            let run = |repeat, skip| run_hpa_variant(&sc, config, &options, repeat, skip);
            let full = run(false, false);
            assert_eq!(run(true, true), full, "{}", config.name);
        }
    }

    /// Runs handed warm models by the scenario's cache give exactly the results of cold runs:
    /// replication 1 after replications 2 and 3 of the same candidate and of one with other CPU
    /// limits (sharing the models they warmed) equals replication 1 on a fresh scenario.
    #[test]
    fn warm_models_give_the_results_of_cold_ones() {
        let load = || default_scenario_hours(12);
        let options = |replication| Options {
            replication,
            ..Options::default()
        };
        let cold_scenario = load();
        let cold = simulate_with(&cold_scenario, &cold_scenario.baseline, 7, &options(1));
        let warm_scenario = load();
        // Another candidate's backend (another CPU limit) warms a model of its own.
        let mut other = warm_scenario.baseline.clone();
        for wc in other.workloads.values_mut() {
            wc.resources.limits.cpu = Some(crate::quantity::MilliCpu(300));
        }
        for r in [2, 3] {
            simulate_with(&warm_scenario, &other, 7, &options(r));
            simulate_with(&warm_scenario, &warm_scenario.baseline, 7, &options(r));
        }
        let handed_out = Sim::new(&warm_scenario, &warm_scenario.baseline, 7, &options(1));
        assert!(
            handed_out
                .workloads
                .iter()
                .all(|w| w.model.state_count() > 0),
            "every workload starts with a warm model"
        );
        let warm = simulate_with(&warm_scenario, &warm_scenario.baseline, 7, &options(1));
        assert_eq!(format!("{cold:?}"), format!("{warm:?}"));
    }

    /// Requests the pod turns away make no downstream calls, so they take no pool connections:
    /// one backend pod saturated at ×120 and at ×240 the recorded traffic serves about the same
    /// requests and holds as many MongoDB connections, though it is offered twice as many.
    #[test]
    fn rejected_requests_take_no_pool_connections() {
        let run = |scale: f64| {
            let mut sc = default_scenario_hours(12);
            let backend = sc.service_index("backend").unwrap();
            sc.services[backend].scale = scale;
            let mut config = sc.baseline.clone();
            let wc = config.workloads.get_mut("backend").unwrap();
            wc.hpa = None;
            wc.replicas = 1;
            let r = simulate_with(&sc, &config, 1, &Options::default());
            let w = &r.workloads[backend];
            let mongo = r.servers.iter().find(|s| s.server == "mongodb").unwrap();
            (
                w.arrivals,
                w.rejected,
                mongo.peak_connections,
                mongo.mean_connections,
            )
        };
        let (a_lo, rej_lo, peak_lo, mean_lo) = run(120.0);
        let (a_hi, rej_hi, peak_hi, mean_hi) = run(240.0);
        assert!(a_hi > 1.9 * a_lo, "twice the arrivals: {a_lo} vs {a_hi}");
        assert!(
            rej_lo > 0.3 * a_lo,
            "one pod is saturated at x120: {rej_lo} of {a_lo}"
        );
        let (served_lo, served_hi) = (a_lo - rej_lo, a_hi - rej_hi);
        assert!(
            (served_hi / served_lo - 1.0).abs() < 0.1,
            "the same served: {served_lo} vs {served_hi}"
        );
        // (Counting the turned-away requests gave peaks of 10 and 14 connections, means of 10
        // and 12.)
        assert!(
            (peak_hi / peak_lo - 1.0).abs() < 0.1 && mean_hi < 1.1 * mean_lo,
            "connections follow the served requests: peak {peak_lo} vs {peak_hi}, mean {mean_lo} vs {mean_hi}"
        );
    }
}
