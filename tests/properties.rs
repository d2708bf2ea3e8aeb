//! Invariants of whole runs over random small scenarios (proptest): replicas stay within the
//! HPA's bounds, pods never take more than the nodes offer, node-seconds are never negative,
//! and cost is monotone in node-seconds.

mod common;

use common::{scenario, Params};
use costsim::eval::cost::cost;
use costsim::model::build::load_scenario;
use costsim::model::load::Files;
use costsim::search::run_one;
use proptest::prelude::*;

fn params() -> impl Strategy<Value = Params> {
    (
        prop::collection::vec(0u32..30, 10..40),
        1u32..4,
        prop::sample::select(vec!["100m", "250m", "500m", "900m"]),
        1i32..3,
        3i32..8,
        prop::sample::select(vec![40i32, 60, 80]),
        3u32..20,
        prop::sample::select(vec![None, Some("300Mi"), Some("2Gi")]),
    )
        .prop_map(
            |(rate, workers, cpu, min, max, target, max_pods, mem_limit)| Params {
                rate_per_minute: rate,
                workers,
                cpu_ms: 40.0,
                replicas: min as u32,
                hpa: Some((min, max, target)),
                cpu_request: cpu,
                max_pods,
                daemonsets: 2,
                memory_per_request: "5Mi",
                memory_limit: mem_limit,
                ..Params::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn runs_keep_their_invariants(p in params()) {
        let (min, max, _) = p.hpa.unwrap();
        let (_d, path) = scenario(&p);
        let sc = load_scenario(Files::Disk, &path).unwrap();
        let (run, ev) = run_one(&sc, &sc.baseline, 3);
        for point in &run.timeline {
            // The HPA's output stays within [minReplicas, maxReplicas].
            prop_assert!(point.desired[0] >= min as u32 && point.desired[0] <= max as u32,
                "desired {} outside [{min}, {max}]", point.desired[0]);
            // Pods never exceed what the nodes offer: ready pods ≤ slots of existing nodes.
            let slots = point.nodes[0] * sc.catalog.pools[0].capacity_for_pods().pods;
            prop_assert!(point.ready[0] <= slots);
        }
        let pool = &run.pools[0];
        prop_assert!(pool.node_seconds >= 0.0);
        // Requests bound to Ready nodes never exceed their allocatable.
        prop_assert!(pool.requested_cpu_milli_s <= pool.allocatable_cpu_milli_s + 1e-6);
        prop_assert!(pool.requested_memory_byte_s <= pool.allocatable_memory_byte_s + 1e-6);
        prop_assert!(ev.cost.horizon >= 0.0 && ev.cost.monthly.is_finite());
        // Cost is monotone in node-seconds.
        let mut more = run.clone();
        more.pools[0].node_seconds += 3600.0;
        let c2 = cost(&sc, &more);
        prop_assert!(c2.horizon > ev.cost.horizon);
        prop_assert!((c2.horizon - ev.cost.horizon - sc.catalog.pools[0].price_per_hour).abs() < 1e-9);
    }
}
