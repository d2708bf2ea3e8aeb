//! Queueing formulas the fluid load model uses: Erlang B/C, the M/M/c waiting time and the
//! Allen–Cunneen correction for non-exponential arrivals and service.

/// Below this, a blocking probability is zero for every figure the model reports.
const NEGLIGIBLE: f64 = 1e-20;

/// Erlang B blocking probability for `servers` servers and offered load `a` (erlangs), by the
/// stable recursion `B(k) = a·B(k−1) / (k + a·B(k−1))`.
///
/// The recursion forgets its start: in `1/B(k) = 1 + (k/a)·1/B(k−1)` an error shrinks by
/// `k/a` per step, so a window of `w = 10√m + 50` steps below `m = min(servers, a)`, started
/// from `B = 1`, is exact to a factor `exp(−w²/2m) < e^−50`. Past the load `B` only falls, so
/// the loop stops once it is below 1e-20: the result is then an upper bound below 1e-20 rather
/// than the exact tail. A pool of 2³¹ connections (redis-py's default) thus costs O(√m) steps
/// under a huge load and a few under a light one, not 2³¹ per call.
pub fn erlang_b(servers: u32, a: f64) -> f64 {
    if a <= 0.0 {
        return 0.0;
    }
    let m = a.min(f64::from(servers));
    let window = 10.0 * m.sqrt() + 50.0;
    // `m − window` < servers, so the cast cannot overflow; at or below 0 it starts at B(0) = 1.
    let start = if m > window { (m - window) as u32 } else { 0 };
    // The recursion on 1/B, which needs no division per step (a division's latency bounds
    // the loop otherwise).
    let per_server = 1.0 / a;
    let mut inv_b: f64 = 1.0;
    for k in start + 1..=servers {
        let k = f64::from(k);
        inv_b = 1.0 + k * per_server * inv_b;
        if inv_b > 1.0 / NEGLIGIBLE && k > a {
            break;
        }
    }
    1.0 / inv_b
}

/// Erlang C: probability that an arrival waits in an M/M/c queue with `servers` servers and
/// offered load `a = λ/μ`. Returns 1 when `a >= servers` (unstable queue).
pub fn erlang_c(servers: u32, a: f64) -> f64 {
    if a <= 0.0 {
        return 0.0;
    }
    let c = f64::from(servers);
    if a >= c {
        return 1.0;
    }
    let b = erlang_b(servers, a);
    (c * b / (c - a * (1.0 - b))).clamp(0.0, 1.0)
}

/// The waiting-time law of a G/G/c queue in the Allen–Cunneen approximation:
/// `P(W > t) = p_wait · exp(−rate · t)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitLaw {
    /// Probability of waiting at all (Erlang C).
    pub p_wait: f64,
    /// Decay rate of the waiting-time tail, per second.
    pub rate: f64,
}

impl WaitLaw {
    /// No waiting.
    pub const NONE: WaitLaw = WaitLaw {
        p_wait: 0.0,
        rate: f64::INFINITY,
    };

    /// Mean waiting time in seconds.
    pub fn mean(&self) -> f64 {
        if self.p_wait == 0.0 {
            0.0
        } else {
            self.p_wait / self.rate
        }
    }

    /// `P(W > t)` for `t` seconds.
    pub fn tail(&self, t: f64) -> f64 {
        if t <= 0.0 {
            self.p_wait
        } else {
            self.p_wait * (-self.rate * t).exp()
        }
    }
}

/// Waiting-time law for `servers` servers, arrival rate `lambda` (per s), mean service time
/// `service_s` (s), squared coefficients of variation `ca2` (arrivals) and `cs2` (service).
///
/// M/M/c: `P(W > t) = C(c, A)·e^{−(cμ−λ)t}`; Allen–Cunneen scales the mean wait by
/// `(ca² + cs²)/2`, which here divides the tail rate. Requires `lambda·service_s < servers`;
/// the caller caps utilization below 1.
pub fn wait_law(servers: u32, lambda: f64, service_s: f64, ca2: f64, cs2: f64) -> WaitLaw {
    if lambda <= 0.0 || service_s <= 0.0 || servers == 0 {
        return WaitLaw::NONE;
    }
    let a = lambda * service_s;
    let c = f64::from(servers);
    if a >= c {
        return WaitLaw {
            p_wait: 1.0,
            rate: 0.0,
        };
    }
    let p_wait = erlang_c(servers, a);
    let mm_rate = (c - a) / service_s; // cμ − λ
    let variability = ((ca2 + cs2) / 2.0).max(1e-3);
    WaitLaw {
        p_wait,
        rate: mm_rate / variability,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn erlang_c_matches_closed_forms() {
        // M/M/1: P(wait) = ρ.
        assert_relative_eq!(erlang_c(1, 0.8), 0.8, epsilon = 1e-12);
        // M/M/2 at A = 1: B(2) = 0.2, C = 2·0.2/(2 − 0.8) = 1/3.
        assert_relative_eq!(erlang_c(2, 1.0), 1.0 / 3.0, epsilon = 1e-12);
        // Textbook M/M/3 at A = 2: C = (8/6·3)/(1 + 2 + 2 + 8/6·3) = 4/9.
        assert_relative_eq!(erlang_c(3, 2.0), 4.0 / 9.0, epsilon = 1e-12);
        assert_eq!(erlang_c(4, 4.0), 1.0);
        assert_eq!(erlang_c(4, 0.0), 0.0);
    }

    #[test]
    fn erlang_b_of_a_huge_pool_at_light_load_is_negligible() {
        // B(c, 1) = (1/c!) / Σ_{k≤c} 1/k! ≈ 1/(e·c!): 1.5e-19 at c = 20, 7.2e-21 at c = 21, so a
        // pool of 10,000 connections stops at B(21, 1).
        let b21 = erlang_b(21, 1.0);
        approx::assert_relative_eq!(b21, 7.200_482_620_481_952e-21, max_relative = 1e-12);
        assert!(erlang_b(20, 1.0) > 1e-20);
        assert_eq!(erlang_b(10_000, 1.0), b21);
    }

    #[test]
    fn erlang_b_matches_direct_sum() {
        // B(c, A) = (A^c/c!) / Σ_{k≤c} A^k/k!  for c = 5, A = 3.
        let a: f64 = 3.0;
        let mut sum = 0.0;
        let mut term = 1.0;
        for k in 0..=5 {
            if k > 0 {
                term *= a / f64::from(k);
            }
            sum += term;
        }
        assert_relative_eq!(erlang_b(5, a), term / sum, epsilon = 1e-12);
    }

    /// The full recursion from B(0) = 1, the reference for the windowed start.
    fn erlang_b_full(servers: u32, a: f64) -> f64 {
        let mut b = 1.0;
        for k in 1..=servers {
            b = a * b / (f64::from(k) + a * b);
        }
        b
    }

    #[test]
    fn erlang_b_window_matches_the_full_recursion() {
        for &(c, a) in &[
            (10_000, 10_000.0),
            (10_000, 9_000.0),
            (10_000, 11_000.0),
            (10_000, 1e7),
            (200_000, 199_000.0),
            (5_000, 4_000.0),
            (1_000, 2.0),
        ] {
            let full = erlang_b_full(c, a);
            if full < NEGLIGIBLE {
                // Past the load the loop stops below 1e-20: an upper bound, not the tail.
                assert!(erlang_b(c, a) < NEGLIGIBLE && erlang_b(c, a) >= full);
            } else {
                assert_relative_eq!(erlang_b(c, a), full, max_relative = 1e-9);
            }
        }
    }

    #[test]
    fn erlang_b_of_a_huge_pool_under_a_huge_load_is_quick() {
        // redis-py's default pool (2³¹) at 10¹² erlangs: O(√m) steps, not 2³¹ (the full
        // recursion would not finish within the test run). Nearly every operation is lost.
        let b = erlang_b(1 << 31, 1e12);
        assert!(b > 0.99 && b <= 1.0, "{b}");
    }

    #[test]
    fn mm1_mean_wait_is_rho_over_mu_minus_lambda() {
        // M/M/1, λ = 8/s, μ = 10/s: Wq = ρ/(μ − λ) = 0.8/2 = 0.4 s.
        let w = wait_law(1, 8.0, 0.1, 1.0, 1.0);
        assert_relative_eq!(w.mean(), 0.4, epsilon = 1e-12);
        // Deterministic service (cs² = 0) halves the wait (Pollaczek–Khinchine for M/D/1).
        let d = wait_law(1, 8.0, 0.1, 1.0, 0.0);
        assert_relative_eq!(d.mean(), 0.2, epsilon = 1e-12);
    }

    #[test]
    fn more_servers_never_wait_longer() {
        let mut prev = f64::INFINITY;
        for c in 2..20 {
            let w = wait_law(c, 15.0, 0.1, 1.0, 1.0).mean();
            assert!(w <= prev);
            prev = w;
        }
    }
}
