//! Reading model files (YAML) into the plain types of [`crate::model`], with errors that name
//! the file, the line and the field path.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

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
        let inner = e.into_inner();
        let line = inner.location().map(|l| l.line());
        let mut message = inner.to_string();
        if let Some(i) = message.find(" at line ") {
            message.truncate(i);
        }
        let location = match (path.as_str(), line) {
            ("." | "", Some(l)) => Some(format!("line {l}")),
            ("." | "", None) => None,
            (p, Some(l)) => Some(format!("line {l}, field `{p}`")),
            (p, None) => Some(format!("field `{p}`")),
        };
        Error::input(file, location, message)
    })
}

/// Reads and deserializes the YAML file at `path`.
pub fn read_yaml<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::input(&name, None, format!("cannot read file: {e}")))?;
    from_yaml_str(&text, &name)
}

/// Resolves `rel` against the directory of the file that names it (paths in a model file are
/// relative to the repository root when they start with `models/` or `data/`, else to the file).
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
    /// Reads the text of `path`.
    pub fn read(&self, path: &Path) -> Result<String> {
        let norm = normalize(path);
        let name = norm.display().to_string();
        match self {
            Files::Disk => std::fs::read_to_string(&norm)
                .map_err(|e| Error::input(&name, None, format!("cannot read file: {e}"))),
            Files::Embedded => {
                let key = name.replace('\\', "/");
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
