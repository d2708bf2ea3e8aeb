//! End-to-end tests of `costsim recommend` and `costsim calibrate`, in the style of
//! `tests/cli.rs`: bad metrics exit 2 naming the file and the line or JSON field, results are
//! the same whatever the input format, and a calibrated profile loads back into a scenario.

mod common;

use common::copy_dir;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    repo()
        .join("tests/fixtures/metrics")
        .join(name)
        .display()
        .to_string()
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs costsim in `dir` (the repository root unless given).
fn run_in(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_costsim"))
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run costsim");
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Out {
    run_in(repo(), args)
}

#[track_caller]
fn assert_ok(out: &Out) {
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(out.code, Some(0), "stderr:\n{}", out.stderr);
}

/// Exit 2 with one `costsim: FILE: LOCATION: …` message saying every fragment of `expected`.
#[track_caller]
fn assert_input_error(out: &Out, file: &str, location: &str, expected: &[&str]) {
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(out.code, Some(2), "stderr:\n{}", out.stderr);
    let prefix = format!("costsim: {file}: {location}: ");
    assert!(
        out.stderr.starts_with(&prefix),
        "expected `{prefix}…`, got:\n{}",
        out.stderr
    );
    for e in expected {
        assert!(out.stderr.contains(e), "should say {e:?}:\n{}", out.stderr);
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

#[test]
fn kubectl_top_prometheus_and_nezha_csv_give_the_same_recommendations() {
    let top = run(&[
        "recommend",
        "--format",
        "csv",
        "--metrics",
        &fixture("top.txt"),
    ]);
    assert_ok(&top);
    let prom = run(&[
        "recommend",
        "--format",
        "csv",
        "--metrics",
        &format!("cpu={}", fixture("prom_cpu.json")),
        "--metrics",
        &fixture("prom_memory.json"),
    ]);
    assert_ok(&prom);
    let csv = run(&[
        "recommend",
        "--format",
        "csv",
        "--metrics",
        &fixture("nezha_frontend-579b9bff58-t2dbm.csv"),
        "--metrics",
        &fixture("nezha_cartservice-579f59597d-wc2lz.csv"),
    ]);
    assert_ok(&csv);
    assert_eq!(top.stdout, prom.stdout);
    assert_eq!(top.stdout, csv.stdout);
    let lines: Vec<&str> = top.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", top.stdout);
    // frontend: the baseline's 100m/128Mi request (limits 200m/256Mi); cartservice: none.
    assert!(
        lines[2].starts_with(",frontend,,1,100,134217728,200,268435456,"),
        "{}",
        lines[2]
    );
    assert!(lines[1].starts_with(",cartservice,,1,,,,,"), "{}", lines[1]);
}

#[test]
fn recommend_table_shows_current_vs_recommended_and_flags() {
    let out = run(&[
        "recommend",
        "--metrics",
        &fixture("top.txt"),
        "--recommender",
        "vpa",
    ]);
    assert_ok(&out);
    assert!(
        out.stdout.contains("memory = working set"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("(480 samples, 1 missing)"),
        "{}",
        out.stdout
    );
    let fe = out
        .stdout
        .lines()
        .find(|l| l.starts_with("frontend "))
        .expect("a frontend row");
    assert!(
        fe.contains("100m/128Mi") && fe.contains("200m/256Mi"),
        "{fe}"
    );
    // --recommender vpa: no krr column values.
    assert!(
        !out.stdout.contains("krr sets no CPU limit"),
        "{}",
        out.stdout
    );
    // The frontend's mean working set (21.07Mi over the 240 snapshots) is 16 % of its 128Mi
    // request.
    assert!(
        out.stdout
            .contains("frontend pod frontend-579b9bff58-t2dbm: memory 16% (over-provisioned)"),
        "{}",
        out.stdout
    );
}

#[test]
fn recommend_out_writes_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let out = run(&[
        "recommend",
        "--format",
        "json",
        "--out",
        &d,
        "--metrics",
        &fixture("top.txt"),
    ]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["containers"].as_array().unwrap().len(), 2);
    assert_eq!(v["metrics"][0]["format"], "kubectl_top");
    assert_eq!(
        v["metrics"][0]["missing"][0]["pod"],
        "checkoutservice-578fcf4766-9csqn"
    );
    let file: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("recommendations.json")).unwrap())
            .unwrap();
    assert_eq!(file, v);
    let csv = fs::read_to_string(dir.path().join("recommendations.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);
}

#[test]
fn truncated_kubectl_table_exits_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(fixture("top.txt")).unwrap();
    // Cut the file in the middle of a row (line 9: `frontend-…   58m`).
    let mut lines: Vec<&str> = text.lines().take(9).collect();
    let cut = lines[8]
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join("   ");
    lines[8] = &cut;
    let p = write(dir.path(), "top.txt", &lines.join("\n"));
    let out = run(&["recommend", "--metrics", &p.display().to_string()]);
    assert_input_error(
        &out,
        &p.display().to_string(),
        "line 9",
        &["expected 3 columns", "truncated"],
    );
}

#[test]
fn prometheus_error_status_exits_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "cpu.json",
        r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#,
    );
    let out = run(&["recommend", "--metrics", &format!("cpu={}", p.display())]);
    assert_input_error(
        &out,
        &p.display().to_string(),
        "status",
        &["timeout", "query timed out"],
    );
}

#[test]
fn unit_12mb_exits_2_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "top.txt",
        "Mon Aug 22 03:51:19 UTC 2022\nNAME CPU(cores) MEMORY(bytes)\nweb-0 12m 12MB\n",
    );
    let out = run(&["recommend", "--metrics", &p.display().to_string()]);
    assert_input_error(
        &out,
        &p.display().to_string(),
        "line 3",
        &["MEMORY(bytes)", "\"12MB\""],
    );
    // The same unit in a Prometheus value names the JSON path.
    let q = write(
        dir.path(),
        "mem.json",
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"web-0"},"values":[[1,"12MB"]]}]}}"#,
    );
    let out = run(&["recommend", "--metrics", &format!("memory={}", q.display())]);
    assert_input_error(
        &out,
        &q.display().to_string(),
        "data.result[0].values[0][1]",
        &["12MB"],
    );
}

#[test]
fn missing_file_and_csv_for_other_commands_exit_2() {
    let out = run(&["recommend", "--metrics", "no/such/file.txt"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out
        .stderr
        .contains("no/such/file.txt: no such metrics file"));
    let out = run(&["simulate", "--format", "csv"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--format"), "{}", out.stderr);
}

#[test]
fn calibrated_profile_is_accepted_by_validate() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_dir(&repo().join("models"), &root.join("models"));
    copy_dir(&repo().join("data/traffic"), &root.join("data/traffic"));
    let metrics = repo()
        .join("data/usage/nezha_onlineboutique_2022-08-22/frontend-579b9bff58-t2dbm_metric.csv")
        .display()
        .to_string();
    let out = run_in(
        root,
        &[
            "calibrate",
            "--metrics",
            &metrics,
            "--service",
            "frontend",
            "--class",
            "static",
            "--out",
            "models/services/frontend.yaml",
        ],
    );
    assert_ok(&out);
    assert!(
        out.stdout.contains("service frontend — 1209 samples"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("residual sd"), "{}", out.stdout);
    let yaml = fs::read_to_string(root.join("models/services/frontend.yaml")).unwrap();
    assert!(yaml.contains("name: frontend") && yaml.contains("- name: static"));
    // Memory in whole KiB, as a person would write it.
    for key in ["base_pod: ", "memory_per_request: "] {
        let value = yaml
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {yaml}"));
        let number = value.split_whitespace().next().unwrap();
        assert!(
            number.ends_with("Ki") || number.ends_with("Mi") || number == "0",
            "{key}{value}"
        );
    }
    let v = run_in(root, &["validate", "--format", "json"]);
    assert_ok(&v);
    // An unknown service names the ones present.
    let out = run_in(
        root,
        &["calibrate", "--metrics", &metrics, "--service", "checkout"],
    );
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("the services there are: frontend"),
        "{}",
        out.stderr
    );
}

/// A copy of the default scenario cut to its first 2 hours (as `tests/cli.rs` does), with the
/// two-candidate space of `tests/fixtures/cli/space_tiny.yaml`.
fn short_scenario() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_dir(&repo().join("models"), &root.join("models"));
    fs::copy(
        repo().join("tests/fixtures/cli/space_tiny.yaml"),
        root.join("models/spaces/default.yaml"),
    )
    .unwrap();
    let nasa = "data/traffic/nasa_ksc_http_1995-07-01_to_07-07_requests_per_second.csv";
    let azure = "data/traffic/azure_llm_inference_2023-11-16_conv.csv";
    fs::create_dir_all(root.join("data/traffic")).unwrap();
    let text = fs::read_to_string(repo().join(nasa)).unwrap();
    let head: String = text.split_inclusive('\n').take(7201).collect();
    fs::write(root.join(nasa), head).unwrap();
    fs::copy(repo().join(azure), root.join(azure)).unwrap();
    let sc = root.join("models/scenarios/default.yaml");
    let mut s: Vec<String> = fs::read_to_string(&sc)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("horizon:"))
        .map(String::from)
        .collect();
    s.push("horizon: 2h".into());
    fs::write(&sc, s.join("\n") + "\n").unwrap();
    dir
}

#[test]
fn the_search_best_row_goes_with_the_workload_the_search_varies() {
    // Metrics of the frontend only: the search varies the backend, so its best is shown as a
    // backend row beside the backend's baseline, not in the frontend's rows with the
    // frontend's unchanged request.
    let dir = short_scenario();
    let text = fs::read_to_string(repo().join("tests/fixtures/metrics/backend_top.txt")).unwrap();
    let m = dir.path().join("frontend_top.txt");
    fs::write(&m, text.replace("backend-", "frontend-")).unwrap();
    let args = [
        "recommend",
        "--simulate",
        "--with-search",
        "--metrics",
        m.to_str().unwrap(),
    ];
    let out = run_in(dir.path(), &[&args[..], &["--format", "json"]].concat());
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let rows: Vec<(&str, &str)> = v["simulation"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["config"].as_str().unwrap(),
                r["workload"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows[..3],
        [
            ("baseline", "frontend"),
            ("krr frontend", "frontend"),
            ("vpa frontend", "frontend")
        ],
        "{rows:?}"
    );
    assert_eq!(rows[3], ("baseline", "backend"), "{rows:?}");
    assert!(rows[4].0.starts_with("search best (backend "), "{rows:?}");
    assert_eq!((rows[4].1, rows.len()), ("backend", 5), "{rows:?}");
    // The table names the row briefly and the config on a line of its own.
    let out = run_in(dir.path(), &args);
    assert_ok(&out);
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("search best "))
        .unwrap();
    assert!(!line.contains("backend cpu="), "{line}");
    assert!(
        out.stdout.contains("\nsearch best: backend cpu="),
        "{}",
        out.stdout
    );
}

#[test]
fn simulate_shows_the_request_to_replicas_feedback() {
    let dir = short_scenario();
    // Three backend pods using 90–110m and 290–292Mi for 4 h, one snapshot a minute (timestamps
    // as `date +%s` prints them; synthetic: pod j at minute i uses 90 + (7i + 3j) mod 21 m).
    let m = repo().join("tests/fixtures/metrics/backend_top.txt");
    // The search's pool sizes apply to its best too (they were left at the drivers' defaults).
    let space = dir.path().join("models/spaces/default.yaml");
    let text = fs::read_to_string(&space).unwrap();
    fs::write(&space, format!("{text}client_pools:\n  mongodb: [fit]\n")).unwrap();
    let out = run_in(
        dir.path(),
        &[
            "recommend",
            "--format",
            "json",
            "--simulate",
            "--with-search",
            "--metrics",
            &m.display().to_string(),
        ],
    );
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let runs = v["simulation"]["runs"].as_array().unwrap();
    let names: Vec<&str> = runs.iter().map(|r| r["config"].as_str().unwrap()).collect();
    assert_eq!(
        names[..3],
        ["baseline", "krr backend", "vpa backend"],
        "{names:?}"
    );
    assert!(names[3].starts_with("search best"), "{names:?}");
    assert!(
        names[3].contains("conns=mongodb:") && !names[3].contains("mongodb:100"),
        "{names:?}"
    );
    let pods_mean = |i: usize| runs[i]["mean_pods"].as_f64().unwrap();
    // The VPA target (~126m; the baseline asks 250m) doubles CPU utilization against the
    // HPA's 70 % target: the HPA runs about twice the replicas, the percentile recommender's
    // blind spot.
    assert_eq!(runs[2]["resources"]["requests"]["cpu"], "126m");
    assert!(
        pods_mean(2) > 1.5 * pods_mean(0),
        "vpa {} vs baseline {} pods",
        pods_mean(2),
        pods_mean(0)
    );
    // krr sizes memory from the recorded ~292Mi peak (x 1.15 = 336Mi); the scenario's backend
    // profile holds 370Mi at rest, so every pod is OOM-killed and every window fails.
    assert_eq!(runs[1]["resources"]["limits"]["memory"], "336Mi");
    assert!(runs[1]["resources"]["limits"]["cpu"].is_null());
    assert!(runs[1]["oom_kills"].as_u64().unwrap() > 0);
    assert_eq!(runs[1]["breached_windows"], runs[1]["windows"]);
    assert_eq!(runs[0]["oom_kills"], 0);
    for r in runs {
        assert!(r["monthly_cost"].as_f64().unwrap() > 0.0);
        assert!(r["windows"].as_u64().unwrap() > 0);
    }
}

/// krr's `simple` strategy reports a resource as undefined ("HPA detected") when the
/// workload's HPA has a Utilization target on it, unless run with `--allow-hpa`
/// (robusta-dev/krr `strategies/simple.py`). The default scenario's backend has a CPU
/// Utilization HPA: the krr column is krr's `--allow-hpa` figure, and recommend says so, in
/// the table and in the JSON; the frontend (no HPA) gets no such note.
#[test]
fn krr_column_says_krr_itself_skips_a_resource_its_hpa_targets() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("ts,pod,cpu,memory\n");
    for i in 0..240 {
        let t = 1_700_000_000 + i * 60;
        csv.push_str(&format!(
            "{t},backend-5f9f6bb846-tx6mj,{}m,250Mi\n",
            50 + i % 150
        ));
        csv.push_str(&format!(
            "{t},frontend-579b9bff58-t2dbm,{}m,90Mi\n",
            20 + i % 30
        ));
    }
    let p = write(dir.path(), "usage.csv", &csv);
    let out = run(&["recommend", "--metrics", p.to_str().unwrap()]);
    assert_ok(&out);
    let notes: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("HPA detected"))
        .collect();
    assert_eq!(notes.len(), 1, "{}", out.stdout);
    assert!(
        notes[0].starts_with("note: `backend`'s HPA targets cpu utilization")
            && notes[0].contains("--allow-hpa"),
        "{}",
        out.stdout
    );
    let out = run(&[
        "recommend",
        "--metrics",
        p.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["krr_notes"].as_array().unwrap().len(), 1);
    // --recommender vpa: krr did not run, no note.
    let out = run(&[
        "recommend",
        "--metrics",
        p.to_str().unwrap(),
        "--recommender",
        "vpa",
    ]);
    assert_ok(&out);
    assert!(!out.stdout.contains("HPA detected"), "{}", out.stdout);
}

/// Five one-minute `kubectl top` snapshots of one backend pod (CPU 100m … 140m, 300Mi).
fn backend_top(snapshots: usize) -> String {
    (0..snapshots)
        .map(|i| {
            format!(
                "Mon Aug 22 03:5{}:19 UTC 2022\nNAME                       CPU(cores)   MEMORY(bytes)\n\
                 backend-5f9f6bb846-tx6mj   {}m         300Mi\n",
                i % 5,
                100 + 10 * (i % 5)
            )
        })
        .collect()
}

/// The same reading twice — a repeated snapshot, a file passed twice, a duplicated
/// Prometheus series — is bad input naming the file, the pod and the time: it counted the
/// usage twice, and the HPA threshold line added the copies up as if they were two
/// containers (a 140m peak read as 280m, "asks for 1.43× the replicas").
#[test]
fn a_reading_given_twice_is_rejected_naming_the_pod_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let once = write(dir.path(), "once.txt", &backend_top(5));
    let twice = write(dir.path(), "twice.txt", &backend_top(6));
    let (once, twice) = (once.display().to_string(), twice.display().to_string());
    let out = run(&["recommend", "--quiet", "--metrics", &twice]);
    assert_input_error(
        &out,
        &twice,
        "pod `backend-5f9f6bb846-tx6mj` at unix time 1661140219 s",
        &[
            "a second CPU reading",
            "earlier in this file",
            "one reading per pod",
        ],
    );
    let out = run(&[
        "recommend",
        "--quiet",
        "--metrics",
        &once,
        "--metrics",
        &once,
    ]);
    assert_input_error(
        &out,
        &once,
        "pod `backend-5f9f6bb846-tx6mj` at unix time 1661140219 s",
        &[&format!("the first is in {once}")],
    );
    let out = run(&["recommend", "--quiet", "--metrics", &once]);
    assert_ok(&out);
    assert!(
        out.stdout.contains("per-pod p95 138m (max 140m)"),
        "{}",
        out.stdout
    );
}

/// A Prometheus CPU file and a memory file (`cpu=`, `memory=`, as the README says to pass
/// them) give one pod's two halves at the same times: the HPA threshold line reads them as
/// one reading, where it took them for two containers and lost the CPU.
#[test]
fn prometheus_cpu_and_memory_files_are_halves_of_one_reading() {
    let dir = tempfile::tempdir().unwrap();
    let series = |v: &dyn Fn(usize) -> String| {
        let values: Vec<String> = (0..5)
            .map(|i| format!("[{}, \"{}\"]", 1661140279 + 60 * i, v(i)))
            .collect();
        format!(
            "{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[\
             {{\"metric\":{{\"pod\":\"backend-5f9f6bb846-tx6mj\"}},\"values\":[{}]}}]}}}}",
            values.join(",")
        )
    };
    let cpu = write(
        dir.path(),
        "cpu.json",
        &series(&|i| format!("{}", 0.1 + 0.01 * i as f64)),
    );
    let mem = write(dir.path(), "mem.json", &series(&|_| "314572800".into()));
    let cpu = format!("cpu={}", cpu.display());
    let mem = format!("memory={}", mem.display());
    let out = run(&["recommend", "--quiet", "--metrics", &cpu, "--metrics", &mem]);
    assert_ok(&out);
    assert!(
        out.stdout
            .contains("hpa backend: cpu target 70 % of the pod's 250m request = 175m per pod; per-pod p95 138m (max 140m)"),
        "{}",
        out.stdout
    );
}

/// `calibrate --class` names the profile's class: an empty one, or one with a space or `:`,
/// is a flag error (it wrote a profile with `name: ` or broken YAML).
#[test]
fn calibrate_class_that_is_not_a_name_is_a_flag_error() {
    let metrics = repo()
        .join("data/usage/nezha_onlineboutique_2022-08-22/frontend-579b9bff58-t2dbm_metric.csv")
        .display()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    for bad in ["", "a b", "x: y"] {
        let out = run_in(
            dir.path(),
            &[
                "calibrate",
                "--metrics",
                &metrics,
                "--service",
                "frontend",
                "--class",
                bad,
                "--out",
                "p.yaml",
            ],
        );
        assert_input_error(&out, "<command line>", "--class", &["is not a class name"]);
        assert!(
            !dir.path().join("p.yaml").exists(),
            "{bad:?}: nothing written"
        );
    }
}
