//! Reading manifest files and kustomize directories into Kubernetes objects, as
//! `kustomize build` assembles them: `resources` (files and directories, recursively; legacy
//! `bases`), strategic-merge `patches` / `patchesStrategicMerge`, `namespace` and `images`.
//! This is the only part of [`crate::manifests`] that reads files.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::load::DistinctKeys;

use super::smp;

/// The file names kustomize looks for in a directory, in its order.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// A Kubernetes object and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The object (YAML as JSON values).
    pub value: Value,
    /// The file that defined it (as given on the command line, joined with relative paths).
    pub file: String,
}

impl Object {
    /// `kind` of the object (empty when missing).
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    /// `metadata.name` of the object (empty when missing).
    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// The documents of a (multi-document) YAML text, empty documents skipped. A leading UTF-8
/// byte-order mark is skipped, as kubectl skips it. Malformed YAML is a bad-input error naming
/// `file` and the line.
pub fn parse_documents(text: &str, file: &str) -> Result<Vec<Value>> {
    let text = crate::ingest::without_bom(text);
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let v = DistinctKeys::deserialize(doc).map(|d| d.0).map_err(|e| {
            let mut message = e.to_string();
            if let Some(i) = message.find(" at line ") {
                message.truncate(i);
            }
            match e.location() {
                Some(l) => Error::at_line(file, l.line() as u64, message),
                None => Error::input(file, None, message),
            }
        })?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::input(
            path.display().to_string(),
            None,
            format!("cannot read: {e}"),
        )
    })
}

/// The kustomization file of `dir`, if it has one.
pub fn kustomization_file(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// The objects of `path`: a kustomize directory built as kustomize would, a plain directory's
/// `*.yaml` / `*.yml` files (sorted by name, not recursive), or one file. Things kustomize
/// does that costsim does not model are listed in `notes`.
pub fn load(path: &Path, notes: &mut Vec<String>) -> Result<Vec<Object>> {
    // A directory is built; anything else that exists is read as one file (a pipe too:
    // `--manifests <(kustomize build)`, which `is_file` refused as missing).
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::unreachable_path(path, "manifests file or directory", &e))?;
    if !meta.is_dir() {
        return load_file(path);
    }
    if let Some(k) = kustomization_file(path) {
        return build(path, &k, notes, 0);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| {
            Error::input(
                path.display().to_string(),
                None,
                format!("cannot list: {e}"),
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        out.extend(load_file(&f)?);
    }
    Ok(out)
}

fn load_file(path: &Path) -> Result<Vec<Object>> {
    let file = path.display().to_string();
    let docs = parse_documents(&read_text(path)?, &file)?;
    let n = docs.len();
    let mut out = Vec::new();
    for (i, value) in docs.into_iter().enumerate() {
        flatten(
            value,
            format!("document {} of {n}: ", i + 1),
            &file,
            &mut out,
        )?;
    }
    Ok(out)
}

/// Adds the object `value` (at `at`, e.g. `document 1 of 2: `, in `file`) to `out`, or for a
/// list (`kind: List` or `DeploymentList` with `items`, what `kubectl get -o yaml` writes) its
/// items, recursively, as kubectl and kustomize read them: an item with neither `kind` nor
/// `apiVersion` in a typed list takes the list's (`DeploymentList` → `Deployment`).
fn flatten(mut value: Value, at: String, file: &str, out: &mut Vec<Object>) -> Result<()> {
    // kubectl refuses a document without a kind (`Object 'Kind' is missing`); noting it as an
    // ignored kind would silently drop what it deploys.
    let Some(kind) = value
        .get("kind")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Err(Error::at_field(
            file,
            format!("{at}kind"),
            if value.is_object() {
                "missing or not a string; expected a Kubernetes object's kind such as Deployment"
            } else {
                "the document is not a mapping; expected a Kubernetes object with apiVersion, kind and metadata"
            },
        ));
    };
    let Some(item_kind) = kind
        .strip_suffix("List")
        .filter(|_| value.get("items").is_some())
    else {
        out.push(Object {
            value,
            file: file.to_string(),
        });
        return Ok(());
    };
    let api_version = value.get("apiVersion").cloned();
    let Some(Value::Array(items)) = value.get_mut("items").map(Value::take) else {
        return Err(Error::at_field(
            file,
            format!("{at}items"),
            format!("a {kind} holds its objects in `items`, a list; expected a list of Kubernetes objects"),
        ));
    };
    for (j, mut item) in items.into_iter().enumerate() {
        if let Some(o) = item.as_object_mut() {
            if !item_kind.is_empty() && !o.contains_key("kind") && !o.contains_key("apiVersion") {
                o.insert("kind".into(), Value::String(item_kind.to_string()));
                if let Some(v) = &api_version {
                    o.insert("apiVersion".into(), v.clone());
                }
            }
        }
        flatten(item, format!("{at}items[{j}]."), file, out)?;
    }
    Ok(())
}

/// The parts of a kustomization costsim reads (others are noted and ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization {
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    bases: Vec<String>,
    #[serde(default)]
    patches: Vec<PatchRef>,
    #[serde(default)]
    patches_strategic_merge: Vec<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    images: Vec<ImageRule>,
    #[serde(flatten)]
    other: serde_json::Map<String, Value>,
}

/// One entry of `patches`: a file or an inline patch, with an optional target.
#[derive(Debug, Deserialize)]
struct PatchRef {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    patch: Option<String>,
    #[serde(default)]
    target: Option<Target>,
}

#[derive(Debug, Deserialize)]
struct Target {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// One entry of `images`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageRule {
    name: String,
    #[serde(default)]
    new_name: Option<String>,
    #[serde(default)]
    new_tag: Option<String>,
    #[serde(default)]
    digest: Option<String>,
}

/// Kustomize nests at most this deep here; deeper means a cycle of bases.
const MAX_DEPTH: usize = 16;

/// `file` (the kustomization `label`'s entry `entry` of `field`) if it lies in or below the
/// kustomization's root `dir`: `kustomize build` refuses other files (its default load
/// restrictor, `LoadRestrictionsRootOnly`); a directory elsewhere is another kustomization
/// and may be anywhere.
fn in_root(dir: &Path, file: &Path, entry: &str, label: &str, field: &str) -> Result<PathBuf> {
    let canonical = |p: &Path| {
        p.canonicalize()
            .map_err(|e| Error::at_field(label, field, format!("`{entry}`: {e}")))
    };
    let (root, path) = (canonical(dir)?, canonical(file)?);
    if path.starts_with(&root) {
        Ok(file.to_path_buf())
    } else {
        Err(Error::at_field(
            label,
            field,
            format!(
                "`{entry}` is a file outside the kustomization's root {}: kustomize refuses it (its default load restrictor); move it under the root, or give its directory a kustomization and list the directory",
                root.display()
            ),
        ))
    }
}

fn build(dir: &Path, kfile: &Path, notes: &mut Vec<String>, depth: usize) -> Result<Vec<Object>> {
    let label = kfile.display().to_string();
    if depth > MAX_DEPTH {
        return Err(Error::input(
            &label,
            None,
            "kustomization nests more than 16 levels (a cycle of resources?)",
        ));
    }
    let docs = parse_documents(&read_text(kfile)?, &label)?;
    let k: Kustomization = match docs.into_iter().next() {
        None => Kustomization::default(),
        Some(v) => serde_path_to_error::deserialize(v).map_err(|e| {
            Error::at_field(&label, e.path().to_string(), e.into_inner().to_string())
        })?,
    };
    for key in k.other.keys() {
        if !matches!(key.as_str(), "apiVersion" | "kind") {
            notes.push(format!("{label}: `{key}` is not modeled; ignored"));
        }
    }
    let mut objects = Vec::new();
    for r in k.bases.iter().chain(&k.resources) {
        let p = dir.join(r);
        if p.is_dir() {
            let kf = kustomization_file(&p).ok_or_else(|| {
                Error::at_field(
                    &label,
                    "resources",
                    format!("`{r}` is a directory without a kustomization.yaml"),
                )
            })?;
            objects.extend(build(&p, &kf, notes, depth + 1)?);
        } else if p.is_file() {
            objects.extend(load_file(&in_root(dir, &p, r, &label, "resources")?)?);
        } else {
            return Err(Error::at_field(
                &label,
                "resources",
                format!("`{r}`: no such file or directory (remote resources are not supported)"),
            ));
        }
    }
    let mut patches: Vec<(Object, Option<&Target>)> = Vec::new();
    for p in &k.patches_strategic_merge {
        let file = in_root(dir, &dir.join(p), p, &label, "patchesStrategicMerge")?;
        for o in load_file(&file)? {
            patches.push((o, None));
        }
    }
    for p in &k.patches {
        let docs = match (&p.path, &p.patch) {
            (Some(path), _) => load_file(&in_root(dir, &dir.join(path), path, &label, "patches")?)?,
            (None, Some(text)) => parse_documents(text, &format!("{label} (inline patch)"))?
                .into_iter()
                .map(|value| Object {
                    value,
                    file: format!("{label} (inline patch)"),
                })
                .collect(),
            (None, None) => {
                return Err(Error::at_field(
                    &label,
                    "patches",
                    "a patch needs `path` or `patch`",
                ))
            }
        };
        for o in docs {
            patches.push((o, p.target.as_ref()));
        }
    }
    for (patch, target) in patches {
        apply_patch(&mut objects, &patch, target)?;
    }
    if let Some(ns) = &k.namespace {
        for o in &mut objects {
            if let Some(m) = o.value.get_mut("metadata").and_then(Value::as_object_mut) {
                m.insert("namespace".into(), Value::String(ns.clone()));
            }
        }
    }
    for rule in &k.images {
        for o in &mut objects {
            set_images(&mut o.value, rule);
        }
    }
    Ok(objects)
}

fn apply_patch(objects: &mut Vec<Object>, patch: &Object, target: Option<&Target>) -> Result<()> {
    if patch.value.is_array() || patch.value.get("op").is_some() {
        return Err(Error::input(
            &patch.file,
            None,
            "JSON 6902 patches are not supported; write a strategic-merge patch",
        ));
    }
    let kind = target
        .and_then(|t| t.kind.clone())
        .unwrap_or_else(|| patch.kind().to_string());
    let names: Vec<String> = match target.and_then(|t| t.name.clone()) {
        Some(n) => vec![n],
        None => vec![patch.name().to_string()],
    };
    let mut hit = false;
    let mut i = 0;
    while i < objects.len() {
        let o = &objects[i];
        if o.kind() == kind && names.iter().any(|n| n == o.name()) {
            hit = true;
            match smp::merge(&o.value, &patch.value) {
                Some(v) => {
                    objects[i].value = v;
                    i += 1;
                }
                None => {
                    objects.remove(i);
                }
            }
        } else {
            i += 1;
        }
    }
    if !hit {
        return Err(Error::input(
            &patch.file,
            None,
            format!(
                "the patch targets {kind} `{}`, which no resource defines",
                names.join(",")
            ),
        ));
    }
    Ok(())
}

/// Applies an `images` rule to every container of a workload object.
fn set_images(v: &mut Value, rule: &ImageRule) {
    for list in ["containers", "initContainers"] {
        let Some(cs) = v
            .pointer_mut(&format!("/spec/template/spec/{list}"))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for c in cs {
            let Some(image) = c.get("image").and_then(Value::as_str) else {
                continue;
            };
            let (name, tag) = split_image(image);
            if name != rule.name {
                continue;
            }
            let mut out = rule.new_name.clone().unwrap_or_else(|| name.to_string());
            if let Some(d) = &rule.digest {
                out = format!("{out}@{d}");
            } else if let Some(t) = rule.new_tag.as_ref().or(tag.as_ref()) {
                out = format!("{out}:{t}");
            }
            c["image"] = Value::String(out);
        }
    }
}

/// `name[:tag]` of an image reference (a port in the registry host is not a tag; a digest is
/// dropped).
pub fn split_image(image: &str) -> (&str, Option<String>) {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => (&image[..i], Some(image[i + 1..].to_string())),
        _ => (image, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_errors_name_the_line() {
        let text = "a: 1\n---\nb: [1, 2\n---\nc: 3\n";
        let e = parse_documents(text, "x.yaml").unwrap_err();
        match e {
            Error::Input { file, location, .. } => {
                assert_eq!(file, "x.yaml");
                let loc = location.unwrap();
                assert!(loc.starts_with("line "), "{loc}");
                let n: u64 = loc[5..].parse().unwrap();
                assert!((3..=5).contains(&n), "{loc}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_documents("a: 1\n---\n---\nb: 2\n", "y")
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn image_names_split_at_the_tag_not_the_port() {
        assert_eq!(split_image("nginx:1.25"), ("nginx", Some("1.25".into())));
        assert_eq!(split_image("reg:5000/app"), ("reg:5000/app", None));
    }
}
