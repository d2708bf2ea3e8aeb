//! ACK resource reservation.
