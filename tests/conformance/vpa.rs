//! `vpa` cases: kubernetes/autoscaler's VPA recommender tests (histograms, decay, container
//! sample handling, OOM bumps, estimators), driven through `costsim::recommend::vpa`.
//!
//! Cases are dispatched on `source.test`; every key of `expected` must be produced and match
//! (floats to 1e-12 relative, as upstream's `InEpsilon` checks), so new case shapes are noticed.
//! Where upstream's test uses a mock histogram, a recording [`SampleHistogram`] stands in.
use super::Outcome;
use costsim::recommend::vpa::{
    confidence, cpu_amount_from_cores, resource_amount_from_float, with_confidence_multiplier,
    with_margin, AggregateContainerState, ContainerState, DecayingHistogram, Histogram,
    HistogramOptions, SampleHistogram, VpaConfig,
};
use serde_json::{json, Map, Value};

/// Upstream `startTime` of the histogram tests (`time.Unix(1234567890, 0)`), ms.
const HISTOGRAM_TEST_START_MS: i64 = 1_234_567_890_000;
/// Upstream `testTimestamp` of the container tests (2017-04-18 17:35:05 UTC), ms.
const CONTAINER_TEST_START_MS: i64 = 1_492_536_905_000;
/// Upstream `weightEpsilon` of the histogram tests.
const TEST_WEIGHT_EPSILON: f64 = 1e-15;

type Actual = Map<String, Value>;

pub fn run_case(case: &Value) -> Outcome {
    let test = case["source"]["test"].as_str().unwrap_or("");
    let inputs = &case["inputs"];
    let result = match test {
        "TestAggregateContainerUsageSamples" => aggregate_samples(inputs),
        "TestConfidenceMultiplierWithCustomInterval" => confidence_case(inputs),
        "TestDecayingHistogramPercentiles" | "TestLongtermDecay" | "TestSimpleDecay" => {
            histogram_case(inputs, &case["expected"], true)
        }
        "TestPercentiles" | "TestPercentilesEmptyHistogram" => {
            histogram_case(inputs, &case["expected"], false)
        }
        "TestExponentialHistogramOptions" => options_case(inputs, &case["expected"]),
        "TestMarginEstimator" => margin_case(inputs),
        "TestMinResourcesEstimator" => min_case(inputs),
        "TestRecordOOMDiscardsOldSample" => oom_discard_case(inputs),
        "TestRecordOOMDontRunAway" => oom_run_away_case(inputs),
        "TestRecordOOMInNewWindow" => oom_new_window_case(inputs),
        "TestRecordOOMIncreasedByMin" => oom_min_case(inputs),
        other => return Outcome::Unsupported(format!("test `{other}` is not mapped")),
    };
    compare(&case["expected"], result)
}

// ---- input helpers --------------------------------------------------------------------------

fn num(v: &Value, key: &str) -> Result<f64, String> {
    v[key]
        .as_f64()
        .ok_or_else(|| format!("`inputs.{key}` is missing or not a number"))
}

fn arr<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    v[key]
        .as_array()
        .ok_or_else(|| format!("`inputs.{key}` is missing or not an array"))
}

/// A histogram that records what it is given (upstream's `MockHistogram`).
#[derive(Debug, Default)]
struct Recorder {
    ops: Vec<(&'static str, f64, f64, i64)>,
}

impl SampleHistogram for Recorder {
    fn add_sample(&mut self, value: f64, weight: f64, t_ms: i64) {
        self.ops.push(("add", value, weight, t_ms));
    }
    fn subtract_sample(&mut self, value: f64, weight: f64, t_ms: i64) {
        self.ops.push(("subtract", value, weight, t_ms));
    }
    fn percentile(&self, _p: f64) -> f64 {
        0.0
    }
}

fn recording_state(config: &VpaConfig) -> AggregateContainerState<Recorder> {
    AggregateContainerState::with_histograms(Recorder::default(), Recorder::default(), config)
}

fn offset_s(t_ms: i64, start_ms: i64) -> Value {
    json!((t_ms - start_ms) / 1000)
}

// ---- cases ----------------------------------------------------------------------------------

fn aggregate_samples(inputs: &Value) -> Result<Actual, String> {
    let config = VpaConfig {
        memory_aggregation_interval_ms: num(inputs, "aggregation_interval_s")? as i64 * 1000,
        ..VpaConfig::default()
    };
    let mut agg = recording_state(&config);
    let mut c = ContainerState::new();
    let mut last_t = CONTAINER_TEST_START_MS;
    let samples = arr(inputs, "samples")?;
    for s in samples {
        let t = CONTAINER_TEST_START_MS + num(s, "t_s")? as i64 * 1000;
        if !c.add_cpu_sample(num(s, "cpu_milli")? as i64, t, &mut agg) {
            return Err(format!("CPU sample at {t} ms was rejected"));
        }
        if !c.add_memory_sample(num(s, "mem_bytes")? as i64, t, &mut agg) {
            return Err(format!("memory sample at {t} ms was rejected"));
        }
        last_t = t;
    }
    // The invalid samples upstream's test adds after the valid ones; each must be dropped.
    let step = if samples.len() > 1 {
        (last_t - CONTAINER_TEST_START_MS) / (samples.len() as i64 - 1)
    } else {
        0
    };
    let rejected = [
        (
            "out-of-order CPU sample at same timestamp",
            c.add_cpu_sample(1000, last_t, &mut agg),
        ),
        (
            "negative CPU",
            c.add_cpu_sample(-1000, last_t + 2 * step, &mut agg),
        ),
        (
            "negative memory",
            c.add_memory_sample(-1000, last_t + 2 * step, &mut agg),
        ),
    ];
    let cpu_adds: Vec<Value> = agg
        .cpu
        .ops
        .iter()
        .map(|(op, v, w, t)| {
            if *op == "add" {
                json!([v, w, offset_s(*t, CONTAINER_TEST_START_MS)])
            } else {
                json!([op, v, w, offset_s(*t, CONTAINER_TEST_START_MS)])
            }
        })
        .collect();
    let mem_ops: Vec<Value> = agg
        .memory_peaks
        .ops
        .iter()
        .map(|(op, v, w, t)| json!([op, v, w, offset_s(*t, CONTAINER_TEST_START_MS)]))
        .collect();
    let dropped: Vec<Value> = rejected
        .iter()
        .filter(|(_, accepted)| !accepted)
        .map(|(name, _)| json!(name))
        .collect();
    let mut a = Actual::new();
    a.insert("cpu_histogram_adds".into(), json!(cpu_adds));
    a.insert("memory_histogram_ops".into(), json!(mem_ops));
    a.insert("rejected".into(), json!(dropped));
    Ok(a)
}

/// `"9 samples of 1.0 core, 2 minutes apart"` → (9, 1.0, 120 000 ms).
fn parse_cpu_samples(text: &str) -> Result<(usize, f64, i64), String> {
    let w: Vec<&str> = text.split([' ', ',']).filter(|s| !s.is_empty()).collect();
    match w.as_slice() {
        [n, "samples", "of", cores, "core" | "cores", gap, "minutes" | "minute", "apart"] => Ok((
            n.parse().map_err(|_| format!("bad count in {text:?}"))?,
            cores
                .parse()
                .map_err(|_| format!("bad cores in {text:?}"))?,
            gap.parse::<i64>()
                .map_err(|_| format!("bad gap in {text:?}"))?
                * 60_000,
        )),
        _ => Err(format!("cannot read `cpu_samples` {text:?}")),
    }
}

fn confidence_case(inputs: &Value) -> Result<Actual, String> {
    let (n, cores, gap_ms) = parse_cpu_samples(inputs["cpu_samples"].as_str().unwrap_or(""))?;
    let config = VpaConfig::default();
    let mut agg = AggregateContainerState::new(&config);
    let mut t = CONTAINER_TEST_START_MS;
    for _ in 0..n {
        agg.add_cpu_sample(cpu_amount_from_cores(cores), t);
        t += gap_ms;
    }
    let conf = confidence(&agg, num(inputs, "confidence_interval_s")? as i64 * 1000);
    let (m, e) = (num(inputs, "multiplier")?, num(inputs, "exponent")?);
    let cpu = with_confidence_multiplier(
        cpu_amount_from_cores(num(inputs, "base_cpu_cores")?),
        m,
        e,
        conf,
    );
    let mem = with_confidence_multiplier(
        resource_amount_from_float(num(inputs, "base_memory_bytes")?),
        m,
        e,
        conf,
    );
    let mut a = Actual::new();
    a.insert("confidence".into(), json!(conf));
    a.insert("cpu_cores".into(), json!(cpu as f64 / 1000.0));
    a.insert("memory_bytes".into(), json!(mem as f64));
    Ok(a)
}

/// The keys of `expected[key]`: the points a case asks about.
fn asked(expected: &Value, key: &str) -> Vec<String> {
    expected[key]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn histogram_case(inputs: &Value, expected: &Value, decaying: bool) -> Result<Actual, String> {
    if inputs["options"].as_str() != Some("linear") {
        return Err(format!("options {} are not linear", inputs["options"]));
    }
    let eps = inputs["epsilon"].as_f64().unwrap_or(TEST_WEIGHT_EPSILON);
    let options =
        HistogramOptions::linear(num(inputs, "maxValue")?, num(inputs, "bucketSize")?, eps)?;
    let samples = arr(inputs, "samples")?;
    let percentile: Box<dyn Fn(f64) -> f64> = if decaying {
        let mut h = DecayingHistogram::new(options, num(inputs, "halfLife_s")? as i64 * 1000);
        for s in samples {
            let t = HISTOGRAM_TEST_START_MS + num(s, "time_offset_s")? as i64 * 1000;
            h.add_sample(num(s, "value")?, num(s, "weight")?, t);
        }
        Box::new(move |p| h.percentile(p))
    } else {
        let mut h = Histogram::new(options);
        for s in samples {
            h.add(num(s, "value")?, num(s, "weight")?);
        }
        Box::new(move |p| h.percentile(p))
    };
    let mut a = Actual::new();
    let mut ps = Map::new();
    // The expected percentiles name the points to evaluate.
    for k in asked(expected, "percentile") {
        let p: f64 = k.parse().map_err(|_| format!("bad percentile {k}"))?;
        ps.insert(k, json!(percentile(p)));
    }
    a.insert("percentile".into(), Value::Object(ps));
    // Upstream checks an empty histogram at -0.5, 0, 0.5, 1, 1.5.
    let any: Vec<f64> = [-0.5, 0.0, 0.5, 1.0, 1.5]
        .iter()
        .map(|&p| percentile(p))
        .collect();
    if any.iter().all(|v| *v == any[0]) {
        a.insert("percentile_any".into(), json!(any[0]));
    }
    Ok(a)
}

fn options_case(inputs: &Value, expected: &Value) -> Result<Actual, String> {
    let o = HistogramOptions::exponential(
        num(inputs, "maxValue")?,
        num(inputs, "firstBucketSize")?,
        num(inputs, "ratio")?,
        num(inputs, "epsilon")?,
    )?;
    let mut a = Actual::new();
    a.insert("numBuckets".into(), json!(o.num_buckets()));
    let mut starts = Map::new();
    for b in 0..o.num_buckets() {
        starts.insert(b.to_string(), json!(o.bucket_start(b)));
    }
    a.insert("bucketStart".into(), Value::Object(starts));
    let mut find = Map::new();
    for v in asked(expected, "findBucket") {
        let x: f64 = v.parse().map_err(|_| format!("bad value {v}"))?;
        find.insert(v, json!(o.find_bucket(x)));
    }
    a.insert("findBucket".into(), Value::Object(find));
    Ok(a)
}

fn margin_case(inputs: &Value) -> Result<Actual, String> {
    let f = num(inputs, "margin_fraction")?;
    let cpu = with_margin(cpu_amount_from_cores(num(inputs, "base_cpu_cores")?), f);
    let mem = with_margin(
        resource_amount_from_float(num(inputs, "base_memory_bytes")?),
        f,
    );
    let mut a = Actual::new();
    a.insert("cpu_cores".into(), json!(cpu as f64 / 1000.0));
    a.insert("memory_bytes".into(), json!(mem as f64));
    Ok(a)
}

fn min_case(inputs: &Value) -> Result<Actual, String> {
    let cpu = cpu_amount_from_cores(num(inputs, "base_cpu_cores")?)
        .max(cpu_amount_from_cores(num(inputs, "min_cpu_cores")?));
    let mem = resource_amount_from_float(num(inputs, "base_memory_bytes")?)
        .max(resource_amount_from_float(num(inputs, "min_memory_bytes")?));
    let mut a = Actual::new();
    a.insert("cpu_cores".into(), json!(cpu as f64 / 1000.0));
    a.insert("memory_bytes".into(), json!(mem as f64));
    Ok(a)
}

fn oom_discard_case(inputs: &Value) -> Result<Actual, String> {
    let config = VpaConfig::default();
    let mut agg = recording_state(&config);
    let mut c = ContainerState::new();
    let usage = num(inputs, "usage_sample_bytes")? as i64;
    c.add_memory_sample(usage, CONTAINER_TEST_START_MS, &mut agg);
    let t =
        CONTAINER_TEST_START_MS + num(inputs, "oom_age_relative_to_last_sample_s")? as i64 * 1000;
    c.record_oom(t, usage, &mut agg)?;
    Ok(Actual::new())
}

fn oom_run_away_case(inputs: &Value) -> Result<Actual, String> {
    let config = VpaConfig::default();
    let mut agg = recording_state(&config);
    let mut c = ContainerState::new();
    let mut peaks = Vec::new();
    for r in arr(inputs, "ooms_in_same_window_request_bytes")? {
        let req = r.as_i64().ok_or("request is not an integer")?;
        c.record_oom(CONTAINER_TEST_START_MS, req, &mut agg)?;
        peaks.push(c.max_memory_peak());
    }
    let mut a = Actual::new();
    a.insert("peak_after_each_bytes".into(), json!(peaks));
    Ok(a)
}

fn last_memory_add(agg: &AggregateContainerState<Recorder>) -> Result<(f64, i64), String> {
    agg.memory_peaks
        .ops
        .iter()
        .rev()
        .find(|o| o.0 == "add")
        .map(|o| (o.1, o.3))
        .ok_or_else(|| "no memory peak was added".to_string())
}

fn oom_new_window_case(inputs: &Value) -> Result<Actual, String> {
    let config = VpaConfig::default();
    let mut agg = recording_state(&config);
    let mut c = ContainerState::new();
    let t_usage = CONTAINER_TEST_START_MS + num(inputs, "usage_time_offset_s")? as i64 * 1000;
    c.add_memory_sample(num(inputs, "usage_sample_bytes")? as i64, t_usage, &mut agg);
    let t_oom = CONTAINER_TEST_START_MS + num(inputs, "oom_time_offset_s")? as i64 * 1000;
    c.record_oom(t_oom, num(inputs, "oom_request_bytes")? as i64, &mut agg)?;
    let (v, t) = last_memory_add(&agg)?;
    let mut a = Actual::new();
    a.insert("memory_peak_sample_bytes".into(), json!(v));
    a.insert(
        "sample_timestamp_offset_s".into(),
        offset_s(t, CONTAINER_TEST_START_MS),
    );
    Ok(a)
}

fn oom_min_case(inputs: &Value) -> Result<Actual, String> {
    let config = VpaConfig {
        oom_bump_up_ratio: num(inputs, "oomBumpUpRatio")?,
        oom_min_bump_up_bytes: num(inputs, "oomMinBumpUp_bytes")?,
        ..VpaConfig::default()
    };
    let mut agg = recording_state(&config);
    let mut c = ContainerState::new();
    let prior = num(inputs, "prior_peak_bytes")? as i64;
    if prior > 0 {
        c.add_memory_sample(prior, CONTAINER_TEST_START_MS, &mut agg);
    }
    c.record_oom(
        CONTAINER_TEST_START_MS,
        num(inputs, "oom_request_bytes")? as i64,
        &mut agg,
    )?;
    let (v, _) = last_memory_add(&agg)?;
    let mut a = Actual::new();
    a.insert("memory_peak_sample_bytes".into(), json!(v));
    Ok(a)
}

// ---- comparison -----------------------------------------------------------------------------

/// Equal JSON, numbers to 1e-12 relative; an expected object only needs its own keys.
fn matches(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Number(w), Value::Number(g)) => {
            let (w, g) = (
                w.as_f64().unwrap_or(f64::NAN),
                g.as_f64().unwrap_or(f64::NAN),
            );
            w == g || (w - g).abs() <= 1e-12 * w.abs().max(g.abs())
        }
        (Value::Array(w), Value::Array(g)) => {
            w.len() == g.len() && w.iter().zip(g).all(|(w, g)| matches(w, g))
        }
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, w)| g.get(k).is_some_and(|g| matches(w, g))),
        _ => want == got,
    }
}

fn compare(expected: &Value, actual: Result<Actual, String>) -> Outcome {
    let Some(exp) = expected.as_object() else {
        return Outcome::Fail("`expected` is not an object".into());
    };
    match (actual, exp.get("error").and_then(Value::as_str)) {
        (Err(msg), Some(want)) if msg.contains(want) => Outcome::Pass,
        (Err(msg), Some(want)) => Outcome::Fail(format!("error `{msg}` does not contain `{want}`")),
        (Err(msg), None) => Outcome::Fail(format!("cannot run the case: {msg}")),
        (Ok(a), Some(want)) => Outcome::Fail(format!("expected error `{want}`, got {a:?}")),
        (Ok(a), None) => {
            let diffs: Vec<String> = exp
                .iter()
                .filter_map(|(k, want)| match a.get(k) {
                    None => Some(format!("unknown expected key `{k}` (not produced)")),
                    Some(got) if !matches(want, got) => {
                        Some(format!("`{k}`: expected {want}, got {got}"))
                    }
                    Some(_) => None,
                })
                .collect();
            if diffs.is_empty() {
                Outcome::Pass
            } else {
                Outcome::Fail(diffs.join("; "))
            }
        }
    }
}
