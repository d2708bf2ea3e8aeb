//! Kubernetes manifests as costsim configurations, both ways: reading Deployments, HPAs
//! (autoscaling/v2 and v1) and kustomize bases and overlays into a [`Config`] (`--manifests`),
//! and writing a config as a kustomize base and overlay ([`emit`]).
//!
//! Only [`kustomize`] reads files; the conversions are pure functions of parsed objects.
//! Mapping, both ways:
//!
//! - workload = Deployment `metadata.name`; the app container is the one of that name (else the
//!   first), the other containers and restartable init containers are sidecars;
//! - node pool = a `nodeSelector` or required node-affinity `In` term on
//!   `node.kubernetes.io/instance-type` (the pool with that instance type) or on any key whose
//!   value names a catalog pool; several values = `node_pool` then `also_on`;
//! - HPA = the autoscaling/v2 spec (`minReplicas`, `maxReplicas`, `metrics`, `behavior`); v1
//!   `targetCPUUtilizationPercentage` becomes a CPU `Utilization` metric;
//! - what Kubernetes has no field for rides in annotations: the config name
//!   ([`CONFIG_ANNOTATION`]), init-container run times ([`INIT_DURATIONS_ANNOTATION`]) and the
//!   exact client-pool settings ([`CLIENT_POOLS_ANNOTATION`], on the pool ConfigMap).

pub mod emit;
pub mod kustomize;
pub mod smp;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::model::config::Config;
use crate::model::node_pool::NodePoolCatalog;

pub use kustomize::Object;

/// The well-known node label with the instance type (set by the cloud provider on every node).
pub const INSTANCE_TYPE_LABEL: &str = "node.kubernetes.io/instance-type";
/// Deployment annotation: the name of the costsim configuration it was emitted from.
pub const CONFIG_ANNOTATION: &str = "costsim.io/config";
/// Pod-template annotation: init-container run times, `name=20s,other=5s`.
pub const INIT_DURATIONS_ANNOTATION: &str = "costsim.io/init-durations";
/// ConfigMap annotation: the workload's `client_pools` as JSON (the data keys are derived).
pub const CLIENT_POOLS_ANNOTATION: &str = "costsim.io/client-pools";
/// Name suffix of a workload's client-pool ConfigMap (`backend-client-pools`).
pub const POOLS_CONFIGMAP_SUFFIX: &str = "-client-pools";

/// A configuration read from manifests, with what was ignored or assumed.
#[derive(Debug, Clone, PartialEq)]
pub struct FromManifests {
    /// The workloads the manifests define.
    pub config: Config,
    /// Ignored kinds and fields, assumed pools.
    pub notes: Vec<String>,
}

/// Reads `path` (a kustomize directory, a directory of YAML files or one file) into a
/// configuration. `fallback` gives the node pool of a Deployment whose pool the manifests do
/// not say, and the client pools of one without a pool ConfigMap.
pub fn read_config(
    path: &Path,
    catalog: &NodePoolCatalog,
    fallback: Option<&Config>,
) -> Result<FromManifests> {
    let mut notes = Vec::new();
    let objects = kustomize::load(path, &mut notes)?;
    let label = path.display().to_string();
    let mut assumed = Vec::new();
    let config = config_from_objects(
        &objects,
        &label,
        catalog,
        fallback,
        &mut notes,
        &mut assumed,
    )?;
    notes.extend(assumed);
    Ok(FromManifests { config, notes })
}

/// The app reads its pool settings from the ConfigMap's `data`, costsim from the annotation:
/// they must say the same (an edit of one alone would make costsim simulate other pools than
/// the app opens).
fn check_pool_data(o: &Object, pools: &Value) -> Result<()> {
    let want = crate::manifests::emit::pool_settings(pools);
    let empty = Map::new();
    let data = o
        .value
        .get("data")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let keys: std::collections::BTreeSet<&str> = want
        .keys()
        .map(String::as_str)
        .chain(data.keys().map(String::as_str))
        .collect();
    for key in keys {
        let (have, said) = (data.get(key).map(text), want.get(key));
        if have.as_ref() != said {
            return Err(Error::at_field(
                &o.file,
                format!("ConfigMap {}: data.{key}", o.name()),
                format!(
                    "{} in the data, {} in the {CLIENT_POOLS_ANNOTATION} annotation, which costsim simulates; the app reads the data: make both say the same",
                    have.map_or("absent".into(), |h| format!("`{h}`")),
                    said.map_or("absent".into(), |s| format!("`{s}`"))
                ),
            ));
        }
    }
    Ok(())
}

/// The kinds whose settings make the config: a near miss of one is a typo, not another kind.
const MODELED_KINDS: &[&str] = &["Deployment", "HorizontalPodAutoscaler", "ConfigMap"];

/// The configuration the objects describe (see the module doc for the mapping). What it
/// reads goes to `notes`; what it takes from `fallback` because the objects do not say it,
/// and the results rest on (client pools), goes to `assumed`.
pub fn config_from_objects(
    objects: &[Object],
    label: &str,
    catalog: &NodePoolCatalog,
    fallback: Option<&Config>,
    notes: &mut Vec<String>,
    assumed: &mut Vec<String>,
) -> Result<Config> {
    let mut workloads: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut names = Vec::new();
    let mut ignored: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for o in objects.iter().filter(|o| o.kind() == "Deployment") {
        let w = deployment_workload(o, catalog, fallback, notes)?;
        if workloads.insert(o.name().to_string(), w).is_some() {
            return Err(Error::input(
                &o.file,
                None,
                format!("Deployment `{}` is defined twice", o.name()),
            ));
        }
        if let Some(n) = o
            .value
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(CONFIG_ANNOTATION))
            .and_then(Value::as_str)
        {
            names.push(n.to_string());
        }
    }
    for o in objects {
        match o.kind() {
            "Deployment" => {}
            "HorizontalPodAutoscaler"
                if o.value
                    .pointer("/spec/scaleTargetRef/kind")
                    .and_then(Value::as_str)
                    != Some("Deployment") =>
            {
                notes.push(format!(
                    "{}: HPA `{}` does not scale a Deployment; ignored",
                    o.file,
                    o.name()
                ));
            }
            "HorizontalPodAutoscaler" => {
                let (target, hpa) = hpa_of(o)?;
                match workloads.get_mut(&target) {
                    Some(w) => {
                        if w.insert("hpa".into(), hpa).is_some() {
                            return Err(Error::input(
                                &o.file,
                                None,
                                format!("a second HPA scales Deployment `{target}`"),
                            ));
                        }
                    }
                    None => notes.push(format!(
                        "{}: HPA `{}` scales `{target}`, which is not a Deployment here; ignored",
                        o.file,
                        o.name()
                    )),
                }
            }
            "ConfigMap" if o.name().ends_with(POOLS_CONFIGMAP_SUFFIX) => {
                let w = o.name().trim_end_matches(POOLS_CONFIGMAP_SUFFIX);
                let pools = o
                    .value
                    .pointer("/metadata/annotations")
                    .and_then(|a| a.get(CLIENT_POOLS_ANNOTATION))
                    .and_then(Value::as_str);
                match (workloads.get_mut(w), pools) {
                    (Some(wl), Some(text)) => {
                        let v: Value = serde_json::from_str(text).map_err(|e| {
                            Error::at_field(
                                &o.file,
                                format!("metadata.annotations.{CLIENT_POOLS_ANNOTATION}"),
                                format!("not JSON: {e}"),
                            )
                        })?;
                        check_pool_data(o, &v)?;
                        wl.insert("client_pools".into(), v);
                    }
                    _ => notes.push(format!(
                        "{}: ConfigMap `{}` has no {CLIENT_POOLS_ANNOTATION} annotation for a Deployment here; its pool settings are not read",
                        o.file,
                        o.name()
                    )),
                }
            }
            // The scenario's availability floor is what the model applies (emit writes it as
            // a budget); a budget read here changes nothing and needs no note.
            "PodDisruptionBudget" => {}
            k => {
                if let Some(known) = crate::error::near_miss(k, MODELED_KINDS) {
                    return Err(Error::input(
                        &o.file,
                        None,
                        format!(
                            "kind `{k}` of `{}` is no kind costsim reads; did you mean `{known}`? (ignoring it would drop its settings)",
                            o.name()
                        ),
                    ));
                }
                ignored
                    .entry(if k.is_empty() {
                        "(no kind)".into()
                    } else {
                        k.to_string()
                    })
                    .or_default()
                    .push(o.name().to_string());
            }
        }
    }
    // Without `replicas` a Deployment starts from 1 (the API default); one an HPA manages is
    // best written without it, and starts from the HPA's minimum.
    for (name, w) in &mut workloads {
        if !w.contains_key("replicas") {
            // An HPA without minReplicas has the API default of 1.
            let hpa = w.get("hpa");
            let min = hpa.map(|h| h.get("minReplicas").cloned().unwrap_or(json!(1)));
            if hpa.is_none() {
                notes.push(format!(
                    "{label}: Deployment {name} sets no replicas and has no HPA; it runs 1 (the API default)"
                ));
            }
            w.insert("replicas".into(), min.unwrap_or(json!(1)));
        }
    }
    // Which driver the app uses toward a server, and how it sizes its pool, is in its code
    // (or env), not in the manifests: without the pool ConfigMap a workload keeps the
    // fallback's pools, as a Deployment without a pool keeps its node pool.
    for (name, w) in &mut workloads {
        let kept = fallback
            .and_then(|f| f.workloads.get(name))
            .filter(|f| !f.client_pools.is_empty() && !w.contains_key("client_pools"));
        if let Some(f) = kept {
            let servers: Vec<&str> = f.client_pools.keys().map(String::as_str).collect();
            assumed.push(format!(
                "{label}: Deployment {name} has no `{name}{POOLS_CONFIGMAP_SUFFIX}` ConfigMap; \
                 its client pools toward {} are the scenario baseline's (the app's code says \
                 how it connects, not these manifests)",
                servers.join(", ")
            ));
            w.insert("client_pools".into(), json!(f.client_pools));
        }
    }
    for (kind, names) in ignored {
        notes.push(format!(
            "{label}: {kind} {} ignored (not modeled)",
            names.join(", ")
        ));
    }
    if workloads.is_empty() {
        return Err(Error::input(label, None, "no Deployment found"));
    }
    names.sort();
    names.dedup();
    let name = match names.as_slice() {
        [one] => one.clone(),
        _ => format!("manifests {label}"),
    };
    let v = json!({ "name": name, "workloads": workloads });
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        match locate(objects, &path) {
            Some((file, at)) => Error::input(file, Some(at), message),
            None => Error::at_field(label, path, message),
        }
    })
}

/// Adds to `baseline` (the scenario's) what the manifests say: their workloads replace the
/// scenario's of the same name; the scenario's others stay, and manifests workloads the
/// scenario has no service for are dropped (both with a note).
pub fn apply_to_baseline(
    baseline: &Config,
    manifests: &Config,
    services: &[&str],
    notes: &mut Vec<String>,
) -> Config {
    let mut out = baseline.clone();
    out.name = manifests.name.clone();
    for (w, c) in &manifests.workloads {
        if services.contains(&w.as_str()) {
            out.workloads.insert(w.clone(), c.clone());
        } else {
            notes.push(format!(
                "manifests: Deployment `{w}` is not a service of the scenario; ignored"
            ));
        }
    }
    for s in services {
        if !manifests.workloads.contains_key(*s) {
            notes.push(format!(
                "manifests: no Deployment `{s}`; its settings come from the scenario's baseline"
            ));
        }
    }
    out
}

/// The API server refuses a Deployment whose `spec.selector.matchLabels` its pod template's
/// labels do not satisfy ("`selector` does not match template `labels`"): such a manifest
/// never deploys, so simulating it would price a workload that cannot exist.
fn check_selector(o: &Object, field: &dyn Fn(&str) -> String) -> Result<()> {
    let Some(wanted) = o
        .value
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
    else {
        return Ok(());
    };
    let labels = o
        .value
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object);
    let shown = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    for (k, v) in wanted {
        if labels.and_then(|l| l.get(k)) == Some(v) {
            continue;
        }
        let have = labels.map_or("none".to_string(), |l| {
            let all: Vec<String> = l
                .iter()
                .map(|(k, v)| format!("{k}: {}", shown(v)))
                .collect();
            format!("{{ {} }}", all.join(", "))
        });
        return Err(Error::input(
            &o.file,
            Some(field(&format!("spec.selector.matchLabels.{k}"))),
            format!(
                "`{k}: {}` is not among the pod template's labels (spec.template.metadata.labels: \
                 {have}): the API server refuses a Deployment whose selector does not match its \
                 template labels; expected the template to carry every matchLabels pair",
                shown(v)
            ),
        ));
    }
    Ok(())
}

/// One Deployment as a `WorkloadConfig` JSON object.
fn deployment_workload(
    o: &Object,
    catalog: &NodePoolCatalog,
    fallback: Option<&Config>,
    notes: &mut Vec<String>,
) -> Result<Map<String, Value>> {
    let name = o.name();
    let field = |f: &str| format!("Deployment {name}: {f}");
    let pod = o
        .value
        .pointer("/spec/template/spec")
        .ok_or_else(|| Error::input(&o.file, Some(field("spec.template.spec")), "missing"))?;
    check_selector(o, &field)?;
    let containers = pod
        .get("containers")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            Error::input(
                &o.file,
                Some(field("spec.template.spec.containers")),
                "missing or empty",
            )
        })?;
    let app = containers
        .iter()
        .position(|c| c.get("name").and_then(Value::as_str) == Some(name))
        .unwrap_or(0);
    let mut w = Map::new();
    let resources = |c: &Value, path: String, notes: &mut Vec<String>| -> Value {
        let mut out = Map::new();
        for kind in ["requests", "limits"] {
            let mut list = Map::new();
            if let Some(m) = c
                .pointer(&format!("/resources/{kind}"))
                .and_then(Value::as_object)
            {
                for (k, v) in m {
                    if k == "cpu" || k == "memory" {
                        list.insert(k.clone(), v.clone());
                    } else {
                        notes.push(format!(
                            "{}: {path}.resources.{kind}.{k} is not modeled; ignored",
                            o.file
                        ));
                    }
                }
            }
            out.insert(kind.into(), Value::Object(list));
        }
        Value::Object(out)
    };
    w.insert(
        "resources".into(),
        resources(
            &containers[app],
            field(&format!("containers[{app}]")),
            notes,
        ),
    );
    let mut sidecars = Vec::new();
    for (i, c) in containers.iter().enumerate().filter(|(i, _)| *i != app) {
        sidecars.push(json!({
            "name": c.get("name").cloned().unwrap_or(Value::Null),
            "resources": resources(c, field(&format!("containers[{i}]")), notes),
        }));
    }
    let durations = o
        .value
        .pointer("/spec/template/metadata/annotations")
        .and_then(|a| a.get(INIT_DURATIONS_ANNOTATION))
        .and_then(Value::as_str)
        .map(parse_durations)
        .unwrap_or_default();
    let mut inits = Vec::new();
    if let Some(ics) = pod.get("initContainers").and_then(Value::as_array) {
        for (i, c) in ics.iter().enumerate() {
            let cname = c.get("name").cloned().unwrap_or(Value::Null);
            let r = resources(c, field(&format!("initContainers[{i}]")), notes);
            if c.get("restartPolicy").and_then(Value::as_str) == Some("Always") {
                sidecars.push(json!({ "name": cname, "resources": r }));
            } else {
                let mut ic = json!({ "name": cname, "resources": r });
                if let Some(d) = cname.as_str().and_then(|n| durations.get(n)) {
                    ic["duration"] = Value::String(d.clone());
                }
                inits.push(ic);
            }
        }
    }
    if !sidecars.is_empty() {
        w.insert("sidecars".into(), Value::Array(sidecars));
    }
    if !inits.is_empty() {
        w.insert("init_containers".into(), Value::Array(inits));
    }
    // Absent replicas are filled in by `config_from_objects` (the HPA's minimum, else 1).
    if let Some(r) = o.value.pointer("/spec/replicas") {
        w.insert("replicas".into(), r.clone());
    }
    match o.value.pointer("/spec/strategy") {
        Some(s) if s.get("type").and_then(Value::as_str) == Some("Recreate") => {
            notes.push(format!(
                "{}: Deployment {name} uses the Recreate strategy; modeled as a rolling update",
                o.file
            ))
        }
        Some(s) => {
            if let Some(ru) = s.get("rollingUpdate") {
                w.insert("rolling_update".into(), ru.clone());
            }
        }
        None => {}
    }
    let selected = pools_of(pod, catalog).map_err(|problem| {
        Error::input(
            &o.file,
            Some(field("spec.template.spec (nodeSelector or nodeAffinity)")),
            problem,
        )
    })?;
    let pools = match selected {
        Some(p) => p,
        None => {
            let p = fallback
                .and_then(|f| f.workloads.get(name))
                .map(|wl| wl.pools().into_iter().map(String::from).collect::<Vec<_>>())
                .ok_or_else(|| {
                    Error::input(
                        &o.file,
                        Some(field("spec.template.spec.nodeSelector")),
                        format!(
                            "cannot tell the node pool: select `{INSTANCE_TYPE_LABEL}` (one of {}) or a label whose value is a pool name ({})",
                            catalog.pools.iter().map(|p| p.instance_type.as_str()).collect::<Vec<_>>().join(", "),
                            catalog.pools.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "),
                        ),
                    )
                })?;
            notes.push(format!(
                "{}: Deployment {name} names no node pool; assumed `{}` as in the scenario's baseline",
                o.file,
                p.join(", ")
            ));
            p
        }
    };
    w.insert("node_pool".into(), Value::String(pools[0].clone()));
    if pools.len() > 1 {
        w.insert("also_on".into(), json!(pools[1..]));
    }
    let labels = o
        .value
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object);
    // The API server's validation of every entry, modeled or not: a malformed constraint is
    // bad input, not an unmodeled one.
    let entries = pod.get("topologySpreadConstraints");
    if let Some(e) = entries.filter(|e| !e.is_null() && !e.is_array()) {
        return Err(Error::input(
            &o.file,
            Some(field("spec.template.spec.topologySpreadConstraints")),
            format!("{e}: expected a list of constraints"),
        ));
    }
    for (i, c) in entries
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = |k: &str| {
            field(&format!(
                "spec.template.spec.topologySpreadConstraints[{i}].{k}"
            ))
        };
        let when = c.get("whenUnsatisfiable").and_then(Value::as_str);
        if !matches!(when, Some("DoNotSchedule" | "ScheduleAnyway")) {
            return Err(Error::input(
                &o.file,
                Some(at("whenUnsatisfiable")),
                format!(
                    "{}: expected DoNotSchedule or ScheduleAnyway",
                    c.get("whenUnsatisfiable").unwrap_or(&Value::Null)
                ),
            ));
        }
        if c.get("topologyKey")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(Error::input(
                &o.file,
                Some(at("topologyKey")),
                format!(
                    "{}: expected a node label key (e.g. kubernetes.io/hostname)",
                    c.get("topologyKey").unwrap_or(&Value::Null)
                ),
            ));
        }
        if !c
            .get("maxSkew")
            .and_then(Value::as_i64)
            .is_some_and(|s| (1..=i64::from(i32::MAX)).contains(&s))
        {
            return Err(Error::input(
                &o.file,
                Some(at("maxSkew")),
                format!(
                    "{}: expected a whole number from 1 to 2147483647",
                    c.get("maxSkew").unwrap_or(&Value::Null)
                ),
            ));
        }
        if let Some(d) = c.get("minDomains").filter(|d| !d.is_null()) {
            if when != Some("DoNotSchedule")
                || !d
                    .as_i64()
                    .is_some_and(|d| (1..=i64::from(i32::MAX)).contains(&d))
            {
                return Err(Error::input(
                    &o.file,
                    Some(at("minDomains")),
                    format!("{d}: expected a whole number from 1 to 2147483647, with whenUnsatisfiable: DoNotSchedule"),
                ));
            }
        }
    }
    let (spread, unmodeled_spread) = hostname_spread(pod, labels);
    if let Some(ts) = spread {
        w.insert("topology_spread".into(), ts);
    }
    for (i, why) in unmodeled_spread {
        notes.push(format!(
            "{}: Deployment {name}: spec.template.spec.topologySpreadConstraints[{i}] is not modeled ({why}); only a hostname DoNotSchedule spread of the Deployment's own pods is, so the simulated node count and cost may be lower than the cluster's",
            o.file
        ));
    }
    for constraint in unmodeled_placement(pod) {
        notes.push(format!(
            "{}: Deployment {name}: spec.template.spec.{constraint} is not modeled (pods are placed on requests and the pool alone), so the simulated node count and cost may be lower than the cluster's",
            o.file
        ));
    }
    Ok(w)
}

/// The pod spec's hostname spread as a `topology_spread` value, if it has one the scheduler
/// model applies (`topologyKey: kubernetes.io/hostname`, `whenUnsatisfiable: DoNotSchedule`, a
/// `labelSelector` of `matchLabels` that the pod's own `labels` satisfy, default node
/// policies, no `matchLabelKeys`), and the other entries with why they are not modeled.
fn hostname_spread(
    pod: &Value,
    labels: Option<&Map<String, Value>>,
) -> (Option<Value>, Vec<(usize, &'static str)>) {
    let mut spread = None;
    let mut unmodeled = Vec::new();
    let entries = pod
        .get("topologySpreadConstraints")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, c) in entries.iter().enumerate() {
        let text = |k: &str| c.get(k).and_then(Value::as_str);
        let own_pods = c
            .get("labelSelector")
            .and_then(Value::as_object)
            .is_some_and(|sel| {
                sel.keys().all(|k| k == "matchLabels")
                    && sel
                        .get("matchLabels")
                        .and_then(Value::as_object)
                        .is_some_and(|m| {
                            !m.is_empty()
                                && m.iter()
                                    .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
                        })
            });
        let why = if text("topologyKey") != Some(emit::HOSTNAME_LABEL) {
            Some("a topology key other than kubernetes.io/hostname: nodes have no zones here")
        } else if text("whenUnsatisfiable") != Some("DoNotSchedule") {
            Some("ScheduleAnyway only scores nodes")
        } else if !own_pods {
            Some("its labelSelector is not matchLabels the Deployment's own pods carry")
        } else if c.get("matchLabelKeys").is_some()
            || text("nodeAffinityPolicy").is_some_and(|p| p != "Honor")
            || text("nodeTaintsPolicy").is_some_and(|p| p != "Ignore")
        {
            Some("matchLabelKeys or non-default node policies")
        } else if spread.is_some() {
            Some("a second hostname constraint")
        } else {
            None
        };
        match why {
            Some(w) => unmodeled.push((i, w)),
            None => {
                let mut ts = Map::new();
                ts.insert(
                    "max_skew".into(),
                    c.get("maxSkew").cloned().unwrap_or(Value::Null),
                );
                if let Some(d) = c.get("minDomains") {
                    ts.insert("min_domains".into(), d.clone());
                }
                spread = Some(Value::Object(ts));
            }
        }
    }
    (spread, unmodeled)
}

/// The pod-spec placement rules the scheduler model does not apply: inter-pod
/// (anti-)affinity, which can make the scheduler and the cluster autoscaler use more nodes than
/// requests alone need, and preferred node affinity, which can steer pods between pools
/// (spread constraints are checked by [`hostname_spread`]).
fn unmodeled_placement(pod: &Value) -> Vec<&'static str> {
    let present = |pointer: &str| {
        pod.pointer(pointer).is_some_and(|v| match v {
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            Value::Null => false,
            _ => true,
        })
    };
    [
        ("/affinity/podAntiAffinity", "affinity.podAntiAffinity"),
        ("/affinity/podAffinity", "affinity.podAffinity"),
        (
            "/affinity/nodeAffinity/preferredDuringSchedulingIgnoredDuringExecution",
            "affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution",
        ),
    ]
    .into_iter()
    .filter(|(pointer, _)| present(pointer))
    .map(|(_, name)| name)
    .collect()
}

/// `name=20s,other=5s` → {name: 20s, other: 5s}.
fn parse_durations(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The pools a pod spec's node selection names, if it names catalog pools; an instance type
/// no pool has is an error (the pods could never be scheduled).
fn pools_of(
    pod: &Value,
    catalog: &NodePoolCatalog,
) -> std::result::Result<Option<Vec<String>>, String> {
    let mut terms: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(sel) = pod.get("nodeSelector").and_then(Value::as_object) {
        for (k, v) in sel {
            if let Some(v) = v.as_str() {
                terms.push((k.clone(), vec![v.to_string()]));
            }
        }
    }
    let required = pod.pointer(
        "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms",
    );
    for term in required.and_then(Value::as_array).into_iter().flatten() {
        for e in term
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if e.get("operator").and_then(Value::as_str) != Some("In") {
                continue;
            }
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let values = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            terms.push((key.to_string(), values));
        }
    }
    for (key, values) in terms {
        let by_instance_type =
            key == INSTANCE_TYPE_LABEL || key == "beta.kubernetes.io/instance-type";
        let pools: Vec<String> = values
            .iter()
            .filter_map(|v| {
                catalog
                    .pools
                    .iter()
                    .find(|p| {
                        if by_instance_type {
                            &p.instance_type == v
                        } else {
                            &p.name == v
                        }
                    })
                    .map(|p| p.name.clone())
            })
            .collect();
        if !pools.is_empty() {
            return Ok(Some(pools));
        }
        if by_instance_type {
            // The scheduler would leave such pods Pending: no node has the instance type.
            return Err(format!(
                "`{key}` selects {}, which no node pool of the scenario has (instance types: {})",
                values.join(", "),
                catalog
                    .pools
                    .iter()
                    .map(|p| p.instance_type.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(None)
}

/// An HPA object as (target Deployment, `HpaConfig` JSON).
fn hpa_of(o: &Object) -> Result<(String, Value)> {
    let v = &o.value;
    let field = |f: &str| Some(format!("HorizontalPodAutoscaler {}: {f}", o.name()));
    let target = v
        .pointer("/spec/scaleTargetRef/name")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::input(&o.file, field("spec.scaleTargetRef.name"), "missing"))?;
    let spec = v
        .get("spec")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let api = v.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let mut hpa = Map::new();
    for k in ["minReplicas", "maxReplicas"] {
        if let Some(x) = spec.get(k) {
            hpa.insert(k.into(), x.clone());
        }
    }
    match api {
        "autoscaling/v1" => {
            if let Some(t) = spec.get("targetCPUUtilizationPercentage") {
                hpa.insert(
                    "metrics".into(),
                    json!([{ "type": "Resource", "resource": { "name": "cpu",
                        "target": { "type": "Utilization", "averageUtilization": t } } }]),
                );
            }
        }
        "autoscaling/v2" | "autoscaling/v2beta2" => {
            for k in ["metrics", "behavior"] {
                if let Some(x) = spec.get(k) {
                    hpa.insert(k.into(), x.clone());
                }
            }
        }
        other => {
            return Err(Error::input(
                &o.file,
                field("apiVersion"),
                format!("`{other}` is not supported; expected autoscaling/v2 or autoscaling/v1"),
            ))
        }
    }
    Ok((target.to_string(), Value::Object(hpa)))
}

/// What `emit` carries over from the manifests it replaces: each container's image (by
/// container name, the first seen) and the namespace the objects are in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passthrough {
    /// The objects' namespace, when one is set.
    pub namespace: Option<String>,
    /// Image reference per container name.
    pub images: BTreeMap<String, String>,
}

/// The images and namespace of the Deployments among `objects`.
pub fn passthrough(objects: &[Object]) -> Passthrough {
    let mut out = Passthrough::default();
    for o in objects.iter().filter(|o| o.kind() == "Deployment") {
        if out.namespace.is_none() {
            out.namespace = o
                .value
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(String::from);
        }
        for list in ["containers", "initContainers"] {
            let cs = o
                .value
                .pointer(&format!("/spec/template/spec/{list}"))
                .and_then(Value::as_array);
            for c in cs.into_iter().flatten() {
                if let (Some(n), Some(i)) = (
                    c.get("name").and_then(Value::as_str),
                    c.get("image").and_then(Value::as_str),
                ) {
                    out.images
                        .entry(n.to_string())
                        .or_insert_with(|| i.to_string());
                }
            }
        }
    }
    out
}

/// A note when the PodDisruptionBudget `o` of a scenario service is not `minAvailable` = the
/// service's availability floor: the simulated drains keep the floor, the cluster keeps the
/// budget.
fn budget_against_floor(o: &Object, scenario: &crate::model::scenario::Scenario) -> Option<String> {
    let target = o
        .value
        .pointer("/spec/selector/matchLabels")
        .and_then(|m| m.get(crate::manifests::emit::NAME_LABEL))
        .and_then(Value::as_str)
        .unwrap_or(o.name());
    let service = scenario.services.iter().find(|s| s.name == target)?;
    let spec = o.value.get("spec");
    let min = spec.and_then(|s| s.get("minAvailable"));
    let max_unavailable = spec.and_then(|s| s.get("maxUnavailable"));
    let floor = service.min_replicas;
    let matches = max_unavailable.is_none()
        && min.and_then(Value::as_u64) == Some(u64::from(floor))
        || floor <= 1 && min.is_none() && max_unavailable.is_none();
    (!matches).then(|| {
        let rule = match (min, max_unavailable) {
            (Some(m), _) => format!("minAvailable {m}"),
            (None, Some(m)) => format!("maxUnavailable {m}"),
            (None, None) => "no rule".into(),
        };
        format!(
            "{}: PodDisruptionBudget {} ({rule}) is not the scenario's availability floor of {floor} for `{}`: the simulated drains keep the floor, the cluster keeps the budget",
            o.file,
            o.name(),
            service.name
        )
    })
}

/// Where in the manifests the config field `field` (`workloads.<name>.<rest>`, as
/// [`crate::model::validate::check_config`] names it) comes from: the object's file and the
/// field path in it, e.g. `Deployment backend: spec.template.spec.containers[0].resources.limits.cpu`.
/// `None` for a workload no object of the manifests defines.
fn locate(objects: &[Object], field: &str) -> Option<(String, String)> {
    let rest = field.strip_prefix("workloads.")?;
    let (name, rest) = rest.split_once('.').unwrap_or((rest, ""));
    let deployment = objects
        .iter()
        .find(|o| o.kind() == "Deployment" && o.name() == name)?;
    let app = deployment
        .value
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .position(|c| c.get("name").and_then(Value::as_str) == Some(name))
        })
        .unwrap_or(0);
    let (head, tail) = rest.split_once('.').unwrap_or((rest, ""));
    let join = |base: String| {
        if tail.is_empty() {
            base
        } else {
            format!("{base}.{tail}")
        }
    };
    if head == "hpa" {
        let hpa = objects.iter().find(|o| {
            o.kind() == "HorizontalPodAutoscaler"
                && o.value
                    .pointer("/spec/scaleTargetRef/name")
                    .and_then(Value::as_str)
                    == Some(name)
        })?;
        return Some((
            hpa.file.clone(),
            format!(
                "HorizontalPodAutoscaler {}: {}",
                hpa.name(),
                join("spec".into())
            ),
        ));
    }
    let path =
        match head {
            "resources" => join(format!("spec.template.spec.containers[{app}].resources")),
            "replicas" => "spec.replicas".into(),
            "node_pool" | "also_on" => "spec.template.spec.affinity".into(),
            "rolling_update" => join("spec.strategy.rollingUpdate".into()),
            "topology_spread" => format!(
            "spec.template.spec.topologySpreadConstraints (the kubernetes.io/hostname entry's {})",
            if tail == "min_domains" { "minDomains" } else { "maxSkew" }
        ),
            h if h.starts_with("init_containers") => {
                join(h.replacen("init_containers", "spec.template.spec.initContainers", 1))
            }
            _ => format!("spec (the config's {rest})"),
        };
    Some((
        deployment.file.clone(),
        format!("Deployment {name}: {path}"),
    ))
}

/// [`passthrough`] of the manifests at `path`.
pub fn read_passthrough(path: &Path) -> Result<Passthrough> {
    Ok(passthrough(&kustomize::load(path, &mut Vec::new())?))
}

/// Replaces `scenario`'s baseline by what the manifests at `path` deploy (workloads the
/// manifests lack keep the scenario's settings) and checks it against the scenario; returns
/// the notes.
pub fn use_as_baseline(
    scenario: &mut crate::model::scenario::Scenario,
    path: &Path,
) -> Result<Vec<String>> {
    let mut notes = Vec::new();
    let objects = kustomize::load(path, &mut notes)?;
    let label = path.display().to_string();
    // The assumptions the results rest on join the scenario's notes (ranking.json, the
    // report); the rest is said on stderr.
    let mut assumed = Vec::new();
    let read = config_from_objects(
        &objects,
        &label,
        &scenario.catalog,
        Some(&scenario.baseline),
        &mut notes,
        &mut assumed,
    )?;
    let services: Vec<&str> = scenario.services.iter().map(|s| s.name.as_str()).collect();
    if !read
        .workloads
        .keys()
        .any(|w| services.contains(&w.as_str()))
    {
        return Err(Error::input(
            path.display().to_string(),
            None,
            format!(
                "no Deployment is a service of the scenario (Deployments: {}; services: {})",
                read.workloads
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                services.join(", ")
            ),
        ));
    }
    for o in objects.iter().filter(|o| o.kind() == "PodDisruptionBudget") {
        if let Some(note) = budget_against_floor(o, scenario) {
            notes.push(note);
        }
    }
    let config = apply_to_baseline(&scenario.baseline, &read, &services, &mut notes);
    crate::model::validate::check_config(scenario, &config, &label).map_err(|e| match e {
        Error::Input {
            location: Some(field),
            message,
            ..
        } => match locate(&objects, &field) {
            Some((file, at)) => Error::input(file, Some(at), message),
            None => Error::input(&label, Some(field), message),
        },
        e => e,
    })?;
    let replaced: Vec<&str> = read
        .workloads
        .keys()
        .map(String::as_str)
        .filter(|w| services.contains(w))
        .collect();
    // The scenario baseline's warnings about the workloads the manifests replace no longer
    // hold; those about the manifests' workloads join the scenario's notes in their place.
    let stale = format!("{}: workloads.", scenario.baseline_file);
    scenario.notes.retain(|n| {
        !n.strip_prefix(&stale)
            .and_then(|rest| rest.split('.').next())
            .is_some_and(|w| replaced.contains(&w))
    });
    let warnings = baseline_warnings(&objects, &config, &replaced, scenario, &label);
    scenario.notes.extend(warnings);
    scenario.notes.extend(assumed);
    scenario.baseline = config;
    scenario.baseline_file = label;
    Ok(notes)
}

/// The checks every baseline gets, however it was read
/// ([`crate::model::validate::config_notes`]), for the `replaced` workloads of `config` that
/// the manifests `objects` define, each named in its manifest file and object. Memory written
/// with the milli suffix, which a config file's check finds in its text, is found in the
/// Deployments' quantities as written.
fn baseline_warnings(
    objects: &[Object],
    config: &Config,
    replaced: &[&str],
    scenario: &crate::model::scenario::Scenario,
    label: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    let limit_range = scenario.limit_range.as_ref();
    for w in crate::model::validate::config_notes(config, None, limit_range, scenario.horizon) {
        // Each warning starts with the field path it is about (`workloads.backend.…`).
        let (path, rest) = w.split_at(w.find([' ', ':']).unwrap_or(w.len()));
        let workload = path
            .strip_prefix("workloads.")
            .and_then(|p| p.split('.').next());
        if !workload.is_some_and(|n| replaced.contains(&n)) {
            continue;
        }
        out.push(match locate(objects, path) {
            Some((file, at)) => format!("{file}: {at}{rest}"),
            None => format!("{label}: {w}"),
        });
    }
    for o in objects
        .iter()
        .filter(|o| o.kind() == "Deployment" && replaced.contains(&o.name()))
    {
        for list in ["containers", "initContainers"] {
            let containers = o
                .value
                .pointer(&format!("/spec/template/spec/{list}"))
                .and_then(Value::as_array);
            for (i, c) in containers.into_iter().flatten().enumerate() {
                for kind in ["requests", "limits"] {
                    let warning = c
                        .pointer(&format!("/resources/{kind}/memory"))
                        .and_then(Value::as_str)
                        .and_then(crate::model::validate::milli_memory);
                    if let Some(m) = warning {
                        out.push(format!(
                            "{}: Deployment {}: spec.template.spec.{list}[{i}].resources.{kind}.memory: {m}",
                            o.file,
                            o.name()
                        ));
                    }
                }
            }
        }
    }
    out
}
