//! Throughput of the request-level engine (`--load-model requests`) in events per second, on
//! the default scenario's mix: the backend (2 workers under its 500m CFS limit, API + LLM
//! classes with the Azure trace's external waits), the nginx frontend and Redis. Run with
//! `cargo bench --bench requests`; the figures are in docs/performance.md.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use costsim::model::build::load_scenario;
use costsim::model::load::{Files, DEFAULT_SCENARIO};
use costsim::model::scenario::Scenario;
use costsim::search::run_one_with;
use costsim::sim::engine::{LoadModel, Options};
use costsim::sim::fluid::ServiceModel;
use costsim::sim::requests::{RequestModel, RequestOptions};
use costsim::sim::rng::{indexed_stream, Purpose};

fn scenario() -> Scenario {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    load_scenario(Files::Disk, &root.join(DEFAULT_SCENARIO)).expect("default scenario loads")
}

/// The three services' request models under the baseline's CPU limits, with their pods
/// (backend 6, frontend 2, Redis 1) and the peak hour's rates (89 req/s on the backend and
/// the frontend; 2 × 0.97 + 0.03 Redis ops per backend request).
fn models(sc: &Scenario) -> Vec<(RequestModel, f64, Vec<usize>)> {
    let rates = [89.0, 89.0, 89.0 * (2.0 * 0.97 + 0.03)];
    let pods = [6usize, 2, 1];
    sc.services
        .iter()
        .enumerate()
        .map(|(i, svc)| {
            let wc = &sc.baseline.workloads[&svc.name];
            let m = ServiceModel::new(svc, wc.resources.limits.cpu.map(|q| q.0));
            let rm = RequestModel::new(
                svc,
                &m,
                &RequestOptions::default(),
                indexed_stream(1, 0, Purpose::Requests, i as u64),
            );
            (rm, rates[i], (0..pods[i]).map(|p| p + 100 * i).collect())
        })
        .collect()
}

/// One simulated hour in 5 s steps; returns the events processed.
fn hour(models: &mut [(RequestModel, f64, Vec<usize>)]) -> u64 {
    let mut events = 0;
    for (rm, rate, pods) in models.iter_mut() {
        let before = rm.events;
        for k in 0..720u64 {
            rm.step(k * 5000, (k + 1) * 5000, *rate, pods);
        }
        events += rm.events - before;
    }
    events
}

fn engine_default_mix(c: &mut Criterion) {
    let sc = scenario();
    let events = hour(&mut models(&sc));
    eprintln!("engine_default_mix_peak_hour: {events} events per iteration");
    let mut g = c.benchmark_group("requests");
    g.sample_size(20);
    g.throughput(Throughput::Elements(events));
    g.bench_function("engine_default_mix_peak_hour", |b| {
        b.iter(|| hour(&mut models(&sc)))
    });
    g.finish();
}

fn whole_run(c: &mut Criterion) {
    let mut sc = scenario();
    sc.horizon = 6 * 3_600_000;
    let opts = Options {
        load_model: LoadModel::Requests(RequestOptions::default()),
    };
    let (run, _) = run_one_with(&sc, &sc.baseline, 1, &opts);
    let events: u64 = run.workloads.iter().map(|w| w.request_events).sum();
    eprintln!("baseline_first_6h_whole_run: {events} events per iteration");
    let mut g = c.benchmark_group("requests");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function("baseline_first_6h_whole_run", |b| {
        b.iter(|| run_one_with(&sc, &sc.baseline, 1, &opts))
    });
    g.finish();
}

criterion_group!(benches, engine_default_mix, whole_run);
criterion_main!(benches);
