//! Monte Carlo replications: the breach-probability estimate and its 95 % Wilson interval on a
//! stationary scenario whose breach probability is known analytically.
//!
//! The scenario: one pod with one worker, exponential service of 100 ms (μ = 10/s, no CPU
//! limit), a constant recorded rate of 480 requests per 60 s bin (λ = 8/s, ρ = 0.8), no HPA,
//! ten 1-minute SLA windows (one bin each) and no failed window allowed. Under Monte Carlo
//! variation each bin's count is Poisson(480), independently. The fluid model is stationary
//! inside a bin and carries nothing across bins below saturation, so a window fails exactly
//! when its bin's count reaches a threshold K, which the test finds on the replay (no
//! variation) by bisection over constant counts. Then
//! `q = P(Poisson(480) ≥ K)` and the true breach probability is `1 − (1 − q)^10`.

mod common;

use std::sync::Arc;

use common::{scenario, Params};
use costsim::ingest::traffic::RateSeries;
use costsim::model::build::load_scenario;
use costsim::model::load::Files;
use costsim::model::scenario::Scenario;
use costsim::search::halving::Plan;
use costsim::search::risk::Verdict;
use costsim::search::{monte_carlo, run_one_with};
use costsim::sim::arrivals::Variation;
use costsim::sim::engine::Options;
use statrs::distribution::{DiscreteCDF, Poisson};

const MEAN_COUNT: f64 = 480.0;
const WINDOWS: usize = 10;
const REPLICATIONS: u32 = 40;

fn with_counts(sc: &Scenario, count: f64) -> Scenario {
    let mut s = sc.clone();
    let old = s.services[0].rate.clone().expect("trace");
    s.services[0].rate = Some(Arc::new(RateSeries {
        bin_s: 60,
        counts: vec![count; WINDOWS],
        ..(*old).clone()
    }));
    s
}

fn stationary() -> Scenario {
    let (_d, path) = scenario(&Params {
        rate_per_minute: vec![8; WINDOWS],
        ..Params::default()
    });
    let mut sc = load_scenario(Files::Disk, &path).unwrap();
    sc.horizon = WINDOWS as u64 * 60_000;
    sc.sla.window = 60_000;
    sc.sla.max_breached_window_fraction = 0.0;
    // M/M/1 p99 of the sojourn is ln(100)/(μ − λ) = 2.30 s at λ = 8; the target of 3.45 s is
    // that p99 at λ ≈ 8.67 (≈ 520 per bin, 1.8 σ above the mean), so a window fails only in
    // bins with noticeably more arrivals. (Measured: K = 517, q = 0.0492, p = 0.396; the
    // interval covered it in 98 of the 100 seeds, pooled estimate 0.3925.)
    sc.sla.objectives[0].p99 = 3_450;
    sc.sla.objectives[0].max_error_rate = 1.0;
    with_counts(&sc, MEAN_COUNT)
}

/// Failed windows of the replay at a constant count per bin.
fn failed_windows(sc: &Scenario, count: f64) -> u32 {
    let (_, ev) = run_one_with(
        &with_counts(sc, count),
        &sc.baseline,
        1,
        &Options::default(),
    );
    ev.sla.breached_windows
}

/// The smallest count per bin at which the replay's windows fail (all of them: the model is
/// stationary).
fn threshold(sc: &Scenario) -> u64 {
    let (mut lo, mut hi) = (MEAN_COUNT as u64, 599u64);
    assert_eq!(failed_windows(sc, lo as f64), 0, "the mean load must pass");
    assert_eq!(
        failed_windows(sc, hi as f64),
        WINDOWS as u32,
        "ρ ≈ 1 must fail"
    );
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        let f = failed_windows(sc, mid as f64);
        assert!(
            f == 0 || f == WINDOWS as u32,
            "windows differ at {mid}: {f}"
        );
        if f == 0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

#[test]
fn wilson_interval_covers_the_analytic_breach_probability() {
    let sc = stationary();
    let k = threshold(&sc);
    let q = 1.0 - Poisson::new(MEAN_COUNT).unwrap().cdf(k - 1);
    let truth = 1.0 - (1.0 - q).powi(WINDOWS as i32);
    eprintln!("threshold {k} per bin: q = {q:.5}, true breach probability {truth:.4}");
    assert!(
        (0.1..0.9).contains(&truth),
        "the test needs a mid-range p, got {truth}"
    );
    let plan = Plan {
        replications: REPLICATIONS,
        first_stage: REPLICATIONS,
        eta: 1,
        max_breach_probability: 0.05,
    };
    let options = Options {
        variation: Variation {
            poisson: true,
            ..Variation::default()
        },
        ..Options::default()
    };
    let (mut covered, mut breaches) = (0, 0);
    for seed in 1..=100u64 {
        let e = monte_carlo(
            &sc,
            vec![sc.baseline.clone()],
            seed,
            &options,
            &plan,
            &mut |_, _, _, _| {},
            &|| {},
        )
        .pop()
        .unwrap();
        let r = e.risk().unwrap();
        assert_eq!(r.replications, REPLICATIONS);
        if r.ci_low <= truth && truth <= r.ci_high {
            covered += 1;
        }
        breaches += r.breaches;
        // A mid-range probability is never proven within a 5 % budget.
        assert_ne!(e.verdict(), Verdict::Feasible);
    }
    let pooled = f64::from(breaches) / f64::from(100 * REPLICATIONS);
    let se = (truth * (1.0 - truth) / f64::from(100 * REPLICATIONS)).sqrt();
    eprintln!("covered {covered}/100; pooled estimate {pooled:.4} (true {truth:.4}, se {se:.4})");
    assert!(
        covered >= 93,
        "the interval covered the truth in {covered}/100 seeds"
    );
    assert!(
        (pooled - truth).abs() < 4.0 * se,
        "pooled {pooled} vs {truth}"
    );
}

#[test]
fn replications_differ_and_replication_zero_is_reproducible() {
    let sc = stationary();
    let options = Options {
        variation: Variation {
            poisson: true,
            ..Variation::default()
        },
        ..Options::default()
    };
    let arrivals = |r: u64| {
        let (run, _) = run_one_with(
            &sc,
            &sc.baseline,
            7,
            &Options {
                replication: r,
                ..options.clone()
            },
        );
        run.workloads[0].arrivals
    };
    let a0 = arrivals(0);
    assert_eq!(a0, arrivals(0));
    assert_ne!(a0, arrivals(1));
    // Poisson counts around 480 per bin: the total is within 5 σ of 4,800.
    assert!((a0 - 4800.0).abs() < 5.0 * 4800f64.sqrt(), "{a0}");
    // Without variation the replay's arrivals are the recorded ones exactly.
    let (run, _) = run_one_with(&sc, &sc.baseline, 7, &Options::default());
    assert!((run.workloads[0].arrivals - 4800.0).abs() < 1e-6);
}
