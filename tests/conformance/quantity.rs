//! quantity_parse cases: parse `inputs.string` with [`Quantity::parse`] and check every key of
//! `expected` (`error`, `value`, `value_int` = `Value()`, `milli_value` = `MilliValue()`, `format`,
//! `canonical`). An unknown key fails the
//! case, so new case shapes are noticed.
use super::Outcome;
use costsim::quantity::{Quantity, QuantityFormat};

const KNOWN_KEYS: &[&str] = &[
    "error",
    "value",
    "value_int",
    "milli_value",
    "format",
    "canonical",
];

pub fn run_case(case: &serde_json::Value) -> Outcome {
    let Some(input) = case["inputs"]["string"].as_str() else {
        return Outcome::Fail("case has no string `inputs.string`".into());
    };
    let Some(expected) = case["expected"].as_object() else {
        return Outcome::Fail("case has no object `expected`".into());
    };
    let unknown: Vec<&str> = expected
        .keys()
        .map(String::as_str)
        .filter(|k| !KNOWN_KEYS.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Outcome::Fail(format!("unknown expected keys: {}", unknown.join(", ")));
    }

    let parsed = Quantity::parse(input);
    let want_error = match expected.get("error") {
        None => false,
        Some(v) => match v.as_bool() {
            Some(b) => b,
            None => return Outcome::Fail(format!("`expected.error` is not a boolean: {v}")),
        },
    };
    let q = match (parsed, want_error) {
        (Err(_), true) => return Outcome::Pass,
        (Ok(q), true) => {
            return Outcome::Fail(format!(
                "{input:?}: expected an error, parsed as {} ({})",
                q.to_decimal_string(),
                q.canonical()
            ))
        }
        (Err(e), false) => return Outcome::Fail(format!("{input:?}: unexpected error: {e}")),
        (Ok(q), false) => q,
    };

    let mut problems = Vec::new();
    if let Some(v) = expected.get("value") {
        match v.as_str() {
            Some(want) => {
                let want = normalize_decimal(want);
                let got = q.to_decimal_string();
                if got != want {
                    problems.push(format!("value: got {got}, want {want}"));
                }
            }
            None => problems.push(format!("`expected.value` is not a string: {v}")),
        }
    }
    if let Some(v) = expected.get("value_int") {
        match v.as_i64() {
            Some(want) => {
                let got = q.value();
                if got != want {
                    problems.push(format!("value_int: got {got}, want {want}"));
                }
            }
            None => problems.push(format!("`expected.value_int` is not an i64: {v}")),
        }
    }
    if let Some(v) = expected.get("milli_value") {
        match v.as_i64() {
            Some(want) => {
                let got = q.milli_value();
                if got != want {
                    problems.push(format!("milli_value: got {got}, want {want}"));
                }
            }
            None => problems.push(format!("`expected.milli_value` is not an i64: {v}")),
        }
    }
    if let Some(v) = expected.get("format") {
        let want = match v.as_str() {
            Some("DecimalSI") => Some(QuantityFormat::DecimalSI),
            Some("BinarySI") => Some(QuantityFormat::BinarySI),
            Some("DecimalExponent") => Some(QuantityFormat::DecimalExponent),
            _ => None,
        };
        match want {
            Some(want) if want == q.format() => {}
            Some(want) => problems.push(format!("format: got {}, want {want}", q.format())),
            None => problems.push(format!("`expected.format` is not a known format: {v}")),
        }
    }
    if let Some(v) = expected.get("canonical") {
        match v.as_str() {
            Some(want) => {
                let got = q.canonical();
                if got != want {
                    problems.push(format!("canonical: got {got}, want {want}"));
                }
            }
            None => problems.push(format!("`expected.canonical` is not a string: {v}")),
        }
    }

    if problems.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(format!("{input:?}: {}", problems.join("; ")))
    }
}

/// Writes a plain decimal the way `Quantity::to_decimal_string` does: no `+`, no leading zeros
/// in the integer part, no trailing zeros in the fraction, no lone `.`, and `0` for any zero.
fn normalize_decimal(s: &str) -> String {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    if int == "0" && frac.is_empty() {
        return "0".to_string();
    }
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}
