//! Acceptance tests of issue 6 through the library: the same pods' metrics in three formats
//! give the same recommendations, and calibration on the Nezha data reproduces the observed
//! per-pod CPU within the residual spread it reports.

mod common;

use common::copy_dir;
use std::path::{Path, PathBuf};

use costsim::calibrate::{calibrate, fit_line, profile_yaml};
use costsim::ingest::metrics::{read_metrics, MetricsOptions, Resource, UsageSample};
use costsim::model::build::load_scenario;
use costsim::model::load::Files;
use costsim::recommend::krr::{quantile, KrrConfig};
use costsim::recommend::vpa::VpaConfig;
use costsim::recommend::{recommend, ContainerReport, Recommender};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/metrics").join(name)
}

fn nezha(pod: &str) -> PathBuf {
    repo()
        .join("data/usage/nezha_onlineboutique_2022-08-22")
        .join(format!("{pod}_metric.csv"))
}

const PODS: [&str; 2] = ["frontend-579b9bff58-t2dbm", "cartservice-579f59597d-wc2lz"];

fn read(path: &Path, resource: Option<Resource>) -> Vec<UsageSample> {
    let opts = MetricsOptions {
        prometheus_resource: resource,
        ..Default::default()
    };
    read_metrics(path, &opts)
        .unwrap_or_else(|e| panic!("{e}"))
        .samples
}

fn reports(samples: &[UsageSample]) -> Vec<ContainerReport> {
    recommend(
        samples,
        &|_| None,
        Recommender::Both,
        &VpaConfig::default(),
        &KrrConfig::default(),
    )
}

#[test]
fn same_pods_in_kubectl_top_prometheus_and_csv_give_the_same_recommendations() {
    let top = read(&fixture("top.txt"), None);
    let mut prom = read(&fixture("prom_cpu.json"), Some(Resource::Cpu));
    prom.extend(read(&fixture("prom_memory.json"), None));
    let mut csv = Vec::new();
    for pod in PODS {
        csv.extend(read(&fixture(&format!("nezha_{pod}.csv")), None));
    }
    // 240 snapshots of 2 pods; Prometheus has CPU and memory as separate samples.
    assert_eq!(top.len(), 480);
    assert_eq!(prom.len(), 960);
    assert_eq!(csv.len(), 480);

    let (a, b, c) = (reports(&top), reports(&prom), reports(&csv));
    assert_eq!(a.len(), 2);
    assert_eq!(a, b, "kubectl top vs Prometheus");
    assert_eq!(a, c, "kubectl top vs Nezha CSV");

    // krr's CPU request is the per-pod p95 (one pod per workload here), rounded up to 1m:
    // recompute it from the kubectl-top text directly.
    let text = std::fs::read_to_string(fixture("top.txt")).unwrap();
    for r in &a {
        let pod = &r.pods[0];
        let milli: Vec<f64> = text
            .lines()
            .filter(|l| l.starts_with(pod.as_str()))
            .map(|l| {
                let cpu = l.split_whitespace().nth(1).unwrap();
                cpu.trim_end_matches('m').parse::<f64>().unwrap()
            })
            .collect();
        assert_eq!(milli.len(), 240);
        let p95 = quantile(&milli, 0.95).unwrap();
        let krr = r.krr.unwrap();
        assert_eq!(
            krr.cpu_request_milli,
            Some((p95 - 1e-9).ceil().max(10.0) as i64)
        );
        let vpa = r.vpa.unwrap();
        // The VPA target is p90 + 15 %, at least the 25m / 250Mi pod minimum.
        assert!(vpa.target.cpu_milli >= 25 && vpa.target.memory_bytes >= 262_144_000);
        assert!(vpa.lower_bound.cpu_milli <= vpa.target.cpu_milli);
        assert!(vpa.target.cpu_milli <= vpa.upper_bound.cpu_milli);
    }
    assert_eq!(a[0].key.workload, "cartservice");
    assert_eq!(a[1].key.workload, "frontend");
}

/// Per service: the fit's own report, then a check that does not trust it.
#[test]
fn calibration_on_nezha_reproduces_observed_cpu_within_the_reported_spread() {
    for (service, pod) in [
        ("frontend", "frontend-579b9bff58-t2dbm"),
        ("cartservice", "cartservice-579f59597d-wc2lz"),
        (
            "productcatalogservice",
            "productcatalogservice-668d5f85fb-wckp8",
        ),
    ] {
        let samples = read(&nezha(pod), None);
        let c = calibrate(&samples, service, "nezha").unwrap();
        assert_eq!(c.pods, [pod]);
        assert_eq!(c.cpu.samples, 1209);
        // Recompute every residual from the fitted line.
        let pairs: Vec<(f64, f64)> = samples
            .iter()
            .filter_map(|s| Some((s.requests_per_s?, s.cpu_cores()?)))
            .collect();
        let within = pairs
            .iter()
            .filter(|(x, y)| (y - c.cpu.predict(*x)).abs() <= 2.0 * c.cpu.residual_sd)
            .count() as f64
            / pairs.len() as f64;
        assert_eq!(within, c.cpu.within_2sd);
        assert!(within >= 0.95, "{service}: {within}");
        // The pod's mean CPU is reproduced to well within one residual sd.
        let obs = pairs.iter().map(|p| p.1).sum::<f64>() / pairs.len() as f64;
        let pred = pairs.iter().map(|p| c.cpu.predict(p.0)).sum::<f64>() / pairs.len() as f64;
        assert!((obs - pred).abs() < 0.01 * c.cpu.residual_sd, "{service}");

        // Out of sample: fit the first half of the day, predict the second.
        let (first, second) = pairs.split_at(pairs.len() / 2);
        let (x, y): (Vec<f64>, Vec<f64>) = first.iter().copied().unzip();
        let f = fit_line(&x, &y).unwrap();
        let held = second
            .iter()
            .filter(|(x, y)| (y - f.predict(*x)).abs() <= 2.0 * f.residual_sd)
            .count() as f64
            / second.len() as f64;
        assert!(
            held >= 0.85,
            "{service}: {held} of held-out samples within 2 sd"
        );
    }
}

#[test]
fn calibrated_profile_loads_back_through_the_scenario_loader() {
    let samples = read(&nezha("frontend-579b9bff58-t2dbm"), None);
    let c = calibrate(&samples, "frontend", "nezha").unwrap();
    let yaml = profile_yaml(&c, "static", "nezha").unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("models"), &dir.path().join("models"));
    copy_dir(
        &repo().join("data/traffic"),
        &dir.path().join("data/traffic"),
    );
    std::fs::write(dir.path().join("models/services/frontend.yaml"), &yaml).unwrap();
    let sc = load_scenario(
        Files::Disk,
        &dir.path().join("models/scenarios/default.yaml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let fe = sc
        .services
        .iter()
        .find(|s| s.name == "frontend")
        .expect("frontend service");
    assert_eq!(
        fe.profile.idle_cpu.0,
        (c.cpu.intercept.max(0.0) * 1000.0).round() as i64
    );
    // Memory is written in whole KiB.
    assert_eq!(
        fe.profile.memory.base_pod.0,
        (c.memory.intercept / 1024.0).round() as i64 * 1024
    );
}

#[test]
fn borg_task_reads_with_unit_scales_and_gets_recommendations() {
    let path = repo().join("data/usage/google_borg_2019_tasks/job113_task115_first_24h.csv");
    // Say one normalized unit is a 64-core, 256 GiB machine.
    let opts = MetricsOptions {
        borg_cores_per_unit: Some(64.0),
        borg_bytes_per_unit: Some(256.0 * (1u64 << 30) as f64),
        ..Default::default()
    };
    let m = read_metrics(&path, &opts).unwrap();
    assert_eq!(m.samples.len(), 288);
    let s = &m.samples[0];
    assert_eq!(s.pod, "113812204462-115");
    assert_eq!(s.t_ms, 300_000);
    // avg_cpu_usage 0.02557373046875 × 64 cores = 1.63671875 cores exactly.
    assert_eq!(s.cpu_nanocores, Some(1_636_718_750));
    let r = reports(&m.samples);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].key.workload, "113812204462");
    // 288 points over 24 h: krr has enough data.
    assert!(r[0].krr.unwrap().cpu_request_milli.is_some());
}
