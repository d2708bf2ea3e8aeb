//! The cost-optimization document as markdown: a pure function of the search result, the
//! scenario and the plot files beside it. Every figure is printed from `ranking.json` as it
//! stands there (costs to the cent, shares to the percent).

use std::fmt::Write as _;

use serde_json::Value;

use crate::eval::efficiency::{BAND_HIGH, BAND_LOW};
use crate::model::config::{HpaConfig, ResourceList, WorkloadConfig};
use crate::model::scenario::Scenario;
use crate::recommend::{
    OVER_PROVISIONED_BELOW as OVER_PROVISIONED, UNDER_PROVISIONED_ABOVE as UNDER_PROVISIONED,
};

use super::ranking::{Candidate, Ranking};

/// The efficiency band (usage / request) the ranking aims for.
pub const BAND: (f64, f64) = (BAND_LOW, BAND_HIGH);

/// A plot beside the document: file stem (`.svg` and `.png` exist) and caption.
#[derive(Debug, Clone)]
pub struct PlotRef {
    /// File name without extension.
    pub stem: String,
    /// Caption.
    pub caption: String,
}

/// What the document is written from.
pub struct Inputs<'a> {
    /// The search result.
    pub ranking: &'a Ranking,
    /// The candidate recommended (rank 1 unless chosen otherwise).
    pub recommended: &'a Candidate,
    /// The scenario the search ran.
    pub scenario: &'a Scenario,
    /// How the search directory was named on the command line.
    pub from: &'a str,
    /// The plots, in order.
    pub plots: &'a [PlotRef],
}

fn pct(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

fn opt_pct(x: Option<f64>) -> String {
    x.map_or("-".into(), pct)
}

fn money(x: f64) -> String {
    format!("{x:.2}")
}

fn list(r: &ResourceList) -> String {
    format!(
        "{} / {}",
        r.cpu.map_or("-".into(), |c| c.to_string()),
        r.memory.map_or("-".into(), |m| m.to_string())
    )
}

/// `3–10, cpu 70 %` (+ `behavior` when set).
pub fn hpa_summary(h: Option<&HpaConfig>) -> String {
    let Some(h) = h else {
        return "none".into();
    };
    let mut metrics: Vec<String> = h
        .metrics
        .iter()
        .map(|m| match (&m.resource, &m.pods, &m.object, &m.external) {
            (Some(r), ..) => match (r.target.average_utilization, &r.target.average_value) {
                (Some(u), _) => format!("{} {u} %", r.name),
                (None, Some(v)) => format!("{} {v} per pod", r.name),
                _ => r.name.clone(),
            },
            (_, Some(c), ..) | (_, _, Some(c), _) | (.., Some(c)) => {
                let t = c
                    .target
                    .average_value
                    .as_ref()
                    .or(c.target.value.as_ref())
                    .map(|q| q.to_string())
                    .unwrap_or_default();
                format!("{} {} {t}", m.kind, c.metric.name)
            }
            _ => m.kind.clone(),
        })
        .collect();
    if metrics.is_empty() {
        metrics.push("cpu 80 % (default)".into());
    }
    let behavior = match &h.behavior {
        Some(_) => ", behavior set",
        None => "",
    };
    format!(
        "{}–{}, {}{behavior}",
        h.min_replicas,
        h.max_replicas,
        metrics.join(", ")
    )
}

fn pools(w: &WorkloadConfig) -> String {
    w.pools().join(" + ")
}

fn sidecars(w: &WorkloadConfig) -> String {
    if w.sidecars.is_empty() {
        return "none".into();
    }
    w.sidecars
        .iter()
        .map(|s| {
            format!(
                "{} {} (limit {})",
                s.name,
                list(&s.resources.requests),
                list(&s.resources.limits)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn client_pools(c: &Candidate, workload: &str) -> String {
    let v = serde_json::to_value(&c.config.workloads)
        .ok()
        .and_then(|w| w.get(workload)?.get("client_pools").cloned());
    match v {
        None | Some(Value::Null) => "none".into(),
        Some(p) => {
            let s = crate::manifests::emit::pool_settings(&p);
            if s.is_empty() {
                "none".into()
            } else {
                s.iter()
                    .map(|(k, v)| format!("`{k}={v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }
    }
}

/// A share as a percentage with one decimal (`99.8 %`): where whole percent would round a
/// peak just under a limit up to it.
fn pct1(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn act(c: &Candidate, workload: &str, key: &str) -> f64 {
    c.activity_of(workload)
        .and_then(|a| a.get(key))
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

/// The UTC date and time of a unix second, `1995-07-01 04:00 UTC`.
pub fn utc(unix_s: i64) -> String {
    let days = unix_s.div_euclid(86_400);
    let secs = unix_s.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        (secs % 3600) / 60
    )
}

/// The whole document.
pub fn document(i: &Inputs) -> String {
    let r = i.ranking;
    let base = &r.baseline;
    let rec = i.recommended;
    let cur = &r.currency;
    let sc = i.scenario;
    let mut o = String::new();
    let _ = writeln!(o, "# Cost optimization: {}\n", r.scenario);
    let _ = writeln!(
        o,
        "Generated by `costsim report --from {}` from a search of {} ({} feasible) on \
         {:.1} h of recorded traffic, seed {}. Every figure below is taken from `ranking.json`; \
         costs are in {cur}.\n",
        i.from,
        crate::output::plural(r.evaluated as u64, "candidate"),
        r.feasible,
        r.horizon_hours,
        r.seed
    );

    // Summary.
    let now = base.monthly();
    let new = rec.monthly();
    let saved = now - new;
    // A baseline that costs nothing has no share to save (it printed `0.0 %`).
    let share = if now > 0.0 {
        format!("{:.1} %", saved / now * 100.0)
    } else {
        "no percentage: the current configuration costs nothing".to_string()
    };
    let (bb, bw) = base.windows();
    let (rb, rw) = rec.windows();
    let _ = writeln!(o, "## Summary\n");
    let _ = writeln!(o, "| | current | recommended (rank {}) |", rec.rank);
    let _ = writeln!(o, "|---|---:|---:|");
    let _ = writeln!(
        o,
        "| monthly cost ({cur}) | {} | {} |",
        money(now),
        money(new)
    );
    let _ = writeln!(
        o,
        "| CPU / memory usage ÷ request | {} / {} | {} / {} |",
        pct(base.efficiency.cpu),
        pct(base.efficiency.memory),
        pct(rec.efficiency.cpu),
        pct(rec.efficiency.memory)
    );
    let _ = writeln!(
        o,
        "| distance from the 60–80 % band | {:.4} | {:.4} |",
        base.band(),
        rec.band()
    );
    let _ = writeln!(o, "| SLA windows failed | {bb} of {bw} | {rb} of {rw} |");
    let _ = writeln!(
        o,
        "| feasible ({}) | {} | {} |",
        if sc.services.iter().any(|s| s.min_replicas > 1) {
            "SLA, connection limits and availability floors"
        } else {
            "SLA and connection limits"
        },
        base.feasibility_word(),
        rec.feasibility_word()
    );
    if let (Some(pb), Some(pr)) = (base.breach_probability(), rec.breach_probability()) {
        let _ = writeln!(
            o,
            "| SLA breach probability (95 % interval) | {:.3} [{:.3}, {:.3}] | {:.3} [{:.3}, {:.3}] |",
            pb.p, pb.low, pb.high, pr.p, pr.low, pr.high
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "**Savings: {} {cur}/month ({})** — from {} to {} {cur}/month.\n",
        money(saved),
        share,
        money(now),
        money(new)
    );
    // Paired over the same replications: the saving's interval (both means over the same
    // replications), or, when they ran different ones, the paired saving the means are not.
    if let Some((d, whole)) = rec.paired_saving(base) {
        let same = money(d.ci_low) == money(d.ci_high);
        let spread = if same {
            "the same in each".to_string()
        } else {
            format!("95 % interval {}–{}", money(-d.ci_high), money(-d.ci_low))
        };
        let _ = if whole {
            writeln!(
                o,
                "Paired over the {} replications both configurations ran (the same random \
                 streams), the saving {}.\n",
                d.replications,
                if same {
                    "is the same in each".to_string()
                } else {
                    format!("has the {spread}")
                }
            )
        } else {
            writeln!(
                o,
                "The two means are over different replications; paired over the {} both ran \
                 (the same random streams), the saving is {} {cur}/month, {spread}.\n",
                d.replications,
                money(-d.mean)
            )
        };
    }
    let _ = writeln!(o, "Risk: {}\n", risk(rec, base, sc));
    // What the simulation warns of, per workload (the same lines `simulate` prints).
    for (label, c) in [("recommended", rec), ("current", base)] {
        let lines: Vec<String> = c
            .activity
            .iter()
            .flat_map(|a| {
                let name = a.get("workload").and_then(Value::as_str).unwrap_or("?");
                a.get("warnings")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(move |w| format!("- `{name}`: {w}"))
            })
            .collect();
        if !lines.is_empty() {
            let _ = writeln!(
                o,
                "Warnings, {label} configuration (replication 0):\n\n{}\n",
                lines.join("\n")
            );
        }
    }

    // Current vs recommended.
    let _ = writeln!(o, "## Current vs recommended, per workload\n");
    let _ = writeln!(o, "Recommended configuration: `{}`.\n", rec.name);
    let _ = writeln!(
        o,
        "| workload | | node pool | replicas | requests cpu / memory | limits cpu / memory | HPA | sidecars | client pools |"
    );
    let _ = writeln!(o, "|---|---|---|---:|---|---|---|---|---|");
    for (name, bw) in &base.config.workloads {
        let rw = rec.config.workloads.get(name);
        for (label, c, w) in [("current", base, Some(bw)), ("recommended", rec, rw)] {
            let Some(w) = w else { continue };
            let _ = writeln!(
                o,
                "| {name} | {label} | {} | {} | {} | {} | {} | {} | {} |",
                pools(w),
                w.replicas,
                list(&w.resources.requests),
                list(&w.resources.limits),
                hpa_summary(w.hpa.as_ref()),
                sidecars(w),
                client_pools(c, name)
            );
        }
    }
    let _ = writeln!(
        o,
        "\nReplicas are the starting count; with an HPA the pods ranged as below.\n"
    );
    let _ = writeln!(
        o,
        "| workload | pods on nodes, mean (current → recommended) | ready pods min–max current | ready pods min–max recommended |"
    );
    let _ = writeln!(o, "|---|---|---|---|");
    for name in base.config.workloads.keys() {
        let _ = writeln!(
            o,
            "| {name} | {:.2} → {:.2} | {}–{} | {}–{} |",
            act(base, name, "mean_pods"),
            act(rec, name, "mean_pods"),
            act(base, name, "ready_min"),
            act(base, name, "ready_max"),
            act(rec, name, "ready_min"),
            act(rec, name, "ready_max")
        );
    }

    // Churn: what the replica ranges do not show (each pod started is a cold start, each
    // eviction a restart elsewhere, each pending second a pod not serving).
    let _ = writeln!(
        o,
        "\nChurn over the {:.1} h simulated (replication 0): HPA scale-ups and scale-downs, pods \
         evicted when the cluster autoscaler removed their node, and pod-hours spent Pending.\n",
        r.horizon_hours
    );
    let _ = writeln!(
        o,
        "| workload | scale-ups (current → recommended) | scale-downs | evictions | pending pod-hours |"
    );
    let _ = writeln!(o, "|---|---|---|---|---|");
    for name in base.config.workloads.keys() {
        let both = |key: &str, scale: f64, digits: usize| {
            format!(
                "{:.*} → {:.*}",
                digits,
                act(base, name, key) / scale,
                digits,
                act(rec, name, key) / scale
            )
        };
        let _ = writeln!(
            o,
            "| {name} | {} | {} | {} | {} |",
            both("scale_ups", 1.0, 0),
            both("scale_downs", 1.0, 0),
            both("evictions", 1.0, 0),
            both("pending_pod_seconds", 3600.0, 1)
        );
    }

    // Provisioning flags.
    let _ = writeln!(o, "\n## Over- and under-provisioned pods\n");
    let _ = writeln!(
        o,
        "Time-weighted usage ÷ request of each workload's pods: below {} is over-provisioned, \
         above {} under-provisioned.\n",
        pct(OVER_PROVISIONED),
        pct(UNDER_PROVISIONED)
    );
    let _ = writeln!(
        o,
        "| workload | resource | current | flag | recommended | flag |"
    );
    let _ = writeln!(o, "|---|---|---:|---|---:|---|");
    for name in base.config.workloads.keys() {
        let (b, n) = (base.efficiency_of(name), rec.efficiency_of(name));
        for (res, bv, nv) in [
            ("cpu", b.and_then(|e| e.cpu), n.and_then(|e| e.cpu)),
            ("memory", b.and_then(|e| e.memory), n.and_then(|e| e.memory)),
        ] {
            let _ = writeln!(
                o,
                "| {name} | {res} | {} | {} | {} | {} |",
                opt_pct(bv),
                flag(bv),
                opt_pct(nv),
                flag(nv)
            );
        }
    }

    under_provisioned_notes(&mut o, rec);

    // Utilization vs band.
    let _ = writeln!(o, "\n## Utilization against the 60–80 % band\n");
    let _ = writeln!(
        o,
        "Usage ÷ request (what the band refers to), summed over workloads: CPU {} → {}, memory {} → {}; \
         band distance {:.4} → {:.4} (0 inside the band).\n",
        pct(base.efficiency.cpu),
        pct(rec.efficiency.cpu),
        pct(base.efficiency.memory),
        pct(rec.efficiency.memory),
        base.band(),
        rec.band()
    );
    let _ = writeln!(
        o,
        "Node pools, requested ÷ allocatable (what the cluster autoscaler acts on) and used ÷ allocatable:\n"
    );
    let _ = writeln!(
        o,
        "| pool | | cpu requested | memory requested | cpu used | memory used |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|");
    for (label, c) in [("current", base), ("recommended", rec)] {
        for p in &c.efficiency.pools {
            let _ = writeln!(
                o,
                "| {} | {label} | {} | {} | {} | {} |",
                p.pool,
                opt_pct(p.cpu_requested),
                opt_pct(p.memory_requested),
                opt_pct(p.cpu_used),
                opt_pct(p.memory_used)
            );
        }
    }

    // Costs.
    let _ = writeln!(
        o,
        "\n## Cost breakdown over the {:.1} h simulated\n",
        r.horizon_hours
    );
    let _ = writeln!(
        o,
        "One run each (the search's replication 0, seed {}), so the totals scale to slightly other monthly figures than the summary's, which are means over the replications.\n",
        r.seed
    );
    let _ = writeln!(o, "| item | current ({cur}) | recommended ({cur}) |");
    let _ = writeln!(o, "|---|---:|---:|");
    let pool_names: Vec<&String> = base.cost.pools.iter().map(|p| &p.pool).collect();
    for p in pool_names {
        let fmt = |c: &Candidate| {
            c.cost
                .pools
                .iter()
                .find(|x| &x.pool == p)
                .map_or("-".into(), |x| {
                    format!(
                        "{} ({:.1} node-h, peak {})",
                        money(x.horizon),
                        x.node_hours,
                        x.peak_nodes
                    )
                })
        };
        let _ = writeln!(o, "| pool {p} | {} | {} |", fmt(base), fmt(rec));
    }
    let _ = writeln!(
        o,
        "| management fee | {} | {} |",
        money(base.cost.management_fee),
        money(rec.cost.management_fee)
    );
    for w in &base.cost.workloads {
        let n = rec
            .cost
            .workloads
            .iter()
            .find(|x| x.workload == w.workload)
            .map_or("-".into(), |x| money(x.horizon));
        let _ = writeln!(
            o,
            "| allocated to {} | {} | {n} |",
            w.workload,
            money(w.horizon)
        );
    }
    let _ = writeln!(
        o,
        "| idle (node cost not allocated) | {} | {} |",
        money(base.cost.idle),
        money(rec.cost.idle)
    );
    let _ = writeln!(
        o,
        "| **total** | **{}** | **{}** |\n",
        money(base.cost.horizon),
        money(rec.cost.horizon)
    );
    let _ = writeln!(
        o,
        "Allocation follows OpenCost: max(request, usage) × the node's unit rate; idle is the rest \
         of the node cost. A pool no workload uses is taken as scaled to zero.\n"
    );

    // SLA.
    let _ = writeln!(o, "## SLA\n");
    let _ = writeln!(
        o,
        "A configuration meets the SLA when at most {} of its {} windows fail.\n",
        pct(sc.sla.max_breached_window_fraction),
        crate::time::format_duration(sc.sla.window)
    );
    let _ = writeln!(
        o,
        "| objective | target p99 / errors | current worst p99 · median p99 · error rate · failed | recommended worst p99 · median p99 · error rate · failed |"
    );
    let _ = writeln!(o, "|---|---|---|---|");
    for spec in &sc.sla.objectives {
        let cell = |c: &Candidate| {
            c.sla
                .get("objectives")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter().find(|x| {
                        x.get("service").and_then(Value::as_str) == Some(&spec.service)
                            && x.get("class").and_then(Value::as_str) == Some(&spec.class)
                    })
                })
                .map_or("-".into(), |x| {
                    let f = |k: &str| x.get(k).and_then(Value::as_f64).unwrap_or(0.0);
                    format!(
                        "{:.3} s · {:.3} s · {:.4} % · {}",
                        f("worst_p99_s"),
                        f("median_p99_s"),
                        f("error_rate") * 100.0,
                        f("breached_windows")
                    )
                })
        };
        let _ = writeln!(
            o,
            "| {}/{} | {} / {:.2} % | {} | {} |",
            spec.service,
            spec.class,
            crate::time::format_duration(spec.p99),
            spec.max_error_rate * 100.0,
            cell(base),
            cell(rec)
        );
    }
    let _ = writeln!(o);
    match (base.breach_probability(), rec.breach_probability()) {
        (Some(pb), Some(pr)) => {
            let reps = |n: Option<u64>| {
                n.map_or(String::new(), |n| {
                    format!(" over {}", crate::output::plural(n, "replication"))
                })
            };
            let _ = writeln!(
                o,
                "Breach probability (the share of replications that break the SLA, 95 % interval): \
                 current {:.3} [{:.3}, {:.3}]{}, recommended {:.3} [{:.3}, {:.3}]{}.\n",
                pb.p,
                pb.low,
                pb.high,
                reps(pb.replications),
                pr.p,
                pr.low,
                pr.high,
                reps(pr.replications)
            );
        }
        _ => {
            let _ = writeln!(
                o,
                "The search ran one replication, so there is no breach probability with an interval: \
                 the figures above are one replay of the recorded traffic.\n"
            );
        }
    }

    // Connections.
    if !base.connections.is_empty() || !rec.connections.is_empty() {
        let _ = writeln!(o, "## Connection pools\n");
        let _ = writeln!(
            o,
            "Connections each server could see at `maxReplicas` during a rollout ((maxReplicas + maxSurge + maxUnavailable terminating pods) × processes × (pool size + monitors)) against its limit, and the peak the simulation used:\n"
        );
        let _ = writeln!(
            o,
            "| server | current: budget / limit · peak | recommended: budget / limit · peak |"
        );
        let _ = writeln!(o, "|---|---|---|");
        let mut servers: Vec<&str> = base
            .connections
            .iter()
            .chain(&rec.connections)
            .filter_map(|c| c.get("server").and_then(Value::as_str))
            .collect();
        servers.sort_unstable();
        servers.dedup();
        for server in servers {
            let cell = |c: &Candidate| {
                c.connections
                    .iter()
                    .find(|x| x.get("server").and_then(Value::as_str) == Some(server))
                    .map_or("-".into(), |x| {
                        let f = |k: &str| x.get(k).and_then(Value::as_f64).unwrap_or(0.0);
                        let over = if x.get("within_limit").and_then(Value::as_bool) == Some(false)
                        {
                            " (**over the limit**)"
                        } else {
                            ""
                        };
                        format!(
                            "{:.0} / {:.0}{over} · {:.0}",
                            f("budget_at_max_replicas"),
                            f("limit"),
                            f("peak_connections")
                        )
                    })
            };
            let _ = writeln!(o, "| {server} | {} | {} |", cell(base), cell(rec));
        }
        let _ = writeln!(o);
    }

    // Pareto.
    let _ = writeln!(o, "## Pareto front\n");
    let front: Vec<&Candidate> = r
        .candidates
        .iter()
        .filter(|c| c.pareto == Some(true))
        .collect();
    if r.candidates.iter().all(|c| c.pareto.is_none()) {
        let _ = writeln!(
            o,
            "`ranking.json` marks no Pareto set (the search did not compute one); the plot shows \
             every candidate's cost against its band distance.\n"
        );
    } else {
        let _ = writeln!(
            o,
            "Candidates no other beats on monthly cost, breach probability and band distance at once (the front spans every candidate, so an infeasible one that is cheapest, or closest to the band, is on it too):\n"
        );
        let _ = writeln!(
            o,
            "| rank | feasible | monthly ({cur}) | breach probability | band distance | config |"
        );
        let _ = writeln!(o, "|---:|---|---:|---|---:|---|");
        for c in front {
            let bp = c.breach_probability().map_or("-".into(), |b| {
                format!("{:.3} [{:.3}, {:.3}]", b.p, b.low, b.high)
            });
            let _ = writeln!(
                o,
                "| {} | {} | {} | {bp} | {:.4} | `{}` |",
                c.rank,
                c.feasibility_word(),
                money(c.monthly()),
                c.band(),
                c.name
            );
        }
        let _ = writeln!(o);
    }

    // Plots.
    let _ = writeln!(o, "## Plots\n");
    for p in i.plots {
        let _ = writeln!(
            o,
            "![{}]({}.svg)\n\n{} ([PNG]({}.png))\n",
            p.caption, p.stem, p.caption, p.stem
        );
    }

    // Assumptions.
    let cat = &sc.catalog;
    let _ = writeln!(o, "## Assumptions\n");
    let _ = writeln!(
        o,
        "- Prices: catalog `{}` ({}), {} list prices as of {} (`ranking.json`: {}); sources per number in the \
         catalog file's comments and `models/README.md`.",
        cat.catalog, cat.region, cat.currency, cat.prices_as_of, r.prices_as_of
    );
    for p in &cat.pools {
        let _ = writeln!(
            o,
            "  - pool `{}`: {} ({} vCPU, {}), {} {}/node-hour{}, {}.",
            p.name,
            p.instance_type,
            p.vcpu,
            p.memory,
            p.price_per_hour,
            cat.currency,
            if p.per_node_fee_per_hour > 0.0 {
                format!(" + {} per node-hour", p.per_node_fee_per_hour)
            } else {
                String::new()
            },
            p.billing
        );
    }
    if sc.management_fee {
        let _ = writeln!(
            o,
            "  - cluster fee: {}, {} {}/hour.",
            cat.cluster_fee.name, cat.cluster_fee.per_hour, cat.currency
        );
    }
    let _ = writeln!(
        o,
        "- Trace span: {} to {} ({:.1} h); monthly figures scale the horizon's cost to a month of {} hours.",
        utc(sc.trace_start_unix_s),
        utc(sc.trace_start_unix_s + (sc.horizon / 1000) as i64),
        sc.horizon as f64 / 3.6e6,
        crate::time::HOURS_PER_MONTH
    );
    for s in &sc.services {
        match &s.rate {
            Some(rate) => {
                let _ = writeln!(
                    o,
                    "- Traffic of `{}`: source `{}` ×{}.",
                    s.name, rate.source, s.scale
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "- Traffic of `{}`: its callers' downstream operations.",
                    s.name
                );
            }
        }
    }
    let floors: Vec<String> = sc
        .services
        .iter()
        .filter(|s| s.min_replicas > 1)
        .map(|s| format!("`{}` ≥ {}", s.name, s.min_replicas))
        .collect();
    if floors.is_empty() {
        let _ = writeln!(
            o,
            "- Availability: no floor on replicas; the SLA windows count the drains, OOM kills and rollouts simulated, not node failures."
        );
    } else {
        let _ = writeln!(
            o,
            "- Availability floors (the scenario's `min_replicas`): {} replicas at all times, so the loss of one pod, which the model does not simulate, leaves one serving (a node loss does too only when the pods run on different nodes: see the warnings); a config below a floor is infeasible.",
            floors.join(", ")
        );
    }
    let _ = writeln!(
        o,
        "- Scenario `{}` (`{}`), seed {}.",
        sc.name, sc.file, r.seed
    );
    for n in &r.notes {
        let _ = writeln!(o, "- Note: {n}");
    }

    // Checklist.
    let _ = writeln!(o, "\n## Rollout checklist\n");
    let _ = writeln!(
        o,
        "- [ ] Node pools: the recommended pools ({}) have room, and a pool no workload uses any more is scaled to zero or deleted (the saving assumes it).",
        {
            let mut ps: Vec<&str> = rec.config.workloads.values().flat_map(|w| w.pools()).collect();
            ps.sort_unstable();
            ps.dedup();
            ps.join(", ")
        }
    );
    let _ = writeln!(
        o,
        "- [ ] Pods schedule: `kubectl get pods -o wide` shows every pod Running on the intended pool, none Pending."
    );
    for b in crate::manifests::emit::blocking_budgets(&rec.config, &sc.availability_floors()) {
        let _ = writeln!(o, "- [ ] Disruption budget: {b}.");
    }
    let managed: Vec<&str> = rec
        .config
        .workloads
        .iter()
        .filter(|(_, w)| w.hpa.is_some())
        .map(|(n, _)| n.as_str())
        .collect();
    if !managed.is_empty() {
        let _ = writeln!(
            o,
            "- [ ] HPA-managed Deployments ({}): the emitted manifests leave out `spec.replicas`; before the first apply, remove it from the live object's last-applied configuration (`kubectl apply edit-last-applied deployment/<name>`), or the Deployment drops to 1 replica for a moment.",
            managed.join(", ")
        );
    }
    for name in rec.config.workloads.keys() {
        let ooms = act(rec, name, "oom_kills");
        let thr = act(rec, name, "throttled_period_ratio");
        let rej = act(rec, name, "rejected") + act(rec, name, "timed_out");
        let _ = writeln!(
            o,
            "- [ ] `{name}`: OOM kills (simulated {ooms:.0}; watch `kubectl get events --field-selector reason=OOMKilling` and restarts in `kubectl get pods`), \
             CPU throttling (simulated {:.1} % of CFS periods; watch `container_cpu_cfs_throttled_periods_total`), \
             rejected or timed-out requests (simulated {rej:.0}).",
            thr * 100.0
        );
    }
    let _ = writeln!(
        o,
        "- [ ] Connection pools: no pool-timeout or `max_connections` errors in the app logs (pymongo `WaitQueueTimeoutError`, redis-py `ConnectionError: Too many connections`), and the server's connection count at `maxReplicas`, during a rollout too, stays under its limit."
    );
    let _ = writeln!(
        o,
        "- [ ] HPA: `kubectl describe hpa` shows the targets met and scale-ups within `maxReplicas`; compare the replica counts with the plot above for a week."
    );
    let _ = writeln!(
        o,
        "- [ ] Utilization: after a week of `kubectl top pods`, usage ÷ request sits near the 60–80 % band; re-run `costsim recommend` on those metrics."
    );
    o
}

/// What an under-provisioned flag on the recommendation means, and the request that would
/// bring usage to the top of the band (usage ÷ request = 80 %).
fn under_provisioned_notes(o: &mut String, rec: &Candidate) {
    for (name, w) in &rec.config.workloads {
        let Some(e) = rec.efficiency_of(name) else {
            continue;
        };
        let (cpu_request, memory_request) = w.resources.effective_request_values();
        for (res, usage, request) in [
            ("CPU", e.cpu, cpu_request),
            ("memory", e.memory, memory_request),
        ] {
            let (Some(u), Some(r)) = (usage, request) else {
                continue;
            };
            if u <= UNDER_PROVISIONED {
                continue;
            }
            let needed = u * r as f64 / BAND.1;
            let (now, to) = if res == "CPU" {
                let to = crate::quantity::MilliCpu(needed.ceil() as i64);
                (crate::quantity::MilliCpu(r).to_string(), to.to_string())
            } else {
                let mib = (needed / 1_048_576.0).ceil() as i64;
                let to = crate::quantity::Bytes(mib * 1_048_576);
                (crate::quantity::Bytes(r).to_string(), to.to_string())
            };
            let evicted = act(rec, name, "pressure_evictions");
            // What the margin risks, from the run's own peak where it has one.
            let peak = act(rec, name, "peak_pod_memory_bytes") / r as f64;
            let margin = match res {
                "memory" if peak > 1.0 => format!(
                    "its working set peaks at {} of the request, and pods above their memory \
                     request are the first the kubelet evicts under node memory pressure",
                    pct1(peak)
                ),
                "memory" if peak > 0.0 => format!(
                    "its working set peaks at {} of the request, so a burst beyond the \
                     simulated traffic passes it, and pods above their memory request are the \
                     first the kubelet evicts under node memory pressure",
                    pct1(peak)
                ),
                "memory" => "bursts go above the request, and pods above their memory request \
                     are the first the kubelet evicts under node memory pressure"
                    .to_string(),
                _ => "above its request a pod gets only the CPU its node has spare, and the \
                     HPA reads its usage against the request"
                    .to_string(),
            };
            let _ = writeln!(
                o,
                "\n- **{name} {res}** uses {} of its {now} request on average. It is still \
                 recommended because the simulation, which models the kubelet's evictions, kept \
                 it within the SLA risk budget{}. It leaves little margin, though: {margin}. A \
                 request of {to} brings it to {} (the top of the band) at a higher cost; \
                 `costsim simulate --config` with that request prices it.",
                pct(u),
                if evicted > 0.0 {
                    format!(", with {evicted:.0} pressure evictions in the first replication")
                } else {
                    ", with no pressure eviction in the first replication".to_string()
                },
                pct(BAND.1),
            );
        }
    }
}

fn flag(x: Option<f64>) -> &'static str {
    match crate::recommend::provisioning(x) {
        crate::recommend::Provisioning::Over => "over-provisioned",
        crate::recommend::Provisioning::Under => "under-provisioned",
        crate::recommend::Provisioning::Ok => "ok",
        crate::recommend::Provisioning::Unknown => "-",
    }
}

/// One sentence on the risk the recommendation adds.
fn risk(rec: &Candidate, base: &Candidate, sc: &Scenario) -> String {
    let (rb, rw) = rec.windows();
    let (bb, _) = base.windows();
    let mut parts = Vec::new();
    let over = |c: &Candidate| {
        c.connections
            .iter()
            .filter(|x| x.get("within_limit").and_then(Value::as_bool) == Some(false))
            .filter_map(|x| x.get("server").and_then(Value::as_str).map(String::from))
            .collect::<Vec<_>>()
    };
    if !over(base).is_empty() {
        parts.push(format!(
            "the current configuration's pools can open more connections at maxReplicas (with a rollout's surge) than the limit of {}",
            over(base).join(", ")
        ));
    }
    if !over(rec).is_empty() {
        parts.push(format!(
            "the recommended configuration's pools can exceed the connection limit of {}",
            over(rec).join(", ")
        ));
    }
    if !base.below_floor().is_empty() {
        parts.push(format!(
            "the current configuration may run {} below the availability floor",
            base.below_floor().join(", ")
        ));
    }
    if !rec.below_floor().is_empty() {
        parts.push(format!(
            "the recommended configuration may run {} below the availability floor",
            rec.below_floor().join(", ")
        ));
    }
    if rec.verdict.as_deref() == Some("undecided") {
        parts.push(format!(
            "the recommended configuration's breach probability is not yet proven within the risk budget (too few replications; {rb} of {rw} windows failed in replication 0)"
        ));
    } else if !rec.feasible && (!over(rec).is_empty() || !rec.below_floor().is_empty()) {
        // Infeasible for what the config is, named above, not for its SLA windows.
        parts.push(format!(
            "the recommended configuration is infeasible for that reason ({rb} of {rw} SLA windows failed in replication 0)"
        ));
    } else if !rec.feasible {
        parts.push(format!(
            "the recommended configuration BREAKS the SLA ({rb} of {rw} windows failed)"
        ));
    } else {
        parts.push(format!(
            "the recommended configuration meets the SLA ({rb} of {rw} windows failed, {bb} with the current one; allowed {})",
            pct(sc.sla.max_breached_window_fraction)
        ));
    }
    if let Some(b) = rec.breach_probability() {
        parts.push(format!(
            "breach probability {:.3} (95 % interval {:.3}–{:.3})",
            b.p, b.low, b.high
        ));
    }
    let sum = |c: &Candidate, k: &str| -> f64 {
        c.activity
            .iter()
            .filter_map(|a| a.get(k).and_then(Value::as_f64))
            .sum()
    };
    let ooms = sum(rec, "oom_kills");
    if ooms > 0.0 {
        parts.push(format!("{ooms:.0} simulated OOM kills"));
    }
    let max_thr = rec
        .activity
        .iter()
        .filter_map(|a| a.get("throttled_period_ratio").and_then(Value::as_f64))
        .fold(0.0, f64::max);
    if max_thr > 0.0 {
        parts.push(format!(
            "up to {:.1} % of CFS periods throttled",
            max_thr * 100.0
        ));
    }
    let mut s = parts.join("; ");
    s.push('.');
    s
}
