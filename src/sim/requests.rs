//! The request-level load model of one service: every request is an event.
//!
//! A request arrives (Poisson inside the step at the step's rate), goes to a ready pod picked
//! uniformly at random (kube-proxy's iptables mode picks an endpoint at random per connection;
//! one request per connection here), takes one of the pod's `workers × concurrency_per_worker`
//! slots or is rejected (HTTP 503), waits in the pod's FIFO for a free worker, runs its CPU time
//! on that worker under the pod's CFS quota ([`cfs::Bandwidth`]: the quota of each 100 ms period
//! is shared by the busy workers; out of quota, all wait for the period end), then checks out a
//! connection from each pooled client of its process ([`Semaphore`]: FIFO waiters, optional
//! timeout, or raise when exhausted) for its calls to that server (a pool whose calls block the
//! process — a synchronous driver inside an event loop — keeps the request on its worker until
//! those calls return, so no other request of the process runs), then spends its remaining
//! off-CPU time (network, other downstream round trips, external wait) holding its slot, and
//! completes; its latency goes into the same log bins as the fluid model's laws.
//!
//! State persists across steps: in-flight requests stay on their pod. A pod that leaves the
//! ready set stops receiving requests and finishes what it holds (graceful termination);
//! [`RequestModel::kill`] fails what a pod still holds (OOM kill, eviction, end of the grace
//! period). A request still waiting for a worker when the client timeout has passed is dropped
//! as timed out; one answered after it counts as timed out too.
//!
//! The hot loop allocates nothing: requests and pods live in slabs with free lists, events are
//! fixed-size records in a binary heap, buffers are reused across steps. Time is in
//! milliseconds (`f64`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::k8s::cfs;
use crate::model::scenario::Service;
use crate::sim::fluid::ServiceModel;
use crate::sim::latency::{self, Histogram};

const NIL: u32 = u32::MAX;

/// An event record: (time as `f64` bits, sequence, kind | generation | index). Non-negative
/// `f64` values order as their bits.
type Event = (u64, u64, u64);
/// Time tolerance, ms (10 ns): far above the `f64` resolution of a year in ms.
const EPS: f64 = 1e-5;

/// What a client does when its pool has no free connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PoolMode {
    /// Wait in FIFO order, up to `timeout_ms` (`None`: forever); a timeout fails the request
    /// (pymongo `waitQueueTimeoutMS`, redis-py `BlockingConnectionPool(timeout=…)`).
    Block {
        /// Longest wait, ms.
        timeout_ms: Option<f64>,
    },
    /// Fail at once (redis-py `ConnectionPool` raises when `max_connections` is reached).
    Raise,
}

/// One client pool per worker process, for the calls to one downstream server.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSpec {
    /// Downstream server name, as the classes' `downstream[].server` names it.
    pub server: String,
    /// Connections per process.
    pub size: u32,
    /// A call blocks the whole worker process for its round trip (a synchronous driver inside
    /// an event loop): the request keeps its worker from the end of its CPU time until its
    /// blocking calls return.
    pub blocks_process: bool,
    /// Behaviour when exhausted.
    pub mode: PoolMode,
}

/// Options of the request-level engine.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestOptions {
    /// Client pools (none: downstream calls never wait for a connection).
    pub pools: Vec<PoolSpec>,
}

/// A counting semaphore with FIFO waiters: one client pool of one process.
#[derive(Debug, Clone, PartialEq)]
pub struct Semaphore {
    /// Permits (connections).
    pub permits: u32,
    /// Permits held.
    pub in_use: u32,
    /// Waiting holders (request ids), oldest first.
    pub waiters: VecDeque<u32>,
}

impl Semaphore {
    /// A semaphore with `permits` free permits.
    pub fn new(permits: u32) -> Semaphore {
        Semaphore {
            permits,
            in_use: 0,
            waiters: VecDeque::new(),
        }
    }

    /// Takes a permit if one is free.
    pub fn try_acquire(&mut self) -> bool {
        if self.in_use < self.permits {
            self.in_use += 1;
            true
        } else {
            false
        }
    }

    /// Returns a permit; the oldest waiter, if any, gets it (and is returned).
    pub fn release(&mut self) -> Option<u32> {
        match self.waiters.pop_front() {
            Some(w) => Some(w),
            None => {
                self.in_use = self.in_use.saturating_sub(1);
                None
            }
        }
    }

    /// Removes `waiter` from the queue (its wait timed out); whether it was waiting.
    pub fn cancel(&mut self, waiter: u32) -> bool {
        match self.waiters.iter().position(|&w| w == waiter) {
            Some(i) => {
                self.waiters.remove(i);
                true
            }
            None => false,
        }
    }

    /// Empties it (its process died).
    pub fn reset(&mut self) {
        self.in_use = 0;
        self.waiters.clear();
    }
}

/// What one request class did during the last step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassStats {
    /// Requests that arrived.
    pub arrivals: f64,
    /// Rejected: no ready pod or no free slot.
    pub rejected: f64,
    /// Timed out: dropped from the worker queue after the client timeout, or answered after
    /// it.
    pub timed_out: f64,
    /// Failed at a connection checkout, as the fluid model's pool errors: a raising pool
    /// exhausted, a blocking pool's wait past its timeout, or a connection the server refused.
    pub pool_failed: f64,
    /// Completed (answered), timed out or not.
    pub served: f64,
    /// Failed because their pod was killed.
    pub killed: f64,
    /// Latencies of the completed requests (counts per bin).
    pub latency: Histogram,
}

impl ClassStats {
    fn clear(&mut self) {
        self.arrivals = 0.0;
        self.rejected = 0.0;
        self.timed_out = 0.0;
        self.pool_failed = 0.0;
        self.served = 0.0;
        self.killed = 0.0;
        self.latency.clear();
    }
}

/// What one pool (one [`PoolSpec`], over all processes) did since the start of the run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PoolStats {
    /// Connections checked out.
    pub checkouts: u64,
    /// Checkouts that had to wait.
    pub waited: u64,
    /// Waits that ran out of time (the request failed).
    pub timed_out: u64,
    /// Checkouts refused by a raising pool (the request failed).
    pub raised: u64,
    /// Checkouts that needed a connection the server refused (over its `max_connections`;
    /// the request failed).
    pub refused: u64,
    /// Connections in use now, over all processes.
    pub in_use: u64,
    /// Most connections in use at once.
    pub peak_in_use: u64,
    /// Checkout waits, seconds (counts per latency bin; granted checkouts only).
    pub wait: Histogram,
}

/// Worker-queue waiting of the requests that started their CPU work during the last step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WaitStats {
    /// Requests that reached a worker.
    pub started: u64,
    /// Of those, how many had to wait for one.
    pub waited: u64,
    /// Total wait, ms.
    pub wait_ms: f64,
}

/// One pod's usage over the last step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PodUsage {
    /// CPU used by requests, cores (time-averaged over the step; idle CPU not included).
    pub cpu_cores: f64,
    /// Memory held by in-flight requests, bytes (time-averaged).
    pub memory_bytes: f64,
    /// Requests completed.
    pub served: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Queued,
    Running,
    PoolWait,
    PoolHold,
    OffCpu,
}

/// A request in flight (fixed size, in a slab).
#[derive(Debug, Clone, Copy)]
struct Req {
    arrival: f64,
    /// CPU run time left to start (ms at the worker's speed), then the virtual finish time.
    cpu: f64,
    /// Off-CPU time after the pooled calls, ms.
    off_cpu: f64,
    /// When the current pool wait started.
    wait_from: f64,
    pod: u32,
    gen: u32,
    next: u32,
    class: u16,
    /// Pooled call in progress (index into the class's pooled calls).
    call: u8,
    worker: u8,
    phase: Phase,
    alive: bool,
    /// It holds its worker through its blocking calls.
    holds_worker: bool,
}

/// One pod (a slab slot).
#[derive(Debug, Clone)]
struct PodState {
    alive: bool,
    gen: u32,
    in_flight: u32,
    q_head: u32,
    q_tail: u32,
    /// Requests on a worker (at most `workers`, with the blocked ones).
    running: Vec<u32>,
    /// Workers held by requests blocked in a synchronous call (no CPU).
    blocked: u32,
    /// Busy workers, one bit each (workers beyond 64 share bits for pool purposes).
    busy: u64,
    /// Virtual CPU clock: advances with real time while the pod is not throttled.
    v: f64,
    last: f64,
    throttled: bool,
    throttled_until: f64,
    bw: cfs::Bandwidth,
    /// Time of the pod's pending CPU event (infinite: none).
    sched: f64,
    mem_now: f64,
    mem_last: f64,
    /// Step accumulators.
    cpu_ms: f64,
    mem_ms: f64,
    served: f64,
    periods0: u64,
    throttled0: u64,
}

/// Event kinds of the heap (arrivals are a merged stream, not heap entries).
const EV_POD: u64 = 0;
const EV_OFF_CPU: u64 = 1;
const EV_POOL_RELEASE: u64 = 2;
const EV_POOL_TIMEOUT: u64 = 3;
/// Generations kept in an event record (30 bits).
const GEN_MASK: u32 = 0x3FFF_FFFF;

/// Per class, compiled for the engine.
#[derive(Debug, Clone)]
struct ClassSpec {
    share: f64,
    /// Mean CPU run time on a worker, ms (at the worker's speed).
    run_ms: f64,
    cpu_scv: f64,
    /// Fixed off-CPU time: network plus unpooled downstream round trips, ms.
    fixed_ms: f64,
    /// External-wait atoms, ms (empty: none).
    external_ms: Vec<f64>,
    memory: f64,
    /// Pooled calls: (pool index, hold time ms), the ones that block the process first.
    pooled: Vec<(usize, f64)>,
    /// How many of the first `pooled` calls block the process.
    blocking_calls: u8,
}

/// The request-level state of one service for one run.
#[derive(Debug, Clone)]
pub struct RequestModel {
    workers: u32,
    slots: u32,
    /// CPU cores one running request uses (1 under a binding CFS limit).
    speed: f64,
    quota_ms: Option<f64>,
    timeout_ms: f64,
    classes: Vec<ClassSpec>,
    pools: Vec<PoolSpec>,
    reqs: Vec<Req>,
    free_reqs: Vec<u32>,
    pods: Vec<PodState>,
    free_pods: Vec<u32>,
    /// Engine pod id → pod slot (NIL: none).
    slot_of: Vec<u32>,
    /// Semaphores: `(slot × workers + worker) × pools + pool`.
    sems: Vec<Semaphore>,
    ready: Vec<u32>,
    heap: BinaryHeap<Reverse<Event>>,
    /// Per class with a constant off-CPU time, its off-CPU completions in time order (a FIFO
    /// needs no heap: equal delays end in the order they start).
    lanes: Vec<Option<VecDeque<Event>>>,
    seq: u64,
    rng: ChaCha8Rng,
    /// Per class, the last step's figures.
    pub stats: Vec<ClassStats>,
    /// Worker-queue waits of the last step.
    pub waits: WaitStats,
    /// Events processed since the start (arrivals, CPU, off-CPU and pool events).
    pub events: u64,
    /// Per class, requests lost by the last [`RequestModel::kill`].
    pub lost: Vec<f64>,
    /// Requests of the last step that failed at the servers they call (the engine counts
    /// them after the servers' own steps; a server of servers reads them).
    pub downstream_failed: f64,
    /// CFS periods with work and throttled periods of the pods during the last step.
    pub periods: (u64, u64),
    /// Per pool of [`RequestOptions::pools`] that some class calls (same order, those kept).
    pub pool_stats: Vec<PoolStats>,
    /// Per pool, the share of its connections the server refuses (see
    /// [`RequestModel::set_refused`]).
    refused: Vec<f64>,
}

/// A gamma draw with mean 1 and squared coefficient of variation `scv` (0: deterministic;
/// Marsaglia–Tsang, with the `U^{1/k}` boost below shape 1).
fn unit_gamma(rng: &mut ChaCha8Rng, scv: f64) -> f64 {
    if scv <= 1e-9 {
        return 1.0;
    }
    if (scv - 1.0).abs() < 1e-12 {
        return -(1.0 - rng.random::<f64>()).ln();
    }
    let k = 1.0 / scv;
    let (shape, boost) = if k < 1.0 { (k + 1.0, true) } else { (k, false) };
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    let x = loop {
        // Standard normal by Box–Muller.
        let u1 = 1.0 - rng.random::<f64>();
        let u2 = rng.random::<f64>();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        let v = 1.0 + c * z;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = 1.0 - rng.random::<f64>();
        if u.ln() < 0.5 * z * z + d - d * v + d * v.ln() {
            break d * v;
        }
    };
    let x = if boost {
        x * (1.0 - rng.random::<f64>()).powf(1.0 / k)
    } else {
        x
    };
    x * scv
}

impl RequestModel {
    /// Compiles `service` (with its fluid compilation `model`, whose pod shape, speed and CFS
    /// quota it shares) for the request-level engine, drawing from `rng`.
    pub fn new(
        service: &Service,
        model: &ServiceModel,
        options: &RequestOptions,
        rng: ChaCha8Rng,
    ) -> RequestModel {
        let p = &service.profile;
        let workers = model.workers.max(1);
        let speed = if model.cfs_quota_ms.is_some() {
            1.0
        } else {
            model.capacity_cores / f64::from(workers)
        };
        let pools: Vec<PoolSpec> = options
            .pools
            .iter()
            .filter(|s| {
                p.classes
                    .iter()
                    .any(|c| c.downstream.iter().any(|d| d.server == s.server))
            })
            .cloned()
            .collect();
        let classes = p
            .classes
            .iter()
            .zip(&service.classes)
            .map(|(c, input)| {
                let mut fixed_ms = c.network_ms;
                let mut pooled = Vec::new();
                for d in &c.downstream {
                    let hold = d.ops_per_request * d.round_trip as f64;
                    match pools.iter().position(|s| s.server == d.server) {
                        Some(i) => pooled.push((i, hold)),
                        None => fixed_ms += hold,
                    }
                }
                // Blocking calls right after the CPU: the process is held for CPU + blocked
                // time in one stretch (a handler interleaves them; the process time is the
                // same).
                pooled.sort_by_key(|&(i, _)| !pools[i].blocks_process);
                let blocking_calls = pooled
                    .iter()
                    .filter(|&&(i, _)| pools[i].blocks_process)
                    .count() as u8;
                ClassSpec {
                    share: c.share,
                    blocking_calls,
                    run_ms: c.cpu_ms / speed,
                    cpu_scv: c.cpu_scv,
                    fixed_ms,
                    external_ms: input.external_s.iter().map(|s| s * 1000.0).collect(),
                    memory: c.memory_per_request.0 as f64,
                    pooled,
                }
            })
            .collect::<Vec<_>>();
        let n = classes.len();
        let lanes = classes
            .iter()
            .map(|c| {
                c.external_ms
                    .is_empty()
                    .then(|| VecDeque::with_capacity(256))
            })
            .collect();
        RequestModel {
            workers,
            slots: workers.saturating_mul(p.concurrency_per_worker.max(1)),
            speed,
            quota_ms: model.cfs_quota_ms,
            timeout_ms: p.timeout as f64,
            classes,
            reqs: Vec::with_capacity(1024),
            free_reqs: Vec::with_capacity(1024),
            pods: Vec::new(),
            free_pods: Vec::new(),
            slot_of: Vec::new(),
            sems: Vec::new(),
            ready: Vec::new(),
            heap: BinaryHeap::with_capacity(1024),
            lanes,
            seq: 0,
            rng,
            stats: vec![ClassStats::default(); n],
            waits: WaitStats::default(),
            events: 0,
            lost: vec![0.0; n],
            downstream_failed: 0.0,
            periods: (0, 0),
            pool_stats: vec![PoolStats::default(); pools.len()],
            refused: vec![0.0; pools.len()],
            pools,
        }
    }

    /// Requests in flight on all pods.
    pub fn in_flight(&self) -> u64 {
        self.pods
            .iter()
            .filter(|p| p.alive)
            .map(|p| u64::from(p.in_flight))
            .sum()
    }

    fn event(&mut self, at: f64, kind: u64, idx: u32, gen: u32) -> Event {
        self.seq += 1;
        let payload = (kind << 62) | (u64::from(gen & GEN_MASK) << 32) | u64::from(idx);
        (at.max(0.0).to_bits(), self.seq, payload)
    }

    fn push(&mut self, at: f64, kind: u64, idx: u32, gen: u32) {
        let e = self.event(at, kind, idx, gen);
        self.heap.push(Reverse(e));
    }

    /// The earliest pending event: `(record, lane)` with lane `None` for the heap.
    fn peek_event(&self) -> Option<(Event, Option<usize>)> {
        let mut best = self.heap.peek().map(|Reverse(e)| (*e, None));
        for (i, lane) in self.lanes.iter().enumerate() {
            if let Some(&e) = lane.as_ref().and_then(|l| l.front()) {
                if best.is_none_or(|(b, _)| (e.0, e.1) < (b.0, b.1)) {
                    best = Some((e, Some(i)));
                }
            }
        }
        best
    }

    fn slot(&mut self, id: usize, t: f64) -> u32 {
        if id >= self.slot_of.len() {
            self.slot_of.resize(id + 1, NIL);
        }
        if self.slot_of[id] != NIL {
            return self.slot_of[id];
        }
        let bw = cfs::Bandwidth::new(self.quota_ms);
        let fresh = |gen: u32, running: Vec<u32>| PodState {
            alive: true,
            gen,
            in_flight: 0,
            q_head: NIL,
            q_tail: NIL,
            running,
            blocked: 0,
            busy: 0,
            v: t,
            last: t,
            throttled: false,
            throttled_until: 0.0,
            bw,
            sched: f64::INFINITY,
            mem_now: 0.0,
            mem_last: t,
            cpu_ms: 0.0,
            mem_ms: 0.0,
            served: 0.0,
            periods0: 0,
            throttled0: 0,
        };
        let s = match self.free_pods.pop() {
            Some(s) => {
                let old = &mut self.pods[s as usize];
                let mut running = std::mem::take(&mut old.running);
                running.clear();
                *old = fresh(old.gen.wrapping_add(1), running);
                s
            }
            None => {
                self.pods
                    .push(fresh(0, Vec::with_capacity(self.workers as usize)));
                for _ in 0..self.workers {
                    for spec in &self.pools {
                        self.sems.push(Semaphore::new(spec.size));
                    }
                }
                (self.pods.len() - 1) as u32
            }
        };
        let per_pod = self.workers as usize * self.pools.len();
        for sem in &mut self.sems[s as usize * per_pod..(s as usize + 1) * per_pod] {
            sem.reset();
        }
        self.slot_of[id] = s;
        s
    }

    /// Sets the share of the connections of the pool toward `server` that the server refuses
    /// (over its connection limit): from now on each checkout from that pool fails with that
    /// probability. A server no pool talks to is ignored.
    pub fn set_refused(&mut self, server: &str, share: f64) {
        if let Some(i) = self.pools.iter().position(|p| p.server == server) {
            self.refused[i] = share.clamp(0.0, 1.0);
        }
    }

    /// Simulates `[t0, t1)` (ms): arrivals at `lambda` requests per second go to the pods in
    /// `ready` (engine pod ids); pods not listed only finish what they hold. Afterwards
    /// [`RequestModel::stats`], [`RequestModel::waits`], [`RequestModel::periods`] and
    /// [`RequestModel::usage`] describe the step.
    pub fn step(&mut self, t0: u64, t1: u64, lambda: f64, ready: &[usize]) {
        let (t0, t1) = (t0 as f64, t1 as f64);
        for s in &mut self.stats {
            s.clear();
        }
        self.downstream_failed = 0.0;
        self.waits = WaitStats::default();
        for p in self.pods.iter_mut().filter(|p| p.alive) {
            p.cpu_ms = 0.0;
            p.mem_ms = 0.0;
            p.served = 0.0;
            p.periods0 = p.bw.nr_periods;
            p.throttled0 = p.bw.nr_throttled;
        }
        self.ready.clear();
        for &id in ready {
            let s = self.slot(id, t0);
            self.ready.push(s);
        }
        let rate_ms = lambda / 1000.0;
        let mut next_arrival = if rate_ms > 0.0 {
            t0 + self.exp() / rate_ms
        } else {
            f64::INFINITY
        };
        loop {
            let next = self.peek_event();
            let next_event = next.map_or(f64::INFINITY, |(e, _)| f64::from_bits(e.0));
            if next_arrival < t1 && next_arrival <= next_event {
                self.events += 1;
                self.arrive(next_arrival);
                next_arrival += self.exp() / rate_ms;
            } else if let (true, Some((e, lane))) = (next_event < t1, next) {
                match lane {
                    None => {
                        self.heap.pop();
                    }
                    Some(i) => {
                        if let Some(l) = self.lanes[i].as_mut() {
                            l.pop_front();
                        }
                    }
                }
                self.dispatch(f64::from_bits(e.0), e.2);
            } else {
                break;
            }
        }
        // Close the step's integrals.
        let mut periods = (0, 0);
        for s in 0..self.pods.len() {
            if self.pods[s].alive {
                self.advance(s, t1);
                let p = &mut self.pods[s];
                p.mem_ms += p.mem_now * (t1 - p.mem_last);
                p.mem_last = t1;
                periods.0 += p.bw.nr_periods - p.periods0;
                periods.1 += p.bw.nr_throttled - p.throttled0;
            }
        }
        self.periods = periods;
        let dt = (t1 - t0).max(1e-9);
        for p in self.pods.iter_mut().filter(|p| p.alive) {
            p.cpu_ms /= dt;
            p.mem_ms /= dt;
        }
    }

    /// The last step's usage of the pod with engine id `id` (`None`: not known here).
    pub fn usage(&self, id: usize) -> Option<PodUsage> {
        let s = *self.slot_of.get(id)?;
        if s == NIL {
            return None;
        }
        let p = &self.pods[s as usize];
        Some(PodUsage {
            cpu_cores: p.cpu_ms,
            memory_bytes: p.mem_ms,
            served: p.served,
        })
    }

    /// Fails every request the pod with engine id `id` holds (its container died) and forgets
    /// the pod; [`RequestModel::lost`] gives the lost requests per class.
    pub fn kill(&mut self, id: usize) {
        self.lost.iter_mut().for_each(|l| *l = 0.0);
        let Some(&s) = self.slot_of.get(id) else {
            return;
        };
        if s == NIL {
            return;
        }
        self.slot_of[id] = NIL;
        for r in 0..self.reqs.len() {
            let q = self.reqs[r];
            if q.alive && q.pod == s {
                if q.phase == Phase::PoolHold {
                    let (pool, _) = self.classes[q.class as usize].pooled[q.call as usize];
                    self.pool_stats[pool].in_use -= 1;
                }
                self.lost[q.class as usize] += 1.0;
                self.stats[q.class as usize].killed += 1.0;
                self.free_req(r as u32);
            }
        }
        let per_pod = self.workers as usize * self.pools.len();
        for sem in &mut self.sems[s as usize * per_pod..(s as usize + 1) * per_pod] {
            sem.reset();
        }
        let p = &mut self.pods[s as usize];
        p.alive = false;
        p.gen = p.gen.wrapping_add(1);
        p.in_flight = 0;
        p.running.clear();
        p.blocked = 0;
        p.busy = 0;
        p.q_head = NIL;
        p.q_tail = NIL;
        self.free_pods.push(s);
    }

    /// The OOM killer took one worker process of pod `id` at `t` (`oom_kill: process`): the
    /// process holding the most requests (requests hold memory, so it is the largest; the
    /// lowest index on a tie). The requests it holds fail (`lost`, per class): on its CPU,
    /// blocked in its synchronous call, waiting for or holding one of its pool connections,
    /// awaiting their off-CPU rest. Its pools' connections go with it (the master forks a
    /// fresh process with empty pools). Requests still queued for a worker stay, and the pod
    /// keeps serving.
    pub fn kill_worker(&mut self, id: usize, t: f64) {
        self.lost.iter_mut().for_each(|l| *l = 0.0);
        let Some(&s) = self.slot_of.get(id) else {
            return;
        };
        if s == NIL {
            return;
        }
        let s = s as usize;
        self.advance(s, t);
        let held = |q: &Req| q.alive && q.pod as usize == s && q.phase != Phase::Queued;
        // Worker indices are below 64 (see `fill_workers`).
        let mut count = [0u32; 64];
        for q in self.reqs.iter().filter(|q| held(q)) {
            count[usize::from(q.worker)] += 1;
        }
        let Some(victim) = (0..64u8).rev().max_by_key(|&w| count[usize::from(w)]) else {
            return;
        };
        if count[usize::from(victim)] == 0 {
            return;
        }
        for r in 0..self.reqs.len() {
            let q = self.reqs[r];
            if !held(&q) || q.worker != victim {
                continue;
            }
            match q.phase {
                Phase::PoolHold => {
                    let (pool, _) = self.classes[q.class as usize].pooled[q.call as usize];
                    self.pool_stats[pool].in_use -= 1;
                }
                Phase::Running => self.pods[s].running.retain(|&x| x as usize != r),
                _ => {}
            }
            if q.holds_worker {
                let p = &mut self.pods[s];
                p.blocked = p.blocked.saturating_sub(1);
            }
            self.lost[q.class as usize] += 1.0;
            self.stats[q.class as usize].killed += 1.0;
            self.release_slot(s, q.class as usize, t);
            self.free_req(r as u32);
        }
        for pool in 0..self.pools.len() {
            let sem = self.sem_index(s as u32, victim, pool);
            self.sems[sem].reset();
        }
        // The busy workers are those of the requests left on a worker.
        let mut busy = 0u64;
        for q in self.reqs.iter().filter(|q| held(q)) {
            if q.phase == Phase::Running || q.holds_worker {
                busy |= 1u64 << q.worker;
            }
        }
        self.pods[s].busy = busy;
        self.fill_workers(s, t);
        self.reschedule(s, t);
    }

    fn exp(&mut self) -> f64 {
        -(1.0 - self.rng.random::<f64>()).ln()
    }

    fn free_req(&mut self, r: u32) {
        let q = &mut self.reqs[r as usize];
        q.alive = false;
        q.gen = q.gen.wrapping_add(1);
        self.free_reqs.push(r);
    }

    fn arrive(&mut self, t: f64) {
        let mut class = self.classes.len() - 1;
        if class > 0 {
            let mut u = self.rng.random::<f64>();
            for (i, c) in self.classes.iter().enumerate() {
                if u < c.share {
                    class = i;
                    break;
                }
                u -= c.share;
            }
        }
        self.stats[class].arrivals += 1.0;
        if self.ready.is_empty() {
            self.stats[class].rejected += 1.0;
            return;
        }
        let s = if self.ready.len() == 1 {
            self.ready[0]
        } else {
            self.ready[self.rng.random_range(0..self.ready.len())]
        };
        if self.pods[s as usize].in_flight >= self.slots {
            self.stats[class].rejected += 1.0;
            return;
        }
        let spec = &self.classes[class];
        let run = spec.run_ms * unit_gamma(&mut self.rng, spec.cpu_scv);
        let spec = &self.classes[class];
        let external = if spec.external_ms.is_empty() {
            0.0
        } else {
            spec.external_ms[self.rng.random_range(0..spec.external_ms.len())]
        };
        let off_cpu = spec.fixed_ms + external;
        let memory = spec.memory;
        let req = Req {
            arrival: t,
            cpu: run,
            off_cpu,
            wait_from: 0.0,
            pod: s,
            gen: 0,
            next: NIL,
            class: class as u16,
            call: 0,
            worker: 0,
            phase: Phase::Queued,
            alive: true,
            holds_worker: false,
        };
        let r = match self.free_reqs.pop() {
            Some(r) => {
                let gen = self.reqs[r as usize].gen;
                self.reqs[r as usize] = Req { gen, ..req };
                r
            }
            None => {
                self.reqs.push(req);
                (self.reqs.len() - 1) as u32
            }
        };
        let p = &mut self.pods[s as usize];
        p.in_flight += 1;
        p.mem_ms += p.mem_now * (t - p.mem_last);
        p.mem_last = t;
        p.mem_now += memory;
        // FIFO for a worker.
        if p.q_tail == NIL {
            p.q_head = r;
        } else {
            self.reqs[p.q_tail as usize].next = r;
        }
        p.q_tail = r;
        if (p.running.len() as u32) + p.blocked < self.workers {
            self.advance(s as usize, t);
            self.fill_workers(s as usize, t);
            self.reschedule(s as usize, t);
        }
    }

    /// Brings the pod's CPU state (virtual clock, quota, usage) to `t`.
    fn advance(&mut self, s: usize, t: f64) {
        let speed = self.speed;
        let p = &mut self.pods[s];
        let dt = t - p.last;
        if dt <= 0.0 {
            return;
        }
        let k = p.running.len();
        if p.throttled {
            // No progress until the period end (an event is due then).
        } else {
            if p.bw.quota().is_some() {
                p.bw.run_span(p.last, t, k);
            }
            p.v += dt;
            p.cpu_ms += dt * k as f64 * speed;
        }
        p.last = t;
    }

    /// Starts queued requests on free workers.
    fn fill_workers(&mut self, s: usize, t: f64) {
        loop {
            let p = &self.pods[s];
            if p.running.len() as u32 + p.blocked >= self.workers || p.q_head == NIL {
                return;
            }
            let r = p.q_head;
            let next = self.reqs[r as usize].next;
            let p = &mut self.pods[s];
            p.q_head = next;
            if next == NIL {
                p.q_tail = NIL;
            }
            let q = self.reqs[r as usize];
            let wait = t - q.arrival;
            if wait > self.timeout_ms {
                // The client gave up while it waited for a worker.
                self.stats[q.class as usize].timed_out += 1.0;
                self.release_slot(s, q.class as usize, t);
                self.free_req(r);
                continue;
            }
            self.waits.started += 1;
            if wait > EPS {
                self.waits.waited += 1;
                self.waits.wait_ms += wait;
            }
            let p = &mut self.pods[s];
            let worker = (!p.busy).trailing_zeros().min(63) as u8;
            if p.running.len() + (p.blocked as usize) < 64 {
                p.busy |= 1u64 << worker;
            }
            let v = p.v;
            p.running.push(r);
            let q = &mut self.reqs[r as usize];
            q.cpu += v;
            q.worker = worker;
            q.phase = Phase::Running;
            q.next = NIL;
        }
    }

    /// Schedules the pod's next CPU event: a completion or running out of quota, or the end of
    /// its throttled span.
    fn reschedule(&mut self, s: usize, t: f64) {
        let p = &mut self.pods[s];
        if p.running.is_empty() {
            return;
        }
        let next = if p.throttled {
            p.throttled_until
        } else {
            let vmin = p
                .running
                .iter()
                .map(|&r| self.reqs[r as usize].cpu)
                .fold(f64::INFINITY, f64::min);
            let done = t + (vmin - p.v).max(0.0);
            p.bw.enter(t);
            done.min(p.bw.exhausted_at(t, p.running.len()))
        };
        if next < p.sched {
            p.sched = next;
            let gen = p.gen;
            self.push(next, EV_POD, s as u32, gen);
        }
    }

    fn dispatch(&mut self, t: f64, payload: u64) {
        let kind = payload >> 62;
        let gen = ((payload >> 32) & 0x3FFF_FFFF) as u32;
        let idx = (payload & 0xFFFF_FFFF) as u32;
        match kind {
            EV_POD => {
                let p = &self.pods[idx as usize];
                if p.gen & GEN_MASK != gen || !p.alive || p.sched != t {
                    return;
                }
                self.events += 1;
                self.on_pod(idx as usize, t);
            }
            _ => {
                let q = &self.reqs[idx as usize];
                if !q.alive || q.gen & GEN_MASK != gen {
                    return;
                }
                self.events += 1;
                match kind {
                    EV_OFF_CPU => self.complete(idx, t),
                    EV_POOL_RELEASE => self.pool_release(idx, t),
                    _ => self.pool_timeout(idx, t),
                }
            }
        }
    }

    fn on_pod(&mut self, s: usize, t: f64) {
        self.pods[s].sched = f64::INFINITY;
        self.advance(s, t);
        let p = &mut self.pods[s];
        p.bw.enter(t);
        if p.throttled && t >= p.throttled_until - EPS {
            p.throttled = false;
        }
        // Completions.
        let v = p.v;
        let mut i = 0;
        while i < self.pods[s].running.len() {
            let r = self.pods[s].running[i];
            if self.reqs[r as usize].cpu <= v + EPS {
                let p = &mut self.pods[s];
                p.running.swap_remove(i);
                let q = &mut self.reqs[r as usize];
                if self.classes[q.class as usize].blocking_calls > 0 {
                    // A synchronous call next: the process stays with this request.
                    q.holds_worker = true;
                    p.blocked += 1;
                } else {
                    p.busy &= !(1u64 << q.worker);
                }
                self.after_cpu(r, t);
            } else {
                i += 1;
            }
        }
        let p = &mut self.pods[s];
        if !p.throttled && !p.running.is_empty() && p.bw.left() <= EPS * p.running.len() as f64 {
            p.throttled = true;
            p.throttled_until = p.bw.throttle(t);
        }
        self.fill_workers(s, t);
        let p = &mut self.pods[s];
        if !p.throttled && !p.running.is_empty() {
            p.bw.mark_active();
        }
        self.reschedule(s, t);
    }

    fn after_cpu(&mut self, r: u32, t: f64) {
        let q = &mut self.reqs[r as usize];
        q.call = 0;
        self.next_call(r, t);
    }

    /// Gives back the worker a request held through its blocking calls, and starts queued
    /// requests on it (outside the pod's own CPU event).
    fn unblock(&mut self, r: u32, t: f64, refill: bool) {
        let q = &mut self.reqs[r as usize];
        if !q.holds_worker {
            return;
        }
        q.holds_worker = false;
        let (s, w) = (q.pod as usize, q.worker);
        let p = &mut self.pods[s];
        p.blocked = p.blocked.saturating_sub(1);
        p.busy &= !(1u64 << w);
        if refill {
            self.advance(s, t);
            self.fill_workers(s, t);
            self.reschedule(s, t);
        }
    }

    /// The request's next pooled call, or its off-CPU remainder.
    fn next_call(&mut self, r: u32, t: f64) {
        let q = self.reqs[r as usize];
        let spec = &self.classes[q.class as usize];
        if q.holds_worker && q.call >= spec.blocking_calls {
            self.unblock(r, t, true);
        }
        let q = self.reqs[r as usize];
        let spec = &self.classes[q.class as usize];
        if let Some(&(pool, hold)) = spec.pooled.get(q.call as usize) {
            // A checkout lands on a connection the server refused with the refused share (the
            // fluid model's per-operation failure); no draw while nothing is refused.
            let refused = self.refused[pool];
            if refused > 0.0 && self.rng.random::<f64>() < refused {
                self.pool_stats[pool].refused += 1;
                self.stats[q.class as usize].pool_failed += 1.0;
                self.fail(r, t);
                return;
            }
            let sem = self.sem_index(q.pod, q.worker, pool);
            if self.sems[sem].try_acquire() {
                self.checked_out(pool, 0.0);
                self.reqs[r as usize].phase = Phase::PoolHold;
                self.push(t + hold, EV_POOL_RELEASE, r, q.gen);
            } else {
                match self.pools[pool].mode {
                    PoolMode::Raise => {
                        self.pool_stats[pool].raised += 1;
                        self.stats[q.class as usize].pool_failed += 1.0;
                        self.fail(r, t);
                    }
                    PoolMode::Block { timeout_ms } => {
                        self.sems[sem].waiters.push_back(r);
                        let qm = &mut self.reqs[r as usize];
                        qm.phase = Phase::PoolWait;
                        qm.wait_from = t;
                        if let Some(to) = timeout_ms {
                            self.push(t + to, EV_POOL_TIMEOUT, r, q.gen);
                        }
                    }
                }
            }
            return;
        }
        if q.off_cpu > 0.0 {
            self.reqs[r as usize].phase = Phase::OffCpu;
            let e = self.event(t + q.off_cpu, EV_OFF_CPU, r, q.gen);
            match self.lanes[q.class as usize].as_mut() {
                Some(lane) => lane.push_back(e),
                None => self.heap.push(Reverse(e)),
            }
        } else {
            self.complete(r, t);
        }
    }

    /// Books a granted checkout of `pool` after `wait_ms`.
    fn checked_out(&mut self, pool: usize, wait_ms: f64) {
        let ps = &mut self.pool_stats[pool];
        ps.checkouts += 1;
        if wait_ms > 0.0 {
            ps.waited += 1;
        }
        ps.wait.mass[latency::bin_of(wait_ms / 1000.0)] += 1.0;
        ps.in_use += 1;
        ps.peak_in_use = ps.peak_in_use.max(ps.in_use);
    }

    fn sem_index(&self, pod: u32, worker: u8, pool: usize) -> usize {
        let w = usize::from(worker) % self.workers as usize;
        (pod as usize * self.workers as usize + w) * self.pools.len() + pool
    }

    fn pool_release(&mut self, r: u32, t: f64) {
        let q = self.reqs[r as usize];
        let (pool, _) = self.classes[q.class as usize].pooled[q.call as usize];
        let sem = self.sem_index(q.pod, q.worker, pool);
        self.pool_stats[pool].in_use -= 1;
        if let Some(w) = self.sems[sem].release() {
            // The oldest waiter takes the connection over.
            let wq = self.reqs[w as usize];
            self.checked_out(pool, t - wq.wait_from);
            let (_, hold) = self.classes[wq.class as usize].pooled[wq.call as usize];
            self.reqs[w as usize].phase = Phase::PoolHold;
            self.push(t + hold, EV_POOL_RELEASE, w, wq.gen);
        }
        self.reqs[r as usize].call += 1;
        self.next_call(r, t);
    }

    fn pool_timeout(&mut self, r: u32, t: f64) {
        let q = self.reqs[r as usize];
        if q.phase != Phase::PoolWait {
            return;
        }
        let (pool, _) = self.classes[q.class as usize].pooled[q.call as usize];
        let sem = self.sem_index(q.pod, q.worker, pool);
        if self.sems[sem].cancel(r) {
            self.pool_stats[pool].timed_out += 1;
            self.stats[q.class as usize].pool_failed += 1.0;
            self.fail(r, t);
        }
    }

    fn release_slot(&mut self, s: usize, class: usize, t: f64) {
        let memory = self.classes[class].memory;
        let p = &mut self.pods[s];
        p.in_flight -= 1;
        p.mem_ms += p.mem_now * (t - p.mem_last);
        p.mem_last = t;
        p.mem_now = (p.mem_now - memory).max(0.0);
    }

    /// The request ends in error (already counted) and frees its slot.
    fn fail(&mut self, r: u32, t: f64) {
        self.unblock(r, t, true);
        let q = self.reqs[r as usize];
        self.release_slot(q.pod as usize, q.class as usize, t);
        self.free_req(r);
    }

    fn complete(&mut self, r: u32, t: f64) {
        let q = self.reqs[r as usize];
        let latency_ms = t - q.arrival;
        let st = &mut self.stats[q.class as usize];
        st.served += 1.0;
        st.latency.mass[latency::bin_of(latency_ms / 1000.0)] += 1.0;
        if latency_ms > self.timeout_ms {
            st.timed_out += 1.0;
        }
        self.pods[q.pod as usize].served += 1.0;
        self.release_slot(q.pod as usize, q.class as usize, t);
        self.free_req(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scenario::ClassInput;
    use crate::model::service::ServiceProfile;

    /// A one-class service from YAML fragments (CPU ms, workers, concurrency, extra keys).
    fn service(workers: u32, concurrency: u32, class: &str) -> Service {
        let yaml = format!(
            "name: s\nworkers: {workers}\nconcurrency_per_worker: {concurrency}\n\
             memory: {{ base_per_worker: 10Mi }}\nstartup: {{ min: 1s, max: 1s }}\n\
             readiness_delay: 1s\ntimeout: 600s\nclasses:\n  - {{ name: c, share: 1.0, {class} }}\n"
        );
        let profile: ServiceProfile = serde_yaml_ng::from_str(&yaml).unwrap();
        Service {
            name: "s".into(),
            profile,
            rate: None,
            scale: 1.0,
            downstream_only: false,
            classes: vec![ClassInput {
                arrival_scv: 1.0,
                external_s: Vec::new(),
            }],
            min_replicas: 1,
        }
    }

    fn model(svc: &Service, limit: Option<i64>, opts: &RequestOptions) -> RequestModel {
        let m = ServiceModel::new(svc, limit);
        RequestModel::new(
            svc,
            &m,
            opts,
            crate::sim::rng::stream(5, 0, crate::sim::rng::Purpose::Requests),
        )
    }

    /// Runs `steps` steps of 5 s at `lambda` on pod 0; returns (arrivals, rejected, timed
    /// out, served, waited for a worker) and the latency histogram.
    fn drive(rm: &mut RequestModel, steps: u64, lambda: f64) -> ([f64; 6], Histogram) {
        let mut tot = [0.0; 6];
        let mut h = Histogram::default();
        for k in 0..steps {
            rm.step(k * 5000, (k + 1) * 5000, lambda, &[0]);
            let st = &rm.stats[0];
            tot[0] += st.arrivals;
            tot[1] += st.rejected;
            tot[2] += st.timed_out;
            tot[3] += st.served;
            tot[4] += rm.waits.waited as f64;
            tot[5] += st.pool_failed;
            for (m, x) in h.mass.iter_mut().zip(st.latency.mass.iter()) {
                *m += x;
            }
        }
        (tot, h)
    }

    #[test]
    fn a_5ms_burn_under_a_20m_limit_spans_three_periods() {
        // Field case (kubernetes#97445) through the request engine: 2 ms of quota per 100 ms
        // period; an isolated 5 ms request arriving φ ms into a period runs 2 ms, waits for the
        // next period, runs 2 ms, waits again and ends 1 ms into the third: 201 − φ ms. Every
        // request spans three periods and is throttled in two.
        let svc = service(1, 10, "cpu_ms: 5, cpu_scv: 0");
        let mut rm = model(&svc, Some(20), &RequestOptions::default());
        let (tot, h) = drive(&mut rm, 20_000, 0.002);
        assert!(tot[3] > 150.0, "{tot:?}");
        let below = h.mass[..latency::bin_of(0.100)].iter().sum::<f64>();
        let above = h.mass[latency::bin_of(0.2011) + 1..].iter().sum::<f64>();
        // Only a request that arrived while another ran (and waited for the worker) is later.
        assert_eq!((below, above), (0.0, tot[4]), "{tot:?}");
        assert!(tot[4] <= 1.0);
        let (mut periods, mut throttled) = (0, 0);
        for p in &rm.pods {
            periods += p.bw.nr_periods;
            throttled += p.bw.nr_throttled;
        }
        let ratio = throttled as f64 / periods as f64;
        assert!((ratio - 2.0 / 3.0).abs() < 0.02, "{throttled}/{periods}");
        // Under 1000m the same burn is never throttled and takes 5 ms.
        let mut free = model(&svc, Some(1000), &RequestOptions::default());
        let (_, h) = drive(&mut free, 400, 0.1);
        assert_eq!(h.mass[latency::bin_of(0.005)], h.total());
    }

    #[test]
    fn a_full_pod_rejects_as_erlang_b() {
        // One slot held 1 s per request (network), λ = 1/s: an M/G/1/1 loss system, blocking
        // a/(1 + a) = 0.5 whatever the holding law.
        let svc = service(1, 1, "cpu_ms: 0.01, network_ms: 1000");
        let mut rm = model(&svc, None, &RequestOptions::default());
        let (tot, _) = drive(&mut rm, 4000, 1.0);
        let blocked = tot[1] / tot[0];
        assert!((blocked - 0.5).abs() < 0.015, "{blocked}");
    }

    #[test]
    fn a_pod_leaving_the_endpoints_drains_and_a_killed_one_loses_its_requests() {
        // 10 s off-CPU per request: after one 5 s step ~50 requests are in flight.
        let svc = service(2, 1000, "cpu_ms: 1, network_ms: 10000");
        let mut rm = model(&svc, None, &RequestOptions::default());
        rm.step(0, 5000, 10.0, &[0]);
        let held = rm.in_flight();
        assert!(held > 30, "{held}");
        // Removed from the endpoints: new arrivals find no pod, the held ones finish.
        let mut served = 0.0;
        for k in 1..4 {
            rm.step(k * 5000, (k + 1) * 5000, 10.0, &[]);
            assert_eq!(rm.stats[0].rejected, rm.stats[0].arrivals);
            served += rm.stats[0].served;
        }
        assert_eq!(served, held as f64);
        assert_eq!(rm.in_flight(), 0);
        // Killed: what it holds fails at once, nothing completes later.
        rm.step(20_000, 25_000, 10.0, &[7]);
        let held = rm.in_flight();
        rm.kill(7);
        assert_eq!(rm.lost[0], held as f64);
        assert_eq!(rm.in_flight(), 0);
        rm.step(25_000, 40_000, 0.0, &[]);
        assert_eq!(rm.stats[0].served, 0.0);
        assert!(rm.usage(7).is_none());
    }

    /// Requests of pod slot 0 past the worker queue, per worker index.
    fn held_per_worker(rm: &RequestModel) -> Vec<u32> {
        let mut count = vec![0; rm.workers as usize];
        for q in rm
            .reqs
            .iter()
            .filter(|q| q.alive && q.phase != Phase::Queued)
        {
            count[usize::from(q.worker)] += 1;
        }
        count
    }

    #[test]
    fn a_killed_worker_loses_its_own_requests_and_the_pod_serves_on() {
        // 3 async workers, 150 ms of CPU then 1 s off-CPU, a pool of 2 connections per process
        // held 300 ms per request (the process waits for one, with no limit): at λ = 10/s the
        // workers are busy half the time, and the lowest free one takes a request, so they
        // hold unequal numbers (the racing accept of gunicorn#2670).
        let svc = service(
            3,
            1000,
            "cpu_ms: 150, network_ms: 1000, downstream: [{ server: mongodb, ops_per_request: 1, round_trip: 300ms }]",
        );
        let opts = RequestOptions {
            pools: vec![PoolSpec {
                server: "mongodb".into(),
                size: 2,
                blocks_process: false,
                mode: PoolMode::Block { timeout_ms: None },
            }],
        };
        let mut rm = model(&svc, None, &opts);
        let (mut arrivals, mut served) = (0.0, 0.0);
        rm.step(0, 5000, 10.0, &[0]);
        arrivals += rm.stats[0].arrivals;
        served += rm.stats[0].served;
        let before = held_per_worker(&rm);
        let (in_flight, in_use) = (rm.in_flight(), rm.pool_stats[0].in_use);
        let largest = *before.iter().max().unwrap();
        let victim = before.iter().position(|&c| c == largest).unwrap();
        assert!(largest > 0 && u64::from(largest) < in_flight, "{before:?}");
        assert!(in_use > 0);
        rm.kill_worker(0, 5000.0);
        // Exactly the victim's requests fail; the queued ones and the other workers' stay.
        assert_eq!(rm.lost[0], f64::from(largest));
        assert_eq!(rm.stats[0].killed, f64::from(largest));
        assert_eq!(rm.in_flight(), in_flight - u64::from(largest));
        let mut after = before.clone();
        after[victim] = 0;
        assert_eq!(held_per_worker(&rm)[..], after[..]);
        // Its pool's connections went with it: only the others' stay checked out.
        let others = rm
            .reqs
            .iter()
            .filter(|q| q.alive && q.phase == Phase::PoolHold)
            .count();
        assert_eq!(rm.pool_stats[0].in_use as usize, others);
        // The pod serves on: every request left or still arriving completes, none is lost.
        for k in 1..8 {
            let lambda = if k < 4 { 10.0 } else { 0.0 };
            rm.step(k * 5000, (k + 1) * 5000, lambda, &[0]);
            let st = &rm.stats[0];
            arrivals += st.arrivals;
            served += st.served;
            assert_eq!(st.rejected + st.timed_out + st.pool_failed + st.killed, 0.0);
        }
        assert_eq!(rm.in_flight(), 0);
        assert_eq!(rm.pool_stats[0].in_use, 0);
        assert_eq!(served + f64::from(largest), arrivals);
        assert!(rm.usage(0).is_some());
    }

    #[test]
    fn pools_queue_fifo_time_out_or_raise() {
        // One connection per process, 100 ms hold per request, λ = 5/s after ~0 CPU: a = 0.5.
        let svc = service(
            1,
            1000,
            "cpu_ms: 0.01, downstream: [{ server: mongodb, ops_per_request: 1, round_trip: 100ms }]",
        );
        let pool = |mode| RequestOptions {
            pools: vec![PoolSpec {
                server: "mongodb".into(),
                size: 1,
                blocks_process: false,
                mode,
            }],
        };
        // Raising pool: a loss system, Erlang B(1, 0.5) = 1/3 fail at the checkout (pool
        // errors, as the fluid model counts them; none rejected by the pod).
        let mut rm = model(&svc, None, &pool(PoolMode::Raise));
        let (tot, _) = drive(&mut rm, 2000, 5.0);
        assert!((tot[5] / tot[0] - 1.0 / 3.0).abs() < 0.015, "{tot:?}");
        assert_eq!((tot[1], tot[2]), (0.0, 0.0));
        let ps = &rm.pool_stats[0];
        assert_eq!(ps.raised as f64, tot[5]);
        assert_eq!((ps.waited, ps.peak_in_use), (0, 1));
        // A 1 ms wait limit behaves the same, as timeouts.
        let mut rm = model(
            &svc,
            None,
            &pool(PoolMode::Block {
                timeout_ms: Some(1.0),
            }),
        );
        let (tot, _) = drive(&mut rm, 2000, 5.0);
        assert!((tot[5] / tot[0] - 1.0 / 3.0).abs() < 0.015, "{tot:?}");
        assert_eq!((tot[1], tot[2]), (0.0, 0.0));
        // Waiting forever: no error; an M/D/1 queue (P(wait) = ρ = 0.5, so the median
        // latency is the 100 ms hold, and the p90 lies above it).
        let mut rm = model(&svc, None, &pool(PoolMode::Block { timeout_ms: None }));
        let (tot, h) = drive(&mut rm, 2000, 5.0);
        assert_eq!(tot[1] + tot[2] + tot[5], 0.0);
        // M/D/1 at ρ = 0.5: half the checkouts wait.
        let ps = &rm.pool_stats[0];
        let waited = ps.waited as f64 / ps.checkouts as f64;
        assert!((waited - 0.5).abs() < 0.02, "{waited}");
        assert!((tot[3] - tot[0]).abs() <= 2.0, "{tot:?}");
        let p50 = h.quantile(0.5).unwrap();
        assert!((0.095..0.115).contains(&p50), "{p50}");
        assert!(h.quantile(0.9).unwrap() > 0.15);
        // Without the pool the calls never wait.
        let mut rm = model(&svc, None, &RequestOptions::default());
        let (_, h) = drive(&mut rm, 200, 5.0);
        assert!(h.quantile(0.99).unwrap() < 0.111);
    }

    /// A synchronous driver inside an event loop (one worker, 10 ms CPU + a 40 ms MongoDB
    /// round trip): the process is held 50 ms per request, so it serves at most 1/0.05 = 20
    /// req/s and uses 0.2 cores; at 30 req/s the rest queue. With the async driver the same
    /// load keeps up (0.3 cores), and at 15 req/s the sync process is busy 75 % of the time.
    #[test]
    fn a_sync_driver_holds_the_worker_through_its_calls() {
        let svc = service(
            1,
            1000,
            "cpu_ms: 10, downstream: [{ server: mongodb, ops_per_request: 1, round_trip: 40ms }]",
        );
        let pool = |blocks_process| RequestOptions {
            pools: vec![PoolSpec {
                server: "mongodb".into(),
                size: 100,
                blocks_process,
                mode: PoolMode::Block { timeout_ms: None },
            }],
        };
        let cpu = |rm: &RequestModel| rm.usage(0).unwrap().cpu_cores;
        let mut sync = model(&svc, None, &pool(true));
        let (tot, _) = drive(&mut sync, 400, 30.0);
        let rate = tot[3] / 2000.0;
        assert!((rate - 20.0).abs() < 0.4, "{tot:?}");
        assert!((cpu(&sync) - 0.2).abs() < 0.02, "{}", cpu(&sync));
        assert!(sync.pool_stats[0].peak_in_use <= 1);
        let mut free = model(&svc, None, &pool(false));
        let (tot, _) = drive(&mut free, 400, 30.0);
        assert!((tot[3] - tot[0]).abs() < 30.0, "{tot:?}");
        assert!((cpu(&free) - 0.3).abs() < 0.05, "{}", cpu(&free));
        let mut light = model(&svc, None, &pool(true));
        let (tot, _) = drive(&mut light, 400, 15.0);
        let waited = tot[4] / tot[3];
        assert!((waited - 0.75).abs() < 0.03, "{tot:?}");
    }

    #[test]
    fn unit_gamma_has_mean_one_and_the_requested_scv() {
        let mut rng = crate::sim::rng::stream(3, 0, crate::sim::rng::Purpose::Requests);
        for scv in [0.5, 1.0, 1.5] {
            let n = 200_000;
            let xs: Vec<f64> = (0..n).map(|_| unit_gamma(&mut rng, scv)).collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            assert!((mean - 1.0).abs() < 0.01, "scv {scv}: mean {mean}");
            assert!(
                (var - scv).abs() < 0.03 * scv.max(1.0),
                "scv {scv}: var {var}"
            );
        }
    }

    #[test]
    fn semaphore_is_fifo() {
        let mut s = Semaphore::new(1);
        assert!(s.try_acquire());
        assert!(!s.try_acquire());
        s.waiters.push_back(7);
        s.waiters.push_back(9);
        assert!(s.cancel(7));
        assert_eq!(s.release(), Some(9));
        assert_eq!(s.in_use, 1);
        assert_eq!(s.release(), None);
        assert_eq!(s.in_use, 0);
    }
}
