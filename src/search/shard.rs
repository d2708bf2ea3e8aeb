//! Sharded searches (DESIGN.md §10): `search --shard I/N` runs every replication of the
//! candidates whose index is `I` modulo `N` and writes them as a [`ShardFile`]; merging the
//! `N` files replays the successive halving on the stored records ([`merge`]), which gives
//! exactly the candidates of a single run's halving. Shards skip the confirmation stage (it
//! walks the whole ranking); their header carries its settings, and `costsim merge` runs it
//! on the merged candidates with the scenario, as a single run does after halving.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::eval::Evaluation;
use crate::model::config::Config;
use crate::search::confirm::Confirm;
use crate::search::halving::{self, Plan};
use crate::search::risk::Record;
use crate::search::{Evaluated, MonteCarlo};
use crate::sim::arrivals::Variation;

/// The format tag of shard files (2: headers carry the scenario and candidate digests; 3: the
/// file carries the digest of its results; 4: evaluations carry the availability floors).
/// Merge rejects older formats.
pub const FORMAT: &str = "costsim-shard/4";

/// A slice of a search: shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N` with `0 ≤ I < N`, both canonical decimal numbers (no sign, spaces or leading
    /// zeros): the shard file is named after them (`shard-I-of-N.json`), and the merge Job's
    /// glob `shard-*-of-"$SHARDS".json` finds only the canonical spelling.
    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let bad = || {
            format!(
                "`{}` is not I/N with 0 ≤ I < N, written as plain decimal numbers without a \
                 sign, spaces or leading zeros (e.g. `0/2`, `1/2`)",
                s.escape_debug()
            )
        };
        let number = |t: &str| -> Option<u32> {
            let canonical =
                t.bytes().all(|b| b.is_ascii_digit()) && (t == "0" || !t.starts_with('0'));
            canonical.then(|| t.parse().ok()).flatten()
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index = number(i).ok_or_else(bad)?;
        let count = number(n).ok_or_else(bad)?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether candidate `i` (in expansion order) belongs to this shard.
    pub fn holds(&self, i: usize) -> bool {
        i % self.count as usize == self.index as usize
    }
}

/// What every shard of one search must agree on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Load model (`fluid` or `requests`).
    pub load_model: String,
    /// The replication plan.
    pub plan: Plan,
    /// The traffic variation.
    pub variation: Variation,
    /// The candidates' sampling (`grid`, `lhs:N`, `random:N`), so that a merge of shards of
    /// another `--sample` names it (empty in files written before it was recorded).
    #[serde(default)]
    pub sample: String,
    /// The confirmation stage merge runs after the halving (off in shard files written before
    /// it existed).
    #[serde(default = "confirm_off")]
    pub confirm: Confirm,
    /// [`Scenario::digest`](crate::model::scenario::Scenario::digest) of the scenario the
    /// shard ran on (read as empty from a file of format 1, which merge rejects).
    #[serde(default)]
    pub scenario_digest: String,
    /// [`candidates_digest`] of the whole search's candidates (empty in format 1).
    #[serde(default)]
    pub candidates_digest: String,
    /// Candidates of the whole search.
    pub candidates_total: usize,
    /// Number of shards.
    pub shards: u32,
}

impl Header {
    /// Every field with its value as shown, in the order a merge reports the first that
    /// differs (what the user chose first, then what follows from it).
    fn fields(&self) -> [(&'static str, String); 19] {
        let (p, v, c) = (&self.plan, &self.variation, &self.confirm);
        [
            ("format", self.format.clone()),
            ("scenario", self.scenario.clone()),
            ("scenario_digest", self.scenario_digest.clone()),
            ("seed", self.seed.to_string()),
            ("load_model", self.load_model.clone()),
            ("sample", self.sample.clone()),
            ("plan.replications", p.replications.to_string()),
            ("plan.first_stage", p.first_stage.to_string()),
            ("plan.eta", p.eta.to_string()),
            (
                "plan.max_breach_probability",
                p.max_breach_probability.to_string(),
            ),
            ("variation.poisson", v.poisson.to_string()),
            ("variation.bootstrap_days", v.bootstrap_days.to_string()),
            (
                "variation.growth_pct_per_month",
                v.growth_pct_per_month.to_string(),
            ),
            ("confirm.feasible", c.feasible.to_string()),
            ("confirm.max_replications", c.max_replications.to_string()),
            ("confirm.max_tries", c.max_tries.to_string()),
            ("shards", self.shards.to_string()),
            ("candidates_total", self.candidates_total.to_string()),
            ("candidates_digest", self.candidates_digest.clone()),
        ]
    }

    /// The first field in which `self` and `other` differ, with both values (`self`'s first).
    pub fn first_difference(&self, other: &Header) -> Option<(&'static str, String, String)> {
        self.fields()
            .into_iter()
            .zip(other.fields())
            .find(|((_, a), (_, b))| a != b)
            .map(|((field, a), (_, b))| (field, a, b))
    }

    /// The field of a header that no `search --shard` writes (a hand-edited or corrupt file)
    /// and what it should be: merge would otherwise panic or rank with settings the command
    /// line rejects.
    pub fn invalid_field(&self) -> Option<(&'static str, String)> {
        use crate::search::risk::MAX_REPLICATIONS;
        let p = &self.plan;
        let g = self.variation.growth_pct_per_month;
        let c = &self.confirm;
        // The cap `search` writes: `--confirm-replications` (at most MAX_REPLICATIONS) or the
        // default, which proves the budget with one breach and may lie beyond it.
        let most_confirm = MAX_REPLICATIONS.max(crate::search::confirm::default_max_replications(
            p.max_breach_probability,
        ));
        if p.replications == 0 || p.replications > MAX_REPLICATIONS {
            Some((
                "header.plan.replications",
                format!("{}; expected 1 to {MAX_REPLICATIONS}", p.replications),
            ))
        } else if p.first_stage == 0 || p.first_stage > p.replications {
            Some((
                "header.plan.first_stage",
                format!(
                    "{}; expected 1 to header.plan.replications ({})",
                    p.first_stage, p.replications
                ),
            ))
        } else if p.eta == 0 {
            Some(("header.plan.eta", "0; expected at least 1".into()))
        } else if let Some(problem) = crate::search::risk::budget_problem(p.max_breach_probability)
        {
            Some((
                "header.plan.max_breach_probability",
                format!("{}: {problem}", p.max_breach_probability),
            ))
        } else if !Variation::growth_in_range(g) {
            Some((
                "header.variation.growth_pct_per_month",
                format!("{g}; expected -100 < PCT ≤ 1000"),
            ))
        } else if self.load_model != "fluid" && self.load_model != "requests" {
            Some((
                "header.load_model",
                format!("`{}`; expected fluid or requests", self.load_model),
            ))
        } else if c.max_replications > most_confirm || (c.feasible > 0 && c.max_replications == 0) {
            Some((
                "header.confirm.max_replications",
                format!("{}; expected 1 to {most_confirm}", c.max_replications),
            ))
        } else if c.feasible > 0 && c.max_tries == 0 {
            Some((
                "header.confirm.max_tries",
                "0 with header.confirm.feasible above 0; expected at least 1".into(),
            ))
        } else if c.feasible == 0 && c.max_tries != 0 {
            Some((
                "header.confirm.max_tries",
                format!(
                    "{} with the stage off (header.confirm.feasible 0); expected 0",
                    c.max_tries
                ),
            ))
        } else if !self.sample.is_empty()
            && self
                .sample
                .parse::<crate::search::space::Sampling>()
                .map(|s| s.to_string())
                != Ok(self.sample.clone())
        {
            Some((
                "header.sample",
                format!("`{}`; expected grid, lhs:N or random:N", self.sample),
            ))
        } else if self.shards == 0 {
            Some(("header.shards", "0; expected at least 1".into()))
        } else if self.candidates_total == 0 {
            Some((
                "header.candidates_total",
                "0; expected at least 1 (a search without candidates writes no shard)".into(),
            ))
        } else {
            None
        }
    }
}

/// One candidate of a shard: every replication's record and replication 0's evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardCandidate {
    /// Index in the whole search's expansion order.
    pub index: usize,
    /// The configuration.
    pub config: Config,
    /// Replication 0's evaluation.
    pub evaluation: Evaluation,
    /// One record per replication.
    pub records: Vec<Record>,
}

/// The output of `search --shard I/N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardFile {
    /// What the shards share.
    pub header: Header,
    /// This shard's index.
    pub shard: u32,
    /// The shard's candidates, in index order.
    pub candidates: Vec<ShardCandidate>,
    /// The baseline, every replication.
    pub baseline: ShardCandidate,
    /// [`results_digest`] of the shard, its candidates and baseline, computed when the file is
    /// written: merge recomputes it, so an edited or damaged result is refused, not ranked
    /// (read as empty from a file of an older format, which merge rejects).
    #[serde(default)]
    pub results_digest: String,
}

impl ShardFile {
    /// The file of shard `shard` with these results, their digest computed.
    pub fn new(
        header: Header,
        shard: u32,
        candidates: Vec<ShardCandidate>,
        baseline: ShardCandidate,
    ) -> ShardFile {
        let results_digest = results_digest(shard, &candidates, &baseline);
        ShardFile {
            header,
            shard,
            candidates,
            baseline,
            results_digest,
        }
    }

    /// Whether the results are the ones the file's digest was computed from.
    pub fn results_intact(&self) -> bool {
        results_digest(self.shard, &self.candidates, &self.baseline) == self.results_digest
    }
}

/// A fingerprint of what merge reads from a shard besides its header and the candidates'
/// configurations (which [`candidates_digest`] covers): the shard index, every candidate's
/// index, evaluation and records, and the baseline. JSON floats round-trip exactly, so a merge
/// recomputes the digest the search wrote.
pub fn results_digest(
    shard: u32,
    candidates: &[ShardCandidate],
    baseline: &ShardCandidate,
) -> String {
    let results: Vec<_> = candidates
        .iter()
        .map(|c| (c.index, &c.evaluation, &c.records))
        .collect();
    let text = serde_json::to_string(&(shard, results, baseline)).unwrap_or_default();
    crate::model::scenario::digest_of(text.as_bytes())
}

/// What sets a header field: the flag, or what else differs when a field differs.
fn flag_of(field: &str) -> &'static str {
    match field.split('.').next().unwrap_or_default() {
        "format" => "written by another costsim version",
        "scenario" | "scenario_digest" => "another --scenario, or other model files or traces",
        "seed" => "another --seed",
        "load_model" => "another --load-model",
        "sample" => "another --sample",
        "plan" => match field {
            "plan.replications" => "another --replications",
            "plan.first_stage" => "another --first-stage",
            "plan.eta" => "another --halving",
            _ => "another --max-breach-probability",
        },
        "variation" => match field {
            "variation.bootstrap_days" => "another --bootstrap-days",
            _ => "another --growth",
        },
        "confirm" => "another --confirm, --confirm-replications or --confirm-tries",
        "shards" => "another shard count N in --shard I/N",
        _ => "another candidate space or --sample",
    }
}

fn confirm_off() -> Confirm {
    Confirm::OFF
}

/// A fingerprint of the whole search's candidate configurations, in order: shards of one
/// search agree on it, and a merge recomputes it from the configurations the shards hold (an
/// edited configuration would otherwise be ranked with another's results).
pub fn candidates_digest(configs: &[Config]) -> String {
    let text: String = configs.iter().map(|c| format!("{c:?}\n")).collect();
    crate::model::scenario::digest_of(text.as_bytes())
}

/// A candidate with all its replications, for a shard file.
pub fn shard_candidate(index: usize, e: Evaluated) -> ShardCandidate {
    ShardCandidate {
        index,
        config: e.config,
        evaluation: e.evaluation,
        records: e.monte_carlo.map(|m| m.records).unwrap_or_default(),
    }
}

/// Combines the shard files `files` (name, parsed file) of one search into the candidates a
/// single run evaluates (before ranking) and the baseline. The shards must agree on their
/// header, and each of `0..N` must be there exactly once. Nothing is sized from a header number
/// before the files are found to hold what it says (a hand-edited `candidates_total` or
/// `shards` is an error, not an allocation).
pub fn merge(files: Vec<(String, ShardFile)>) -> Result<(Vec<Evaluated>, Evaluated)> {
    let Some((first_name, first)) = files.first() else {
        return Err(Error::input(
            "<command line>",
            None,
            "merge needs shard files",
        ));
    };
    let header = first.header.clone();
    let first_name = first_name.clone();
    for (name, f) in &files {
        if !f.results_intact() {
            return Err(Error::input(
                name,
                Some("results_digest".into()),
                "the shard's results (candidates[].records, candidates[].evaluation, baseline) \
                 do not match their digest: the file was edited or damaged; rerun the shard",
            ));
        }
        if f.header != header {
            let message = match f.header.first_difference(&header) {
                Some((field, mine, first)) => format!(
                    "{field} {mine} in {name}, {first} in {first_name}: the shards are of \
                     different searches ({}); merge the shards of one search",
                    flag_of(field)
                ),
                None => format!("this shard belongs to another search than {first_name}"),
            };
            return Err(Error::input(name, Some("header".into()), message));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for (name, f) in &files {
        if f.shard >= header.shards || !seen.insert(f.shard) {
            return Err(Error::input(
                name,
                Some("shard".into()),
                format!(
                    "shard {} given twice or out of 0..{}",
                    f.shard, header.shards
                ),
            ));
        }
        // Shard s of n holds the candidates whose index is s modulo n.
        let s = f.shard as usize;
        let expected = header
            .candidates_total
            .saturating_sub(s)
            .div_ceil(header.shards.max(1) as usize);
        if f.candidates.len() != expected {
            return Err(Error::input(
                name,
                Some("candidates".into()),
                format!(
                    "holds {} candidates; shard {s} of {} of a {}-candidate search holds {expected}: \
                     the header (header.candidates_total, header.shards) or the candidates were \
                     edited; rerun the shard",
                    f.candidates.len(),
                    header.shards,
                    header.candidates_total
                ),
            ));
        }
    }
    // The files given are each a distinct shard, so a missing one is among the first
    // `files.len() + 1` indices.
    if let Some(missing) = (0..header.shards).find(|i| !seen.contains(i)) {
        return Err(Error::input(
            "<command line>",
            None,
            format!("shard {missing}/{} is missing", header.shards),
        ));
    }
    // Every shard holds what the header says (checked above), so the total is what the files
    // hold: the slots below are sized from the data, not from the header alone.
    let held: usize = files.iter().map(|(_, f)| f.candidates.len()).sum();
    if held != header.candidates_total {
        return Err(Error::input(
            first_name,
            Some("header.candidates_total".into()),
            format!(
                "{}, but the shards hold {held} candidates in all; rerun the shards",
                header.candidates_total
            ),
        ));
    }
    let mut slots: Vec<Option<ShardCandidate>> = vec![None; held];
    let mut baseline = None;
    for (name, f) in files {
        let s = f.shard as usize;
        for c in f.candidates {
            let ok = c.index < slots.len()
                && c.index % header.shards as usize == s
                && c.records.len() == header.plan.replications as usize;
            if !ok || slots[c.index].is_some() {
                return Err(Error::input(
                    &name,
                    Some("candidates".into()),
                    format!(
                        "candidate {} does not belong to shard {s} or lacks replications",
                        c.index
                    ),
                ));
            }
            let at = c.index;
            slots[at] = Some(c);
        }
        baseline.get_or_insert(f.baseline);
    }
    let all: Vec<ShardCandidate> = slots
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            c.ok_or_else(|| {
                Error::input(
                    "<command line>",
                    None,
                    format!("candidate {i} is in no shard"),
                )
            })
        })
        .collect::<Result<_>>()?;
    let baseline = baseline.ok_or_else(|| Error::internal("no baseline"))?;
    let plan = header.plan;
    let configs: Vec<Config> = all.iter().map(|c| c.config.clone()).collect();
    if candidates_digest(&configs) != header.candidates_digest {
        return Err(Error::input(
            first_name,
            Some("candidates".into()),
            "the candidates' configurations are not the ones the search ran (a shard file was \
             edited or mixes searches); rerun the shards",
        ));
    }
    let stored = |i: usize, r: u32| -> halving::Outcome {
        let c = &all[i];
        (
            c.records[r as usize],
            (r == 0).then(|| c.evaluation.clone()),
        )
    };
    let candidates = halving::run(configs, &plan, &stored, &mut |_, _, _, _| {}, &|| {});
    let baseline = Evaluated {
        config: baseline.config,
        evaluation: baseline.evaluation,
        monte_carlo: Some(MonteCarlo {
            records: baseline.records,
            max_breach_probability: plan.max_breach_probability,
        }),
        pareto: false,
    };
    Ok((candidates, baseline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_parse_and_slice() {
        let s: Shard = "1/3".parse().unwrap_or(Shard { index: 9, count: 9 });
        assert_eq!(s, Shard { index: 1, count: 3 });
        assert!(s.holds(4) && !s.holds(3));
        for bad in [
            "3/3",
            "1",
            "a/2",
            "0/0",
            "-1/2",
            "+1/2",
            "01/2",
            "1/02",
            " 1/2",
            "1/ 2",
            "1/2 ",
            "/2",
            "1/",
            "1/99999999999",
        ] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
