//! Plain data types loaded from `models/`: scenario, services, node pools, configs, spaces.
//! [`build`] and [`load`] are the only parts that read files.

pub mod ack_reservation;
pub mod build;
pub mod config;
pub mod load;
pub mod node_pool;
pub mod pools;
pub mod scenario;
pub mod service;
pub mod space;
pub mod validate;
