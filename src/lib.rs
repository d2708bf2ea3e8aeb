//! # costsim — a cost-modeling simulator for Kubernetes workloads
//!
//! costsim replays recorded traffic against candidate configurations (pod requests and limits,
//! HPA settings, node pool) on modeled Alibaba Cloud ACK node pools, and ranks the candidates by
//! cost, by how close their utilization sits to the 60–80 % efficiency band, and by SLA breaches.
//!
//! The pipeline flows one way, one module per stage; only [`ingest`], [`model::load`],
//! [`manifests::kustomize`], [`report`] and [`output`] touch files, the engine does no IO:
//!
//! ```text
//! ingest ──► model ──► sim (k8s control plane + fluid load) ──► eval ──► search ──► output
//! ```
//!
//! - [`quantity`]: Kubernetes `resource.Quantity`, exact.
//! - [`k8s`]: faithful control-plane logic (HPA, scheduler, cluster autoscaler, pods).
//! - [`sim`]: the discrete-event engine and the fluid load model.
//! - [`eval`]: cost, efficiency and SLA windows of one run.
//! - [`search`]: candidate-space expansion and ranking.
//! - [`calibrate`]: service profiles fitted from metrics with request rates.
//! - [`manifests`]: Kubernetes manifests and kustomize directories read as configs
//!   (`--manifests`), and configs emitted as a kustomize base and overlay.
//! - [`report`]: the cost-optimization document with its plots, `emit` and `diff`, from a
//!   search's output directory.
//! - [`recommend`]: percentile right-sizing (krr `simple`, the VPA recommender) from recorded
//!   metrics ([`ingest::metrics`]), with over/under-provisioning flags.
#![warn(missing_docs)]

pub mod calibrate;
pub mod error;
pub mod eval;
pub mod ingest;
pub mod k8s;
pub mod manifests;
pub mod model;
pub mod output;
pub mod quantity;
pub mod recommend;
pub mod report;
pub mod search;
pub mod sim;
pub mod time;

pub use error::{Error, Result};
