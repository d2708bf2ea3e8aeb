//! kube-controller-manager settings of the HPA controller, with the upstream production defaults.

use crate::time::{Millis, MINUTE, SECOND};

/// `--horizontal-pod-autoscaler-sync-period` default (`pkg/controller/podautoscaler/config/v1alpha1/defaults.go`).
pub const DEFAULT_SYNC_PERIOD: Millis = 15 * SECOND;
/// `--horizontal-pod-autoscaler-tolerance` default (`config/v1alpha1/defaults.go`).
pub const DEFAULT_TOLERANCE: f64 = 0.1;
/// `--horizontal-pod-autoscaler-downscale-stabilization` default (`config/v1alpha1/defaults.go`).
pub const DEFAULT_DOWNSCALE_STABILIZATION_WINDOW: Millis = 5 * MINUTE;
/// `--horizontal-pod-autoscaler-cpu-initialization-period` default (`config/v1alpha1/defaults.go`).
pub const DEFAULT_CPU_INITIALIZATION_PERIOD: Millis = 5 * MINUTE;
/// `--horizontal-pod-autoscaler-initial-readiness-delay` default (`config/v1alpha1/defaults.go`).
pub const DEFAULT_INITIAL_READINESS_DELAY: Millis = 30 * SECOND;
/// Legacy-path scale-up factor, `scaleUpLimitFactor` (`podautoscaler/horizontal.go`; the
/// controller unit tests override it to 8).
pub const LEGACY_SCALE_UP_LIMIT_FACTOR: f64 = 2.0;
/// Legacy-path scale-up floor, `scaleUpLimitMinimum` (`podautoscaler/horizontal.go`).
pub const LEGACY_SCALE_UP_LIMIT_MINIMUM: f64 = 4.0;

/// Controller-wide HPA settings (one kube-controller-manager).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControllerConfig {
    /// How often each HPA is reconciled.
    pub sync_period: Millis,
    /// Tolerance used in both directions when the HPA sets none (KEP-4951).
    pub tolerance: f64,
    /// Scale-down stabilization window used by the legacy path, and by the behavior path when
    /// `behavior.scaleDown.stabilizationWindowSeconds` is unset.
    pub downscale_stabilization_window: Millis,
    /// After a pod starts, CPU samples are distrusted for this long (readiness checks, CPU only).
    pub cpu_initialization_period: Millis,
    /// A pod that turned unready within this delay of starting is treated as never-ready.
    pub initial_readiness_delay: Millis,
    /// Legacy path: scale up to at most `factor × current` per reconcile ...
    pub scale_up_limit_factor: f64,
    /// ... but always allow at least this many replicas.
    pub scale_up_limit_minimum: f64,
    /// Leave out the guard of PR #85027/#89465 (a proposal from pods with filled-in metrics
    /// must not move against the usage ratio): the pre-1.19 surge ratchet.
    pub pre_surge_fix: bool,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            sync_period: DEFAULT_SYNC_PERIOD,
            tolerance: DEFAULT_TOLERANCE,
            downscale_stabilization_window: DEFAULT_DOWNSCALE_STABILIZATION_WINDOW,
            cpu_initialization_period: DEFAULT_CPU_INITIALIZATION_PERIOD,
            initial_readiness_delay: DEFAULT_INITIAL_READINESS_DELAY,
            scale_up_limit_factor: LEGACY_SCALE_UP_LIMIT_FACTOR,
            scale_up_limit_minimum: LEGACY_SCALE_UP_LIMIT_MINIMUM,
            pre_surge_fix: false,
        }
    }
}

impl ControllerConfig {
    /// The downscale stabilization window in whole seconds, as the behavior path uses it
    /// (`int32(window.Seconds())`, truncated; saturating).
    pub fn downscale_stabilization_window_seconds(&self) -> i32 {
        i32::try_from(self.downscale_stabilization_window / SECOND).unwrap_or(i32::MAX)
    }
}
