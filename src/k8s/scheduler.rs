//! Nodes and the scheduler's fit on requests (NodeResourcesFit with LeastAllocated scoring).

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

/// The Ready node of one of `pools` the scheduler binds a pod with `req` to, if any fits: the highest
/// LeastAllocated score, ties to the lowest index (deterministic).
pub fn pick_node(nodes: &[Node], pools: &[usize], req: &PodRequests, now: Millis) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, n) in nodes.iter().enumerate() {
        if !pools.contains(&n.pool) || !n.is_ready(now) || !n.fits(req) {
            continue;
        }
        let s = n.least_allocated_score(req);
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
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
        assert_eq!(pick_node(&[a, b], &[0], &req, 0), Some(1));
    }
}
