//! Nodes and the scheduler's fit on requests (NodeResourcesFit with LeastAllocated scoring),
//! and its PodTopologySpread filter for spreading a workload over nodes.

use crate::k8s::pod::PodRequests;
use crate::model::node_pool::NodeCapacity;
use crate::time::Millis;

/// One node of a pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Pool index in the catalog.
    pub pool: usize,
    /// What workload pods may request on it (allocatable − DaemonSets).
    pub capacity: NodeCapacity,
    /// Allocatable CPU (millicores), for the autoscaler's utilization.
    pub allocatable_cpu_milli: i64,
    /// Allocatable memory (bytes), for the autoscaler's utilization.
    pub allocatable_memory_bytes: i64,
    /// DaemonSet CPU requests on the node.
    pub daemonset_cpu_milli: i64,
    /// DaemonSet memory requests on the node.
    pub daemonset_memory_bytes: i64,
    /// When the instance was requested (billing starts).
    pub created_at: Millis,
    /// When it became Ready.
    pub ready_at: Millis,
    /// When it was removed (billing stops).
    pub removed_at: Option<Millis>,
    /// Sum of the CPU requests of the workload pods bound to it.
    pub cpu_requested: i64,
    /// Sum of the memory requests of the workload pods bound to it.
    pub memory_requested: i64,
    /// Workload pods bound to it.
    pub pods: u32,
    /// Since when the autoscaler has found it unneeded.
    pub unneeded_since: Option<Millis>,
}

impl Node {
    /// Whether the node exists and is Ready at `now`.
    pub fn is_ready(&self, now: Millis) -> bool {
        self.removed_at.is_none() && self.ready_at <= now
    }

    /// Whether the node exists (ready or still provisioning).
    pub fn exists(&self) -> bool {
        self.removed_at.is_none()
    }

    /// Whether a pod with `req` fits beside what is already bound (requests only, limits
    /// ignored; pod count ≤ max-pods).
    pub fn fits(&self, req: &PodRequests) -> bool {
        self.pods < self.capacity.pods
            && self.cpu_requested + req.sched_cpu() <= self.capacity.cpu_milli
            && self.memory_requested + req.sched_memory() <= self.capacity.memory_bytes
    }

    /// Binds a pod's requests to the node.
    pub fn bind(&mut self, req: &PodRequests) {
        self.cpu_requested += req.sched_cpu();
        self.memory_requested += req.sched_memory();
        self.pods += 1;
    }

    /// Releases a pod's requests.
    pub fn release(&mut self, req: &PodRequests) {
        self.cpu_requested -= req.sched_cpu();
        self.memory_requested -= req.sched_memory();
        self.pods = self.pods.saturating_sub(1);
    }

    /// The cluster autoscaler's utilization: max over CPU and memory of requested (DaemonSets
    /// included) / allocatable.
    pub fn utilization(&self) -> f64 {
        let cpu = ratio(
            self.cpu_requested + self.daemonset_cpu_milli,
            self.allocatable_cpu_milli,
        );
        let mem = ratio(
            self.memory_requested + self.daemonset_memory_bytes,
            self.allocatable_memory_bytes,
        );
        cpu.max(mem)
    }

    /// LeastAllocated score of placing `req` here: mean free fraction of CPU and memory after
    /// placement (higher is better), as the default scheduler profile scores.
    pub fn least_allocated_score(&self, req: &PodRequests) -> f64 {
        let cpu_free = 1.0
            - ratio(
                self.cpu_requested + req.sched_cpu(),
                self.capacity.cpu_milli,
            );
        let mem_free = 1.0
            - ratio(
                self.memory_requested + req.sched_memory(),
                self.capacity.memory_bytes,
            );
        (cpu_free + mem_free) / 2.0
    }
}

fn ratio(a: i64, b: i64) -> f64 {
    if b <= 0 {
        if a > 0 {
            f64::INFINITY
        } else {
            0.0
        }
    } else {
        a as f64 / b as f64
    }
}

/// A workload's hostname topology spread constraint (`topologyKey: kubernetes.io/hostname`,
/// `whenUnsatisfiable: DoNotSchedule`, selecting the workload's own pods), as the
/// PodTopologySpread filter applies it. A node is a domain of the workload when its pods may
/// run there (`nodeAffinityPolicy: Honor`); its count is the workload's pods bound to it,
/// terminating ones left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostnameSpread {
    /// `maxSkew` (at least 1).
    pub max_skew: u32,
    /// `minDomains` (1 when unset).
    pub min_domains: u32,
}

impl HostnameSpread {
    /// The global minimum over the domains' counts: the smallest, or 0 while there are fewer
    /// domains than `minDomains` (or none).
    pub fn global_min(&self, domains: impl IntoIterator<Item = u32>) -> u32 {
        let (mut n, mut min) = (0u32, u32::MAX);
        for c in domains {
            n += 1;
            min = min.min(c);
        }
        if n == 0 || n < self.min_domains {
            0
        } else {
            min
        }
    }

    /// Whether one more of the workload's pods may go to a domain holding `on_node` of them:
    /// the filter's `matchNum + 1 − globalMin ≤ maxSkew`.
    pub fn admits(&self, on_node: u32, global_min: u32) -> bool {
        i64::from(on_node) + 1 - i64::from(global_min) <= i64::from(self.max_skew)
    }
}

/// A spreading workload's constraint and its pods bound to each node (by node index).
#[derive(Debug, Clone, Copy)]
pub struct Spread<'a> {
    /// The constraint.
    pub rule: HostnameSpread,
    /// The workload's non-terminating pods on each node.
    pub counts: &'a [u32],
}

/// The Ready node of one of `pools` the scheduler binds a pod with `req` to, if any fits (and
/// `spread` admits it there): the highest LeastAllocated score, ties to the lowest index
/// (deterministic). The spread's domains are the Ready nodes of `pools`.
pub fn pick_node(
    nodes: &[Node],
    pools: &[usize],
    req: &PodRequests,
    now: Millis,
    spread: Option<Spread>,
) -> Option<usize> {
    let eligible = |n: &Node| pools.contains(&n.pool) && n.is_ready(now);
    let global_min = spread.map(|s| {
        s.rule.global_min(
            nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| eligible(n))
                .map(|(i, _)| s.counts[i]),
        )
    });
    let mut best: Option<(usize, f64)> = None;
    for (i, n) in nodes.iter().enumerate() {
        if !eligible(n) || !n.fits(req) {
            continue;
        }
        if let (Some(s), Some(min)) = (spread, global_min) {
            if !s.rule.admits(s.counts[i], min) {
                continue;
            }
        }
        let s = n.least_allocated_score(req);
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn node(cpu: i64, mem: i64, pods: u32) -> Node {
        Node {
            pool: 0,
            capacity: NodeCapacity {
                cpu_milli: cpu,
                memory_bytes: mem,
                pods,
            },
            allocatable_cpu_milli: cpu,
            allocatable_memory_bytes: mem,
            daemonset_cpu_milli: 0,
            daemonset_memory_bytes: 0,
            created_at: 0,
            ready_at: 0,
            removed_at: None,
            cpu_requested: 0,
            memory_requested: 0,
            pods: 0,
            unneeded_since: None,
        }
    }

    #[test]
    fn fit_uses_requests_and_max_pods() {
        let mut n = node(1900, 1 << 30, 2);
        let req = PodRequests::new(Some(1000), Some(256 << 20));
        assert!(n.fits(&req));
        n.bind(&req);
        assert!(!n.fits(&req), "second 1000m pod exceeds 1900m");
        let tiny = PodRequests::new(Some(10), Some(1));
        assert!(n.fits(&tiny));
        n.bind(&tiny);
        assert!(!n.fits(&tiny), "max-pods 2 reached");
    }

    #[test]
    fn least_allocated_spreads() {
        let mut a = node(2000, 1 << 30, 10);
        let b = node(2000, 1 << 30, 10);
        let req = PodRequests::new(Some(500), Some(1 << 20));
        a.bind(&req);
        assert_eq!(pick_node(&[a, b], &[0], &req, 0, None), Some(1));
    }

    #[test]
    fn spread_filter_follows_upstream_skew_and_min_domains() {
        let rule = |max_skew, min_domains| HostnameSpread {
            max_skew,
            min_domains,
        };
        // 1/1/0 with maxSkew 1: only the empty node takes the next pod (skew 2 − 0 elsewhere).
        let r = rule(1, 1);
        let min = r.global_min([1, 1, 0]);
        assert_eq!(min, 0);
        assert_eq!([1, 1, 0].map(|c| r.admits(c, min)), [false, false, true]);
        // maxSkew 2 admits any of them.
        assert!([1, 1, 0].iter().all(|&c| rule(2, 1).admits(c, min)));
        // One node with one pod and minDomains 2: the minimum counts as 0, so the second pod
        // waits for a second node; with two nodes (1/0) it goes to the empty one.
        let r = rule(1, 2);
        assert_eq!(r.global_min([1]), 0);
        assert!(!r.admits(1, r.global_min([1])));
        assert!(!r.admits(1, r.global_min([1, 0])) && r.admits(0, r.global_min([1, 0])));
        // Enough domains: 2/2/2 with minDomains 3 admits 3 on any node.
        assert!(r.admits(2, rule(1, 3).global_min([2, 2, 2])));
        // minDomains 5 with 3 domains: the minimum is 0, so at most maxSkew per node.
        let r = rule(2, 5);
        assert!(r.admits(1, r.global_min([2, 2, 1])) && !r.admits(2, r.global_min([2, 2, 1])));
    }

    #[test]
    fn pick_node_skips_nodes_the_spread_rules_out() {
        // Node 0 is the emptier by requests, but holds the workload's only pod.
        let mut a = node(4000, 1 << 30, 10);
        let mut b = node(2000, 1 << 30, 10);
        let req = PodRequests::new(Some(500), Some(1 << 20));
        a.bind(&req);
        b.bind(&PodRequests::new(Some(1500), Some(1 << 20)));
        let nodes = [a, b];
        assert_eq!(pick_node(&nodes, &[0], &req, 0, None), Some(0));
        let spread = Spread {
            rule: HostnameSpread {
                max_skew: 1,
                min_domains: 1,
            },
            counts: &[1, 0],
        };
        assert_eq!(pick_node(&nodes, &[0], &req, 0, Some(spread)), Some(1));
        // One pod on each of the two nodes and minDomains 3: fewer domains than that, so the
        // minimum counts as 0 and neither node may take a second pod (skew 2 > 1).
        let spread3 = Spread {
            rule: HostnameSpread {
                max_skew: 1,
                min_domains: 3,
            },
            counts: &[1, 1],
        };
        assert_eq!(pick_node(&nodes, &[0], &req, 0, Some(spread3)), None);
    }
}
