//! Hand-computed and analytic checks of whole simulations on small scenarios written to a
//! temporary directory: exact costs, max-pods deciding the node count, M/M/1 latency, HPA and
//! cluster-autoscaler reactions to a load step.

mod common;

use common::{scenario, Params};
use costsim::model::build::load_scenario;
use costsim::model::load::Files;
use costsim::search::run_one;

#[test]
fn cost_is_node_hours_times_price_plus_the_management_fee() {
    // One 500m pod on one node for 2 h: 2 node-hours × 0.5 + 2 h × 0.64 fee = 2.28 CNY.
    let (_d, path) = scenario(&Params::default());
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let (run, ev) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(run.horizon, 2 * 3_600_000);
    assert!((run.pools[0].node_seconds - 7200.0).abs() < 1e-9);
    assert!((ev.cost.horizon - 2.28).abs() < 1e-9, "{}", ev.cost.horizon);
    assert!((ev.cost.monthly - 2.28 * 730.0 / 2.0).abs() < 1e-6);
    assert_eq!(ev.cost.currency, "CNY");
}

#[test]
fn max_pods_decides_the_node_count() {
    // max-pods 5 with 3 DaemonSet pods leaves 2 slots per node: 5 tiny replicas need 3 nodes.
    let (_d, path) = scenario(&Params {
        replicas: 5,
        cpu_request: "10m",
        max_pods: 5,
        daemonsets: 3,
        rate_per_minute: vec![1; 30],
        ..Params::default()
    });
    let sc = load_scenario(Files::Disk, &path).unwrap();
    assert_eq!(sc.catalog.pools[0].capacity_for_pods().pods, 2);
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(run.pools[0].peak_nodes, 3);
    assert!((run.pools[0].node_seconds - 3.0 * 1800.0).abs() < 1e-9);
}

#[test]
fn mm1_latency_percentile_matches_the_exponential_sojourn_time() {
    // M/M/1: λ = 8/s, service 100 ms on one full core (μ = 10/s). The sojourn time is
    // Exp(μ − λ = 2/s): p99 = ln(100)/2 = 2.303 s, median = ln(2)/2 = 0.347 s.
    let (_d, path) = scenario(&Params::default());
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let (run, ev) = run_one(&sc, &sc.baseline, 1);
    let mid = &run.windows[run.windows.len() / 2].objectives[0];
    let p99 = 100f64.ln() / 2.0;
    let p50 = 2f64.ln() / 2.0;
    assert!(
        (mid.p99_s / p99 - 1.0).abs() < 0.06,
        "p99 {} vs {p99}",
        mid.p99_s
    );
    assert!(
        (mid.p50_s / p50 - 1.0).abs() < 0.10,
        "p50 {} vs {p50}",
        mid.p50_s
    );
    assert!((mid.arrivals - 8.0 * 300.0).abs() < 1e-6);
    // CPU: 0.8 cores busy of a 500m request → 160 % efficiency.
    assert!(
        (ev.efficiency.cpu - 1.6).abs() < 0.02,
        "{}",
        ev.efficiency.cpu
    );
}

#[test]
fn a_cpu_limit_below_demand_builds_a_backlog_and_breaks_the_sla() {
    // Demand 0.8 core against a 500m limit: the queue grows without bound; requests wait
    // longer and longer until the 600 s timeout sheds them.
    let (_d, path) = scenario(&Params {
        cpu_limit: Some("500m"),
        ..Params::default()
    });
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let (_, ev) = run_one(&sc, &sc.baseline, 1);
    assert!(ev.sla.breached);
    assert!(
        ev.sla.objectives[0].worst_p99_s > 60.0,
        "{:?}",
        ev.sla.objectives[0]
    );
}

#[test]
fn hpa_and_cluster_autoscaler_follow_a_load_step() {
    // 30 min at 1 req/s, then 90 min at 12 req/s on 100 ms requests: 1.2 cores. With 500m
    // requests, 1 worker and a 50 % target the HPA wants ceil(1.2/0.25) = 5 pods; a 2-vCPU node
    // fits 3 such pods (allocatable 1930m), so the autoscaler adds a node.
    let mut rate = vec![1; 30];
    rate.extend(vec![12; 90]);
    let (_d, path) = scenario(&Params {
        rate_per_minute: rate,
        replicas: 1,
        hpa: Some((1, 8, 50)),
        workers: 1,
        ..Params::default()
    });
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    let w = &run.workloads[0];
    assert!(w.scale_ups >= 1);
    assert!(w.ready_max >= 5, "ready max {}", w.ready_max);
    assert_eq!(run.pools[0].peak_nodes, 2);
    assert!(w.pending_pod_seconds > 60.0, "pods waited for the new node");
    let end = run.timeline.last().unwrap();
    assert!(
        end.desired[0] >= 5 && end.desired[0] <= 8,
        "{:?}",
        end.desired
    );
}

#[test]
fn nodes_scale_down_after_the_load_is_gone() {
    // 20 min busy (5 pods, 2 nodes), then 100 min idle: the HPA scales in after its 5-min
    // window, and the emptied node goes after 10 min unneeded (plus the 10-min delay after add).
    let mut rate = vec![12; 20];
    rate.extend(vec![0; 100]);
    let (_d, path) = scenario(&Params {
        rate_per_minute: rate,
        replicas: 5,
        hpa: Some((1, 8, 50)),
        ..Params::default()
    });
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(run.pools[0].peak_nodes, 2);
    let end = run.timeline.last().unwrap();
    assert_eq!(end.nodes[0], 1, "back to one node");
    assert_eq!(end.desired[0], 1);
    assert!(run.pools[0].node_seconds < 2.0 * 7200.0);
}

#[test]
fn same_seed_same_run() {
    let mut rate = vec![1; 30];
    rate.extend(vec![12; 30]);
    let p = Params {
        rate_per_minute: rate,
        hpa: Some((1, 8, 50)),
        ..Params::default()
    };
    let (_d, path) = scenario(&p);
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let a = run_one(&sc, &sc.baseline, 9).0;
    let b = run_one(&sc, &sc.baseline, 9).0;
    assert_eq!(a, b);
}

#[test]
fn a_memory_limit_below_the_peak_working_set_oom_kills_and_breaks_windows() {
    // One pod, 1 worker, 50 ms requests (μ = 20/s), 100Mi at rest + 10Mi per in-flight request.
    // 30 min at 2 req/s (in flight 0.11 → 101Mi), 30 min at 16 req/s (M/M/1 ρ = 0.8: in flight
    // ρ/(1−ρ) = 4 → 140Mi), 30 min at 2 req/s again.
    let mut rate = vec![2; 30];
    rate.extend(vec![16; 30]);
    rate.extend(vec![2; 30]);
    let params = |limit| Params {
        rate_per_minute: rate.clone(),
        cpu_ms: 50.0,
        memory_per_request: "10Mi",
        memory_limit: Some(limit),
        ..Params::default()
    };
    let (_d, path) = scenario(&params("120Mi"));
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let (run, ev) = run_one(&sc, &sc.baseline, 1);
    let w = &run.workloads[0];
    assert!(w.oom_kills >= 3, "OOM kills {}", w.oom_kills);
    assert_eq!(w.restarts, w.oom_kills);
    assert!(
        w.crash_loop_restarts >= 1,
        "the back-off grows while the load stays"
    );
    assert!(w.killed_requests > 0.0);
    // The first six windows (low load) are clean; the load phase fails; the end recovers.
    let errors = |i: usize| run.windows[i].objectives[0].errors;
    assert!((0..6).all(|i| errors(i) == 0.0));
    assert!((6..12).filter(|&i| errors(i) > 0.0).count() >= 5);
    assert_eq!(
        errors(run.windows.len() - 1),
        0.0,
        "recovered after the load"
    );
    assert!(ev.sla.objectives[0].breached_windows >= 5);
    assert!(ev.activity[0].warnings[0].contains("OOM kills"));

    // Raising the limit above the peak removes them.
    let (_d, path) = scenario(&params("200Mi"));
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let (run, ev) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(run.workloads[0].oom_kills, 0);
    assert!(!ev.sla.breached);
    assert!((run.workloads[0].peak_pod_memory_bytes / 1_048_576.0 - 140.0).abs() < 3.0);
}

/// Field case "sidecar given the app's memory" (mitodl/ol-infrastructure#3448): a sidecar that
/// requests as much memory as the app dilutes pod-level utilization, so a memory HPA never
/// fires while the app container is OOM-killed at its own limit. A right-sized sidecar lets the
/// HPA scale out first.
#[test]
fn sidecar_requests_dilute_pod_utilization_hpa_never_fires_app_ooms() {
    // 10 min at 8 req/s then 50 min at 16 req/s on one-worker pods (50 ms CPU: μ = 20/s);
    // the app holds 1400Mi + 60Mi per in-flight request: 1440Mi at ρ = 0.4, 1640Mi at ρ = 0.8.
    let mut rate = vec![8; 10];
    rate.extend(vec![16; 50]);
    let (_d, path) = scenario(&Params {
        rate_per_minute: rate,
        ..Params::default()
    });
    let dir = path.parent().unwrap().to_path_buf();
    let svc = "name: app\nworkers: 1\nconcurrency_per_worker: 100000\n\
               memory: { base_per_worker: 1400Mi }\nstartup: { min: 10s, max: 10s }\n\
               readiness_delay: 5s\ntimeout: 600s\n\
               classes:\n  - { name: api, share: 1.0, cpu_ms: 50, memory_per_request: 60Mi }\n\
               sidecars:\n  - { name: nginx, cpu: 2m, memory: 9Mi }\n";
    std::fs::write(dir.join("svc.yaml"), svc).unwrap();
    let config = |sidecar_memory: &str| {
        format!(
            "name: c\nworkloads:\n  app:\n    node_pool: p\n    replicas: 1\n    resources:\n      \
             requests: {{ cpu: 500m, memory: 1600Mi }}\n      limits: {{ memory: 1600Mi }}\n    \
             sidecars:\n      - name: nginx\n        resources: {{ requests: {{ cpu: 10m, memory: {sidecar_memory} }}, \
             limits: {{ memory: {sidecar_memory} }} }}\n    hpa:\n      minReplicas: 1\n      maxReplicas: 4\n      \
             metrics:\n        - type: Resource\n          resource: {{ name: memory, target: {{ type: Utilization, averageUtilization: 60 }} }}\n"
        )
    };
    // The case: the sidecar requests 1600Mi like the app. (1440 + 9)/3200 = 45 % < 60 %.
    std::fs::write(dir.join("config.yaml"), config("1600Mi")).unwrap();
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let (run, ev) = run_one(&sc, &sc.baseline, 1);
    let w = &run.workloads[0];
    assert_eq!(
        w.scale_ups, 0,
        "pod-level memory utilization stays under 60 %"
    );
    assert!(
        w.oom_kills > 0,
        "the app container hits its own 1600Mi limit"
    );
    assert!(ev.sla.breached);
    assert_eq!(format!("{:?}", ev.activity[0].qos_class), "Burstable");

    // Right-sized sidecar (32Mi): (1440 + 9)/1632 = 89 % > 60 % at 8 req/s, the HPA adds a
    // pod before the load doubles, and each pod stays at 1440Mi.
    std::fs::write(dir.join("config.yaml"), config("32Mi")).unwrap();
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let (run, ev) = run_one(&sc, &sc.baseline, 1);
    let w = &run.workloads[0];
    assert!(w.ready_max >= 2, "ready max {}", w.ready_max);
    assert_eq!(w.oom_kills, 0);
    assert!(!ev.sla.breached);
}

/// Field case "CFS quota throttling under bursts": a CPU limit below the burst demand throttles
/// periods and raises p99 while the average use stays under the limit.
#[test]
fn cfs_throttling_raises_p99_while_average_use_stays_under_the_limit() {
    // 10 req/s of 20 ms on 2 workers: 0.2 cores on average. A 300m limit gives 30 ms of CPU per
    // 100 ms period; two or more requests in one period exhaust it.
    let params = |limit| Params {
        rate_per_minute: vec![10; 60],
        workers: 2,
        cpu_ms: 20.0,
        cpu_request: "200m",
        cpu_limit: limit,
        ..Params::default()
    };
    let run_with = |limit| {
        let (_d, path) = scenario(&params(limit));
        let sc = load_scenario(Files::Disk, &path).unwrap();
        run_one(&sc, &sc.baseline, 1)
    };
    let (free, free_ev) = run_with(None);
    let (limited, limited_ev) = run_with(Some("300m"));
    let mid =
        |r: &costsim::sim::engine::RunResult| r.windows[r.windows.len() / 2].objectives[0].p99_s;
    let average_cores = limited.workloads[0].cpu_usage_core_s / 3600.0;
    assert!(
        average_cores < 0.3 * 0.8,
        "average use {average_cores} cores is under the limit"
    );
    assert_eq!(free_ev.activity[0].throttled_period_ratio, 0.0);
    let ratio = limited_ev.activity[0].throttled_period_ratio;
    assert!(ratio > 0.05, "throttled-period ratio {ratio}");
    eprintln!(
        "throttled ratio {ratio:.3}, p99 {:.4} s vs {:.4} s, average {average_cores:.3} cores",
        mid(&limited),
        mid(&free)
    );
    assert!(
        mid(&limited) > 1.5 * mid(&free),
        "p99 {} vs {}",
        mid(&limited),
        mid(&free)
    );
}

/// Rewrites the generated scenario's service profile and config (for cases the generator's
/// knobs do not cover) and loads it.
fn load_with(
    p: &Params,
    svc: Option<&str>,
    config: &str,
) -> (tempfile::TempDir, costsim::model::scenario::Scenario) {
    let (d, path) = scenario(p);
    let dir = path.parent().unwrap().to_path_buf();
    if let Some(svc) = svc {
        std::fs::write(dir.join("svc.yaml"), svc).unwrap();
    }
    std::fs::write(dir.join("config.yaml"), config).unwrap();
    let sc = load_scenario(Files::Disk, &path).unwrap();
    (d, sc)
}

/// Distinct consecutive values of a workload's desired replicas over the timeline.
fn desired_steps(run: &costsim::sim::engine::RunResult) -> Vec<u32> {
    let mut v: Vec<u32> = Vec::new();
    for t in &run.timeline {
        if v.last() != Some(&t.desired[0]) {
            v.push(t.desired[0]);
        }
    }
    v
}

const QUIET_SVC: &str = "name: app\nworkers: 1\nconcurrency_per_worker: 100000\n\
    memory: { base_per_worker: BASE }\nstartup: { min: 10s, max: 10s }\nreadiness_delay: 5s\n\
    timeout: 600s\nclasses:\n  - { name: api, share: 1.0, cpu_ms: 20 }\n";

/// Field case "memory AverageValue target: scaled up, never scales back down"
/// (kubernetes#95762): 3 replicas at ≈300Mi against a 400Mi average target give
/// ceil(3 × 300/400) = 3; going to 2 needs an average ≤ 266Mi.
#[test]
fn memory_average_value_target_does_not_scale_down_above_the_ratio() {
    let config = "name: c\nworkloads:\n  app:\n    node_pool: p\n    replicas: 3\n    resources:\n      \
        requests: { cpu: 500m, memory: 512Mi }\n    hpa:\n      minReplicas: 1\n      maxReplicas: 4\n      \
        metrics:\n        - type: Resource\n          resource: { name: memory, target: { type: AverageValue, averageValue: 400Mi } }\n";
    let p = Params {
        rate_per_minute: vec![2; 120],
        ..Params::default()
    };
    let (_d, sc) = load_with(&p, Some(&QUIET_SVC.replace("BASE", "300Mi")), config);
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(desired_steps(&run), vec![3], "stays at 3 for two hours");
    assert_eq!(run.workloads[0].scale_downs, 0);

    let (_d, sc) = load_with(&p, Some(&QUIET_SVC.replace("BASE", "260Mi")), config);
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(
        desired_steps(&run),
        vec![3, 2],
        "≤ 266Mi: ceil(3 × 0.65) = 2, then stays"
    );
}

/// Field case "traffic-driven HPA: undersized request pins at max" (mitodl#5303): after a
/// spike to 30 replicas, a 10 % per 25 min Percent scale-down policy steps down by
/// floor(start × 0.9): 30→27→24→21→18→16→14→12→10→9→8→7→6→5→4.
#[test]
fn traffic_driven_hpa_percent_scale_down_steps_exactly() {
    let config = "name: c\nworkloads:\n  app:\n    node_pool: p\n    replicas: 4\n    resources:\n      \
        requests: { cpu: 500m, memory: 64Mi }\n    hpa:\n      minReplicas: 4\n      maxReplicas: 30\n      \
        metrics:\n        - type: Resource\n          resource: { name: cpu, target: { type: Utilization, averageUtilization: 60 } }\n      \
        behavior:\n        scaleDown:\n          policies: [ { type: Percent, value: 10, periodSeconds: 1500 } ]\n";
    let mut rate = vec![400; 30];
    rate.extend(vec![0; 420]);
    let p = Params {
        rate_per_minute: rate,
        ..Params::default()
    };
    let (_d, sc) = load_with(&p, Some(&QUIET_SVC.replace("BASE", "64Mi")), config);
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    let steps = desired_steps(&run);
    let top = steps.iter().position(|&r| r == 30).expect("reaches max 30");
    assert_eq!(
        steps[top..].to_vec(),
        vec![30, 27, 24, 21, 18, 16, 14, 12, 10, 9, 8, 7, 6, 5, 4]
    );
}

/// Field case "hair-trigger HPA: CPU request far below bursts" (mitodl#5241): a 100m request
/// turns one-minute bursts into 400 % utilization and the HPA jumps to max at every burst; a
/// request sized to the burst keeps it well below max.
#[test]
fn hair_trigger_hpa_flaps_to_max_with_an_undersized_request() {
    // Every 15 min: 1 min at 40 req/s (0.8 cores over 2 pods), 14 min at 1 req/s.
    let mut rate = Vec::new();
    for _ in 0..8 {
        rate.push(40);
        rate.extend(vec![1; 14]);
    }
    let config = |request: &str| {
        format!(
            "name: c\nworkloads:\n  app:\n    node_pool: p\n    replicas: 2\n    resources:\n      \
             requests: {{ cpu: {request}, memory: 64Mi }}\n    hpa:\n      minReplicas: 2\n      maxReplicas: 10\n      \
             metrics:\n        - type: Resource\n          resource: {{ name: cpu, target: {{ type: Utilization, averageUtilization: 50 }} }}\n"
        )
    };
    let p = Params {
        rate_per_minute: rate,
        max_pods: 110,
        ..Params::default()
    };
    let svc = QUIET_SVC.replace("BASE", "64Mi");
    let to_max = |run: &costsim::sim::engine::RunResult| {
        desired_steps(run)
            .windows(2)
            .filter(|w| w[1] == 10 && w[0] < 10)
            .count()
    };
    let (_d, sc) = load_with(&p, Some(&svc), &config("100m"));
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    assert!(
        to_max(&run) >= 6,
        "scale-to-max events {}: {:?}",
        to_max(&run),
        desired_steps(&run)
    );
    let (_d, sc) = load_with(&p, Some(&svc), &config("400m"));
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(to_max(&run), 0, "{:?}", desired_steps(&run));
}

/// Field case "DaemonSet overhead makes a big pod never fit" (karpenter-provider-aws#6015): a
/// pod that fits the node's allocatable does not fit once the DaemonSets' requests are taken.
#[test]
fn daemonset_overhead_makes_a_big_pod_never_fit() {
    // Allocatable of a 2-vCPU node: 1930m. A 1900m pod fits; with four 10m DaemonSets the room
    // for pods is 1890m and it never fits.
    let fits = Params {
        cpu_request: "1900m",
        ..Params::default()
    };
    let (_d, path) = scenario(&fits);
    assert!(load_scenario(Files::Disk, &path).is_ok());
    let (_d, path) = scenario(&Params {
        daemonsets: 4,
        ..fits
    });
    let err = load_scenario(Files::Disk, &path).unwrap_err().to_string();
    assert!(err.contains("never fits a node of pool `p`"), "{err}");
    assert!(err.contains("cpu 1890m"), "{err}");
}

/// Field case "LimitRange defaults make a big pod never fit" (karpenter-provider-aws#3199):
/// a DaemonSet with empty resources in a namespace with a LimitRange gets the default request
/// at admission, which the overhead must count. Allocatable of a 2-vCPU node is 1930m; the
/// DaemonSets request 25m + 100m + (nothing) = 125m, so an 1800m pod fits in 1805m. With a
/// LimitRange `defaultRequest: { cpu: 1000m }` the third asks 1000m: room 805m, it never fits.
/// A LimitRange with only `default: { cpu: 1000m }` (a default limit) gives the same request,
/// as the API server copies the default limit into the default request; `max` alone too.
#[test]
fn limit_range_defaults_count_in_the_daemonset_overhead() {
    let (d, path) = scenario(&Params {
        cpu_request: "1800m",
        ..Params::default()
    });
    let pools = d.path().join("pools.yaml");
    let text = std::fs::read_to_string(&pools).unwrap();
    assert!(text.contains("    daemonsets: []\n"), "fixture layout");
    let load = |limit_range: &str| {
        let edited = text.replace(
            "    daemonsets: []\n",
            &format!(
                "    daemonsets: [{{ name: cni, cpu: 25m }}, {{ name: proxy, cpu: 100m }}, {{ name: agent }}]\n{limit_range}"
            ),
        );
        std::fs::write(&pools, edited).unwrap();
        load_scenario(Files::Disk, &path)
    };
    let sc = load("").unwrap();
    assert_eq!(sc.catalog.pools[0].capacity_for_pods().cpu_milli, 1805);
    for limit_range in [
        "    daemonset_limit_range: { defaultRequest: { cpu: 1000m } }\n",
        "    daemonset_limit_range: { default: { cpu: 1000m } }\n",
        "    daemonset_limit_range: { max: { cpu: 1000m } }\n",
        "    daemonset_limit_range: { defaultRequest: { cpu: 1000m }, min: { cpu: 20m } }\n",
    ] {
        let err = load(limit_range).unwrap_err().to_string();
        assert!(
            err.contains("never fits a node of pool `p`"),
            "{limit_range}: {err}"
        );
        assert!(err.contains("cpu 805m"), "{limit_range}: {err}");
    }
    // `min` alone defaults the request to the minimum: 20m, room 1785m, still too small.
    let err = load("    daemonset_limit_range: { min: { cpu: 20m } }\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("cpu 1785m"), "{err}");
    // A LimitRange the API server refuses, and a DaemonSet request the LimitRanger refuses.
    let err = load("    daemonset_limit_range: { min: { cpu: 500m }, max: { cpu: 100m } }\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("daemonset_limit_range.min.cpu") && err.contains("must not exceed max"),
        "{err}"
    );
    let err = load(
        "    daemonset_limit_range: { defaultRequest: { cpu: 300m }, default: { cpu: 100m } }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("defaultRequest cpu must not exceed default"),
        "{err}"
    );
    let err = load("    daemonset_limit_range: { min: { cpu: 50m } }\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("daemonsets[0]") && err.contains("below the LimitRange's min"),
        "{err}"
    );
    // A request the DaemonSet sets itself is kept: 125m + 10m, room 1795m.
    let edited = text.replace(
        "    daemonsets: []\n",
        "    daemonsets: [{ name: cni, cpu: 25m }, { name: proxy, cpu: 100m }, { name: agent, cpu: 10m }]\n    daemonset_limit_range: { defaultRequest: { cpu: 1000m } }\n",
    );
    std::fs::write(&pools, edited).unwrap();
    let err = load_scenario(Files::Disk, &path).unwrap_err().to_string();
    assert!(err.contains("cpu 1795m"), "{err}");
}

/// A namespace LimitRange (the scenario's `limit_range`) gives the containers the requests
/// and limits they leave out at admission, and refuses pods outside its bounds. A CPU
/// Utilization HPA over pods with no CPU request never scales (`missing request for cpu`);
/// with `defaultRequest: { cpu: 200m }` each pod requests 200m, and 8 req/s × 100 ms = 0.8
/// cores make 400 % of one pod's request: the HPA scales to its max of 4.
#[test]
fn a_namespace_limit_range_defaults_the_requests_and_refuses_pods_outside_it() {
    let no_cpu_request = "name: c\nworkloads:\n  app:\n    node_pool: p\n    replicas: 1\n    resources:\n      \
        requests: { memory: 64Mi }\n    hpa:\n      minReplicas: 1\n      maxReplicas: 4\n      \
        metrics:\n        - type: Resource\n          resource: { name: cpu, target: { type: Utilization, averageUtilization: 50 } }\n";
    let load = |config: Option<&str>, limit_range: &str, space: Option<&str>| {
        let (d, path) = scenario(&Params::default());
        let dir = path.parent().unwrap().to_path_buf();
        if let Some(config) = config {
            std::fs::write(dir.join("config.yaml"), config).unwrap();
        }
        if let Some(space) = space {
            std::fs::write(dir.join("space.yaml"), space).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap() + limit_range;
        std::fs::write(&path, text).unwrap();
        let sc = load_scenario(Files::Disk, &path).map_err(|e| e.to_string());
        (d, sc)
    };
    let request_per_pod = |run: &costsim::sim::engine::RunResult| {
        run.workloads[0].cpu_request_core_s / run.workloads[0].pod_seconds
    };
    let (_d, sc) = load(Some(no_cpu_request), "", None);
    let sc = sc.unwrap();
    assert!(
        sc.notes
            .iter()
            .any(|n| n.contains("missing request for cpu")),
        "{:?}",
        sc.notes
    );
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(run.workloads[0].peak_pods, 1, "never scales");
    assert_eq!(request_per_pod(&run), 0.0);

    let (_d, sc) = load(
        Some(no_cpu_request),
        "limit_range: { defaultRequest: { cpu: 200m } }\n",
        None,
    );
    let sc = sc.unwrap();
    assert!(
        !sc.notes.iter().any(|n| n.contains("missing request")),
        "the defaulted request counts: {:?}",
        sc.notes
    );
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(run.workloads[0].peak_pods, 4, "{:?}", desired_steps(&run));
    assert!(
        (request_per_pod(&run) - 0.2).abs() < 1e-9,
        "{}",
        request_per_pod(&run)
    );

    // The fixture's own config requests 500m: above a 400m max, the API server refuses it.
    let (_d, sc) = load(None, "limit_range: { max: { cpu: 400m } }\n", None);
    let err = sc.unwrap_err();
    assert!(
        err.contains("workloads.app.resources.requests.cpu")
            && err.contains("above the LimitRange's max"),
        "{err}"
    );
    let (_d, sc) = load(
        None,
        "limit_range: { min: { cpu: 500m }, max: { cpu: 100m } }\n",
        None,
    );
    let err = sc.unwrap_err();
    assert!(err.contains("limit_range.min.cpu"), "{err}");

    // The search leaves out the candidates it refuses: a 2-core limit above a 1500m max;
    // `none` gets the max as its default limit and stays.
    let space = "workload: app\ngrid:\n  cpu_request: [500m]\n  memory_request: [128Mi]\n  \
        cpu_limit: [none, '2']\n  memory_limit: [none]\n  min_replicas: [1]\n  max_replicas: [4]\n  \
        target_cpu_utilization: [70]\n  node_pool: [p]\n";
    let (_d, sc) = load(None, "limit_range: { max: { cpu: 1500m } }\n", Some(space));
    let sc = sc.unwrap();
    let points = costsim::search::space::expand(&sc.space, &sc.baseline);
    assert_eq!(points.len(), 2);
    let (kept, left_out) = costsim::search::space_candidates(&sc, points);
    assert_eq!((kept.len(), left_out.not_admitted), (1, 1));
    assert!(kept[0].name.contains("cpu=500m/none"), "{}", kept[0].name);
}

/// Field case "Python/gunicorn: per-worker memory growth" (courtlistener#2640, gunicorn#2215):
/// worker RSS ratchets up with every request; without `--max-requests` the pod reaches its
/// limit and is OOM-killed every ~49 min; recycling workers every 1,000 requests bounds it.
#[test]
fn python_worker_memory_growth_ooms_without_max_requests() {
    // 3 workers × 150Mi at rest + 40Ki per request served, 5 req/s on one pod, 1Gi limit:
    // growth 200 KiB/s, 450Mi → 1024Mi in 574 MiB / 0.195 MiB/s = 2939 s.
    let svc = |max_requests: &str| {
        format!(
            "name: app\nworkers: 3\nconcurrency_per_worker: 100000\n\
             memory: {{ base_per_worker: 150Mi, growth_per_request: 40Ki{max_requests} }}\n\
             startup: {{ min: 10s, max: 10s }}\nreadiness_delay: 5s\ntimeout: 600s\n\
             classes:\n  - {{ name: api, share: 1.0, cpu_ms: 20 }}\n"
        )
    };
    let config =
        "name: c\nworkloads:\n  app:\n    node_pool: p\n    replicas: 1\n    resources:\n      \
        requests: { cpu: 500m, memory: 512Mi }\n      limits: { memory: 1Gi }\n";
    let p = Params {
        rate_per_minute: vec![5; 120],
        ..Params::default()
    };
    let (_d, sc) = load_with(&p, Some(&svc("")), config);
    let (run, ev) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(run.workloads[0].oom_kills, 2, "kills at ~49 and ~98 min");
    assert!(ev.activity[0].warnings[0].contains("OOM kills"));

    // Recycled every 1,000 requests per worker: at most 1,000 × 40Ki = 39Mi per worker.
    let (_d, sc) = load_with(&p, Some(&svc(", max_requests: 1000")), config);
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(run.workloads[0].oom_kills, 0);
    let peak_mi = run.workloads[0].peak_pod_memory_bytes / 1_048_576.0;
    assert!(
        (peak_mi - (450.0 + 3.0 * 1000.0 * 40.0 / 1024.0)).abs() < 2.0,
        "peak {peak_mi}Mi"
    );
}

/// Field case "per-node fees flip the cheapest node shape" (karpenter#1664): 16 small nodes at
/// $0.04/h beat one large node at $0.65/h on price alone, but a $0.03/node-hour agent fee makes
/// the large node cheaper by $0.44/h (≈ $321 a month).
#[test]
fn per_node_fees_flip_the_cheapest_node_shape() {
    let pools = |fee: f64| {
        format!(
            "catalog: t\nregion: t\ncurrency: USD\nprices_as_of: \"2024-10-09\"\n\
             cluster_fee: {{ name: none, per_hour: 0 }}\npools:\n\
             - {{ name: large, instance_type: large, vcpu: 2, memory: 8Gi, kubelet_memory_capacity: 7925980Ki, \
             price_per_hour: 0.04, per_node_fee_per_hour: {fee}, billing: pay-as-you-go, max_pods: 110, \
             min_nodes: 0, max_nodes: 20, provisioning_delay: {{ min: 60s, max: 60s }} }}\n\
             - {{ name: xl, instance_type: 8xlarge, vcpu: 32, memory: 128Gi, kubelet_memory_capacity: 126Gi, \
             price_per_hour: 0.65, per_node_fee_per_hour: {fee}, billing: pay-as-you-go, max_pods: 110, \
             min_nodes: 0, max_nodes: 20, provisioning_delay: {{ min: 60s, max: 60s }} }}\n"
        )
    };
    let config = |pool: &str| {
        format!(
            "name: {pool}\nworkloads:\n  app:\n    node_pool: {pool}\n    replicas: 16\n    resources:\n      \
             requests: {{ cpu: 1500m, memory: 1Gi }}\n"
        )
    };
    let p = Params {
        rate_per_minute: vec![1; 60],
        management_fee: false,
        ..Params::default()
    };
    let hourly = |fee: f64, pool: &str| {
        let (d, path) = scenario(&p);
        let dir = path.parent().unwrap().to_path_buf();
        std::fs::write(dir.join("pools.yaml"), pools(fee)).unwrap();
        std::fs::write(dir.join("config.yaml"), config(pool)).unwrap();
        std::fs::write(dir.join("space.yaml"), "workload: app\ngrid:\n  cpu_request: [1500m]\n  memory_request: [1Gi]\n  cpu_limit: [none]\n  memory_limit: [none]\n  min_replicas: [1]\n  max_replicas: [16]\n  target_cpu_utilization: [70]\n  node_pool: [large, xl]\n").unwrap();
        let sc = load_scenario(Files::Disk, &path).unwrap();
        let (run, ev) = run_one(&sc, &sc.baseline, 1);
        drop(d);
        (
            ev.cost.horizon,
            run.pools.iter().map(|p| p.peak_nodes).sum::<u32>(),
        )
    };
    let (large, n_large) = hourly(0.0, "large");
    let (xl, n_xl) = hourly(0.0, "xl");
    assert_eq!(
        (n_large, n_xl),
        (16, 1),
        "one 1500m pod per 2-vCPU node; all 16 on one 32-vCPU node"
    );
    assert!(
        (large - 0.64).abs() < 1e-9 && (xl - 0.65).abs() < 1e-9,
        "{large} {xl}"
    );
    let (large, _) = hourly(0.03, "large");
    let (xl, _) = hourly(0.03, "xl");
    assert!(
        (large - 1.12).abs() < 1e-9 && (xl - 0.68).abs() < 1e-9,
        "{large} {xl}"
    );
    assert!(((large - xl) * 730.0 - 321.2).abs() < 1e-6);
}

/// Node memory pressure: pods that use far more memory than they request overcommit the node;
/// the kubelet evicts the one exceeding its request the most, and the replacement lands on the
/// same node again. Requests sized to the working set spread the pods instead.
#[test]
fn memory_pressure_evicts_pods_that_exceed_their_requests() {
    let svc = QUIET_SVC.replace("BASE", "2500Mi");
    let config = |memory: &str| {
        format!(
            "name: c\nworkloads:\n  app:\n    node_pool: p\n    replicas: 3\n    resources:\n      \
             requests: {{ cpu: 500m, memory: {memory} }}\n"
        )
    };
    let p = Params {
        rate_per_minute: vec![2; 60],
        ..Params::default()
    };
    // 3 × 2500Mi of working set on one 8 GiB node (≈ 5975Mi for pods): pressure.
    let (_d, sc) = load_with(&p, Some(&svc), &config("64Mi"));
    let (run, ev) = run_one(&sc, &sc.baseline, 1);
    assert!(
        run.workloads[0].pressure_evictions >= 2,
        "{}",
        run.workloads[0].pressure_evictions
    );
    assert!(ev.activity[0]
        .warnings
        .iter()
        .any(|w| w.contains("memory pressure")));
    // Requests at the working set: two pods per node, a second node, no pressure.
    let (_d, sc) = load_with(&p, Some(&svc), &config("2500Mi"));
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(run.workloads[0].pressure_evictions, 0);
    assert_eq!(run.pools[0].peak_nodes, 2);
}

/// Runs the load-step scenario (2 → up to 8 pods of 500m under a 50 % CPU target), plain and
/// with one init container of this `cpu` request and run time.
fn load_step_with_init(cpu: &str, duration: &str) -> [costsim::sim::engine::RunResult; 2] {
    let mut rate = vec![1; 30];
    rate.extend(vec![12; 90]);
    let p = Params {
        rate_per_minute: rate,
        replicas: 2,
        hpa: Some((2, 8, 50)),
        workers: 1,
        ..Params::default()
    };
    let (_d, path) = scenario(&p);
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let (plain, _) = run_one(&sc, &sc.baseline, 1);
    let config = path.parent().unwrap().join("config.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    let init = format!(
        "    init_containers:\n      - name: migrate\n        duration: {duration}\n        \
         resources: {{ requests: {{ cpu: {cpu}, memory: 64Mi }} }}\n"
    );
    std::fs::write(&config, format!("{text}{init}")).unwrap();
    let sc = load_scenario(Files::Disk, &path).unwrap();
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    [plain, run]
}

/// Init containers: a one-shot init container larger than the app decides what the scheduler
/// reserves (max rule), so two 500m pods that share a 1930m node need a node each once their
/// 1200m migration init container is counted; the efficiency figures still divide by the
/// running containers' 500m.
#[test]
fn init_container_requests_decide_the_fit_by_the_max_rule() {
    let [plain, run] = load_step_with_init("1200m", "0s");
    let nodes_at_start = |r: &costsim::sim::engine::RunResult| r.timeline[0].nodes[0];
    assert_eq!((nodes_at_start(&plain), nodes_at_start(&run)), (1, 2));
    let w = &run.workloads[0];
    let mean_request = w.cpu_request_core_s / w.pod_seconds;
    assert!((mean_request - 0.5).abs() < 1e-9, "{mean_request}");
}

/// Init containers run before the app starts: a 100 s init container (small enough not to
/// change the fit) makes the first scale-up pod ready 100 s later (seen on the 60 s timeline:
/// within one sample of it).
#[test]
fn init_container_run_time_delays_new_pods() {
    let [plain, run] = load_step_with_init("10m", "100s");
    let third_ready = |r: &costsim::sim::engine::RunResult| {
        r.timeline
            .iter()
            .find(|t| t.ready[0] > 2)
            .map(|t| t.at)
            .unwrap()
    };
    let delay = third_ready(&run) as i64 - third_ready(&plain) as i64;
    assert!((40_000..=160_000).contains(&delay), "{delay} ms");
}

/// Field case "unready pods: metric above target, no scale-up" (kubernetes#84095,
/// #130130), whole run: a readiness probe answered by the app's single worker times out once
/// 36 req/s of 100 ms requests (3.6 cores) hit 3 one-core pods, so all three turn unready
/// together (ready count 0) and the window breaks. Each metric type then follows its own rule:
/// CPU at 60 % settles at 3.6 / 0.6 = 6 pods; an External AverageValue of 6 req/s per pod
/// proposes exactly ceil(36 / 6) = 6; an External Value of 18 req/s multiplies the ready
/// pods by 36 / 18 = 2 at every sync (3 → 6 → 12 = max), since the metric does not fall as
/// pods are added. (The controller-level rules, 1 of 3 ready and 0 ready, are unit tests of
/// `sim::hpa_bridge`.)
#[test]
fn unready_pods_follow_the_rule_of_each_metric_type() {
    let mut rate = vec![12; 10];
    rate.extend(vec![36; 50]);
    let p = Params {
        rate_per_minute: rate,
        replicas: 3,
        workers: 1,
        cpu_ms: 100.0,
        ..Params::default()
    };
    let svc = "name: app\nworkers: 1\nconcurrency_per_worker: 100000\nidle_cpu: 0\n\
               memory: { base_per_worker: 100Mi }\nstartup: { min: 10s, max: 10s }\n\
               readiness_delay: 5s\ntimeout: 600s\n\
               readiness_probe: { period: 10s, timeout: 1s, failure_threshold: 3 }\n\
               classes:\n  - { name: api, share: 1.0, cpu_ms: 100, cpu_scv: 1.0 }\n";
    let config = |metric: &str| {
        format!(
            "name: base\nworkloads:\n  app:\n    node_pool: p\n    replicas: 3\n    resources:\n      \
             requests: {{ cpu: 1000m, memory: 64Mi }}\n    hpa:\n      minReplicas: 3\n      \
             maxReplicas: 12\n      metrics:\n{metric}"
        )
    };
    let cpu = "        - type: Resource\n          resource: { name: cpu, target: { type: Utilization, averageUtilization: 60 } }\n";
    let external = |target: &str| {
        format!(
            "        - type: External\n          external:\n            metric: {{ name: requests_per_second }}\n            \
             target: {target}\n"
        )
    };
    let cases = [
        (cpu.to_string(), 6),
        (external("{ type: AverageValue, averageValue: '6' }"), 6),
        (external("{ type: Value, value: '18' }"), 12),
    ];
    for (metric, settles_at) in cases {
        let (_d, sc) = load_with(&p, Some(svc), &config(&metric));
        let (run, ev) = run_one(&sc, &sc.baseline, 1);
        let w = &run.workloads[0];
        let steps = desired_steps(&run);
        assert_eq!(w.ready_min, 0, "{metric}");
        assert!(w.probe_unready_transitions >= 3, "{metric}");
        assert!(ev.sla.breached_windows >= 1, "{metric}");
        assert_eq!(steps.last(), Some(&settles_at), "{metric}: {steps:?}");
        let warned = ev.activity[0]
            .warnings
            .iter()
            .any(|m| m.contains("readiness probe"));
        assert!(warned, "{:?}", ev.activity[0].warnings);
    }
    // Without the probe the pods stay ready through the overload.
    let quiet = svc.replace(
        "readiness_probe: { period: 10s, timeout: 1s, failure_threshold: 3 }\n",
        "",
    );
    let (_d, sc) = load_with(&p, Some(&quiet), &config(cpu));
    let (run, _) = run_one(&sc, &sc.baseline, 1);
    assert_eq!(
        (
            run.workloads[0].ready_min,
            run.workloads[0].probe_unready_transitions
        ),
        (3, 0)
    );
}

/// Runs 10 pods of 500m at 80 % of their request (40 req/s of 100 ms) under a CPU HPA
/// (target 100 %, min 10, max 40), with or without a rollout at 30 min.
fn rollout_run(rollout: bool) -> costsim::sim::engine::RunResult {
    let p = Params {
        rate_per_minute: vec![40; 90],
        replicas: 10,
        hpa: Some((10, 40, 100)),
        workers: 1,
        cpu_ms: 100.0,
        ..Params::default()
    };
    let (_d, path) = scenario(&p);
    if rollout {
        let text = std::fs::read_to_string(&path).unwrap();
        let extra = "rollouts:\n  - { service: app, at: 30m }\n";
        std::fs::write(&path, format!("{text}{extra}")).unwrap();
    }
    let sc = load_scenario(Files::Disk, &path).unwrap();
    run_one(&sc, &sc.baseline, 1).0
}

/// Field case "rolling update ratchets the HPA up (surge pods counted)" (kubernetes#72775,
/// #84142), whole run: a rollout with the default 25 % surge runs ceil(10 × 0.25) = 3 pods
/// above the desired 10 and replaces every pod; the HPA keeps desired at 10 throughout while
/// the surge pods' time is charged. (The pre-1.19 ratchet itself is a unit test of
/// `sim::hpa_bridge`, with the `hpa_pre_surge_fix` switch.)
#[test]
fn rolling_update_surge_is_charged_and_does_not_ratchet_the_hpa() {
    let plain = rollout_run(false);
    let rolled = rollout_run(true);
    let w = &rolled.workloads[0];
    assert_eq!(w.rollouts, 1);
    assert_eq!(desired_steps(&rolled), vec![10], "the HPA holds");
    assert_eq!(plain.workloads[0].peak_pods, 10);
    assert_eq!(w.peak_pods, 13, "10 + 25 % surge, rounded up");
    assert!(w.pod_seconds > plain.workloads[0].pod_seconds + 60.0);
    assert!(
        w.ready_min >= 8,
        "maxUnavailable 25 % of 10 = 2: {}",
        w.ready_min
    );
    assert_eq!(rolled.timeline.last().unwrap().ready[0], 10);
}

/// Runs a load step (1 → 7 pods of 1000m) for a workload on pool `p` (2 vCPU, 0.5/h: one such
/// pod per node) that may also run on `q` (8 vCPU, 4.0/h: seven per node), with `expander`.
fn expander_run(expander: &str) -> costsim::sim::engine::RunResult {
    let mut rate = vec![1; 20];
    rate.extend(vec![30; 40]);
    let p = Params {
        rate_per_minute: rate,
        replicas: 1,
        hpa: Some((1, 7, 50)),
        workers: 4,
        ..Params::default()
    };
    let (_d, path) = scenario(&p);
    let dir = path.parent().unwrap().to_path_buf();
    let pools = std::fs::read_to_string(dir.join("pools.yaml")).unwrap();
    let q = "  - name: q\n    instance_type: ecs.g7.2xlarge\n    vcpu: 8\n    memory: 32Gi\n    \
             kubelet_memory_capacity: 32000000Ki\n    price_per_hour: 4.0\n    billing: pay-as-you-go\n    max_pods: 64\n    \
             max_nodes: 10\n    provisioning_delay: { min: 60s, max: 60s }\n";
    std::fs::write(dir.join("pools.yaml"), format!("{pools}{q}")).unwrap();
    let config = std::fs::read_to_string(dir.join("config.yaml")).unwrap();
    let config = config
        .replace("cpu: 500m", "cpu: 1000m")
        .replace("node_pool: p\n", "node_pool: p\n    also_on: [q]\n");
    let jump = "      behavior:\n        scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: Pods, value: 10, periodSeconds: 15 }] }\n";
    std::fs::write(dir.join("config.yaml"), format!("{config}{jump}")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let cp = format!("control_plane: {{ expander: {expander} }}\n");
    std::fs::write(&path, format!("{text}{cp}")).unwrap();
    let sc = load_scenario(Files::Disk, &path).unwrap();
    run_one(&sc, &sc.baseline, 1).0
}

/// Cluster-autoscaler expanders: six pending 1000m pods can take six `p` nodes (each left
/// with 930m of 1930m idle) or one `q` node (about 1.8 of 7.8 cores idle). least-waste picks
/// `q`; price picks `p` (0.5 per pod-node against 4.0 / 6 = 0.67 per pod).
#[test]
fn expander_picks_the_pool_least_waste_or_price() {
    let waste = expander_run("least-waste");
    assert_eq!(
        (waste.pools[0].peak_nodes, waste.pools[1].peak_nodes),
        (1, 1)
    );
    let price = expander_run("price");
    assert_eq!(price.pools[1].peak_nodes, 0);
    assert!(
        price.pools[0].peak_nodes >= 6,
        "{}",
        price.pools[0].peak_nodes
    );
    assert!(price.timeline.last().unwrap().ready[0] >= 6);
    assert!(waste.timeline.last().unwrap().ready[0] >= 6);
}

/// A one-worker service making `ops` MongoDB-style calls of `round_trip` to `server`.
fn pooled_svc(workers: u32, server: &str, ops: u32, round_trip: &str) -> String {
    format!(
        "name: app\nworkers: {workers}\nconcurrency_per_worker: 1000\nidle_cpu: 0\n\
         memory: {{ base_per_worker: 100Mi }}\nstartup: {{ min: 10s, max: 10s }}\n\
         readiness_delay: 5s\ntimeout: 60s\nclasses:\n  - {{ name: api, share: 1.0, cpu_ms: 5, \
         downstream: [ {{ server: {server}, ops_per_request: {ops}, round_trip: {round_trip} }} ] }}\n"
    )
}

/// Loads the generated scenario with `svc`, `config` and a `servers:` block appended.
fn load_pooled(
    p: &Params,
    svc: &str,
    config: &str,
    servers: &str,
) -> (tempfile::TempDir, costsim::model::scenario::Scenario) {
    let (d, path) = scenario(p);
    let dir = path.parent().unwrap().to_path_buf();
    std::fs::write(dir.join("svc.yaml"), svc).unwrap();
    std::fs::write(dir.join("config.yaml"), config).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}servers:\n{servers}")).unwrap();
    let sc = load_scenario(Files::Disk, &path).unwrap();
    (d, sc)
}

fn pooled_config(replicas: u32, hpa_max: Option<u32>, pool: &str) -> String {
    let hpa = hpa_max.map_or(String::new(), |max| {
        format!(
            "    hpa:\n      minReplicas: {replicas}\n      maxReplicas: {max}\n      metrics:\n        \
             - type: Resource\n          resource: {{ name: cpu, target: {{ type: Utilization, averageUtilization: 70 }} }}\n"
        )
    });
    format!(
        "name: base\nworkloads:\n  app:\n    node_pool: p\n    replicas: {replicas}\n    resources:\n      \
         requests: {{ cpu: 100m, memory: 128Mi }}\n    client_pools:\n      {pool}\n{hpa}"
    )
}

/// Connections = (maxReplicas + maxSurge + maxUnavailable) × processes × (maxPoolSize +
/// monitors) against the server's limit: a rollout at 10 replicas runs 10 + ceil(25 % × 10)
/// = 13 pods, and the floor(25 % × 10) = 2 old pods it scaled down still hold their pools
/// through their grace period, 15 in all; pymongo's default 100 on 2 processes each can open
/// 15 × 2 × 102 = 3,060 connections to a 500-connection ApsaraDB node, and the candidate is
/// infeasible at scale-out; maxPoolSize 20 (15 × 2 × 22 = 660) is still over, 14
/// (15 × 2 × 16 = 480) fits and keeps the SLA; maxPoolSize 1 with a 1 ms checkout timeout fits
/// too but fails requests.
#[test]
fn pool_budget_over_the_server_limit_is_infeasible_and_a_smaller_pool_fits() {
    let p = Params {
        rate_per_minute: vec![20; 30],
        ..Params::default()
    };
    let svc = pooled_svc(2, "mongodb", 3, "2ms");
    let servers = "  mongodb: { max_connections: 500, replica_set_members: 3 }\n";
    let run = |pool: &str| {
        let (_d, sc) = load_pooled(&p, &svc, &pooled_config(2, Some(10), pool), servers);
        run_one(&sc, &sc.baseline, 1).1
    };
    let default = run("mongodb: { client: pymongo }");
    let c = &default.connections[0];
    assert_eq!((c.budget_at_max_replicas, c.within_limit), (3060, false));
    assert_eq!(c.idle_at_min_replicas, 2 * 2 * 2);
    use costsim::search::risk::{verdict, Verdict};
    assert!(!default.sla.breached);
    assert_eq!(verdict(&default, None, 0.05), Verdict::Infeasible);
    let over = run("mongodb: { client: pymongo, maxPoolSize: 20 }");
    assert_eq!(
        (
            over.connections[0].budget_at_max_replicas,
            over.connections[0].within_limit
        ),
        (660, false)
    );
    let small = run("mongodb: { client: pymongo, maxPoolSize: 14 }");
    assert_eq!(small.connections[0].budget_at_max_replicas, 480);
    assert_eq!(
        verdict(&small, None, 0.05),
        Verdict::Feasible,
        "{:?}",
        small.sla
    );
    // 20 req/s × 3 ops over 2 pods × 2 processes = 15 ops/s per process, holding 2 ms:
    // 0.03 in use; each process opens ceil(0.03 + 3√0.03) = 1 connection, plus 2 monitors.
    assert_eq!(small.connections[0].run.peak_connections, 2.0 * 2.0 * 3.0);
    let tiny = run("mongodb: { client: pymongo, maxPoolSize: 1, waitQueueTimeoutMS: 1 }");
    let errors = tiny.activity[0].run.pool_errors;
    // M/M/1 with λ = 15/s, μ = 500/s: P(W > 1 ms) = ρ·e^{−(μ−λ)·0.001} = 0.03·e^{−0.485}.
    let per_op = 0.03 * (-0.485f64).exp();
    let expected = 20.0 * 1800.0 * (1.0 - (1.0 - per_op).powi(3));
    assert!(
        (errors / expected - 1.0).abs() < 0.05,
        "{errors} vs {expected}"
    );
}

/// Field case "MongoDB: minPoolSize × processes over the Atlas connection cap at idle"
/// (novu#4073), whole run: three single-process pods with minPoolSize 200 hold
/// 3 × (200 + 2) = 606 connections against a 500 cap while nearly idle; the server refuses
/// 106 of the 600 pool connections, so each operation fails with probability 106/600 and a
/// 3-operation request with 1 − (494/600)³ ≈ 44 %. minPoolSize 5 holds 21.
#[test]
fn min_pool_size_times_processes_over_the_cap_fails_at_idle() {
    let p = Params {
        rate_per_minute: vec![1; 30],
        ..Params::default()
    };
    let svc = pooled_svc(1, "mongodb", 3, "2ms");
    let servers = "  mongodb: { max_connections: 500 }\n";
    let run = |pool: &str| {
        let (_d, sc) = load_pooled(&p, &svc, &pooled_config(3, None, pool), servers);
        run_one(&sc, &sc.baseline, 1)
    };
    let (r, ev) = run("mongodb: { client: pymongo, minPoolSize: 200, maxPoolSize: 500 }");
    assert_eq!(ev.connections[0].idle_at_min_replicas, 606);
    assert_eq!(r.servers[0].peak_connections, 606.0);
    assert!(ev.sla.breached);
    let share = ev.activity[0].run.pool_errors / ev.activity[0].run.arrivals;
    let expected = 1.0 - (494.0f64 / 600.0).powi(3);
    assert!((share - expected).abs() < 0.01, "{share} vs {expected}");
    let (r, ev) = run("mongodb: { client: pymongo, minPoolSize: 5, maxPoolSize: 500 }");
    assert_eq!(r.servers[0].peak_connections, 21.0);
    assert_eq!(ev.activity[0].run.pool_errors, 0.0);
}

/// Field case "redis-py Sentinel pool permanently loses a slot per in-flight connection at
/// each failover" (redis/redis-py#4187): max_connections 10 with 4 connections in flight
/// (40 req/s × 100 ms) at failovers at 1 h, 2 h and 3 h: capacity 10 → 6 → 2 → 0, and after
/// the third every request fails although the server has free slots; 8.0.2 keeps 10.
#[test]
fn sentinel_pool_leaks_a_slot_per_in_flight_connection_at_each_failover() {
    let p = Params {
        rate_per_minute: vec![40; 240],
        ..Params::default()
    };
    let svc = pooled_svc(1, "redis", 1, "100ms");
    let servers = "  redis: { max_connections: 10000, failovers: [1h, 2h, 3h] }\n";
    let pool = |version: &str| {
        format!("redis: {{ client: redis-py, pool_class: SentinelConnectionPool, max_connections: 10, version: \"{version}\" }}")
    };
    let run = |version: &str| {
        let (_d, sc) = load_pooled(&p, &svc, &pooled_config(1, None, &pool(version)), servers);
        run_one(&sc, &sc.baseline, 1)
    };
    let (_, leaky) = run("8.0.1");
    let w = &leaky.activity[0].run;
    assert_eq!(w.pool_slots_lost, 10);
    // The last hour fails entirely: at least 40 × 3600 errors.
    assert!(w.pool_errors > 40.0 * 3600.0, "{}", w.pool_errors);
    assert!(leaky.sla.breached);
    let (_, fixed) = run("8.0.2");
    assert_eq!(fixed.activity[0].run.pool_slots_lost, 0);
    // Erlang B(10, 4) = 0.0053 of the operations still find the pool full.
    let share = fixed.activity[0].run.pool_errors / fixed.activity[0].run.arrivals;
    assert!((share - 0.005_308).abs() < 2e-4, "{share}");
}

/// Field case "sync pymongo calls in an async FastAPI worker serialize the event loop": one
/// uvicorn worker, 10 ms CPU and a 40 ms MongoDB round trip per request. Through motor (or
/// `api: async`) the loop awaits the round trip, so 30 req/s use 0.3 cores and nothing
/// fails; through pymongo's `MongoClient` (`api: sync`) the process is blocked 50 ms per
/// request and saturates at 1/0.05 = 20 req/s (0.2 cores), so at 30 req/s the queue fills
/// the worker's 1,000 slots and a third of the requests are rejected. Both load models put the saturation at
/// 0.2 cores; at 15 req/s the sync worker keeps up (0.15 cores, no errors).
#[test]
fn sync_driver_in_an_async_worker_saturates_at_one_over_the_blocked_time() {
    use costsim::search::run_one_with;
    use costsim::sim::engine::{LoadModel, Options};
    let svc = "name: app\nworkers: 1\nconcurrency_per_worker: 1000\nidle_cpu: 0\n\
               memory: { base_per_worker: 100Mi }\nstartup: { min: 10s, max: 10s }\n\
               readiness_delay: 5s\ntimeout: 60s\nclasses:\n  - { name: api, share: 1.0, cpu_ms: 10, \
               downstream: [ { server: mongodb, ops_per_request: 1, round_trip: 40ms } ] }\n";
    let servers = "  mongodb: { max_connections: 500 }\n";
    let run = |rate: u32, api: &str, requests: bool| {
        let p = Params {
            rate_per_minute: vec![rate; 20],
            ..Params::default()
        };
        let pool = format!("mongodb: {{ client: pymongo, api: {api} }}");
        let (_d, sc) = load_pooled(&p, svc, &pooled_config(1, None, &pool), servers);
        let opts = Options {
            load_model: if requests {
                LoadModel::Requests(Default::default())
            } else {
                LoadModel::Fluid
            },
            ..Options::default()
        };
        let w = run_one_with(&sc, &sc.baseline, 1, &opts).1.activity[0]
            .run
            .clone();
        let cores = w.cpu_usage_core_s / 1200.0;
        let errors = (w.rejected + w.timed_out + w.pool_errors) / w.arrivals;
        (cores, errors)
    };
    let mut sync_errors = Vec::new();
    for requests in [false, true] {
        let (cores, errors) = run(30, "async", requests);
        assert!((cores - 0.3).abs() < 0.02, "async {requests}: {cores}");
        assert_eq!(errors, 0.0, "async {requests}");
        // Saturated: 10 of the 30 req/s fail once the 1,000 slots are full (after ~100 s):
        // 10 × 1,100 / (30 × 1,200) = 0.31 of the run's requests.
        let (cores, errors) = run(30, "sync", requests);
        assert!((cores - 0.2).abs() < 0.01, "sync {requests}: {cores}");
        assert!((errors - 0.31).abs() < 0.03, "sync {requests}: {errors}");
        sync_errors.push(errors);
        let (cores, errors) = run(15, "sync", requests);
        assert!((cores - 0.15).abs() < 0.01, "sync 15/s {requests}: {cores}");
        assert!(errors < 1e-6, "sync 15/s {requests}: {errors}");
    }
    assert!(
        (sync_errors[0] - sync_errors[1]).abs() < 0.02,
        "{sync_errors:?}"
    );
}

/// Connection storm at start-up: 10 pods × 2 processes open their pools at once. With
/// minPoolSize 50, maxConnecting 2 and a 10 ms handshake each pool opens 200 connections per
/// second, so all 50 (and the 2 monitors) open in the first second: 20 × 52 = 1,040. With
/// minPoolSize 300 a pool needs 1.5 s: 20 × 200 + 20 × 2 = 4,040 in the first second, and
/// 20 × 302 = 6,040 opened in all.
#[test]
fn a_fleet_opening_its_pools_storms_the_server_at_max_connecting_per_handshake() {
    let p = Params {
        rate_per_minute: vec![1; 5],
        ..Params::default()
    };
    let svc = pooled_svc(2, "mongodb", 1, "2ms");
    let servers = "  mongodb: { max_connections: 100000, handshake: 10ms }\n";
    let run = |min: u32| {
        let pool = format!("mongodb: {{ client: pymongo, minPoolSize: {min}, maxPoolSize: 500 }}");
        let (_d, sc) = load_pooled(&p, &svc, &pooled_config(10, None, &pool), servers);
        run_one(&sc, &sc.baseline, 1).0.servers[0].clone()
    };
    let s = run(50);
    assert_eq!((s.peak_opens_per_s, s.opened_connections), (1040.0, 1040.0));
    let s = run(300);
    assert_eq!((s.peak_opens_per_s, s.opened_connections), (4040.0, 6040.0));
}

/// Per-connection memory on an in-cluster server (the scenario's Redis-like `cache`
/// workload): every client connection costs it 32 KiB by default (Redis's 16 KiB reply
/// buffer and 16 KiB query buffer). 10 caller pods × 2 processes holding minPoolSize 100 +
/// 2 monitors = 2,040 connections = 63.75 MiB on top of the 230 MiB base: 293.75 MiB over a
/// 256 MiB limit, so the cache is OOM-killed; with minPoolSize 10, 240 connections add
/// 7.5 MiB (237.5 MiB, fits).
#[test]
fn client_connections_cost_an_in_cluster_server_memory_until_it_ooms() {
    let p = Params {
        rate_per_minute: vec![2; 10],
        ..Params::default()
    };
    let run = |min: u32| {
        let (d, path) = scenario(&p);
        let dir = path.parent().unwrap().to_path_buf();
        std::fs::write(dir.join("svc.yaml"), pooled_svc(2, "cache", 1, "1ms")).unwrap();
        std::fs::write(
            dir.join("cache.yaml"),
            "name: cache\nworkers: 1\nconcurrency_per_worker: 10000\nidle_cpu: 0\n\
             memory: { base_pod: 230Mi, base_per_worker: 0 }\nstartup: { min: 5s, max: 5s }\n\
             readiness_delay: 5s\ntimeout: 5s\nclasses:\n  - { name: ops, share: 1.0, cpu_ms: 0.015 }\n",
        )
        .unwrap();
        let config = format!(
            "{}  cache:\n    node_pool: p\n    replicas: 1\n    resources:\n      \
             requests: {{ cpu: 100m, memory: 256Mi }}\n      limits: {{ memory: 256Mi }}\n",
            pooled_config(
                10,
                None,
                &format!("cache: {{ client: pymongo, minPoolSize: {min} }}")
            )
        );
        std::fs::write(dir.join("config.yaml"), config).unwrap();
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "smoothing: 0s }\n",
            "smoothing: 0s }\n  - name: cache\n    profile: cache.yaml\n    traffic: { downstream_only: true }\n",
        );
        std::fs::write(
            &path,
            format!("{text}servers:\n  cache: {{ max_connections: 10000 }}\n"),
        )
        .unwrap();
        let sc = load_scenario(Files::Disk, &path).unwrap();
        let r = run_one(&sc, &sc.baseline, 1).0;
        drop(d);
        r
    };
    let small = run(10);
    assert_eq!(small.servers[0].peak_connections, 240.0);
    let cache = &small.workloads[1];
    assert_eq!(cache.oom_kills, 0);
    let mib = 1024.0 * 1024.0;
    assert_eq!(cache.peak_pod_memory_bytes, 230.0 * mib + 240.0 * 32768.0);
    let big = run(100);
    assert_eq!(big.servers[0].peak_connections, 2040.0);
    assert!(big.workloads[1].oom_kills >= 1, "{:?}", big.workloads[1]);
    assert_eq!(big.workloads[0].oom_kills, 0);
}

/// The availability floor stands for a PodDisruptionBudget (minAvailable = floor) in the
/// cluster autoscaler's drains: four 500m pods start on two nodes (three and one) at low
/// traffic, and the HPA scales them to two, one on each underused node. Without a floor the
/// autoscaler drains one node and the workload runs on one ready pod until the evicted one is
/// back; with a floor of 2 that drain is refused.
#[test]
fn the_floor_keeps_drains_from_taking_ready_pods_below_it() {
    let p = Params {
        rate_per_minute: vec![2; 120],
        replicas: 4,
        hpa: Some((2, 8, 70)),
        ..Params::default()
    };
    let run = |floor: bool| {
        let (d, path) = scenario(&p);
        if floor {
            for (file, from, to) in [
                (
                    "scenario.yaml",
                    "    profile: svc.yaml\n",
                    "    profile: svc.yaml\n    min_replicas: 2\n",
                ),
                ("space.yaml", "min_replicas: [1]", "min_replicas: [2]"),
            ] {
                let f = d.path().join(file);
                let text = std::fs::read_to_string(&f).unwrap();
                assert!(text.contains(from), "fixture layout: {from}");
                std::fs::write(&f, text.replace(from, to)).unwrap();
            }
        }
        let sc = load_scenario(Files::Disk, &path).unwrap();
        let (run, _) = run_one(&sc, &sc.baseline, 1);
        (run.workloads[0].ready_min, run.workloads[0].evictions)
    };
    let (ready_min, evictions) = run(false);
    assert!(
        evictions > 0 && ready_min == 1,
        "without a floor: {ready_min} ready at least, {evictions} evictions"
    );
    let (ready_min, _) = run(true);
    assert_eq!(ready_min, 2, "the floor of 2 holds");
}

/// A hostname spread (topologySpreadConstraints on kubernetes.io/hostname, DoNotSchedule)
/// as the scheduler and the cluster autoscaler apply it: two 500m replicas fit one 2-vCPU
/// node. With `minDomains: 2` the global minimum counts as 0 while only one node exists, so
/// the second replica needs a second node (warm start and every drain respect it): 2 nodes
/// × 2 h × 0.5 + 2 h × 0.64 fee = 3.28 CNY, and the replicas never share a node. `maxSkew: 1`
/// alone does not: one node is one balanced domain (1 + 1 − 1 ≤ 1), so both replicas share
/// it, as without a constraint: 1 × 2 × 0.5 + 1.28 = 2.28 CNY.
#[test]
fn a_hostname_spread_needs_min_domains_to_put_replicas_on_separate_nodes() {
    let p = Params {
        replicas: 2,
        rate_per_minute: vec![2; 120],
        ..Params::default()
    };
    let run = |spread: Option<&str>| {
        let (d, path) = scenario(&p);
        if let Some(s) = spread {
            let f = d.path().join("config.yaml");
            let text = std::fs::read_to_string(&f).unwrap();
            let edited = text.replacen(
                "    node_pool: p\n",
                &format!("    node_pool: p\n    topology_spread: {s}\n"),
                1,
            );
            assert_ne!(text, edited, "fixture layout");
            std::fs::write(f, edited).unwrap();
        }
        let sc = load_scenario(Files::Disk, &path).unwrap();
        run_one(&sc, &sc.baseline, 1)
    };
    for spread in [None, Some("{ max_skew: 1 }")] {
        let (r, ev) = run(spread);
        assert!(
            (r.pools[0].node_seconds - 7200.0).abs() < 1e-9,
            "{spread:?}"
        );
        assert!((ev.cost.horizon - 2.28).abs() < 1e-9, "{spread:?}");
        assert!((r.workloads[0].single_node_seconds - 7200.0).abs() < 1e-9);
    }
    let (r, ev) = run(Some("{ max_skew: 1, min_domains: 2 }"));
    assert_eq!(r.pools[0].peak_nodes, 2);
    // Both nodes run the whole 2 h: each is under the 50 % scale-down threshold, but a drain
    // would put both replicas on one node (skew 2 − 0 > 1 with one domain left).
    assert!((r.pools[0].node_seconds - 14_400.0).abs() < 1e-9);
    assert!((ev.cost.horizon - 3.28).abs() < 1e-9, "{}", ev.cost.horizon);
    assert_eq!(r.workloads[0].single_node_seconds, 0.0);
    assert_eq!(r.workloads[0].evictions, 0);
}
