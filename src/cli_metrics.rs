//! The `recommend` and `calibrate` commands: read metrics files, call the library, render
//! the results (table, JSON, CSV) and write files atomically.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use costsim::calibrate::{calibrate, profile_yaml, Calibration};
use costsim::error::{Error, Result};
use costsim::ingest::metrics::{read_metrics, MetricsOptions, MetricsSet, Resource};
use costsim::model::config::Resources;
use costsim::model::scenario::Scenario;
use costsim::model::validate::check_config;
use costsim::output;
use costsim::recommend::{
    apply_recommendation, current_resources, krr::KrrConfig, recommend, vpa::VpaConfig, Applied,
    ContainerReport, Provisioning, Recommender,
};
use costsim::search::{self, rank, space, Evaluated};

/// `recommend --simulate`: run the recommendations through the simulator.
#[derive(Debug, Clone, Copy)]
pub struct SimulateOptions {
    /// Seed of the runs.
    pub seed: u64,
    /// Also run the scenario's search and show its best configuration.
    pub with_search: bool,
}

/// Output format of the metrics commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// Human table.
    Table,
    /// JSON object.
    Json,
    /// CSV, one row per container.
    Csv,
}

/// `cpu=PATH` or `memory=PATH`: the resource and the path (which need not be UTF-8).
fn split_resource(spec: &std::ffi::OsStr) -> Option<(Resource, PathBuf)> {
    for (prefix, r) in [("cpu=", Resource::Cpu), ("memory=", Resource::Memory)] {
        if let Some(s) = spec.to_str() {
            if let Some(p) = s.strip_prefix(prefix) {
                return Some((r, PathBuf::from(p)));
            }
            continue;
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            if let Some(p) = spec.as_bytes().strip_prefix(prefix.as_bytes()) {
                return Some((r, PathBuf::from(std::ffi::OsStr::from_bytes(p))));
            }
        }
    }
    None
}

/// Reads every `--metrics` argument: `PATH`, or `cpu=PATH` / `memory=PATH` for Prometheus
/// files whose series do not name their metric.
///
/// A path need not be UTF-8 (a file name with other bytes is a path like any other; clap used
/// to refuse it as "invalid UTF-8 was detected in one or more arguments", naming no flag).
pub fn load_all(specs: &[std::ffi::OsString], base: &MetricsOptions) -> Result<Vec<MetricsSet>> {
    if specs.is_empty() {
        return Err(Error::input(
            "<command line>",
            Some("--metrics".into()),
            "give at least one metrics file",
        ));
    }
    specs
        .iter()
        .map(|spec| {
            let (resource, path) = match split_resource(spec) {
                Some((r, p)) => (Some(r), p),
                None => (None, PathBuf::from(spec)),
            };
            // Anything readable but a directory: a file, or a pipe (`--metrics <(kubectl top
            // pods)`), which `is_file` refused as "no such metrics file".
            let meta = std::fs::metadata(&path)
                .map_err(|e| Error::unreachable_path(&path, "metrics file", &e))?;
            if meta.is_dir() {
                return Err(Error::input(
                    path.display().to_string(),
                    None,
                    "is a directory; pass the metrics files (e.g. DIR/*_metric.csv)",
                ));
            }
            let opts = MetricsOptions {
                prometheus_resource: resource.or(base.prometheus_resource),
                ..*base
            };
            read_metrics(&path, &opts)
        })
        .collect::<Result<Vec<_>>>()
        .and_then(|sets| {
            costsim::ingest::metrics::check_duplicate_readings(&sets)?;
            Ok(sets)
        })
}

/// `costsim recommend`: the text for stdout; with `out`, also `recommendations.json` and
/// `recommendations.csv` in that directory; with `simulate`, the recommendations run through
/// the simulator.
pub fn run_recommend(
    sets: &[MetricsSet],
    scenario: &Scenario,
    which: Recommender,
    render: Render,
    out: Option<&Path>,
    simulate: Option<SimulateOptions>,
) -> Result<String> {
    let samples: Vec<_> = sets
        .iter()
        .flat_map(|s| s.samples.iter().cloned())
        .collect();
    if samples.is_empty() {
        return Err(Error::input(
            sets.first().map_or("<metrics>", |s| s.source.as_str()),
            None,
            "the metrics hold no usable sample",
        ));
    }
    let baseline = &scenario.baseline;
    let current = |k: &costsim::recommend::ContainerKey| -> Option<Resources> {
        baseline
            .workloads
            .get(&k.workload)
            .map(|w| current_resources(w, &k.container))
    };
    let reports = recommend(
        &samples,
        &current,
        which,
        &VpaConfig::default(),
        &KrrConfig::default(),
    );
    let thresholds = costsim::recommend::hpa_thresholds(&samples, baseline);
    let mut json = recommend_json(sets, scenario, which, &reports);
    json["hpa_thresholds"] = serde_json::to_value(&thresholds).unwrap_or_default();
    let sim = match simulate {
        Some(o) => Some(simulate_recommendations(scenario, &reports, o)?),
        None => None,
    };
    if let Some(sim) = &sim {
        json["simulation"] = sim.json.clone();
    }
    let csv = recommend_csv(&reports);
    if let Some(dir) = out {
        let mut batch = output::Batch::default();
        batch.add(
            &dir.join("recommendations.json"),
            output::to_json_string(&json).as_bytes(),
        )?;
        batch.add(&dir.join("recommendations.csv"), csv.as_bytes())?;
        batch.commit()?;
    }
    Ok(match render {
        Render::Json => output::to_json_string(&json),
        Render::Csv => csv,
        Render::Table => {
            let mut t = recommend_table(sets, scenario, &reports);
            t.push_str(&hpa_threshold_lines(&thresholds));
            if let Some(sim) = &sim {
                t.push_str(&sim.table);
            }
            t
        }
    })
}

/// The simulated recommendations: table text and JSON.
struct Simulation {
    table: String,
    json: serde_json::Value,
}

/// One simulated configuration, seen from the workload it changes.
struct SimRow<'a> {
    /// The row's name in the table.
    label: String,
    /// Its name in the JSON (the table's label, or a longer one).
    name: String,
    workload: String,
    e: &'a Evaluated,
}

/// The row of `e` for `workload`, named `label`.
fn row<'a>(label: &str, workload: &str, e: &'a Evaluated) -> SimRow<'a> {
    SimRow {
        label: label.into(),
        name: label.into(),
        workload: workload.into(),
        e,
    }
}

impl<'a> SimRow<'a> {
    /// The search's best for the searched `workload` (the JSON names its config).
    fn search_best(workload: &str, e: &'a Evaluated) -> SimRow<'a> {
        SimRow {
            name: format!("search best ({})", e.config.name),
            ..row("search best", workload, e)
        }
    }
}

/// Runs the baseline and, per recommended workload the scenario has, the baseline with krr's
/// and with the VPA's recommendation applied (and with `with_search`, the search's best), on
/// the scenario's traffic: the request → replicas feedback, cost and SLA of each.
fn simulate_recommendations(
    scenario: &Scenario,
    reports: &[ContainerReport],
    o: SimulateOptions,
) -> Result<Simulation> {
    let base = &scenario.baseline;
    let mut configs = vec![base.clone()];
    let mut changed = vec![String::new()];
    let mut skipped = Vec::new();
    for r in reports {
        if !base.workloads.contains_key(&r.key.workload) {
            continue;
        }
        for (which, ran, label) in [
            (Applied::Krr, r.krr.is_some(), "krr"),
            (Applied::Vpa, r.vpa.is_some(), "vpa"),
        ] {
            if !ran {
                continue;
            }
            let name = format!("{label} {}", name(r));
            match apply_recommendation(base, r, which, &name) {
                None => skipped.push(format!(
                    "{name}: no complete recommendation, or pod-level metrics of a pod with sidecars"
                )),
                Some(c) => match check_config(scenario, &c, "<recommendation>") {
                    Err(e) => skipped.push(format!("{name}: {e}")),
                    Ok(()) => {
                        configs.push(c);
                        changed.push(r.key.workload.clone());
                    }
                },
            }
        }
    }
    let evaluated = search::evaluate_all(scenario, configs, o.seed, &|| {});
    let best = if o.with_search {
        search::check_grid_search(scenario)?;
        let (candidates, _) =
            search::space_candidates(scenario, space::expand(&scenario.space, base));
        rank::rank(search::evaluate_all(scenario, candidates, o.seed, &|| {}))
            .into_iter()
            .next()
    } else {
        None
    };
    let workloads: Vec<String> = {
        let mut w: Vec<String> = changed.iter().filter(|w| !w.is_empty()).cloned().collect();
        w.dedup();
        w
    };
    let mut rows: Vec<SimRow> = Vec::new();
    // The search varies one workload: its best goes with that workload's rows (in another's,
    // its columns would show a request the search did not choose).
    let searched = &scenario.space.workload;
    for w in &workloads {
        rows.push(row("baseline", w, &evaluated[0]));
        for (e, c) in evaluated.iter().zip(&changed).skip(1) {
            if c == w {
                rows.push(row(&e.config.name, w, e));
            }
        }
        if let Some(b) = best.as_ref().filter(|_| w == searched) {
            rows.push(SimRow::search_best(searched, b));
        }
    }
    if let Some(b) = best.as_ref().filter(|_| !workloads.contains(searched)) {
        rows.push(row("baseline", searched, &evaluated[0]));
        rows.push(SimRow::search_best(searched, b));
    }
    let mut t = String::new();
    let _ = writeln!(
        t,
        "\nsimulated on the scenario's traffic ({}; seed {}): requests applied to the workload of the same name",
        scenario.name, o.seed
    );
    if rows.is_empty() {
        let _ = writeln!(
            t,
            "no recommended workload is in the scenario's baseline: nothing to simulate"
        );
    } else {
        let _ = writeln!(
            t,
            "{:<34} {:>15} {:>15} {:>11} {:>9} {:>6} {:>12} {:>10} {:>11}",
            "config",
            "request",
            "limit",
            "pods mean",
            "pods max",
            "OOMs",
            "cost/month",
            "breached",
            "use/request"
        );
    }
    let mut json_rows = Vec::new();
    for r in &rows {
        let wc = r.e.config.workloads.get(&r.workload);
        let res = wc.map(|w| w.resources);
        let req = res.map(|x| x.effective_requests());
        let act =
            r.e.evaluation
                .activity
                .iter()
                .find(|a| a.workload == r.workload);
        let eff =
            r.e.evaluation
                .efficiency
                .workloads
                .iter()
                .find(|x| x.workload == r.workload);
        let sla = &r.e.evaluation.sla;
        let cost = &r.e.evaluation.cost;
        let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.0}%", v * 100.0));
        let _ = writeln!(
            t,
            "{:<34} {:>15} {:>15} {:>11} {:>9} {:>6} {:>12} {:>10} {:>11}",
            r.label,
            format!(
                "{}/{}",
                milli(req.and_then(|q| q.cpu.map(|c| c.0))),
                mib(req.and_then(|q| q.memory.map(|m| m.0)))
            ),
            format!(
                "{}/{}",
                milli(res.and_then(|q| q.limits.cpu.map(|c| c.0))),
                mib(res.and_then(|q| q.limits.memory.map(|m| m.0)))
            ),
            act.map_or("-".into(), |a| format!("{:.2}", a.mean_pods)),
            act.map_or("-".into(), |a| a.run.ready_max.to_string()),
            act.map_or("-".into(), |a| a.run.oom_kills.to_string()),
            format!("{:.2} {}", cost.monthly, cost.currency),
            format!("{}/{}", sla.breached_windows, sla.windows),
            format!(
                "{}/{}",
                pct(eff.and_then(|e| e.cpu)),
                pct(eff.and_then(|e| e.memory))
            ),
        );
        json_rows.push(json!({
            "config": r.name,
            "workload": r.workload,
            "resources": res,
            "mean_pods": act.map(|a| a.mean_pods),
            "ready_max": act.map(|a| a.run.ready_max),
            "scale_ups": act.map(|a| a.run.scale_ups),
            "oom_kills": act.map(|a| a.run.oom_kills),
            "monthly_cost": cost.monthly,
            "currency": cost.currency,
            "breached_windows": sla.breached_windows,
            "windows": sla.windows,
            "feasible": r.e.feasible(),
            "cpu_use_per_request": eff.and_then(|e| e.cpu),
            "memory_use_per_request": eff.and_then(|e| e.memory),
        }));
    }
    if let Some(b) = &best {
        let _ = writeln!(
            t,
            "search best: {} (the best of the search's candidates by one replay each; `search` ranks them on Monte Carlo replications)",
            b.config.name
        );
    }
    for s in &skipped {
        let _ = writeln!(t, "not simulated: {s}");
    }
    Ok(Simulation {
        table: t,
        json: json!({ "scenario": scenario.name, "seed": o.seed, "runs": json_rows, "not_simulated": skipped }),
    })
}

/// One line per HPA Utilization target: its per-pod threshold against the recorded bursts.
fn hpa_threshold_lines(thresholds: &[costsim::recommend::HpaThreshold]) -> String {
    let mut s = String::new();
    for h in thresholds {
        let amount = |v: f64| {
            if h.resource == "cpu" {
                format!("{}m", (v * 1000.0).round() / 1000.0)
            } else {
                mib(Some(v.round() as i64))
            }
        };
        let burst = if h.p95_ratio > 1.1 {
            format!(
                ": a burst like it asks for ceil({:.2} × current) replicas (clamped to maxReplicas); a {} request puts the p95 at the target",
                h.p95_ratio,
                amount(h.request_for_p95_at_target.ceil())
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "hpa {}: {} target {} % of the pod's {} request = {} per pod; per-pod p95 {} (max {}) is {:.2}× it{burst}",
            h.workload,
            h.resource,
            h.target_percent,
            amount(h.pod_request as f64),
            amount(h.threshold),
            amount(h.p95),
            amount(h.max),
            h.p95_ratio
        );
    }
    s
}

fn recommend_json(
    sets: &[MetricsSet],
    scenario: &Scenario,
    which: Recommender,
    reports: &[ContainerReport],
) -> serde_json::Value {
    json!({
        "metrics": sets.iter().map(|s| json!({
            "source": s.source, "format": s.format, "samples": s.samples.len(),
            "missing": s.missing, "warnings": s.warnings,
        })).collect::<Vec<_>>(),
        "current_from": format!("{} (baseline `{}`)", scenario.file, scenario.baseline.name),
        "recommender": which,
        "krr_notes": krr_hpa_notes(scenario, reports),
        "memory": "working set",
        "containers": reports,
    })
}

fn milli(v: Option<i64>) -> String {
    v.map_or_else(|| "-".into(), |m| format!("{m}m"))
}

fn mib(v: Option<i64>) -> String {
    v.map_or_else(
        || "-".into(),
        |b| {
            if b % (1 << 20) == 0 {
                format!("{}Mi", b >> 20)
            } else {
                format!("{:.1}Mi", b as f64 / 1_048_576.0)
            }
        },
    )
}

fn name(r: &ContainerReport) -> String {
    let mut n = String::new();
    if !r.key.namespace.is_empty() {
        n.push_str(&r.key.namespace);
        n.push('/');
    }
    n.push_str(&r.key.workload);
    if !r.key.container.is_empty() {
        n.push('/');
        n.push_str(&r.key.container);
    }
    n
}

/// krr's `simple` strategy leaves a resource undefined ("HPA detected") when the workload's
/// HPA has a Resource Utilization target on it, unless krr runs with `--allow-hpa`
/// (robusta-dev/krr `strategies/simple.py`); costsim shows the number krr computes with
/// `--allow-hpa`, and says so for each such workload.
fn krr_hpa_notes(scenario: &Scenario, reports: &[ContainerReport]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    reports
        .iter()
        .filter(|r| r.krr.is_some())
        .filter_map(|r| {
            let w = scenario.baseline.workloads.get(&r.key.workload)?;
            let hpa = w.hpa.as_ref()?;
            let targeted: Vec<&str> = ["cpu", "memory"]
                .into_iter()
                .filter(|res| {
                    hpa.metrics.iter().any(|m| {
                        m.resource.as_ref().is_some_and(|x| {
                            x.name == *res && x.target.average_utilization.is_some()
                        })
                    })
                })
                .collect();
            if targeted.is_empty() || !seen.insert(r.key.workload.clone()) {
                return None;
            }
            Some(format!(
                "`{}`'s HPA targets {} utilization: krr itself reports {} as undefined (\"HPA detected\") unless run with --allow-hpa; the krr column is what it computes with --allow-hpa",
                r.key.workload,
                targeted.join(" and "),
                targeted.join(" and ")
            ))
        })
        .collect()
}

fn recommend_table(
    sets: &[MetricsSet],
    scenario: &Scenario,
    reports: &[ContainerReport],
) -> String {
    let mut s = String::new();
    let samples: usize = sets.iter().map(|m| m.samples.len()).sum();
    let missing: usize = sets.iter().map(|m| m.missing.len()).sum();
    let _ = writeln!(
        s,
        "metrics: {} ({samples} samples, {missing} missing); current requests from {} (baseline `{}`); memory = working set",
        sets.iter().map(|m| m.source.as_str()).collect::<Vec<_>>().join(", "),
        scenario.file,
        scenario.baseline.name
    );
    let _ = writeln!(
        s,
        "{:<32} {:>4} {:>13} {:>13} {:>13} {:>13} {:>25}",
        "container",
        "pods",
        "now cpu/mem",
        "limit",
        "krr cpu/mem",
        "vpa cpu/mem",
        "vpa range cpu | mem"
    );
    for r in reports {
        let now = r.current.map(|c| c.effective_requests());
        let lim = r.current.map(|c| c.limits);
        let pair = |a: String, b: String| format!("{a}/{b}");
        let (kc, km) = r
            .krr
            .map_or((None, None), |k| (k.cpu_request_milli, k.memory_bytes));
        let v = r.vpa;
        let _ = writeln!(
            s,
            "{:<32} {:>4} {:>13} {:>13} {:>13} {:>13} {:>25}",
            name(r),
            r.pods.len(),
            pair(
                milli(now.and_then(|n| n.cpu.map(|c| c.0))),
                mib(now.and_then(|n| n.memory.map(|m| m.0)))
            ),
            pair(
                milli(lim.and_then(|n| n.cpu.map(|c| c.0))),
                mib(lim.and_then(|n| n.memory.map(|m| m.0)))
            ),
            if r.krr.is_some() {
                pair(milli(kc), mib(km))
            } else {
                "-".into()
            },
            v.map_or("-".into(), |v| pair(
                milli(Some(v.target.cpu_milli)),
                mib(Some(v.target.memory_bytes))
            )),
            v.map_or("-".into(), |v| format!(
                "{}-{} | {}-{}",
                milli(Some(v.lower_bound.cpu_milli)),
                milli(Some(v.upper_bound.cpu_milli)),
                mib(Some(v.lower_bound.memory_bytes)),
                mib(Some(v.upper_bound.memory_bytes))
            )),
        );
    }
    let krr_ran = reports.iter().any(|r| r.krr.is_some());
    if krr_ran {
        let _ = writeln!(s, "krr sets no CPU limit and memory limit = memory request; `-` = not enough data (100 points over 3 h)");
        for n in krr_hpa_notes(scenario, reports) {
            let _ = writeln!(s, "note: {n}");
        }
    }
    let flagged: Vec<String> = reports
        .iter()
        .flat_map(|r| {
            r.utilization.iter().filter_map(move |u| {
                let tag = |f: Provisioning| match f {
                    Provisioning::Over => Some("over-provisioned"),
                    Provisioning::Under => Some("under-provisioned"),
                    _ => None,
                };
                let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.0}%", v * 100.0));
                let cpu = tag(u.cpu_flag).map(|t| format!("cpu {} ({t})", pct(u.cpu)));
                let mem = tag(u.memory_flag).map(|t| format!("memory {} ({t})", pct(u.memory)));
                let parts: Vec<String> = cpu.into_iter().chain(mem).collect();
                (!parts.is_empty())
                    .then(|| format!("  {} pod {}: {}", name(r), u.pod, parts.join(", ")))
            })
        })
        .collect();
    if flagged.is_empty() {
        let _ = writeln!(
            s,
            "no pod below 30 % or above 90 % of its request (mean usage)"
        );
    } else {
        let _ = writeln!(s, "pods below 30 % (over-provisioned) or above 90 % (under-provisioned) of their request, mean usage:");
        for f in flagged {
            let _ = writeln!(s, "{f}");
        }
    }
    s
}

fn recommend_csv(reports: &[ContainerReport]) -> String {
    let mut s = String::from(
        "namespace,workload,container,pods,cpu_request_now_m,memory_request_now_bytes,\
         cpu_limit_now_m,memory_limit_now_bytes,krr_cpu_request_m,krr_memory_bytes,\
         vpa_target_cpu_m,vpa_target_memory_bytes,vpa_lower_cpu_m,vpa_lower_memory_bytes,\
         vpa_upper_cpu_m,vpa_upper_memory_bytes,pods_over_provisioned,pods_under_provisioned\n",
    );
    let o = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    for r in reports {
        let now = r.current.map(|c| c.effective_requests());
        let lim = r.current.map(|c| c.limits);
        let count = |f: Provisioning| {
            r.utilization
                .iter()
                .filter(|u| u.cpu_flag == f || u.memory_flag == f)
                .count()
        };
        let v = r.vpa;
        let cells = [
            r.key.namespace.clone(),
            r.key.workload.clone(),
            r.key.container.clone(),
            r.pods.len().to_string(),
            o(now.and_then(|n| n.cpu.map(|c| c.0))),
            o(now.and_then(|n| n.memory.map(|m| m.0))),
            o(lim.and_then(|n| n.cpu.map(|c| c.0))),
            o(lim.and_then(|n| n.memory.map(|m| m.0))),
            o(r.krr.and_then(|k| k.cpu_request_milli)),
            o(r.krr.and_then(|k| k.memory_bytes)),
            o(v.map(|v| v.target.cpu_milli)),
            o(v.map(|v| v.target.memory_bytes)),
            o(v.map(|v| v.lower_bound.cpu_milli)),
            o(v.map(|v| v.lower_bound.memory_bytes)),
            o(v.map(|v| v.upper_bound.cpu_milli)),
            o(v.map(|v| v.upper_bound.memory_bytes)),
            count(Provisioning::Over).to_string(),
            count(Provisioning::Under).to_string(),
        ];
        let quoted: Vec<String> = cells
            .iter()
            .map(|c| {
                if c.contains([',', '"', '\n']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c.clone()
                }
            })
            .collect();
        let _ = writeln!(s, "{}", quoted.join(","));
    }
    s
}

/// `costsim calibrate`: the fit report for stdout; with `out`, the profile YAML written there.
pub fn run_calibrate(
    sets: &[MetricsSet],
    service: &str,
    class: &str,
    render: Render,
    out: Option<&Path>,
) -> Result<String> {
    let samples: Vec<_> = sets
        .iter()
        .flat_map(|s| s.samples.iter().cloned())
        .collect();
    let sources = sets
        .iter()
        .map(|s| s.source.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    costsim::model::service::check_class_name(class)
        .map_err(|m| Error::input("<command line>", Some("--class".into()), m))?;
    let c = calibrate(&samples, service, &sources)?;
    let yaml = profile_yaml(&c, class, &sources)?;
    if let Some(path) = out {
        output::write_atomic(path, yaml.as_bytes())?;
    }
    Ok(match render {
        Render::Json => output::to_json_string(&json!({
            "calibration": c,
            "profile_file": out.map(|p| p.display().to_string()),
        })),
        Render::Table | Render::Csv => calibrate_table(&c, out),
    })
}

fn calibrate_table(c: &Calibration, out: Option<&Path>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "service {} — {} samples from {} pod(s), mean {:.2} requests/s",
        c.service,
        c.cpu.samples,
        c.pods.len(),
        c.mean_rate_per_s
    );
    let _ = writeln!(
        s,
        "cpu    = {:.2}m idle + {:.4} ms per request   R² {:.3}   residual sd {:.2}m ({:.0} % of samples within ±2 sd)",
        c.cpu.intercept * 1000.0,
        c.cpu.slope * 1000.0,
        c.cpu.r_squared,
        c.cpu.residual_sd * 1000.0,
        c.cpu.within_2sd * 100.0
    );
    let _ = writeln!(
        s,
        "memory = {:.2}Mi base + {:.1}Ki per in-flight request   R² {:.3}   residual sd {:.2}Mi ({:.0} % within ±2 sd)",
        c.memory.intercept / 1_048_576.0,
        c.memory.slope / 1024.0,
        c.memory.r_squared,
        c.memory.residual_sd / 1_048_576.0,
        c.memory.within_2sd * 100.0
    );
    for n in &c.notes {
        let _ = writeln!(s, "note: {n}");
    }
    match out {
        Some(p) => {
            let _ = writeln!(s, "profile written to {}", p.display());
        }
        None => {
            let _ = writeln!(s, "(no --out FILE: profile not written)");
        }
    }
    s
}
