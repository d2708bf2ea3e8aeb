//! Variants of the field cases in `../shared/cases/field-cases.md`: the same kind of situation
//! with other numbers and shapes, checked against hand-computed or upstream values.

mod common;

use costsim::ingest::metrics::{parse_metrics, pod_totals, MetricsFormat, MetricsOptions};

fn metrics(text: &str, source: &str) -> costsim::ingest::metrics::MetricsSet {
    parse_metrics(text, source, &MetricsOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn metrics_err(text: &str, source: &str) -> String {
    match parse_metrics(text, source, &MetricsOptions::default()) {
        Ok(m) => panic!("accepted: {m:?}"),
        Err(e) => e.to_string(),
    }
}

// ---- Field case 18: the raw metrics API (metrics.k8s.io) beside kubectl top ----

#[test]
fn metrics_api_pod_metrics_are_read_exactly() {
    // The raw API's 2731514n / 343748Ki for the pod kubectl top prints as 3m / 335Mi.
    let one = r#"{"kind":"PodMetrics","apiVersion":"metrics.k8s.io/v1beta1",
        "metadata":{"name":"test-0","namespace":"default"},"timestamp":"2026-12-03T13:34:58Z",
        "window":"15s","containers":[{"name":"test","usage":{"cpu":"2731514n","memory":"343748Ki"}}]}"#;
    let m = metrics(one, "raw.json");
    assert_eq!(m.format, MetricsFormat::MetricsApi);
    assert_eq!(m.samples.len(), 1);
    let s = &m.samples[0];
    assert_eq!((s.pod.as_str(), s.container.as_str()), ("test-0", "test"));
    assert_eq!(s.namespace, "default");
    assert_eq!(s.cpu_nanocores, Some(2_731_514));
    assert_eq!(s.working_set_bytes, Some(343_748 * 1024));
    assert_eq!(s.t_ms, 1_796_304_898_000);
    // What kubectl top shows of it: 3m (MilliValue rounds up), 335Mi (floor).
    assert_eq!(
        costsim::ingest::metrics::kubectl_top_display(2_731_514, 343_748 * 1024),
        ("3m".to_string(), "335Mi".to_string())
    );
    // The bare body of the field case names no pod: the file's name does.
    let bare = r#"{"containers":[{"name":"test","usage":{"cpu":"2731514n","memory":"343748Ki"}}]}"#;
    let b = metrics(bare, "dir/test-0.json");
    assert_eq!(b.samples[0].pod, "test-0");
    assert_eq!(b.samples[0].cpu_nanocores, Some(2_731_514));
}

#[test]
fn metrics_api_list_sums_containers_per_pod() {
    // Three containers in other units (n, u, m; Ki, plain bytes, Mi): 704.123456m + 2.5m + 1m
    // = 707.623456m; 1545Mi + 86Mi + 19Mi = 1650Mi.
    let list = r#"{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","metadata":{},
      "items":[{"metadata":{"name":"svc-5f9f6bb846-tx6mj","namespace":"default"},
        "timestamp":"2026-12-03T13:34:58Z","window":"20.047s","containers":[
        {"name":"app","usage":{"cpu":"704123456n","memory":"1582080Ki"}},
        {"name":"log-shipper","usage":{"cpu":"2500u","memory":"90177536"}},
        {"name":"vault-agent","usage":{"cpu":"1m","memory":"19Mi"}}]}]}"#;
    let m = metrics(list, "pods.json");
    assert_eq!(m.samples.len(), 3);
    let total = pod_totals(&m.samples);
    assert_eq!(total.len(), 1);
    assert_eq!(total[0].cpu_nanocores, Some(707_623_456));
    assert_eq!(total[0].working_set_bytes, Some(1650 << 20));
}

#[test]
fn metrics_api_bad_values_name_the_json_field() {
    let bad = r#"{"kind":"PodMetricsList","items":[{"metadata":{"name":"a"},
        "containers":[{"name":"x","usage":{"cpu":"1m","memory":"12MB"}}]}]}"#;
    let e = metrics_err(bad, "bad.json");
    assert!(
        e.contains("bad.json") && e.contains("items[0].containers[0].usage.memory"),
        "{e}"
    );
    assert!(e.contains("did you mean 12M or 12Mi?"), "{e}");
    let no_name = r#"{"kind":"PodMetricsList","items":[{"containers":[]}]}"#;
    let e = metrics_err(no_name, "n.json");
    assert!(e.contains("items[0].metadata.name"), "{e}");
    let node = r#"{"kind":"NodeMetricsList","apiVersion":"metrics.k8s.io/v1beta1","items":[{"kind":"NodeMetrics","metadata":{"name":"n1"},"usage":{"cpu":"1","memory":"1Gi"}}]}"#;
    let e = metrics_err(node, "nodes.json");
    assert!(
        e.contains("items[0].kind") && e.contains("PodMetrics"),
        "{e}"
    );
}

// ---- Field case 18: kubectl top pods --sum ----

#[test]
fn kubectl_top_sum_footer_is_not_a_pod() {
    let text = "NAME                   CPU(cores)   MEMORY(bytes)\n\
                svc-5f9f6bb846-tx6mj   704m         1545Mi\n\
                svc-5f9f6bb846-b2x7k   3m           86Mi\n\
                \x20                      ________     ________\n\
                \x20                      707m         1631Mi\n";
    let m = metrics(text, "sum.txt");
    assert_eq!(m.samples.len(), 2);
    assert_eq!(m.samples[0].cpu_nanocores, Some(704_000_000));
    assert_eq!(m.samples[1].working_set_bytes, Some(86 << 20));
    // --containers -A --sum: the rule and the totals sit under the last two columns.
    let c = "NAMESPACE   POD                    NAME          CPU(cores)   MEMORY(bytes)\n\
             default     svc-5f9f6bb846-tx6mj   app           704m         1545Mi\n\
             default     svc-5f9f6bb846-tx6mj   log-shipper   3m           86Mi\n\
             \x20                                             ________     ________\n\
             \x20                                             707m         1631Mi\n";
    let m = metrics(c, "sumc.txt");
    assert_eq!(m.samples.len(), 2);
    let e = metrics_err(
        "NAME CPU(cores) MEMORY(bytes)\na-0 1m 1Mi\n ________ ________\n 1m 1MB\n",
        "s.txt",
    );
    assert!(e.contains("s.txt: line 4") && e.contains("1MB"), "{e}");
}

// ---- Field case 19: quantities that parse but are typos ----

#[test]
fn typo_quantities_that_parse_are_warned_of_with_their_value() {
    use costsim::model::config::Config;
    use costsim::model::load::from_yaml_str;
    use costsim::model::validate::suspicious_quantities;
    let text = "name: t\nworkloads:\n  app:\n    node_pool: p\n    replicas: 1\n    resources:\n      \
                requests: { cpu: 0.5, memory: 512 }\n      limits: { cpu: 1e3, memory: \"128974848000m\" }\n    \
                hpa:\n      minReplicas: 1\n      maxReplicas: 4\n      metrics: [ { type: Resource, resource: \
                { name: memory, target: { type: AverageValue, averageValue: 400 } } } ]\n";
    let c: Config = from_yaml_str(text, "c.yaml").unwrap();
    let w = &c.workloads["app"];
    // The values themselves are read exactly: 0.5 = 500m, 1e3 = 1000 cores, 128974848000m =
    // 128,974,848 bytes, 512 = 512 bytes.
    assert_eq!(w.resources.requests.cpu.unwrap().0, 500);
    assert_eq!(w.resources.limits.cpu.unwrap().0, 1_000_000);
    assert_eq!(w.resources.limits.memory.unwrap().0, 128_974_848);
    assert_eq!(w.resources.requests.memory.unwrap().0, 512);
    let warnings = suspicious_quantities(&c, Some(text));
    let has = |s: &str| warnings.iter().any(|w| w.contains(s));
    assert!(
        has("workloads.app.resources.requests.memory is 512 bytes, below 1Mi"),
        "{warnings:?}"
    );
    assert!(
        has("workloads.app.resources.limits.cpu is 1000 cores") && has("did you mean 1000m?"),
        "{warnings:?}"
    );
    assert!(
        has("line 8: memory \"128974848000m\" uses `m`") && has("128974848 bytes"),
        "{warnings:?}"
    );
    assert!(
        has("hpa.metrics[0].resource.target.averageValue is 400 bytes"),
        "{warnings:?}"
    );
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    // Correct spellings give none.
    let ok =
        "name: t\nworkloads:\n  app:\n    node_pool: p\n    replicas: 1\n    resources:\n      \
              requests: { cpu: 250m, memory: 1.5Gi }\n      limits: { cpu: \"2\", memory: 2G }\n";
    let c: Config = from_yaml_str(ok, "ok.yaml").unwrap();
    assert_eq!(
        c.workloads["app"].resources.requests.memory.unwrap().0,
        1_610_612_736
    );
    assert!(suspicious_quantities(&c, Some(ok)).is_empty());
}

// ---- Field case 22: DaemonSet overhead and LimitRange defaults, with a bigger shape ----

/// A one-service scenario in a temporary directory: `pools` is the catalog's `pools:` list,
/// `workload` the baseline workload `app`'s body (indented by 4).
fn small_scenario(
    pools: &str,
    workload: &str,
    minutes: usize,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut trace = String::from("unix_s,requests\n");
    for s in 0..minutes * 60 {
        trace.push_str(&format!("{},1\n", 1_000_000_000 + s));
    }
    std::fs::write(d.join("trace.csv"), trace).unwrap();
    std::fs::write(
        d.join("svc.yaml"),
        "name: app\nworkers: 1\nconcurrency_per_worker: 1000\nmemory: { base_per_worker: 100Mi }\n\
         startup: { min: 10s, max: 10s }\nreadiness_delay: 5s\ntimeout: 600s\n\
         classes:\n  - { name: api, share: 1.0, cpu_ms: 10 }\n",
    )
    .unwrap();
    std::fs::write(
        d.join("pools.yaml"),
        format!(
            "catalog: t\nregion: t\ncurrency: USD\nprices_as_of: \"2024-10-09\"\n\
             cluster_fee: {{ name: none, per_hour: 0 }}\npools:\n{pools}"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("config.yaml"),
        format!("name: base\nworkloads:\n  app:\n{workload}"),
    )
    .unwrap();
    let first_pool = pools
        .lines()
        .find_map(|l| l.trim().strip_prefix("- name: "))
        .unwrap()
        .to_string();
    std::fs::write(
        d.join("space.yaml"),
        format!(
            "workload: app\ngrid:\n  cpu_request: [500m]\n  memory_request: [128Mi]\n  cpu_limit: [none]\n  \
             memory_limit: [none]\n  min_replicas: [1]\n  max_replicas: [4]\n  target_cpu_utilization: [70]\n  \
             node_pool: [{first_pool}]\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("scenario.yaml"),
        "name: t\ntraffic:\n  t: { kind: rate_csv, path: trace.csv }\nservices:\n  - name: app\n    \
         profile: svc.yaml\n    traffic: { source: t, scale: 1, smoothing: 0s }\nnode_pools: pools.yaml\n\
         management_fee: false\nsla:\n  window: 5m\n  max_breached_window_fraction: 0.0\n  objectives:\n    \
         - { service: app, class: api, p99: 10s, max_error_rate: 0.01 }\nbaseline: config.yaml\nspace: space.yaml\n",
    )
    .unwrap();
    let path = d.join("scenario.yaml");
    (dir, path)
}

fn shape(name: &str, vcpu: u32, price: f64, agent: &str, limit_range: &str) -> String {
    format!(
        "  - name: {name}\n    instance_type: ecs.g7.{name}\n    vcpu: {vcpu}\n    memory: {vcpu}Gi\n    \
         kubelet_memory_capacity: {vcpu}Gi\n    price_per_hour: {price}\n    billing: pay-as-you-go\n    \
         max_pods: 110\n    daemonsets: [ {{ name: cni, cpu: 25m }}, {{ name: proxy, cpu: 100m }}, {{ name: agent{agent} }} ]\n{limit_range}    \
         min_nodes: 0\n    max_nodes: 10\n    provisioning_delay: {{ min: 60s, max: 60s }}\n"
    )
}

#[test]
fn a_pod_too_big_for_its_first_pool_runs_on_the_bigger_shape_it_may_use() {
    use costsim::model::build::load_scenario;
    use costsim::model::load::Files;
    // 16 vCPU: allocatable 16000 − 110m (ACK's CPU reservation) = 15890m; the agent gets the
    // LimitRange's defaultRequest 1000m, so 15890 − 25 − 100 − 1000 = 14765m < 15000m: the
    // 15-CPU pod fits only the 32-vCPU shape it may also use, one node of it for the hour.
    let lr = "    daemonset_limit_range: { defaultRequest: { cpu: 1000m } }\n";
    let pools = shape("x16", 16, 1.0, "", lr) + &shape("x32", 32, 2.0, "", lr);
    let w = "    node_pool: x16\n    also_on: [x32]\n    replicas: 1\n    resources:\n      requests: { cpu: \"15\", memory: 1Gi }\n";
    let (_d, path) = small_scenario(&pools, w, 60);
    let sc = load_scenario(Files::Disk, &path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.catalog.pools[0].capacity_for_pods().cpu_milli, 14_765);
    let (run, ev) = costsim::search::run_one(&sc, &sc.baseline, 1);
    assert_eq!(run.pools[0].peak_nodes, 0);
    assert_eq!(run.pools[1].peak_nodes, 1);
    assert_eq!(ev.activity[0].run.unfittable_pods, 0);
    // A LimitRange `max` alone is the default limit and so the default request: 500m gives
    // 15890 − 625 = 15265m, and the pod fits the 16-vCPU shape.
    let lr = "    daemonset_limit_range: { max: { cpu: 500m } }\n";
    let pools = shape("x16", 16, 1.0, "", lr) + &shape("x32", 32, 2.0, "", lr);
    let (_d, path) = small_scenario(&pools, w, 60);
    let sc = load_scenario(Files::Disk, &path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.catalog.pools[0].capacity_for_pods().cpu_milli, 15_265);
    let (run, _) = costsim::search::run_one(&sc, &sc.baseline, 1);
    assert_eq!((run.pools[0].peak_nodes, run.pools[1].peak_nodes), (1, 0));
    // Without the bigger shape the pod never fits: an error naming the pool and its room.
    let pools = shape(
        "x16",
        16,
        1.0,
        "",
        "    daemonset_limit_range: { defaultRequest: { cpu: 1000m } }\n",
    );
    let w1 = "    node_pool: x16\n    replicas: 1\n    resources:\n      requests: { cpu: \"15\", memory: 1Gi }\n";
    let (_d, path) = small_scenario(&pools, w1, 60);
    let err = load_scenario(Files::Disk, &path).unwrap_err().to_string();
    assert!(
        err.contains("never fits a node of pool `x16`") && err.contains("cpu 14765m"),
        "{err}"
    );
    assert!(!err.contains("did you mean"), "{err}");
}

#[test]
fn a_daemonset_request_above_the_limit_range_default_limit_is_refused() {
    use costsim::model::build::load_scenario;
    use costsim::model::load::Files;
    // The agent requests 1500m and sets no limit; the LimitRange gives it the default limit
    // 1000m, and a request above its limit is invalid: the API server refuses its pods.
    let lr = "    daemonset_limit_range: { default: { cpu: 1000m }, max: { cpu: \"2\" } }\n";
    let pools = shape("x16", 16, 1.0, ", cpu: 1500m", lr);
    let w = "    node_pool: x16\n    replicas: 1\n    resources:\n      requests: { cpu: 1, memory: 1Gi }\n";
    let (_d, path) = small_scenario(&pools, w, 10);
    let err = load_scenario(Files::Disk, &path).unwrap_err().to_string();
    assert!(
        err.contains("pools[0].daemonsets[2]") && err.contains("default limit"),
        "{err}"
    );
    // At the default limit exactly it is admitted.
    let pools = shape("x16", 16, 1.0, ", cpu: 1000m", lr);
    let (_d, path) = small_scenario(&pools, w, 10);
    assert!(load_scenario(Files::Disk, &path).is_ok());
}

// ---- Field case 16: minPoolSize above what a process serves at once ----

#[test]
fn min_pool_size_above_the_worker_concurrency_counts_in_the_budget() {
    use costsim::model::build::load_scenario;
    use costsim::model::load::Files;
    // gunicorn-style 3 processes per pod serving at most 50 requests each, pymongo
    // minPoolSize 200: every process opens 200 connections at start whatever it serves, plus
    // 2 monitors. Idle: 1 pod × 3 × 202 = 606 > 500. During a rollout of the 1 replica
    // (maxSurge 25 % → 1 surge pod) 2 pods hold 2 × 3 × 202 = 1212: over the limit, a static
    // reason (the budget used to count min(maxPoolSize, concurrency) = 50 per process: 312).
    let pools = shape("x16", 16, 1.0, "", "");
    let svc = "name: app\nworkers: 3\nconcurrency_per_worker: 50\nmemory: { base_per_worker: 100Mi }\n\
               startup: { min: 10s, max: 10s }\nreadiness_delay: 5s\ntimeout: 60s\nclasses:\n  - { name: api, \
               share: 1.0, cpu_ms: 5, downstream: [ { server: mongodb, ops_per_request: 3, round_trip: 2ms } ] }\n";
    let run = |pool: &str| {
        let w = format!(
            "    node_pool: x16\n    replicas: 1\n    resources:\n      requests: {{ cpu: 500m, memory: 512Mi }}\n    \
             client_pools:\n      mongodb: {{ client: pymongo, {pool} }}\n"
        );
        let (d, path) = small_scenario(&pools, &w, 30);
        std::fs::write(d.path().join("svc.yaml"), svc).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            format!(
                "{text}servers:\n  mongodb: {{ max_connections: 500, replica_set_members: 3 }}\n"
            ),
        )
        .unwrap();
        let sc = load_scenario(Files::Disk, &path).unwrap_or_else(|e| panic!("{e}"));
        costsim::search::run_one(&sc, &sc.baseline, 1).1
    };
    let eager = run("minPoolSize: 200, maxPoolSize: 500");
    let c = &eager.connections[0];
    assert_eq!(c.idle_at_min_replicas, 606);
    assert_eq!(c.budget_at_max_replicas, 1212);
    assert!(!c.within_limit);
    assert_eq!(c.run.peak_connections, 606.0);
    // minPoolSize 5: the budget is the concurrency, 2 × 3 × (50 + 2) = 312 ≤ 500.
    let lazy = run("minPoolSize: 5, maxPoolSize: 500");
    let c = &lazy.connections[0];
    assert_eq!(
        (
            c.idle_at_min_replicas,
            c.budget_at_max_replicas,
            c.within_limit
        ),
        (3 * 7, 312, true)
    );
}

// ---- Field cases 2 and 3: per-pod usage as a plain CSV (ts,pod,cpu / memory) ----

#[test]
fn a_plain_usage_csv_is_read_with_quantities_and_times_of_day() {
    // Case 3's gateway: 40m, 210m, 35m, 190m, 30m every 15 s (mean 101m, max 210m).
    let gw = "ts,pod,cpu\n00:00:00,gw-1,40m\n00:00:15,gw-1,210m\n00:00:30,gw-1,35m\n\
              00:00:45,gw-1,190m\n00:01:00,gw-1,30m\n";
    let m = metrics(gw, "gw.csv");
    assert_eq!(m.format, MetricsFormat::UsageCsv);
    let cpu: Vec<i64> = m.samples.iter().map(|s| s.cpu_nanocores.unwrap()).collect();
    assert_eq!(
        cpu,
        [40_000_000, 210_000_000, 35_000_000, 190_000_000, 30_000_000]
    );
    let t: Vec<i64> = m.samples.iter().map(|s| s.t_ms).collect();
    assert_eq!(t, [0, 15_000, 30_000, 45_000, 60_000]);
    assert!(m.samples.iter().all(|s| s.working_set_bytes.is_none()));
    // Case 2's memory column, other units and an empty (missing, not zero) value; cores as
    // plain numbers.
    let mem = "ts,pod,memory_working_set,cpu\n10:00,api-1,310Mi,0.25\n10:00,api-2,325058560,\n\
               10:00,api-3,0.29Gi,1e-1\n";
    let m = metrics(mem, "mem.csv");
    let ws: Vec<i64> = m
        .samples
        .iter()
        .map(|s| s.working_set_bytes.unwrap())
        .collect();
    // 0.29Gi = 311385128.96 → 311385129 bytes (rounded up).
    assert_eq!(ws, [310 << 20, 325_058_560, 311_385_129]);
    assert_eq!(m.samples[0].cpu_nanocores, Some(250_000_000));
    assert_eq!(m.samples[1].cpu_nanocores, None);
    assert_eq!(m.samples[2].cpu_nanocores, Some(100_000_000));
    assert_eq!(m.missing.len(), 1);
    assert_eq!(m.samples[0].t_ms, 36_000_000);
    // Bad values name the file, line and column.
    let e = metrics_err("ts,pod,cpu\n00:00:00,gw-1,40MB\n", "bad.csv");
    assert!(
        e.contains("bad.csv: line 2") && e.contains("`cpu`") && e.contains("40MB"),
        "{e}"
    );
    let e = metrics_err("ts,pod,memory\n25:00,a-1,1Mi\n", "t.csv");
    assert!(e.contains("t.csv: line 2") && e.contains("`ts`"), "{e}");
    let e = metrics_err("ts,pod,memory\n10:00,a-1,500m\n", "m.csv");
    assert!(
        e.contains("m.csv: line 2") && e.contains("500M or 500Mi"),
        "{e}"
    );
}

// ---- Field case 3: the HPA threshold (request × target %) against recorded bursts ----

#[test]
fn recommend_shows_the_hpa_threshold_against_the_recorded_bursts() {
    use costsim::model::config::Config;
    use costsim::model::load::from_yaml_str;
    // Gateway: 100m request, 50 % target → 50m per pod. Samples 40, 210, 35, 190, 30m: p95
    // by linear interpolation 190 + 0.8 × 20 = 206m, 4.12× the threshold; a 412m request
    // puts it at the target. A memory target on a 256Mi pod with a 64Mi sidecar: the pod
    // request is 320Mi and 60 % of it 192Mi.
    let cfg: Config = from_yaml_str(
        "name: t\nworkloads:\n  gw:\n    node_pool: p\n    replicas: 2\n    resources:\n      \
         requests: { cpu: 100m, memory: 64Mi }\n    hpa:\n      minReplicas: 2\n      maxReplicas: 10\n      \
         metrics: [ { type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 50 } } } ]\n  \
         web:\n    node_pool: p\n    replicas: 2\n    resources:\n      requests: { cpu: 1, memory: 256Mi }\n    \
         sidecars: [ { name: nginx, resources: { requests: { cpu: 10m, memory: 64Mi } } } ]\n    hpa:\n      \
         minReplicas: 2\n      maxReplicas: 10\n      metrics: [ { type: Resource, resource: { name: memory, \
         target: { type: Utilization, averageUtilization: 60 } } } ]\n",
        "c.yaml",
    )
    .unwrap();
    let gw = metrics(
        "ts,pod,cpu\n00:00:00,gw-1,40m\n00:00:15,gw-1,210m\n00:00:30,gw-1,35m\n\
         00:00:45,gw-1,190m\n00:01:00,gw-1,30m\n",
        "gw.csv",
    );
    // web's app and sidecar containers at one time: 150Mi + 9Mi = 159Mi per pod.
    let web = metrics(
        "ts,pod,container,memory\n00:00,web-1,app,150Mi\n00:00,web-1,nginx,9Mi\n",
        "web.csv",
    );
    let samples: Vec<_> = gw.samples.into_iter().chain(web.samples).collect();
    let t = costsim::recommend::hpa_thresholds(&samples, &cfg);
    assert_eq!(t.len(), 2);
    let g = &t[0];
    assert_eq!((g.workload.as_str(), g.resource.as_str()), ("gw", "cpu"));
    assert_eq!((g.pod_request, g.target_percent), (100, 50));
    assert!((g.threshold - 50.0).abs() < 1e-9);
    assert!((g.p95 - 206.0).abs() < 1e-9, "{}", g.p95);
    assert!((g.max - 210.0).abs() < 1e-9);
    assert!((g.p95_ratio - 4.12).abs() < 1e-9);
    assert!((g.request_for_p95_at_target - 412.0).abs() < 1e-9);
    let w = &t[1];
    assert_eq!(
        (w.workload.as_str(), w.resource.as_str()),
        ("web", "memory")
    );
    assert_eq!(w.pod_request, 320 << 20);
    assert!((w.threshold - 0.6 * f64::from(320 << 20)).abs() < 1e-3);
    assert!((w.p95 - f64::from(159 << 20)).abs() < 1e-3);
    // 159/192 = 0.83: below the target, no scale-up although the app container may OOM.
    assert!((w.p95_ratio - 159.0 / 192.0).abs() < 1e-9);
}

// ---- Field case 12: a sidecar's request dilutes the HPA, CPU variant ----

/// One-worker app pods at 6 req/s of 50 ms each (300m of the app's 400m request) beside a log
/// shipper that uses 3m and requests `sidecar_cpu`, under an HPA (1–4) with `metric`: the run
/// and its evaluation, or the load error.
fn sidecar_run(
    sidecar_cpu: &str,
    metric: &str,
) -> Result<(costsim::sim::engine::RunResult, costsim::eval::Evaluation), String> {
    use costsim::model::build::load_scenario;
    use costsim::model::load::Files;
    let pools = shape("x4", 4, 1.0, "", "");
    let svc =
        "name: app\nworkers: 1\nconcurrency_per_worker: 1000\nmemory: { base_per_worker: 100Mi }\n\
               startup: { min: 10s, max: 10s }\nreadiness_delay: 5s\ntimeout: 600s\n\
               classes:\n  - { name: api, share: 1.0, cpu_ms: 50 }\n\
               sidecars:\n  - { name: shipper, cpu: 3m, memory: 20Mi }\n";
    let w = format!(
        "    node_pool: x4\n    replicas: 1\n    resources:\n      requests: {{ cpu: 400m, memory: 256Mi }}\n    \
         sidecars:\n      - {{ name: shipper, resources: {{ requests: {{ cpu: {sidecar_cpu}, memory: 32Mi }} }} }}\n    \
         hpa:\n      minReplicas: 1\n      maxReplicas: 4\n      metrics: [ {metric} ]\n"
    );
    let (d, path) = small_scenario(&pools, &w, 30);
    std::fs::write(d.path().join("svc.yaml"), svc).unwrap();
    let trace: String = std::iter::once("unix_s,requests\n".to_string())
        .chain((0..1800).map(|s| format!("{},6\n", 1_000_000_000 + s)))
        .collect();
    std::fs::write(d.path().join("trace.csv"), trace).unwrap();
    let sc = load_scenario(Files::Disk, &path).map_err(|e| e.to_string())?;
    Ok(costsim::search::run_one(&sc, &sc.baseline, 1))
}

#[test]
fn an_over_requested_sidecar_dilutes_a_cpu_target_and_is_warned_of() {
    // The app uses 300m of its 400m request (75 %, above the 60 % target), but a log shipper
    // requesting 400m and using 3m makes the pod (300 + 3)/800 = 38 %: no scale-up.
    // Right-sized at 10m: 303/410 = 74 %, the HPA scales up (ceil(1 × 0.74/0.6) = 2).
    let cpu_60 =
        "{ type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 60 } } }";
    let (r, ev) = sidecar_run("400m", cpu_60).unwrap();
    assert_eq!(r.workloads[0].scale_ups, 0);
    let warned = ev.activity[0]
        .warnings
        .iter()
        .find(|w| w.contains("sidecar `shipper` requests 400m of cpu but uses 3m"));
    assert!(warned.is_some(), "{:?}", ev.activity[0].warnings);
    assert!(warned.unwrap().contains("ContainerResource"));
    // 32Mi requested, 20Mi used: not a tenfold gap, and memory has no target: no memory warning.
    assert!(!ev.activity[0]
        .warnings
        .iter()
        .any(|w| w.contains("of memory")));
    let (r, ev) = sidecar_run("10m", cpu_60).unwrap();
    assert!(
        r.workloads[0].ready_max >= 2,
        "{}",
        r.workloads[0].ready_max
    );
    assert!(!ev.activity[0]
        .warnings
        .iter()
        .any(|w| w.contains("sidecar")));
}

#[test]
fn a_container_resource_target_reads_the_app_container_alone() {
    // The same pods with the HPA on a ContainerResource metric of the app container
    // (`container: app`): its usage is the pod's less the shipper's 3m, over its own 400m
    // request, so the over-requested sidecar no longer dilutes it: 300/400 = 75 % > 60 %, the
    // HPA scales up (ceil(1 × 0.75/0.6) = 2) though the pod-level ratio is 38 %. A metric on
    // the shipper reads its 3m over 400m (under 1 %): no scale-up. A container the pod lacks
    // is bad input naming the field.
    let on = |container: &str| {
        format!(
            "{{ type: ContainerResource, containerResource: {{ name: cpu, container: {container}, target: {{ type: Utilization, averageUtilization: 60 }} }} }}"
        )
    };
    let (r, _) = sidecar_run("400m", &on("app")).unwrap();
    assert!(
        r.workloads[0].ready_max >= 2,
        "{}",
        r.workloads[0].ready_max
    );
    assert!(r.workloads[0].scale_ups >= 1);
    let (r, _) = sidecar_run("400m", &on("shipper")).unwrap();
    assert_eq!(r.workloads[0].scale_ups, 0);
    let err = sidecar_run("400m", &on("shiper")).unwrap_err();
    assert!(
        err.contains("containerResource.container") && err.contains("`shiper` is not a container"),
        "{err}"
    );
}

#[test]
fn a_worker_killed_alone_fails_the_requests_it_held_under_both_load_models() {
    // Field case 13 with 3 s of off-CPU time per request: ~15 requests in flight at 5 req/s.
    // A worker killed alone fails the requests it held, under both load models (the
    // request-level engine used to fail none: the container kept running and the killed
    // process's requests finished).
    use costsim::sim::engine::{LoadModel, Options};
    let pools = shape("x4", 4, 1.0, "", "");
    let svc = "name: app\nworkers: 3\nconcurrency_per_worker: 20\n\
               memory: { base_pod: 30Mi, base_per_worker: 150Mi, growth_per_request: 40Ki }\n\
               startup: { min: 10s, max: 10s }\nreadiness_delay: 5s\ntimeout: 60s\n\
               classes:\n  - { name: api, share: 1.0, cpu_ms: 20, network_ms: 3000 }\n";
    let w = "    node_pool: x4\n    replicas: 1\n    resources:\n      requests: { cpu: 300m, memory: 512Mi }\n      \
             limits: { cpu: 600m, memory: 1Gi }\n";
    let extra = "control_plane: { oom_kill: process }\n";
    for (name, load_model) in [
        ("fluid", LoadModel::Fluid),
        ("requests", LoadModel::Requests(Default::default())),
    ] {
        let options = Options {
            load_model,
            ..Options::default()
        };
        let (r, _) = run_small_with(&pools, w, svc, (120, 5), extra, &options);
        let a = &r.workloads[0];
        assert_eq!((a.oom_kills, a.restarts, a.ready_min), (0, 0, 1), "{name}");
        assert!((4..=6).contains(&a.worker_oom_kills), "{name}: {a:?}");
        // Each kill takes one process's requests, of the 5 × 3.02 ≈ 15.1 in flight: the fluid
        // model spreads them evenly (a third each); in the request-level engine the lowest
        // free process takes each request, and the largest, the one killed, holds at least a
        // third (11.4 of them in this run).
        let per_kill = a.killed_requests / f64::from(a.worker_oom_kills);
        if name == "fluid" {
            assert!((per_kill - 15.1 / 3.0).abs() < 0.5, "{per_kill}");
        } else {
            assert!(per_kill > 4.5 && per_kill < 16.0, "{per_kill}");
        }
    }
}

// ---- Field case 15's kind: a pool exhausted, blocking with a timeout ----

#[test]
fn a_blocking_pool_past_saturation_fails_the_excess_not_every_checkout() {
    // redis-py BlockingConnectionPool(max_connections=5, timeout=0.05) in one async worker,
    // one 50 ms call per request: 5 connections serve 100 calls/s. At 120 req/s a checkout
    // waits for one of them and gives up after 50 ms (M/M/5+D): 20.9 % time out in a
    // 400,000-checkout simulation of that queue, and at least the excess 1 − 100/120 = 16.7 %
    // must; Erlang C without the timeouts leaving called it 100 %. At 60 req/s: 1.29 %.
    let over = blocking_pool_failures(120, "0.05");
    assert!((over / 0.209 - 1.0).abs() < 0.03, "{over}");
    assert!(over >= 1.0 - 100.0 / 120.0);
    let under = blocking_pool_failures(60, "0.05");
    assert!((under / 0.0129 - 1.0).abs() < 0.05, "{under}");
}

/// The share of requests whose checkout fails, over 30 minutes at `rate` req/s, of one async
/// worker with a redis-py BlockingConnectionPool of 5 connections (`timeout` as written in
/// YAML) and one 50 ms call per request.
fn blocking_pool_failures(rate: u32, timeout: &str) -> f64 {
    let pools = shape("x4", 4, 1.0, "", "");
    let svc = "name: app\nworkers: 1\nconcurrency_per_worker: 1000\nmemory: { base_per_worker: 100Mi }\n\
               startup: { min: 10s, max: 10s }\nreadiness_delay: 5s\ntimeout: 60s\nclasses:\n  - { name: api, \
               share: 1.0, cpu_ms: 1, downstream: [ { server: redis, ops_per_request: 1, round_trip: 50ms } ] }\n";
    let w = format!(
        "    node_pool: x4\n    replicas: 1\n    resources:\n      requests: {{ cpu: 500m, memory: 512Mi }}\n    \
         client_pools:\n      redis: {{ client: redis-py, pool_class: BlockingConnectionPool, max_connections: 5, timeout: {timeout} }}\n"
    );
    let extra = "servers:\n  redis: { max_connections: 10000 }\n";
    let (r, _) = run_small(&pools, &w, svc, (30, rate), extra);
    r.workloads[0].pool_errors / r.workloads[0].arrivals
}

/// [`small_scenario`] with service profile `svc`, `rate` requests per second for `minutes`,
/// and `extra` appended to the scenario file: the baseline's run.
fn run_small(
    pools: &str,
    workload: &str,
    svc: &str,
    load: (usize, u32),
    extra: &str,
) -> (costsim::sim::engine::RunResult, costsim::eval::Evaluation) {
    let fluid = costsim::sim::engine::Options::default();
    run_small_with(pools, workload, svc, load, extra, &fluid)
}

/// [`run_small`] under `options` (the load model).
fn run_small_with(
    pools: &str,
    workload: &str,
    svc: &str,
    (minutes, rate): (usize, u32),
    extra: &str,
    options: &costsim::sim::engine::Options,
) -> (costsim::sim::engine::RunResult, costsim::eval::Evaluation) {
    use costsim::model::build::load_scenario;
    use costsim::model::load::Files;
    let (d, path) = small_scenario(pools, workload, minutes);
    std::fs::write(d.path().join("svc.yaml"), svc).unwrap();
    let trace: String = std::iter::once("unix_s,requests\n".to_string())
        .chain((0..minutes * 60).map(|s| format!("{},{rate}\n", 1_000_000_000 + s)))
        .collect();
    std::fs::write(d.path().join("trace.csv"), trace).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}{extra}")).unwrap();
    let sc = load_scenario(Files::Disk, &path).unwrap_or_else(|e| panic!("{e}"));
    costsim::search::run_one_with(&sc, &sc.baseline, 1, options)
}

// ---- Field case 13: cgroup v1 kills one worker, not the container ----

#[test]
fn per_process_oom_kills_one_worker_without_a_restart() {
    // 3 gunicorn workers of 150Mi + a 30Mi master = 480Mi at rest, 40Ki per request, 5 req/s,
    // limit 1Gi: 544Mi of growth = 13,926 requests, the limit is reached at 2,785 s. Under
    // cgroup v2 (K8s ≥ 1.28, memory.oom.group) the container dies and restarts, twice in 2 h.
    // Per process (cgroup v1) one worker dies and is replaced at rest: the pod drops by a
    // third of its growth (181Mi = 4,642 requests, 928 s), so workers die at 2,785, 3,714,
    // 4,642, 5,571 and 6,499 s: 5 in 2 h, with no restart and the pod always ready.
    let pools = shape("x4", 4, 1.0, "", "");
    let svc = "name: app\nworkers: 3\nworker_kind: threads\nconcurrency_per_worker: 2\n\
               memory: { base_pod: 30Mi, base_per_worker: 150Mi, growth_per_request: 40Ki }\n\
               startup: { min: 10s, max: 10s }\nreadiness_delay: 5s\ntimeout: 60s\n\
               classes:\n  - { name: api, share: 1.0, cpu_ms: 20 }\n";
    let w = "    node_pool: x4\n    replicas: 1\n    resources:\n      requests: { cpu: 300m, memory: 512Mi }\n      \
             limits: { cpu: 600m, memory: 1Gi }\n";
    let run = |mode: &str| {
        let extra = format!("control_plane: {{ oom_kill: {mode} }}\n");
        run_small(&pools, w, svc, (120, 5), &extra)
    };
    let (r, _) = run("container");
    let a = &r.workloads[0];
    assert_eq!((a.oom_kills, a.restarts, a.worker_oom_kills), (2, 2, 0));
    let (r, ev) = run("process");
    let a = &r.workloads[0];
    assert_eq!((a.oom_kills, a.restarts, a.worker_oom_kills), (0, 0, 5));
    assert_eq!(a.ready_min, 1);
    assert!(ev.activity[0]
        .warnings
        .iter()
        .any(|w| w.contains("5 worker processes OOM-killed alone")));
}

// ---- Field case 15's kind: redis-py's and pymongo's `None` is not "left out" ----

#[test]
fn an_explicit_null_pool_setting_means_what_the_driver_makes_of_none() {
    use costsim::model::config::Config;
    use costsim::model::load::from_yaml_str;
    use costsim::model::pools::{Exhausted, REDIS_PY_UNLIMITED, UNLIMITED_POOL};
    let pools = |p: &str| -> Result<costsim::model::pools::ClientPool, String> {
        let text = format!(
            "name: t\nworkloads:\n  app:\n    node_pool: p\n    replicas: 1\n    resources:\n      \
             requests: {{ cpu: 1, memory: 1Gi }}\n    client_pools:\n      s: {p}\n"
        );
        let c: Config = from_yaml_str(&text, "c.yaml").map_err(|e| e.to_string())?;
        c.workloads["app"].client_pools["s"]
            .resolve()
            .map_err(|(f, m)| format!("{f}: {m}"))
    };
    // BlockingConnectionPool(timeout=None) blocks forever (redis-py's docstring: "Block
    // forever"); left out it is 20 s.
    let p =
        pools("{ client: redis-py, pool_class: BlockingConnectionPool, timeout: null }").unwrap();
    assert_eq!(p.exhausted, Exhausted::Block { timeout_s: None });
    assert_eq!(p.max_size, 50);
    let p = pools("{ client: redis-py, pool_class: BlockingConnectionPool }").unwrap();
    assert_eq!(
        p.exhausted,
        Exhausted::Block {
            timeout_s: Some(20.0)
        }
    );
    // `max_connections = max_connections or 2**31`: 0 and None are no limit for a
    // ConnectionPool ...
    for v in ["0", "null"] {
        let p = pools(&format!("{{ client: redis-py, max_connections: {v} }}")).unwrap();
        assert_eq!(p.max_size, REDIS_PY_UNLIMITED, "{v}");
    }
    // ... and a BlockingConnectionPool would pre-fill a queue of 2**31 slots: bad input.
    let e = pools("{ client: redis-py, pool_class: BlockingConnectionPool, max_connections: 0 }")
        .unwrap_err();
    assert!(
        e.starts_with("max_connections: 0:") && e.contains("2**31"),
        "{e}"
    );
    assert!(pools("{ client: redis-py, max_connections: -1 }")
        .unwrap_err()
        .starts_with("max_connections: -1 is negative"));
    // pymongo: "maxPoolSize ... Can be either 0 or None, in which case there is no limit".
    let p = pools("{ client: pymongo, maxPoolSize: null, minPoolSize: 200 }").unwrap();
    assert_eq!((p.max_size, p.min_size), (UNLIMITED_POOL, 200));
    assert_eq!(pools("{ client: pymongo }").unwrap().max_size, 100);
    // The config prints back as it was written: an explicit null stays null.
    let text =
        "name: t\nworkloads:\n  app:\n    node_pool: p\n    replicas: 1\n    resources:\n      \
                requests: { cpu: 1, memory: 1Gi }\n    client_pools:\n      s: { client: redis-py, \
                pool_class: BlockingConnectionPool, timeout: null }\n";
    let c: Config = from_yaml_str(text, "c.yaml").unwrap();
    let json = serde_json::to_value(&c).unwrap();
    let s = &json["workloads"]["app"]["client_pools"]["s"];
    assert!(
        s.as_object().unwrap().contains_key("timeout") && s["timeout"].is_null(),
        "{s}"
    );
}

#[test]
fn a_blocking_pool_without_a_timeout_queues_instead_of_failing() {
    // The pool of a_blocking_pool_past_saturation_fails_the_excess_not_every_checkout at
    // 60 req/s (5 connections for 100 calls/s): with timeout 0.05 s 1.29 % of checkouts give
    // up; with timeout None nobody gives up (the calls wait, ρ = 0.6, a few ms).
    assert!(blocking_pool_failures(60, "0.05") > 0.01);
    assert_eq!(blocking_pool_failures(60, "null"), 0.0);
}

// ---- Field cases 18 and 19: kubectl's `<unknown>`, and bare numbers in usage files ----

#[test]
fn kubectl_unknown_is_missing_and_bare_numbers_in_usage_are_warned_of() {
    // kubectl prints `<unknown>` for a reading it does not have: missing, never zero (and
    // never bad input).
    let top = "NAME CPU(cores) MEMORY(bytes)\ntest-0 <unknown> <unknown>\ntest-1 3m 335Mi\n";
    let m = metrics(top, "top.txt");
    assert_eq!(m.samples.len(), 2);
    assert_eq!(
        (m.samples[0].cpu_nanocores, m.samples[0].working_set_bytes),
        (None, None)
    );
    assert_eq!(m.missing.len(), 1);
    assert_eq!(
        (m.missing[0].pod.as_str(), m.missing[0].location.as_str()),
        ("test-0", "line 2")
    );
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    // Millicores without the `m` and MiB without the `Mi` parse (250 cores, 300 bytes) but
    // are typos: one warning per column naming the first line, the value and the fix.
    let csv = "ts,pod,cpu,memory\n10:00,a-1,250,300\n10:01,a-1,1e3,200Mi\n10:02,a-1,0.25,1000\n";
    let m = metrics(csv, "u.csv");
    assert_eq!(m.samples[0].cpu_nanocores, Some(250_000_000_000));
    assert_eq!(m.samples[1].cpu_nanocores, Some(1_000_000_000_000));
    assert_eq!(m.samples[0].working_set_bytes, Some(300));
    assert_eq!(m.warnings.len(), 2, "{:?}", m.warnings);
    assert!(
        m.warnings[0].starts_with("u.csv: line 2: column `cpu`: \"250\" is 250 cores")
            && m.warnings[0].contains("did you mean 250m?")
            && m.warnings[0].ends_with("(and 1 more value like it)"),
        "{:?}",
        m.warnings
    );
    assert!(
        m.warnings[1]
            .starts_with("u.csv: line 2: column `memory`: \"300\" is 300 bytes, below 1Mi")
            && m.warnings[1].contains("(and 1 more value like it)"),
        "{:?}",
        m.warnings
    );
    let top = "NAME CPU(cores) MEMORY(bytes)\nweb-0 1e3 512\n";
    let w = metrics(top, "t.txt").warnings;
    assert!(
        w[0].contains("\"1e3\" is 1000 cores") && w[0].contains("did you mean 1000m?"),
        "{w:?}"
    );
    assert!(
        w[1].contains("MEMORY(bytes): \"512\" is 512 bytes"),
        "{w:?}"
    );
    // A multiplying suffix on CPU (`1Ki` is 1024 cores) is as suspicious.
    let w = metrics("pod,cpu,memory\na-1,1Ki,300Mi\n", "k.csv").warnings;
    assert!(
        w.len() == 1 && w[0].contains("\"1Ki\" is 1024 cores") && w[0].contains("millicores"),
        "{w:?}"
    );
    // Values with their suffix, and real byte counts, give none.
    let ok = "pod,cpu,memory\na-1,250m,300Mi\na-2,2.5,343748Ki\na-3,12,351272960\n";
    assert!(metrics(ok, "ok.csv").warnings.is_empty());
}

// ---- Field case 13: gunicorn's max_requests 0 and max_requests_jitter ----

#[test]
fn gunicorn_max_requests_zero_never_recycles_and_jitter_spreads_the_limit() {
    use costsim::model::build::load_scenario;
    use costsim::model::load::Files;
    use costsim::model::service::MemoryProfile;
    // The pod of per_process_oom_kills_one_worker_without_a_restart (3 × 150Mi workers + a
    // 30Mi master, 40Ki per request, 5 req/s, limit 1Gi, 2 h). gunicorn's `max_requests = 0`
    // is its default and disables the restarts: the pod grows as without the option and is
    // OOM-killed twice (it read as "recycle at once": no growth, no kill). With
    // `max_requests: 1000` and `max_requests_jitter: 500` each worker's limit is 1000 + U(0,
    // 500), mean 1250: the pod peaks at 480Mi + 3 × 1250 × 40Ki = 626.5Mi, no kill.
    let pools = shape("x4", 4, 1.0, "", "");
    let w = "    node_pool: x4\n    replicas: 1\n    resources:\n      requests: { cpu: 300m, memory: 512Mi }\n      \
             limits: { cpu: 600m, memory: 1Gi }\n";
    let run = |recycle: &str| {
        let svc = format!(
            "name: app\nworkers: 3\nworker_kind: threads\nconcurrency_per_worker: 2\n\
             memory: {{ base_pod: 30Mi, base_per_worker: 150Mi, growth_per_request: 40Ki{recycle} }}\n\
             startup: {{ min: 10s, max: 10s }}\nreadiness_delay: 5s\ntimeout: 60s\n\
             classes:\n  - {{ name: api, share: 1.0, cpu_ms: 20 }}\n"
        );
        let (d, path) = small_scenario(&pools, w, 120);
        std::fs::write(d.path().join("svc.yaml"), svc).unwrap();
        let trace: String = std::iter::once("unix_s,requests\n".to_string())
            .chain((0..7200).map(|s| format!("{},5\n", 1_000_000_000 + s)))
            .collect();
        std::fs::write(d.path().join("trace.csv"), trace).unwrap();
        let sc = load_scenario(Files::Disk, &path).unwrap_or_else(|e| panic!("{e}"));
        costsim::search::run_one(&sc, &sc.baseline, 1).0
    };
    let never = run("");
    assert_eq!(never.workloads[0].oom_kills, 2);
    let zero = run(", max_requests: 0");
    assert_eq!(zero.workloads[0].oom_kills, 2);
    let jitter = run(", max_requests: 1000, max_requests_jitter: 500");
    assert_eq!(jitter.workloads[0].oom_kills, 0);
    let peak_mi = jitter.workloads[0].peak_pod_memory_bytes / 1_048_576.0;
    assert!(
        (peak_mi - (480.0 + 3.0 * 1250.0 * 40.0 / 1024.0)).abs() < 2.0,
        "peak {peak_mi}Mi"
    );
    // Once the workers' ages are spread, a worker's mean age is the renewal process's
    // E[L²]/2E[L] = (1250² + 500²/12) / 2500 = 633.33 requests (500 without jitter).
    let m = |r: Option<u64>, j: Option<u64>| MemoryProfile {
        base_pod: costsim::quantity::Bytes(0),
        base_per_worker: costsim::quantity::Bytes(0),
        growth_per_request: costsim::quantity::Bytes(1024),
        max_requests: r,
        max_requests_jitter: j,
    };
    let g = m(Some(1000), Some(500)).growth_bytes(3.0e6, 3) / 1024.0;
    assert!((g - 3.0 * (1250.0f64.powi(2) + 500.0f64.powi(2) / 12.0) / 2500.0).abs() < 1e-9);
    assert_eq!(
        m(Some(1000), None).growth_bytes(3.0e6, 3),
        3.0 * 500.0 * 1024.0
    );
    assert_eq!(m(Some(0), Some(100)).growth_bytes(3.0e6, 3), 3.0e6 * 1024.0);
}

// ---- Field case 18: `kubectl top` recorded with --no-headers, and other `date` lines ----

#[test]
fn kubectl_top_without_headers_and_with_locale_or_rfc3339_dates() {
    // 2026-12-03 13:34:58 UTC = 1,796,304,898 s, however `date` printed it: RFC 3339
    // (`date --rfc-3339=seconds`), ISO with a space before the zone, en_GB, and en_US's
    // 12-hour clock.
    const T: i64 = 1_796_304_898_000;
    for date in [
        "2026-12-03 13:34:58+00:00",
        "2026-12-03 14:34:58 +0100",
        "Thu  3 Dec 13:34:58 UTC 2026",
        "Thu Dec  3 01:34:58 PM UTC 2026",
        "Thu 03 Dec 2026 01:34:58 PM UTC",
    ] {
        let text = format!("{date}\nNAME CPU(cores) MEMORY(bytes)\ntest-0 3m 335Mi\n{date}\nNAME CPU(cores) MEMORY(bytes)\ntest-0 4m 335Mi\n");
        let m = metrics(&text, "top.txt");
        assert_eq!(m.samples.len(), 2, "{date}");
        assert_eq!(m.samples[0].t_ms, T, "{date}");
    }
    // 12:04:58 AM is 00:04:58.
    let m = metrics(
        "Thu Dec  3 12:04:58 AM UTC 2026\nNAME CPU(cores) MEMORY(bytes)\ntest-0 3m 335Mi\n",
        "am.txt",
    );
    assert_eq!(m.samples[0].t_ms, T - (13 * 3600 + 30 * 60) * 1000);
    // `kubectl top pods --no-headers` (what `| sort -k2` pipelines record): NAME, CPU,
    // memory; several snapshots each after their `date` line.
    let text = "Thu Dec  3 13:34:58 UTC 2026\ntest-0 3m 335Mi\ntest-1 <unknown> <unknown>\n\
                Thu Dec  3 13:35:58 UTC 2026\ntest-0 5m 336Mi\n";
    let m = metrics(text, "nh.txt");
    assert_eq!(m.format, MetricsFormat::KubectlTop);
    assert_eq!(m.samples.len(), 3);
    assert_eq!(m.samples[2].t_ms, T + 60_000);
    assert_eq!(m.samples[2].cpu_nanocores, Some(5_000_000));
    assert_eq!(m.missing.len(), 1);
    // kubectl's klog warning captured with `2>&1` is log noise; the `error:` line after it
    // records the missing pod once.
    let text = "NAME CPU(cores) MEMORY(bytes)\ntest-0 3m 335Mi\n\
                W1203 13:34:58.123456   12345 top_pod.go:274] Metrics not available for pod default/alertmanager-0, age: 69h55m32.681659s\n\
                error: Metrics not available for pod default/alertmanager-0, age: 69h55m32.681659s\n";
    let m = metrics(text, "klog.txt");
    assert_eq!(m.samples.len(), 1);
    assert_eq!(m.missing.len(), 1);
    assert_eq!(m.missing[0].pod, "alertmanager-0");
    // Four columns without a header are `-A` or `--containers`: ambiguous, bad input.
    let e = metrics_err("default test-0 3m 335Mi\n", "nh4.txt");
    assert!(
        e.contains("nh4.txt: line 1") && e.contains("without a header"),
        "{e}"
    );
    // A headerless row with a bad unit is still not a table.
    let e = metrics_err("test-0 3m 335MB\n", "bad.txt");
    assert!(
        e.contains("bad.txt: line 1") && e.contains("MEMORY(bytes)") && e.contains("335M or 335Mi"),
        "{e}"
    );
}

// ---- HPA tolerance (KEP-4951) written as a percentage, and ContainerResource typos ----

#[test]
fn a_tolerance_written_as_a_percentage_is_refused_or_warned_of() {
    use costsim::model::config::Config;
    use costsim::model::load::from_yaml_str;
    use costsim::model::validate::suspicious_quantities;
    let cfg = |behavior: &str, metric: &str| {
        format!(
            "name: t\nworkloads:\n  app:\n    node_pool: p\n    replicas: 1\n    resources:\n      \
             requests: {{ cpu: 1, memory: 1Gi }}\n    hpa:\n      minReplicas: 1\n      maxReplicas: 4\n      \
             metrics: [ {metric} ]\n      behavior: {behavior}\n"
        )
    };
    let cpu = "{ type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 60 } } }";
    // `5%` is no quantity (the API server refuses it): the error names the field and the
    // fraction meant.
    let e = from_yaml_str::<Config>(&cfg("{ scaleDown: { tolerance: 5% } }", cpu), "c.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("behavior.scaleDown.tolerance") && e.contains("5% is 0.05"),
        "{e}"
    );
    // `5` parses (500 %) but no HPA means it: at 1 or more it never scales down.
    let text = cfg(
        "{ scaleDown: { tolerance: 5 }, scaleUp: { tolerance: 50m } }",
        cpu,
    );
    let c: Config = from_yaml_str(&text, "c.yaml").unwrap();
    let w = suspicious_quantities(&c, Some(&text));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("hpa.behavior.scaleDown.tolerance is 5 (500 %")
            && w[0].contains("never scales down")
            && w[0].contains("did you mean 0.05?"),
        "{w:?}"
    );
    // A ContainerResource memory averageValue of 400 is 400 bytes, as a Resource one is.
    let mem = "{ type: ContainerResource, containerResource: { name: memory, container: app, target: { type: AverageValue, averageValue: 400 } } }";
    let text = cfg("{ scaleUp: { tolerance: 0.05 } }", mem);
    let c: Config = from_yaml_str(&text, "c.yaml").unwrap();
    let w = suspicious_quantities(&c, Some(&text));
    assert!(
        w.len() == 1
            && w[0].contains("hpa.metrics[0].containerResource.target.averageValue is 400 bytes"),
        "{w:?}"
    );
}

// ---- Field case 18: the metrics API without a reading is missing, not bad input ----

#[test]
fn metrics_api_readings_that_are_absent_are_missing_and_the_pod_total_too() {
    // A sidecar reported without memory, and a pod listed with no container metrics yet: the
    // HPA's metrics client counts both pods as missing for that resource (never zero), so the
    // pod total of the first has CPU (704m + 3m) and no memory.
    let list = r#"{"kind":"PodMetricsList","apiVersion":"metrics.k8s.io/v1beta1","items":[
        {"metadata":{"name":"svc-1","namespace":"d"},"timestamp":"2026-12-03T13:34:58Z",
         "containers":[{"name":"app","usage":{"cpu":"704m","memory":"1545Mi"}},
                       {"name":"log-shipper","usage":{"cpu":"3m"}}]},
        {"metadata":{"name":"svc-2","namespace":"d"},"timestamp":"2026-12-03T13:34:58Z",
         "containers":[]}]}"#;
    let m = metrics(list, "pods.json");
    assert_eq!(m.samples.len(), 2);
    assert_eq!(m.samples[1].working_set_bytes, None);
    let where_: Vec<(&str, &str)> = m
        .missing
        .iter()
        .map(|x| (x.pod.as_str(), x.location.as_str()))
        .collect();
    assert_eq!(
        where_,
        [
            ("svc-1", "items[0].containers[1].usage.memory"),
            ("svc-2", "items[1].containers")
        ]
    );
    let total = pod_totals(&m.samples);
    assert_eq!(total[0].cpu_nanocores, Some(707_000_000));
    assert_eq!(total[0].working_set_bytes, None);
    // A reading of the wrong type is still bad input naming the field.
    let bad = r#"{"kind":"PodMetrics","metadata":{"name":"a"},"containers":[{"name":"x","usage":{"cpu":5,"memory":"1Mi"}}]}"#;
    let e = metrics_err(bad, "bad.json");
    assert!(
        e.contains("containers[0].usage.cpu") && e.contains("quantity string"),
        "{e}"
    );
}

// ---- Field case 16: pymongo's monitoring sockets under serverMonitoringMode ----

#[test]
fn pymongo_poll_monitoring_keeps_one_socket_per_member_not_two() {
    use costsim::model::pools::{connection_budget, idle_connections, ClientPoolConfig};
    // novu's 3 processes with minPoolSize 200: stream (the default, `auto` off FaaS) keeps a
    // monitor and an RTT monitor per member, 3 × (200 + 2) = 606 at idle; `poll` (pymongo
    // 4.5+) only the monitor, 3 × (200 + 1) = 603. Both are over a 500 cap.
    let pool = |mode: Option<&str>| ClientPoolConfig {
        client: "pymongo".into(),
        max_pool_size: Some(Some(500)),
        min_pool_size: Some(200),
        server_monitoring_mode: mode.map(String::from),
        ..ClientPoolConfig::default()
    };
    for (mode, idle, budget) in [
        (None, 606, 1506),
        (Some("auto"), 606, 1506),
        (Some("stream"), 606, 1506),
        (Some("poll"), 603, 1503),
    ] {
        let p = pool(mode).resolve().unwrap();
        assert_eq!(idle_connections(&p, 3, 1), idle, "{mode:?}");
        assert_eq!(connection_budget(&p, 3, 1, 1000), budget, "{mode:?}");
    }
    let (f, m) = pool(Some("polling")).resolve().unwrap_err();
    assert_eq!(f, "serverMonitoringMode");
    assert!(m.contains("auto, stream or poll"), "{m}");
    // redis-py has no such option.
    let r = ClientPoolConfig {
        client: "redis-py".into(),
        server_monitoring_mode: Some("poll".into()),
        ..ClientPoolConfig::default()
    };
    assert_eq!(r.resolve().unwrap_err().0, "serverMonitoringMode");
}

// ---- HPA: a Utilization metric without requests beside a valid one ----

#[test]
fn a_utilization_metric_without_requests_blocks_scale_down_and_is_warned_of() {
    use costsim::model::build::load_scenario;
    use costsim::model::load::Files;
    // The pods request CPU but no memory, and use 2 % of their CPU request: a CPU target alone
    // scales 3 → 1. A memory Utilization target is invalid on every sync (`missing request
    // for memory`): the API server accepts it, so it is simulated and warned of. Alone it never
    // scales; beside the CPU target upstream computes the valid metric, may scale up on it, and
    // refuses every scale-down while one metric is invalid (TestScaleUpOneMetricInvalid,
    // TestNoScaleDownOneMetricInvalid).
    let cpu = "{ type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 60 } } }";
    let mem = "{ type: Resource, resource: { name: memory, target: { type: Utilization, averageUtilization: 60 } } }";
    let pools = shape("x4", 4, 1.0, "", "");
    let run = |metrics: &str| {
        let w = format!(
            "    node_pool: x4\n    replicas: 3\n    resources:\n      requests: {{ cpu: 500m }}\n    \
             hpa:\n      minReplicas: 1\n      maxReplicas: 4\n      metrics: [ {metrics} ]\n"
        );
        let (_d, path) = small_scenario(&pools, &w, 30);
        let sc = load_scenario(Files::Disk, &path).unwrap_or_else(|e| panic!("{e}"));
        let (r, _) = costsim::search::run_one(&sc, &sc.baseline, 1);
        let w = &r.workloads[0];
        (sc.notes.join("\n"), w.scale_ups, w.scale_downs, w.ready_min)
    };
    let (notes, _, downs, fewest) = run(cpu);
    assert!(!notes.contains("missing request"), "{notes}");
    assert!(
        downs >= 1 && fewest == 1,
        "CPU alone: {downs} scale-downs to {fewest}"
    );
    let (notes, ups, downs, fewest) = run(&format!("{cpu}, {mem}"));
    assert!(
        notes.contains("hpa.metrics[1]")
            && notes.contains("missing request for memory")
            && notes.contains("no scale-down ever happens"),
        "{notes}"
    );
    assert_eq!((ups, downs, fewest), (0, 0, 3));
    let (notes, ups, downs, _) = run(mem);
    assert!(
        notes.contains("hpa.metrics[0]") && notes.contains("never scales"),
        "{notes}"
    );
    assert_eq!((ups, downs), (0, 0));
}
