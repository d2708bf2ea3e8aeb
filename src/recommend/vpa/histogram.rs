//! The VPA recommender's histograms (`vertical-pod-autoscaler/pkg/recommender/util`): bucket
//! schemes ([`HistogramOptions`]), a weighted bucket histogram ([`Histogram`]) and the
//! exponentially decaying one the recommender keeps per container ([`DecayingHistogram`]).
//!
//! Semantics follow upstream exactly: a sample falls into exactly one bucket, a bucket whose
//! weight is below `epsilon` counts as empty, and [`Histogram::percentile`] returns the *end*
//! of the bucket in which the cumulative weight reaches `p × total` (the start of the last
//! bucket, which has no end).

use std::collections::BTreeMap;

/// Past this exponent (2^100) the decaying histogram moves its reference time forward and
/// rescales, so that weights never overflow (upstream `maxDecayExponent`).
const MAX_DECAY_EXPONENT: i64 = 100;

/// Milliseconds from Go's zero time (0001-01-01T00:00:00Z) to the unix epoch. Go's
/// `Time.Round` rounds to multiples of a duration counted from the zero time; the decaying
/// histogram's reference time is rounded that way.
const GO_ZERO_TIME_TO_UNIX_MS: i128 = 62_135_596_800_000;

/// How values map to buckets (upstream `HistogramOptions`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HistogramOptions {
    /// `num_buckets` buckets of `bucket_size`, the first starting at 0.
    Linear {
        /// Number of buckets (the last one starts at or above the maximum value).
        num_buckets: usize,
        /// Width of every bucket.
        bucket_size: f64,
        /// Minimum weight of a non-empty bucket.
        epsilon: f64,
    },
    /// Bucket 0 is `[0, first_bucket_size)`, bucket `n` has size `first_bucket_size × ratio^n`.
    Exponential {
        /// Number of buckets (the last one starts at or above the maximum value).
        num_buckets: usize,
        /// Width of bucket 0.
        first_bucket_size: f64,
        /// Growth of each bucket over the previous one (> 1).
        ratio: f64,
        /// Minimum weight of a non-empty bucket.
        epsilon: f64,
    },
}

impl HistogramOptions {
    /// Fixed-size buckets from 0; the last bucket starts at or above `max_value`
    /// (`ceil(max_value / bucket_size) + 1` buckets). All arguments must be positive.
    pub fn linear(max_value: f64, bucket_size: f64, epsilon: f64) -> Result<Self, String> {
        if !(max_value > 0.0 && bucket_size > 0.0 && epsilon > 0.0) {
            return Err("maxValue and bucketSize must both be positive".into());
        }
        Ok(HistogramOptions::Linear {
            num_buckets: (max_value / bucket_size).ceil() as usize + 1,
            bucket_size,
            epsilon,
        })
    }

    /// Exponentially growing buckets: bucket `n ≥ 1` starts at
    /// `first_bucket_size × (ratio^n − 1) / (ratio − 1)`; the last starts at or above
    /// `max_value`. Requires positive `max_value`, `first_bucket_size`, `epsilon` and `ratio > 1`.
    pub fn exponential(
        max_value: f64,
        first_bucket_size: f64,
        ratio: f64,
        epsilon: f64,
    ) -> Result<Self, String> {
        if !(max_value > 0.0 && first_bucket_size > 0.0 && ratio > 1.0 && epsilon > 0.0) {
            return Err(
                "maxValue, firstBucketSize and epsilon must be > 0.0, ratio must be > 1.0".into(),
            );
        }
        let n = log(ratio, max_value * (ratio - 1.0) / first_bucket_size + 1.0).ceil();
        Ok(HistogramOptions::Exponential {
            num_buckets: n as usize + 1,
            first_bucket_size,
            ratio,
            epsilon,
        })
    }

    /// Number of buckets.
    pub fn num_buckets(&self) -> usize {
        match *self {
            HistogramOptions::Linear { num_buckets, .. }
            | HistogramOptions::Exponential { num_buckets, .. } => num_buckets,
        }
    }

    /// Minimum weight of a non-empty bucket.
    pub fn epsilon(&self) -> f64 {
        match *self {
            HistogramOptions::Linear { epsilon, .. }
            | HistogramOptions::Exponential { epsilon, .. } => epsilon,
        }
    }

    /// The bucket `value` falls into; values outside the range go to the first or last bucket.
    pub fn find_bucket(&self, value: f64) -> usize {
        let last = self.num_buckets() - 1;
        match *self {
            HistogramOptions::Linear { bucket_size, .. } => {
                // Go's int() truncates toward zero; negative values land in bucket 0.
                let b = (value / bucket_size).trunc();
                if b < 0.0 || b.is_nan() {
                    0
                } else {
                    (b as usize).min(last)
                }
            }
            HistogramOptions::Exponential {
                first_bucket_size,
                ratio,
                ..
            } => {
                if value < first_bucket_size || value.is_nan() {
                    return 0;
                }
                let b = log(ratio, value * (ratio - 1.0) / first_bucket_size + 1.0).trunc();
                (b as usize).min(last)
            }
        }
    }

    /// Where bucket `bucket` starts (`bucket` < [`num_buckets`](Self::num_buckets)).
    pub fn bucket_start(&self, bucket: usize) -> f64 {
        match *self {
            HistogramOptions::Linear { bucket_size, .. } => bucket as f64 * bucket_size,
            HistogramOptions::Exponential {
                first_bucket_size,
                ratio,
                ..
            } => {
                if bucket == 0 {
                    0.0
                } else {
                    first_bucket_size * (ratio.powf(bucket as f64) - 1.0) / (ratio - 1.0)
                }
            }
        }
    }
}

/// `log_base(x)` as upstream computes it (`ln x / ln base`).
fn log(base: f64, x: f64) -> f64 {
    x.ln() / base.ln()
}

/// What the VPA's aggregation needs from a histogram: add and subtract weighted, timestamped
/// samples, and read percentiles. [`DecayingHistogram`] is the real one; tests substitute
/// recorders, as upstream's tests substitute mocks.
pub trait SampleHistogram {
    /// Adds `value` with `weight` observed at `t_ms` (unix milliseconds).
    fn add_sample(&mut self, value: f64, weight: f64, t_ms: i64);
    /// Removes a sample added before (the weight of a bucket never goes below zero).
    fn subtract_sample(&mut self, value: f64, weight: f64, t_ms: i64);
    /// The `p`-th percentile (`p` in `[0, 1]`); 0 when empty.
    fn percentile(&self, p: f64) -> f64;
}

/// Largest bucket weight of a saved checkpoint (upstream `MaxCheckpointWeight`).
pub const MAX_CHECKPOINT_WEIGHT: u32 = 10_000;

/// A histogram as a VPA checkpoint stores it (upstream `HistogramCheckpoint`): bucket index →
/// relative weight, and the total weight.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramCheckpoint {
    /// Sum of all weights.
    pub total_weight: f64,
    /// Bucket index → weight relative to the largest ([`MAX_CHECKPOINT_WEIGHT`]).
    pub bucket_weights: BTreeMap<i64, u32>,
}

/// Weighted samples in buckets (upstream `histogram`).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    options: HistogramOptions,
    bucket_weight: Vec<f64>,
    total_weight: f64,
    /// First non-empty bucket, or the last bucket when empty.
    min_bucket: usize,
    /// Last non-empty bucket, or 0 when empty.
    max_bucket: usize,
}

impl Histogram {
    /// An empty histogram with these buckets.
    pub fn new(options: HistogramOptions) -> Self {
        let n = options.num_buckets();
        Histogram {
            options,
            bucket_weight: vec![0.0; n],
            total_weight: 0.0,
            min_bucket: n - 1,
            max_bucket: 0,
        }
    }

    /// The bucket scheme.
    pub fn options(&self) -> &HistogramOptions {
        &self.options
    }

    /// Sum of all weights.
    pub fn total_weight(&self) -> f64 {
        self.total_weight
    }

    /// Adds `value` with `weight` (negative weights are a caller bug and are ignored).
    pub fn add(&mut self, value: f64, weight: f64) {
        if weight < 0.0 || weight.is_nan() {
            debug_assert!(false, "sample weight must be non-negative");
            return;
        }
        let bucket = self.options.find_bucket(value);
        self.bucket_weight[bucket] += weight;
        self.total_weight += weight;
        let eps = self.options.epsilon();
        if bucket < self.min_bucket && self.bucket_weight[bucket] >= eps {
            self.min_bucket = bucket;
        }
        if bucket > self.max_bucket && self.bucket_weight[bucket] >= eps {
            self.max_bucket = bucket;
        }
    }

    /// Removes `weight` from `value`'s bucket; a bucket within epsilon of the weight is emptied.
    pub fn subtract(&mut self, value: f64, weight: f64) {
        if weight < 0.0 || weight.is_nan() {
            debug_assert!(false, "sample weight must be non-negative");
            return;
        }
        let bucket = self.options.find_bucket(value);
        let weight = if weight > self.bucket_weight[bucket] - self.options.epsilon() {
            self.bucket_weight[bucket]
        } else {
            weight
        };
        self.total_weight -= weight;
        self.bucket_weight[bucket] -= weight;
        self.update_min_and_max_bucket();
    }

    /// Whether no bucket holds at least epsilon.
    pub fn is_empty(&self) -> bool {
        self.bucket_weight[self.min_bucket] < self.options.epsilon()
    }

    /// The end of the bucket where the cumulative weight reaches `p × total` (the start of the
    /// last bucket if it is that one); 0 when empty.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        let threshold = p * self.total_weight;
        let mut partial = 0.0;
        let mut bucket = self.min_bucket;
        while bucket < self.max_bucket {
            partial += self.bucket_weight[bucket];
            if partial >= threshold {
                break;
            }
            bucket += 1;
        }
        if bucket < self.options.num_buckets() - 1 {
            self.options.bucket_start(bucket + 1)
        } else {
            self.options.bucket_start(bucket)
        }
    }

    /// Adds `other`'s weights (upstream `Merge`); the bucket schemes must be the same.
    pub fn merge(&mut self, other: &Histogram) -> Result<(), String> {
        if self.options != other.options {
            return Err("can't merge histograms with different options".into());
        }
        if other.min_bucket <= other.max_bucket {
            for b in other.min_bucket..=other.max_bucket {
                self.bucket_weight[b] += other.bucket_weight[b];
            }
        }
        self.total_weight += other.total_weight;
        self.min_bucket = self.min_bucket.min(other.min_bucket);
        self.max_bucket = self.max_bucket.max(other.max_bucket);
        Ok(())
    }

    /// Same scheme, same non-empty range and every bucket within 1e-15 (upstream `Equals`).
    pub fn equals(&self, other: &Histogram) -> bool {
        if self.options != other.options
            || self.min_bucket != other.min_bucket
            || self.max_bucket != other.max_bucket
        {
            return false;
        }
        (self.min_bucket..=self.max_bucket)
            .all(|b| (self.bucket_weight[b] - other.bucket_weight[b]).abs() <= 1e-15)
    }

    /// The weight of each bucket (index order).
    pub fn bucket_weights(&self) -> &[f64] {
        &self.bucket_weight
    }

    /// The compact form upstream stores in a VPA checkpoint (`SaveToChekpoint`): the total weight
    /// and the non-empty buckets' weights scaled so the largest is [`MAX_CHECKPOINT_WEIGHT`],
    /// rounded, zeros dropped.
    pub fn save_to_checkpoint(&self) -> HistogramCheckpoint {
        let mut bucket_weights = BTreeMap::new();
        if self.min_bucket <= self.max_bucket {
            let range = self.min_bucket..=self.max_bucket;
            let max = range
                .clone()
                .map(|b| self.bucket_weight[b])
                .fold(0.0, f64::max);
            let ratio = f64::from(MAX_CHECKPOINT_WEIGHT) / max;
            for b in range {
                // Go's uint32(math.Round(x)); x ≤ MAX_CHECKPOINT_WEIGHT here.
                let w = (self.bucket_weight[b] * ratio).round();
                if w >= 1.0 {
                    bucket_weights.insert(b as i64, w as u32);
                }
            }
        }
        HistogramCheckpoint {
            total_weight: self.total_weight,
            bucket_weights,
        }
    }

    /// Adds a checkpoint's weights (upstream `LoadFromCheckpoint`): each stored bucket weight is
    /// scaled by `total / Σ stored`, so the total weight is restored. Errors on a negative total,
    /// a negative bucket or a bucket past the scheme, and changes nothing then.
    pub fn load_from_checkpoint(&mut self, checkpoint: &HistogramCheckpoint) -> Result<(), String> {
        if checkpoint.total_weight < 0.0 {
            return Err(format!(
                "Cannot load checkpoint with negative weight {}",
                checkpoint.total_weight
            ));
        }
        let n = self.options.num_buckets();
        let mut sum: i64 = 0;
        for (&b, &w) in &checkpoint.bucket_weights {
            sum += i64::from(w);
            if b < 0 {
                return Err(format!("Checkpoint has a negative bucket {b}"));
            }
            if b as u64 >= n as u64 {
                return Err(format!(
                    "Checkpoint has bucket {b} that is exceeding histogram buckets {n}"
                ));
            }
        }
        if sum == 0 {
            return Ok(());
        }
        let ratio = checkpoint.total_weight / sum as f64;
        for (&b, &w) in &checkpoint.bucket_weights {
            let b = b as usize;
            self.min_bucket = self.min_bucket.min(b);
            self.max_bucket = self.max_bucket.max(b);
            self.bucket_weight[b] += f64::from(w) * ratio;
        }
        self.total_weight += checkpoint.total_weight;
        Ok(())
    }

    /// Multiplies every weight by `factor` (≥ 0); percentiles do not change.
    fn scale(&mut self, factor: f64) {
        if self.min_bucket <= self.max_bucket {
            for w in &mut self.bucket_weight[self.min_bucket..=self.max_bucket] {
                *w *= factor;
            }
        }
        self.total_weight *= factor;
        self.update_min_and_max_bucket();
    }

    fn update_min_and_max_bucket(&mut self) {
        let eps = self.options.epsilon();
        let last = self.options.num_buckets() - 1;
        while self.bucket_weight[self.min_bucket] < eps && self.min_bucket < last {
            self.min_bucket += 1;
        }
        while self.bucket_weight[self.max_bucket] < eps && self.max_bucket > 0 {
            self.max_bucket -= 1;
        }
    }
}

/// A histogram whose samples lose half their weight every `half_life` (upstream
/// `decayingHistogram`): a sample at time `t` weighs `w × 2^((t − reference) / half_life)`.
#[derive(Debug, Clone, PartialEq)]
pub struct DecayingHistogram {
    histogram: Histogram,
    half_life_ms: i64,
    /// The reference time, a multiple of the half-life counted from Go's zero time; `None`
    /// until the first sample (upstream starts at the zero time, which any real timestamp is
    /// more than 100 half-lives past, so the first sample always moves it).
    reference_ms: Option<i64>,
}

impl DecayingHistogram {
    /// An empty decaying histogram (`half_life_ms` > 0).
    pub fn new(options: HistogramOptions, half_life_ms: i64) -> Self {
        DecayingHistogram {
            histogram: Histogram::new(options),
            half_life_ms: half_life_ms.max(1),
            reference_ms: None,
        }
    }

    /// The underlying (decay-weighted) histogram.
    pub fn histogram(&self) -> &Histogram {
        &self.histogram
    }

    /// Whether no bucket holds at least epsilon.
    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// Adds `other`'s samples (upstream `Merge`): the histogram with the older reference time is
    /// first moved to the younger one, then the weights are added. The half-lives and bucket
    /// schemes must be the same.
    pub fn merge(&mut self, other: &DecayingHistogram) -> Result<(), String> {
        if self.half_life_ms != other.half_life_ms {
            return Err("can't merge decaying histograms with different half life periods".into());
        }
        let mut o = other.clone();
        match (self.reference_ms, o.reference_ms) {
            (Some(a), Some(b)) if a < b => {
                self.shift_reference(b);
            }
            (Some(a), Some(b)) if b < a => {
                o.shift_reference(a);
            }
            (None, Some(b)) => {
                self.shift_reference(b);
            }
            (Some(a), None) => {
                o.shift_reference(a);
            }
            _ => {}
        }
        self.histogram.merge(&o.histogram)
    }

    /// Same half-life, same reference time and [`Histogram::equals`] (upstream `Equals`).
    pub fn equals(&self, other: &DecayingHistogram) -> bool {
        self.half_life_ms == other.half_life_ms
            && self.reference_ms == other.reference_ms
            && self.histogram.equals(&other.histogram)
    }

    fn decay_factor(&mut self, t_ms: i64) -> f64 {
        let reference = match self.reference_ms {
            Some(r)
                if (t_ms as i128)
                    <= r as i128 + self.half_life_ms as i128 * MAX_DECAY_EXPONENT as i128 =>
            {
                r
            }
            _ => self.shift_reference(t_ms),
        };
        ((t_ms - reference) as f64 / self.half_life_ms as f64).exp2()
    }

    /// Moves the reference to `t_ms` rounded to the half-life (Go `Time.Round`) and rescales
    /// the weights so that relative weights stay the same.
    fn shift_reference(&mut self, t_ms: i64) -> i64 {
        let new_ref = go_round(t_ms, self.half_life_ms);
        if let Some(old) = self.reference_ms {
            let exponent = round_half_up((old - new_ref) as f64 / self.half_life_ms as f64);
            self.histogram
                .scale(2f64.powi(exponent.clamp(-2000, 2000) as i32));
        } else {
            // From Go's zero time the factor is 2^-(millions): every old weight becomes 0.
            self.histogram.scale(0.0);
        }
        self.reference_ms = Some(new_ref);
        new_ref
    }
}

impl SampleHistogram for DecayingHistogram {
    fn add_sample(&mut self, value: f64, weight: f64, t_ms: i64) {
        let f = self.decay_factor(t_ms);
        self.histogram.add(value, weight * f);
    }

    fn subtract_sample(&mut self, value: f64, weight: f64, t_ms: i64) {
        let f = self.decay_factor(t_ms);
        self.histogram.subtract(value, weight * f);
    }

    fn percentile(&self, p: f64) -> f64 {
        self.histogram.percentile(p)
    }
}

/// `floor(x + 0.5)`, upstream's `round`.
fn round_half_up(x: f64) -> i64 {
    (x + 0.5).floor() as i64
}

/// Go's `Time.Round(d)` for a unix-millisecond time: the nearest multiple of `d` counted from
/// the zero time, halfway values rounded up.
fn go_round(t_ms: i64, d_ms: i64) -> i64 {
    let since_zero = t_ms as i128 + GO_ZERO_TIME_TO_UNIX_MS;
    let d = d_ms as i128;
    let r = since_zero.rem_euclid(d);
    let rounded = if r + r < d {
        since_zero - r
    } else {
        since_zero + d - r
    };
    (rounded - GO_ZERO_TIME_TO_UNIX_MS) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linear() -> HistogramOptions {
        HistogramOptions::linear(10.0, 1.0, 1e-15).unwrap()
    }

    #[test]
    fn checkpoint_round_trip_keeps_total_and_relative_weights() {
        // Upstream TestHistogramSaveToCheckpointForMultipleValues / LoadFromCheckpoint.
        let mut h = Histogram::new(linear());
        h.add(1.0, 1.0);
        h.add(2.0, 10000.0);
        h.add(3.0, 50.0);
        let cp = h.save_to_checkpoint();
        assert_eq!(cp.total_weight, 10051.0);
        assert_eq!(
            cp.bucket_weights.values().copied().collect::<Vec<_>>(),
            [1, 10000, 50]
        );
        let mut back = Histogram::new(linear());
        back.load_from_checkpoint(&cp).unwrap();
        assert_eq!(back.total_weight(), 10051.0);
        assert_eq!(back.percentile(0.5), h.percentile(0.5));
        let bad = HistogramCheckpoint {
            total_weight: 1.0,
            bucket_weights: [(99, 1)].into_iter().collect(),
        };
        assert!(Histogram::new(linear()).load_from_checkpoint(&bad).is_err());
    }

    #[test]
    fn merge_adds_weights_and_aligns_decay_references() {
        let mut a = Histogram::new(linear());
        a.add(1.0, 1.0);
        let mut b = Histogram::new(linear());
        b.add(3.0, 1.0);
        a.merge(&b).unwrap();
        let mut want = Histogram::new(linear());
        want.add(1.0, 1.0);
        want.add(3.0, 1.0);
        assert!(a.equals(&want));
        // Upstream TestDecayingHistogramMerge.
        let (t0, hour) = (1_234_567_890_000, 3_600_000);
        let mut d1 = DecayingHistogram::new(linear(), hour);
        d1.add_sample(1.0, 1.0, t0);
        d1.add_sample(2.0, 1.0, t0 + hour);
        let mut d2 = DecayingHistogram::new(linear(), hour);
        d2.add_sample(2.0, 1.0, t0 + 2 * hour);
        d2.add_sample(3.0, 1.0, t0 + hour);
        d1.merge(&d2).unwrap();
        let mut dw = DecayingHistogram::new(linear(), hour);
        dw.add_sample(2.0, 1.0, t0 + 2 * hour);
        dw.add_sample(2.0, 1.0, t0 + hour);
        dw.add_sample(3.0, 1.0, t0 + hour);
        dw.add_sample(1.0, 1.0, t0);
        assert!(d1.equals(&dw));
    }

    #[test]
    fn vpa_cpu_and_memory_schemes_have_176_buckets() {
        let cpu = HistogramOptions::exponential(1000.0, 0.01, 1.05, 1e-4).unwrap();
        let mem = HistogramOptions::exponential(1e12, 1e7, 1.05, 1e-4).unwrap();
        assert_eq!(cpu.num_buckets(), 176);
        assert_eq!(mem.num_buckets(), 176);
        // Bucket 1 of CPU starts at 10m, bucket 2 at 10m + 10.5m.
        assert!((cpu.bucket_start(2) - 0.0205).abs() < 1e-15);
        assert_eq!(cpu.find_bucket(0.0206), 2);
        assert_eq!(cpu.find_bucket(0.0204), 1);
    }

    #[test]
    fn go_round_matches_time_round() {
        // 1234567890 s is 1890 s past a whole hour: rounds up to the next hour.
        assert_eq!(go_round(1_234_567_890_000, 3_600_000), 1_234_569_600_000);
        assert_eq!(go_round(1_234_567_000_000, 3_600_000), 1_234_566_000_000);
        // Exactly halfway rounds up.
        assert_eq!(go_round(1_800_000, 3_600_000), 3_600_000);
        // Days count from year 1, which is a whole number of days before 1970.
        assert_eq!(go_round(86_400_000 * 3 + 1, 86_400_000), 86_400_000 * 3);
    }

    #[test]
    fn subtract_empties_a_bucket_within_epsilon() {
        let mut h = Histogram::new(linear());
        h.add(3.0, 1.0);
        h.add(5.0, 1.0);
        h.subtract(5.0, 1.0 - 1e-16);
        assert_eq!(h.percentile(1.0), 4.0);
        h.subtract(3.0, 1.0);
        assert!(h.is_empty());
        assert_eq!(h.percentile(0.5), 0.0);
    }

    proptest::proptest! {
        /// Percentiles never decrease with p and stay within the bucket range.
        #[test]
        fn percentile_is_monotone(values in proptest::collection::vec((0.0f64..2000.0, 0.0f64..10.0, 0i64..(30 * 86_400_000)), 0..60)) {
            let opts = HistogramOptions::exponential(1000.0, 0.01, 1.05, 1e-4).unwrap();
            let mut h = DecayingHistogram::new(opts, 86_400_000);
            let t0 = 1_700_000_000_000;
            let mut sorted = values.clone();
            sorted.sort_by_key(|v| v.2);
            for (v, w, dt) in sorted {
                h.add_sample(v, w, t0 + dt);
            }
            let mut last = 0.0;
            for i in 0..=20 {
                let p = h.percentile(i as f64 / 20.0);
                proptest::prop_assert!(p >= last && p <= opts.bucket_start(opts.num_buckets() - 1));
                last = p;
            }
        }
    }

    #[test]
    fn decaying_histogram_halves_weight_per_half_life() {
        let mut h = DecayingHistogram::new(linear(), 3_600_000);
        let t0 = 1_234_566_000_000; // a whole hour
        h.add_sample(1.0, 1.0, t0);
        h.add_sample(2.0, 1.0, t0 + 3_600_000);
        // Weights 1 and 2: the median falls in bucket [1, 2) only below 1/3.
        assert_eq!(h.percentile(0.33), 2.0);
        assert_eq!(h.percentile(0.34), 3.0);
        assert!((h.histogram().total_weight() - 3.0).abs() < 1e-12);
    }
}
