//! The search: expand the candidate space, simulate every candidate in parallel (successive
//! halving on Monte Carlo replications), confirm the best, rank.

pub mod confirm;
pub mod halving;
pub mod pools;
pub mod rank;
pub mod risk;
pub mod shard;
pub mod space;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::eval::{evaluate, Evaluation};
use crate::model::config::Config;
use crate::model::scenario::Scenario;
use crate::sim::engine::{simulate_with, Options, RunResult};

/// One simulated and evaluated configuration.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The configuration.
    pub config: Config,
    /// Its evaluation: the recorded replay's, or Monte Carlo replication 0's.
    pub evaluation: Evaluation,
    /// Its Monte Carlo replications, when it was run on replications.
    pub monte_carlo: Option<MonteCarlo>,
    /// On the Pareto front over (monthly cost, breach probability, band distance).
    pub pareto: bool,
}

/// The Monte Carlo replications of one candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct MonteCarlo {
    /// One record per replication run, in replication order (0, 1, …).
    pub records: Vec<risk::Record>,
    /// The risk budget feasibility is decided on.
    pub max_breach_probability: f64,
}

impl Evaluated {
    /// A candidate evaluated on the recorded replay only.
    pub fn replay(config: Config, evaluation: Evaluation) -> Evaluated {
        Evaluated {
            config,
            evaluation,
            monte_carlo: None,
            pareto: false,
        }
    }

    /// Its SLA risk over its replications (`None` for a recorded replay).
    pub fn risk(&self) -> Option<risk::Risk> {
        self.monte_carlo
            .as_ref()
            .map(|m| risk::Risk::of(&m.records))
    }

    /// Whether it meets the SLA within the risk budget ([`risk::verdict`]).
    pub fn verdict(&self) -> risk::Verdict {
        let budget = self
            .monte_carlo
            .as_ref()
            .map_or(risk::DEFAULT_MAX_BREACH_PROBABILITY, |m| {
                m.max_breach_probability
            });
        risk::verdict(&self.evaluation, self.risk().as_ref(), budget)
    }

    /// Whether it is feasible ([`Evaluated::verdict`] is [`risk::Verdict::Feasible`]).
    pub fn feasible(&self) -> bool {
        self.verdict() == risk::Verdict::Feasible
    }

    /// Mean monthly cost over its replications (the replay's cost without them).
    pub fn monthly_cost(&self) -> f64 {
        self.risk()
            .map_or(self.evaluation.cost.monthly, |r| r.monthly_cost)
    }

    /// Mean band distance over its replications (the replay's without them).
    pub fn band_distance(&self) -> f64 {
        self.risk()
            .map_or(self.evaluation.band_distance, |r| r.band_distance)
    }

    /// Breach probability (0 or 1 for a recorded replay).
    pub fn breach_probability(&self) -> f64 {
        self.risk().map_or(
            if self.evaluation.sla.breached {
                1.0
            } else {
                0.0
            },
            |r| r.breach_probability,
        )
    }
}

/// Whether the scenario admits `config`: every workload's pods pass the namespace LimitRange
/// and run on the pool the placement rules give their memory request.
pub fn admits(scenario: &Scenario, config: &Config) -> bool {
    config.workloads.values().all(|w| {
        scenario.refuses(w).is_none()
            && crate::model::validate::check_placement(scenario, w).is_ok()
    })
}

/// Most candidates a search runs (a grid's points times its pool settings, or `--sample`'s
/// N): a candidate's configuration takes about 10 KB before any simulation (1 GB at this
/// cap), and one replication of each a few CPU-seconds to a minute.
pub const MAX_CANDIDATES: usize = 100_000;

/// The most candidates the space's grid gives ([`space::grid_size`] times
/// [`pools::combinations`]), before any is left out; `None` beyond a `usize`.
pub fn grid_candidates_bound(scenario: &Scenario) -> Option<usize> {
    space::grid_size(&scenario.space)?.checked_mul(pools::combinations(&scenario.space)?)
}

/// Refuses, before anything is expanded, a grid search (`--sample grid`) of a space that can
/// give more than [`MAX_CANDIDATES`] candidates, naming the space file.
pub fn check_grid_search(scenario: &Scenario) -> Result<()> {
    let bound = grid_candidates_bound(scenario);
    if bound.is_some_and(|n| n <= MAX_CANDIDATES) {
        return Ok(());
    }
    let points = space::grid_size(&scenario.space).unwrap_or(usize::MAX);
    let settings = pools::combinations(&scenario.space).unwrap_or(usize::MAX);
    let with_pools = if settings > 1 {
        format!(" with {settings} pool settings each")
    } else {
        String::new()
    };
    Err(Error::at_field(
        &scenario.space_file,
        "grid",
        format!(
            "its {points} points ({}){with_pools} give up to {} candidates, more than the \
             {MAX_CANDIDATES} a search runs; sample the space (`--sample random:N` or \
             `--sample lhs:N`, N at most {MAX_CANDIDATES}) or shorten its lists",
            space::grid_shape(&scenario.space),
            bound.map_or("more than 2^64".to_string(), |n| n.to_string()),
        ),
    ))
}

/// Turns the space's points into the search's candidates one point at a time: each with the
/// space's pool settings ([`pools::with_pool_sizes`]), those the scenario admits ([`admits`]),
/// each once (a space can spell one setting twice: a `1.5x` CPU limit of a 200m request is the
/// `300m` limit), counting what it leaves out. It keeps only what tells repeats apart, so a
/// grid is counted without being expanded.
pub struct Candidates<'a> {
    scenario: &'a Scenario,
    seen: std::collections::HashSet<String>,
    /// What it left out so far.
    pub left_out: LeftOut,
}

/// The candidates of a space's points that the search leaves out, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeftOut {
    /// Combinations of pool settings whose `min_size` is above their size (pymongo refuses
    /// `minPoolSize` above `maxPoolSize`).
    pub pool_min_above_size: usize,
    /// Configurations the scenario does not admit ([`admits`]).
    pub not_admitted: usize,
    /// The same configuration as an earlier one.
    pub repeats: usize,
}

impl<'a> Candidates<'a> {
    /// No point seen yet.
    pub fn new(scenario: &'a Scenario) -> Self {
        Candidates {
            scenario,
            seen: std::collections::HashSet::new(),
            left_out: LeftOut::default(),
        }
    }

    /// The candidates the grid point `point` gives that no earlier point gave.
    pub fn of(&mut self, point: Config) -> Vec<Config> {
        let sc = self.scenario;
        let mut out = Vec::new();
        let (configs, min_above_size) = pools::with_pool_sizes(sc, &sc.space, vec![point]);
        self.left_out.pool_min_above_size += min_above_size;
        for c in configs {
            if !admits(sc, &c) {
                self.left_out.not_admitted += 1;
            } else if self
                .seen
                .insert(serde_json::to_string(&c.workloads).unwrap_or_default())
            {
                out.push(c);
            } else {
                self.left_out.repeats += 1;
            }
        }
        out
    }
}

/// The search's candidates from the expanded or sampled points `configs` of the scenario's
/// space ([`Candidates`]), and what it left out.
pub fn space_candidates(scenario: &Scenario, configs: Vec<Config>) -> (Vec<Config>, LeftOut) {
    let mut candidates = Candidates::new(scenario);
    let kept = configs.into_iter().flat_map(|c| candidates.of(c)).collect();
    (kept, candidates.left_out)
}

/// How many candidates a grid search of the scenario's space runs, counted point by point
/// ([`Candidates`]) without expanding the grid; `None` when it is too large for a grid search
/// ([`check_grid_search`]).
pub fn count_grid_candidates(scenario: &Scenario) -> Option<usize> {
    check_grid_search(scenario).ok()?;
    let mut candidates = Candidates::new(scenario);
    Some(
        space::points(&scenario.space, &scenario.baseline)
            .map(|c| candidates.of(c).len())
            .sum(),
    )
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
            Evaluated::replay(config, evaluation)
        })
        .collect()
}

/// Runs replication `r` of `config` (stream `r`, arrivals varied as `options.variation`
/// says): its record, and its whole evaluation when `r` is 0.
pub fn replicate(
    scenario: &Scenario,
    config: &Config,
    seed: u64,
    options: &Options,
    r: u32,
) -> halving::Outcome {
    let o = Options {
        replication: u64::from(r),
        skip_timeline: true,
        ..options.clone()
    };
    let (_, evaluation) = run_one_with(scenario, config, seed, &o);
    (
        risk::Record::of(&evaluation, &scenario.sla),
        (r == 0).then_some(evaluation),
    )
}

/// Gives `baseline` the replications `reference` ran beyond its own, on the same streams
/// ([`replicate`]), so that the two are compared paired on common random numbers: after the
/// confirmation stage rank 1 may have run many more replications than halving gave the
/// baseline, and a saving between means over different replications is partly noise.
/// Returns how many replications it added.
pub fn pair_replications(
    scenario: &Scenario,
    baseline: &mut Evaluated,
    reference: &Evaluated,
    seed: u64,
    options: &Options,
    tick: &(dyn Fn() + Sync),
) -> u64 {
    let (Some(mc), Some(to)) = (
        baseline.monte_carlo.as_mut(),
        reference.monte_carlo.as_ref(),
    ) else {
        return 0;
    };
    let to = u32::try_from(to.records.len()).unwrap_or(u32::MAX);
    let evaluate = |config: &Config, r: u32| replicate(scenario, config, seed, options, r).0;
    confirm::extend(&baseline.config, mc, to, &evaluate, tick)
}

/// The Monte Carlo search of `configs` under `plan` ([`halving::run`] on simulated
/// replications).
pub fn monte_carlo(
    scenario: &Scenario,
    configs: Vec<Config>,
    seed: u64,
    options: &Options,
    plan: &halving::Plan,
    stage_start: &mut dyn FnMut(usize, u32, usize, usize),
    tick: &(dyn Fn() + Sync),
) -> Vec<Evaluated> {
    let shared = configs.clone();
    let evaluate = |i: usize, r: u32| replicate(scenario, &shared[i], seed, options, r);
    halving::run(configs, plan, &evaluate, stage_start, tick)
}

/// The confirmation stage ([`confirm::run`]) on simulated replications: `candidates` given
/// more replications of the same streams (`seed`, `options`) as [`replicate`] runs them,
/// ranked.
pub fn confirm(
    scenario: &Scenario,
    candidates: Vec<Evaluated>,
    seed: u64,
    options: &Options,
    settings: &confirm::Confirm,
    batch_start: &mut dyn FnMut(u32, &str, u32, u32),
    tick: &(dyn Fn() + Sync),
) -> (Vec<Evaluated>, confirm::Summary) {
    let evaluate = |config: &Config, r: u32| replicate(scenario, config, seed, options, r).0;
    confirm::run(candidates, settings, &evaluate, batch_start, tick)
}
