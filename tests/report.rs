//! `costsim report`, `emit` and `diff` end to end on the small fixed scenario of
//! `tests/fixtures/report/`: the document against its golden file and against `ranking.json`,
//! the plots as valid SVG (parsed as XML) and PNG (signature and size), the emitted manifests
//! read back through `--manifests` to exactly the chosen config.
//!
//! `UPDATE_GOLDEN=1 cargo test --test report` rewrites the golden file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

const GOLDEN: &str = "tests/fixtures/report/cost-optimization.md";

/// The fixture copied to a temp dir, searched once (`out/`) and reported (`doc/`).
struct Run {
    dir: tempfile::TempDir,
    /// What `search` printed.
    search_table: String,
}

fn costsim(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costsim"))
        .args(["--scenario", "scenario.yaml", "--quiet"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run costsim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `tests/fixtures/report` copied into a fresh temporary directory.
fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in fs::read_dir(repo().join("tests/fixtures/report")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    dir
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = fixture_copy();
        let (code, search_table, err) = costsim(dir.path(), &["search", "--out", "out"]);
        assert_eq!(code, 0, "search: {err}");
        let (code, _, err) = costsim(dir.path(), &["report", "--from", "out", "--out", "doc"]);
        assert_eq!(code, 0, "report: {err}");
        Run { dir, search_table }
    })
}

impl Run {
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    fn ranking(&self) -> Value {
        serde_json::from_str(&fs::read_to_string(self.path("out/ranking.json")).unwrap()).unwrap()
    }
    fn doc(&self) -> String {
        fs::read_to_string(self.path("doc/cost-optimization.md")).unwrap()
    }
}

#[test]
fn report_matches_the_golden_file() {
    let doc = run().doc();
    let golden = repo().join(GOLDEN);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&golden, &doc).unwrap();
    }
    let want = fs::read_to_string(&golden).expect("golden file (UPDATE_GOLDEN=1 writes it)");
    assert_eq!(
        doc, want,
        "the report drifted from {GOLDEN}; UPDATE_GOLDEN=1 after checking"
    );
}

/// The number after `prefix` in `text` (up to the next space or `|`).
fn number_after(text: &str, prefix: &str) -> f64 {
    let i = text
        .find(prefix)
        .unwrap_or_else(|| panic!("`{prefix}` not in the document"))
        + prefix.len();
    let s: String = text[i..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    s.parse()
        .unwrap_or_else(|_| panic!("no number after `{prefix}`: {s:?}"))
}

#[test]
fn report_numbers_match_ranking_json() {
    let r = run().ranking();
    let doc = run().doc();
    let now = r["baseline"]["cost"]["monthly"].as_f64().unwrap();
    let best = &r["candidates"][0];
    let new = best["cost"]["monthly"].as_f64().unwrap();
    let row = format!("| monthly cost ({}) | ", r["currency"].as_str().unwrap());
    assert_eq!(number_after(&doc, &row), now);
    assert_eq!(number_after(&doc, &format!("{row}{now:.2} | ")), new);
    let saved = number_after(&doc, "**Savings: ");
    assert!(
        (saved - (now - new)).abs() < 0.005,
        "{saved} vs {}",
        now - new
    );
    let share = number_after(&doc, &format!("{saved:.2} CNY/month ("));
    assert!((share - (now - new) / now * 100.0).abs() < 0.05, "{share}");
    assert!(now > new, "the fixture's best candidate saves money");
    // Costs over the horizon, band distance and windows as ranking.json has them.
    let total = format!(
        "| **total** | **{:.2}** | **{:.2}** |",
        r["baseline"]["cost"]["horizon"].as_f64().unwrap(),
        best["cost"]["horizon"].as_f64().unwrap()
    );
    assert!(doc.contains(&total), "{total}");
    let band = format!(
        "| distance from the 60–80 % band | {:.4} | {:.4} |",
        r["baseline"]["band_distance"].as_f64().unwrap(),
        best["band_distance"].as_f64().unwrap()
    );
    assert!(doc.contains(&band), "{band}");
    // The churn row of the fixture's workload, from the activity of both.
    let act = |c: &Value, key: &str| c["activity"][0][key].as_f64().unwrap();
    let churn = format!(
        "| web | {} → {} | {} → {} | {} → {} | {:.1} → {:.1} |",
        act(&r["baseline"], "scale_ups"),
        act(best, "scale_ups"),
        act(&r["baseline"], "scale_downs"),
        act(best, "scale_downs"),
        act(&r["baseline"], "evictions"),
        act(best, "evictions"),
        act(&r["baseline"], "pending_pod_seconds") / 3600.0,
        act(best, "pending_pod_seconds") / 3600.0
    );
    assert!(doc.contains(&churn), "{churn}");
    let windows = format!(
        "| SLA windows failed | {} of {} | {} of {} |",
        r["baseline"]["sla"]["breached_windows"],
        r["baseline"]["sla"]["windows"],
        best["sla"]["breached_windows"],
        best["sla"]["windows"]
    );
    assert!(doc.contains(&windows), "{windows}");
    assert!(doc.contains(&format!("`{}`", best["name"].as_str().unwrap())));
    assert!(doc.contains("as of 2024-10-09"));
    assert!(doc.contains("1995-07-28 16:00 UTC to 1995-07-28 17:30 UTC"));
}

const PLOTS: [&str; 4] = ["replicas-nodes", "utilization", "cost-breakdown", "pareto"];

#[test]
fn plots_are_valid_svg_with_axis_labels() {
    for p in PLOTS {
        let text = fs::read_to_string(run().path(&format!("doc/{p}.svg"))).unwrap();
        let xml = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{p}.svg: {e}"));
        let root = xml.root_element();
        assert_eq!(root.tag_name().name(), "svg", "{p}");
        assert_eq!(root.attribute("width"), Some("960"), "{p}");
        assert_eq!(root.attribute("height"), Some("540"), "{p}");
        let texts: Vec<String> = root
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| n.text().unwrap_or("").trim().to_string())
            .collect();
        assert!(
            texts.len() > 10,
            "{p}.svg has {} text elements",
            texts.len()
        );
        let want = match p {
            "replicas-nodes" => "hours into the trace",
            "utilization" => "share of minutes",
            "cost-breakdown" => "idle",
            _ => "monthly cost (CNY)",
        };
        assert!(
            texts.iter().any(|t| t == want),
            "{p}.svg lacks `{want}`: {texts:?}"
        );
    }
}

#[test]
fn plots_are_valid_png_of_the_stated_size() {
    for p in PLOTS {
        let b = fs::read(run().path(&format!("doc/{p}.png"))).unwrap();
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{p}.png signature");
        assert_eq!(&b[12..16], b"IHDR", "{p}.png");
        let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
        assert_eq!((w, h), (960, 540), "{p}.png");
        assert!(
            b.len() > 10_000,
            "{p}.png is {} bytes: nothing drawn?",
            b.len()
        );
    }
}

#[test]
fn no_temporary_files_are_left() {
    for e in fs::read_dir(run().path("doc")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(!name.starts_with('.'), "left behind: {name}");
    }
}

#[test]
fn emit_round_trips_through_manifests_and_diff_shows_the_change() {
    let run = run();
    let dir = run.dir.path();
    let (code, out, err) = costsim(
        dir,
        &[
            "emit",
            "--from",
            "out",
            "--rank",
            "1",
            "--overlay",
            "prod",
            "--out",
            "k8s",
        ],
    );
    assert_eq!(code, 0, "emit: {err}");
    assert!(
        out.contains("k8s/overlays/prod/kustomization.yaml"),
        "{out}"
    );
    let r = run.ranking();
    // simulate --manifests uses what the overlay deploys as the config: the emitted one.
    let (code, out, err) = costsim(
        dir,
        &[
            "simulate",
            "--manifests",
            "k8s/overlays/prod",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "simulate --manifests: {err}");
    let sim: Value = serde_json::from_str(&out).unwrap();
    // Everything but the start count, which the manifests leave to the HPA: without
    // `spec.replicas` the run starts from the HPA's minimum.
    let mut want = r["candidates"][0]["config"].clone();
    for w in want["workloads"].as_object_mut().unwrap().values_mut() {
        if let Some(min) = w["hpa"]["minReplicas"].as_u64() {
            w["replicas"] = serde_json::json!(min.max(1));
        }
    }
    assert_eq!(sim["config"], want);
    // The base is the baseline.
    let (code, out, err) = costsim(
        dir,
        &["simulate", "--manifests", "k8s/base", "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let sim: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        sim["config"]["workloads"],
        r["baseline"]["config"]["workloads"]
    );
    // Same seed, same config: the same cost as the search found.
    assert_eq!(sim["cost"]["monthly"], r["baseline"]["cost"]["monthly"]);

    // A candidate the search left undecided is not said to breach the SLA.
    let undecided = r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["verdict"] == "undecided")
        .expect("the fixture's search leaves candidates undecided");
    let rank = (undecided + 1).to_string();
    let (code, out, err) = costsim(dir, &["diff", "--from", "out", "--rank", &rank]);
    assert_eq!(code, 0, "diff --rank {rank}: {err}");
    assert!(out.contains("(not proven feasible"), "{out}");
    assert!(!out.contains("breaches the SLA"), "{out}");
    let (code, out, err) = costsim(dir, &["diff", "--from", "out"]);
    assert_eq!(code, 0, "diff: {err}");
    assert!(out.contains("~ web node pool: general → light"), "{out}");
    assert!(out.contains("~ web memory request: 256Mi → 192Mi"), "{out}");
    assert!(
        !out.contains("client_pools"),
        "pools are shown setting by setting: {out}"
    );
    // The breach probabilities over the replications, beside replication 0's windows.
    let interval = |c: &serde_json::Value| {
        let s = &c["sla"];
        format!(
            "{:.3} [{:.3}, {:.3}] over {} replications",
            s["breach_probability"].as_f64().unwrap(),
            s["ci_low"].as_f64().unwrap(),
            s["ci_high"].as_f64().unwrap(),
            s["replications"]
        )
    };
    let line = format!(
        "SLA breach probability: {} → {}\n",
        interval(&r["baseline"]),
        interval(&r["candidates"][0])
    );
    assert!(out.contains(&line), "{line} in {out}");
    assert!(
        out.contains("SLA windows failed in replication 0: "),
        "{out}"
    );
    let now = r["baseline"]["cost"]["monthly"].as_f64().unwrap();
    let new = r["candidates"][0]["cost"]["monthly"].as_f64().unwrap();
    assert!(
        out.contains(&format!("monthly cost: {now:.2} → {new:.2} CNY")),
        "{out}"
    );
    // The search's summary gives the same saving to the cent.
    let saving = out
        .split("CNY (")
        .nth(1)
        .and_then(|rest| rest.split(" CNY").next())
        .unwrap_or_else(|| panic!("no saving in: {out}"));
    assert!(
        run.search_table
            .contains(&format!("rank 1 vs baseline: {saving} CNY/month")),
        "diff saves {saving}; search said:\n{}",
        run.search_table
    );
    // Against the overlay it emitted, nothing changes.
    let (code, out, err) = costsim(
        dir,
        &["diff", "--from", "out", "--manifests", "k8s/overlays/prod"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("no change: the baseline already deploys rank 1"),
        "{out}"
    );
    // No saving is promised for what is already deployed, nor an SLA change.
    assert!(!out.contains("monthly cost: "), "{out}");
    let rank1 = &run.ranking()["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["rank"] == 1)
        .unwrap()
        .clone();
    let windows = rank1["sla"]["windows"].as_u64().unwrap_or(0);
    assert!(
        out.lines()
            .any(|l| l.starts_with("SLA windows failed in replication 0: ")
                && !l.contains(" → ")
                && l.contains(&format!(" of {windows}"))
                && l.contains("(the search's baseline ")),
        "{out}"
    );
}

#[test]
fn report_of_a_missing_search_is_bad_input() {
    let (code, _, err) = costsim(run().dir.path(), &["report", "--from", "nowhere"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nowhere/ranking.json"), "{err}");
}

#[test]
fn a_broken_ranking_json_names_its_line_column_and_field_once() {
    let dir = fixture_copy();
    let from = dir.path().join("s");
    std::fs::create_dir(&from).unwrap();
    for (text, want) in [
        ("{\"version\": 1,\n \"scenario\": ", "line 2, column 13"),
        ("{\"version\": 1}", "line 1, column 14"),
        ("{\"scenario\": 7}", "line 1, column 14, field `scenario`"),
    ] {
        std::fs::write(from.join("ranking.json"), text).unwrap();
        let (code, _, err) = costsim(dir.path(), &["report", "--from", "s"]);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(want) && !err.contains(" at line "),
            "{want}: {err}"
        );
    }
}

#[test]
fn breach_probabilities_and_the_pareto_front_appear_when_the_search_gives_them() {
    let run = run();
    let mut r = run.ranking();
    let set = |c: &mut Value, p: f64, lo: f64, hi: f64| {
        c["sla"]["breach_probability"] =
            serde_json::json!({ "estimate": p, "ci_low": lo, "ci_high": hi, "replications": 16 });
    };
    set(&mut r["baseline"], 0.0625, 0.0111, 0.2833);
    r["baseline"]["connections"] = serde_json::json!([{ "server": "mongodb",
        "budget_at_max_replicas": 2040, "limit": 500, "peak_connections": 60.0, "within_limit": false }]);
    r["baseline"]["feasible"] = Value::Bool(false);
    r["baseline"]["verdict"] = Value::String("infeasible".into());
    let n = r["candidates"].as_array().unwrap().len();
    for i in 0..n {
        set(&mut r["candidates"][i], 0.125, 0.0349, 0.3604);
        r["candidates"][i]["pareto"] = Value::Bool(i < 2);
        r["candidates"][i]["feasible"] = Value::Bool(true);
        r["candidates"][i]["verdict"] = Value::String("feasible".into());
    }
    // The search ranks by the band distance's mean over the replications: the report shows
    // that one, not replication 0's.
    r["candidates"][0]["band_distance"] = serde_json::json!(0.1145);
    r["candidates"][0]["band_distance_mean"] = serde_json::json!(0.1151);
    without_pairings(&mut r);
    let out = run.path("out-mc");
    fs::create_dir_all(&out).unwrap();
    for f in ["timeline_rank1.csv", "timeline_baseline.csv"] {
        fs::copy(run.path(&format!("out/{f}")), out.join(f)).unwrap();
    }
    fs::write(
        out.join("ranking.json"),
        serde_json::to_string_pretty(&r).unwrap(),
    )
    .unwrap();
    let (code, _, err) = costsim(
        run.dir.path(),
        &["report", "--from", "out-mc", "--out", "doc-mc"],
    );
    assert_eq!(code, 0, "{err}");
    let doc = fs::read_to_string(run.path("doc-mc/cost-optimization.md")).unwrap();
    assert!(
        doc.contains("| SLA breach probability (95 % interval) | 0.062 [0.011, 0.283] | 0.125 [0.035, 0.360] |"),
        "{doc}"
    );
    assert!(doc.contains("over 16 replications"), "{doc}");
    assert!(
        doc.contains("| distance from the 60–80 % band |") && doc.contains("| 0.1151 |"),
        "{doc}"
    );
    assert!(!doc.contains("0.1145"), "{doc}");
    assert!(
        doc.contains("| mongodb | 2040 / 500 (**over the limit**) · 60 | - |"),
        "{doc}"
    );
    assert!(
        doc.contains("| feasible (SLA and connection limits) | **no** | yes |"),
        "{doc}"
    );
    assert!(
        doc.contains(
            "more connections at maxReplicas (with a rollout's surge) than the limit of mongodb"
        ),
        "{doc}"
    );
    let front = doc
        .split("## Pareto front")
        .nth(1)
        .unwrap()
        .split("## Plots")
        .next()
        .unwrap();
    let rows = front
        .lines()
        .filter(|l| l.starts_with("| 1 |") || l.starts_with("| 2 |"))
        .count();
    assert_eq!(rows, 2, "{front}");
    assert!(!front.contains("| 3 |"), "{front}");
    let svg = fs::read_to_string(run.path("doc-mc/pareto.svg")).unwrap();
    assert!(svg.contains("breach probability") && svg.contains("Pareto front"));
}

#[test]
fn results_of_another_version_of_the_scenario_are_bad_input() {
    let dir = fixture_copy();
    let (code, _, err) = costsim(dir.path(), &["search", "--out", "out"]);
    assert_eq!(code, 0, "search: {err}");
    // The same scenario name, another SLA: the ranking is not this scenario's.
    let path = dir.path().join("scenario.yaml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("window: 5m", "window: 10m")).unwrap();
    for args in [
        &["diff", "--from", "out"][..],
        &["report", "--from", "out", "--out", "doc"][..],
        &["emit", "--from", "out", "--out", "k8s"][..],
    ] {
        let (code, _, err) = costsim(dir.path(), args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.contains("model_digest") && err.contains("another version of scenario"),
            "{args:?}: {err}"
        );
    }
    assert!(!dir.path().join("doc").exists() && !dir.path().join("k8s").exists());
}

/// A copy of the search's `out/` as `name/`, with `edit` applied to its ranking.json.
fn edited_out(run: &Run, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let out = run.path(name);
    fs::create_dir_all(&out).unwrap();
    for f in ["timeline_rank1.csv", "timeline_baseline.csv", "ranking.csv"] {
        fs::copy(run.path(&format!("out/{f}")), out.join(f)).unwrap();
    }
    let mut r = run.ranking();
    edit(&mut r);
    fs::write(
        out.join("ranking.json"),
        serde_json::to_string_pretty(&r).unwrap(),
    )
    .unwrap();
    out
}

/// `report`, `emit` and `diff` from `from` fail as bad input (exit 2), with the error
/// containing each of `want`, and write nothing.
fn assert_all_reject(from: &str, want: &[&str]) {
    let run = run();
    let (doc, k8s) = (format!("{from}-doc"), format!("{from}-k8s"));
    for args in [
        &["diff", "--from", from][..],
        &["report", "--from", from, "--out", &doc][..],
        &["emit", "--from", from, "--out", &k8s][..],
    ] {
        let (code, out, err) = costsim(run.dir.path(), args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        for w in want {
            assert!(err.contains(w), "{args:?}: `{w}` not in: {err}");
        }
        assert_eq!(err.lines().count(), 1, "{args:?}: one error: {err}");
    }
    assert!(!run.path(&doc).exists() && !run.path(&k8s).exists());
}

#[test]
fn configs_in_ranking_json_get_the_checks_of_a_config_file() {
    let run = run();
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "bad-limits",
            Box::new(|r| {
                r["candidates"][0]["config"]["workloads"]["web"]["resources"]["limits"] =
                    serde_json::json!({ "cpu": "10m", "memory": "1Mi" });
            }),
            "candidates[0].config.workloads.web.resources.requests.cpu",
        ),
        (
            "bad-hpa",
            Box::new(|r| {
                r["candidates"][0]["config"]["workloads"]["web"]["hpa"]["minReplicas"] =
                    serde_json::json!(50);
            }),
            "candidates[0].config.workloads.web.hpa",
        ),
        (
            "no-workload",
            Box::new(|r| {
                r["candidates"][0]["config"]["workloads"] = serde_json::json!({});
            }),
            "candidates[0].config.workloads.web",
        ),
        (
            "bad-pool",
            Box::new(|r| {
                r["baseline"]["config"]["workloads"]["web"]["node_pool"] =
                    serde_json::json!("nowhere");
            }),
            "baseline.config.workloads.web.node_pool",
        ),
        (
            "extra-workload",
            Box::new(|r| {
                let web = r["candidates"][1]["config"]["workloads"]["web"].clone();
                r["candidates"][1]["config"]["workloads"]["api"] = web;
            }),
            "candidates[1].config.workloads.api",
        ),
    ];
    for (name, edit, path) in cases {
        edited_out(run, name, edit);
        assert_all_reject(name, &["ranking.json", path]);
    }
}

#[test]
fn numbers_in_ranking_json_a_search_cannot_write_are_bad_input() {
    // A hand-edited ranking.json used to give a document and diff with whatever it held: a
    // monthly cost of -5 (`-100.4 %` saved), 1e308 printed as 309 digits, a breach
    // probability of 2, 100 of 24 windows failed, no candidates (`ranks 1..0; got 1`).
    let run = run();
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "neg-cost",
            Box::new(|r| r["candidates"][0]["cost"]["monthly_mean"] = serde_json::json!(-5.0)),
            "candidates[0].cost.monthly_mean: -5.0 is negative: a search writes no negative cost",
        ),
        (
            "neg-activity",
            Box::new(|r| r["baseline"]["activity"][0]["oom_kills"] = serde_json::json!(-1)),
            "baseline.activity[0].oom_kills: -1 is negative",
        ),
        (
            "huge-cost",
            Box::new(|r| r["baseline"]["cost"]["monthly"] = serde_json::json!(1e308)),
            "baseline.cost.monthly: 1e308 CNY a month is more than the catalog",
        ),
        (
            "probability",
            Box::new(|r| r["candidates"][0]["sla"]["breach_probability"] = serde_json::json!(2.0)),
            "candidates[0].sla.breach_probability: 2.0 is not a probability or fraction",
        ),
        (
            "outside-interval",
            Box::new(|r| {
                r["candidates"][0]["sla"]["breach_probability"] = serde_json::json!(
                    { "estimate": 0.5, "ci_low": 0.01, "ci_high": 0.2 })
            }),
            "candidates[0].sla.breach_probability: 0.5 lies outside its 95 % interval [0.01, 0.2]",
        ),
        (
            "windows",
            Box::new(|r| r["candidates"][0]["sla"]["breached_windows"] = serde_json::json!(100000)),
            "candidates[0].sla.breached_windows: 100000 of",
        ),
        (
            "horizon",
            Box::new(|r| r["horizon_hours"] = serde_json::json!(0.0)),
            "horizon_hours: 0 is not a simulated span",
        ),
        (
            "no-candidates",
            Box::new(|r| r["candidates"] = serde_json::json!([])),
            "candidates: empty: a search writes every candidate it evaluated",
        ),
        (
            "rank",
            Box::new(|r| r["candidates"][0]["rank"] = serde_json::json!(7)),
            "candidates[0].rank: 7: the candidates are listed best first, so entry 0 has rank 1",
        ),
        (
            "difference-outside",
            Box::new(|r| {
                r["candidates"][0]["cost"]["vs_baseline"] = serde_json::json!(
                    { "replications": 4, "mean": 5.0, "ci_low": 6.0, "ci_high": 7.0 })
            }),
            "candidates[0].cost.vs_baseline: mean 5.00 in [6.00, 7.00] over 4 replications: expected",
        ),
        (
            "difference-fields",
            Box::new(|r| {
                r["candidates"][1]["cost"]["vs_rank1"] = serde_json::json!({ "mean": -1.0 })
            }),
            "field `candidates[1].cost.vs_rank1`: missing field `replications`",
        ),
        (
            "pair-mean",
            Box::new(|r| {
                r["candidates"][0]["cost"]["vs_baseline"] = serde_json::json!(
                    { "replications": 73, "mean": 100.0, "ci_low": 50.0, "ci_high": 150.0 })
            }),
            "candidates[0].cost.vs_baseline.mean: 100.00, but over every replication of both the paired difference is the difference of their monthly costs, -84.35",
        ),
        (
            "pair-replications",
            Box::new(|r| {
                r["candidates"][0]["cost"]["vs_baseline"]["replications"] = serde_json::json!(500)
            }),
            "candidates[0].cost.vs_baseline.replications: 500, but it ran 73 replications and the baseline 73; expected the 73 both ran",
        ),
        (
            "pair-itself",
            Box::new(|r| {
                r["candidates"][0]["cost"]["vs_rank1"] = serde_json::json!(
                    { "replications": 73, "mean": 0.0, "ci_low": 0.0, "ci_high": 0.0 })
            }),
            "candidates[0].cost.vs_rank1: a difference from itself; expected null",
        ),
        (
            "pair-null",
            Box::new(|r| r["candidates"][0]["cost"]["vs_baseline"] = Value::Null),
            "candidates[0].cost.vs_baseline: null, but it shares 73 replications with the baseline",
        ),
        (
            "pair-negation",
            Box::new(|r| {
                let d = &mut r["baseline"]["cost"]["vs_rank1"];
                d["ci_low"] = serde_json::json!(-1.0);
                d["ci_high"] = serde_json::json!(200.0);
            }),
            "baseline.cost.vs_rank1: 84.35 [-1.00, 200.00] over 73, but candidates[0].cost.vs_baseline is -84.35",
        ),
        (
            "pair-huge",
            Box::new(|r| {
                r["candidates"][3]["cost"]["vs_rank1"] = serde_json::json!(
                    { "replications": 4, "mean": 1e300, "ci_low": -1e308, "ci_high": 1e308 })
            }),
            "candidates[3].cost.vs_rank1.mean: 1e300 CNY a month is a larger difference than the catalog",
        ),
        (
            "pair-unknown",
            Box::new(|r| r["candidates"][1]["cost"]["vs_rank1"]["foo"] = serde_json::json!(1)),
            "field `candidates[1].cost.vs_rank1.foo`: unknown field `foo`, expected one of `replications`",
        ),
        (
            "evaluated",
            Box::new(|r| r["evaluated"] = serde_json::json!(0)),
            "evaluated: 0 candidates evaluated, but `candidates` lists",
        ),
    ];
    for (name, edit, want) in cases {
        edited_out(run, name, edit);
        assert_all_reject(name, &["ranking.json", want]);
    }
}

#[test]
fn an_under_provisioned_memory_request_is_explained_from_its_own_peak() {
    // Rank 1's memory at 95 % of its request on average, its working set peaking above the
    // request in one edit and just under it in the other: the report says which.
    let run = run();
    for (name, peak, says) in [
        (
            "peak-above",
            1.1,
            "peaks at 110.0 % of the request, and pods above",
        ),
        (
            "peak-under",
            0.998,
            "peaks at 99.8 % of the request, so a burst beyond",
        ),
    ] {
        edited_out(run, name, |r| {
            let c = &mut r["candidates"][0];
            let w = c["efficiency"]["workloads"][0]["workload"].clone();
            c["efficiency"]["workloads"][0]["memory"] = serde_json::json!(0.95);
            let request = costsim::quantity::Bytes::parse(
                c["config"]["workloads"][w.as_str().unwrap()]["resources"]["requests"]["memory"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap()
            .0 as f64;
            let a = c["activity"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .find(|a| a["workload"] == w)
                .unwrap();
            a["peak_pod_memory_bytes"] = serde_json::json!(request * peak);
        });
        let doc_dir = format!("{name}-doc");
        let (code, _, err) = costsim(
            run.dir.path(),
            &["report", "--from", name, "--out", &doc_dir],
        );
        assert_eq!(code, 0, "{err}");
        let doc = fs::read_to_string(run.path(&format!("{doc_dir}/cost-optimization.md"))).unwrap();
        assert!(doc.contains("memory** uses 95 % of its "), "{doc}");
        assert!(doc.contains(says), "{says} in {doc}");
    }
}

/// Removes the paired cost differences (as a ranking.json written before them has none): an
/// edit of the costs or replications they pair would contradict them.
fn without_pairings(r: &mut Value) {
    let n = r["candidates"].as_array().map_or(0, Vec::len);
    let entries = std::iter::once("/baseline/cost".to_string())
        .chain((0..n).map(|i| format!("/candidates/{i}/cost")));
    for p in entries {
        if let Some(Value::Object(c)) = r.pointer_mut(&p) {
            c.remove("vs_rank1");
            c.remove("vs_baseline");
        }
    }
}

#[test]
fn a_baseline_that_costs_nothing_has_no_percentage_saved() {
    // A catalog whose baseline pools cost 0 gave `diff` "(+381.97 CNY, +0.0 %)" and the
    // report "Savings: 0.00 CNY/month (0.0 %)": a share of nothing.
    let run = run();
    edited_out(run, "free-baseline", |r| {
        r["baseline"]["cost"]["monthly"] = serde_json::json!(0.0);
        r["baseline"]["cost"]["monthly_mean"] = serde_json::json!(0.0);
        without_pairings(r);
    });
    let (code, out, err) = costsim(run.dir.path(), &["diff", "--from", "free-baseline"]);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("monthly cost: "))
        .unwrap();
    assert!(
        line.starts_with("monthly cost: 0.00 → ")
            && line.ends_with(", no percentage: the baseline costs nothing)"),
        "{line}"
    );
    let (code, _, err) = costsim(
        run.dir.path(),
        &["report", "--from", "free-baseline", "--out", "free-doc"],
    );
    assert_eq!(code, 0, "{err}");
    let doc = fs::read_to_string(run.path("free-doc/cost-optimization.md")).unwrap();
    assert!(
        doc.contains(
            "CNY/month (no percentage: the current configuration costs nothing)** — from 0.00 to "
        ),
        "{doc}"
    );
}

#[test]
fn a_byte_order_mark_before_ranking_json_or_a_timeline_is_skipped() {
    // Saved again by a Windows editor, ranking.json was "line 1, column 1: expected value" and
    // a timeline "`\u{feff}minute`, expected `minute`" (an invisible character), while the
    // traces, YAML and metrics readers skip the mark.
    let run = run();
    let out = edited_out(run, "bom", |_| {});
    for f in ["ranking.json", "timeline_rank1.csv"] {
        let text = fs::read_to_string(out.join(f)).unwrap();
        fs::write(out.join(f), format!("\u{feff}{text}")).unwrap();
    }
    let (code, _, err) = costsim(run.dir.path(), &["diff", "--from", "bom"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = costsim(
        run.dir.path(),
        &["report", "--from", "bom", "--out", "bom-doc"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(run.path("bom-doc/cost-optimization.md").exists());
}

#[test]
fn bad_timelines_are_bad_input_naming_line_and_column() {
    let run = run();
    let csv = fs::read_to_string(run.path("out/timeline_rank1.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    // Row 2 (line 3) with column `name` set to `value`.
    let with = |name: &str, value: &str| -> String {
        let mut lines: Vec<String> = csv.lines().map(String::from).collect();
        let mut f: Vec<&str> = lines[2].split(',').collect();
        f[col(name)] = value;
        lines[2] = f.join(",");
        lines.join("\n") + "\n"
    };
    let cases = [
        ("nan", with("web_ready", "NaN"), "column 3 `web_ready`"),
        ("neg", with("web_desired", "-1"), "column 2 `web_desired`"),
        ("order", with("minute", "0"), "increasing minutes"),
        (
            "huge",
            with("web_cpu_utilization", "1e308"),
            "`web_cpu_utilization`",
        ),
        (
            "below",
            with("web_cpu_utilization", "-7"),
            "`web_cpu_utilization`",
        ),
        ("half", with("general_nodes", "1.5"), "`general_nodes`"),
        // What the simulator cannot write: a minute past the horizon, more nodes than a pool
        // may have (both were drawn, stretching the plots' axes).
        (
            "late",
            with("minute", "99999999999999999999"),
            "column 1 `minute`: 99999999999999999999: expected at most",
        ),
        (
            "nodes",
            with("general_nodes", "11"),
            "11: expected at most 10 (pool `general`'s max_nodes)",
        ),
        (
            "header",
            csv.replacen("web_ready", "api_ready", 1),
            "line 1, column 3",
        ),
    ];
    for (name, text, want) in cases {
        let from = format!("tl-{name}");
        let out = edited_out(run, &from, |_| {});
        fs::write(out.join("timeline_rank1.csv"), text).unwrap();
        let doc = format!("{from}-doc");
        let (code, _, err) = costsim(run.dir.path(), &["report", "--from", &from, "--out", &doc]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(
            err.contains("timeline_rank1.csv") && err.contains(want),
            "{name}: `{want}` not in {err}"
        );
        if name != "header" && name != "order" {
            assert!(err.contains("line 3"), "{name}: {err}");
        }
        assert!(!run.path(&doc).exists(), "{name}: nothing written");
    }
    // A missing timeline is an error, not a document without its plots.
    let out = edited_out(run, "tl-missing", |_| {});
    fs::remove_file(out.join("timeline_baseline.csv")).unwrap();
    let (code, _, err) = costsim(
        run.dir.path(),
        &["report", "--from", "tl-missing", "--out", "tl-missing-doc"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("timeline_baseline.csv"), "{err}");
    assert!(!run.path("tl-missing-doc").exists());
}

#[test]
fn emit_checks_the_overlay_name_first_and_a_failing_emit_leaves_no_directories() {
    let run = run();
    let long = "a".repeat(300);
    for bad in [long.as_str(), "a b", "a\nb", "Prod", "../x", "x-"] {
        let (code, _, err) = costsim(
            run.dir.path(),
            &[
                "emit",
                "--from",
                "out",
                "--overlay",
                bad,
                "--out",
                "k8s-bad",
            ],
        );
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(err.contains("--overlay"), "{bad:?}: {err}");
        assert!(!run.path("k8s-bad").exists(), "{bad:?}: nothing created");
    }
    // A write that fails late (a directory where the overlay's kustomization goes) removes
    // the directories it made on the way.
    fs::create_dir_all(run.path("k8s-late/overlays/prod/kustomization.yaml")).unwrap();
    let (code, _, err) = costsim(
        run.dir.path(),
        &["emit", "--from", "out", "--out", "k8s-late"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("kustomization.yaml"), "{err}");
    assert!(!run.path("k8s-late/base").exists(), "base/ left behind");
    assert!(run
        .path("k8s-late/overlays/prod/kustomization.yaml")
        .is_dir());
}

#[test]
fn emitting_a_candidate_not_proven_feasible_warns() {
    let run = run();
    let r = run.ranking();
    let undecided = r["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["verdict"] == "undecided")
        .expect("the fixture's search leaves candidates undecided");
    let rank = (undecided + 1).to_string();
    let (code, out, err) = costsim(
        run.dir.path(),
        &[
            "emit",
            "--from",
            "out",
            "--rank",
            &rank,
            "--out",
            "k8s-undecided",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("kustomization.yaml"), "{out}");
    assert!(
        err.contains("warning") && err.contains("not proven feasible"),
        "{err}"
    );
    // An infeasible one says so.
    edited_out(run, "out-infeasible", |r| {
        r["candidates"][0]["feasible"] = Value::Bool(false);
        r["candidates"][0]["verdict"] = Value::String("infeasible".into());
    });
    let (code, _, err) = costsim(
        run.dir.path(),
        &[
            "emit",
            "--from",
            "out-infeasible",
            "--out",
            "k8s-infeasible",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning") && err.contains("infeasible"),
        "{err}"
    );
    // A feasible one does not.
    assert_eq!(r["candidates"][0]["verdict"], "feasible");
    let (code, _, err) = costsim(
        run.dir.path(),
        &["emit", "--from", "out", "--out", "k8s-feasible"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
}

/// A recommendation whose usage sits above 90 % of a request is explained: why it is still
/// recommended and the request that brings it to 80 % (usage × request ÷ 0.8, rounded up to
/// whole MiB or millicores). Here rank 1's memory efficiency is set to 0.96 in ranking.json.
#[test]
fn an_under_provisioned_recommendation_is_explained() {
    let r = run();
    let mut ranking = r.ranking();
    let cands = ranking["candidates"].as_array_mut().unwrap();
    let rank1 = cands.iter_mut().find(|c| c["rank"] == 1).unwrap();
    let workload = rank1["efficiency"]["workloads"][0]["workload"]
        .as_str()
        .unwrap()
        .to_string();
    rank1["efficiency"]["workloads"][0]["memory"] = serde_json::json!(0.96);
    let request = rank1["config"]["workloads"][&workload]["resources"]["requests"]["memory"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    for e in fs::read_dir(r.path("out")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), out.join(e.file_name())).unwrap();
    }
    fs::write(out.join("ranking.json"), ranking.to_string()).unwrap();
    for e in fs::read_dir(r.dir.path()).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
        }
    }
    let (code, _, err) = costsim(dir.path(), &["report", "--from", "out", "--out", "doc"]);
    assert_eq!(code, 0, "report: {err}");
    let doc = fs::read_to_string(dir.path().join("doc/cost-optimization.md")).unwrap();
    let mib: f64 = request
        .trim_end_matches("Mi")
        .parse()
        .expect("a request in Mi");
    let want = format!(
        "A request of {}Mi brings it to 80 %",
        (0.96 * mib / 0.8).ceil()
    );
    assert!(
        doc.contains(&format!(
            "**{workload} memory** uses 96 % of its {request} request"
        )),
        "{doc}"
    );
    assert!(doc.contains(&want), "{want} not in\n{doc}");
}

#[test]
fn emit_refuses_to_undo_manifest_settings_the_search_did_not_run_with() {
    let dir = fixture_copy();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let (code, out, err) = costsim(d, args);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    // `emit --from FROM --manifests k8s/base --out OUT`.
    let emit_on_base = |from: &str, out: &str| {
        costsim(
            d,
            &[
                "emit",
                "--from",
                from,
                "--manifests",
                "k8s/base",
                "--out",
                out,
            ],
        )
    };
    ok(&["search", "--out", "out"]);
    ok(&["emit", "--from", "out", "--out", "k8s"]);
    // The base is the search's baseline: an overlay on it changes only what the search varied.
    // Its base/ is costsim's rendering, which emit says is not to be applied over the objects.
    let (code, _, err) = emit_on_base("out", "k8s-same");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: base/ renders only what costsim models of k8s/base")
            && err.contains("do not apply it over the live objects"),
        "{err}"
    );
    // The operators' HPA has a scale-down behavior the search never simulated (its baseline
    // has none, and the space does not vary it): rank 1 keeps none, so its overlay would
    // delete the behavior.
    let hpa = d.join("k8s/base/web-hpa.yaml");
    let text = fs::read_to_string(&hpa).unwrap();
    fs::write(
        &hpa,
        text.replace(
            "spec:\n",
            "spec:\n  behavior:\n    scaleDown:\n      stabilizationWindowSeconds: 60\n",
        ),
    )
    .unwrap();
    let (code, out, err) = emit_on_base("out", "k8s-undo");
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("k8s/base: these manifests deploy settings the search did not run with")
            && err.contains(
                "~ web hpa behavior: {\"scaleDown\":{\"stabilizationWindowSeconds\":60}} → null"
            )
            && err.contains("run `search --manifests k8s/base --out DIR`"),
        "{err}"
    );
    assert!(!d.join("k8s-undo").exists(), "nothing is written");
    // diff shows the same settings first, as a warning; the dry run still runs.
    let diff = ok(&["diff", "--from", "out", "--manifests", "k8s/base"]);
    let warning = diff
        .find("warning: these manifests deploy settings the search did not run with")
        .unwrap_or_else(|| panic!("{diff}"));
    let undo = diff.find("  ~ web hpa behavior: ").unwrap();
    let first_change = diff.find("\n~ web").unwrap();
    assert!(warning < undo && undo < first_change, "{diff}");
    // Started from those manifests, the search's candidates keep the behavior: emit runs.
    ok(&["search", "--manifests", "k8s/base", "--out", "out-m"]);
    let (code, _, err) = emit_on_base("out-m", "k8s-m");
    assert_eq!(code, 0, "{err}");
}
