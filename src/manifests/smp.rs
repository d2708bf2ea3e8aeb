//! Strategic-merge patches as kustomize applies them to built-in kinds: maps merge key by key,
//! `null` deletes a key, `$patch: replace` / `$patch: delete` replace or drop a map, lists of
//! containers, env vars, volumes and the like merge by their key, other lists are replaced.

use serde_json::{Map, Value};

/// The merge key of a list field in the Kubernetes API's strategic-merge metadata
/// (`patchMergeKey` in k8s.io/api); lists not named here are replaced as a whole, as upstream.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => Some("name"),
        "hostAliases" => Some("ip"),
        "volumeMounts" => Some("mountPath"),
        "volumeDevices" => Some("devicePath"),
        "ports" => Some("containerPort"),
        "topologySpreadConstraints" => Some("topologyKey"),
        _ => None,
    }
}

/// The `$patch` directive of a patch map, if any.
fn directive(v: &Value) -> Option<&str> {
    v.get("$patch").and_then(Value::as_str)
}

/// `target` with `patch` merged in (strategic merge). `None` when the patch deletes it.
pub fn merge(target: &Value, patch: &Value) -> Option<Value> {
    match (target, patch) {
        (_, Value::Object(p)) => match directive(patch) {
            Some("delete") => None,
            Some("replace") => Some(strip_directives(patch)),
            _ => {
                let mut out = match target {
                    Value::Object(t) => t.clone(),
                    _ => Map::new(),
                };
                for (k, pv) in p {
                    if k.starts_with('$') {
                        continue;
                    }
                    if pv.is_null() {
                        out.remove(k);
                        continue;
                    }
                    let merged = match (out.get(k), pv) {
                        (Some(Value::Array(tl)), Value::Array(pl)) => match merge_key(k) {
                            Some(key) => Some(Value::Array(merge_list(tl, pl, key))),
                            None => Some(strip_directives(pv)),
                        },
                        (Some(tv), _) => merge(tv, pv),
                        (None, _) => match directive(pv) {
                            Some("delete") => None,
                            _ => Some(strip_directives(pv)),
                        },
                    };
                    match merged {
                        Some(v) => {
                            out.insert(k.clone(), v);
                        }
                        None => {
                            out.remove(k);
                        }
                    }
                }
                Some(Value::Object(out))
            }
        },
        _ => Some(patch.clone()),
    }
}

/// A list merged by `key`: patch elements update the element with the same key (or are
/// appended), `$patch: delete` elements remove it; the target's order is kept.
fn merge_list(target: &[Value], patch: &[Value], key: &str) -> Vec<Value> {
    let mut out: Vec<Value> = target.to_vec();
    for p in patch {
        let Some(k) = p.get(key) else {
            out.push(strip_directives(p));
            continue;
        };
        match out.iter().position(|t| t.get(key) == Some(k)) {
            Some(i) => match merge(&out[i], p) {
                Some(v) => out[i] = v,
                None => {
                    out.remove(i);
                }
            },
            None if directive(p) == Some("delete") => {}
            None => out.push(strip_directives(p)),
        }
    }
    out
}

/// `v` without `$patch`-style directive keys (what a patch adds where the target has nothing).
fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_merge_null_deletes_lists_replace() {
        let t = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]});
        let p = json!({"b": {"c": 5, "d": null}, "l": [9]});
        assert_eq!(
            merge(&t, &p),
            Some(json!({"a": 1, "b": {"c": 5}, "l": [9]}))
        );
    }

    #[test]
    fn containers_merge_by_name_and_replace_directive() {
        let t = json!({"containers": [
            {"name": "app", "image": "app:1", "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}}},
            {"name": "nginx", "image": "nginx"}
        ]});
        let p = json!({"containers": [
            {"name": "app", "resources": {"$patch": "replace", "limits": {"memory": "2Gi"}}},
            {"name": "nginx", "$patch": "delete"},
            {"name": "new", "image": "x"}
        ]});
        assert_eq!(
            merge(&t, &p),
            Some(json!({"containers": [
                {"name": "app", "image": "app:1", "resources": {"limits": {"memory": "2Gi"}}},
                {"name": "new", "image": "x"}
            ]}))
        );
    }

    #[test]
    fn delete_directive_drops_the_object() {
        assert_eq!(merge(&json!({"a": 1}), &json!({"$patch": "delete"})), None);
    }
}
