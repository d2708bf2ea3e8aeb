//! What the VPA recommender keeps per container (`pkg/recommender/model`): the per-container
//! sample filter and memory-peak window ([`ContainerState`]) and the aggregation the estimators
//! read ([`AggregateContainerState`]).

use super::histogram::{DecayingHistogram, HistogramOptions, SampleHistogram};
use super::VpaConfig;

/// Resource amounts as upstream keeps them: CPU in millicores, memory in bytes, in
/// `[0, MAX_RESOURCE_AMOUNT]`.
pub type ResourceAmount = i64;

/// Largest resource amount (upstream `MaxResourceAmount`, 1e14).
pub const MAX_RESOURCE_AMOUNT: ResourceAmount = 100_000_000_000_000;

/// Weight of every CPU sample before decay (upstream `minSampleWeight`; since kubernetes/
/// autoscaler ca812b36, Feb 2025, samples no longer weigh `max(request cores, 0.1)`).
pub const CPU_SAMPLE_WEIGHT: f64 = 0.1;

/// Minimum weight of a non-empty histogram bucket (upstream `epsilon = 0.001 × minSampleWeight`).
pub const HISTOGRAM_EPSILON: f64 = 0.001 * CPU_SAMPLE_WEIGHT;

/// A float amount as a resource amount: truncated, negative → 0, capped at 1e14 (upstream
/// `resourceAmountFromFloat`).
pub fn resource_amount_from_float(amount: f64) -> ResourceAmount {
    if amount > MAX_RESOURCE_AMOUNT as f64 {
        MAX_RESOURCE_AMOUNT
    } else if amount < 0.0 || amount.is_nan() {
        0
    } else {
        amount as ResourceAmount
    }
}

/// CPU cores as millicores (upstream `CPUAmountFromCores`).
pub fn cpu_amount_from_cores(cores: f64) -> ResourceAmount {
    resource_amount_from_float(cores * 1000.0)
}

/// `amount × factor`, truncated and capped (upstream `ScaleResource`).
pub fn scale_resource(amount: ResourceAmount, factor: f64) -> ResourceAmount {
    resource_amount_from_float(amount as f64 * factor)
}

/// The aggregated usage of a set of containers (one container name of one workload): decaying
/// CPU usage and memory-peak histograms and the CPU sample span and count that drive the
/// confidence of both bounds (upstream `AggregateContainerState`).
#[derive(Debug, Clone)]
pub struct AggregateContainerState<H = DecayingHistogram> {
    /// CPU usage samples (cores), each weighing [`CPU_SAMPLE_WEIGHT`].
    pub cpu: H,
    /// Memory peaks (bytes), one per container and aggregation interval, weighing 1.
    pub memory_peaks: H,
    /// Start of the earliest CPU sample (unix ms).
    pub first_sample_start: Option<i64>,
    /// Start of the latest CPU sample (unix ms).
    pub last_sample_start: Option<i64>,
    /// Number of CPU samples.
    pub total_samples_count: u64,
    /// Length of one memory aggregation interval.
    pub memory_aggregation_interval_ms: i64,
    /// Memory after an OOM = max(base × this, base + `oom_min_bump_up_bytes`).
    pub oom_bump_up_ratio: f64,
    /// Smallest OOM bump, bytes.
    pub oom_min_bump_up_bytes: f64,
}

/// CPU histogram: largest value, cores (upstream `cpuHistogramOptions`).
const CPU_HISTOGRAM_MAX_CORES: f64 = 1000.0;
/// CPU histogram: size of bucket 0, cores (10m). An open upstream PR (kubernetes/autoscaler
/// #7554) would lower it to 1m; released code uses 10m.
const CPU_HISTOGRAM_FIRST_BUCKET_CORES: f64 = 0.01;
/// Memory histogram: largest value, bytes (1 TB).
const MEMORY_HISTOGRAM_MAX_BYTES: f64 = 1e12;
/// Memory histogram: size of bucket 0, bytes (10 MB).
const MEMORY_HISTOGRAM_FIRST_BUCKET_BYTES: f64 = 1e7;
/// Each bucket is 5 % wider than the previous one (upstream `DefaultHistogramBucketSizeGrowth`).
const HISTOGRAM_BUCKET_SIZE_GROWTH: f64 = 0.05;

impl AggregateContainerState<DecayingHistogram> {
    /// An empty aggregation with upstream's histograms: CPU buckets from 10m growing 5 % up to
    /// 1000 cores, memory buckets from 10 MB growing 5 % up to 1 TB (176 buckets each), both
    /// decaying with the configured half-lives.
    pub fn new(config: &VpaConfig) -> Self {
        let growth = 1.0 + HISTOGRAM_BUCKET_SIZE_GROWTH;
        // Constant, valid arguments: these cannot fail.
        let cpu = HistogramOptions::exponential(
            CPU_HISTOGRAM_MAX_CORES,
            CPU_HISTOGRAM_FIRST_BUCKET_CORES,
            growth,
            HISTOGRAM_EPSILON,
        )
        .expect("upstream CPU histogram options are valid");
        let mem = HistogramOptions::exponential(
            MEMORY_HISTOGRAM_MAX_BYTES,
            MEMORY_HISTOGRAM_FIRST_BUCKET_BYTES,
            growth,
            HISTOGRAM_EPSILON,
        )
        .expect("upstream memory histogram options are valid");
        Self::with_histograms(
            DecayingHistogram::new(cpu, config.cpu_half_life_ms),
            DecayingHistogram::new(mem, config.memory_half_life_ms),
            config,
        )
    }
}

impl<H: SampleHistogram> AggregateContainerState<H> {
    /// An empty aggregation over the given histograms.
    pub fn with_histograms(cpu: H, memory_peaks: H, config: &VpaConfig) -> Self {
        AggregateContainerState {
            cpu,
            memory_peaks,
            first_sample_start: None,
            last_sample_start: None,
            total_samples_count: 0,
            memory_aggregation_interval_ms: config.memory_aggregation_interval_ms,
            oom_bump_up_ratio: config.oom_bump_up_ratio,
            oom_min_bump_up_bytes: config.oom_min_bump_up_bytes,
        }
    }

    /// Adds a CPU sample of `cpu_milli` millicores measured from `t_ms`.
    pub fn add_cpu_sample(&mut self, cpu_milli: ResourceAmount, t_ms: i64) {
        self.cpu
            .add_sample(cpu_milli as f64 / 1000.0, CPU_SAMPLE_WEIGHT, t_ms);
        if self.last_sample_start.is_none_or(|l| t_ms > l) {
            self.last_sample_start = Some(t_ms);
        }
        if self.first_sample_start.is_none_or(|f| t_ms < f) {
            self.first_sample_start = Some(t_ms);
        }
        self.total_samples_count += 1;
    }

    /// Whether the aggregation is stale and would be garbage-collected (upstream `isExpired`):
    /// at least `interval_count` memory aggregation intervals (upstream's
    /// `--memory-aggregation-interval-count`, default 8, so 8 days) have passed since the last
    /// CPU sample, or since `created_ms` when it never had a sample.
    pub fn is_expired(&self, now_ms: i64, created_ms: i64, interval_count: i64) -> bool {
        let window = self
            .memory_aggregation_interval_ms
            .saturating_mul(interval_count);
        let since = match (self.total_samples_count, self.last_sample_start) {
            (0, _) | (_, None) => created_ms,
            (_, Some(last)) => last,
        };
        now_ms.saturating_sub(since) >= window
    }

    fn add_memory_peak(&mut self, bytes: ResourceAmount, t_ms: i64) {
        self.memory_peaks.add_sample(bytes as f64, 1.0, t_ms);
    }

    fn subtract_memory_peak(&mut self, bytes: ResourceAmount, t_ms: i64) {
        self.memory_peaks.subtract_sample(bytes as f64, 1.0, t_ms);
    }
}

/// One container instance (one container of one pod): it filters its samples and keeps the
/// memory peak of the current aggregation interval (upstream `ContainerState`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerState {
    last_cpu_sample_start: Option<i64>,
    /// Highest memory usage seen in the current interval.
    memory_peak: ResourceAmount,
    /// Highest memory estimated from an OOM in the current interval.
    oom_peak: ResourceAmount,
    /// End (exclusive) of the current memory aggregation interval.
    window_end: Option<i64>,
    last_memory_sample_start: Option<i64>,
    /// Cap on the memory an OOM may ask for, bytes; 0 = no cap (upstream `MaxMemory`, the
    /// container's maxAllowed memory).
    max_memory: ResourceAmount,
}

impl ContainerState {
    /// A container with no samples yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// End of the current memory aggregation interval (unix ms), once a memory sample came.
    pub fn window_end(&self) -> Option<i64> {
        self.window_end
    }

    /// Caps the memory an OOM may ask for at `bytes` (0 = no cap), like upstream's
    /// `ContainerState.MaxMemory`: both the OOM base and the bumped peak are capped.
    pub fn set_max_memory(&mut self, bytes: ResourceAmount) {
        self.max_memory = bytes.max(0);
    }

    /// The memory cap set with [`set_max_memory`](Self::set_max_memory), 0 if none.
    pub fn max_memory(&self) -> ResourceAmount {
        self.max_memory
    }

    /// The memory peak of the current interval, from usage or from an OOM.
    pub fn max_memory_peak(&self) -> ResourceAmount {
        self.memory_peak.max(self.oom_peak)
    }

    /// Adds a CPU sample (millicores) measured from `t_ms`; returns false (and drops it) when
    /// it is negative or not later than the previous CPU sample.
    pub fn add_cpu_sample<H: SampleHistogram>(
        &mut self,
        cpu_milli: ResourceAmount,
        t_ms: i64,
        agg: &mut AggregateContainerState<H>,
    ) -> bool {
        if cpu_milli < 0 || self.last_cpu_sample_start.is_some_and(|l| t_ms <= l) {
            return false;
        }
        agg.add_cpu_sample(cpu_milli, t_ms);
        self.last_cpu_sample_start = Some(t_ms);
        true
    }

    /// Adds a memory (working set) sample in bytes; returns false (and drops it) when it is
    /// negative or older than the previous memory sample.
    pub fn add_memory_sample<H: SampleHistogram>(
        &mut self,
        bytes: ResourceAmount,
        t_ms: i64,
        agg: &mut AggregateContainerState<H>,
    ) -> bool {
        self.add_memory(bytes, t_ms, false, agg)
    }

    /// Records an OOM kill at `t_ms` of a container that requested `requested_bytes`: an
    /// artificial peak of max(base + min bump, base × ratio), base = max(request, usage peak of
    /// the interval) — never the previous OOM peak, so repeated OOMs do not run away. With a
    /// memory cap ([`set_max_memory`](Self::set_max_memory)) the base and the peak are both
    /// capped at it. An OOM older than one interval before the window end is discarded (error).
    pub fn record_oom<H: SampleHistogram>(
        &mut self,
        t_ms: i64,
        requested_bytes: ResourceAmount,
        agg: &mut AggregateContainerState<H>,
    ) -> Result<(), String> {
        if let Some(end) = self.window_end {
            if t_ms < end - agg.memory_aggregation_interval_ms {
                return Err(format!(
                    "OOM event will be discarded - it is too old ({t_ms} ms)"
                ));
            }
        }
        let cap = |x: ResourceAmount| {
            if self.max_memory > 0 {
                x.min(self.max_memory)
            } else {
                x
            }
        };
        let used = cap(requested_bytes.max(self.memory_peak));
        let needed = cap(
            (used + resource_amount_from_float(agg.oom_min_bump_up_bytes))
                .max(scale_resource(used, agg.oom_bump_up_ratio)),
        );
        if !self.add_memory(needed, t_ms, true, agg) {
            return Err("adding OOM sample failed".into());
        }
        Ok(())
    }

    fn add_memory<H: SampleHistogram>(
        &mut self,
        bytes: ResourceAmount,
        t_ms: i64,
        is_oom: bool,
        agg: &mut AggregateContainerState<H>,
    ) -> bool {
        if bytes < 0 || (!is_oom && self.last_memory_sample_start.is_some_and(|l| t_ms < l)) {
            return false;
        }
        self.last_memory_sample_start = Some(t_ms);
        let window_end = *self.window_end.get_or_insert(t_ms);
        let interval = agg.memory_aggregation_interval_ms.max(1);
        let add_new_peak = if t_ms < window_end {
            let old = self.max_memory_peak();
            if old != 0 && bytes > old {
                agg.subtract_memory_peak(old, window_end);
                true
            } else {
                false
            }
        } else {
            // Move the window to the interval holding `t_ms`.
            let since = t_ms - window_end;
            let shift = since - since % interval + interval;
            self.window_end = Some(window_end + shift);
            self.memory_peak = 0;
            self.oom_peak = 0;
            true
        };
        if add_new_peak {
            let end = self.window_end.unwrap_or(window_end);
            agg.add_memory_peak(bytes, end);
            if is_oom {
                self.oom_peak = bytes;
            } else {
                self.memory_peak = bytes;
            }
        }
        true
    }
}
