//! The report's plots, drawn with plotters as SVG text and PNG files. All text uses the
//! bundled Liberation Sans (assets/fonts, SIL OFL 1.1) through plotters' `ab_glyph` backend, so
//! PNGs render the same without system fonts.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Error, Result};

/// The bundled font (Liberation Sans Regular 2.1.5, SIL OFL 1.1; see assets/fonts/README.md).
const FONT: &[u8] = include_bytes!("../../assets/fonts/LiberationSans-Regular.ttf");
/// The family name plotters draws with.
const FAMILY: &str = "sans-serif";
/// Plot size in pixels (SVG user units and PNG pixels).
pub const SIZE: (u32, u32) = (960, 540);

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font (checked by the plot tests).
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// A series of points with a label.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
    /// Palette index.
    pub color: usize,
    /// Drawn thin and light (the current config), else bold (the recommended one).
    pub light: bool,
}

/// A line chart.
#[derive(Debug, Clone)]
pub struct LineChart {
    /// Title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Lines.
    pub series: Vec<Series>,
    /// A shaded horizontal band on x (e.g. the 60–80 % target), if any.
    pub x_band: Option<(f64, f64)>,
}

/// Grouped bars: categories × groups.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Title.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Category names (x axis).
    pub categories: Vec<String>,
    /// (group label, one value per category).
    pub groups: Vec<(String, Vec<f64>)>,
}

/// A scatter of labeled points, some highlighted.
#[derive(Debug, Clone)]
pub struct Scatter {
    /// Title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// The point sets, drawn in order.
    pub sets: Vec<PointSet>,
}

/// Points drawn alike: (legend label, points, palette index, marker radius).
pub type PointSet = (String, Vec<(f64, f64)>, usize, u32);

/// One plot of the report.
#[derive(Debug, Clone)]
pub enum Plot {
    /// Lines.
    Lines(LineChart),
    /// Several line charts stacked vertically.
    Stacked(Vec<LineChart>),
    /// Grouped bars.
    Bars(BarChart),
    /// Scatter.
    Scatter(Scatter),
}

fn color(i: usize, light: bool) -> RGBColor {
    let c = Palette99::pick(i).to_rgba();
    if light {
        RGBColor(
            ((u16::from(c.0) + 2 * 255) / 3) as u8,
            ((u16::from(c.1) + 2 * 255) / 3) as u8,
            ((u16::from(c.2) + 2 * 255) / 3) as u8,
        )
    } else {
        RGBColor(c.0, c.1, c.2)
    }
}

fn err<E: std::fmt::Display>(e: E) -> Error {
    Error::internal(format!("plot: {e}"))
}

fn range(values: impl Iterator<Item = f64>, from_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if from_zero {
        lo = lo.min(0.0);
    }
    if hi - lo < 1e-9 {
        hi = lo + 1.0;
    }
    (lo, hi + (hi - lo) * 0.05)
}

fn draw_lines<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, c: &LineChart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (x0, x1) = range(
        c.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)),
        false,
    );
    let (y0, y1) = range(
        c.series.iter().flat_map(|s| s.points.iter().map(|p| p.1)),
        true,
    );
    // Headroom above the data for the legend.
    let y1 = y0 + (y1 - y0) * 1.35;
    let mut chart = ChartBuilder::on(area)
        .caption(&c.title, (FAMILY, 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(c.x_label.as_str())
        .y_desc(c.y_label.as_str())
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .draw()
        .map_err(err)?;
    if let Some((a, b)) = c.x_band {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(a, y0), (b, y1)],
                RGBColor(120, 200, 120).mix(0.2).filled(),
            )))
            .map_err(err)?
            .label(format!("target band {:.0}–{:.0} %", a * 100.0, b * 100.0))
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x, y - 5), (x + 16, y + 5)],
                    RGBColor(120, 200, 120).mix(0.4).filled(),
                )
            });
    }
    for s in &c.series {
        let col = color(s.color, s.light);
        let width = if s.light { 1 } else { 2 };
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                col.stroke_width(width),
            ))
            .map_err(err)?
            .label(s.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], col.stroke_width(2)));
    }
    draw_legend(&mut chart)
}

/// The series legend every plot draws, in its upper right corner.
fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .label_font((FAMILY, 12))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, c: &BarChart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let n = c.categories.len().max(1);
    let g = c.groups.len().max(1);
    let (_, y1) = range(c.groups.iter().flat_map(|(_, v)| v.iter().copied()), true);
    let cats = c.categories.clone();
    let mut chart = ChartBuilder::on(area)
        .caption(&c.title, (FAMILY, 20))
        .margin(10)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n as f64, 0f64..y1 * 1.15)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&move |x: &f64| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 1e-6 && i < cats.len() {
                cats[i].clone()
            } else {
                String::new()
            }
        })
        .y_desc(c.y_label.as_str())
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .draw()
        .map_err(err)?;
    let width = 0.8 / g as f64;
    for (gi, (label, values)) in c.groups.iter().enumerate() {
        let col = color(gi, false);
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                let x = i as f64 + 0.1 + gi as f64 * width;
                Rectangle::new([(x, 0.0), (x + width * 0.95, *v)], col.filled())
            }))
            .map_err(err)?
            .label(label.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], col.filled()));
    }
    draw_legend(&mut chart)
}

fn draw_scatter<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, c: &Scatter) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (x0, x1) = range(c.sets.iter().flat_map(|s| s.1.iter().map(|p| p.0)), false);
    let (y0, y1) = range(c.sets.iter().flat_map(|s| s.1.iter().map(|p| p.1)), true);
    let pad = (x1 - x0) * 0.05;
    let mut chart = ChartBuilder::on(area)
        .caption(&c.title, (FAMILY, 20))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((x0 - pad)..(x1 + pad), y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(c.x_label.as_str())
        .y_desc(c.y_label.as_str())
        .label_style((FAMILY, 13))
        .axis_desc_style((FAMILY, 14))
        .draw()
        .map_err(err)?;
    for (label, points, ci, size) in &c.sets {
        let col = color(*ci, false);
        let size = *size;
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, size, col.filled())))
            .map_err(err)?
            .label(label.as_str())
            .legend(move |(x, y)| Circle::new((x + 8, y), size.min(6), col.filled()));
    }
    draw_legend(&mut chart)
}

fn draw<DB: DrawingBackend>(area: DrawingArea<DB, Shift>, plot: &Plot) -> Result<()>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(err)?;
    match plot {
        Plot::Lines(c) => draw_lines(&area, c)?,
        Plot::Stacked(cs) => {
            for (a, c) in area.split_evenly((cs.len().max(1), 1)).iter().zip(cs) {
                draw_lines(a, c)?;
            }
        }
        Plot::Bars(c) => draw_bars(&area, c)?,
        Plot::Scatter(c) => draw_scatter(&area, c)?,
    }
    area.present().map_err(err)
}

/// The plot as SVG text.
pub fn svg(plot: &Plot) -> Result<String> {
    register_font();
    let mut out = String::new();
    {
        let area = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        draw(area, plot)?;
    }
    Ok(out)
}

/// Draws the plot as a PNG for `path` into `batch` (a temporary file beside it, renamed
/// into place when the batch is committed).
pub fn stage_png(plot: &Plot, path: &Path, batch: &mut crate::output::Batch) -> Result<()> {
    register_font();
    // The extension tells plotters' encoder the format.
    batch.add_with(path, ".png", |tmp| {
        let area = BitMapBackend::new(tmp, SIZE).into_drawing_area();
        draw(area, plot)
    })
}

/// At most `max_points` points: consecutive points grouped into equal buckets, each drawn as
/// its first x and its largest y (peaks stay visible; a week of minutes becomes ~10-minute
/// steps).
pub fn bucket_max(points: &[(f64, f64)], max_points: usize) -> Vec<(f64, f64)> {
    let k = points.len().div_ceil(max_points.max(1)).max(1);
    points
        .chunks(k)
        .map(|c| {
            (
                c[0].0,
                c.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max),
            )
        })
        .collect()
}

/// A histogram of `values` on `[0, hi]` in `bins` bins, as (bin centre, fraction) points.
pub fn distribution(values: &[f64], hi: f64, bins: usize) -> Vec<(f64, f64)> {
    let mut counts = vec![0usize; bins];
    let w = hi / bins as f64;
    for v in values.iter().filter(|v| v.is_finite()) {
        let i = ((v / w).floor().max(0.0) as usize).min(bins - 1);
        counts[i] += 1;
    }
    let n = values.len().max(1) as f64;
    counts
        .iter()
        .enumerate()
        .map(|(i, c)| ((i as f64 + 0.5) * w, *c as f64 / n))
        .collect()
}

/// Columns of a timeline CSV (`minute`, `<w>_ready`, `<p>_nodes`, …) by header name.
///
/// The header must be `columns` (what `search --out` writes for the scenario), and every value
/// what the simulator can write: finite; minutes, replica and node counts whole and
/// non-negative; minutes increasing row by row; a CPU utilization (use over request) between
/// 0 and `max_utilization`; a column named in `limits` (the minute: inside the horizon; a
/// pool's nodes: at most its `max_nodes`) at most its limit, with why. A bad value names the
/// file, line and column.
pub fn parse_timeline(
    text: &str,
    file: &str,
    columns: &[String],
    max_utilization: f64,
    limits: &BTreeMap<String, (f64, String)>,
) -> Result<BTreeMap<String, Vec<f64>>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| Error::input(file, None, "empty timeline: no header"))?
        .split(',')
        .map(str::trim)
        .collect();
    if let Some(c) = (0..header.len().max(columns.len()))
        .find(|&c| header.get(c).copied() != columns.get(c).map(String::as_str))
    {
        let got = header.get(c).map_or("nothing".into(), |h| format!("`{h}`"));
        let want = columns
            .get(c)
            .map_or("no column".into(), |w| format!("`{w}`"));
        return Err(Error::input(
            file,
            Some(format!("line 1, column {}", c + 1)),
            format!(
                "{got}, expected {want}: the header `search --out` writes for this scenario is `{}`",
                crate::error::bound_quoted(&columns.join(","))
            ),
        ));
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Minute,
        Count,
        Utilization,
    }
    let kinds: Vec<Kind> = header
        .iter()
        .map(|h| {
            if *h == "minute" {
                Kind::Minute
            } else if h.ends_with("_cpu_utilization") {
                Kind::Utilization
            } else {
                Kind::Count
            }
        })
        .collect();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); header.len()];
    let mut last_minute: Option<f64> = None;
    for (i, l) in lines.enumerate() {
        let line = i as u64 + 2;
        let fields: Vec<&str> = l.split(',').collect();
        if fields.len() != header.len() {
            return Err(Error::at_line(
                file,
                line,
                format!("{} fields, the header has {}", fields.len(), header.len()),
            ));
        }
        for (c, f) in fields.iter().enumerate() {
            let at = || Some(format!("line {line}, column {} `{}`", c + 1, header[c]));
            let f = f.trim();
            let x: f64 = f
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite())
                .ok_or_else(|| Error::input(file, at(), format!("`{f}` is not a finite number")))?;
            let problem = match kinds[c] {
                Kind::Minute | Kind::Count if x < 0.0 || x.fract() != 0.0 => {
                    Some(format!("{f}: expected a whole number, at least 0"))
                }
                Kind::Minute if last_minute.is_some_and(|m| x <= m) => Some(format!(
                    "minute {f} after minute {}: expected increasing minutes",
                    last_minute.unwrap_or_default()
                )),
                Kind::Utilization if !(0.0..=max_utilization).contains(&x) => Some(format!(
                    "{f}: expected a CPU use over request between 0 and {max_utilization} (a \
                     pod uses at most its node's CPU)"
                )),
                _ => match limits.get(header[c]) {
                    Some((max, why)) if x > *max => {
                        Some(format!("{f}: expected at most {max} ({why})"))
                    }
                    _ => None,
                },
            };
            if let Some(problem) = problem {
                return Err(Error::input(file, at(), problem));
            }
            if kinds[c] == Kind::Minute {
                last_minute = Some(x);
            }
            cols[c].push(x);
        }
    }
    if cols.first().is_none_or(Vec::is_empty) {
        return Err(Error::input(
            file,
            None,
            "no rows after the header: `search --out` writes one per minute",
        ));
    }
    Ok(header.into_iter().map(String::from).zip(cols).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_max_keeps_peaks() {
        let pts: Vec<(f64, f64)> = (0..10)
            .map(|i| (i as f64, if i == 7 { 9.0 } else { 1.0 }))
            .collect();
        assert_eq!(
            bucket_max(&pts, 4),
            vec![(0.0, 1.0), (3.0, 1.0), (6.0, 9.0), (9.0, 1.0)]
        );
        assert_eq!(bucket_max(&pts, 100), pts);
    }

    #[test]
    fn distribution_sums_to_one_and_clamps() {
        let d = distribution(&[0.05, 0.15, 0.15, 9.0], 1.0, 10);
        assert_eq!(d.len(), 10);
        assert!((d.iter().map(|p| p.1).sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(d[1].1, 0.5);
        assert_eq!(d[9].1, 0.25);
    }
}
