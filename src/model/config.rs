//! Configurations: what a candidate sets for each workload (resources, HPA, node pool).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::quantity::{Bytes, MilliCpu, Quantity};

/// CPU and memory amounts of a container (requests or limits); absent means unset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceList {
    /// CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<MilliCpu>,
    /// Memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Bytes>,
}

/// Container resources as in a Kubernetes pod spec.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Requests: what the scheduler reserves and the HPA divides by.
    #[serde(default)]
    pub requests: ResourceList,
    /// Limits: the CFS quota and the OOM threshold.
    #[serde(default)]
    pub limits: ResourceList,
}

impl Resources {
    /// Effective requests: a request left unset defaults to the limit (Kubernetes defaulting).
    pub fn effective_requests(&self) -> ResourceList {
        ResourceList {
            cpu: self.requests.cpu.or(self.limits.cpu),
            memory: self.requests.memory.or(self.limits.memory),
        }
    }

    /// The effective CPU (millicores) and memory (bytes) requests, `None` where unset.
    pub fn effective_request_values(&self) -> (Option<i64>, Option<i64>) {
        let e = self.effective_requests();
        (e.cpu.map(|c| c.0), e.memory.map(|m| m.0))
    }
}

/// An HPA metric target (`type: Utilization | AverageValue | Value`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricTargetConfig {
    /// `Utilization`, `AverageValue` or `Value`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Percent of the request, for `Utilization`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_utilization: Option<i32>,
    /// Per-pod average, for `AverageValue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_value: Option<Quantity>,
    /// Total value, for `Value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Quantity>,
}

/// A `Resource` metric source (`cpu` or `memory`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceMetricConfig {
    /// `cpu` or `memory`.
    pub name: String,
    /// The target.
    pub target: MetricTargetConfig,
}

/// A `ContainerResource` metric source: one container's usage over its own request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerResourceMetricConfig {
    /// `cpu` or `memory`.
    pub name: String,
    /// The container: the app (named like the workload) or one of its sidecars.
    pub container: String,
    /// The target.
    pub target: MetricTargetConfig,
}

/// The name of a custom or external metric (`metric: {name: ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricNameConfig {
    /// The simulator computes `requests_per_second` (the service's arrivals for `Object` and
    /// `External`, each pod's served requests for `Pods`).
    pub name: String,
}

/// The object an `Object` metric describes (kept for the manifests; the simulator reads the
/// metric of the workload's own service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DescribedObjectConfig {
    /// API version, e.g. `networking.k8s.io/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind, e.g. `Ingress`.
    pub kind: String,
    /// Name.
    pub name: String,
}

/// A `Pods`, `Object` or `External` metric source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomMetricConfig {
    /// The metric.
    pub metric: MetricNameConfig,
    /// The object described (`Object` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub described_object: Option<DescribedObjectConfig>,
    /// The target.
    pub target: MetricTargetConfig,
}

/// One HPA metric, in the autoscaling/v2 YAML shape.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricConfig {
    /// `Resource`, `ContainerResource`, `Pods`, `Object` or `External`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The resource metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceMetricConfig>,
    /// The container resource metric.
    #[serde(
        default,
        rename = "containerResource",
        skip_serializing_if = "Option::is_none"
    )]
    pub container_resource: Option<ContainerResourceMetricConfig>,
    /// The per-pod metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<CustomMetricConfig>,
    /// The object metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<CustomMetricConfig>,
    /// The external metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<CustomMetricConfig>,
}

/// One scaling policy (`type: Pods | Percent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScalingPolicyConfig {
    /// `Pods` or `Percent`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Pods or percent per period.
    pub value: i32,
    /// Period in seconds.
    pub period_seconds: i32,
}

/// Scaling rules of one direction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScalingRulesConfig {
    /// Stabilization window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stabilization_window_seconds: Option<i32>,
    /// `Max`, `Min` or `Disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_policy: Option<String>,
    /// Policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<ScalingPolicyConfig>>,
    /// Per-direction tolerance (KEP-4951), a fraction, e.g. `0.05` or `50m`.
    #[serde(
        default,
        deserialize_with = "tolerance_quantity",
        skip_serializing_if = "Option::is_none"
    )]
    pub tolerance: Option<Quantity>,
}

/// A tolerance quantity; `5%` says that a tolerance is a fraction (upstream's Quantity has
/// no `%`, so the API server refuses it too).
fn tolerance_quantity<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Quantity>, D::Error> {
    use serde::de::Error as _;
    let text = crate::quantity::deserialize_text(d)?;
    let text = text.trim();
    if let Some(pct) = text.strip_suffix('%') {
        let hint = pct
            .parse::<f64>()
            .ok()
            .filter(|p| p.is_finite())
            .map(|p| format!(" ({text} is {})", p / 100.0))
            .unwrap_or_default();
        return Err(D::Error::custom(format!(
            "invalid tolerance {text:?}: a tolerance is a fraction of the target, a quantity without `%`{hint}, e.g. 0.05 or 50m"
        )));
    }
    Quantity::parse(text).map(Some).map_err(D::Error::custom)
}

/// HPA `behavior`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BehaviorConfig {
    /// Scale-up rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_up: Option<ScalingRulesConfig>,
    /// Scale-down rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_down: Option<ScalingRulesConfig>,
}

/// An HPA, in the autoscaling/v2 spec shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HpaConfig {
    /// Fewest replicas (default 1).
    #[serde(default = "default_min_replicas")]
    pub min_replicas: i32,
    /// Most replicas.
    pub max_replicas: i32,
    /// Metrics (default: CPU utilization 80 %).
    #[serde(default)]
    pub metrics: Vec<MetricConfig>,
    /// Behavior; absent selects the legacy scaling path, as upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behavior: Option<BehaviorConfig>,
}

fn default_min_replicas() -> i32 {
    1
}

/// A sidecar container of a workload's pods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SidecarConfig {
    /// Container name; its usage comes from the service profile's sidecar of that name.
    pub name: String,
    /// Its resources.
    #[serde(default)]
    pub resources: Resources,
}

/// A one-shot init container (`restartPolicy` unset): it runs to completion before the app
/// starts, so its requests count for scheduling only through the max rule of upstream
/// `PodRequests` (the larger of: the largest init container plus the sidecars started before
/// it; the app containers plus the sidecars), never for the HPA. Sidecars are taken to be
/// declared before it (the common layout), the conservative reading of that rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitContainerConfig {
    /// Container name.
    pub name: String,
    /// Its resources.
    #[serde(default)]
    pub resources: Resources,
    /// How long it runs; added to the pod's start-up time.
    #[serde(
        with = "crate::model::service::duration_serde",
        default,
        skip_serializing_if = "is_zero"
    )]
    pub duration: crate::time::Millis,
}

fn is_zero(ms: &crate::time::Millis) -> bool {
    *ms == 0
}

/// An `IntOrString` of the Deployment API: a pod count or a percent of the replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "IntOrText")]
pub enum IntOrPercent {
    /// A pod count.
    Count(u32),
    /// A percent of the desired replicas.
    Percent(u32),
}

/// The YAML shape of [`IntOrPercent`].
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
enum IntOrText {
    Int(u32),
    Text(String),
}

const INT_OR_PERCENT: &str = "a non-negative integer (a pod count) or a percentage like 25%";

impl<'de> Deserialize<'de> for IntOrPercent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = IntOrPercent;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(INT_OR_PERCENT)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<IntOrPercent, E> {
                u32::try_from(n)
                    .map(IntOrPercent::Count)
                    .map_err(|_| E::custom(format!("{n} is too large; expected {INT_OR_PERCENT}")))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<IntOrPercent, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!("{n}: expected {INT_OR_PERCENT}"))),
                }
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<IntOrPercent, E> {
                Err(E::custom(format!("{n}: expected {INT_OR_PERCENT}")))
            }
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<IntOrPercent, E> {
                Err(E::custom(format!("{b}: expected {INT_OR_PERCENT}")))
            }
            fn visit_str<E: serde::de::Error>(self, t: &str) -> Result<IntOrPercent, E> {
                t.strip_suffix('%')
                    .and_then(|n| n.parse().ok())
                    .map(IntOrPercent::Percent)
                    .ok_or_else(|| E::custom(format!("`{t}`: expected {INT_OR_PERCENT}")))
            }
        }
        d.deserialize_any(V)
    }
}

impl From<IntOrPercent> for IntOrText {
    fn from(v: IntOrPercent) -> Self {
        match v {
            IntOrPercent::Count(n) => IntOrText::Int(n),
            IntOrPercent::Percent(p) => IntOrText::Text(format!("{p}%")),
        }
    }
}

impl IntOrPercent {
    /// The pod count for `replicas`, a percent rounded up (`maxSurge`) or down
    /// (`maxUnavailable`), as the Deployment controller resolves it.
    pub fn resolve(self, replicas: u32, round_up: bool) -> u32 {
        match self {
            IntOrPercent::Count(n) => n,
            IntOrPercent::Percent(p) => {
                let x = u64::from(replicas) * u64::from(p);
                let q = if round_up { x.div_ceil(100) } else { x / 100 };
                u32::try_from(q).unwrap_or(u32::MAX)
            }
        }
    }
}

/// The Deployment's `strategy.rollingUpdate` (defaults 25 % / 25 %, as the API's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RollingUpdateConfig {
    /// Pods above the desired count during a rollout.
    #[serde(default = "quarter")]
    pub max_surge: IntOrPercent,
    /// Pods below the desired count that may be unavailable during a rollout.
    #[serde(default = "quarter")]
    pub max_unavailable: IntOrPercent,
}

fn quarter() -> IntOrPercent {
    IntOrPercent::Percent(25)
}

impl Default for RollingUpdateConfig {
    fn default() -> Self {
        RollingUpdateConfig {
            max_surge: quarter(),
            max_unavailable: quarter(),
        }
    }
}

impl RollingUpdateConfig {
    /// (max surge, max unavailable) in pods for `replicas`; when both resolve to 0 one pod
    /// may be unavailable, as the Deployment controller does.
    pub fn resolve(&self, replicas: u32) -> (u32, u32) {
        let surge = self.max_surge.resolve(replicas, true);
        let unavailable = self.max_unavailable.resolve(replicas, false);
        if surge == 0 && unavailable == 0 {
            (0, 1)
        } else {
            (surge, unavailable)
        }
    }
}

/// What a configuration sets for one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// Node pool the workload's pods are placed on (and start on).
    pub node_pool: String,
    /// Further pools its pods may run on (a nodeAffinity with several pools): the scheduler
    /// uses nodes of any, and the cluster autoscaler's expander picks which pool grows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_on: Vec<String>,
    /// Replicas at the start (and always, without an HPA).
    pub replicas: u32,
    /// App-container resources.
    pub resources: Resources,
    /// Sidecars (and restartable init containers): their requests add to the pod's, as the
    /// scheduler and the HPA count them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sidecars: Vec<SidecarConfig>,
    /// One-shot init containers, run in order before the app starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<InitContainerConfig>,
    /// The HPA, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpa: Option<HpaConfig>,
    /// Client connection pools per downstream server (keyed by the server's name in the
    /// profile's `downstream` calls); absent: calls never wait for a connection.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub client_pools: BTreeMap<String, crate::model::pools::ClientPoolConfig>,
    /// Rolling-update strategy of its Deployment (absent: 25 % / 25 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdateConfig>,
    /// Spread of its pods over nodes (a `topologySpreadConstraints` entry on
    /// `kubernetes.io/hostname` with `whenUnsatisfiable: DoNotSchedule`); absent: pods are
    /// placed on requests alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology_spread: Option<TopologySpreadConfig>,
}

/// A hostname topology spread constraint over a workload's own pods, as its Deployment's
/// `topologySpreadConstraints` entry writes it (`topologyKey: kubernetes.io/hostname`,
/// `whenUnsatisfiable: DoNotSchedule`, `labelSelector` = the pods' labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopologySpreadConfig {
    /// `maxSkew`: how many more of its pods one node may hold than the emptiest eligible node
    /// (required, as in the API).
    pub max_skew: u32,
    /// `minDomains`: while fewer eligible nodes exist, the emptiest counts as holding none, so
    /// no node takes more than `max_skew` pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_domains: Option<u32>,
}

impl TopologySpreadConfig {
    /// The scheduler's rule for this constraint.
    pub fn rule(&self) -> crate::k8s::scheduler::HostnameSpread {
        crate::k8s::scheduler::HostnameSpread {
            max_skew: self.max_skew,
            min_domains: self.min_domains.unwrap_or(1),
        }
    }
}

/// A configuration of every workload (`models/configs/*.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Configuration name.
    pub name: String,
    /// Per workload, keyed by service name.
    #[serde(deserialize_with = "crate::model::load::unique_keys::deserialize")]
    pub workloads: BTreeMap<String, WorkloadConfig>,
}

impl WorkloadConfig {
    /// Every pool its pods may run on: `node_pool` first, then `also_on` (no repeats).
    pub fn pools(&self) -> Vec<&str> {
        let mut out = vec![self.node_pool.as_str()];
        for p in &self.also_on {
            if !out.contains(&p.as_str()) {
                out.push(p);
            }
        }
        out
    }

    /// The fewest and the most replicas it may run: the HPA's `minReplicas` and `maxReplicas`
    /// (each at least 1), or `replicas` without an HPA.
    pub fn replica_range(&self) -> (u32, u32) {
        self.hpa
            .as_ref()
            .map_or((self.replicas, self.replicas), |h| {
                (h.min_replicas.max(1) as u32, h.max_replicas.max(1) as u32)
            })
    }

    /// The most pods that may hold connections at once: its most replicas, plus a rollout's
    /// surge, plus the old pods it scaled down that still run out their termination grace
    /// period (up to `maxUnavailable`; the Deployment controller does not count terminating
    /// pods against the surge). What its client pools may open connections from.
    pub fn peak_pods(&self) -> u64 {
        let most = self.replica_range().1;
        let (surge, unavailable) = self.rolling_update.unwrap_or_default().resolve(most);
        u64::from(most) + u64::from(surge) + u64::from(unavailable)
    }

    /// The running containers' resources: the app first, then the sidecars.
    pub fn containers(&self) -> impl Iterator<Item = &Resources> {
        std::iter::once(&self.resources).chain(self.sidecars.iter().map(|s| &s.resources))
    }

    /// The pod's requests (requests defaulted to limits): the running containers' sum for the
    /// HPA, and the init-container max rule on top for the scheduler.
    pub fn pod_requests(&self) -> crate::k8s::pod::PodRequests {
        let requests = Resources::effective_request_values;
        let running: Vec<_> = self.containers().map(requests).collect();
        let sidecars: Vec<_> = self
            .sidecars
            .iter()
            .map(|s| requests(&s.resources))
            .collect();
        let inits: Vec<_> = self
            .init_containers
            .iter()
            .map(|i| requests(&i.resources))
            .collect();
        crate::k8s::pod::PodRequests::sum(&running).with_init_containers(&sidecars, &inits)
    }

    /// Start-up time the init containers add.
    pub fn init_duration(&self) -> crate::time::Millis {
        self.init_containers.iter().map(|i| i.duration).sum()
    }

    /// The pod's QoS class (init containers count, as upstream `GetPodQOS` counts them).
    pub fn qos_class(&self) -> crate::k8s::pod::QosClass {
        let each: Vec<[(Option<i64>, Option<i64>); 2]> = self
            .containers()
            .chain(self.init_containers.iter().map(|i| &i.resources))
            .map(|r| {
                let e = r.effective_requests();
                [
                    (e.cpu.map(|c| c.0), r.limits.cpu.map(|c| c.0)),
                    (e.memory.map(|m| m.0), r.limits.memory.map(|m| m.0)),
                ]
            })
            .collect();
        crate::k8s::pod::qos_class(&each)
    }
}
