//! Unit tests with hand-computed values.

use super::behavior::*;
use super::config::*;
use super::controller::*;
use super::replica_calculator::*;
use super::spec::*;
use crate::time::{Millis, MINUTE, SECOND};
use proptest::prelude::*;

const NOW: Millis = 1_000 * MINUTE;
const MI: i64 = 1024 * 1024 * 1000; // one MiB in milli-bytes

fn ready_pods(n: usize) -> Vec<HpaPod> {
    vec![HpaPod::running_ready(0); n]
}

fn samples(now: Millis, reqs_usage: &[(Option<i64>, Option<i64>)]) -> PodMetrics {
    PodMetrics {
        per_pod: reqs_usage
            .iter()
            .map(|&(request, usage)| PodMetricPoint {
                request,
                sample: usage.map(|value| Sample {
                    value,
                    timestamp: now,
                    window: MINUTE,
                }),
            })
            .collect(),
        unknown_pods: vec![],
    }
}

fn tol() -> Tolerances {
    Tolerances::uniform(0.1)
}

fn policy(t: PolicyType, value: i32, period: i32) -> HpaScalingPolicy {
    HpaScalingPolicy {
        policy_type: t,
        value,
        period_seconds: period,
    }
}

fn rules(policies: Vec<HpaScalingPolicy>, select: SelectPolicy) -> HpaScalingRules {
    HpaScalingRules {
        stabilization_window_seconds: Some(0),
        select_policy: Some(select),
        policies: Some(policies),
        tolerance: None,
    }
}

fn rate(
    current: i32,
    desired: i32,
    up: &HpaScalingRules,
    down: &HpaScalingRules,
) -> LimitedReplicas {
    convert_desired_replicas_with_behavior_rate(
        NOW,
        &BehaviorRateArgs {
            current_replicas: current,
            desired_replicas: desired,
            min_replicas: 1,
            max_replicas: 1000,
            scale_up: up,
            scale_down: down,
            scale_up_events: &[],
            scale_down_events: &[],
        },
    )
}

// ---- §1.5 worked examples -------------------------------------------------------------------

#[test]
fn worked_example_default_scale_up_rule() {
    let up = HpaScalingRules::default_scale_up();
    let down = HpaScalingRules::default_scale_down();
    // max(10 + 4, ceil(10 × 2)) = 20
    let r = rate(10, 500, &up, &down);
    assert_eq!((r.replicas, r.reason), (20, "ScaleUpLimit"));
}

#[test]
fn worked_examples_single_policies() {
    let down = HpaScalingRules::default_scale_down();
    let pods30 = rules(vec![policy(PolicyType::Pods, 30, 60)], SelectPolicy::Max);
    assert_eq!(rate(10, 500, &pods30, &down).replicas, 40);
    let pct200 = rules(
        vec![policy(PolicyType::Percent, 200, 60)],
        SelectPolicy::Max,
    );
    assert_eq!(rate(10, 500, &pct200, &down).replicas, 30);
    let up = HpaScalingRules::default_scale_up();
    let pct50 = rules(vec![policy(PolicyType::Percent, 50, 60)], SelectPolicy::Max);
    let r = rate(10, 1, &up, &pct50);
    assert_eq!((r.replicas, r.reason), (5, "ScaleDownLimit"));
    // Max on scale-down = the biggest drop: min(100 − 20, trunc(100 × 0.99)) = 80
    let two = rules(
        vec![
            policy(PolicyType::Pods, 20, 60),
            policy(PolicyType::Percent, 1, 60),
        ],
        SelectPolicy::Max,
    );
    assert_eq!(rate(100, 1, &up, &two).replicas, 80);
    // Min on scale-down = the smallest drop: max(80, 99) = 99
    let two_min = HpaScalingRules {
        select_policy: Some(SelectPolicy::Min),
        ..two
    };
    assert_eq!(rate(100, 1, &up, &two_min).replicas, 99);
    // Disabled: no change at all.
    let disabled = HpaScalingRules {
        select_policy: Some(SelectPolicy::Disabled),
        ..HpaScalingRules::default_scale_up()
    };
    let r = rate(10, 50, &disabled, &down);
    assert_eq!((r.replicas, r.reason), (10, "ScaleUpLimit"));
}

#[test]
fn period_start_counts_only_strictly_newer_events() {
    let r = rules(vec![policy(PolicyType::Pods, 4, 60)], SelectPolicy::Max);
    let ev = |age_s: u64, change| ScaleEvent {
        replica_change: change,
        timestamp: NOW - age_s * SECOND,
        outdated: false,
    };
    // 30 s old: counted → start 5 − 2 = 3, limit 7.
    assert_eq!(
        calculate_scale_up_limit_with_scaling_rules(NOW, 5, &[ev(30, 2)], &[], &r),
        7
    );
    // Exactly one period old: not counted → limit 9.
    assert_eq!(
        calculate_scale_up_limit_with_scaling_rules(NOW, 5, &[ev(60, 2)], &[], &r),
        9
    );
    // Scale-down events raise the period start.
    assert_eq!(
        calculate_scale_up_limit_with_scaling_rules(NOW, 5, &[], &[ev(10, 3)], &r),
        12
    );
}

#[test]
fn legacy_clamp() {
    let r = convert_desired_replicas_with_rules(3, 1000, 1, 2000, 2.0, 4.0);
    assert_eq!((r.replicas, r.reason), (6, "ScaleUpLimit"));
    let r = convert_desired_replicas_with_rules(1, 1000, 1, 2000, 2.0, 4.0);
    assert_eq!(r.replicas, 4);
    let r = convert_desired_replicas_with_rules(20, 1000, 1, 10, 2.0, 4.0);
    assert_eq!((r.replicas, r.reason), (10, "TooManyReplicas"));
    let r = convert_desired_replicas_with_rules(5, 1, 3, 8, 2.0, 4.0);
    assert_eq!((r.replicas, r.reason), (3, "TooFewReplicas"));
}

#[test]
fn legacy_stabilization_takes_max_of_window_and_reuses_old_slot() {
    let rec = |age_s: u64, replicas| TimestampedRecommendation {
        replicas,
        timestamp: NOW - age_s * SECOND,
    };
    let mut h = vec![rec(600, 10), rec(60, 4), rec(120, 5), rec(540, 9)];
    assert_eq!(stabilize_recommendation(NOW, 5 * MINUTE, &mut h, 3), 5);
    assert_eq!(h.len(), 4, "the old entry at index 3 is reused");
    assert_eq!(h[3], rec(0, 3));
}

// ---- replica calculator ---------------------------------------------------------------------

#[test]
fn utilization_scale_up() {
    let cfg = ControllerConfig::default();
    let m = samples(
        NOW,
        &[
            (Some(2000), Some(600)),
            (Some(2000), Some(1000)),
            (Some(2000), Some(1400)),
        ],
    );
    let r = resource_utilization_replicas(
        3,
        30,
        ResourceName::Cpu,
        tol(),
        NOW,
        &ready_pods(3),
        &m,
        &cfg,
    )
    .unwrap();
    // 3000 / 6000 = 50 % → ratio 50/30 → ceil(1.667 × 3) = 5
    assert_eq!(
        r,
        UtilizationProposal {
            replicas: 5,
            utilization_percent: 50,
            raw_average: 1000
        }
    );
}

#[test]
fn utilization_uses_truncated_percent() {
    let cfg = ControllerConfig::default();
    // 10 pods at 300 of ~600 request: 3000 / 6000 = 50 % with target 56 → 0.893 → ceil(8.93) = 9
    let reqs = [800, 400, 620, 580, 604, 596, 602, 598, 600, 600];
    let pts: Vec<_> = reqs.iter().map(|r| (Some(*r), Some(300))).collect();
    let r = resource_utilization_replicas(
        10,
        56,
        ResourceName::Cpu,
        tol(),
        NOW,
        &ready_pods(10),
        &samples(NOW, &pts),
        &cfg,
    )
    .unwrap();
    assert_eq!(
        (r.replicas, r.utilization_percent, r.raw_average),
        (9, 50, 300)
    );
}

#[test]
fn missing_pod_on_scale_down_counts_at_target_over_100() {
    let cfg = ControllerConfig::default();
    let mut pods = ready_pods(4);
    pods[0].ready = false; // started at 0 and never became ready
    let m = samples(
        NOW,
        &[
            (Some(2000), Some(400)),
            (Some(2000), Some(200)),
            (Some(4000), Some(200)),
            (Some(4000), None),
        ],
    );
    let r = resource_utilization_replicas(4, 300, ResourceName::Cpu, tol(), NOW, &pods, &m, &cfg)
        .unwrap();
    // 400 / 6000 = 6 % → missing pod filled at 300 % of 4000 = 12000 →
    // 12400 / 10000 = 124 % → 0.413 → ceil(0.413 × 3) = 2
    assert_eq!(
        (r.replicas, r.utilization_percent, r.raw_average),
        (2, 6, 200)
    );
}

#[test]
fn hot_cpu_pods_are_not_trusted() {
    let cfg = ControllerConfig {
        cpu_initialization_period: 2 * MINUTE,
        initial_readiness_delay: 10 * SECOND,
        ..ControllerConfig::default()
    };
    let cool = HpaPod::running_ready(NOW - 3 * MINUTE);
    let hot = HpaPod::running_ready(NOW);
    let pods = [cool, cool, cool, hot, hot];
    let m = samples(
        NOW,
        &[
            (Some(2000), Some(200)),
            (Some(2000), Some(600)),
            (Some(2000), Some(1000)),
            (Some(2000), Some(500)),
            (Some(2000), Some(500)),
        ],
    );
    let r = resource_utilization_replicas(5, 50, ResourceName::Cpu, tol(), NOW, &pods, &m, &cfg)
        .unwrap();
    assert_eq!(
        (r.replicas, r.utilization_percent, r.raw_average),
        (2, 30, 600)
    );
    // The same pods with a memory metric skip the readiness checks: 2800 / 10000 = 28 % → 3.
    let r = resource_utilization_replicas(5, 50, ResourceName::Memory, tol(), NOW, &pods, &m, &cfg)
        .unwrap();
    assert_eq!(r.replicas, 3);
}

#[test]
fn utilization_errors() {
    let cfg = ControllerConfig::default();
    let m = samples(NOW, &[(None, Some(400))]);
    let e = resource_utilization_replicas(
        1,
        100,
        ResourceName::Cpu,
        tol(),
        NOW,
        &ready_pods(1),
        &m,
        &cfg,
    )
    .unwrap_err();
    assert!(e.contains("missing request for cpu"), "{e}");
    let mut m = samples(NOW, &[(Some(2000), None)]);
    m.unknown_pods.push(Sample {
        value: 200,
        timestamp: NOW,
        window: MINUTE,
    });
    let e = resource_utilization_replicas(
        1,
        100,
        ResourceName::Cpu,
        tol(),
        NOW,
        &ready_pods(1),
        &m,
        &cfg,
    )
    .unwrap_err();
    assert!(e.contains("no metrics returned matched known pods"), "{e}");
    let e = resource_utilization_replicas(1, 100, ResourceName::Cpu, tol(), NOW, &[], &m, &cfg)
        .unwrap_err();
    assert!(e.contains("no pods"), "{e}");
}

#[test]
fn field_case_memory_average_value_stays() {
    // 3 pods using 300Mi against averageValue 400Mi: ratio 0.75 → ceil(0.75 × 3) = ceil(2.25) = 3.
    let cfg = ControllerConfig::default();
    let m = samples(NOW, &[(Some(512 * MI), Some(300 * MI)); 3]);
    let r = plain_metric_replicas(
        3,
        400 * MI,
        Some(ResourceName::Memory),
        tol(),
        NOW,
        &ready_pods(3),
        &m,
        &cfg,
    )
    .unwrap();
    assert_eq!(
        r,
        AverageProposal {
            replicas: 3,
            average: 300 * MI
        }
    );
}

#[test]
fn plain_metric_missing_pod_at_target_keeps_current() {
    let cfg = ControllerConfig::default();
    let m = samples(
        NOW,
        &[(None, Some(10_000)), (None, Some(10_000)), (None, None)],
    );
    let r = plain_metric_replicas(2, 17_000, None, tol(), NOW, &ready_pods(3), &m, &cfg).unwrap();
    // ratio 0.588; filled: 37000/3/17000 = 0.725 → ceil(2.18) = 3 > current while scaling down → 2
    assert_eq!((r.replicas, r.average), (2, 10_000));
}

#[test]
fn object_and_external_targets() {
    let mut pods = ready_pods(3);
    pods[0].ready = false;
    pods[2].ready = false;
    // ratio 5 × 1 ready pod
    assert_eq!(
        object_value_replicas(3, 10_000, 50_000, tol(), &pods)
            .unwrap()
            .replicas,
        5
    );
    // within tolerance
    assert_eq!(
        object_value_replicas(3, 20_000, 20_666, tol(), &ready_pods(3))
            .unwrap()
            .replicas,
        3
    );
    // from zero: ceil(ratio) without tolerance
    assert_eq!(
        object_value_replicas(0, 15_000, 20_000, tol(), &[])
            .unwrap()
            .replicas,
        2
    );
    assert_eq!(
        object_value_replicas(0, 15_000, 15_100, tol(), &[])
            .unwrap()
            .replicas,
        2
    );
    // AverageValue: ceil(20000 / 5000) = 4, average ceil(20000 / 3) = 6667
    assert_eq!(
        average_value_replicas(3, 5_000, 20_000, tol()),
        AverageProposal {
            replicas: 4,
            average: 6667
        }
    );
    assert_eq!(average_value_replicas(3, 2_900, 8_600, tol()).replicas, 3);
    assert_eq!(sum_external_values(&[i64::MAX, 5]), i64::MAX);
}

#[test]
fn configurable_tolerance() {
    let cfg = ControllerConfig::default();
    let m = samples(
        NOW,
        &[
            (Some(1800), Some(1320)),
            (Some(2000), Some(1280)),
            (Some(2200), Some(1300)),
        ],
    );
    let loose = Tolerances {
        scale_down: 0.36,
        scale_up: 0.1,
    };
    let r = resource_utilization_replicas(
        3,
        100,
        ResourceName::Cpu,
        loose,
        NOW,
        &ready_pods(3),
        &m,
        &cfg,
    )
    .unwrap();
    assert_eq!(r.replicas, 3);
    let tight = Tolerances {
        scale_down: 0.34,
        scale_up: 0.1,
    };
    let r = resource_utilization_replicas(
        3,
        100,
        ResourceName::Cpu,
        tight,
        NOW,
        &ready_pods(3),
        &m,
        &cfg,
    )
    .unwrap();
    assert_eq!(r.replicas, 2);
}

// ---- controller -----------------------------------------------------------------------------

fn cpu_input(now: Millis, pods: usize, request: i64, usage: i64) -> MetricInput {
    MetricInput::PerPod(samples(now, &vec![(Some(request), Some(usage)); pods]))
}

fn external_spec(min: i32, max: i32, target: i64) -> HpaSpec {
    HpaSpec::new(
        min,
        max,
        vec![MetricSpec::External(ExternalMetricSource {
            metric: MetricIdentifier {
                name: "queue".into(),
            },
            target: MetricTarget::Value(target),
        })],
    )
}

#[test]
fn fresh_controller_does_not_scale_down_in_first_window() {
    let cfg = ControllerConfig::default();
    let spec = HpaSpec::new(
        1,
        10,
        vec![MetricSpec::resource_utilization(ResourceName::Cpu, 50)],
    );
    let mut c = HpaController::new();
    // 5 pods at 28 % of request → proposal 3, but the initial recommendation 5 holds.
    let out = c.reconcile(
        NOW,
        &spec,
        5,
        5,
        &[cpu_input(NOW, 5, 1000, 280)],
        &ready_pods(5),
        &cfg,
    );
    assert_eq!(
        (out.proposal, out.desired_replicas, out.rescaled),
        (Some(3), 5, false)
    );
    let able = out.conditions.get(ConditionType::AbleToScale).unwrap();
    assert_eq!(able.reason, "ScaleDownStabilized");
    // 5 min later the initial recommendation is still inside the window (not strictly older).
    let t = NOW + 5 * MINUTE;
    let out = c.reconcile(
        t,
        &spec,
        5,
        5,
        &[cpu_input(t, 5, 1000, 280)],
        &ready_pods(5),
        &cfg,
    );
    assert_eq!(out.desired_replicas, 5);
    let t = NOW + 5 * MINUTE + 15 * SECOND;
    let out = c.reconcile(
        t,
        &spec,
        5,
        5,
        &[cpu_input(t, 5, 1000, 280)],
        &ready_pods(5),
        &cfg,
    );
    assert_eq!((out.desired_replicas, out.rescaled), (3, true));
}

/// A condition that changes back to the message it held before takes that message back
/// instead of building it anew: 4 pods at 50 % of a 50 % target (ready), then at 10 %
/// (proposing 1, held at 4 by the stabilization), back, and at 10 % again.
#[test]
fn condition_messages_changing_back_are_taken_back() {
    let cfg = ControllerConfig::default();
    let spec = HpaSpec::new(
        1,
        10,
        vec![MetricSpec::resource_utilization(ResourceName::Cpu, 50)],
    );
    let mut c = HpaController::new();
    let able = |c: &HpaController| {
        let m = &c
            .conditions()
            .get(ConditionType::AbleToScale)
            .unwrap()
            .message;
        m.clone()
    };
    let mut messages = Vec::new();
    for (i, usage) in [500, 100, 500, 100].into_iter().enumerate() {
        let t = NOW + i as Millis * cfg.sync_period;
        let input = [cpu_input(t, 4, 1000, usage)];
        let step = c.reconcile_in_place(t, &spec, 4, 4, &input, &ready_pods(4), &cfg);
        assert_eq!((step.desired_replicas, step.rescaled), (4, false));
        messages.push(able(&c));
    }
    assert_eq!(
        &*messages[0],
        "the recommendation equals the stabilized size"
    );
    assert_eq!(
        &*messages[1],
        "recent higher recommendations hold the scale-down back"
    );
    assert!(std::sync::Arc::ptr_eq(&messages[0], &messages[2]));
    assert!(std::sync::Arc::ptr_eq(&messages[1], &messages[3]));
}

/// The condition messages: built only when they change, and then exactly as before; the
/// in-place reconcile leaves the same status in the controller as the copying one reports.
#[test]
fn condition_messages_and_in_place_status() {
    let cfg = ControllerConfig::default();
    let spec = HpaSpec::new(
        1,
        10,
        vec![MetricSpec::resource_utilization(ResourceName::Cpu, 50)],
    );
    let message = |c: &HpaController, t| c.conditions().get(t).unwrap().message.to_string();
    let mut c = HpaController::new();
    let input = [cpu_input(NOW, 4, 1000, 500)];
    let out = c.reconcile(NOW, &spec, 4, 4, &input, &ready_pods(4), &cfg);
    assert_eq!(out.conditions, *c.conditions());
    assert_eq!(out.metric_statuses, c.metric_statuses());
    assert_eq!(
        message(&c, ConditionType::ScalingActive),
        "a replica count was computed from cpu resource utilization (percent of request)"
    );
    assert_eq!(
        message(&c, ConditionType::AbleToScale),
        "the recommendation equals the stabilized size"
    );
    let kept = c
        .conditions()
        .get(ConditionType::ScalingActive)
        .unwrap()
        .message
        .clone();
    let t = NOW + 15 * SECOND;
    let input = [cpu_input(t, 4, 1000, 900)];
    let step = c.reconcile_in_place(t, &spec, 4, 4, &input, &ready_pods(4), &cfg);
    assert_eq!((step.desired_replicas, step.rescaled), (8, true));
    assert_eq!(
        message(&c, ConditionType::AbleToScale),
        "the target scale was updated to 8"
    );
    let active = c.conditions().get(ConditionType::ScalingActive).unwrap();
    assert!(std::sync::Arc::ptr_eq(&active.message, &kept));
    assert_eq!(c.metric_statuses()[0].average_utilization, Some(90));
    let pods_spec = HpaSpec::new(
        1,
        10,
        vec![MetricSpec::Pods(PodsMetricSource {
            metric: MetricIdentifier {
                name: "requests_per_second".into(),
            },
            target: MetricTarget::AverageValue(1000),
        })],
    );
    c.reconcile_in_place(t, &pods_spec, 4, 4, &input, &ready_pods(4), &cfg);
    assert_eq!(
        message(&c, ConditionType::ScalingActive),
        "a replica count was computed from pods metric requests_per_second"
    );
    // Back to the CPU metric, after a pods metric and after scaling was disabled: the message
    // is built again each time, never taken for the one set from the same metric before.
    let cpu = "a replica count was computed from cpu resource utilization (percent of request)";
    let input = [cpu_input(t, 4, 1000, 500)];
    c.reconcile_in_place(t, &spec, 4, 4, &input, &ready_pods(4), &cfg);
    assert_eq!(message(&c, ConditionType::ScalingActive), cpu);
    c.reconcile_in_place(t, &spec, 0, 0, &[], &[], &cfg);
    assert_eq!(
        message(&c, ConditionType::ScalingActive),
        "the target has zero replicas, so autoscaling is off"
    );
    c.reconcile_in_place(t, &spec, 4, 4, &input, &ready_pods(4), &cfg);
    let active = c.conditions().get(ConditionType::ScalingActive).unwrap();
    assert_eq!((active.status, active.reason), (true, "ValidMetricFound"));
    assert_eq!(&*active.message, cpu);
}

#[test]
fn bounds_checks_come_first() {
    let cfg = ControllerConfig::default();
    let spec = HpaSpec::new(
        3,
        5,
        vec![MetricSpec::resource_utilization(ResourceName::Cpu, 90)],
    );
    let mut c = HpaController::new();
    let out = c.reconcile(NOW, &spec, 0, 0, &[], &[], &cfg);
    assert_eq!(out.desired_replicas, 0);
    let active = out.conditions.get(ConditionType::ScalingActive).unwrap();
    assert_eq!((active.status, active.reason), (false, "ScalingDisabled"));
    assert_eq!(
        c.reconcile(NOW, &spec, 10, 10, &[], &[], &cfg)
            .desired_replicas,
        5
    );
    assert_eq!(
        c.reconcile(NOW, &spec, 1, 1, &[], &[], &cfg)
            .desired_replicas,
        3
    );
}

#[test]
fn invalid_metric_blocks_scale_down_only() {
    let cfg = ControllerConfig::default();
    let mut spec = external_spec(2, 6, 1000);
    spec.metrics
        .insert(0, MetricSpec::resource_utilization(ResourceName::Cpu, 50));
    let err = MetricInput::FetchError("boom".into());
    // proposal 3 < 5 with one failed metric → no scaling
    let mut c = HpaController::with_history(vec![], vec![], vec![]);
    let out = c.reconcile(
        NOW,
        &spec,
        5,
        5,
        &[cpu_input(NOW, 5, 1000, 280), err.clone()],
        &ready_pods(5),
        &cfg,
    );
    assert_eq!(out.desired_replicas, 5);
    let active = out.conditions.get(ConditionType::ScalingActive).unwrap();
    assert_eq!(
        (active.status, active.reason),
        (false, "FailedGetExternalMetric")
    );
    assert!(out.error.is_some());
    // proposal 4 > 3: scale up despite the failed metric, error still reported
    spec.metrics[0] = MetricSpec::resource_utilization(ResourceName::Cpu, 30);
    let out = c.reconcile(
        NOW,
        &spec,
        3,
        3,
        &[cpu_input(NOW, 3, 1000, 400), err],
        &ready_pods(3),
        &cfg,
    );
    assert_eq!(out.desired_replicas, 4);
    assert!(out.error.is_some());
    // unknown source type
    let spec = HpaSpec::new(2, 6, vec![MetricSpec::Unknown("CheddarCheese".into())]);
    let out = c.reconcile(NOW, &spec, 3, 3, &[], &ready_pods(3), &cfg);
    let active = out.conditions.get(ConditionType::ScalingActive).unwrap();
    assert_eq!(
        (out.desired_replicas, active.reason),
        (3, "InvalidMetricSourceType")
    );
}

#[test]
fn unready_pods_with_object_value_metric_stay_at_min() {
    let cfg = ControllerConfig::default();
    let spec = HpaSpec::new(
        3,
        10,
        vec![MetricSpec::Object(ObjectMetricSource {
            described_object: None,
            metric: MetricIdentifier { name: "rps".into() },
            target: MetricTarget::Value(1000),
        })],
    );
    let mut pods = ready_pods(3);
    pods[1].ready = false;
    pods[2].ready = false;
    let mut c = HpaController::new();
    // ratio 1.11 × 1 ready pod → ceil(1.11) = 2 → clamped to minReplicas 3 → stays 3
    let out = c.reconcile(NOW, &spec, 3, 3, &[MetricInput::Value(1110)], &pods, &cfg);
    assert_eq!(
        (out.proposal, out.desired_replicas, out.rescaled),
        (Some(2), 3, false)
    );
    // Fresh controller: the initial recommendation 3 already holds it.
    let able = out.conditions.get(ConditionType::AbleToScale).unwrap();
    assert_eq!(able.reason, "ScaleDownStabilized");
    // Without history the minReplicas clamp is what keeps it at 3.
    let mut c = HpaController::with_history(vec![], vec![], vec![]);
    let out = c.reconcile(NOW, &spec, 3, 3, &[MetricInput::Value(1110)], &pods, &cfg);
    assert_eq!(
        (out.proposal, out.desired_replicas, out.rescaled),
        (Some(2), 3, false)
    );
    let limited = out.conditions.get(ConditionType::ScalingLimited).unwrap();
    assert_eq!((limited.status, limited.reason), (true, "TooFewReplicas"));
}

#[test]
fn percent_scale_down_steps_once_per_period() {
    let cfg = ControllerConfig::default();
    let mut spec = external_spec(4, 100, 1_000_000);
    spec.behavior = Some(Behavior {
        scale_up: None,
        scale_down: Some(HpaScalingRules {
            stabilization_window_seconds: Some(0),
            select_policy: None,
            policies: Some(vec![policy(PolicyType::Percent, 10, 25 * 60)]),
            tolerance: None,
        }),
    });
    let mut c = HpaController::new();
    let mut current = 30;
    let mut seen = vec![current];
    let mut changes = Vec::new();
    let mut t = NOW;
    for _ in 0..(15 * 100 * 4) {
        let out = c.reconcile(
            t,
            &spec,
            current,
            current,
            &[MetricInput::Value(1)],
            &ready_pods(current as usize),
            &cfg,
        );
        if out.desired_replicas != current {
            current = out.desired_replicas;
            seen.push(current);
            changes.push(t);
        }
        t += cfg.sync_period;
    }
    assert_eq!(
        seen,
        vec![30, 27, 24, 21, 18, 16, 14, 12, 10, 9, 8, 7, 6, 5, 4]
    );
    // The first step is immediate, then one step every 25 minutes: 14 periods.
    assert_eq!(changes[0], NOW);
    assert!(changes.windows(2).all(|w| w[1] - w[0] == 25 * MINUTE));
    assert_eq!(changes.last().copied(), Some(NOW + 13 * 25 * MINUTE));
    assert!(
        c.scale_down_events().len() <= 2,
        "outdated event slots are reused"
    );
}

#[test]
fn behavior_scale_up_is_rate_limited_and_recorded() {
    let cfg = ControllerConfig::default();
    let mut spec = HpaSpec::new(
        1,
        100,
        vec![MetricSpec::resource_utilization(ResourceName::Cpu, 10)],
    );
    spec.behavior = Some(Behavior {
        scale_up: Some(rules(
            vec![policy(PolicyType::Percent, 700, 60)],
            SelectPolicy::Max,
        )),
        scale_down: None,
    });
    let mut c = HpaController::new();
    let m = MetricInput::PerPod(samples(
        NOW,
        &[
            (Some(100), Some(100)),
            (Some(100), Some(200)),
            (Some(100), Some(300)),
        ],
    ));
    let out = c.reconcile(NOW, &spec, 3, 3, &[m], &ready_pods(3), &cfg);
    // proposal ceil(20 × 3) = 60, limited to ceil(3 × 8) = 24
    assert_eq!((out.proposal, out.desired_replicas), (Some(60), 24));
    assert_eq!(
        out.conditions
            .get(ConditionType::ScalingLimited)
            .unwrap()
            .reason,
        "ScaleUpLimit"
    );
    assert_eq!(c.scale_up_events().len(), 1);
    assert_eq!(c.scale_up_events()[0].replica_change, 21);
}

#[test]
fn legacy_path_stores_no_scale_events_and_history_stays_bounded() {
    let cfg = ControllerConfig::default();
    let spec = HpaSpec::new(
        1,
        50,
        vec![MetricSpec::resource_utilization(ResourceName::Cpu, 50)],
    );
    let mut c = HpaController::new();
    let mut current = 2;
    let mut t = NOW;
    for i in 0..2000u64 {
        let usage = if (i / 100) % 2 == 0 { 900 } else { 100 };
        let out = c.reconcile(
            t,
            &spec,
            current,
            current,
            &[cpu_input(t, current as usize, 1000, usage)],
            &ready_pods(current as usize),
            &cfg,
        );
        current = out.desired_replicas;
        t += cfg.sync_period;
    }
    assert!(c.scale_up_events().is_empty() && c.scale_down_events().is_empty());
    let bound = (cfg.downscale_stabilization_window / cfg.sync_period) as usize + 2;
    assert!(
        c.recommendations().len() <= bound,
        "{} > {bound}",
        c.recommendations().len()
    );
}

#[test]
fn scale_to_zero_with_object_metric() {
    let cfg = ControllerConfig::default();
    let spec = HpaSpec::new(
        0,
        6,
        vec![MetricSpec::Object(ObjectMetricSource {
            described_object: None,
            metric: MetricIdentifier::default(),
            target: MetricTarget::Value(20_000),
        })],
    );
    assert!(spec.validate().is_ok());
    let mut c = HpaController::with_history(vec![], vec![], vec![]);
    let out = c.reconcile(
        NOW,
        &spec,
        5,
        5,
        &[MetricInput::Value(0)],
        &ready_pods(5),
        &cfg,
    );
    assert_eq!(out.desired_replicas, 0);
    let mut c = HpaController::new();
    let out = c.reconcile(NOW, &spec, 0, 0, &[MetricInput::Value(20_000)], &[], &cfg);
    assert_eq!(out.desired_replicas, 1);
}

// ---- spec -----------------------------------------------------------------------------------

#[test]
fn spec_deserializes_kubernetes_shape_and_defaults() {
    let json = r#"{
        "maxReplicas": 10,
        "metrics": [
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
            {"type": "ContainerResource", "containerResource": {"name": "memory", "container": "app",
                "target": {"type": "AverageValue", "averageValue": 400}}},
            {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": 1000}}},
            {"type": "Object", "object": {"describedObject": {"kind": "Ingress", "name": "main"},
                "metric": {"name": "rps"}, "target": {"type": "Value", "value": 10000}}},
            {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "AverageValue", "averageValue": 30000}}}
        ],
        "behavior": {"scaleDown": {"policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}], "tolerance": 0.05}}
    }"#;
    let spec: HpaSpec = serde_json::from_str(json).unwrap();
    assert_eq!(spec.min_replicas, 1);
    assert_eq!(spec.metrics.len(), 5);
    assert!(spec.validate().is_ok(), "{:?}", spec.validate());
    let back: HpaSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
    assert_eq!(back, spec);
    let b = spec.behavior.as_ref().unwrap().with_defaults();
    assert_eq!(b.scale_up, Some(HpaScalingRules::default_scale_up()));
    let down = b.scale_down.unwrap();
    assert_eq!(down.stabilization_window_seconds, None);
    assert_eq!(down.select_policy, Some(SelectPolicy::Max));
    assert_eq!(down.tolerance, Some(0.05));
    let t = tolerances_for(spec.behavior.as_ref(), &ControllerConfig::default());
    assert_eq!((t.scale_down, t.scale_up), (0.05, 0.1));

    let bare: HpaSpec = serde_json::from_str(r#"{"maxReplicas": 3, "metrics": []}"#).unwrap();
    assert_eq!(bare.metrics, default_metrics());
    assert_eq!(bare.behavior, None);
    assert!(serde_json::from_str::<HpaSpec>(
        r#"{"maxReplicas": 3, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}]}"#
    )
    .is_err());
}

#[test]
fn validation_names_fields() {
    let mut spec = HpaSpec::new(5, 3, default_metrics());
    assert_eq!(
        spec.validate().unwrap_err(),
        "minReplicas (5) must be <= maxReplicas (3)"
    );
    spec.min_replicas = 0;
    assert!(spec.validate().unwrap_err().contains("minReplicas (0)"));
    spec.min_replicas = 1;
    spec.metrics = vec![MetricSpec::resource_utilization(ResourceName::Cpu, 0)];
    assert!(spec
        .validate()
        .unwrap_err()
        .contains("metrics[0].resource.target.averageUtilization (0)"));
    spec.metrics = vec![MetricSpec::Pods(PodsMetricSource {
        metric: MetricIdentifier::default(),
        target: MetricTarget::Value(5),
    })];
    assert!(spec
        .validate()
        .unwrap_err()
        .contains("metrics[0].pods.target.type"));
    spec.metrics = default_metrics();
    spec.behavior = Some(Behavior {
        scale_up: Some(HpaScalingRules {
            stabilization_window_seconds: Some(3601),
            select_policy: None,
            policies: Some(vec![policy(PolicyType::Pods, 4, 1801)]),
            tolerance: Some(-0.1),
        }),
        scale_down: Some(HpaScalingRules {
            policies: Some(vec![]),
            ..HpaScalingRules::default()
        }),
    });
    let e = spec.validate().unwrap_err();
    for field in [
        "behavior.scaleUp.stabilizationWindowSeconds (3601)",
        "behavior.scaleUp.policies[0].periodSeconds (1801)",
        "behavior.scaleUp.tolerance (-0.1)",
        "behavior.scaleDown.policies: must specify at least one policy",
    ] {
        assert!(e.contains(field), "{field} not in {e}");
    }
    spec.behavior = None;
    spec.metrics.clear();
    assert!(spec.validate().unwrap_err().contains("at least one metric"));
}

#[test]
fn config_defaults() {
    let c = ControllerConfig::default();
    assert_eq!(c.sync_period, 15 * SECOND);
    assert_eq!(c.tolerance, 0.1);
    assert_eq!(c.downscale_stabilization_window_seconds(), 300);
    assert_eq!(c.cpu_initialization_period, 5 * MINUTE);
    assert_eq!(c.initial_readiness_delay, 30 * SECOND);
    assert_eq!(
        (c.scale_up_limit_factor, c.scale_up_limit_minimum),
        (2.0, 4.0)
    );
}

// ---- properties -----------------------------------------------------------------------------

fn arb_rules() -> impl Strategy<Value = Option<HpaScalingRules>> {
    let pol = (
        prop_oneof![Just(PolicyType::Pods), Just(PolicyType::Percent)],
        1..300i32,
        1..1800i32,
    )
        .prop_map(|(t, v, p)| policy(t, v, p));
    let sel = prop_oneof![
        Just(None),
        Just(Some(SelectPolicy::Max)),
        Just(Some(SelectPolicy::Min)),
        Just(Some(SelectPolicy::Disabled))
    ];
    proptest::option::of(
        (
            proptest::option::of(0..3600i32),
            sel,
            proptest::option::of(proptest::collection::vec(pol, 1..4)),
        )
            .prop_map(|(w, s, p)| HpaScalingRules {
                stabilization_window_seconds: w,
                select_policy: s,
                policies: p,
                tolerance: None,
            }),
    )
}

proptest! {
    #[test]
    fn reconcile_stays_within_bounds(
        min in 1..20i32,
        span in 0..50i32,
        start in 0..70i32,
        behavior in proptest::option::of((arb_rules(), arb_rules())),
        usages in proptest::collection::vec(0..5000i64, 1..40),
        steps in 1..30usize,
    ) {
        let max = min + span;
        let current0 = start.clamp(min, max);
        let mut spec = HpaSpec::new(min, max, vec![MetricSpec::resource_utilization(ResourceName::Cpu, 60)]);
        spec.behavior = behavior.map(|(u, d)| Behavior { scale_up: u, scale_down: d });
        let cfg = ControllerConfig::default();
        let mut c = HpaController::new();
        let mut current = current0;
        let mut t = NOW;
        for s in 0..steps {
            let usage = usages[s % usages.len()];
            let n = current.max(1) as usize;
            let out = c.reconcile(t, &spec, current, current, &[cpu_input(t, n, 1000, usage)], &ready_pods(n), &cfg);
            prop_assert!(out.desired_replicas >= min && out.desired_replicas <= max,
                "{} not in [{min}, {max}]", out.desired_replicas);
            current = out.desired_replicas;
            t += cfg.sync_period;
        }
    }

    #[test]
    fn pure_limits_never_panic(
        current in -5..2000i32,
        desired in -5..5000i32,
        min in 0..50i32,
        max in 0..3000i32,
        up in arb_rules(),
        down in arb_rules(),
        changes in proptest::collection::vec((0..400u64, 0..500i32), 0..6),
    ) {
        let events: Vec<ScaleEvent> = changes.iter().map(|&(age, ch)| ScaleEvent {
            replica_change: ch, timestamp: NOW.saturating_sub(age * SECOND), outdated: false }).collect();
        let up = HpaScalingRules::generate_scale_up(up.as_ref());
        let down = HpaScalingRules::generate_scale_down(down.as_ref());
        let r = convert_desired_replicas_with_behavior_rate(NOW, &BehaviorRateArgs {
            current_replicas: current, desired_replicas: desired, min_replicas: min, max_replicas: max,
            scale_up: &up, scale_down: &down, scale_up_events: &events, scale_down_events: &events,
        });
        if min <= current && current <= max {
            prop_assert!(r.replicas >= min && r.replicas <= max);
        }
        let _ = convert_desired_replicas_with_rules(current, desired, min, max, 2.0, 4.0);
    }
}

fn arb_pod() -> impl Strategy<Value = (HpaPod, PodMetricPoint)> {
    let phase = prop_oneof![
        Just(PodPhase::Pending),
        Just(PodPhase::Running),
        Just(PodPhase::Succeeded),
        Just(PodPhase::Failed),
        Just(PodPhase::Unknown)
    ];
    let big = prop_oneof![any::<i64>(), -10..10_000i64, Just(i64::MAX), Just(0i64)];
    (
        phase,
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(any::<u64>()),
        proptest::option::of(any::<u64>()),
        proptest::option::of(big.clone()),
        proptest::option::of((big, any::<u64>(), any::<u64>())),
    )
        .prop_map(|(phase, deleting, ready, start, since, request, sample)| {
            (
                HpaPod {
                    phase,
                    deleting,
                    ready,
                    start_time: start,
                    ready_transition_time: since,
                },
                PodMetricPoint {
                    request,
                    sample: sample.map(|(value, timestamp, window)| Sample {
                        value,
                        timestamp,
                        window,
                    }),
                },
            )
        })
}

proptest! {
    #[test]
    fn calculators_and_reconcile_never_panic(
        pods in proptest::collection::vec(arb_pod(), 0..8),
        extra in proptest::collection::vec(any::<i64>(), 0..3),
        current in any::<i32>(),
        status in any::<i32>(),
        target in any::<i64>(),
        pct in any::<i32>(),
        now in any::<u64>(),
        tol_d in -1.0..3.0f64,
        tol_u in -1.0..3.0f64,
        min in -3..10i32,
        max in -3..50i32,
        value in any::<i64>(),
    ) {
        let cfg = ControllerConfig::default();
        let hpa_pods: Vec<HpaPod> = pods.iter().map(|p| p.0).collect();
        let m = PodMetrics {
            per_pod: pods.iter().map(|p| p.1).collect(),
            unknown_pods: extra.iter().map(|v| Sample { value: *v, timestamp: now, window: MINUTE }).collect(),
        };
        let tol = Tolerances { scale_down: tol_d, scale_up: tol_u };
        for res in [ResourceName::Cpu, ResourceName::Memory] {
            let _ = resource_utilization_replicas(current, pct, res, tol, now, &hpa_pods, &m, &cfg);
            let _ = plain_metric_replicas(current, target, Some(res), tol, now, &hpa_pods, &m, &cfg);
        }
        let _ = plain_metric_replicas(current, target, None, tol, now, &hpa_pods, &m, &cfg);
        let _ = object_value_replicas(current, target, value, tol, &hpa_pods);
        let _ = average_value_replicas(status, target, value, tol);
        let mut spec = external_spec(min, max, target);
        spec.metrics.push(MetricSpec::resource_utilization(ResourceName::Cpu, pct));
        spec.behavior = Some(Behavior::default());
        let inputs = [MetricInput::Value(value), MetricInput::PerPod(m.clone())];
        let mut c = HpaController::new();
        let _ = c.reconcile(now, &spec, current, status, &inputs, &hpa_pods, &cfg);
        spec.behavior = None;
        let _ = c.reconcile(now.saturating_add(15 * SECOND), &spec, current, status, &inputs, &hpa_pods, &cfg);
    }
}

proptest! {
    /// The narrow division shortcut gives the `i128` quotient.
    #[test]
    fn narrow_division_matches_i128(a in any::<i128>(), b in any::<i128>(), s in any::<i64>(), t in any::<i64>()) {
        prop_assume!(b != 0 && t != 0);
        prop_assert_eq!(div_i128(a, b), a / b);
        prop_assert_eq!(div_i128(s as i128, t as i128), s as i128 / t as i128);
    }
}

proptest! {
    /// A controller that repeats the last proposal whenever a sync's inputs equal the last
    /// full reconcile's ends every sync exactly as one that always reconciles in full: the
    /// same outcome, conditions, metric statuses, recommendation history and scale events,
    /// with and without behaviors, across scale-ups, stabilized scale-downs and limits. Within
    /// the time `settled_until` gave after an ordinary sync, the repeats take the settled
    /// shortcut (`repeat_settled`), as the simulator's skipped syncs do.
    #[test]
    fn repeated_proposals_equal_full_reconciles(
        min in 1..6i32,
        span in 0..12i32,
        behavior in proptest::option::of((arb_rules(), arb_rules())),
        // Each sync reads the usage of one of a few levels, often the same as before.
        levels in proptest::collection::vec(0..3000i64, 1..4),
        picks in proptest::collection::vec(0..4usize, 5..80),
    ) {
        let max = min + span;
        let mut spec = HpaSpec::new(min, max, vec![MetricSpec::resource_utilization(ResourceName::Cpu, 60)]);
        spec.behavior = behavior.map(|(u, d)| Behavior { scale_up: u, scale_down: d });
        let cfg = ControllerConfig::default();
        let (mut full, mut repeating) = (HpaController::new(), HpaController::new());
        let mut current = min;
        let mut last_input: Option<(i32, i64)> = None;
        let mut settled: Option<Millis> = None;
        for (s, &pick) in picks.iter().enumerate() {
            let t = NOW + s as Millis * cfg.sync_period;
            let usage = levels[pick % levels.len()];
            let n = current.max(1) as usize;
            let input = [cpu_input(t, n, 1000, usage)];
            let pods = ready_pods(n);
            let a = full.reconcile_in_place(t, &spec, current, current, &input, &pods, &cfg);
            let same = last_input == Some((current, usage));
            let b = if same && settled.is_some_and(|until| t <= until) {
                repeating.repeat_settled(t, &spec, current, current, &cfg).unwrap()
            } else {
                let b = match same
                    .then(|| repeating.reconcile_repeat(t, &spec, current, current, &cfg))
                    .flatten()
                {
                    Some(b) => b,
                    None => {
                        last_input = Some((current, usage));
                        repeating.reconcile_in_place(t, &spec, current, current, &input, &pods, &cfg)
                    }
                };
                settled = (!b.rescaled)
                    .then(|| repeating.settled_until(t, &spec, &cfg))
                    .flatten();
                b
            };
            prop_assert_eq!(&a, &b, "sync {}", s);
            prop_assert_eq!(full.conditions(), repeating.conditions());
            prop_assert_eq!(full.metric_statuses(), repeating.metric_statuses());
            prop_assert_eq!(full.recommendations(), repeating.recommendations());
            prop_assert_eq!(full.scale_up_events(), repeating.scale_up_events());
            prop_assert_eq!(full.scale_down_events(), repeating.scale_down_events());
            current = a.desired_replicas;
        }
    }
}

/// A repeat needs the last full reconcile's proposal at the same replica counts: none before
/// any reconcile, none at other counts, and after a proposal it concludes like the full one
/// (here a stabilized scale-down: 3 pods at 10 % of a 60 % target propose 1, held at 3).
#[test]
fn repeats_need_a_proposal_at_the_same_counts() {
    let cfg = ControllerConfig::default();
    let spec = HpaSpec::new(
        1,
        10,
        vec![MetricSpec::resource_utilization(ResourceName::Cpu, 60)],
    );
    let mut c = HpaController::new();
    assert_eq!(c.reconcile_repeat(NOW, &spec, 3, 3, &cfg), None);
    let input = [cpu_input(NOW, 3, 1000, 100)];
    let first = c.reconcile_in_place(NOW, &spec, 3, 3, &input, &ready_pods(3), &cfg);
    assert_eq!((first.proposal, first.desired_replicas), (Some(1), 3));
    assert_eq!(
        c.reconcile_repeat(NOW + cfg.sync_period, &spec, 4, 4, &cfg),
        None
    );
    let mut full = c.clone();
    let t = NOW + cfg.sync_period;
    let again = c.reconcile_repeat(t, &spec, 3, 3, &cfg).unwrap();
    let reference = full.reconcile_in_place(t, &spec, 3, 3, &input, &ready_pods(3), &cfg);
    assert_eq!(again, reference);
    assert_eq!(c, full);
    assert_eq!(
        c.recommendations().len(),
        3,
        "initial, first and repeated recommendation"
    );
}
