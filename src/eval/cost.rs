//! Cost: node-seconds × hourly price per pool, plus the cluster management fee; projected per
//! month; allocated to workloads as OpenCost does (max(request, usage) × unit rate; idle =
//! node cost − allocated).

use serde::{Deserialize, Serialize};

use crate::model::scenario::Scenario;
use crate::sim::engine::RunResult;
use crate::time::HOURS_PER_MONTH;

/// Cost of one pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolCost {
    /// Pool name.
    pub pool: String,
    /// Node-hours billed.
    pub node_hours: f64,
    /// Cost over the horizon.
    pub horizon: f64,
    /// Most nodes at once.
    pub peak_nodes: u32,
}

/// Cost of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// Currency of every amount.
    pub currency: String,
    /// Total over the simulated horizon.
    pub horizon: f64,
    /// Projected per month (730 h).
    pub monthly: f64,
    /// Node cost over the horizon.
    pub nodes: f64,
    /// Management fee over the horizon.
    pub management_fee: f64,
    /// Per pool.
    pub pools: Vec<PoolCost>,
    /// Per workload, OpenCost allocation over the horizon.
    pub workloads: Vec<(String, f64)>,
    /// Node cost not allocated to any workload (idle), over the horizon.
    pub idle: f64,
}

/// Prices `run` on the scenario's catalog.
pub fn cost(scenario: &Scenario, run: &RunResult) -> Cost {
    let hours = run.horizon as f64 / 3.6e6;
    let cat = &scenario.catalog;
    let mut pools = Vec::with_capacity(cat.pools.len());
    let mut nodes = 0.0;
    for (p, r) in cat.pools.iter().zip(&run.pools) {
        let node_hours = r.node_seconds / 3600.0;
        let c = node_hours * p.node_cost_per_hour();
        nodes += c;
        pools.push(PoolCost {
            pool: p.name.clone(),
            node_hours,
            horizon: c,
            peak_nodes: r.peak_nodes,
        });
    }
    let management_fee = if scenario.management_fee {
        cat.cluster_fee.per_hour * hours
    } else {
        0.0
    };
    let workloads = allocate(scenario, run);
    let allocated: f64 = workloads.iter().map(|(_, c)| c).sum();
    let horizon = nodes + management_fee;
    let monthly = if hours > 0.0 {
        horizon * HOURS_PER_MONTH / hours
    } else {
        0.0
    };
    Cost {
        currency: cat.currency.clone(),
        horizon,
        monthly,
        nodes,
        management_fee,
        pools,
        workloads,
        idle: (nodes - allocated).max(0.0),
    }
}

/// OpenCost's split of a node price into CPU and RAM rates: `ratio = CPU/RAM default prices`
/// (0.031611 $/vCPU-h over 0.004237 $/GiB-h, opencost configs/default.json), RAM rate =
/// price / (vCPU × ratio + GiB), CPU rate = RAM rate × ratio.
pub fn unit_rates(price_per_hour: f64, vcpu: f64, memory_gib: f64) -> (f64, f64) {
    const CPU_DEFAULT: f64 = 0.031611;
    const RAM_DEFAULT: f64 = 0.004237;
    let ratio = CPU_DEFAULT / RAM_DEFAULT;
    let ram = price_per_hour / (vcpu * ratio + memory_gib);
    (ram * ratio, ram)
}

fn allocate(scenario: &Scenario, run: &RunResult) -> Vec<(String, f64)> {
    let cat = &scenario.catalog;
    run.workloads
        .iter()
        .map(|w| {
            let p = &cat.pools[w.pool];
            let (cpu_rate, ram_rate) = unit_rates(
                p.node_cost_per_hour(),
                f64::from(p.vcpu),
                p.memory.0 as f64 / (1u64 << 30) as f64,
            );
            let cpu_h = w.cpu_request_core_s.max(w.cpu_usage_core_s) / 3600.0;
            let gib_h =
                w.memory_request_byte_s.max(w.memory_usage_byte_s) / (1u64 << 30) as f64 / 3600.0;
            (w.name.clone(), cpu_h * cpu_rate + gib_h * ram_rate)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn opencost_split_matches_the_worked_example() {
        // SOURCES.md: Standard_E2_v3 0.126 $/h, 2 vCPU, 16 GiB -> RAM 0.004075, CPU 0.03040.
        let (cpu, ram) = unit_rates(0.126, 2.0, 16.0);
        assert_relative_eq!(ram, 0.004075, epsilon = 5e-6);
        assert_relative_eq!(cpu, 0.03040, epsilon = 5e-5);
        // The split prices the whole node.
        assert_relative_eq!(cpu * 2.0 + ram * 16.0, 0.126, epsilon = 1e-12);
    }
}
