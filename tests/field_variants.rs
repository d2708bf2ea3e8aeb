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
