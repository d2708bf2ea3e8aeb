//! krr's `simple` strategy (robusta-dev/krr `robusta_krr/strategies/simple.py`): CPU request =
//! the highest per-pod p95 of CPU usage, no CPU limit; memory request and limit = the highest
//! per-pod peak working set × 1.15. Rounded up to 1m / 1Mi, at least 10m / 100Mi; a resource
//! with fewer than 100 points (summed over pods) or under 3 h of history gets none.

use serde::Serialize;

/// krr's defaults (`SimpleStrategySettings`, `core/models/config.py`).
#[derive(Debug, Clone, PartialEq)]
pub struct KrrConfig {
    /// CPU percentile per pod (`--cpu_percentile`, 95).
    pub cpu_percentile: f64,
    /// Buffer on the peak memory, percent (`--memory_buffer_percentage`, 15).
    pub memory_buffer_percentage: f64,
    /// Points a resource needs, over all pods (`--points_required`, 100).
    pub points_required: usize,
    /// History the data must span, ms (`history_range_enough`: 3 h).
    pub min_history_ms: i64,
    /// Smallest CPU recommendation, millicores (`--cpu-min`, 10).
    pub cpu_min_milli: i64,
    /// Smallest memory recommendation, MiB (`--mem-min`, 100).
    pub memory_min_mib: i64,
}

impl Default for KrrConfig {
    fn default() -> Self {
        KrrConfig {
            cpu_percentile: 95.0,
            memory_buffer_percentage: 15.0,
            points_required: 100,
            min_history_ms: 3 * 3_600_000,
            cpu_min_milli: 10,
            memory_min_mib: 100,
        }
    }
}

/// A krr recommendation for one container; `None` fields mean "not enough data".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KrrRecommendation {
    /// CPU request, millicores (krr sets no CPU limit).
    pub cpu_request_milli: Option<i64>,
    /// Memory request and limit, bytes.
    pub memory_bytes: Option<i64>,
}

/// The `q`-quantile (`q` in `[0, 1]`) with linear interpolation between order statistics, as
/// Prometheus `quantile_over_time` and numpy's default compute it; `None` for no values.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (rank - lo as f64))
}

/// krr `simple` for one container from its pods' series: `cpu_cores[p]` and
/// `memory_bytes[p]` are pod `p`'s samples; `span_ms` is the history the data covers.
pub fn simple(
    cpu_cores: &[Vec<f64>],
    memory_bytes: &[Vec<f64>],
    span_ms: i64,
    config: &KrrConfig,
) -> KrrRecommendation {
    let enough = |series: &[Vec<f64>]| {
        series.iter().map(Vec::len).sum::<usize>() >= config.points_required
            && span_ms >= config.min_history_ms
    };
    let cpu = enough(cpu_cores)
        .then(|| {
            cpu_cores
                .iter()
                .filter_map(|s| quantile(s, config.cpu_percentile / 100.0))
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
        })
        .flatten()
        .map(|cores| ((cores * 1000.0).ceil() as i64).max(config.cpu_min_milli));
    let mem = enough(memory_bytes)
        .then(|| {
            memory_bytes
                .iter()
                .filter_map(|s| s.iter().copied().reduce(f64::max))
                .reduce(f64::max)
        })
        .flatten()
        .map(|peak| {
            let bytes = peak * (1.0 + config.memory_buffer_percentage / 100.0);
            let mib = (bytes / 1_048_576.0).ceil() as i64;
            mib.max(config.memory_min_mib) << 20
        });
    KrrRecommendation {
        cpu_request_milli: cpu,
        memory_bytes: mem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_like_prometheus() {
        let v: Vec<f64> = (1..=21).map(f64::from).collect();
        // rank 0.95 × 20 = 19 → the 20th value exactly.
        assert_eq!(quantile(&v, 0.95), Some(20.0));
        // Two values: 0.95 of the way from 1 to 3.
        assert_eq!(quantile(&[3.0, 1.0], 0.95), Some(2.9));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn max_over_pods_rounded_up_with_buffer() {
        let c = KrrConfig::default();
        let a: Vec<f64> = (0..100).map(|i| 0.1 + i as f64 * 0.001).collect(); // 0.100 … 0.199
        let b = vec![0.05; 100];
        let mem_a = vec![200.0 * 1_048_576.0; 100];
        let mem_b = vec![300.0 * 1_048_576.0; 100];
        let r = simple(&[a, b], &[mem_a, mem_b], 4 * 3_600_000, &c);
        // p95 of pod a: rank 94.05 → 0.19405 cores → 195m (ceil).
        assert_eq!(r.cpu_request_milli, Some(195));
        // 300Mi × 1.15 = 345Mi.
        assert_eq!(r.memory_bytes, Some(345 << 20));
    }

    #[test]
    fn too_little_data_gives_no_recommendation() {
        let c = KrrConfig::default();
        let r = simple(&[vec![0.1; 99]], &[vec![1e8; 99]], 10 * 3_600_000, &c);
        assert_eq!(r.cpu_request_milli, None);
        let r = simple(&[vec![0.1; 200]], &[vec![1e8; 200]], 3_600_000, &c);
        assert_eq!(r.memory_bytes, None);
        // Tiny usage is raised to the minimums.
        let r = simple(&[vec![0.001; 200]], &[vec![1e6; 200]], 4 * 3_600_000, &c);
        assert_eq!(
            r,
            KrrRecommendation {
                cpu_request_milli: Some(10),
                memory_bytes: Some(100 << 20)
            }
        );
    }
}
