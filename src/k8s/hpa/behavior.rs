//! Normalization of a replica proposal (`horizontal.go`): stabilization windows, the
//! `spec.behavior` rate policies, the legacy scale-up clamp, and the scale-event bookkeeping.
//!
//! All functions take the current time explicitly. A recommendation or event counts inside a
//! window only if it is strictly newer than `now − window`, and is "old" only if strictly older,
//! as with Go's `time.After` / `time.Before`.

use super::replica_calculator::ceil_to_i32;
use super::spec::{HpaScalingRules, PolicyType, SelectPolicy};
use crate::time::Millis;

/// An unstabilized proposal the controller remembers (`timestampedRecommendation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampedRecommendation {
    /// Proposed replica count.
    pub replicas: i32,
    /// When it was proposed.
    pub timestamp: Millis,
}

/// A past rescale in one direction (`timestampedScaleEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleEvent {
    /// |new − old| replicas, non-negative.
    pub replica_change: i32,
    /// When the rescale happened.
    pub timestamp: Millis,
    /// Older than the direction's longest policy period; the slot may be reused.
    pub outdated: bool,
}

/// A normalized replica count with the `ScalingLimited` reason upstream reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitedReplicas {
    /// The allowed replica count.
    pub replicas: i32,
    /// `ScaleUpLimit`, `TooManyReplicas`, `ScaleDownLimit`, `TooFewReplicas` or
    /// `DesiredWithinRange`.
    pub reason: &'static str,
    /// Human-readable explanation.
    pub message: &'static str,
}

/// A stabilized replica count with the `AbleToScale` reason it would report when it differs
/// from the proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stabilized {
    /// The stabilized replica count.
    pub replicas: i32,
    /// `ScaleUpStabilized` (proposal ≥ current) or `ScaleDownStabilized`.
    pub reason: &'static str,
    /// Human-readable explanation.
    pub message: &'static str,
}

/// `ScalingLimited` reason: the scale-up rate limit binds.
pub const REASON_SCALE_UP_LIMIT: &str = "ScaleUpLimit";
/// `ScalingLimited` reason: `maxReplicas` binds.
pub const REASON_TOO_MANY_REPLICAS: &str = "TooManyReplicas";
/// `ScalingLimited` reason: the scale-down rate limit binds.
pub const REASON_SCALE_DOWN_LIMIT: &str = "ScaleDownLimit";
/// `ScalingLimited` reason: `minReplicas` binds.
pub const REASON_TOO_FEW_REPLICAS: &str = "TooFewReplicas";
/// `ScalingLimited` reason: nothing binds.
pub const REASON_DESIRED_WITHIN_RANGE: &str = "DesiredWithinRange";

const MSG_UP_RATE: &str = "desired replicas grow faster than the scale-up rate allows";
const MSG_MAX: &str = "desired replicas exceed maxReplicas";
const MSG_DOWN_RATE: &str = "desired replicas shrink faster than the scale-down rate allows";
const MSG_MIN: &str = "desired replicas are below minReplicas";
const MSG_WITHIN: &str = "desired replicas are within the allowed range";

fn secs_ms(seconds: i32) -> i128 {
    seconds as i128 * 1000
}

/// `ts` is strictly after `now − window_ms`.
fn newer_than(ts: Millis, now: Millis, window_ms: i128) -> bool {
    (ts as i128) > (now as i128) - window_ms
}

/// `ts` is strictly before `now − window_ms`.
fn older_than(ts: Millis, now: Millis, window_ms: i128) -> bool {
    (ts as i128) < (now as i128) - window_ms
}

fn saturate_i32(x: i64) -> i32 {
    x.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// Legacy stabilization (`stabilizeRecommendation`, `spec.behavior == nil`): returns the maximum
/// of `prenormalized` and every recommendation newer than `now − window`, then records
/// `prenormalized` (replacing the last entry older than the window, or appending).
pub fn stabilize_recommendation(
    now: Millis,
    window: Millis,
    history: &mut Vec<TimestampedRecommendation>,
    prenormalized: i32,
) -> i32 {
    // `older_than(ts, now, window)` in `u64`: `ts < now − window`, never when `now < window`.
    let cutoff = now.saturating_sub(window);
    let mut max_rec = prenormalized;
    // The last old slot, `len` for none. This loop runs at every sync: an index loop and no
    // `Option` compile to the tightest code (measured: fewer instructions than `enumerate`).
    let mut old_slot = history.len();
    #[allow(clippy::needless_range_loop)]
    for i in 0..history.len() {
        let rec = history[i];
        if rec.timestamp < cutoff {
            old_slot = i;
        } else {
            max_rec = max_rec.max(rec.replicas);
        }
    }
    let new = TimestampedRecommendation {
        replicas: prenormalized,
        timestamp: now,
    };
    match history.get_mut(old_slot) {
        Some(slot) => *slot = new,
        None => history.push(new),
    }
    max_rec
}

/// Behavior stabilization (`stabilizeRecommendationWithBehaviors`).
///
/// up = min(desired, recommendations newer than the scale-up window), down = max(desired,
/// recommendations newer than the scale-down window); the result is `current` raised to `up`
/// and then lowered to `down`. `desired` is then recorded, reusing a slot older than both
/// windows if there is one.
pub fn stabilize_recommendation_with_behaviors(
    now: Millis,
    history: &mut Vec<TimestampedRecommendation>,
    current: i32,
    desired: i32,
    scale_up_window_seconds: i32,
    scale_down_window_seconds: i32,
) -> Stabilized {
    let up_ms = secs_ms(scale_up_window_seconds);
    let down_ms = secs_ms(scale_down_window_seconds);
    let mut up = desired;
    let mut down = desired;
    let mut old_slot = None;
    for (i, rec) in history.iter().enumerate() {
        if newer_than(rec.timestamp, now, up_ms) {
            up = up.min(rec.replicas);
        }
        if newer_than(rec.timestamp, now, down_ms) {
            down = down.max(rec.replicas);
        }
        if older_than(rec.timestamp, now, up_ms) && older_than(rec.timestamp, now, down_ms) {
            old_slot = Some(i);
        }
    }
    let mut replicas = current;
    if replicas < up {
        replicas = up;
    }
    if replicas > down {
        replicas = down;
    }
    let new = TimestampedRecommendation {
        replicas: desired,
        timestamp: now,
    };
    match old_slot {
        Some(i) => history[i] = new,
        None => history.push(new),
    }
    if desired >= current {
        Stabilized {
            replicas,
            reason: "ScaleUpStabilized",
            message: "recent lower recommendations hold the scale-up back",
        }
    } else {
        Stabilized {
            replicas,
            reason: "ScaleDownStabilized",
            message: "recent higher recommendations hold the scale-down back",
        }
    }
}

/// Sum of `replica_change` over events strictly newer than `now − period`
/// (`getReplicasChangePerPeriod`).
pub fn replicas_change_per_period(now: Millis, period_seconds: i32, events: &[ScaleEvent]) -> i64 {
    let period_ms = secs_ms(period_seconds);
    events
        .iter()
        .filter(|e| newer_than(e.timestamp, now, period_ms))
        .map(|e| e.replica_change as i64)
        .sum()
}

fn period_start(
    now: Millis,
    current: i32,
    period_seconds: i32,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
) -> i64 {
    current as i64 - replicas_change_per_period(now, period_seconds, up_events)
        + replicas_change_per_period(now, period_seconds, down_events)
}

/// Highest replica count the scale-up policies allow (`calculateScaleUpLimitWithScalingRules`).
///
/// Per policy, from the replica count at the start of its period: Pods → start + value,
/// Percent → ceil(start × (1 + value/100)). Max (also when unset) takes the largest, Min the
/// smallest; Disabled returns `current`. With no policies, Max yields `i32::MIN` and Min
/// `i32::MAX`, as upstream.
pub fn calculate_scale_up_limit_with_scaling_rules(
    now: Millis,
    current: i32,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    rules: &HpaScalingRules,
) -> i32 {
    let select = rules.select_policy.unwrap_or(SelectPolicy::Max);
    if select == SelectPolicy::Disabled {
        return current;
    }
    let mut result = if select == SelectPolicy::Min {
        i32::MAX
    } else {
        i32::MIN
    };
    for p in rules.policy_list() {
        let start = period_start(now, current, p.period_seconds, up_events, down_events);
        let proposed = match p.policy_type {
            PolicyType::Pods => saturate_i32(start.saturating_add(p.value as i64)),
            PolicyType::Percent => ceil_to_i32(start as f64 * (1.0 + p.value as f64 / 100.0)),
        };
        result = if select == SelectPolicy::Min {
            result.min(proposed)
        } else {
            result.max(proposed)
        };
    }
    result
}

/// Lowest replica count the scale-down policies allow (`calculateScaleDownLimitWithBehaviors`).
///
/// Per policy: Pods → start − value, Percent → trunc(start × (1 − value/100)). Max (also when
/// unset) takes the smallest (the biggest drop), Min the largest; Disabled returns `current`.
pub fn calculate_scale_down_limit_with_behaviors(
    now: Millis,
    current: i32,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    rules: &HpaScalingRules,
) -> i32 {
    let select = rules.select_policy.unwrap_or(SelectPolicy::Max);
    if select == SelectPolicy::Disabled {
        return current;
    }
    let mut result = if select == SelectPolicy::Min {
        i32::MIN
    } else {
        i32::MAX
    };
    for p in rules.policy_list() {
        let start = period_start(now, current, p.period_seconds, up_events, down_events);
        let proposed = match p.policy_type {
            PolicyType::Pods => saturate_i32(start.saturating_sub(p.value as i64)),
            // `as` truncates toward zero and saturates, like Go's int32() on in-range values.
            PolicyType::Percent => (start as f64 * (1.0 - p.value as f64 / 100.0)) as i32,
        };
        result = if select == SelectPolicy::Min {
            result.max(proposed)
        } else {
            result.min(proposed)
        };
    }
    result
}

/// The inputs of [`convert_desired_replicas_with_behavior_rate`] (`NormalizationArg`).
#[derive(Debug, Clone, Copy)]
pub struct BehaviorRateArgs<'a> {
    /// `scale.spec.replicas`.
    pub current_replicas: i32,
    /// The stabilized proposal.
    pub desired_replicas: i32,
    /// `spec.minReplicas`.
    pub min_replicas: i32,
    /// `spec.maxReplicas`.
    pub max_replicas: i32,
    /// Defaulted scale-up rules.
    pub scale_up: &'a HpaScalingRules,
    /// Defaulted scale-down rules.
    pub scale_down: &'a HpaScalingRules,
    /// Past scale-up events.
    pub scale_up_events: &'a [ScaleEvent],
    /// Past scale-down events.
    pub scale_down_events: &'a [ScaleEvent],
}

/// Applies the behavior rate policies and the replica bounds in the direction of the change
/// (`convertDesiredReplicasWithBehaviorRate`).
///
/// Scale-up: limit = max(policy limit, current); allowed = min(maxReplicas, limit), reason
/// `ScaleUpLimit` if the limit is the tighter bound, else `TooManyReplicas`. Scale-down
/// mirrors this with `ScaleDownLimit` / `TooFewReplicas`. Otherwise `DesiredWithinRange`.
pub fn convert_desired_replicas_with_behavior_rate(
    now: Millis,
    args: &BehaviorRateArgs<'_>,
) -> LimitedReplicas {
    let current = args.current_replicas;
    let desired = args.desired_replicas;
    if desired > current {
        let limit = calculate_scale_up_limit_with_scaling_rules(
            now,
            current,
            args.scale_up_events,
            args.scale_down_events,
            args.scale_up,
        )
        .max(current);
        let (allowed, reason, message) = if args.max_replicas > limit {
            (limit, REASON_SCALE_UP_LIMIT, MSG_UP_RATE)
        } else {
            (args.max_replicas, REASON_TOO_MANY_REPLICAS, MSG_MAX)
        };
        if desired > allowed {
            return LimitedReplicas {
                replicas: allowed,
                reason,
                message,
            };
        }
    } else if desired < current {
        let limit = calculate_scale_down_limit_with_behaviors(
            now,
            current,
            args.scale_up_events,
            args.scale_down_events,
            args.scale_down,
        )
        .min(current);
        let (allowed, reason, message) = if args.min_replicas < limit {
            (limit, REASON_SCALE_DOWN_LIMIT, MSG_DOWN_RATE)
        } else {
            (args.min_replicas, REASON_TOO_FEW_REPLICAS, MSG_MIN)
        };
        if desired < allowed {
            return LimitedReplicas {
                replicas: allowed,
                reason,
                message,
            };
        }
    }
    LimitedReplicas {
        replicas: desired,
        reason: REASON_DESIRED_WITHIN_RANGE,
        message: MSG_WITHIN,
    }
}

/// Legacy per-reconcile scale-up bound: `max(factor × current, minimum)`, truncated
/// (`calculateScaleUpLimit`).
pub fn calculate_scale_up_limit(current: i32, factor: f64, minimum: f64) -> i32 {
    (factor * current as f64).max(minimum) as i32
}

/// Legacy clamp (`convertDesiredReplicasWithRules`): into
/// [minReplicas, min(maxReplicas, max(factor × current, minimum))].
pub fn convert_desired_replicas_with_rules(
    current: i32,
    desired: i32,
    min_replicas: i32,
    max_replicas: i32,
    factor: f64,
    minimum: f64,
) -> LimitedReplicas {
    let scale_up_limit = calculate_scale_up_limit(current, factor, minimum);
    let (max_allowed, reason, message) = if max_replicas > scale_up_limit {
        (scale_up_limit, REASON_SCALE_UP_LIMIT, MSG_UP_RATE)
    } else {
        (max_replicas, REASON_TOO_MANY_REPLICAS, MSG_MAX)
    };
    if desired < min_replicas {
        LimitedReplicas {
            replicas: min_replicas,
            reason: REASON_TOO_FEW_REPLICAS,
            message: MSG_MIN,
        }
    } else if desired > max_allowed {
        LimitedReplicas {
            replicas: max_allowed,
            reason,
            message,
        }
    } else {
        LimitedReplicas {
            replicas: desired,
            reason: REASON_DESIRED_WITHIN_RANGE,
            message: MSG_WITHIN,
        }
    }
}

/// Longest `periodSeconds` among the policies, 0 without policies (`getLongestPolicyPeriod`).
pub fn longest_policy_period(rules: &HpaScalingRules) -> i32 {
    rules
        .policy_list()
        .iter()
        .map(|p| p.period_seconds)
        .fold(0, i32::max)
}

/// Marks events strictly older than `now − longest period` as outdated
/// (`markScaleEventsOutdated`).
pub fn mark_scale_events_outdated(
    events: &mut [ScaleEvent],
    now: Millis,
    longest_period_seconds: i32,
) {
    let ms = secs_ms(longest_period_seconds);
    for e in events.iter_mut() {
        if older_than(e.timestamp, now, ms) {
            e.outdated = true;
        }
    }
}

/// Records a rescale from `prev` to `new` in `events` (the list for its direction), after
/// marking outdated events; the last outdated slot is reused, else the event is appended
/// (`storeScaleEvent`). `rules` are the defaulted rules of that direction.
pub fn store_scale_event(
    now: Millis,
    rules: &HpaScalingRules,
    events: &mut Vec<ScaleEvent>,
    replica_change: i32,
) {
    mark_scale_events_outdated(events, now, longest_policy_period(rules));
    let new = ScaleEvent {
        replica_change,
        timestamp: now,
        outdated: false,
    };
    match events.iter().rposition(|e| e.outdated) {
        Some(i) => events[i] = new,
        None => events.push(new),
    }
}
