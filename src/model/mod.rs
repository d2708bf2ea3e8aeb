//! Plain data types loaded from `models/`: scenario, services, node pools, configs, spaces.

pub mod ack_reservation;
