//! Cluster autoscaler decisions: how many nodes a pool needs for its Pending pods, and which
//! nodes may go.

use crate::k8s::pod::PodRequests;
use crate::k8s::scheduler::Node;
use crate::model::node_pool::NodeCapacity;

/// Nodes to add to one pool for its pending pods.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScaleUp {
    /// Indices of the pending pods the plan places (on provisioning or new nodes).
    pub placed: Vec<usize>,
    /// New nodes to request.
    pub new_nodes: u32,
    /// Pending pods that fit no node of the pool even when empty (never schedulable).
    pub unfittable: u32,
    /// Pending pods left over because the pool is at `max_nodes`.
    pub over_max: u32,
}

/// Room left on one node for more pods: CPU millicores, memory bytes, pod slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Room {
    cpu: i64,
    memory: i64,
    pods: u32,
}

impl Room {
    fn of(n: &Node) -> Room {
        Room {
            cpu: n.capacity.cpu_milli - n.cpu_requested,
            memory: n.capacity.memory_bytes - n.memory_requested,
            pods: n.capacity.pods.saturating_sub(n.pods),
        }
    }

    fn empty(c: NodeCapacity) -> Room {
        Room {
            cpu: c.cpu_milli,
            memory: c.memory_bytes,
            pods: c.pods,
        }
    }

    /// Takes `req` out of the room if it fits.
    fn take(&mut self, req: &PodRequests) -> bool {
        let (c, m) = (req.sched_cpu(), req.sched_memory());
        if self.cpu >= c && self.memory >= m && self.pods > 0 {
            self.cpu -= c;
            self.memory -= m;
            self.pods -= 1;
            true
        } else {
            false
        }
    }
}

/// Places `req` first-fit into `rooms`; false when none has room.
fn first_fit(rooms: &mut [Room], req: &PodRequests) -> bool {
    rooms.iter_mut().any(|r| r.take(req))
}

/// Plans a scale-up of one pool, as the binpacking estimator does: pending pods go first-fit
/// onto the free room of nodes still provisioning, then onto new empty nodes, up to
/// `max_nodes` nodes in the pool.
pub fn plan_scale_up(
    provisioning: &[&Node],
    existing_nodes: u32,
    pending: &[PodRequests],
    empty: NodeCapacity,
    max_nodes: u32,
) -> ScaleUp {
    let mut plan = ScaleUp::default();
    let mut rooms: Vec<Room> = provisioning.iter().map(|n| Room::of(n)).collect();
    for (i, req) in pending.iter().enumerate() {
        if !Room::empty(empty).take(req) {
            plan.unfittable += 1;
            continue;
        }
        if first_fit(&mut rooms, req) {
            plan.placed.push(i);
            continue;
        }
        if existing_nodes + plan.new_nodes >= max_nodes {
            plan.over_max += 1;
            continue;
        }
        plan.new_nodes += 1;
        plan.placed.push(i);
        let mut fresh = Room::empty(empty);
        fresh.take(req);
        rooms.push(fresh);
    }
    plan
}

/// Whether all `pods` (requests) of a node being drained fit on the other Ready nodes of the
/// same pool (first-fit on their free room), as the scale-down simulation checks.
pub fn pods_fit_elsewhere(others: &[&Node], pods: &[PodRequests]) -> bool {
    let mut rooms: Vec<Room> = others.iter().map(|n| Room::of(n)).collect();
    pods.iter().all(|req| first_fit(&mut rooms, req))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(cpu: i64, mem: i64, pods: u32) -> NodeCapacity {
        NodeCapacity {
            cpu_milli: cpu,
            memory_bytes: mem,
            pods,
        }
    }

    fn req(cpu: i64, mem: i64) -> PodRequests {
        PodRequests::new(Some(cpu), Some(mem))
    }

    #[test]
    fn binpacks_pending_pods_onto_new_nodes() {
        // 5 pods of 600m on 1800m nodes: 3 per node -> 2 nodes.
        let pending = vec![req(600, 1); 5];
        let p = plan_scale_up(&[], 1, &pending, cap(1800, 1 << 30, 110), 10);
        assert_eq!(p.new_nodes, 2);
        assert_eq!(p.unfittable, 0);
    }

    #[test]
    fn max_pods_can_decide_the_node_count() {
        // Tiny pods, but only 4 pod slots per node: 10 pods need 3 nodes.
        let pending = vec![req(10, 1); 10];
        let p = plan_scale_up(&[], 0, &pending, cap(1800, 1 << 30, 4), 10);
        assert_eq!(p.new_nodes, 3);
    }

    #[test]
    fn daemonset_overhead_makes_a_big_pod_unfittable_and_max_nodes_caps() {
        // 15-CPU pod on a 16-vCPU node whose capacity after reserved + DaemonSets is 14.27 CPU.
        let p = plan_scale_up(&[], 0, &[req(15_000, 1)], cap(14_270, 1 << 34, 110), 10);
        assert_eq!((p.new_nodes, p.unfittable), (0, 1));
        let q = plan_scale_up(&[], 2, &[req(1000, 1); 4], cap(1800, 1 << 30, 110), 3);
        assert_eq!((q.new_nodes, q.over_max), (1, 3));
    }
}
