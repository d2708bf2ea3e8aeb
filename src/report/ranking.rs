//! The parts of a search's `ranking.json` the report, `emit` and `diff` read. Fields other
//! builders add (breach probabilities, Pareto flags, client pools) are optional.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::config::Config;
use crate::search::risk::CostDifference;

/// A search result as `search --out` writes it.
#[derive(Debug, Clone, Deserialize)]
pub struct Ranking {
    /// Scenario name.
    pub scenario: String,
    /// [`crate::model::scenario::Scenario::model_digest`] of the scenario the search ran on
    /// (absent in files written before it was recorded).
    #[serde(default)]
    pub model_digest: Option<String>,
    /// Seed of the run.
    pub seed: u64,
    /// Simulated hours.
    pub horizon_hours: f64,
    /// Currency of all costs.
    pub currency: String,
    /// Date of the price list.
    pub prices_as_of: String,
    /// Scenario notes.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Candidates evaluated.
    pub evaluated: usize,
    /// Candidates that met the SLA.
    pub feasible: usize,
    /// The current configuration (rank 0).
    pub baseline: Candidate,
    /// The candidates, best first.
    pub candidates: Vec<Candidate>,
}

/// One evaluated configuration.
#[derive(Debug, Clone, Deserialize)]
pub struct Candidate {
    /// Rank (0 = baseline).
    pub rank: usize,
    /// Config name.
    pub name: String,
    /// The configuration.
    pub config: Config,
    /// Costs.
    pub cost: Cost,
    /// Usage over requests.
    pub efficiency: Efficiency,
    /// Mean distance of CPU and memory efficiency from the 60–80 % band (replication 0's
    /// when the search ran replications).
    pub band_distance: f64,
    /// The band distance, mean over the replications (what the search ranks by).
    #[serde(default)]
    pub band_distance_mean: Option<f64>,
    /// SLA windows (and, when the search ran replications, the breach probability).
    pub sla: Value,
    /// Per-workload control-plane activity.
    #[serde(default)]
    pub activity: Vec<Value>,
    /// Per downstream server: the connection budget at maxReplicas against the server's
    /// limit, and the connections used (when the config has client pools).
    #[serde(default)]
    pub connections: Vec<Value>,
    /// Per service with an availability floor: the floor against the fewest replicas the
    /// config may run.
    #[serde(default)]
    pub availability: Vec<Value>,
    /// Whether it met the SLA (and the connection limits and availability floors).
    pub feasible: bool,
    /// The search's verdict with replications: `feasible`, `undecided` or `infeasible`.
    #[serde(default)]
    pub verdict: Option<String>,
    /// On the Pareto front over (cost, breach probability, band distance), when the search
    /// marks it.
    #[serde(default)]
    pub pareto: Option<bool>,
    /// Why it is infeasible whatever the replications say (a connection budget over a
    /// server's limit, a service below its availability floor).
    #[serde(default)]
    pub static_reasons: Vec<String>,
}

impl Candidate {
    /// The workloads the config may run on fewer replicas than the scenario's availability
    /// floor, as `` `name` (fewest N, floor F) ``.
    pub fn below_floor(&self) -> Vec<String> {
        self.availability
            .iter()
            .filter(|a| a.get("holds").and_then(Value::as_bool) == Some(false))
            .map(|a| {
                let n = |k: &str| a.get(k).and_then(Value::as_u64).unwrap_or(0);
                format!(
                    "`{}` (fewest {}, floor {})",
                    a.get("workload").and_then(Value::as_str).unwrap_or("?"),
                    n("fewest"),
                    n("floor")
                )
            })
            .collect()
    }

    /// The monthly cost the search ranked by: the mean over the replications when it ran
    /// them, the replay's otherwise.
    pub fn monthly(&self) -> f64 {
        self.cost.monthly_mean.unwrap_or(self.cost.monthly)
    }

    /// The band distance the search ranked by: the mean over the replications when it ran
    /// them, the replay's otherwise.
    pub fn band(&self) -> f64 {
        self.band_distance_mean.unwrap_or(self.band_distance)
    }

    /// The verdict in words: `yes`, `undecided` (the JSON's word) (replications too few to bound the breach
    /// probability within the budget) or `**no**`.
    pub fn feasibility_word(&self) -> &'static str {
        match (self.feasible, self.verdict.as_deref()) {
            (true, _) => "yes",
            (false, Some("undecided")) => "undecided",
            (false, _) => "**no**",
        }
    }
}

/// Costs of one candidate.
#[derive(Debug, Clone, Deserialize)]
pub struct Cost {
    /// Projected per month (replication 0's when the search ran replications).
    pub monthly: f64,
    /// Projected per month, mean over the replications (what the search ranks by).
    #[serde(default)]
    pub monthly_mean: Option<f64>,
    /// Its difference from the baseline's, paired over the replications both ran.
    #[serde(default)]
    pub vs_baseline: Option<CostDifference>,
    /// Its difference from rank 1's, paired over the replications both ran.
    #[serde(default)]
    pub vs_rank1: Option<CostDifference>,
    /// Over the simulated horizon.
    pub horizon: f64,
    /// Node cost over the horizon.
    pub nodes: f64,
    /// Management fee over the horizon.
    pub management_fee: f64,
    /// Node cost not allocated to any workload over the horizon.
    pub idle: f64,
    /// Per pool.
    pub pools: Vec<PoolCost>,
    /// Per workload (allocated, over the horizon).
    pub workloads: Vec<WorkloadCost>,
}

/// Cost of one pool over the horizon.
#[derive(Debug, Clone, Deserialize)]
pub struct PoolCost {
    /// Pool name.
    pub pool: String,
    /// Node-hours.
    pub node_hours: f64,
    /// Cost.
    pub horizon: f64,
    /// Most nodes at once.
    pub peak_nodes: u64,
}

/// Cost allocated to one workload over the horizon.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkloadCost {
    /// Workload.
    pub workload: String,
    /// Cost.
    pub horizon: f64,
}

/// Usage over requests.
#[derive(Debug, Clone, Deserialize)]
pub struct Efficiency {
    /// CPU, request-weighted over workloads.
    pub cpu: f64,
    /// Memory, request-weighted over workloads.
    pub memory: f64,
    /// Per workload.
    pub workloads: Vec<WorkloadEfficiency>,
    /// Per pool (requested and used over allocatable).
    #[serde(default)]
    pub pools: Vec<PoolEfficiency>,
}

/// One workload's time-weighted usage over request.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkloadEfficiency {
    /// Workload.
    pub workload: String,
    /// CPU usage / request.
    pub cpu: Option<f64>,
    /// Memory usage / request.
    pub memory: Option<f64>,
}

/// One pool's requested and used shares of allocatable, as the evaluation writes them.
pub use crate::eval::efficiency::PoolEfficiency;

/// A breach probability with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreachProbability {
    /// Estimate.
    pub p: f64,
    /// Interval low.
    pub low: f64,
    /// Interval high.
    pub high: f64,
    /// Replications it rests on, if given.
    pub replications: Option<u64>,
}

impl Candidate {
    /// Breached windows and windows.
    pub fn windows(&self) -> (u64, u64) {
        let n = |k: &str| self.sla.get(k).and_then(Value::as_u64).unwrap_or(0);
        (n("breached_windows"), n("windows"))
    }

    /// `sla.breach_probability` with `ci_low` / `ci_high` (inside it or beside it), when the
    /// search estimated it.
    pub fn breach_probability(&self) -> Option<BreachProbability> {
        let b = self.sla.get("breach_probability")?;
        let num = |v: &Value, keys: &[&str]| keys.iter().find_map(|k| v.get(*k)?.as_f64());
        let p = b
            .as_f64()
            .or_else(|| num(b, &["estimate", "p", "value", "mean"]))?;
        let low = num(b, &["ci_low", "low"]).or_else(|| num(&self.sla, &["ci_low"]))?;
        let high = num(b, &["ci_high", "high"]).or_else(|| num(&self.sla, &["ci_high"]))?;
        let replications = b
            .get("replications")
            .or_else(|| self.sla.get("replications"))
            .and_then(Value::as_u64);
        Some(BreachProbability {
            p,
            low,
            high,
            replications,
        })
    }

    /// Its monthly cost's difference from the baseline's paired over the replications both
    /// ran, and whether that is every replication of both (then its mean is the difference
    /// of the two means the outputs show, and says nothing new).
    pub fn paired_saving(&self, baseline: &Candidate) -> Option<(CostDifference, bool)> {
        let d = self.cost.vs_baseline?;
        let whole = [self.replications(), baseline.replications()]
            .iter()
            .all(|n| *n == Some(u64::from(d.replications)));
        Some((d, whole))
    }

    /// The replications the search ran it on (`None` for a recorded replay).
    pub fn replications(&self) -> Option<u64> {
        self.breach_probability().and_then(|b| b.replications)
    }

    /// The activity entry of `workload`.
    pub fn activity_of(&self, workload: &str) -> Option<&Value> {
        self.activity
            .iter()
            .find(|a| a.get("workload").and_then(Value::as_str) == Some(workload))
    }

    /// The efficiency entry of `workload`.
    pub fn efficiency_of(&self, workload: &str) -> Option<&WorkloadEfficiency> {
        self.efficiency
            .workloads
            .iter()
            .find(|w| w.workload == workload)
    }
}

impl Ranking {
    /// Parses `ranking.json` text; `file` names it in errors.
    ///
    /// Besides the shape, the numbers are checked for what a search cannot write (see
    /// [`Ranking::check_numbers`]), so a hand-edited file is bad input naming the JSON path,
    /// not a document or diff with a negative cost or a breach probability of 200 %.
    pub fn parse(text: &str, file: &str) -> Result<Ranking> {
        let text = crate::ingest::without_bom(text);
        let mut de = serde_json::Deserializer::from_str(text);
        let r: Ranking = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            Error::json(file, Some(&path), "", e.inner())
        })?;
        let raw: Value = serde_json::from_str(text).map_err(|e| Error::json(file, None, "", &e))?;
        r.check_numbers(&raw, file)?;
        Ok(r)
    }

    /// The baseline and the candidates, each with its JSON path (`baseline`,
    /// `candidates[i]`).
    pub fn entries(&self) -> impl Iterator<Item = (String, &Candidate)> {
        std::iter::once(("baseline".to_string(), &self.baseline)).chain(
            self.candidates
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("candidates[{i}]"), c)),
        )
    }

    /// Checks the numbers of a parsed ranking (`raw` is the same file as a JSON value) against
    /// what `search --out` writes: a positive `horizon_hours`; at least one candidate, ranked
    /// `1, 2, …` in order (the baseline 0); `evaluated` counting them, `feasible` at most that; no
    /// negative number outside the configs (costs, node-hours, usage, windows, counts);
    /// probabilities and fractions within `[0, 1]`, a breach probability inside its interval;
    /// no more breached windows or breaching replications than windows or replications.
    /// The configs get [`crate::model::validate::check_config`] instead.
    pub fn check_numbers(&self, raw: &Value, file: &str) -> Result<()> {
        let bad = |field: String, message: String| Err(Error::at_field(file, field, message));
        if !(self.horizon_hours.is_finite() && self.horizon_hours > 0.0) {
            return bad(
                "horizon_hours".into(),
                format!(
                    "{} is not a simulated span: expected a positive number of hours, as the \
                     search writes it",
                    self.horizon_hours
                ),
            );
        }
        if self.candidates.is_empty() {
            return bad(
                "candidates".into(),
                "empty: a search writes every candidate it evaluated; expected at least one \
                 (rerun the search)"
                    .into(),
            );
        }
        if self.evaluated != self.candidates.len() {
            return bad(
                "evaluated".into(),
                format!(
                    "{} candidates evaluated, but `candidates` lists {}; expected the count of \
                     the candidates listed",
                    self.evaluated,
                    self.candidates.len()
                ),
            );
        }
        if self.feasible > self.evaluated {
            return bad(
                "feasible".into(),
                format!(
                    "{} feasible of {} evaluated: expected at most {}",
                    self.feasible, self.evaluated, self.evaluated
                ),
            );
        }
        if self.baseline.rank != 0 {
            return bad(
                "baseline.rank".into(),
                format!("{}: the baseline has rank 0", self.baseline.rank),
            );
        }
        if let Some((i, c)) = self
            .candidates
            .iter()
            .enumerate()
            .find(|(i, c)| c.rank != i + 1)
        {
            return bad(
                format!("candidates[{i}].rank"),
                format!(
                    "{}: the candidates are listed best first, so entry {i} has rank {}",
                    c.rank,
                    i + 1
                ),
            );
        }
        let entries = std::iter::once(("baseline".to_string(), raw.get("baseline"))).chain(
            (0..self.candidates.len()).map(|i| {
                (
                    format!("candidates[{i}]"),
                    raw.get("candidates").and_then(|c| c.get(i)),
                )
            }),
        );
        for (path, v) in entries {
            let Some(v) = v else { continue };
            check_candidate_numbers(v, &path).map_err(|(f, m)| Error::at_field(file, f, m))?;
        }
        for (path, c) in self.entries() {
            // The interval is written rounded to 6 decimals, the estimate exactly.
            if let Some(b) = c.breach_probability() {
                if !(b.low <= b.p + 1e-6 && b.p <= b.high + 1e-6) {
                    return bad(
                        format!("{path}.sla.breach_probability"),
                        format!(
                            "{} lies outside its 95 % interval [{}, {}]; expected ci_low ≤ \
                             breach_probability ≤ ci_high, as the search writes them",
                            b.p, b.low, b.high
                        ),
                    );
                }
            }
        }
        self.check_pairings(raw)
            .map_err(|(f, m)| Error::at_field(file, f, m))
    }

    /// Checks each paired cost difference (`cost.vs_rank1`, `cost.vs_baseline`) against the
    /// two entries it pairs: null for an entry against itself; over exactly the replications
    /// both ran (the fewer of their `sla.replications`), null only when that is below 2; over
    /// every replication of both, the difference of their monthly costs; the baseline's
    /// against rank 1 the negation of rank 1's against the baseline. A key left out (a file
    /// written before the differences were) is not checked.
    fn check_pairings(&self, raw: &Value) -> std::result::Result<(), (String, String)> {
        let rank1 = &self.candidates[0];
        let raw_entries = std::iter::once(raw.get("baseline"))
            .chain((0..self.candidates.len()).map(|i| raw.get("candidates")?.get(i)));
        for (((path, c), v), index) in self.entries().zip(raw_entries).zip(0usize..) {
            let cost = v.and_then(|v| v.get("cost"));
            // (key, its value, the entry it pairs with, its name, whether that is this entry)
            let pairs = [
                ("vs_rank1", c.cost.vs_rank1, rank1, "rank 1", index == 1),
                (
                    "vs_baseline",
                    c.cost.vs_baseline,
                    &self.baseline,
                    "the baseline",
                    index == 0,
                ),
            ];
            for (key, d, other, name, itself) in pairs {
                if cost.and_then(|c| c.get(key)).is_none() {
                    continue;
                }
                let field = format!("{path}.cost.{key}");
                if itself {
                    if d.is_some() {
                        return Err((field, "a difference from itself; expected null".to_string()));
                    }
                    continue;
                }
                let (Some(a), Some(b)) = (c.replications(), other.replications()) else {
                    continue;
                };
                let shared = a.min(b);
                let Some(d) = d else {
                    if shared >= 2 {
                        return Err((
                            field,
                            format!(
                                "null, but it shares {shared} replications with {name} (it ran \
                                 {a}, {name} {b}); expected their paired difference, as the \
                                 search writes it"
                            ),
                        ));
                    }
                    continue;
                };
                if u64::from(d.replications) != shared {
                    return Err((
                        format!("{field}.replications"),
                        format!(
                            "{}, but it ran {a} replications and {name} {b}; expected the {shared} \
                             both ran",
                            d.replications
                        ),
                    ));
                }
                let apart = c.monthly() - other.monthly();
                if a == b && (d.mean - apart).abs() > 0.011 {
                    return Err((
                        format!("{field}.mean"),
                        format!(
                            "{}, but over every replication of both the paired difference is \
                             the difference of their monthly costs, {}; expected that",
                            super::short_number(d.mean),
                            super::short_number(apart)
                        ),
                    ));
                }
            }
        }
        // The baseline's difference from rank 1 and rank 1's from the baseline.
        if let (Some(b), Some(r)) = (self.baseline.cost.vs_rank1, rank1.cost.vs_baseline) {
            let negated = (b.mean + r.mean).abs() <= 0.011
                && (b.ci_low + r.ci_high).abs() <= 0.011
                && (b.ci_high + r.ci_low).abs() <= 0.011;
            if !negated || b.replications != r.replications {
                return Err((
                    "baseline.cost.vs_rank1".into(),
                    format!(
                        "{} [{}, {}] over {}, but candidates[0].cost.vs_baseline is {} [{}, {}] \
                         over {}; expected its negation over the same replications",
                        super::short_number(b.mean),
                        super::short_number(b.ci_low),
                        super::short_number(b.ci_high),
                        b.replications,
                        super::short_number(r.mean),
                        super::short_number(r.ci_low),
                        super::short_number(r.ci_high),
                        r.replications
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The candidate of `rank` (1 = best).
    pub fn rank(&self, rank: usize, file: &str) -> Result<&Candidate> {
        rank.checked_sub(1)
            .and_then(|i| self.candidates.get(i))
            .ok_or_else(|| {
                Error::input(
                    "<command line>",
                    Some("--rank".into()),
                    format!("{file} has ranks 1..{}; got {rank}", self.candidates.len()),
                )
            })
    }
}

/// Keys whose numbers are probabilities or fractions, within `[0, 1]`.
const FRACTION_KEYS: &[&str] = &[
    "breach_probability",
    "ci_low",
    "ci_high",
    "breached_fraction",
    "expected_failed_window_fraction",
    "max_breach_probability",
    "error_rate",
    "worst_error_rate",
    "worst_window_error_rate",
    "throttled_period_ratio",
];

/// Keys of `cost` holding a paired cost difference ([`CostDifference`]): signed numbers.
const DIFFERENCE_KEYS: &[&str] = &["vs_rank1", "vs_baseline"];

/// Checks a paired cost difference at `path`: its fields are there, finite, the mean within
/// its interval and the replications a whole number of at least 2 (what a search writes).
fn check_difference(v: &Value, path: &str) -> std::result::Result<(), (String, String)> {
    if v.is_null() {
        return Ok(());
    }
    let d: CostDifference = serde_json::from_value(v.clone()).map_err(|e| {
        (
            path.to_string(),
            format!("{e}; expected {{replications, mean, ci_low, ci_high}}"),
        )
    })?;
    let finite = [d.mean, d.ci_low, d.ci_high].iter().all(|x| x.is_finite());
    if !finite || d.replications < 2 || !(d.ci_low <= d.mean && d.mean <= d.ci_high) {
        return Err((
            path.to_string(),
            format!(
                "mean {} in [{}, {}] over {} replications: expected finite numbers, the mean \
                 within its interval, over at least 2 replications",
                super::short_number(d.mean),
                super::short_number(d.ci_low),
                super::short_number(d.ci_high),
                d.replications
            ),
        ));
    }
    Ok(())
}

/// Checks one candidate entry of ranking.json (`path` names it): every number outside its
/// `config` non-negative (but the signed cost differences, checked on their own), fractions
/// within `[0, 1]`
/// and the counts of breaches within their totals. Returns the bad field's path and why.
fn check_candidate_numbers(v: &Value, path: &str) -> std::result::Result<(), (String, String)> {
    fn walk(v: &Value, path: &str, key: &str) -> std::result::Result<(), (String, String)> {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    // The candidate's config (`key` is empty at the top) has its own checks.
                    if key.is_empty() && k == "config" {
                        continue;
                    }
                    if key == "cost" && DIFFERENCE_KEYS.contains(&k.as_str()) {
                        check_difference(x, &format!("{path}.{k}"))?;
                        continue;
                    }
                    walk(x, &format!("{path}.{k}"), k)?;
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{path}[{i}]"), key)?;
                }
            }
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if x.is_nan() || x < 0.0 {
                    return Err((
                        path.to_string(),
                        format!("{n} is negative: a search writes no negative cost, usage, count or duration; expected a number of at least 0"),
                    ));
                }
                if FRACTION_KEYS.contains(&key) && x > 1.0 {
                    return Err((
                        path.to_string(),
                        format!(
                            "{n} is not a probability or fraction; expected a number within [0, 1]"
                        ),
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }
    walk(v, path, "")?;
    let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64);
    let sla = v.get("sla").unwrap_or(&Value::Null);
    for (part, total) in [
        ("breached_windows", "windows"),
        ("breaching_replications", "replications"),
    ] {
        if let (Some(a), Some(b)) = (num(sla, part), num(sla, total)) {
            if a > b {
                return Err((
                    format!("{path}.sla.{part}"),
                    format!("{a} of {b} `{total}`: expected at most {b}"),
                ));
            }
        }
    }
    Ok(())
}
