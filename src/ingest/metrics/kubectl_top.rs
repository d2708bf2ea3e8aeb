//! `kubectl top pods` text: the 3-column table, `-A` (NAMESPACE first), `--containers`
//! (POD, NAME: one line per container), an optional trailing `SWAP(bytes)` column, several
//! snapshots each preceded by a `date` line (as `while true; do date; kubectl top pods; sleep
//! 60; done` writes them), `error: Metrics not available for pod …` lines, and the `--sum`
//! footer (a `________` rule, then the table's totals), which is skipped: it is no pod.

use std::collections::BTreeSet;

use super::{MetricsFormat, MetricsSet, MissingSample, Precision, UsageSample};
use crate::error::{Error, Result};
use crate::ingest::traffic::civil::{days_from_civil, days_in_month, parse_timestamp_ns};
use crate::quantity::{Bytes, Quantity};

/// The columns of one table layout.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Layout {
    namespace: Option<usize>,
    pod: usize,
    container: Option<usize>,
    cpu: usize,
    memory: usize,
    columns: usize,
}

/// The layout named by a header line, if it is one.
fn header_layout(tokens: &[&str]) -> Option<Layout> {
    let mut t: Vec<&str> = tokens.to_vec();
    let mut extra = 0;
    if t.last() == Some(&"SWAP(bytes)") {
        t.pop();
        extra = 1;
    }
    let layout = |namespace, pod, container, cpu, memory, n: usize| Layout {
        namespace,
        pod,
        container,
        cpu,
        memory,
        columns: n + extra,
    };
    match t.as_slice() {
        ["NAME", "CPU(cores)", "MEMORY(bytes)"] => Some(layout(None, 0, None, 1, 2, 3)),
        ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"] => {
            Some(layout(Some(0), 1, None, 2, 3, 4))
        }
        ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"] => Some(layout(None, 0, Some(1), 2, 3, 4)),
        ["NAMESPACE", "POD", "NAME", "CPU(cores)", "MEMORY(bytes)"] => {
            Some(layout(Some(0), 1, Some(2), 3, 4, 5))
        }
        _ => None,
    }
}

/// What kubectl prints for a reading it does not have (`kubectl top node` for a node whose
/// kubelet sent none): recorded as missing, never as zero.
const UNKNOWN: &str = "<unknown>";

/// Formats a CPU (nanocores) and memory (bytes) reading the way `kubectl top` prints it: CPU
/// rounded up to whole millicores, memory rounded down to whole MiB (`2731514n`, `343748Ki` →
/// `("3m", "335Mi")`).
pub fn kubectl_top_display(cpu_nanocores: i64, working_set_bytes: i64) -> (String, String) {
    let milli = super::milli_ceil(cpu_nanocores);
    let mib = working_set_bytes.div_euclid(1 << 20);
    (format!("{milli}m"), format!("{mib}Mi"))
}

/// Parses `kubectl top pods` output (see the module docs).
pub(super) fn parse(text: &str, source: &str) -> Result<MetricsSet> {
    let mut samples = Vec::new();
    let mut missing = Vec::new();
    let mut layout: Option<Layout> = None;
    // The time of the latest `date` line, and whether a table has used it.
    let mut now: Option<i64> = None;
    let mut snapshots = 0usize;
    let mut snapshot_t: Option<i64> = None;
    let mut date_used = false;
    let mut seen: BTreeSet<(String, String, String)> = BTreeSet::new();
    // After a `--sum` rule (`________ ________`): the totals line comes next.
    let mut sum_rule = false;
    let mut suspicious = super::Suspicious::default();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if is_klog_line(line) {
            // kubectl's own log lines on stderr (`W1203 13:34:58.123456   12345 top_pod.go:274]
            // Metrics not available for pod …`), captured with `2>&1`: the `error:` line that
            // follows records the missing pod.
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let is_date = tokens.len() == 1
            || WEEKDAYS.contains(&tokens[0].trim_end_matches(','))
            || starts_with_iso_date(line);
        // `kubectl top pods --no-headers`: a row before any header reads as NAME, CPU, memory.
        let headerless = layout.is_none() && !is_date && headerless_row(&tokens);
        if layout.is_none() && !is_date && tokens.len() == 4 && headerless_row(&tokens[1..]) {
            return Err(Error::at_line(
                source,
                line_no,
                "a 4-column row without a header: `--no-headers` output of `-A` (NAMESPACE \
                 NAME …) and of `--containers` (POD NAME …) look alike; record it with the header",
            ));
        }
        if let Some(l) = header_layout(&tokens).or(headerless.then_some(HEADERLESS)) {
            snapshots += 1;
            if now.is_none() && snapshots > 1 {
                return Err(Error::at_line(
                    source,
                    line_no,
                    "a second `kubectl top` table without a timestamp: put a `date` line before \
                     each snapshot (e.g. `while true; do date -u; kubectl top pods; sleep 60; done`)",
                ));
            }
            if snapshots > 1 && date_used {
                return Err(Error::at_line(
                    source,
                    line_no,
                    "this table has no `date` line of its own (the previous one was already used \
                     by the table before); put a `date` line before each snapshot",
                ));
            }
            layout = Some(l);
            snapshot_t = now;
            date_used = true;
            seen.clear();
            if !headerless {
                continue;
            }
        }
        if let Some(rest) = line.strip_prefix("error:") {
            missing.push(missing_from_error(rest.trim(), now, line_no));
            continue;
        }
        if line.starts_with("No resources found") {
            continue;
        }
        if layout.is_some() && tokens.iter().all(|t| t.bytes().all(|c| c == b'_')) {
            // `kubectl top pods --sum`: the rule under the CPU and memory columns.
            sum_rule = true;
            continue;
        }
        if std::mem::take(&mut sum_rule) {
            // The totals under the rule: CPU and memory of the table's sum, no pod name.
            if let [cpu, mem] = tokens.as_slice() {
                Quantity::parse_cpu(cpu).map_err(|e| {
                    Error::at_line(source, line_no, format!("`--sum` total CPU: {e}"))
                })?;
                Bytes::parse(mem).map_err(|e| {
                    Error::at_line(source, line_no, format!("`--sum` total memory: {e}"))
                })?;
                continue;
            }
            return Err(Error::at_line(
                source,
                line_no,
                format!(
                    "expected the `--sum` totals (CPU and memory) under the `________` rule, found {} columns",
                    tokens.len()
                ),
            ));
        }
        if let (Some(l), false) = (layout, is_date) {
            if tokens.len() == l.columns {
                let t_ms = snapshot_t.unwrap_or(0);
                let sample = row(&tokens, &l, t_ms, source, line_no, &mut suspicious)?;
                if sample.cpu_nanocores.is_none() || sample.working_set_bytes.is_none() {
                    // `<unknown>`: kubectl's placeholder for a reading it does not have.
                    missing.push(MissingSample {
                        namespace: sample.namespace.clone(),
                        pod: sample.pod.clone(),
                        t_ms: snapshot_t,
                        location: format!("line {line_no}"),
                        reason: "`<unknown>` (no reading; missing, not zero)".into(),
                    });
                }
                let key = (
                    sample.namespace.clone(),
                    sample.pod.clone(),
                    sample.container.clone(),
                );
                if !seen.insert(key) {
                    return Err(Error::at_line(
                        source,
                        line_no,
                        format!(
                            "pod `{}`{} appears twice in the same snapshot",
                            sample.pod,
                            if sample.container.is_empty() {
                                String::new()
                            } else {
                                format!(" container `{}`", sample.container)
                            }
                        ),
                    ));
                }
                samples.push(sample);
                continue;
            }
        }
        match parse_date_line(line) {
            Ok(t) => {
                now = Some(t);
                date_used = false;
                layout = None;
            }
            Err(date_err) => {
                return Err(match layout {
                    Some(l) => Error::at_line(
                        source,
                        line_no,
                        format!(
                            "expected {} columns ({}), found {}: the table row is truncated or \
                             malformed",
                            l.columns,
                            column_names(&l),
                            tokens.len()
                        ),
                    ),
                    // A `--no-headers` row with a bad value: say which.
                    None if tokens.len() == 3
                        && (Quantity::parse(tokens[1]).is_ok() || tokens[1] == UNKNOWN) =>
                    {
                        match Bytes::parse(tokens[2]) {
                            Err(e) => Error::at_line(
                                source,
                                line_no,
                                format!("a row without a header (NAME CPU(cores) MEMORY(bytes)): column MEMORY(bytes): {e}"),
                            ),
                            Ok(_) => Error::at_line(source, line_no, date_err),
                        }
                    }
                    None => Error::at_line(
                        source,
                        line_no,
                        format!(
                            "expected a `kubectl top pods` header (NAME CPU(cores) MEMORY(bytes), \
                             optionally with NAMESPACE and/or POD), a `date` line or an `error:` \
                             line; not a date either: {date_err}"
                        ),
                    ),
                });
            }
        }
    }
    if snapshots == 0 {
        return Err(Error::at_line(
            source,
            1,
            "no `kubectl top pods` table found: expected a header line `NAME CPU(cores) \
             MEMORY(bytes)` (or with NAMESPACE / POD columns)",
        ));
    }
    Ok(MetricsSet {
        source: source.to_string(),
        format: MetricsFormat::KubectlTop,
        samples,
        missing,
        warnings: suspicious.warnings(source),
    })
}

fn column_names(l: &Layout) -> String {
    let mut names = vec![""; l.columns];
    if let Some(n) = l.namespace {
        names[n] = "NAMESPACE";
    }
    names[l.pod] = if l.container.is_some() { "POD" } else { "NAME" };
    if let Some(c) = l.container {
        names[c] = "NAME";
    }
    names[l.cpu] = "CPU(cores)";
    names[l.memory] = "MEMORY(bytes)";
    if l.columns > l.memory + 1 {
        names[l.memory + 1] = "SWAP(bytes)";
    }
    names.join(" ")
}

fn row(
    tokens: &[&str],
    l: &Layout,
    t_ms: i64,
    source: &str,
    line: u64,
    suspicious: &mut super::Suspicious,
) -> Result<UsageSample> {
    let cpu_text = tokens[l.cpu];
    let cpu_n = if cpu_text == UNKNOWN {
        None
    } else {
        let cpu = Quantity::parse_cpu(cpu_text)
            .map_err(|e| Error::at_line(source, line, format!("column CPU(cores): {e}")))?;
        if cpu.is_negative() {
            return Err(Error::at_line(
                source,
                line,
                format!("column CPU(cores): {cpu_text:?} is negative"),
            ));
        }
        Some(cpu.ceil_scaled(9))
    };
    let mem_text = tokens[l.memory];
    let mem = if mem_text == UNKNOWN {
        None
    } else {
        Some(
            Bytes::parse(mem_text)
                .map_err(|e| Error::at_line(source, line, format!("column MEMORY(bytes): {e}")))?
                .0,
        )
    };
    super::check_sample(t_ms, cpu_n, mem).map_err(|e| Error::at_line(source, line, e))?;
    let at = format!("line {line}");
    suspicious.check(&at, "CPU(cores)", cpu_text, cpu_n, None);
    suspicious.check(&at, "MEMORY(bytes)", mem_text, None, mem);
    Ok(UsageSample {
        namespace: l
            .namespace
            .map(|n| tokens[n].to_string())
            .unwrap_or_default(),
        pod: tokens[l.pod].to_string(),
        container: l
            .container
            .map(|c| tokens[c].to_string())
            .unwrap_or_default(),
        t_ms,
        cpu_nanocores: cpu_n,
        working_set_bytes: mem,
        requests_per_s: None,
        server_latency_p90_s: None,
        precision: Precision::KubectlTop,
    })
}

/// `Metrics not available for pod <ns>/<pod>, age: …` → the pod, as missing.
fn missing_from_error(message: &str, now: Option<i64>, line: u64) -> MissingSample {
    let (mut namespace, mut pod) = (String::new(), String::new());
    if let Some(rest) = message.strip_prefix("Metrics not available for pod ") {
        let name = rest.split([',', ' ']).next().unwrap_or("");
        match name.split_once('/') {
            Some((ns, p)) => {
                namespace = ns.to_string();
                pod = p.to_string();
            }
            None => pod = name.to_string(),
        }
    }
    MissingSample {
        namespace,
        pod,
        t_ms: now,
        location: format!("line {line}"),
        reason: message.to_string(),
    }
}

/// Whether `line` is a klog line: `Lmmdd hh:mm:ss.uuuuuu threadid file:line] message`, `L` one
/// of I, W, E, F.
fn is_klog_line(line: &str) -> bool {
    let b = line.as_bytes();
    let head_ok = b.len() > 22
        && matches!(b[0], b'I' | b'W' | b'E' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
        && b[6..8].iter().all(u8::is_ascii_digit)
        && b[8] == b':'
        && b[9..11].iter().all(u8::is_ascii_digit)
        && b[11] == b':'
        && b[12..14].iter().all(u8::is_ascii_digit)
        && b[14] == b'.';
    head_ok
        && line
            .split_whitespace()
            .nth(3)
            .is_some_and(|f| f.ends_with(']') && f.contains(':'))
}

/// Whether `line` starts with a `YYYY-MM-DD` date (an ISO or RFC 3339 `date` line).
fn starts_with_iso_date(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

/// The layout of `kubectl top pods --no-headers`: a row of 3 columns (NAME, CPU, memory) with
/// no header before it.
const HEADERLESS: Layout = Layout {
    namespace: None,
    pod: 0,
    container: None,
    cpu: 1,
    memory: 2,
    columns: 3,
};

/// Whether `tokens` read as a headerless (`--no-headers`) row: a name, then CPU and memory
/// quantities (or `<unknown>`).
fn headerless_row(tokens: &[&str]) -> bool {
    let value = |t: &str, cpu: bool| {
        t == UNKNOWN
            || if cpu {
                Quantity::parse(t).is_ok()
            } else {
                Bytes::parse(t).is_ok()
            }
    };
    match tokens {
        [name, cpu, mem] => !name.is_empty() && value(cpu, true) && value(mem, false),
        _ => false,
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// A `date` line as unix milliseconds: `date`/`date -u` (`Thu Dec  3 13:34:58 UTC 2026`),
/// `date -R` (`Thu, 03 Dec 2026 13:34:58 +0000`), `date -Is`, or `date +%s`. Only UTC (or
/// numeric offsets) can be placed in time; a zone abbreviation such as `CST` is ambiguous.
fn parse_date_line(line: &str) -> std::result::Result<i64, String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    if tokens.len() == 1 {
        let ms = parse_timestamp_ns(tokens[0])?.div_euclid(1_000_000);
        if !(0..=super::MAX_T_MS).contains(&ms) {
            return Err(format!("`{}` is outside 1970 … 9999", tokens[0]));
        }
        return Ok(ms);
    }
    if starts_with_iso_date(line) {
        // `date --rfc-3339=seconds` (2026-12-03 13:34:58+00:00), `date "+%F %T"` (UTC).
        let ms = parse_timestamp_ns(line)?.div_euclid(1_000_000);
        if !(0..=super::MAX_T_MS).contains(&ms) {
            return Err(format!("`{line}` is outside 1970 … 9999"));
        }
        return Ok(ms);
    }
    let weekday = tokens[0].trim_end_matches(',');
    if !WEEKDAYS.contains(&weekday) {
        return Err(format!("`{line}` does not start with a weekday"));
    }
    // `date`: Thu Dec 3 13:34:58 UTC 2026; `date -R`: Thu, 03 Dec 2026 13:34:58 +0000; the
    // en_GB locale: Thu 3 Dec 13:34:58 UTC 2026; en_US with a 12-hour clock: Thu Dec 3
    // 01:34:58 PM UTC 2026, or Thu 03 Dec 2026 01:34:58 PM UTC.
    let ampm = |x: &str| matches!(x, "AM" | "PM" | "am" | "pm");
    let (month, day, time, zone, year, half) = match tokens.as_slice() {
        [_, m, d, t, z, y] if MONTHS.contains(m) => (*m, *d, *t, *z, *y, None),
        [_, d, m, y, t, z] if MONTHS.contains(m) && y.len() == 4 => (*m, *d, *t, *z, *y, None),
        [_, d, m, t, z, y] if MONTHS.contains(m) => (*m, *d, *t, *z, *y, None),
        [_, m, d, t, y] if MONTHS.contains(m) => (*m, *d, *t, "UTC", *y, None),
        [_, m, d, t, h, z, y] if MONTHS.contains(m) && ampm(h) => (*m, *d, *t, *z, *y, Some(*h)),
        [_, d, m, y, t, h, z] if MONTHS.contains(m) && ampm(h) => (*m, *d, *t, *z, *y, Some(*h)),
        _ => return Err(format!("`{line}` is not a `date` line")),
    };
    let m = MONTHS.iter().position(|x| *x == month).unwrap_or(0) as u32 + 1;
    let y: i64 = year
        .parse()
        .ok()
        .filter(|y| (1970..=9999).contains(y))
        .ok_or_else(|| format!("bad year `{year}` (expected 1970–9999)"))?;
    let d: u32 = day.parse().map_err(|_| format!("bad day `{day}`"))?;
    if d == 0 || d > days_in_month(y, m) {
        return Err(format!("day {d} does not exist in {year}-{month}"));
    }
    let hms: Vec<u32> = time
        .split(':')
        .map(|p| p.parse::<u32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| format!("bad time `{time}`"))?;
    let [h, mi, s] = hms.as_slice() else {
        return Err(format!("bad time `{time}`: expected HH:MM:SS"));
    };
    let h = &match half {
        None => *h,
        // A 12-hour clock: 12:xx AM is 00:xx, 12:xx PM is 12:xx.
        Some(_) if *h == 0 || *h > 12 => {
            return Err(format!("bad time `{time}` on a 12-hour clock"))
        }
        Some(x) if x.eq_ignore_ascii_case("AM") => *h % 12,
        Some(_) => *h % 12 + 12,
    };
    if *h > 23 || *mi > 59 || *s > 59 {
        return Err(format!("bad time `{time}`"));
    }
    let offset_s: i64 = match zone {
        "UTC" | "GMT" | "Z" => 0,
        z if (z.starts_with('+') || z.starts_with('-')) && z.len() == 5 => {
            let n: i64 = z[1..].parse().map_err(|_| format!("bad zone `{z}`"))?;
            let v = (n / 100) * 3600 + (n % 100) * 60;
            if z.starts_with('-') {
                -v
            } else {
                v
            }
        }
        z => {
            return Err(format!(
                "time zone `{z}` is ambiguous; record the snapshots with `date -u` (UTC) or \
                 `date -Is`"
            ))
        }
    };
    let secs = days_from_civil(y, m, d) * 86_400
        + i64::from(*h) * 3600
        + i64::from(*mi) * 60
        + i64::from(*s)
        - offset_s;
    Ok(secs * 1000)
}
