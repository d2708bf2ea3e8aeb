//! Ranking: SLA-feasible first, then monthly cost, then distance from the efficiency band.

use std::cmp::Ordering;

use crate::search::Evaluated;

/// Orders two evaluated candidates: feasible before infeasible; among feasible, cheaper first,
/// then closer to the band; among infeasible, fewer breached windows first, then cheaper. Ties
/// fall back to the name, so the order never depends on input order or thread count.
pub fn compare(a: &Evaluated, b: &Evaluated) -> Ordering {
    let (ea, eb) = (&a.evaluation, &b.evaluation);
    let fa = ea.feasible();
    let fb = eb.feasible();
    fb.cmp(&fa)
        .then_with(|| {
            if fa {
                Ordering::Equal
            } else {
                ea.sla.breached_windows.cmp(&eb.sla.breached_windows)
            }
        })
        .then_with(|| ea.cost.monthly.total_cmp(&eb.cost.monthly))
        .then_with(|| ea.band_distance.total_cmp(&eb.band_distance))
        .then_with(|| a.config.name.cmp(&b.config.name))
}

/// Sorts candidates into rank order (rank 1 first).
pub fn rank(mut candidates: Vec<Evaluated>) -> Vec<Evaluated> {
    candidates.sort_by(compare);
    candidates
}
