//! Faults found by breaking the CLI from outside (bad input, spread semantics), each pinned
//! down with the values the fix produces.

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `validate --manifests` on the base manifests fixture with `from` replaced by `to` (once) in
/// the backend's Deployment: (exit code, stderr).
fn validate_with_backend_edit(from: &str, to: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let base = repo().join("tests/fixtures/manifests/base");
    for e in std::fs::read_dir(base).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    let f = dir.path().join("backend-deployment.yaml");
    let text = std::fs::read_to_string(&f).unwrap();
    let edited = text.replacen(from, to, 1);
    assert_ne!(text, edited, "fixture layout: no `{from}`");
    std::fs::write(f, edited).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_costsim"))
        .args(["validate", "--quiet", "--manifests"])
        .arg(dir.path())
        .current_dir(repo())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn malformed_spread_constraints_in_manifests_are_bad_input_not_unmodeled_notes() {
    // The API server rejects all of these; they used to pass as "not modeled" notes (an
    // unknown whenUnsatisfiable was even called ScheduleAnyway) with exit code 0.
    let cases = [
        (
            "{ maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: Never, labelSelector: { matchLabels: { app: backend } } }",
            "topologySpreadConstraints[0].whenUnsatisfiable: \"Never\": expected DoNotSchedule or ScheduleAnyway",
        ),
        (
            "{ maxSkew: 1, whenUnsatisfiable: DoNotSchedule, labelSelector: { matchLabels: { app: backend } } }",
            "topologySpreadConstraints[0].topologyKey: null: expected a node label key",
        ),
        (
            "{ maxSkew: 0, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway }",
            "topologySpreadConstraints[0].maxSkew: 0: expected a whole number from 1 to 2147483647",
        ),
        (
            "{ maxSkew: 1, minDomains: 2, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway }",
            "topologySpreadConstraints[0].minDomains: 2: expected a whole number from 1 to 2147483647, with whenUnsatisfiable: DoNotSchedule",
        ),
    ];
    for (constraint, expected) in cases {
        let (code, err) = validate_with_backend_edit(
            "      containers:\n",
            &format!(
                "      topologySpreadConstraints:\n        - {constraint}\n      containers:\n"
            ),
        );
        assert_eq!(code, Some(2), "{constraint}: {err}");
        assert!(
            err.contains("backend-deployment.yaml")
                && err.contains("Deployment backend: spec.template.spec.")
                && err.contains(expected),
            "{constraint}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // A well-formed zone spread is still only a note.
    let (code, err) = validate_with_backend_edit(
        "      containers:\n",
        "      topologySpreadConstraints:\n        - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway }\n      containers:\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("topologySpreadConstraints[0] is not modeled (a topology key other"),
        "{err}"
    );
}
