//! The resource metrics API (`metrics.k8s.io/v1beta1`) as `kubectl get --raw
//! /apis/metrics.k8s.io/v1beta1/namespaces/NS/pods[/POD]` prints it: one `PodMetrics` object, a
//! `PodMetricsList` (or a `List` from `kubectl get podmetrics -o json`) of them, or a bare
//! `{"containers": [...]}` body. Values are the exact ones metrics-server serves (`2731514n`,
//! `343748Ki`), not kubectl top's rounded ones: one sample per container, at the object's
//! `timestamp` (0 when absent, as a lone `kubectl top` snapshot).
//!
//! Errors name the JSON field path, e.g. `items[2].containers[0].usage.memory`.

use serde_json::Value;

use super::{MetricsFormat, MetricsSet, MissingSample, UsageSample};
use crate::error::{Error, Result};
use crate::ingest::traffic::civil::parse_timestamp_ns;
use crate::quantity::{Bytes, Quantity};

/// Whether a JSON document is a metrics API answer rather than a Prometheus one.
pub(super) fn is_metrics_api(v: &Value) -> bool {
    let kind = v.get("kind").and_then(Value::as_str);
    matches!(kind, Some("PodMetrics" | "PodMetricsList"))
        || v.get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|a| a.starts_with("metrics.k8s.io/"))
        || (v.get("status").is_none() && v.get("containers").is_some_and(Value::is_array))
        || (kind == Some("List")
            && v.get("items")
                .and_then(Value::as_array)
                .is_some_and(|items| items.iter().any(|i| i.get("containers").is_some())))
}

pub(super) fn parse(v: &Value, source: &str, fallback_pod: &str) -> Result<MetricsSet> {
    let field = |path: &str, msg: String| Error::at_field(source, path, msg);
    let objects: Vec<(String, &Value)> = match v.get("items") {
        Some(items) => items
            .as_array()
            .ok_or_else(|| field("items", "expected an array of PodMetrics".into()))?
            .iter()
            .enumerate()
            .map(|(i, o)| (format!("items[{i}]"), o))
            .collect(),
        None => vec![(String::new(), v)],
    };
    let mut samples = Vec::new();
    let mut missing = Vec::new();
    for (path, o) in objects {
        let at = |f: &str| {
            if path.is_empty() {
                f.to_string()
            } else {
                format!("{path}.{f}")
            }
        };
        let kind = o.get("kind").and_then(Value::as_str);
        if kind.is_some_and(|k| k != "PodMetrics") {
            return Err(field(
                &at("kind"),
                format!(
                    "`{}`: expected PodMetrics (`kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/NS/pods`); node metrics carry no pods",
                    kind.unwrap_or_default()
                ),
            ));
        }
        let text = |f: &str| -> Result<Option<&str>> {
            match o.pointer(f) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(field(
                    &at(&f[1..].replace('/', ".")),
                    "expected a string".into(),
                )),
            }
        };
        let pod = match text("/metadata/name")? {
            Some(p) if !p.is_empty() => p.to_string(),
            Some(_) => return Err(field(&at("metadata.name"), "empty pod name".into())),
            // A bare `{"containers": …}` body: the pod is the one the file is named after.
            None if path.is_empty() => fallback_pod.to_string(),
            None => {
                return Err(field(
                    &at("metadata.name"),
                    "missing: every item of a list must name its pod".into(),
                ))
            }
        };
        let namespace = text("/metadata/namespace")?.unwrap_or("").to_string();
        let t_ms = match text("/timestamp")? {
            None => 0,
            Some(ts) => parse_timestamp_ns(ts)
                .map_err(|e| {
                    field(
                        &at("timestamp"),
                        format!("{ts:?}: {e}; expected RFC 3339, e.g. 2026-12-03T13:34:58Z"),
                    )
                })?
                .div_euclid(1_000_000),
        };
        let containers = o
            .get("containers")
            .and_then(Value::as_array)
            .ok_or_else(|| field(&at("containers"), "missing or not an array".into()))?;
        for (j, c) in containers.iter().enumerate() {
            let cpath = at(&format!("containers[{j}]"));
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| field(&format!("{cpath}.name"), "missing container name".into()))?;
            // A container without a reading of a resource: missing, never zero (the HPA's
            // metrics client counts such a pod as missing for that resource); a reading that
            // is there must be a quantity string.
            let usage = |r: &str| -> Result<Option<&str>> {
                match c.pointer(&format!("/usage/{r}")) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.as_str())),
                    Some(_) => Err(field(
                        &format!("{cpath}.usage.{r}"),
                        "expected a quantity string, e.g. \"2731514n\" or \"343748Ki\"".into(),
                    )),
                }
            };
            let cpu_n = match usage("cpu")? {
                None => None,
                Some(cpu_text) => {
                    let cpu = Quantity::parse_cpu(cpu_text)
                        .map_err(|e| field(&format!("{cpath}.usage.cpu"), e.to_string()))?;
                    if cpu.is_negative() {
                        return Err(field(
                            &format!("{cpath}.usage.cpu"),
                            format!("{cpu_text:?} is negative"),
                        ));
                    }
                    Some(cpu.ceil_scaled(9))
                }
            };
            let mem = usage("memory")?
                .map(|m| {
                    Bytes::parse(m)
                        .map(|b| b.0)
                        .map_err(|e| field(&format!("{cpath}.usage.memory"), e.to_string()))
                })
                .transpose()?;
            super::check_sample(t_ms, cpu_n, mem).map_err(|e| field(&cpath, e))?;
            for (r, v) in [("cpu", cpu_n), ("memory", mem)] {
                if v.is_none() {
                    missing.push(MissingSample {
                        namespace: namespace.clone(),
                        pod: pod.clone(),
                        t_ms: Some(t_ms),
                        location: format!("{cpath}.usage.{r}"),
                        reason: format!(
                            "container `{name}` has no {r} reading (missing, not zero)"
                        ),
                    });
                }
            }
            samples.push(UsageSample::usage(
                namespace.clone(),
                pod.clone(),
                name.to_string(),
                t_ms,
                cpu_n,
                mem,
            ));
        }
        if containers.is_empty() {
            // metrics-server lists a pod whose containers it has no metrics for yet.
            missing.push(MissingSample {
                namespace: namespace.clone(),
                pod: pod.clone(),
                t_ms: Some(t_ms),
                location: at("containers"),
                reason: "no container metrics for the pod (missing, not zero)".into(),
            });
        }
    }
    if samples.is_empty() {
        return Err(field(
            "items",
            "no pod metrics in the answer (no items, or pods without containers)".into(),
        ));
    }
    Ok(MetricsSet {
        source: source.to_string(),
        format: MetricsFormat::MetricsApi,
        samples,
        missing,
        warnings: Vec::new(),
    })
}
