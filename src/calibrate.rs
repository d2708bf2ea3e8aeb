//! Fitting a service profile from recorded pod metrics that carry both usage and request rate
//! (the Nezha files do). No IO: samples in, a fit and a profile text out.
//!
//! - **CPU**: least squares (nalgebra, SVD) of `cpu_cores = idle + cpu_s_per_request × rate`
//!   over every sample of the service's pods: the intercept is the idle CPU, the slope the CPU
//!   time of one request on one core.
//! - **Memory**: least squares of `working_set = base + per_in_flight × in_flight`, with
//!   `in_flight = rate × latency` by Little's law. The Nezha files record the pod's server-side
//!   p90 latency, not the mean, so the p90 stands in for it (it overstates in-flight requests,
//!   hence understates the per-request memory; stated in the report).
//!
//! Each fit reports R² and the residual spread: the residual standard deviation σ (with n − 2
//! degrees of freedom) and the share of samples within ±2σ of the fit.

use nalgebra::{DMatrix, DVector};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ingest::metrics::{workload_of, UsageSample};
use crate::model::load::from_yaml_str;
use crate::model::service::ServiceProfile;
use crate::quantity::{Bytes, MilliCpu};

/// Fewest samples a fit needs.
pub const MIN_SAMPLES: usize = 10;

/// A straight-line least-squares fit `y = intercept + slope × x`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LineFit {
    /// Value at x = 0.
    pub intercept: f64,
    /// Change of y per unit of x.
    pub slope: f64,
    /// Coefficient of determination, 1 − SS_res / SS_tot (0 when y is constant).
    pub r_squared: f64,
    /// Residual standard deviation, √(SS_res / (n − 2)).
    pub residual_sd: f64,
    /// Share of samples whose residual lies within ±2 σ.
    pub within_2sd: f64,
    /// Samples used.
    pub samples: usize,
    /// 95 % confidence interval of the slope (Student's t with n − 2 degrees of freedom on
    /// its standard error σ / √Σ(x − x̄)²).
    pub slope_ci95: (f64, f64),
}

impl LineFit {
    /// The fitted y at `x`.
    pub fn predict(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Least squares of `y` on `[1, x]` through nalgebra's SVD; `None` with fewer than
/// [`MIN_SAMPLES`] points, when x does not vary, or when a value is not finite (nalgebra's SVD
/// panics on one).
pub fn fit_line(x: &[f64], y: &[f64]) -> Option<LineFit> {
    let n = x.len().min(y.len());
    if n < MIN_SAMPLES || !x[..n].iter().chain(&y[..n]).all(|v| v.is_finite()) {
        return None;
    }
    let a = DMatrix::from_fn(n, 2, |i, j| if j == 0 { 1.0 } else { x[i] });
    let b = DVector::from_column_slice(&y[..n]);
    let svd = a.clone().svd(true, true);
    // Rank 1 (x constant) has no slope.
    if svd.rank(1e-12 * svd.singular_values.max()) < 2 {
        return None;
    }
    let beta = svd.solve(&b, 1e-12).ok()?;
    let residuals = &b - &a * &beta;
    let ss_res = residuals.norm_squared();
    let mean = b.mean();
    let ss_tot: f64 = b.iter().map(|v| (v - mean).powi(2)).sum();
    let sd = (ss_res / (n as f64 - 2.0)).sqrt();
    let within = residuals.iter().filter(|r| r.abs() <= 2.0 * sd).count() as f64 / n as f64;
    let x_mean = x[..n].iter().sum::<f64>() / n as f64;
    let sxx: f64 = x[..n].iter().map(|v| (v - x_mean).powi(2)).sum();
    let half = crate::search::risk::t975(n - 2) * sd / sxx.sqrt();
    Some(LineFit {
        intercept: beta[0],
        slope: beta[1],
        // y constant up to rounding (the mean of equal floats is not always equal to them):
        // its SS_tot is rounding noise, and 1 − noise / noise gave any R² (0.998 for a
        // constant CPU series).
        r_squared: if ss_tot > 1e-24 * n as f64 * mean * mean {
            1.0 - ss_res / ss_tot
        } else {
            0.0
        },
        residual_sd: sd,
        within_2sd: within,
        samples: n,
        slope_ci95: (beta[1] - half, beta[1] + half),
    })
}

/// Below this R², a fit's per-request term explains too little of the usage to size from.
pub const WEAK_FIT_R_SQUARED: f64 = 0.5;

/// How a fit is named in notes, and its slope's display scale and unit.
type FitName = (&'static str, f64, &'static str);
const CPU_FIT: FitName = ("CPU", 1000.0, "ms per request");
const MEMORY_FIT: FitName = ("memory", 1.0 / 1024.0, "KiB per in-flight request");

/// The note on a fit whose per-request term the data hardly support (R² below
/// [`WEAK_FIT_R_SQUARED`], or a slope interval that holds 0).
fn weak_fit_note(fit: &LineFit, (what, scale, unit): FitName) -> Option<String> {
    let (lo, hi) = fit.slope_ci95;
    if fit.r_squared >= WEAK_FIT_R_SQUARED && lo > 0.0 {
        return None;
    }
    Some(format!(
        "the {what} fit is weak: R² {:.3}, per-request term {:.4} {u} (95 % interval \
         [{:.4}, {:.4}]{}): the request rate explains little of the usage in these metrics, so \
         the profile's per-request figure is a guess; check it against a load test or more \
         varied traffic before sizing from it",
        fit.r_squared,
        fit.slope * scale,
        lo * scale,
        hi * scale,
        if lo <= 0.0 { ", which holds 0" } else { "" },
        u = unit,
    ))
}

/// What [`calibrate`] found for one service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// The service (workload) name.
    pub service: String,
    /// Its pods.
    pub pods: Vec<String>,
    /// CPU cores on requests per second.
    pub cpu: LineFit,
    /// Working-set bytes on in-flight requests.
    pub memory: LineFit,
    /// Mean request rate over the samples, per second.
    pub mean_rate_per_s: f64,
    /// Notes on assumptions and clamped values.
    pub notes: Vec<String>,
}

/// Fits `service`'s CPU and memory models from `samples` (those of its pods, by
/// [`workload_of`]); `source` names the input in errors.
pub fn calibrate(samples: &[UsageSample], service: &str, source: &str) -> Result<Calibration> {
    let mine: Vec<&UsageSample> = samples
        .iter()
        .filter(|s| workload_of(&s.pod) == service)
        .collect();
    if mine.is_empty() {
        let mut known: Vec<&str> = samples.iter().map(|s| workload_of(&s.pod)).collect();
        known.sort_unstable();
        known.dedup();
        return Err(Error::input(
            source,
            None,
            format!(
                "no pod of service `{service}` in the metrics; the services there are: {}",
                known.join(", ")
            ),
        ));
    }
    let (mut cx, mut cy, mut mx, mut my) = (vec![], vec![], vec![], vec![]);
    for s in &mine {
        let Some(rate) = s.requests_per_s else {
            continue;
        };
        if let Some(cpu) = s.cpu_cores() {
            cx.push(rate);
            cy.push(cpu);
        }
        if let (Some(mem), Some(lat)) = (s.working_set_bytes, s.server_latency_p90_s) {
            mx.push(rate * lat);
            my.push(mem as f64);
        }
    }
    let need = |what: &str, n: usize| {
        Error::input(
            source,
            None,
            format!(
                "service `{service}`: {n} samples with {what}; calibration needs at least \
                 {MIN_SAMPLES} whose request rate varies (the Nezha files' PodWorkload(Ops))"
            ),
        )
    };
    let cpu = fit_line(&cx, &cy).ok_or_else(|| need("CPU usage and a request rate", cx.len()))?;
    let memory =
        fit_line(&mx, &my).ok_or_else(|| need("memory, a request rate and a latency", mx.len()))?;
    let mut pods: Vec<String> = mine.iter().map(|s| s.pod.clone()).collect();
    pods.sort();
    pods.dedup();
    let mut notes = vec![
        "in-flight requests = request rate x server p90 latency (the files have no mean latency)"
            .to_string(),
    ];
    if cpu.intercept < 0.0 {
        notes.push(format!(
            "the CPU fit's idle term is negative ({:.2}m); the profile uses 0",
            cpu.intercept * 1000.0
        ));
    }
    if cpu.slope < 0.0 {
        notes.push("the CPU fit's per-request term is negative; the profile uses 0".into());
    }
    if memory.slope < 0.0 {
        notes.push("the memory fit's per-in-flight term is negative; the profile uses 0".into());
    }
    notes.extend(weak_fit_note(&cpu, CPU_FIT));
    notes.extend(weak_fit_note(&memory, MEMORY_FIT));
    Ok(Calibration {
        service: service.to_string(),
        pods,
        mean_rate_per_s: cx.iter().sum::<f64>() / cx.len() as f64,
        cpu,
        memory,
        notes,
    })
}

/// The service profile YAML of a calibration: fitted idle CPU, CPU per request, base memory
/// and memory per in-flight request in one request class named `class` (as the scenario's SLA
/// names it); one worker and the other fields at stated, assumed defaults. The text is checked
/// to load back as a [`ServiceProfile`] before it is returned.
pub fn profile_yaml(c: &Calibration, class: &str, source: &str) -> Result<String> {
    let idle = MilliCpu((c.cpu.intercept.max(0.0) * 1000.0).round() as i64);
    let cpu_ms = c.cpu.slope.max(0.0) * 1000.0;
    // Whole KiB, so the profile reads `34505Ki`, not `35333621`: the fit is not that exact.
    let kib = |b: f64| Bytes((b.max(0.0) / 1024.0).round() as i64 * 1024);
    let (base, per_request) = (kib(c.memory.intercept), kib(c.memory.slope));
    // A weak fit's warning travels with the profile, where it will be used.
    let weak: String = [
        weak_fit_note(&c.cpu, CPU_FIT),
        weak_fit_note(&c.memory, MEMORY_FIT),
    ]
    .into_iter()
    .flatten()
    .map(|n| format!("# WARNING: {n}\n"))
    .collect();
    let text = format!(
        "# Calibrated by `costsim calibrate` from {source} ({n} samples, pods: {pods}).\n\
         {weak}\
         # CPU: cpu = idle + cpu_ms x rate, R^2 {cr2:.3}, residual sd {csd:.2}m.\n\
         # Memory: working set = base + per-request x in-flight (rate x p90 latency), R^2 {mr2:.3},\n\
         # residual sd {msd:.2}Mi. Fields marked assumed are not in the metrics.\n\
         name: {name}\n\
         description: calibrated from recorded metrics ({n} samples)\n\
         workers: 1                       # assumed\n\
         concurrency_per_worker: 100      # assumed\n\
         idle_cpu: {idle}\n\
         memory:\n\
         \x20 base_pod: {base}\n\
         \x20 base_per_worker: 0\n\
         startup:                         # assumed\n\
         \x20 min: 5s\n\
         \x20 max: 20s\n\
         readiness_delay: 5s              # assumed\n\
         timeout: 60s                     # assumed\n\
         classes:\n\
         \x20 - name: {class}\n\
         \x20   share: 1.0\n\
         \x20   cpu_ms: {cpu_ms:.4}\n\
         \x20   cpu_scv: 1.0                 # assumed\n\
         \x20   network_ms: 0                # assumed\n\
         \x20   memory_per_request: {per_request}\n",
        n = c.cpu.samples,
        pods = c.pods.join(", "),
        cr2 = c.cpu.r_squared,
        csd = c.cpu.residual_sd * 1000.0,
        mr2 = c.memory.r_squared,
        msd = c.memory.residual_sd / 1_048_576.0,
        name = c.service,
    );
    let profile: ServiceProfile = from_yaml_str(&text, "<calibrated profile>")?;
    profile
        .validate()
        .map_err(|(field, why)| Error::internal(format!("calibrated profile: {field}: {why}")))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line_is_recovered() {
        let x: Vec<f64> = (0..20).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| 0.005 + 0.002 * v).collect();
        let f = fit_line(&x, &y).unwrap();
        assert!((f.intercept - 0.005).abs() < 1e-12);
        assert!((f.slope - 0.002).abs() < 1e-12);
        assert!((f.r_squared - 1.0).abs() < 1e-12);
        assert!(f.residual_sd < 1e-12);
    }

    #[test]
    fn noisy_line_reports_its_spread() {
        let x: Vec<f64> = (0..40).map(f64::from).collect();
        // Alternating ±1 noise: σ = √(40 / 38), every residual within 2σ.
        let y: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| 3.0 + 2.0 * v + if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let f = fit_line(&x, &y).unwrap();
        assert!((f.slope - 2.0).abs() < 0.01, "{}", f.slope);
        assert!((f.residual_sd - (40.0f64 / 38.0).sqrt()).abs() < 0.01);
        assert_eq!(f.within_2sd, 1.0);
        assert_eq!(f.predict(10.0), f.intercept + 10.0 * f.slope);
    }

    #[test]
    fn slope_interval_is_students_t_on_the_standard_error() {
        // y = 2x ± 1 over x = 0..9: slope 2.0606, σ 1.10096, Σ(x − x̄)² 82.5, t(0.975, 8)
        // 2.306004 (hand-computed).
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let y: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| 2.0 * v + if i % 2 == 1 { 1.0 } else { -1.0 })
            .collect();
        let f = fit_line(&x, &y).unwrap();
        let (lo, hi) = f.slope_ci95;
        assert!((lo - 1.781_090_4).abs() < 1e-6, "{lo}");
        assert!((hi - 2.340_121_7).abs() < 1e-6, "{hi}");
        // A clear fit raises no note.
        assert_eq!(weak_fit_note(&f, CPU_FIT), None);
    }

    #[test]
    fn a_fit_that_explains_little_is_called_weak() {
        // Usage that barely follows the rate: big noise around a small slope.
        let x: Vec<f64> = (0..40).map(f64::from).collect();
        let y: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| 0.01 + 0.0001 * v + if i % 2 == 0 { 0.01 } else { -0.01 })
            .collect();
        let f = fit_line(&x, &y).unwrap();
        assert!(f.r_squared < WEAK_FIT_R_SQUARED, "{}", f.r_squared);
        let note = weak_fit_note(&f, CPU_FIT).unwrap();
        assert!(note.starts_with("the CPU fit is weak: R² "), "{note}");
        assert!(note.contains("ms per request (95 % interval ["), "{note}");
    }

    #[test]
    fn constant_rate_or_few_points_cannot_be_fitted() {
        assert!(fit_line(&[1.0; 30], &[2.0; 30]).is_none());
        assert!(fit_line(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).is_none());
    }
}
