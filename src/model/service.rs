//! Service profiles: how a workload turns requests into CPU, memory and latency.

use serde::{Deserialize, Serialize};

use crate::quantity::{Bytes, MilliCpu};

/// A uniform delay distribution `[min, max]` (durations as `15s`, `500ms`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayRange {
    /// Shortest delay.
    #[serde(with = "duration_serde")]
    pub min: crate::time::Millis,
    /// Longest delay.
    #[serde(with = "duration_serde")]
    pub max: crate::time::Millis,
}

impl DelayRange {
    /// The delay at quantile `u` in `[0, 1)`.
    pub fn at(&self, u: f64) -> crate::time::Millis {
        let span = self.max.saturating_sub(self.min) as f64;
        self.min + (span * u.clamp(0.0, 1.0)).floor() as crate::time::Millis
    }
}

/// A call a request makes to a downstream server (MongoDB, Redis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownstreamCall {
    /// The server: the name of another service in the scenario (`redis`) or an external one
    /// (`mongodb`).
    pub server: String,
    /// Mean operations per request.
    pub ops_per_request: f64,
    /// Mean round trip per operation, client side, including server time (`2ms`).
    #[serde(with = "duration_serde")]
    pub round_trip: crate::time::Millis,
    /// Server CPU per operation, in CPU-microseconds (drives the server's CPU when the server is
    /// a modeled service).
    #[serde(default)]
    pub server_cpu_us: f64,
}

/// Waiting on an external provider (the LLM API): holds a worker slot and memory, not CPU.
///
/// Duration of one request = `first_token + context_tokens × per_context_token +
/// generated_tokens × per_generated_token`, with token counts drawn from the request log the
/// scenario names (the Azure LLM inference trace by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalWait {
    /// Time to first token.
    #[serde(with = "duration_serde")]
    pub first_token: crate::time::Millis,
    /// Prefill time per context (prompt) token, in microseconds.
    pub per_context_token_us: f64,
    /// Decode time per generated token, in milliseconds.
    pub per_generated_token_ms: f64,
}

/// One request class of a service (e.g. `api`, `llm`, `static`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestClass {
    /// Class name, as the SLA names it.
    pub name: String,
    /// Share of the service's arrivals, in `[0, 1]`; the shares of a service sum to 1.
    pub share: f64,
    /// Mean CPU time per request on one full core, in milliseconds.
    pub cpu_ms: f64,
    /// Squared coefficient of variation of the CPU time (1 = exponential).
    #[serde(default = "one")]
    pub cpu_scv: f64,
    /// Downstream calls per request.
    #[serde(default)]
    pub downstream: Vec<DownstreamCall>,
    /// External wait (LLM provider), if any.
    #[serde(default)]
    pub external: Option<ExternalWait>,
    /// Working-set memory held per in-flight request.
    #[serde(default)]
    pub memory_per_request: Bytes,
    /// Fixed overhead per request outside the pod (ingress, network), milliseconds.
    #[serde(default)]
    pub network_ms: f64,
}

fn one() -> f64 {
    1.0
}

fn default_restart_delay() -> crate::time::Millis {
    3 * crate::time::SECOND
}

/// A readiness probe answered by the app's own workers (e.g. `/healthz` on the uvicorn
/// workers that serve the traffic): it waits in the same queue, so when the queueing delay
/// exceeds its timeout for `failure_threshold` probes in a row the pod turns unready, and one
/// answered probe makes it ready again (kubelet probe semantics, `successThreshold` 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadinessProbe {
    /// `periodSeconds` (default 10 s).
    #[serde(with = "duration_serde", default = "default_probe_period")]
    pub period: crate::time::Millis,
    /// `timeoutSeconds` (default 1 s).
    #[serde(with = "duration_serde", default = "default_probe_timeout")]
    pub timeout: crate::time::Millis,
    /// `failureThreshold` (default 3).
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
}

fn default_probe_period() -> crate::time::Millis {
    10 * crate::time::SECOND
}

fn default_probe_timeout() -> crate::time::Millis {
    crate::time::SECOND
}

fn default_failure_threshold() -> u32 {
    3
}

/// Memory model of one pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryProfile {
    /// Working set of the pod outside its workers (master process, runtime).
    #[serde(default)]
    pub base_pod: Bytes,
    /// Working set of each worker process at rest.
    pub base_per_worker: Bytes,
    /// Growth of a worker's working set per request it has served (Python/JVM heaps that
    /// ratchet up; default 0).
    #[serde(default)]
    pub growth_per_request: Bytes,
    /// Requests after which a worker is recycled back to its resting size (gunicorn
    /// `--max-requests`); absent or 0: never (gunicorn's default 0 disables the restarts).
    #[serde(default)]
    pub max_requests: Option<u64>,
    /// gunicorn `--max-requests-jitter`: each worker's limit is `max_requests` plus a random
    /// 0..=jitter, so the workers stop recycling in step (default 0; without `max_requests`
    /// it does nothing, as in gunicorn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_jitter: Option<u64>,
}

impl MemoryProfile {
    /// Growth of the pod's working set after it has served `served` requests spread over
    /// `workers` workers: each worker grows by `growth_per_request` per request until it is
    /// recycled at its limit, `max_requests` plus gunicorn's uniform 0..=jitter (mean
    /// L = r + j/2); from then on the workers' ages are spread out, and a worker's mean age,
    /// in requests, is the renewal process's E[L²] / 2E[L] = (L² + j²/12) / 2L (r/2 without
    /// jitter). `max_requests: 0` is gunicorn's "never recycle".
    pub fn growth_bytes(&self, served: f64, workers: u32) -> f64 {
        if self.growth_per_request.0 == 0 {
            // Workers that do not grow (the formula's product would be 0 exactly).
            return 0.0;
        }
        let w = f64::from(workers.max(1));
        let per_worker = served / w;
        let counted = match self.max_requests {
            Some(r) if r > 0 => {
                let j = self.max_requests_jitter.unwrap_or(0) as f64;
                let mean = r as f64 + j / 2.0;
                if per_worker >= mean {
                    (mean * mean + j * j / 12.0) / (2.0 * mean)
                } else {
                    per_worker
                }
            }
            _ => per_worker,
        };
        w * counted * self.growth_per_request.0 as f64
    }
}

/// How a worker process runs the requests it holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerKind {
    /// One event loop runs every request of the process (uvicorn/asyncio, `async def`
    /// handlers): awaiting I/O frees the loop, a blocking call stops it (the default).
    #[default]
    Async,
    /// A thread per request (gunicorn sync/gthread, FastAPI `def` endpoints on the
    /// threadpool): a blocking call stops only its thread.
    Threads,
}

impl WorkerKind {
    /// Whether it is the default, [`WorkerKind::Async`].
    pub fn is_async(&self) -> bool {
        *self == WorkerKind::Async
    }
}

/// A service profile (`models/services/*.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceProfile {
    /// Service name (`backend`, `frontend`, `redis`).
    pub name: String,
    /// One line saying what the service is.
    #[serde(default)]
    pub description: String,
    /// Worker processes per pod (uvicorn/gunicorn workers, nginx workers, 1 for Redis).
    pub workers: u32,
    /// Maximum in-flight requests per worker; arrivals beyond it are rejected (HTTP 503).
    pub concurrency_per_worker: u32,
    /// How a worker runs its requests: `async` (an event loop; the default) or `threads`.
    #[serde(default, skip_serializing_if = "WorkerKind::is_async")]
    pub worker_kind: WorkerKind,
    /// CPU a pod uses when idle.
    #[serde(default)]
    pub idle_cpu: MilliCpu,
    /// Memory model.
    pub memory: MemoryProfile,
    /// Container start-up time (image pull + process start), uniform.
    pub startup: DelayRange,
    /// Time to start the container again after a crash (image already on the node; default
    /// 3 s).
    #[serde(with = "duration_serde", default = "default_restart_delay")]
    pub restart_delay: crate::time::Millis,
    /// Readiness delay after start (probe `initialDelaySeconds` + one period).
    #[serde(with = "duration_serde")]
    pub readiness_delay: crate::time::Millis,
    /// A readiness probe the workers answer, which fails when they are saturated (absent:
    /// the probe never fails once the pod is ready).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<ReadinessProbe>,
    /// Client-side timeout: a request not answered within it fails (ingress/proxy timeout).
    #[serde(with = "duration_serde")]
    pub timeout: crate::time::Millis,
    /// Request classes.
    pub classes: Vec<RequestClass>,
    /// Sidecars the pods run beside the app, with what they use (constant).
    #[serde(default)]
    pub sidecars: Vec<SidecarUsage>,
}

/// What a sidecar container uses, per pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SidecarUsage {
    /// Container name, as configs refer to it.
    pub name: String,
    /// CPU it uses.
    #[serde(default)]
    pub cpu: MilliCpu,
    /// Working set it holds.
    #[serde(default)]
    pub memory: Bytes,
}

impl ServiceProfile {
    /// What the sidecar `name` uses, if the profile lists it.
    pub fn sidecar(&self, name: &str) -> Option<&SidecarUsage> {
        self.sidecars.iter().find(|u| u.name == name)
    }

    /// The servers its classes call, sorted, each once.
    pub fn servers(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .classes
            .iter()
            .flat_map(|c| c.downstream.iter().map(|d| d.server.as_str()))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Checks shares and counts; returns the field and the problem.
    pub fn validate(&self) -> Result<(), (String, String)> {
        // Worker processes share the pod's CPUs: gunicorn advises 2 × cores + 1 and nginx one per
        // core, and no node offers 512 cores, so 1024 is above any real pod. Beyond it the
        // per-worker memory and connection pools grow to absurd sizes.
        const MAX_WORKERS: u32 = 1024;
        // Requests one worker holds at once: nginx's worker_connections tops out near 65535
        // (the port range) and uvicorn's --limit-concurrency is set in the hundreds; 100000
        // leaves room for either.
        const MAX_CONCURRENCY: u32 = 100_000;
        for (field, v, max) in [
            ("workers", self.workers, MAX_WORKERS),
            (
                "concurrency_per_worker",
                self.concurrency_per_worker,
                MAX_CONCURRENCY,
            ),
        ] {
            if v == 0 || v > max {
                return Err((
                    field.into(),
                    format!("{v}: expected a count from 1 to {max}"),
                ));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, c) in self.classes.iter().enumerate() {
            check_class_name(&c.name).map_err(|m| (format!("classes[{i}].name"), m))?;
            if !names.insert(c.name.as_str()) {
                return Err((
                    format!("classes[{i}].name"),
                    format!(
                        "duplicate class `{}`: the SLA and class_logs name classes; expected \
                         distinct names",
                        c.name
                    ),
                ));
            }
        }
        if self.startup.min > self.startup.max {
            return Err(("startup".into(), "min must be <= max".into()));
        }
        if self.timeout == 0 {
            return Err((
                "timeout".into(),
                "0: every request would time out; expected a timeout > 0 (e.g. 60s)".into(),
            ));
        }
        if let Some(p) = &self.readiness_probe {
            // The kubelet's minimums: periodSeconds, timeoutSeconds and failureThreshold ≥ 1.
            if p.period == 0 {
                return Err((
                    "readiness_probe.period".into(),
                    "0: expected a period > 0 (e.g. 10s)".into(),
                ));
            }
            if p.timeout == 0 {
                return Err((
                    "readiness_probe.timeout".into(),
                    "0: expected a timeout > 0 (e.g. 1s)".into(),
                ));
            }
            if p.failure_threshold == 0 {
                return Err((
                    "readiness_probe.failure_threshold".into(),
                    "0: expected at least 1".into(),
                ));
            }
        }
        if self.classes.is_empty() {
            return Err((
                "classes".into(),
                "at least one request class is needed".into(),
            ));
        }
        let mut sum = 0.0;
        for (i, c) in self.classes.iter().enumerate() {
            let f = |n: &str| format!("classes[{i}].{n}");
            if !(0.0..=1.0).contains(&c.share) {
                return Err((f("share"), format!("{} must be within [0, 1]", c.share)));
            }
            let mut numbers = vec![
                ("cpu_ms".to_string(), c.cpu_ms, 1e6),
                ("cpu_scv".to_string(), c.cpu_scv, 1e3),
                ("network_ms".to_string(), c.network_ms, 1e6),
            ];
            for (j, d) in c.downstream.iter().enumerate() {
                numbers.push((
                    format!("downstream[{j}].ops_per_request"),
                    d.ops_per_request,
                    1e4,
                ));
                numbers.push((
                    format!("downstream[{j}].server_cpu_us"),
                    d.server_cpu_us,
                    1e9,
                ));
            }
            if let Some(e) = &c.external {
                numbers.push((
                    "external.per_context_token_us".into(),
                    e.per_context_token_us,
                    1e9,
                ));
                numbers.push((
                    "external.per_generated_token_ms".into(),
                    e.per_generated_token_ms,
                    1e6,
                ));
            }
            for (name, v, max) in numbers {
                if !(v.is_finite() && (0.0..=max).contains(&v)) {
                    // Display writes 1e300 as 301 digits; past 1e15 the exponent form reads.
                    let shown = if v.abs() >= 1e15 {
                        format!("{v:e}")
                    } else {
                        v.to_string()
                    };
                    return Err((f(&name), format!("{shown} must be a number in [0, {max}]")));
                }
            }
            sum += c.share;
        }
        if (sum - 1.0).abs() > 1e-6 {
            return Err((
                "classes".into(),
                format!("class shares sum to {sum}; they must sum to 1"),
            ));
        }
        Ok(())
    }
}

/// A request class name: what the SLA objectives and `class_logs` name and the outputs print
/// as `service/class`: 1 to 63 letters, digits, `-`, `_` or `.`, starting with a letter or
/// digit (an empty name or one with spaces, `/` or `:` reads as something else in all of them).
pub fn check_class_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        return Ok(());
    }
    Err(format!(
        "{name:?} is not a class name; expected 1 to 63 letters, digits, '-', '_' or '.', \
         starting with a letter or digit (e.g. api, llm)"
    ))
}

/// Serde adapter for an optional duration (a field with `default`): absent is `None`, a value is
/// read as [`duration_serde`] reads it.
pub mod opt_duration_serde {
    use serde::{Deserializer, Serializer};

    use crate::time::Millis;

    /// Serializes `Some` as a compact duration string, `None` as null.
    pub fn serialize<S: Serializer>(v: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(ms) => super::duration_serde::serialize(ms, s),
            None => s.serialize_none(),
        }
    }

    /// Deserializes a present value from a duration string or a number of seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
        super::duration_serde::deserialize(d).map(Some)
    }
}

/// Serde adapter for durations written as `15s`, `5m`, `300ms` (or seconds as a number).
pub mod duration_serde {
    use serde::{Deserializer, Serializer};

    use crate::time::{format_duration, parse_duration, Millis};

    /// Serializes as a compact duration string.
    pub fn serialize<S: Serializer>(v: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(*v))
    }

    /// Deserializes from a duration string or a number of seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        let text = crate::quantity::deserialize_text_expecting(
            d,
            "a duration: a string such as \"15s\", \"5m\" or \"300ms\", or a number of seconds",
        )?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}
