//! Expanding a candidate space into configurations: every grid point applied to the baseline.

use crate::model::config::{
    Config, ContainerResourceMetricConfig, HpaConfig, MetricConfig, MetricTargetConfig,
    ResourceMetricConfig,
};
use crate::model::space::{LimitChoice, LimitRule, Space};
use crate::quantity::{Bytes, MilliCpu};

/// Number of grid points of `space`: the product of its lists' lengths, `None` when that is
/// more than a `usize` indexes (the product used to wrap: a space of 2^64 + 6464 points
/// reported 6464 and sampled only first values).
pub fn grid_size(space: &Space) -> Option<usize> {
    dims(space)
        .iter()
        .try_fold(1usize, |product, &d| product.checked_mul(d))
}

/// The lengths of the grid's lists, as `2 × 3 × …` in expansion order (for messages).
pub fn grid_shape(space: &Space) -> String {
    dims(space)
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" × ")
}

/// The CPU limit `choice` sets on `request` (`Some(None)`: no limit); `None` when it is below
/// the request, which makes the point invalid.
fn limit_cpu(choice: &LimitChoice<MilliCpu>, request: MilliCpu) -> Option<Option<MilliCpu>> {
    let limit = match choice {
        LimitChoice::Rule(LimitRule::None) => None,
        LimitChoice::Rule(LimitRule::Ratio(r)) => {
            Some(MilliCpu((request.0 as f64 * r).round() as i64))
        }
        LimitChoice::Absolute(q) => Some(*q),
    };
    at_or_above(limit, request)
}

/// The memory limit `choice` sets on `request`, as [`limit_cpu`].
fn limit_memory(choice: &LimitChoice<Bytes>, request: Bytes) -> Option<Option<Bytes>> {
    let limit = match choice {
        LimitChoice::Rule(LimitRule::None) => None,
        LimitChoice::Rule(LimitRule::Ratio(r)) => {
            // Round to whole MiB, as people write limits.
            let mib = (request.0 as f64 * r / 1_048_576.0).round() as i64;
            Some(Bytes(mib * 1_048_576))
        }
        LimitChoice::Absolute(q) => Some(*q),
    };
    at_or_above(limit, request)
}

/// `Some(limit)` unless the limit is below `request`.
fn at_or_above<T: PartialOrd>(limit: Option<T>, request: T) -> Option<Option<T>> {
    match limit {
        Some(l) if l < request => None,
        l => Some(l),
    }
}

/// Whether some point of the grid is valid (min ≤ max replicas, limits at or above their
/// requests), found without expanding the grid: validity depends on three pairs of fields
/// alone, so the grid has a valid point when each pair has a valid combination.
pub fn has_valid_point(space: &Space) -> bool {
    let g = &space.grid;
    let pair = |n: usize, m: usize, ok: &dyn Fn(usize, usize) -> bool| {
        (0..n).any(|i| (0..m).any(|j| ok(i, j)))
    };
    pair(g.min_replicas.len(), g.max_replicas.len(), &|i, j| {
        g.min_replicas[i] <= g.max_replicas[j]
    }) && pair(g.cpu_request.len(), g.cpu_limit.len(), &|i, j| {
        limit_cpu(&g.cpu_limit[j], g.cpu_request[i]).is_some()
    }) && pair(g.memory_request.len(), g.memory_limit.len(), &|i, j| {
        limit_memory(&g.memory_limit[j], g.memory_request[i]).is_some()
    })
}

/// How the space is turned into candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sampling {
    /// Every grid point.
    #[default]
    Grid,
    /// `n` Latin-hypercube samples: each field's values are covered in proportion.
    LatinHypercube(usize),
    /// `n` independent uniform samples.
    Random(usize),
}

impl std::fmt::Display for Sampling {
    /// As `--sample` spells it: `grid`, `lhs:N`, `random:N`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sampling::Grid => f.write_str("grid"),
            Sampling::LatinHypercube(n) => write!(f, "lhs:{n}"),
            Sampling::Random(n) => write!(f, "random:{n}"),
        }
    }
}

impl std::str::FromStr for Sampling {
    type Err = String;

    /// `grid`, `lhs:N` or `random:N` (1 ≤ N ≤ [`MAX_CANDIDATES`](crate::search::MAX_CANDIDATES)).
    fn from_str(s: &str) -> std::result::Result<Sampling, String> {
        let most = crate::search::MAX_CANDIDATES;
        let count = |n: &str| {
            let positive =
                n.bytes().all(|b| b.is_ascii_digit()) && !n.trim_start_matches('0').is_empty();
            match n.parse::<usize>() {
                Ok(k) if (1..=most).contains(&k) => Ok(k),
                _ if positive => Err(format!(
                    "`{n}` is too large: a search runs at most {most} candidates"
                )),
                _ => Err(format!("`{n}` is not a sample count ≥ 1")),
            }
        };
        match s.split_once(':') {
            None if s == "grid" => Ok(Sampling::Grid),
            Some(("lhs", n)) => Ok(Sampling::LatinHypercube(count(n)?)),
            Some(("random", n)) => Ok(Sampling::Random(count(n)?)),
            _ => Err(format!("`{s}` is not `grid`, `lhs:N` or `random:N`")),
        }
    }
}

/// The number of values of each field of the grid, in expansion order.
fn dims(space: &Space) -> [usize; 8] {
    let g = &space.grid;
    [
        g.cpu_request.len(),
        g.memory_request.len(),
        g.cpu_limit.len(),
        g.memory_limit.len(),
        g.min_replicas.len(),
        g.max_replicas.len(),
        g.target_cpu_utilization.len(),
        g.node_pool.len(),
    ]
}

/// The configurations of the grid, in a fixed order (the last field varies fastest). Grid
/// points that are invalid (min > max replicas, limit below request) are skipped.
pub fn expand(space: &Space, baseline: &Config) -> Vec<Config> {
    points(space, baseline).collect()
}

/// The configurations of the grid one at a time, in [`expand`]'s order, so that a grid can be
/// counted or searched without holding all of it.
pub fn points<'a>(space: &'a Space, baseline: &'a Config) -> impl Iterator<Item = Config> + 'a {
    let d = dims(space);
    // A loaded space indexes (`check_space`); an unchecked one that does not expands to none.
    let total = grid_size(space).unwrap_or(0);
    (0..total).filter_map(move |k| point(space, baseline, decode(k, &d)))
}

/// The value indices of the `k`-th grid point in expansion order (the last field fastest).
fn decode(mut k: usize, d: &[usize; 8]) -> [usize; 8] {
    let mut idx = [0usize; 8];
    for f in (0..8).rev() {
        idx[f] = k % d[f];
        k /= d[f];
    }
    idx
}

/// `n` distinct valid grid points that `admit` accepts, drawn uniformly without replacement,
/// in draw order; fewer only when the grid has fewer. A partial Fisher–Yates shuffle of the
/// flat indices, kept sparse (only the swapped slots are stored), so a large grid costs memory
/// only for the draws.
fn random_points(
    space: &Space,
    baseline: &Config,
    n: usize,
    admit: &dyn Fn(&Config) -> bool,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> Vec<Config> {
    let d = dims(space);
    let total = grid_size(space).unwrap_or(0);
    let mut swapped = std::collections::BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(n.min(total));
    for i in 0..total {
        if out.len() == n {
            break;
        }
        let left = total - i;
        let j = i + ((crate::sim::rng::unit(rng) * left as f64) as usize).min(left - 1);
        let drawn = swapped.get(&j).copied().unwrap_or(j);
        swapped.insert(j, swapped.get(&i).copied().unwrap_or(i));
        if let Some(c) = point(space, baseline, decode(drawn, &d)).filter(|c| admit(c)) {
            if seen.insert(c.name.clone()) {
                out.push(c);
            }
        }
    }
    out
}

/// The candidates of `space` under `sampling`, seeded by `seed` (the grid ignores it).
/// `random:N` gives N distinct valid points that `admit` accepts (the scenario's placement
/// rules; fewer only when the grid has fewer). A Latin
/// hypercube places N points, one per stratum of each field; points that land on an invalid
/// combination are skipped and repeated points are kept once, in sample order, so it may give
/// fewer than N candidates.
pub fn sample(
    space: &Space,
    baseline: &Config,
    sampling: Sampling,
    seed: u64,
    admit: &dyn Fn(&Config) -> bool,
) -> Vec<Config> {
    use rand::seq::SliceRandom;
    let d = dims(space);
    let n = match sampling {
        Sampling::Grid => return expand(space, baseline),
        Sampling::LatinHypercube(n) => n,
        Sampling::Random(n) => n,
    };
    if d.contains(&0) {
        return Vec::new();
    }
    let mut rng = crate::sim::rng::stream(seed, 0, crate::sim::rng::Purpose::Sampling);
    if let Sampling::Random(n) = sampling {
        return random_points(space, baseline, n, admit, &mut rng);
    }
    let mut columns = Vec::with_capacity(8);
    for &m in &d {
        // Stratum i of n, a uniform point inside it, mapped onto the field's m values.
        let mut strata: Vec<usize> = (0..n).collect();
        strata.shuffle(&mut rng);
        let col: Vec<usize> = strata
            .into_iter()
            .map(|i| {
                let u = (i as f64 + crate::sim::rng::unit(&mut rng)) / n as f64;
                ((u * m as f64) as usize).min(m - 1)
            })
            .collect();
        columns.push(col);
    }
    let mut seen = std::collections::BTreeSet::new();
    (0..n)
        .filter_map(|i| {
            let mut idx = [0usize; 8];
            for f in 0..8 {
                idx[f] = columns[f][i];
            }
            point(space, baseline, idx)
        })
        .filter(|c| seen.insert(c.name.clone()))
        .collect()
}

/// The grid point with value indices `idx` (fields in [`dims`] order) applied to the
/// baseline; `None` when it is invalid.
fn point(space: &Space, baseline: &Config, idx: [usize; 8]) -> Option<Config> {
    let g = &space.grid;
    let base = baseline.workloads.get(&space.workload)?;
    let cpu = &g.cpu_request[idx[0]];
    let mem = &g.memory_request[idx[1]];
    let cl = &g.cpu_limit[idx[2]];
    let ml = &g.memory_limit[idx[3]];
    let min = g.min_replicas[idx[4]];
    let max = g.max_replicas[idx[5]];
    let target = g.target_cpu_utilization[idx[6]];
    let pool = &g.node_pool[idx[7]];
    if min > max {
        return None;
    }
    let cpu_limit = limit_cpu(cl, *cpu)?;
    let mem_limit = limit_memory(ml, *mem)?;
    let mut w = base.clone();
    w.node_pool = pool.clone();
    w.resources.requests.cpu = Some(*cpu);
    w.resources.requests.memory = Some(*mem);
    w.resources.limits.cpu = cpu_limit;
    w.resources.limits.memory = mem_limit;
    let behavior = base.hpa.as_ref().and_then(|h| h.behavior.clone());
    let utilization = MetricTargetConfig {
        kind: "Utilization".into(),
        average_utilization: Some(target),
        average_value: None,
        value: None,
    };
    // A baseline that scales on one container's CPU (a ContainerResource metric, so that its
    // sidecars do not dilute the utilization) keeps that container: the grid varies the
    // target, not what is measured.
    let container = base
        .hpa
        .iter()
        .flat_map(|h| &h.metrics)
        .filter_map(|m| m.container_resource.as_ref())
        .find(|c| c.name == "cpu" && c.target.kind == "Utilization")
        .map(|c| c.container.clone());
    let metric = match container {
        Some(container) => MetricConfig {
            kind: "ContainerResource".into(),
            container_resource: Some(ContainerResourceMetricConfig {
                name: "cpu".into(),
                container,
                target: utilization,
            }),
            ..MetricConfig::default()
        },
        None => MetricConfig {
            kind: "Resource".into(),
            resource: Some(ResourceMetricConfig {
                name: "cpu".into(),
                target: utilization,
            }),
            ..MetricConfig::default()
        },
    };
    w.hpa = Some(HpaConfig {
        min_replicas: min,
        max_replicas: max,
        metrics: vec![metric],
        behavior,
    });
    w.replicas = w.replicas.clamp(min.max(1) as u32, max.max(1) as u32);
    let mut c = baseline.clone();
    c.name = describe(&space.workload, &w);
    c.workloads.insert(space.workload.clone(), w);
    Some(c)
}

/// A short, unique name for a workload setting, e.g.
/// `backend cpu=250m/500m mem=512Mi/1Gi hpa=2-10@70% pool=highmem`.
pub fn describe(workload: &str, w: &crate::model::config::WorkloadConfig) -> String {
    let q = |c: Option<MilliCpu>| c.map_or("none".to_string(), |c| format!("{}m", c.0));
    let b = |m: Option<Bytes>| m.map_or("none".to_string(), |m| m.to_string());
    let hpa = w.hpa.as_ref().map_or("none".to_string(), |h| {
        let t = h
            .metrics
            .iter()
            .filter_map(|m| {
                let (name, target, container) = match (&m.resource, &m.container_resource) {
                    (Some(r), _) => (&r.name, &r.target, None),
                    (None, Some(c)) => (&c.name, &c.target, Some(&c.container)),
                    (None, None) => return None,
                };
                let u = target.average_utilization?;
                Some(match container {
                    Some(c) => format!("{c}.{name}{u}%"),
                    None => format!("{name}{u}%"),
                })
            })
            .collect::<Vec<_>>()
            .join(",");
        format!("{}-{}@{}", h.min_replicas, h.max_replicas, t)
    });
    let pools: Vec<String> = w
        .client_pools
        .iter()
        .filter_map(|(server, p)| {
            let r = p.resolve().ok()?;
            // Settings beyond the size only when the config sets them (default names stay).
            let mut s = format!("{server}:{}", r.max_size);
            if p.min_pool_size.is_some_and(|m| m > 0) {
                s += &format!("/min{}", r.min_size);
            }
            if p.pool_class.is_some() {
                s += match r.exhausted {
                    crate::model::pools::Exhausted::Raise => "/raise",
                    crate::model::pools::Exhausted::Block { .. } => "/block",
                };
            }
            if let (true, crate::model::pools::Exhausted::Block { timeout_s: Some(t) }) = (
                p.wait_queue_timeout_ms.is_some() || p.timeout.is_some(),
                r.exhausted,
            ) {
                s += &format!(
                    "/wait{}",
                    crate::time::format_duration((t * 1000.0).round() as u64)
                );
            }
            // redis-py's `timeout: null` (wait forever) against its default 20 s.
            if p.timeout == Some(None)
                && r.exhausted == (crate::model::pools::Exhausted::Block { timeout_s: None })
            {
                s += "/waitforever";
            }
            Some(s)
        })
        .collect();
    let pools = if pools.is_empty() {
        String::new()
    } else {
        format!(" conns={}", pools.join(","))
    };
    format!(
        "{workload} cpu={}/{} mem={}/{} hpa={hpa} pool={}{pools}",
        q(w.resources.requests.cpu),
        q(w.resources.limits.cpu),
        b(w.resources.requests.memory),
        b(w.resources.limits.memory),
        w.node_pool
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load::from_yaml_str;

    /// The default space with `max_replicas: [10]` only (360 points), and the baseline.
    fn space_and_baseline() -> (Space, Config) {
        let text = include_str!("../../models/spaces/default.yaml");
        let one_max = text.replace("max_replicas: [6, 10]", "max_replicas: [10]");
        assert_ne!(
            text, one_max,
            "the default space's max_replicas axis changed"
        );
        let space: Space = from_yaml_str(&one_max, "default.yaml").unwrap();
        let baseline: Config = from_yaml_str(
            include_str!("../../models/configs/baseline.yaml"),
            "baseline.yaml",
        )
        .unwrap();
        (space, baseline)
    }

    #[test]
    fn random_samples_are_distinct_valid_points_of_the_grid() {
        let (space, baseline) = space_and_baseline();
        let grid: Vec<String> = expand(&space, &baseline)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(grid.len(), 360);
        for seed in 0..40 {
            for n in [1, 10, 200, 360] {
                let names: Vec<String> =
                    sample(&space, &baseline, Sampling::Random(n), seed, &|_| true)
                        .into_iter()
                        .map(|c| c.name)
                        .collect();
                let distinct: std::collections::BTreeSet<_> = names.iter().collect();
                assert_eq!((names.len(), distinct.len()), (n, n), "seed {seed}, n {n}");
                assert!(names.iter().all(|c| grid.contains(c)));
            }
        }
        // More than the grid holds: every point once.
        assert_eq!(
            sample(&space, &baseline, Sampling::Random(1000), 3, &|_| true).len(),
            360
        );
    }

    #[test]
    fn random_samples_draw_only_admitted_points() {
        // As the placement rules leave out a pool: 240 of the 360 points are admitted.
        let (space, baseline) = space_and_baseline();
        let admit = |c: &Config| c.workloads["backend"].node_pool != "general";
        for seed in 0..20 {
            let got = sample(&space, &baseline, Sampling::Random(10), seed, &admit);
            assert_eq!(got.len(), 10, "seed {seed}");
            assert!(got.iter().all(admit));
        }
        assert_eq!(
            sample(&space, &baseline, Sampling::Random(300), 1, &admit).len(),
            240
        );
    }

    #[test]
    fn random_samples_are_uniform_over_the_grid() {
        // 360 points, 10 per draw, 3,600 draws: each point is expected 100 times; a count
        // outside 55..=145 is a 4.5-sigma event for a uniform sampler.
        let (space, baseline) = space_and_baseline();
        let mut counts = std::collections::BTreeMap::<String, u32>::new();
        for seed in 0..3_600 {
            for c in sample(&space, &baseline, Sampling::Random(10), seed, &|_| true) {
                *counts.entry(c.name).or_default() += 1;
            }
        }
        assert_eq!(counts.len(), 360);
        assert!(
            counts.values().all(|&k| (55..=145).contains(&k)),
            "{:?}",
            counts.values().min()
        );
    }
}
