//! Results as people and programs read them: the ranking table, JSON and CSV, and files
//! written atomically (temp file + rename, never half-written).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::eval::Evaluation;
use crate::model::scenario::Scenario;
use crate::search::confirm::{Confirm, Summary};
use crate::search::risk::CostDifference;
use crate::search::Evaluated;
use crate::sim::engine::RunResult;

/// `n` and `what`, plural unless `n` is 1 (`1 candidate`, `2 candidates`, `2 tries`).
pub fn plural(n: impl Into<u64>, what: &str) -> String {
    let n = n.into();
    match (n, what.strip_suffix('y')) {
        (1, _) => format!("1 {what}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {what}s"),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut batch = Batch::default();
    batch.add(path, bytes)?;
    batch.commit()
}

/// Files a command writes together (into `--out`): each goes to a temporary file beside its
/// target, and only when every one is written are they renamed into place. A failure (a
/// directory where a file goes, a full disk) leaves none of them: the temporaries are removed
/// when the batch is dropped uncommitted, and so are the directories it created for them (a
/// failed `emit` leaves no empty `base/` or `overlays/`).
#[derive(Debug, Default)]
pub struct Batch {
    /// (temporary file, target) of every file written so far.
    staged: Vec<(PathBuf, PathBuf)>,
    /// Directories the batch created, in the order it created them (parents first).
    created: Vec<PathBuf>,
}

impl Batch {
    /// Stages `bytes` for `path`.
    pub fn add(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        self.add_with(path, "", |tmp| {
            std::fs::write(tmp, bytes).map_err(|e| write_error(path, "write this file", &e))
        })
    }

    /// Stages the file `write` creates at the temporary path it is given, which ends in `ext`
    /// (for encoders that pick the format by the extension, e.g. `.png`).
    pub fn add_with(
        &mut self,
        path: &Path,
        ext: &str,
        write: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        check_target(path)?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut missing: Vec<PathBuf> = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        let made = temp_path(path, ext);
        // Whatever part of the path exists now was made here (create_dir_all may fail midway).
        self.created
            .extend(missing.into_iter().take_while(|d| d.is_dir()));
        let tmp = made?;
        if let Err(e) = write(&tmp) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        self.staged.push((tmp, path.to_path_buf()));
        Ok(())
    }

    /// Renames every staged file into place.
    pub fn commit(mut self) -> Result<()> {
        let staged = std::mem::take(&mut self.staged);
        let created = std::mem::take(&mut self.created);
        for (i, (tmp, path)) in staged.iter().enumerate() {
            if let Err(e) = move_into_place(tmp, path) {
                for (rest, _) in &staged[i + 1..] {
                    let _ = std::fs::remove_file(rest);
                }
                // Dropping the batch removes the directories it made that stayed empty.
                self.created = created;
                return Err(e);
            }
        }
        Ok(())
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        for (tmp, _) in &self.staged {
            let _ = std::fs::remove_file(tmp);
        }
        // Deepest first; `remove_dir` leaves a directory that holds anything.
        for dir in self.created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Bad input naming `path` when something other than a file (a directory, say) is in its place.
fn check_target(path: &Path) -> Result<()> {
    use std::io::{Error as IoError, ErrorKind as K};
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(write_error(
            path,
            "write this file",
            &IoError::new(K::IsADirectory, "a directory is in its place"),
        )),
        Ok(m) if !m.is_file() => Err(write_error(
            path,
            "write this file",
            &IoError::new(
                K::AlreadyExists,
                "something other than a file is in its place",
            ),
        )),
        _ => Ok(()),
    }
}

/// The temporary file for `path`, in its directory (created if missing), ending in `ext`.
fn temp_path(path: &Path, ext: &str) -> Result<PathBuf> {
    let dir = output_dir(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    // At most 100 bytes of the name, so that the temporary name fits wherever the name does
    // (file systems allow 255 bytes per name).
    let mut end = name.len().min(100);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    Ok(dir.join(format!(".{}.tmp-{}{ext}", &name[..end], std::process::id())))
}

/// The directory `path` goes in, created if missing. A path that cannot be a directory (a file
/// in the way, no permission) is the caller's bad input, naming the path.
pub fn output_dir(path: &Path) -> Result<&Path> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, "create this directory", &e))?;
    Ok(dir)
}

/// Checks, before a command does its work, that `dir` can take its output files: it is a
/// directory, or the directories it needs can be made in the nearest one that exists, and that
/// one can be written. Creates nothing (a probe file is made and removed). A file where a
/// directory must be is bad input that says so (`search --out FILE` used to simulate first and
/// then fail with "cannot create this directory: File exists").
pub fn check_out_dir(dir: &Path) -> Result<()> {
    use std::io::ErrorKind as K;
    for at in dir.ancestors() {
        let at = if at.as_os_str().is_empty() {
            Path::new(".")
        } else {
            at
        };
        match std::fs::metadata(at) {
            Ok(m) if m.is_dir() => return probe_write(at),
            Ok(_) => {
                let message = if at == dir {
                    "is a file, not a directory: --out names the directory the results go in; \
                     expected a directory (existing or to create)"
                        .to_string()
                } else {
                    format!(
                        "is a file, so the --out directory {} cannot be made inside it; expected \
                         a directory path",
                        dir.display()
                    )
                };
                return Err(Error::input(at.display().to_string(), None, message));
            }
            Err(e) if matches!(e.kind(), K::NotFound | K::NotADirectory) => continue,
            Err(e) => return Err(write_error(at, "use this directory", &e)),
        }
    }
    Ok(())
}

/// Creates and removes a file in the directory `dir`: bad input naming it when it cannot be
/// written (no permission, a read-only file system).
fn probe_write(dir: &Path) -> Result<()> {
    let probe = dir.join(format!(".costsim-probe-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| write_error(dir, "write in this directory", &e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Renames the finished temporary file `tmp` to `path` (removing `tmp` if that fails).
pub fn move_into_place(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        write_error(path, "write this file", &e)
    })
}

/// `errno` of a file name or path too long for the filesystem.
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
const ENAMETOOLONG: i32 = 63;
#[cfg(not(any(target_os = "macos", target_os = "ios", target_os = "freebsd")))]
const ENAMETOOLONG: i32 = 36;

/// An output failure at `path`: bad input (exit 2) when the path itself is wrong — a file where
/// a directory must be, a directory where the file must be, no permission, a read-only
/// filesystem, a name too long —, an internal error (exit 1) for anything else (a full disk, say).
fn write_error(path: &Path, what: &str, e: &std::io::Error) -> Error {
    use std::io::ErrorKind as K;
    // A name longer than the filesystem allows is the path's fault too
    // (`ErrorKind::InvalidFilename` is newer than the crate's minimum Rust).
    let too_long = e.raw_os_error() == Some(ENAMETOOLONG);
    let path_at_fault = too_long
        || matches!(
            e.kind(),
            K::NotADirectory
                | K::IsADirectory
                | K::AlreadyExists
                | K::PermissionDenied
                | K::ReadOnlyFilesystem
                | K::NotFound
        );
    if path_at_fault {
        Error::input(
            path.display().to_string(),
            None,
            format!("cannot {what}: {e}; expected an output path (--out) you can write"),
        )
    } else {
        Error::internal(format!("{}: cannot {what}: {e}", path.display()))
    }
}

/// The JSON object of one evaluated candidate (`rank` 0 = the baseline).
pub fn candidate_json(rank: usize, e: &Evaluated) -> Value {
    let ev: &Evaluation = &e.evaluation;
    let mut v = json!({
        "rank": rank,
        "name": e.config.name,
        "config": e.config,
        "cost": {
            "monthly": round(ev.cost.monthly, 2),
            "horizon": round(ev.cost.horizon, 2),
            "currency": ev.cost.currency,
            "nodes": round(ev.cost.nodes, 2),
            "management_fee": round(ev.cost.management_fee, 2),
            "idle": round(ev.cost.idle, 2),
            "pools": ev.cost.pools.iter().map(|p| json!({
                "pool": p.pool,
                "node_hours": round(p.node_hours, 3),
                "horizon": round(p.horizon, 2),
                "peak_nodes": p.peak_nodes,
            })).collect::<Vec<_>>(),
            "workloads": ev.cost.workloads.iter().map(|(w, c)| json!({"workload": w, "horizon": round(*c, 2)})).collect::<Vec<_>>(),
        },
        "efficiency": {
            "cpu": round(ev.efficiency.cpu, 4),
            "memory": round(ev.efficiency.memory, 4),
            "workloads": ev.efficiency.workloads,
            "pools": ev.efficiency.pools,
        },
        "band_distance": round(ev.band_distance, 4),
        "sla": sla_json(e),
        "activity": ev.activity,
        "connections": ev.connections,
        "availability": ev.availability.iter().map(|a| json!({
            "workload": a.workload, "floor": a.floor, "fewest": a.fewest, "holds": a.holds(),
        })).collect::<Vec<_>>(),
        "feasible": e.feasible(),
        "verdict": e.verdict(),
        "static_reasons": ev.static_reasons(),
    });
    if let (Some(r), Value::Object(m)) = (e.risk(), &mut v) {
        m.insert("pareto".into(), json!(e.pareto));
        if let Some(Value::Object(c)) = m.get_mut("cost") {
            c.insert("monthly_mean".into(), json!(round(r.monthly_cost, 2)));
        }
        m.insert(
            "band_distance_mean".into(),
            json!(round(r.band_distance, 4)),
        );
    }
    v
}

/// The `sla` object of a candidate: replication 0's windows (the replay's without
/// replications) and, over the replications, the breach probability with its 95 % Wilson
/// interval, the expected fraction of failed windows and the worst window.
fn sla_json(e: &Evaluated) -> Value {
    let mut v = serde_json::to_value(&e.evaluation.sla).unwrap_or(Value::Null);
    if let (Some(r), Value::Object(m)) = (e.risk(), &mut v) {
        m.insert("replications".into(), json!(r.replications));
        m.insert("breaching_replications".into(), json!(r.breaches));
        m.insert(
            "breach_probability".into(),
            json!(round(r.breach_probability, 6)),
        );
        m.insert("ci_low".into(), json!(round(r.ci_low, 6)));
        m.insert("ci_high".into(), json!(round(r.ci_high, 6)));
        m.insert(
            "expected_failed_window_fraction".into(),
            json!(round(r.expected_failed_window_fraction, 6)),
        );
        m.insert("worst_window_p99_s".into(), json!(r.worst_window_p99_s));
        m.insert(
            "worst_window_p99_of_target".into(),
            json!(r.worst_window_p99_of_target),
        );
        m.insert(
            "worst_window_error_rate".into(),
            json!(round(r.worst_window_error_rate, 9)),
        );
        if let Some(mc) = &e.monte_carlo {
            m.insert(
                "max_breach_probability".into(),
                json!(mc.max_breach_probability),
            );
        }
    }
    v
}

/// What `new` saves against `base` a month, and as a percentage of `base`, from the costs to
/// the cent as ranking.json carries them (so diff and report give the same figure); none for
/// a free baseline.
fn saving(base: f64, new: f64) -> Option<(f64, f64)> {
    let (b, w) = (round(base, 2), round(new, 2));
    (b > 0.0).then(|| (w - b, (w - b) / b * 100.0))
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// The whole search result as JSON: scenario facts, the ranked candidates and the baseline.
pub fn ranking_json(
    scenario: &Scenario,
    seed: u64,
    ranked: &[Evaluated],
    baseline: &Evaluated,
) -> Value {
    json!({
        "scenario": scenario.name,
        "model_digest": scenario.model_digest(),
        "seed": seed,
        "horizon_hours": round(scenario.horizon as f64 / 3.6e6, 3),
        "currency": scenario.catalog.currency,
        "prices_as_of": scenario.catalog.prices_as_of,
        "notes": scenario.notes,
        "evaluated": ranked.len(),
        "feasible": ranked.iter().filter(|e| e.feasible()).count(),
        "pareto": ranked.iter().filter(|e| e.pareto).count(),
        "baseline": with_cost_differences(candidate_json(0, baseline), baseline, ranked.first(), None),
        "candidates": ranked.iter().enumerate().map(|(i, e)| {
            let rank1 = ranked.first().filter(|_| i > 0);
            with_cost_differences(candidate_json(i + 1, e), e, rank1, Some(baseline))
        }).collect::<Vec<_>>(),
    })
}

/// The records of a candidate's replications (none for a recorded replay).
fn records(e: &Evaluated) -> &[crate::search::risk::Record] {
    e.monte_carlo.as_ref().map_or(&[], |m| m.records.as_slice())
}

/// A candidate's monthly cost's difference from rank 1's and from the baseline's, each
/// paired over the replications both ran (`None` where there is no `rank1` or `baseline` to
/// pair with, or they share fewer than two).
fn cost_differences(
    e: &Evaluated,
    rank1: Option<&Evaluated>,
    baseline: Option<&Evaluated>,
) -> [Option<CostDifference>; 2] {
    [rank1, baseline].map(|o| o.and_then(|o| CostDifference::of(records(e), records(o))))
}

/// Adds to a candidate's `cost` its monthly cost's difference from rank 1's (`vs_rank1`)
/// and from the baseline's (`vs_baseline`), each paired over the replications both ran, or
/// null when they share fewer than two (or it is rank 1 or the baseline itself).
fn with_cost_differences(
    mut v: Value,
    e: &Evaluated,
    rank1: Option<&Evaluated>,
    baseline: Option<&Evaluated>,
) -> Value {
    if let Some(Value::Object(c)) = v.get_mut("cost") {
        for (key, d) in ["vs_rank1", "vs_baseline"]
            .into_iter()
            .zip(cost_differences(e, rank1, baseline))
        {
            // null where there is nothing to pair (itself, or a single shared replication):
            // every candidate has both keys.
            c.insert(key.into(), difference_json(d));
        }
    }
    v
}

/// A paired cost difference as the JSON gives it (null for none), to the cent.
fn difference_json(d: Option<CostDifference>) -> Value {
    d.map_or(Value::Null, |d| {
        json!({
            "replications": d.replications,
            "mean": round(d.mean, 2),
            "ci_low": round(d.ci_low, 2),
            "ci_high": round(d.ci_high, 2),
        })
    })
}

/// One simulated configuration as JSON (`simulate`); with `baseline`, simulated on the same
/// replications, its cost's paired difference from the baseline's as `cost.vs_baseline`.
pub fn simulation_json(e: &Evaluated, baseline: Option<&Evaluated>) -> Value {
    let mut v = candidate_json(0, e);
    if let (Some(b), Some(Value::Object(c))) = (baseline, v.get_mut("cost")) {
        let [_, d] = cost_differences(e, None, Some(b));
        c.insert("vs_baseline".into(), difference_json(d));
    }
    v
}

/// `simulate`'s line comparing a config with the baseline simulated on the same replications
/// (`None` when they share fewer than two).
pub fn vs_baseline_line(e: &Evaluated, baseline: &Evaluated, currency: &str) -> Option<String> {
    let [_, d] = cost_differences(e, None, Some(baseline));
    let d = d?;
    let base = baseline.monthly_cost();
    let share = if base > 0.0 {
        format!(" ({:+.1} %)", d.mean / base * 100.0)
    } else {
        String::new()
    };
    Some(format!(
        "vs baseline (simulated on the same {} replications, the same random streams): {:+.2} {currency}/month{share}, 95 % interval [{:+.2}, {:+.2}]{}; baseline {:.2}, {} ({})",
        d.replications,
        d.mean,
        d.ci_low,
        d.ci_high,
        d.tie_note(),
        base,
        plural(baseline.risk().map_or(0, |r| r.breaches), "breaching replication"),
        baseline.verdict().as_str()
    ))
}

/// The ranking as CSV, one row per candidate (the baseline as rank 0). Cost and band
/// distance are means over the replications; the window counts are replication 0's.
pub fn ranking_csv(ranked: &[Evaluated], baseline: &Evaluated) -> String {
    let mut out = String::from(
        "rank,name,verdict,feasible,pareto,monthly_cost,currency,cpu_efficiency,memory_efficiency,band_distance,replications,breach_probability,ci_low,ci_high,expected_failed_window_fraction,breached_windows,windows,vs_rank1_mean,vs_rank1_ci_low,vs_rank1_ci_high,vs_baseline_mean,vs_baseline_ci_low,vs_baseline_ci_high\n",
    );
    let row = |out: &mut String, rank: usize, e: &Evaluated| {
        let ev = &e.evaluation;
        let r = e.risk();
        let rank1 = ranked.first().filter(|_| rank != 1);
        let base = Some(baseline).filter(|_| rank != 0);
        // The JSON's cost.vs_rank1 and cost.vs_baseline, empty where they are null.
        let differences: String = cost_differences(e, rank1, base)
            .iter()
            .map(|d| {
                d.map_or(",,".to_string(), |d| {
                    format!("{:.2},{:.2},{:.2}", d.mean, d.ci_low, d.ci_high)
                })
            })
            .collect::<Vec<_>>()
            .join(",");
        let _ = writeln!(
            out,
            "{rank},\"{}\",{},{},{},{:.2},{},{:.4},{:.4},{:.4},{},{:.6},{:.6},{:.6},{:.6},{},{},{differences}",
            e.config.name.replace('"', "'"),
            // The JSON's words: a file read by programs says what the JSON says.
            e.verdict().as_str(),
            e.feasible(),
            e.pareto,
            e.monthly_cost(),
            ev.cost.currency,
            ev.efficiency.cpu,
            ev.efficiency.memory,
            e.band_distance(),
            r.map_or(1, |r| r.replications),
            e.breach_probability(),
            r.map_or(e.breach_probability(), |r| r.ci_low),
            r.map_or(e.breach_probability(), |r| r.ci_high),
            r.map_or(ev.sla.breached_fraction, |r| r
                .expected_failed_window_fraction),
            ev.sla.breached_windows,
            ev.sla.windows
        );
    };
    row(&mut out, 0, baseline);
    for (i, e) in ranked.iter().enumerate() {
        row(&mut out, i + 1, e);
    }
    out
}

/// `yes`, `maybe` (undecided at this many replications) or `no`.
fn verdict_word(e: &Evaluated) -> &'static str {
    match e.verdict() {
        crate::search::risk::Verdict::Feasible => "yes",
        crate::search::risk::Verdict::Undecided => "maybe",
        crate::search::risk::Verdict::Infeasible => "no",
    }
}

/// The columns of [`timeline_csv`] for `scenario`: `minute`, per service `<s>_desired`,
/// `<s>_ready` and `<s>_cpu_utilization`, per pool `<p>_nodes`.
pub fn timeline_columns(scenario: &Scenario) -> Vec<String> {
    let mut cols = vec!["minute".to_string()];
    for s in &scenario.services {
        for what in ["desired", "ready", "cpu_utilization"] {
            cols.push(format!("{}_{what}", s.name));
        }
    }
    for p in &scenario.catalog.pools {
        cols.push(format!("{}_nodes", p.name));
    }
    cols
}

/// A run's timeline as CSV: per minute, desired and ready replicas per workload, nodes per pool.
pub fn timeline_csv(scenario: &Scenario, run: &RunResult) -> String {
    let mut out = timeline_columns(scenario).join(",");
    out.push('\n');
    for pt in &run.timeline {
        let _ = write!(out, "{}", pt.at / 60_000);
        for i in 0..scenario.services.len() {
            let _ = write!(
                out,
                ",{},{},{:.3}",
                pt.desired[i], pt.ready[i], pt.cpu_utilization[i]
            );
        }
        for n in &pt.nodes {
            let _ = write!(out, ",{n}");
        }
        out.push('\n');
    }
    out
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// The ranking as a human-readable table: the top `top` candidates and the baseline. Cost
/// and band are means over the replications; `breach` is the breaching replications and the
/// 95 % Wilson interval of the breach probability; `failed` the expected fraction of failed
/// windows; `*` marks the Pareto front. `confirmation`, when the search ran the confirmation
/// stage, adds a line on what it proved and spent.
pub fn ranking_table(
    scenario: &Scenario,
    ranked: &[Evaluated],
    baseline: &Evaluated,
    top: usize,
    confirmation: Option<(&Confirm, &Summary)>,
    variation: &crate::sim::arrivals::Variation,
) -> String {
    let mut out = String::new();
    let cur = &scenario.catalog.currency;
    let budget = baseline
        .monte_carlo
        .as_ref()
        .map_or(crate::search::risk::DEFAULT_MAX_BREACH_PROBABILITY, |m| {
            m.max_breach_probability
        });
    let undecided = ranked
        .iter()
        .filter(|e| e.verdict() == crate::search::risk::Verdict::Undecided)
        .count();
    let _ = writeln!(
        out,
        "scenario {} — {:.1} h of traffic, {}: {} proven feasible, {} infeasible, {} undecided (too few replications to tell) (SLA: ≤ {:.1}% of {} windows failing; feasible: breach probability ≤ {}% at the 95% upper bound)",
        scenario.name,
        scenario.horizon as f64 / 3.6e6,
        plural(ranked.len() as u64, "candidate"),
        ranked.iter().filter(|e| e.feasible()).count(),
        ranked.len() - undecided - ranked.iter().filter(|e| e.feasible()).count(),
        undecided,
        scenario.sla.max_breached_window_fraction * 100.0,
        crate::time::format_duration(scenario.sla.window),
        budget * 100.0,
    );
    // What the replications vary beyond the Poisson counts, when the user asked for more.
    let mut varied = Vec::new();
    if variation.bootstrap_days {
        varied.push("recorded days drawn with replacement (--bootstrap-days)".to_string());
    }
    if variation.growth_pct_per_month != 0.0 {
        varied.push(format!(
            "traffic growing {} %/month (--growth)",
            variation.growth_pct_per_month
        ));
    }
    if !varied.is_empty() {
        let _ = writeln!(out, "replications: {}", varied.join("; "));
    }
    if let Some((c, s)) = confirmation {
        let _ = writeln!(
            out,
            "confirmed: {} feasible of {} tried ({} infeasible, {} given up), {} (target {} feasible; at most {} of up to {} each)",
            s.feasible,
            s.tried,
            s.infeasible,
            s.undecided,
            plural(s.replications, "replication"),
            c.feasible,
            plural(c.max_tries, "try"),
            plural(c.max_replications, "replication"),
        );
    }
    let _ = writeln!(
        out,
        "{:>4}  {:>8}  {:>12}  {:>9}  {:>5}  {:>5}  {:>5}  {:>20}  {:>7}  {:>6}  config",
        "rank",
        "feasible",
        format!("{cur}/month"),
        "vs rank 1",
        "cpu",
        "mem",
        "band",
        "breach [95% CI]",
        "failed",
        "pareto"
    );
    let line = |out: &mut String, rank: &str, e: &Evaluated| {
        let ev = &e.evaluation;
        let (breach, failed) = match e.risk() {
            Some(r) => (
                format!(
                    "{}/{} [{:.2}, {:.2}]",
                    r.breaches, r.replications, r.ci_low, r.ci_high
                ),
                r.expected_failed_window_fraction,
            ),
            None => (
                format!("{}/{} windows", ev.sla.breached_windows, ev.sla.windows),
                ev.sla.breached_fraction,
            ),
        };
        // Paired over the replications both ran: the means beside it may be over different
        // ones (4 against rank 1's 73).
        let vs_rank1 = ranked
            .first()
            .filter(|r1| !std::ptr::eq(*r1, e))
            .and_then(|r1| {
                let d = CostDifference::of(records(e), records(r1))?;
                // Over every replication of both, the difference of the costs shown (as
                // `rank 1 vs baseline` is), so the two never differ in the last digit.
                let whole = [e, r1]
                    .iter()
                    .all(|c| records(c).len() == d.replications as usize);
                Some(if whole {
                    round(e.monthly_cost(), 2) - round(r1.monthly_cost(), 2)
                } else {
                    d.mean
                })
            })
            .map_or(String::new(), |x| format!("{x:+.2}"));
        let _ = writeln!(
            out,
            "{:>4}  {:>8}  {:>12.2}  {:>9}  {:>5}  {:>5}  {:>5.2}  {:>20}  {:>6.2}%  {:>6}  {}",
            rank,
            verdict_word(e),
            e.monthly_cost(),
            vs_rank1,
            pct(ev.efficiency.cpu),
            pct(ev.efficiency.memory),
            e.band_distance(),
            breach,
            failed * 100.0,
            if e.pareto { "*" } else { "" },
            e.config.name
        );
    };
    for (i, e) in ranked.iter().take(top).enumerate() {
        line(&mut out, &(i + 1).to_string(), e);
    }
    line(&mut out, "base", baseline);
    let why = baseline.evaluation.infeasible_because();
    if !why.is_empty() {
        let _ = writeln!(out, "baseline infeasible: {}", why.join("; "));
    }
    if let Some(best) = ranked.first() {
        if let Some((delta, percent)) = saving(baseline.monthly_cost(), best.monthly_cost()) {
            let caveat = best
                .verdict()
                .caveat()
                .map_or(String::new(), |c| format!("; rank 1 is {c}"));
            let _ = writeln!(
                out,
                "rank 1 vs baseline: {delta:+.2} {cur}/month ({percent:+.1}%{caveat})"
            );
        }
    }
    for n in &scenario.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

/// One simulated configuration as a human-readable report: cost per pool, efficiency per
/// workload (usage/request) and per pool (requested/allocatable), SLA per objective, and what
/// the control plane did.
pub fn simulation_table(scenario: &Scenario, e: &Evaluated) -> String {
    let ev = &e.evaluation;
    let cur = &ev.cost.currency;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "config {} on scenario {} ({:.1} h of traffic)",
        e.config.name,
        scenario.name,
        scenario.horizon as f64 / 3.6e6
    );
    let breakdown = format!(
        "{:.2} over the horizon: nodes {:.2}, management fee {:.2}; idle {:.2}",
        ev.cost.horizon, ev.cost.nodes, ev.cost.management_fee, ev.cost.idle
    );
    let _ = match e.risk().filter(|r| r.replications > 1) {
        // The figure a search ranks by first; the breakdown below is replication 0's.
        Some(r) => writeln!(
            out,
            "cost: {:.2} {cur}/month, the mean of {} replications (replication 0: {:.2}; {breakdown})",
            r.monthly_cost, r.replications, ev.cost.monthly
        ),
        None => writeln!(out, "cost: {:.2} {cur}/month ({breakdown})", ev.cost.monthly),
    };
    for p in ev.cost.pools.iter().filter(|p| p.node_hours > 0.0) {
        let _ = writeln!(
            out,
            "  pool {:<8} {:>7.1} node-hours, peak {}, {:.2} {cur}",
            p.pool,
            p.node_hours,
            count(u64::from(p.peak_nodes), "node", "nodes"),
            p.horizon
        );
    }
    let opt = |x: Option<f64>| x.map_or("-".to_string(), pct);
    let _ = writeln!(out, "efficiency (usage / request; target band 60–80 %):");
    for w in &ev.efficiency.workloads {
        let _ = writeln!(
            out,
            "  {:<10} cpu {:>5}  memory {:>5}",
            w.workload,
            opt(w.cpu),
            opt(w.memory)
        );
    }
    let _ = writeln!(
        out,
        "pool requests (requested / allocatable, what the autoscaler acts on):"
    );
    for p in &ev.efficiency.pools {
        let _ = writeln!(
            out,
            "  {:<10} cpu {:>5}  memory {:>5}   (used: cpu {}, memory {})",
            p.pool,
            opt(p.cpu_requested),
            opt(p.memory_requested),
            opt(p.cpu_used),
            opt(p.memory_used)
        );
    }
    let _ = writeln!(
        out,
        "SLA: {} of {} windows failed ({}), allowed {:.1} %",
        ev.sla.breached_windows,
        ev.sla.windows,
        if ev.sla.breached { "BREACHED" } else { "met" },
        scenario.sla.max_breached_window_fraction * 100.0
    );
    // The search's verdict adds the config's static conditions to what the SLA says.
    let (scope, reasons, hint) = if let (Some(r), Some(mc)) = (e.risk(), &e.monte_carlo) {
        let _ = writeln!(
            out,
            "Monte Carlo: {}/{} replications breached: breach probability {:.3} [95% CI {:.3}, {:.3}], on the SLA alone {} at a risk budget of {}%; expected failed windows {:.2}%; worst window p99 {:.0}% of its objective's target, worst window error rate {:.4}%; mean cost {:.2} {cur}/month (the other figures are replication 0's)",
            r.breaches,
            r.replications,
            r.breach_probability,
            r.ci_low,
            r.ci_high,
            crate::search::risk::risk_verdict(&r, mc.max_breach_probability).as_str(),
            mc.max_breach_probability * 100.0,
            r.expected_failed_window_fraction * 100.0,
            r.worst_window_p99_of_target * 100.0,
            r.worst_window_error_rate * 100.0,
            r.monthly_cost
        );
        ("", ev.static_reasons(), "")
    } else {
        (
            " on this one replay",
            ev.infeasible_because(),
            " (--replications N gives the breach probability a search ranks by)",
        )
    };
    let why = if reasons.is_empty() {
        String::new()
    } else {
        format!(" — {}", reasons.join("; "))
    };
    let _ = writeln!(out, "verdict: {}{scope}{why}{hint}", e.verdict().as_str());
    for (o, spec) in ev.sla.objectives.iter().zip(&scenario.sla.objectives) {
        let _ = writeln!(
            out,
            "  {}/{:<7} p99 target {:>7}: median window p99 {:.3} s, worst {:.3} s; error rate {:.4} % (worst window {:.4} %); {} failed",
            o.service,
            o.class,
            crate::time::format_duration(spec.p99),
            o.median_p99_s,
            o.worst_p99_s,
            o.error_rate * 100.0,
            o.worst_error_rate * 100.0,
            count(u64::from(o.breached_windows), "window", "windows")
        );
    }
    for c in &ev.connections {
        let limit = c
            .run
            .limit
            .map_or("no limit".to_string(), |l| format!("limit {l}"));
        let verdict = match (c.run.limit, c.within_limit) {
            (None, _) => String::new(),
            (Some(_), true) => " (fits)".into(),
            (Some(l), false) => format!(" > {l}: INFEASIBLE at scale-out"),
        };
        let _ = writeln!(
            out,
            "connections to {}: peak {:.0}, mean {:.0}, {limit}; budget at maxReplicas with surge {}{verdict}; idle at minReplicas {}; refused {:.0} connection-s",
            c.run.server,
            c.run.peak_connections,
            c.run.mean_connections,
            c.budget_at_max_replicas,
            c.idle_at_min_replicas,
            c.run.refused_connection_seconds
        );
    }
    for a in &ev.availability {
        let verdict = if a.holds() { "holds" } else { "INFEASIBLE" };
        let _ = writeln!(
            out,
            "availability of {}: at least {} replicas (the scenario's floor), the config's fewest {}: {verdict}",
            a.workload, a.floor, a.fewest
        );
    }
    let _ = writeln!(out, "control plane:");
    for a in &ev.activity {
        let _ = writeln!(
            out,
            "  {:<10} ready pods {}–{}, pods on nodes {:.2} on average, {} scale-ups, {} scale-downs, {} evictions, {:.0} pending pod-s, {} unfittable, {:.0} rejected, {:.0} timed out, {} OOM kills, {} restarts, {} pressure evictions, {:.1} % of CFS periods throttled",
            a.workload,
            a.run.ready_min,
            a.run.ready_max,
            a.mean_pods,
            a.run.scale_ups,
            a.run.scale_downs,
            a.run.evictions,
            a.run.pending_pod_seconds,
            a.run.unfittable_pods,
            a.run.rejected,
            a.run.timed_out,
            a.run.oom_kills,
            a.run.restarts,
            a.run.pressure_evictions,
            a.throttled_period_ratio * 100.0
        );
    }
    for a in &ev.activity {
        for w in &a.warnings {
            let _ = writeln!(out, "warning: {}: {w}", a.workload);
        }
    }
    for n in &scenario.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out
}

/// Serializes `v` as pretty JSON with a trailing newline.
pub fn to_json_string<T: Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into());
    s.push('\n');
    s
}

/// `n` with the singular or plural noun: `1 node`, `2 nodes`, `0 windows`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saving_is_the_difference_of_the_costs_shown() {
        // 1382.866 and 866.204 show as 1382.87 and 866.20: the saving is -516.67, not the
        // -516.662 of the unrounded costs (which would print as -516.66).
        let (delta, percent) = saving(1382.866, 866.204).unwrap();
        assert_eq!(format!("{delta:+.2}"), "-516.67");
        assert_eq!(format!("{percent:+.1}"), "-37.4");
        assert_eq!(saving(0.0, 10.0), None);
    }
}
