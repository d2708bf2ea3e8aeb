//! Traffic traces.
