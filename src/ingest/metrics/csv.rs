//! Usage CSVs: the Nezha per-pod metric files (Online Boutique, FSE'23) and the Google
//! cluster-usage trace v3 (Borg, May 2019) `instance_usage` rows.

use csv::ByteRecord;
use serde::Serialize;

use super::{MetricsFormat, MetricsOptions, MetricsSet, MissingSample, Precision, UsageSample};
use crate::error::{Error, Result};
use crate::ingest::traffic::table::{field_text, Table};
use crate::quantity::Quantity;

/// The unit of Nezha's `CpuUsage(m)` column.
///
/// The header says millicores, but `CpuUsageRate(%)` = `CpuUsage` / limit only with limits of
/// 20–30, ten times below the Online Boutique manifests' 200m/300m; so the column behaves like
/// hundredths of a core (`../shared/data/SOURCES.md`, unit caveat). The default follows that
/// observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NezhaCpuUnit {
    /// Hundredths of a core: `5.34` is 53.4m (the default, per the unit caveat).
    #[default]
    Centicores,
    /// Millicores, as the header says: `5.34` is 5.34m.
    Millicores,
}

const NEZHA_COLUMNS: [&str; 4] = ["TimeStamp", "PodName", "CpuUsage(m)", "MemoryUsage(Mi)"];
const BORG_COLUMNS: [&str; 5] = [
    "time",
    "collection_id",
    "instance_index",
    "avg_cpu_usage",
    "max_memory_usage",
];

fn header_has(first_line: &str, names: &[&str]) -> bool {
    let cols: Vec<&str> = first_line.split(',').map(str::trim).collect();
    names.iter().all(|n| cols.contains(n))
}

pub(super) fn is_nezha_header(first_line: &str) -> bool {
    header_has(first_line, &NEZHA_COLUMNS)
}

pub(super) fn is_borg_header(first_line: &str) -> bool {
    header_has(first_line, &BORG_COLUMNS)
}

/// A float field; `NaN` and empty fields are `None`.
fn float(t: &Table, rec: &ByteRecord, col: usize, line: u64) -> Result<Option<f64>> {
    let f = Table::field(rec, col);
    if f.is_empty() || f.eq_ignore_ascii_case(b"nan") {
        return Ok(None);
    }
    let v: f64 = std::str::from_utf8(f)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| t.field_error(line, col, format!("{:?} is not a number", field_text(f))))?;
    if !v.is_finite() || v < 0.0 {
        return Err(t.field_error(line, col, format!("{v} must be a finite number ≥ 0")));
    }
    Ok(Some(v))
}

/// A [`float`] field of at most `max`: `what` says what a larger value cannot be (`a pod's
/// request rate`). Unbounded rates and latencies multiplied into in-flight requests overflowed
/// to infinity, which `calibrate`'s least squares cannot take.
fn bounded(
    t: &Table,
    rec: &ByteRecord,
    col: usize,
    line: u64,
    (max, shown, what): (f64, &str, &str),
) -> Result<Option<f64>> {
    let v = float(t, rec, col, line)?;
    match v {
        Some(v) if v > max => Err(t.field_error(
            line,
            col,
            format!(
                "{} is above {shown}: not {what}; expected at most that",
                field_text(Table::field(rec, col))
            ),
        )),
        _ => Ok(v),
    }
}

/// Most requests per second a Nezha `PodWorkload(Ops)` value may say: a billion.
const MAX_REQUESTS_PER_S: f64 = 1e9;
/// Longest p90 latency a Nezha `PodServerLatencyP90(s)` value may say: a day, in seconds.
const MAX_LATENCY_S: f64 = 86_400.0;

/// A non-negative quantity field (exact decimal), `NaN`/empty as `None`; `suffix` is appended
/// before parsing (`Mi` for the Nezha memory column).
fn quantity(
    t: &Table,
    rec: &ByteRecord,
    col: usize,
    line: u64,
    suffix: &str,
) -> Result<Option<Quantity>> {
    let f = Table::field(rec, col);
    if f.is_empty() || f.eq_ignore_ascii_case(b"nan") {
        return Ok(None);
    }
    let text = field_text(f);
    let q = Quantity::parse(&format!("{text}{suffix}"))
        .map_err(|_| t.field_error(line, col, format!("{text:?} is not a plain decimal number")))?;
    if q.is_negative() {
        return Err(t.field_error(line, col, format!("{text} is negative")));
    }
    Ok(Some(q))
}

pub(super) fn parse_nezha(text: &str, source: &str, opts: &MetricsOptions) -> Result<MetricsSet> {
    let mut t = Table::open(text, source)?;
    let ts = t.require("TimeStamp", "Nezha TimeStamp")?;
    let pod_c = t.require("PodName", "Nezha PodName")?;
    let cpu_c = t.require("CpuUsage(m)", "Nezha CpuUsage(m)")?;
    let mem_c = t.require("MemoryUsage(Mi)", "Nezha MemoryUsage(Mi)")?;
    let ops_c = t.find_unique("PodWorkload(Ops)")?;
    let lat_c = t.find_unique("PodServerLatencyP90(s)")?;
    // CpuUsage × 10^scale = nanocores.
    let cpu_scale = match opts.nezha_cpu_unit {
        NezhaCpuUnit::Centicores => 7,
        NezhaCpuUnit::Millicores => 6,
    };
    let mut rec = ByteRecord::new();
    let mut samples = Vec::new();
    let mut missing = Vec::new();
    while let Some(line) = t.next(&mut rec)? {
        let tf = Table::field(&rec, ts);
        let secs = crate::ingest::traffic::civil::parse_digits(tf).ok_or_else(|| {
            t.field_error(
                line,
                ts,
                format!("{:?} is not unix seconds", field_text(tf)),
            )
        })?;
        let t_ms = i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000);
        let pod = field_text(Table::field(&rec, pod_c)).into_owned();
        if pod.is_empty() {
            return Err(t.field_error(line, pod_c, "the pod name is empty"));
        }
        let cpu = quantity(&t, &rec, cpu_c, line, "")?.map(|q| q.ceil_scaled(cpu_scale));
        let mem = quantity(&t, &rec, mem_c, line, "Mi")?.map(|q| q.value());
        super::check_sample(t_ms, cpu, mem).map_err(|e| Error::at_line(source, line, e))?;
        if cpu.is_none() || mem.is_none() {
            missing.push(MissingSample {
                namespace: String::new(),
                pod: pod.clone(),
                t_ms: Some(t_ms),
                location: format!("line {line}"),
                reason: "CpuUsage or MemoryUsage is NaN or empty".into(),
            });
        }
        let requests = match ops_c {
            Some(c) => bounded(
                &t,
                &rec,
                c,
                line,
                (MAX_REQUESTS_PER_S, "1e9 requests/s", "a pod's request rate"),
            )?,
            None => None,
        };
        let latency = match lat_c {
            Some(c) => bounded(
                &t,
                &rec,
                c,
                line,
                (MAX_LATENCY_S, "86400 s (a day)", "a request's latency"),
            )?,
            None => None,
        };
        samples.push(UsageSample {
            namespace: String::new(),
            pod,
            container: String::new(),
            t_ms,
            cpu_nanocores: cpu,
            working_set_bytes: mem,
            requests_per_s: requests,
            server_latency_p90_s: latency,
            precision: Precision::Exact,
        });
    }
    table_set(
        &t,
        source,
        MetricsFormat::NezhaCsv,
        samples,
        missing,
        Vec::new(),
    )
}

pub(super) fn parse_borg(text: &str, source: &str, opts: &MetricsOptions) -> Result<MetricsSet> {
    let (Some(cores_per_unit), Some(bytes_per_unit)) =
        (opts.borg_cores_per_unit, opts.borg_bytes_per_unit)
    else {
        return Err(Error::at_line(
            source,
            1,
            "Borg usage is in normalized units (a fraction of the trace's largest machine); say \
             what one unit is with --borg-cores-per-unit and --borg-bytes-per-unit",
        ));
    };
    for (name, v) in [
        ("--borg-cores-per-unit", cores_per_unit),
        ("--borg-bytes-per-unit", bytes_per_unit),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::at_field(
                "<command line>",
                name,
                format!("{v} must be a positive number"),
            ));
        }
    }
    let mut t = Table::open(text, source)?;
    let time_c = t.require("time", "Borg time")?;
    let job_c = t.require("collection_id", "Borg collection_id")?;
    let idx_c = t.require("instance_index", "Borg instance_index")?;
    let cpu_c = t.require("avg_cpu_usage", "Borg avg_cpu_usage")?;
    let mem_c = t.require("max_memory_usage", "Borg max_memory_usage")?;
    let mut rec = ByteRecord::new();
    let mut samples = Vec::new();
    let mut missing = Vec::new();
    while let Some(line) = t.next(&mut rec)? {
        let tf = Table::field(&rec, time_c);
        let us = crate::ingest::traffic::civil::parse_digits(tf).ok_or_else(|| {
            t.field_error(
                line,
                time_c,
                format!("{:?} is not microseconds", field_text(tf)),
            )
        })?;
        let t_ms = i64::try_from(us / 1000).unwrap_or(i64::MAX);
        let pod = format!(
            "{}-{}",
            field_text(Table::field(&rec, job_c)),
            field_text(Table::field(&rec, idx_c))
        );
        let cpu = float(&t, &rec, cpu_c, line)?.map(|v| (v * cores_per_unit * 1e9).round() as i64);
        let mem = float(&t, &rec, mem_c, line)?.map(|v| (v * bytes_per_unit).round() as i64);
        super::check_sample(t_ms, cpu, mem).map_err(|e| Error::at_line(source, line, e))?;
        if cpu.is_none() || mem.is_none() {
            missing.push(MissingSample {
                namespace: String::new(),
                pod: pod.clone(),
                t_ms: Some(t_ms),
                location: format!("line {line}"),
                reason: "avg_cpu_usage or max_memory_usage is empty".into(),
            });
        }
        samples.push(UsageSample::usage(
            String::new(),
            pod,
            String::new(),
            t_ms,
            cpu,
            mem,
        ));
    }
    table_set(
        &t,
        source,
        MetricsFormat::BorgCsv,
        samples,
        missing,
        Vec::new(),
    )
}

/// Column names of the generic usage CSV: the pod, and CPU and/or memory.
const GENERIC_POD: [&str; 3] = ["pod", "pod_name", "podname"];
const GENERIC_TIME: [&str; 5] = ["ts", "time", "timestamp", "t", "date"];
const GENERIC_CPU: [&str; 4] = ["cpu", "cpu_usage", "cpu_cores", "cpu(cores)"];
const GENERIC_MEMORY: [&str; 7] = [
    "memory",
    "memory_working_set",
    "memory_working_set_bytes",
    "working_set",
    "mem",
    "memory_usage",
    "memory(bytes)",
];

fn header_any(cols: &[String], names: &[&str]) -> bool {
    cols.iter()
        .any(|c| names.iter().any(|n| c.eq_ignore_ascii_case(n)))
}

/// A generic usage CSV (`ts,pod,cpu` / `ts,pod,memory_working_set`, as people export them):
/// a pod column and a CPU or memory column; optional time, namespace and container columns.
pub(super) fn is_generic_header(first_line: &str) -> bool {
    let cols: Vec<String> = first_line
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_string())
        .collect();
    cols.len() >= 2
        && header_any(&cols, &GENERIC_POD)
        && (header_any(&cols, &GENERIC_CPU) || header_any(&cols, &GENERIC_MEMORY))
}

/// A time field of the generic CSV, unix ms: unix seconds, an ISO date-time, or a time of day
/// `HH:MM[:SS]` (taken on 1970-01-01 UTC: only the differences between samples matter, and a
/// recording that passes midnight needs full dates).
fn generic_time(text: &str) -> std::result::Result<i64, String> {
    let parts: Vec<&str> = text.split(':').collect();
    if (2..=3).contains(&parts.len()) && parts.iter().all(|p| !p.is_empty() && p.len() <= 2) {
        let nums: Vec<u32> = parts
            .iter()
            .map(|p| p.parse::<u32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| format!("{text:?} is not a time of day HH:MM[:SS]"))?;
        let (h, m, s) = (nums[0], nums[1], nums.get(2).copied().unwrap_or(0));
        if h > 23 || m > 59 || s > 59 {
            return Err(format!("{text:?} is not a time of day HH:MM[:SS]"));
        }
        return Ok(i64::from(h * 3600 + m * 60 + s) * 1000);
    }
    crate::ingest::traffic::civil::parse_timestamp_ns(text).map(|ns| ns.div_euclid(1_000_000))
}

pub(super) fn parse_generic(text: &str, source: &str) -> Result<MetricsSet> {
    let t = Table::open(text, source)?;
    let first = |names: &[&str]| -> Result<Option<usize>> {
        for n in names {
            if let Some(c) = t.find_unique(n)? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    };
    let pod_c = first(&GENERIC_POD)?.ok_or_else(|| {
        Error::at_line(
            source,
            1,
            format!("no pod column; columns: {}", t.column_list()),
        )
    })?;
    let time_c = first(&GENERIC_TIME)?;
    let cpu_c = first(&GENERIC_CPU)?;
    let mem_c = first(&GENERIC_MEMORY)?;
    let ns_c = first(&["namespace", "ns"])?;
    let container_c = first(&["container", "container_name"])?;
    let mut t = t;
    let mut rec = ByteRecord::new();
    let mut samples = Vec::new();
    let mut missing = Vec::new();
    let mut suspicious = super::Suspicious::default();
    // With a time column, one row per (namespace, pod, container) and time: a repeated one
    // (two exports concatenated, a duplicated scrape) would count its usage twice.
    let mut seen: std::collections::HashMap<(String, String, String, i64), u64> =
        std::collections::HashMap::new();
    while let Some(line) = t.next(&mut rec)? {
        let t_ms = match time_c {
            None => 0,
            Some(c) => {
                let f = field_text(Table::field(&rec, c)).into_owned();
                generic_time(f.trim()).map_err(|e| {
                    t.field_error(
                        line,
                        c,
                        format!("{e}; expected unix seconds, an ISO date-time or HH:MM[:SS]"),
                    )
                })?
            }
        };
        let pod = field_text(Table::field(&rec, pod_c)).trim().to_string();
        if pod.is_empty() {
            return Err(t.field_error(line, pod_c, "the pod name is empty"));
        }
        let text_of = |c: usize| field_text(Table::field(&rec, c)).trim().to_string();
        // An empty or NaN cell is a missing value; anything else must be a quantity.
        let cell = |col: Option<usize>| {
            col.map(|c| (c, text_of(c)))
                .filter(|(_, s)| !s.is_empty() && !s.eq_ignore_ascii_case("nan"))
        };
        let cpu = match cell(cpu_c) {
            None => None,
            Some((c, s)) => {
                let q = Quantity::parse(&s).map_err(|e| {
                    t.field_error(line, c, format!("{e} (CPU: cores, e.g. 0.25, or 250m)"))
                })?;
                if q.is_negative() {
                    return Err(t.field_error(line, c, format!("{s} is negative")));
                }
                Some(q.ceil_scaled(9))
            }
        };
        let mem = match cell(mem_c) {
            None => None,
            Some((c, s)) => {
                // Exact values round up to a byte (as Prometheus'); milli-bytes are a typo
                // (`500m` meant 500M or 500Mi) and get Bytes' hint.
                let q = Quantity::parse(&s).map_err(|e| t.field_error(line, c, e.to_string()))?;
                if q.is_negative() || (s.ends_with('m') && !q.is_integer()) {
                    let e = crate::quantity::Bytes::parse(&s).err();
                    return Err(t.field_error(
                        line,
                        c,
                        e.map_or_else(|| format!("{s} is not a memory amount"), |e| e.to_string()),
                    ));
                }
                Some(q.value())
            }
        };
        super::check_sample(t_ms, cpu, mem).map_err(|e| Error::at_line(source, line, e))?;
        let at = format!("line {line}");
        if let (Some((c, s)), Some(_)) = (cell(cpu_c), cpu) {
            suspicious.check(&at, &format!("`{}`", t.headers[c]), &s, cpu, None);
        }
        if let (Some((c, s)), Some(_)) = (cell(mem_c), mem) {
            suspicious.check(&at, &format!("`{}`", t.headers[c]), &s, None, mem);
        }
        if (cpu_c.is_some() && cpu.is_none()) || (mem_c.is_some() && mem.is_none()) {
            missing.push(MissingSample {
                namespace: ns_c.map(text_of).unwrap_or_default(),
                pod: pod.clone(),
                t_ms: Some(t_ms),
                location: format!("line {line}"),
                reason: "an empty or NaN value (missing, not zero)".into(),
            });
        }
        let namespace = ns_c.map(text_of).unwrap_or_default();
        let container = container_c.map(text_of).unwrap_or_default();
        if let Some(c) = time_c {
            let key = (namespace.clone(), pod.clone(), container.clone(), t_ms);
            if let Some(first) = seen.insert(key, line) {
                return Err(t.field_error(
                    line,
                    c,
                    format!(
                        "a second row for pod `{pod}`{} at the same time as line {first}; \
                         expected one row per pod{} and time",
                        if container.is_empty() {
                            String::new()
                        } else {
                            format!(" container `{container}`")
                        },
                        if container_c.is_some() {
                            " and container"
                        } else {
                            ""
                        },
                    ),
                ));
            }
        }
        samples.push(UsageSample::usage(
            namespace, pod, container, t_ms, cpu, mem,
        ));
    }
    table_set(
        &t,
        source,
        MetricsFormat::UsageCsv,
        samples,
        missing,
        suspicious.warnings(source),
    )
}

/// The samples read from table `t` as a set, or the table's "no data rows" error when it had
/// none.
fn table_set(
    t: &Table,
    source: &str,
    format: MetricsFormat,
    samples: Vec<UsageSample>,
    missing: Vec<MissingSample>,
    warnings: Vec<String>,
) -> Result<MetricsSet> {
    if samples.is_empty() {
        return Err(t.no_data_rows());
    }
    Ok(MetricsSet {
        source: source.to_string(),
        format,
        samples,
        missing,
        warnings,
    })
}
