//! Checks of configurations and spaces against their scenario, with errors naming the field.

use crate::error::{Error, Result};
use crate::model::config::{Config, WorkloadConfig};
use crate::model::scenario::Scenario;

/// Checks `config` (read from `file`) against `scenario`: every service has a workload, pools
/// exist, requests do not exceed limits, and the HPA is valid as the API server validates it.
pub fn check_config(scenario: &Scenario, config: &Config, file: &str) -> Result<()> {
    if config.name.trim().is_empty() {
        return Err(Error::at_field(
            file,
            "name",
            "empty: the ranking and the report name the configuration by it",
        ));
    }
    for s in &scenario.services {
        if !config.workloads.contains_key(&s.name) {
            return Err(Error::at_field(
                file,
                format!("workloads.{}", s.name),
                format!("missing: the scenario has a service `{}`", s.name),
            ));
        }
    }
    for (name, w) in &config.workloads {
        if scenario.service_index(name).is_none() {
            return Err(Error::at_field(
                file,
                format!("workloads.{name}"),
                format!(
                    "the scenario has no service `{name}`; services: {}",
                    name_list(scenario.services.iter().map(|s| s.name.as_str()))
                ),
            ));
        }
        check_workload(scenario, name, w)
            .map_err(|(f, m)| Error::at_field(file, format!("workloads.{name}.{f}"), m))?;
    }
    Ok(())
}

/// Checks one workload; returns the field (relative to the workload) and the problem.
pub fn check_workload(
    scenario: &Scenario,
    name: &str,
    w: &WorkloadConfig,
) -> std::result::Result<(), (String, String)> {
    if scenario.catalog.pool(&w.node_pool).is_none() {
        return Err((
            "node_pool".into(),
            format!(
                "no pool `{}` in the catalog; pools: {}",
                w.node_pool,
                name_list(scenario.catalog.pools.iter().map(|p| p.name.as_str()))
            ),
        ));
    }
    for (i, p) in w.also_on.iter().enumerate() {
        if scenario.catalog.pool(p).is_none() {
            return Err((
                format!("also_on[{i}]"),
                format!(
                    "no pool `{p}` in the catalog; pools: {}",
                    name_list(scenario.catalog.pools.iter().map(|p| p.name.as_str()))
                ),
            ));
        }
    }
    if let Some(refused) = scenario.refuses(w) {
        return Err(refused);
    }
    check_placement(scenario, w)?;
    check_container_names(w)?;
    if let Some(ru) = &w.rolling_update {
        check_rolling_update(ru)?;
    }
    if let Some(ts) = &w.topology_spread {
        check_topology_spread(ts)?;
    }
    if w.replicas == 0 && w.hpa.is_some() {
        return Err((
            "replicas".into(),
            "0 with an HPA: the HPA controller disables scaling while the Deployment has 0 \
             replicas (ScalingActive false, `scaling is disabled since the replica count of the \
             target is zero`), so it would never scale; expected at least 1, or no HPA"
                .into(),
        ));
    }
    let r = &w.resources;
    let service = scenario.services.iter().find(|s| s.name == name);
    for (i, sc) in w.sidecars.iter().enumerate() {
        if let Some(svc) = service {
            if !svc.profile.sidecars.iter().any(|u| u.name == sc.name) {
                return Err((
                    format!("sidecars[{i}].name"),
                    format!(
                        "the profile of `{}` has no sidecar `{}`; sidecars: {}",
                        svc.name,
                        sc.name,
                        name_list(svc.profile.sidecars.iter().map(|u| u.name.as_str()))
                    ),
                ));
            }
        }
        check_request_within_limit(&sc.resources)
            .map_err(|(f, m)| (format!("sidecars[{i}].{f}"), m))?;
    }
    for (server, pool) in &w.client_pools {
        let f = |x: &str| format!("client_pools.{server}.{x}");
        if let Some(svc) = service {
            let servers = svc.profile.servers();
            if !servers.contains(&server.as_str()) {
                return Err((
                    format!("client_pools.{server}"),
                    format!(
                        "the profile of `{}` makes no calls to `{server}`; its servers: {}",
                        svc.name,
                        name_list(servers.into_iter())
                    ),
                ));
            }
        }
        pool.resolve().map_err(|(field, m)| (f(&field), m))?;
        let speaks = crate::model::pools::Protocol::of_client(&pool.client);
        let expects = scenario.servers.get(server).and_then(|s| s.protocol);
        if let (Some(speaks), Some(expects)) = (speaks, expects) {
            if speaks != expects {
                return Err((
                    f("client"),
                    format!(
                        "`{}` speaks {}, but server `{server}` is a {} server (the scenario's servers.{server}.protocol); expected {}",
                        pool.client,
                        speaks.name(),
                        expects.name(),
                        expects.clients()
                    ),
                ));
            }
        }
    }
    for (i, ic) in w.init_containers.iter().enumerate() {
        check_request_within_limit(&ic.resources)
            .map_err(|(f, m)| (format!("init_containers[{i}].{f}"), m))?;
    }
    // The pod must fit an empty node of one of its pools (`node_pool` or `also_on`): the
    // cluster autoscaler grows whichever can hold it.
    let pools: Vec<_> = std::iter::once(&w.node_pool)
        .chain(&w.also_on)
        .filter_map(|p| scenario.catalog.pool(p))
        .collect();
    let req = w.pod_requests();
    let (cpu, mem) = (req.sched_cpu(), req.sched_memory());
    let fits = |p: &&crate::model::node_pool::NodePool| {
        let cap = p.capacity_for_pods();
        cpu <= cap.cpu_milli && mem <= cap.memory_bytes
    };
    if !pools.is_empty() && !pools.iter().any(fits) {
        let rooms: Vec<String> = pools
            .iter()
            .map(|p| {
                let cap = p.capacity_for_pods();
                let name = if pools.len() == 1 {
                    String::new()
                } else {
                    format!("`{}`: ", p.name)
                };
                format!(
                    "{name}cpu {}m, memory {}",
                    cap.cpu_milli,
                    memory_text(cap.memory_bytes)
                )
            })
            .collect();
        let (which, noun) = if pools.len() == 1 {
            (format!("pool `{}`", pools[0].name), "room for pods")
        } else {
            ("any of its pools".to_string(), "room for pods per node")
        };
        return Err((
            "resources.requests".into(),
            format!(
                "a pod requesting cpu {cpu}m / memory {} never fits a node of {which} ({noun}: {} after reservations and DaemonSets); it would stay Pending{}",
                memory_text(mem),
                rooms.join("; "),
                bare_cores_hint(r.requests.cpu)
            ),
        ));
    }
    check_request_within_limit(r)?;
    if let Some(h) = &w.hpa {
        let spec = crate::sim::hpa_bridge::to_spec(h).map_err(|(f, m)| {
            if f.is_empty() {
                // The API validation message starts with the field it is about.
                match m.split([' ', ':']).next().filter(|w| {
                    w.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                        && w.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "._[]".contains(c))
                }) {
                    Some(field) => (format!("hpa.{field}"), m),
                    None => ("hpa".to_string(), m),
                }
            } else {
                (format!("hpa.{f}"), m)
            }
        })?;
        for (i, m) in spec.metrics.iter().enumerate() {
            if let crate::k8s::hpa::MetricSpec::ContainerResource(res) = m {
                check_container_metric(name, w, res)
                    .map_err(|m| (format!("hpa.metrics[{i}].containerResource.container"), m))?;
            }
        }
    } else if w.replicas == 0 {
        return Err((
            "replicas".into(),
            "must be at least 1 without an HPA".into(),
        ));
    }
    Ok(())
}

/// A `ContainerResource` metric names a container of the pod (the app, named like the
/// workload, or a sidecar), and a Utilization target needs that container's request.
fn check_container_metric(
    name: &str,
    w: &WorkloadConfig,
    m: &crate::k8s::hpa::spec::ContainerResourceMetricSource,
) -> std::result::Result<(), String> {
    let resources = if m.container == name {
        &w.resources
    } else {
        match w.sidecars.iter().find(|s| s.name == m.container) {
            Some(s) => &s.resources,
            None => {
                return Err(format!(
                "`{}` is not a container of the pod; expected {name} (the app) or a sidecar ({})",
                m.container,
                if w.sidecars.is_empty() {
                    "it has none".to_string()
                } else {
                    name_list(w.sidecars.iter().map(|s| s.name.as_str()))
                }
            ))
            }
        }
    };
    let (cpu, memory) = resources.effective_request_values();
    let request = match m.name {
        crate::k8s::hpa::ResourceName::Cpu => cpu,
        crate::k8s::hpa::ResourceName::Memory => memory,
    };
    if matches!(m.target, crate::k8s::hpa::MetricTarget::Utilization(_))
        && request.is_none_or(|r| r == 0)
    {
        return Err(format!(
            "a {} Utilization target on container `{}` needs its non-zero {} request (without one the HPA reports `missing request for {}` and never scales)",
            m.name, m.container, m.name, m.name
        ));
    }
    Ok(())
}

/// Whether the workload's pool agrees with the scenario's placement rules (the first rule that
/// matches its pod memory request, as admitted, decides).
pub fn check_placement(
    scenario: &Scenario,
    w: &WorkloadConfig,
) -> std::result::Result<(), (String, String)> {
    let memory = scenario.admitted_workload(w).pod_requests().sched_memory();
    if let Some((i, rule)) = scenario
        .placement
        .iter()
        .enumerate()
        .find(|(_, r)| r.matches(memory))
    {
        if rule.pool != w.node_pool {
            return Err((
                "node_pool".into(),
                format!(
                    "pods requesting {} of memory must run on pool `{}` (the scenario's `placement[{i}]`), not `{}`",
                    crate::quantity::Bytes(memory).with_unit(),
                    rule.pool,
                    w.node_pool
                ),
            ));
        }
        if let Some((j, other)) = w.also_on.iter().enumerate().find(|(_, p)| **p != rule.pool) {
            return Err((
                format!("also_on[{j}]"),
                format!(
                    "pods requesting {} of memory must run on pool `{}` (the scenario's `placement[{i}]`), not also on `{other}`",
                    crate::quantity::Bytes(memory).with_unit(),
                    rule.pool
                ),
            ));
        }
    }
    Ok(())
}

/// Container names as the API server checks them: none empty, none repeated among the pod's
/// sidecars and init containers.
fn check_container_names(w: &WorkloadConfig) -> std::result::Result<(), (String, String)> {
    let names = w
        .sidecars
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("sidecars[{i}].name"), c.name.as_str()))
        .chain(
            w.init_containers
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("init_containers[{i}].name"), c.name.as_str())),
        );
    let mut seen: Vec<(String, &str)> = Vec::new();
    for (field, name) in names {
        if name.trim().is_empty() {
            return Err((
                field,
                "empty: the API server requires a container name; expected a DNS-1123 label \
                 (e.g. log-shipper)"
                    .into(),
            ));
        }
        if let Some((first, _)) = seen.iter().find(|(_, n)| *n == name) {
            return Err((
                field,
                format!(
                    "duplicate container name `{name}` (also {first}): the API server rejects a \
                     pod whose containers share a name; expected distinct names"
                ),
            ));
        }
        seen.push((field, name));
    }
    Ok(())
}

/// The Deployment's rolling update as the API server validates it: `maxUnavailable` at most
/// 100 %, and not both 0.
fn check_rolling_update(
    ru: &crate::model::config::RollingUpdateConfig,
) -> std::result::Result<(), (String, String)> {
    use crate::model::config::IntOrPercent;
    for (name, v) in [
        ("maxSurge", ru.max_surge),
        ("maxUnavailable", ru.max_unavailable),
    ] {
        let n = match v {
            IntOrPercent::Count(n) | IntOrPercent::Percent(n) => n,
        };
        if i32::try_from(n).is_err() {
            return Err((
                format!("rolling_update.{name}"),
                format!(
                    "{n} is beyond the API's int32; expected at most {}",
                    i32::MAX
                ),
            ));
        }
    }
    if let IntOrPercent::Percent(p) = ru.max_unavailable {
        if p > 100 {
            return Err((
                "rolling_update.maxUnavailable".into(),
                format!("{p}% must not be greater than 100%; expected a percent of at most 100% or a pod count"),
            ));
        }
    }
    let zero = |v: IntOrPercent| matches!(v, IntOrPercent::Count(0) | IntOrPercent::Percent(0));
    if zero(ru.max_surge) && zero(ru.max_unavailable) {
        return Err((
            "rolling_update.maxUnavailable".into(),
            "may not be 0 when maxSurge is 0 (the rollout could never replace a pod); expected \
             maxSurge or maxUnavailable of at least 1"
                .into(),
        ));
    }
    Ok(())
}

/// The API server's rules for a spread constraint: `maxSkew` and `minDomains` at least 1,
/// within int32.
fn check_topology_spread(
    ts: &crate::model::config::TopologySpreadConfig,
) -> std::result::Result<(), (String, String)> {
    for (name, v) in [
        ("max_skew", Some(ts.max_skew)),
        ("min_domains", ts.min_domains),
    ] {
        if let Some(v) = v {
            if v == 0 || i32::try_from(v).is_err() {
                return Err((
                    format!("topology_spread.{name}"),
                    format!("{v}: expected a whole number from 1 to {}", i32::MAX),
                ));
            }
        }
    }
    Ok(())
}

/// A request above its limit, as the API server refuses it.
fn check_request_within_limit(
    r: &crate::model::config::Resources,
) -> std::result::Result<(), (String, String)> {
    if let (Some(req), Some(lim)) = (r.requests.cpu, r.limits.cpu) {
        if req > lim {
            return Err((
                "resources.requests.cpu".into(),
                format!("request {req} exceeds the limit {lim}"),
            ));
        }
    }
    if let (Some(req), Some(lim)) = (r.requests.memory, r.limits.memory) {
        if req > lim {
            return Err((
                "resources.requests.memory".into(),
                format!("request {req} exceeds the limit {lim}"),
            ));
        }
    }
    Ok(())
}

/// The space's `client_pools`: each server is one the workload's baseline pools talk to, and
/// each setting is one its client has.
fn check_space_pools(scenario: &Scenario, file: &str) -> Result<()> {
    let s = &scenario.space;
    let pools = scenario
        .baseline
        .workloads
        .get(&s.workload)
        .map(|w| &w.client_pools);
    for (server, axes) in &s.client_pools {
        let field = |x: &str| format!("client_pools.{server}{x}");
        let Some(pool) = pools.and_then(|p| p.get(server)) else {
            return Err(Error::at_field(
                file,
                field(""),
                format!(
                    "the baseline's `{}` has no client pool toward `{server}` for the space to \
                     size; its pools: {}. Give the baseline that pool (manifests carry it in a \
                     `{}-client-pools` ConfigMap with the costsim.io/client-pools annotation, as \
                     `emit` writes it), or leave `client_pools.{server}` out of the space",
                    s.workload,
                    name_list(pools.into_iter().flat_map(|p| p.keys().map(String::as_str))),
                    s.workload
                ),
            ));
        };
        let redis = pool.client == "redis-py";
        let wrong = if redis && !axes.min_size.is_empty() {
            Some((".min_size", "redis-py pools have no minimum size"))
        } else if !redis && !axes.blocking.is_empty() {
            Some((
                ".blocking",
                "pymongo/motor pools always wait for a connection; vary `timeout` instead",
            ))
        } else {
            None
        };
        if let Some((f, why)) = wrong {
            return Err(Error::at_field(file, field(f), why));
        }
    }
    Ok(())
}

/// Checks the scenario's space (read from `file`): its workload exists, no list is empty and
/// its pool settings fit the workload's clients.
pub fn check_space(scenario: &Scenario, file: &str) -> Result<()> {
    let s = &scenario.space;
    if scenario.service_index(&s.workload).is_none() {
        return Err(Error::at_field(
            file,
            "workload",
            format!("no service `{}` in the scenario", s.workload),
        ));
    }
    check_space_pools(scenario, file)?;
    let g = &s.grid;
    let lists = [
        ("grid.cpu_request", g.cpu_request.len()),
        ("grid.memory_request", g.memory_request.len()),
        ("grid.cpu_limit", g.cpu_limit.len()),
        ("grid.memory_limit", g.memory_limit.len()),
        ("grid.min_replicas", g.min_replicas.len()),
        ("grid.max_replicas", g.max_replicas.len()),
        (
            "grid.target_cpu_utilization",
            g.target_cpu_utilization.len(),
        ),
        ("grid.node_pool", g.node_pool.len()),
    ];
    for (f, n) in lists {
        if n == 0 {
            return Err(Error::at_field(file, f, "must list at least one value"));
        }
    }
    if crate::search::space::grid_size(s).is_none() {
        return Err(Error::at_field(
            file,
            "grid",
            format!(
                "its lists give {} points, more than the {} a grid can index; expected \
                 shorter lists",
                crate::search::space::grid_shape(s),
                usize::MAX
            ),
        ));
    }
    for (i, p) in g.node_pool.iter().enumerate() {
        if scenario.catalog.pool(p).is_none() {
            return Err(Error::at_field(
                file,
                format!("grid.node_pool[{i}]"),
                format!(
                    "no pool `{p}` in the catalog; pools: {}",
                    name_list(scenario.catalog.pools.iter().map(|p| p.name.as_str()))
                ),
            ));
        }
    }
    // A ratio limit is ratio × request: beyond the largest quantity it saturated (`1e308x`
    // gave a CPU limit of 9223372036854775807m) or, for memory rounded to MiB, overflowed to a
    // negative limit reported as "below its request".
    let largest_cpu = g.cpu_request.iter().map(|c| c.0).max().unwrap_or(0);
    let largest_memory = g.memory_request.iter().map(|m| m.0).max().unwrap_or(0);
    let ratios = |limits: Vec<Option<f64>>, largest: i64, field: &str, shown: String, most: i64| {
        for (i, r) in limits.iter().enumerate() {
            let Some(r) = r else { continue };
            if largest as f64 * r > most as f64 {
                return Err(Error::at_field(
                    file,
                    format!("grid.{field}[{i}]"),
                    format!(
                        "`{}x` of the largest {} ({shown}) is beyond the largest quantity \
                         Kubernetes takes; expected a ratio such as 2x",
                        if *r >= 1e6 {
                            format!("{r:e}")
                        } else {
                            r.to_string()
                        },
                        field.replace("limit", "request")
                    ),
                ));
            }
        }
        Ok(())
    };
    fn ratio_of<T>(l: &crate::model::space::LimitChoice<T>) -> Option<f64> {
        match l {
            crate::model::space::LimitChoice::Rule(crate::model::space::LimitRule::Ratio(r)) => {
                Some(*r)
            }
            _ => None,
        }
    }
    ratios(
        g.cpu_limit.iter().map(ratio_of).collect(),
        largest_cpu,
        "cpu_limit",
        format!("{largest_cpu}m"),
        i64::MAX,
    )?;
    ratios(
        g.memory_limit.iter().map(ratio_of).collect(),
        largest_memory,
        "memory_limit",
        crate::quantity::Bytes(largest_memory).with_unit(),
        // The limit is rounded to whole MiB.
        i64::MAX - 1_048_576,
    )?;
    // Every candidate gets a CPU Utilization HPA (grid.target_cpu_utilization), which needs a
    // non-zero CPU request, as check_workload requires of a config.
    if let Some(i) = g.cpu_request.iter().position(|c| c.0 == 0) {
        return Err(Error::at_field(
            file,
            format!("grid.cpu_request[{i}]"),
            "0: every candidate has a cpu Utilization HPA, which needs a non-zero cpu request \
             (utilization is usage / request; the HPA reports `missing request for cpu` and \
             never scales); expected a request above 0 such as 250m",
        ));
    }
    // A 0 memory request with a ratio limit (`2x`) is a limit of 0 bytes: every pod would be
    // OOM-killed at start.
    if let (Some(i), true) = (
        g.memory_request.iter().position(|m| m.0 == 0),
        g.memory_limit.iter().any(|l| {
            matches!(
                l,
                crate::model::space::LimitChoice::Rule(crate::model::space::LimitRule::Ratio(_))
            )
        }),
    ) {
        return Err(Error::at_field(
            file,
            format!("grid.memory_request[{i}]"),
            "0 with a ratio memory_limit (e.g. 2x): the limit would be 0 bytes and every pod \
             OOM-killed; expected a request above 0 such as 512Mi",
        ));
    }
    let largest_max = g.max_replicas.iter().copied().max().unwrap_or(0);
    if g.min_replicas.iter().all(|&m| m > largest_max) {
        return Err(Error::at_field(
            file,
            "grid.min_replicas",
            format!(
                "every min_replicas exceeds every max_replicas (largest {largest_max}): the space has no valid candidate"
            ),
        ));
    }
    for (i, &m) in g.min_replicas.iter().enumerate() {
        if m < 1 {
            return Err(Error::at_field(
                file,
                format!("grid.min_replicas[{i}]"),
                "must be at least 1",
            ));
        }
    }
    let floor = scenario
        .services
        .iter()
        .find(|sv| sv.name == s.workload)
        .map_or(1, |sv| sv.min_replicas);
    for (i, &m) in g.min_replicas.iter().enumerate() {
        if i64::from(m) < i64::from(floor) {
            return Err(Error::at_field(
                file,
                format!("grid.min_replicas[{i}]"),
                format!(
                    "{m} is below `{}`'s availability floor of {floor} (the scenario's \
                     `min_replicas`): every such candidate would be infeasible; expected at least {floor}",
                    s.workload
                ),
            ));
        }
    }
    for (i, &t) in g.target_cpu_utilization.iter().enumerate() {
        if t < 1 {
            return Err(Error::at_field(
                file,
                format!("grid.target_cpu_utilization[{i}]"),
                "must be at least 1 (percent)",
            ));
        }
    }
    if !crate::search::space::has_valid_point(s) {
        return Err(Error::at_field(
            file,
            "grid",
            "the space has no valid candidate: every combination sets a limit below its request \
             (check grid.cpu_limit / grid.memory_limit against grid.cpu_request / grid.memory_request)",
        ));
    }
    Ok(())
}

/// Names for an error message: `` `a`, `b`, `c` ``, or `none`; each name once, in the order
/// of its first occurrence.
pub fn name_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let list = names
        .filter(|n| seen.insert(*n))
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if list.is_empty() {
        "none".into()
    } else {
        list
    }
}

/// What a configuration does that Kubernetes accepts but that is almost surely a mistake, one
/// warning each (field path first): [`suspicious_quantities`] and [`invalid_hpa_metrics`].
/// The HPA's requests are the pods' as admitted under `limit_range` (the workloads'
/// namespace LimitRange, if any).
pub fn warnings(
    config: &Config,
    text: Option<&str>,
    limit_range: Option<&crate::model::node_pool::LimitRangeDefaults>,
) -> Vec<String> {
    let mut out = suspicious_quantities(config, text);
    out.extend(invalid_hpa_metrics(&crate::model::scenario::admitted(
        limit_range,
        config,
    )));
    out
}

/// Every warning about a baseline or a `--config`, however it was read (a config file, whose
/// `text` gives the lines, or manifests): [`warnings`] and [`outlasting_init_containers`].
pub fn config_notes(
    config: &Config,
    text: Option<&str>,
    limit_range: Option<&crate::model::node_pool::LimitRangeDefaults>,
    horizon: crate::time::Millis,
) -> Vec<String> {
    let mut out = warnings(config, text, limit_range);
    out.extend(outlasting_init_containers(config, horizon));
    out
}

/// Init containers that run longer than the simulated `horizon`: a pod started during the run
/// (a scale-up, a restart, a rollout) never gets past them, which is almost surely a unit slip
/// (`20m` for `20s`). Kubernetes takes any duration, so these are warnings, naming the field
/// as the scenario's delay notes do.
pub fn outlasting_init_containers(config: &Config, horizon: crate::time::Millis) -> Vec<String> {
    let fmt = crate::time::format_duration;
    let mut out = Vec::new();
    for (name, w) in &config.workloads {
        for (i, c) in w.init_containers.iter().enumerate() {
            if c.duration > horizon {
                out.push(format!(
                    "workloads.{name}.init_containers[{i}].duration: {} is longer than the \
                     simulated horizon ({}): a pod started during the run never gets past it; \
                     expected a duration well inside it (a unit slip, `m` for `s`?)",
                    fmt(c.duration),
                    fmt(horizon)
                ));
            }
        }
    }
    out
}

/// HPA Utilization targets of a resource the pods do not request: the API server accepts
/// them, the controller reports `missing request for …` on every sync. Alone such a metric
/// never scales; beside valid ones the others still scale up but no scale-down ever happens
/// (upstream `TestScaleUpOneMetricInvalid`, `TestNoScaleDownOneMetricInvalid`). The
/// simulation runs them so; this says why.
pub fn invalid_hpa_metrics(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for (name, w) in &config.workloads {
        let Some(spec) = w
            .hpa
            .as_ref()
            .and_then(|h| crate::sim::hpa_bridge::to_spec(h).ok())
        else {
            continue;
        };
        let pod = w.pod_requests();
        for (i, m) in spec.metrics.iter().enumerate() {
            let crate::k8s::hpa::MetricSpec::Resource(res) = m else {
                continue;
            };
            let utilization = matches!(res.target, crate::k8s::hpa::MetricTarget::Utilization(_));
            let missing = match res.name {
                crate::k8s::hpa::ResourceName::Cpu => pod.cpu_milli.is_none_or(|c| c == 0),
                crate::k8s::hpa::ResourceName::Memory => pod.memory_bytes.is_none_or(|m| m == 0),
            };
            if !(utilization && missing) {
                continue;
            }
            let effect = if spec.metrics.len() > 1 {
                "the metric is invalid: the other metrics still scale up, but no scale-down ever happens"
            } else {
                "it never scales"
            };
            out.push(format!(
                "workloads.{name}.hpa.metrics[{i}]: a {r} Utilization target needs a non-zero {r} request in every container (utilization is usage / request; without one the HPA reports `missing request for {r}` and {effect}); set resources.requests.{r}",
                r = res.name
            ));
        }
    }
    out
}

/// Quantities of a configuration that parse but are almost surely typos (field case
/// "Quantity strings people get wrong"): memory below 1Mi (`memory: 512` is 512 bytes),
/// memory written with the milli suffix (`128974848000m` is 128974848 bytes; `m` is 1/1000,
/// not mega), and CPU written as a bare number of 100 cores or more (`cpu: 250`, `1e3`: cores,
/// where millicores were meant). `text` is the configuration's YAML, for the `m` check and
/// the line numbers; each warning names the field path.
pub fn suspicious_quantities(config: &Config, text: Option<&str>) -> Vec<String> {
    const MI: i64 = 1 << 20;
    let mut out = Vec::new();
    for (name, w) in &config.workloads {
        let mut lists: Vec<(String, &crate::model::config::ResourceList)> = vec![
            (
                format!("workloads.{name}.resources.requests"),
                &w.resources.requests,
            ),
            (
                format!("workloads.{name}.resources.limits"),
                &w.resources.limits,
            ),
        ];
        for (i, s) in w.sidecars.iter().enumerate() {
            lists.push((
                format!("workloads.{name}.sidecars[{i}].resources.requests"),
                &s.resources.requests,
            ));
            lists.push((
                format!("workloads.{name}.sidecars[{i}].resources.limits"),
                &s.resources.limits,
            ));
        }
        for (i, c) in w.init_containers.iter().enumerate() {
            lists.push((
                format!("workloads.{name}.init_containers[{i}].resources.requests"),
                &c.resources.requests,
            ));
            lists.push((
                format!("workloads.{name}.init_containers[{i}].resources.limits"),
                &c.resources.limits,
            ));
        }
        for (path, l) in lists {
            if let Some(m) = l.memory.filter(|m| m.0 > 0 && m.0 < MI) {
                out.push(format!(
                    "{path}.memory is {} bytes, below 1Mi: a unit left out? (did you mean {}Mi or {}M?)",
                    m.0, m.0, m.0
                ));
            }
            if let Some(c) = l.cpu.filter(|c| c.0 >= 100_000 && c.0 % 1000 == 0) {
                let cores = c.0 / 1000;
                out.push(format!(
                    "{path}.cpu is {cores} cores (a bare number counts cores): did you mean {cores}m?"
                ));
            }
        }
        if let Some(h) = &w.hpa {
            for (i, m) in h.metrics.iter().enumerate() {
                let (source, resource, target) = match (&m.resource, &m.container_resource) {
                    (Some(r), _) => ("resource", &r.name, &r.target),
                    (None, Some(c)) => ("containerResource", &c.name, &c.target),
                    _ => continue,
                };
                let Some(v) = &target.average_value else {
                    continue;
                };
                if resource == "memory" && !v.is_zero() && v.to_f64() < MI as f64 {
                    out.push(format!(
                        "workloads.{name}.hpa.metrics[{i}].{source}.target.averageValue is {} bytes of memory per pod, below 1Mi: did you mean {}Mi?",
                        v.to_decimal_string(),
                        v.to_decimal_string()
                    ));
                }
            }
            let directions = h.behavior.as_ref().map(|b| {
                [
                    ("scaleUp", b.scale_up.as_ref()),
                    ("scaleDown", b.scale_down.as_ref()),
                ]
            });
            for (dir, rules) in directions.into_iter().flatten() {
                let Some(t) = rules.and_then(|r| r.tolerance.as_ref()) else {
                    continue;
                };
                let v = t.to_f64();
                if v >= 1.0 {
                    out.push(format!(
                        "workloads.{name}.hpa.behavior.{dir}.tolerance is {} ({:.0} % of the target): a tolerance is a fraction{}; did you mean {}?",
                        t.to_decimal_string(),
                        v * 100.0,
                        if dir == "scaleDown" {
                            " (at 1 or more the HPA never scales down)"
                        } else {
                            ""
                        },
                        v / 100.0
                    ));
                }
            }
        }
    }
    if let Some(text) = text {
        for (i, line) in text.lines().enumerate() {
            for warning in memory_values(line).into_iter().filter_map(milli_memory) {
                out.push(format!("line {}: {warning}", i + 1));
            }
        }
    }
    out
}

/// The warning for a memory quantity as written, `value`, that uses the milli suffix
/// (`536870912000m` is 536870912 bytes: `m` is 1/1000, not mega); `None` for any other.
pub fn milli_memory(value: &str) -> Option<String> {
    let q = crate::quantity::Quantity::parse(value).ok()?;
    (value.ends_with('m') && q.is_integer()).then(|| {
        format!(
            "memory {value:?} uses `m` (milli, 1/1000): it is {0} bytes; write it as {0} or use M / Mi",
            q.to_decimal_string()
        )
    })
}

/// For a CPU request of whole cores that cannot fit: the hint that a bare number counts cores.
fn bare_cores_hint(cpu: Option<crate::quantity::MilliCpu>) -> String {
    match cpu {
        Some(c) if c.0 >= 100_000 && c.0 % 1000 == 0 => format!(
            " (resources.requests.cpu {0} is {0} cores: a bare number counts cores; did you mean {0}m?)",
            c.0 / 1000
        ),
        _ => String::new(),
    }
}

/// The values of `memory:` keys on one YAML line (block or flow style), unquoted.
fn memory_values(line: &str) -> Vec<&str> {
    let code = line.split(" #").next().unwrap_or(line);
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = code[from..].find("memory:") {
        let at = from + pos;
        let before = code[..at].chars().next_back();
        from = at + "memory:".len();
        if !before.is_none_or(|c| c == ' ' || c == '{' || c == ',') {
            continue;
        }
        let rest = code[from..].trim_start();
        let rest = rest.trim_start_matches(['"', '\'']);
        let end = rest
            .find(|c: char| c == ',' || c == '}' || c == '"' || c == '\'' || c.is_whitespace())
            .unwrap_or(rest.len());
        if end > 0 {
            out.push(&rest[..end]);
        }
    }
    out
}

/// A memory amount as `kubectl` writes it (binary units, e.g. `2340340Ki`), with its bytes.
fn memory_text(bytes: i64) -> String {
    let q = crate::quantity::Quantity::from_int(bytes, crate::quantity::QuantityFormat::BinarySI);
    format!("{} ({bytes} bytes)", q.canonical())
}
