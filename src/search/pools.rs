//! Client-pool sizes in the search: each candidate of the grid is tried with every
//! combination of the space's pool sizes, `fit` resolved against the servers' limits.

use crate::model::config::Config;
use crate::model::pools::{connection_budget, fitting_size};
use crate::model::scenario::Scenario;
use crate::model::space::{PoolSize, Space};

/// Every candidate with every combination of the space's pool sizes (servers in name order,
/// the last varying fastest). Without `client_pools` in the space the candidates are
/// returned as they are.
pub fn with_pool_sizes(scenario: &Scenario, space: &Space, candidates: Vec<Config>) -> Vec<Config> {
    if space.client_pools.is_empty() {
        return candidates;
    }
    let mut out = Vec::new();
    for c in candidates {
        let mut partial = vec![c];
        for (server, sizes) in &space.client_pools {
            let mut next = Vec::with_capacity(partial.len() * sizes.len());
            for c in &partial {
                for &size in sizes {
                    if let Some(sized) = sized(scenario, &space.workload, c, server, size) {
                        if !next.contains(&sized) {
                            next.push(sized);
                        }
                    }
                }
            }
            partial = next;
        }
        out.extend(partial);
    }
    out
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
                        max_replicas(o),
                        s.profile.workers,
                        s.profile.concurrency_per_worker,
                    ))
                })
                .sum();
            let resolved = pool.resolve().ok()?;
            let svc = scenario.services.iter().find(|s| s.name == workload)?;
            fitting_size(
                limit.saturating_sub(others),
                max_replicas(w),
                svc.profile.workers,
                resolved.monitors_per_member,
            )
            .min(resolved.max_size)
        }
    };
    let mut c = c.clone();
    let w = c.workloads.get_mut(workload)?;
    let p = w.client_pools.get_mut(server)?;
    *p = p.with_max_size(n);
    c.name = crate::search::space::describe(workload, w);
    Some(c)
}

fn max_replicas(w: &crate::model::config::WorkloadConfig) -> u32 {
    w.hpa
        .as_ref()
        .map_or(w.replicas, |h| h.max_replicas.max(1) as u32)
}
