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

/// One container's (CPU millicores, memory bytes) requests; `None` = not set.
pub type ContainerRequests = (Option<i64>, Option<i64>);

/// What one pod requests, summed over its app containers and sidecars, in the two views
/// Kubernetes has of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PodRequests {
    /// CPU request in millicores as the HPA sees it: `None` when any container sets none
    /// (upstream: "missing request for cpu").
    pub cpu_milli: Option<i64>,
    /// Memory request in bytes as the HPA sees it (`None` when any container sets none).
    pub memory_bytes: Option<i64>,
    /// CPU the running containers request: the sum of the requests that are set.
    pub scheduled_cpu_milli: i64,
    /// Memory the running containers request.
    pub scheduled_memory_bytes: i64,
    /// CPU the largest init container needs while it runs (with the sidecars beside it).
    pub init_cpu_milli: i64,
    /// Memory the largest init container needs while it runs.
    pub init_memory_bytes: i64,
}

impl PodRequests {
    /// Requests of a single-container pod.
    pub fn new(cpu_milli: Option<i64>, memory_bytes: Option<i64>) -> Self {
        PodRequests {
            cpu_milli,
            memory_bytes,
            scheduled_cpu_milli: cpu_milli.unwrap_or(0),
            scheduled_memory_bytes: memory_bytes.unwrap_or(0),
            ..PodRequests::default()
        }
    }

    /// Pod-level requests of several containers' (cpu, memory) requests.
    pub fn sum(containers: &[ContainerRequests]) -> Self {
        PodRequests {
            cpu_milli: containers.iter().map(|c| c.0).sum(),
            memory_bytes: containers.iter().map(|c| c.1).sum(),
            scheduled_cpu_milli: containers.iter().filter_map(|c| c.0).sum(),
            scheduled_memory_bytes: containers.iter().filter_map(|c| c.1).sum(),
            ..PodRequests::default()
        }
    }

    /// The scheduler's view with one-shot init containers (run in order, after the
    /// `sidecars` started): each needs its own request plus the sidecars' beside it, and the
    /// pod reserves the larger of that and the running containers' sum (upstream
    /// `resourcehelper.PodRequests`). The HPA's view is unchanged.
    pub fn with_init_containers(
        mut self,
        sidecars: &[ContainerRequests],
        inits: &[ContainerRequests],
    ) -> Self {
        let side_cpu: i64 = sidecars.iter().filter_map(|c| c.0).sum();
        let side_mem: i64 = sidecars.iter().filter_map(|c| c.1).sum();
        for init in inits {
            self.init_cpu_milli = self.init_cpu_milli.max(init.0.unwrap_or(0) + side_cpu);
            self.init_memory_bytes = self.init_memory_bytes.max(init.1.unwrap_or(0) + side_mem);
        }
        self
    }

    /// CPU the scheduler reserves.
    pub fn sched_cpu(&self) -> i64 {
        self.scheduled_cpu_milli.max(self.init_cpu_milli)
    }

    /// Memory the scheduler reserves.
    pub fn sched_memory(&self) -> i64 {
        self.scheduled_memory_bytes.max(self.init_memory_bytes)
    }
}

/// Kubernetes QoS class of a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum QosClass {
    /// Every container has CPU and memory limits equal to its requests.
    Guaranteed,
    /// Anything between.
    Burstable,
    /// No container sets any CPU or memory request or limit.
    BestEffort,
}

/// The QoS class of a pod whose containers have these (request, limit) pairs for CPU and
/// memory (requests already defaulted to limits).
pub fn qos_class(containers: &[[(Option<i64>, Option<i64>); 2]]) -> QosClass {
    let none = containers
        .iter()
        .all(|c| c.iter().all(|(r, l)| r.is_none() && l.is_none()));
    if none {
        return QosClass::BestEffort;
    }
    let guaranteed = containers
        .iter()
        .all(|c| c.iter().all(|(r, l)| l.is_some() && r == l));
    if guaranteed {
        QosClass::Guaranteed
    } else {
        QosClass::Burstable
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
    /// Requests the pod served per second over the window, milli-units (the `Pods` metric
    /// `requests_per_second`).
    pub served_per_s_milli: i64,
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
    /// Unready because its readiness probe failed (not because it is still starting).
    pub probe_failing: bool,
    /// Revision of the pod template it was created from (a rollout makes a new one).
    pub revision: u32,
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
    /// Requests served since the container started (drives memory growth).
    pub served: f64,
    /// Requests served since the pod was created, and that count at the last scrape.
    pub served_total: (f64, f64),
    /// CPU in use over the engine's current step, cores (a scrape inside a merged step adds
    /// it to `cpu_used_core_ms` for the time not yet integrated).
    pub cpu_cores: f64,
    /// Requests served per second over the engine's current step (likewise for
    /// `served_total`).
    pub served_per_s: f64,
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
            probe_failing: false,
            revision: 0,
            deleted_at: None,
            cpu_used_core_ms: 0.0,
            cpu_at_scrape: (0.0, now),
            memory_bytes: 0.0,
            sample: None,
            served: 0.0,
            served_total: (0.0, 0.0),
            cpu_cores: 0.0,
            served_per_s: 0.0,
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
/// before ready, doubled-up before alone (`colocated`: the active pods of the same Deployment on
/// the pod's node, itself included), ready for a shorter time first, newer first. Smaller key =
/// deleted first.
pub fn deletion_rank(
    p: &Pod,
    colocated: u32,
) -> (
    u8,
    u8,
    u8,
    std::cmp::Reverse<u32>,
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
        std::cmp::Reverse(colocated),
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
    fn pod_requests_sum_containers_and_a_missing_one_hides_the_pod_request() {
        let p = PodRequests::sum(&[(Some(200), Some(100)), (Some(10), None)]);
        assert_eq!(p.cpu_milli, Some(210));
        assert_eq!(p.memory_bytes, None, "the HPA reports a missing request");
        assert_eq!((p.sched_cpu(), p.sched_memory()), (210, 100));
    }

    #[test]
    fn init_containers_count_for_scheduling_by_the_max_rule_only() {
        const MI: i64 = 1 << 20;
        // App 500m/1Gi, sidecar 100m/128Mi, a migration init container 1000m/256Mi.
        let app = (Some(500), Some(1024 * MI));
        let sidecar = (Some(100), Some(128 * MI));
        let init = (Some(1000), Some(256 * MI));
        let p = PodRequests::sum(&[app, sidecar]).with_init_containers(&[sidecar], &[init]);
        // CPU: max(500 + 100, 1000 + 100); memory: max(1024 + 128, 256 + 128) Mi.
        assert_eq!((p.sched_cpu(), p.sched_memory()), (1100, 1152 * MI));
        assert_eq!(
            p.cpu_milli,
            Some(600),
            "the HPA divides by the running containers"
        );
        assert_eq!(p.memory_bytes, Some(1152 * MI));
        assert_eq!(
            p.scheduled_cpu_milli, 600,
            "cost allocation sees running containers"
        );
        let none = PodRequests::sum(&[app]).with_init_containers(&[], &[]);
        assert_eq!(none, PodRequests::sum(&[app]));
    }

    #[test]
    fn qos_classes_follow_requests_and_limits() {
        let g = [(Some(500), Some(500)), (Some(1 << 30), Some(1 << 30))];
        let b = [(Some(250), Some(500)), (Some(1 << 29), Some(1 << 30))];
        let e = [(None, None), (None, None)];
        assert_eq!(qos_class(&[g, g]), QosClass::Guaranteed);
        assert_eq!(qos_class(&[g, b]), QosClass::Burstable);
        assert_eq!(qos_class(&[e]), QosClass::BestEffort);
        assert_eq!(qos_class(&[e, g]), QosClass::Burstable);
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
        pods.sort_by_key(|p| deletion_rank(p, 1));
        assert_eq!(pods, vec![pending, unready, new_ready, old_ready]);
    }

    #[test]
    fn doubled_up_ready_pods_go_before_newer_ones_alone() {
        // Upstream's rank 5 comes before the ready time: of two ready pods, the one sharing
        // its node with another pod of the Deployment goes first, though it is older.
        let doubled_old = pod(PodStatus::Running, Some(0), true, 100, 0);
        let alone_new = pod(PodStatus::Running, Some(1), true, 900, 800);
        let mut pods = [(alone_new.clone(), 1), (doubled_old.clone(), 2)];
        pods.sort_by_key(|(p, c)| deletion_rank(p, *c));
        assert_eq!(pods.map(|(p, _)| p), [doubled_old, alone_new.clone()]);
        // Not-ready still goes before a doubled-up ready pod.
        let unready = pod(PodStatus::Running, Some(1), false, 0, 50);
        assert!(deletion_rank(&unready, 1) < deletion_rank(&alone_new, 3));
    }
}
