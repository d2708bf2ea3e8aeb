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
    HistogramCheckpoint, HistogramOptions, SampleHistogram, VpaConfig,
};
use serde_json::{json, Map, Value};

/// Upstream `startTime` of the histogram tests (`time.Unix(1234567890, 0)`), ms.
const HISTOGRAM_TEST_START_MS: i64 = 1_234_567_890_000;
/// Upstream `testTimestamp` of the container tests (2017-04-18 17:35:05 UTC), ms.
const CONTAINER_TEST_START_MS: i64 = 1_492_536_905_000;
/// Upstream `weightEpsilon` of the histogram tests.
const TEST_WEIGHT_EPSILON: f64 = 1e-15;
/// Relative tolerance of number comparisons (upstream `valueEpsilon`-style `InEpsilon`); a case
/// may widen it with `inputs.max_relative_error` (e.g. 0.05 in `TestPercentileEstimator`).
const DEFAULT_REL_EPS: f64 = 1e-12;

type Actual = Map<String, Value>;

pub fn run_case(case: &Value) -> Outcome {
    let test = case["source"]["test"].as_str().unwrap_or("");
    let inputs = &case["inputs"];
    let result = match test {
        "TestAggregateContainerUsageSamples" => aggregate_samples(inputs),
        "TestConfidenceMultiplierWithCustomInterval"
        | "TestConfidenceMultiplier"
        | "TestConfidenceMultiplierNoHistory" => confidence_case(inputs),
        "TestPercentileEstimator" => percentile_estimator_case(inputs),
        "TestDecayingHistogramPercentiles" | "TestLongtermDecay" | "TestSimpleDecay" => {
            histogram_case(inputs, &case["expected"], true)
        }
        "TestPercentiles" | "TestPercentilesEmptyHistogram" => {
            histogram_case(inputs, &case["expected"], false)
        }
        "TestExponentialHistogramOptions" | "TestLinearHistogramOptions" => {
            options_case(inputs, &case["expected"])
        }
        "TestMarginEstimator" => margin_case(inputs),
        "TestMinResourcesEstimator" => min_case(inputs),
        "TestMinResourcesApplied" | "TestMinResourcesSplitAcrossContainers" => {
            pod_minimum_case(inputs)
        }
        "TestRecordOOMDiscardsOldSample" => oom_discard_case(inputs),
        "TestRecordOOMDontRunAway" => oom_run_away_case(inputs),
        "TestRecordOOMInNewWindow" => oom_new_window_case(inputs),
        "TestRecordOOMIncreasedByMin" => oom_min_case(inputs),
        // Neighbours of the OOM tests (bump-up, known sample, custom intervals, MaxMemory).
        other if other.starts_with("TestRecordOOM") => oom_generic_case(inputs),
        // Memory-peak windows with a custom aggregation interval (or interval count).
        other if other.starts_with("TestMemory") && inputs.get("memory_samples").is_some() => {
            memory_samples_case(inputs)
        }
        other if other.starts_with("TestAggregateContainerStateIsExpired") => expiry_case(inputs),
        // Checkpoints and merges of histograms.
        other if other.contains("Checkpoint") => checkpoint_case(inputs),
        other if other.contains("Merge") => merge_case(inputs, &case["expected"]),
        // Other histogram tests: add/subtract sequences (IsEmpty), or samples and percentiles.
        _ if inputs.get("ops").is_some() => histogram_ops_case(inputs),
        other
            if inputs.get("samples").is_some()
                && inputs.get("options").is_some()
                && (other.contains("Histogram")
                    || other.contains("Decay")
                    || other.contains("Percentile")) =>
        {
            histogram_case(
                inputs,
                &case["expected"],
                inputs.get("halfLife_s").is_some(),
            )
        }
        other => return Outcome::Unsupported(format!("test `{other}` is not mapped")),
    };
    let eps = inputs["max_relative_error"]
        .as_f64()
        .unwrap_or(DEFAULT_REL_EPS);
    if eps != DEFAULT_REL_EPS {
        return compare_within(&case["expected"], result, eps);
    }
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
    let unit_ms = |u: &str| match u.trim_end_matches('s') {
        "second" | "sec" => Some(1_000),
        "minute" | "min" => Some(60_000),
        "hour" | "h" => Some(3_600_000),
        _ => None,
    };
    match w.as_slice() {
        [n, "sample" | "samples", "of", cores, "core" | "cores", gap, unit, "apart"] => {
            let unit = unit_ms(unit).ok_or_else(|| format!("bad unit in {text:?}"))?;
            Ok((
                n.parse().map_err(|_| format!("bad count in {text:?}"))?,
                cores
                    .parse()
                    .map_err(|_| format!("bad cores in {text:?}"))?,
                gap.parse::<i64>()
                    .map_err(|_| format!("bad gap in {text:?}"))?
                    * unit,
            ))
        }
        [n, "sample" | "samples", "of", cores, "core" | "cores"] => Ok((
            n.parse().map_err(|_| format!("bad count in {text:?}"))?,
            cores
                .parse()
                .map_err(|_| format!("bad cores in {text:?}"))?,
            60_000,
        )),
        _ => Err(format!("cannot read `cpu_samples` {text:?}")),
    }
}

fn confidence_case(inputs: &Value) -> Result<Actual, String> {
    // No `cpu_samples` (or "none") means no history.
    let (n, cores, gap_ms) = match inputs["cpu_samples"].as_str() {
        None | Some("" | "none" | "no samples") => (0, 0.0, 0),
        Some(text) => parse_cpu_samples(text)?,
    };
    let config = VpaConfig::default();
    let mut agg = AggregateContainerState::new(&config);
    let mut t = CONTAINER_TEST_START_MS;
    for _ in 0..n {
        agg.add_cpu_sample(cpu_amount_from_cores(cores), t);
        t += gap_ms;
    }
    let interval_s = inputs["confidence_interval_s"].as_f64().unwrap_or(86_400.0);
    let conf = confidence(&agg, interval_s as i64 * 1000);
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
    // The raw ResourceAmounts (millicores, bytes), as upstream compares them with no history.
    a.insert("cpu_amount".into(), json!(cpu));
    a.insert("memory_amount".into(), json!(mem));
    Ok(a)
}

/// `TestPercentileEstimator`: plain histograms with the recommender's CPU and memory options,
/// `cpu_samples_cores` / `memory_samples_bytes` ([value, weight] pairs), read at
/// `cpu_percentile` / `memory_percentile`.
fn percentile_estimator_case(inputs: &Value) -> Result<Actual, String> {
    let config = VpaConfig::default();
    let agg = AggregateContainerState::new(&config);
    let mut cpu = Histogram::new(*agg.cpu.histogram().options());
    let mut mem = Histogram::new(*agg.memory_peaks.histogram().options());
    for (key, h) in [
        ("cpu_samples_cores", &mut cpu),
        ("memory_samples_bytes", &mut mem),
    ] {
        for s in arr(inputs, key)? {
            let (v, w) = pair(s)?;
            h.add(v, w);
        }
    }
    let c = cpu_amount_from_cores(cpu.percentile(num(inputs, "cpu_percentile")?));
    let m = resource_amount_from_float(mem.percentile(num(inputs, "memory_percentile")?));
    let mut a = Actual::new();
    a.insert("cpu_cores".into(), json!(c as f64 / 1000.0));
    a.insert("memory_bytes".into(), json!(m as f64));
    Ok(a)
}

/// `[value, weight]` or `{"value", "weight"}`.
fn pair(s: &Value) -> Result<(f64, f64), String> {
    match s {
        Value::Array(a) if a.len() >= 2 => Ok((
            a[0].as_f64().ok_or("sample value is not a number")?,
            a[1].as_f64().ok_or("sample weight is not a number")?,
        )),
        _ => Ok((num(s, "value")?, num(s, "weight")?)),
    }
}

/// Histogram options of a case: `options` "linear" (`maxValue`, `bucketSize`) or "exponential"
/// (`maxValue`, `firstBucketSize`, `ratio`), `epsilon` defaulting to upstream's test epsilon.
fn case_options(inputs: &Value) -> Result<HistogramOptions, String> {
    let eps = inputs["epsilon"].as_f64().unwrap_or(TEST_WEIGHT_EPSILON);
    match inputs["options"].as_str() {
        Some("exponential") => HistogramOptions::exponential(
            num(inputs, "maxValue")?,
            num(inputs, "firstBucketSize")?,
            num(inputs, "ratio")?,
            eps,
        ),
        Some("linear") | None => {
            HistogramOptions::linear(num(inputs, "maxValue")?, num(inputs, "bucketSize")?, eps)
        }
        Some(other) => Err(format!("unknown histogram options `{other}`")),
    }
}

/// Add/subtract sequences on a histogram (`TestEmptyHistogram`, `TestNonEmptyOnEpsilonAddition`):
/// `ops` is a list of `["add" | "subtract", value, weight]` (optionally a time offset, s, for a
/// decaying histogram with `halfLife_s`); reports `is_empty_initially`, `is_empty_after_each`,
/// `is_empty` (at the end), `total_weight` and any `percentile` asked for.
fn histogram_ops_case(inputs: &Value) -> Result<Actual, String> {
    let options = case_options(inputs)?;
    let mut plain = Histogram::new(options);
    let mut decaying = inputs
        .get("halfLife_s")
        .and_then(Value::as_f64)
        .map(|h| DecayingHistogram::new(options, h as i64 * 1000));
    let initially = match &decaying {
        Some(d) => d.is_empty(),
        None => plain.is_empty(),
    };
    let mut after = Vec::new();
    for op in arr(inputs, "ops")? {
        let o = op.as_array().ok_or("an op is not a list")?;
        let kind = o
            .first()
            .and_then(Value::as_str)
            .ok_or("op without a kind")?;
        let v = o
            .get(1)
            .and_then(Value::as_f64)
            .ok_or("op without a value")?;
        let w = o
            .get(2)
            .and_then(Value::as_f64)
            .ok_or("op without a weight")?;
        let t =
            HISTOGRAM_TEST_START_MS + o.get(3).and_then(Value::as_f64).unwrap_or(0.0) as i64 * 1000;
        match (kind, decaying.as_mut()) {
            ("add", Some(d)) => d.add_sample(v, w, t),
            ("subtract", Some(d)) => d.subtract_sample(v, w, t),
            ("add", None) => plain.add(v, w),
            ("subtract", None) => plain.subtract(v, w),
            (k, _) => return Err(format!("unknown op `{k}`")),
        }
        after.push(match &decaying {
            Some(d) => d.is_empty(),
            None => plain.is_empty(),
        });
    }
    let mut a = Actual::new();
    a.insert("is_empty_initially".into(), json!(initially));
    a.insert(
        "is_empty".into(),
        json!(after.last().copied().unwrap_or(initially)),
    );
    a.insert("is_empty_after_each".into(), json!(after));
    if decaying.is_none() {
        a.insert("total_weight".into(), json!(plain.total_weight()));
    }
    Ok(a)
}

/// One histogram of a case from its `samples` ({value, weight, time_offset_s}); decaying when
/// `halfLife_s` is given.
enum CaseHistogram {
    Plain(Histogram),
    Decaying(DecayingHistogram),
}

impl CaseHistogram {
    fn build(inputs: &Value, samples: &[Value]) -> Result<CaseHistogram, String> {
        let options = case_options(inputs)?;
        let mut h = match inputs.get("halfLife_s").and_then(Value::as_f64) {
            Some(hl) => CaseHistogram::Decaying(DecayingHistogram::new(options, hl as i64 * 1000)),
            None => CaseHistogram::Plain(Histogram::new(options)),
        };
        for s in samples {
            let (v, w) = pair(s)?;
            let offset = s["time_offset_s"].as_f64().unwrap_or(0.0);
            let t = HISTOGRAM_TEST_START_MS + offset as i64 * 1000;
            match &mut h {
                CaseHistogram::Plain(p) => p.add(v, w),
                CaseHistogram::Decaying(d) => d.add_sample(v, w, t),
            }
        }
        Ok(h)
    }

    fn plain(&self) -> &Histogram {
        match self {
            CaseHistogram::Plain(p) => p,
            CaseHistogram::Decaying(d) => d.histogram(),
        }
    }
}

/// The non-empty buckets of a histogram as {"index": weight}.
fn bucket_map(h: &Histogram) -> Value {
    let mut m = Map::new();
    for (i, w) in h.bucket_weights().iter().enumerate() {
        if *w != 0.0 {
            m.insert(i.to_string(), json!(w));
        }
    }
    Value::Object(m)
}

/// Checkpoint tests: with `checkpoint` ({total_weight, bucket_weights: {"index": weight}}, or
/// null) it is loaded into an empty histogram (reporting `total_weight`, `bucket_weight`,
/// `is_empty`, or the error); otherwise the histogram of `samples` is saved (reporting
/// `checkpoint_total_weight`, `checkpoint_bucket_weights`, `checkpoint_num_buckets`).
fn checkpoint_case(inputs: &Value) -> Result<Actual, String> {
    let mut a = Actual::new();
    if let Some(cp) = inputs.get("checkpoint") {
        if cp.is_null() {
            return Err("Cannot load from empty checkpoint".into());
        }
        let mut weights = std::collections::BTreeMap::new();
        if let Some(m) = cp["bucket_weights"].as_object() {
            for (k, v) in m {
                let b: i64 = k.parse().map_err(|_| format!("bad bucket {k}"))?;
                let w = v.as_u64().ok_or("bucket weight is not a uint32")?;
                weights.insert(b, u32::try_from(w).map_err(|_| "bucket weight > uint32")?);
            }
        }
        let checkpoint = HistogramCheckpoint {
            total_weight: num(cp, "total_weight")?,
            bucket_weights: weights,
        };
        let mut h = Histogram::new(case_options(inputs)?);
        h.load_from_checkpoint(&checkpoint)?;
        a.insert("total_weight".into(), json!(h.total_weight()));
        a.insert("bucket_weight".into(), bucket_map(&h));
        a.insert("is_empty".into(), json!(h.is_empty()));
        return Ok(a);
    }
    let h = CaseHistogram::build(inputs, arr(inputs, "samples")?)?;
    let cp = h.plain().save_to_checkpoint();
    let weights: Map<String, Value> = cp
        .bucket_weights
        .iter()
        .map(|(b, w)| (b.to_string(), json!(w)))
        .collect();
    a.insert("checkpoint_num_buckets".into(), json!(weights.len()));
    a.insert("checkpoint_total_weight".into(), json!(cp.total_weight));
    a.insert("checkpoint_bucket_weights".into(), Value::Object(weights));
    Ok(a)
}

/// Merge tests: `histograms` is a list of sample lists merged into the first; `expected_samples`
/// (optional) builds the histogram it must equal (upstream `Equals`). Reports `equals_expected`,
/// `total_weight`, `bucket_weight` and any `percentile` asked for.
fn merge_case(inputs: &Value, expected: &Value) -> Result<Actual, String> {
    let lists = arr(inputs, "histograms")?;
    let mut hs = lists
        .iter()
        .map(|l| CaseHistogram::build(inputs, l.as_array().ok_or("a histogram is not a list")?))
        .collect::<Result<Vec<_>, String>>()?;
    if hs.is_empty() {
        return Err("no histograms to merge".into());
    }
    let rest = hs.split_off(1);
    let mut merged = hs.pop().ok_or("no histograms to merge")?;
    for o in &rest {
        match (&mut merged, o) {
            (CaseHistogram::Plain(m), CaseHistogram::Plain(o)) => m.merge(o)?,
            (CaseHistogram::Decaying(m), CaseHistogram::Decaying(o)) => m.merge(o)?,
            _ => return Err("cannot merge a decaying and a plain histogram".into()),
        }
    }
    let mut a = Actual::new();
    if let Some(samples) = inputs.get("expected_samples").and_then(Value::as_array) {
        let want = CaseHistogram::build(inputs, samples)?;
        let eq = match (&merged, &want) {
            (CaseHistogram::Plain(m), CaseHistogram::Plain(w)) => m.equals(w),
            (CaseHistogram::Decaying(m), CaseHistogram::Decaying(w)) => m.equals(w),
            _ => false,
        };
        a.insert("equals_expected".into(), json!(eq));
    }
    let h = merged.plain();
    a.insert("total_weight".into(), json!(h.total_weight()));
    a.insert("bucket_weight".into(), bucket_map(h));
    let mut ps = Map::new();
    for k in asked(expected, "percentile") {
        let p: f64 = k.parse().map_err(|_| format!("bad percentile {k}"))?;
        ps.insert(k, json!(h.percentile(p)));
    }
    a.insert("percentile".into(), Value::Object(ps));
    Ok(a)
}

/// Memory samples through one container (`TestMemorySamplesWithCustomAggregationInterval` and
/// neighbours): `memory_samples` [{t_s, mem_bytes}] with `aggregation_interval_s` (default 24 h);
/// reports the memory-peak histogram ops and which samples were accepted.
fn memory_samples_case(inputs: &Value) -> Result<Actual, String> {
    let config = VpaConfig {
        memory_aggregation_interval_ms: inputs["aggregation_interval_s"]
            .as_f64()
            .map(|s| s as i64 * 1000)
            .unwrap_or(VpaConfig::default().memory_aggregation_interval_ms),
        ..VpaConfig::default()
    };
    let mut agg = recording_state(&config);
    let mut c = ContainerState::new();
    let mut accepted = Vec::new();
    for s in arr(inputs, "memory_samples")? {
        let t = CONTAINER_TEST_START_MS + num(s, "t_s")? as i64 * 1000;
        accepted.push(c.add_memory_sample(num(s, "mem_bytes")? as i64, t, &mut agg));
    }
    let ops: Vec<Value> = agg
        .memory_peaks
        .ops
        .iter()
        .map(|(op, v, w, t)| json!([op, v, w, offset_s(*t, CONTAINER_TEST_START_MS)]))
        .collect();
    let mut a = Actual::new();
    a.insert("memory_histogram_ops".into(), json!(ops));
    a.insert("accepted".into(), json!(accepted));
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
    let options = case_options(inputs)?;
    let samples = arr(inputs, "samples")?;
    let percentile: Box<dyn Fn(f64) -> f64> = if decaying {
        let mut h = DecayingHistogram::new(options, num(inputs, "halfLife_s")? as i64 * 1000);
        for s in samples {
            let offset = s["time_offset_s"].as_f64().unwrap_or(0.0);
            let t = HISTOGRAM_TEST_START_MS + offset as i64 * 1000;
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
    let o = case_options(inputs)?;
    let mut a = Actual::new();
    a.insert("epsilon".into(), json!(o.epsilon()));
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

/// `TestMinResourcesApplied` / `TestMinResourcesSplitAcrossContainers`: a constant estimate
/// (`const_cpu_cores`, `const_memory_bytes`) for each of `containers` containers of a pod,
/// raised to the pod minimum (25m, 250 MiB) split evenly over the containers.
fn pod_minimum_case(inputs: &Value) -> Result<Actual, String> {
    let n = match &inputs["containers"] {
        Value::Array(a) => a.len(),
        v => v
            .as_u64()
            .ok_or("`containers` is neither a count nor a list")? as usize,
    };
    let config = VpaConfig::default();
    let min = costsim::recommend::vpa::container_minimums(&config, n);
    let cpu = cpu_amount_from_cores(num(inputs, "const_cpu_cores")?).max(min.cpu_milli);
    let mem = resource_amount_from_float(num(inputs, "const_memory_bytes")?).max(min.memory_bytes);
    let mut a = Actual::new();
    a.insert("cpu_cores".into(), json!(cpu as f64 / 1000.0));
    a.insert("memory_bytes".into(), json!(mem as f64));
    a.insert("target_cpu_milli".into(), json!(cpu));
    a.insert("target_memory_bytes".into(), json!(mem));
    Ok(a)
}

/// `TestAggregateContainerStateIsExpired*`: an aggregation with `total_samples_count` CPU
/// samples (the last at `last_sample_offset_s`) created at `creation_offset_s`, asked at each of
/// `now_offsets_s` whether it expired, with `aggregation_interval_count` (default 8) intervals
/// of `aggregation_interval_s` (default 24 h). Reports `expired` (one per time).
fn expiry_case(inputs: &Value) -> Result<Actual, String> {
    let d = VpaConfig::default();
    let config = VpaConfig {
        memory_aggregation_interval_ms: inputs["aggregation_interval_s"]
            .as_f64()
            .map(|s| s as i64 * 1000)
            .unwrap_or(d.memory_aggregation_interval_ms),
        ..d
    };
    let count = inputs["aggregation_interval_count"]
        .as_i64()
        .unwrap_or(config.memory_aggregation_interval_count);
    let at = |k: &str| CONTAINER_TEST_START_MS + inputs[k].as_f64().unwrap_or(0.0) as i64 * 1000;
    let mut agg = AggregateContainerState::new(&config);
    let n = inputs["total_samples_count"].as_u64().unwrap_or(0);
    for _ in 0..n {
        agg.add_cpu_sample(0, at("last_sample_offset_s"));
    }
    let created = at("creation_offset_s");
    let expired: Vec<bool> = arr(inputs, "now_offsets_s")?
        .iter()
        .map(|t| {
            let now = CONTAINER_TEST_START_MS + t.as_f64().unwrap_or(0.0) as i64 * 1000;
            agg.is_expired(now, created, count)
        })
        .collect();
    let mut a = Actual::new();
    a.insert("expired".into(), json!(expired));
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

/// Any OOM test (`TestRecordOOM*`): an optional usage sample (`usage_sample_bytes` or
/// `prior_peak_bytes` > 0, at `usage_time_offset_s`), then one OOM of `oom_request_bytes`
/// (default: the usage sample) at `oom_time_offset_s` (or `oom_age_relative_to_last_sample_s`),
/// with `oomBumpUpRatio`, `oomMinBumpUp_bytes`, `aggregation_interval_s` and `max_memory_bytes`
/// (0 = none) overriding the defaults. Reports the last memory peak added and its window end, or
/// the error (`expected.error`).
fn oom_generic_case(inputs: &Value) -> Result<Actual, String> {
    let d = VpaConfig::default();
    let config = VpaConfig {
        oom_bump_up_ratio: inputs["oomBumpUpRatio"]
            .as_f64()
            .unwrap_or(d.oom_bump_up_ratio),
        oom_min_bump_up_bytes: inputs["oomMinBumpUp_bytes"]
            .as_f64()
            .unwrap_or(d.oom_min_bump_up_bytes),
        memory_aggregation_interval_ms: inputs["aggregation_interval_s"]
            .as_f64()
            .map(|s| s as i64 * 1000)
            .unwrap_or(d.memory_aggregation_interval_ms),
        ..d
    };
    let mut agg = recording_state(&config);
    let mut c = ContainerState::new();
    let max_memory = [
        "max_memory_bytes",
        "maxMemory_bytes",
        "MaxMemory",
        "max_memory",
    ]
    .iter()
    .find_map(|k| inputs[*k].as_f64())
    .unwrap_or(0.0);
    c.set_max_memory(max_memory as i64);
    let usage = inputs["usage_sample_bytes"]
        .as_f64()
        .or_else(|| inputs["prior_peak_bytes"].as_f64())
        .unwrap_or(0.0) as i64;
    let t_usage = CONTAINER_TEST_START_MS
        + inputs["usage_time_offset_s"].as_f64().unwrap_or(0.0) as i64 * 1000;
    if usage > 0 && !c.add_memory_sample(usage, t_usage, &mut agg) {
        return Err("the usage sample was rejected".into());
    }
    let request = inputs["oom_request_bytes"]
        .as_f64()
        .map(|v| v as i64)
        .unwrap_or(usage);
    let offset = inputs["oom_time_offset_s"]
        .as_f64()
        .or_else(|| inputs["oom_age_relative_to_last_sample_s"].as_f64())
        .unwrap_or(0.0);
    let t_oom = CONTAINER_TEST_START_MS + offset as i64 * 1000;
    c.record_oom(t_oom, request, &mut agg)?;
    let (v, t) = last_memory_add(&agg)?;
    let mut a = Actual::new();
    a.insert("memory_peak_sample_bytes".into(), json!(v));
    a.insert(
        "sample_timestamp_offset_s".into(),
        offset_s(t, CONTAINER_TEST_START_MS),
    );
    a.insert("max_memory_peak_bytes".into(), json!(c.max_memory_peak()));
    Ok(a)
}

// ---- comparison -----------------------------------------------------------------------------

/// Equal JSON, numbers to 1e-12 relative; an expected object only needs its own keys.
fn matches(want: &Value, got: &Value) -> bool {
    matches_within(want, got, DEFAULT_REL_EPS)
}

/// [`matches`] with numbers to `eps` relative.
fn matches_within(want: &Value, got: &Value, eps: f64) -> bool {
    match (want, got) {
        (Value::Number(w), Value::Number(g)) => {
            let (w, g) = (
                w.as_f64().unwrap_or(f64::NAN),
                g.as_f64().unwrap_or(f64::NAN),
            );
            w == g || (w - g).abs() <= eps * w.abs().max(g.abs())
        }
        (Value::Array(w), Value::Array(g)) => {
            w.len() == g.len() && w.iter().zip(g).all(|(w, g)| matches_within(w, g, eps))
        }
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, w)| g.get(k).is_some_and(|g| matches_within(w, g, eps))),
        _ => want == got,
    }
}

/// [`compare`] with numbers to `eps` relative (upstream `InEpsilon(.., eps)`).
fn compare_within(expected: &Value, actual: Result<Actual, String>, eps: f64) -> Outcome {
    if let (Ok(a), Some(exp)) = (&actual, expected.as_object()) {
        if !exp.contains_key("error") {
            let diffs: Vec<String> = exp
                .iter()
                .filter_map(|(k, want)| match a.get(k) {
                    None => Some(format!("unknown expected key `{k}` (not produced)")),
                    Some(got) if !matches_within(want, got, eps) => Some(format!(
                        "`{k}`: expected {want}, got {got} (to {eps} relative)"
                    )),
                    Some(_) => None,
                })
                .collect();
            return if diffs.is_empty() {
                Outcome::Pass
            } else {
                Outcome::Fail(diffs.join("; "))
            };
        }
    }
    compare(expected, actual)
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
