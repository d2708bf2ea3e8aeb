//! The node-pool catalog: instance shapes, prices, allocatable and DaemonSet overhead.

use serde::{Deserialize, Serialize};

use crate::model::ack_reservation;
use crate::model::config::{ResourceList, Resources, WorkloadConfig};
use crate::model::service::DelayRange;
use crate::quantity::{Bytes, MilliCpu};

/// The cluster management fee (ACK managed Pro: 0.64 CNY per cluster-hour).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFee {
    /// Cluster edition the fee belongs to.
    pub name: String,
    /// Fee per cluster-hour, in the catalog's currency.
    pub per_hour: f64,
}

/// A DaemonSet pod that runs on every node of a pool; its requests shrink what pods can use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSetOverhead {
    /// DaemonSet name.
    pub name: String,
    /// CPU request per node (absent: the pod requests none, and the pool's
    /// `daemonset_limit_range` may give it one).
    #[serde(default)]
    pub cpu: Option<MilliCpu>,
    /// Memory request per node (absent: as for `cpu`).
    #[serde(default)]
    pub memory: Option<Bytes>,
}

/// A LimitRange item of `type: Container`: the namespace a pool's DaemonSets run in
/// (`daemonset_limit_range`) or the workloads' (the scenario's `limit_range`). At admission a
/// container gets the defaults it leaves out ([`LimitRangeDefaults::apply`]) and is refused
/// outside the bounds ([`LimitRangeDefaults::refuses`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitRangeDefaults {
    /// `defaultRequest`.
    #[serde(default)]
    pub default_request: ResourceList,
    /// `default` (the default limit).
    #[serde(default)]
    pub default: ResourceList,
    /// `max`.
    #[serde(default)]
    pub max: ResourceList,
    /// `min`.
    #[serde(default)]
    pub min: ResourceList,
    /// `maxLimitRequestRatio`: the most a limit may be over its request, per resource.
    #[serde(default)]
    pub max_limit_request_ratio: LimitRequestRatios,
}

/// `maxLimitRequestRatio` of a LimitRange item: per resource, a quantity (`2`, `1.5`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitRequestRatios {
    /// CPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<crate::quantity::Quantity>,
    /// Memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<crate::quantity::Quantity>,
}

impl LimitRangeDefaults {
    /// Checks the order the API server requires of each resource (`ValidateLimitRange`):
    /// min ≤ defaultRequest ≤ default ≤ max; returns the field (relative to the LimitRange)
    /// and the problem.
    pub fn check(&self) -> Result<(), (String, String)> {
        let ratios = &self.max_limit_request_ratio;
        for (resource, ratio) in [("cpu", &ratios.cpu), ("memory", &ratios.memory)] {
            if ratio.as_ref().is_some_and(|r| r.milli_value() < 1000) {
                return Err((
                    format!("maxLimitRequestRatio.{resource}"),
                    "must be at least 1 (a limit is never below its request; the API server refuses such a LimitRange)".into(),
                ));
            }
        }
        let order = [
            ("min", self.min),
            ("defaultRequest", self.default_request),
            ("default", self.default),
            ("max", self.max),
        ];
        for (i, &(lo_name, lo)) in order.iter().enumerate() {
            for &(hi_name, hi) in &order[i + 1..] {
                let pairs = [
                    ("cpu", lo.cpu.map(|c| c.0), hi.cpu.map(|c| c.0)),
                    ("memory", lo.memory.map(|m| m.0), hi.memory.map(|m| m.0)),
                ];
                for (resource, a, b) in pairs {
                    if let (Some(a), Some(b)) = (a, b) {
                        if a > b {
                            return Err((
                                format!("{lo_name}.{resource}"),
                                format!(
                                    "{lo_name} {resource} must not exceed {hi_name} (the API server refuses such a LimitRange)"
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// A container's resources as the API server admits them into a namespace with this
    /// LimitRange: a request left unset defaults to the container's own limit (pod
    /// defaulting, before admission), then the LimitRanger gives an unset limit the default
    /// limit ([`LimitRangeDefaults::limit`]) and an unset request the default request
    /// ([`LimitRangeDefaults::request`]).
    pub fn apply(&self, r: &Resources) -> Resources {
        let (own, limit, request) = (r.effective_requests(), self.limit(), self.request());
        Resources {
            requests: ResourceList {
                cpu: own.cpu.or(request.cpu),
                memory: own.memory.or(request.memory),
            },
            limits: ResourceList {
                cpu: r.limits.cpu.or(limit.cpu),
                memory: r.limits.memory.or(limit.memory),
            },
        }
    }

    /// Why the API server refuses a container with resources `r` (as written): after
    /// [`LimitRangeDefaults::apply`], a request below `min` (or none while `min` is set), a
    /// limit or request above `max` (or no limit while `max` is set), a limit more than
    /// `maxLimitRequestRatio` times its request (or either missing or zero while it is set),
    /// which the LimitRanger checks, or a request above its limit, which pod validation refuses (a default limit
    /// too: kubernetes/kubernetes#51430, `must be less than or equal to cpu limit`). The
    /// field (`requests.cpu`, relative to the container's resources) and the reason.
    pub fn refuses(&self, r: &Resources) -> Option<(String, String)> {
        let admitted = self.apply(r);
        let quantities = |l: ResourceList| [l.cpu.map(|c| c.0), l.memory.map(|m| m.0)];
        let [req, lim, min, max] =
            [admitted.requests, admitted.limits, self.min, self.max].map(quantities);
        let own_limit = quantities(r.limits);
        (0..2).find_map(|i| {
            let resource = ["cpu", "memory"][i];
            let field = |kind: &str| format!("{kind}.{resource}");
            let refused = |kind: &str, why: String| Some((field(kind), why));
            if let Some(m) = min[i] {
                match req[i] {
                    None => return refused("requests", format!("no {resource} request while the LimitRange sets a min")),
                    Some(q) if q < m => return refused("requests", format!("its {resource} request is below the LimitRange's min")),
                    _ => {}
                }
            }
            if let Some(m) = max[i] {
                match (lim[i], req[i]) {
                    (None, _) => return refused("limits", format!("no {resource} limit while the LimitRange sets a max")),
                    (Some(l), _) if l > m => return refused("limits", format!("its {resource} limit is above the LimitRange's max")),
                    (_, Some(q)) if q > m => return refused("requests", format!("its {resource} request is above the LimitRange's max")),
                    _ => {}
                }
            }
            let ratio = [&self.max_limit_request_ratio.cpu, &self.max_limit_request_ratio.memory][i];
            if let Some(ratio) = ratio {
                match (req[i], lim[i]) {
                    (Some(q), Some(l)) if q > 0 && l > 0 => {
                        // Upstream compares in thousandths: observed × 1000 against MilliValue.
                        if l as f64 / q as f64 * 1000.0 > ratio.milli_value() as f64 {
                            return refused(
                                "limits",
                                format!("its {resource} limit is {:.3}× its request, above the LimitRange's maxLimitRequestRatio {ratio}", l as f64 / q as f64),
                            );
                        }
                    }
                    (None | Some(0), _) => {
                        return refused("requests", format!("no {resource} request (or a zero one) while the LimitRange sets a maxLimitRequestRatio"));
                    }
                    _ => {
                        return refused("limits", format!("no {resource} limit (or a zero one) while the LimitRange sets a maxLimitRequestRatio"));
                    }
                }
            }
            match (req[i], lim[i]) {
                (Some(q), Some(l)) if q > l && own_limit[i].is_none() => refused(
                    "requests",
                    format!("its {resource} request is above the LimitRange's default limit, which it gets without a limit of its own (a request may not exceed its limit)"),
                ),
                (Some(q), Some(l)) if q > l => refused("requests", format!("its {resource} request is above its limit")),
                _ => None,
            }
        })
    }

    /// Workload `w` as the API server admits its pods into a namespace with this LimitRange:
    /// every container (the app, the sidecars, the init containers) as
    /// [`LimitRangeDefaults::apply`] gives it.
    pub fn admit(&self, w: &WorkloadConfig) -> WorkloadConfig {
        let mut w = w.clone();
        w.resources = self.apply(&w.resources);
        for s in &mut w.sidecars {
            s.resources = self.apply(&s.resources);
        }
        for i in &mut w.init_containers {
            i.resources = self.apply(&i.resources);
        }
        w
    }

    /// Why the API server refuses the pods of workload `w` (as written): the first container
    /// [`LimitRangeDefaults::refuses`]; the field, relative to the workload
    /// (`resources.requests.cpu`, `sidecars[0].resources.limits.memory`), and the reason.
    pub fn refuses_workload(&self, w: &WorkloadConfig) -> Option<(String, String)> {
        let sidecars = w
            .sidecars
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("sidecars[{i}].resources"), &s.resources));
        let inits = w
            .init_containers
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("init_containers[{i}].resources"), &c.resources));
        std::iter::once(("resources".to_string(), &w.resources))
            .chain(sidecars)
            .chain(inits)
            .find_map(|(at, r)| {
                let (field, why) = self.refuses(r)?;
                Some((
                    format!("{at}.{field}"),
                    format!(
                        "{why}, so the API server refuses the pods (the scenario's limit_range)"
                    ),
                ))
            })
    }

    /// The limit a container without one gets, as the API server defaults the LimitRange
    /// (`SetDefaults_LimitRangeItem`: the default limit falls back to `max`).
    pub fn limit(&self) -> ResourceList {
        ResourceList {
            cpu: self.default.cpu.or(self.max.cpu),
            memory: self.default.memory.or(self.max.memory),
        }
    }

    /// The request a container without one gets, as the API server defaults the LimitRange
    /// (`SetDefaults_LimitRangeItem`: the default limit falls back to `max`, the default
    /// request to the default limit, then to `min`) before the LimitRanger applies it.
    pub fn request(&self) -> ResourceList {
        ResourceList {
            cpu: self
                .default_request
                .cpu
                .or(self.default.cpu)
                .or(self.max.cpu)
                .or(self.min.cpu),
            memory: self
                .default_request
                .memory
                .or(self.default.memory)
                .or(self.max.memory)
                .or(self.min.memory),
        }
    }
}

/// One node pool: a single instance type, billed per node-second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePool {
    /// Pool name, as configs refer to it (`highmem`, `general`, `light`).
    pub name: String,
    /// ECS instance type.
    pub instance_type: String,
    /// vCPUs of the instance.
    pub vcpu: u32,
    /// Nominal instance memory.
    pub memory: Bytes,
    /// Memory the kubelet reports as capacity (below nominal: kernel and firmware keep some).
    pub kubelet_memory_capacity: Bytes,
    /// Price per node-hour in the catalog's currency.
    pub price_per_hour: f64,
    /// Fixed cost per node-hour on top of the instance price (per-node agent licences,
    /// monitoring, security tooling; default 0): it can flip which shape is cheapest.
    #[serde(default)]
    pub per_node_fee_per_hour: f64,
    /// Billing method (`pay-as-you-go`).
    pub billing: String,
    /// Maximum pods per node (immutable after pool creation on ACK).
    pub max_pods: u32,
    /// Per-node DaemonSet requests.
    #[serde(default)]
    pub daemonsets: Vec<DaemonSetOverhead>,
    /// The LimitRange of the DaemonSets' namespace, which defaults the requests they leave out
    /// (field case: a DaemonSet with empty resources got 1000m at admission, and a 15-CPU pod
    /// no longer fit a 16-CPU node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemonset_limit_range: Option<LimitRangeDefaults>,
    /// Fewest nodes the autoscaler keeps.
    #[serde(default)]
    pub min_nodes: u32,
    /// Most nodes the autoscaler may create.
    pub max_nodes: u32,
    /// Time from a scale-up decision until the node is Ready, uniform.
    pub provisioning_delay: DelayRange,
}

/// What pods can request on one node of a pool: allocatable minus DaemonSet requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NodeCapacity {
    /// CPU millicores for workload pods.
    pub cpu_milli: i64,
    /// Memory bytes for workload pods.
    pub memory_bytes: i64,
    /// Pod slots for workload pods.
    pub pods: u32,
}

impl NodePool {
    /// What one node costs per hour: instance price plus the per-node fee.
    pub fn node_cost_per_hour(&self) -> f64 {
        self.price_per_hour + self.per_node_fee_per_hour
    }

    /// Allocatable after the ACK reservation policy (kube + system reserved, eviction threshold).
    pub fn allocatable(&self) -> ack_reservation::Allocatable {
        ack_reservation::allocatable(
            i64::from(self.vcpu) * 1000,
            self.kubelet_memory_capacity.0,
            self.max_pods,
        )
    }

    /// What the DaemonSet pods of one node request in all, CPU millicores and memory bytes,
    /// with the LimitRange's defaults for the requests they leave out.
    pub fn daemonset_requests(&self) -> (i64, i64) {
        let default = self
            .daemonset_limit_range
            .as_ref()
            .map(|l| l.request())
            .unwrap_or_default();
        self.daemonsets.iter().fold((0, 0), |(cpu, mem), d| {
            (
                cpu + d.cpu.or(default.cpu).map_or(0, |c| c.0),
                mem + d.memory.or(default.memory).map_or(0, |m| m.0),
            )
        })
    }

    /// Capacity left for workload pods: allocatable minus the DaemonSets' requests and pods.
    pub fn capacity_for_pods(&self) -> NodeCapacity {
        let a = self.allocatable();
        let (ds_cpu, ds_mem) = self.daemonset_requests();
        NodeCapacity {
            cpu_milli: (a.cpu_milli - ds_cpu).max(0),
            memory_bytes: (a.memory_bytes - ds_mem).max(0),
            pods: a.pods.saturating_sub(self.daemonsets.len() as u32),
        }
    }
}

/// Whether `s` is a calendar date written `YYYY-MM-DD` (a real day: no month 13, no 30 February).
fn is_calendar_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b[r.clone()].iter().all(u8::is_ascii_digit) && s[r].parse::<u32>().is_ok()
    };
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return false;
    }
    let (y, m, d): (u32, u32, u32) = (
        s[0..4].parse().unwrap_or(0),
        s[5..7].parse().unwrap_or(0),
        s[8..10].parse().unwrap_or(0),
    );
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// A node-pool catalog file (`models/node-pools/*.yaml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePoolCatalog {
    /// Catalog name.
    pub catalog: String,
    /// Cloud region.
    pub region: String,
    /// Currency of every price in the catalog.
    pub currency: String,
    /// Date of the price list.
    pub prices_as_of: String,
    /// Cluster management fee.
    pub cluster_fee: ClusterFee,
    /// The pools.
    pub pools: Vec<NodePool>,
}

/// The largest hourly amount a money field of the catalog may hold. The largest cloud instances
/// list at about 1e3 (USD) per hour and 1e4 (CNY, JPY ...) is well above any fee; 1e6 leaves room
/// for any currency while keeping every cost (amount × hours × nodes, a month's projection)
/// finite and printable: beyond it a cost can overflow to infinity and the ranking holds null.
pub const MAX_PRICE_PER_HOUR: f64 = 1e6;

/// A money field (currency per `per`): a finite number in [0, [`MAX_PRICE_PER_HOUR`]].
fn check_money(field: &str, v: f64, per: &str) -> Result<(), (String, String)> {
    if v.is_finite() && (0.0..=MAX_PRICE_PER_HOUR).contains(&v) {
        return Ok(());
    }
    Err((
        field.to_string(),
        format!(
            "{v:?} is not a price: expected a non-negative number of at most {MAX_PRICE_PER_HOUR:e} \
             (currency per {per})"
        ),
    ))
}

impl NodePoolCatalog {
    /// The pool named `name`.
    pub fn pool(&self, name: &str) -> Option<&NodePool> {
        self.pools.iter().find(|p| p.name == name)
    }

    /// Index of the pool named `name`.
    pub fn pool_index(&self, name: &str) -> Option<usize> {
        self.pools.iter().position(|p| p.name == name)
    }

    /// Checks prices and bounds; returns the field path and the problem.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.pools.is_empty() {
            return Err(("pools".into(), "the catalog has no pools".into()));
        }
        if self.currency.trim().is_empty() {
            return Err((
                "currency".into(),
                "empty: every cost is in it (e.g. CNY)".into(),
            ));
        }
        if !is_calendar_date(&self.prices_as_of) {
            return Err((
                "prices_as_of".into(),
                format!(
                    "{:?} is not a date; expected the price list's date as YYYY-MM-DD (e.g. \
                     \"2024-10-09\"): the outputs and the report state the prices as of it",
                    self.prices_as_of
                ),
            ));
        }
        check_money(
            "cluster_fee.per_hour",
            self.cluster_fee.per_hour,
            "cluster-hour",
        )?;
        for (i, p) in self.pools.iter().enumerate() {
            let f = |n: &str| format!("pools[{i}].{n}");
            check_money(&f("price_per_hour"), p.price_per_hour, "node-hour")?;
            check_money(
                &f("per_node_fee_per_hour"),
                p.per_node_fee_per_hour,
                "node-hour",
            )?;
            if p.vcpu == 0 {
                return Err((f("vcpu"), "must be at least 1".into()));
            }
            if p.max_nodes == 0 {
                return Err((f("max_nodes"), "must be at least 1".into()));
            }
            let cap = p.capacity_for_pods();
            if cap.pods == 0 {
                return Err((
                    f("max_pods"),
                    format!(
                        "max_pods {} leaves no pod slot after {} DaemonSet pods",
                        p.max_pods,
                        p.daemonsets.len()
                    ),
                ));
            }
            if cap.cpu_milli <= 0 || cap.memory_bytes <= 0 {
                // Blame the DaemonSets when they take what is left, else the node's size.
                let a = p.allocatable();
                let (ds_cpu, ds_mem) = p.daemonset_requests();
                let field = match (cap.cpu_milli <= 0, ds_cpu > 0, ds_mem > 0) {
                    (true, true, _) | (false, _, true) => "daemonsets",
                    (true, false, _) => "vcpu",
                    (false, _, false) => "kubelet_memory_capacity",
                };
                return Err((
                    f(field),
                    format!(
                        "nothing is left for pods: allocatable cpu {}m and memory {} bytes after the kubelet's reservations, the DaemonSets request cpu {ds_cpu}m and memory {ds_mem} bytes per node",
                        a.cpu_milli, a.memory_bytes
                    ),
                ));
            }
            if let Some(l) = &p.daemonset_limit_range {
                l.check()
                    .map_err(|(field, m)| (f(&format!("daemonset_limit_range.{field}")), m))?;
                for (j, d) in p.daemonsets.iter().enumerate() {
                    let requests = ResourceList {
                        cpu: d.cpu,
                        memory: d.memory,
                    };
                    let resources = Resources {
                        requests,
                        limits: ResourceList::default(),
                    };
                    if let Some((_, why)) = l.refuses(&resources) {
                        return Err((
                            f(&format!("daemonsets[{j}]")),
                            format!(
                                "`{}`: {why}, so the API server would refuse its pods; expected a request within the pool's daemonset_limit_range",
                                d.name
                            ),
                        ));
                    }
                }
            }
            if p.min_nodes > p.max_nodes {
                return Err((
                    f("min_nodes"),
                    format!(
                        "min_nodes ({}) must be <= max_nodes ({})",
                        p.min_nodes, p.max_nodes
                    ),
                ));
            }
            if p.provisioning_delay.min > p.provisioning_delay.max {
                return Err((f("provisioning_delay"), "min must be <= max".into()));
            }
            if p.kubelet_memory_capacity.0 > p.memory.0 {
                return Err((
                    f("kubelet_memory_capacity"),
                    "must not exceed the nominal memory".into(),
                ));
            }
            if self.pools[..i].iter().any(|q| q.name == p.name) {
                return Err((f("name"), format!("duplicate pool name `{}`", p.name)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit_range(yaml: &str) -> LimitRangeDefaults {
        crate::model::load::from_yaml_str(yaml, "limit_range.yaml").unwrap()
    }

    fn resources(yaml: &str) -> Resources {
        crate::model::load::from_yaml_str(yaml, "resources.yaml").unwrap()
    }

    /// (cpu request, cpu limit, memory request, memory limit) in millicores and bytes.
    fn values(r: &Resources) -> [Option<i64>; 4] {
        [
            r.requests.cpu.map(|c| c.0),
            r.limits.cpu.map(|c| c.0),
            r.requests.memory.map(|m| m.0),
            r.limits.memory.map(|m| m.0),
        ]
    }

    /// The LimitRanger's defaults (upstream `TestMergePodResourceRequirements`,
    /// `SetDefaults_LimitRangeItem`): an unset limit gets `default` (else `max`), an unset
    /// request the container's own limit first (pod defaulting runs before admission), then
    /// `defaultRequest` (else the default limit, else `min`); what a container sets is kept.
    #[test]
    fn containers_get_the_defaults_they_leave_out() {
        let l = limit_range(
            "defaultRequest: { cpu: 100m, memory: 64Mi }\ndefault: { cpu: 500m, memory: 256Mi }\n",
        );
        let mi = 1 << 20;
        let cases = [
            ("{}", [Some(100), Some(500), Some(64 * mi), Some(256 * mi)]),
            // A limit alone: the request is that limit, not the default request.
            (
                "limits: { cpu: '1' }",
                [Some(1000), Some(1000), Some(64 * mi), Some(256 * mi)],
            ),
            (
                "requests: { cpu: 200m, memory: 32Mi }",
                [Some(200), Some(500), Some(32 * mi), Some(256 * mi)],
            ),
            (
                "requests: { cpu: 50m }\nlimits: { cpu: 80m, memory: 1Gi }",
                [Some(50), Some(80), Some(1024 * mi), Some(1024 * mi)],
            ),
        ];
        for (given, want) in cases {
            assert_eq!(values(&l.apply(&resources(given))), want, "{given}");
        }
        // `max` alone is the default limit and the default request; `min` alone a default
        // request only.
        let max = limit_range("max: { cpu: '2' }\n");
        assert_eq!(
            values(&max.apply(&resources("{}"))),
            [Some(2000), Some(2000), None, None]
        );
        let min = limit_range("min: { memory: 16Mi }\n");
        assert_eq!(
            values(&min.apply(&resources("{}"))),
            [None, None, Some(16 * mi), None]
        );
    }

    /// What the API server refuses (upstream `TestPodLimitFunc`): a request below `min`, a
    /// limit or request above `max`, a request above its (default) limit; the field names
    /// the value.
    #[test]
    fn containers_outside_the_bounds_are_refused() {
        let l = limit_range(
            "min: { cpu: 50m }\nmax: { cpu: '1', memory: 1Gi }\ndefault: { cpu: 500m }\n",
        );
        let refused = |r: &str| {
            l.refuses(&resources(r))
                .map(|(field, why)| format!("{field}: {why}"))
        };
        assert_eq!(
            refused("requests: { cpu: 100m }\nlimits: { cpu: 800m }"),
            None
        );
        assert_eq!(refused("{}"), None);
        let cases = [
            ("requests: { cpu: 20m }", "requests.cpu: its cpu request is below the LimitRange's min"),
            ("limits: { cpu: 1500m }", "limits.cpu: its cpu limit is above the LimitRange's max"),
            ("limits: { memory: 2Gi }", "limits.memory: its memory limit is above the LimitRange's max"),
            (
                "requests: { cpu: 700m }",
                "requests.cpu: its cpu request is above the LimitRange's default limit, which it gets without a limit of its own (a request may not exceed its limit)",
            ),
            ("requests: { cpu: 700m }\nlimits: { cpu: 600m }", "requests.cpu: its cpu request is above its limit"),
        ];
        for (given, want) in cases {
            assert_eq!(refused(given).as_deref(), Some(want), "{given}");
        }
        // `maxLimitRequestRatio: { cpu: 2 }`: 500m over 250m is 2× (admitted), over 200m 2.5×.
        let l = limit_range("maxLimitRequestRatio: { cpu: 2 }\ndefault: { cpu: 500m }\n");
        let refused = |r: &str| {
            l.refuses(&resources(r))
                .map(|(field, why)| format!("{field}: {why}"))
        };
        assert_eq!(refused("requests: { cpu: 250m }"), None);
        assert_eq!(
            refused("requests: { cpu: 200m }").as_deref(),
            Some("limits.cpu: its cpu limit is 2.500× its request, above the LimitRange's maxLimitRequestRatio 2")
        );
        assert!(refused("requests: { cpu: '0' }")
            .is_some_and(|e| e.starts_with("requests.cpu: no cpu request (or a zero one)")));
        let below_one = limit_range("maxLimitRequestRatio: { memory: 500m }\n");
        assert_eq!(
            below_one.check().unwrap_err().0,
            "maxLimitRequestRatio.memory"
        );
    }
}
