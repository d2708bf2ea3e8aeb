//! The search: expand the candidate space, simulate every candidate in parallel, rank.

pub mod pools;
pub mod rank;
pub mod space;

use rayon::prelude::*;

use crate::eval::{evaluate, Evaluation};
use crate::model::config::Config;
use crate::model::scenario::Scenario;
use crate::sim::engine::{simulate_with, Options, RunResult};

/// One simulated and evaluated configuration.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The configuration.
    pub config: Config,
    /// Its evaluation.
    pub evaluation: Evaluation,
}

/// The space's candidates: the grid applied to the baseline, each with every pool size the
/// space lists.
pub fn candidates(sc: &crate::model::scenario::Scenario) -> Vec<crate::model::config::Config> {
    pools::with_pool_sizes(sc, &sc.space, space::expand(&sc.space, &sc.baseline))
}

/// The configurations the scenario's placement rules admit (the searched workload on the pool
/// its memory request requires), and how many were left out.
pub fn admissible(scenario: &Scenario, configs: Vec<Config>) -> (Vec<Config>, usize) {
    let before = configs.len();
    let kept: Vec<Config> = configs
        .into_iter()
        .filter(|c| {
            c.workloads
                .values()
                .all(|w| crate::model::validate::check_placement(scenario, w).is_ok())
        })
        .collect();
    let skipped = before - kept.len();
    (kept, skipped)
}

/// Simulates and evaluates one configuration.
pub fn run_one(scenario: &Scenario, config: &Config, seed: u64) -> (RunResult, Evaluation) {
    run_one_with(scenario, config, seed, &Options::default())
}

/// [`run_one`] with run `options` (the load model).
pub fn run_one_with(
    scenario: &Scenario,
    config: &Config,
    seed: u64,
    options: &Options,
) -> (RunResult, Evaluation) {
    let run = simulate_with(scenario, config, seed, options);
    let evaluation = evaluate(scenario, config, &run);
    (run, evaluation)
}

/// Simulates every configuration in parallel (rayon); results keep the input order, so the
/// output does not depend on the thread count. `progress` is called once per finished
/// candidate.
pub fn evaluate_all(
    scenario: &Scenario,
    configs: Vec<Config>,
    seed: u64,
    progress: &(dyn Fn() + Sync),
) -> Vec<Evaluated> {
    evaluate_all_with(scenario, configs, seed, &Options::default(), progress)
}

/// [`evaluate_all`] with run `options` (the load model).
pub fn evaluate_all_with(
    scenario: &Scenario,
    configs: Vec<Config>,
    seed: u64,
    options: &Options,
    progress: &(dyn Fn() + Sync),
) -> Vec<Evaluated> {
    configs
        .into_par_iter()
        .map(|config| {
            let (_, evaluation) = run_one_with(scenario, &config, seed, options);
            progress();
            Evaluated { config, evaluation }
        })
        .collect()
}
