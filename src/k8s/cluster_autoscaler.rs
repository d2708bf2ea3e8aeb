//! Cluster autoscaler decisions: how many nodes a pool needs for its Pending pods, and which
//! nodes may go.

use crate::k8s::pod::PodRequests;
use crate::k8s::scheduler::{HostnameSpread, Node};
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

/// A workload that spreads its pods over nodes, as a plan sees it: its rule, its pods on the
/// eligible nodes the plan puts no pods on (`fixed`), and on each node the plan may use
/// (`on_targets`, aligned with them; nodes the plan adds start empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpreadGroup {
    /// The constraint.
    pub rule: HostnameSpread,
    /// Its pods on each eligible node outside the plan's targets.
    pub fixed: Vec<u32>,
    /// Its pods on each of the plan's target nodes.
    pub on_targets: Vec<u32>,
}

/// Which of the pods to place spread, and how: `group_of[i]` is pod `i`'s group in `groups`
/// (an empty `group_of`: none spreads).
#[derive(Debug, Clone, Copy)]
pub struct SpreadPods<'a> {
    /// Each pod's group, aligned with the pods.
    pub group_of: &'a [Option<usize>],
    /// The spreading workloads.
    pub groups: &'a [SpreadGroup],
}

impl SpreadPods<'_> {
    /// No pod spreads.
    pub const NONE: SpreadPods<'static> = SpreadPods {
        group_of: &[],
        groups: &[],
    };

    fn group(&self, pod: usize) -> Option<usize> {
        self.group_of.get(pod).copied().flatten()
    }
}

/// The nodes a simulation places pods on: each one's free room and the spreading groups' pods
/// on it.
struct Rooms<'a> {
    rooms: Vec<Room>,
    /// `counts[r][g]`: group `g`'s pods on room `r`.
    counts: Vec<Vec<u32>>,
    groups: &'a [SpreadGroup],
}

impl<'a> Rooms<'a> {
    /// The target nodes' rooms, with the groups' pods on them.
    fn of(targets: &[&Node], groups: &'a [SpreadGroup]) -> Rooms<'a> {
        Rooms {
            rooms: targets.iter().map(|n| Room::of(n)).collect(),
            counts: (0..targets.len())
                .map(|r| groups.iter().map(|g| g.on_targets[r]).collect())
                .collect(),
            groups,
        }
    }

    /// Adds an empty node.
    fn push(&mut self, room: Room) {
        self.rooms.push(room);
        self.counts.push(vec![0; self.groups.len()]);
    }

    /// Places `req` (of spread group `group`) on the first room with room for it where the
    /// group's spread admits it; false when there is none.
    fn place(&mut self, req: &PodRequests, group: Option<usize>) -> bool {
        let spread = group.map(|g| {
            let grp = &self.groups[g];
            let domains = grp
                .fixed
                .iter()
                .copied()
                .chain(self.counts.iter().map(|c| c[g]));
            (g, grp.rule, grp.rule.global_min(domains))
        });
        for (r, room) in self.rooms.iter_mut().enumerate() {
            if let Some((g, rule, min)) = spread {
                if !rule.admits(self.counts[r][g], min) {
                    continue;
                }
            }
            if room.take(req) {
                if let Some((g, ..)) = spread {
                    self.counts[r][g] += 1;
                }
                return true;
            }
        }
        false
    }
}

/// Plans a scale-up of one pool, as the binpacking estimator does: pending pods go first-fit
/// onto the free room of nodes still provisioning, then onto new empty nodes, up to
/// `max_nodes` nodes in the pool. A spreading pod goes only where its spread admits it (the
/// provisioning and new nodes are domains of its workload).
pub fn plan_scale_up(
    provisioning: &[&Node],
    existing_nodes: u32,
    pending: &[PodRequests],
    spread: SpreadPods,
    empty: NodeCapacity,
    max_nodes: u32,
) -> ScaleUp {
    let mut plan = ScaleUp::default();
    let mut rooms = Rooms::of(provisioning, spread.groups);
    for (i, req) in pending.iter().enumerate() {
        if !Room::empty(empty).take(req) {
            plan.unfittable += 1;
            continue;
        }
        let group = spread.group(i);
        if rooms.place(req, group) {
            plan.placed.push(i);
            continue;
        }
        if existing_nodes + plan.new_nodes >= max_nodes {
            plan.over_max += 1;
            continue;
        }
        plan.new_nodes += 1;
        plan.placed.push(i);
        rooms.push(Room::empty(empty));
        rooms.place(req, group);
    }
    plan
}

/// Whether all `pods` (requests) of a node being drained fit on the other Ready nodes of the
/// same pool (first-fit on their free room, where their spread admits them with the drained
/// node gone), as the scale-down simulation checks.
pub fn pods_fit_elsewhere(others: &[&Node], pods: &[PodRequests], spread: SpreadPods) -> bool {
    let mut rooms = Rooms::of(others, spread.groups);
    pods.iter()
        .enumerate()
        .all(|(i, req)| rooms.place(req, spread.group(i)))
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
        let p = plan_scale_up(
            &[],
            1,
            &pending,
            SpreadPods::NONE,
            cap(1800, 1 << 30, 110),
            10,
        );
        assert_eq!(p.new_nodes, 2);
        assert_eq!(p.unfittable, 0);
    }

    #[test]
    fn max_pods_can_decide_the_node_count() {
        // Tiny pods, but only 4 pod slots per node: 10 pods need 3 nodes.
        let pending = vec![req(10, 1); 10];
        let p = plan_scale_up(
            &[],
            0,
            &pending,
            SpreadPods::NONE,
            cap(1800, 1 << 30, 4),
            10,
        );
        assert_eq!(p.new_nodes, 3);
    }

    #[test]
    fn daemonset_overhead_makes_a_big_pod_unfittable_and_max_nodes_caps() {
        // 15-CPU pod on a 16-vCPU node whose capacity after reserved + DaemonSets is 14.27 CPU.
        let p = plan_scale_up(
            &[],
            0,
            &[req(15_000, 1)],
            SpreadPods::NONE,
            cap(14_270, 1 << 34, 110),
            10,
        );
        assert_eq!((p.new_nodes, p.unfittable), (0, 1));
        let q = plan_scale_up(
            &[],
            2,
            &[req(1000, 1); 4],
            SpreadPods::NONE,
            cap(1800, 1 << 30, 110),
            3,
        );
        assert_eq!((q.new_nodes, q.over_max), (1, 3));
    }

    #[test]
    fn spreading_pods_take_a_node_each_until_the_minimum_rises() {
        let spread = |fixed: Vec<u32>, max_skew, min_domains| SpreadGroup {
            rule: HostnameSpread {
                max_skew,
                min_domains,
            },
            fixed,
            on_targets: vec![],
        };
        // Two Ready nodes hold one pod each; 4 small pods pending (they would all fit on one
        // new node). maxSkew 1: each new node takes one pod while an empty domain exists, then
        // the minimum is 1 and the new nodes may reach 2: nodes 1/1 + 2/2 → 2 new nodes.
        let groups = [spread(vec![1, 1], 1, 1)];
        let group_of = [Some(0); 4];
        let sp = SpreadPods {
            group_of: &group_of,
            groups: &groups,
        };
        let c = cap(4000, 1 << 30, 110);
        let p = plan_scale_up(&[], 2, &[req(100, 1); 4], sp, c, 10);
        assert_eq!((p.new_nodes, p.placed.len()), (2, 4));
        // Without the spread they go on one new node.
        let q = plan_scale_up(&[], 2, &[req(100, 1); 4], SpreadPods::NONE, c, 10);
        assert_eq!(q.new_nodes, 1);
        // minDomains 2 with one node holding the only pod: the second pod needs a new node.
        let groups = [spread(vec![1], 1, 2)];
        let one = SpreadPods {
            group_of: &[Some(0)],
            groups: &groups,
        };
        assert_eq!(
            plan_scale_up(&[], 1, &[req(100, 1)], one, c, 10).new_nodes,
            1
        );
    }

    #[test]
    fn a_drain_that_would_break_the_spread_is_refused() {
        // The drained node's pod would join the other node's pod: 2 on one node. With
        // minDomains 2 and one node left the minimum counts as 0: skew 2 > 1.
        let other = crate::k8s::scheduler::tests::node(4000, 1 << 30, 110);
        let groups = [SpreadGroup {
            rule: HostnameSpread {
                max_skew: 1,
                min_domains: 2,
            },
            fixed: vec![],
            on_targets: vec![1],
        }];
        let sp = SpreadPods {
            group_of: &[Some(0)],
            groups: &groups,
        };
        assert!(!pods_fit_elsewhere(&[&other], &[req(100, 1)], sp));
        assert!(pods_fit_elsewhere(
            &[&other],
            &[req(100, 1)],
            SpreadPods::NONE
        ));
        // minDomains 1 (a third node elsewhere holds 1): 1 + 1 − 1 = 1 ≤ 1, the drain goes.
        let groups = [SpreadGroup {
            rule: HostnameSpread {
                max_skew: 1,
                min_domains: 1,
            },
            fixed: vec![1],
            on_targets: vec![1],
        }];
        let sp = SpreadPods {
            group_of: &[Some(0)],
            groups: &groups,
        };
        assert!(pods_fit_elsewhere(&[&other], &[req(100, 1)], sp));
    }
}
