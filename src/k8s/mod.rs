//! Faithful Kubernetes control-plane logic: HPA, scheduling on requests, cluster autoscaler.

pub mod hpa;
