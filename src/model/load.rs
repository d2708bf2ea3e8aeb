//! Reading model files (YAML) into the plain types of [`crate::model`], with errors that name
//! the file, the line and the field path.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

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
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." || path == "?" {
            String::new()
        } else {
            path
        };
        let inner = e.into_inner();
        let reported = inner.location().map(|l| l.line());
        // A file of the wrong kind (a CSV passed as --config) is quoted whole by the parser.
        let mut message = bound_quoted(&inner.to_string());
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
        let line = reported.map(|l| value_line(text, l, &path, &message));
        let location = match (path.as_str(), line) {
            ("", Some(l)) => Some(format!("line {l}")),
            ("", None) => None,
            (p, Some(l)) => Some(format!("line {l}, field `{p}`")),
            (p, None) => Some(format!("field `{p}`")),
        };
        Error::input(file, location, message)
    })
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
