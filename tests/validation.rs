//! Validation of the request-level engine against queueing theory (M/M/c: Erlang C probability
//! of waiting and mean wait, by batch means with fixed seeds), and of the fluid model against
//! the request-level engine on the default scenario's busiest day. The figures are written to
//! `docs/validation.md`; reproduce them with
//! `cargo test --release --test validation -- --nocapture`.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{scenario, Params};
use costsim::model::build::load_scenario;
use costsim::model::load::{Files, DEFAULT_SCENARIO};
use costsim::model::scenario::Scenario;
use costsim::search::run_one_with;
use costsim::sim::engine::{LoadModel, Options, RunResult};
use costsim::sim::fluid::ServiceModel;
use costsim::sim::queueing::erlang_c;
use costsim::sim::requests::{RequestModel, RequestOptions};
use costsim::sim::rng::{indexed_stream, Purpose};

/// Student t quantile 0.995 with 29 degrees of freedom (99 % two-sided, 30 batches).
const T_995_29: f64 = 2.756;
const BATCHES: usize = 30;

/// Mean and 99 % half-width of batch values.
fn batch_ci(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, T_995_29 * (var / n).sqrt())
}

struct MmcRun {
    rho: f64,
    p_wait: (f64, f64),
    mean_wait_s: (f64, f64),
    analytic_p_wait: f64,
    analytic_wait_s: f64,
    requests: u64,
}

/// One pod with `c` workers, exponential service of mean 100 ms on a full core each (no CPU
/// limit), Poisson arrivals at `rho · c · 10` per second: an M/M/c queue. Batches of
/// `batch_s` seconds after one discarded warm-up batch.
fn mmc(c: u32, rho: f64, batch_s: u64, seed: u64) -> MmcRun {
    let (_d, path) = scenario(&Params {
        workers: c,
        cpu_ms: 100.0,
        ..Params::default()
    });
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let svc = &sc.services[0];
    let model = ServiceModel::new(svc, None);
    let mut rm = RequestModel::new(
        svc,
        &model,
        &RequestOptions::default(),
        indexed_stream(seed, 0, Purpose::Requests, 0),
    );
    let mu = 10.0;
    let lambda = rho * f64::from(c) * mu;
    let batch_ms = batch_s * 1000;
    let (mut pw, mut wq) = (Vec::new(), Vec::new());
    let mut requests = 0;
    for b in 0..=BATCHES as u64 {
        rm.step(b * batch_ms, (b + 1) * batch_ms, lambda, &[0]);
        if b == 0 {
            continue;
        }
        let w = rm.waits;
        requests += w.started;
        pw.push(w.waited as f64 / w.started as f64);
        wq.push(w.wait_ms / 1000.0 / w.started as f64);
    }
    let a = lambda / mu;
    let analytic_p_wait = erlang_c(c, a);
    MmcRun {
        rho,
        p_wait: batch_ci(&pw),
        mean_wait_s: batch_ci(&wq),
        analytic_p_wait,
        analytic_wait_s: analytic_p_wait / (f64::from(c) * mu - lambda),
        requests,
    }
}

#[test]
fn request_engine_matches_erlang_c_for_mmc_with_four_workers() {
    let runs = [
        mmc(4, 0.5, 1000, 11),
        mmc(4, 0.8, 2000, 12),
        mmc(4, 0.95, 4000, 13),
    ];
    eprintln!("| ρ | requests | P(wait) engine ± 99 % CI | Erlang C | mean wait engine ± 99 % CI | analytic |");
    eprintln!("|---|---|---|---|---|---|");
    for r in &runs {
        eprintln!(
            "| {:.2} | {} | {:.4} ± {:.4} | {:.4} | {:.2} ms ± {:.2} | {:.2} ms |",
            r.rho,
            r.requests,
            r.p_wait.0,
            r.p_wait.1,
            r.analytic_p_wait,
            r.mean_wait_s.0 * 1000.0,
            r.mean_wait_s.1 * 1000.0,
            r.analytic_wait_s * 1000.0
        );
    }
    for r in &runs {
        // The analytic value lies inside the simulation's 99 % interval ...
        assert!(
            (r.p_wait.0 - r.analytic_p_wait).abs() <= r.p_wait.1,
            "ρ {}: P(wait) {} ± {} vs Erlang C {}",
            r.rho,
            r.p_wait.0,
            r.p_wait.1,
            r.analytic_p_wait
        );
        assert!(
            (r.mean_wait_s.0 - r.analytic_wait_s).abs() <= r.mean_wait_s.1,
            "ρ {}: mean wait {} ± {} vs {}",
            r.rho,
            r.mean_wait_s.0,
            r.mean_wait_s.1,
            r.analytic_wait_s
        );
        // ... and the interval is narrow enough to fail a wrong model (±4 % and ±8 %).
        assert!(r.p_wait.1 < 0.04 * r.analytic_p_wait, "ρ {}", r.rho);
        assert!(r.mean_wait_s.1 < 0.08 * r.analytic_wait_s, "ρ {}", r.rho);
    }
}

#[test]
fn whole_run_under_the_request_engine_gives_the_mm1_sojourn_law() {
    // As tests/engine.rs for the fluid model: λ = 8/s, μ = 10/s, one worker: the sojourn time
    // is Exp(2/s), p99 = ln(100)/2 = 2.303 s, median = ln 2/2 = 0.347 s. A 5-minute window
    // holds ~2,400 requests and the queue at ρ = 0.8 wanders for minutes, so one window's p99
    // is a noisy estimate: take the mean over the windows of 10 hours.
    let (_d, path) = scenario(&Params {
        rate_per_minute: vec![8; 600],
        ..Params::default()
    });
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let opts = Options {
        load_model: LoadModel::Requests(RequestOptions::default()),
        ..Options::default()
    };
    let (run, ev) = run_one_with(&sc, &sc.baseline, 1, &opts);
    let windows = &run.windows[1..];
    let n = windows.len() as f64;
    let m99 = windows.iter().map(|w| w.objectives[0].p99_s).sum::<f64>() / n;
    let m50 = windows.iter().map(|w| w.objectives[0].p50_s).sum::<f64>() / n;
    eprintln!("M/M/1 whole run: mean window p99 {m99:.3} s, p50 {m50:.3} s over {n} windows");
    // The mean of window p99s sits a few per cent under the p99 of the whole run: the slow
    // windows hold most of the tail.
    assert!((m99 / (100f64.ln() / 2.0) - 1.0).abs() < 0.10, "p99 {m99}");
    assert!((m50 / (2f64.ln() / 2.0) - 1.0).abs() < 0.08, "p50 {m50}");
    let arrivals: f64 = run.windows.iter().map(|w| w.objectives[0].arrivals).sum();
    // 288,000 expected over 10 h; Poisson sd 537.
    assert!((arrivals - 288_000.0).abs() < 2_000.0, "{arrivals}");
    // CPU: 0.8 cores busy of a 500m request → 160 % efficiency, as under the fluid model.
    assert!(
        (ev.efficiency.cpu - 1.6).abs() < 0.03,
        "{}",
        ev.efficiency.cpu
    );
    // Same seed, same run.
    let (again, _) = run_one_with(&sc, &sc.baseline, 1, &opts);
    assert_eq!(run, again);
}

/// The default scenario cut to its busiest day (by the backend's recorded requests).
fn busiest_day() -> (Scenario, usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sc = load_scenario(Files::Disk, &root.join(DEFAULT_SCENARIO)).unwrap();
    let rate = sc.services[0].rate.clone().unwrap();
    let per_day = (86_400 / rate.bin_s) as usize;
    let days = rate.counts.len() / per_day;
    let day = (0..days)
        .max_by(|&a, &b| {
            let total = |d: usize| {
                rate.counts[d * per_day..(d + 1) * per_day]
                    .iter()
                    .sum::<f64>()
            };
            total(a).total_cmp(&total(b))
        })
        .unwrap();
    for s in &mut sc.services {
        if let Some(r) = &s.rate {
            let per_day = (86_400 / r.bin_s) as usize;
            let mut cut = (**r).clone();
            cut.counts = r.counts[day * per_day..(day + 1) * per_day].to_vec();
            cut.start_unix_s += (day * 86_400) as i64;
            s.rate = Some(Arc::new(cut));
        }
    }
    sc.horizon = 86_400_000;
    sc.trace_start_unix_s += (day * 86_400) as i64;
    (sc, day)
}

struct ObjectiveFigures {
    p50: f64,
    p99: f64,
    worst_p99: f64,
    error_rate: f64,
}

fn figures(run: &RunResult, o: usize) -> ObjectiveFigures {
    let mut p50: Vec<f64> = run.windows.iter().map(|w| w.objectives[o].p50_s).collect();
    let mut p99: Vec<f64> = run.windows.iter().map(|w| w.objectives[o].p99_s).collect();
    p50.sort_by(f64::total_cmp);
    p99.sort_by(f64::total_cmp);
    let arrivals: f64 = run.windows.iter().map(|w| w.objectives[o].arrivals).sum();
    let errors: f64 = run.windows.iter().map(|w| w.objectives[o].errors).sum();
    ObjectiveFigures {
        p50: p50[p50.len() / 2],
        p99: p99[p99.len() / 2],
        worst_p99: p99[p99.len() - 1],
        error_rate: errors / arrivals.max(1.0),
    }
}

/// Fluid vs request-level figures of the baseline on `sc`, printed as a table.
fn compare(sc: &Scenario, label: &str) -> Comparison {
    let fluid = Options::default();
    let requests = Options {
        load_model: LoadModel::Requests(RequestOptions::default()),
        ..Options::default()
    };
    let (rf, ef) = run_one_with(sc, &sc.baseline, 1, &fluid);
    let (rr, er) = run_one_with(sc, &sc.baseline, 1, &requests);
    eprintln!("{label}");
    eprintln!("| objective | median window p50 fluid / requests | median window p99 fluid / requests | worst window p99 fluid / requests | error rate fluid / requests |");
    eprintln!("|---|---|---|---|---|");
    let mut out = Vec::new();
    for (o, obj) in sc.sla.objectives.iter().enumerate() {
        let (f, r) = (figures(&rf, o), figures(&rr, o));
        eprintln!(
            "| {}/{} | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {:.2e} / {:.2e} |",
            obj.service,
            obj.class,
            f.p50 * 1e3,
            r.p50 * 1e3,
            f.p99 * 1e3,
            r.p99 * 1e3,
            f.worst_p99 * 1e3,
            r.worst_p99 * 1e3,
            f.error_rate,
            r.error_rate
        );
        out.push((f, r));
    }
    let cpu = |e: &costsim::eval::Evaluation| e.efficiency.workloads[0].cpu.unwrap_or(0.0);
    let cmp = Comparison {
        objectives: out,
        breached: (ef.sla.breached_windows, er.sla.breached_windows),
        backend_cpu: (cpu(&ef), cpu(&er)),
    };
    eprintln!(
        "breached windows fluid {} / requests {}; backend mean pods {:.2} / {:.2}; backend CPU usage/request {:.3} / {:.3}; backend OOM kills {} / {}",
        ef.sla.breached_windows,
        er.sla.breached_windows,
        ef.activity[0].mean_pods,
        er.activity[0].mean_pods,
        ef.efficiency.workloads[0].cpu.unwrap_or(0.0),
        er.efficiency.workloads[0].cpu.unwrap_or(0.0),
        ef.activity[0].run.oom_kills,
        er.activity[0].run.oom_kills,
    );
    cmp
}

/// Fluid vs request-level figures of one scenario.
struct Comparison {
    /// Per SLA objective: (fluid, requests).
    objectives: Vec<(ObjectiveFigures, ObjectiveFigures)>,
    /// Breached windows (fluid, requests).
    breached: (u32, u32),
    /// Backend CPU usage / request (fluid, requests).
    backend_cpu: (f64, f64),
}

#[test]
fn fluid_and_request_engines_agree_on_the_busiest_day() {
    let (sc, day) = busiest_day();
    let figures = compare(
        &sc,
        &format!("busiest day: day {day} of the week (0 = 1995-07-01), baseline, scale x40"),
    );
    // Tolerances (measured agreement in docs/validation.md): the medians over windows of p50
    // within 5 % and of p99 within 15 % (a 5-minute window's p99 rests on ~260 tail requests of
    // the api class, and the fluid model's Allen–Cunneen factor uses the trace's in-minute
    // burstiness 1.23, the request engine Poisson arrivals inside each minute); error rates
    // both below 1e-4 (the SLA threshold is 1e-3).
    assert_eq!(figures.breached, (0, 0));
    assert!((figures.backend_cpu.1 / figures.backend_cpu.0 - 1.0).abs() < 0.05);
    for (o, (f, r)) in figures.objectives.iter().enumerate() {
        assert!(
            (r.p50 / f.p50 - 1.0).abs() < 0.05,
            "objective {o}: p50 {} vs {}",
            r.p50,
            f.p50
        );
        assert!(
            (r.p99 / f.p99 - 1.0).abs() < 0.15,
            "objective {o}: p99 {} vs {}",
            r.p99,
            f.p99
        );
        assert!(f.error_rate < 1e-4 && r.error_rate < 1e-4, "objective {o}");
    }
}

#[test]
fn fluid_and_request_engines_breach_the_same_windows_when_the_backend_is_overloaded() {
    // The busiest day at x80 with the backend held at 3 pods (HPA max 3): the peak exceeds
    // what 3 pods under 500m limits serve, so requests are rejected in both models.
    let (mut sc, _) = busiest_day();
    for s in &mut sc.services {
        if s.rate.is_some() {
            s.scale = 80.0;
        }
    }
    if let Some(h) = sc
        .baseline
        .workloads
        .get_mut("backend")
        .and_then(|w| w.hpa.as_mut())
    {
        h.max_replicas = 3;
    }
    let figures = compare(&sc, "busiest day, scale x80, backend HPA max 3");
    let (bf, br) = figures.breached;
    assert!(
        (f64::from(br) / f64::from(bf) - 1.0).abs() < 0.05,
        "{bf} / {br}"
    );
    let (cf, cr) = figures.backend_cpu;
    assert!((cr / cf - 1.0).abs() < 0.05, "{cf} / {cr}");
    // Both models overload and breach the same windows (±5 %) and fail the same share of
    // requests (20.8 % vs 21.0 %, docs/validation.md): uvicorn's limit of 200 in flight per pod
    // bounds the queue at ~6 s and rejects the rest at once, in the fluid model through the
    // backlog cap (`ServiceModel::max_backlog_core_s`) and in the request engine slot by slot.
    for (o, (f, r)) in figures.objectives.iter().enumerate().take(2) {
        assert!(
            f.error_rate > 0.1 && (f.error_rate / r.error_rate - 1.0).abs() < 0.05,
            "objective {o}: {} / {}",
            f.error_rate,
            r.error_rate
        );
        assert!(
            (f.p99 / r.p99 - 1.0).abs() < 0.2,
            "objective {o}: p99 {} / {}",
            f.p99,
            r.p99
        );
    }
}

#[test]
fn request_engine_oom_kills_lose_in_flight_requests_and_scale_down_drains() {
    // The OOM field case of tests/engine.rs under the request engine: one pod, 50 ms requests,
    // 100Mi at rest + 10Mi per in-flight request, limit 120Mi; 30 min at 2 req/s, 30 min at
    // 16 req/s (ρ = 0.8: ~4 in flight), 30 min at 2 req/s.
    let mut rate = vec![2; 30];
    rate.extend(vec![16; 30]);
    rate.extend(vec![2; 30]);
    let (_d, path) = scenario(&Params {
        rate_per_minute: rate,
        cpu_ms: 50.0,
        memory_per_request: "10Mi",
        memory_limit: Some("120Mi"),
        ..Params::default()
    });
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let opts = Options {
        load_model: LoadModel::Requests(RequestOptions::default()),
        ..Options::default()
    };
    let (run, _) = run_one_with(&sc, &sc.baseline, 1, &opts);
    let w = &run.workloads[0];
    assert!(w.oom_kills >= 3, "OOM kills {}", w.oom_kills);
    // Killed requests are whole requests, and they count as errors.
    assert!(w.killed_requests >= 1.0 && w.killed_requests.fract() == 0.0);
    let errors = |i: usize| run.windows[i].objectives[0].errors;
    assert!((0..6).all(|i| errors(i) == 0.0));
    assert!((6..12).filter(|&i| errors(i) > 0.0).count() >= 5);

    // Scale-down: 2 pods at 16 req/s, then 1 req/s; the HPA (1–4 at 50 %) removes a pod,
    // which leaves the endpoints and finishes its requests within the 30 s grace period.
    // The ReplicaSet removes doubled-up pods first, so the one it keeps runs on the node the
    // scale-up added; two nodes at least keep the autoscaler from draining that last pod
    // (without a PodDisruptionBudget a drain would take it, and the service, down).
    let mut rate = vec![16; 20];
    rate.extend(vec![1; 40]);
    let (_d, path) = scenario(&Params {
        rate_per_minute: rate,
        replicas: 2,
        hpa: Some((1, 4, 50)),
        min_nodes: 2,
        ..Params::default()
    });
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let (run, _) = run_one_with(&sc, &sc.baseline, 1, &opts);
    let w = &run.workloads[0];
    assert!(w.scale_downs >= 1, "{w:?}");
    assert_eq!(w.ready_min, 1);
    assert_eq!(w.killed_requests, 0.0);
    assert_eq!(w.rejected + w.timed_out, 0.0);
}
