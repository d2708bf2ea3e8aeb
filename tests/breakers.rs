//! Faults found by breaking the CLI from outside (bad input, spread semantics), each pinned
//! down with the values the fix produces.

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The default scenario written to `dir` with absolute paths to the repository's model and
/// data files, the `light` pool capped at `light_max_nodes`, and `baseline` as its baseline
/// config.
fn scenario_with(dir: &Path, light_max_nodes: u32, baseline: &str) -> std::path::PathBuf {
    let r = repo().display().to_string();
    let sc = std::fs::read_to_string(repo().join("models/scenarios/default.yaml"))
        .unwrap()
        .replace("../../data", &format!("{r}/data"))
        .replace("../services", &format!("{r}/models/services"))
        .replace("../node-pools/ack-cn-shanghai.yaml", "pools.yaml")
        .replace("../configs/baseline.yaml", "baseline.yaml")
        .replace(
            "../spaces/default.yaml",
            &format!("{r}/models/spaces/default.yaml"),
        );
    let pools =
        std::fs::read_to_string(repo().join("models/node-pools/ack-cn-shanghai.yaml")).unwrap();
    let light = pools.find("  - name: light").unwrap();
    let at = light + pools[light..].find("max_nodes:").unwrap();
    let end = at + pools[at..].find('\n').unwrap();
    let pools = format!(
        "{}max_nodes: {light_max_nodes}{}",
        &pools[..at],
        &pools[end..]
    );
    std::fs::write(dir.join("pools.yaml"), pools).unwrap();
    std::fs::write(dir.join("baseline.yaml"), baseline).unwrap();
    let p = dir.join("scenario.yaml");
    std::fs::write(&p, sc).unwrap();
    p
}

/// The bundled baseline with `topology_spread` added to the frontend (2 replicas, pool light).
fn baseline_with_frontend_spread(spread: &str) -> String {
    let text = std::fs::read_to_string(repo().join("models/configs/baseline.yaml")).unwrap();
    let anchor =
        "  frontend:\n    node_pool: light             # lightweight pool (the story's userpool)\n";
    assert!(text.contains(anchor), "baseline layout changed");
    text.replacen(
        anchor,
        &format!("{anchor}    topology_spread: {spread}\n"),
        1,
    )
}

fn simulate_json(scenario: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_costsim"))
        .args(["simulate", "--quiet", "--format", "json", "--scenario"])
        .arg(scenario)
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn frontend<'a>(v: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["workload"] == "frontend")
        .unwrap()
}

#[test]
fn a_spread_the_pool_cannot_hold_says_its_pods_stay_pending_and_breaks_the_floor() {
    // min_domains 2 on a pool of at most 1 node: the emptiest domain counts as empty, so the
    // one node takes max_skew = 1 frontend pod and the second stays Pending the whole run. The
    // run used to report the floor of 2 as holding, no warning of the pending pod, and advise
    // adding the topology_spread the config already has.
    let dir = tempfile::tempdir().unwrap();
    let baseline = baseline_with_frontend_spread("{ max_skew: 1, min_domains: 2 }");
    let v = simulate_json(&scenario_with(dir.path(), 1, &baseline));
    let a = frontend(&v, "activity");
    assert_eq!(a["ready_max"], 1);
    assert_eq!(a["capped_pods"], 1);
    let warnings: Vec<&str> = a["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings.iter().any(|w| w.starts_with(
            "1 pod(s) stayed Pending although they fit a node: the autoscaler could add none (light max_nodes 1) and its topology_spread (max_skew 1, min_domains 2)"
        )),
        "{warnings:?}"
    );
    assert!(
        !warnings
            .iter()
            .any(|w| w.contains("spread them over nodes")),
        "{warnings:?}"
    );
    // One ready pod of a floor of 2 for the whole week: the run says so, beside the static check.
    let below = a["below_floor_seconds"].as_f64().unwrap();
    assert!((below - 604_800.0).abs() < 1e-6, "{below}");
    assert!(
        warnings.iter().any(|w| w.starts_with(
            "fewer than its availability floor of 2 pods were ready for 604800 s (100.00 % of the time; fewest 1)"
        )),
        "{warnings:?}"
    );
    let av = frontend(&v, "availability");
    assert_eq!(
        (av["fewest"].as_u64(), av["holds"].as_bool()),
        (Some(1), Some(false))
    );
    assert!(v["static_reasons"]
        .to_string()
        .contains("frontend: may run on 1 replica, below the scenario's availability floor of 2"));

    // With room for two nodes the spread holds: 2 ready pods, nothing capped, floor holds.
    let dir = tempfile::tempdir().unwrap();
    let v = simulate_json(&scenario_with(dir.path(), 10, &baseline));
    let a = frontend(&v, "activity");
    assert_eq!(
        (a["ready_max"].as_u64(), a["capped_pods"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(a["below_floor_seconds"].as_f64(), Some(0.0));
    assert_eq!(frontend(&v, "availability")["holds"], true);
}

#[test]
fn search_candidates_keep_the_baselines_container_resource_metric_and_spread() {
    use costsim::model::build::load_scenario;
    use costsim::model::config::{
        ContainerResourceMetricConfig, MetricConfig, MetricTargetConfig, TopologySpreadConfig,
    };
    use costsim::model::load::{Files, DEFAULT_SCENARIO};
    let sc = load_scenario(Files::Embedded, Path::new(DEFAULT_SCENARIO)).unwrap();
    let mut baseline = sc.baseline.clone();
    let backend = baseline.workloads.get_mut("backend").unwrap();
    backend.topology_spread = Some(TopologySpreadConfig {
        max_skew: 1,
        min_domains: Some(2),
    });
    backend.hpa.as_mut().unwrap().metrics = vec![MetricConfig {
        kind: "ContainerResource".into(),
        container_resource: Some(ContainerResourceMetricConfig {
            name: "cpu".into(),
            container: "backend".into(),
            target: MetricTargetConfig {
                kind: "Utilization".into(),
                average_utilization: Some(70),
                average_value: None,
                value: None,
            },
        }),
        ..MetricConfig::default()
    }];
    let candidates = costsim::search::space::expand(&sc.space, &baseline);
    assert_eq!(candidates.len(), 720);
    for c in &candidates {
        let w = &c.workloads["backend"];
        // Used to be replaced by a pod-level `Resource` cpu metric, which sidecars dilute.
        let m = &w.hpa.as_ref().unwrap().metrics;
        assert_eq!(m.len(), 1, "{}", c.name);
        assert_eq!(m[0].kind, "ContainerResource", "{}", c.name);
        assert!(m[0].resource.is_none(), "{}", c.name);
        let cr = m[0].container_resource.as_ref().unwrap();
        assert_eq!(
            (cr.name.as_str(), cr.container.as_str()),
            ("cpu", "backend")
        );
        let u = cr.target.average_utilization.unwrap();
        assert!([60, 70, 80].contains(&u), "{}", c.name);
        assert!(c.name.contains(&format!("@backend.cpu{u}% ")), "{}", c.name);
        assert_eq!(
            w.topology_spread
                .as_ref()
                .map(|t| (t.max_skew, t.min_domains)),
            Some((1, Some(2))),
            "{}",
            c.name
        );
    }
    // Candidate names stay unique.
    let mut names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), candidates.len());
}

#[test]
fn a_metric_with_a_second_source_beside_its_type_is_bad_input() {
    // `type: ContainerResource` with a `resource:` block too used to run (the extra block
    // silently ignored); the API server rejects it.
    let text = std::fs::read_to_string(repo().join("models/configs/baseline.yaml")).unwrap();
    let old = "        - type: Resource\n          resource: { name: cpu, target: { type: Utilization, averageUtilization: 70 } }";
    assert!(text.contains(old), "baseline layout changed");
    let both = "        - type: ContainerResource\n          resource: { name: cpu, target: { type: Utilization, averageUtilization: 70 } }\n          containerResource: { name: cpu, container: backend, target: { type: Utilization, averageUtilization: 70 } }";
    let dir = tempfile::tempdir().unwrap();
    let run = |config: &str| {
        let f = dir.path().join("c.yaml");
        std::fs::write(&f, config).unwrap();
        costsim_status(&["simulate", "--quiet", "--config"], &f)
    };
    let (code, err) = run(&text.replacen(old, both, 1));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("c.yaml: workloads.backend.hpa.metrics[0].resource: set on a ContainerResource metric: only `containerResource` may be"),
        "{err}"
    );
    // The ContainerResource metric alone runs.
    let alone = "        - type: ContainerResource\n          containerResource: { name: cpu, container: backend, target: { type: Utilization, averageUtilization: 70 } }";
    let (code, err) = run(&text.replacen(old, alone, 1));
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn a_spread_without_max_skew_is_bad_input_as_in_the_api() {
    // maxSkew is a required field of a topologySpreadConstraint; `{}` must not mean 1.
    let text = "name: c\nworkloads:\n  app:\n    node_pool: p\n    replicas: 2\n    resources: { requests: { cpu: 100m } }\n    topology_spread: {}\n";
    let err = config_error(text);
    assert!(
        err.contains("c.yaml") && err.contains("max_skew") && err.contains("line 7"),
        "{err}"
    );
    let ok = text.replace("{}", "{ max_skew: 2 }");
    let c: costsim::model::config::Config =
        costsim::model::load::from_yaml_str(&ok, "c.yaml").unwrap();
    assert_eq!(
        c.workloads["app"].topology_spread,
        Some(costsim::model::config::TopologySpreadConfig {
            max_skew: 2,
            min_domains: None
        })
    );
}

/// The bundled manifests fixture copied to a temp dir, `edit` applied to `base/<file>`; the
/// exit code and stderr of `validate --manifests <dir>/base`.
fn validate_manifests_with(file: &str, edit: impl Fn(&str) -> String) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    std::fs::create_dir(&base).unwrap();
    let src = repo().join("tests/fixtures/manifests/base");
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, base.join(p.file_name().unwrap())).unwrap();
    }
    let f = base.join(file);
    let text = std::fs::read_to_string(&f).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text, "fixture layout changed");
    std::fs::write(&f, edited).unwrap();
    costsim_status(&["validate", "--quiet", "--manifests"], &base)
}

/// Runs costsim in the repository with `args` then `path`: its exit code and stderr.
fn costsim_status(args: &[&str], path: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costsim"))
        .args(args)
        .arg(path)
        .current_dir(repo())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_nan_or_infinite_number_in_a_manifest_is_bad_input_not_a_dropped_field() {
    // `cpu: .inf` used to be read as null: the frontend's CPU request silently vanished and
    // validate exited 0. kubectl cannot convert NaN or infinity to JSON either.
    for bad in [".inf", ".nan", "-.inf"] {
        let (code, err) = validate_manifests_with("frontend-deployment.yaml", |t| {
            t.replacen("cpu: \"100m\"", &format!("cpu: {bad}"), 1)
        });
        assert_eq!(code, Some(2), "{bad}: {err}");
        assert!(
            err.contains("frontend-deployment.yaml: line ")
                && err.contains("is not a finite number"),
            "{bad}: {err}"
        );
    }
    // A finite float is still a number.
    let (code, err) = validate_manifests_with("frontend-deployment.yaml", |t| {
        t.replacen("cpu: \"100m\"", "cpu: 0.1", 1)
    });
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn a_manifest_document_without_a_string_kind_is_bad_input_not_ignored() {
    // `kind: [Deployment]` (or no kind, or a document that is a list) used to be noted as
    // "(no kind) redis ignored (not modeled)": the Deployment was dropped and the scenario's
    // baseline used in its place, exit 0. kubectl refuses it (`Object 'Kind' is missing`).
    let (code, err) = validate_manifests_with("redis-deployment.yaml", |t| {
        t.replacen("kind: Deployment", "kind: [Deployment]", 1)
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("redis-deployment.yaml: document 1 of ")
            && err.contains("kind")
            && err.contains("missing or not a string"),
        "{err}"
    );
    let (code, err) = validate_manifests_with("redis-deployment.yaml", |t| {
        t.replacen("kind: Deployment\n", "", 1)
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("missing or not a string"), "{err}");
    let (code, err) = validate_manifests_with("redis-deployment.yaml", |_| "- a\n- b\n".into());
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("redis-deployment.yaml: document 1 of 1") && err.contains("not a mapping"),
        "{err}"
    );
}

#[test]
fn a_pymongo_timeout_of_zero_is_bad_input_as_pymongo_raises() {
    // pymongo's validate_timeout_or_none takes (0, 1e9) ms for maxIdleTimeMS and
    // waitQueueTimeoutMS; 0 raises ValueError at MongoClient(...). It used to be accepted
    // (every waiting checkout failing at once, or connections closed as soon as idle).
    let text = std::fs::read_to_string(repo().join("models/configs/baseline.yaml")).unwrap();
    let old = "mongodb: { client: motor }";
    assert!(text.contains(old), "baseline layout changed");
    let dir = tempfile::tempdir().unwrap();
    let run = |pool: &str| {
        let f = dir.path().join("c.yaml");
        std::fs::write(&f, text.replacen(old, pool, 1)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_costsim"))
            .args(["simulate", "--quiet", "--config"])
            .arg(&f)
            .current_dir(repo())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (setting, field) in [
        ("waitQueueTimeoutMS: 0", "waitQueueTimeoutMS"),
        ("maxIdleTimeMS: 0", "maxIdleTimeMS"),
        ("waitQueueTimeoutMS: 1000000000", "waitQueueTimeoutMS"),
        ("maxIdleTimeMS: -5", "maxIdleTimeMS"),
    ] {
        let (code, err) = run(&format!("mongodb: {{ client: pymongo, {setting} }}"));
        assert_eq!(code, Some(2), "{setting}: {err}");
        assert!(
            err.contains(&format!(
                "c.yaml: workloads.backend.client_pools.mongodb.{field}: "
            )) && err.contains("greater than 0 and less than one billion"),
            "{setting}: {err}"
        );
    }
    let (code, err) =
        run("mongodb: { client: motor, waitQueueTimeoutMS: 1, maxIdleTimeMS: 999999999 }");
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn a_duration_of_the_wrong_type_says_a_duration_was_expected() {
    // A map, list or boolean where a duration goes used to say "expected a Kubernetes
    // quantity: a string such as "500m" or "512Mi"", which no duration field takes.
    let text = "name: c\nworkloads:\n  app:\n    node_pool: p\n    replicas: 2\n    resources: { requests: { cpu: 100m } }\n    init_containers: [ { name: migrate, duration: { s: 20 } } ]\n";
    let err = config_error(text);
    assert!(
        err.contains("c.yaml: line 7")
            && err.contains("init_containers[0].duration")
            && err.contains("expected a duration: a string such as \"15s\"")
            && !err.contains("quantity"),
        "{err}"
    );
    // Quantities keep their own wording.
    let text = text
        .replace("duration: { s: 20 }", "duration: 20s")
        .replace("cpu: 100m", "cpu: [100m]");
    let err =
        costsim::model::load::from_yaml_str::<costsim::model::config::Config>(&text, "c.yaml")
            .unwrap_err()
            .to_string();
    assert!(err.contains("expected a Kubernetes quantity"), "{err}");
}

#[test]
fn a_huge_profile_number_is_shown_in_exponent_form() {
    // `cpu_ms: 1e300` used to be reported as a 301-digit number.
    let dir = tempfile::tempdir().unwrap();
    let r = repo().display().to_string();
    let profile = std::fs::read_to_string(repo().join("models/services/backend.yaml"))
        .unwrap()
        .replacen("cpu_ms: 15 ", "cpu_ms: 1e300 ", 1);
    std::fs::write(dir.path().join("backend.yaml"), profile).unwrap();
    let sc = std::fs::read_to_string(repo().join("models/scenarios/default.yaml"))
        .unwrap()
        .replace("../../data", &format!("{r}/data"))
        .replace("../services/backend.yaml", "backend.yaml")
        .replace("../services", &format!("{r}/models/services"))
        .replace("../node-pools", &format!("{r}/models/node-pools"))
        .replace("../configs", &format!("{r}/models/configs"))
        .replace("../spaces", &format!("{r}/models/spaces"));
    let p = dir.path().join("scenario.yaml");
    std::fs::write(&p, sc).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_costsim"))
        .args(["validate", "--quiet", "--scenario"])
        .arg(&p)
        .current_dir(repo())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("backend.yaml: classes[0].cpu_ms: 1e300 must be a number in [0, 1000000]"),
        "{err}"
    );
}

#[test]
fn a_usage_csv_row_repeated_at_the_same_time_is_bad_input() {
    // Two rows for pod a-1 at ts 5 were both kept: the pod's usage at that time counted
    // twice (mean 50m of samples 10m and 90m), exit 0.
    use costsim::ingest::metrics::{parse_metrics, MetricsOptions};
    let opts = MetricsOptions::default();
    let text = "pod,cpu,memory,ts\na-1,10m,1Mi,5\nb-1,20m,1Mi,5\na-1,90m,1Mi,5\n";
    let err = parse_metrics(text, "u.csv", &opts).unwrap_err().to_string();
    assert!(
        err.contains("u.csv: line 4")
            && err.contains("a second row for pod `a-1` at the same time as line 2"),
        "{err}"
    );
    // Other times, other pods or other containers are separate samples.
    let ok = "pod,container,cpu,ts\na-1,app,10m,5\na-1,proxy,1m,5\na-1,app,12m,6\nb-1,app,20m,5\n";
    assert_eq!(parse_metrics(ok, "u.csv", &opts).unwrap().samples.len(), 4);
    let err = parse_metrics(&format!("{ok}a-1,proxy,2m,5\n"), "u.csv", &opts)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 6") && err.contains("pod `a-1` container `proxy`"),
        "{err}"
    );
    // Without a time column the rows carry no time to repeat.
    let untimed = "pod,cpu\na-1,10m\na-1,90m\n";
    assert_eq!(
        parse_metrics(untimed, "u.csv", &opts)
            .unwrap()
            .samples
            .len(),
        2
    );
}

/// The error loading `text` as a config file named `c.yaml` gives.
fn config_error(text: &str) -> String {
    costsim::model::load::from_yaml_str::<costsim::model::config::Config>(text, "c.yaml")
        .unwrap_err()
        .to_string()
}

/// The default scenario's text with every relative path made absolute (into the repository).
fn default_scenario_absolute() -> String {
    let r = repo().display().to_string();
    std::fs::read_to_string(repo().join("models/scenarios/default.yaml"))
        .unwrap()
        .replace("../../data", &format!("{r}/data"))
        .replace("../", &format!("{r}/models/"))
}

/// Runs costsim in the repository with `args`: its exit code, stdout and stderr.
fn costsim_run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_costsim"))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_request_log_without_the_token_columns_an_external_wait_needs_is_bad_input() {
    // A log with no ContextTokens / GeneratedTokens columns gave the llm class no external
    // wait at all (external_wait_mean_s 0.0, not even first_token's 400 ms), exit 0.
    let dir = tempfile::tempdir().unwrap();
    let azure = repo().join("data/traffic/azure_llm_inference_2023-11-16_conv.csv");
    let log = std::fs::read_to_string(&azure).unwrap();
    let keep = |cols: usize| -> String {
        log.lines()
            .map(|l| l.split(',').take(cols).collect::<Vec<_>>().join(","))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let cases = [
        (
            keep(1),
            "has no token column for `per_context_token_us`: class `llm` of profile `backend` waits 100 per token",
            "the source's `context_tokens_column`, default `ContextTokens`), or per_context_token_us: 0",
        ),
        (
            keep(2),
            "has no token column for `per_generated_token_ms`: class `llm` of profile `backend` waits 25 per token",
            "the source's `generated_tokens_column`, default `GeneratedTokens`), or per_generated_token_ms: 0",
        ),
    ];
    for (i, (text, what, expected)) in cases.iter().enumerate() {
        let csv = dir.path().join(format!("log{i}.csv"));
        std::fs::write(&csv, text).unwrap();
        let sc = default_scenario_absolute()
            .replace(&azure.display().to_string(), &csv.display().to_string())
            .replace("    context_tokens_column: ContextTokens\n", "")
            .replace("    generated_tokens_column: GeneratedTokens\n", "");
        let p = dir.path().join(format!("scenario{i}.yaml"));
        std::fs::write(&p, sc).unwrap();
        let (code, _, err) = costsim_run(&["validate", "--scenario", p.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{err}");
        assert!(
            err.contains("scenario")
                && err.contains(": services[0].traffic.class_logs.llm: request log `azure_conv` (")
                && err.contains(what)
                && err.contains(expected),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn traffic_with_less_than_one_request_over_the_horizon_is_noted() {
    // `scale: 0` (or an all-zero trace, or counts of 1e-300) gave a search that ranked every
    // config on no load, by idle cost, without a word.
    let dir = tempfile::tempdir().unwrap();
    let sc = default_scenario_absolute().replace("scale: 40 ", "scale: 0 ") + "horizon: 1h\n";
    let p = dir.path().join("scenario.yaml");
    std::fs::write(&p, sc).unwrap();
    let (code, out, err) = costsim_run(&["simulate", "--quiet", "--scenario", p.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    for service in ["backend", "frontend"] {
        assert!(
            out.contains(&format!(
                "note: service `{service}`: its traffic (`nasa_week` × 0) brings no requests over \
                 the 1h simulated: its configs are then ranked on no load, by idle cost"
            )),
            "{out}"
        );
    }
    // A tiny but positive trace says how little.
    let tiny: String = std::iter::once("unix_s,requests\n".to_string())
        .chain((0..600).map(|t| format!("{t},1e-300\n")))
        .collect();
    let csv = dir.path().join("tiny.csv");
    std::fs::write(&csv, tiny).unwrap();
    let nasa =
        repo().join("data/traffic/nasa_ksc_http_1995-07-01_to_07-07_requests_per_second.csv");
    let sc = default_scenario_absolute()
        .replace(&nasa.display().to_string(), &csv.display().to_string());
    std::fs::write(&p, sc).unwrap();
    let (code, out, err) = costsim_run(&["validate", "--scenario", p.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("brings 2.400e-296 requests (less than one) over the 10m simulated"),
        "{out}"
    );
    // A tiny scale is written in exponent form.
    let sc = default_scenario_absolute().replace("scale: 40 ", "scale: 1e-300 ") + "horizon: 1h\n";
    std::fs::write(&p, sc).unwrap();
    let (code, out, err) = costsim_run(&["validate", "--scenario", p.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("its traffic (`nasa_week` × 1e-300) brings "),
        "{out}"
    );
    // The default scenario's traffic is not noted.
    let (code, out, err) = costsim_run(&["validate"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !out.contains("less than one") && !out.contains("brings no requests"),
        "{out}"
    );
}

/// Runs costsim in the repository with `args`, `stdin` on its standard input: exit code,
/// stdout and stderr.
fn costsim_with_stdin(args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_costsim"))
        .args(args)
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn a_pipe_is_read_and_a_symlink_loop_is_not_called_missing() {
    // `--metrics <(kubectl top pods)` and `--manifests <(kustomize build)` were refused as "no
    // such metrics file" / "no such manifests file or directory" (a pipe is no regular file);
    // a symlink loop was "no such scenario file", hiding the loop.
    let top = std::fs::read_to_string(repo().join("tests/fixtures/metrics/top.txt")).unwrap();
    let (code, out, err) =
        costsim_with_stdin(&["recommend", "--quiet", "--metrics", "/dev/stdin"], &top);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with("metrics: /dev/stdin (480 samples, 1 missing)"),
        "{out}"
    );
    let deployment = std::fs::read_to_string(
        repo().join("tests/fixtures/manifests/base/backend-deployment.yaml"),
    )
    .unwrap();
    let (code, out, err) = costsim_with_stdin(
        &["validate", "--quiet", "--manifests", "/dev/stdin"],
        &deployment,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("name: manifests /dev/stdin"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    for (flag, what) in [
        (["validate", "--scenario"], "scenario file"),
        (["recommend", "--metrics"], "metrics file"),
        (["validate", "--manifests"], "manifests file or directory"),
    ] {
        let (code, err) = costsim_status(&flag, &a);
        assert_eq!(code, Some(2), "{flag:?}: {err}");
        assert!(
            err.starts_with(&format!(
                "costsim: {}: cannot open the {what}: ",
                a.display()
            )) && !err.contains("no such"),
            "{flag:?}: {err}"
        );
    }
    // A path that does not exist is still called missing.
    let (code, err) = costsim_status(&["recommend", "--metrics"], &dir.path().join("none"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("none: no such metrics file"), "{err}");
}

/// The Nezha cartservice file with column `col` (0-based) of every data row set to `value`.
fn nezha_with(col: usize, value: &str) -> String {
    let text = std::fs::read_to_string(repo().join(
        "data/usage/nezha_onlineboutique_2022-08-22/cartservice-579f59597d-wc2lz_metric.csv",
    ))
    .unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut out = format!("{header}\n");
    for l in lines {
        let mut f: Vec<&str> = l.split(',').collect();
        f[col] = value;
        out.push_str(&f.join(","));
        out.push('\n');
    }
    out
}

#[test]
fn calibrate_refuses_a_rate_or_latency_no_pod_has_instead_of_panicking() {
    // PodServerLatencyP90(s) = 1e308 made in-flight = rate × latency infinite and nalgebra's
    // SVD panicked ("Singular value was NaN", exit 101).
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            12,
            "1e308",
            "line 2: column `PodServerLatencyP90(s)`: 1e308 is above 86400 s (a day): not a request's latency",
        ),
        (
            17,
            "4e9",
            "line 2: column `PodWorkload(Ops)`: 4e9 is above 1e9 requests/s: not a pod's request rate",
        ),
    ];
    for (col, value, want) in cases {
        let f = dir.path().join("m.csv");
        std::fs::write(&f, nezha_with(col, value)).unwrap();
        let (code, err) = costsim_status(
            &[
                "calibrate",
                "--quiet",
                "--service",
                "cartservice",
                "--metrics",
            ],
            &f,
        );
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(want) && !err.contains("panicked"), "{err}");
    }
    // The fit itself takes no infinite value.
    let x: Vec<f64> = (0..20).map(f64::from).collect();
    let mut y = x.clone();
    y[3] = f64::INFINITY;
    assert!(costsim::calibrate::fit_line(&x, &y).is_none());
}

#[test]
fn a_constant_usage_fits_with_r_squared_zero_not_rounding_noise() {
    // A constant CPU of 5 (50m) printed R² 0.998: 1 − noise / noise, as the mean of 1209
    // equal floats is not exactly equal to them.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.csv");
    std::fs::write(&f, nezha_with(3, "5")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_costsim"))
        .args([
            "calibrate",
            "--quiet",
            "--service",
            "cartservice",
            "--metrics",
        ])
        .arg(&f)
        .current_dir(repo())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("cpu    = 50.00m idle + 0.0000 ms per request   R² 0.000"),
        "{stdout}"
    );
}

#[test]
fn a_huge_float_where_an_integer_belongs_is_quoted_in_exponent_form() {
    // `replicas: 1e308` was quoted in all 309 digits: "invalid type: floating point
    // `100000…0`, expected u32".
    let err =
        config_error("name: c\nworkloads:\n  web:\n    node_pool: light\n    replicas: 1e308\n");
    assert_eq!(
        err,
        "c.yaml: line 5, field `workloads.web.replicas`: invalid type: floating point `1e308`, expected u32"
    );
    // serde_json writes it short already; it stays so.
    let json = costsim::report::ranking::Ranking::parse(
        "{\"scenario\": \"s\", \"seed\": 1e300}",
        "r.json",
    )
    .unwrap_err()
    .to_string();
    assert!(
        json.contains("field `seed`: invalid type: floating point `1e+300`, expected u64"),
        "{json}"
    );
    // An integer keeps its digits.
    let err = config_error(
        "name: c\nworkloads:\n  web:\n    node_pool: light\n    replicas: 123456789012345678901234567890\n",
    );
    assert!(
        err.contains("integer `123456789012345678901234567890` as u128"),
        "{err}"
    );
}

#[test]
fn a_ratio_limit_beyond_the_largest_quantity_is_bad_input() {
    // `cpu_limit: [1e308x]` gave candidates with a CPU limit of 9223372036854775807m (the
    // product saturated), and `memory_limit: [1e300x]` overflowed to a negative limit: "the
    // space has no valid candidate: every combination sets a limit below its request".
    let dir = tempfile::tempdir().unwrap();
    let space = std::fs::read_to_string(repo().join("models/spaces/default.yaml")).unwrap();
    let cases = [
        (
            "cpu_limit: [none, 2x]",
            "cpu_limit: [none, 1e308x]",
            "grid.cpu_limit[1]: `1e308x` of the largest cpu_request (500m) is beyond the largest quantity Kubernetes takes; expected a ratio such as 2x",
        ),
        (
            "memory_limit: [2x]",
            "memory_limit: [1e300x]",
            "grid.memory_limit[0]: `1e300x` of the largest memory_request (512Mi) is beyond the largest quantity Kubernetes takes",
        ),
    ];
    for (from, to, want) in cases {
        assert!(space.contains(from), "space layout changed");
        let sp = dir.path().join("space.yaml");
        std::fs::write(&sp, space.replacen(from, to, 1)).unwrap();
        let r = repo().display().to_string();
        let sc = default_scenario_absolute().replace(
            &format!("{r}/models/spaces/default.yaml"),
            &sp.display().to_string(),
        );
        let p = dir.path().join("scenario.yaml");
        std::fs::write(&p, sc).unwrap();
        for cmd in ["search", "validate"] {
            let (code, _, err) = costsim_run(&[cmd, "--quiet", "--scenario", p.to_str().unwrap()]);
            assert_eq!(code, Some(2), "{cmd}: {err}");
            assert!(
                err.contains("space.yaml: ") && err.contains(want),
                "{cmd}: {err}"
            );
        }
    }
}

#[test]
fn an_init_container_longer_than_the_horizon_is_warned_of() {
    // `duration: 100000000d` ran silently: every pod the HPA added stayed in its init
    // container (19575 pending pod-s, ready 3–3), with no word, unlike a start-up delay.
    let dir = tempfile::tempdir().unwrap();
    let baseline = std::fs::read_to_string(repo().join("models/configs/baseline.yaml")).unwrap();
    let anchor = "    replicas: 3\n";
    assert!(baseline.contains(anchor), "baseline layout changed");
    let config = baseline.replacen(
        anchor,
        &format!("{anchor}    init_containers: [ {{ name: migrate, duration: 3h }} ]\n"),
        1,
    );
    let c = dir.path().join("config.yaml");
    std::fs::write(&c, &config).unwrap();
    let sc = dir.path().join("scenario.yaml");
    std::fs::write(&sc, default_scenario_absolute() + "horizon: 2h\n").unwrap();
    let want = "workloads.backend.init_containers[0].duration: 3h is longer than the simulated \
                horizon (2h): a pod started during the run never gets past it";
    let (code, _, err) = costsim_run(&[
        "simulate",
        "--quiet",
        "--scenario",
        sc.to_str().unwrap(),
        "--config",
        c.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains(&format!("costsim: warning: {}: {want}", c.display())),
        "{err}"
    );
    // As the scenario's baseline: a note.
    let r = repo().display().to_string();
    let text = std::fs::read_to_string(&sc).unwrap().replace(
        &format!("{r}/models/configs/baseline.yaml"),
        &c.display().to_string(),
    );
    std::fs::write(&sc, text).unwrap();
    let (code, out, err) = costsim_run(&["validate", "--scenario", sc.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains(want), "{out}");
    // Inside the horizon: no word.
    std::fs::write(&c, config.replace("duration: 3h", "duration: 20s")).unwrap();
    let (_, out, _) = costsim_run(&["validate", "--scenario", sc.to_str().unwrap()]);
    assert!(!out.contains("init_containers[0].duration"), "{out}");
}

#[test]
fn a_metrics_name_with_whitespace_or_a_control_character_is_bad_input() {
    // A quoted CSV pod `"web\n1"` was read as pod `web\n1`: `recommend` printed its row across
    // two lines, exit 0.
    use costsim::ingest::metrics::{parse_metrics, MetricsOptions};
    let opts = MetricsOptions::default();
    let err = parse_metrics("pod,cpu,memory,ts\n\"web\n1\",10m,10Mi,0\n", "u.csv", &opts)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "u.csv: pod name `web\\n1` has whitespace or a control character; expected a \
         Kubernetes name (lower-case letters, digits, `-` and `.`)"
    );
    let prom = r#"{"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {"__name__": "container_memory_working_set_bytes", "pod": "web-1", "container": "app x"}, "values": [[1661140279, "1048576"]]}]}}"#;
    let err = parse_metrics(prom, "p.json", &opts)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("p.json: container name `app x` has whitespace"),
        "{err}"
    );
}

#[test]
fn a_token_count_beyond_the_largest_says_the_largest() {
    // `4294967296` was refused as "expected a non-negative integer number of tokens": it is
    // one; what it is not is at most 4294967295.
    use costsim::ingest::traffic::{parse_request_log, RequestLogOptions};
    let opts = RequestLogOptions::default();
    for v in ["4294967296", "18446744073709551616", "1e308", "-5", "3.5"] {
        let text = format!("TIMESTAMP,ContextTokens,GeneratedTokens\n1,1,1\n2,{v},1\n");
        let err = parse_request_log(&text, "log.csv", &opts)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!("log.csv: line 3: column `ContextTokens`: expected a non-negative integer number of tokens (at most 4294967295), found `{v}`")
        );
    }
    let text = "TIMESTAMP,ContextTokens,GeneratedTokens\n1,1,1\n2,4294967295,0\n";
    let log = parse_request_log(text, "log.csv", &opts).unwrap();
    assert_eq!(log.context_tokens, vec![1, u32::MAX]);
}

#[cfg(unix)]
#[test]
fn a_metrics_path_that_is_not_utf8_is_read() {
    // `--metrics $'top\xff.txt'` was refused by the argument parser: "invalid UTF-8 was
    // detected in one or more arguments", naming no flag, while --scenario and --config take
    // such paths.
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"top\xff.txt");
    let path = dir.path().join(name);
    std::fs::copy(repo().join("tests/fixtures/metrics/top.txt"), &path).unwrap();
    let mut with_cpu = std::ffi::OsString::from("cpu=");
    with_cpu.push(&path);
    for arg in [path.clone().into_os_string(), with_cpu] {
        let out = Command::new(env!("CARGO_BIN_EXE_costsim"))
            .args(["recommend", "--quiet", "--metrics"])
            .arg(&arg)
            .current_dir(repo())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.starts_with("metrics: ")
                && stdout.contains("top\u{fffd}.txt (480 samples, 1 missing)"),
            "{stdout}"
        );
    }
    // A missing one is named.
    let (code, err) = costsim_status(
        &["recommend", "--metrics"],
        &dir.path().join(std::ffi::OsStr::from_bytes(b"no\xff.txt")),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("no\u{fffd}.txt: no such metrics file"),
        "{err}"
    );
}
