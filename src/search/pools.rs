//! Client-pool sizes in the search: each candidate of the grid is tried with every
//! combination of the space's pool sizes, `fit` resolved against the servers' limits.

use crate::model::config::Config;
use crate::model::pools::{connection_budget, fitting_size, ClientPoolConfig};
use crate::model::scenario::Scenario;
use crate::model::space::{PoolAxes, PoolSize, PoolTimeout, Space};

/// Every candidate with every combination of the space's pool settings (servers in name
/// order, the last setting varying fastest), `fit` resolved against the servers' limits, and
/// how many combinations were skipped because their `minPoolSize` is above their size
/// (pymongo raises on that, and a config with it is refused; the search used to lower the
/// minimum silently). Without `client_pools` in the space the candidates are returned as they
/// are.
pub fn with_pool_sizes(
    scenario: &Scenario,
    space: &Space,
    candidates: Vec<Config>,
) -> (Vec<Config>, usize) {
    if space.client_pools.is_empty() {
        return (candidates, 0);
    }
    let mut skipped = 0;
    let mut out = Vec::new();
    for c in candidates {
        let mut partial = vec![c];
        for (server, axes) in &space.client_pools {
            let choices = choices(axes);
            let mut next = Vec::with_capacity(partial.len() * choices.len());
            for c in &partial {
                for choice in &choices {
                    let Some(set) = with_choice(scenario, &space.workload, c, server, choice)
                    else {
                        continue;
                    };
                    let pool = set
                        .workloads
                        .get(&space.workload)
                        .and_then(|w| w.client_pools.get(server));
                    if pool.is_some_and(min_above_size) {
                        skipped += 1;
                    } else if !next.contains(&set) {
                        next.push(set);
                    }
                }
            }
            partial = next;
        }
        out.extend(partial);
    }
    (out, skipped)
}

/// Whether `pool` keeps more connections open than it may hold (`minPoolSize` above its
/// maximum size, as the client resolves it).
fn min_above_size(pool: &ClientPoolConfig) -> bool {
    let Some(min) = pool.min_pool_size else {
        return false;
    };
    let without_min = ClientPoolConfig {
        min_pool_size: None,
        ..pool.clone()
    };
    without_min
        .resolve()
        .is_ok_and(|r| min > i64::from(r.max_size))
}

/// How many combinations of pool settings the space tries per grid point (1 without
/// `client_pools`; `None` beyond a `usize`): what [`with_pool_sizes`] multiplies a grid by, at
/// most.
pub fn combinations(space: &Space) -> Option<usize> {
    space
        .client_pools
        .values()
        .try_fold(1usize, |n, axes| n.checked_mul(choices(axes).len()))
}

/// One combination of a server's pool settings (`None`: the baseline's).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Choice {
    size: Option<PoolSize>,
    min_size: Option<u32>,
    blocking: Option<bool>,
    timeout: Option<PoolTimeout>,
}

/// The grid of `axes` (an empty axis keeps the baseline's setting).
fn choices(axes: &PoolAxes) -> Vec<Choice> {
    fn axis<T: Copy>(v: &[T]) -> Vec<Option<T>> {
        if v.is_empty() {
            vec![None]
        } else {
            v.iter().copied().map(Some).collect()
        }
    }
    let mut out = Vec::new();
    for size in axis(&axes.size) {
        for min_size in axis(&axes.min_size) {
            for blocking in axis(&axes.blocking) {
                for timeout in axis(&axes.timeout) {
                    out.push(Choice {
                        size,
                        min_size,
                        blocking,
                        timeout,
                    });
                }
            }
        }
    }
    out
}

/// `c` with the workload's pool toward `server` set to `choice`: first its settings (a
/// blocking redis-py pool has another default size), then its size (`None` when the workload
/// has no such pool, or `fit` has no limit to fit).
fn with_choice(
    scenario: &Scenario,
    workload: &str,
    c: &Config,
    server: &str,
    choice: &Choice,
) -> Option<Config> {
    let mut c = c.clone();
    let w = c.workloads.get_mut(workload)?;
    let p = w.client_pools.get_mut(server)?;
    *p = p.with_settings(choice.min_size, choice.blocking, choice.timeout);
    match choice.size {
        Some(size) => sized(scenario, workload, &c, server, size),
        None => {
            c.name = crate::search::space::describe(workload, c.workloads.get(workload)?);
            Some(c)
        }
    }
}

/// `c` with the workload's pool toward `server` set to `size` (`None` when the workload has
/// no such pool, or `fit` has no limit to fit).
fn sized(
    scenario: &Scenario,
    workload: &str,
    c: &Config,
    server: &str,
    size: PoolSize,
) -> Option<Config> {
    let w = c.workloads.get(workload)?;
    let pool = w.client_pools.get(server)?;
    let n = match size {
        PoolSize::Count(n) => n,
        PoolSize::Fit => {
            let limit = u64::from(scenario.servers.get(server)?.max_connections);
            let others: u64 = scenario
                .services
                .iter()
                .filter(|s| s.name != workload)
                .filter_map(|s| {
                    let o = c.workloads.get(&s.name)?;
                    let p = o.client_pools.get(server)?.resolve().ok()?;
                    Some(connection_budget(
                        &p,
                        o.peak_pods(),
                        s.profile.workers,
                        s.profile.concurrency_per_worker,
                    ))
                })
                .sum();
            let resolved = pool.resolve().ok()?;
            let svc = scenario.services.iter().find(|s| s.name == workload)?;
            // A process never holds more connections than it serves requests at once
            // (`connection_budget`), so a larger size is the same pool with a size it never
            // reaches.
            fitting_size(
                limit.saturating_sub(others),
                w.peak_pods(),
                svc.profile.workers,
                resolved.monitors_per_member,
            )
            .min(resolved.max_size)
            .min(svc.profile.concurrency_per_worker.max(1))
        }
    };
    let mut c = c.clone();
    let w = c.workloads.get_mut(workload)?;
    let p = w.client_pools.get_mut(server)?;
    *p = p.with_max_size(n);
    c.name = crate::search::space::describe(workload, w);
    Some(c)
}
