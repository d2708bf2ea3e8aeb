//! CPU limits as the kernel enforces them: the CFS bandwidth controller gives a container
//! `quota = limit × period` of CPU time per 100 ms period across all its threads; once the quota
//! is used up, its threads are throttled until the next period starts, even when the average
//! use is below the limit (kubelet `cpuCFSQuotaPeriod` default 100 ms; quota = limit millicores
//! × 100 µs, minimum 1 ms).
//!
//! [`run`] is an exact event-driven replay of that mechanism for a pod whose requests each need
//! a given amount of CPU time on one of `workers` single-threaded processes (FIFO, each process
//! at most one core): it returns every request's sojourn time and the kernel's `nr_periods` /
//! `nr_throttled` counters.

/// The CFS period (kubelet `cpuCFSQuotaPeriod` default).
pub const PERIOD_MS: f64 = 100.0;
/// The smallest quota the kubelet sets (1 ms per period).
pub const MIN_QUOTA_MS: f64 = 1.0;

/// The quota per period, in CPU-milliseconds, for a CPU limit in millicores.
pub fn quota_ms(limit_milli: i64) -> f64 {
    (limit_milli as f64 * PERIOD_MS / 1000.0).max(MIN_QUOTA_MS)
}

/// One request: when it arrives and how much CPU time it needs (ms, at one full core).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Job {
    /// Arrival time, ms.
    pub arrival_ms: f64,
    /// CPU time needed, ms.
    pub work_ms: f64,
}

/// What the replay measured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CfsOutcome {
    /// Per job (input order): completion time − arrival time, ms.
    pub sojourn_ms: Vec<f64>,
    /// Periods in which the container had runnable work (`nr_periods`).
    pub nr_periods: u64,
    /// Periods in which it ran out of quota (`nr_throttled`).
    pub nr_throttled: u64,
    /// Time spent throttled with work waiting, ms (`throttled_time`).
    pub throttled_ms: f64,
}

impl CfsOutcome {
    /// `nr_throttled / nr_periods` (0 when the container never ran).
    pub fn throttled_ratio(&self) -> f64 {
        if self.nr_periods == 0 {
            0.0
        } else {
            self.nr_throttled as f64 / self.nr_periods as f64
        }
    }
}

/// The CFS bandwidth controller of one container: the quota left in the current 100 ms period
/// (periods aligned to time 0) and the kernel's `nr_periods` / `nr_throttled` /
/// `throttled_time` counters. [`run`] and the request-level engine
/// (`sim::requests`) both drive their CPU through it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bandwidth {
    /// Quota per period, CPU-ms (`None`: no limit).
    quota_ms: Option<f64>,
    period: u64,
    left: f64,
    active_period: Option<u64>,
    throttled_period: Option<u64>,
    /// Periods in which the container had runnable work (`nr_periods`).
    pub nr_periods: u64,
    /// Periods in which it ran out of quota (`nr_throttled`).
    pub nr_throttled: u64,
    /// Time spent throttled with work waiting, ms (`throttled_time`).
    pub throttled_ms: f64,
}

impl Bandwidth {
    /// A controller with `quota_ms` CPU-ms per period (`None`: unlimited), in period 0.
    pub fn new(quota_ms: Option<f64>) -> Bandwidth {
        Bandwidth {
            quota_ms,
            period: 0,
            left: quota_ms.unwrap_or(f64::INFINITY),
            active_period: None,
            throttled_period: None,
            nr_periods: 0,
            nr_throttled: 0,
            throttled_ms: 0.0,
        }
    }

    /// The quota per period (`None`: unlimited).
    pub fn quota(&self) -> Option<f64> {
        self.quota_ms
    }

    /// Moves to the period holding `t` (ms); a new period refills the quota.
    pub fn enter(&mut self, t: f64) {
        let p = (t / PERIOD_MS).floor() as u64;
        if p != self.period {
            self.period = p;
            self.left = self.quota_ms.unwrap_or(f64::INFINITY);
        }
    }

    /// Counts the current period in `nr_periods` (once): the container has runnable work.
    pub fn mark_active(&mut self) {
        if self.active_period != Some(self.period) {
            self.active_period = Some(self.period);
            self.nr_periods += 1;
        }
    }

    /// End of the current period, ms.
    pub fn period_end(&self) -> f64 {
        (self.period + 1) as f64 * PERIOD_MS
    }

    /// Quota left in the current period, CPU-ms (infinite without a limit).
    pub fn left(&self) -> f64 {
        self.left
    }

    /// Uses `cpu_ms` of the quota.
    pub fn consume(&mut self, cpu_ms: f64) {
        if self.quota_ms.is_some() {
            self.left -= cpu_ms;
        }
    }

    /// `running` threads run from `t0` to `t1` (ms) without running out of quota: the quota of
    /// each period they cross is refilled and used, each crossed period counts as active.
    pub fn run_span(&mut self, t0: f64, t1: f64, running: usize) {
        if running == 0 || t1 <= t0 {
            return;
        }
        let mut t = t0;
        loop {
            self.enter(t);
            self.mark_active();
            let end = self.period_end();
            self.consume((t1.min(end) - t) * running as f64);
            if t1 <= end {
                break;
            }
            t = end;
        }
    }

    /// When `running` threads starting at `t` (inside the current period) run out of quota:
    /// in this period, or at full quota in the next one; infinite if they never do.
    pub fn exhausted_at(&self, t: f64, running: usize) -> f64 {
        let Some(q) = self.quota_ms else {
            return f64::INFINITY;
        };
        if running == 0 {
            return f64::INFINITY;
        }
        let k = running as f64;
        let end = self.period_end();
        if self.left / k < end - t {
            t + (self.left / k).max(0.0)
        } else if q / k < PERIOD_MS {
            end + q / k
        } else {
            f64::INFINITY
        }
    }

    /// The quota is used up at `t`: counts the throttled period and the throttled time, and
    /// returns when the container may run again (the period end).
    pub fn throttle(&mut self, t: f64) -> f64 {
        if self.throttled_period != Some(self.period) {
            self.throttled_period = Some(self.period);
            self.nr_throttled += 1;
        }
        let end = self.period_end();
        self.throttled_ms += end - t;
        end
    }
}

/// Replays `jobs` (sorted by arrival) on `workers` processes under a quota of `quota_ms` CPU-ms
/// per 100 ms period (`None`: no limit). Periods are aligned to time 0.
pub fn run(jobs: &[Job], workers: u32, quota_ms: Option<f64>) -> CfsOutcome {
    let workers = workers.max(1) as usize;
    let mut out = CfsOutcome {
        sojourn_ms: vec![0.0; jobs.len()],
        ..CfsOutcome::default()
    };
    // Jobs in service or waiting, FIFO: (index, remaining work).
    let mut queue: std::collections::VecDeque<(usize, f64)> = std::collections::VecDeque::new();
    let mut next = 0usize;
    let mut t = 0.0f64;
    let mut bw = Bandwidth::new(quota_ms);
    const EPS: f64 = 1e-9;
    while next < jobs.len() || !queue.is_empty() {
        if queue.is_empty() {
            // Idle: jump to the next arrival.
            t = t.max(jobs[next].arrival_ms);
        }
        bw.enter(t);
        while next < jobs.len() && jobs[next].arrival_ms <= t + EPS {
            queue.push_back((next, jobs[next].work_ms));
            next += 1;
        }
        if queue.is_empty() {
            continue;
        }
        bw.mark_active();
        let period_end = bw.period_end();
        if bw.left() <= EPS {
            // Throttled until the next period.
            t = bw.throttle(t);
            continue;
        }
        let running = queue.len().min(workers);
        let min_remaining = queue
            .iter()
            .take(running)
            .map(|&(_, w)| w)
            .fold(f64::INFINITY, f64::min);
        let to_quota = bw.left() / running as f64;
        let to_arrival = if next < jobs.len() {
            (jobs[next].arrival_ms - t).max(0.0)
        } else {
            f64::INFINITY
        };
        let dt = min_remaining
            .min(to_quota)
            .min(to_arrival)
            .min(period_end - t)
            .max(0.0);
        t += dt;
        bw.consume(dt * running as f64);
        for job in queue.iter_mut().take(running) {
            job.1 -= dt;
        }
        // Completed jobs leave (they are among the running ones, at the front).
        let mut k = 0;
        while k < queue.len().min(workers) {
            if queue[k].1 <= EPS {
                let (i, _) = queue.remove(k).unwrap_or((usize::MAX, 0.0));
                if i < jobs.len() {
                    out.sojourn_ms[i] = t - jobs[i].arrival_ms;
                }
            } else {
                k += 1;
            }
        }
    }
    out.nr_periods = bw.nr_periods;
    out.nr_throttled = bw.nr_throttled;
    out.throttled_ms = bw.throttled_ms;
    out
}

/// Replay results shared by every candidate of a scenario: a replay is a pure function of its
/// key (service, workers, quota, rate level), so sharing changes no result, at any thread count.
#[derive(Debug, Clone, Default)]
pub struct ReplayCache(std::sync::Arc<std::sync::Mutex<ReplayMap>>);

/// Key → (sojourn atoms per class, throttled-period ratio).
type ReplayMap =
    std::collections::HashMap<(usize, u32, u64, u32), std::sync::Arc<(Vec<Vec<f64>>, f64)>>;

impl ReplayCache {
    /// The cached value for `key`, computing it with `f` on a miss.
    pub fn get_or_compute(
        &self,
        key: (usize, u32, u64, u32),
        f: impl FnOnce() -> (Vec<Vec<f64>>, f64),
    ) -> std::sync::Arc<(Vec<Vec<f64>>, f64)> {
        if let Ok(map) = self.0.lock() {
            if let Some(v) = map.get(&key) {
                return std::sync::Arc::clone(v);
            }
        }
        let v = std::sync::Arc::new(f());
        if let Ok(mut map) = self.0.lock() {
            map.entry(key).or_insert_with(|| std::sync::Arc::clone(&v));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field case "CFS quota throttling reproducer" (kubernetes#97445): a 5 ms burn every
    /// 1000 ms, one thread.
    fn burns(n: usize) -> Vec<Job> {
        (0..n)
            .map(|i| Job {
                arrival_ms: i as f64 * 1000.0,
                work_ms: 5.0,
            })
            .collect()
    }

    #[test]
    fn cfs_quota_throttling_reproducer_limit_1000m_never_throttles() {
        let out = run(&burns(100), 1, Some(quota_ms(1000)));
        assert_eq!(out.nr_throttled, 0);
        assert_eq!(out.nr_periods, 100);
        assert!(out.sojourn_ms.iter().all(|&s| (s - 5.0).abs() < 1e-6));
    }

    #[test]
    fn cfs_quota_throttling_reproducer_limit_20m_spans_three_periods() {
        // 2 ms of quota per period: 2 + 2 + 1 ms over three periods → done at 201 ms.
        let out = run(&burns(100), 1, Some(quota_ms(20)));
        assert!(
            out.sojourn_ms.iter().all(|&s| (s - 201.0).abs() < 1e-6),
            "{:?}",
            &out.sojourn_ms[..3]
        );
        assert_eq!(out.nr_periods, 300);
        assert_eq!(out.nr_throttled, 200);
        assert!((out.throttled_ratio() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_burst_is_throttled_though_the_average_is_under_the_limit() {
        // 500m limit (50 ms quota), 2 workers; 4 requests of 20 ms arrive together each second:
        // average use 80 ms/s = 80m, far under 500m, but the burst needs 80 ms in one period.
        let jobs: Vec<Job> = (0..10)
            .flat_map(|s| {
                (0..4).map(move |_| Job {
                    arrival_ms: s as f64 * 1000.0,
                    work_ms: 20.0,
                })
            })
            .collect();
        let limited = run(&jobs, 2, Some(quota_ms(500)));
        let free = run(&jobs, 2, None);
        assert_eq!(
            limited.nr_throttled, 10,
            "every burst period runs out of quota"
        );
        // Unlimited: two pairs of 20 ms on 2 workers → 20 and 40 ms.
        assert!((free.sojourn_ms[3] - 40.0).abs() < 1e-6);
        // Limited: the first pair uses 40 ms of the 50 ms quota and ends at 20 ms; the second
        // pair shares the last 10 ms (5 ms each, until 25 ms), is throttled until 100 ms, and
        // ends at 100 + 15 = 115 ms.
        assert!(
            (limited.sojourn_ms[3] - 115.0).abs() < 1e-6,
            "{}",
            limited.sojourn_ms[3]
        );
    }

    #[test]
    fn no_limit_is_plain_fifo_on_the_workers() {
        let jobs = [
            Job {
                arrival_ms: 0.0,
                work_ms: 10.0,
            },
            Job {
                arrival_ms: 0.0,
                work_ms: 10.0,
            },
            Job {
                arrival_ms: 5.0,
                work_ms: 10.0,
            },
        ];
        let out = run(&jobs, 2, None);
        assert_eq!(out.sojourn_ms, vec![10.0, 10.0, 15.0]);
        assert_eq!(out.nr_throttled, 0);
    }
}
