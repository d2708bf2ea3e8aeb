//! A small scenario written to a temporary directory, for whole-run tests.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Knobs of the generated scenario.
#[derive(Debug, Clone)]
pub struct Params {
    /// Requests per second, one entry per minute of trace.
    pub rate_per_minute: Vec<u32>,
    pub workers: u32,
    pub cpu_ms: f64,
    /// `replicas` and optional `(min, max, target%)` HPA of the workload.
    pub replicas: u32,
    pub hpa: Option<(i32, i32, i32)>,
    pub cpu_request: &'static str,
    pub cpu_limit: Option<&'static str>,
    pub max_pods: u32,
    pub daemonsets: u32,
    pub memory_per_request: &'static str,
    pub memory_limit: Option<&'static str>,
    pub min_nodes: u32,
    pub management_fee: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            rate_per_minute: vec![8; 120],
            workers: 1,
            cpu_ms: 100.0,
            replicas: 1,
            hpa: None,
            cpu_request: "500m",
            cpu_limit: None,
            max_pods: 110,
            daemonsets: 0,
            memory_per_request: "0",
            memory_limit: None,
            min_nodes: 1,
            management_fee: true,
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

pub fn scenario(p: &Params) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut trace = String::from("unix_s,requests\n");
    let mut t = 1_000_000_000i64;
    for &r in &p.rate_per_minute {
        for _ in 0..60 {
            let _ = writeln!(trace, "{t},{r}");
            t += 1;
        }
    }
    write(d, "trace.csv", &trace);
    write(
        d,
        "svc.yaml",
        &format!(
            "name: app\nworkers: {}\nconcurrency_per_worker: 100000\nidle_cpu: 0\n\
             memory: {{ base_per_worker: 100Mi }}\nstartup: {{ min: 10s, max: 10s }}\n\
             readiness_delay: 5s\ntimeout: 600s\n\
             classes:\n  - {{ name: api, share: 1.0, cpu_ms: {}, cpu_scv: 1.0, memory_per_request: {} }}\n",
            p.workers, p.cpu_ms, p.memory_per_request
        ),
    );
    let ds = (0..p.daemonsets)
        .map(|i| format!("{{ name: ds{i}, cpu: 10m, memory: 10Mi }}"))
        .collect::<Vec<_>>()
        .join(", ");
    write(
        d,
        "pools.yaml",
        &format!(
            "catalog: test\nregion: test\ncurrency: CNY\nprices_as_of: \"2024-10-09\"\n\
             cluster_fee: {{ name: pro, per_hour: 0.64 }}\npools:\n  - name: p\n    \
             instance_type: ecs.g7.large\n    vcpu: 2\n    memory: 8Gi\n    \
             kubelet_memory_capacity: 7925980Ki\n    price_per_hour: 0.5\n    \
             billing: pay-as-you-go\n    max_pods: {}\n    daemonsets: [{}]\n    \
             min_nodes: {}\n    max_nodes: 10\n    provisioning_delay: {{ min: 60s, max: 60s }}\n",
            p.max_pods, ds, p.min_nodes
        ),
    );
    let hpa = match p.hpa {
        None => String::new(),
        Some((min, max, target)) => format!(
            "\n    hpa:\n      minReplicas: {min}\n      maxReplicas: {max}\n      metrics:\n        \
             - type: Resource\n          resource: {{ name: cpu, target: {{ type: Utilization, averageUtilization: {target} }} }}"
        ),
    };
    let limit = match (p.cpu_limit, p.memory_limit) {
        (None, None) => String::new(),
        (c, m) => format!(
            "\n      limits: {{ {}{}{} }}",
            c.map_or(String::new(), |c| format!("cpu: {c}")),
            if c.is_some() && m.is_some() { ", " } else { "" },
            m.map_or(String::new(), |m| format!("memory: {m}"))
        ),
    };
    write(
        d,
        "config.yaml",
        &format!(
            "name: base\nworkloads:\n  app:\n    node_pool: p\n    replicas: {}\n    resources:\n      \
             requests: {{ cpu: {}, memory: 64Mi }}{limit}{hpa}\n",
            p.replicas, p.cpu_request
        ),
    );
    write(
        d,
        "space.yaml",
        "workload: app\ngrid:\n  cpu_request: [500m]\n  memory_request: [128Mi]\n  cpu_limit: [none]\n  \
         memory_limit: [none]\n  min_replicas: [1]\n  max_replicas: [4]\n  target_cpu_utilization: [70]\n  node_pool: [p]\n",
    );
    write(
        d,
        "scenario.yaml",
        &format!(
            "name: test\ntraffic:\n  t: {{ kind: rate_csv, path: trace.csv }}\nservices:\n  - name: app\n    \
             profile: svc.yaml\n    traffic: {{ source: t, scale: 1, smoothing: 0s }}\nnode_pools: pools.yaml\n\
             management_fee: {}\nsla:\n  window: 5m\n  max_breached_window_fraction: 0.0\n  objectives:\n    \
             - {{ service: app, class: api, p99: 10s, max_error_rate: 0.01 }}\nbaseline: config.yaml\nspace: space.yaml\n",
            p.management_fee
        ),
    );
    let path = d.join("scenario.yaml");
    (dir, path)
}

/// Copies the directory tree `from` to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
