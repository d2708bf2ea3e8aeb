//! Building a [`Scenario`] from its files: read every referenced file, check it, read the
//! traces, and derive the simulation step and horizon.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ingest::traffic::{self, RateCsvOptions, RequestLogOptions};
use crate::model::config::Config;
use crate::model::load::{from_yaml_str, resolve, Files};
use crate::model::node_pool::NodePoolCatalog;
use crate::model::scenario::{ClassInput, Scenario, ScenarioFile, Service, TrafficSource};
use crate::model::service::ServiceProfile;
use crate::model::space::Space;
use crate::model::validate::{check_config, name_list};
use crate::sim::fluid::reduce_atoms;
use crate::time::{Millis, SECOND};

/// Atoms kept of an external-wait distribution read from a request log.
const EXTERNAL_ATOMS: usize = 64;

/// Loaded traffic sources by name.
enum Loaded {
    Rate(Arc<traffic::RateSeries>),
    Log(traffic::RequestLog),
}

/// The series averaged over blocks of `window` (the arrival rate), re-binned to the block
/// width, and the index of dispersion of the counts inside the blocks (variance / mean: the
/// arrivals' burstiness, 1 for Poisson). A window of 0 or of one bin keeps the series and
/// reports Poisson burstiness; a window that is not a whole number of bins, or longer than the
/// series, keeps the bins (a scenario cannot ask for one: [`check_smoothing`] rejects it). A
/// last block shorter than the window is left out (counted as a whole block it would add
/// requests the trace does not hold, and run the simulation past the trace's end).
pub fn block_average(series: &traffic::RateSeries, window: Millis) -> (traffic::RateSeries, f64) {
    let bin_ms = Millis::from(series.bin_s) * SECOND;
    let w = (window / bin_ms.max(1)) as usize;
    if w <= 1 || window % bin_ms.max(1) != 0 || series.counts.len() < w {
        return (series.clone(), 1.0);
    }
    let (mut num, mut den) = (0.0, 0.0);
    let mut counts = Vec::with_capacity(series.counts.len() / w + 1);
    for block in series.counts.chunks_exact(w) {
        let sum = block.iter().sum::<f64>();
        let mean = sum / block.len() as f64;
        num += block.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
        den += sum;
        counts.push(mean * w as f64);
    }
    let idc = if den > 0.0 { num / den } else { 1.0 };
    let out = traffic::RateSeries {
        source: series.source.clone(),
        start_unix_s: series.start_unix_s,
        bin_s: series.bin_s * w as u32,
        counts,
        gaps: series.gaps.clone(),
    };
    (out, idc)
}

fn smoothed(
    cache: &mut BTreeMap<(String, Millis), (Arc<traffic::RateSeries>, f64)>,
    name: &str,
    series: &Arc<traffic::RateSeries>,
    window: Millis,
) -> (Arc<traffic::RateSeries>, f64) {
    cache
        .entry((name.to_string(), window))
        .or_insert_with(|| {
            let (s, idc) = block_average(series, window);
            (Arc::new(s), idc)
        })
        .clone()
}

/// The time a rate series covers.
fn span_of(series: &traffic::RateSeries) -> Millis {
    series.counts.len() as Millis * Millis::from(series.bin_s) * SECOND
}

/// A smoothing window [`block_average`] can apply to `series` (the traffic source `name`): 0
/// (as recorded), or whole seconds, a whole number of the trace's bins and no longer than the
/// trace. Any other window would silently keep the bins as recorded.
fn check_smoothing(
    series: &traffic::RateSeries,
    name: &str,
    window: Millis,
) -> std::result::Result<(), String> {
    if window == 0 {
        return Ok(());
    }
    let fmt = crate::time::format_duration;
    let bin = Millis::from(series.bin_s) * SECOND;
    if window % SECOND != 0 {
        return Err(format!(
            "{} is not a whole number of seconds; expected whole seconds such as 60s (or 0s to \
             replay the bins as recorded)",
            fmt(window)
        ));
    }
    if bin > 0 && window % bin != 0 {
        return Err(format!(
            "{} is not a whole number of the bins of traffic `{name}` ({} each); expected a \
             multiple of {}",
            fmt(window),
            fmt(bin),
            fmt(bin)
        ));
    }
    let span = span_of(series);
    if window > span {
        return Err(format!(
            "{} is longer than traffic `{name}`, which spans {}; expected at most {} (or 0s to \
             replay the bins as recorded)",
            fmt(window),
            fmt(span),
            fmt(span)
        ));
    }
    Ok(())
}

/// A service name: a DNS-1123 label (lowercase letters, digits and `-`, starting and ending
/// with a letter or digit, at most 63 characters), as Kubernetes requires of the Deployment,
/// Service and HPA `emit` names after it, and safe as a file name.
fn check_service_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        return Ok(());
    }
    Err(format!(
        "{name:?} is not a DNS-1123 label; expected at most 63 lowercase letters, digits or \
         '-', starting and ending with a letter or digit (e.g. my-backend), as Kubernetes \
         requires of the Deployment named after it"
    ))
}

fn gcd(a: Millis, b: Millis) -> Millis {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn yaml<T: serde::de::DeserializeOwned>(files: Files, path: &Path) -> Result<(T, String)> {
    let text = files.read(path)?;
    let label = files.label(path);
    Ok((from_yaml_str(&text, &label)?, label))
}

/// Reads a file the scenario references; a file that cannot be read is reported at the
/// scenario's field that names it, with the path tried.
fn read_ref(files: Files, path: &Path, scenario: &str, field: &str) -> Result<String> {
    files.read(path).map_err(|e| match e {
        Error::Input {
            location: None,
            message,
            file,
        } if message.starts_with("cannot read") => Error::at_field(
            scenario,
            field,
            format!(
                "{file}: {message} (a relative path in a scenario is taken from the scenario \
                 file's folder: a copied scenario needs its paths adjusted)"
            ),
        ),
        Error::Input {
            location: None,
            message,
            file,
        } if message.starts_with("not part of") => {
            Error::at_field(scenario, field, format!("{file}: {message}"))
        }
        other => other,
    })
}

/// Like [`yaml`], for a file the scenario references at `field`.
fn yaml_ref<T: serde::de::DeserializeOwned>(
    files: Files,
    path: &Path,
    scenario: &str,
    field: &str,
) -> Result<(T, String)> {
    let text = read_ref(files, path, scenario, field)?;
    let label = files.label(path);
    Ok((from_yaml_str(&text, &label)?, label))
}

/// Reads the scenario at `path` (through `files`) and everything it references.
pub fn load_scenario(files: Files, path: &Path) -> Result<Scenario> {
    let (file, label): (ScenarioFile, String) = yaml(files, path)?;
    let dir = path.parent().unwrap_or(Path::new(""));

    // Traffic sources.
    let mut loaded: BTreeMap<String, Loaded> = BTreeMap::new();
    let mut notes = Vec::new();
    for (name, src) in &file.traffic {
        match src {
            TrafficSource::RateCsv {
                path: p,
                timestamp_column,
                count_column,
                gaps,
            } => {
                let fp = resolve(dir, p);
                let text = read_ref(files, &fp, &label, &format!("traffic.{name}.path"))?;
                let opts = RateCsvOptions {
                    timestamp_column: timestamp_column.clone(),
                    count_column: count_column.clone(),
                    gaps: *gaps,
                };
                let series = traffic::parse_rate_csv(&text, &files.label(&fp), &opts)?;
                for g in &series.gaps {
                    notes.push(format!(
                        "traffic `{name}`: gap of {} bins after line {} (unix {}) filled with zeros",
                        g.missing_bins, g.after_line, g.from_unix_s
                    ));
                }
                loaded.insert(name.clone(), Loaded::Rate(Arc::new(series)));
            }
            TrafficSource::RequestLog {
                path: p,
                timestamp_column,
                context_tokens_column,
                generated_tokens_column,
            } => {
                let fp = resolve(dir, p);
                let text = read_ref(files, &fp, &label, &format!("traffic.{name}.path"))?;
                let opts = RequestLogOptions {
                    timestamp_column: timestamp_column.clone(),
                    context_tokens_column: context_tokens_column.clone(),
                    generated_tokens_column: generated_tokens_column.clone(),
                };
                let log = traffic::parse_request_log(&text, &files.label(&fp), &opts)?;
                if log.arrival_offsets_ms.len() < 2 || !log.interarrival_scv().is_finite() {
                    return Err(Error::at_line(
                        files.label(&fp),
                        log.arrival_offsets_ms.len() as u64 + 1,
                        "a request log needs at least two requests at distinct times to measure its burstiness",
                    ));
                }
                loaded.insert(name.clone(), Loaded::Log(log));
            }
        }
    }

    // Services.
    let mut services = Vec::with_capacity(file.services.len());
    let mut smoothed_cache: BTreeMap<(String, Millis), (Arc<traffic::RateSeries>, f64)> =
        BTreeMap::new();
    // (service, traffic source) of every service with traffic, for the horizon's note.
    let mut sources: Vec<(String, String)> = Vec::new();
    // (index in the scenario's services, profile file) of every service, for the delays' notes.
    let mut profile_files: Vec<(usize, String)> = Vec::new();
    for (i, sref) in file.services.iter().enumerate() {
        let field = |f: &str| format!("services[{i}].{f}");
        let (profile, plabel): (ServiceProfile, String) = yaml_ref(
            files,
            &resolve(dir, &sref.profile),
            &label,
            &field("profile"),
        )?;
        profile
            .validate()
            .map_err(|(f, m)| Error::at_field(&plabel, f, m))?;
        profile_files.push((i, plabel.clone()));
        check_service_name(&sref.name).map_err(|m| Error::at_field(&label, field("name"), m))?;
        if services.iter().any(|s: &Service| s.name == sref.name) {
            return Err(Error::at_field(
                &label,
                field("name"),
                format!("duplicate service `{}`", sref.name),
            ));
        }
        let min_replicas = match sref.min_replicas {
            Some(0) => {
                return Err(Error::at_field(
                    &label,
                    field("min_replicas"),
                    "0 is no availability floor; expected at least 1 (or leave it out)",
                ))
            }
            Some(n) => n,
            None => 1,
        };
        let t = &sref.traffic;
        if !(t.scale.is_finite() && t.scale >= 0.0) {
            return Err(Error::at_field(
                &label,
                field("traffic.scale"),
                "must be a non-negative number",
            ));
        }
        let mut rate_scv = 1.0;
        // The largest bin of the trace as recorded (before smoothing): `traffic.scale` is
        // bounded by it.
        let mut trace_peak = 0.0;
        let rate = match (&t.source, t.downstream_only) {
            (Some(s), false) => match loaded.get(s) {
                Some(Loaded::Rate(r)) => {
                    trace_peak = r.max_count();
                    check_smoothing(r, s, t.smoothing)
                        .map_err(|m| Error::at_field(&label, field("traffic.smoothing"), m))?;
                    sources.push((sref.name.clone(), s.clone()));
                    let (series, scv) = smoothed(&mut smoothed_cache, s, r, t.smoothing);
                    rate_scv = scv;
                    Some(series)
                }
                Some(Loaded::Log(log)) => {
                    let r = Arc::new(log.to_rate_series(1));
                    trace_peak = r.max_count();
                    check_smoothing(&r, s, t.smoothing)
                        .map_err(|m| Error::at_field(&label, field("traffic.smoothing"), m))?;
                    sources.push((sref.name.clone(), s.clone()));
                    let (series, scv) = smoothed(&mut smoothed_cache, s, &r, t.smoothing);
                    rate_scv = scv;
                    Some(series)
                }
                None => {
                    return Err(Error::at_field(
                        &label,
                        field("traffic.source"),
                        format!(
                            "no traffic source named `{s}`; defined: {:?}",
                            loaded.keys().collect::<Vec<_>>()
                        ),
                    ))
                }
            },
            (None, true) => None,
            (Some(_), true) => {
                return Err(Error::at_field(
                    &label,
                    field("traffic"),
                    "a downstream-only service takes no `source`",
                ))
            }
            (None, false) => {
                return Err(Error::at_field(
                    &label,
                    field("traffic.source"),
                    "missing: name a rate_csv traffic source, or set downstream_only: true",
                ))
            }
        };
        if t.scale * trace_peak > traffic::MAX_COUNT {
            return Err(Error::at_field(
                &label,
                field("traffic.scale"),
                format!(
                    "{:?} is too large for this trace: its largest bin holds {trace_peak} \
                     requests and a scaled bin may hold at most {:e}; expected at most {}",
                    t.scale,
                    traffic::MAX_COUNT,
                    traffic::MAX_COUNT / trace_peak
                ),
            ));
        }
        let mut classes = Vec::with_capacity(profile.classes.len());
        for c in &profile.classes {
            let mut input = ClassInput {
                arrival_scv: rate_scv,
                external_s: Vec::new(),
            };
            if let Some(src) = t.class_logs.get(&c.name) {
                let Some(Loaded::Log(log)) = loaded.get(src) else {
                    return Err(Error::at_field(
                        &label,
                        field(&format!("traffic.class_logs.{}", c.name)),
                        format!("`{src}` is not a request_log traffic source"),
                    ));
                };
                input.arrival_scv = log.interarrival_scv();
                if let Some(ext) = &c.external {
                    // A token column the log lacks cannot price its tokens: without this, a
                    // log with no token columns gave the class no external wait at all (not
                    // even `first_token`).
                    for (tokens, per_token, what, option, default) in [
                        (
                            &log.context_tokens,
                            ext.per_context_token_us,
                            "per_context_token_us",
                            "context_tokens_column",
                            "ContextTokens",
                        ),
                        (
                            &log.generated_tokens,
                            ext.per_generated_token_ms,
                            "per_generated_token_ms",
                            "generated_tokens_column",
                            "GeneratedTokens",
                        ),
                    ] {
                        if tokens.is_empty() && per_token != 0.0 {
                            return Err(Error::at_field(
                                &label,
                                field(&format!("traffic.class_logs.{}", c.name)),
                                format!(
                                    "request log `{src}` ({}) has no token column for \
                                     `{what}`: class `{}` of profile `{}` waits {per_token} \
                                     per token (`external.{what}` in {plabel}), which would be \
                                     left out; expected the log to have the column (the \
                                     source's `{option}`, default `{default}`), or {what}: 0",
                                    log.source, c.name, profile.name
                                ),
                            ));
                        }
                    }
                    let tokens = |v: &[u32], i: usize| f64::from(v.get(i).copied().unwrap_or(0));
                    let d: Vec<f64> = (0..log.arrival_offsets_ms.len())
                        .map(|i| {
                            ext.first_token as f64 / 1000.0
                                + tokens(&log.context_tokens, i) * ext.per_context_token_us / 1e6
                                + tokens(&log.generated_tokens, i) * ext.per_generated_token_ms
                                    / 1000.0
                        })
                        .collect();
                    input.external_s = reduce_atoms(d, EXTERNAL_ATOMS);
                }
            } else if let Some(ext) = &c.external {
                input.external_s = vec![ext.first_token as f64 / 1000.0];
            }
            // Equal-weight atoms: the share of the class's requests whose outside wait alone
            // passes the client timeout, which no config can serve.
            let timeout_s = profile.timeout as f64 / 1000.0;
            let over = input.external_s.iter().filter(|&&w| w > timeout_s).count();
            if !input.external_s.is_empty() && over * 2 >= input.external_s.len() {
                notes.push(format!(
                    "service `{}` class `{}`: {:.0} % of its requests wait longer than the client timeout ({}) on the outside call alone (`external` in {plabel} and the token counts): they time out whatever the config",
                    sref.name,
                    c.name,
                    over as f64 * 100.0 / input.external_s.len() as f64,
                    crate::time::format_duration(profile.timeout)
                ));
            }
            classes.push(input);
        }
        for name in t.class_logs.keys() {
            if !profile.classes.iter().any(|c| &c.name == name) {
                return Err(Error::at_field(
                    &label,
                    field(&format!("traffic.class_logs.{name}")),
                    format!("service profile `{}` has no class `{name}`", profile.name),
                ));
            }
        }
        services.push(Service {
            name: sref.name.clone(),
            profile,
            rate,
            scale: t.scale,
            downstream_only: t.downstream_only,
            classes,
            min_replicas,
        });
    }
    if services.is_empty() {
        return Err(Error::at_field(
            &label,
            "services",
            "the scenario has no services",
        ));
    }
    // Callers before the servers they call.
    services.sort_by_key(|s| s.downstream_only);

    let (catalog, clabel): (NodePoolCatalog, String) =
        yaml_ref(files, &resolve(dir, &file.node_pools), &label, "node_pools")?;
    catalog
        .validate()
        .map_err(|(f, m)| Error::at_field(&clabel, f, m))?;

    for (i, o) in file.sla.objectives.iter().enumerate() {
        let Some(s) = services.iter().find(|s| s.name == o.service) else {
            return Err(Error::at_field(
                &label,
                format!("sla.objectives[{i}].service"),
                format!(
                    "no service named `{}`; services: {}",
                    o.service,
                    name_list(services.iter().map(|s| s.name.as_str()))
                ),
            ));
        };
        if !s.profile.classes.iter().any(|c| c.name == o.class) {
            return Err(Error::at_field(
                &label,
                format!("sla.objectives[{i}].class"),
                format!(
                    "service `{}` has no class `{}`; classes: {}",
                    o.service,
                    o.class,
                    name_list(s.profile.classes.iter().map(|c| c.name.as_str()))
                ),
            ));
        }
        if file.sla.objectives[..i]
            .iter()
            .any(|p| p.service == o.service && p.class == o.class)
        {
            return Err(Error::at_field(
                &label,
                format!("sla.objectives[{i}]"),
                format!(
                    "a second objective for {}/{}; give each service and class one objective",
                    o.service, o.class
                ),
            ));
        }
        if !(0.0..=1.0).contains(&o.max_error_rate) {
            return Err(Error::at_field(
                &label,
                format!("sla.objectives[{i}].max_error_rate"),
                "must be within [0, 1]",
            ));
        }
        if o.p99 == 0 {
            return Err(Error::at_field(
                &label,
                format!("sla.objectives[{i}].p99"),
                "must be above 0: no request takes no time, so every window would fail",
            ));
        }
    }
    if !(0.0..=1.0).contains(&file.sla.max_breached_window_fraction) {
        return Err(Error::at_field(
            &label,
            "sla.max_breached_window_fraction",
            "must be within [0, 1]",
        ));
    }

    // Horizon and step.
    let rates: Vec<&Arc<traffic::RateSeries>> =
        services.iter().filter_map(|s| s.rate.as_ref()).collect();
    let Some(first) = rates.first() else {
        return Err(Error::at_field(
            &label,
            "services",
            "no service has recorded traffic",
        ));
    };
    let trace_ms = rates
        .iter()
        .map(|r| r.counts.len() as Millis * Millis::from(r.bin_s) * SECOND)
        .min()
        .unwrap_or(0);
    let horizon = file.horizon.map_or(trace_ms, |h| h.min(trace_ms));
    // A shorter trace than the others cuts every service's run: say which one.
    let longest = rates.iter().map(|r| span_of(r)).max().unwrap_or(0);
    if trace_ms < longest && horizon == trace_ms {
        let short: Vec<String> = services
            .iter()
            .filter(|s| s.rate.as_ref().is_some_and(|r| span_of(r) == trace_ms))
            .map(|s| {
                let src = sources
                    .iter()
                    .find(|(n, _)| *n == s.name)
                    .map_or("?", |(_, src)| src.as_str());
                format!("traffic `{src}` of service `{}`", s.name)
            })
            .collect();
        notes.push(format!(
            "the horizon is cut to {} by the shortest trace: {}; the longest spans {}, but every \
             service is simulated over the shortest",
            crate::time::format_duration(trace_ms),
            short.join(", "),
            crate::time::format_duration(longest)
        ));
    }
    if horizon == 0 {
        return Err(Error::at_field(
            &label,
            "horizon",
            "nothing to simulate: the horizon or the trace is empty",
        ));
    }
    // A service that gets less than one request over the whole horizon (an all-zero trace,
    // `scale: 0`, counts like 1e-300, a horizon on a recording gap) has nothing to serve: a
    // search "succeeds" on it, ranking its configs by idle cost.
    for s in &services {
        let Some(r) = &s.rate else { continue };
        let bin_ms = Millis::from(r.bin_s) * SECOND;
        let bins = usize::try_from(horizon.div_ceil(bin_ms.max(1))).unwrap_or(usize::MAX);
        let requests = r.counts.iter().take(bins).sum::<f64>() * s.scale;
        if requests < 1.0 {
            let src = sources
                .iter()
                .find(|(n, _)| *n == s.name)
                .map_or("?", |(_, src)| src.as_str());
            notes.push(format!(
                "service `{}`: its traffic (`{src}` × {}) brings {} over the {} \
                 simulated: its configs are then ranked on no load, by idle cost, with SLA \
                 windows that measure less than one request; expected a trace with requests in \
                 the horizon (an all-zero trace, `scale: 0`, or a horizon inside a recording \
                 gap?)",
                s.name,
                {
                    // `1e-300` in all its digits would be 300 characters.
                    let plain = s.scale.to_string();
                    if plain.len() > 12 {
                        format!("{:e}", s.scale)
                    } else {
                        plain
                    }
                },
                if requests == 0.0 {
                    "no requests".to_string()
                } else {
                    format!("{requests:.3e} requests (less than one)")
                },
                crate::time::format_duration(horizon)
            ));
        }
    }
    let cp = file.control_plane.clone();
    let fmt = crate::time::format_duration;
    // The horizon as the messages name it: the scenario's, or the trace's when that cut it.
    let run_horizon = match file.horizon {
        Some(h) if h > horizon => format!(
            "{}: the scenario's horizon {} is cut to the trace",
            fmt(horizon),
            fmt(h)
        ),
        _ => fmt(horizon),
    };
    // The periods: whole seconds, and none longer than the run (what would not happen else).
    let periods = [
        (
            "control_plane.metrics_resolution",
            cp.metrics_resolution,
            "the loop would never run",
        ),
        (
            "control_plane.hpa_sync_period",
            cp.hpa_sync_period,
            "the loop would never run",
        ),
        (
            "control_plane.autoscaler_interval",
            cp.autoscaler_interval,
            "the loop would never run",
        ),
        ("sla.window", file.sla.window, "no window would be whole"),
    ];
    for (f, v, never) in periods {
        if v < SECOND || v % SECOND != 0 {
            return Err(Error::at_field(
                &label,
                f,
                "must be a whole number of seconds, at least 1s",
            ));
        }
        if v > horizon {
            return Err(Error::at_field(
                &label,
                f,
                format!(
                    "{} is longer than the simulated horizon ({run_horizon}): {never}; expected \
                     at most the horizon",
                    fmt(v)
                ),
            ));
        }
    }
    // One-off events: inside the run, or they would never happen.
    let events = file
        .rollouts
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("rollouts[{i}].at"), r.at, "rollout"))
        .chain(file.servers.iter().flat_map(|(name, server)| {
            server
                .failovers
                .iter()
                .enumerate()
                .map(move |(j, &f)| (format!("servers.{name}.failovers[{j}]"), f, "failover"))
        }));
    for (field, at, what) in events {
        if at >= horizon {
            return Err(Error::at_field(
                &label,
                field,
                format!(
                    "{} is not inside the simulated horizon ({run_horizon}): the {what} would \
                     never happen; expected a time before it",
                    fmt(at)
                ),
            ));
        }
    }
    let mut step = 60 * SECOND;
    for r in &rates {
        step = gcd(step, Millis::from(r.bin_s) * SECOND);
    }
    for (_, v, _) in periods {
        step = gcd(step, v);
    }

    for (i, r) in file.placement.iter().enumerate() {
        if let (Some(min), Some(max)) = (r.min_memory_request, r.max_memory_request) {
            if min >= max {
                return Err(Error::at_field(
                    &label,
                    format!("placement[{i}].max_memory_request"),
                    format!(
                        "{} is not above min_memory_request {}: the rule matches requests from \
                         min (inclusive) to max (exclusive), so it would never match; expected \
                         max_memory_request above min_memory_request",
                        max.with_unit(),
                        min.with_unit()
                    ),
                ));
            }
        }
        if catalog.pool(&r.pool).is_none() {
            return Err(Error::at_field(
                &label,
                format!("placement[{i}].pool"),
                format!(
                    "no pool `{}` in the catalog; pools: {}",
                    r.pool,
                    name_list(catalog.pools.iter().map(|p| p.name.as_str()))
                ),
            ));
        }
    }
    if let Some(l) = &file.limit_range {
        l.check()
            .map_err(|(f, m)| Error::at_field(&label, format!("limit_range.{f}"), m))?;
    }
    // A server no profile calls limits nothing: most likely a misspelled name, which would
    // silently lift the limit of the server it meant.
    let called: Vec<&str> = {
        let mut v: Vec<&str> = services.iter().flat_map(|s| s.profile.servers()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    for name in file.servers.keys() {
        if !called.contains(&name.as_str()) {
            let hint = crate::error::near_miss(name, &called)
                .map_or(String::new(), |m| format!("; did you mean `{m}`?"));
            return Err(Error::at_field(
                &label,
                format!("servers.{name}"),
                format!(
                    "no service's profile calls `{name}`, so its limits would apply to nothing{hint} (called: {})",
                    name_list(called.iter().copied())
                ),
            ));
        }
    }
    for (name, server) in &file.servers {
        for (field, v) in [
            ("max_connections", server.max_connections),
            ("replica_set_members", server.replica_set_members),
        ] {
            if v == 0 {
                return Err(Error::at_field(
                    &label,
                    format!("servers.{name}.{field}"),
                    "0: expected at least 1",
                ));
            }
        }
        if server.handshake.is_some_and(|h| h > 60 * SECOND) {
            return Err(Error::at_field(
                &label,
                format!("servers.{name}.handshake"),
                "above 60s: expected a connection time of at most 60s (pymongo's connectTimeoutMS defaults to 20 s)",
            ));
        }
    }
    let mut rollouts = Vec::with_capacity(file.rollouts.len());
    for (i, r) in file.rollouts.iter().enumerate() {
        let Some(si) = services.iter().position(|s| s.name == r.service) else {
            return Err(Error::at_field(
                &label,
                format!("rollouts[{i}].service"),
                format!(
                    "no service `{}`; services: {}",
                    r.service,
                    name_list(services.iter().map(|s| s.name.as_str()))
                ),
            ));
        };
        if let Some(j) = rollouts.iter().position(|&x| x == (si, r.at)) {
            return Err(Error::at_field(
                &label,
                format!("rollouts[{i}]"),
                format!(
                    "repeats rollouts[{j}] (`{}` at the same time): one rollout would be counted twice",
                    r.service
                ),
            ));
        }
        rollouts.push((si, r.at));
    }
    let baseline_path = resolve(dir, &file.baseline);
    let (baseline, blabel): (Config, String) = yaml_ref(files, &baseline_path, &label, "baseline")?;
    let baseline_text = files.read(&baseline_path).ok();
    let limit_range = file.limit_range.as_ref();
    for w in crate::model::validate::config_notes(
        &baseline,
        baseline_text.as_deref(),
        limit_range,
        horizon,
    ) {
        notes.push(format!("{blabel}: {w}"));
    }
    let (space, slabel): (Space, String) =
        yaml_ref(files, &resolve(dir, &file.space), &label, "space")?;
    if let Some(h) = file.horizon {
        if h > trace_ms {
            notes.push(format!(
                "horizon {} is longer than the trace ({}); simulating the trace's {}",
                crate::time::format_duration(h),
                crate::time::format_duration(trace_ms),
                crate::time::format_duration(horizon)
            ));
        }
    }
    let window = file.sla.window;
    if window > 0 && horizon % window != 0 {
        notes.push(format!(
            "the last {} of the horizon is shorter than an SLA window ({}) and is not \
             evaluated: only whole windows count",
            crate::time::format_duration(horizon % window),
            crate::time::format_duration(window)
        ));
    }
    // Delays that parse but outlast the run: almost surely a unit slip (`75m` for `75s`).
    // Kubernetes accepts such a terminationGracePeriodSeconds, so they are notes, not errors.
    // Each profile file with the profile it gave.
    let profiles: Vec<(&String, &crate::model::service::ServiceProfile)> = profile_files
        .iter()
        .filter_map(|(i, plabel)| {
            let name = &file.services[*i].name;
            let s = services.iter().find(|s| &s.name == name)?;
            Some((plabel, &s.profile))
        })
        .collect();
    let mut long: Vec<(String, String, Millis)> = Vec::new();
    for &(plabel, p) in &profiles {
        for (f, v) in [
            ("startup.max", p.startup.max),
            ("readiness_delay", p.readiness_delay),
            ("restart_delay", p.restart_delay),
        ] {
            long.push((plabel.clone(), f.to_string(), v));
        }
    }
    for (i, pool) in catalog.pools.iter().enumerate() {
        long.push((
            clabel.clone(),
            format!("pools[{i}].provisioning_delay.max"),
            pool.provisioning_delay.max,
        ));
    }
    for (f, v) in [
        ("control_plane.termination_grace", cp.termination_grace),
        (
            "control_plane.scale_down_unneeded_time",
            cp.scale_down_unneeded_time,
        ),
    ] {
        long.push((label.clone(), f.to_string(), v));
    }
    for (file_label, f, v) in long {
        if v > horizon {
            notes.push(format!(
                "{file_label}: {f}: {} is longer than the simulated horizon ({run_horizon}): \
                 what waits on it never happens in the run; expected a delay well inside it (a \
                 unit slip, `m` for `s`?)",
                fmt(v)
            ));
        }
    }
    // A pod at rest larger than any node of the catalog can hold never runs: almost surely a
    // unit slip (`7Ei`, `1e15` cores). The API server takes any size, so these are notes.
    let roomiest = |f: fn(&crate::model::node_pool::NodeCapacity) -> i64| {
        catalog
            .pools
            .iter()
            .map(|p| f(&p.capacity_for_pods()))
            .max()
            .unwrap_or(0)
    };
    let (cpu_room, memory_room) = (roomiest(|c| c.cpu_milli), roomiest(|c| c.memory_bytes));
    for &(plabel, p) in &profiles {
        let resting = (p.memory.base_pod.0 as f64)
            + f64::from(p.workers.max(1)) * p.memory.base_per_worker.0 as f64;
        let big = [
            (
                "idle_cpu",
                p.idle_cpu.0 as f64,
                cpu_room as f64,
                format!("{}m", p.idle_cpu.0),
                format!("{cpu_room}m of CPU"),
            ),
            (
                "memory (base_pod + workers × base_per_worker)",
                resting,
                memory_room as f64,
                crate::quantity::Bytes(resting.min(i64::MAX as f64) as i64).with_unit(),
                format!(
                    "{} of memory",
                    crate::quantity::Bytes(memory_room).with_unit()
                ),
            ),
        ];
        for (f, v, room, shown, room_shown) in big {
            if room > 0.0 && v > room {
                notes.push(format!(
                    "{plabel}: {f}: a pod at rest uses {shown}, more than any node of the \
                     catalog has for pods ({room_shown}): whatever it requests, it runs out at \
                     once; expected a size well inside a node (a unit slip?)"
                ));
            }
        }
    }
    if file.sla.objectives.is_empty() {
        notes.push(format!(
            "{label}: sla.objectives is empty: no window can fail, so every config meets the \
             SLA and the ranking is by cost alone; expected an objective per service and class \
             that matters"
        ));
    }
    let t = cp.scale_down_utilization_threshold;
    if !(t.is_finite() && t > 0.0 && t <= 1.0) {
        return Err(Error::at_field(
            &label,
            "control_plane.scale_down_utilization_threshold",
            format!("{t} must be within (0, 1] (a fraction of allocatable; default 0.5)"),
        ));
    }
    if file.name.trim().is_empty() {
        return Err(Error::at_field(
            &label,
            "name",
            "empty: the outputs and the shard and report digests name the scenario by it; \
             expected a name such as ack-shanghai-week",
        ));
    }
    let trace_start_unix_s = first.start_unix_s;
    let scenario = Scenario {
        name: file.name,
        description: file.description,
        file: label,
        services,
        catalog,
        sla: file.sla,
        control_plane: cp,
        management_fee: file.management_fee,
        placement: file.placement,
        limit_range: file.limit_range,
        rollouts,
        servers: file.servers,
        baseline,
        baseline_file: blabel.clone(),
        space,
        space_file: slabel.clone(),
        step,
        horizon,
        trace_start_unix_s,
        notes,
        cfs_cache: crate::k8s::cfs::ReplayCache::default(),
        model_cache: crate::sim::fluid::ModelCache::default(),
        arrival_cache: crate::sim::arrivals::ArrivalCache::default(),
    };
    check_config(&scenario, &scenario.baseline, &blabel)?;
    crate::model::validate::check_space(&scenario, &slabel)?;
    Ok(scenario)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(counts: &[f64]) -> traffic::RateSeries {
        traffic::RateSeries {
            source: "test".into(),
            start_unix_s: 0,
            bin_s: 1,
            counts: counts.to_vec(),
            gaps: Vec::new(),
        }
    }

    /// Blocks of 3 one-second bins: means re-binned to 3 s; the last, partial block (the 7th
    /// second) is left out rather than counted as a whole block of 3 requests; the dispersion
    /// is the within-block variance over the mean.
    #[test]
    fn block_average_keeps_whole_blocks_only() {
        let (s, idc) = block_average(&series(&[1.0, 2.0, 3.0, 4.0, 4.0, 4.0, 9.0]), 3 * SECOND);
        assert_eq!(s.bin_s, 3);
        assert_eq!(s.counts, vec![6.0, 12.0]);
        assert!((idc - 2.0 / 18.0).abs() < 1e-12, "{idc}");
        // Shorter than one block: kept as recorded.
        let (s, idc) = block_average(&series(&[1.0, 2.0]), 3 * SECOND);
        assert_eq!((s.bin_s, s.counts.clone(), idc), (1, vec![1.0, 2.0], 1.0));
    }
}
