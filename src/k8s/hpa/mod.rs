//! HPA (autoscaling/v2) controller logic.
