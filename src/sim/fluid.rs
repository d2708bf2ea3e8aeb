//! The fluid load model of one service: per step, arrivals split evenly over ready pods; per pod
//! an M/M/c queue (workers as servers, CPU time as service, Allen–Cunneen for burstiness), a
//! fluid backlog when demand exceeds capacity, concurrency rejections and client timeouts.
//!
//! Per-step laws are memoized by (quantized per-pod rate, backlog bin): a recorded trace visits
//! few distinct states, so the queueing formulas run once per state, not once per step.

use std::collections::HashMap;

use crate::k8s::cfs;
use crate::model::scenario::Service;
use crate::sim::latency::{self, Law};
use crate::sim::queueing::{wait_law, WaitLaw};

/// Number of equally likely atoms describing a class's base latency (service + downstream +
/// external wait).
pub const BASE_ATOMS: usize = 32;

/// Highest utilization used in the queueing formulas; above it the fluid backlog takes over.
const MAX_RHO: f64 = 0.98;

/// Atoms kept of a CFS replay's sojourn times: enough to resolve the p99 tail.
pub const CFS_ATOMS: usize = 256;

/// Requests replayed through the CFS model per state (the first tenth is warm-up).
pub const CFS_REPLAY_REQUESTS: usize = 4000;

/// Per-pod arrival rates below this (req/s) count as idle.
pub const RATE_GRID_FLOOR: f64 = 1e-3;
/// Ratio between consecutive quantized per-pod rates.
pub const RATE_GRID_RATIO: f64 = 1.02;

/// One request class, compiled for a candidate's pod shape.
#[derive(Debug, Clone)]
pub struct ClassModel {
    /// Share of the service's arrivals.
    pub share: f64,
    /// CPU seconds per request on one full core.
    pub cpu_s: f64,
    /// Memory per in-flight request, bytes.
    pub memory_per_request: f64,
    /// Base latency atoms (seconds), sorted.
    pub base_atoms: Vec<f64>,
    /// The part of the base latency spent off the pod's CPU (network, downstream, external
    /// wait), as atoms in seconds.
    pub off_cpu_atoms: Vec<f64>,
    /// CPU time per request relative to its mean (gamma atoms, mean 1).
    pub cpu_unit_atoms: Vec<f64>,
    /// Mean of the base latency.
    pub base_mean: f64,
    /// Squared coefficient of variation of the CPU time.
    pub cpu_scv: f64,
    /// Seconds per request its worker process is blocked off the CPU (synchronous driver
    /// calls inside an event loop; 0 otherwise): exclusive time of the process, like CPU.
    pub block_s: f64,
}

/// The per-step outcome of one memoized state.
#[derive(Debug, Clone)]
pub struct StateLaw {
    /// Fraction of arrivals rejected (no worker slot).
    pub rejected: f64,
    /// Per class (one allocation: a step reads them all).
    pub classes: Vec<ClassOutcome>,
    /// In-flight requests per pod.
    pub in_flight_per_pod: f64,
    /// Fraction of CFS periods with work in which the pod ran out of quota.
    pub throttled_ratio: f64,
}

/// What one class's requests see in a memoized state.
#[derive(Debug, Clone, Copy)]
pub struct ClassOutcome {
    /// Fraction of served requests that exceed the client timeout.
    pub timed_out: f64,
    /// Mean latency (s).
    pub mean_latency: f64,
    /// Latency law index (see [`ServiceModel::law`]).
    pub law: u32,
}

/// Memoized states: per key (rate level, backlog bin) a state, per state and class a latency law.
#[derive(Debug, Clone, Default)]
pub struct StateTable {
    memo: HashMap<u64, u32, BuildFastHash>,
    states: Vec<StateLaw>,
    laws: Vec<Law>,
}

impl StateTable {
    /// Appends `more`, whose indices continue this table's.
    fn extend(&mut self, more: &StateTable) {
        self.memo.extend(more.memo.iter().map(|(&k, &v)| (k, v)));
        self.states.extend(more.states.iter().cloned());
        self.laws.extend_from_slice(&more.laws);
    }
}

/// A service compiled for one candidate: pod shape, classes and the memo of per-state laws.
#[derive(Debug, Clone)]
pub struct ServiceModel {
    /// Worker processes per pod.
    pub workers: u32,
    /// CPU cores a pod can use for requests (min of workers and the CPU limit, less idle).
    pub capacity_cores: f64,
    /// CPU cores a saturated pod uses: `capacity_cores`, or less when blocking calls hold its
    /// processes off the CPU (the fluid backlog drains at this rate).
    pub saturation_cores: f64,
    /// CPU speed of one worker while it runs, cores (1 under a binding CFS limit).
    pub speed: f64,
    /// Mean blocked seconds per request over the class mix.
    pub mean_block_s: f64,
    /// Mean base latency over the class mix (a request's time in the pod when nothing
    /// queues), seconds.
    pub mean_base_s: f64,
    /// Idle CPU per pod, cores.
    pub idle_cores: f64,
    /// In-flight limit per pod.
    pub max_in_flight: f64,
    /// Mean CPU seconds per request over the class mix.
    pub mean_cpu_s: f64,
    /// Squared coefficient of variation of arrivals over the mix.
    pub arrival_scv: f64,
    /// Squared coefficient of variation of CPU service over the mix.
    pub service_scv: f64,
    /// Client timeout, seconds.
    pub timeout_s: f64,
    /// Resting memory of a pod, bytes.
    pub base_memory: f64,
    /// Classes.
    pub classes: Vec<ClassModel>,
    /// CPU quota per 100 ms period left for requests, when the CPU limit binds (CFS).
    pub cfs_quota_ms: Option<f64>,
    /// The scenario's shared replay cache and this service's index in the scenario.
    cache_key: (Option<cfs::ReplayCache>, usize),
    /// States earlier runs computed, shared read-only through the scenario's [`ModelCache`].
    known: std::sync::Arc<StateTable>,
    /// States this run computed beyond `known` (indices continue after `known`'s).
    learned: StateTable,
    /// The states asked for lately.
    recent: Recent,
}

/// Slots of [`Recent`].
const RECENT_SLOTS: usize = 64;

/// The states a run asked for lately: consecutive steps usually repeat the last one, and a
/// replication's rates keep returning to a few nearby levels, so most lookups end here
/// instead of in the (large, shared) tables. States never move within a run: exact.
#[derive(Debug, Clone)]
struct Recent {
    /// The last (per-pod rate, backlog bin, state).
    last: Option<(f64, u16, u32)>,
    /// Direct-mapped (key, state); key `u64::MAX`: empty.
    slots: [(u64, u32); RECENT_SLOTS],
}

impl Default for Recent {
    fn default() -> Self {
        Recent {
            last: None,
            slots: [(u64::MAX, 0); RECENT_SLOTS],
        }
    }
}

/// Standard-gamma quantile atoms with mean 1 and squared coefficient of variation `scv`
/// (`scv = 0`: deterministic), at the midpoints `(i + 0.5)/n`.
pub fn unit_gamma_atoms(scv: f64, n: usize) -> Vec<f64> {
    use statrs::distribution::{ContinuousCDF, Gamma};
    if scv <= 1e-9 {
        return vec![1.0; n];
    }
    let shape = 1.0 / scv;
    let Ok(g) = Gamma::new(shape, shape) else {
        return vec![1.0; n];
    };
    let mut atoms: Vec<f64> = (0..n)
        .map(|i| g.inverse_cdf((i as f64 + 0.5) / n as f64))
        .collect();
    // Midpoint quantiles understate the mean of skewed laws: rescale to mean 1 exactly.
    let mean = atoms.iter().sum::<f64>() / n as f64;
    if mean > 0.0 {
        for a in &mut atoms {
            *a /= mean;
        }
    }
    atoms
}

/// Equally likely atoms of the sum of two independent laws given by atoms, reduced to `n`.
pub fn sum_atoms(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    if b.is_empty() {
        return reduce_atoms(a.to_vec(), n);
    }
    if a.is_empty() {
        return reduce_atoms(b.to_vec(), n);
    }
    let mut all = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            all.push(x + y);
        }
    }
    reduce_atoms(all, n)
}

/// Reduces sorted-or-not atoms to `n` equally likely atoms (means of equal-mass groups).
pub fn reduce_atoms(mut v: Vec<f64>, n: usize) -> Vec<f64> {
    // A total order: an unstable sort gives the same sequence, faster.
    v.sort_unstable_by(f64::total_cmp);
    if v.len() <= n {
        return v;
    }
    let m = v.len();
    (0..n)
        .map(|i| {
            let (lo, hi) = (i * m / n, ((i + 1) * m / n).max(i * m / n + 1));
            v[lo..hi].iter().sum::<f64>() / (hi - lo) as f64
        })
        .collect()
}

impl ServiceModel {
    /// Compiles `service` for pods with `cpu_limit_milli` (None = unlimited).
    pub fn new(service: &Service, cpu_limit_milli: Option<i64>) -> ServiceModel {
        let p = &service.profile;
        let workers = p.workers.max(1);
        let limit_cores = cpu_limit_milli.map_or(f64::INFINITY, |m| m as f64 / 1000.0);
        let idle_cores = p.idle_cpu.0 as f64 / 1000.0;
        let raw_cap = f64::from(workers).min(limit_cores);
        let capacity_cores = (raw_cap - idle_cores).max(raw_cap * 0.05).max(1e-3);
        // A limit below the worker count binds per 100 ms period (CFS): workers run at full
        // speed until the quota (less what idle work uses) is gone, then wait for the next
        // period. Without a binding limit each worker gets a full core.
        let cfs_quota_ms = cpu_limit_milli
            .filter(|&m| (m as f64) < f64::from(workers) * 1000.0)
            .map(|m| (cfs::quota_ms(m) - idle_cores * cfs::PERIOD_MS).max(cfs::MIN_QUOTA_MS));
        let speed = if cfs_quota_ms.is_some() {
            1.0
        } else {
            capacity_cores / f64::from(workers)
        };
        let mut classes = Vec::with_capacity(p.classes.len());
        let (mut mean_cpu, mut second_moment, mut ca2) = (0.0, 0.0, 0.0);
        for (c, input) in p.classes.iter().zip(service.classes.iter()) {
            let service_s = c.cpu_ms / 1000.0 / speed;
            let cpu_unit_atoms = unit_gamma_atoms(c.cpu_scv, BASE_ATOMS);
            let cpu_atoms: Vec<f64> = cpu_unit_atoms.iter().map(|u| u * service_s).collect();
            let fixed = c.network_ms / 1000.0
                + c.downstream
                    .iter()
                    .map(|d| d.ops_per_request * d.round_trip as f64 / 1000.0)
                    .sum::<f64>();
            let mut atoms = sum_atoms(&cpu_atoms, &input.external_s, BASE_ATOMS);
            for a in &mut atoms {
                *a += fixed;
            }
            let mut off_cpu_atoms = if input.external_s.is_empty() {
                vec![0.0]
            } else {
                input.external_s.clone()
            };
            for a in &mut off_cpu_atoms {
                *a += fixed;
            }
            let base_mean = atoms.iter().sum::<f64>() / atoms.len().max(1) as f64;
            mean_cpu += c.share * c.cpu_ms / 1000.0;
            second_moment += c.share * (c.cpu_ms / 1000.0).powi(2) * (1.0 + c.cpu_scv);
            ca2 += c.share * input.arrival_scv;
            classes.push(ClassModel {
                share: c.share,
                cpu_s: c.cpu_ms / 1000.0,
                memory_per_request: c.memory_per_request.0 as f64,
                base_atoms: atoms,
                off_cpu_atoms,
                cpu_unit_atoms,
                base_mean,
                cpu_scv: c.cpu_scv,
                block_s: 0.0,
            });
        }
        let mean_base_s = classes.iter().map(|c| c.share * c.base_mean).sum();
        let service_scv = if mean_cpu > 0.0 {
            (second_moment / (mean_cpu * mean_cpu) - 1.0).max(0.0)
        } else {
            1.0
        };
        ServiceModel {
            workers,
            capacity_cores,
            saturation_cores: capacity_cores,
            speed,
            mean_block_s: 0.0,
            mean_base_s,
            idle_cores,
            max_in_flight: f64::from(workers) * f64::from(p.concurrency_per_worker),
            mean_cpu_s: mean_cpu,
            arrival_scv: ca2,
            service_scv,
            timeout_s: p.timeout as f64 / 1000.0,
            base_memory: p.memory.base_pod.0 as f64
                + f64::from(workers) * p.memory.base_per_worker.0 as f64,
            classes,
            cfs_quota_ms,
            cache_key: (None, 0),
            known: std::sync::Arc::default(),
            learned: StateTable::default(),
            recent: Recent::default(),
        }
    }

    /// Blocks each worker process for `block_s[c]` seconds per request of class `c` besides
    /// its CPU time (a synchronous driver inside an event loop): the process's service time
    /// becomes CPU time plus blocked time, which lowers the pod's saturation throughput to
    /// `workers / (cpu/speed + block)` requests per second. Classes beyond `block_s` do not
    /// block.
    pub fn with_blocking(mut self, block_s: &[f64]) -> ServiceModel {
        for (c, &b) in self.classes.iter_mut().zip(block_s) {
            c.block_s = b.max(0.0);
        }
        self.mean_block_s = self.classes.iter().map(|c| c.share * c.block_s).sum();
        if self.mean_block_s <= 0.0 {
            return self;
        }
        let (mut hold, mut second) = (0.0, 0.0);
        for c in &self.classes {
            let run = c.cpu_s / self.speed;
            hold += c.share * (run + c.block_s);
            second += c.share
                * (run * run * (1.0 + c.cpu_scv) + 2.0 * run * c.block_s + c.block_s * c.block_s);
        }
        self.service_scv = (second / (hold * hold) - 1.0).max(0.0);
        let per_request_cores = f64::from(self.workers) * self.mean_cpu_s / hold;
        self.saturation_cores = self.capacity_cores.min(per_request_cores).max(1e-6);
        self
    }

    /// The most queued CPU work a pod receiving `lambda_pod` requests per second holds, in
    /// core-seconds: what drains within the client timeout, and no more requests than the
    /// concurrency limit leaves room for beside the ones being served (the admitted rate
    /// times the base latency). Arrivals beyond it are rejected at once, as uvicorn's
    /// `--limit-concurrency` answers 503.
    pub fn max_backlog_core_s(&self, lambda_pod: f64) -> f64 {
        let by_timeout = self.timeout_s * self.saturation_cores;
        if self.mean_cpu_s <= 0.0 {
            return by_timeout;
        }
        let admitted = lambda_pod.min(self.saturation_cores / self.mean_cpu_s);
        let room = (self.max_in_flight - admitted * self.mean_base_s).max(0.0);
        by_timeout.min(room * self.mean_cpu_s)
    }

    /// Mean time a request holds its worker process, seconds: CPU time at the worker's speed
    /// plus blocked time.
    pub fn process_hold_s(&self) -> f64 {
        self.mean_cpu_s * f64::from(self.workers) / self.capacity_cores + self.mean_block_s
    }

    /// Shares CFS replays through `cache` (the scenario's), this service being `index`.
    pub fn with_cache(mut self, cache: cfs::ReplayCache, index: usize) -> ServiceModel {
        self.cache_key = (Some(cache), index);
        self
    }

    /// The memoized state for a pod receiving `lambda_pod` requests per second with a backlog
    /// wait in latency bin `wait_bin` (0 = none); computed on first use.
    ///
    /// The rate is quantized on a logarithmic grid ([`RATE_GRID_RATIO`] apart), so a week of
    /// traffic needs a few hundred distinct states, not one per step; the quantization moves a
    /// state's rate by at most ±1 % (latency only; arrival counts stay exact).
    pub fn state(&mut self, lambda_pod: f64, wait_bin: u16) -> u32 {
        if let Some((l, w, i)) = self.recent.last {
            if l == lambda_pod && w == wait_bin {
                return i;
            }
        }
        let i = self.lookup(lambda_pod, wait_bin);
        self.recent.last = Some((lambda_pod, wait_bin, i));
        i
    }

    /// The state numbered `i` (as [`ServiceModel::state`] returns).
    pub fn state_law(&self, i: u32) -> &StateLaw {
        let i = i as usize;
        match self.known.states.get(i) {
            Some(st) => st,
            None => &self.learned.states[i - self.known.states.len()],
        }
    }

    /// The latency law numbered `i` (as [`StateLaw::law`] holds).
    pub fn law(&self, i: u32) -> &Law {
        let i = i as usize;
        match self.known.laws.get(i) {
            Some(law) => law,
            None => &self.learned.laws[i - self.known.laws.len()],
        }
    }

    /// States known to this model: shared ones and this run's.
    pub fn state_count(&self) -> usize {
        self.known.states.len() + self.learned.states.len()
    }

    fn lookup(&mut self, lambda_pod: f64, wait_bin: u16) -> u32 {
        let level = if lambda_pod <= RATE_GRID_FLOOR {
            0u32
        } else {
            ((lambda_pod / RATE_GRID_FLOOR).ln() / RATE_GRID_RATIO.ln()).round() as u32 + 1
        };
        let key = (u64::from(level) << 16) | u64::from(wait_bin);
        let slot = (level as usize)
            .wrapping_mul(31)
            .wrapping_add(usize::from(wait_bin))
            % RECENT_SLOTS;
        if self.recent.slots[slot].0 == key {
            return self.recent.slots[slot].1;
        }
        let known = self
            .known
            .memo
            .get(&key)
            .or_else(|| self.learned.memo.get(&key));
        if let Some(&i) = known {
            self.recent.slots[slot] = (key, i);
            return i;
        }
        let lambda_pod = if level == 0 {
            0.0
        } else {
            RATE_GRID_FLOOR * RATE_GRID_RATIO.powi(level as i32 - 1)
        };
        let shift = if wait_bin == 0 {
            0.0
        } else {
            latency::lower_edge(wait_bin as usize)
        };
        let mut st = StateLaw {
            rejected: 0.0,
            classes: Vec::with_capacity(self.classes.len()),
            in_flight_per_pod: 0.0,
            throttled_ratio: 0.0,
        };
        // Per class: the atoms of its latency before the backlog shift, and its waiting law.
        // A blocked process holds its worker off the CPU, which the CFS replay does not model:
        // blocking services take the analytic law at the average speed.
        let quota = self.cfs_quota_ms.filter(|_| self.mean_block_s <= 0.0);
        let per_class: Vec<(Vec<f64>, WaitLaw)> = match quota {
            None => {
                let wait = self.wait_law(lambda_pod);
                self.classes
                    .iter()
                    .map(|c| (c.base_atoms.clone(), wait))
                    .collect()
            }
            Some(quota) => {
                let key = (
                    self.cache_key.1,
                    self.workers,
                    (quota * 1000.0).round() as u64,
                    level,
                );
                let replay = match &self.cache_key.0 {
                    Some(cache) => {
                        cache.get_or_compute(key, || self.cfs_sojourn(lambda_pod, quota, level))
                    }
                    None => std::sync::Arc::new(self.cfs_sojourn(lambda_pod, quota, level)),
                };
                st.throttled_ratio = replay.1;
                replay
                    .0
                    .iter()
                    .map(|a| (a.clone(), WaitLaw::NONE))
                    .collect()
            }
        };
        // Requests held beside the backlog: the backlog's own are bounded by
        // [`ServiceModel::max_backlog_core_s`], so the concurrency limit rejects only what the
        // unqueued requests exceed (counting the backlog here too would reject the same
        // overload twice).
        let mut unqueued = 0.0;
        for (c, (atoms, wait)) in self.classes.iter().zip(&per_class) {
            let base_mean = atoms.iter().sum::<f64>() / atoms.len().max(1) as f64;
            let mean = base_mean + shift + wait.mean();
            st.in_flight_per_pod += lambda_pod * c.share * mean;
            unqueued += lambda_pod * c.share * (base_mean + wait.mean());
            st.classes.push(ClassOutcome {
                timed_out: latency::tail_beyond(atoms, shift, *wait, self.timeout_s),
                mean_latency: mean,
                law: (self.known.laws.len() + self.learned.laws.len()) as u32,
            });
            self.learned
                .laws
                .push(Law::new(latency::law_with_wait(atoms, shift, *wait)));
        }
        if unqueued > self.max_in_flight {
            st.rejected = 1.0 - self.max_in_flight / unqueued;
        }
        let idx = self.state_count() as u32;
        self.learned.states.push(st);
        self.learned.memo.insert(key, idx);
        self.recent.slots[slot] = (key, idx);
        idx
    }

    /// Latency atoms (seconds: sojourn on the pod plus the off-CPU part) per class of one pod
    /// under a CFS quota, from an exact replay of
    /// [`CFS_REPLAY_REQUESTS`] Poisson arrivals at `lambda_pod` (capped below the pod's
    /// capacity; the fluid backlog handles overload), and the throttled-period ratio. The
    /// replay's random stream is fixed per rate level, so the law is the same in every run.
    fn cfs_sojourn(&self, lambda_pod: f64, quota_ms: f64, level: u32) -> (Vec<Vec<f64>>, f64) {
        use rand::{Rng, SeedableRng};
        let n_classes = self.classes.len();
        if lambda_pod <= 0.0 || self.mean_cpu_s <= 0.0 {
            let idle: Vec<Vec<f64>> = self
                .classes
                .iter()
                .map(|c| {
                    let cpu: Vec<f64> = c.cpu_unit_atoms.iter().map(|u| u * c.cpu_s).collect();
                    sum_atoms(&cpu, &c.off_cpu_atoms, CFS_ATOMS)
                })
                .collect();
            return (idle, 0.0);
        }
        let max_rate = MAX_RHO * self.capacity_cores / self.mean_cpu_s;
        let rate_ms = lambda_pod.min(max_rate) / 1000.0;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0xCF5_0000 + u64::from(level));
        let mut jobs = Vec::with_capacity(CFS_REPLAY_REQUESTS);
        let mut class_of = Vec::with_capacity(CFS_REPLAY_REQUESTS);
        let mut t = 0.0;
        for _ in 0..CFS_REPLAY_REQUESTS {
            t += -(1.0 - rng.random::<f64>()).ln() / rate_ms;
            let mut u = rng.random::<f64>();
            let mut k = n_classes - 1;
            for (i, c) in self.classes.iter().enumerate() {
                if u < c.share {
                    k = i;
                    break;
                }
                u -= c.share;
            }
            let c = &self.classes[k];
            let atom = c.cpu_unit_atoms[rng.random_range(0..c.cpu_unit_atoms.len())];
            jobs.push(cfs::Job {
                arrival_ms: t,
                work_ms: c.cpu_s * 1000.0 * atom,
            });
            class_of.push(k);
        }
        let out = cfs::run(&jobs, self.workers, Some(quota_ms));
        let mut per_class = vec![Vec::new(); n_classes];
        // Skip the first tenth: the replay starts empty.
        for (i, (&k, &s)) in class_of.iter().zip(&out.sojourn_ms).enumerate() {
            if i >= CFS_REPLAY_REQUESTS / 10 {
                per_class[k].push(s / 1000.0);
            }
        }
        let atoms = per_class
            .into_iter()
            .zip(&self.classes)
            .map(|(v, c)| {
                let sojourn = if v.is_empty() {
                    c.cpu_unit_atoms.iter().map(|u| u * c.cpu_s).collect()
                } else {
                    reduce_atoms(v, CFS_ATOMS)
                };
                sum_atoms(&sojourn, &c.off_cpu_atoms, CFS_ATOMS)
            })
            .collect();
        (atoms, out.throttled_ratio())
    }

    /// The waiting law of one pod receiving `lambda_pod` requests per second: M/G/c over its
    /// worker processes, each held for [`ServiceModel::process_hold_s`] per request.
    pub fn wait_law(&self, lambda_pod: f64) -> WaitLaw {
        let service_s = self.process_hold_s();
        let rho = lambda_pod * service_s / f64::from(self.workers);
        let lambda_eff = if rho > MAX_RHO {
            MAX_RHO * f64::from(self.workers) / service_s
        } else {
            lambda_pod
        };
        wait_law(
            self.workers,
            lambda_eff,
            service_s,
            self.arrival_scv,
            self.service_scv,
        )
    }
}

/// A fast, deterministic hasher for the memo's integer keys (SplitMix64 finalizer).
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildFastHash;

impl std::hash::BuildHasher for BuildFastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// What a compiled [`ServiceModel`] depends on within a scenario: the service's index, the
/// pod's CPU limit (millicores) and the blocked seconds per class (as bits).
pub type ModelKey = (usize, Option<i64>, Vec<u64>);

/// Most latency laws the [`ModelCache`] keeps over all its models (640 bytes each, ~160 MB):
/// past it, states new to the cache are not kept, which costs time, not results.
pub const MAX_CACHED_LAWS: usize = 250_000;

/// Compiled service models shared by the runs of a scenario (every replication of every
/// candidate), each handed out with the states earlier runs computed, read-only and shared (no
/// copy per run). A cache: a state is a function of its key alone, so a warm model gives exactly
/// the results of a cold one, whichever run warmed it and in whatever order the runs go.
#[derive(Debug, Clone, Default)]
pub struct ModelCache(std::sync::Arc<std::sync::Mutex<CachedModels>>);

/// The models of a [`ModelCache`] and the laws they hold in all.
#[derive(Debug, Default)]
pub struct CachedModels {
    models: HashMap<ModelKey, CachedModel>,
    laws: usize,
}

/// One cached model: the template runs copy (its shared table, nothing learned) and the states
/// runs brought back since the table was last rebuilt, numbered after the table's.
#[derive(Debug)]
struct CachedModel {
    template: ServiceModel,
    pending: StateTable,
}

impl CachedModel {
    /// Adds the states of `learned` (numbered after `known`'s) that are new here.
    fn absorb(&mut self, known: &StateTable, learned: &StateTable, budget: &mut usize) {
        let table = &self.template.known;
        let mut fresh: Vec<(u64, u32)> = learned
            .memo
            .iter()
            .filter(|(k, _)| !table.memo.contains_key(k) && !self.pending.memo.contains_key(k))
            .map(|(&k, &i)| (k, i))
            .collect();
        fresh.sort_unstable_by_key(|&(_, i)| i);
        for (k, i) in fresh {
            let mut st = learned.states[i as usize - known.states.len()].clone();
            if *budget < st.classes.len() {
                return;
            }
            *budget -= st.classes.len();
            for class in &mut st.classes {
                let own = learned.laws[class.law as usize - known.laws.len()].clone();
                class.law = (table.laws.len() + self.pending.laws.len()) as u32;
                self.pending.laws.push(own);
            }
            let index = (table.states.len() + self.pending.states.len()) as u32;
            self.pending.memo.insert(k, index);
            self.pending.states.push(st);
        }
    }

    /// Rebuilds the shared table with the pending states once they are a quarter of it (so
    /// the copies cost, amortized, a constant per state).
    fn consolidate(&mut self) {
        let known = self.template.known.states.len();
        if self.pending.states.is_empty() || self.pending.states.len() * 4 < known {
            return;
        }
        let mut table = StateTable::clone(&self.template.known);
        table.extend(&std::mem::take(&mut self.pending));
        self.template.known = std::sync::Arc::new(table);
    }
}

impl ModelCache {
    /// The cached model for `key` (sharing its state table), or `build()` on a miss.
    pub fn checkout(&self, key: &ModelKey, build: impl FnOnce() -> ServiceModel) -> ServiceModel {
        let cached = self
            .0
            .lock()
            .ok()
            .and_then(|cache| cache.models.get(key).map(|m| m.template.clone()));
        cached.unwrap_or_else(build)
    }

    /// Hands `model` back after a run: the states it learned that the cache lacks are kept
    /// (within [`MAX_CACHED_LAWS`]) for the runs that start later.
    pub fn checkin(&self, key: ModelKey, mut model: ServiceModel) {
        if model.learned.states.is_empty() {
            return;
        }
        let Ok(mut guard) = self.0.lock() else {
            return;
        };
        let cache = &mut *guard;
        let learned = std::mem::take(&mut model.learned);
        let known = std::sync::Arc::clone(&model.known);
        let entry = cache.models.entry(key).or_insert_with(|| {
            model.known = std::sync::Arc::default();
            model.recent = Recent::default();
            CachedModel {
                template: model,
                pending: StateTable::default(),
            }
        });
        let mut budget = MAX_CACHED_LAWS.saturating_sub(cache.laws);
        let before = budget;
        entry.absorb(&known, &learned, &mut budget);
        cache.laws += before - budget;
        entry.consolidate();
    }
}

/// Hasher of [`BuildFastHash`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn gamma_atoms_have_the_requested_moments() {
        let a = unit_gamma_atoms(1.0, 200);
        let mean = a.iter().sum::<f64>() / 200.0;
        let var = a.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 200.0;
        assert_relative_eq!(mean, 1.0, epsilon = 1e-9);
        assert!((var - 1.0).abs() < 0.1, "variance {var}");
        assert_eq!(unit_gamma_atoms(0.0, 4), vec![1.0; 4]);
    }

    /// A synchronous driver inside an event loop: one worker, 10 ms CPU (exponential) and a
    /// 40 ms MongoDB round trip per request. Async, the process is held 10 ms (saturation
    /// 100 req/s); sync, 50 ms: saturation at 1/0.05 = 20 req/s, 0.2 cores busy, and the
    /// service SCV (100 + 2·10·40 + 1600 + 100)/2500 − 1 = 0.04.
    #[test]
    fn blocking_calls_are_exclusive_process_time() {
        let yaml = "name: s\nworkers: 1\nconcurrency_per_worker: 1000\n\
             memory: { base_per_worker: 10Mi }\nstartup: { min: 1s, max: 1s }\n\
             readiness_delay: 1s\ntimeout: 60s\nclasses:\n  - { name: c, share: 1.0, cpu_ms: 10, \
             downstream: [{ server: mongodb, ops_per_request: 1, round_trip: 40ms }] }\n";
        let profile: crate::model::service::ServiceProfile = serde_yaml_ng::from_str(yaml).unwrap();
        let svc = Service {
            name: "s".into(),
            profile,
            rate: None,
            scale: 1.0,
            downstream_only: false,
            classes: vec![crate::model::scenario::ClassInput {
                arrival_scv: 1.0,
                external_s: Vec::new(),
            }],
            min_replicas: 1,
        };
        let block =
            crate::sim::pools::blocked_s_per_class(&svc.profile.classes, |s| s == "mongodb");
        assert_eq!(block, vec![0.04]);
        let free = ServiceModel::new(&svc, None);
        assert_relative_eq!(free.process_hold_s(), 0.010, epsilon = 1e-12);
        assert_relative_eq!(free.saturation_cores, 1.0, epsilon = 1e-12);
        let sync = ServiceModel::new(&svc, None).with_blocking(&block);
        assert_relative_eq!(sync.process_hold_s(), 0.050, epsilon = 1e-12);
        assert_relative_eq!(sync.saturation_cores, 0.2, epsilon = 1e-12);
        assert_relative_eq!(
            sync.saturation_cores / sync.mean_cpu_s,
            20.0,
            epsilon = 1e-9
        );
        assert_relative_eq!(sync.service_scv, 0.04, epsilon = 1e-12);
        // At 15 req/s the process is busy ρ = 0.75 of the time: M/G/1, P(wait) = ρ.
        assert_relative_eq!(sync.wait_law(15.0).p_wait, 0.75, epsilon = 1e-9);
        assert_relative_eq!(free.wait_law(15.0).p_wait, 0.15, epsilon = 1e-9);
    }

    #[test]
    fn reduce_keeps_the_mean() {
        let v: Vec<f64> = (0..1000).map(|i| f64::from(i) * 0.01).collect();
        let r = reduce_atoms(v.clone(), 32);
        assert_eq!(r.len(), 32);
        let m1 = v.iter().sum::<f64>() / 1000.0;
        let m2 = r.iter().sum::<f64>() / 32.0;
        assert!((m1 - m2).abs() < 0.01);
    }
}
