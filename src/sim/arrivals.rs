//! Monte Carlo variation of the recorded traffic: Poisson counts per recorded bin, day
//! bootstrap and growth. The trace itself is shared (`Arc`) and never copied: a replication
//! maps each bin to its source bin and draws its count when the engine first enters the bin.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::ingest::traffic::RateSeries;
use crate::sim::rng::{self, Purpose};
use crate::time::{Millis, HOURS_PER_MONTH};

/// How a replication varies the recorded traffic. The default is the recorded replay as given
/// (no variation); Monte Carlo replications set `poisson`.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Variation {
    /// Each bin's count is a Poisson draw around its recorded (scaled) mean, so the bin's
    /// arrivals form a Poisson process (DESIGN.md §4). In the fluid model the engine then
    /// spreads the drawn count evenly over the bin.
    pub poisson: bool,
    /// Each simulated day replays a recorded day drawn uniformly with replacement.
    pub bootstrap_days: bool,
    /// Traffic growth, percent per month (730 h), compounded from the trace start.
    pub growth_pct_per_month: f64,
}

impl Variation {
    /// Whether `pct` is a growth the model takes: finite, above −100 % (traffic cannot vanish)
    /// and at most 1000 % per month.
    pub fn growth_in_range(pct: f64) -> bool {
        pct.is_finite() && pct > -100.0 && pct <= 1000.0
    }

    /// Whether the traffic is the recorded replay as given.
    pub fn is_none(&self) -> bool {
        !self.poisson && !self.bootstrap_days && self.growth_pct_per_month == 0.0
    }
}

/// A Poisson draw with mean `mean` (inversion below 10, Hörmann's PTRS transformed rejection
/// above, as NumPy does it).
pub fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    if mean <= 0.0 || !mean.is_finite() {
        return 0.0;
    }
    if mean < 10.0 {
        let limit = (-mean).exp();
        let mut k = 0.0;
        let mut prod = rng::unit(rng);
        while prod > limit {
            k += 1.0;
            prod *= rng::unit(rng);
        }
        return k;
    }
    let slam = mean.sqrt();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let invalpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = rng::unit(rng) - 0.5;
        let v = rng::unit(rng);
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + mean + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        // The squeeze above accepts most draws: the logarithms are taken only here.
        if v.ln() + invalpha.ln() - (a / (us * us) + b).ln()
            <= -mean + k * mean.ln() - statrs::function::gamma::ln_gamma(k + 1.0)
        {
            return k;
        }
    }
}

/// The day map of one replication: for each simulated day, a uniform draw that picks the
/// recorded day it replays (taken modulo each trace's number of whole days, so every service
/// replays the same calendar day when their traces are aligned).
pub fn day_map(seed: u64, replication: u64, horizon: Millis) -> Vec<u64> {
    let days = horizon.div_ceil(86_400_000) as usize;
    let mut r = rng::stream(seed, replication, Purpose::Bootstrap);
    (0..days).map(|_| r.random::<u64>()).collect()
}

/// One workload's arrival rate under a [`Variation`]: the recorded series, the bin the engine
/// is in and its (drawn) rate, so a bin's count is drawn once.
#[derive(Debug, Clone)]
pub struct ArrivalSource {
    variation: Variation,
    scale: f64,
    rng: ChaCha8Rng,
    bin: usize,
    rate: f64,
    /// (seed, replication, workload index): what the draws depend on besides the series.
    stream: (u64, u64, u64),
    /// Every bin's drawn rate, from an [`ArrivalCache`] (see [`ArrivalSource::share`]).
    table: Option<Arc<[f64]>>,
}

/// Seed, replication, workload index, scale, day bootstrap and growth (bits).
type TableKey = (u64, u64, u64, u64, bool, u64);

/// The drawn rates of every bin of a replication, shared by the runs: with common random
/// numbers every candidate of replication `r` draws the same counts, so a search draws them
/// once per replication instead of once per candidate. A cache: it changes no result.
#[derive(Debug, Clone, Default)]
pub struct ArrivalCache(Arc<Mutex<HashMap<TableKey, SharedDraws>>>);

/// The series the rates were drawn from (held, so its address is not reused) and the rates.
type SharedDraws = (Arc<RateSeries>, Arc<[f64]>);

/// Most draw tables an [`ArrivalCache`] keeps (a week of minute bins is 80 KB).
const CACHED_TABLES: usize = 256;

impl ArrivalSource {
    /// The source of workload `index` in replication `replication`.
    pub fn new(
        seed: u64,
        replication: u64,
        index: u64,
        scale: f64,
        variation: Variation,
    ) -> ArrivalSource {
        ArrivalSource {
            variation,
            scale,
            rng: rng::indexed_stream(seed, replication, Purpose::Arrivals, index),
            bin: usize::MAX,
            rate: 0.0,
            stream: (seed, replication, index),
            table: None,
        }
    }

    /// Takes the rates of every bin before `horizon` of series `r` from `cache`, drawing them
    /// there first (in bin order, as [`ArrivalSource::rate`] draws them) if another run has
    /// not. Only Poisson draws are shared: the recorded rates cost nothing to read.
    pub fn share(
        &mut self,
        cache: &ArrivalCache,
        r: &Arc<RateSeries>,
        horizon: Millis,
        days: &[u64],
    ) {
        if !self.variation.poisson || self.bin != usize::MAX {
            return;
        }
        let bin_ms = (Millis::from(r.bin_s) * 1000).max(1);
        let bins = (horizon / bin_ms + 1) as usize;
        let v = self.variation;
        let (seed, replication, index) = self.stream;
        let key = (
            seed,
            replication,
            index,
            self.scale.to_bits(),
            v.bootstrap_days,
            v.growth_pct_per_month.to_bits(),
        );
        let hit = cache.0.lock().ok().and_then(|map| {
            map.get(&key)
                .filter(|(series, table)| Arc::ptr_eq(series, r) && table.len() >= bins)
                .map(|(_, table)| Arc::clone(table))
        });
        let table = hit.unwrap_or_else(|| {
            let mut fresh = self.clone();
            let rates: Arc<[f64]> = (0..bins)
                .map(|i| fresh.rate(r, i as Millis * bin_ms, days))
                .collect();
            if let Ok(mut map) = cache.0.lock() {
                if map.len() < CACHED_TABLES || map.contains_key(&key) {
                    map.insert(key, (Arc::clone(r), Arc::clone(&rates)));
                }
            }
            rates
        });
        self.table = Some(table);
    }

    /// The arrival rate (requests/s) at time `t` of series `r`, with `days` the replication's
    /// day map.
    pub fn rate(&mut self, r: &RateSeries, t: Millis, days: &[u64]) -> f64 {
        let bin_ms = (Millis::from(r.bin_s) * 1000).max(1);
        let idx = (t / bin_ms) as usize;
        if idx == self.bin {
            return self.rate;
        }
        if let Some(&rate) = self.table.as_ref().and_then(|table| table.get(idx)) {
            self.bin = idx;
            self.rate = rate;
            return rate;
        }
        self.bin = idx;
        let mut src = idx;
        if self.variation.bootstrap_days {
            let per_day = (86_400 / r.bin_s.max(1)) as usize;
            let whole = r.counts.len() / per_day.max(1);
            if per_day > 0 && whole > 0 {
                let day = idx / per_day;
                let pick = days.get(day).map_or(day, |&u| (u % whole as u64) as usize);
                src = pick * per_day + idx % per_day;
            }
        }
        let mut mean = r.counts.get(src).copied().unwrap_or(0.0) * self.scale;
        if self.variation.growth_pct_per_month != 0.0 {
            let months = (idx as u64 * bin_ms) as f64 / 3.6e6 / HOURS_PER_MONTH;
            mean *= (1.0 + self.variation.growth_pct_per_month / 100.0).powf(months);
        }
        let count = if self.variation.poisson {
            poisson(&mut self.rng, mean)
        } else {
            mean
        };
        self.rate = count / f64::from(r.bin_s.max(1));
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(mean: f64, n: usize) -> (f64, f64) {
        let mut r = rng::stream(11, 0, Purpose::Arrivals);
        let xs: Vec<f64> = (0..n).map(|_| poisson(&mut r, mean)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        (m, v)
    }

    #[test]
    fn poisson_draws_have_the_mean_and_variance_of_a_poisson() {
        // Standard error of the mean sqrt(mean/n); of the variance ≈ mean·sqrt(2/n).
        for &mean in &[0.3, 4.0, 25.0, 2400.0] {
            let (m, v) = moments(mean, 40_000);
            let se = (mean / 40_000.0f64).sqrt();
            assert!((m - mean).abs() < 5.0 * se, "mean {mean}: got {m}");
            assert!(
                (v - mean).abs() < 5.0 * mean * (2.0f64 / 40_000.0).sqrt() + 0.05,
                "var {mean}: got {v}"
            );
        }
    }

    #[test]
    fn poisson_small_mean_probabilities() {
        // P(0) = e^-2 = 0.1353, P(2) = 2 e^-2 = 0.2707.
        let mut r = rng::stream(5, 3, Purpose::Arrivals);
        let n = 50_000;
        let (mut zero, mut two) = (0, 0);
        for _ in 0..n {
            match poisson(&mut r, 2.0) as u32 {
                0 => zero += 1,
                2 => two += 1,
                _ => {}
            }
        }
        assert!((f64::from(zero) / n as f64 - 0.1353).abs() < 0.008);
        assert!((f64::from(two) / n as f64 - 0.2707).abs() < 0.01);
    }

    #[test]
    fn shared_draws_are_the_draws_of_an_unshared_source() {
        let per_day = 24;
        let counts: Vec<f64> = (0..3 * per_day)
            .map(|i| 5.0 + (i % 7) as f64 * 40.0)
            .collect();
        let r = Arc::new(RateSeries {
            source: "t".into(),
            bin_s: 3600,
            counts,
            start_unix_s: 0,
            gaps: Vec::new(),
        });
        let horizon = 5 * 86_400_000;
        let days = day_map(3, 2, horizon);
        let v = Variation {
            poisson: true,
            bootstrap_days: true,
            growth_pct_per_month: 12.0,
        };
        let cache = ArrivalCache::default();
        let mut alone = ArrivalSource::new(3, 2, 1, 1.5, v);
        let mut first = alone.clone();
        let mut second = alone.clone();
        first.share(&cache, &r, horizon, &days);
        second.share(&cache, &r, horizon, &days);
        let (a, b) = (first.table.clone().unwrap(), second.table.clone().unwrap());
        assert!(
            Arc::ptr_eq(&a, &b),
            "the second run reads the first one's draws"
        );
        // Each bin read several times, as the engine does between its stops.
        for t in (0..horizon).step_by(900_000) {
            let want = alone.rate(&r, t, &days);
            assert_eq!(first.rate(&r, t, &days), want, "t = {t}");
        }
        // Another replication, scale or variation draws its own.
        let mut other = ArrivalSource::new(3, 3, 1, 1.5, v);
        other.share(&cache, &r, horizon, &days);
        assert!(!Arc::ptr_eq(other.table.as_ref().unwrap(), &a));
        // Recorded rates are not drawn: nothing to share.
        let mut replay = ArrivalSource::new(3, 2, 1, 1.5, Variation::default());
        replay.share(&cache, &r, horizon, &days);
        assert!(replay.table.is_none());
    }

    #[test]
    fn bootstrap_replays_whole_recorded_days_and_growth_compounds() {
        let per_day = 24;
        let counts: Vec<f64> = (0..3 * per_day)
            .map(|i| (i / per_day) as f64 + 1.0)
            .collect();
        let r = RateSeries {
            source: "t".into(),
            bin_s: 3600,
            counts,
            start_unix_s: 0,
            gaps: Vec::new(),
        };
        let days = day_map(1, 0, 5 * 86_400_000);
        let v = Variation {
            bootstrap_days: true,
            ..Variation::default()
        };
        let mut s = ArrivalSource::new(1, 0, 0, 1.0, v);
        for (d, &u) in days.iter().enumerate() {
            let want = (u % 3) as f64 + 1.0;
            for h in 0..24u64 {
                let t = (d as u64 * 24 + h) * 3_600_000;
                assert_eq!(s.rate(&r, t, &days) * 3600.0, want);
            }
        }
        let g = Variation {
            growth_pct_per_month: 10.0,
            ..Variation::default()
        };
        let mut s = ArrivalSource::new(1, 0, 0, 2.0, g);
        let month = (HOURS_PER_MONTH * 3.6e6) as u64;
        // Day 0 of the trace (count 1, scale 2), a month in: 2 × 1.1.
        let rr = RateSeries {
            counts: vec![1.0; 2000],
            ..r.clone()
        };
        assert!((s.rate(&rr, month, &[]) * 3600.0 - 2.2).abs() < 1e-9);
    }
}
