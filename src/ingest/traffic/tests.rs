//! Tests of the traffic readers on the shipped real traces (`data/traffic/`) and on small inline
//! texts for every error path.

use super::civil::{parse_timestamp_ns, NS_PER_S};
use super::*;
use crate::error::Error;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data/traffic")
        .join(name)
}

const NASA_SECOND: &str = "nasa_ksc_http_1995-07-01_to_07-07_requests_per_second.csv";
const NASA_MINUTE_EXCERPT: &str = "nasa_ksc_http_1995_requests_per_minute_jul28_aug01.csv";
const AZURE_CONV: &str = "azure_llm_inference_2023-11-16_conv.csv";
const AZURE_CODE: &str = "azure_llm_inference_2023-11-16_code.csv";

fn fill_zero() -> RateCsvOptions {
    RateCsvOptions {
        gaps: GapPolicy::FillZero,
        ..Default::default()
    }
}

/// Asserts `err` is a bad-input error (exit code 2) naming `file` and `line {line}`, and returns
/// its text.
#[track_caller]
fn input_error(err: Error, file: &str, line: u64) -> String {
    let text = err.to_string();
    assert_eq!(err.exit_code(), 2, "{text}");
    assert!(
        text.starts_with(&format!("{file}: line {line}: ")),
        "expected `{file}: line {line}: …`, got: {text}"
    );
    text
}

#[track_caller]
fn rate_err(text: &str, opts: &RateCsvOptions, line: u64) -> String {
    let err = parse_rate_csv(text, "t.csv", opts).expect_err("should fail");
    input_error(err, "t.csv", line)
}

#[track_caller]
fn log_err(text: &str, opts: &RequestLogOptions, line: u64) -> String {
    let err = parse_request_log(text, "log.csv", opts).expect_err("should fail");
    input_error(err, "log.csv", line)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

// ---------------------------------------------------------------------------------------------
// Real traces.

/// NASA KSC, 1995-07-01 00:00:01 EDT → 07-08 00:00:00 EDT, per second. Expected figures from
/// SOURCES.md, re-counted with Python's csv module.
#[test]
fn nasa_per_second_week() {
    let s = read_rate_csv(&data(NASA_SECOND), &RateCsvOptions::default()).unwrap();
    assert_eq!(s.counts.len(), 604_800);
    assert_eq!(s.start_unix_s, 804_571_201);
    assert_eq!(
        s.start_unix_s,
        parse_timestamp_ns("1995-07-01T00:00:01-04:00").unwrap() / NS_PER_S
    );
    assert_eq!(s.bin_s, 1);
    assert!(s.gaps.is_empty());
    assert!(s.source.ends_with(NASA_SECOND));
    assert_eq!(s.total(), 567_785.0);
    assert_eq!(s.counts.iter().copied().fold(0.0, f64::max), 15.0);
    assert_eq!(s.peak(1), 15.0);
    // Python: best 60-s sliding sum = 204 → 3.4 req/s; population var/mean = 1.5005532131.
    assert!(close(s.peak(60), 3.4, 1e-12), "{}", s.peak(60));
    assert!(close(s.dispersion_index(), 1.500_553_213_1, 1e-9));

    let m = s.rebin(60).unwrap();
    assert_eq!(
        (m.counts.len(), m.bin_s, m.start_unix_s),
        (10_080, 60, 804_571_201)
    );
    assert_eq!(m.total(), 567_785.0);
    assert_eq!(m.counts.iter().copied().fold(0.0, f64::max), 199.0);
    assert_eq!(m.counts[10_079], 43.0);
    // Burstier at 1-min bins (diurnal cycle): Python 16.485996224922.
    assert!(close(m.dispersion_index(), 16.485_996_224_9, 1e-8));
}

/// The real recording gap of the NASA July log: no data from Jul 28 13:33 EDT to Aug 1 00:00 EDT.
#[test]
fn nasa_minute_excerpt_gap() {
    let path = data(NASA_MINUTE_EXCERPT);
    let file = path.display().to_string();

    let err = read_rate_csv(&path, &RateCsvOptions::default()).unwrap_err();
    let text = input_error(err, &file, 95);
    assert!(text.contains("1995-07-28T17:33:00Z"), "{text}");
    assert!(text.contains("806952780"), "{text}");
    assert!(text.contains("4947 missing bin(s) of 60 s"), "{text}");
    assert!(text.contains("previous row is line 94"), "{text}");
    assert!(text.contains("gaps: fill_zero"), "{text}");
    assert!(text.contains("trim the trace"), "{text}");

    let s = read_rate_csv(&path, &fill_zero()).unwrap();
    let gap_from = parse_timestamp_ns("1995-07-28T13:33:00-04:00").unwrap() / NS_PER_S;
    let gap_to = parse_timestamp_ns("1995-08-01T00:00:00-04:00").unwrap() / NS_PER_S;
    let missing = ((gap_to - gap_from) / 60) as u64;
    assert_eq!(missing, 4_947);
    assert_eq!(
        s.gaps,
        vec![Gap {
            after_line: 94,
            from_unix_s: gap_from,
            missing_bins: missing,
        }]
    );
    assert_eq!(s.bin_s, 60);
    assert_eq!(
        s.start_unix_s,
        parse_timestamp_ns("1995-07-28T12:00:00-04:00").unwrap() / NS_PER_S
    );
    // 214 rows (12:00–13:32 = 93, Aug 1 00:00–02:00 = 121) + the zero-filled minutes.
    assert_eq!(s.counts.len() as u64, 214 + missing);
    assert_eq!(s.total(), 8_439.0);
    assert_eq!(s.counts[92], 41.0); // 13:32, the last minute before the gap
    assert!(s.counts[93..93 + 4_947].iter().all(|&c| c == 0.0));
    assert_eq!(s.counts[93 + 4_947], 51.0); // Aug 1 00:00
    assert_eq!(*s.counts.last().unwrap(), 3.0); // Aug 1 02:00

    // The ISO local-time column gives the same series.
    let iso = RateCsvOptions {
        timestamp_column: "minute_start_local_edt".into(),
        count_column: "requests".into(),
        gaps: GapPolicy::FillZero,
    };
    assert_eq!(read_rate_csv(&path, &iso).unwrap(), s);

    // Rebinning keeps the gap's start and converts its length (4947 min → 83 h, rounded up).
    let h = s.rebin(3600).unwrap();
    assert_eq!(h.total(), 8_439.0);
    assert_eq!(h.gaps[0].missing_bins, 83);
    assert_eq!(h.gaps[0].from_unix_s, gap_from);
}

/// Azure LLM inference trace, conversation service. Figures computed independently in Python
/// from the same file (offsets rounded to the millisecond, as `RequestLog` stores them; the
/// 100-ns values give SCV 1.197208 and rate 5.530136).
#[test]
fn azure_conv_log() {
    let log = read_request_log(&data(AZURE_CONV), &RequestLogOptions::default()).unwrap();
    // SOURCES.md says 19,365; the file has 19,366 data rows (19,367 lines, no final newline).
    assert_eq!(log.len(), 19_366);
    assert_eq!(log.context_tokens.len(), 19_366);
    assert_eq!(log.generated_tokens.len(), 19_366);
    let start_ns = parse_timestamp_ns("2023-11-16T18:15:46.68059Z").unwrap();
    assert_eq!(start_ns, 1_700_158_546_680_590_000);
    assert_eq!(log.start_unix_ms, 1_700_158_546_681); // .68059 s rounded to the ms
    assert_eq!(log.arrival_offsets_ms[0], 0);
    assert_eq!(log.arrival_offsets_ms[1], 4_314); // 18:15:50.995169 → .995
    assert_eq!((log.context_tokens[0], log.generated_tokens[0]), (374, 44));
    let ctx: u64 = log.context_tokens.iter().map(|&t| u64::from(t)).sum();
    let gen: u64 = log.generated_tokens.iter().map(|&t| u64::from(t)).sum();
    assert_eq!((ctx, gen), (22_361_870, 4_088_665));

    assert!(
        close(log.duration_s(), 3_501.722, 1e-9),
        "{}",
        log.duration_s()
    );
    let scv = log.interarrival_scv();
    assert!(close(scv, 1.197_229_071, 1e-8), "{scv}");
    let rate = log.mean_rate_per_s();
    assert!(close(rate, 5.530_136_316, 1e-8), "{rate}");

    let s = log.to_rate_series(1);
    assert_eq!(s.start_unix_s, 1_700_158_546);
    assert_eq!(s.bin_s, 1);
    assert_eq!(s.total(), 19_366.0);
    // 18:15:46 → 19:14:08 inclusive.
    assert_eq!(s.counts.len(), 3_503);
    assert!(s.gaps.is_empty());
}

/// Azure LLM inference trace, code service: far burstier arrivals.
#[test]
fn azure_code_log() {
    let log = read_request_log(&data(AZURE_CODE), &RequestLogOptions::default()).unwrap();
    assert_eq!(log.len(), 8_819);
    assert_eq!(log.start_unix_ms, 1_700_158_623_980); // 18:17:03.97996
    let ctx: u64 = log.context_tokens.iter().map(|&t| u64::from(t)).sum();
    assert_eq!(ctx, 18_059_974);
    assert!(close(log.interarrival_scv(), 172.956_479_08, 1e-6));
    assert!(close(log.mean_rate_per_s(), 2.566_395_068, 1e-8));
    assert_eq!(log.to_rate_series(60).total(), 8_819.0);
}

/// Release-mode parse time of the per-second week (`cargo test --release --lib ingest --
/// --ignored --nocapture`).
#[test]
#[ignore]
fn nasa_per_second_parse_time() {
    let text = std::fs::read_to_string(data(NASA_SECOND)).unwrap();
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = std::time::Instant::now();
        let s = parse_rate_csv(&text, NASA_SECOND, &RateCsvOptions::default()).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(s.counts.len(), 604_800);
    }
    let t = std::time::Instant::now();
    read_rate_csv(&data(NASA_SECOND), &RateCsvOptions::default()).unwrap();
    let with_io = t.elapsed().as_secs_f64();
    println!(
        "parse_rate_csv per-second week: best {best:.4} s; read_rate_csv incl. IO {with_io:.4} s"
    );
    if !cfg!(debug_assertions) {
        assert!(best < 0.5, "{best}");
    }
}

// ---------------------------------------------------------------------------------------------
// Rate CSV: accepted forms.

#[test]
fn iso_timestamps_crlf_and_extra_columns() {
    let text = "time,local,count\r\n1995-07-01T04:00:00Z,x,1\r\n\
                1995-07-01T00:01:00-04:00,y,2.5\r\n 1995-07-01 04:02:00 , z , 0 \r\n\r\n";
    let s = parse_rate_csv(text, "t.csv", &RateCsvOptions::default()).unwrap();
    assert_eq!((s.start_unix_s, s.bin_s), (804_571_200, 60));
    assert_eq!(s.counts, vec![1.0, 2.5, 0.0]);
    assert_eq!(s.source, "t.csv");
}

#[test]
fn detects_columns_by_suffix_and_case() {
    let s = parse_rate_csv(
        "bucket_unix_s,Requests\n0,1\n10,2\n",
        "t.csv",
        &RateCsvOptions::default(),
    )
    .unwrap();
    assert_eq!((s.bin_s, s.total()), (10, 3.0));
}

#[test]
fn bin_is_most_common_step_and_gaps_are_recorded() {
    let text = "unix_s,requests\n0,1\n60,1\n180,1\n240,1\n300,1\n480,2\n";
    let s = parse_rate_csv(text, "t.csv", &fill_zero()).unwrap();
    assert_eq!(s.bin_s, 60);
    assert_eq!(s.counts, vec![1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 2.0]);
    assert_eq!(
        s.gaps,
        vec![
            Gap {
                after_line: 3,
                from_unix_s: 120,
                missing_bins: 1
            },
            Gap {
                after_line: 6,
                from_unix_s: 360,
                missing_bins: 2
            },
        ]
    );
    let text = rate_err(text, &RateCsvOptions::default(), 4);
    assert!(text.contains("1 missing bin(s) of 60 s (1m)"), "{text}");
    assert!(text.contains("first of 2 gaps"), "{text}");
    assert!(text.contains("1970-01-01T00:02:00Z (unix 120)"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Rate CSV: errors, each naming the line.

#[test]
fn non_monotonic_timestamps() {
    let text = rate_err(
        "unix_s,requests\n100,1\n101,2\n101,3\n",
        &RateCsvOptions::default(),
        4,
    );
    assert!(
        text.contains("`101`") && text.contains("previous row's 101"),
        "{text}"
    );
    assert!(text.contains("line 3"), "{text}");
    let text = rate_err(
        "unix_s,requests\n100,1\n101,2\n99,3\n",
        &RateCsvOptions::default(),
        4,
    );
    assert!(text.contains("`99`") && text.contains("101"), "{text}");
}

#[test]
fn non_numeric_and_negative_counts() {
    let text = rate_err(
        "unix_s,requests\n100,1\n101,abc\n",
        &RateCsvOptions::default(),
        3,
    );
    assert!(
        text.contains("column `requests`") && text.contains("`abc`"),
        "{text}"
    );
    let text = rate_err(
        "unix_s,requests\n100,-2\n101,1\n",
        &RateCsvOptions::default(),
        2,
    );
    assert!(
        text.contains("column `requests`") && text.contains("negative"),
        "{text}"
    );
    for bad in ["", "NaN", "inf", "1e400"] {
        rate_err(
            &format!("unix_s,requests\n100,1\n101,{bad}\n"),
            &RateCsvOptions::default(),
            3,
        );
    }
}

#[test]
fn empty_file_and_header_only() {
    let text = rate_err("", &RateCsvOptions::default(), 1);
    assert!(
        text.contains("empty") && text.contains("no data rows"),
        "{text}"
    );
    let text = rate_err("\n\n", &RateCsvOptions::default(), 1);
    assert!(text.contains("no data rows"), "{text}");
    let text = rate_err("unix_s,requests\n", &RateCsvOptions::default(), 1);
    assert!(text.contains("no data rows"), "{text}");
    let text = rate_err("unix_s,requests", &RateCsvOptions::default(), 1);
    assert!(text.contains("no data rows"), "{text}");
}

#[test]
fn missing_columns_list_the_header() {
    let opts = RateCsvOptions {
        count_column: "reqs".into(),
        ..Default::default()
    };
    let text = rate_err("unix_s,requests\n100,1\n", &opts, 1);
    assert!(text.contains("`reqs`"), "{text}");
    assert!(text.contains("columns are: `unix_s`, `requests`"), "{text}");
    let text = rate_err("a,b\n1,2\n", &RateCsvOptions::default(), 1);
    assert!(
        text.contains("`a`, `b`") && text.contains("timestamp_column"),
        "{text}"
    );
    let text = rate_err("unix_s,b\n1,2\n", &RateCsvOptions::default(), 1);
    assert!(
        text.contains("`unix_s`, `b`") && text.contains("count_column"),
        "{text}"
    );
}

#[test]
fn bad_timestamps() {
    let text = rate_err(
        "unix_s,requests\n100,1\n1995-13-01T00:00:00Z,2\n",
        &RateCsvOptions::default(),
        3,
    );
    assert!(
        text.contains("column `unix_s`") && text.contains("month 13"),
        "{text}"
    );
    let text = rate_err(
        "unix_s,requests\nyesterday,1\n",
        &RateCsvOptions::default(),
        2,
    );
    assert!(text.contains("`yesterday`"), "{text}");
    let text = rate_err(
        "unix_s,requests\n100.5,1\n101.5,1\n",
        &RateCsvOptions::default(),
        2,
    );
    assert!(text.contains("whole second"), "{text}");
}

#[test]
fn wrong_field_count() {
    let text = rate_err(
        "unix_s,requests\n100,1\n101\n102,1\n",
        &RateCsvOptions::default(),
        3,
    );
    assert!(
        text.contains("expected 2 fields") && text.contains("found 1"),
        "{text}"
    );
    rate_err(
        "unix_s,requests\n100,1\n101,1,7\n",
        &RateCsvOptions::default(),
        3,
    );
}

/// Line numbers count physical lines whatever the terminators (`csv`'s own counter is off by one
/// on CRLF files) and across skipped blank lines and quoted newlines.
#[test]
fn line_numbers_with_crlf_blank_lines_and_quotes() {
    let d = RateCsvOptions::default();
    rate_err("unix_s,requests\r\n100,1\r\n101,x\r\n", &d, 3);
    rate_err("unix_s,requests\r\n\r\n100,1\r\n\n\n101,x\r\n", &d, 6);
    rate_err("unix_s,requests\r100,1\r101,x\r", &d, 3); // bare CR line ends
    rate_err("unix_s,requests\n100,\"1\n\"\n101,x\n", &d, 4);
    rate_err("unix_s,requests\n100,1\n101,2\n102,x", &d, 4);
    log_err(
        "TIMESTAMP\r\n2023-11-16 18:00:01\r\n\r\n2023-11-16 18:00:00\r\n",
        &RequestLogOptions::default(),
        4,
    );
}

#[test]
fn off_grid_timestamp() {
    let text = rate_err(
        "unix_s,requests\n0,1\n60,1\n120,1\n150,1\n210,1\n",
        &RateCsvOptions::default(),
        5,
    );
    assert!(
        text.contains("not a multiple of the bin width 60 s"),
        "{text}"
    );
}

#[test]
fn single_row_and_huge_gap() {
    let text = rate_err("unix_s,requests\n100,1\n", &RateCsvOptions::default(), 2);
    assert!(text.contains("only one data row"), "{text}");
    let text = rate_err(
        "unix_s,requests\n0,1\n1,1\n2,1\n30000000000,1\n",
        &fill_zero(),
        5,
    );
    assert!(text.contains("more than the 50000000 supported"), "{text}");
}

#[test]
fn io_and_encoding_errors() {
    let missing = data("no_such_trace.csv");
    let err = read_rate_csv(&missing, &RateCsvOptions::default()).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("no_such_trace.csv"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("latin1.csv");
    std::fs::write(&p, b"unix_s,requests\n100,1\n101,\xe9\n").unwrap();
    let err = read_rate_csv(&p, &RateCsvOptions::default()).unwrap_err();
    input_error(err, &p.display().to_string(), 3);
}

// ---------------------------------------------------------------------------------------------
// Request log.

#[test]
fn request_log_basics() {
    let text = "TIMESTAMP,ContextTokens,GeneratedTokens\n\
                2023-11-16 18:00:00.9996000,10,1\n\
                2023-11-16 18:00:00.9996000,20,2\n\
                2023-11-16 18:00:02.4996000,30,3\n\
                2023-11-16 18:00:05.9996000,40,4\n";
    let log = parse_request_log(text, "log.csv", &RequestLogOptions::default()).unwrap();
    assert_eq!(log.start_unix_ms, 1_700_157_601_000); // 18:00:00.9996 → 18:00:01.000
    assert_eq!(log.arrival_offsets_ms, vec![0, 0, 1_500, 5_000]);
    assert_eq!(log.context_tokens, vec![10, 20, 30, 40]);
    assert_eq!(log.generated_tokens, vec![1, 2, 3, 4]);
    assert_eq!(log.duration_s(), 5.0);
    assert_eq!(log.mean_rate_per_s(), 3.0 / 5.0);
    // Inter-arrivals 0, 1.5, 3.5 s: mean 5/3, population variance 37/18 → SCV 0.74.
    assert!(close(log.interarrival_scv(), 0.74, 1e-12));
    let s = log.to_rate_series(2);
    assert_eq!((s.start_unix_s, s.bin_s), (1_700_157_601, 2));
    assert_eq!(s.counts, vec![3.0, 0.0, 1.0]);
}

#[test]
fn request_log_options_and_numeric_times() {
    let text = "t,prompt\n1700000000.25,5\n1700000000.75,6\n";
    let opts = RequestLogOptions {
        timestamp_column: "t".into(),
        context_tokens_column: Some("prompt".into()),
        generated_tokens_column: None,
    };
    let log = parse_request_log(text, "log.csv", &opts).unwrap();
    assert_eq!(log.start_unix_ms, 1_700_000_000_250);
    assert_eq!(log.arrival_offsets_ms, vec![0, 500]);
    assert_eq!(log.context_tokens, vec![5, 6]);
    assert!(log.generated_tokens.is_empty());
    assert_eq!(log.interarrival_scv(), 0.0);

    let opts = RequestLogOptions {
        timestamp_column: "t".into(),
        context_tokens_column: None,
        generated_tokens_column: Some("output".into()),
    };
    let msg = log_err(text, &opts, 1);
    assert!(
        msg.contains("`output`") && msg.contains("`t`, `prompt`"),
        "{msg}"
    );
}

#[test]
fn request_log_errors() {
    let opts = RequestLogOptions::default();
    let msg = log_err(
        "TIMESTAMP\n2023-11-16 18:00:01.0000000\n2023-11-16 18:00:00.5000000\n",
        &opts,
        3,
    );
    assert!(
        msg.contains("before the previous row") && msg.contains("line 2"),
        "{msg}"
    );
    assert!(
        msg.contains("2023-11-16T18:00:01Z") && msg.contains("2023-11-16T18:00:00.5Z"),
        "{msg}"
    );
    let msg = log_err(
        "TIMESTAMP,ContextTokens\n2023-11-16 18:00:01,abc\n",
        &opts,
        2,
    );
    assert!(
        msg.contains("column `ContextTokens`") && msg.contains("`abc`"),
        "{msg}"
    );
    log_err(
        "TIMESTAMP,ContextTokens\n2023-11-16 18:00:01,-3\n",
        &opts,
        2,
    );
    log_err(
        "TIMESTAMP,ContextTokens\n2023-11-16 18:00:01,4294967296\n",
        &opts,
        2,
    );
    let msg = log_err(
        "TIMESTAMP\n2023-11-16 18:00:01\n2023-11-31 00:00:00\n",
        &opts,
        3,
    );
    assert!(msg.contains("day 31 does not exist"), "{msg}");
    let msg = log_err("TIMESTAMP,ContextTokens\n", &opts, 1);
    assert!(msg.contains("no data rows"), "{msg}");
    let msg = log_err("", &opts, 1);
    assert!(msg.contains("empty"), "{msg}");
    let msg = log_err("when\n2023-11-16 18:00:01\n", &opts, 1);
    assert!(
        msg.contains("`TIMESTAMP`") && msg.contains("`when`"),
        "{msg}"
    );
    log_err("TIMESTAMP,x\n2023-11-16 18:00:01\n", &opts, 2);
    let msg = log_err(
        "TIMESTAMP\n2023-11-16 18:00:01\n2025-11-16 18:00:01\n",
        &opts,
        3,
    );
    assert!(msg.contains("400 days"), "{msg}");
}

// ---------------------------------------------------------------------------------------------
// Series arithmetic and edge cases.

fn series(counts: Vec<f64>, bin_s: u32) -> RateSeries {
    RateSeries {
        source: "s".into(),
        start_unix_s: 1_000,
        bin_s,
        counts,
        gaps: Vec::new(),
    }
}

#[test]
fn series_arithmetic() {
    let s = series(vec![1.0, 3.0, 0.0, 4.0, 2.0], 10);
    assert_eq!(s.total(), 10.0);
    assert_eq!(s.scaled(1.5).counts, vec![1.5, 4.5, 0.0, 6.0, 3.0]);
    assert_eq!(s.scaled(2.0).total(), 20.0);
    assert_eq!(s.peak(1), 0.4);
    assert_eq!(s.peak(2), 0.3); // best pair 4 + 2 over 20 s
    assert_eq!(s.peak(0), s.peak(1));
    assert_eq!(s.peak(99), 10.0 / 50.0);
    // mean 2, population variance (1+1+4+4+0)/5 = 2 → index 1.
    assert_eq!(s.dispersion_index(), 1.0);
    let r = s.rebin(20).unwrap();
    assert_eq!((r.bin_s, r.counts.clone()), (20, vec![4.0, 4.0, 2.0]));
    assert_eq!(r.start_unix_s, 1_000);
    let err = s.rebin(15).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("multiple of 10 s"), "{err}");
    assert!(s.rebin(0).is_err());
}

#[test]
fn degenerate_series_and_logs_do_not_panic() {
    let empty = series(Vec::new(), 1);
    assert_eq!(empty.total(), 0.0);
    assert_eq!(empty.peak(5), 0.0);
    assert!(empty.dispersion_index().is_nan());
    assert!(series(vec![0.0; 3], 1).dispersion_index().is_nan());
    assert!(empty.rebin(2).unwrap().counts.is_empty());

    let log = RequestLog {
        source: "l".into(),
        start_unix_ms: 0,
        arrival_offsets_ms: Vec::new(),
        context_tokens: Vec::new(),
        generated_tokens: Vec::new(),
    };
    assert!(log.is_empty());
    assert!(log.interarrival_scv().is_nan());
    assert!(log.mean_rate_per_s().is_nan());
    assert_eq!(log.duration_s(), 0.0);
    assert!(log.to_rate_series(0).counts.is_empty());
    let one = RequestLog {
        arrival_offsets_ms: vec![0, 0],
        start_unix_ms: -1_500,
        ..log
    };
    assert!(one.interarrival_scv().is_nan());
    let s = one.to_rate_series(0);
    assert_eq!(
        (s.start_unix_s, s.bin_s, s.counts.clone()),
        (-2, 1, vec![2.0])
    );
}

#[test]
fn options_deserialize() {
    let o: RateCsvOptions = serde_json::from_str(r#"{"gaps":"fill_zero"}"#).unwrap();
    assert_eq!(o, fill_zero());
    let o: RateCsvOptions =
        serde_json::from_str(r#"{"timestamp_column":"ts","gaps":"error"}"#).unwrap();
    assert_eq!(
        (o.timestamp_column.as_str(), o.gaps),
        ("ts", GapPolicy::Error)
    );
    assert!(serde_json::from_str::<GapPolicy>(r#""zero""#).is_err());
    let o: RequestLogOptions = serde_json::from_str(r#"{"context_tokens_column":"ctx"}"#).unwrap();
    assert_eq!(o.timestamp_column, "TIMESTAMP");
    assert_eq!(o.context_tokens_column.as_deref(), Some("ctx"));
    assert_eq!(GapPolicy::default(), GapPolicy::Error);
}

#[test]
fn millisecond_timestamps_and_a_count_column_that_is_the_timestamp_are_rejected() {
    // Unix milliseconds would read as seconds 1000 apart, around the year 27000.
    let text = "unix_s,requests\n804571201000,3\n804571202000,4\n";
    let msg = rate_err(text, &RateCsvOptions::default(), 2);
    assert!(msg.contains("milliseconds?"), "{msg}");
    let text = "unix_s,requests\n804571201,3\n804571202,4\n";
    let opts = RateCsvOptions {
        timestamp_column: "unix_s".into(),
        count_column: "unix_s".into(),
        ..Default::default()
    };
    let err = parse_rate_csv(text, "t.csv", &opts)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("count_column") && err.contains("timestamp column too"),
        "{err}"
    );
}
