//! The per-HPA reconcile loop (`reconcileAutoscaler` in `horizontal.go`) and the state the
//! controller keeps between reconciles.

use super::behavior::{
    convert_desired_replicas_with_behavior_rate, convert_desired_replicas_with_rules,
    stabilize_recommendation, stabilize_recommendation_with_behaviors, store_scale_event,
    BehaviorRateArgs, LimitedReplicas, ScaleEvent, Stabilized, TimestampedRecommendation,
};
use super::config::ControllerConfig;
use super::replica_calculator::{
    average_value_replicas, object_value_replicas, plain_metric_replicas,
    resource_utilization_replicas, HpaPod, PodMetrics, Tolerances,
};
use super::spec::{
    Behavior, HpaScalingRules, HpaSpec, MetricSourceType, MetricSpec, MetricTarget, ResourceName,
};
use crate::time::Millis;
use std::fmt::Arguments;

/// What the metrics APIs returned for one entry of `spec.metrics` in this reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricInput {
    /// Per-pod samples (Resource, ContainerResource and Pods metrics).
    PerPod(PodMetrics),
    /// One total (Object metrics; External metrics: the sum of the series, see
    /// [`super::replica_calculator::sum_external_values`]).
    Value(i64),
    /// The metrics API failed; the message ends up in the condition.
    FetchError(String),
}

/// The HPA status condition types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionType {
    /// `AbleToScale`: whether the controller can read and update the scale.
    AbleToScale,
    /// `ScalingActive`: whether a replica count could be computed from the metrics.
    ScalingActive,
    /// `ScalingLimited`: whether the bounds or the rate limits changed the proposal.
    ScalingLimited,
}

impl ConditionType {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionType::AbleToScale => "AbleToScale",
            ConditionType::ScalingActive => "ScalingActive",
            ConditionType::ScalingLimited => "ScalingLimited",
        }
    }
}

/// One status condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HpaCondition {
    /// `status`: True or False.
    pub status: bool,
    /// Machine-readable reason, e.g. `ScaleUpLimit`, `FailedGetExternalMetric`.
    pub reason: &'static str,
    /// Human-readable message (shared: an unchanged condition is not copied).
    pub message: std::sync::Arc<str>,
}

/// The status conditions of one HPA; a condition stays as last set, like in the API object.
#[derive(Debug, Clone, Default)]
pub struct HpaConditions {
    /// `AbleToScale`.
    pub able_to_scale: Option<HpaCondition>,
    /// `ScalingActive`.
    pub scaling_active: Option<HpaCondition>,
    /// `ScalingLimited`.
    pub scaling_limited: Option<HpaCondition>,
    /// Per condition type, the message it held before its current one: a condition that
    /// changes back (e.g. stabilized, then not, then again) takes it back instead of building
    /// it anew.
    previous: [Option<std::sync::Arc<str>>; 3],
    /// The static description (addresses and lengths of its pieces) of the metric
    /// `ScalingActive` was last set `ValidMetricFound` from, when that was its last setting: a
    /// static string never changes, so the same pieces again make the same message.
    valid_metric: Option<[(usize, usize); 2]>,
}

/// Equal when the conditions are; the messages they held before do not matter.
impl PartialEq for HpaConditions {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.able_to_scale,
            &self.scaling_active,
            &self.scaling_limited,
        ) == (
            &other.able_to_scale,
            &other.scaling_active,
            &other.scaling_limited,
        )
    }
}

impl Eq for HpaConditions {}

impl HpaConditions {
    /// The condition of the given type, if set.
    pub fn get(&self, t: ConditionType) -> Option<&HpaCondition> {
        match t {
            ConditionType::AbleToScale => self.able_to_scale.as_ref(),
            ConditionType::ScalingActive => self.scaling_active.as_ref(),
            ConditionType::ScalingLimited => self.scaling_limited.as_ref(),
        }
    }

    /// The field holding the condition of type `t`, and the message it held before.
    fn slot(
        &mut self,
        t: ConditionType,
    ) -> (&mut Option<HpaCondition>, &mut Option<std::sync::Arc<str>>) {
        let [able, active, limited] = &mut self.previous;
        match t {
            ConditionType::AbleToScale => (&mut self.able_to_scale, able),
            ConditionType::ScalingActive => (&mut self.scaling_active, active),
            ConditionType::ScalingLimited => (&mut self.scaling_limited, limited),
        }
    }

    /// Sets a condition; the message is formatted only when it differs from the current one,
    /// so a reconcile that changes nothing allocates nothing.
    fn set(&mut self, t: ConditionType, status: bool, reason: &'static str, message: Arguments) {
        if let Some(text) = message.as_str() {
            return self.set_text(t, status, reason, text);
        }
        self.update(
            t,
            status,
            reason,
            |m| text_equals(m, message),
            || message.to_string(),
        );
    }

    /// [`HpaConditions::set`] with a message that needs no formatting: compared as is.
    fn set_text(&mut self, t: ConditionType, status: bool, reason: &'static str, text: &str) {
        self.set_pieces(t, status, reason, &[text]);
    }

    /// [`HpaConditions::set`] with the message given as the pieces it concatenates: compared
    /// piece by piece, joined only when it differs from the current one.
    fn set_pieces(
        &mut self,
        t: ConditionType,
        status: bool,
        reason: &'static str,
        pieces: &[&str],
    ) {
        self.update(
            t,
            status,
            reason,
            |m| pieces_equal(m, pieces),
            || pieces.concat(),
        );
    }

    /// Sets `ScalingActive` to `ValidMetricFound`, computed from the metric `label` describes;
    /// recognizes a static description it was last set from without comparing the message.
    fn set_valid_metric(&mut self, label: MetricLabel) {
        const REASON: &str = "ValidMetricFound";
        let key = label
            .static_pieces()
            .map(|p| p.map(|s| (s.as_ptr() as usize, s.len())));
        if let (Some(_), Some(c)) = (key, &mut self.scaling_active) {
            if self.valid_metric == key {
                (c.status, c.reason) = (true, REASON);
                return;
            }
        }
        let [what, name] = label.pieces();
        let computed = "a replica count was computed from ";
        self.set_pieces(
            ConditionType::ScalingActive,
            true,
            REASON,
            &[computed, what, name],
        );
        self.valid_metric = key;
    }

    /// Sets condition `t`: keeps its message when `same` says it is unchanged, takes back the
    /// one it held before when `same` says that is the one, builds a new one with `message`
    /// otherwise.
    fn update(
        &mut self,
        t: ConditionType,
        status: bool,
        reason: &'static str,
        same: impl Fn(&str) -> bool,
        message: impl FnOnce() -> String,
    ) {
        if t == ConditionType::ScalingActive {
            self.valid_metric = None;
        }
        let (slot, previous) = self.slot(t);
        let Some(c) = slot else {
            *slot = Some(HpaCondition {
                status,
                reason,
                message: message().into(),
            });
            return;
        };
        if !same(&c.message) {
            let next = match previous.take() {
                Some(m) if same(&m) => m,
                _ => message().into(),
            };
            *previous = Some(std::mem::replace(&mut c.message, next));
        }
        c.status = status;
        c.reason = reason;
    }
}

/// Whether `pieces` concatenate to exactly `text`.
fn pieces_equal(text: &str, pieces: &[&str]) -> bool {
    let mut rest = text;
    for p in pieces {
        match rest.strip_prefix(p) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// Whether `args` formats to exactly `text`, compared piece by piece without allocating.
fn text_equals(text: &str, args: Arguments) -> bool {
    struct Rest<'a>(&'a str);
    impl std::fmt::Write for Rest<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            match self.0.strip_prefix(s) {
                Some(rest) => {
                    self.0 = rest;
                    Ok(())
                }
                None => Err(std::fmt::Error),
            }
        }
    }
    let mut rest = Rest(text);
    std::fmt::write(&mut rest, args).is_ok() && rest.0.is_empty()
}

/// `status.currentMetrics[i]`: what one metric measured (all `None` if it failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricStatus {
    /// Source type of the metric.
    pub source: MetricSourceType,
    /// `current.averageUtilization` (Utilization targets), percent.
    pub average_utilization: Option<i32>,
    /// `current.averageValue`, milli-units.
    pub average_value: Option<i64>,
    /// `current.value`, milli-units.
    pub value: Option<i64>,
}

impl MetricStatus {
    fn empty(source: MetricSourceType) -> Self {
        MetricStatus {
            source,
            average_utilization: None,
            average_value: None,
            value: None,
        }
    }
}

/// The result of one reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileOutcome {
    /// Replica count the scale target should have now (= `spec_replicas` when not rescaled).
    pub desired_replicas: i32,
    /// Whether the controller rescaled the target (`desired_replicas != spec_replicas`).
    pub rescaled: bool,
    /// The maximum over the valid metric proposals, before stabilization and limits (`None`
    /// when metrics were not consulted or could not be used).
    pub proposal: Option<i32>,
    /// Status conditions after this reconcile.
    pub conditions: HpaConditions,
    /// Per-metric statuses, aligned with the effective `spec.metrics`.
    pub metric_statuses: Vec<MetricStatus>,
    /// The error upstream's reconcile would return (invalid metrics), if any. A metric error
    /// that does not block scaling (some metric invalid, scale-up anyway) is reported here too.
    pub error: Option<String>,
}

/// The result of [`HpaController::reconcile_in_place`]: a [`ReconcileOutcome`] without the
/// status, which stays in the controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileStep {
    /// Replica count the scale target should have now (= `spec_replicas` when not rescaled).
    pub desired_replicas: i32,
    /// Whether the controller rescaled the target (`desired_replicas != spec_replicas`).
    pub rescaled: bool,
    /// The maximum over the valid metric proposals, before stabilization and limits (`None`
    /// when metrics were not consulted or could not be used).
    pub proposal: Option<i32>,
    /// The error upstream's reconcile would return (invalid metrics), if any.
    pub error: Option<String>,
}

/// State the HPA controller keeps for one HPA between reconciles: the recent unstabilized
/// recommendations and, when `spec.behavior` is set, the recent scale events; and the status
/// of the last reconcile (conditions, per-metric statuses).
///
/// Both lists stay bounded: an entry older than its window is overwritten rather than a new one
/// appended, as upstream does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HpaController {
    /// `None` until the first reconcile records the initial recommendation.
    recommendations: Option<Vec<TimestampedRecommendation>>,
    scale_up_events: Vec<ScaleEvent>,
    scale_down_events: Vec<ScaleEvent>,
    conditions: HpaConditions,
    metric_statuses: Vec<MetricStatus>,
    /// What the last reconcile's metrics proposed, when they proposed without an error:
    /// `(spec replicas, status replicas, proposal)` (see [`HpaController::reconcile_repeat`]).
    last_proposal: Option<(i32, i32, i32)>,
    /// Whether the last reconcile rescaled.
    last_rescaled: bool,
    /// The verdict the `ScalingLimited` and `AbleToScale` conditions were last set from, when
    /// the last reconcile set them in [`HpaController::conclude`].
    concluded: Option<Verdict>,
}

/// What the normalization of one reconcile decided, as far as the `ScalingLimited` and
/// `AbleToScale` conditions depend on it: reconciles with the same verdict set these
/// conditions alike. `AbleToScale` follows from the current, proposed, stabilized and limited
/// counts (rescaled to the limited count, else the stabilization's note, whose reason is the
/// direction from the current count to the proposal); `ScalingLimited` from the stabilized and
/// limited counts and the limit's reason (each reason has one message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Verdict {
    current: i32,
    prenormalized: i32,
    stabilized: i32,
    limited: i32,
    /// The limit's reason, by address and length: a static string's never change.
    reason: (usize, usize),
}

impl HpaController {
    /// A controller that has never seen this HPA: the first reconcile records
    /// `(spec_replicas, now)` as a recommendation, so there is no scale-down within the first
    /// stabilization window (`recordInitialRecommendation`).
    pub fn new() -> Self {
        Self::default()
    }

    /// A controller with the given history (possibly empty: then no initial recommendation is
    /// recorded, like a non-nil empty slice upstream).
    pub fn with_history(
        recommendations: Vec<TimestampedRecommendation>,
        scale_up_events: Vec<ScaleEvent>,
        scale_down_events: Vec<ScaleEvent>,
    ) -> Self {
        HpaController {
            recommendations: Some(recommendations),
            scale_up_events,
            scale_down_events,
            conditions: HpaConditions::default(),
            metric_statuses: Vec::new(),
            last_proposal: None,
            last_rescaled: false,
            concluded: None,
        }
    }

    /// Replaces the scale-event history (e.g. to resume a recorded state).
    pub fn set_scale_events(&mut self, scale_up: Vec<ScaleEvent>, scale_down: Vec<ScaleEvent>) {
        self.scale_up_events = scale_up;
        self.scale_down_events = scale_down;
    }

    /// A reconcile at `now` whose inputs (spec, configuration, metrics, pods and their
    /// classification) equal those of the last one: the metrics would propose what they
    /// proposed then, so only the normalization (stabilization, limits, conditions) and the
    /// rescale run again, exactly as [`HpaController::reconcile_in_place`] runs them.
    /// `None`, changing nothing, when the last reconcile did not reach a proposal (or reached
    /// it with an error) at these replica counts; then the caller runs the full reconcile.
    pub fn reconcile_repeat(
        &mut self,
        now: Millis,
        spec: &HpaSpec,
        spec_replicas: i32,
        status_replicas: i32,
        cfg: &ControllerConfig,
    ) -> Option<ReconcileStep> {
        let (current, proposal) = self.last_proposal_at(spec_replicas, status_replicas)?;
        Some(self.conclude(now, spec, current, proposal, None, cfg))
    }

    /// The (current replicas, proposal) of the last reconcile that proposed without an error,
    /// when it ran at these replica counts.
    fn last_proposal_at(&self, spec_replicas: i32, status_replicas: i32) -> Option<(i32, i32)> {
        let (current, status, proposal) = self.last_proposal?;
        ((current, status) == (spec_replicas, status_replicas)).then_some((current, proposal))
    }

    /// [`HpaController::reconcile_repeat`] at a time up to the one
    /// [`HpaController::settled_until`] gave after the last reconcile: its outcome is known to
    /// be the last one's (the scale and the conditions stay as they are), so it only records
    /// its recommendation.
    pub fn repeat_settled(
        &mut self,
        now: Millis,
        spec: &HpaSpec,
        spec_replicas: i32,
        status_replicas: i32,
        cfg: &ControllerConfig,
    ) -> Option<ReconcileStep> {
        let (current, proposal) = self.last_proposal_at(spec_replicas, status_replicas)?;
        let (stabilized, _) = self.stabilize(now, spec, current, proposal.max(0), cfg);
        debug_assert_eq!(self.concluded.map(|v| v.stabilized), Some(stabilized));
        debug_assert!(!self.last_rescaled);
        Some(ReconcileStep {
            desired_replicas: current,
            rescaled: false,
            proposal: Some(proposal),
            error: None,
        })
    }

    /// After a reconcile at `now` that proposed without an error and left the scale as it
    /// was: the last time up to which repeating it ([`HpaController::reconcile_repeat`] with
    /// the same inputs) leaves the scale and the conditions as they are, or `None` when that is
    /// not known (a behavior's rate limits depend on the time; a rescale or no proposal).
    ///
    /// The legacy normalization stabilizes to the highest recommendation within the
    /// downscale window. Repeats add the same proposal, so the outcome holds while the
    /// recommendation that makes today's maximum stays within the window.
    pub fn settled_until(
        &self,
        now: Millis,
        spec: &HpaSpec,
        cfg: &ControllerConfig,
    ) -> Option<Millis> {
        let (_, _, proposal) = self.last_proposal?;
        if spec.behavior.is_some() || self.last_rescaled {
            return None;
        }
        let window = cfg.downscale_stabilization_window;
        let cutoff = now.saturating_sub(window);
        // In one pass: the highest recommendation within the window and, when it is above the
        // proposal, the time of the latest at it.
        let (mut highest, mut latest) = (proposal, 0);
        for r in self.recommendations() {
            if r.timestamp < cutoff {
                continue;
            }
            if r.replicas > highest {
                (highest, latest) = (r.replicas, r.timestamp);
            } else if r.replicas == highest {
                latest = latest.max(r.timestamp);
            }
        }
        if highest <= proposal {
            return Some(Millis::MAX);
        }
        // The latest recommendation at the maximum leaves the window after `t + window`.
        Some(latest.saturating_add(window))
    }

    /// Whether the initial recommendation has been recorded (or a history was given).
    pub fn is_initialized(&self) -> bool {
        self.recommendations.is_some()
    }

    /// The stored recommendations.
    pub fn recommendations(&self) -> &[TimestampedRecommendation] {
        self.recommendations.as_deref().unwrap_or(&[])
    }

    /// The stored scale-up events.
    pub fn scale_up_events(&self) -> &[ScaleEvent] {
        &self.scale_up_events
    }

    /// The stored scale-down events.
    pub fn scale_down_events(&self) -> &[ScaleEvent] {
        &self.scale_down_events
    }

    /// The status conditions as last set.
    pub fn conditions(&self) -> &HpaConditions {
        &self.conditions
    }

    /// The per-metric statuses (`status.currentMetrics`) of the last reconcile, aligned with
    /// the effective `spec.metrics` (empty when that reconcile did not consult the metrics).
    pub fn metric_statuses(&self) -> &[MetricStatus] {
        &self.metric_statuses
    }

    /// One reconcile of the HPA at time `now` (`reconcileAutoscaler`).
    ///
    /// `spec_replicas` / `status_replicas` are the scale subresource's `spec.replicas` and
    /// `status.replicas`; `metrics[i]` is what the metrics APIs returned for
    /// `spec.metrics[i]` (a missing entry counts as a fetch error); `pods` are the pods the
    /// target's selector matches, aligned with each [`PodMetrics::per_pod`].
    ///
    /// Returns the outcome with a copy of the status; [`HpaController::reconcile_in_place`]
    /// is the same reconcile leaving the status in the controller.
    #[allow(clippy::too_many_arguments)]
    pub fn reconcile(
        &mut self,
        now: Millis,
        spec: &HpaSpec,
        spec_replicas: i32,
        status_replicas: i32,
        metrics: &[MetricInput],
        pods: &[HpaPod],
        cfg: &ControllerConfig,
    ) -> ReconcileOutcome {
        let step = self.reconcile_in_place(
            now,
            spec,
            spec_replicas,
            status_replicas,
            metrics,
            pods,
            cfg,
        );
        ReconcileOutcome {
            desired_replicas: step.desired_replicas,
            rescaled: step.rescaled,
            proposal: step.proposal,
            conditions: self.conditions.clone(),
            metric_statuses: self.metric_statuses.clone(),
            error: step.error,
        }
    }

    /// [`HpaController::reconcile`] without copying the status out: the conditions and the
    /// per-metric statuses stay in the controller ([`HpaController::conditions`],
    /// [`HpaController::metric_statuses`]), so a reconcile whose conditions do not change
    /// allocates nothing. This is what the simulator runs every sync period.
    #[allow(clippy::too_many_arguments)]
    pub fn reconcile_in_place(
        &mut self,
        now: Millis,
        spec: &HpaSpec,
        spec_replicas: i32,
        status_replicas: i32,
        metrics: &[MetricInput],
        pods: &[HpaPod],
        cfg: &ControllerConfig,
    ) -> ReconcileStep {
        use ConditionType::*;
        self.metric_statuses.clear();
        self.last_proposal = None;
        let current = spec_replicas;
        if self.recommendations.is_none() {
            self.recommendations = Some(vec![TimestampedRecommendation {
                replicas: current,
                timestamp: now,
            }]);
        }
        let min = spec.min_replicas;
        let max = spec.max_replicas;
        // `AbleToScale` is set once, at the end: each step of a reconcile overwrites the one
        // before (the scale was read → the normalization's verdict → the rescale), and only
        // the last is visible.
        let read = AbleToScaleNote::ReadScale;
        if current == 0 && min != 0 {
            self.conditions.set(
                ScalingActive,
                false,
                "ScalingDisabled",
                format_args!("the target has zero replicas, so autoscaling is off"),
            );
            return self.finish(now, spec, current, (0, false), Some(read), None, None);
        } else if current > max {
            return self.finish(now, spec, current, (max, true), Some(read), None, None);
        } else if current < min {
            return self.finish(now, spec, current, (min, true), Some(read), None, None);
        }
        let tolerances = tolerances_for(spec.behavior.as_ref(), cfg);
        let effective = spec.effective_metrics();
        let computed = compute_replicas_for_metrics(
            now,
            &effective,
            metrics,
            spec_replicas,
            status_replicas,
            pods,
            tolerances,
            cfg,
            &mut self.metric_statuses,
        );
        if let Some((reason, message)) = computed.blocking {
            self.conditions.set(
                ScalingActive,
                false,
                reason,
                format_args!("the replica count could not be computed: {message}"),
            );
            return self.finish(
                now,
                spec,
                current,
                (current, false),
                Some(read),
                None,
                computed.error,
            );
        }
        self.conditions.set_valid_metric(computed.metric_name);
        if computed.error.is_none() {
            self.last_proposal = Some((current, status_replicas, computed.replicas));
        }
        self.conclude(now, spec, current, computed.replicas, computed.error, cfg)
    }

    /// The end of a reconcile whose metrics proposed `proposal`: normalization (and the
    /// `ScalingLimited` condition), then the rescale. The conditions are left as they are when
    /// the verdict is the one they were last set from: they would be set to what they are.
    fn conclude(
        &mut self,
        now: Millis,
        spec: &HpaSpec,
        current: i32,
        proposal: i32,
        error: Option<String>,
        cfg: &ControllerConfig,
    ) -> ReconcileStep {
        let prenormalized = proposal.max(0);
        let (stabilized, able) = self.stabilize(now, spec, current, prenormalized, cfg);
        let limited = self.limit(now, spec, current, stabilized, cfg);
        let desired = limited.replicas;
        let rescale = (desired, desired != current);
        let verdict = Some(Verdict {
            current,
            prenormalized,
            stabilized,
            limited: desired,
            reason: (limited.reason.as_ptr() as usize, limited.reason.len()),
        });
        if self.concluded == verdict {
            return self.finish(now, spec, current, rescale, None, Some(proposal), error);
        }
        self.conditions.set_text(
            ConditionType::ScalingLimited,
            desired != stabilized,
            limited.reason,
            limited.message,
        );
        let step = self.finish(
            now,
            spec,
            current,
            rescale,
            Some(able),
            Some(proposal),
            error,
        );
        self.concluded = verdict;
        step
    }

    /// Records a rescale to `desired` (when `rescale`; the scale event, under a behavior) and
    /// the `AbleToScale` verdict (`None`: leaves the condition as it is); the reconcile's
    /// outcome.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        now: Millis,
        spec: &HpaSpec,
        current: i32,
        (desired, rescale): (i32, bool),
        able: Option<AbleToScaleNote>,
        proposal: Option<i32>,
        error: Option<String>,
    ) -> ReconcileStep {
        self.last_rescaled = rescale;
        if !rescale {
            if let Some(able) = able {
                self.set_able_to_scale(able);
            }
            return ReconcileStep {
                desired_replicas: current,
                rescaled: false,
                proposal,
                error,
            };
        }
        if let Some(b) = &spec.behavior {
            if desired > current {
                let rules = HpaScalingRules::effective_scale_up(b.scale_up.as_ref());
                store_scale_event(
                    now,
                    &rules,
                    &mut self.scale_up_events,
                    desired.saturating_sub(current),
                );
            } else {
                let rules = HpaScalingRules::effective_scale_down(b.scale_down.as_ref());
                store_scale_event(
                    now,
                    &rules,
                    &mut self.scale_down_events,
                    current.saturating_sub(desired),
                );
            }
        }
        if able.is_some() {
            self.set_able_to_scale(AbleToScaleNote::Rescaled(desired));
        }
        ReconcileStep {
            desired_replicas: desired,
            rescaled: true,
            proposal,
            error,
        }
    }

    /// Sets the `AbleToScale` condition a reconcile ends with (the verdict it was set from is
    /// then unknown until [`HpaController::conclude`] records it).
    fn set_able_to_scale(&mut self, note: AbleToScaleNote) {
        self.concluded = None;
        let c = &mut self.conditions;
        match note {
            AbleToScaleNote::ReadScale => c.set_text(
                ConditionType::AbleToScale,
                true,
                "SucceededGetScale",
                "the scale target's current scale was read",
            ),
            AbleToScaleNote::Normalized { reason, message } => {
                c.set_text(ConditionType::AbleToScale, true, reason, message)
            }
            AbleToScaleNote::Rescaled(replicas) => c.set(
                ConditionType::AbleToScale,
                true,
                "SucceededRescale",
                format_args!("the target scale was updated to {replicas}"),
            ),
        }
    }

    /// The stabilization of `prenormalized` (recorded in the history): the stabilized count
    /// and the `AbleToScale` verdict.
    fn stabilize(
        &mut self,
        now: Millis,
        spec: &HpaSpec,
        current: i32,
        prenormalized: i32,
        cfg: &ControllerConfig,
    ) -> (i32, AbleToScaleNote) {
        let history = self.recommendations.get_or_insert_with(Vec::new);
        let stabilized = match &spec.behavior {
            None => Stabilized {
                replicas: stabilize_recommendation(
                    now,
                    cfg.downscale_stabilization_window,
                    history,
                    prenormalized,
                ),
                reason: "ScaleDownStabilized",
                message: "recent higher recommendations hold the scale-down back",
            },
            Some(b) => {
                let up = HpaScalingRules::effective_scale_up(b.scale_up.as_ref());
                let down = HpaScalingRules::effective_scale_down(b.scale_down.as_ref());
                // An unset scale-down window is the controller's
                // `--horizontal-pod-autoscaler-downscale-stabilization`.
                let down_window = down
                    .stabilization_window_seconds
                    .unwrap_or_else(|| cfg.downscale_stabilization_window_seconds());
                stabilize_recommendation_with_behaviors(
                    now,
                    history,
                    current,
                    prenormalized,
                    up.stabilization_window_seconds.unwrap_or(0),
                    down_window,
                )
            }
        };
        let able = if stabilized.replicas != prenormalized {
            AbleToScaleNote::Normalized {
                reason: stabilized.reason,
                message: stabilized.message,
            }
        } else {
            AbleToScaleNote::READY
        };
        (stabilized.replicas, able)
    }

    /// The limits on the `stabilized` count: the legacy clamp, or a behavior's rate policies
    /// and the bounds.
    fn limit(
        &self,
        now: Millis,
        spec: &HpaSpec,
        current: i32,
        stabilized: i32,
        cfg: &ControllerConfig,
    ) -> LimitedReplicas {
        let (min, max) = (spec.min_replicas, spec.max_replicas);
        let Some(b) = &spec.behavior else {
            return convert_desired_replicas_with_rules(
                current,
                stabilized,
                min,
                max,
                cfg.scale_up_limit_factor,
                cfg.scale_up_limit_minimum,
            );
        };
        convert_desired_replicas_with_behavior_rate(
            now,
            &BehaviorRateArgs {
                current_replicas: current,
                desired_replicas: stabilized,
                min_replicas: min,
                max_replicas: max,
                scale_up: &HpaScalingRules::effective_scale_up(b.scale_up.as_ref()),
                scale_down: &HpaScalingRules::effective_scale_down(b.scale_down.as_ref()),
                scale_up_events: &self.scale_up_events,
                scale_down_events: &self.scale_down_events,
            },
        )
    }
}

/// The `AbleToScale` condition (always True here) a reconcile ends with.
#[derive(Debug, Clone, Copy)]
enum AbleToScaleNote {
    /// `SucceededGetScale`: the scale was read and the target not rescaled (metrics not
    /// consulted, or they blocked scaling).
    ReadScale,
    /// The normalization's verdict when the target is not rescaled.
    Normalized {
        reason: &'static str,
        message: &'static str,
    },
    /// `SucceededRescale` to this replica count.
    Rescaled(i32),
}

impl AbleToScaleNote {
    /// `ReadyForNewScale`: the stabilization did not change the proposal.
    const READY: AbleToScaleNote = AbleToScaleNote::Normalized {
        reason: "ReadyForNewScale",
        message: "the recommendation equals the stabilized size",
    };
}

/// The tolerances of an HPA: per-direction `behavior.*.tolerance`, else the controller value.
pub fn tolerances_for(behavior: Option<&Behavior>, cfg: &ControllerConfig) -> Tolerances {
    let pick = |r: Option<&HpaScalingRules>| r.and_then(|r| r.tolerance).unwrap_or(cfg.tolerance);
    Tolerances {
        scale_up: pick(behavior.and_then(|b| b.scale_up.as_ref())),
        scale_down: pick(behavior.and_then(|b| b.scale_down.as_ref())),
    }
}

/// What a metric proposal was computed from, as the `ScalingActive` condition names it;
/// joined into a message only when the condition's message changes.
#[derive(Debug, Clone, Copy)]
enum MetricLabel<'a> {
    /// No metric gave a proposal.
    None,
    /// A Resource metric with an AverageValue target.
    Resource(ResourceName),
    /// A (container) resource utilization.
    Utilization {
        resource: ResourceName,
        container: bool,
    },
    /// A Pods metric.
    Pods(&'a str),
    /// An Object metric.
    Object(&'a str),
    /// An External metric.
    External(&'a str),
}

impl<'a> MetricLabel<'a> {
    /// The description as two pieces to concatenate, e.g. `cpu` and ` resource utilization
    /// (percent of request)`, or `pods metric ` and the metric name.
    fn pieces(self) -> [&'a str; 2] {
        match self {
            MetricLabel::Pods(n) => ["pods metric ", n],
            MetricLabel::Object(n) => ["object metric ", n],
            MetricLabel::External(n) => ["external metric ", n],
            _ => self.static_pieces().unwrap_or_default(),
        }
    }

    /// [`MetricLabel::pieces`] when both are static (the description names no metric).
    fn static_pieces(self) -> Option<[&'static str; 2]> {
        Some(match self {
            MetricLabel::None => ["", ""],
            MetricLabel::Resource(r) => [r.as_str(), " resource"],
            MetricLabel::Utilization {
                resource,
                container: false,
            } => [
                resource.as_str(),
                " resource utilization (percent of request)",
            ],
            MetricLabel::Utilization {
                resource,
                container: true,
            } => [
                resource.as_str(),
                " container resource utilization (percent of request)",
            ],
            MetricLabel::Pods(_) | MetricLabel::Object(_) | MetricLabel::External(_) => {
                return None
            }
        })
    }
}

struct Computed<'a> {
    replicas: i32,
    metric_name: MetricLabel<'a>,
    /// `(reason, message)` of the first invalid metric when the controller must not scale.
    blocking: Option<(&'static str, String)>,
    error: Option<String>,
}

/// `computeReplicasForMetrics`: the largest valid proposal; invalid metrics block a scale-down.
/// The per-metric statuses are appended to `statuses`.
#[allow(clippy::too_many_arguments)]
fn compute_replicas_for_metrics<'a>(
    now: Millis,
    specs: &'a [MetricSpec],
    inputs: &[MetricInput],
    spec_replicas: i32,
    status_replicas: i32,
    pods: &[HpaPod],
    tolerances: Tolerances,
    cfg: &ControllerConfig,
    statuses: &mut Vec<MetricStatus>,
) -> Computed<'a> {
    let mut replicas = 0i32;
    let mut metric_name = MetricLabel::None;
    let mut invalid = 0usize;
    let mut first_invalid: Option<(&'static str, String)> = None;
    for (i, spec) in specs.iter().enumerate() {
        match compute_replicas_for_metric(
            now,
            spec,
            inputs.get(i),
            spec_replicas,
            status_replicas,
            pods,
            tolerances,
            cfg,
        ) {
            Ok((proposal, status, name)) => {
                statuses.push(status);
                if replicas == 0 || proposal > replicas {
                    replicas = proposal;
                    metric_name = name;
                }
            }
            Err((reason, message)) => {
                statuses.push(MetricStatus::empty(spec.source_type()));
                if first_invalid.is_none() {
                    first_invalid = Some((reason, message));
                }
                invalid += 1;
            }
        }
    }
    let error = first_invalid.as_ref().map(|(_, m)| {
        format!(
            "invalid metrics ({invalid} invalid out of {}), first error is: {m}",
            specs.len()
        )
    });
    let blocked = invalid >= specs.len() || (invalid > 0 && replicas < spec_replicas);
    Computed {
        replicas,
        metric_name,
        blocking: if blocked {
            Some(first_invalid.unwrap_or((
                "InvalidMetricSourceType",
                "no metrics to compute a replica count from".into(),
            )))
        } else {
            None
        },
        error,
    }
}

type MetricResult<'a> = Result<(i32, MetricStatus, MetricLabel<'a>), (&'static str, String)>;

/// `computeReplicasForMetric` for one metric: (proposal, status, description) or
/// (condition reason, error message).
#[allow(clippy::too_many_arguments)]
fn compute_replicas_for_metric<'a>(
    now: Millis,
    spec: &'a MetricSpec,
    input: Option<&MetricInput>,
    spec_replicas: i32,
    status_replicas: i32,
    pods: &[HpaPod],
    tol: Tolerances,
    cfg: &ControllerConfig,
) -> MetricResult<'a> {
    let source = spec.source_type();
    match spec {
        MetricSpec::Resource(r) => resource_metric(
            now,
            r.name,
            &r.target,
            None,
            input,
            spec_replicas,
            pods,
            tol,
            cfg,
        )
        .map_err(|e| {
            (
                "FailedGetResourceMetric",
                format!("{} resource metric: {e}", r.name),
            )
        }),
        MetricSpec::ContainerResource(r) => resource_metric(
            now,
            r.name,
            &r.target,
            Some(&r.container),
            input,
            spec_replicas,
            pods,
            tol,
            cfg,
        )
        .map_err(|e| {
            (
                "FailedGetContainerResourceMetric",
                format!("container {} metric: {e}", r.container),
            )
        }),
        MetricSpec::Pods(p) => {
            let fail = |e: String| {
                (
                    "FailedGetPodsMetric",
                    format!("pods metric {}: {e}", p.metric.name),
                )
            };
            let MetricTarget::AverageValue(target) = p.target else {
                return Err(fail("a Pods metric needs an AverageValue target".into()));
            };
            let samples = per_pod(input).map_err(fail)?;
            let r =
                plain_metric_replicas(spec_replicas, target, None, tol, now, pods, samples, cfg)
                    .map_err(fail)?;
            Ok((
                r.replicas,
                MetricStatus {
                    average_value: Some(r.average),
                    ..MetricStatus::empty(source)
                },
                MetricLabel::Pods(&p.metric.name),
            ))
        }
        MetricSpec::Object(o) => {
            let fail = |e: String| {
                (
                    "FailedGetObjectMetric",
                    format!("object metric {}: {e}", o.metric.name),
                )
            };
            total_metric(
                &o.target,
                input,
                spec_replicas,
                status_replicas,
                pods,
                tol,
                source,
            )
            .map(|(r, s)| (r, s, MetricLabel::Object(&o.metric.name)))
            .map_err(fail)
        }
        MetricSpec::External(e) => {
            let fail = |m: String| {
                (
                    "FailedGetExternalMetric",
                    format!("external metric {}: {m}", e.metric.name),
                )
            };
            total_metric(
                &e.target,
                input,
                spec_replicas,
                status_replicas,
                pods,
                tol,
                source,
            )
            .map(|(r, s)| (r, s, MetricLabel::External(&e.metric.name)))
            .map_err(fail)
        }
        MetricSpec::Unknown(t) => Err((
            "InvalidMetricSourceType",
            format!("unknown metric source type \"{t}\""),
        )),
    }
}

fn per_pod(input: Option<&MetricInput>) -> Result<&PodMetrics, String> {
    match input {
        Some(MetricInput::PerPod(m)) => Ok(m),
        Some(MetricInput::FetchError(e)) => Err(format!("unable to fetch metrics: {e}")),
        Some(MetricInput::Value(_)) => Err("expected per-pod samples, got a single value".into()),
        None => Err("no metric data supplied".into()),
    }
}

fn total_value(input: Option<&MetricInput>) -> Result<i64, String> {
    match input {
        Some(MetricInput::Value(v)) => Ok(*v),
        Some(MetricInput::FetchError(e)) => Err(format!("unable to fetch metric: {e}")),
        Some(MetricInput::PerPod(_)) => Err("expected a single value, got per-pod samples".into()),
        None => Err("no metric data supplied".into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn resource_metric(
    now: Millis,
    resource: ResourceName,
    target: &MetricTarget,
    container: Option<&str>,
    input: Option<&MetricInput>,
    spec_replicas: i32,
    pods: &[HpaPod],
    tol: Tolerances,
    cfg: &ControllerConfig,
) -> Result<(i32, MetricStatus, MetricLabel<'static>), String> {
    let source = if container.is_some() {
        MetricSourceType::ContainerResource
    } else {
        MetricSourceType::Resource
    };
    let samples = per_pod(input)?;
    match *target {
        MetricTarget::AverageValue(avg) => {
            let r = plain_metric_replicas(
                spec_replicas,
                avg,
                Some(resource),
                tol,
                now,
                pods,
                samples,
                cfg,
            )?;
            Ok((
                r.replicas,
                MetricStatus {
                    average_value: Some(r.average),
                    ..MetricStatus::empty(source)
                },
                MetricLabel::Resource(resource),
            ))
        }
        MetricTarget::Utilization(pct) => {
            let r = resource_utilization_replicas(
                spec_replicas,
                pct,
                resource,
                tol,
                now,
                pods,
                samples,
                cfg,
            )?;
            Ok((
                r.replicas,
                MetricStatus {
                    average_utilization: Some(r.utilization_percent),
                    average_value: Some(r.raw_average),
                    ..MetricStatus::empty(source)
                },
                MetricLabel::Utilization {
                    resource,
                    container: container.is_some(),
                },
            ))
        }
        MetricTarget::Value(_) => {
            Err("a resource metric needs a Utilization or AverageValue target, not Value".into())
        }
    }
}

fn total_metric(
    target: &MetricTarget,
    input: Option<&MetricInput>,
    spec_replicas: i32,
    status_replicas: i32,
    pods: &[HpaPod],
    tol: Tolerances,
    source: MetricSourceType,
) -> Result<(i32, MetricStatus), String> {
    match *target {
        MetricTarget::Value(t) => {
            let v = total_value(input)?;
            let r = object_value_replicas(spec_replicas, t, v, tol, pods)?;
            Ok((
                r.replicas,
                MetricStatus {
                    value: Some(r.value),
                    ..MetricStatus::empty(source)
                },
            ))
        }
        MetricTarget::AverageValue(t) => {
            let v = total_value(input)?;
            let r = average_value_replicas(status_replicas, t, v, tol);
            Ok((
                r.replicas,
                MetricStatus {
                    average_value: Some(r.average),
                    ..MetricStatus::empty(source)
                },
            ))
        }
        MetricTarget::Utilization(_) => {
            Err("neither a Value nor an AverageValue target is set".into())
        }
    }
}
