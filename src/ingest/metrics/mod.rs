//! Recorded pod metrics: `kubectl top pods` text, Prometheus range-query JSON, and CSV (the
//! Nezha per-pod format and the Google Borg 2019 task format), read into one sample type,
//! [`UsageSample`]: per pod (and container), a timestamp, CPU in nanocores and the memory
//! working set in bytes.
//!
//! [`parse_metrics`] detects the format from the content; [`read_metrics`] reads a file first.
//! Every quantity goes through [`crate::quantity`] (so `12MB` is an error, `2731514n` is
//! 2.731514m); every bad-input error is an [`Error::Input`](crate::Error::Input) naming the
//! file and the line (text, CSV) or the JSON field path (Prometheus). Exit code 2.
//!
//! ```
//! use costsim::ingest::metrics::{parse_metrics, MetricsOptions};
//!
//! let text = "Thu Dec  3 13:34:58 UTC 2026\n\
//!             NAME     CPU(cores)   MEMORY(bytes)\n\
//!             test-0   3m           335Mi\n";
//! let m = parse_metrics(text, "top.txt", &MetricsOptions::default()).unwrap();
//! assert_eq!(m.samples[0].cpu_nanocores, Some(3_000_000));
//! assert_eq!(m.samples[0].working_set_bytes, Some(335 << 20));
//! assert_eq!(m.samples[0].t_ms, 1_796_304_898_000);
//! ```

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};

mod csv;
mod kubectl_top;
mod metrics_api;
mod prometheus;

pub use self::csv::NezhaCpuUnit;
pub use kubectl_top::kubectl_top_display;

/// Which source format a file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsFormat {
    /// `kubectl top pods` output (optionally `-A`, `--containers`, several snapshots).
    KubectlTop,
    /// A Prometheus HTTP API query result (`matrix` or `vector`).
    Prometheus,
    /// The resource metrics API (`metrics.k8s.io/v1beta1` `PodMetrics` or `PodMetricsList`,
    /// as `kubectl get --raw` prints it): exact values.
    MetricsApi,
    /// The Nezha per-pod metric CSV (`TimeStamp,PodName,CpuUsage(m),MemoryUsage(Mi),…`).
    NezhaCsv,
    /// The Google cluster-usage trace v3 (Borg 2019) `instance_usage` CSV.
    BorgCsv,
    /// A generic usage CSV: a `pod` column and `cpu` and/or `memory` (quantities), optional
    /// `ts` (unix seconds, ISO, or a time of day), `namespace`, `container`.
    UsageCsv,
}

/// How exact a sample's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// As measured (metrics API, Prometheus, CSV).
    Exact,
    /// As `kubectl top` prints them: CPU rounded **up** to 1m, memory **down** to 1Mi, so the
    /// true value is within (−1m, 0] of the CPU and [0, +1Mi) of the memory shown.
    KubectlTop,
}

/// Which resource a Prometheus file holds, when its series do not say (`rate(...)` drops the
/// metric name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// CPU usage in cores (`rate(container_cpu_usage_seconds_total[…])`).
    Cpu,
    /// Memory working set in bytes (`container_memory_working_set_bytes`).
    Memory,
}

/// One measurement of one pod (or one container of it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageSample {
    /// Namespace; empty when the source has none.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container name; empty when the sample covers the whole pod.
    pub container: String,
    /// Time of the measurement (window start for rates), unix milliseconds.
    pub t_ms: i64,
    /// CPU usage, nanocores (1 core = 10^9), if measured.
    pub cpu_nanocores: Option<i64>,
    /// Memory **working set** (what the kubelet and the OOM killer see, not RSS), bytes.
    pub working_set_bytes: Option<i64>,
    /// Requests the pod handled per second in the sample's interval, if the source has it.
    pub requests_per_s: Option<f64>,
    /// The pod's server-side p90 latency in the interval, seconds, if the source has it.
    pub server_latency_p90_s: Option<f64>,
    /// How exact the values are.
    pub precision: Precision,
}

impl UsageSample {
    /// An exact CPU and memory measurement of a pod (or one of its containers) at `t_ms`,
    /// without request counts or latency.
    pub fn usage(
        namespace: String,
        pod: String,
        container: String,
        t_ms: i64,
        cpu_nanocores: Option<i64>,
        working_set_bytes: Option<i64>,
    ) -> UsageSample {
        UsageSample {
            namespace,
            pod,
            container,
            t_ms,
            cpu_nanocores,
            working_set_bytes,
            requests_per_s: None,
            server_latency_p90_s: None,
            precision: Precision::Exact,
        }
    }

    /// CPU usage in cores.
    pub fn cpu_cores(&self) -> Option<f64> {
        self.cpu_nanocores.map(|n| n as f64 / 1e9)
    }

    /// CPU usage in whole millicores, rounded up (the metrics API's `MilliValue`, what
    /// `kubectl top` prints and the VPA recommender reads).
    pub fn cpu_milli_ceil(&self) -> Option<i64> {
        self.cpu_nanocores.map(milli_ceil)
    }
}

/// Nanocores as whole millicores, rounded up.
pub(crate) fn milli_ceil(nanocores: i64) -> i64 {
    nanocores.saturating_add(999_999).div_euclid(1_000_000)
}

/// A pod the source says it has no metrics for (recorded as missing, never as zero).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingSample {
    /// Namespace, if the source names it.
    pub namespace: String,
    /// Pod name, if the source names it (empty: the whole snapshot is missing).
    pub pod: String,
    /// Time of the snapshot, if known.
    pub t_ms: Option<i64>,
    /// Where in the file (`line 12`, `data.result[0].values[3]`).
    pub location: String,
    /// What the source said.
    pub reason: String,
}

/// Everything read from one metrics file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsSet {
    /// The file name used in messages.
    pub source: String,
    /// The detected format.
    pub format: MetricsFormat,
    /// The samples, in file order.
    pub samples: Vec<UsageSample>,
    /// Pods (or snapshots) with no metrics.
    pub missing: Vec<MissingSample>,
    /// Values that parse but are almost surely typos (a bare CPU of 100 cores or more, a bare
    /// memory below 1Mi), each naming the first line and the column, with how many more.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The first suspicious value of a column: where, its text, what it means, the fix, and how
/// many more values like it follow.
#[derive(Debug)]
struct FirstSuspicious {
    at: String,
    text: String,
    meaning: String,
    hint: String,
    more: usize,
}

/// Collects the values of a metrics file that parse but are almost surely typos, one warning
/// per column and kind (the first line, and how many more), as the scenario's checks warn of
/// `cpu: 1e3` and `memory: 512`.
#[derive(Debug, Default)]
pub(crate) struct Suspicious {
    /// (column, kind) → its first value.
    found: std::collections::BTreeMap<(String, &'static str), FirstSuspicious>,
}

impl Suspicious {
    /// Notes `text` (a value of `column` at `location`, e.g. `line 2`) if it reads as 100
    /// cores or more of CPU (`cpu_nanocores`) as a bare number (no suffix) or with a multiplying
    /// suffix (`1Ki` is 1024 cores), or as less than 1Mi of memory (`bytes`, not zero) as a
    /// bare number.
    pub(crate) fn check(
        &mut self,
        location: &str,
        column: &str,
        text: &str,
        cpu_nanocores: Option<i64>,
        bytes: Option<i64>,
    ) {
        let bare = !text.is_empty()
            && text
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'+' | b'e' | b'E' | b'-'));
        // A suffix that multiplies (k, M, Ki, …) rather than divides (m, u, n).
        let multiplied = !bare && !text.ends_with(['m', 'u', 'n']);
        if let (true, Some(n)) = (multiplied, cpu_nanocores.filter(|&n| n >= 100_000_000_000)) {
            let meaning = format!(
                "{} cores (CPU counts cores; its suffix multiplies them)",
                n as f64 / 1e9
            );
            let hint = "CPU is in cores (`0.25`) or millicores (`250m`)".to_string();
            self.note(location, column, text, "cpu", meaning, hint);
            return;
        }
        if !bare {
            return;
        }
        let (kind, meaning, hint) = match (cpu_nanocores, bytes) {
            (Some(n), _) if n >= 100_000_000_000 => (
                "cpu",
                format!(
                    "{} cores (a number without a suffix counts cores)",
                    n as f64 / 1e9
                ),
                format!("did you mean {}m?", n as f64 / 1e9),
            ),
            (_, Some(b)) if b > 0 && b < 1 << 20 => (
                "memory",
                format!("{b} bytes, below 1Mi (a number without a suffix counts bytes)"),
                format!("did you mean {b}Mi?"),
            ),
            _ => return,
        };
        self.note(location, column, text, kind, meaning, hint);
    }

    /// Records the first suspicious value of `column` of `kind`, counting the later ones.
    fn note(
        &mut self,
        location: &str,
        column: &str,
        text: &str,
        kind: &'static str,
        meaning: String,
        hint: String,
    ) {
        self.found
            .entry((column.to_string(), kind))
            .and_modify(|e| e.more += 1)
            .or_insert(FirstSuspicious {
                at: location.to_string(),
                text: text.to_string(),
                meaning,
                hint,
                more: 0,
            });
    }

    /// The warnings, prefixed with the file name.
    pub(crate) fn warnings(self, source: &str) -> Vec<String> {
        self.found
            .into_iter()
            .map(|((column, _), f)| {
                let FirstSuspicious {
                    at,
                    text,
                    meaning,
                    hint,
                    more,
                } = f;
                let more = match more {
                    0 => String::new(),
                    1 => " (and 1 more value like it)".to_string(),
                    n => format!(" (and {n} more values like it)"),
                };
                format!("{source}: {at}: column {column}: {text:?} is {meaning}; {hint}{more}")
            })
            .collect()
    }
}

/// Options for reading metrics files.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MetricsOptions {
    /// What a Prometheus file holds when its series carry no `__name__`.
    pub prometheus_resource: Option<Resource>,
    /// The unit of the Nezha `CpuUsage(m)` column.
    pub nezha_cpu_unit: NezhaCpuUnit,
    /// Cores per Borg normalized CPU unit (NCU: a fraction of the trace's largest machine);
    /// required for Borg files.
    pub borg_cores_per_unit: Option<f64>,
    /// Bytes per Borg normalized memory unit; required for Borg files.
    pub borg_bytes_per_unit: Option<f64>,
}

/// Latest sample time accepted, unix ms (9999-12-31T23:59:59Z): later times are typos and would
/// overflow the recommenders' time arithmetic.
pub const MAX_T_MS: i64 = 253_402_300_799_000;
/// Largest CPU accepted, nanocores (one million cores).
pub const MAX_CPU_NANOCORES: i64 = 1_000_000_000_000_000;
/// Largest working set accepted, bytes (1 EiB).
pub const MAX_WORKING_SET_BYTES: i64 = 1 << 60;

/// Checks a sample's time and amounts against the limits above; the error says which.
fn check_sample(t_ms: i64, cpu: Option<i64>, mem: Option<i64>) -> std::result::Result<(), String> {
    if !(0..=MAX_T_MS).contains(&t_ms) {
        return Err(format!(
            "time {t_ms} ms is outside 1970-01-01 … 9999-12-31 (unix seconds, not milliseconds?)"
        ));
    }
    if cpu.is_some_and(|c| c > MAX_CPU_NANOCORES) {
        return Err("CPU above one million cores: not a pod's usage".into());
    }
    if mem.is_some_and(|m| m > MAX_WORKING_SET_BYTES) {
        return Err("working set above 1Ei: not a pod's usage".into());
    }
    Ok(())
}

/// Reads a metrics file (see [`parse_metrics`]).
pub fn read_metrics(path: &Path, opts: &MetricsOptions) -> Result<MetricsSet> {
    let (text, source) = crate::ingest::traffic::table::read_text(path)?;
    parse_metrics(&text, &source, opts)
}

/// Parses metrics text of any supported format, detected from its content: JSON when it
/// starts with `{` (the metrics API's `PodMetrics` / `PodMetricsList`, else a Prometheus
/// answer), CSV when the first line is a Nezha or Borg header, else `kubectl top` text.
pub fn parse_metrics(text: &str, source: &str, opts: &MetricsOptions) -> Result<MetricsSet> {
    let set = parse_any(text, source, opts)?;
    check_names(&set)?;
    Ok(set)
}

/// A namespace, pod or container name with whitespace or a control character (a quoted CSV
/// field `"web\n1"`, a JSON label) is bad input: no Kubernetes name has one, and it broke the
/// table output across lines.
fn check_names(set: &MetricsSet) -> Result<()> {
    for s in &set.samples {
        for (what, name) in [
            ("namespace", &s.namespace),
            ("pod", &s.pod),
            ("container", &s.container),
        ] {
            if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(Error::input(
                    &set.source,
                    None,
                    format!(
                        "{what} name `{}` has whitespace or a control character; expected a \
                         Kubernetes name (lower-case letters, digits, `-` and `.`)",
                        name.escape_debug()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// [`parse_metrics`] without the name check: the format's parser.
fn parse_any(text: &str, source: &str, opts: &MetricsOptions) -> Result<MetricsSet> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if text.trim_start().starts_with('{') {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if metrics_api::is_metrics_api(&v) => {
                // A bare `{"containers": …}` body names no pod: the file's name does.
                let stem = Path::new(source)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or(source);
                metrics_api::parse(&v, source, stem)
            }
            _ => prometheus::parse(text, source, opts),
        }
    } else if csv::is_nezha_header(first_line) {
        csv::parse_nezha(text, source, opts)
    } else if csv::is_borg_header(first_line) {
        csv::parse_borg(text, source, opts)
    } else if csv::is_generic_header(first_line) {
        csv::parse_generic(text, source)
    } else if text.trim().is_empty() {
        Err(Error::at_line(
            source,
            1,
            "the file is empty; expected `kubectl top pods` output, a Prometheus query result \
             or metrics API answer (JSON), or a Nezha, Borg or plain usage CSV (pod, cpu, memory)",
        ))
    } else {
        kubectl_top::parse(text, source)
    }
}

/// The characters of generated name suffixes (`k8s.io/apimachinery/pkg/util/rand` alphanums).
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The workload a pod belongs to, from its name: a Deployment pod `web-5f9f6bb846-tx6mj` →
/// `web`, a StatefulSet pod `redis-0` → `redis`, a DaemonSet or bare ReplicaSet pod
/// `agent-x7k2p` → `agent`; other names are their own workload.
pub fn workload_of(pod: &str) -> &str {
    let parts: Vec<&str> = pod.rsplitn(3, '-').collect();
    // parts[0] = last segment, parts[1] = the one before, parts[2] = the rest.
    // Kubernetes' generated name suffixes and pod-template hashes use apimachinery's "safe"
    // alphabet (no vowels, no 0, 1, 3), so words such as `exporter` are never mistaken for one.
    let safe = |s: &str| s.bytes().all(|c| SAFE_ALPHABET.contains(&c));
    let is_suffix = |s: &str| s.len() == 5 && safe(s);
    let is_hash = |s: &str| (6..=10).contains(&s.len()) && safe(s);
    match parts.as_slice() {
        [last, hash, rest] if is_suffix(last) && is_hash(hash) => &pod[..rest.len()],
        [last, ..] if parts.len() >= 2 && last.bytes().all(|c| c.is_ascii_digit()) => {
            &pod[..pod.len() - last.len() - 1]
        }
        [last, ..] if parts.len() >= 2 && is_suffix(last) => &pod[..pod.len() - last.len() - 1],
        _ => pod,
    }
}

/// Checks that no two samples of `sets` (across files too) give the same resource of the
/// same pod and container at the same time: a repeated `kubectl top` snapshot, a file passed
/// twice or a duplicated Prometheus series would count that usage twice, and the pod totals
/// an HPA sees would add the copies up as if they were two containers. A CPU reading in one
/// file and a memory reading in another (`cpu=FILE`, `memory=FILE`) are one sample's halves.
pub fn check_duplicate_readings(sets: &[MetricsSet]) -> Result<()> {
    use std::collections::HashMap;
    // (namespace, pod, container, time) → (file index, has CPU, has memory).
    type Reading<'a> = (&'a str, &'a str, &'a str, i64);
    let mut seen: HashMap<Reading, (usize, bool, bool)> = HashMap::new();
    for (i, set) in sets.iter().enumerate() {
        for s in &set.samples {
            let (cpu, mem) = (s.cpu_nanocores.is_some(), s.working_set_bytes.is_some());
            let key = (
                s.namespace.as_str(),
                s.pod.as_str(),
                s.container.as_str(),
                s.t_ms,
            );
            let e = seen.entry(key).or_insert((i, false, false));
            let resource = match (cpu && e.1, mem && e.2) {
                (true, _) => "CPU",
                (_, true) => "memory",
                _ => {
                    e.1 |= cpu;
                    e.2 |= mem;
                    continue;
                }
            };
            let whose = match (s.namespace.is_empty(), s.container.is_empty()) {
                (true, true) => format!("pod `{}`", s.pod),
                (false, true) => format!("pod `{}/{}`", s.namespace, s.pod),
                (true, false) => format!("pod `{}` container `{}`", s.pod, s.container),
                (false, false) => format!(
                    "pod `{}/{}` container `{}`",
                    s.namespace, s.pod, s.container
                ),
            };
            let first = if e.0 == i {
                "earlier in this file".to_string()
            } else {
                format!("in {}", sets[e.0].source)
            };
            return Err(Error::input(
                &set.source,
                Some(format!("{whose} at unix time {}", format_unix_ms(s.t_ms))),
                format!(
                    "a second {resource} reading of it at that time (the first is {first}); \
                     expected one reading per pod, container and time: a repeated snapshot or \
                     file would count the usage twice"
                ),
            ));
        }
    }
    Ok(())
}

/// Unix milliseconds as seconds, with the fraction only when there is one.
fn format_unix_ms(t_ms: i64) -> String {
    if t_ms % 1000 == 0 {
        format!("{} s", t_ms / 1000)
    } else {
        format!("{:.3} s", t_ms as f64 / 1000.0)
    }
}

/// Sums the containers of each pod per timestamp into pod-level samples (what `kubectl top
/// pods` without `--containers` shows); pod-level samples pass through. A resource is summed
/// only when every container of that pod and time has it. Samples of the same container and
/// time are halves of one reading (the CPU from one file, the memory from another): each
/// resource is taken from the first that has it, never added up.
pub fn pod_totals(samples: &[UsageSample]) -> Vec<UsageSample> {
    use std::collections::BTreeMap;
    let mut by_key: BTreeMap<(String, String, i64), Vec<&UsageSample>> = BTreeMap::new();
    for s in samples {
        by_key
            .entry((s.namespace.clone(), s.pod.clone(), s.t_ms))
            .or_default()
            .push(s);
    }
    by_key
        .into_iter()
        .map(|((namespace, pod, t_ms), group)| {
            // Per container: its CPU and memory, each from the first sample that has it.
            type Halves = (Option<i64>, Option<i64>);
            let mut per_container: BTreeMap<&str, Halves> = BTreeMap::new();
            for s in &group {
                let e = per_container.entry(s.container.as_str()).or_default();
                e.0 = e.0.or(s.cpu_nanocores);
                e.1 = e.1.or(s.working_set_bytes);
            }
            let sum_i = |f: fn(&Halves) -> Option<i64>| {
                per_container
                    .values()
                    .try_fold(0i64, |acc, c| Some(acc.saturating_add(f(c)?)))
            };
            let first = group[0];
            UsageSample {
                namespace,
                pod,
                container: String::new(),
                t_ms,
                cpu_nanocores: sum_i(|c| c.0),
                working_set_bytes: sum_i(|c| c.1),
                requests_per_s: first.requests_per_s,
                server_latency_p90_s: first.server_latency_p90_s,
                precision: first.precision,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
