//! Replica proposals for one metric (`replica_calculator.go` and `metrics/utilization.go`):
//! pure functions over the pods the HPA selects and the samples the metrics APIs return.
//!
//! Sums run in `i128`, so they never overflow and give the exact result the upstream big-integer
//! fallback gives; float-to-integer conversions saturate.

use super::config::ControllerConfig;
use super::spec::ResourceName;
use crate::time::Millis;

/// Error when the pod list is empty.
const ERR_NO_PODS: &str = "no pods returned by selector while calculating replica count";
/// Error when no sample survives the pod grouping.
const ERR_NO_TARGETED_METRICS: &str =
    "did not receive metrics for targeted pods (pods might be unready)";
/// Error when no sample belongs to a pod with a request.
const ERR_NO_MATCHED_PODS: &str = "no metrics returned matched known pods";

/// Lifecycle phase of a pod (`v1.PodPhase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PodPhase {
    /// Accepted but not all containers running (includes unscheduled pods).
    Pending,
    /// Bound and at least one container running.
    Running,
    /// All containers exited successfully.
    Succeeded,
    /// All containers exited, at least one failed.
    Failed,
    /// State could not be obtained.
    Unknown,
}

/// What the HPA sees of one pod matched by the scale target's selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HpaPod {
    /// Pod phase.
    pub phase: PodPhase,
    /// `deletionTimestamp` is set (the pod is terminating).
    pub deleting: bool,
    /// Status of the Ready condition (`true` = True, `false` = False).
    pub ready: bool,
    /// `status.startTime`; `None` if the kubelet has not reported it.
    pub start_time: Option<Millis>,
    /// `lastTransitionTime` of the Ready condition; `None` means the pod has no Ready condition
    /// at all (then it is never ready).
    pub ready_transition_time: Option<Millis>,
}

impl HpaPod {
    /// A Running pod that started at `start` and has been Ready since then.
    pub fn running_ready(start: Millis) -> Self {
        HpaPod {
            phase: PodPhase::Running,
            deleting: false,
            ready: true,
            start_time: Some(start),
            ready_transition_time: Some(start),
        }
    }

    /// Running with a Ready=True condition (`getReadyPodsCount`).
    pub fn is_running_and_ready(&self) -> bool {
        self.phase == PodPhase::Running && self.ready && self.ready_transition_time.is_some()
    }
}

/// One metric sample of a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Value in milli-units (millicores, milli-bytes, milli-requests/s ...).
    pub value: i64,
    /// When the sample was taken (end of its window).
    pub timestamp: Millis,
    /// Length of the window the sample averages over (metrics-server: the scrape window).
    pub window: Millis,
}

/// The data one metric has for one pod: the pod's request for the measured resource (only
/// Resource / ContainerResource metrics use it; for ContainerResource it is that container's
/// request) and the pod's sample, if the metrics API returned one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PodMetricPoint {
    /// Request in milli-units; `None` means some counted container lacks a request.
    pub request: Option<i64>,
    /// The sample, or `None` if the metrics API returned none for this pod.
    pub sample: Option<Sample>,
}

/// Per-pod data of one metric. `per_pod[i]` belongs to `pods[i]` (missing entries count as
/// "no request, no sample"); `unknown_pods` are samples the metrics API returned for pods that
/// are not in the pod list (upstream keeps them in the metric map but they carry no request).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodMetrics {
    /// Data aligned with the pod list.
    pub per_pod: Vec<PodMetricPoint>,
    /// Samples for pods the HPA does not know.
    pub unknown_pods: Vec<Sample>,
}

impl PodMetrics {
    /// Whether the metrics API returned no sample at all (upstream's metrics client then fails
    /// with "no metrics returned from ... metrics API").
    pub fn is_empty(&self) -> bool {
        self.unknown_pods.is_empty() && self.per_pod.iter().all(|p| p.sample.is_none())
    }
}

/// Scale-up and scale-down tolerances of one HPA (`Tolerances`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerances {
    /// A ratio ≥ 1 − `scale_down` does not scale down.
    pub scale_down: f64,
    /// A ratio ≤ 1 + `scale_up` does not scale up.
    pub scale_up: f64,
}

impl Tolerances {
    /// The same tolerance in both directions.
    pub fn uniform(t: f64) -> Self {
        Tolerances {
            scale_down: t,
            scale_up: t,
        }
    }

    /// `(1 − down) ≤ ratio ≤ (1 + up)`: the change would be too small to act on.
    pub fn is_within(&self, ratio: f64) -> bool {
        (1.0 - self.scale_down) <= ratio && ratio <= (1.0 + self.scale_up)
    }
}

/// Result of a Utilization target: the proposal and the status values upstream reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtilizationProposal {
    /// Proposed replica count.
    pub replicas: i32,
    /// `floor(100 × Σusage / Σrequest)` over the ready pods (status `averageUtilization`).
    pub utilization_percent: i32,
    /// `Σusage / n` over the same pods, integer division (status `averageValue`).
    pub raw_average: i64,
}

/// Result of an AverageValue target (Pods metric, raw resource value, Object/External per pod).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AverageProposal {
    /// Proposed replica count.
    pub replicas: i32,
    /// Average the proposal is based on, milli-units (status `averageValue`).
    pub average: i64,
}

/// Result of a Value target (Object / External).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueProposal {
    /// Proposed replica count.
    pub replicas: i32,
    /// The metric value, milli-units (status `value`).
    pub value: i64,
}

/// `int32(math.Ceil(x))` with saturation (NaN → 0).
pub(crate) fn ceil_to_i32(x: f64) -> i32 {
    // `as` saturates at the i32 bounds and maps NaN to 0.
    x.ceil() as i32
}

/// `a / b`, truncating like `i128` division (`b ≠ 0`); in `i64` when both fit, which gives the
/// same quotient without the `i128` division routine.
pub(crate) fn div_i128(a: i128, b: i128) -> i128 {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(x), Ok(y)) if !(x == i64::MIN && y == -1) => i128::from(x / y),
        _ => a / b,
    }
}

fn clamp_i64(x: i128) -> i64 {
    x.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// How `groupPods` classifies a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// Terminating or Failed: dropped entirely.
    Ignored,
    /// Pending, or (CPU only) not trustworthy yet: its sample is dropped.
    Unready,
    /// No sample.
    Missing,
    /// Counted.
    Ready,
}

/// `groupPods` for one pod and its metric data. The classification is a pure function of the
/// pod, so the calculators classify each pod again in their second pass instead of collecting
/// the groups (and the ready pods' values, and the requests) into per-call vectors.
fn classify(
    pod: &HpaPod,
    point: &PodMetricPoint,
    cpu_checks: bool,
    now: Millis,
    cfg: &ControllerConfig,
) -> Group {
    if pod.deleting || pod.phase == PodPhase::Failed {
        Group::Ignored
    } else if pod.phase == PodPhase::Pending {
        Group::Unready
    } else {
        match point.sample {
            None => Group::Missing,
            Some(sample) if cpu_checks && !cpu_sample_trusted(pod, &sample, now, cfg) => {
                Group::Unready
            }
            Some(_) => Group::Ready,
        }
    }
}

/// The pods with their index, metric data (a missing entry is "no request, no sample") and
/// group, in pod order.
fn grouped<'a>(
    pods: &'a [HpaPod],
    metrics: &'a PodMetrics,
    cpu_checks: bool,
    now: Millis,
    cfg: &'a ControllerConfig,
) -> impl Iterator<Item = (usize, PodMetricPoint, Group)> + 'a {
    pods.iter().enumerate().map(move |(i, pod)| {
        let point = metrics.per_pod.get(i).copied().unwrap_or_default();
        (i, point, classify(pod, &point, cpu_checks, now, cfg))
    })
}

/// How many pods fell into the groups the calculators look at.
#[derive(Debug, Clone, Copy, Default)]
struct GroupCounts {
    ready: usize,
    unready: usize,
    missing: usize,
}

impl GroupCounts {
    fn add(&mut self, g: Group) {
        match g {
            Group::Ready => self.ready += 1,
            Group::Unready => self.unready += 1,
            Group::Missing => self.missing += 1,
            Group::Ignored => {}
        }
    }
}

/// The CPU readiness and warm-up check of `groupPods`.
fn cpu_sample_trusted(pod: &HpaPod, sample: &Sample, now: Millis, cfg: &ControllerConfig) -> bool {
    let (Some(since), Some(start)) = (pod.ready_transition_time, pod.start_time) else {
        return false;
    };
    let unready = if start.saturating_add(cfg.cpu_initialization_period) > now {
        // Still initializing: distrust unready pods and samples that do not yet cover a full
        // window after the last readiness change.
        !pod.ready || sample.timestamp < since.saturating_add(sample.window)
    } else {
        // Initialized: distrust pods that are unready and never became ready.
        !pod.ready && start.saturating_add(cfg.initial_readiness_delay) > since
    };
    !unready
}

/// Σ usage, Σ request and the number of pods with a value (`GetResourceUtilizationRatio`'s
/// loop over the pods that have both).
#[derive(Debug, Clone, Copy, Default)]
struct UtilizationSums {
    used: i128,
    requested: i128,
    n: i128,
}

impl UtilizationSums {
    fn add(&mut self, value: i64, request: i64) {
        self.used += value as i128;
        self.requested += request as i128;
        self.n += 1;
    }
}

/// `GetResourceUtilizationRatio`: (ratio, percent, raw average) over the summed pods.
fn utilization_ratio(
    sums: &UtilizationSums,
    target_utilization: i32,
) -> Result<(f64, i32, i64), String> {
    if sums.requested == 0 {
        return Err(ERR_NO_MATCHED_PODS.to_string());
    }
    let percent = div_i128(sums.used * 100, sums.requested);
    let percent = i32::try_from(percent)
        .map_err(|_| format!("resource utilization {percent}% does not fit in an int32"))?;
    let raw = clamp_i64(div_i128(sums.used, sums.n.max(1)));
    Ok((percent as f64 / target_utilization as f64, percent, raw))
}

/// Σ value and the number of pods with a value (`GetMetricUsageRatio`'s loop over the pods).
#[derive(Debug, Clone, Copy, Default)]
struct UsageSums {
    total: i128,
    n: i128,
}

impl UsageSums {
    fn add(&mut self, value: i64) {
        self.total += value as i128;
        self.n += 1;
    }
}

/// `GetMetricUsageRatio`: (ratio, average) over the summed pods and the unknown pods.
fn usage_ratio(mut sums: UsageSums, unknown: &[Sample], target: i64) -> (f64, i64) {
    for s in unknown {
        sums.add(s.value);
    }
    let avg = clamp_i64(div_i128(sums.total, sums.n.max(1)));
    (avg as f64 / target as f64, avg)
}

/// Proposal for a Resource / ContainerResource metric with a Utilization target
/// (`GetResourceReplicas`).
///
/// `current` is `scale.spec.replicas`; `target_utilization` is in percent. Returns the proposal
/// with the utilization percent and raw average that upstream puts into the status.
#[allow(clippy::too_many_arguments)]
pub fn resource_utilization_replicas(
    current: i32,
    target_utilization: i32,
    resource: ResourceName,
    tolerances: Tolerances,
    now: Millis,
    pods: &[HpaPod],
    metrics: &PodMetrics,
    cfg: &ControllerConfig,
) -> Result<UtilizationProposal, String> {
    if metrics.is_empty() {
        return Err(format!(
            "unable to get metrics for resource {resource}: no metrics returned from resource metrics API"
        ));
    }
    if pods.is_empty() {
        return Err(ERR_NO_PODS.to_string());
    }
    let cpu_checks = resource == ResourceName::Cpu;
    // One pass: the groups, the first pod without a request, and the ready pods' sums.
    let mut counts = GroupCounts::default();
    let mut without_request = None;
    let mut sums = UtilizationSums::default();
    for (i, point, g) in grouped(pods, metrics, cpu_checks, now, cfg) {
        counts.add(g);
        match (point.request, point.sample) {
            (None, _) => {
                without_request.get_or_insert(i);
            }
            (Some(request), Some(sample)) if g == Group::Ready => sums.add(sample.value, request),
            _ => {}
        }
    }
    if counts.ready + metrics.unknown_pods.len() == 0 {
        return Err(ERR_NO_TARGETED_METRICS.to_string());
    }
    if let Some(i) = without_request {
        return Err(format!(
            "missing request for {resource} in a container of pod #{i}"
        ));
    }
    let (ratio, utilization_percent, raw_average) = utilization_ratio(&sums, target_utilization)?;
    let out = |replicas| UtilizationProposal {
        replicas,
        utilization_percent,
        raw_average,
    };

    let scale_up_with_unready = counts.unready > 0 && ratio > 1.0;
    if !scale_up_with_unready && counts.missing == 0 {
        if tolerances.is_within(ratio) {
            return Ok(out(current));
        }
        return Ok(out(ceil_to_i32(ratio * counts.ready as f64)));
    }

    // Rebalance. Scale-down: a missing pod is assumed at max(100 %, target) of its request;
    // scale-up: at 0. On a scale-up with unready pods, those count at 0 too.
    let fallback = i128::from(target_utilization.max(100));
    let mut sums = UtilizationSums::default();
    for (_, point, g) in grouped(pods, metrics, cpu_checks, now, cfg) {
        // Every pod has a request here (checked above).
        let Some(request) = point.request else {
            continue;
        };
        let value = match g {
            Group::Ready => point.sample.map(|s| s.value),
            Group::Missing if ratio < 1.0 => {
                Some(clamp_i64(div_i128(request as i128 * fallback, 100)))
            }
            Group::Missing if ratio > 1.0 => Some(0),
            Group::Unready if scale_up_with_unready => Some(0),
            _ => None,
        };
        if let Some(v) = value {
            sums.add(v, request);
        }
    }

    let (new_ratio, _, _) = utilization_ratio(&sums, target_utilization)?;
    if tolerances.is_within(new_ratio)
        || (ratio < 1.0 && new_ratio > 1.0)
        || (ratio > 1.0 && new_ratio < 1.0)
    {
        return Ok(out(current));
    }
    let n_metrics = sums.n as usize + metrics.unknown_pods.len();
    let new_replicas = ceil_to_i32(new_ratio * n_metrics as f64);
    if !cfg.pre_surge_fix
        && ((new_ratio < 1.0 && new_replicas > current)
            || (new_ratio > 1.0 && new_replicas < current))
    {
        return Ok(out(current));
    }
    Ok(out(new_replicas))
}

/// Proposal for a per-pod average target (`calcPlainMetricReplicas`): a Pods metric
/// (`resource = None`), or a Resource / ContainerResource metric with an AverageValue target
/// (`GetRawResourceReplicas`, `resource = Some(..)`; CPU then gets the readiness checks).
///
/// Missing pods count at exactly the target on a scale-down and at 0 on a scale-up.
#[allow(clippy::too_many_arguments)]
pub fn plain_metric_replicas(
    current: i32,
    target_average: i64,
    resource: Option<ResourceName>,
    tolerances: Tolerances,
    now: Millis,
    pods: &[HpaPod],
    metrics: &PodMetrics,
    cfg: &ControllerConfig,
) -> Result<AverageProposal, String> {
    if metrics.is_empty() {
        return Err(match resource {
            Some(r) => format!(
                "unable to get metrics for resource {r}: no metrics returned from resource metrics API"
            ),
            None => "unable to get metric: no metrics returned from custom metrics API".into(),
        });
    }
    if pods.is_empty() {
        return Err(ERR_NO_PODS.to_string());
    }
    let cpu_checks = resource == Some(ResourceName::Cpu);
    let mut counts = GroupCounts::default();
    let mut sums = UsageSums::default();
    for (_, point, g) in grouped(pods, metrics, cpu_checks, now, cfg) {
        counts.add(g);
        if let (Group::Ready, Some(sample)) = (g, point.sample) {
            sums.add(sample.value);
        }
    }
    if counts.ready + metrics.unknown_pods.len() == 0 {
        return Err(ERR_NO_TARGETED_METRICS.to_string());
    }
    let (ratio, average) = usage_ratio(sums, &metrics.unknown_pods, target_average);
    let out = |replicas| AverageProposal { replicas, average };

    let scale_up_with_unready = counts.unready > 0 && ratio > 1.0;
    if !scale_up_with_unready && counts.missing == 0 {
        if tolerances.is_within(ratio) {
            return Ok(out(current));
        }
        return Ok(out(ceil_to_i32(ratio * counts.ready as f64)));
    }

    // Rebalance: missing pods at the target on a scale-down, at 0 on a scale-up; on a scale-up
    // with unready pods, those at 0 too.
    let mut sums = UsageSums::default();
    for (_, point, g) in grouped(pods, metrics, cpu_checks, now, cfg) {
        let value = match g {
            Group::Ready => point.sample.map(|s| s.value),
            Group::Missing if ratio < 1.0 => Some(target_average),
            Group::Missing if ratio > 1.0 => Some(0),
            Group::Unready if scale_up_with_unready => Some(0),
            _ => None,
        };
        if let Some(v) = value {
            sums.add(v);
        }
    }

    let (new_ratio, _) = usage_ratio(sums, &metrics.unknown_pods, target_average);
    if tolerances.is_within(new_ratio)
        || (ratio < 1.0 && new_ratio > 1.0)
        || (ratio > 1.0 && new_ratio < 1.0)
    {
        return Ok(out(current));
    }
    let n_metrics = sums.n as usize + metrics.unknown_pods.len();
    let new_replicas = ceil_to_i32(new_ratio * n_metrics as f64);
    if !cfg.pre_surge_fix
        && ((new_ratio < 1.0 && new_replicas > current)
            || (new_ratio > 1.0 && new_replicas < current))
    {
        return Ok(out(current));
    }
    Ok(out(new_replicas))
}

/// `getUsageRatioReplicaCount`: with `current ≠ 0`, the tolerance test and then
/// `ceil(ratio × ready pods)`; with `current = 0`, `ceil(ratio)` without tolerance.
fn usage_ratio_replica_count(
    current: i32,
    ratio: f64,
    tolerances: Tolerances,
    pods: &[HpaPod],
) -> Result<i32, String> {
    if current == 0 {
        return Ok(ceil_to_i32(ratio));
    }
    if tolerances.is_within(ratio) {
        return Ok(current);
    }
    if pods.is_empty() {
        return Err(format!("unable to count ready pods: {ERR_NO_PODS}"));
    }
    let ready = pods.iter().filter(|p| p.is_running_and_ready()).count();
    Ok(ceil_to_i32(ratio * ready as f64))
}

/// Proposal for an Object metric with a Value target (`GetObjectMetricReplicas`).
/// `current` is `scale.spec.replicas`; the multiplier is the number of Running + Ready pods.
pub fn object_value_replicas(
    current: i32,
    target_value: i64,
    value: i64,
    tolerances: Tolerances,
    pods: &[HpaPod],
) -> Result<ValueProposal, String> {
    let ratio = value as f64 / target_value as f64;
    let replicas = usage_ratio_replica_count(current, ratio, tolerances, pods)?;
    Ok(ValueProposal { replicas, value })
}

/// Proposal for an External metric with a Value target (`GetExternalMetricReplicas`); `value`
/// is the sum of the returned series (see [`sum_external_values`]).
pub fn external_value_replicas(
    current: i32,
    target_value: i64,
    value: i64,
    tolerances: Tolerances,
    pods: &[HpaPod],
) -> Result<ValueProposal, String> {
    object_value_replicas(current, target_value, value, tolerances, pods)
}

/// Proposal for an Object or External metric with an AverageValue target
/// (`GetObjectPerPodMetricReplicas`, `GetExternalPerPodMetricReplicas`).
///
/// ratio = value / (target × `status_replicas`); outside tolerance the proposal is
/// `ceil(value / target)`, otherwise `status_replicas`. The reported average is
/// `ceil(value / status_replicas)`.
pub fn average_value_replicas(
    status_replicas: i32,
    target_average: i64,
    value: i64,
    tolerances: Tolerances,
) -> AverageProposal {
    let ratio = value as f64 / (target_average as f64 * status_replicas as f64);
    let replicas = if tolerances.is_within(ratio) {
        status_replicas
    } else {
        ceil_to_i32(value as f64 / target_average as f64)
    };
    let average = if value as f64 >= i64::MAX as f64 {
        i64::MAX
    } else {
        // Saturating; NaN (0 / 0) becomes 0.
        (value as f64 / status_replicas as f64).ceil() as i64
    };
    AverageProposal { replicas, average }
}

/// Sum of External metric series, saturating at the `i64` bounds (upstream caps at MaxInt64).
pub fn sum_external_values(values: &[i64]) -> i64 {
    values.iter().fold(0i64, |acc, v| acc.saturating_add(*v))
}
