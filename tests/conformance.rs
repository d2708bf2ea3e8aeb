//! Conformance runner: every case in `../shared/conformance/*.jsonl` (or the directory named by
//! `COSTSIM_CONFORMANCE_DIR`) goes through costsim's public API; any mismatch fails the test.
//! A checkout without `../shared` beside it runs the copy of those cases the repository keeps,
//! `tests/conformance/k8s-upstream.jsonl`.
//!
//! Prints one line per kind: `conformance <kind>: N passed, M failed, K unsupported`; then the
//! cases of `tests/conformance/extra-upstream.jsonl` (more rows of the same upstream tests and
//! their neighbours) the same way, as `conformance-extra <kind>: ...`.

#[path = "conformance/hpa.rs"]
mod hpa;
#[path = "conformance/quantity.rs"]
mod quantity;
#[path = "conformance/vpa.rs"]
mod vpa;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The verdict on one case.
#[derive(Debug)]
pub enum Outcome {
    /// costsim gave the expected result.
    Pass,
    /// costsim gave another result; the string says what differed.
    Fail(String),
    /// The case uses something costsim does not model (yet); the string says what.
    Unsupported(String),
}

/// Kinds that must pass in full (no failures, nothing unsupported).
const REQUIRED_KINDS: &[&str] = &["hpa_replicas", "hpa_behavior", "quantity_parse", "vpa"];

/// The case files: those of `COSTSIM_CONFORMANCE_DIR` when it is set, else those of
/// `../shared/conformance` beside the repository, else the repository's copy of the shared
/// cases (a fresh clone elsewhere has no `../shared`).
fn conformance_files() -> Vec<PathBuf> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = match std::env::var_os("COSTSIM_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let shared = repo.join("../shared/conformance");
            if !shared.is_dir() {
                println!(
                    "conformance: no {}; running the repository's copy of its cases",
                    shared.display()
                );
                return vec![repo.join("tests/conformance/k8s-upstream.jsonl")];
            }
            shared
        }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read conformance dir {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.jsonl files in {}", dir.display());
    files
}

fn run_case(kind: &str, case: &serde_json::Value) -> Outcome {
    match kind {
        "quantity_parse" => quantity::run_case(case),
        "hpa_replicas" => hpa::run_replicas_case(case),
        "hpa_behavior" => hpa::run_behavior_case(case),
        "vpa" => vpa::run_case(case),
        other => Outcome::Unsupported(format!("kind `{other}` is not modeled yet")),
    }
}

/// kind -> (passed, failed, unsupported)
type Tally = BTreeMap<String, (usize, usize, usize)>;

/// Runs every case of `files`; returns the tally per kind and the failures.
fn run_files(files: &[PathBuf]) -> (Tally, Vec<String>) {
    let mut tally = Tally::new();
    let mut failures = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("read conformance file");
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let case: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: invalid JSON: {e}", file.display(), i + 1));
            let kind = case["kind"].as_str().unwrap_or("<no kind>").to_string();
            let test = case["source"]["test"].as_str().unwrap_or("").to_string();
            let entry = tally.entry(kind.clone()).or_default();
            match run_case(&kind, &case) {
                Outcome::Pass => entry.0 += 1,
                Outcome::Fail(why) => {
                    entry.1 += 1;
                    failures.push(format!("{}:{} {kind} {test}: {why}", file.display(), i + 1));
                }
                Outcome::Unsupported(why) => {
                    entry.2 += 1;
                    if REQUIRED_KINDS.contains(&kind.as_str()) {
                        failures.push(format!(
                            "{}:{} {kind} {test}: unsupported: {why}",
                            file.display(),
                            i + 1
                        ));
                    }
                }
            }
        }
    }
    (tally, failures)
}

/// The cases this repository adds (more rows of the same upstream tests and their neighbours).
fn extra_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/extra-upstream.jsonl")
}

#[test]
fn upstream_conformance_cases() {
    let (tally, mut failures) = run_files(&conformance_files());
    for (kind, (p, f, u)) in &tally {
        println!("conformance {kind}: {p} passed, {f} failed, {u} unsupported");
    }
    let extra = extra_file();
    if extra.exists() {
        let (tally, extra_failures) = run_files(std::slice::from_ref(&extra));
        for (kind, (p, f, u)) in &tally {
            println!("conformance-extra {kind}: {p} passed, {f} failed, {u} unsupported");
        }
        failures.extend(extra_failures);
    }
    for f in &failures {
        eprintln!("{f}");
    }
    assert!(
        failures.is_empty(),
        "{} conformance failures",
        failures.len()
    );
}
