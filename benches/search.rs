//! Benchmarks of the hot paths: the default search (every candidate of the default space on the
//! full week, once as the recorded replay and once as the default Monte Carlo search), one
//! candidate's full-week simulation (the replay, and one Monte Carlo replication: its
//! throughput is candidate-replication-days per second on one core), the fluid state
//! computation, a CFS quota replay and one HPA reconcile. Run with
//! `cargo bench --bench search`; docs/performance.md quotes the figures.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use costsim::k8s::hpa::{
    ControllerConfig, HpaController, HpaPod, HpaSpec, MetricInput, MetricSpec, PodMetricPoint,
    PodMetrics, ResourceName, Sample,
};
use costsim::model::build::load_scenario;
use costsim::model::load::{Files, DEFAULT_SCENARIO};
use costsim::search::halving::Plan;
use costsim::search::{evaluate_all, monte_carlo, replicate, run_one, space};
use costsim::sim::arrivals::Variation;
use costsim::sim::engine::Options;
use costsim::sim::fluid::ServiceModel;

fn scenario() -> costsim::model::scenario::Scenario {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    load_scenario(Files::Disk, &root.join(DEFAULT_SCENARIO)).expect("default scenario loads")
}

fn default_search(c: &mut Criterion) {
    let sc = scenario();
    let configs = space::expand(&sc.space, &sc.baseline);
    let n = configs.len();
    let mut g = c.benchmark_group("search");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(format!("default_space_{n}_candidates_full_week"), |b| {
        b.iter_batched(
            || configs.clone(),
            |cs| evaluate_all(&sc, cs, 1, &|| {}),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn one_candidate_week(c: &mut Criterion) {
    let sc = scenario();
    let mut g = c.benchmark_group("simulate");
    g.sample_size(20);
    g.throughput(Throughput::Elements(sc.horizon / sc.step));
    g.bench_function("baseline_full_week_steps", |b| {
        b.iter(|| run_one(&sc, &sc.baseline, 1))
    });
    g.finish();
}

fn monte_carlo_options() -> Options {
    Options {
        variation: Variation {
            poisson: true,
            ..Variation::default()
        },
        ..Options::default()
    }
}

fn one_replication_week(c: &mut Criterion) {
    let sc = scenario();
    let opts = monte_carlo_options();
    let mut g = c.benchmark_group("monte_carlo");
    g.sample_size(20);
    // Elements are simulated days: the rate is candidate-replication-days per core-second.
    g.throughput(Throughput::Elements(sc.horizon / 86_400_000));
    let mut r = 0u32;
    g.bench_function("one_replication_default_week_days", |b| {
        b.iter(|| {
            r = r % 16 + 1;
            replicate(&sc, &sc.baseline, 1, &opts, r)
        })
    });
    g.finish();
}

fn default_monte_carlo_search(c: &mut Criterion) {
    let sc = scenario();
    let configs = space::expand(&sc.space, &sc.baseline);
    let n = configs.len();
    let opts = monte_carlo_options();
    // The CLI's defaults: 4 replications, first stage 1, halving 2.
    let plan = Plan {
        replications: 4,
        first_stage: 1,
        eta: 2,
        max_breach_probability: 0.05,
    };
    let mut g = c.benchmark_group("search");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(
        format!("monte_carlo_default_space_{n}_candidates_4_replications"),
        |b| {
            b.iter_batched(
                || configs.clone(),
                |cs| monte_carlo(&sc, cs, 1, &opts, &plan, &mut |_, _, _, _| {}, &|| {}),
                BatchSize::LargeInput,
            )
        },
    );
    g.finish();
}

fn fluid_state(c: &mut Criterion) {
    let sc = scenario();
    let backend = &sc.services[0];
    c.bench_function("fluid_state_new_rate", |b| {
        b.iter_batched(
            || ServiceModel::new(backend, Some(500)),
            |mut m| {
                for i in 0..32 {
                    m.state(1.0 + f64::from(i) * 0.5, 0);
                }
                m
            },
            BatchSize::SmallInput,
        )
    });
}

fn hpa_reconcile(c: &mut Criterion) {
    let spec = HpaSpec::new(
        2,
        10,
        vec![MetricSpec::resource_utilization(ResourceName::Cpu, 70)],
    );
    let cfg = ControllerConfig::default();
    let pods: Vec<HpaPod> = (0..6).map(|_| HpaPod::running_ready(0)).collect();
    let metrics = vec![MetricInput::PerPod(PodMetrics {
        per_pod: (0..6)
            .map(|i| PodMetricPoint {
                request: Some(250),
                sample: Some(Sample {
                    value: 150 + i * 10,
                    timestamp: 3_600_000,
                    window: 15_000,
                }),
            })
            .collect(),
        unknown_pods: Vec::new(),
    })];
    c.bench_function("hpa_reconcile_6_pods", |b| {
        let mut ctl = HpaController::new();
        let mut now = 3_600_000;
        b.iter(|| {
            now += 15_000;
            ctl.reconcile(now, &spec, 6, 6, &metrics, &pods, &cfg)
        })
    });
}

fn cfs_replay(c: &mut Criterion) {
    use costsim::k8s::cfs::{quota_ms, run, Job};
    // 4,000 requests of 15 ms at 20 req/s on 2 workers under a 500m limit (one fluid state).
    let jobs: Vec<Job> = (0..4000)
        .map(|i| Job {
            arrival_ms: f64::from(i) * 50.0 + f64::from(i % 7) * 3.0,
            work_ms: 15.0,
        })
        .collect();
    let mut g = c.benchmark_group("cfs");
    g.throughput(Throughput::Elements(jobs.len() as u64));
    g.bench_function("replay_4000_requests", |b| {
        b.iter(|| run(&jobs, 2, Some(quota_ms(500))))
    });
    g.finish();
}

criterion_group!(
    benches,
    hpa_reconcile,
    cfs_replay,
    fluid_state,
    one_candidate_week,
    one_replication_week,
    default_search,
    default_monte_carlo_search
);
criterion_main!(benches);
