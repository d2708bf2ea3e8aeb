//! HPA spec types in the autoscaling/v2 shape, the API-server defaulting of `spec.behavior`, and
//! the API-server validation rules.
//!
//! Field names follow the Kubernetes API (camelCase) so model YAML can use them verbatim. Metric
//! targets are **milli-units** (`i64`), i.e. the value of `Quantity.MilliValue()`: converting
//! quantity strings such as `400Mi` is the job of the model loader, not of this module, so a
//! target written here as `averageValue: 400` means 0.4 units.

use serde::{Deserialize, Deserializer, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

/// `minReplicas` when unset (`pkg/apis/autoscaling/v2/defaults.go`, `SetDefaults_HorizontalPodAutoscaler`).
pub const DEFAULT_MIN_REPLICAS: i32 = 1;
/// CPU utilization target used when `metrics` is empty (`autoscaling.DefaultCPUUtilization`).
pub const DEFAULT_CPU_UTILIZATION: i32 = 80;
/// Default scale-up Pods policy value (`defaults.go`, `scaleUpLimitMinimumPods`).
pub const DEFAULT_SCALE_UP_PODS: i32 = 4;
/// Default scale-up Percent policy value (`defaults.go`, `scaleUpLimitPercent`).
pub const DEFAULT_SCALE_UP_PERCENT: i32 = 100;
/// Period of both default scale-up policies, seconds (`defaults.go`, `scaleUpPeriod`).
pub const DEFAULT_SCALE_UP_PERIOD_SECONDS: i32 = 15;
/// Default scale-up stabilization window, seconds (`defaults.go`, `scaleUpStabilizationSeconds`).
pub const DEFAULT_SCALE_UP_STABILIZATION_SECONDS: i32 = 0;
/// Default scale-down Percent policy value (`defaults.go`, `scaleDownLimitPercent`).
pub const DEFAULT_SCALE_DOWN_PERCENT: i32 = 100;
/// Period of the default scale-down policy, seconds (`defaults.go`, `scaleDownPeriod`).
pub const DEFAULT_SCALE_DOWN_PERIOD_SECONDS: i32 = 15;
/// Largest allowed `periodSeconds` of a scaling policy (`validation.go`, `MaxPeriodSeconds`).
pub const MAX_PERIOD_SECONDS: i32 = 1800;
/// Largest allowed `stabilizationWindowSeconds` (`validation.go`, `MaxStabilizationWindowSeconds`).
pub const MAX_STABILIZATION_WINDOW_SECONDS: i32 = 3600;

/// `spec` of a HorizontalPodAutoscaler (autoscaling/v2), as far as the controller reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaSpec {
    /// Lower bound for the replica count; defaults to 1. 0 is allowed only with an Object or
    /// External metric (scale to zero).
    #[serde(default = "default_min_replicas")]
    pub min_replicas: i32,
    /// Upper bound for the replica count.
    pub max_replicas: i32,
    /// Metrics to scale on; an absent or empty list defaults to CPU utilization 80 %.
    #[serde(default = "default_metrics", deserialize_with = "metrics_or_default")]
    pub metrics: Vec<MetricSpec>,
    /// Scaling behavior. `None` selects the legacy algorithm; `Some` (even empty) selects the
    /// behavior algorithm with every unset field defaulted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<Behavior>,
}

fn default_min_replicas() -> i32 {
    DEFAULT_MIN_REPLICAS
}

/// The metric list the API server fills in when `metrics` is empty: CPU utilization 80 %.
pub fn default_metrics() -> Vec<MetricSpec> {
    vec![MetricSpec::resource_utilization(
        ResourceName::Cpu,
        DEFAULT_CPU_UTILIZATION,
    )]
}

fn metrics_or_default<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<MetricSpec>, D::Error> {
    let v = Option::<Vec<MetricSpec>>::deserialize(d)?;
    Ok(match v {
        Some(v) if !v.is_empty() => v,
        _ => default_metrics(),
    })
}

impl HpaSpec {
    /// A spec with the given bounds and metrics and no behavior (legacy algorithm).
    pub fn new(min_replicas: i32, max_replicas: i32, metrics: Vec<MetricSpec>) -> Self {
        HpaSpec {
            min_replicas,
            max_replicas,
            metrics,
            behavior: None,
        }
    }

    /// The metrics the controller evaluates: `metrics`, or the default CPU 80 % when empty.
    pub fn effective_metrics(&self) -> std::borrow::Cow<'_, [MetricSpec]> {
        if self.metrics.is_empty() {
            std::borrow::Cow::Owned(default_metrics())
        } else {
            std::borrow::Cow::Borrowed(&self.metrics)
        }
    }

    /// Whether a metric is an Object or External one (they read no pods: the HPA may scale
    /// to zero on them, and the simulator feeds them the service's arrival rate).
    pub fn has_object_or_external_metric(&self) -> bool {
        self.metrics
            .iter()
            .any(|m| matches!(m, MetricSpec::Object(_) | MetricSpec::External(_)))
    }

    /// Checks the spec the way the API server does and names the first offending fields.
    ///
    /// Rules: `minReplicas` ≥ 1, or 0 when some metric is Object or External (scale to zero);
    /// `maxReplicas` ≥ 1 and ≥ `minReplicas`; at least one metric, each with a target type its
    /// source supports and a positive target; `periodSeconds` in 1..=1800, policy `value` > 0, a
    /// non-empty policy list when one is given, `stabilizationWindowSeconds` in 0..=3600 and
    /// `tolerance` ≥ 0.
    pub fn validate(&self) -> Result<(), String> {
        let mut errs: Vec<String> = Vec::new();
        let scale_to_zero_ok = self.has_object_or_external_metric();
        if self.min_replicas < 0 {
            errs.push(format!("minReplicas ({}) must be >= 0", self.min_replicas));
        } else if self.min_replicas == 0 && !scale_to_zero_ok {
            errs.push(
                "minReplicas (0) is only allowed with at least one Object or External metric \
                 (scale to zero); otherwise it must be >= 1"
                    .to_string(),
            );
        }
        if self.max_replicas < 1 {
            errs.push(format!("maxReplicas ({}) must be >= 1", self.max_replicas));
        }
        if self.min_replicas > self.max_replicas {
            errs.push(format!(
                "minReplicas ({}) must be <= maxReplicas ({})",
                self.min_replicas, self.max_replicas
            ));
        }
        if self.metrics.is_empty() {
            errs.push("metrics: must specify at least one metric".to_string());
        }
        for (i, m) in self.metrics.iter().enumerate() {
            validate_metric(m, &format!("metrics[{i}]"), &mut errs);
        }
        if let Some(b) = &self.behavior {
            if let Some(r) = &b.scale_up {
                validate_rules(r, "behavior.scaleUp", &mut errs);
            }
            if let Some(r) = &b.scale_down {
                validate_rules(r, "behavior.scaleDown", &mut errs);
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }
}

fn validate_target(
    t: &MetricTarget,
    path: &str,
    allowed: &[MetricTargetType],
    errs: &mut Vec<String>,
) {
    if !allowed.contains(&t.target_type()) {
        let names: Vec<&str> = allowed.iter().map(|a| a.as_str()).collect();
        errs.push(format!(
            "{path}.type: {} is not supported here; use {}",
            t.target_type().as_str(),
            names.join(" or ")
        ));
        return;
    }
    match *t {
        MetricTarget::Utilization(u) if u <= 0 => {
            errs.push(format!("{path}.averageUtilization ({u}) must be > 0"))
        }
        MetricTarget::AverageValue(v) if v <= 0 => {
            errs.push(format!("{path}.averageValue ({v} milli) must be > 0"))
        }
        MetricTarget::Value(v) if v <= 0 => {
            errs.push(format!("{path}.value ({v} milli) must be > 0"))
        }
        _ => {}
    }
}

fn validate_metric(m: &MetricSpec, path: &str, errs: &mut Vec<String>) {
    use MetricTargetType as T;
    match m {
        MetricSpec::Resource(r) => validate_target(
            &r.target,
            &format!("{path}.resource.target"),
            &[T::Utilization, T::AverageValue],
            errs,
        ),
        MetricSpec::ContainerResource(r) => {
            if r.container.trim().is_empty() {
                errs.push(format!(
                    "{path}.containerResource.container: must name a container"
                ));
            }
            validate_target(
                &r.target,
                &format!("{path}.containerResource.target"),
                &[T::Utilization, T::AverageValue],
                errs,
            )
        }
        MetricSpec::Pods(p) => validate_target(
            &p.target,
            &format!("{path}.pods.target"),
            &[T::AverageValue],
            errs,
        ),
        MetricSpec::Object(o) => validate_target(
            &o.target,
            &format!("{path}.object.target"),
            &[T::Value, T::AverageValue],
            errs,
        ),
        MetricSpec::External(e) => validate_target(
            &e.target,
            &format!("{path}.external.target"),
            &[T::Value, T::AverageValue],
            errs,
        ),
        MetricSpec::Unknown(t) => errs.push(format!(
            "{path}.type: unknown metric source type `{t}`; expected Resource, \
             ContainerResource, Pods, Object or External"
        )),
    }
}

fn validate_rules(r: &HpaScalingRules, path: &str, errs: &mut Vec<String>) {
    if let Some(w) = r.stabilization_window_seconds {
        if !(0..=MAX_STABILIZATION_WINDOW_SECONDS).contains(&w) {
            errs.push(format!(
                "{path}.stabilizationWindowSeconds ({w}) must be in 0..={MAX_STABILIZATION_WINDOW_SECONDS}"
            ));
        }
    }
    if let Some(t) = r.tolerance {
        if !(t.is_finite() && t >= 0.0) {
            errs.push(format!("{path}.tolerance ({t}) must be >= 0"));
        }
    }
    if let Some(ps) = &r.policies {
        if ps.is_empty() {
            errs.push(format!("{path}.policies: must specify at least one policy"));
        }
        for (i, p) in ps.iter().enumerate() {
            if !(1..=MAX_PERIOD_SECONDS).contains(&p.period_seconds) {
                errs.push(format!(
                    "{path}.policies[{i}].periodSeconds ({}) must be in 1..={MAX_PERIOD_SECONDS}",
                    p.period_seconds
                ));
            }
            if p.value <= 0 {
                errs.push(format!(
                    "{path}.policies[{i}].value ({}) must be > 0",
                    p.value
                ));
            }
        }
    }
}

/// A resource that Resource and ContainerResource metrics can measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceName {
    /// `cpu`, in millicores. Only this resource gets the readiness / warm-up filtering.
    Cpu,
    /// `memory`, in milli-bytes (the HPA works on `MilliValue()` for memory too).
    Memory,
}

impl ResourceName {
    /// The API spelling (`cpu`, `memory`).
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceName::Cpu => "cpu",
            ResourceName::Memory => "memory",
        }
    }
}

impl fmt::Display for ResourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of target a [`MetricTarget`] is (`MetricTargetType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricTargetType {
    /// `Utilization`: percent of the pods' request.
    Utilization,
    /// `AverageValue`: per-pod average, milli-units.
    AverageValue,
    /// `Value`: a total, milli-units.
    Value,
}

impl MetricTargetType {
    /// The API spelling (`Utilization`, `AverageValue`, `Value`).
    pub fn as_str(self) -> &'static str {
        match self {
            MetricTargetType::Utilization => "Utilization",
            MetricTargetType::AverageValue => "AverageValue",
            MetricTargetType::Value => "Value",
        }
    }
}

/// A metric target (`MetricTarget`): `{type: Utilization, averageUtilization: 60}`,
/// `{type: AverageValue, averageValue: <milli>}` or `{type: Value, value: <milli>}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MetricTargetRepr", into = "MetricTargetRepr")]
pub enum MetricTarget {
    /// Average utilization in percent of the request.
    Utilization(i32),
    /// Per-pod average value in milli-units.
    AverageValue(i64),
    /// Total value in milli-units.
    Value(i64),
}

impl MetricTarget {
    /// The kind of this target.
    pub fn target_type(&self) -> MetricTargetType {
        match self {
            MetricTarget::Utilization(_) => MetricTargetType::Utilization,
            MetricTarget::AverageValue(_) => MetricTargetType::AverageValue,
            MetricTarget::Value(_) => MetricTargetType::Value,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricTargetRepr {
    #[serde(rename = "type")]
    target_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    average_utilization: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    average_value: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<i64>,
}

impl TryFrom<MetricTargetRepr> for MetricTarget {
    type Error = String;
    fn try_from(r: MetricTargetRepr) -> Result<Self, String> {
        match r.target_type.as_str() {
            "Utilization" => r
                .average_utilization
                .map(MetricTarget::Utilization)
                .ok_or_else(|| "target type Utilization needs `averageUtilization`".to_string()),
            "AverageValue" => r
                .average_value
                .map(MetricTarget::AverageValue)
                .ok_or_else(|| {
                    "target type AverageValue needs `averageValue` (milli-units)".to_string()
                }),
            "Value" => r
                .value
                .map(MetricTarget::Value)
                .ok_or_else(|| "target type Value needs `value` (milli-units)".to_string()),
            other => Err(format!(
                "unknown target type `{other}`; expected Utilization, AverageValue or Value"
            )),
        }
    }
}

impl From<MetricTarget> for MetricTargetRepr {
    fn from(t: MetricTarget) -> Self {
        let mut r = MetricTargetRepr {
            target_type: t.target_type().as_str().to_string(),
            average_utilization: None,
            average_value: None,
            value: None,
        };
        match t {
            MetricTarget::Utilization(u) => r.average_utilization = Some(u),
            MetricTarget::AverageValue(v) => r.average_value = Some(v),
            MetricTarget::Value(v) => r.value = Some(v),
        }
        r
    }
}

/// Names a custom or external metric (`MetricIdentifier`; label selectors are not modeled).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricIdentifier {
    /// Metric name.
    #[serde(default)]
    pub name: String,
}

/// The object an Object metric describes (`CrossVersionObjectReference`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossVersionObjectReference {
    /// Kind of the object, e.g. `Ingress`.
    #[serde(default)]
    pub kind: String,
    /// Name of the object.
    #[serde(default)]
    pub name: String,
    /// API version, e.g. `networking.k8s.io/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
}

/// `resource:` source: a resource of the whole pod (sum over its containers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceMetricSource {
    /// Resource measured.
    pub name: ResourceName,
    /// Utilization or AverageValue target.
    pub target: MetricTarget,
}

/// `containerResource:` source: a resource of one named container in each pod.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerResourceMetricSource {
    /// Resource measured.
    pub name: ResourceName,
    /// Container whose usage and request count.
    pub container: String,
    /// Utilization or AverageValue target.
    pub target: MetricTarget,
}

/// `pods:` source: a per-pod custom metric, averaged over the pods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodsMetricSource {
    /// The metric.
    #[serde(default)]
    pub metric: MetricIdentifier,
    /// AverageValue target.
    pub target: MetricTarget,
}

/// `object:` source: one value describing a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMetricSource {
    /// The object described.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub described_object: Option<CrossVersionObjectReference>,
    /// The metric.
    #[serde(default)]
    pub metric: MetricIdentifier,
    /// Value or AverageValue target.
    pub target: MetricTarget,
}

/// `external:` source: a metric from outside the cluster (series are summed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalMetricSource {
    /// The metric.
    #[serde(default)]
    pub metric: MetricIdentifier,
    /// Value or AverageValue target.
    pub target: MetricTarget,
}

/// Kind of a metric source (`MetricSourceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricSourceType {
    /// `Resource`.
    Resource,
    /// `ContainerResource`.
    ContainerResource,
    /// `Pods`.
    Pods,
    /// `Object`.
    Object,
    /// `External`.
    External,
    /// A type the controller does not know.
    Unknown,
}

/// One entry of `spec.metrics` (`MetricSpec`), e.g.
/// `{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MetricSpecRepr", into = "MetricSpecRepr")]
pub enum MetricSpec {
    /// `type: Resource`.
    Resource(ResourceMetricSource),
    /// `type: ContainerResource`.
    ContainerResource(ContainerResourceMetricSource),
    /// `type: Pods`.
    Pods(PodsMetricSource),
    /// `type: Object`.
    Object(ObjectMetricSource),
    /// `type: External`.
    External(ExternalMetricSource),
    /// Any other `type` (kept so the controller can report `InvalidMetricSourceType` as
    /// upstream does; [`HpaSpec::validate`] rejects it).
    Unknown(String),
}

impl MetricSpec {
    /// Resource metric with a Utilization target (percent of request).
    pub fn resource_utilization(name: ResourceName, percent: i32) -> Self {
        MetricSpec::Resource(ResourceMetricSource {
            name,
            target: MetricTarget::Utilization(percent),
        })
    }

    /// Resource metric with an AverageValue target (milli-units per pod).
    pub fn resource_average_value(name: ResourceName, milli: i64) -> Self {
        MetricSpec::Resource(ResourceMetricSource {
            name,
            target: MetricTarget::AverageValue(milli),
        })
    }

    /// The source type of this metric.
    pub fn source_type(&self) -> MetricSourceType {
        match self {
            MetricSpec::Resource(_) => MetricSourceType::Resource,
            MetricSpec::ContainerResource(_) => MetricSourceType::ContainerResource,
            MetricSpec::Pods(_) => MetricSourceType::Pods,
            MetricSpec::Object(_) => MetricSourceType::Object,
            MetricSpec::External(_) => MetricSourceType::External,
            MetricSpec::Unknown(_) => MetricSourceType::Unknown,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricSpecRepr {
    #[serde(rename = "type")]
    source_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource: Option<ResourceMetricSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    container_resource: Option<ContainerResourceMetricSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pods: Option<PodsMetricSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object: Option<ObjectMetricSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external: Option<ExternalMetricSource>,
}

fn section<T>(v: Option<T>, ty: &str, key: &str) -> Result<T, String> {
    v.ok_or_else(|| format!("metric of type {ty} needs a `{key}` section"))
}

impl TryFrom<MetricSpecRepr> for MetricSpec {
    type Error = String;
    fn try_from(r: MetricSpecRepr) -> Result<Self, String> {
        Ok(match r.source_type.as_str() {
            "Resource" => MetricSpec::Resource(section(r.resource, "Resource", "resource")?),
            "ContainerResource" => MetricSpec::ContainerResource(section(
                r.container_resource,
                "ContainerResource",
                "containerResource",
            )?),
            "Pods" => MetricSpec::Pods(section(r.pods, "Pods", "pods")?),
            "Object" => MetricSpec::Object(section(r.object, "Object", "object")?),
            "External" => MetricSpec::External(section(r.external, "External", "external")?),
            other => MetricSpec::Unknown(other.to_string()),
        })
    }
}

impl From<MetricSpec> for MetricSpecRepr {
    fn from(m: MetricSpec) -> Self {
        let mut r = MetricSpecRepr {
            source_type: String::new(),
            resource: None,
            container_resource: None,
            pods: None,
            object: None,
            external: None,
        };
        r.source_type = match m {
            MetricSpec::Resource(s) => {
                r.resource = Some(s);
                "Resource".into()
            }
            MetricSpec::ContainerResource(s) => {
                r.container_resource = Some(s);
                "ContainerResource".into()
            }
            MetricSpec::Pods(s) => {
                r.pods = Some(s);
                "Pods".into()
            }
            MetricSpec::Object(s) => {
                r.object = Some(s);
                "Object".into()
            }
            MetricSpec::External(s) => {
                r.external = Some(s);
                "External".into()
            }
            MetricSpec::Unknown(t) => t,
        };
        r
    }
}

/// `spec.behavior`: scaling rules per direction.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Behavior {
    /// Rules for scaling up; `None` is defaulted (see [`HpaScalingRules::generate_scale_up`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<HpaScalingRules>,
    /// Rules for scaling down; `None` is defaulted (see [`HpaScalingRules::generate_scale_down`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<HpaScalingRules>,
}

impl Behavior {
    /// The behavior after API defaulting: both directions present with every field but the
    /// scale-down stabilization window filled in (that one stays `None`; the controller then
    /// uses its `--horizontal-pod-autoscaler-downscale-stabilization`).
    pub fn with_defaults(&self) -> Behavior {
        Behavior {
            scale_up: Some(HpaScalingRules::generate_scale_up(self.scale_up.as_ref())),
            scale_down: Some(HpaScalingRules::generate_scale_down(
                self.scale_down.as_ref(),
            )),
        }
    }
}

/// How to choose among the policies of one direction (`ScalingPolicySelect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SelectPolicy {
    /// The policy allowing the largest change.
    Max,
    /// The policy allowing the smallest change.
    Min,
    /// No scaling in this direction.
    Disabled,
}

/// Unit of a scaling policy (`HPAScalingPolicyType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PolicyType {
    /// Change by at most `value` pods per period.
    Pods,
    /// Change by at most `value` percent of the replicas at the period start.
    Percent,
}

/// One rate policy (`HPAScalingPolicy`): `{type: Pods, value: 4, periodSeconds: 15}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaScalingPolicy {
    /// `type`: Pods or Percent.
    #[serde(rename = "type")]
    pub policy_type: PolicyType,
    /// Allowed change per period (pods or percent), > 0.
    pub value: i32,
    /// Length of the rolling period, 1..=1800 s.
    pub period_seconds: i32,
}

/// Rules for one scaling direction (`HPAScalingRules`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaScalingRules {
    /// Stabilization window, 0..=3600 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window_seconds: Option<i32>,
    /// Policy selection; defaults to Max.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<SelectPolicy>,
    /// Rate policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<HpaScalingPolicy>>,
    /// Per-direction tolerance (KEP-4951, a fraction such as 0.05); `None` means the
    /// controller-wide tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
}

impl HpaScalingRules {
    /// Upstream default scale-up rules: window 0 s, Max, Pods 4 / 15 s and Percent 100 / 15 s.
    pub fn default_scale_up() -> Self {
        HpaScalingRules {
            stabilization_window_seconds: Some(DEFAULT_SCALE_UP_STABILIZATION_SECONDS),
            select_policy: Some(SelectPolicy::Max),
            policies: Some(vec![
                HpaScalingPolicy {
                    policy_type: PolicyType::Pods,
                    value: DEFAULT_SCALE_UP_PODS,
                    period_seconds: DEFAULT_SCALE_UP_PERIOD_SECONDS,
                },
                HpaScalingPolicy {
                    policy_type: PolicyType::Percent,
                    value: DEFAULT_SCALE_UP_PERCENT,
                    period_seconds: DEFAULT_SCALE_UP_PERIOD_SECONDS,
                },
            ]),
            tolerance: None,
        }
    }

    /// Upstream default scale-down rules: window unset (controller value), Max,
    /// Percent 100 / 15 s.
    pub fn default_scale_down() -> Self {
        HpaScalingRules {
            stabilization_window_seconds: None,
            select_policy: Some(SelectPolicy::Max),
            policies: Some(vec![HpaScalingPolicy {
                policy_type: PolicyType::Percent,
                value: DEFAULT_SCALE_DOWN_PERCENT,
                period_seconds: DEFAULT_SCALE_DOWN_PERIOD_SECONDS,
            }]),
            tolerance: None,
        }
    }

    /// Field-by-field defaulting of scale-up rules (`GenerateHPAScaleUpRules`): every set field
    /// of `rules` wins, every unset one comes from [`HpaScalingRules::default_scale_up`].
    pub fn generate_scale_up(rules: Option<&HpaScalingRules>) -> Self {
        Self::effective_scale_up(rules).into_owned()
    }

    /// Field-by-field defaulting of scale-down rules (`GenerateHPAScaleDownRules`).
    pub fn generate_scale_down(rules: Option<&HpaScalingRules>) -> Self {
        Self::effective_scale_down(rules).into_owned()
    }

    /// [`HpaScalingRules::generate_scale_up`] without a copy when there is nothing to fill
    /// in: the defaults when `rules` is unset, `rules` itself when every defaulted field is
    /// set (as after API defaulting, [`Behavior::with_defaults`]).
    pub fn effective_scale_up(rules: Option<&HpaScalingRules>) -> Cow<'_, HpaScalingRules> {
        static DEFAULT: LazyLock<HpaScalingRules> =
            LazyLock::new(HpaScalingRules::default_scale_up);
        Self::effective(rules, &DEFAULT)
    }

    /// [`HpaScalingRules::generate_scale_down`] without a copy when there is nothing to fill
    /// in (see [`HpaScalingRules::effective_scale_up`]).
    pub fn effective_scale_down(rules: Option<&HpaScalingRules>) -> Cow<'_, HpaScalingRules> {
        static DEFAULT: LazyLock<HpaScalingRules> =
            LazyLock::new(HpaScalingRules::default_scale_down);
        Self::effective(rules, &DEFAULT)
    }

    fn effective<'a>(
        from: Option<&'a HpaScalingRules>,
        default: &'a HpaScalingRules,
    ) -> Cow<'a, HpaScalingRules> {
        match from {
            None => Cow::Borrowed(default),
            Some(f)
                if f.select_policy.is_some()
                    && f.policies.is_some()
                    && (f.stabilization_window_seconds.is_some()
                        || default.stabilization_window_seconds.is_none())
                    && (f.tolerance.is_some() || default.tolerance.is_none()) =>
            {
                Cow::Borrowed(f)
            }
            Some(_) => Cow::Owned(Self::overlay(from, default.clone())),
        }
    }

    fn overlay(from: Option<&HpaScalingRules>, mut to: HpaScalingRules) -> HpaScalingRules {
        if let Some(f) = from {
            if f.select_policy.is_some() {
                to.select_policy = f.select_policy;
            }
            if f.stabilization_window_seconds.is_some() {
                to.stabilization_window_seconds = f.stabilization_window_seconds;
            }
            if f.policies.is_some() {
                to.policies.clone_from(&f.policies);
            }
            if f.tolerance.is_some() {
                to.tolerance = f.tolerance;
            }
        }
        to
    }

    /// The policies, or an empty slice when unset.
    pub fn policy_list(&self) -> &[HpaScalingPolicy] {
        self.policies.as_deref().unwrap_or(&[])
    }
}
