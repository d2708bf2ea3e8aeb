//! Ranking (DESIGN.md §8): feasible first, then undecided, then infeasible; within the first
//! two, by breach probability, then monthly cost, then distance from the efficiency band;
//! among infeasible candidates, by breach probability, then the expected fraction of failed
//! windows, then cost. Cost and band distance are compared at the precision the outputs show
//! them (0.01, 0.0001): a difference no output shows (two candidates on the same nodes differ
//! in the last bits of their band) does not decide the order. Ties then go to the lower
//! expected fraction of failed windows, the lower upper bound of the breach probability, the
//! unrounded cost and band distance, and the name. The Pareto front over (cost, breach
//! probability, band distance) is marked.

use std::cmp::Ordering;

use crate::search::risk::Verdict;
use crate::search::Evaluated;

/// Expected fraction of failed windows (the replay's own without replications).
fn failed_fraction(e: &Evaluated) -> f64 {
    e.risk().map_or(e.evaluation.sla.breached_fraction, |r| {
        r.expected_failed_window_fraction
    })
}

/// The breach probability's 95 % upper bound (the replay's breach, 0 or 1, without
/// replications).
fn breach_upper_bound(e: &Evaluated) -> f64 {
    e.risk().map_or(e.breach_probability(), |r| r.ci_high)
}

/// Orders two evaluated candidates (see the module doc). Ties fall back to the name, so the
/// order never depends on input order or thread count. On recorded replays (no replications)
/// this is the order of issue 2: SLA met first, then cost and band; breaching candidates by
/// failed windows, then cost.
pub fn compare(a: &Evaluated, b: &Evaluated) -> Ordering {
    let (va, vb) = (a.verdict(), b.verdict());
    let (sa, sb) = (objectives(a), objectives(b));
    va.cmp(&vb)
        .then_with(|| a.breach_probability().total_cmp(&b.breach_probability()))
        .then_with(|| {
            if va == Verdict::Infeasible {
                failed_fraction(a).total_cmp(&failed_fraction(b))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| sa[0].total_cmp(&sb[0]))
        .then_with(|| sa[2].total_cmp(&sb[2]))
        .then_with(|| failed_fraction(a).total_cmp(&failed_fraction(b)))
        .then_with(|| breach_upper_bound(a).total_cmp(&breach_upper_bound(b)))
        // Then as before the shown precision: unrounded cost and band, then the name.
        .then_with(|| a.monthly_cost().total_cmp(&b.monthly_cost()))
        .then_with(|| a.band_distance().total_cmp(&b.band_distance()))
        .then_with(|| a.config.name.cmp(&b.config.name))
}

/// Sorts candidates into rank order (rank 1 first) and marks the Pareto front.
pub fn rank(mut candidates: Vec<Evaluated>) -> Vec<Evaluated> {
    candidates.sort_by(compare);
    mark_pareto(&mut candidates);
    candidates
}

/// The objectives the Pareto front minimizes, at the precision the outputs give them (cost
/// to 0.01, breach probability to 0.001, band distance to 0.0001): a difference no output
/// shows is no trade-off, so a dearer candidate does not join the front on it.
fn objectives(e: &Evaluated) -> [f64; 3] {
    as_shown([e.monthly_cost(), e.breach_probability(), e.band_distance()])
}

/// (cost, breach probability, band distance) in steps of the precision the outputs show.
fn as_shown([cost, breach, band]: [f64; 3]) -> [f64; 3] {
    let at = |x: f64, step: f64| (x / step).round();
    [at(cost, 0.01), at(breach, 0.001), at(band, 0.0001)]
}

/// Whether `a` dominates `b`: no worse in every objective, better in one.
fn dominates(a: &[f64; 3], b: &[f64; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// Whether `e` is on the Pareto front of `all` (nothing in `all` dominates it).
pub fn on_front(e: &Evaluated, all: &[Evaluated]) -> bool {
    let o = objectives(e);
    !all.iter().any(|x| dominates(&objectives(x), &o))
}

/// Marks every candidate on the Pareto front of `candidates`.
pub fn mark_pareto(candidates: &mut [Evaluated]) {
    let objs: Vec<[f64; 3]> = candidates.iter().map(objectives).collect();
    for (i, c) in candidates.iter_mut().enumerate() {
        c.pareto = !objs.iter().any(|x| dominates(x, &objs[i]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dominance_needs_one_strict_improvement() {
        assert!(dominates(&[1.0, 0.0, 0.1], &[2.0, 0.0, 0.1]));
        assert!(!dominates(&[1.0, 0.0, 0.1], &[1.0, 0.0, 0.1]));
        assert!(!dominates(&[1.0, 0.2, 0.1], &[2.0, 0.0, 0.1]));
    }

    /// A dearer candidate whose band distance is lower by less than the 0.0001 the outputs
    /// show is dominated (both print 0.0496); a lower one by a shown step is a trade-off.
    #[test]
    fn differences_below_the_shown_precision_are_no_trade_off() {
        let cheap = as_shown([1146.79, 0.0, 0.049_62]);
        assert!(dominates(&cheap, &as_shown([1224.98, 0.0, 0.049_58])));
        assert!(!dominates(
            &[1146.79, 0.0, 0.049_62],
            &[1224.98, 0.0, 0.049_58]
        ));
        assert!(!dominates(&cheap, &as_shown([1224.98, 0.0, 0.049_4])));
        assert!(!dominates(
            &as_shown([1146.79, 0.002, 0.0496]),
            &as_shown([1224.98, 0.001, 0.0496])
        ));
    }
}
