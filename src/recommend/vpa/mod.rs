//! The Vertical Pod Autoscaler's recommender, as kubernetes/autoscaler implements it
//! (`vertical-pod-autoscaler/pkg/recommender/{util,model,logic}`), with its defaults.
//!
//! Samples go through a [`ContainerState`] per container instance into an
//! [`AggregateContainerState`] per workload container: CPU usage into a decaying histogram
//! (every sample weighs 0.1, half-life 24 h), memory as one peak per container and 24 h
//! interval into another. [`estimate`] then takes, per resource, the target (p90), lower
//! (p50) and upper (p95) percentiles, adds the 15 % safety margin, widens the bounds by the
//! confidence multipliers (upper × (1 + 1/confidence), lower × (1 + 0.001/confidence)^−2) and
//! raises everything to the pod minimum (25m, 250 MiB) split evenly over the pod's containers.
//!
//! ```
//! use costsim::recommend::vpa::{estimate, AggregateContainerState, ContainerState, VpaConfig};
//!
//! let config = VpaConfig::default();
//! let mut agg = AggregateContainerState::new(&config);
//! let mut c = ContainerState::new();
//! for i in 0..1440 {
//!     let t = 1_700_000_000_000 + i * 60_000; // one sample a minute for a day
//!     c.add_cpu_sample(200, t, &mut agg); // 200m
//!     c.add_memory_sample(300 << 20, t, &mut agg); // 300Mi
//! }
//! let r = estimate(&agg, 1, &config);
//! // p90 of a constant 200m is the end of its bucket (215m), plus 15 % (32m).
//! assert_eq!(r.target.cpu_milli, 247);
//! assert!(r.lower_bound.cpu_milli <= r.target.cpu_milli);
//! assert!(r.upper_bound.memory_bytes >= r.target.memory_bytes);
//! ```

pub mod histogram;
pub mod model;

pub use histogram::{
    DecayingHistogram, Histogram, HistogramCheckpoint, HistogramOptions, SampleHistogram,
    MAX_CHECKPOINT_WEIGHT,
};
pub use model::{
    cpu_amount_from_cores, resource_amount_from_float, scale_resource, AggregateContainerState,
    ContainerState, ResourceAmount,
};

use serde::Serialize;

/// One hour in milliseconds.
const HOUR_MS: i64 = 3_600_000;

/// The recommender's settings; `Default` is upstream's defaults (`config.go`,
/// `aggregations_config.go`, `logic/recommender.go` flags).
#[derive(Debug, Clone, PartialEq)]
pub struct VpaConfig {
    /// CPU histogram half-life (`--cpu-histogram-decay-half-life`, 24 h).
    pub cpu_half_life_ms: i64,
    /// Memory histogram half-life (`--memory-histogram-decay-half-life`, 24 h).
    pub memory_half_life_ms: i64,
    /// One memory peak per container and interval (`--memory-aggregation-interval`, 24 h).
    pub memory_aggregation_interval_ms: i64,
    /// Memory aggregation intervals kept before an idle aggregation expires
    /// (`--memory-aggregation-interval-count`, 8).
    pub memory_aggregation_interval_count: i64,
    /// Memory bump ratio after an OOM (`--oom-bump-up-ratio`, 1.2).
    pub oom_bump_up_ratio: f64,
    /// Smallest memory bump after an OOM, bytes (`--oom-min-bump-up-bytes`, 100 MiB).
    pub oom_min_bump_up_bytes: f64,
    /// CPU percentile of the target (`--target-cpu-percentile`, 0.9).
    pub target_cpu_percentile: f64,
    /// CPU percentile of the lower bound (0.5).
    pub lower_bound_cpu_percentile: f64,
    /// CPU percentile of the upper bound (0.95).
    pub upper_bound_cpu_percentile: f64,
    /// Memory-peak percentile of the target (`--target-memory-percentile`, 0.9).
    pub target_memory_percentile: f64,
    /// Memory-peak percentile of the lower bound (0.5).
    pub lower_bound_memory_percentile: f64,
    /// Memory-peak percentile of the upper bound (0.95).
    pub upper_bound_memory_percentile: f64,
    /// Safety margin added to all three (`--recommendation-margin-fraction`, 0.15).
    pub safety_margin_fraction: f64,
    /// Pod minimum CPU, millicores (`--pod-recommendation-min-cpu-millicores`, 25).
    pub pod_min_cpu_millicores: f64,
    /// Pod minimum memory, MiB (`--pod-recommendation-min-memory-mb`, 250; upstream multiplies
    /// by 1024 × 1024).
    pub pod_min_memory_mb: f64,
    /// Span that gives CPU bounds a confidence of 1 (`--confidence-interval-cpu`, 24 h).
    pub confidence_interval_cpu_ms: i64,
    /// Span that gives memory bounds a confidence of 1 (`--confidence-interval-memory`, 24 h).
    pub confidence_interval_memory_ms: i64,
}

impl Default for VpaConfig {
    fn default() -> Self {
        VpaConfig {
            cpu_half_life_ms: 24 * HOUR_MS,
            memory_half_life_ms: 24 * HOUR_MS,
            memory_aggregation_interval_ms: 24 * HOUR_MS,
            memory_aggregation_interval_count: 8,
            oom_bump_up_ratio: 1.2,
            oom_min_bump_up_bytes: 100.0 * 1024.0 * 1024.0,
            target_cpu_percentile: 0.9,
            lower_bound_cpu_percentile: 0.5,
            upper_bound_cpu_percentile: 0.95,
            target_memory_percentile: 0.9,
            lower_bound_memory_percentile: 0.5,
            upper_bound_memory_percentile: 0.95,
            safety_margin_fraction: 0.15,
            pod_min_cpu_millicores: 25.0,
            pod_min_memory_mb: 250.0,
            confidence_interval_cpu_ms: 24 * HOUR_MS,
            confidence_interval_memory_ms: 24 * HOUR_MS,
        }
    }
}

/// CPU (millicores) and memory (bytes) of one recommendation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Amounts {
    /// CPU, millicores.
    pub cpu_milli: ResourceAmount,
    /// Memory, bytes.
    pub memory_bytes: ResourceAmount,
}

/// A container's recommendation (upstream `RecommendedContainerResources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VpaRecommendation {
    /// The recommended request.
    pub target: Amounts,
    /// Below it the updater would evict to grow the pod.
    pub lower_bound: Amounts,
    /// Above it the updater would evict to shrink the pod.
    pub upper_bound: Amounts,
}

/// How much history backs the aggregation, in units of `interval_ms`: the smaller of the CPU
/// sample span and the sample count per minute of the interval (upstream `getConfidence`; one
/// sample a minute for one interval gives 1).
pub fn confidence<H: SampleHistogram>(agg: &AggregateContainerState<H>, interval_ms: i64) -> f64 {
    let span_ms = match (agg.first_sample_start, agg.last_sample_start) {
        (Some(f), Some(l)) => (l - f) as f64,
        _ => 0.0,
    };
    let lifespan = span_ms / interval_ms as f64;
    let samples = agg.total_samples_count as f64 / (interval_ms as f64 / 60_000.0);
    lifespan.min(samples)
}

/// `amount + amount × fraction`, each truncated (upstream margin estimator).
pub fn with_margin(amount: ResourceAmount, fraction: f64) -> ResourceAmount {
    amount + scale_resource(amount, fraction)
}

/// `amount × (1 + multiplier / confidence)^exponent` (upstream confidence multiplier; with no
/// history the upper bound goes to the 1e14 cap and the lower bound to 0).
pub fn with_confidence_multiplier(
    amount: ResourceAmount,
    multiplier: f64,
    exponent: f64,
    confidence: f64,
) -> ResourceAmount {
    scale_resource(amount, (1.0 + multiplier / confidence).powf(exponent))
}

/// The pod minimum per container: `pod_min × 1/containers_per_pod`, truncated (so 25m over two
/// containers is 12m each).
pub fn container_minimums(config: &VpaConfig, containers_per_pod: usize) -> Amounts {
    let fraction = 1.0 / containers_per_pod.max(1) as f64;
    Amounts {
        cpu_milli: scale_resource(
            cpu_amount_from_cores(config.pod_min_cpu_millicores * 0.001),
            fraction,
        ),
        memory_bytes: scale_resource(
            resource_amount_from_float(config.pod_min_memory_mb * 1024.0 * 1024.0),
            fraction,
        ),
    }
}

/// The recommendation for one aggregated container of a pod with `containers_per_pod`
/// containers (upstream `podResourceRecommender`).
pub fn estimate<H: SampleHistogram>(
    agg: &AggregateContainerState<H>,
    containers_per_pod: usize,
    config: &VpaConfig,
) -> VpaRecommendation {
    let min = container_minimums(config, containers_per_pod);
    let cpu_conf = confidence(agg, config.confidence_interval_cpu_ms);
    let mem_conf = confidence(agg, config.confidence_interval_memory_ms);
    let margin = config.safety_margin_fraction;
    let cpu_at = |p: f64| with_margin(cpu_amount_from_cores(agg.cpu.percentile(p)), margin);
    let mem_at = |p: f64| {
        with_margin(
            resource_amount_from_float(agg.memory_peaks.percentile(p)),
            margin,
        )
    };
    let target = Amounts {
        cpu_milli: cpu_at(config.target_cpu_percentile).max(min.cpu_milli),
        memory_bytes: mem_at(config.target_memory_percentile).max(min.memory_bytes),
    };
    let lower_bound = Amounts {
        cpu_milli: with_confidence_multiplier(
            cpu_at(config.lower_bound_cpu_percentile),
            0.001,
            -2.0,
            cpu_conf,
        )
        .max(min.cpu_milli),
        memory_bytes: with_confidence_multiplier(
            mem_at(config.lower_bound_memory_percentile),
            0.001,
            -2.0,
            mem_conf,
        )
        .max(min.memory_bytes),
    };
    let upper_bound = Amounts {
        cpu_milli: with_confidence_multiplier(
            cpu_at(config.upper_bound_cpu_percentile),
            1.0,
            1.0,
            cpu_conf,
        )
        .max(min.cpu_milli),
        memory_bytes: with_confidence_multiplier(
            mem_at(config.upper_bound_memory_percentile),
            1.0,
            1.0,
            mem_conf,
        )
        .max(min.memory_bytes),
    };
    VpaRecommendation {
        target,
        lower_bound,
        upper_bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_is_split_across_containers_and_truncated() {
        let c = VpaConfig::default();
        assert_eq!(
            container_minimums(&c, 1),
            Amounts {
                cpu_milli: 25,
                memory_bytes: 262_144_000
            }
        );
        assert_eq!(container_minimums(&c, 2).cpu_milli, 12);
        assert_eq!(container_minimums(&c, 2).memory_bytes, 131_072_000);
    }

    #[test]
    fn no_history_opens_the_bounds() {
        let c = VpaConfig::default();
        let agg = AggregateContainerState::new(&c);
        // Empty histograms: percentiles 0 → minimums; upper bound 0 × inf is NaN → 0 → minimum.
        let r = estimate(&agg, 1, &c);
        assert_eq!(r.target.cpu_milli, 25);
        assert_eq!(
            with_confidence_multiplier(3140, 1.0, 1.0, 0.0),
            100_000_000_000_000
        );
        assert_eq!(with_confidence_multiplier(3140, 0.001, -2.0, 0.0), 0);
    }

    #[test]
    fn aggregation_expires_after_eight_intervals() {
        // Upstream TestAggregateContainerStateIsExpired.
        let c = VpaConfig::default();
        let (t0, day) = (1_492_536_905_000, 86_400_000);
        let mut agg = AggregateContainerState::new(&c);
        let n = c.memory_aggregation_interval_count;
        assert!(!agg.is_expired(t0 + 7 * day, t0, n));
        assert!(agg.is_expired(t0 + 8 * day, t0, n));
        agg.add_cpu_sample(100, t0);
        assert!(!agg.is_expired(t0 + 7 * day, 0, n));
        assert!(agg.is_expired(t0 + 8 * day, 0, n));
        assert!(agg.is_expired(t0 + 4 * day, 0, 4));
    }

    #[test]
    fn oom_bump_is_capped_at_max_memory() {
        // Upstream TestRecordOOMCapsAtMaxMemory / TestRecordOOMWithoutMaxMemory.
        const MB: i64 = 1 << 20;
        let c = VpaConfig {
            oom_bump_up_ratio: 2.0,
            oom_min_bump_up_bytes: 0.0,
            ..VpaConfig::default()
        };
        let t0 = 1_492_536_905_000;
        let mut agg = AggregateContainerState::new(&c);
        let mut capped = ContainerState::new();
        capped.set_max_memory(1000 * MB);
        capped.record_oom(t0, 1000 * MB, &mut agg).unwrap();
        assert_eq!(capped.max_memory_peak(), 1000 * MB);
        let mut free = ContainerState::new();
        free.record_oom(t0, 1000 * MB, &mut agg).unwrap();
        assert_eq!(free.max_memory_peak(), 2000 * MB);
    }

    #[test]
    fn one_week_of_history_gives_upstream_multipliers() {
        // Upstream comment values: 24 h → ×2, one week → ×1.14 (upper bound).
        assert_eq!(with_confidence_multiplier(1000, 1.0, 1.0, 1.0), 2000);
        assert_eq!(with_confidence_multiplier(1000, 1.0, 1.0, 7.0), 1142);
        // Lower bound: 60 min of history → ×0.95.
        let conf = 60.0 / 1440.0;
        assert_eq!(with_confidence_multiplier(1000, 0.001, -2.0, conf), 953);
    }

    #[test]
    fn steady_load_gets_bucket_end_plus_margin() {
        let c = VpaConfig::default();
        let mut agg = AggregateContainerState::new(&c);
        let mut state = ContainerState::new();
        let t0 = 1_700_000_000_000;
        for i in 0..2880 {
            let t = t0 + i * 60_000;
            let cpu = if i % 10 == 0 { 900 } else { 100 };
            assert!(state.add_cpu_sample(cpu, t, &mut agg));
            assert!(state.add_memory_sample(500 << 20, t, &mut agg));
        }
        let r = estimate(&agg, 1, &c);
        let opts = HistogramOptions::exponential(1000.0, 0.01, 1.05, 1e-4).unwrap();
        // p90 falls in 100m's bucket (90 % of samples), p95 in 900m's.
        let end_100 = opts.bucket_start(opts.find_bucket(0.1) + 1);
        let end_900 = opts.bucket_start(opts.find_bucket(0.9) + 1);
        let t = cpu_amount_from_cores(end_100);
        assert_eq!(r.target.cpu_milli, t + scale_resource(t, 0.15));
        let u = cpu_amount_from_cores(end_900);
        let u = u + scale_resource(u, 0.15);
        // Two days of one-a-minute samples: confidence 2 → upper × 1.5.
        assert_eq!(r.upper_bound.cpu_milli, scale_resource(u, 1.5));
        // Memory: the same peak every day → every percentile is that bucket's end.
        let mopts = HistogramOptions::exponential(1e12, 1e7, 1.05, 1e-4).unwrap();
        let m =
            resource_amount_from_float(mopts.bucket_start(mopts.find_bucket(524_288_000.0) + 1));
        assert_eq!(r.target.memory_bytes, m + scale_resource(m, 0.15));
    }
}
