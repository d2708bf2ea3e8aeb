//! The simulation engine: clock and events ([`engine`]), the fluid load model ([`fluid`]), the
//! request-level load model ([`requests`]),
//! queueing formulas, latency laws, random streams, and the bridge to the HPA controller.

pub mod engine;
pub mod fluid;
pub mod hpa_bridge;
pub mod latency;
pub mod pools;
pub mod queueing;
pub mod requests;
pub mod rng;
