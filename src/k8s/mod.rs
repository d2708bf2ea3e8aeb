//! Faithful Kubernetes control-plane logic: HPA, pods, scheduling on requests, cluster
//! autoscaler.

pub mod cfs;
pub mod cluster_autoscaler;
pub mod hpa;
pub mod pod;
pub mod scheduler;
