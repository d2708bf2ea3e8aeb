//! Successive halving on replications (DESIGN.md §8): every live candidate runs the stage's
//! replications (the same streams 0, 1, … for all: common random numbers), candidates whose
//! breach probability's lower bound already exceeds the risk budget are dropped, the best
//! `1/eta` of the rest go on to twice the replications, until the last stage runs all of
//! them. The selection is a function of the replication records alone, so a merge of shard
//! outputs that hold every record replays it exactly ([`run`] with stored records).

use rayon::prelude::*;

use crate::eval::Evaluation;
use crate::model::config::Config;
use crate::search::risk::{Record, Verdict};
use crate::search::{rank, Evaluated, MonteCarlo};

/// How a Monte Carlo search spends its replications.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    /// Replications of a candidate that survives every stage.
    pub replications: u32,
    /// Replications of the first stage (doubled per stage).
    pub first_stage: u32,
    /// Keep `1/eta` of the candidates per stage (1: no halving, only early elimination).
    pub eta: u32,
    /// The risk budget feasibility is decided on.
    pub max_breach_probability: f64,
}

impl Plan {
    /// Replications per stage, cumulative: `first_stage`, doubled, …, `replications`.
    pub fn stages(&self) -> Vec<u32> {
        let r = self.replications.max(1);
        let mut n = self.first_stage.clamp(1, r);
        let mut out = vec![n];
        while n < r {
            n = (n * 2).min(r);
            out.push(n);
        }
        out
    }
}

/// The outcome of one replication: its record, and the whole evaluation for replication 0.
pub type Outcome = (Record, Option<Evaluation>);

/// Runs `plan` over `configs`. `evaluate(i, r)` runs replication `r` of candidate `i` (it is
/// called from rayon threads; results are put in candidate and replication order, so the
/// outcome does not depend on the thread count). `stage_start(stage, replications, live,
/// tasks)` is called before each stage (0-based) with its cumulative replications, the
/// candidates it runs and the replications it adds; `tick()` after each replication.
pub fn run(
    configs: Vec<Config>,
    plan: &Plan,
    evaluate: &(dyn Fn(usize, u32) -> Outcome + Sync),
    stage_start: &mut dyn FnMut(usize, u32, usize, usize),
    tick: &(dyn Fn() + Sync),
) -> Vec<Evaluated> {
    let count = configs.len();
    let mut records: Vec<Vec<Record>> = vec![Vec::new(); count];
    let mut details: Vec<Option<Evaluation>> = vec![None; count];
    let mut live: Vec<usize> = (0..count).collect();
    let stages = plan.stages();
    for (s, &n) in stages.iter().enumerate() {
        let tasks: Vec<(usize, u32)> = live
            .iter()
            .flat_map(|&i| (records[i].len() as u32..n).map(move |r| (i, r)))
            .collect();
        stage_start(s, n, live.len(), tasks.len());
        let results: Vec<((usize, u32), Outcome)> = tasks
            .into_par_iter()
            .map(|(i, r)| {
                let out = evaluate(i, r);
                tick();
                ((i, r), out)
            })
            .collect();
        for ((i, r), (rec, ev)) in results {
            debug_assert_eq!(records[i].len() as u32, r);
            records[i].push(rec);
            if r == 0 {
                details[i] = ev;
            }
        }
        if s + 1 == stages.len() {
            break;
        }
        let mut alive: Vec<(usize, Evaluated)> = live
            .iter()
            .filter_map(|&i| {
                details[i]
                    .as_ref()
                    .map(|d| (i, candidate(&configs[i], d, &records[i], plan)))
            })
            .filter(|(_, e)| e.verdict() != Verdict::Infeasible)
            .collect();
        alive.sort_by(|a, b| rank::compare(&a.1, &b.1));
        alive.truncate(alive.len().div_ceil(plan.eta.max(1) as usize));
        live = alive.into_iter().map(|(i, _)| i).collect();
        live.sort_unstable();
    }
    configs
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            details[i]
                .as_ref()
                .map(|d| candidate(c, d, &records[i], plan))
        })
        .collect()
}

fn candidate(config: &Config, detail: &Evaluation, records: &[Record], plan: &Plan) -> Evaluated {
    Evaluated {
        config: config.clone(),
        evaluation: detail.clone(),
        monte_carlo: Some(MonteCarlo {
            records: records.to_vec(),
            max_breach_probability: plan.max_breach_probability,
        }),
        pareto: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_double_up_to_the_replications() {
        let p = |r, f| Plan {
            replications: r,
            first_stage: f,
            eta: 2,
            max_breach_probability: 0.05,
        };
        assert_eq!(p(16, 2).stages(), vec![2, 4, 8, 16]);
        assert_eq!(p(10, 2).stages(), vec![2, 4, 8, 10]);
        assert_eq!(p(1, 4).stages(), vec![1]);
        assert_eq!(p(8, 8).stages(), vec![8]);
    }
}
