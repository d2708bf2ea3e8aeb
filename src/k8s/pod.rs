//! Pods as the simulator tracks them, and the ReplicaSet's choice of which pods to delete.

use crate::time::Millis;

/// Where a pod is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodStatus {
    /// Created, not yet bound to a node (phase Pending, unschedulable or waiting).
    Unscheduled,
    /// Bound to a node; image pull and container start in progress (phase Pending).
    Starting,
    /// Containers running (phase Running); `Pod::ready` says whether it serves traffic.
    Running,
    /// The container was killed (OOM) and waits for its restart back-off (phase Running,
    /// Ready=False, no metrics).
    BackOff,
    /// Deleted: no traffic, requests held on the node until the grace period ends.
    Terminating,
}

/// What one pod requests (sum over its containers), as the scheduler and the HPA see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PodRequests {
    /// CPU request in millicores (`None` = the container sets none).
    pub cpu_milli: Option<i64>,
    /// Memory request in bytes (`None` = the container sets none).
    pub memory_bytes: Option<i64>,
}

impl PodRequests {
    /// CPU the scheduler reserves (0 when unset).
    pub fn sched_cpu(&self) -> i64 {
        self.cpu_milli.unwrap_or(0)
    }

    /// Memory the scheduler reserves (0 when unset).
    pub fn sched_memory(&self) -> i64 {
        self.memory_bytes.unwrap_or(0)
    }
}

/// The latest metrics-server sample of a pod.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PodSample {
    /// CPU usage averaged over the window, millicores.
    pub cpu_milli: i64,
    /// Working-set memory at the scrape, bytes.
    pub memory_bytes: i64,
    /// When the sample was taken.
    pub at: Millis,
    /// The window the CPU average covers.
    pub window: Millis,
}

/// One pod of a workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Pod {
    /// Workload index in the scenario.
    pub workload: usize,
    /// Requests.
    pub requests: PodRequests,
    /// Status.
    pub status: PodStatus,
    /// Node index once bound.
    pub node: Option<usize>,
    /// Creation time.
    pub created_at: Millis,
    /// `status.startTime`: when the kubelet accepted the pod (bind time).
    pub start_time: Option<Millis>,
    /// When its containers started running.
    pub running_at: Option<Millis>,
    /// Ready condition.
    pub ready: bool,
    /// Last transition of the Ready condition.
    pub ready_transition: Option<Millis>,
    /// Deletion time, when terminating.
    pub deleted_at: Option<Millis>,
    /// CPU used since start, core-milliseconds.
    pub cpu_used_core_ms: f64,
    /// `cpu_used_core_ms` at the last scrape, and when that scrape was.
    pub cpu_at_scrape: (f64, Millis),
    /// Current working set, bytes.
    pub memory_bytes: f64,
    /// Latest metrics sample.
    pub sample: Option<PodSample>,
    /// Container restarts so far.
    pub restarts: u32,
    /// The back-off the next crash waits before its restart.
    pub next_backoff: Millis,
}

/// First restart back-off after a crash (kubelet `backOffPeriod`, 10 s).
pub const INITIAL_BACKOFF: Millis = 10_000;
/// Longest restart back-off (kubelet `MaxContainerBackOff`, 300 s).
pub const MAX_BACKOFF: Millis = 300_000;
/// A container that ran this long before crashing restarts with the initial back-off again
/// (the kubelet resets the back-off after 2 × the maximum, 10 min).
pub const BACKOFF_RESET_AFTER: Millis = 2 * MAX_BACKOFF;

/// The back-off before the restart of a container that crashed at `now` after running since
/// `running_at`, with `current` the back-off its next crash was due; returns (this back-off,
/// the next one): 10 s doubling to 5 min, reset after 10 min of running.
pub fn restart_backoff(current: Millis, running_at: Millis, now: Millis) -> (Millis, Millis) {
    let this = if now.saturating_sub(running_at) >= BACKOFF_RESET_AFTER || current == 0 {
        INITIAL_BACKOFF
    } else {
        current
    };
    (this, (this * 2).min(MAX_BACKOFF))
}

impl Pod {
    /// A new, unscheduled pod.
    pub fn new(workload: usize, requests: PodRequests, now: Millis) -> Pod {
        Pod {
            workload,
            requests,
            status: PodStatus::Unscheduled,
            node: None,
            created_at: now,
            start_time: None,
            running_at: None,
            ready: false,
            ready_transition: None,
            deleted_at: None,
            cpu_used_core_ms: 0.0,
            cpu_at_scrape: (0.0, now),
            memory_bytes: 0.0,
            sample: None,
            restarts: 0,
            next_backoff: INITIAL_BACKOFF,
        }
    }

    /// Whether the pod counts toward the Deployment's replicas (not terminating).
    pub fn is_active(&self) -> bool {
        self.status != PodStatus::Terminating
    }

    /// Whether it serves traffic.
    pub fn is_serving(&self) -> bool {
        self.status == PodStatus::Running && self.ready
    }
}

/// Deletion preference of the ReplicaSet controller (upstream `ActivePodsWithRanks`, reduced
/// to what the simulator tracks): unassigned before assigned, Pending before Running, not-ready
/// before ready, ready for a shorter time first, newer first. Smaller key = deleted first.
pub fn deletion_rank(
    p: &Pod,
) -> (
    u8,
    u8,
    u8,
    std::cmp::Reverse<Millis>,
    std::cmp::Reverse<Millis>,
) {
    let assigned = u8::from(p.node.is_some());
    let phase = match p.status {
        PodStatus::Unscheduled | PodStatus::Starting => 0,
        PodStatus::BackOff | PodStatus::Running => 1,
        PodStatus::Terminating => 2,
    };
    let ready = u8::from(p.ready);
    let ready_since = if p.ready {
        p.ready_transition.unwrap_or(0)
    } else {
        0
    };
    (
        assigned,
        phase,
        ready,
        std::cmp::Reverse(ready_since),
        std::cmp::Reverse(p.created_at),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(
        status: PodStatus,
        node: Option<usize>,
        ready: bool,
        since: Millis,
        created: Millis,
    ) -> Pod {
        let mut p = Pod::new(0, PodRequests::default(), created);
        p.status = status;
        p.node = node;
        p.ready = ready;
        p.ready_transition = Some(since);
        p
    }

    #[test]
    fn backoff_doubles_to_five_minutes_and_resets_after_ten() {
        let mut b = INITIAL_BACKOFF;
        let mut seen = Vec::new();
        let mut t = 1_000_000;
        for _ in 0..7 {
            let (this, next) = restart_backoff(b, t - 30_000, t);
            seen.push(this / 1000);
            b = next;
            t += this + 30_000;
        }
        assert_eq!(seen, vec![10, 20, 40, 80, 160, 300, 300]);
        // Ten minutes of running before the crash: back to 10 s.
        assert_eq!(
            restart_backoff(MAX_BACKOFF, 0, BACKOFF_RESET_AFTER).0,
            INITIAL_BACKOFF
        );
    }

    #[test]
    fn deletes_unscheduled_then_unready_then_newest_ready() {
        let old_ready = pod(PodStatus::Running, Some(0), true, 100, 0);
        let new_ready = pod(PodStatus::Running, Some(0), true, 900, 800);
        let unready = pod(PodStatus::Running, Some(0), false, 0, 50);
        let pending = pod(PodStatus::Unscheduled, None, false, 0, 10);
        let mut pods = vec![
            old_ready.clone(),
            new_ready.clone(),
            unready.clone(),
            pending.clone(),
        ];
        pods.sort_by_key(deletion_rank);
        assert_eq!(pods, vec![pending, unready, new_ready, old_ready]);
    }
}
