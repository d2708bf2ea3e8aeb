//! The node-pool catalog: instance shapes, prices, allocatable and DaemonSet overhead.

use serde::{Deserialize, Serialize};

use crate::model::ack_reservation;
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

/// The LimitRange (`type: Container`) of the namespace a pool's DaemonSets run in: at
/// admission, a container that requests nothing of a resource gets its default request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitRangeDefaults {
    /// `defaultRequest`.
    #[serde(default)]
    pub default_request: crate::model::config::ResourceList,
    /// `default` (the default limit).
    #[serde(default)]
    pub default: crate::model::config::ResourceList,
    /// `max`.
    #[serde(default)]
    pub max: crate::model::config::ResourceList,
    /// `min`.
    #[serde(default)]
    pub min: crate::model::config::ResourceList,
}

impl LimitRangeDefaults {
    /// Checks the order the API server requires of each resource (`ValidateLimitRange`):
    /// min ≤ defaultRequest ≤ default ≤ max; returns the field (relative to the LimitRange)
    /// and the problem.
    pub fn check(&self) -> Result<(), (String, String)> {
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

    /// Why the API server refuses a container requesting `request` and setting no limits:
    /// below `min` or above `max` of a resource (the LimitRanger), or above the default limit
    /// the LimitRanger gives it (`default`, else `max`), since a request may not exceed its
    /// limit (kubernetes/kubernetes#51430: `must be less than or equal to cpu limit`).
    pub fn refuses(&self, request: crate::model::config::ResourceList) -> Option<String> {
        let checks = [
            (
                "cpu",
                request.cpu.map(|c| c.0),
                self.min.cpu.map(|c| c.0),
                self.max.cpu.map(|c| c.0),
                self.default.cpu.map(|c| c.0),
            ),
            (
                "memory",
                request.memory.map(|m| m.0),
                self.min.memory.map(|m| m.0),
                self.max.memory.map(|m| m.0),
                self.default.memory.map(|m| m.0),
            ),
        ];
        checks
            .into_iter()
            .find_map(|(resource, r, min, max, default)| {
                let r = r?;
                if min.is_some_and(|m| r < m) {
                    Some(format!(
                        "its {resource} request is below the LimitRange's min"
                    ))
                } else if max.is_some_and(|m| r > m) {
                    Some(format!(
                        "its {resource} request is above the LimitRange's max"
                    ))
                } else if default.is_some_and(|d| r > d) {
                    Some(format!(
                        "its {resource} request is above the LimitRange's default limit, which it gets without a limit of its own (a request may not exceed its limit)"
                    ))
                } else {
                    None
                }
            })
    }

    /// The request a container without one gets, as the API server defaults the LimitRange
    /// (`SetDefaults_LimitRangeItem`: the default limit falls back to `max`, the default
    /// request to the default limit, then to `min`) before the LimitRanger applies it.
    pub fn request(&self) -> crate::model::config::ResourceList {
        crate::model::config::ResourceList {
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
                    let request = crate::model::config::ResourceList {
                        cpu: d.cpu,
                        memory: d.memory,
                    };
                    if let Some(why) = l.refuses(request) {
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
