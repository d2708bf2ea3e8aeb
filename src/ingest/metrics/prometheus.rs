//! Prometheus HTTP API query results (`/api/v1/query_range` → `matrix`, `/api/v1/query` →
//! `vector`) of `rate(container_cpu_usage_seconds_total[…])` (cores) or
//! `container_memory_working_set_bytes` (bytes), labelled by `pod` (or cAdvisor's older
//! `pod_name`), `container` (`container_name`) and `namespace`.
//!
//! Errors name the JSON field path, e.g. `data.result[2].values[17][1]`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{MetricsFormat, MetricsOptions, MetricsSet, MissingSample, Resource, UsageSample};
use crate::error::{Error, Result};
use crate::quantity::Quantity;

pub(super) fn parse(text: &str, source: &str, opts: &MetricsOptions) -> Result<MetricsSet> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| Error::json(source, None, "not valid JSON", &e))?;
    let field = |path: &str, msg: String| Error::at_field(source, path, msg);
    match v.get("status").and_then(Value::as_str) {
        Some("success") => {}
        Some("error") => {
            let kind = v.get("errorType").and_then(Value::as_str).unwrap_or("?");
            let why = v
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("(no message)");
            return Err(field(
                "status",
                format!("the query failed: Prometheus returned status `error` (errorType `{kind}`): {why}"),
            ));
        }
        Some(other) => {
            return Err(field(
                "status",
                format!("expected `success`, found `{other}`"),
            ))
        }
        None => {
            return Err(field(
                "status",
                "missing: expected a Prometheus API response {\"status\":\"success\",\"data\":{…}}"
                    .into(),
            ))
        }
    }
    let result_type = v
        .pointer("/data/resultType")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            field(
                "data.resultType",
                "missing; expected `matrix` or `vector`".into(),
            )
        })?;
    let values_key = match result_type {
        "matrix" => "values",
        "vector" => "value",
        other => {
            return Err(field(
                "data.resultType",
                format!(
                "`{other}` cannot hold per-pod series; expected `matrix` (query_range) or `vector`"
            ),
            ))
        }
    };
    let result = v
        .pointer("/data/result")
        .and_then(Value::as_array)
        .ok_or_else(|| field("data.result", "missing or not an array".into()))?;

    // Pods that have per-container series: their container="" (pod cgroup) series would double count.
    let label = |m: &Value, names: &[&str]| -> String {
        names
            .iter()
            .find_map(|n| m.get(*n).and_then(Value::as_str))
            .unwrap_or("")
            .to_string()
    };
    let with_containers: BTreeSet<(String, String)> = result
        .iter()
        .filter_map(|s| {
            let m = s.get("metric")?;
            let c = label(m, &["container", "container_name"]);
            (!c.is_empty() && c != "POD")
                .then(|| (label(m, &["namespace"]), label(m, &["pod", "pod_name"])))
        })
        .collect();

    let mut samples = Vec::new();
    let mut missing = Vec::new();
    for (i, series) in result.iter().enumerate() {
        let path = format!("data.result[{i}]");
        let metric = series
            .get("metric")
            .filter(|m| m.is_object())
            .ok_or_else(|| field(&format!("{path}.metric"), "missing or not an object".into()))?;
        let pod = label(metric, &["pod", "pod_name"]);
        if pod.is_empty() {
            return Err(field(
                &format!("{path}.metric"),
                "the series has no `pod` label; query by pod, e.g. `sum by (namespace, pod, container) (…)`".into(),
            ));
        }
        let namespace = label(metric, &["namespace"]);
        let container = label(metric, &["container", "container_name"]);
        if container == "POD"
            || (container.is_empty() && with_containers.contains(&(namespace.clone(), pod.clone())))
        {
            continue;
        }
        let resource = series_resource(metric, opts, &format!("{path}.metric"), source)?;
        let points: Vec<&Value> = if values_key == "values" {
            series
                .get("values")
                .and_then(Value::as_array)
                .ok_or_else(|| field(&format!("{path}.values"), "missing or not an array".into()))?
                .iter()
                .collect()
        } else {
            vec![series
                .get("value")
                .ok_or_else(|| field(&format!("{path}.value"), "missing".into()))?]
        };
        for (j, p) in points.iter().enumerate() {
            let ppath = if values_key == "values" {
                format!("{path}.values[{j}]")
            } else {
                format!("{path}.value")
            };
            let pair = p
                .as_array()
                .filter(|a| a.len() == 2)
                .ok_or_else(|| field(&ppath, "expected a pair [unix_seconds, \"value\"]".into()))?;
            let ts = pair[0].as_f64().filter(|t| t.is_finite()).ok_or_else(|| {
                field(
                    &format!("{ppath}[0]"),
                    "expected a unix timestamp in seconds".into(),
                )
            })?;
            let t_ms = (ts * 1000.0).round() as i64;
            let text = pair[1].as_str().ok_or_else(|| {
                field(
                    &format!("{ppath}[1]"),
                    "expected the value as a string, e.g. \"0.25\"".into(),
                )
            })?;
            if matches!(text, "NaN" | "+Inf" | "-Inf" | "Inf") {
                missing.push(MissingSample {
                    namespace: namespace.clone(),
                    pod: pod.clone(),
                    t_ms: Some(t_ms),
                    location: format!("{ppath}[1]"),
                    reason: format!("value {text}"),
                });
                continue;
            }
            let q =
                Quantity::parse(text).map_err(|e| field(&format!("{ppath}[1]"), e.to_string()))?;
            if q.is_negative() {
                return Err(field(
                    &format!("{ppath}[1]"),
                    format!("{text:?} is negative"),
                ));
            }
            let (cpu, mem) = match resource {
                Resource::Cpu => (Some(q.ceil_scaled(9)), None),
                Resource::Memory => (None, Some(q.value())),
            };
            super::check_sample(t_ms, cpu, mem).map_err(|e| field(&ppath, e))?;
            samples.push(UsageSample::usage(
                namespace.clone(),
                pod.clone(),
                container.clone(),
                t_ms,
                cpu,
                mem,
            ));
        }
    }
    Ok(MetricsSet {
        source: source.to_string(),
        format: MetricsFormat::Prometheus,
        samples,
        missing,
        warnings: Vec::new(),
    })
}

/// CPU or memory: from `__name__` when the series keeps it, else from the caller's hint.
fn series_resource(
    metric: &Value,
    opts: &MetricsOptions,
    path: &str,
    source: &str,
) -> Result<Resource> {
    match metric.get("__name__").and_then(Value::as_str) {
        Some("container_memory_working_set_bytes") => Ok(Resource::Memory),
        Some("container_cpu_usage_seconds_total") => Err(Error::at_field(
            source,
            path,
            "this is the raw CPU counter (cumulative seconds); query its rate, e.g. \
             `rate(container_cpu_usage_seconds_total[5m])`",
        )),
        Some(name) if opts.prometheus_resource.is_none() => Err(Error::at_field(
            source,
            path,
            format!(
                "metric `{name}` is neither container_memory_working_set_bytes nor a CPU rate; \
                 pass the file as cpu=FILE or memory=FILE to say what it holds"
            ),
        )),
        _ => opts.prometheus_resource.ok_or_else(|| {
            Error::at_field(
                source,
                path,
                "the series has no `__name__` (a rate() drops it), so it cannot tell CPU from \
                 memory; pass the file as cpu=FILE or memory=FILE",
            )
        }),
    }
}
