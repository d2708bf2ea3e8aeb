//! The confirmation stage (issue 5: feasibility is decided on the breach probability's upper
//! bound). Halving ranks candidates on a few replications, which prove nothing within a small
//! risk budget (no breach in 4 replications still leaves a 95 % upper bound of 0.49). The
//! stage walks the ranking from rank 1 and gives each undecided candidate more replications —
//! continuing its streams `n, n + 1, …`, so common random numbers and determinism hold — until
//! its verdict is decided, it can no longer be proven feasible within the cap, or the cap is
//! reached. It stops once [`Confirm::feasible`] candidates are feasible or
//! [`Confirm::max_tries`] candidates have been given replications, so it runs at most
//! `max_tries × max_replications` replications ([`Confirm::max_cost`]).
//!
//! A candidate's replications run in batches that end where a feasible verdict first becomes
//! possible: with `k` breaches so far, at [`risk::replications_to_prove`]`(k)`. A clean
//! candidate is proven in one batch at exactly that `n`; every breach moves the next look
//! further out, and once it lies beyond the cap the candidate is given up. Few looks keep the
//! repeated testing of one candidate's interval close to a single test.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::config::Config;
use crate::search::risk::{self, Record, Verdict};
use crate::search::{rank, Evaluated, MonteCarlo};

/// How many candidates the confirmation stage proves, and what it may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirm {
    /// Stop once this many candidates are feasible (0: no confirmation stage).
    pub feasible: u32,
    /// Replications a candidate may reach in the stage (its halving replications included).
    pub max_replications: u32,
    /// Candidates given more replications, at most.
    pub max_tries: u32,
}

impl Confirm {
    /// No confirmation stage: the ranking is halving's.
    pub const OFF: Confirm = Confirm {
        feasible: 0,
        max_replications: 0,
        max_tries: 0,
    };

    /// `feasible` candidates to prove under `max_breach_probability`, with the default cap
    /// ([`default_max_replications`]) and tries (twice `feasible`).
    pub fn new(feasible: u32, max_breach_probability: f64) -> Confirm {
        Confirm {
            feasible,
            max_replications: default_max_replications(max_breach_probability),
            max_tries: feasible.saturating_mul(2),
        }
    }

    /// Whether the stage runs at all.
    pub fn enabled(&self) -> bool {
        self.feasible > 0 && self.max_tries > 0
    }

    /// The most replications the stage can run: every try up to the cap.
    pub fn max_cost(&self) -> u64 {
        u64::from(self.max_tries) * u64::from(self.max_replications)
    }
}

/// The default cap on a candidate's replications: enough to prove the budget with one breach
/// ([`risk::replications_to_prove`]`(1, budget)`, 110 at 5 %), so that a single unlucky
/// replication does not sink a candidate that would prove clean at 73; two breaches give it up.
/// 0 when no `u32` of replications can prove the budget.
pub fn default_max_replications(max_breach_probability: f64) -> u32 {
    risk::replications_to_prove(1, max_breach_probability).unwrap_or(0)
}

/// What the confirmation stage did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Summary {
    /// Candidates that were given more replications (one whose breaches already put a
    /// feasible verdict beyond the cap is skipped, not tried).
    pub tried: u32,
    /// Of those, proven feasible.
    pub feasible: u32,
    /// Of those, proven infeasible (they drop in the ranking).
    pub infeasible: u32,
    /// Of those, still undecided: given up (feasibility out of reach within the cap).
    pub undecided: u32,
    /// Replications the stage added.
    pub replications: u64,
}

/// Runs the stage over `candidates` (any order: they are ranked first, and the result is
/// ranked again, Pareto front included). `evaluate(config, r)` runs replication `r` of
/// `config` (called from rayon threads; results are kept in replication order, so the
/// outcome does not depend on the thread count). `batch_start(try, name, from, to)` is called
/// before each batch (`try` 1-based) with the replications it runs (`from..to`); `tick()`
/// after each replication.
pub fn run(
    candidates: Vec<Evaluated>,
    confirm: &Confirm,
    evaluate: &(dyn Fn(&Config, u32) -> Record + Sync),
    batch_start: &mut dyn FnMut(u32, &str, u32, u32),
    tick: &(dyn Fn() + Sync),
) -> (Vec<Evaluated>, Summary) {
    let mut ranked = rank::rank(candidates);
    let mut summary = Summary::default();
    if !confirm.enabled() {
        return (ranked, summary);
    }
    let mut feasible = ranked.iter().filter(|e| e.feasible()).count() as u64;
    for e in &mut ranked {
        if feasible >= u64::from(confirm.feasible) || summary.tried >= confirm.max_tries {
            break;
        }
        if e.verdict() != Verdict::Undecided || e.monte_carlo.is_none() {
            continue;
        }
        let (verdict, added) =
            confirm_one(e, confirm, summary.tried + 1, evaluate, batch_start, tick);
        if added == 0 {
            // Out of reach before any replication (its breaches already need more than the
            // cap): skipped, not a try, since it cost nothing.
            continue;
        }
        summary.tried += 1;
        summary.replications += added;
        match verdict {
            Verdict::Feasible => {
                summary.feasible += 1;
                feasible += 1;
            }
            Verdict::Infeasible => summary.infeasible += 1,
            Verdict::Undecided => summary.undecided += 1,
        }
    }
    (rank::rank(ranked), summary)
}

/// Gives one undecided candidate batches of replications until its verdict is decided or a
/// feasible verdict is out of reach within the cap: its final verdict and the replications
/// added.
fn confirm_one(
    e: &mut Evaluated,
    confirm: &Confirm,
    attempt: u32,
    evaluate: &(dyn Fn(&Config, u32) -> Record + Sync),
    batch_start: &mut dyn FnMut(u32, &str, u32, u32),
    tick: &(dyn Fn() + Sync),
) -> (Verdict, u64) {
    let mut added = 0u64;
    loop {
        let verdict = e.verdict();
        let Some(mc) = e.monte_carlo.as_mut() else {
            return (verdict, added);
        };
        if verdict != Verdict::Undecided {
            return (verdict, added);
        }
        let r = risk::Risk::of(&mc.records);
        let from = r.replications;
        let to = match risk::replications_to_prove(r.breaches, mc.max_breach_probability) {
            Some(to) if to <= confirm.max_replications && to > from => to,
            _ => return (verdict, added),
        };
        batch_start(attempt, &e.config.name, from, to);
        added += extend(&e.config, mc, to, evaluate, tick);
    }
}

/// Runs replications `len..to` of `config` (in parallel, kept in replication order) and adds
/// them to `mc`'s records; returns how many it added (none when `mc` already has `to`).
pub fn extend(
    config: &Config,
    mc: &mut MonteCarlo,
    to: u32,
    evaluate: &(dyn Fn(&Config, u32) -> Record + Sync),
    tick: &(dyn Fn() + Sync),
) -> u64 {
    let from = u32::try_from(mc.records.len()).unwrap_or(u32::MAX);
    let batch: Vec<Record> = (from..to.max(from))
        .into_par_iter()
        .map(|r| {
            let rec = evaluate(config, r);
            tick();
            rec
        })
        .collect();
    let added = batch.len() as u64;
    mc.records.extend(batch);
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_budget() {
        // One breach still proves 5 % at 110 replications (none: at 73).
        let c = Confirm::new(3, 0.05);
        assert_eq!(
            c,
            Confirm {
                feasible: 3,
                max_replications: 110,
                max_tries: 6,
            }
        );
        assert_eq!(c.max_cost(), 660);
        assert!(c.enabled() && !Confirm::OFF.enabled() && !Confirm::new(0, 0.05).enabled());
        assert_eq!(default_max_replications(0.0), 0);
        assert!(default_max_replications(0.01) > default_max_replications(0.05));
    }
}
