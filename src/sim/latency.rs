//! Latency distributions on a fixed logarithmic grid: per-step laws, window mixtures and
//! percentiles.
//!
//! Bin 0 holds `[0, FIRST_EDGE_S)`; bin `j ≥ 1` holds `[e_{j−1}, e_j)` with
//! `e_j = FIRST_EDGE_S · RATIO^j`; the last bin is open. Percentiles interpolate geometrically
//! inside a bin, so they are exact to within the bin ratio (5 %).

use crate::sim::queueing::WaitLaw;

/// Number of bins.
pub const BINS: usize = 160;
const _: () = assert!(BINS <= u8::MAX as usize, "Law keeps bin indices in a u8");
/// Upper edge of bin 0, seconds (0.5 ms).
pub const FIRST_EDGE_S: f64 = 0.0005;
/// Ratio between consecutive edges.
pub const RATIO: f64 = 1.1;

/// Upper edges of the bins, computed once.
static UPPER_EDGES: std::sync::LazyLock<[f64; BINS]> = std::sync::LazyLock::new(|| {
    let mut e = [0.0; BINS];
    for (j, x) in e.iter_mut().enumerate() {
        *x = if j + 1 >= BINS {
            f64::INFINITY
        } else {
            FIRST_EDGE_S * RATIO.powi(j as i32)
        };
    }
    e
});

/// Upper edge of bin `j` in seconds (`f64::INFINITY` for the last bin).
pub fn upper_edge(j: usize) -> f64 {
    UPPER_EDGES[j.min(BINS - 1)]
}

/// Lower edge of bin `j` in seconds.
pub fn lower_edge(j: usize) -> f64 {
    if j == 0 {
        0.0
    } else {
        UPPER_EDGES[(j - 1).min(BINS - 1)]
    }
}

/// The bin holding `t` seconds.
pub fn bin_of(t: f64) -> usize {
    if t < FIRST_EDGE_S || t.is_nan() {
        return 0;
    }
    let j = ((t / FIRST_EDGE_S).ln() / RATIO.ln()).floor() as usize + 1;
    j.min(BINS - 1)
}

/// A normalized latency law over the bins, with the range of bins that hold its mass (a law
/// of one step covers a few dozen of the bins: mixing only those is exact and cheaper).
#[derive(Debug, Clone, PartialEq)]
pub struct Law {
    mass: [f32; BINS],
    first: u8,
    end: u8,
}

impl Law {
    /// The law with probability `mass` per bin.
    pub fn new(mass: [f32; BINS]) -> Law {
        let first = mass.iter().position(|&m| m != 0.0).unwrap_or(0);
        let end = mass
            .iter()
            .rposition(|&m| m != 0.0)
            .map_or(first, |j| j + 1);
        Law {
            mass,
            first: first as u8,
            end: end as u8,
        }
    }

    /// The bins from the first to the last that hold mass.
    pub fn bins(&self) -> std::ops::Range<usize> {
        usize::from(self.first)..usize::from(self.end)
    }
}

/// A latency histogram: mass per bin (counts of requests, or probabilities).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Mass per bin.
    pub mass: [f64; BINS],
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { mass: [0.0; BINS] }
    }
}

impl Histogram {
    /// Total mass.
    pub fn total(&self) -> f64 {
        // Empty bins add exactly 0: summing the support gives the same total, faster.
        self.mass[self.support()].iter().sum()
    }

    /// The bins from the first to the last that hold mass.
    fn support(&self) -> std::ops::Range<usize> {
        self.support_within(0..BINS)
    }

    /// The bins from the first to the last that hold mass, when every bin outside `within`
    /// is empty.
    fn support_within(&self, within: std::ops::Range<usize>) -> std::ops::Range<usize> {
        let mass = &self.mass[within.clone()];
        let first = mass.iter().position(|&m| m != 0.0).unwrap_or(0);
        let end = mass
            .iter()
            .rposition(|&m| m != 0.0)
            .map_or(first, |j| j + 1);
        within.start + first..within.start + end
    }

    /// Adds `weight × law` over the bins that hold the law's mass (the others would add 0).
    pub fn add_law(&mut self, law: &Law, weight: f64) {
        let (first, end) = (usize::from(law.first), usize::from(law.end));
        for (m, o) in self.mass[first..end].iter_mut().zip(&law.mass[first..end]) {
            *m += weight * f64::from(*o);
        }
    }

    /// Clears all mass.
    pub fn clear(&mut self) {
        self.mass = [0.0; BINS];
    }

    /// Clears the mass of the bins `within` (the others hold none).
    pub fn clear_within(&mut self, within: std::ops::Range<usize>) {
        self.mass[within].fill(0.0);
    }

    /// The `q`-quantile in seconds (`q` in (0, 1)); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        self.quantiles([q])[0]
    }

    /// The quantiles `qs` (ascending) in seconds, in one pass over the bins; `None` when empty.
    /// Inside a bin the quantile interpolates geometrically between its edges.
    pub fn quantiles<const N: usize>(&self, qs: [f64; N]) -> [Option<f64>; N] {
        self.quantiles_within(0..BINS, qs)
    }

    /// [`Histogram::quantiles`] of a histogram whose bins outside `within` are empty (it
    /// only looks at those).
    pub fn quantiles_within<const N: usize>(
        &self,
        within: std::ops::Range<usize>,
        qs: [f64; N],
    ) -> [Option<f64>; N] {
        let mut out = [None; N];
        let support = self.support_within(within);
        // Empty bins add exactly 0: the support's sum is the total.
        let total: f64 = self.mass[support.clone()].iter().sum();
        if total <= 0.0 {
            return out;
        }
        let targets = qs.map(|q| q.clamp(0.0, 1.0) * total);
        let mut next = 0;
        let mut cum = 0.0;
        for (j, &m) in self.mass.iter().enumerate().skip(support.start) {
            if m <= 0.0 {
                continue;
            }
            while next < N {
                let target = targets[next];
                if cum + m < target {
                    break;
                }
                let frac = ((target - cum) / m).clamp(0.0, 1.0);
                let (lo, hi) = (lower_edge(j), upper_edge(j));
                out[next] = Some(if j == 0 {
                    hi * frac
                } else if hi.is_infinite() {
                    lo
                } else {
                    lo * (hi / lo).powf(frac)
                });
                next += 1;
            }
            if next == N {
                return out;
            }
            cum += m;
        }
        for o in &mut out[next..] {
            *o = Some(lower_edge(BINS - 1));
        }
        out
    }
}

/// The law of `base + wait`: `base` given by equally likely atoms (seconds), `wait` a point mass
/// at `shift_s` with probability `1 − p_wait` and `shift_s + Exp(rate)` otherwise. Returns the
/// probability mass per bin.
pub fn law_with_wait(base_atoms: &[f64], shift_s: f64, wait: WaitLaw) -> [f32; BINS] {
    if wait.p_wait == 0.0 && base_atoms.is_sorted() {
        return law_of_atoms(base_atoms, shift_s);
    }
    let mut cdf = [0.0f64; BINS];
    let k = base_atoms.len().max(1) as f64;
    for &b in base_atoms {
        let start = b + shift_s;
        let first = bin_of(start);
        let no_wait = 1.0 - wait.p_wait;
        let edges = &*UPPER_EDGES;
        for (c, &e) in cdf.iter_mut().zip(edges.iter()).skip(first) {
            if e.is_infinite() {
                *c += 1.0;
                continue;
            }
            let mut f = if e > start { no_wait } else { 0.0 };
            if wait.p_wait > 0.0 && e > start {
                let x = wait.rate * (e - start);
                // e^{-x} is below f64 resolution of 1 past x = 40: skip the exp.
                f += wait.p_wait * if x > 40.0 { 1.0 } else { 1.0 - (-x).exp() };
            }
            *c += f;
        }
    }
    let mut law = [0.0f32; BINS];
    let mut prev = 0.0;
    for j in 0..BINS {
        let c = cdf[j] / k;
        law[j] = (c - prev).max(0.0) as f32;
        prev = c;
    }
    law
}

/// The law of `base + shift` for sorted, equally likely atoms: one sweep over atoms and bin
/// edges (the same result as [`law_with_wait`] with no wait).
fn law_of_atoms(sorted_atoms: &[f64], shift_s: f64) -> [f32; BINS] {
    let k = sorted_atoms.len().max(1) as f64;
    let mut law = [0.0f32; BINS];
    let (mut i, mut prev) = (0usize, 0.0f64);
    for (j, &e) in UPPER_EDGES.iter().enumerate() {
        while i < sorted_atoms.len() && (e.is_infinite() || sorted_atoms[i] + shift_s < e) {
            i += 1;
        }
        let c = i as f64 / k;
        law[j] = (c - prev).max(0.0) as f32;
        prev = c;
    }
    law
}

/// Probability that `base + wait` exceeds `limit_s`.
pub fn tail_beyond(base_atoms: &[f64], shift_s: f64, wait: WaitLaw, limit_s: f64) -> f64 {
    let k = base_atoms.len().max(1) as f64;
    base_atoms
        .iter()
        .map(|&b| {
            let slack = limit_s - b - shift_s;
            if slack < 0.0 {
                1.0
            } else {
                wait.tail(slack)
            }
        })
        .sum::<f64>()
        / k
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn quantiles_in_one_pass_equal_each_quantile_alone() {
        // Half the mass in one bin, half in another: p50 lies at the first bin's upper edge,
        // p95 and p99 inside the second; quantiles sharing a bin come out of the same pass.
        let mut h = Histogram::default();
        h.mass[10] = 1.0;
        h.mass[40] = 1.0;
        let qs = [0.25, 0.5, 0.95, 0.99];
        let all = h.quantiles(qs);
        for (q, got) in qs.iter().zip(all) {
            assert_eq!(got, h.quantile(*q));
        }
        assert_relative_eq!(all[1].unwrap(), upper_edge(10), max_relative = 1e-12);
        let (lo, hi) = (lower_edge(40), upper_edge(40));
        assert_relative_eq!(
            all[3].unwrap(),
            lo * (hi / lo).powf(0.98),
            max_relative = 1e-12
        );
        assert_eq!(Histogram::default().quantiles([0.5, 0.99]), [None, None]);
    }

    #[test]
    fn the_sweep_matches_the_general_law_without_wait() {
        let atoms: Vec<f64> = (0..200).map(|i| 0.001 * 1.03f64.powi(i)).collect();
        let fast = law_of_atoms(&atoms, 0.002);
        let mut shuffled = atoms.clone();
        shuffled.reverse(); // not sorted: takes the general path
        let general = law_with_wait(&shuffled, 0.002, WaitLaw::NONE);
        for (a, b) in fast.iter().zip(general.iter()) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn bins_cover_their_edges() {
        assert_eq!(bin_of(0.0), 0);
        assert_eq!(bin_of(0.0004), 0);
        for j in 1..BINS - 1 {
            let mid = (lower_edge(j) * upper_edge(j)).sqrt();
            assert_eq!(bin_of(mid), j, "bin {j}");
        }
        assert_eq!(bin_of(1e9), BINS - 1);
    }

    #[test]
    fn exponential_quantiles_within_bin_resolution() {
        // W ~ Exp(rate 10/s): q99 = ln(100)/10 = 0.4605 s, median = ln 2 / 10.
        let w = WaitLaw {
            p_wait: 1.0,
            rate: 10.0,
        };
        let law = law_with_wait(&[0.0], 0.0, w);
        let mut h = Histogram::default();
        h.add_law(&Law::new(law), 1000.0);
        assert_relative_eq!(h.total(), 1000.0, epsilon = 1e-2);
        let q99 = h.quantile(0.99).unwrap();
        assert!((q99 / (100f64.ln() / 10.0) - 1.0).abs() < 0.05, "q99 {q99}");
        let q50 = h.quantile(0.5).unwrap();
        assert!((q50 / (2f64.ln() / 10.0) - 1.0).abs() < 0.05, "q50 {q50}");
    }

    #[test]
    fn erlang_c_mass_at_zero_shows_in_low_quantiles() {
        // 70 % never wait: the median is the base time (10 ms).
        let w = WaitLaw {
            p_wait: 0.3,
            rate: 5.0,
        };
        let law = law_with_wait(&[0.010], 0.0, w);
        let mut h = Histogram::default();
        h.add_law(&Law::new(law), 1.0);
        let q50 = h.quantile(0.5).unwrap();
        assert!((q50 / 0.010 - 1.0).abs() < 0.1, "q50 {q50}");
        // P(L > 0.010 + t) = 0.3 e^{-5t}: q99 at t = ln(30)/5.
        let q99 = h.quantile(0.99).unwrap();
        let expect = 0.010 + 30f64.ln() / 5.0;
        assert!((q99 / expect - 1.0).abs() < 0.05, "q99 {q99} vs {expect}");
        assert_relative_eq!(tail_beyond(&[0.010], 0.0, w, expect), 0.01, epsilon = 1e-9);
    }
}
