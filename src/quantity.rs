//! Kubernetes resource.Quantity.
