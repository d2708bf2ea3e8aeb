//! HPA (autoscaling/v2) controller logic, as kube-controller-manager runs it.
//!
//! - [`spec`]: the HPA spec types (Kubernetes field names), API defaulting of `behavior`, and
//!   validation.
//! - [`config`]: controller flags and their production defaults.
//! - [`replica_calculator`]: pure per-metric replica proposals (pod grouping, tolerance,
//!   missing / unready pod rebalancing, Object / External targets).
//! - [`behavior`]: stabilization windows, rate policies, the legacy clamp, scale events.
//! - [`controller`]: [`HpaController::reconcile`], one sync of one HPA with its remembered
//!   recommendations and scale events.
//!
//! The simulator calls [`HpaController::reconcile`] every [`ControllerConfig::sync_period`]
//! with the pods it tracks and the metric samples it derives from the load model.

pub mod behavior;
pub mod config;
pub mod controller;
pub mod replica_calculator;
pub mod spec;

#[cfg(test)]
mod tests;

pub use behavior::{
    calculate_scale_down_limit_with_behaviors, calculate_scale_up_limit,
    calculate_scale_up_limit_with_scaling_rules, convert_desired_replicas_with_behavior_rate,
    convert_desired_replicas_with_rules, stabilize_recommendation,
    stabilize_recommendation_with_behaviors, BehaviorRateArgs, LimitedReplicas, ScaleEvent,
    Stabilized, TimestampedRecommendation,
};
pub use config::ControllerConfig;
pub use controller::{
    ConditionType, HpaCondition, HpaConditions, HpaController, MetricInput, MetricStatus,
    ReconcileOutcome, ReconcileStep,
};
pub use replica_calculator::{HpaPod, PodMetricPoint, PodMetrics, PodPhase, Sample, Tolerances};
pub use spec::{
    Behavior, HpaScalingPolicy, HpaScalingRules, HpaSpec, MetricSpec, MetricTarget, PolicyType,
    ResourceName, SelectPolicy,
};
