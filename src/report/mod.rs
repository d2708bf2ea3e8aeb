//! The cost-optimization document, the deployable manifests and the dry-run diff, all from a
//! search's `--out` directory. This layer reads and writes files; [`markdown`] and
//! [`plots`] only render.

pub mod markdown;
pub mod plots;
pub mod ranking;

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::model::config::Config;
use crate::model::scenario::Scenario;
use crate::model::validate::check_config;
use crate::output::Batch;
use crate::search::risk::{CostDifference, Verdict};

use markdown::{PlotRef, BAND};
use plots::{BarChart, LineChart, Plot, Scatter, Series};
use ranking::{Candidate, Ranking};

/// Most points per line of the time plots (keeps a week's SVG small).
const MAX_LINE_POINTS: usize = 1000;

/// The document's file name.
pub const DOCUMENT: &str = "cost-optimization.md";

/// Reads `ranking.json` from a search's output directory and checks it is from `scenario`.
pub fn load_ranking(scenario: &Scenario, from: &Path) -> Result<Ranking> {
    let path = from.join("ranking.json");
    let label = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::input(
            &label,
            None,
            format!(
                "cannot read ({e}); run `costsim search --out {}` first",
                from.display()
            ),
        )
    })?;
    let r = Ranking::parse(&text, &label)?;
    if r.scenario != scenario.name {
        return Err(Error::at_field(
            &label,
            "scenario",
            format!(
                "the search ran scenario `{}`, but --scenario gives `{}`",
                r.scenario, scenario.name
            ),
        ));
    }
    let digest = scenario.model_digest();
    if r.model_digest.as_ref().is_some_and(|d| *d != digest) {
        return Err(Error::at_field(
            &label,
            "model_digest",
            format!(
                "the search ran on another version of scenario `{}` (its model files, traces \
                 or SLA differ); rerun the search, or give the files it ran on",
                scenario.name
            ),
        ));
    }
    check_configs(scenario, &r, &label)?;
    check_costs(scenario, &r, &label)?;
    Ok(r)
}

/// The monthly costs in the ranking, and their paired differences, against the most the
/// scenario's catalog can bill: every pool at its `max_nodes` all month, with the cluster fee.
/// A cost above it was not written by a search on this scenario (a hand edit, `1e308`), and is
/// bad input naming the JSON path.
fn check_costs(scenario: &Scenario, r: &Ranking, label: &str) -> Result<()> {
    let per_hour: f64 = scenario
        .catalog
        .pools
        .iter()
        .map(|p| f64::from(p.max_nodes) * p.node_cost_per_hour())
        .sum::<f64>()
        + scenario.catalog.cluster_fee.per_hour;
    let most = per_hour * crate::time::HOURS_PER_MONTH;
    for (path, c) in r.entries() {
        // A paired difference of two such costs is at most `most` either way.
        for (key, d) in [
            ("vs_rank1", &c.cost.vs_rank1),
            ("vs_baseline", &c.cost.vs_baseline),
        ] {
            let Some(d) = d else { continue };
            for (field, v) in [
                ("mean", d.mean),
                ("ci_low", d.ci_low),
                ("ci_high", d.ci_high),
            ] {
                if v.abs() > most * (1.0 + 1e-9) + 0.01 {
                    return Err(Error::at_field(
                        label,
                        format!("{path}.cost.{key}.{field}"),
                        format!(
                            "{} {} a month is a larger difference than the catalog `{}` can \
                             bill ({most:.2} a month at most); expected a difference the \
                             search wrote",
                            short_number(v),
                            r.currency,
                            scenario.catalog.catalog
                        ),
                    ));
                }
            }
        }
        for (field, v) in [
            ("monthly", Some(c.cost.monthly)),
            ("monthly_mean", c.cost.monthly_mean),
        ] {
            // The file rounds to cents.
            if v.is_some_and(|v| v > most * (1.0 + 1e-9) + 0.01) {
                return Err(Error::at_field(
                    label,
                    format!("{path}.cost.{field}"),
                    format!(
                        "{} {} a month is more than the catalog `{}` can bill ({most:.2}: every \
                         pool at its max_nodes all month, with the cluster fee); expected a cost \
                         the search wrote",
                        short_number(v.unwrap_or_default()),
                        r.currency,
                        scenario.catalog.catalog
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Every config in the ranking (the baseline's and each candidate's) gets the checks a
/// `--config` file gets ([`check_config`]): a hand-edited ranking.json (a limit below its
/// request, an HPA minimum above its maximum, a workload deleted or unknown pool) is bad input
/// naming the file and the JSON path, not written into manifests.
fn check_configs(scenario: &Scenario, r: &Ranking, label: &str) -> Result<()> {
    let configs = std::iter::once(("baseline.config".to_string(), &r.baseline.config)).chain(
        r.candidates
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("candidates[{i}].config"), &c.config)),
    );
    for (path, config) in configs {
        check_config(scenario, config, label).map_err(|e| match e {
            Error::Input {
                file,
                location,
                message,
            } => Error::input(
                file,
                Some(match location {
                    Some(field) => format!("{path}.{field}"),
                    None => path.clone(),
                }),
                message,
            ),
            e => e,
        })?;
    }
    Ok(())
}

/// `x` as written in a message: two decimals, or in exponent form when that would be long.
fn short_number(x: f64) -> String {
    if x.abs() < 1e12 {
        format!("{x:.2}")
    } else {
        format!("{x:e}")
    }
}

/// Reads and checks one of the timelines `search --out` writes beside ranking.json.
///
/// A missing timeline is an error, not a report without its plots: `search --out` always
/// writes both, so a missing one means the directory is incomplete (or not a search's), and a
/// document quietly missing its replica and utilization plots reads as complete when it is not.
fn read_timeline(scenario: &Scenario, path: &Path) -> Result<BTreeMap<String, Vec<f64>>> {
    let label = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            &label,
            None,
            format!(
                "cannot read ({e}): `search --out` writes it beside ranking.json; rerun the \
                 search into that directory"
            ),
        )
    })?;
    // A pod's CPU use is at most its node's CPU, and a request at least 1m.
    let max_utilization = scenario
        .catalog
        .pools
        .iter()
        .map(|p| f64::from(p.vcpu) * 1000.0)
        .fold(1.0, f64::max);
    // What the simulator cannot write: a minute past the horizon, more nodes than a pool has.
    let mut limits = BTreeMap::new();
    let last_minute = scenario.horizon.saturating_sub(1) / 60_000;
    limits.insert(
        "minute".to_string(),
        (
            last_minute as f64,
            format!(
                "the last minute of the {} horizon",
                crate::time::format_duration(scenario.horizon)
            ),
        ),
    );
    for p in &scenario.catalog.pools {
        limits.insert(
            format!("{}_nodes", p.name),
            (
                f64::from(p.max_nodes),
                format!("pool `{}`'s max_nodes", p.name),
            ),
        );
    }
    plots::parse_timeline(
        crate::ingest::without_bom(&text),
        &label,
        &crate::output::timeline_columns(scenario),
        max_utilization,
        &limits,
    )
}

/// The report's plots from the ranking and the timelines beside it (both must be there; see
/// [`read_timeline`]).
pub fn build_plots(
    scenario: &Scenario,
    r: &Ranking,
    rec: &Candidate,
    from: &Path,
) -> Result<Vec<(PlotRef, Plot)>> {
    let mut out = Vec::new();
    let base_t = Some(read_timeline(
        scenario,
        &from.join("timeline_baseline.csv"),
    )?);
    let rec_t = if rec.rank == 1 {
        Some(read_timeline(scenario, &from.join("timeline_rank1.csv"))?)
    } else {
        None
    };
    if let (Some(bt), Some(rt)) = (&base_t, &rec_t) {
        let hours = |t: &BTreeMap<String, Vec<f64>>| -> Vec<f64> {
            t.get("minute")
                .map(|m| m.iter().map(|x| x / 60.0).collect())
                .unwrap_or_default()
        };
        let series = |suffix: &str, names: &[&str]| -> Vec<Series> {
            let mut s = Vec::new();
            for (ci, n) in names.iter().enumerate() {
                for (t, light, who) in [(bt, true, "current"), (rt, false, "recommended")] {
                    if let Some(col) = t.get(&format!("{n}{suffix}")) {
                        s.push(Series {
                            label: format!("{n} ({who})"),
                            points: plots::bucket_max(
                                &hours(t)
                                    .into_iter()
                                    .zip(col.iter().copied())
                                    .collect::<Vec<_>>(),
                                MAX_LINE_POINTS,
                            ),
                            color: ci,
                            light,
                        });
                    }
                }
            }
            s
        };
        let services: Vec<&str> = scenario.services.iter().map(|s| s.name.as_str()).collect();
        let pools: Vec<&str> = scenario
            .catalog
            .pools
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        out.push((
            PlotRef {
                stem: "replicas-nodes".into(),
                caption: "Ready replicas per workload and nodes per pool over the trace, current (pale lines) and recommended (dark lines)".into(),
            },
            Plot::Stacked(vec![
                LineChart {
                    title: "Ready replicas".into(),
                    x_label: "hours into the trace".into(),
                    y_label: "pods".into(),
                    series: series("_ready", &services),
                    x_band: None,
                },
                LineChart {
                    title: "Nodes per pool".into(),
                    x_label: "hours into the trace".into(),
                    y_label: "nodes".into(),
                    series: series("_nodes", &pools),
                    x_band: None,
                },
            ]),
        ));
        let mut dist = Vec::new();
        for (ci, n) in services.iter().enumerate() {
            for (t, light, who) in [(bt, true, "current"), (rt, false, "recommended")] {
                if let Some(col) = t.get(&format!("{n}_cpu_utilization")) {
                    dist.push(Series {
                        label: format!("{n} ({who})"),
                        points: plots::distribution(col, 1.5, 30),
                        color: ci,
                        light,
                    });
                }
            }
        }
        out.push((
            PlotRef {
                stem: "utilization".into(),
                caption: "Distribution of per-minute CPU usage ÷ request of a ready pod, against the 60–80 % band".into(),
            },
            Plot::Lines(LineChart {
                title: "CPU usage ÷ request per minute".into(),
                x_label: "usage ÷ request (values above 1.5 in the last bin)".into(),
                y_label: "share of minutes".into(),
                series: dist,
                x_band: Some(BAND),
            }),
        ));
    }
    let mut categories = Vec::new();
    let mut cur = Vec::new();
    let mut new = Vec::new();
    for p in &r.baseline.cost.pools {
        let n = rec
            .cost
            .pools
            .iter()
            .find(|x| x.pool == p.pool)
            .map_or(0.0, |x| x.horizon);
        if p.horizon > 0.0 || n > 0.0 {
            categories.push(format!("pool {}", p.pool));
            cur.push(p.horizon);
            new.push(n);
        }
    }
    categories.push("fee".into());
    cur.push(r.baseline.cost.management_fee);
    new.push(rec.cost.management_fee);
    for w in &r.baseline.cost.workloads {
        categories.push(w.workload.clone());
        cur.push(w.horizon);
        new.push(
            rec.cost
                .workloads
                .iter()
                .find(|x| x.workload == w.workload)
                .map_or(0.0, |x| x.horizon),
        );
    }
    categories.push("idle".into());
    cur.push(r.baseline.cost.idle);
    new.push(rec.cost.idle);
    out.push((
        PlotRef {
            stem: "cost-breakdown".into(),
            caption: format!(
                "Cost over the {:.1} h simulated by pool, management fee, workload allocation and idle ({})",
                r.horizon_hours, r.currency
            ),
        },
        Plot::Bars(BarChart {
            title: format!("Cost over {:.1} h ({})", r.horizon_hours, r.currency),
            y_label: r.currency.clone(),
            categories,
            groups: vec![("current".into(), cur), (format!("recommended (rank {})", rec.rank), new)],
        }),
    ));
    let has_bp = r
        .candidates
        .iter()
        .any(|c| c.breach_probability().is_some());
    let y = |c: &Candidate| {
        if has_bp {
            c.breach_probability().map_or(0.0, |b| b.p)
        } else {
            c.band()
        }
    };
    let point = |c: &Candidate| (c.monthly(), y(c));
    let front: Vec<_> = r
        .candidates
        .iter()
        .filter(|c| c.pareto == Some(true))
        .map(point)
        .collect();
    let rest: Vec<_> = r
        .candidates
        .iter()
        .filter(|c| c.pareto != Some(true))
        .map(point)
        .collect();
    let mut sets = vec![("candidates".to_string(), rest, 0, 3)];
    if !front.is_empty() {
        sets.push(("Pareto front".into(), front, 1, 5));
    }
    sets.push(("current".into(), vec![point(&r.baseline)], 3, 7));
    sets.push((
        format!("recommended (rank {})", rec.rank),
        vec![point(rec)],
        2,
        7,
    ));
    out.push((
        PlotRef {
            stem: "pareto".into(),
            caption: if has_bp {
                "Monthly cost against SLA breach probability of every candidate; the Pareto front highlighted".into()
            } else {
                "Monthly cost against distance from the 60–80 % band of every candidate".into()
            },
        },
        Plot::Scatter(Scatter {
            title: "Candidates".into(),
            x_label: format!("monthly cost ({})", r.currency),
            y_label: if has_bp { "breach probability".into() } else { "band distance".into() },
            sets,
        }),
    ));
    Ok(out)
}

/// Writes the document and its plots (SVG and PNG) into `out`; returns a one-line summary.
pub fn write_report(scenario: &Scenario, from: &Path, out: &Path) -> Result<String> {
    let r = load_ranking(scenario, from)?;
    let rec = r.rank(1, "ranking.json")?;
    let plots = build_plots(scenario, &r, rec, from)?;
    let mut batch = Batch::default();
    for (p, plot) in &plots {
        batch.add(
            &out.join(format!("{}.svg", p.stem)),
            plots::svg(plot)?.as_bytes(),
        )?;
        plots::stage_png(plot, &out.join(format!("{}.png", p.stem)), &mut batch)?;
    }
    let refs: Vec<PlotRef> = plots.into_iter().map(|(p, _)| p).collect();
    let doc = markdown::document(&markdown::Inputs {
        ranking: &r,
        recommended: rec,
        scenario,
        from: &from.display().to_string(),
        plots: &refs,
    });
    let path = out.join(DOCUMENT);
    batch.add(&path, doc.as_bytes())?;
    batch.commit()?;
    Ok(format!(
        "wrote {} and {} plots (SVG + PNG)\n",
        path.display(),
        refs.len()
    ))
}

/// The config emit and diff compare against: the `--manifests` baseline (already the
/// scenario's) when given, else the search's.
fn base_config<'a>(scenario: &'a Scenario, r: &'a Ranking, from_manifests: bool) -> &'a Config {
    if from_manifests {
        &scenario.baseline
    } else {
        &r.baseline.config
    }
}

/// The settings the manifests deploy that an overlay of `chosen` would set back to the
/// search's baseline: where the manifests differ from the baseline the search ran and the
/// candidate keeps that baseline's value (a setting the search did not vary).
fn reverted(search_base: &Config, manifests: &Config, chosen: &Config) -> Vec<Change> {
    let varied = changes(search_base, chosen);
    changes(manifests, chosen)
        .into_iter()
        .filter(|c| !varied.iter().any(|v| v.key() == c.key()))
        .collect()
}

/// Refuses an overlay on `manifests` that would undo settings the search never ran with (a
/// frontend's HPA deleted because the scenario's baseline has none): the candidates carry
/// the search's baseline in whatever the search does not vary.
fn check_no_reverts(
    search_base: &Config,
    manifests: &Config,
    chosen: &Config,
    rank: usize,
    dir: &Path,
) -> Result<()> {
    let undone = reverted(search_base, manifests, chosen);
    if undone.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = undone.iter().map(|c| format!("  {c}")).collect();
    Err(Error::input(
        dir.display().to_string(),
        None,
        format!(
            "these manifests deploy settings the search did not run with, and an overlay of rank \
             {rank} would override them with the search's baseline's, which the search did not \
             vary (manifests → overlay):\n{}\n\
             expected manifests the search started from: run `search --manifests {} --out DIR` \
             and emit from DIR (or emit without --manifests)",
            list.join("\n"),
            dir.display()
        ),
    ))
}

/// What [`write_manifests`] did: the lines for stdout (the files, how to build them) and
/// warnings for stderr.
#[derive(Debug, Clone, Default)]
pub struct Emitted {
    /// `wrote …` per file and the build command.
    pub summary: String,
    /// About the candidate written (one the search did not prove feasible).
    pub warnings: Vec<String>,
}

/// The warning for emitting `chosen`, when the search did not prove it feasible (its verdict
/// is `infeasible` or `undecided`, or it is not feasible without a verdict).
fn emit_warning(chosen: &Candidate) -> Option<String> {
    if chosen.feasible {
        return None;
    }
    let verdict = chosen
        .verdict
        .as_deref()
        .and_then(Verdict::parse)
        .unwrap_or(Verdict::Infeasible);
    verdict.caveat().map(|c| {
        format!(
            "rank {} `{}` is {c}; the manifests deploy it anyway (check before applying)",
            chosen.rank, chosen.name
        )
    })
}

/// Writes the kustomize base and overlay for the candidate of `rank` into `out`; returns what
/// was written. With `manifests` (already the scenario's baseline) the base is their config,
/// and their images and namespace carry over to the overlay (`namespace` overrides).
pub fn write_manifests(
    scenario: &Scenario,
    from: &Path,
    rank: usize,
    overlay: &str,
    namespace: Option<&str>,
    manifests: Option<&Path>,
    out: &Path,
) -> Result<Emitted> {
    let r = load_ranking(scenario, from)?;
    let chosen = r.rank(rank, "ranking.json")?;
    let base = base_config(scenario, &r, manifests.is_some());
    if let Some(m) = manifests {
        check_no_reverts(&r.baseline.config, base, &chosen.config, chosen.rank, m)?;
    }
    let mut pass = match manifests {
        Some(m) => crate::manifests::read_passthrough(m)?,
        None => crate::manifests::Passthrough::default(),
    };
    if let Some(ns) = namespace {
        pass.namespace = Some(ns.to_string());
    }
    let files = crate::manifests::emit::emit(
        base,
        &chosen.config,
        overlay,
        &pass,
        &scenario.catalog,
        &scenario.availability_floors(),
    )?;
    let mut msg = String::new();
    let mut batch = Batch::default();
    for f in &files {
        batch.add(&out.join(&f.path), f.text.as_bytes())?;
        msg.push_str(&format!("wrote {}\n", out.join(&f.path).display()));
    }
    batch.commit()?;
    msg.push_str(&format!(
        "build with: kubectl kustomize {}\n",
        out.join("overlays").join(overlay).display()
    ));
    // The base is costsim's rendering of what it models, not the manifests themselves.
    let rendering = manifests.map(|m| {
        format!(
            "base/ renders only what costsim models of {} (its own labels and selectors, no \
             Services, ports or fields it ignores): do not apply it over the live objects (the \
             API server refuses a changed Deployment selector, and a prune would delete what \
             it lacks); apply the overlay's patches in your own kustomization, on top of those \
             manifests, after checking they name your objects and containers",
            m.display()
        )
    });
    Ok(Emitted {
        summary: msg,
        warnings: rendering
            .into_iter()
            .chain(emit_warning(chosen))
            .chain(crate::manifests::emit::blocking_budgets(
                &chosen.config,
                &scenario.availability_floors(),
            ))
            .collect(),
    })
}

/// A client pool's settings as the config gives them, by name (`client: -` for a server the
/// workload has no pool for).
fn pool_settings(pool: Option<&crate::model::pools::ClientPoolConfig>) -> BTreeMap<String, String> {
    let Some(v) = pool.and_then(|p| serde_json::to_value(p).ok()) else {
        return BTreeMap::from([("client".to_string(), "-".to_string())]);
    };
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            (k.clone(), text)
        })
        .collect()
}

/// One setting that differs between two configs (a whole workload when `what` is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    workload: String,
    what: String,
    from: String,
    to: String,
}

impl Change {
    fn new(workload: &str, what: &str, from: &str, to: &str) -> Change {
        Change {
            workload: workload.to_string(),
            what: what.to_string(),
            from: from.to_string(),
            to: to.to_string(),
        }
    }

    /// The setting it is about: its workload and what.
    fn key(&self) -> (&str, &str) {
        (&self.workload, &self.what)
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.what.as_str(), self.to.as_str()) {
            ("", "removed") => write!(f, "- {}: removed", self.workload),
            ("", to) => write!(f, "+ {}: {to}", self.workload),
            (what, to) => write!(f, "~ {} {what}: {} → {to}", self.workload, self.from),
        }
    }
}

/// Per workload, each setting that differs from `base` to `target`, as `diff` shows them.
fn changes(base: &Config, target: &Config) -> Vec<Change> {
    let mut o = Vec::new();
    for (name, w) in &target.workloads {
        let Some(b) = base.workloads.get(name) else {
            o.push(Change::new(name, "", "", "new workload"));
            continue;
        };
        let mut line = |what: &str, x: String, y: String| {
            if x != y {
                o.push(Change::new(name, what, &x, &y));
            }
        };
        let q = |c: Option<crate::quantity::MilliCpu>| c.map_or("-".into(), |c| c.to_string());
        let m = |c: Option<crate::quantity::Bytes>| c.map_or("-".into(), |c| c.to_string());
        line("node pool", b.pools().join("+"), w.pools().join("+"));
        // With an HPA on both sides the replica count is the HPA's, not the manifest's.
        if b.hpa.is_none() || w.hpa.is_none() {
            line("replicas", b.replicas.to_string(), w.replicas.to_string());
        }
        line(
            "cpu request",
            q(b.resources.requests.cpu),
            q(w.resources.requests.cpu),
        );
        line(
            "memory request",
            m(b.resources.requests.memory),
            m(w.resources.requests.memory),
        );
        line(
            "cpu limit",
            q(b.resources.limits.cpu),
            q(w.resources.limits.cpu),
        );
        line(
            "memory limit",
            m(b.resources.limits.memory),
            m(w.resources.limits.memory),
        );
        line(
            "hpa",
            markdown::hpa_summary(b.hpa.as_ref()),
            markdown::hpa_summary(w.hpa.as_ref()),
        );
        line(
            "hpa behavior",
            serde_json::to_string(&b.hpa.as_ref().and_then(|h| h.behavior.as_ref()))
                .unwrap_or_default(),
            serde_json::to_string(&w.hpa.as_ref().and_then(|h| h.behavior.as_ref()))
                .unwrap_or_default(),
        );
        line(
            "rolling update",
            serde_json::to_string(&b.rolling_update).unwrap_or_default(),
            serde_json::to_string(&w.rolling_update).unwrap_or_default(),
        );
        // Client pools setting by setting: `default` where the config leaves the driver's.
        let servers: std::collections::BTreeSet<&String> =
            b.client_pools.keys().chain(w.client_pools.keys()).collect();
        for server in servers {
            let (x, y) = (
                pool_settings(b.client_pools.get(server)),
                pool_settings(w.client_pools.get(server)),
            );
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let shown = |s: &BTreeMap<String, String>| {
                    s.get(key).cloned().unwrap_or_else(|| "default".into())
                };
                line(&format!("{server} pool {key}"), shown(&x), shown(&y));
            }
        }
        let rest = |c: &crate::model::config::WorkloadConfig| {
            let mut v = serde_json::to_value(c).unwrap_or_default();
            if let Some(m) = v.as_object_mut() {
                for k in [
                    "node_pool",
                    "also_on",
                    "replicas",
                    "resources",
                    "hpa",
                    "rolling_update",
                    "client_pools",
                ] {
                    m.remove(k);
                }
            }
            v.to_string()
        };
        line(
            "other settings (sidecars, init containers)",
            rest(b),
            rest(w),
        );
    }
    for name in base
        .workloads
        .keys()
        .filter(|n| !target.workloads.contains_key(*n))
    {
        o.push(Change::new(name, "", "", "removed"));
    }
    o
}

/// The dry run: per workload, each setting that changes from the baseline to the candidate
/// of `rank`, and the monthly cost difference.
pub fn diff(scenario: &Scenario, from: &Path, rank: usize, from_manifests: bool) -> Result<String> {
    let r = load_ranking(scenario, from)?;
    let chosen = r.rank(rank, "ranking.json")?;
    let base = base_config(scenario, &r, from_manifests);
    let mut o = String::new();
    o.push_str(&format!(
        "dry run: baseline `{}` → rank {} `{}`\n",
        base.name, chosen.rank, chosen.name
    ));
    if from_manifests {
        let undone = reverted(&r.baseline.config, base, &chosen.config);
        if !undone.is_empty() {
            o.push_str(
                "warning: these manifests deploy settings the search did not run with; the \
                 candidate keeps the search's baseline there, so the changes below would \
                 override them (emit refuses; run `search --manifests` to start from the \
                 manifests):\n",
            );
            for c in &undone {
                o.push_str(&format!("  {c}\n"));
            }
        }
    }
    let changes = changes(base, &chosen.config);
    for c in &changes {
        o.push_str(&format!("{c}\n"));
    }
    // Pool settings change nothing unless the app passes them to its clients: say how they
    // reach it.
    let pooled: std::collections::BTreeSet<&str> = changes
        .iter()
        .filter(|c| c.what.contains(" pool "))
        .map(|c| c.workload.as_str())
        .collect();
    for w in pooled {
        let Some(pools) = chosen
            .config
            .workloads
            .get(w)
            .and_then(|c| serde_json::to_value(&c.client_pools).ok())
        else {
            continue;
        };
        let env: Vec<String> = crate::manifests::emit::pool_settings(&pools)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        o.push_str(&format!(
            "  note: `{w}`'s pool settings reach the app as environment variables from the \
             `{w}{}` ConfigMap ({}): the app must pass them to its clients (motor/pymongo \
             `maxPoolSize`, redis-py `max_connections`), or they change nothing\n",
            crate::manifests::POOLS_CONFIGMAP_SUFFIX,
            env.join(", ")
        ));
    }
    let changes = changes.len();
    let now = r.baseline.monthly();
    let new = chosen.monthly();
    let cur = &r.currency;
    if changes == 0 {
        // Nothing to apply: a saving against the search's baseline would be one already made.
        o.push_str(&format!(
            "no change: the baseline already deploys rank {} (monthly cost {new:.2} {cur}; the search's baseline {now:.2} {cur})\n",
            chosen.rank
        ));
    } else {
        // A change against a baseline that costs nothing has no percentage (it printed
        // `+381.97 CNY, +0.0 %`).
        let percent = |x: f64| {
            if now > 0.0 {
                format!("{:+.1} %", x / now * 100.0)
            } else {
                "no percentage: the baseline costs nothing".to_string()
            }
        };
        let paired = chosen.paired_saving(&r.baseline);
        let interval = |d: &CostDifference| {
            format!(
                "95 % interval [{:+.2}, {:+.2}]{}",
                d.ci_low,
                d.ci_high,
                d.tie_note()
            )
        };
        let runs = |c: &Candidate| c.replications().unwrap_or(1);
        match paired {
            // The means are over different replications (a candidate halving dropped ran 4,
            // the baseline as many as rank 1): their difference is not a saving; the paired
            // one is.
            Some((d, false)) => o.push_str(&format!(
                "monthly cost: {now:.2} → {new:.2} {cur} (means over {} and {}: not comparable)\n  \
                 paired over the {} both ran (the same random streams): {:+.2} {cur}/month ({}), {}\n",
                runs(&r.baseline),
                crate::output::plural(runs(chosen), "replication"),
                d.replications,
                d.mean,
                percent(d.mean),
                interval(&d)
            )),
            _ => {
                // Means over different replications too few of which are shared to pair.
                let (a, b) = (runs(&r.baseline), runs(chosen));
                let apart = if paired.is_none() && a != b {
                    format!(
                        "; means over {a} and {}{}",
                        crate::output::plural(b, "replication"),
                        if a.min(b) < 2 {
                            ", too few shared for a paired interval"
                        } else {
                            ""
                        }
                    )
                } else {
                    String::new()
                };
                o.push_str(&format!(
                    "monthly cost: {now:.2} → {new:.2} {cur} ({:+.2} {cur}, {}{apart})\n",
                    new - now,
                    percent(new - now)
                ));
                if let Some((d, _)) = paired {
                    o.push_str(&format!(
                        "  paired over the {} replications both ran (the same random streams): {}\n",
                        d.replications,
                        interval(&d)
                    ));
                }
            }
        }
    }
    let (rb, rw) = chosen.windows();
    let (bb, _) = r.baseline.windows();
    // The search's verdict, not this one replay's windows: `undecided` is not a breach. An
    // infeasible one says why: the static conditions it fails, else the SLA.
    let verdict = match chosen.verdict.as_deref().map(Verdict::parse) {
        _ if chosen.feasible => None,
        Some(Some(Verdict::Undecided)) => Verdict::Undecided.caveat().map(str::to_string),
        _ if !chosen.static_reasons.is_empty() => {
            Some(format!("infeasible: {}", chosen.static_reasons.join("; ")))
        }
        _ => Some("infeasible: breaches the SLA".to_string()),
    }
    .map_or(String::new(), |c| format!(" ({c})"));
    let breach = |c: &Candidate| {
        c.breach_probability().map(|b| {
            let over = b.replications.map_or(String::new(), |n| {
                format!(" over {}", crate::output::plural(n, "replication"))
            });
            format!("{:.3} [{:.3}, {:.3}]{over}", b.p, b.low, b.high)
        })
    };
    let breaches = breach(&r.baseline).zip(breach(chosen));
    // Replication 0's windows beside the breach probability over all replications, each said
    // to be what it is (the costs above are means over the replications); the verdict goes
    // with the breach probability it rests on.
    let windows_verdict = if breaches.is_some() { "" } else { &verdict };
    o.push_str(&if changes == 0 {
        // As for the cost: the search's baseline is not what the manifests deploy.
        format!("SLA windows failed in replication 0: {rb} of {rw}{windows_verdict} (the search's baseline {bb})\n")
    } else {
        format!("SLA windows failed in replication 0: {bb} → {rb} of {rw}{windows_verdict}\n")
    });
    if let Some((before, after)) = breaches {
        o.push_str(&if changes == 0 {
            format!("SLA breach probability: {after}{verdict} (the search's baseline {before})\n")
        } else {
            format!("SLA breach probability: {before} → {after}{verdict}\n")
        });
    }
    // The connection budget each server gets at maxReplicas with a rollout's surge: what
    // makes a config infeasible whatever the traffic (the baseline's 3060 against 500).
    let budgets = |c: &Candidate| -> BTreeMap<String, (u64, u64)> {
        c.connections
            .iter()
            .filter_map(|v| {
                let n = |k: &str| v.get(k).and_then(serde_json::Value::as_u64);
                let server = v.get("server")?.as_str()?.to_string();
                Some((server, (n("budget_at_max_replicas")?, n("limit")?)))
            })
            .collect()
    };
    let (before, after) = (budgets(&r.baseline), budgets(chosen));
    for (server, (now, limit)) in &after {
        let fits = |b: u64| if b <= *limit { "fits" } else { "over" };
        match before.get(server) {
            Some((was, _)) if was != now => o.push_str(&format!(
                "{server} connections at maxReplicas with a rollout's surge: {was} ({}) → {now} ({}) of {limit}\n",
                fits(*was),
                fits(*now)
            )),
            None => o.push_str(&format!(
                "{server} connections at maxReplicas with a rollout's surge: {now} ({}) of {limit}\n",
                fits(*now)
            )),
            _ => {}
        }
    }
    if from_manifests && base != &r.baseline.config {
        o.push_str(
            "note: the manifests differ from the baseline the search ran; the cost figures compare against the search's baseline (re-run `search --manifests` to price the manifests)\n",
        );
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dry run shows a pool's settings one by one, `client: -` where there is no pool.
    #[test]
    fn pool_settings_are_named_values() {
        let pool: crate::model::pools::ClientPoolConfig =
            serde_json::from_str(r#"{"client": "motor", "maxPoolSize": 23}"#).unwrap();
        let s = pool_settings(Some(&pool));
        assert_eq!(s.get("client").map(String::as_str), Some("motor"));
        assert_eq!(s.get("maxPoolSize").map(String::as_str), Some("23"));
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(
            pool_settings(None),
            BTreeMap::from([("client".to_string(), "-".to_string())])
        );
    }
}
