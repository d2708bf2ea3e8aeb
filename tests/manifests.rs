//! `--manifests` and `emit`: kustomize layouts read as kustomize builds them, Deployments and
//! HPAs read into configs, emitted base/overlay read back to exactly the emitted config, the
//! output checked by `kubectl kustomize` and the Kubernetes schemas (`kubernetes-validate`)
//! when those tools are installed (`.ci/run` installs them; under CI their absence fails).

use std::path::{Path, PathBuf};
use std::process::Command;

use costsim::manifests::{self, emit, kustomize};
use costsim::model::build::load_scenario;
use costsim::model::config::Config;
use costsim::model::load::{from_yaml_str, Files, DEFAULT_SCENARIO};
use costsim::model::scenario::Scenario;
use serde_json::{json, Value};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures/manifests").join(rel)
}

fn scenario() -> &'static Scenario {
    static SC: std::sync::OnceLock<Scenario> = std::sync::OnceLock::new();
    SC.get_or_init(|| load_scenario(Files::Embedded, Path::new(DEFAULT_SCENARIO)).unwrap())
}

/// Whether `tool` runs; when it does not, a loud message, and a failure under CI.
pub fn have(tool: &str, args: &[&str]) -> bool {
    let ok = Command::new(tool)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let msg =
            format!("!!! `{tool}` is not installed: this check is SKIPPED (`.ci/run` installs it)");
        assert!(std::env::var_os("CI").is_none(), "{msg} — and CI is set");
        eprintln!("{msg}");
    }
    ok
}

/// `kubectl kustomize DIR` as parsed documents.
fn kubectl_kustomize(dir: &Path) -> Vec<Value> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    kustomize::parse_documents(&String::from_utf8(out.stdout).unwrap(), "kubectl output").unwrap()
}

/// Validates a built manifest against the Kubernetes schemas (strict: no unknown fields).
fn schema_validate(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("built.yaml");
    std::fs::write(&f, text).unwrap();
    let out = Command::new("kubernetes-validate")
        .args(["--strict", "--quiet"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "schema validation failed:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(|o| {
        (
            o["kind"].as_str().unwrap_or("").to_string(),
            o["metadata"]["name"].as_str().unwrap_or("").to_string(),
        )
    });
    v
}

#[test]
fn the_prod_overlay_reads_as_kustomize_builds_it() {
    let sc = scenario();
    let read = manifests::read_config(&fixture("overlays/prod"), &sc.catalog, None).unwrap();
    let c = &read.config;
    let b = &c.workloads["backend"];
    // Patched: 4 replicas, memory 768Mi/1536Mi, the CPU limit removed by `cpu: null`.
    assert_eq!(b.replicas, 4);
    assert_eq!(b.resources.requests.cpu.unwrap().0, 250);
    assert_eq!(b.resources.requests.memory.unwrap().0, 768 << 20);
    assert_eq!(b.resources.limits.memory.unwrap().0, 1536 << 20);
    assert_eq!(b.resources.limits.cpu, None);
    // Affinity In [r7, g7] → highmem, also on general.
    assert_eq!(
        (b.node_pool.as_str(), b.also_on.clone()),
        ("highmem", vec!["general".to_string()])
    );
    let h = b.hpa.as_ref().unwrap();
    assert_eq!((h.min_replicas, h.max_replicas), (3, 10));
    assert_eq!(
        h.behavior
            .as_ref()
            .unwrap()
            .scale_down
            .as_ref()
            .unwrap()
            .stabilization_window_seconds,
        Some(300)
    );
    let ru = b.rolling_update.unwrap();
    assert_eq!(ru.resolve(4), (1, 0));
    // autoscaling/v1 target → a v2 CPU Utilization metric; nodeSelector on the instance type.
    let f = &c.workloads["frontend"];
    assert_eq!((f.node_pool.as_str(), f.also_on.len()), ("light", 0));
    let fh = f.hpa.as_ref().unwrap();
    assert_eq!((fh.min_replicas, fh.max_replicas), (2, 4));
    let m = fh.metrics[0].resource.as_ref().unwrap();
    assert_eq!(
        (m.name.as_str(), m.target.average_utilization),
        ("cpu", Some(75))
    );
    // A nodeSelector value that names a catalog pool.
    assert_eq!(c.workloads["redis"].node_pool, "light");
    let notes = read.notes.join("\n");
    assert!(notes.contains("Service backend ignored"), "{notes}");
    assert!(notes.contains("ephemeral-storage"), "{notes}");

    if have("kubectl", &["version", "--client"]) {
        let mut notes = Vec::new();
        let ours: Vec<Value> = kustomize::load(&fixture("overlays/prod"), &mut notes)
            .unwrap()
            .into_iter()
            .map(|o| o.value)
            .collect();
        assert_eq!(
            sorted(ours),
            sorted(kubectl_kustomize(&fixture("overlays/prod")))
        );
    }
}

#[test]
fn manifests_replace_the_scenario_baseline() {
    let mut sc = load_scenario(Files::Embedded, Path::new(DEFAULT_SCENARIO)).unwrap();
    let notes = manifests::use_as_baseline(&mut sc, &fixture("base")).unwrap();
    assert_eq!(
        sc.baseline.workloads["frontend"]
            .hpa
            .as_ref()
            .unwrap()
            .max_replicas,
        4
    );
    assert_eq!(sc.baseline.workloads["backend"].replicas, 3);
    assert!(notes.iter().any(|n| n.contains("Service")), "{notes:?}");
}

#[test]
fn images_and_namespace_pass_through_from_the_manifests() {
    let p = manifests::read_passthrough(&fixture("overlays/prod")).unwrap();
    assert_eq!(p.namespace.as_deref(), Some("klinematrix-prod"));
    assert_eq!(
        p.images["backend"],
        "financialagent.azurecr.io/backend:1.5.0"
    );
    assert_eq!(p.images["redis"], "redis:7.2");
}

#[test]
fn a_deployment_without_replicas_starts_at_its_hpa_minimum() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("base/backend-deployment.yaml"))
        .unwrap()
        .replace("  replicas: 3\n", "");
    std::fs::write(dir.path().join("backend.yaml"), &text).unwrap();
    let read = manifests::read_config(dir.path(), &scenario().catalog, None).unwrap();
    assert_eq!(read.config.workloads["backend"].replicas, 3);
    // The way to write an HPA-managed Deployment: nothing to note.
    assert!(
        !read.notes.iter().any(|n| n.contains("replicas")),
        "{:?}",
        read.notes
    );
    // Without the HPA it runs the API default of 1, and the note says so.
    let deployment_only = text.split("\n---").next().unwrap().to_string();
    assert!(!deployment_only.contains("HorizontalPodAutoscaler"));
    std::fs::write(dir.path().join("backend.yaml"), deployment_only).unwrap();
    let read = manifests::read_config(dir.path(), &scenario().catalog, None).unwrap();
    assert_eq!(read.config.workloads["backend"].replicas, 1);
    assert!(
        read.notes
            .iter()
            .any(|n| n.contains("sets no replicas and has no HPA; it runs 1")),
        "{:?}",
        read.notes
    );
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let sc = scenario();
    let e = manifests::read_config(&fixture("bad"), &sc.catalog, None).unwrap_err();
    let text = e.to_string();
    assert_eq!(e.exit_code(), 2);
    assert!(text.contains("bad/backend-deployment.yaml"), "{text}");
    assert!(text.contains("backend-deployment.yaml: line 10:"), "{text}");
}

/// A config that uses every field the manifests carry.
fn rich_config() -> Config {
    from_yaml_str(
        r#"
name: rich
workloads:
  backend:
    node_pool: general
    also_on: [light]
    replicas: 2
    resources: { requests: { cpu: 350m, memory: 384Mi }, limits: { memory: 768Mi } }
    sidecars:
      - { name: nginx, resources: { requests: { cpu: 10m, memory: 32Mi }, limits: { memory: 32Mi } } }
    init_containers:
      - { name: migrate, duration: 20s, resources: { requests: { cpu: 100m, memory: 64Mi } } }
    rolling_update: { maxSurge: 1, maxUnavailable: 10% }
    topology_spread: { max_skew: 1, min_domains: 2 }
    client_pools:
      mongodb: { client: pymongo, maxPoolSize: 50, minPoolSize: 5, waitQueueTimeoutMS: 2000 }
      redis: { client: redis-py, pool_class: BlockingConnectionPool, max_connections: 20, timeout: 5 }
    hpa:
      minReplicas: 2
      maxReplicas: 12
      metrics:
        - type: Resource
          resource: { name: cpu, target: { type: Utilization, averageUtilization: 80 } }
        - type: Pods
          pods: { metric: { name: requests_per_second }, target: { type: AverageValue, averageValue: "30" } }
        - type: ContainerResource
          containerResource: { name: memory, container: backend, target: { type: Utilization, averageUtilization: 85 } }
      behavior:
        scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: Max, policies: [ { type: Percent, value: 100, periodSeconds: 15 } ] }
        scaleDown: { stabilizationWindowSeconds: 300 }
  frontend:
    node_pool: light
    replicas: 3
    resources: { requests: { cpu: 50m, memory: 96Mi }, limits: { cpu: 100m, memory: 192Mi } }
    topology_spread: { max_skew: 2 }
    hpa: { minReplicas: 1, maxReplicas: 3, metrics: [] }
  redis:
    node_pool: light
    replicas: 1
    resources: { requests: { cpu: 100m, memory: 256Mi }, limits: { cpu: 250m, memory: 512Mi } }
"#,
        "rich.yaml",
    )
    .unwrap()
}

fn write_files(files: &[emit::File], dir: &Path) {
    for f in files {
        let p = dir.join(&f.path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, &f.text).unwrap();
    }
}

fn round_trip(base: &Config, chosen: &Config) {
    let sc = scenario();
    let pass = manifests::Passthrough {
        namespace: Some("klinematrix-prod".into()),
        images: [(
            "backend".to_string(),
            "registry.example/backend:1.5.0".to_string(),
        )]
        .into(),
    };
    let floors = [("backend".to_string(), 2)].into();
    let files = emit::emit(base, chosen, "prod", &pass, &sc.catalog, &floors).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_files(&files, dir.path());
    let overlay = dir.path().join("overlays/prod");
    // An HPA-managed Deployment is emitted without `replicas` (the HPA owns the count), so
    // it reads back starting from the HPA's minimum; everything else reads back as emitted.
    let starting_at_min = |c: &Config| {
        let mut c = c.clone();
        for w in c.workloads.values_mut() {
            if let Some(h) = &w.hpa {
                w.replicas = h.min_replicas.max(1) as u32;
            }
        }
        c
    };
    for f in files.iter().filter(|f| f.text.contains("kind: Deployment")) {
        let config = if f.path.starts_with("base/") {
            base
        } else {
            chosen
        };
        for name in config
            .workloads
            .iter()
            .filter(|(n, w)| w.hpa.is_some() && f.path.contains(n.as_str()))
            .map(|(n, _)| n)
        {
            let sets = f.text.lines().any(|l| {
                l.trim_start()
                    .strip_prefix("replicas: ")
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            });
            assert!(
                !sets,
                "{}: sets the replicas the HPA of {name} owns:\n{}",
                f.path, f.text
            );
        }
    }
    // The backend's floor of 2 goes out as its disruption budget, in the overlay.
    let pdb = files
        .iter()
        .find(|f| f.path == "overlays/prod/backend-pdb.yaml")
        .expect("a PodDisruptionBudget for the floored backend");
    assert!(
        pdb.text.contains("kind: PodDisruptionBudget") && pdb.text.contains("minAvailable: 2"),
        "{}",
        pdb.text
    );
    let back = manifests::read_config(&overlay, &sc.catalog, None).unwrap();
    assert!(
        !back.notes.iter().any(|n| n.contains("PodDisruptionBudget")),
        "{:?}",
        back.notes
    );
    assert_eq!(
        back.config,
        starting_at_min(chosen),
        "overlay read back:\n{files:#?}"
    );
    let back_base = manifests::read_config(&dir.path().join("base"), &sc.catalog, None).unwrap();
    assert_eq!(back_base.config, starting_at_min(base));
    if have("kubectl", &["version", "--client"]) {
        let mut notes = Vec::new();
        let ours: Vec<Value> = kustomize::load(&overlay, &mut notes)
            .unwrap()
            .into_iter()
            .map(|o| o.value)
            .collect();
        let built = kubectl_kustomize(&overlay);
        assert_eq!(
            sorted(ours),
            sorted(built.clone()),
            "costsim's build differs from kubectl's"
        );
        let backend = built
            .iter()
            .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "backend")
            .unwrap();
        assert_eq!(backend["metadata"]["namespace"], "klinematrix-prod");
        assert_eq!(
            backend["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.example/backend:1.5.0"
        );
        // The pool settings reach the app as environment variables from the ConfigMap.
        let wants_pools = !chosen.workloads["backend"].client_pools.is_empty();
        let cm = built
            .iter()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "backend-client-pools");
        assert_eq!(cm.is_some(), wants_pools, "{built:#?}");
        if chosen.name == "rich" {
            let data = &cm.unwrap()["data"];
            assert_eq!(data["MONGODB_MAX_POOL_SIZE"], "50");
            assert_eq!(data["MONGODB_WAIT_QUEUE_TIMEOUT_MS"], "2000");
            assert_eq!(data["REDIS_MAX_CONNECTIONS"], "20");
            assert_eq!(data["REDIS_POOL_CLASS"], "BlockingConnectionPool");
            let env = &backend["spec"]["template"]["spec"]["containers"][0]["envFrom"];
            assert_eq!(env[0]["configMapRef"]["name"], "backend-client-pools");
        }
        if have("kubernetes-validate", &["--version"]) {
            let text: Vec<String> = built
                .iter()
                .map(|v| serde_yaml_ng::to_string(v).unwrap())
                .collect();
            schema_validate(&text.join("---\n"));
        }
    }
}

#[test]
fn emitted_overlay_reads_back_to_the_emitted_config() {
    let sc = scenario();
    // Baseline → rich: new sidecar and init container, pool change, HPA with behavior, a new
    // HPA on the frontend, strategy added.
    round_trip(&sc.baseline, &rich_config());
    // And back: sidecars and init containers deleted, HPA removed from the frontend, the
    // spread constraints deleted.
    let mut back = sc.baseline.clone();
    back.name = "plain".into();
    round_trip(&rich_config(), &back);
    // A spread changed in place: the patch replaces the hostname entry, so the base's
    // minDomains does not survive a new maxSkew.
    let mut changed = rich_config();
    changed.name = "rich-spread".into();
    let b = changed.workloads.get_mut("backend").unwrap();
    b.topology_spread = Some(costsim::model::config::TopologySpreadConfig {
        max_skew: 2,
        min_domains: None,
    });
    round_trip(&rich_config(), &changed);
}

#[test]
fn emitted_pool_settings_are_a_configmap_with_environment_keys() {
    // `client_pools` is read through JSON so emit works before and after the config type
    // carries it; here the ConfigMap object is checked directly.
    let s = emit::pool_settings(
        &json!({ "mongodb": { "maxPoolSize": 40 }, "redis": { "max_connections": 16 } }),
    );
    assert_eq!(s["MONGODB_MAX_POOL_SIZE"], "40");
    assert_eq!(s["REDIS_MAX_CONNECTIONS"], "16");
}

#[test]
fn bad_manifests_exit_2_naming_file_and_line() {
    let out = costsim_on(&["validate", "--manifests"], &fixture("bad"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("backend-deployment.yaml: line "), "{err}");
}

/// `validate --manifests` on a copy of the base fixture edited by `edit`: (exit code, stderr).
fn validate_edited_base(edit: impl Fn(&Path)) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixture("base")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    edit(dir.path());
    let out = costsim_on(&["validate", "--manifests"], dir.path());
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `validate --manifests` on the base fixture with `from` replaced by `to` (once) in the
/// backend's Deployment.
fn validate_with_backend_edit(from: &str, to: &str) -> (Option<i32>, String) {
    validate_edited_base(|d| {
        let f = d.join("backend-deployment.yaml");
        let text = std::fs::read_to_string(&f).unwrap();
        let edited = text.replacen(from, to, 1);
        assert_ne!(text, edited, "fixture layout: no `{from}`");
        std::fs::write(f, edited).unwrap();
    })
}

#[test]
fn an_instance_type_no_pool_has_is_bad_input() {
    // The scheduler would leave the pods Pending: no pool to assume.
    let (code, err) = validate_with_backend_edit("[ecs.r7.large, ecs.g7.large]", "[ecs.x9.huge]");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("backend-deployment.yaml") && err.contains("ecs.x9.huge"),
        "{err}"
    );
}

#[test]
fn a_selector_the_pod_template_does_not_match_is_bad_input() {
    // The API server refuses it ("selector does not match template labels"): a Deployment
    // that can never exist is not a baseline to price.
    let (code, err) = validate_with_backend_edit(
        "    metadata:\n      labels: { app: backend }",
        "    metadata:\n      labels: { app: other }",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "backend-deployment.yaml: Deployment backend: spec.selector.matchLabels.app: \
             `app: backend` is not among the pod template's labels \
             (spec.template.metadata.labels: { app: other })"
        ),
        "{err}"
    );
}

#[test]
fn manifests_with_no_deployment_of_the_scenario_are_bad_input() {
    let (code, err) = validate_edited_base(|d| {
        for f in ["backend", "frontend", "redis"] {
            let p = d.join(format!("{f}-deployment.yaml"));
            let text = std::fs::read_to_string(&p).unwrap();
            std::fs::write(
                p,
                text.replace(&format!("name: {f}"), &format!("name: no{f}")),
            )
            .unwrap();
        }
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no Deployment is a service"), "{err}");
}

/// `costsim ARGS DIR` from the repository (the default scenario).
fn costsim_on(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_costsim"))
        .args(args)
        .arg(dir)
        .current_dir(repo())
        .output()
        .unwrap()
}

/// The base fixture with a pool ConfigMap that gives the backend no client pools.
fn base_without_pools() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixture("base")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    std::fs::write(
        dir.path().join("backend-client-pools.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: backend-client-pools\n  \
         annotations:\n    costsim.io/client-pools: '{}'\ndata: {}\n",
    )
    .unwrap();
    let k = dir.path().join("kustomization.yaml");
    let text = std::fs::read_to_string(&k).unwrap();
    std::fs::write(k, text + "  - backend-client-pools.yaml\n").unwrap();
    dir
}

#[test]
fn manifests_without_a_pool_configmap_keep_the_scenario_baselines_pools() {
    // The operators' manifests say nothing of the app's connection pools (which driver, what
    // size: that is in its code): the backend keeps the scenario baseline's, with a note, and
    // search sizes them from there.
    let out = costsim_on(
        &["validate", "--format", "json", "--manifests"],
        &fixture("base"),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // An assumption the results rest on: among the scenario's notes (ranking.json, the
    // report), not only on stderr.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.contains(
                "Deployment backend has no `backend-client-pools` ConfigMap; its client pools \
             toward mongodb, redis are the scenario baseline's"
            ))),
        "{}",
        v["notes"]
    );
    let plain = Command::new(env!("CARGO_BIN_EXE_costsim"))
        .args(["validate", "--format", "json"])
        .current_dir(repo())
        .output()
        .unwrap();
    let scenario: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    let pools =
        |v: &serde_json::Value| v["baseline"]["workloads"]["backend"]["client_pools"].clone();
    assert_eq!(pools(&v), pools(&scenario));
    assert!(pools(&v)["mongodb"].is_object(), "{}", pools(&v));
    assert!(v["space"]["search_refuses"].is_null(), "{}", v["space"]);
    // The frontend and redis have no pools in the scenario: nothing is added to them.
    assert!(v["baseline"]["workloads"]["frontend"]["client_pools"].is_null());
}

#[test]
fn search_checks_the_space_against_the_baseline_the_manifests_give() {
    // A pool ConfigMap that gives the backend no client pools; the default space sizes them.
    let dir = base_without_pools();
    let out = costsim_on(&["search", "--quiet", "--manifests"], dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--manifests")
            && err.contains("client_pools.mongodb")
            && err
                .contains("no client pool toward `mongodb` for the space to size; its pools: none")
            && err.contains("`backend-client-pools` ConfigMap"),
        "{err}"
    );
}

#[test]
fn a_key_repeated_in_a_manifest_is_bad_input_naming_the_line() {
    // YAML parsers keep the last of two equal keys: `replicas: 3` then `replicas: 5` would
    // deploy 5 without a word.
    let (code, err) =
        validate_with_backend_edit("  replicas: 3\n", "  replicas: 3\n  replicas: 5\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("backend-deployment.yaml: line ") && err.contains("duplicate key `replicas`"),
        "{err}"
    );
}

/// A misspelled kind of an object costsim reads is a typo, not another kind to ignore: ignoring
/// `HorizontalPodAutoscalr` would drop the HPA and change every figure.
#[test]
fn a_misspelled_modeled_kind_is_bad_input_with_a_hint() {
    let (code, err) = validate_with_backend_edit(
        "kind: HorizontalPodAutoscaler",
        "kind: HorizontalPodAutoscalr",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("backend-deployment.yaml")
            && err.contains("kind `HorizontalPodAutoscalr`")
            && err.contains("did you mean `HorizontalPodAutoscaler`?"),
        "{err}"
    );
}

/// A bad value read from manifests is named where the user wrote it: the manifest file and
/// the object's field, not the manifests directory and costsim's config path.
#[test]
fn config_errors_from_manifests_name_the_manifest_file_and_field() {
    let (code, err) = validate_with_backend_edit(
        r#"limits: { memory: "1Gi", cpu: "500m" }"#,
        r#"limits: { memory: "1Gi", cpu: "100m" }"#,
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "backend-deployment.yaml: Deployment backend: spec.template.spec.containers[0].resources.requests.cpu: request 250m exceeds the limit 100m"
        ),
        "{err}"
    );
    let (code, err) = validate_with_backend_edit("maxReplicas: 10", "maxReplicas: 0");
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("backend-deployment.yaml: HorizontalPodAutoscaler backend: spec"),
        "{err}"
    );
}

/// The app reads its pool sizes from the ConfigMap's data, costsim from the annotation: a data
/// edit alone (the natural one) is bad input naming the key, not a silently other simulation.
#[test]
fn pool_configmap_data_that_disagrees_with_its_annotation_is_bad_input() {
    let sc = scenario();
    let pass = manifests::Passthrough::default();
    let files = emit::emit(
        &sc.baseline,
        &rich_config(),
        "prod",
        &pass,
        &sc.catalog,
        &Default::default(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_files(&files, dir.path());
    let overlay = dir.path().join("overlays/prod");
    assert!(manifests::read_config(&overlay, &sc.catalog, None).is_ok());
    let edited = files
        .iter()
        .find(|f| f.path.starts_with("overlays/") && f.text.contains("MONGODB_MAX_POOL_SIZE"))
        .expect("an overlay ConfigMap with the pool size");
    let p = dir.path().join(&edited.path);
    let text = std::fs::read_to_string(&p).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("MONGODB_MAX_POOL_SIZE"))
        .unwrap()
        .to_string();
    let indent = &line[..line.len() - line.trim_start().len()];
    std::fs::write(
        &p,
        text.replace(&line, &format!("{indent}MONGODB_MAX_POOL_SIZE: '200'")),
    )
    .unwrap();
    let err = manifests::read_config(&overlay, &sc.catalog, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("data.MONGODB_MAX_POOL_SIZE")
            && err.contains("`200` in the data, `50` in the costsim.io/client-pools annotation"),
        "{err}"
    );
}

#[test]
fn placement_rules_the_scheduler_model_lacks_are_noted_not_dropped_silently() {
    // A common HA setup: spread over nodes and zones, keep replicas apart. The hostname
    // spread is modeled; the zone spread and the anti-affinity are not, and can make the
    // cluster run more nodes than the simulation, so a cost read from these manifests must
    // say it did not apply them.
    let (code, err) = validate_with_backend_edit(
        "      containers:\n",
        "        podAntiAffinity:\n          preferredDuringSchedulingIgnoredDuringExecution:\n            - weight: 100\n              podAffinityTerm:\n                topologyKey: kubernetes.io/hostname\n                labelSelector: { matchLabels: { app: backend } }\n      topologySpreadConstraints:\n        - { maxSkew: 1, minDomains: 2, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: { matchLabels: { app: backend } } }\n        - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: { matchLabels: { app: backend } } }\n        - { maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: { matchLabels: { app: other } } }\n      containers:\n",
    );
    assert_eq!(code, Some(0), "{err}");
    for field in [
        "topologySpreadConstraints[1] is not modeled (a topology key other than kubernetes.io/hostname",
        "topologySpreadConstraints[2] is not modeled (its labelSelector is not matchLabels the Deployment's own pods carry",
        "spec.template.spec.affinity.podAntiAffinity is not modeled",
    ] {
        assert!(
            err.contains("backend-deployment.yaml") && err.contains(field),
            "{field}: {err}"
        );
    }
    assert!(!err.contains("topologySpreadConstraints[0]"), "{err}");
    // The untouched base has none of them: no such note.
    let (code, err) = validate_edited_base(|_| {});
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("is not modeled (pods are placed"), "{err}");
}

#[test]
fn a_hostname_spread_in_the_manifests_reads_as_the_workload_spread() {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixture("base")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    let f = dir.path().join("backend-deployment.yaml");
    let text = std::fs::read_to_string(&f).unwrap().replacen(
        "      containers:\n",
        "      topologySpreadConstraints:\n        - { maxSkew: 2, minDomains: 3, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: { matchLabels: { app: backend } } }\n      containers:\n",
        1,
    );
    std::fs::write(&f, text).unwrap();
    let read = manifests::read_config(dir.path(), &scenario().catalog, None).unwrap();
    assert_eq!(
        read.config.workloads["backend"].topology_spread,
        Some(costsim::model::config::TopologySpreadConfig {
            max_skew: 2,
            min_domains: Some(3)
        })
    );
    assert_eq!(read.config.workloads["frontend"].topology_spread, None);
    // maxSkew 0 is refused as the API server refuses it, naming the manifest and the field.
    let (code, err) = validate_with_backend_edit(
        "      containers:\n",
        "      topologySpreadConstraints:\n        - { maxSkew: 0, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: { matchLabels: { app: backend } } }\n      containers:\n",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("backend-deployment.yaml")
            && err.contains("spec.template.spec.topologySpreadConstraints")
            && err.contains("expected a whole number from 1"),
        "{err}"
    );
}

#[test]
fn malformed_spread_constraints_in_manifests_are_bad_input_not_unmodeled_notes() {
    // The API server rejects all of these; they used to pass as "not modeled" notes (an
    // unknown whenUnsatisfiable was even called ScheduleAnyway) with exit code 0.
    let cases = [
        (
            "{ maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: Never, labelSelector: { matchLabels: { app: backend } } }",
            "topologySpreadConstraints[0].whenUnsatisfiable: \"Never\": expected DoNotSchedule or ScheduleAnyway",
        ),
        (
            "{ maxSkew: 1, whenUnsatisfiable: DoNotSchedule, labelSelector: { matchLabels: { app: backend } } }",
            "topologySpreadConstraints[0].topologyKey: null: expected a node label key",
        ),
        (
            "{ maxSkew: 0, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway }",
            "topologySpreadConstraints[0].maxSkew: 0: expected a whole number from 1 to 2147483647",
        ),
        (
            "{ maxSkew: 1, minDomains: 2, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway }",
            "topologySpreadConstraints[0].minDomains: 2: expected a whole number from 1 to 2147483647, with whenUnsatisfiable: DoNotSchedule",
        ),
    ];
    for (constraint, expected) in cases {
        let (code, err) = validate_with_backend_edit(
            "      containers:\n",
            &format!(
                "      topologySpreadConstraints:\n        - {constraint}\n      containers:\n"
            ),
        );
        assert_eq!(code, Some(2), "{constraint}: {err}");
        assert!(
            err.contains("backend-deployment.yaml")
                && err.contains("Deployment backend: spec.template.spec.")
                && err.contains(expected),
            "{constraint}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // A well-formed zone spread is still only a note.
    let (code, err) = validate_with_backend_edit(
        "      containers:\n",
        "      topologySpreadConstraints:\n        - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway }\n      containers:\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("topologySpreadConstraints[0] is not modeled (a topology key other"),
        "{err}"
    );
}

/// `kustomize build` reads no file outside the kustomization's root (its default load
/// restrictor): a resource or patch file elsewhere is bad input naming the entry, not read;
/// a directory elsewhere is another kustomization and stays allowed (the overlays list
/// `../../base`).
#[test]
fn a_resource_file_outside_the_kustomization_root_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let redis = outside.path().join("redis-deployment.yaml");
    std::fs::copy(fixture("base").join("redis-deployment.yaml"), &redis).unwrap();
    let (code, err) = validate_edited_base(|d| {
        std::fs::remove_file(d.join("redis-deployment.yaml")).unwrap();
        let k = d.join("kustomization.yaml");
        let text = std::fs::read_to_string(&k).unwrap();
        let edited = text.replace(
            "  - redis-deployment.yaml",
            &format!("  - {}", redis.display()),
        );
        assert_ne!(text, edited, "fixture layout");
        std::fs::write(k, edited).unwrap();
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("kustomization.yaml")
            && err.contains("resources")
            && err.contains("outside the kustomization's root"),
        "{err}"
    );
    let patch = outside.path().join("patch.yaml");
    std::fs::write(
        &patch,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: redis }\nspec: { replicas: 1 }\n",
    )
    .unwrap();
    let (code, err) = validate_edited_base(|d| {
        let k = d.join("kustomization.yaml");
        let text = std::fs::read_to_string(&k).unwrap();
        let listed = format!("{text}patchesStrategicMerge:\n  - {}\n", patch.display());
        std::fs::write(k, listed).unwrap();
    });
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("patchesStrategicMerge") && err.contains("outside the kustomization's root"),
        "{err}"
    );
}

#[test]
fn the_deploy_jobs_are_valid_kubernetes_objects() {
    // The Indexed Job that runs a search's shards and the Job that merges them (their command
    // lines are run in tests/cli.rs).
    if !have("kubernetes-validate", &["--version"]) {
        return;
    }
    for file in ["search-job.yaml", "merge-job.yaml"] {
        let text = std::fs::read_to_string(repo().join("deploy").join(file)).unwrap();
        schema_validate(&text);
    }
}

/// A copy of the base fixture in a temporary directory, with `file` rewritten by `edit`.
fn base_copy_with(file: &str, edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixture("base")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    let p = dir.path().join(file);
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, edit(&text)).unwrap();
    dir
}

#[test]
fn a_manifest_with_a_byte_order_mark_reads_as_without_it() {
    // Windows editors start a file with U+FEFF; the parser refused such a multi-document
    // manifest ("did not find expected <document start>") while configs skip it.
    let sc = scenario();
    let dir = base_copy_with("backend-deployment.yaml", |t| format!("\u{feff}{t}"));
    let with_bom = manifests::read_config(dir.path(), &sc.catalog, None).unwrap();
    let plain = manifests::read_config(&fixture("base"), &sc.catalog, None).unwrap();
    let b = &with_bom.config.workloads["backend"];
    assert_eq!(b.resources.requests.cpu.unwrap().0, 250);
    assert_eq!(b.resources.limits.memory.unwrap().0, 1 << 30);
    assert_eq!(b.hpa.as_ref().unwrap().max_replicas, 10);
    assert_eq!(with_bom.config.workloads, plain.config.workloads);
}

/// The objects costsim builds from `dir`.
fn built(dir: &Path) -> Vec<Value> {
    kustomize::load(dir, &mut Vec::new())
        .unwrap()
        .into_iter()
        .map(|o| o.value)
        .collect()
}

/// `fixture(name)`'s backend-deployment.yaml with each `(from, to)` replaced, in a directory
/// of its own (the fixture's kustomization lists only that file).
fn rewritten_backend(name: &str, edits: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut text = std::fs::read_to_string(fixture(name).join("backend-deployment.yaml")).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "fixture layout: no `{from}`");
        text = text.replace(from, to);
    }
    std::fs::write(dir.path().join("backend-deployment.yaml"), text).unwrap();
    dir
}

#[test]
fn yaml_merge_keys_in_manifests_are_resolved_as_kubectl_resolves_them() {
    // `<<: *anchor` was dropped: the CPU limit merged from the requests vanished (with a note
    // calling `<<` an unmodeled resource), and a container written as `- <<: *common` lost
    // its requests and limits without a word.
    let sc = scenario();
    let read = manifests::read_config(&fixture("mergekey"), &sc.catalog, None).unwrap();
    let b = &read.config.workloads["backend"];
    assert_eq!(b.resources.limits.cpu.unwrap().0, 250);
    assert_eq!(b.resources.limits.memory.unwrap().0, 1 << 30);
    assert_eq!(b.resources.requests.cpu.unwrap().0, 250);
    assert_eq!(b.resources.requests.memory.unwrap().0, 512 << 20);
    assert!(
        !read.notes.iter().any(|n| n.contains("<<")),
        "{:?}",
        read.notes
    );
    let read = manifests::read_config(&fixture("mergekey2"), &sc.catalog, None).unwrap();
    let b = &read.config.workloads["backend"];
    assert_eq!(b.resources.requests.cpu.unwrap().0, 250);
    assert_eq!(b.resources.requests.memory.unwrap().0, 512 << 20);
    assert_eq!(b.resources.limits.cpu.unwrap().0, 500);
    assert_eq!(b.resources.limits.memory.unwrap().0, 1 << 30);
    assert_eq!(b.node_pool, "light");

    // Each builds to exactly the manifest with the keys written out (the mapping's own keys
    // win over merged ones: `memory: "1Gi"` over the anchor's 512Mi).
    let written = rewritten_backend(
        "mergekey",
        &[
            ("- &app\n          name:", "- name:"),
            (
                "requests: &req { memory: \"512Mi\", cpu: \"250m\" }\n            limits:\n              <<: *req\n              memory: \"1Gi\"",
                "requests: { memory: \"512Mi\", cpu: \"250m\" }\n            limits: { cpu: \"250m\", memory: \"1Gi\" }",
            ),
        ],
    );
    assert_eq!(built(&fixture("mergekey")), built(written.path()));
    let written = rewritten_backend(
        "mergekey2",
        &[
            (
                "- <<: &common\n            imagePullPolicy",
                "- imagePullPolicy",
            ),
            ("\n              requests:", "\n            requests:"),
            ("\n              limits:", "\n            limits:"),
            ("            resources:", "          resources:"),
        ],
    );
    assert_eq!(built(&fixture("mergekey2")), built(written.path()));
    if have("kubectl", &["version", "--client"]) {
        for name in ["mergekey", "mergekey2"] {
            assert_eq!(
                sorted(built(&fixture(name))),
                sorted(kubectl_kustomize(&fixture(name))),
                "{name}"
            );
        }
    }
}

#[test]
fn a_list_document_is_read_as_its_items() {
    // `kubectl get deploy,hpa,svc -o yaml` writes one `kind: List`; it was noted as "List
    // ignored" and the scenario's baseline used in its place (exit 0).
    let sc = scenario();
    let read = manifests::read_config(&fixture("list"), &sc.catalog, None).unwrap();
    let b = &read.config.workloads["backend"];
    assert_eq!(b.replicas, 3);
    assert_eq!(b.resources.requests.cpu.unwrap().0, 250);
    assert_eq!(b.resources.requests.memory.unwrap().0, 512 << 20);
    assert_eq!(b.resources.limits.cpu.unwrap().0, 500);
    assert_eq!(
        (b.node_pool.as_str(), b.also_on.clone()),
        ("highmem", vec!["general".to_string()])
    );
    assert_eq!(b.hpa.as_ref().unwrap().max_replicas, 10);
    // The same backend as the base fixture's three documents.
    let base = manifests::read_config(&fixture("base"), &sc.catalog, None).unwrap();
    assert_eq!(b, &base.config.workloads["backend"]);
    let notes = read.notes.join("\n");
    assert!(
        notes.contains("Service backend ignored") && !notes.contains("List"),
        "{notes}"
    );
    if have("kubectl", &["version", "--client"]) {
        assert_eq!(
            sorted(built(&fixture("list"))),
            sorted(kubectl_kustomize(&fixture("list")))
        );
    }

    // Lists nest; a typed list's items without kind and apiVersion take the list's.
    let dir = tempfile::tempdir().unwrap();
    let deployment = std::fs::read_to_string(fixture("base/redis-deployment.yaml")).unwrap();
    let item: String = deployment
        .lines()
        .filter(|l| !l.starts_with("apiVersion") && !l.starts_with("kind"))
        .map(|l| format!("      {l}\n"))
        .collect();
    let nested = format!(
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apps/v1\n    kind: DeploymentList\n    items:\n    -\n{item}"
    );
    std::fs::write(dir.path().join("all.yaml"), nested).unwrap();
    let objects = kustomize::load(dir.path(), &mut Vec::new()).unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(
        (objects[0].kind(), objects[0].name()),
        ("Deployment", "redis")
    );
    assert_eq!(objects[0].value["apiVersion"], "apps/v1");
    let read = manifests::read_config(dir.path(), &sc.catalog, None).unwrap();
    assert_eq!(
        read.config.workloads["redis"]
            .resources
            .limits
            .cpu
            .unwrap()
            .0,
        250
    );
    // An item that is no object is named by its place.
    std::fs::write(
        dir.path().join("all.yaml"),
        "apiVersion: v1\nkind: List\nitems:\n  - 5\n",
    )
    .unwrap();
    let e = kustomize::load(dir.path(), &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("all.yaml: document 1 of 1: items[0].kind: the document is not a mapping; expected a Kubernetes object with apiVersion, kind and metadata"),
        "{e}"
    );
}

#[test]
fn manifests_get_the_warnings_a_config_file_gets() {
    // `--config` warned of these and `--manifests` did not: a CPU Utilization HPA over pods
    // without a CPU request never scales; `memory: "512"` is 512 bytes; `536870912000m` is
    // 536870912 bytes (`m` is milli).
    // The scenario's placement puts pods requesting at most 256Mi on the light pool.
    let light = |t: &str| t.replace("[ecs.r7.large, ecs.g7.large]", "[ecs.c7.large]");
    let notes_with = |edit: &dyn Fn(&str) -> String| {
        let dir = base_copy_with("backend-deployment.yaml", edit);
        let mut sc = load_scenario(Files::Embedded, Path::new(DEFAULT_SCENARIO)).unwrap();
        let before = sc.notes.len();
        manifests::use_as_baseline(&mut sc, dir.path()).unwrap();
        let file = dir
            .path()
            .join("backend-deployment.yaml")
            .display()
            .to_string();
        // The base fixture has no pool ConfigMap: the note that the backend keeps the
        // scenario's client pools is not a warning of these.
        let notes = sc.notes[before..]
            .iter()
            .filter(|n| !n.contains("client-pools` ConfigMap"))
            .cloned()
            .collect::<Vec<_>>();
        (notes, file)
    };
    let (notes, file) = notes_with(&|t| {
        light(t).replace(
            "          resources:\n            requests: { memory: \"512Mi\", cpu: \"250m\", ephemeral-storage: 1Gi }\n            limits: { memory: \"1Gi\", cpu: \"500m\" }\n",
            "",
        )
    });
    assert_eq!(
        notes,
        [format!(
            "{file}: HorizontalPodAutoscaler backend: spec.metrics[0]: a cpu Utilization target \
             needs a non-zero cpu request in every container (utilization is usage / request; \
             without one the HPA reports `missing request for cpu` and it never scales); set \
             resources.requests.cpu"
        )]
    );
    let (notes, file) = notes_with(&|t| light(t).replace("memory: \"512Mi\"", "memory: \"512\""));
    assert_eq!(
        notes,
        [format!(
            "{file}: Deployment backend: spec.template.spec.containers[0].resources.requests.memory \
             is 512 bytes, below 1Mi: a unit left out? (did you mean 512Mi or 512M?)"
        )]
    );
    let (notes, file) = notes_with(&|t| t.replace("memory: \"512Mi\"", "memory: 536870912000m"));
    assert_eq!(
        notes,
        [format!(
            "{file}: Deployment backend: spec.template.spec.containers[0].resources.requests.memory: \
             memory \"536870912000m\" uses `m` (milli, 1/1000): it is 536870912 bytes; write it as \
             536870912 or use M / Mi"
        )]
    );
    // The base fixture warrants none.
    assert_eq!(notes_with(&|t| t.to_string()).0, Vec::<String>::new());
}

#[test]
fn validate_warns_of_the_space_search_would_refuse_with_the_manifests_baseline() {
    // The same scenario and manifests search refuses (above): validate exits 0, as simulate
    // runs them, but says search refuses the space and why, on stderr and in the JSON.
    let dir = base_without_pools();
    let out = costsim_on(&["validate", "--format", "json", "--manifests"], dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning: search refuses this space")
            && err.contains("no client pool toward `mongodb` for the space to size"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let refusal = v["space"]["search_refuses"].as_str().unwrap();
    assert!(refusal.contains("client_pools.mongodb"), "{refusal}");
    assert!(v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str() == Some(refusal)));
    // Without --manifests the scenario's own baseline has the pools: nothing to refuse.
    let plain = Command::new(env!("CARGO_BIN_EXE_costsim"))
        .args(["validate", "--format", "json"])
        .current_dir(repo())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert!(v["space"]["search_refuses"].is_null(), "{v}");
    assert_eq!(v["space"]["candidates"], 720);
}
