//! Reading model files (YAML) into the plain types of [`crate::model`], with errors that name
//! the file, the line and the field path.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{bound_quoted, Error, Result};

/// Deserializes YAML `text` (from `file`, used in error messages) into `T`.
///
/// Errors name the line and the field path, e.g.
/// `models/configs/x.yaml: line 7, field `workloads.backend.resources.requests.cpu`: invalid
/// quantity "512MB": ...`.
pub fn from_yaml_str<T: DeserializeOwned>(text: &str, file: &str) -> Result<T> {
    if text.trim().is_empty() {
        return Err(Error::input(
            file,
            None,
            "file is empty; expected a YAML mapping",
        ));
    }
    if let Some(value) = with_merges_resolved(text, file)? {
        // Read from the resolved value, which has no lines: errors find theirs by the path.
        return serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            typed_error(text, file, path, &e.into_inner().to_string(), None)
        });
    }
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let reported = inner.location().map(|l| l.line());
        typed_error(text, file, path, &inner.to_string(), reported)
    })
}

/// The document of `text` with its YAML merge keys (`<<: *anchor`) resolved, as manifests
/// read them ([`DistinctKeys`]); `None` when it has none (or is no single document: the
/// typed read reports that), so that such files are read, and their errors located, as before.
fn with_merges_resolved(text: &str, file: &str) -> Result<Option<Value>> {
    fn has_merge_key(v: &serde_yaml_ng::Value) -> bool {
        match v {
            serde_yaml_ng::Value::Mapping(m) => m
                .iter()
                .any(|(k, v)| k.as_str() == Some(MERGE_KEY) || has_merge_key(v)),
            serde_yaml_ng::Value::Sequence(s) => s.iter().any(has_merge_key),
            serde_yaml_ng::Value::Tagged(t) => has_merge_key(&t.value),
            _ => false,
        }
    }
    if !text.contains(MERGE_KEY) {
        return Ok(None);
    }
    match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text) {
        Ok(raw) if has_merge_key(&raw) => {}
        _ => return Ok(None),
    }
    let de = serde_yaml_ng::Deserializer::from_str(text);
    DistinctKeys::deserialize(de)
        .map(|d| Some(d.0))
        .map_err(|e| {
            let line = e.location().map(|l| l.line());
            typed_error(text, file, String::new(), &e.to_string(), line)
        })
}

/// A bad-input error for a model file: `path` is the failing field (`.` or empty for the
/// document), `message` the parser's or deserializer's, `reported` the line it gave (the
/// enclosing mapping's; without one the line is found from the field path).
fn typed_error(
    text: &str,
    file: &str,
    path: String,
    message: &str,
    reported: Option<usize>,
) -> Error {
    let path = if path == "." || path == "?" {
        String::new()
    } else {
        path
    };
    // A file of the wrong kind (a CSV passed as --config) is quoted whole by the parser.
    let mut message = bound_quoted(message);
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    // serde_yaml prefixes custom errors with the path of the enclosing mapping.
    if let Some((prefix, rest)) = message.split_once(": ") {
        if !prefix.is_empty() && !prefix.contains(' ') && path.starts_with(prefix) {
            message = rest.to_string();
        }
    }
    if is_syntax_error(&message) && ends_with_quantity_field(&path) {
        message.push_str(
            "; expected a quantity such as 250m or 512Mi (quote a value that starts with `-` \
             or another YAML indicator)",
        );
    }
    let line = match reported {
        Some(l) => Some(value_line(text, l, &path, &message)),
        None => path_line(text, &path),
    };
    let location = match (path.as_str(), line) {
        ("", Some(l)) => Some(format!("line {l}")),
        ("", None) => None,
        (p, Some(l)) => Some(format!("line {l}, field `{p}`")),
        (p, None) => Some(format!("field `{p}`")),
    };
    Error::input(file, location, message)
}

/// The line of the field `path` (`a.b[2].c`), found by looking for each of its keys in turn
/// below the previous one's line; `None` when not even the first is found. (A merged field may
/// be written under its anchor instead: then the last key found gives the line.)
fn path_line(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut at: Option<usize> = None;
    for key in path.split('.').map(|k| k.split('[').next().unwrap_or("")) {
        if key.is_empty() {
            continue;
        }
        let from = at.unwrap_or(0);
        match (from..lines.len()).find(|&i| has_key(lines[i], key)) {
            Some(i) => at = Some(i),
            None => break,
        }
    }
    at.map(|i| i + 1)
}

fn is_syntax_error(message: &str) -> bool {
    [
        "did not find expected",
        "block sequence entries are not allowed",
    ]
    .iter()
    .any(|m| message.contains(m))
}

fn ends_with_quantity_field(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or("");
    matches!(
        last,
        "cpu" | "memory" | "averageValue" | "value" | "memory_request" | "cpu_request"
    )
}

/// The line of the value an error is about. serde_yaml reports the line where the enclosing
/// mapping starts; the key of the failing field (or, for a duplicate, its second occurrence)
/// is found by scanning forward from there.
fn value_line(text: &str, reported: usize, path: &str, message: &str) -> usize {
    let (key, nth) = match message
        .strip_prefix("duplicate field `")
        .and_then(|r| r.split('`').next())
    {
        Some(dup) => (dup.to_string(), 2),
        None => {
            let last = path.rsplit('.').next().unwrap_or("");
            let key = last.split('[').next().unwrap_or("");
            (key.to_string(), 1)
        }
    };
    if key.is_empty() {
        return reported;
    }
    let mut seen = 0;
    for (i, line) in text.lines().enumerate().skip(reported.saturating_sub(1)) {
        if has_key(line, &key) {
            seen += 1;
            if seen == nth {
                return i + 1;
            }
        }
    }
    reported
}

/// Whether `line` holds `key:` as a mapping key (block or flow style).
fn has_key(line: &str, key: &str) -> bool {
    let code = line.split(" #").next().unwrap_or(line);
    let mut from = 0;
    while let Some(pos) = code[from..].find(key) {
        let at = from + pos;
        let before = code[..at].chars().next_back();
        let after = code[at + key.len()..].trim_start();
        let starts = before.is_none_or(|c| c == ' ' || c == '{' || c == ',' || c == '-');
        if starts && after.starts_with(':') {
            return true;
        }
        from = at + key.len();
    }
    false
}

/// A JSON value read from YAML whose mappings never repeat a key: YAML parsers keep the last
/// of two equal keys (`replicas: 3` then `replicas: 5`, or a second `kind:`), which would
/// silently change what the manifests deploy; the API server's strict decoding rejects them.
///
/// YAML 1.1 merge keys (`<<: *anchor`, or `<<: [*a, *b]`) are resolved as kubectl and
/// kustomize resolve them: the merged mappings' keys are added where the mapping does not set
/// them itself (its own keys win, and among merged mappings the earlier one wins).
pub struct DistinctKeys(pub Value);

/// The key YAML 1.1 reserves for merging mappings into the one that holds it.
pub const MERGE_KEY: &str = "<<";

impl<'de> Deserialize<'de> for DistinctKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::{Error as _, MapAccess, SeqAccess, Visitor};
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DistinctKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_bool<E>(self, b: bool) -> std::result::Result<DistinctKeys, E> {
                Ok(DistinctKeys(Value::Bool(b)))
            }
            fn visit_i64<E>(self, n: i64) -> std::result::Result<DistinctKeys, E> {
                Ok(DistinctKeys(Value::from(n)))
            }
            fn visit_u64<E>(self, n: u64) -> std::result::Result<DistinctKeys, E> {
                Ok(DistinctKeys(Value::from(n)))
            }
            fn visit_f64<E: serde::de::Error>(
                self,
                x: f64,
            ) -> std::result::Result<DistinctKeys, E> {
                // `.nan` and `.inf` have no JSON form: kubectl fails to convert them, and
                // reading them as null would silently drop the field (a request, a target).
                serde_json::Number::from_f64(x)
                    .map(|n| DistinctKeys(Value::Number(n)))
                    .ok_or_else(|| {
                        E::custom(format!(
                            "`{x}` is not a finite number (Kubernetes objects are JSON, which \
                             has no NaN or infinity); expected a number or a quantity such as 250m"
                        ))
                    })
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<DistinctKeys, E> {
                Ok(DistinctKeys(Value::String(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> std::result::Result<DistinctKeys, E> {
                Ok(DistinctKeys(Value::String(s)))
            }
            fn visit_unit<E>(self) -> std::result::Result<DistinctKeys, E> {
                Ok(DistinctKeys(Value::Null))
            }
            fn visit_none<E>(self) -> std::result::Result<DistinctKeys, E> {
                Ok(DistinctKeys(Value::Null))
            }
            fn visit_some<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<DistinctKeys, D::Error> {
                DistinctKeys::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<DistinctKeys, A::Error> {
                let mut out = Vec::new();
                while let Some(DistinctKeys(v)) = seq.next_element()? {
                    out.push(v);
                }
                Ok(DistinctKeys(Value::Array(out)))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<DistinctKeys, A::Error> {
                let mut out = serde_json::Map::new();
                let mut merged: Option<Vec<serde_json::Map<String, Value>>> = None;
                while let Some((k, DistinctKeys(v))) = map.next_entry::<String, DistinctKeys>()? {
                    if k == MERGE_KEY {
                        if merged.is_some() {
                            return Err(A::Error::custom(
                                "duplicate merge key `<<`: merge several mappings with one \
                                 `<<: [*a, *b]`",
                            ));
                        }
                        merged = Some(merge_sources(v).map_err(A::Error::custom)?);
                        continue;
                    }
                    if out.contains_key(&k) {
                        return Err(A::Error::custom(format!(
                            "duplicate key `{k}`: each key may appear once in a mapping"
                        )));
                    }
                    out.insert(k, v);
                }
                for source in merged.into_iter().flatten() {
                    for (k, v) in source {
                        out.entry(k).or_insert(v);
                    }
                }
                Ok(DistinctKeys(Value::Object(out)))
            }
        }
        d.deserialize_any(V)
    }
}

/// The mappings a merge key's value names: one mapping, or a list of them (earlier first).
fn merge_sources(v: Value) -> std::result::Result<Vec<serde_json::Map<String, Value>>, String> {
    let wrong = |v: &Value| {
        format!(
            "merge key `<<` takes a mapping (`<<: *anchor`) or a list of mappings \
             (`<<: [*a, *b]`), not {}",
            match v {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                Value::Array(_) => "a list holding a non-mapping",
                Value::Object(_) => "a mapping",
            }
        )
    };
    match v {
        Value::Object(m) => Ok(vec![m]),
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::Object(m) => Ok(m),
                other => Err(wrong(&Value::Array(vec![other]))),
            })
            .collect(),
        other => Err(wrong(&other)),
    }
}

/// Resolves `rel` against the directory of the file that names it: every path in a model file
/// is relative to that file (absolute paths stay as they are).
pub fn resolve(base_dir: &Path, rel: &str) -> PathBuf {
    let p = Path::new(rel);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    }
}

/// Where model and data files come from: the filesystem, or the copies of the bundled default
/// scenario embedded in the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Files {
    /// Read from disk.
    Disk,
    /// Read from the embedded copy of the repository's default files.
    Embedded,
}

/// The repository files embedded in the binary: the default scenario and what it references.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "models/scenarios/default.yaml",
        include_str!("../../models/scenarios/default.yaml"),
    ),
    (
        "models/services/backend.yaml",
        include_str!("../../models/services/backend.yaml"),
    ),
    (
        "models/services/frontend.yaml",
        include_str!("../../models/services/frontend.yaml"),
    ),
    (
        "models/services/redis.yaml",
        include_str!("../../models/services/redis.yaml"),
    ),
    (
        "models/node-pools/ack-cn-shanghai.yaml",
        include_str!("../../models/node-pools/ack-cn-shanghai.yaml"),
    ),
    (
        "models/configs/baseline.yaml",
        include_str!("../../models/configs/baseline.yaml"),
    ),
    (
        "models/spaces/default.yaml",
        include_str!("../../models/spaces/default.yaml"),
    ),
    (
        "data/traffic/nasa_ksc_http_1995-07-01_to_07-07_requests_per_second.csv",
        include_str!(
            "../../data/traffic/nasa_ksc_http_1995-07-01_to_07-07_requests_per_second.csv"
        ),
    ),
    (
        "data/traffic/azure_llm_inference_2023-11-16_conv.csv",
        include_str!("../../data/traffic/azure_llm_inference_2023-11-16_conv.csv"),
    ),
];

/// The path of the bundled default scenario, relative to the repository root.
pub const DEFAULT_SCENARIO: &str = "models/scenarios/default.yaml";

/// Lexically normalizes a path (`a/b/../c` → `a/c`), keeping it relative when it is.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl Files {
    /// Reads the text of `path`. On disk the path goes to the OS as written (so `..` follows
    /// symlinks as the shell does); text that is not UTF-8 is an error naming the line.
    pub fn read(&self, path: &Path) -> Result<String> {
        let name = self.label(path);
        match self {
            Files::Disk => {
                let bytes = std::fs::read(path)
                    .map_err(|e| Error::input(&name, None, format!("cannot read file: {e}")))?;
                String::from_utf8(bytes).map_err(|e| {
                    let bad = e.utf8_error().valid_up_to();
                    let line = e.as_bytes()[..bad].iter().filter(|&&b| b == b'\n').count() + 1;
                    Error::at_line(
                        &name,
                        line as u64,
                        "not valid UTF-8 text; expected a UTF-8 (or ASCII) file",
                    )
                })
            }
            Files::Embedded => {
                let key = normalize(path).display().to_string().replace('\\', "/");
                EMBEDDED
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.to_string())
                    .ok_or_else(|| {
                        Error::input(
                            &name,
                            None,
                            "not part of the embedded default scenario; run from the repository \
                             root or pass --scenario with files on disk",
                        )
                    })
            }
        }
    }

    /// A name for error messages.
    pub fn label(&self, path: &Path) -> String {
        match self {
            Files::Disk => normalize(path).display().to_string(),
            Files::Embedded => format!("<embedded> {}", normalize(path).display()),
        }
    }
}

/// Serde adapter for maps that must not repeat a key: YAML parsers keep the last of two equal
/// keys, which silently drops a workload or a traffic source.
pub mod unique_keys {
    use std::collections::BTreeMap;
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{Deserialize, Deserializer, Error, MapAccess, Visitor};

    /// Deserializes a map, failing on a repeated key.
    pub fn deserialize<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
    where
        D: Deserializer<'de>,
        V: Deserialize<'de>,
    {
        struct Unique<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Unique<V> {
            type Value = BTreeMap<String, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping with distinct keys")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = map.next_entry::<String, V>()? {
                    if out.contains_key(&k) {
                        return Err(A::Error::custom(format!(
                            "duplicate key `{k}`: each name may appear once"
                        )));
                    }
                    out.insert(k, v);
                }
                Ok(out)
            }
        }
        d.deserialize_map(Unique(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::Config;

    fn resolved(text: &str) -> std::result::Result<Value, String> {
        DistinctKeys::deserialize(serde_yaml_ng::Deserializer::from_str(text))
            .map(|d| d.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn merge_keys_add_what_the_mapping_does_not_set() {
        // The mapping's own keys win wherever `<<` stands; among merged mappings the first
        // wins; a merged mapping's own merges are resolved too.
        let v = resolved(
            "a: &a { x: 1, y: 1 }\nb: &b { <<: *a, y: 2, z: 2 }\n\
             c: { x: 0, <<: [*b, { w: 3, z: 3 }] }\n",
        )
        .unwrap();
        assert_eq!(v["b"], serde_json::json!({ "x": 1, "y": 2, "z": 2 }));
        assert_eq!(
            v["c"],
            serde_json::json!({ "x": 0, "y": 2, "z": 2, "w": 3 })
        );
        // What a merge cannot take is an error, not a dropped key.
        let e = resolved("a: { <<: 5, b: 1 }\n").unwrap_err();
        assert!(
            e.contains("merge key `<<` takes a mapping") && e.contains("a number"),
            "{e}"
        );
        let e = resolved("a: &a { x: 1 }\nb: { <<: *a, <<: *a }\n").unwrap_err();
        assert!(e.contains("duplicate merge key"), "{e}");
        let e = resolved("a: { x: 1, x: 2 }\n").unwrap_err();
        assert!(e.contains("duplicate key `x`"), "{e}");
    }

    #[test]
    fn model_files_resolve_merge_keys_as_manifests_do() {
        // They refused them ("unknown field `<<`"); now a config with `<<: *fe` reads as the
        // config with the keys written out.
        let merged = "name: m\nworkloads:\n  frontend: &fe\n    node_pool: light\n    \
                      replicas: 2\n    resources: { requests: { cpu: 100m, memory: 128Mi } }\n  \
                      redis:\n    <<: *fe\n    replicas: 1\n";
        let written = "name: m\nworkloads:\n  frontend:\n    node_pool: light\n    \
                       replicas: 2\n    resources: { requests: { cpu: 100m, memory: 128Mi } }\n  \
                       redis:\n    node_pool: light\n    replicas: 1\n    \
                       resources: { requests: { cpu: 100m, memory: 128Mi } }\n";
        let a: Config = from_yaml_str(merged, "m.yaml").unwrap();
        let b: Config = from_yaml_str(written, "w.yaml").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.workloads["redis"].replicas, 1);
        assert_eq!(a.workloads["redis"].resources.requests.cpu.unwrap().0, 100);
        // A bad value in such a file still names its field and line.
        let bad = merged.replace("replicas: 1", "replicas: [1]");
        let e = from_yaml_str::<Config>(&bad, "m.yaml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "m.yaml: line 9, field `workloads.redis.replicas`: invalid type: sequence, expected u32"
        );
    }
}
