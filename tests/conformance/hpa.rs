//! hpa_replicas and hpa_behavior cases: the JSON inputs are turned into costsim's HPA inputs
//! (pods, samples, specs, histories) and every expected key is compared.
//!
//! Time model of the upstream harnesses: "now" is a fixed instant; pod `start` is `epoch`
//! (time 0), `hot` (now, inside the CPU initialization period), `cool` (now − 3 min) or a number
//! of seconds before now; the Ready condition changed at the start time; every metric sample is
//! taken at now with the harness metric window; history entries carry `ageSeconds`.
use super::Outcome;
use costsim::k8s::hpa::behavior::{
    calculate_scale_down_limit_with_behaviors, calculate_scale_up_limit,
    calculate_scale_up_limit_with_scaling_rules, convert_desired_replicas_with_behavior_rate,
    convert_desired_replicas_with_rules, replicas_change_per_period, stabilize_recommendation,
    stabilize_recommendation_with_behaviors, store_scale_event, BehaviorRateArgs, ScaleEvent,
    TimestampedRecommendation,
};
use costsim::k8s::hpa::controller::{ConditionType, HpaController, MetricInput};
use costsim::k8s::hpa::replica_calculator::{
    average_value_replicas, object_value_replicas, plain_metric_replicas,
    resource_utilization_replicas, sum_external_values, HpaPod, PodMetricPoint, PodMetrics,
    PodPhase, Sample, Tolerances,
};
use costsim::k8s::hpa::spec::{
    Behavior, ContainerResourceMetricSource, ExternalMetricSource, HpaScalingRules, HpaSpec,
    MetricIdentifier, MetricSpec, MetricTarget, ObjectMetricSource, PodsMetricSource,
    ResourceMetricSource, ResourceName,
};
use costsim::k8s::hpa::ControllerConfig;
use costsim::time::{Millis, MINUTE, SECOND};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The harness "now" (well after the epoch, so every age fits).
const NOW: Millis = 1_000_000 * SECOND;
/// Metric window when the harness does not give one (metrics-server / upstream fakes: 1 min).
const DEFAULT_METRIC_WINDOW: Millis = MINUTE;
/// Pod request the controller-level harness uses when it creates the pods itself ("1.0").
const DEFAULT_POD_REQUEST_MILLI: i64 = 1000;

type Actual = BTreeMap<&'static str, Value>;

pub fn run_replicas_case(case: &serde_json::Value) -> Outcome {
    let inputs = &case["inputs"];
    let result = Ctx::new(inputs).and_then(|ctx| replicas_case(inputs, &ctx));
    finish(&case["expected"], result)
}

pub fn run_behavior_case(case: &serde_json::Value) -> Outcome {
    let inputs = &case["inputs"];
    let function = inputs["function"]
        .as_str()
        .or_else(|| case["function"].as_str())
        .unwrap_or("");
    let name: String = function
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let ctx = match Ctx::new(inputs) {
        Ok(c) => c,
        Err(e) => return Outcome::Fail(format!("cannot read the harness: {e}")),
    };
    let result = match name.as_str() {
        "reconcileAutoscaler" => reconcile_case(inputs, &ctx, &case["expected"]),
        "convertDesiredReplicasWithBehaviorRate" => rate_case(inputs, &ctx),
        "convertDesiredReplicasWithRules" => legacy_rules_case(inputs, &ctx),
        "stabilizeRecommendation" => legacy_stabilize_case(inputs, &ctx),
        "stabilizeRecommendationWithBehaviors" => behavior_stabilize_case(inputs, &ctx),
        "calculateScaleUpLimitWithScalingRules" => limit_case(inputs, &ctx, true),
        "calculateScaleDownLimitWithBehaviors" => limit_case(inputs, &ctx, false),
        "storeScaleEvent" => store_events_case(inputs, &ctx),
        "getReplicasChangePerPeriod" => change_per_period_case(inputs, &ctx),
        "calculateScaleUpLimit" => int(inputs, "currentReplicas").map(|c| {
            let l = calculate_scale_up_limit(
                c,
                ctx.cfg.scale_up_limit_factor,
                ctx.cfg.scale_up_limit_minimum,
            );
            Ok(Actual::from([("limit", json!(l))]))
        }),
        _ => return Outcome::Unsupported(format!("function `{function}` is not mapped")),
    };
    finish(&case["expected"], result)
}

// ---- comparison -----------------------------------------------------------------------------

fn finish(expected: &Value, result: Result<Result<Actual, String>, String>) -> Outcome {
    match result {
        Err(e) => Outcome::Fail(format!("cannot interpret the case: {e}")),
        Ok(actual) => compare(expected, actual),
    }
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

/// Compares every expected key; `error` is a substring of the error message.
fn compare(expected: &Value, actual: Result<Actual, String>) -> Outcome {
    let Some(exp) = expected.as_object() else {
        return Outcome::Fail("`expected` is not an object".into());
    };
    let mut diffs = Vec::new();
    match (&actual, exp.get("error")) {
        (Err(msg), Some(want)) => {
            let want = want.as_str().unwrap_or("");
            if !msg.contains(want) {
                diffs.push(format!("error `{msg}` does not contain `{want}`"));
            }
        }
        (Err(msg), None) => return Outcome::Fail(format!("unexpected error: {msg}")),
        (Ok(a), Some(want)) => {
            return Outcome::Fail(format!("expected error `{want}`, got {a:?}"));
        }
        (Ok(_), None) => {}
    }
    for (k, want) in exp {
        if k == "error" {
            continue;
        }
        let Ok(a) = &actual else {
            diffs.push(format!("`{k}` cannot be checked: the computation failed"));
            continue;
        };
        match a.get(k.as_str()) {
            None => diffs.push(format!(
                "unknown expected key `{k}` (not produced for this case)"
            )),
            Some(got) if !json_eq(got, want) => {
                diffs.push(format!("`{k}`: expected {want}, got {got}"))
            }
            Some(_) => {}
        }
    }
    if diffs.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(diffs.join("; "))
    }
}

// ---- reading inputs -------------------------------------------------------------------------

struct Ctx {
    now: Millis,
    cfg: ControllerConfig,
    window: Millis,
}

fn secs(v: &Value) -> Option<Millis> {
    let s = v.as_f64()?;
    (s.is_finite() && s >= 0.0).then(|| (s * 1000.0).round() as Millis)
}

impl Ctx {
    fn new(inputs: &Value) -> Result<Ctx, String> {
        let mut cfg = ControllerConfig::default();
        let mut window = DEFAULT_METRIC_WINDOW;
        if let Some(h) = inputs.get("harness").and_then(Value::as_object) {
            for (k, v) in h {
                match k.as_str() {
                    "cpu_initialization_period_s" => {
                        cfg.cpu_initialization_period = secs(v).ok_or("bad cpu period")?
                    }
                    "initial_readiness_delay_s" => {
                        cfg.initial_readiness_delay = secs(v).ok_or("bad readiness delay")?
                    }
                    "downscale_stabilization_window_s" => {
                        cfg.downscale_stabilization_window = secs(v).ok_or("bad window")?
                    }
                    "metric_window_s" => window = secs(v).ok_or("bad metric window")?,
                    "tolerance" => cfg.tolerance = v.as_f64().ok_or("bad tolerance")?,
                    "legacy_scaleUpLimitFactor" => {
                        cfg.scale_up_limit_factor = v.as_f64().ok_or("bad factor")?
                    }
                    "legacy_scaleUpLimitMinimum" => {
                        cfg.scale_up_limit_minimum = v.as_f64().ok_or("bad minimum")?
                    }
                    "sync_period_s" => cfg.sync_period = secs(v).ok_or("bad sync period")?,
                    _ => {} // notes and other informational keys
                }
            }
        }
        Ok(Ctx {
            now: NOW,
            cfg,
            window,
        })
    }

    fn ago(&self, v: &Value) -> Result<Millis, String> {
        let age = secs(v).ok_or_else(|| format!("bad age {v}"))?;
        Ok(self.now.saturating_sub(age))
    }

    fn sample(&self, value: i64) -> Sample {
        Sample {
            value,
            timestamp: self.now,
            window: self.window,
        }
    }
}

fn int(v: &Value, key: &str) -> Result<i32, String> {
    v.get(key)
        .and_then(Value::as_i64)
        .and_then(|x| i32::try_from(x).ok())
        .ok_or_else(|| format!("`{key}` missing or not an int32"))
}

fn int_or(v: &Value, key: &str, default: i32) -> Result<i32, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(_) => int(v, key),
    }
}

fn milli(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

/// Start time of a pod: `epoch`, `hot`, `cool`, or seconds before now.
fn start_time(v: Option<&Value>, ctx: &Ctx) -> Result<Option<Millis>, String> {
    match v {
        None | Some(Value::Null) => Ok(Some(0)),
        Some(Value::String(s)) => match s.as_str() {
            "epoch" => Ok(Some(0)),
            "hot" => Ok(Some(ctx.now)),
            "cool" => Ok(Some(ctx.now.saturating_sub(3 * MINUTE))),
            "none" | "unset" => Ok(None),
            other => Err(format!("unknown pod start `{other}`")),
        },
        Some(n) => ctx.ago(n).map(Some),
    }
}

fn phase(v: Option<&Value>) -> Result<PodPhase, String> {
    Ok(match v.and_then(Value::as_str).unwrap_or("Running") {
        "Running" => PodPhase::Running,
        "Pending" => PodPhase::Pending,
        "Succeeded" => PodPhase::Succeeded,
        "Failed" => PodPhase::Failed,
        "Unknown" => PodPhase::Unknown,
        other => return Err(format!("unknown pod phase `{other}`")),
    })
}

/// A pod of the case plus its raw JSON (so each metric can pick its own value key).
struct CasePod<'a> {
    pod: HpaPod,
    raw: Option<&'a Value>,
}

fn parse_pod<'a>(p: &'a Value, ctx: &Ctx) -> Result<CasePod<'a>, String> {
    let start = start_time(p.get("start"), ctx)?;
    Ok(CasePod {
        pod: HpaPod {
            phase: phase(p.get("phase"))?,
            deleting: p.get("deleting").and_then(Value::as_bool).unwrap_or(false),
            ready: p.get("ready").and_then(Value::as_bool).unwrap_or(true),
            start_time: start,
            // The upstream harnesses set the Ready transition time to the pod start time.
            ready_transition_time: start.or(Some(0)),
        },
        raw: Some(p),
    })
}

fn parse_pods<'a>(v: &'a Value, ctx: &Ctx) -> Result<Vec<CasePod<'a>>, String> {
    v.as_array()
        .ok_or("`pods` is not an array")?
        .iter()
        .map(|p| parse_pod(p, ctx))
        .collect()
}

/// `n` Running, Ready pods started at the epoch with the default request and no samples.
fn default_pods<'a>(n: i32) -> Vec<CasePod<'a>> {
    (0..n.max(0))
        .map(|_| CasePod {
            pod: HpaPod::running_ready(0),
            raw: None,
        })
        .collect()
}

/// Per-pod data for one metric: the request and the first present value key.
fn pod_metrics(pods: &[CasePod<'_>], value_keys: &[&str], extras: &[i64], ctx: &Ctx) -> PodMetrics {
    PodMetrics {
        per_pod: pods
            .iter()
            .map(|p| match p.raw {
                None => PodMetricPoint {
                    request: Some(DEFAULT_POD_REQUEST_MILLI),
                    sample: None,
                },
                Some(raw) => PodMetricPoint {
                    request: milli(raw, "request_milli"),
                    sample: value_keys
                        .iter()
                        .find_map(|k| raw.get(*k))
                        .and_then(Value::as_i64)
                        .map(|v| ctx.sample(v)),
                },
            })
            .collect(),
        unknown_pods: extras.iter().map(|v| ctx.sample(*v)).collect(),
    }
}

fn int_list(v: Option<&Value>) -> Result<Vec<i64>, String> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_i64().ok_or_else(|| format!("not an integer: {x}")))
            .collect(),
        Some(other) => Err(format!("expected a list of integers, got {other}")),
    }
}

/// An Object / External total: `metric_total_milli`, `metric_value_milli`, or a list of series.
fn total_of(v: &Value) -> Result<Option<i64>, String> {
    for k in ["metric_total_milli", "metric_value_milli", "value_milli"] {
        if let Some(x) = v.get(k).filter(|x| !x.is_null()) {
            return x
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("`{k}` is not an integer"));
        }
    }
    for k in ["metric_values_milli", "metric_levels_milli", "levels_milli"] {
        if v.get(k).is_some() {
            return Ok(Some(sum_external_values(&int_list(v.get(k))?)));
        }
    }
    Ok(None)
}

/// First word of a type string: `"Object (target type Value)"` → `Object`.
fn type_word(s: &str) -> &str {
    s.split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
}

fn resource_name(v: Option<&Value>) -> Result<ResourceName, String> {
    match v.and_then(Value::as_str).unwrap_or("cpu") {
        "cpu" => Ok(ResourceName::Cpu),
        "memory" => Ok(ResourceName::Memory),
        other => Err(format!("unsupported resource `{other}`")),
    }
}

fn tolerances(inputs: &Value, ctx: &Ctx) -> Tolerances {
    let t = &inputs["tolerances"];
    Tolerances {
        scale_down: t["scaleDown"].as_f64().unwrap_or(ctx.cfg.tolerance),
        scale_up: t["scaleUp"].as_f64().unwrap_or(ctx.cfg.tolerance),
    }
}

/// The target of a case or metric entry; `hint` is the type string (which may name one).
fn target_of(v: &Value, hint: &str) -> Result<MetricTarget, String> {
    let util = v
        .get("target_average_utilization_percent")
        .and_then(Value::as_i64);
    let avg = milli(v, "target_average_value_milli");
    let val = milli(v, "target_value_milli");
    let named_avg = hint.contains("AverageValue");
    let named_val = !named_avg && hint.contains("Value");
    let int32 = |x: i64| i32::try_from(x).map_err(|_| format!("utilization {x} too large"));
    match (util, avg, val) {
        (_, Some(a), _) if named_avg => Ok(MetricTarget::AverageValue(a)),
        (_, _, Some(x)) if named_val => Ok(MetricTarget::Value(x)),
        (Some(u), _, _) => Ok(MetricTarget::Utilization(int32(u)?)),
        (None, Some(a), _) => Ok(MetricTarget::AverageValue(a)),
        (None, None, Some(x)) => Ok(MetricTarget::Value(x)),
        (None, None, None) => Err("no target given".into()),
    }
}

// ---- hpa_replicas ---------------------------------------------------------------------------

fn replicas_case(inputs: &Value, ctx: &Ctx) -> Result<Result<Actual, String>, String> {
    let current = int(inputs, "current_replicas")?;
    let source = inputs["metric_source"]
        .as_str()
        .ok_or("`metric_source` missing")?;
    let tol = tolerances(inputs, ctx);
    let target = target_of(inputs, source)?;
    let extras = int_list(inputs.get("extra_metrics_for_unknown_pods_milli"))?;
    let pods = match inputs.get("pods") {
        Some(p) if !p.is_null() => parse_pods(p, ctx)?,
        _ => match inputs.get("pod_readiness").and_then(Value::as_array) {
            Some(r) => r
                .iter()
                .map(|ready| {
                    let mut pod = HpaPod::running_ready(0);
                    pod.ready = ready.as_bool().unwrap_or(true);
                    CasePod { pod, raw: None }
                })
                .collect(),
            None => default_pods(current),
        },
    };
    let hpa_pods: Vec<HpaPod> = pods.iter().map(|p| p.pod).collect();
    let kind = type_word(source);
    Ok(match (kind, target) {
        ("Resource" | "ContainerResource", MetricTarget::Utilization(pct)) => {
            let res = resource_name(inputs.get("resource"))?;
            let m = pod_metrics(&pods, &["usage_milli", "metric_milli"], &extras, ctx);
            resource_utilization_replicas(current, pct, res, tol, ctx.now, &hpa_pods, &m, &ctx.cfg)
                .map(|r| {
                    Actual::from([
                        ("replicas", json!(r.replicas)),
                        ("utilization_percent", json!(r.utilization_percent)),
                        ("raw_average_usage_milli", json!(r.raw_average)),
                    ])
                })
        }
        ("Resource" | "ContainerResource", MetricTarget::AverageValue(avg)) => {
            let res = resource_name(inputs.get("resource"))?;
            let m = pod_metrics(&pods, &["usage_milli", "metric_milli"], &extras, ctx);
            plain_metric_replicas(
                current,
                avg,
                Some(res),
                tol,
                ctx.now,
                &hpa_pods,
                &m,
                &ctx.cfg,
            )
            .map(|r| {
                Actual::from([
                    ("replicas", json!(r.replicas)),
                    ("average_value_milli", json!(r.average)),
                    ("raw_average_usage_milli", json!(r.average)),
                ])
            })
        }
        ("Pods", MetricTarget::AverageValue(avg)) => {
            let m = pod_metrics(&pods, &["metric_milli", "usage_milli"], &extras, ctx);
            plain_metric_replicas(current, avg, None, tol, ctx.now, &hpa_pods, &m, &ctx.cfg).map(
                |r| {
                    Actual::from([
                        ("replicas", json!(r.replicas)),
                        ("average_value_milli", json!(r.average)),
                    ])
                },
            )
        }
        ("Object" | "External", MetricTarget::Value(t)) => {
            let v = total_of(inputs)?.ok_or("no metric total given")?;
            object_value_replicas(current, t, v, tol, &hpa_pods).map(|r| {
                Actual::from([
                    ("replicas", json!(r.replicas)),
                    ("value_milli", json!(r.value)),
                ])
            })
        }
        ("Object" | "External", MetricTarget::AverageValue(t)) => {
            let v = total_of(inputs)?.ok_or("no metric total given")?;
            let status = int_or(inputs, "status_replicas", current)?;
            let r = average_value_replicas(status, t, v, tol);
            Ok(Actual::from([
                ("replicas", json!(r.replicas)),
                ("average_value_milli", json!(r.average)),
            ]))
        }
        (k, t) => {
            return Err(format!(
                "metric source `{k}` with target {t:?} is not mapped"
            ))
        }
    })
}

// ---- hpa_behavior: pure functions -----------------------------------------------------------

fn events(inputs: &Value, key: &str, ctx: &Ctx) -> Result<Vec<ScaleEvent>, String> {
    match inputs.get(key) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|e| {
                Ok(ScaleEvent {
                    replica_change: int(e, "replicaChange")?,
                    timestamp: ctx.ago(&e["ageSeconds"])?,
                    outdated: e.get("outdated").and_then(Value::as_bool).unwrap_or(false),
                })
            })
            .collect(),
        Some(other) => Err(format!("`{key}` is not a list: {other}")),
    }
}

fn recommendations(v: &Value, ctx: &Ctx) -> Result<Vec<TimestampedRecommendation>, String> {
    v.as_array()
        .ok_or("recommendations are not a list")?
        .iter()
        .map(|r| {
            Ok(TimestampedRecommendation {
                replicas: int(r, "replicas")?,
                timestamp: ctx.ago(&r["ageSeconds"])?,
            })
        })
        .collect()
}

/// Scaling rules: an object in the API shape, or a description such as "defaulted (...)".
fn rules(v: Option<&Value>) -> Result<Option<HpaScalingRules>, String> {
    match v {
        None | Some(Value::Null) | Some(Value::String(_)) => Ok(None),
        Some(obj) => serde_json::from_value(obj.clone())
            .map(Some)
            .map_err(|e| format!("bad scaling rules {obj}: {e}")),
    }
}

fn behavior(v: Option<&Value>) -> Result<Option<Behavior>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let l = s.to_ascii_lowercase();
            if l.contains("default") {
                Ok(Some(Behavior::default()))
            } else if ["nil", "none", "null", "legacy"]
                .iter()
                .any(|w| l.starts_with(w))
            {
                Ok(None)
            } else {
                Err(format!("unknown behavior description `{s}`"))
            }
        }
        Some(b) => Ok(Some(Behavior {
            scale_up: rules(b.get("scaleUp"))?,
            scale_down: rules(b.get("scaleDown"))?,
        })),
    }
}

type CaseResult = Result<Result<Actual, String>, String>;

fn rate_case(inputs: &Value, ctx: &Ctx) -> CaseResult {
    let up = HpaScalingRules::generate_scale_up(rules(inputs.get("scaleUp"))?.as_ref());
    let down = HpaScalingRules::generate_scale_down(rules(inputs.get("scaleDown"))?.as_ref());
    let up_events = events(inputs, "scaleUpEvents", ctx)?;
    let down_events = events(inputs, "scaleDownEvents", ctx)?;
    let desired =
        int(inputs, "prenormalizedDesiredReplicas").or_else(|_| int(inputs, "desiredReplicas"))?;
    let r = convert_desired_replicas_with_behavior_rate(
        ctx.now,
        &BehaviorRateArgs {
            current_replicas: int(inputs, "currentReplicas")?,
            desired_replicas: desired,
            min_replicas: int_or(inputs, "minReplicas", 1)?,
            max_replicas: int(inputs, "maxReplicas")?,
            scale_up: &up,
            scale_down: &down,
            scale_up_events: &up_events,
            scale_down_events: &down_events,
        },
    );
    Ok(Ok(Actual::from([
        ("replicas", json!(r.replicas)),
        ("condition_reason", json!(r.reason)),
    ])))
}

fn legacy_rules_case(inputs: &Value, ctx: &Ctx) -> CaseResult {
    let desired =
        int(inputs, "prenormalizedDesiredReplicas").or_else(|_| int(inputs, "desiredReplicas"))?;
    let r = convert_desired_replicas_with_rules(
        int(inputs, "currentReplicas")?,
        desired,
        int_or(inputs, "minReplicas", 1)?,
        int(inputs, "maxReplicas")?,
        ctx.cfg.scale_up_limit_factor,
        ctx.cfg.scale_up_limit_minimum,
    );
    Ok(Ok(Actual::from([
        ("replicas", json!(r.replicas)),
        ("condition_reason", json!(r.reason)),
    ])))
}

fn legacy_stabilize_case(inputs: &Value, ctx: &Ctx) -> CaseResult {
    let window = [
        "downscaleStabilisationWindowSeconds",
        "downscaleStabilizationWindowSeconds",
    ]
    .iter()
    .find_map(|k| inputs.get(*k).and_then(secs))
    .unwrap_or(ctx.cfg.downscale_stabilization_window);
    let mut history = recommendations(&inputs["recommendations"], ctx)?;
    let r = stabilize_recommendation(
        ctx.now,
        window,
        &mut history,
        int(inputs, "prenormalizedDesiredReplicas")?,
    );
    let mut a = Actual::from([("replicas", json!(r))]);
    stored_log(&mut a, &history);
    Ok(Ok(a))
}

fn behavior_stabilize_case(inputs: &Value, ctx: &Ctx) -> CaseResult {
    let mut history = recommendations(&inputs["recommendations"], ctx)?;
    let down_default = ctx.cfg.downscale_stabilization_window_seconds();
    let r = stabilize_recommendation_with_behaviors(
        ctx.now,
        &mut history,
        int(inputs, "currentReplicas")?,
        int(inputs, "prenormalizedDesiredReplicas")?,
        int_or(inputs, "scaleUpStabilizationWindowSeconds", 0)?,
        int_or(inputs, "scaleDownStabilizationWindowSeconds", down_default)?,
    );
    let mut a = Actual::from([
        ("replicas", json!(r.replicas)),
        ("condition_reason", json!(r.reason)),
    ]);
    stored_log(&mut a, &history);
    Ok(Ok(a))
}

/// The recommendation log after a stabilization call: its length (upstream's
/// `expectedLogLength`) and the stored replica counts in order (`expectedRecommendations`).
fn stored_log(a: &mut Actual, history: &[TimestampedRecommendation]) {
    let stored: Vec<i32> = history.iter().map(|r| r.replicas).collect();
    a.insert("log_length", json!(stored.len()));
    a.insert("recommendations_length", json!(stored.len()));
    a.insert("stored_recommendations", json!(stored));
}

/// `storeScaleEvent` (TestStoreScaleEvents): the change within `periodSeconds` (default 60)
/// before storing, then the events after storing a change of `replicaChange` from
/// `prevReplicas`, checked in both directions (as upstream's test does); `scalingRules` null
/// means no behavior, so nothing is stored.
fn store_events_case(inputs: &Value, ctx: &Ctx) -> CaseResult {
    let key = ["prevScaleEvents", "scaleEvents", "events"]
        .into_iter()
        .find(|k| inputs.get(*k).is_some())
        .unwrap_or("prevScaleEvents");
    let prev = events(inputs, key, ctx)?;
    let change = int(inputs, "replicaChange")?;
    let period = int_or(inputs, "periodSeconds", 60)?;
    let rules_key = ["scalingRules", "rules", "behavior"]
        .into_iter()
        .find(|k| inputs.get(*k).is_some())
        .unwrap_or("scalingRules");
    let rules = rules(inputs.get(rules_key))?;
    let before = replicas_change_per_period(ctx.now, period, &prev);
    let mut results = Vec::new();
    for up in [true, false] {
        let mut evs = prev.clone();
        if let Some(r) = &rules {
            let defaulted = if up {
                HpaScalingRules::generate_scale_up(Some(r))
            } else {
                HpaScalingRules::generate_scale_down(Some(r))
            };
            store_scale_event(ctx.now, &defaulted, &mut evs, change);
        }
        let shown: Vec<Value> = evs
            .iter()
            .map(|e| json!({"replicaChange": e.replica_change, "outdated": e.outdated}))
            .collect();
        results.push(shown);
    }
    if results[0] != results[1] {
        return Ok(Err(format!(
            "scale-up and scale-down bookkeeping differ: {:?} vs {:?}",
            results[0], results[1]
        )));
    }
    Ok(Ok(Actual::from([
        ("replicasChangePerPeriod", json!(before)),
        ("replicas_change", json!(before)),
        ("newScaleEvents", json!(results[0])),
        ("events_after", json!(results[0])),
    ])))
}

/// `getReplicasChangePerPeriod`: the sum of the changes newer than `now − periodSeconds`.
fn change_per_period_case(inputs: &Value, ctx: &Ctx) -> CaseResult {
    let key = ["scaleEvents", "events", "prevScaleEvents", "scaleUpEvents"]
        .into_iter()
        .find(|k| inputs.get(*k).is_some())
        .unwrap_or("scaleEvents");
    let evs = events(inputs, key, ctx)?;
    let r = replicas_change_per_period(ctx.now, int(inputs, "periodSeconds")?, &evs);
    Ok(Ok(Actual::from([
        ("replicasChangePerPeriod", json!(r)),
        ("replicas_change", json!(r)),
    ])))
}

fn limit_case(inputs: &Value, ctx: &Ctx, up: bool) -> CaseResult {
    let key = if inputs.get("rules").is_some() {
        "rules"
    } else if up {
        "scaleUp"
    } else {
        "scaleDown"
    };
    let r = rules(inputs.get(key))?.unwrap_or_default();
    let up_events = events(inputs, "scaleUpEvents", ctx)?;
    let down_events = events(inputs, "scaleDownEvents", ctx)?;
    let current = int(inputs, "currentReplicas")?;
    let limit = if up {
        calculate_scale_up_limit_with_scaling_rules(ctx.now, current, &up_events, &down_events, &r)
    } else {
        calculate_scale_down_limit_with_behaviors(ctx.now, current, &up_events, &down_events, &r)
    };
    Ok(Ok(Actual::from([("limit", json!(limit))])))
}

// ---- hpa_behavior: controller-level ---------------------------------------------------------

/// How to feed one metric entry of a reconcile case.
enum Feed {
    PerPod(&'static [&'static str], Vec<i64>),
    Total(Option<i64>),
    Error,
}

fn metric_entry(m: &Value) -> Result<(MetricSpec, Feed), String> {
    let ty = m["type"].as_str().ok_or("metric without `type`")?;
    let word = type_word(ty);
    let name = MetricIdentifier {
        name: m["name"].as_str().unwrap_or("qps").to_string(),
    };
    let error = m["fetch"].as_str() == Some("error");
    let extras = int_list(m.get("extra_metrics_for_unknown_pods_milli"))?;
    let per_pod = |keys| {
        if error {
            Feed::Error
        } else {
            Feed::PerPod(keys, extras.clone())
        }
    };
    let total = || -> Result<Feed, String> {
        Ok(if error {
            Feed::Error
        } else {
            Feed::Total(total_of(m)?)
        })
    };
    Ok(match word {
        "Resource" => (
            MetricSpec::Resource(ResourceMetricSource {
                name: resource_name(m.get("resource"))?,
                target: target_of(m, ty)?,
            }),
            per_pod(&["usage_milli", "metric_milli"]),
        ),
        "ContainerResource" => (
            MetricSpec::ContainerResource(ContainerResourceMetricSource {
                name: resource_name(m.get("resource"))?,
                container: m["container"].as_str().unwrap_or("container1").to_string(),
                target: target_of(m, ty)?,
            }),
            per_pod(&["usage_milli", "metric_milli"]),
        ),
        "Pods" => (
            MetricSpec::Pods(PodsMetricSource {
                metric: name,
                target: target_of(m, ty)?,
            }),
            per_pod(&["metric_milli", "usage_milli"]),
        ),
        "Object" => (
            MetricSpec::Object(ObjectMetricSource {
                described_object: None,
                metric: name,
                target: target_of(m, ty)?,
            }),
            total()?,
        ),
        "External" => (
            MetricSpec::External(ExternalMetricSource {
                metric: name,
                target: target_of(m, ty)?,
            }),
            total()?,
        ),
        other => (MetricSpec::Unknown(other.to_string()), Feed::Error),
    })
}

fn condition_type(s: &str) -> Option<ConditionType> {
    match s {
        "AbleToScale" => Some(ConditionType::AbleToScale),
        "ScalingActive" => Some(ConditionType::ScalingActive),
        "ScalingLimited" => Some(ConditionType::ScalingLimited),
        _ => None,
    }
}

fn reconcile_case(inputs: &Value, ctx: &Ctx, expected: &Value) -> CaseResult {
    let min = int_or(inputs, "minReplicas", 1)?;
    let max = int(inputs, "maxReplicas")?;
    let spec_replicas = int(inputs, "specReplicas")?;
    let status_replicas = int_or(inputs, "statusReplicas", spec_replicas)?;
    let mut metrics = Vec::new();
    let mut feeds = Vec::new();
    for m in inputs["metrics"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let (spec, feed) = metric_entry(m)?;
        metrics.push(spec);
        feeds.push(feed);
    }
    if metrics.is_empty() {
        // API defaulting: CPU utilization 80 %, fed from the pods' usage.
        metrics = costsim::k8s::hpa::spec::default_metrics();
        feeds.push(Feed::PerPod(&["usage_milli"], vec![]));
    }
    let pods = match inputs.get("pods") {
        Some(p) if !p.is_null() => parse_pods(p, ctx)?,
        _ => default_pods(status_replicas),
    };
    let hpa_pods: Vec<HpaPod> = pods.iter().map(|p| p.pod).collect();
    let top_extras = int_list(inputs.get("extra_metrics_for_unknown_pods_milli"))?;
    let metric_inputs: Vec<MetricInput> = feeds
        .into_iter()
        .map(|f| match f {
            Feed::PerPod(keys, mut extras) => {
                extras.extend_from_slice(&top_extras);
                MetricInput::PerPod(pod_metrics(&pods, keys, &extras, ctx))
            }
            Feed::Total(Some(v)) => MetricInput::Value(v),
            Feed::Total(None) => MetricInput::FetchError("the case gives no value".into()),
            Feed::Error => MetricInput::FetchError("metrics API error".into()),
        })
        .collect();
    let spec = HpaSpec {
        min_replicas: min,
        max_replicas: max,
        metrics,
        behavior: behavior(inputs.get("behavior"))?,
    };
    let mut controller = match inputs.get("recommendation_history") {
        None | Some(Value::Null) => HpaController::new(),
        Some(Value::String(s)) => {
            let l = s.to_ascii_lowercase();
            if l.contains("fresh") || (l.starts_with("nil") && !l.contains("non-nil")) {
                HpaController::new()
            } else if l.contains("empty") || l.contains("non-nil") {
                HpaController::with_history(vec![], vec![], vec![])
            } else {
                return Err(format!("unknown recommendation history `{s}`"));
            }
        }
        Some(h) => HpaController::with_history(recommendations(h, ctx)?, vec![], vec![]),
    };
    let up_events = events(inputs, "scaleUpEvents", ctx)?;
    let down_events = events(inputs, "scaleDownEvents", ctx)?;
    if !up_events.is_empty() || !down_events.is_empty() {
        controller.set_scale_events(up_events, down_events);
    }
    let out = controller.reconcile(
        ctx.now,
        &spec,
        spec_replicas,
        status_replicas,
        &metric_inputs,
        &hpa_pods,
        &ctx.cfg,
    );
    let mut actual = Actual::from([
        ("desiredReplicas", json!(out.desired_replicas)),
        ("replicas", json!(out.desired_replicas)),
        ("rescaled", json!(out.rescaled)),
    ]);
    if let Some(c) = out.conditions.get(ConditionType::ScalingLimited) {
        actual.insert("condition_reason", json!(c.reason));
    }
    if let Some(u) = out
        .metric_statuses
        .iter()
        .find_map(|s| s.average_utilization)
    {
        actual.insert("utilization_percent", json!(u));
    }
    // `conditions`: every condition set, in upstream's order, as "Type=Status Reason".
    let all: Vec<Value> = [
        ConditionType::AbleToScale,
        ConditionType::ScalingActive,
        ConditionType::ScalingLimited,
    ]
    .into_iter()
    .filter_map(|t| {
        out.conditions.get(t).map(|c| {
            let status = if c.status { "True" } else { "False" };
            json!(format!("{}={status} {}", t.as_str(), c.reason))
        })
    })
    .collect();
    actual.insert("conditions", json!(all));
    // `condition` is "Type=Status Reason"; report the condition of the type the case names.
    let wanted = expected["condition"]
        .as_str()
        .and_then(|s| s.split('=').next())
        .and_then(condition_type)
        .unwrap_or(ConditionType::ScalingActive);
    if let Some(c) = out.conditions.get(wanted) {
        let status = if c.status { "True" } else { "False" };
        actual.insert(
            "condition",
            json!(format!("{}={status} {}", wanted.as_str(), c.reason)),
        );
    }
    Ok(Ok(actual))
}
