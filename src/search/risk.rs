//! SLA risk over Monte Carlo replications: per replication a [`Record`]; per candidate the
//! breach probability with its 95 % Wilson interval ([`Risk`]), and the one feasibility
//! decision ([`verdict`]).

use serde::{Deserialize, Serialize};

use crate::eval::Evaluation;
use crate::model::scenario::Sla;

/// The default risk budget (`--max-breach-probability`).
pub const DEFAULT_MAX_BREACH_PROBABILITY: f64 = 0.05;

/// Most replications a run takes of one candidate: a week's replication takes ~30 ms and keeps
/// a 48-byte record, so 100,000 is ~50 CPU-minutes; beyond it a typo would exhaust memory.
pub const MAX_REPLICATIONS: u32 = 100_000;

/// What is wrong with `p` as a risk budget (`None`: nothing): it must be a probability above 0
/// that [`MAX_REPLICATIONS`] without a breach can prove.
pub fn budget_problem(p: f64) -> Option<String> {
    if p == 0.0 {
        return Some(
            "no number of replications can prove a breach probability of 0 (the 95 % upper \
             bound stays above it); expected a probability in (0, 1], e.g. 0.05"
                .into(),
        );
    }
    if !(p > 0.0 && p <= 1.0) {
        return Some("not a probability: expected one in (0, 1]".into());
    }
    match replications_to_prove(0, p) {
        Some(n) if n <= MAX_REPLICATIONS => None,
        n => Some(format!(
            "proving a breach probability that small takes {} replications without a breach, \
             more than the {MAX_REPLICATIONS} a run allows; expected a budget of about 0.00004 \
             or more",
            n.map_or("more than 4 billion".into(), |n| n.to_string())
        )),
    }
}

/// What the ranking keeps of one replication of one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The replication breached the SLA (more failed windows than allowed).
    pub breached: bool,
    /// Failed windows / windows.
    pub failed_fraction: f64,
    /// Worst window p99 over the SLA's objectives, seconds.
    pub worst_p99_s: f64,
    /// Worst window p99 as a fraction of its objective's p99 target, over the objectives
    /// (1 = at the target): comparable across classes whose targets differ.
    #[serde(default)]
    pub worst_p99_of_target: f64,
    /// Worst window error rate over the SLA's objectives.
    pub worst_error_rate: f64,
    /// Projected monthly cost.
    pub monthly_cost: f64,
    /// Distance from the efficiency band.
    pub band_distance: f64,
}

impl Record {
    /// The record of one evaluated replication under the SLA `sla` (its objectives in the
    /// evaluation's order).
    pub fn of(e: &Evaluation, sla: &Sla) -> Record {
        Record {
            breached: e.sla.breached,
            failed_fraction: e.sla.breached_fraction,
            worst_p99_s: e
                .sla
                .objectives
                .iter()
                .map(|o| o.worst_p99_s)
                .fold(0.0, f64::max),
            worst_p99_of_target: e
                .sla
                .objectives
                .iter()
                .zip(&sla.objectives)
                .filter(|(_, spec)| spec.p99 > 0)
                .map(|(o, spec)| o.worst_p99_s / (spec.p99 as f64 / 1000.0))
                .fold(0.0, f64::max),
            worst_error_rate: e
                .sla
                .objectives
                .iter()
                .map(|o| o.worst_error_rate)
                .fold(0.0, f64::max),
            monthly_cost: e.cost.monthly,
            band_distance: e.band_distance,
        }
    }
}

/// One candidate's monthly cost minus another's, paired over the replications both ran:
/// replication `r` of every candidate replays the same random streams (common random numbers),
/// so the difference of two costs in one replication is free of the traffic's noise that
/// their means over different replications carry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostDifference {
    /// Replications both ran (the first `replications` of each).
    pub replications: u32,
    /// Mean of the per-replication differences, per month.
    pub mean: f64,
    /// 95 % interval of the mean difference (Student's t with `replications − 1` degrees of
    /// freedom), lower bound.
    pub ci_low: f64,
    /// Upper bound.
    pub ci_high: f64,
}

impl CostDifference {
    /// `a − b` over the replications both record lists hold; `None` with fewer than 2.
    pub fn of(a: &[Record], b: &[Record]) -> Option<CostDifference> {
        let n = a.len().min(b.len());
        if n < 2 {
            return None;
        }
        // The mean difference as the difference of the two means, summed as [`Risk::of`] sums
        // them: over all of both lists it is, to the bit, the difference of the means the
        // outputs show, so the two never round apart.
        let mean_of = |r: &[Record]| r[..n].iter().map(|x| x.monthly_cost).sum::<f64>() / n as f64;
        let mean = mean_of(a) - mean_of(b);
        let var = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x.monthly_cost - y.monthly_cost - mean).powi(2))
            .sum::<f64>()
            / (n - 1) as f64;
        let half = t975(n - 1) * (var / n as f64).sqrt();
        Some(CostDifference {
            replications: n as u32,
            mean,
            ci_low: mean - half,
            ci_high: mean + half,
        })
    }

    /// Whether the interval holds 0: over these replications the two costs differ by no more
    /// than the noise between replications.
    pub fn is_tie(&self) -> bool {
        self.ci_low <= 0.0 && 0.0 <= self.ci_high
    }

    /// What the outputs add after the interval when it is a tie (nothing otherwise).
    pub fn tie_note(&self) -> &'static str {
        if self.is_tie() {
            " (it holds 0: no difference beyond the noise between replications)"
        } else {
            ""
        }
    }
}

/// The 0.975 quantile of Student's t with `dof` degrees of freedom (statrs; the normal
/// quantile if statrs cannot build the distribution).
pub fn t975(dof: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    StudentsT::new(0.0, 1.0, dof as f64).map_or_else(|_| z95(), |t| t.inverse_cdf(0.975))
}

/// The two-sided 95 % normal quantile, from statrs.
pub fn z95() -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().inverse_cdf(0.975)
}

/// The Wilson score interval for `k` successes in `n` trials at normal quantile `z`
/// (`(0, 1)` when `n` is 0).
pub fn wilson(k: u32, n: u32, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = f64::from(n);
    let p = f64::from(k) / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The fewest replications at which `breaches` breaching replications prove a breach
/// probability within `max_breach_probability`: the smallest `n ≥ max(breaches, 1)` whose
/// 95 % Wilson upper bound is at most the budget ([`risk_verdict`]'s feasible side). With no
/// breach that is the `n` of `z²/(n + z²) ≤ budget` (73 at 5 %). `None` when no number of
/// replications within `u32` can (a budget of 0, or one too small for `u32`).
pub fn replications_to_prove(breaches: u32, max_breach_probability: f64) -> Option<u32> {
    let z = z95();
    let proves = |n: u32| wilson(breaches, n, z).1 <= max_breach_probability;
    let mut lo = breaches.max(1);
    if proves(lo) {
        return Some(lo);
    }
    if max_breach_probability <= 0.0 {
        return None;
    }
    // For a fixed breach count the upper bound falls as n grows: double until it proves,
    // then bisect (lo never proves, hi does).
    let mut hi = lo;
    while !proves(hi) {
        lo = hi;
        hi = hi.checked_mul(2)?;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if proves(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// A candidate's SLA risk over its replications, and the means the ranking uses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Risk {
    /// Replications run.
    pub replications: u32,
    /// Replications that breached.
    pub breaches: u32,
    /// `breaches / replications`.
    pub breach_probability: f64,
    /// 95 % Wilson interval, lower bound.
    pub ci_low: f64,
    /// 95 % Wilson interval, upper bound.
    pub ci_high: f64,
    /// Mean over replications of the fraction of failed windows.
    pub expected_failed_window_fraction: f64,
    /// Worst window p99 over all replications, seconds.
    pub worst_window_p99_s: f64,
    /// Worst window p99 as a fraction of its objective's target, over all replications.
    pub worst_window_p99_of_target: f64,
    /// Worst window error rate over all replications.
    pub worst_window_error_rate: f64,
    /// Mean monthly cost over replications.
    pub monthly_cost: f64,
    /// Mean band distance over replications.
    pub band_distance: f64,
}

impl Risk {
    /// The risk of `records` (at least one).
    pub fn of(records: &[Record]) -> Risk {
        let n = records.len().max(1) as f64;
        let breaches = records.iter().filter(|r| r.breached).count() as u32;
        let (ci_low, ci_high) = wilson(breaches, records.len() as u32, z95());
        let mean = |f: fn(&Record) -> f64| records.iter().map(f).sum::<f64>() / n;
        Risk {
            replications: records.len() as u32,
            breaches,
            breach_probability: f64::from(breaches) / n,
            ci_low,
            ci_high,
            expected_failed_window_fraction: mean(|r| r.failed_fraction),
            worst_window_p99_s: records.iter().map(|r| r.worst_p99_s).fold(0.0, f64::max),
            worst_window_p99_of_target: records
                .iter()
                .map(|r| r.worst_p99_of_target)
                .fold(0.0, f64::max),
            worst_window_error_rate: records
                .iter()
                .map(|r| r.worst_error_rate)
                .fold(0.0, f64::max),
            monthly_cost: mean(|r| r.monthly_cost),
            band_distance: mean(|r| r.band_distance),
        }
    }
}

/// Whether a candidate meets the SLA within the risk budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The interval's upper bound is within the budget (or, for a single recorded replay,
    /// the SLA was met).
    Feasible,
    /// The interval straddles the budget: more replications would decide.
    Undecided,
    /// The interval's lower bound exceeds the budget (or the single replay breached).
    Infeasible,
}

impl Verdict {
    /// The verdict's name as the JSON writes it: `feasible`, `undecided` or `infeasible`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Feasible => "feasible",
            Verdict::Undecided => "undecided",
            Verdict::Infeasible => "infeasible",
        }
    }

    /// The verdict named as [`Verdict::as_str`] writes it.
    pub fn parse(name: &str) -> Option<Verdict> {
        [Verdict::Feasible, Verdict::Undecided, Verdict::Infeasible]
            .into_iter()
            .find(|v| v.as_str() == name)
    }

    /// What a saving quoted for a candidate with this verdict must say beside it; none for a
    /// feasible one.
    pub fn caveat(self) -> Option<&'static str> {
        match self {
            Verdict::Feasible => None,
            Verdict::Undecided => Some("not proven feasible: too few replications to tell"),
            Verdict::Infeasible => {
                Some("infeasible: breaches the SLA, a connection limit or an availability floor")
            }
        }
    }
}

/// The feasibility decision, the only one: a recorded replay (`risk` `None`) is feasible
/// when it met the SLA; Monte Carlo replications are feasible when the breach probability's
/// upper bound is within `max_breach_probability`, infeasible when the lower bound exceeds
/// it, undecided otherwise. `evaluation` is replication 0's, for conditions that hold or fail
/// for the config as a whole: a connection budget over a server's limit, or a service below
/// its availability floor, is infeasible whatever the replications say.
pub fn verdict(
    evaluation: &Evaluation,
    risk: Option<&Risk>,
    max_breach_probability: f64,
) -> Verdict {
    if evaluation.statically_infeasible() {
        return Verdict::Infeasible;
    }
    match risk {
        None if evaluation.sla.breached => Verdict::Infeasible,
        None => Verdict::Feasible,
        Some(r) => risk_verdict(r, max_breach_probability),
    }
}

/// What the replications alone say: feasible when the breach probability's upper bound is
/// within `max_breach_probability`, infeasible when its lower bound exceeds it.
pub fn risk_verdict(r: &Risk, max_breach_probability: f64) -> Verdict {
    if r.ci_high <= max_breach_probability {
        Verdict::Feasible
    } else if r.ci_low > max_breach_probability {
        Verdict::Infeasible
    } else {
        Verdict::Undecided
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_published_values() {
        // Newcombe (1998), table I: 81/263 → 0.2553–0.3662; 15/148 → 0.0624–0.1605;
        // 0/20 → 0–0.1611.
        let z = z95();
        assert!((z - 1.959964).abs() < 1e-6);
        let (l, h) = wilson(81, 263, z);
        assert!(
            (l - 0.2553).abs() < 1e-4 && (h - 0.3662).abs() < 1e-4,
            "{l} {h}"
        );
        let (l, h) = wilson(15, 148, z);
        assert!(
            (l - 0.0624).abs() < 1e-4 && (h - 0.1605).abs() < 1e-4,
            "{l} {h}"
        );
        let (l, h) = wilson(0, 20, z);
        assert!(l.abs() < 1e-12 && (h - 0.1611).abs() < 1e-4, "{l} {h}");
    }

    #[test]
    fn replications_to_prove_is_the_first_n_whose_upper_bound_fits() {
        let z = z95();
        // No breach: z²/(n + z²) ≤ 0.05 ⇔ n ≥ 19 z² = 72.99.
        assert_eq!(replications_to_prove(0, 0.05), Some(73));
        assert!(wilson(0, 72, z).1 > 0.05 && wilson(0, 73, z).1 <= 0.05);
        for k in 0..6 {
            for budget in [0.01, 0.05, 0.1, 0.3] {
                let n = replications_to_prove(k, budget).unwrap_or(0);
                let first = (k.max(1)..100_000).find(|&n| wilson(k, n, z).1 <= budget);
                assert_eq!(Some(n), first, "k {k} budget {budget}");
            }
        }
        assert_eq!(replications_to_prove(0, 1.0), Some(1));
        assert_eq!(replications_to_prove(3, 1.0), Some(3));
        assert_eq!(replications_to_prove(0, 0.0), None);
    }

    #[test]
    fn cost_differences_are_paired_over_common_replications() {
        let rec = |c: f64| Record {
            breached: false,
            failed_fraction: 0.0,
            worst_p99_s: 0.0,
            worst_p99_of_target: 0.0,
            worst_error_rate: 0.0,
            monthly_cost: c,
            band_distance: 0.0,
        };
        let a: Vec<Record> = [100.0, 110.0, 90.0, 105.0].map(rec).to_vec();
        // The same weeks, 2 dearer each but the last (3 dearer), and a fifth a never ran.
        let b: Vec<Record> = [102.0, 112.0, 92.0, 108.0, 500.0].map(rec).to_vec();
        let d = CostDifference::of(&b, &a).unwrap();
        // Differences 2, 2, 2, 3: mean 2.25, sd 0.5, t(0.975, 3) 3.182446 (hand-computed).
        assert_eq!(d.replications, 4);
        assert!((d.mean - 2.25).abs() < 1e-12);
        let half = 3.182_446_305_284_263 * 0.5 / 2.0;
        assert!((d.ci_low - (2.25 - half)).abs() < 1e-9, "{}", d.ci_low);
        assert!((d.ci_high - (2.25 + half)).abs() < 1e-9, "{}", d.ci_high);
        assert!(!d.is_tie());
        // The same costs every week: a tie, exactly.
        let same = CostDifference::of(&a, &a).unwrap();
        assert_eq!((same.mean, same.ci_low, same.ci_high), (0.0, 0.0, 0.0));
        assert!(same.is_tie());
        // Noise that swamps the mean: a tie.
        let c: Vec<Record> = [101.0, 105.0, 95.0, 106.0].map(rec).to_vec();
        assert!(CostDifference::of(&c, &a).unwrap().is_tie());
        assert_eq!(CostDifference::of(&a[..1], &b), None);
    }

    #[test]
    fn risk_summarizes_records() {
        let rec = |b: bool, f: f64, c: f64| Record {
            breached: b,
            failed_fraction: f,
            worst_p99_s: f * 10.0,
            worst_p99_of_target: f * 5.0,
            worst_error_rate: f / 10.0,
            monthly_cost: c,
            band_distance: 0.1,
        };
        let r = Risk::of(&[
            rec(true, 0.2, 100.0),
            rec(false, 0.0, 110.0),
            rec(false, 0.1, 90.0),
            rec(false, 0.0, 100.0),
        ]);
        assert_eq!((r.replications, r.breaches), (4, 1));
        assert_eq!(r.breach_probability, 0.25);
        assert!((r.expected_failed_window_fraction - 0.075).abs() < 1e-12);
        assert_eq!(r.worst_window_p99_s, 2.0);
        assert_eq!(r.worst_window_p99_of_target, 1.0);
        assert!((r.monthly_cost - 100.0).abs() < 1e-12);
    }
}
