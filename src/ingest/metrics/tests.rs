//! Parser tests with real values: field case 18's `kubectl top` quirks (each one a test), the
//! Nezha sample's first rows and a Google Borg 2019 row.

use super::*;

const MI: i64 = 1 << 20;

fn parse(text: &str) -> Result<MetricsSet> {
    parse_metrics(text, "m.txt", &MetricsOptions::default())
}

fn err_text(r: Result<MetricsSet>) -> String {
    match r {
        Err(e) => e.to_string(),
        Ok(m) => panic!("expected an error, parsed {} samples", m.samples.len()),
    }
}

// ---- field case 18: kubectl top quirks --------------------------------------------------------

#[test]
fn case18_kubectl_top_prints_3m_and_335mi() {
    let m = parse("NAME     CPU(cores)   MEMORY(bytes)\ntest-0   3m           335Mi\n").unwrap();
    assert_eq!(m.format, MetricsFormat::KubectlTop);
    let s = &m.samples[0];
    assert_eq!((s.pod.as_str(), s.container.as_str()), ("test-0", ""));
    assert_eq!(s.cpu_nanocores, Some(3_000_000));
    assert_eq!(s.working_set_bytes, Some(335 * MI));
    assert_eq!(s.precision, Precision::KubectlTop);
    // A single snapshot without a `date` line has no time: 0.
    assert_eq!(s.t_ms, 0);
}

#[test]
fn case18_raw_metrics_api_units_n_and_ki_parse_and_round_like_kubectl() {
    // The same pod through the raw metrics API: 2731514n / 343748Ki.
    let m = parse("NAME CPU(cores) MEMORY(bytes)\ntest-0 2731514n 343748Ki\n").unwrap();
    let s = &m.samples[0];
    assert_eq!(s.cpu_nanocores, Some(2_731_514));
    assert_eq!(s.working_set_bytes, Some(343_748 * 1024));
    // kubectl rounds CPU up (MilliValue) and memory down to whole Mi: 3m / 335Mi.
    assert_eq!(
        kubectl_top_display(2_731_514, 343_748 * 1024),
        ("3m".to_string(), "335Mi".to_string())
    );
    // So the kubectl-top reading of the same pod is within [0, 1m) above (CPU) and [0, 1Mi)
    // below (memory) the raw one.
    let top = parse("NAME CPU(cores) MEMORY(bytes)\ntest-0 3m 335Mi\n").unwrap();
    let (t, r) = (&top.samples[0], s);
    let cpu_gap = t.cpu_nanocores.unwrap() - r.cpu_nanocores.unwrap();
    let mem_gap = r.working_set_bytes.unwrap() - t.working_set_bytes.unwrap();
    assert!((0..1_000_000).contains(&cpu_gap), "{cpu_gap}");
    assert!((0..MI).contains(&mem_gap), "{mem_gap}");
}

#[test]
fn case18_bare_numbers_are_cores_and_bytes() {
    let m = parse("NAME CPU(cores) MEMORY(bytes)\np-0 2 1048576\np-1 0.5 1Gi\n").unwrap();
    assert_eq!(m.samples[0].cpu_nanocores, Some(2_000_000_000));
    assert_eq!(m.samples[0].working_set_bytes, Some(MI));
    assert_eq!(m.samples[1].cpu_nanocores, Some(500_000_000));
    assert_eq!(m.samples[1].working_set_bytes, Some(1 << 30));
}

#[test]
fn case18_containers_layout_sums_to_708m_1650mi_per_pod() {
    let text = "POD                    NAME          CPU(cores)   MEMORY(bytes)\n\
                svc-5f9f6bb846-tx6mj   app           704m         1545Mi\n\
                svc-5f9f6bb846-tx6mj   log-shipper   3m           86Mi\n\
                svc-5f9f6bb846-tx6mj   vault-agent   1m           19Mi\n";
    let m = parse(text).unwrap();
    let names: Vec<&str> = m.samples.iter().map(|s| s.container.as_str()).collect();
    assert_eq!(names, ["app", "log-shipper", "vault-agent"]);
    assert!(m.samples.iter().all(|s| s.pod == "svc-5f9f6bb846-tx6mj"));
    let total = pod_totals(&m.samples);
    assert_eq!(total.len(), 1);
    assert_eq!(total[0].cpu_nanocores, Some(708_000_000));
    assert_eq!(total[0].working_set_bytes, Some(1650 * MI));
    assert_eq!(workload_of(&total[0].pod), "svc");
}

#[test]
fn case18_metrics_not_available_is_missing_not_zero() {
    let text = "Thu Dec  3 13:34:58 UTC 2026\n\
                error: Metrics not available for pod kube-system/alertmanager-0, age: 69h55m32.681659s\n\
                Thu Dec  3 13:35:58 UTC 2026\n\
                NAMESPACE     NAME             CPU(cores)   MEMORY(bytes)\n\
                kube-system   coredns-0        2m           20Mi\n";
    let m = parse(text).unwrap();
    assert_eq!(
        m.samples.len(),
        1,
        "no zero sample for the pod without metrics"
    );
    assert_eq!(m.missing.len(), 1);
    let miss = &m.missing[0];
    assert_eq!(
        (miss.namespace.as_str(), miss.pod.as_str()),
        ("kube-system", "alertmanager-0")
    );
    assert_eq!(miss.location, "line 2");
    assert_eq!(miss.t_ms, Some(1_796_304_898_000));
    assert!(!m.samples.iter().any(|s| s.pod == "alertmanager-0"));
}

#[test]
fn case18_memory_is_the_working_set() {
    // kubectl top's MEMORY(bytes) is the working set (#103352: 1394Mi vs ~700MB RSS); the sample
    // keeps it under that name, never as RSS.
    let m = parse("NAME CPU(cores) MEMORY(bytes)\njvm-0 12m 1394Mi\n").unwrap();
    assert_eq!(m.samples[0].working_set_bytes, Some(1394 * MI));
}

// ---- kubectl top: layouts, snapshots, errors ------------------------------------------------

#[test]
fn namespace_column_and_concatenated_snapshots_take_their_date() {
    let text = "Thu Dec  3 13:34:58 UTC 2026\n\
                NAMESPACE   NAME                       CPU(cores)   MEMORY(bytes)\n\
                shop        frontend-579b9bff58-t2dbm   54m          15Mi\n\
                shop        redis-0                     3m           8Mi\n\
                \n\
                Thu, 03 Dec 2026 13:35:58 +0000\n\
                NAMESPACE   NAME                       CPU(cores)   MEMORY(bytes)\n\
                shop        frontend-579b9bff58-t2dbm   60m          16Mi\n\
                2026-12-03T13:36:58Z\n\
                NAMESPACE   NAME                       CPU(cores)   MEMORY(bytes)\n\
                shop        frontend-579b9bff58-t2dbm   58m          16Mi\n";
    let m = parse(text).unwrap();
    let t: Vec<i64> = m.samples.iter().map(|s| s.t_ms).collect();
    let t0 = 1_796_304_898_000;
    assert_eq!(t, [t0, t0, t0 + 60_000, t0 + 120_000]);
    assert!(m.samples.iter().all(|s| s.namespace == "shop"));
    assert_eq!(workload_of(&m.samples[1].pod), "redis");
}

#[test]
fn all_namespaces_with_containers_and_swap_column() {
    let text = "NAMESPACE   POD       NAME   CPU(cores)   MEMORY(bytes)   SWAP(bytes)\n\
                db          pg-0      pg     250m         1Gi             0\n";
    let s = &parse(text).unwrap().samples[0];
    assert_eq!(
        (s.namespace.as_str(), s.pod.as_str(), s.container.as_str()),
        ("db", "pg-0", "pg")
    );
    assert_eq!(s.cpu_nanocores, Some(250_000_000));
}

#[test]
fn truncated_table_row_names_the_line() {
    let text = "Thu Dec  3 13:34:58 UTC 2026\nNAME CPU(cores) MEMORY(bytes)\na-0 3m 10Mi\nb-0 4m\n";
    let e = err_text(parse(text));
    assert!(e.contains("m.txt: line 4: expected 3 columns"), "{e}");
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn unit_12mb_is_an_error_naming_line_and_column() {
    let e = err_text(parse("NAME CPU(cores) MEMORY(bytes)\na-0 3m 12MB\n"));
    assert!(e.contains("line 2: column MEMORY(bytes)"), "{e}");
    assert!(e.contains("12MB"), "{e}");
    let e = err_text(parse("NAME CPU(cores) MEMORY(bytes)\na-0 3 cores 1Mi\n"));
    assert!(e.contains("line 2"), "{e}");
    // Memory in milli-units is half-bytes: rejected with the hint.
    let e = err_text(parse("NAME CPU(cores) MEMORY(bytes)\na-0 3m 500m\n"));
    assert!(e.contains("did you mean 500M or 500Mi"), "{e}");
}

#[test]
fn second_snapshot_without_a_date_is_rejected() {
    let text =
        "NAME CPU(cores) MEMORY(bytes)\na-0 3m 10Mi\nNAME CPU(cores) MEMORY(bytes)\na-0 3m 10Mi\n";
    assert!(
        err_text(parse(text)).contains("line 3: a second `kubectl top` table without a timestamp")
    );
    let text = "Thu Dec  3 13:34:58 UTC 2026\nNAME CPU(cores) MEMORY(bytes)\na-0 3m 10Mi\nNAME CPU(cores) MEMORY(bytes)\n";
    assert!(err_text(parse(text)).contains("line 4: this table has no `date` line"));
}

#[test]
fn ambiguous_zone_and_garbage_lines_are_rejected() {
    let e = err_text(parse(
        "Thu Dec  3 13:34:58 CST 2026\nNAME CPU(cores) MEMORY(bytes)\n",
    ));
    assert!(
        e.contains("line 1") && e.contains("`CST` is ambiguous"),
        "{e}"
    );
    let e = err_text(parse("hello world\n"));
    assert!(
        e.contains("line 1: expected a `kubectl top pods` header"),
        "{e}"
    );
    let e = err_text(parse(
        "NAME CPU(cores) MEMORY(bytes)\na-0 3m 1Mi\na-0 4m 1Mi\n",
    ));
    assert!(e.contains("line 3: pod `a-0` appears twice"), "{e}");
}

// ---- Prometheus -----------------------------------------------------------------------------

const PROM_CPU: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[
 {"metric":{"namespace":"shop","pod":"frontend-579b9bff58-t2dbm","container":"server"},
  "values":[[1661140279,"0.053419305"],[1661140339.5,"0.057277697"],[1661140399,"NaN"]]},
 {"metric":{"namespace":"shop","pod":"frontend-579b9bff58-t2dbm","container":"POD"},
  "values":[[1661140279,"0"]]},
 {"metric":{"namespace":"shop","pod":"frontend-579b9bff58-t2dbm","container":""},
  "values":[[1661140279,"0.06"]]}]}}"#;

#[test]
fn prometheus_cpu_rate_matrix() {
    let opts = MetricsOptions {
        prometheus_resource: Some(Resource::Cpu),
        ..Default::default()
    };
    let m = parse_metrics(PROM_CPU, "cpu.json", &opts).unwrap();
    assert_eq!(m.format, MetricsFormat::Prometheus);
    // The pause container and the pod-cgroup series (which would double count) are left out.
    assert_eq!(m.samples.len(), 2);
    assert_eq!(m.samples[0].cpu_nanocores, Some(53_419_305));
    assert_eq!(m.samples[0].t_ms, 1_661_140_279_000);
    assert_eq!(m.samples[1].t_ms, 1_661_140_339_500);
    assert_eq!(m.samples[0].container, "server");
    assert_eq!(m.missing.len(), 1);
    assert_eq!(m.missing[0].location, "data.result[0].values[2][1]");
}

#[test]
fn prometheus_memory_is_named_by_its_metric() {
    let text = r#"{"status":"success","data":{"resultType":"matrix","result":[
      {"metric":{"__name__":"container_memory_working_set_bytes","pod":"redis-0","container":"redis"},
       "values":[[1700000000,"8388608"],[1700000060,"8.4e+06"]]}]}}"#;
    let m = parse(text).unwrap();
    assert_eq!(m.samples[0].working_set_bytes, Some(8 * MI));
    assert_eq!(m.samples[1].working_set_bytes, Some(8_400_000));
    assert_eq!(m.samples[0].cpu_nanocores, None);
}

#[test]
fn prometheus_errors_name_the_field() {
    let e = err_text(parse(
        r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:6: parse error"}"#,
    ));
    assert!(e.contains("m.txt: status: the query failed"), "{e}");
    assert!(e.contains("bad_data") && e.contains("parse error"), "{e}");
    let e = err_text(parse(
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a-0"},"values":[[1,"1"]]}]}}"#,
    ));
    assert!(
        e.contains("data.result[0].metric") && e.contains("cpu=FILE or memory=FILE"),
        "{e}"
    );
    let e = err_text(parse(
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"container_memory_working_set_bytes","pod":"a-0"},"values":[[1,"1"],[2,"12MB"]]}]}}"#,
    ));
    assert!(
        e.contains("data.result[0].values[1][1]") && e.contains("12MB"),
        "{e}"
    );
    let e = err_text(parse(
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"container_cpu_usage_seconds_total","pod":"a-0"},"values":[[1,"1"]]}]}}"#,
    ));
    assert!(e.contains("raw CPU counter"), "{e}");
    let e = err_text(parse("{\"status\":\"success\",\n\"data\":"));
    assert!(e.contains("line 2, column "), "{e}");
    assert!(e.contains(": not valid JSON: "), "{e}");
    assert!(!e.contains(" at line "), "the position is given once: {e}");
}

#[test]
fn prometheus_instant_vector() {
    let text = r#"{"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"__name__":"container_memory_working_set_bytes","namespace":"db","pod":"pg-0","container":"pg"},
       "value":[1700000000.25,"1073741824"]}]}}"#;
    let m = parse(text).unwrap();
    let s = &m.samples[0];
    assert_eq!((s.namespace.as_str(), s.container.as_str()), ("db", "pg"));
    assert_eq!(
        (s.t_ms, s.working_set_bytes),
        (1_700_000_000_250, Some(1 << 30))
    );
    assert_eq!(s.cpu_milli_ceil(), None);
    let e = err_text(parse(
        r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#,
    ));
    assert!(
        e.contains("data.resultType") && e.contains("`scalar`"),
        "{e}"
    );
}

// ---- CSV ------------------------------------------------------------------------------------

/// The header and first two rows of the Nezha sample's frontend pod, unchanged.
const NEZHA: &str = "Time,TimeStamp,PodName,CpuUsage(m),CpuUsageRate(%),MemoryUsage(Mi),MemoryUsageRate(%),SyscallRead,SyscallWrite,NetworkReceiveBytes,NetworkTransmitBytes,PodClientLatencyP90(s),PodServerLatencyP90(s),PodClientLatencyP95(s),PodServerLatencyP95(s),PodClientLatencyP99(s),PodServerLatencyP99(s),PodWorkload(Ops),PodSuccessRate(%),NodeCpuUsageRate(%),NodeMemoryUsageRate(%),NodeNetworkReceiveBytes
2022-08-22 03:51:19.799087274 +0000 UTC m=+0.305041286,1661140279,frontend-579b9bff58-t2dbm,5.341930494693208,26.709652473466033,15.37890625,12.0147705078125,0,0,32496.36298163486,237008.78646020885,0.1502994011976046,1.1499999999999995,0.20913173652694575,1.8249999999999984,0.44166666666665994,2.365,9.133333333333333,0,2.815721109529523,11.256182480603325,32833.6
2022-08-22 03:52:19.789717485 +0000 UTC m=+60.295671492,1661140339,frontend-579b9bff58-t2dbm,5.727769641064858,28.63884820532429,15.765625,12.31689453125,22188,15844,35042.32464193904,250880.82996694822,0.08482954545454546,NaN,0.17112637362637345,0.9825,0.3754687499999989,2.1649999999999974,9.066666666666666,0,2.726815782866998,11.30080001756404,31350.366666666665
";

#[test]
fn nezha_rows_with_the_cpu_unit_caveat() {
    let m = parse(NEZHA).unwrap();
    assert_eq!(m.format, MetricsFormat::NezhaCsv);
    let s = &m.samples[0];
    assert_eq!(s.pod, "frontend-579b9bff58-t2dbm");
    assert_eq!(s.t_ms, 1_661_140_279_000);
    // 5.341930494693208 hundredths of a core = 53.41930494693208m, rounded up to the nano.
    assert_eq!(s.cpu_nanocores, Some(53_419_305));
    // 15.37890625Mi exactly.
    assert_eq!(s.working_set_bytes, Some(16_125_952));
    assert_eq!(s.requests_per_s, Some(9.133333333333333));
    assert_eq!(s.server_latency_p90_s, Some(1.1499999999999995));
    // NaN latency is absent, not zero.
    assert_eq!(m.samples[1].server_latency_p90_s, None);
    // Read as the header says (millicores), the same value is ten times smaller.
    let opts = MetricsOptions {
        nezha_cpu_unit: NezhaCpuUnit::Millicores,
        ..Default::default()
    };
    let m = parse_metrics(NEZHA, "n.csv", &opts).unwrap();
    assert_eq!(m.samples[0].cpu_nanocores, Some(5_341_931));
}

#[test]
fn nezha_bad_value_names_line_and_column() {
    let bad = NEZHA.replace(",15.765625,", ",lots,");
    let e = err_text(parse(&bad));
    assert!(e.contains("line 3: column `MemoryUsage(Mi)`"), "{e}");
    let short = NEZHA.replace(",1661140339,frontend", ",1661140339");
    assert!(err_text(parse(&short)).contains("line 3: expected 22 fields"));
}

/// The header and first row of Borg job 113 task 115, cut to the columns the reader uses.
const BORG: &str = "time,unique_id,collection_id,instance_index,avg_cpu_usage,avg_memory_usage,max_cpu_usage,max_memory_usage
300000000,113812204462-115,113812204462,115,0.02557373046875,0.006706237792968001,0.0531005859375,0.006744384765625001
";

#[test]
fn borg_rows_need_the_unit_scales() {
    let e = err_text(parse(BORG));
    assert!(
        e.contains("line 1: Borg usage is in normalized units"),
        "{e}"
    );
    let bad = MetricsOptions {
        borg_cores_per_unit: Some(-1.0),
        borg_bytes_per_unit: Some(1.0),
        ..Default::default()
    };
    let e = err_text(parse_metrics(BORG, "b.csv", &bad));
    assert!(
        e.contains("<command line>: --borg-cores-per-unit: -1 must be a positive number"),
        "{e}"
    );
    let opts = MetricsOptions {
        borg_cores_per_unit: Some(100.0),
        borg_bytes_per_unit: Some(512.0 * (1u64 << 30) as f64),
        ..Default::default()
    };
    let m = parse_metrics(BORG, "b.csv", &opts).unwrap();
    let s = &m.samples[0];
    assert_eq!(m.format, MetricsFormat::BorgCsv);
    assert_eq!(s.pod, "113812204462-115");
    assert_eq!(workload_of(&s.pod), "113812204462");
    assert_eq!(s.t_ms, 300_000);
    // 0.02557373046875 NCU × 100 cores = 2.557373046875 cores.
    assert_eq!(s.cpu_nanocores, Some(2_557_373_047));
    assert_eq!(
        s.working_set_bytes,
        Some((0.006744384765625001f64 * 512.0 * (1u64 << 30) as f64).round() as i64)
    );
}

#[test]
fn workload_names_from_pod_names() {
    assert_eq!(workload_of("frontend-579b9bff58-t2dbm"), "frontend");
    assert_eq!(workload_of("adservice-5f6585d649-fnmft"), "adservice");
    assert_eq!(workload_of("redis-0"), "redis");
    assert_eq!(workload_of("node-exporter-x7k2p"), "node-exporter");
    assert_eq!(workload_of("standalone"), "standalone");
}

#[test]
fn empty_input_is_an_error() {
    assert!(err_text(parse("\n\n")).contains("line 1: the file is empty"));
}

// ---- never a panic --------------------------------------------------------------------------

mod no_panic {
    use super::*;
    use crate::recommend::{krr::KrrConfig, recommend, vpa::VpaConfig, Recommender};
    use proptest::prelude::*;

    /// Parses `text` with every option set, and runs the recommenders on whatever parsed.
    fn exercise(text: &str) {
        let opts = MetricsOptions {
            prometheus_resource: Some(Resource::Cpu),
            borg_cores_per_unit: Some(64.0),
            borg_bytes_per_unit: Some(1e12),
            ..Default::default()
        };
        if let Ok(m) = parse_metrics(text, "p.txt", &opts) {
            let _ = pod_totals(&m.samples);
            let _ = recommend(
                &m.samples,
                &|_| None,
                Recommender::Both,
                &VpaConfig::default(),
                &KrrConfig::default(),
            );
        }
    }

    const TOP: &str = "Thu Dec  3 13:34:58 UTC 2026\nNAMESPACE POD NAME CPU(cores) MEMORY(bytes)\nns web-5f9f6bb846-tx6mj app 704m 1545Mi\nerror: Metrics not available for pod ns/x-0, age: 1s\nThu Dec  3 13:35:58 UTC 2026\nNAMESPACE POD NAME CPU(cores) MEMORY(bytes)\nns web-5f9f6bb846-tx6mj app 3m 86Mi\n";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_text(s in "\\PC{0,200}") {
            exercise(&s);
        }

        #[test]
        fn one_token_of_kubectl_top_replaced(line in 0usize..7, tok in 0usize..6, new in "[-+0-9a-zA-Z.:/,]{0,24}") {
            let mut lines: Vec<String> = TOP.lines().map(String::from).collect();
            let mut t: Vec<String> = lines[line].split_whitespace().map(String::from).collect();
            if tok < t.len() { t[tok] = new; } else { t.push(new); }
            lines[line] = t.join(" ");
            exercise(&lines.join("\n"));
        }

        #[test]
        fn prometheus_values_replaced(ts in "[-0-9.e+]{0,24}", v in "[-+0-9a-zA-Z.]{0,24}") {
            let text = format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{"pod":"a-0"}},"values":[[{ts},"{v}"],[2,"1"]]}}]}}}}"#
            );
            exercise(&text);
        }

        #[test]
        fn csv_fields_replaced(col in 0usize..8, new in "[-+0-9a-zA-Z.,]{0,24}") {
            let mut f: Vec<String> = BORG.lines().nth(1).unwrap().split(',').map(String::from).collect();
            f[col] = new;
            exercise(&format!("{}\n{}\n", BORG.lines().next().unwrap(), f.join(",")));
            let mut g: Vec<String> = NEZHA.lines().nth(1).unwrap().split(',').map(String::from).collect();
            g[col % 6] = f[col].clone();
            exercise(&format!("{}\n{}\n", NEZHA.lines().next().unwrap(), g.join(",")));
        }
    }

    #[test]
    fn extreme_values_are_rejected_not_overflowed() {
        for text in [
            "NAME CPU(cores) MEMORY(bytes)\na-0 1e30 1Ei\n",
            "NAME CPU(cores) MEMORY(bytes)\na-0 1m 9Ei\n",
            "99999999999999999\nNAME CPU(cores) MEMORY(bytes)\na-0 1m 1Mi\n",
            "Thu Dec  3 13:34:58 UTC 99999999999\nNAME CPU(cores) MEMORY(bytes)\na-0 1m 1Mi\n",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
        let e = err_text(parse(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"container_memory_working_set_bytes","pod":"a-0"},"values":[[1e300,"1"]]}]}}"#,
        ));
        assert!(
            e.contains("data.result[0].values[0]") && e.contains("outside"),
            "{e}"
        );
    }
}
