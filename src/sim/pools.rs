//! Client connection pools under the fluid model: each process's pool toward a server is a
//! multi-server queue (its connections) fed by the process's operations. Blocking pools wait
//! (M/M/c, Erlang C: `P(W > t) = C·e^{−(cμ−λ)t}`) and fail past their timeout; raising pools
//! lose the operations that find every connection busy (Erlang B).

use crate::model::pools::{ClientPool, Exhausted};
use crate::model::service::RequestClass;
use crate::sim::queueing::{erlang_b, wait_law};

/// Per class, the seconds per request its worker process spends blocked in calls to the
/// servers for which `blocks(server)` holds (synchronous drivers inside an event loop): the
/// calls' operations × round trip.
pub fn blocked_s_per_class(classes: &[RequestClass], blocks: impl Fn(&str) -> bool) -> Vec<f64> {
    classes
        .iter()
        .map(|c| {
            c.downstream
                .iter()
                .filter(|d| blocks(&d.server))
                .map(|d| d.ops_per_request * d.round_trip as f64 / 1000.0)
                .sum()
        })
        .collect()
}

/// Operations per process beyond which a pool is too large to matter: with more than
/// `a + 10√a + 50` connections for an offered load `a`, waiting and loss are below 1e-20, so
/// the formulas are evaluated with that many (redis-py's default pool is 2**31).
fn effective_size(size: u32, a: f64) -> u32 {
    let enough = (a + 10.0 * a.sqrt() + 50.0).ceil();
    if f64::from(size) > enough {
        enough as u32
    } else {
        size
    }
}

/// A pool growing toward the connections it needs in one step: pymongo opens at most
/// `maxConnecting` connections at once per pool, each taking the server's handshake time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Growth {
    /// Connections open at the end of the step.
    pub open: f64,
    /// Connections opened during the step.
    pub opened: f64,
    /// Mean wait per operation of the step for a connection being established, seconds.
    pub wait_per_op_s: f64,
}

/// One process's pool with `open` connections that needs `target` over a step of `dt_s`
/// seconds with `ops_per_s` operations: it opens `k = min(target − open, rate·dt)`
/// connections at `rate = max_connecting / handshake_s`; the checkout that asked for the
/// i-th new one waits ⌈i / max_connecting⌉ handshakes, and each connection still missing at the end of the step keeps a checkout
/// waiting half the step. A pool above its target is left to the caller (connections close
/// at once or never).
pub fn grow(
    open: f64,
    target: f64,
    max_connecting: u32,
    handshake_s: f64,
    ops_per_s: f64,
    dt_s: f64,
) -> Growth {
    let deficit = target - open;
    if deficit <= 0.0 {
        return Growth {
            open,
            ..Growth::default()
        };
    }
    let m = f64::from(max_connecting.max(1));
    let k = if handshake_s > 0.0 {
        deficit.min(m / handshake_s * dt_s)
    } else {
        deficit
    };
    // Σ_{i ≤ k} ⌈i/m⌉ handshakes: q full rounds of m, then r more in round q + 1.
    let q = (k / m).floor();
    let r = k - q * m;
    let waited =
        handshake_s * (m * q * (q + 1.0) / 2.0 + r * (q + 1.0)) + (deficit - k) * dt_s / 2.0;
    let ops = ops_per_s * dt_s;
    Growth {
        open: open + k,
        opened: k,
        wait_per_op_s: if ops > 0.0 { waited / ops } else { 0.0 },
    }
}

/// Connections a step's openings put on a server within one second: they all start at the
/// step's start, and each of `procs` pools opening `per_pool` connections opens at most
/// `max_connecting / handshake_s` of them in the first second.
pub fn opens_in_first_second(
    procs: f64,
    per_pool: f64,
    max_connecting: u32,
    handshake_s: f64,
) -> f64 {
    let per_second = if handshake_s > 0.0 {
        f64::from(max_connecting.max(1)) / handshake_s
    } else {
        f64::INFINITY
    };
    procs * per_pool.max(0.0).min(per_second)
}

/// The growth of a workload's pools in a step, averaged over its processes: the processes of
/// pods ready before the step grow from `open` to `target`; those of pods that became ready
/// in it (`ready.1 − ready.0` of `ready.1`) from `minPoolSize`. Returns the processes'
/// common open count (`target` when it shrinks) and the mean establishment wait per
/// operation.
pub fn establish_wait(
    pool: &ClientPool,
    (open, target): (f64, f64),
    (ready_before, ready): (u32, u32),
    handshake_s: f64,
    ops_per_s: f64,
    dt_s: f64,
) -> Growth {
    let old = grow(
        open,
        target,
        pool.max_connecting,
        handshake_s,
        ops_per_s,
        dt_s,
    );
    let fresh = ready.saturating_sub(ready_before);
    let mut out = Growth {
        open: if target < open { target } else { old.open },
        ..old
    };
    if fresh > 0 && ready > 0 {
        let new = grow(
            f64::from(pool.min_size),
            target,
            pool.max_connecting,
            handshake_s,
            ops_per_s,
            dt_s,
        );
        let share = f64::from(fresh) / f64::from(ready);
        out.wait_per_op_s = (1.0 - share) * old.wait_per_op_s + share * new.wait_per_op_s;
    }
    out
}

/// Connections a server sees opened by one workload's pool between two tallies, `(procs,
/// open per process)` before and after: new processes open their pools and monitors, the
/// others their pools' growth. Returns (opened, opened within the first second).
pub fn connection_opens(
    pool: &ClientPool,
    (procs0, open0): (f64, f64),
    (procs, open): (f64, f64),
    handshake_s: f64,
) -> (f64, f64) {
    let new_procs = (procs - procs0).max(0.0);
    let old_procs = procs.min(procs0);
    let grown = (open - open0).max(0.0);
    let monitors = f64::from(pool.monitors_per_member);
    let opened = new_procs * (open + monitors) + old_procs * grown;
    let first = opens_in_first_second(new_procs, open, pool.max_connecting, handshake_s)
        + new_procs * monitors
        + opens_in_first_second(old_procs, grown, pool.max_connecting, handshake_s);
    (opened, first)
}

/// Memory each of a server workload's `ready` pods holds for `connections` client
/// connections spread over them (Redis keeps per-client buffers), bytes.
pub fn connection_memory_per_pod(connections: f64, bytes_per_connection: f64, ready: u32) -> f64 {
    if ready == 0 {
        0.0
    } else {
        connections * bytes_per_connection / f64::from(ready)
    }
}

/// What one process's pool does in a step.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PoolStep {
    /// Mean connections in use (Little's law: operations/s × hold time).
    pub in_use: f64,
    /// Connections the process needs open for this load: the in-use mean plus three standard
    /// deviations (Poisson), within the pool size.
    pub needed: f64,
    /// Mean checkout wait per operation, seconds.
    pub mean_wait_s: f64,
    /// 99th percentile of the checkout wait, seconds.
    pub wait_p99_s: f64,
    /// Fraction of operations that fail at checkout (timeout, or a raising pool full).
    pub fail_per_op: f64,
}

/// One process's pool with `capacity` usable connections, `ops_per_s` operations per second
/// each holding a connection for `hold_s` seconds.
pub fn pool_step(pool: &ClientPool, capacity: u32, ops_per_s: f64, hold_s: f64) -> PoolStep {
    let a = ops_per_s * hold_s;
    if ops_per_s <= 0.0 || hold_s <= 0.0 {
        return PoolStep::default();
    }
    if capacity == 0 {
        return PoolStep {
            fail_per_op: 1.0,
            ..PoolStep::default()
        };
    }
    let c = effective_size(capacity, a);
    let needed = (a + 3.0 * a.sqrt()).ceil().min(f64::from(capacity));
    let in_use = a.min(f64::from(capacity));
    match pool.exhausted {
        Exhausted::Raise => PoolStep {
            in_use,
            needed,
            fail_per_op: erlang_b(c, a),
            ..PoolStep::default()
        },
        Exhausted::Block {
            timeout_s: Some(timeout),
        } => {
            let w = abandoning_wait(c, ops_per_s, hold_s, timeout);
            PoolStep {
                in_use: (a * (1.0 - w.fail)).min(f64::from(capacity)),
                needed,
                mean_wait_s: w.mean_s,
                wait_p99_s: w.p99_s,
                fail_per_op: w.fail,
            }
        }
        Exhausted::Block { timeout_s: None } => {
            if a >= f64::from(c) {
                // Saturated and nobody gives up: the wait queue grows without bound.
                return PoolStep {
                    in_use,
                    needed,
                    mean_wait_s: f64::INFINITY,
                    wait_p99_s: f64::INFINITY,
                    fail_per_op: 1.0,
                };
            }
            let law = wait_law(c, ops_per_s, hold_s, 1.0, 1.0);
            let p99 = if law.p_wait > 0.01 {
                (law.p_wait / 0.01).ln() / law.rate
            } else {
                0.0
            };
            PoolStep {
                in_use,
                needed,
                mean_wait_s: law.mean(),
                wait_p99_s: p99,
                fail_per_op: 0.0,
            }
        }
    }
}

/// Checkout waits of a pool whose waiters give up after `timeout_s` (pymongo
/// `waitQueueTimeoutMS`, redis-py `BlockingConnectionPool(timeout=…)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbandoningWait {
    /// Fraction of checkouts that time out.
    pub fail: f64,
    /// Mean time a checkout waits (a failing one waits the whole timeout), seconds.
    pub mean_s: f64,
    /// 99th percentile of the checkout wait, seconds (at most the timeout).
    pub p99_s: f64,
}

/// The M/M/c+D queue: `c` connections, Poisson checkouts at `lambda`/s holding one for an
/// exponential time of mean `hold_s`, each waiter leaving after `tau` seconds. While every
/// connection is busy the pool frees one at rate cμ, so the virtual wait V of a checkout has
/// density g·e^{−δx} on (0, τ] and g·e^{−δτ}·e^{−cμ(x−τ)} beyond (δ = cμ − λ; a waiter who
/// would wait past τ does not join), with g = λ·π_{c−1}; PASTA gives the timed-out share
/// P(V > τ). Unlike Erlang C it is stable at any load: above saturation the share tends to
/// 1 − cμ/λ, the excess, instead of every checkout. Computed scaled by max(1, e^{−δτ}), so
/// no exponential overflows.
pub fn abandoning_wait(c: u32, lambda: f64, hold_s: f64, tau: f64) -> AbandoningWait {
    let none = AbandoningWait {
        fail: 0.0,
        mean_s: 0.0,
        p99_s: 0.0,
    };
    if lambda <= 0.0 || hold_s <= 0.0 {
        return none;
    }
    if c == 0 {
        return AbandoningWait {
            fail: 1.0,
            mean_s: 0.0,
            p99_s: 0.0,
        };
    }
    let a = lambda * hold_s;
    let c_mu = f64::from(c) / hold_s;
    let delta = c_mu - lambda;
    let tau = tau.max(0.0);
    let dt = delta * tau;
    // h̃(x) = e^{−δx}/M with M = max(1, e^{−δτ}); I0 = ∫_0^τ h̃, I1 = ∫_0^τ x·h̃, h̃(τ), 1/M.
    let (i0, i1, h_tau, inv_m) = if delta.abs() * tau < 1e-12 {
        (tau, tau * tau / 2.0, 1.0, 1.0)
    } else if delta > 0.0 {
        let e = (-dt).exp();
        (
            -(-dt).exp_m1() / delta,
            (1.0 - e * (1.0 + dt)) / (delta * delta),
            e,
            1.0,
        )
    } else {
        let d = -delta;
        let e = (-d * tau).exp(); // e^{δτ} = 1/M
        (
            -(-d * tau).exp_m1() / d,
            tau / d - (-(-d * tau).exp_m1()) / (d * d),
            1.0,
            e,
        )
    };
    let tail = h_tau / c_mu;
    // λ·π_{c−1}/P(V = 0) = λ·B(c − 1, A).
    let lb = lambda * erlang_b(c - 1, a);
    let z = inv_m + lb * (i0 + tail);
    let fail = (lb * tail / z).clamp(0.0, 1.0);
    let mean_s = lb * (i1 + tau * tail) / z;
    let busy = lb * (i0 + tail) / z;
    let p99_s = if fail >= 0.01 {
        tau
    } else if busy <= 0.01 {
        0.0
    } else {
        // P(V > x) = lb·(∫_x^τ h̃ + h̃(τ)/cμ)/z = 0.01.
        let r = 0.01 * z / lb - tail;
        let x = if delta.abs() * tau < 1e-12 {
            tau - r
        } else if delta > 0.0 {
            -(delta * r + h_tau).ln() / delta
        } else {
            let d = -delta;
            tau + (1.0 - d * r).ln() / d
        };
        x.clamp(0.0, tau)
    };
    AbandoningWait {
        fail,
        mean_s,
        p99_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pools::ClientPoolConfig;
    use approx::assert_relative_eq;

    fn pymongo(max: i64, wait_ms: Option<i64>) -> ClientPool {
        ClientPoolConfig {
            client: "pymongo".into(),
            max_pool_size: Some(Some(max)),
            wait_queue_timeout_ms: wait_ms,
            ..ClientPoolConfig::default()
        }
        .resolve()
        .unwrap()
    }

    #[test]
    fn blocking_pool_waits_as_erlang_c() {
        // 2 connections, 80 ops/s holding 10 ms: A = 0.8, B(2, 0.8) = 0.32/2.12 = 0.1509,
        // C = 2B / (2 − 0.8(1 − B)) = 0.2286; mean wait C / (cμ − λ) = 0.2286 / 120 = 1.905 ms.
        let s = pool_step(&pymongo(2, Some(5)), 2, 80.0, 0.010);
        // Checkouts that time out hold no connection.
        assert_relative_eq!(s.in_use, 0.8 * (1.0 - s.fail_per_op), epsilon = 1e-12);
        let erlang_c = crate::sim::queueing::erlang_c(2, 0.8);
        assert_relative_eq!(erlang_c, 0.228_571_428, epsilon = 1e-6);
        let patient = pool_step(&pymongo(2, None), 2, 80.0, 0.010);
        assert_relative_eq!(patient.mean_wait_s, erlang_c / 120.0, epsilon = 1e-12);
        // Checkouts give up after 5 ms (M/M/2+D): with δ = cμ − λ = 120, e^{−δτ} = e^{−0.6},
        // λ·B(1, 0.8) = 80 × 0.8/1.8 = 35.56, ∫_0^τ e^{−δx} = (1 − e^{−0.6})/120 and the tail
        // e^{−0.6}/200: P(V > τ) = 35.56 × e^{−0.6}/200 / (1 + 35.56 × (I0 + tail)) = 0.0792
        // (a 400,000-checkout simulation: 0.0794), below Erlang C's C·e^{−0.6} = 0.1254,
        // which ignores that the ones who give up free their place.
        let lb = 80.0 * 0.8 / 1.8;
        let e = (-0.6f64).exp();
        let (i0, tail) = ((1.0 - e) / 120.0, e / 200.0);
        assert_relative_eq!(
            s.fail_per_op,
            lb * tail / (1.0 + lb * (i0 + tail)),
            epsilon = 1e-12
        );
        assert_relative_eq!(s.fail_per_op, 0.0792, epsilon = 5e-4);
        assert!(s.mean_wait_s < erlang_c / 120.0);
        assert_relative_eq!(s.wait_p99_s, 0.005);
        // Waiting forever: no failures.
        assert_eq!(
            pool_step(&pymongo(2, None), 2, 80.0, 0.010).fail_per_op,
            0.0
        );
    }

    /// maxConnecting 2 and a 20 ms handshake: 100 connections per second per pool. Ten new
    /// connections in a 5 s step open at once (k = 10), their checkouts wait 0.02 × (10/2 +
    /// 1)/2 = 60 ms each, 0.6 s in all, over 50 ops/s × 5 s = 250 operations: 2.4 ms per
    /// operation. 800 missing connections take 8 s: 500 open in the step and 300 keep a
    /// checkout waiting 2.5 s each.
    #[test]
    fn pools_grow_at_max_connecting_per_handshake() {
        let g = grow(0.0, 10.0, 2, 0.020, 50.0, 5.0);
        assert_relative_eq!(g.open, 10.0);
        assert_relative_eq!(g.opened, 10.0);
        assert_relative_eq!(g.wait_per_op_s, 0.6 / 250.0, epsilon = 1e-12);
        let storm = grow(0.0, 800.0, 2, 0.020, 50.0, 5.0);
        assert_relative_eq!(storm.open, 500.0, epsilon = 1e-9);
        let waited = 500.0 * 0.020 * (250.0 + 1.0) / 2.0 + 300.0 * 2.5;
        assert_relative_eq!(storm.wait_per_op_s, waited / 250.0, epsilon = 1e-9);
        assert_eq!(grow(10.0, 4.0, 2, 0.020, 50.0, 5.0).open, 10.0);
        // 20 fresh processes opening 10 connections each: all 200 in the first second;
        // opening 300 each, 100 per second per pool.
        assert_relative_eq!(opens_in_first_second(20.0, 10.0, 2, 0.020), 200.0);
        assert_relative_eq!(
            opens_in_first_second(20.0, 300.0, 2, 0.020),
            2000.0,
            epsilon = 1e-9
        );
    }

    /// M/M/5+D, 50 ms holds (μ = 20/s), 50 ms timeout, against a 400,000-checkout
    /// simulation of the FCFS queue whose waiters leave at the timeout: at λ = 60, 100, 120
    /// and 200/s it times out 1.29 %, 11.8 %, 20.9 % and 50.3 % of checkouts. Erlang C said
    /// 3.2 % at 60/s and every checkout from 100/s on (ρ ≥ 1): waiters who give up keep the
    /// queue finite, and the share tends to the excess 1 − cμ/λ (50 % at 200/s).
    #[test]
    fn a_pool_whose_waiters_time_out_is_stable_past_saturation() {
        for (lambda, simulated) in [
            (60.0, 0.0129),
            (100.0, 0.118),
            (120.0, 0.209),
            (200.0, 0.503),
        ] {
            let w = abandoning_wait(5, lambda, 0.05, 0.05);
            assert!(
                (w.fail / simulated - 1.0).abs() < 0.03,
                "λ {lambda}: {} vs {simulated}",
                w.fail
            );
            assert!(w.fail >= 1.0 - 100.0 / lambda);
        }
        // Far past saturation: the excess.
        let w = abandoning_wait(5, 10_000.0, 0.05, 2.0);
        assert_relative_eq!(w.fail, 1.0 - 100.0 / 10_000.0, epsilon = 1e-9);
        assert_relative_eq!(w.p99_s, 2.0);
        // A timeout long against the holds and a light load: Erlang C's tail.
        let w = abandoning_wait(2, 80.0, 0.010, 0.5);
        let c = crate::sim::queueing::erlang_c(2, 0.8);
        assert!(w.fail < 1e-20 && w.fail >= 0.0);
        assert_relative_eq!(w.mean_s, c / 120.0, epsilon = 1e-9);
    }

    #[test]
    fn saturated_or_empty_pools_fail_every_checkout() {
        let s = pool_step(&pymongo(2, None), 2, 300.0, 0.010);
        assert_eq!(s.fail_per_op, 1.0);
        assert!(s.mean_wait_s.is_infinite());
        // With a timeout the saturated pool fails the excess, 1 − 200/300.
        let s = pool_step(&pymongo(2, Some(1000)), 2, 300.0, 0.010);
        assert_relative_eq!(s.fail_per_op, 1.0 / 3.0, epsilon = 1e-3);
        assert_eq!(pool_step(&pymongo(2, None), 0, 1.0, 0.010).fail_per_op, 1.0);
    }

    #[test]
    fn raising_pool_loses_as_erlang_b() {
        let r = ClientPoolConfig {
            client: "redis-py".into(),
            max_connections: Some(Some(2)),
            ..ClientPoolConfig::default()
        }
        .resolve()
        .unwrap();
        // B(2, 1) = (1/2) / (1 + 1 + 1/2) = 0.2.
        assert_relative_eq!(
            pool_step(&r, 2, 100.0, 0.010).fail_per_op,
            0.2,
            epsilon = 1e-12
        );
        // The default 2**31 pool never refuses and costs nothing to evaluate.
        let unlimited = ClientPoolConfig {
            client: "redis-py".into(),
            ..ClientPoolConfig::default()
        }
        .resolve()
        .unwrap();
        let s = pool_step(&unlimited, unlimited.max_size, 1000.0, 0.001);
        assert!(s.fail_per_op < 1e-20);
        assert_eq!(s.needed, (1.0 + 3.0f64).ceil());
    }
}
