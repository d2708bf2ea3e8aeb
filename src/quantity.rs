//! Kubernetes `resource.Quantity` (k8s.io/apimachinery `pkg/api/resource`), exact.
//!
//! A [`Quantity`] is an exact decimal number (an arbitrary-precision mantissa times a power of
//! ten) plus the suffix family it was written in ([`QuantityFormat`]). [`MilliCpu`] and [`Bytes`]
//! are the two integer views that costsim's model files use for CPU and memory.
//!
//! # Grammar
//!
//! ```text
//! quantity ::= sign? number suffix
//! sign     ::= "+" | "-"
//! number   ::= digits | digits "." | digits "." digits | "." digits
//! suffix   ::= "" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E"     (10^-9 .. 10^18)
//!            | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"                     (2^10 .. 2^60)
//!            | ("e" | "E") sign? digits                                    (10^exponent)
//! ```
//!
//! `E` on its own is exa (10^18); `E` followed by an integer is an exponent. Suffixes are
//! case-sensitive (`K`, `mi`, `MB`, `Mib` are errors), whitespace is never allowed, and there
//! is exactly one suffix.
//!
//! # Values
//!
//! - Values are exact. A non-zero value finer than 1n (10^-9) is rounded **up**, away from
//!   zero, to the next nano: `0.1n` is `1n`, `3.001n` is `4n`, `-0.1n` is `-1n`.
//! - BinarySI values are capped at 2^63−1 in magnitude (`9Ei` is 9223372036854775807).
//!   DecimalSI and DecimalExponent values are not capped (`12E` is 1.2·10^19).
//! - A non-zero BinarySI value with |v| < 1 is recorded as DecimalSI.
//!
//! # Canonical form ([`Quantity::canonical`], also `Display` and serde)
//!
//! Zero is `0`. A BinarySI quantity stays binary when its value is an integer with |v| ≥ 1024
//! (suffix: the largest power of 1024 dividing it, `1536Mi`); otherwise it is shown as
//! DecimalSI. Decimal forms move every trailing zero into the exponent, lower the exponent to
//! a multiple of three and print the integer mantissa with that exponent's suffix: `1.5` is
//! `1500m`, `1000M` is `1G`, `0.001e0` is `1e-3`, `300e6` stays `300e6`.
//!
//! # Where costsim differs from upstream (on purpose)
//!
//! - **No digits, no quantity.** Upstream parses `-`, `+`, `.`, `Ki` or `e3` as zero; costsim
//!   rejects any input without at least one digit, because in a model file such a value is
//!   always a typo.
//! - **Exponent range.** An `e`/`E` exponent must be within ±2147483647, as upstream's
//!   `interpret` requires (older upstream versions read 64 bits and silently truncated to 32),
//!   and so must the exponent of the canonical form, so that every canonical string parses back
//!   to the same value.
//! - **DecimalSI beyond `E`.** A DecimalSI value whose canonical exponent is 21 or more has no
//!   SI letter; it is printed in exponent notation (`1000E` → `1e21`) so the output stays
//!   parseable (older upstream versions silently dropped the suffix).
//! - **No echoed input.** Upstream's `String()` returns the input text itself when it looks
//!   canonical, including a leading `+` (`+7Mi`); [`Quantity::canonical`] is always computed
//!   (`7Mi`).
//! - **Integer accessors.** [`Quantity::value`] and [`Quantity::milli_value`] round an inexact
//!   result away from zero, as upstream documents and tests (`TestNegativeValueRoundsAwayFromZero`:
//!   `-1500m` → -2, `-0.0005` → -1 milli), and saturate at the `i64` bounds (upstream overflows
//!   silently); [`Quantity::checked_milli_value`] and [`Quantity::checked_ceil_scaled`] return
//!   `None` instead, for callers that must reject.
//! - **Serde.** Deserializing trims surrounding whitespace, like upstream's `UnmarshalJSON`;
//!   [`Quantity::parse`] does not. Numbers are accepted and parsed from their decimal text.
//! - **[`MilliCpu`] and [`Bytes`]** reject negative values and values beyond `i64`, judged on
//!   the value as written, before the BinarySI cap (`9Ei` of memory is an error, not 8Ei − 1);
//!   [`Bytes`] also rejects fractional bytes (`500m` of memory is half a byte, almost always a mistake
//!   for `500M` or `500Mi`). Upstream accepts all of these.
//!
//! Equality, ordering and hashing compare values only, never the format (`1000m == 1`), like
//! upstream's `Equal` and `Cmp`.
//!
//! [`Quantity::to_decimal_string`] writes every digit, so it allocates one byte per power of
//! ten: cheap for real quantities, large for absurd ones such as `1e2000000000` (which the
//! other methods handle in constant space).

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{One, Signed, ToPrimitive, Zero};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// The suffix family a quantity was written in; it decides how the canonical form is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuantityFormat {
    /// Powers of 1000 with SI letters: `500m`, `2`, `1.5G`.
    DecimalSI,
    /// Powers of 1024: `512Mi`, `1Gi`.
    BinarySI,
    /// Powers of ten in exponent notation: `1e3`, `1.5E-6`.
    DecimalExponent,
}

impl QuantityFormat {
    /// The upstream name of the format: `"DecimalSI"`, `"BinarySI"` or `"DecimalExponent"`.
    pub fn as_str(self) -> &'static str {
        match self {
            QuantityFormat::DecimalSI => "DecimalSI",
            QuantityFormat::BinarySI => "BinarySI",
            QuantityFormat::DecimalExponent => "DecimalExponent",
        }
    }
}

impl fmt::Display for QuantityFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a valid quantity (or not a valid CPU or memory amount).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityError {
    /// The rejected text, as given.
    pub input: String,
    /// What is wrong with it, and what was expected.
    pub reason: String,
}

impl QuantityError {
    fn new(input: &str, reason: impl Into<String>) -> Self {
        QuantityError {
            input: input.to_string(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for QuantityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid quantity {:?}: {}", self.input, self.reason)
    }
}

impl std::error::Error for QuantityError {}

/// A Kubernetes `resource.Quantity`: an exact decimal value and the format it was written in.
///
/// The value is `mantissa × 10^exponent`, kept normalized (no trailing zeros in the mantissa,
/// zero is `0 × 10^0`) and never finer than 10^-9. Equality, ordering and hashing look at the
/// value only.
#[derive(Debug, Clone)]
pub struct Quantity {
    mantissa: BigInt,
    exponent: i64,
    format: QuantityFormat,
}

/// Smallest exponent a quantity keeps: nano.
const NANO_EXP: i64 = -9;
/// Generic hint appended to parse errors.
const EXAMPLES: &str = "expected e.g. 512Mi or 500M";

/// How a suffix scales the number.
enum Multiplier {
    /// × 10^n.
    Pow10(i64),
    /// × 2^n.
    Pow2(usize),
}

impl Quantity {
    /// Parses a quantity string such as `500m`, `1.5Gi`, `2`, `1e3` (see the module docs for
    /// the grammar and for where costsim is stricter than upstream).
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        Self::parse_with_cap(s, true)
    }

    /// Parses like [`parse`](Self::parse), but leaves BinarySI values uncapped when
    /// `cap_binary` is false, so that an integer view can reject `9Ei` instead of reading it
    /// as 2^63−1.
    fn parse_with_cap(s: &str, cap_binary: bool) -> Result<Quantity, QuantityError> {
        let fail = |reason: String| QuantityError::new(s, reason);
        if s.is_empty() {
            return Err(fail(format!(
                "empty string; a quantity is a number with an optional suffix, {EXAMPLES}"
            )));
        }
        if matches!(s, "NaN" | "inf" | "-inf" | "+inf") {
            return Err(fail(format!("not a finite number; {EXAMPLES}")));
        }
        if s.trim() != s {
            return Err(fail(format!(
                "leading or trailing whitespace is not allowed; {EXAMPLES}"
            )));
        }

        // sign? digits* ("." digits*)? — everything after is the suffix.
        let b = s.as_bytes();
        let mut pos = 0;
        let negative = match b[0] {
            b'-' => {
                pos = 1;
                true
            }
            b'+' => {
                pos = 1;
                false
            }
            _ => false,
        };
        let int_start = pos;
        while pos < b.len() && b[pos].is_ascii_digit() {
            pos += 1;
        }
        let int_digits = &s[int_start..pos];
        let mut frac_digits = "";
        if pos < b.len() && b[pos] == b'.' {
            pos += 1;
            let frac_start = pos;
            while pos < b.len() && b[pos].is_ascii_digit() {
                pos += 1;
            }
            frac_digits = &s[frac_start..pos];
        }
        let number_text = &s[int_start..pos];
        let suffix = &s[pos..];
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(fail(format!(
                "no digits; a quantity starts with a number, {EXAMPLES}"
            )));
        }
        let (multiplier, format) = interpret_suffix(suffix, number_text).map_err(fail)?;

        // Exact value: digits × 10^(-fraction length), then the suffix.
        let mut digits = String::with_capacity(int_digits.len() + frac_digits.len());
        digits.push_str(int_digits);
        digits.push_str(frac_digits);
        let mut exponent = -(frac_digits.len() as i64);
        let trimmed = digits.trim_start_matches('0');
        let significant = trimmed.trim_end_matches('0');
        exponent += (trimmed.len() - significant.len()) as i64;
        let mut mantissa = if significant.is_empty() {
            BigInt::zero()
        } else {
            BigInt::parse_bytes(significant.as_bytes(), 10)
                .ok_or_else(|| fail(format!("unreadable number; {EXAMPLES}")))?
        };
        match multiplier {
            Multiplier::Pow10(e) => exponent += e,
            Multiplier::Pow2(p) => mantissa <<= p,
        }
        if negative {
            mantissa = -mantissa;
        }
        let (mut mantissa, mut exponent) = normalize(mantissa, exponent);

        // Nano precision: round anything finer up, away from zero.
        if !mantissa.is_zero() && exponent < NANO_EXP {
            let shift = (NANO_EXP - exponent) as u64;
            let sign = mantissa.sign();
            let magnitude = mantissa.abs();
            let rounded = if shift > digits_upper_bound(&magnitude) {
                BigInt::one()
            } else {
                let divisor = pow10(shift);
                let mut q = &magnitude / &divisor;
                if !(&magnitude % &divisor).is_zero() {
                    q += 1;
                }
                q
            };
            let signed = if sign == Sign::Minus {
                -rounded
            } else {
                rounded
            };
            (mantissa, exponent) = normalize(signed, NANO_EXP);
        }

        let mut format = format;
        if format == QuantityFormat::BinarySI {
            let max = BigInt::from(i64::MAX);
            if cap_binary && cmp_abs(&mantissa, exponent, &max, 0) == Ordering::Greater {
                mantissa = if mantissa.is_negative() { -max } else { max };
                exponent = 0;
            }
            if !mantissa.is_zero()
                && cmp_abs(&mantissa, exponent, &BigInt::one(), 0) == Ordering::Less
            {
                format = QuantityFormat::DecimalSI;
            }
        }

        if exponent - exponent.rem_euclid(3) > i64::from(i32::MAX) {
            return Err(fail(format!(
                "value too large: its exponent does not fit in 32 bits; {EXAMPLES}"
            )));
        }
        Ok(Quantity {
            mantissa,
            exponent,
            format,
        })
    }

    /// The suffix family the quantity was written in.
    pub fn format(&self) -> QuantityFormat {
        self.format
    }

    /// `value × 1000` rounded away from zero, saturating at the `i64` bounds (upstream
    /// `MilliValue`: `0.0001` → 1, `-0.0005` → -1).
    pub fn milli_value(&self) -> i64 {
        self.scaled_ceil(3)
    }

    /// The value rounded away from zero, saturating at the `i64` bounds (upstream `Value`:
    /// `1500m` → 2, `-1500m` → -2).
    pub fn value(&self) -> i64 {
        self.scaled_ceil(0)
    }

    /// `value × 10^scale` rounded away from zero (the ceiling for non-negative values),
    /// saturating at the `i64` bounds: `ceil_scaled(9)` is the value in nano-units
    /// (`2731514n` → 2731514), `ceil_scaled(3)` is [`milli_value`](Self::milli_value).
    pub fn ceil_scaled(&self, scale: i64) -> i64 {
        self.scaled_ceil(scale)
    }

    /// `value × 10^scale` rounded away from zero, saturating at the `i64` bounds.
    fn scaled_ceil(&self, scale: i64) -> i64 {
        self.checked_ceil_scaled(scale)
            .unwrap_or(if self.mantissa.is_negative() {
                i64::MIN
            } else {
                i64::MAX
            })
    }

    /// `value × 1000` rounded away from zero, or `None` when it does not fit in an `i64` (no
    /// saturation).
    pub fn checked_milli_value(&self) -> Option<i64> {
        self.checked_ceil_scaled(3)
    }

    /// `value × 10^scale` rounded away from zero, or `None` when it does not fit in an `i64`.
    /// Upstream's `ScaledValue` rounds an inexact result away from zero for either sign
    /// (`negativeScaleInt64`, and the `inf.Dec` path since kubernetes#110653), so a negative
    /// fraction goes down, not up.
    pub fn checked_ceil_scaled(&self, scale: i64) -> Option<i64> {
        if self.mantissa.is_zero() {
            return Some(0);
        }
        let e = self.exponent.saturating_add(scale);
        if e >= 19 {
            // |mantissa| ≥ 1, so |value × 10^scale| ≥ 10^19 > i64::MAX.
            return None;
        }
        let result = if e >= 0 {
            &self.mantissa * pow10(e as u64)
        } else {
            let k = e.unsigned_abs();
            if k > digits_upper_bound(&self.mantissa) {
                // 0 < |value × 10^scale| < 1: one unit away from zero.
                return Some(if self.mantissa.is_negative() { -1 } else { 1 });
            }
            let divisor = pow10(k);
            // Truncation toward zero, then one unit away from zero when inexact.
            let mut q = &self.mantissa / &divisor;
            if !(&self.mantissa % &divisor).is_zero() {
                if self.mantissa.is_negative() {
                    q -= 1;
                } else {
                    q += 1;
                }
            }
            q
        };
        result.to_i64()
    }

    /// The exact value in base units as a plain decimal: no exponent, no trailing zeros
    /// (`"0.000000004"`, `"-102435.84"`, `"1"`, `"0"`).
    pub fn to_decimal_string(&self) -> String {
        if self.mantissa.is_zero() {
            return "0".to_string();
        }
        let digits = self.mantissa.magnitude().to_string();
        let mut out = String::new();
        if self.mantissa.is_negative() {
            out.push('-');
        }
        if self.exponent >= 0 {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', self.exponent as usize));
        } else {
            let k = self.exponent.unsigned_abs() as usize;
            if digits.len() > k {
                let (int, frac) = digits.split_at(digits.len() - k);
                out.push_str(int);
                out.push('.');
                out.push_str(frac);
            } else {
                out.push_str("0.");
                out.extend(std::iter::repeat_n('0', k - digits.len()));
                out.push_str(&digits);
            }
        }
        out
    }

    /// The canonical string (upstream `String()`): `1500m`, `1536Mi`, `1G`, `300e6`, `0`.
    pub fn canonical(&self) -> String {
        if self.mantissa.is_zero() {
            return "0".to_string();
        }
        let mut format = self.format;
        if format == QuantityFormat::BinarySI {
            let binary = self.exponent >= 0
                && self.exponent <= 64
                && cmp_abs(&self.mantissa, self.exponent, &BigInt::from(1024), 0) != Ordering::Less;
            if binary {
                let mut n = &self.mantissa * pow10(self.exponent as u64);
                let mut power = 0;
                while power < 6 && (&n % 1024u32).is_zero() {
                    n /= 1024u32;
                    power += 1;
                }
                let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][power];
                return format!("{n}{suffix}");
            }
            format = QuantityFormat::DecimalSI;
        }
        let e3 = self.exponent - self.exponent.rem_euclid(3);
        let n = &self.mantissa * pow10((self.exponent - e3) as u64);
        let suffix = match (format, e3) {
            (QuantityFormat::DecimalSI, -9) => "n".to_string(),
            (QuantityFormat::DecimalSI, -6) => "u".to_string(),
            (QuantityFormat::DecimalSI, -3) => "m".to_string(),
            (_, 0) => String::new(),
            (QuantityFormat::DecimalSI, 3) => "k".to_string(),
            (QuantityFormat::DecimalSI, 6) => "M".to_string(),
            (QuantityFormat::DecimalSI, 9) => "G".to_string(),
            (QuantityFormat::DecimalSI, 12) => "T".to_string(),
            (QuantityFormat::DecimalSI, 15) => "P".to_string(),
            (QuantityFormat::DecimalSI, 18) => "E".to_string(),
            // DecimalExponent, and DecimalSI beyond the SI letters.
            (_, e) => format!("e{e}"),
        };
        format!("{n}{suffix}")
    }

    /// `milli / 1000` in the given format (upstream `NewMilliQuantity`).
    pub fn from_milli(milli: i64, format: QuantityFormat) -> Quantity {
        let (mantissa, exponent) = normalize(BigInt::from(milli), -3);
        Quantity {
            mantissa,
            exponent,
            format,
        }
    }

    /// `value` in the given format (upstream `NewQuantity`).
    pub fn from_int(value: i64, format: QuantityFormat) -> Quantity {
        let (mantissa, exponent) = normalize(BigInt::from(value), 0);
        Quantity {
            mantissa,
            exponent,
            format,
        }
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa.is_zero()
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.mantissa.is_negative()
    }

    /// Whether the value is a whole number (no fraction).
    pub fn is_integer(&self) -> bool {
        self.exponent >= 0
    }

    /// The value as the nearest `f64` (±infinity beyond its range). For reporting only.
    pub fn to_f64(&self) -> f64 {
        format!("{}e{}", self.mantissa, self.exponent)
            .parse()
            .unwrap_or(f64::NAN)
    }
}

impl Default for Quantity {
    /// Zero, DecimalSI.
    fn default() -> Self {
        Quantity::from_int(0, QuantityFormat::DecimalSI)
    }
}

/// Reads a suffix: its multiplier and format, or why it is wrong.
fn interpret_suffix(suffix: &str, number: &str) -> Result<(Multiplier, QuantityFormat), String> {
    use Multiplier::{Pow10, Pow2};
    use QuantityFormat::{BinarySI, DecimalExponent, DecimalSI};
    let known = match suffix {
        "" => Some((Pow10(0), DecimalSI)),
        "n" => Some((Pow10(-9), DecimalSI)),
        "u" => Some((Pow10(-6), DecimalSI)),
        "m" => Some((Pow10(-3), DecimalSI)),
        "k" => Some((Pow10(3), DecimalSI)),
        "M" => Some((Pow10(6), DecimalSI)),
        "G" => Some((Pow10(9), DecimalSI)),
        "T" => Some((Pow10(12), DecimalSI)),
        "P" => Some((Pow10(15), DecimalSI)),
        "E" => Some((Pow10(18), DecimalSI)),
        "Ki" => Some((Pow2(10), BinarySI)),
        "Mi" => Some((Pow2(20), BinarySI)),
        "Gi" => Some((Pow2(30), BinarySI)),
        "Ti" => Some((Pow2(40), BinarySI)),
        "Pi" => Some((Pow2(50), BinarySI)),
        "Ei" => Some((Pow2(60), BinarySI)),
        _ => None,
    };
    if let Some(k) = known {
        return Ok(k);
    }
    if suffix.chars().any(char::is_whitespace) {
        return Err(format!("whitespace is not allowed; {EXAMPLES}"));
    }
    if suffix.starts_with('.') {
        return Err(format!("more than one decimal point; {EXAMPLES}"));
    }
    if suffix.starts_with(['+', '-']) {
        return Err(format!(
            "a sign may only come first, before the number; {EXAMPLES}"
        ));
    }
    if let Some(rest) = suffix.strip_prefix(['e', 'E']) {
        let unsigned = rest.strip_prefix(['+', '-']).unwrap_or(rest);
        if unsigned.is_empty() {
            return Err(format!(
                "exponent {suffix:?} has no digits; expected e.g. 1e3 or 5E-3"
            ));
        }
        if unsigned.bytes().all(|c| c.is_ascii_digit()) {
            // Upstream accepts [-MaxInt32, MaxInt32]: its int32 scale is negated later, and
            // -MinInt32 overflows, so MinInt32 itself is rejected too
            // (TestInterpretExponentInt32Bounds).
            return match rest.parse::<i32>() {
                Ok(e) if e != i32::MIN => Ok((Pow10(i64::from(e)), DecimalExponent)),
                _ => Err(format!(
                    "exponent {suffix:?} is out of range (it must be within ±2147483647)"
                )),
            };
        }
        if unsigned.bytes().next().is_some_and(|c| c.is_ascii_digit()) {
            return Err(format!(
                "invalid exponent {suffix:?}: an exponent is an integer and ends the quantity; \
                 expected e.g. 1e3 or 5E-3"
            ));
        }
    }
    if let Some(hint) = suggest(suffix, number) {
        return Err(format!(
            "unknown suffix {suffix:?} (suffixes are case-sensitive and have no B): {hint}"
        ));
    }
    Err(format!(
        "unknown suffix {suffix:?}: use n u m k M G T P E (powers of 1000), \
         Ki Mi Gi Ti Pi Ei (powers of 1024) or e<exponent>; {EXAMPLES}"
    ))
}

/// For a near-miss unit (`MB`, `mi`, `Mib`, `K`, `gb`), "did you mean 512M or 512Mi?".
fn suggest(suffix: &str, number: &str) -> Option<String> {
    let lower = suffix.to_ascii_lowercase();
    let core = lower.strip_suffix('b').unwrap_or(&lower);
    let core = core.strip_suffix('i').unwrap_or(core);
    let mut chars = core.chars();
    let letter = chars.next()?;
    if chars.next().is_some() || !"kmgtpe".contains(letter) {
        return None;
    }
    let upper = letter.to_ascii_uppercase();
    let decimal = if letter == 'k' { 'k' } else { upper };
    Some(format!(
        "did you mean {number}{decimal} or {number}{upper}i?"
    ))
}

/// 10^n.
fn pow10(n: u64) -> BigInt {
    // Callers bound n by the size of a mantissa, far below u32::MAX.
    BigInt::from(10u32).pow(u32::try_from(n).unwrap_or(u32::MAX))
}

/// An upper bound on the number of decimal digits of |m| (1 for zero).
fn digits_upper_bound(m: &BigInt) -> u64 {
    digits_bound(m.bits())
}

/// An upper bound on the number of decimal digits of a number of `bits` binary digits.
fn digits_bound(bits: u64) -> u64 {
    bits * 30103 / 100000 + 1
}

/// Moves the trailing zeros of `mantissa` into `exponent`; zero becomes `0 × 10^0`.
fn normalize(mut mantissa: BigInt, mut exponent: i64) -> (BigInt, i64) {
    if mantissa.is_zero() {
        return (mantissa, 0);
    }
    const TEN_19: u64 = 10_000_000_000_000_000_000;
    while (&mantissa % TEN_19).is_zero() {
        mantissa /= TEN_19;
        exponent += 19;
    }
    while (&mantissa % 10u32).is_zero() {
        mantissa /= 10u32;
        exponent += 1;
    }
    (mantissa, exponent)
}

/// Compares |a × 10^ea| with |b × 10^eb| without materializing large powers of ten.
fn cmp_abs(a: &BigInt, ea: i64, b: &BigInt, eb: i64) -> Ordering {
    cmp_magnitude(a.magnitude(), ea, b.magnitude(), eb)
}

fn cmp_magnitude(a: &BigUint, ea: i64, b: &BigUint, eb: i64) -> Ordering {
    match (a.is_zero(), b.is_zero()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    match ea.cmp(&eb) {
        Ordering::Equal => a.cmp(b),
        Ordering::Less => cmp_magnitude(b, eb, a, ea).reverse(),
        Ordering::Greater => {
            let diff = ea.abs_diff(eb);
            // |b| × 10^eb < 10^(digits(b) + eb) ≤ 10^ea ≤ |a| × 10^ea.
            if diff >= digits_bound(b.bits()) {
                Ordering::Greater
            } else {
                (a * pow10(diff).magnitude()).cmp(b)
            }
        }
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        // Normalized: equal values have equal representations.
        self.mantissa == other.mantissa && self.exponent == other.exponent
    }
}

impl Eq for Quantity {}

impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.mantissa.hash(state);
        self.exponent.hash(state);
    }
}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        let (sa, sb) = (self.mantissa.sign(), other.mantissa.sign());
        if sa != sb {
            return sa.cmp(&sb);
        }
        let by_magnitude = cmp_abs(
            &self.mantissa,
            self.exponent,
            &other.mantissa,
            other.exponent,
        );
        if sa == Sign::Minus {
            by_magnitude.reverse()
        } else {
            by_magnitude
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.canonical())
    }
}

/// Reads a quantity's text from a string (trimmed, like upstream `UnmarshalJSON`) or from a
/// number (its decimal text); the field says what it expects (a type error names it).
struct QuantityText(&'static str);

impl Visitor<'_> for QuantityText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.trim().to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        // Display of f64 is the shortest round-trip decimal, never in exponent notation; a
        // non-finite one (`NaN`, `inf`) is left to the parser of the field's type, whose error
        // gives examples of that type (CPU or memory).
        Ok(v.to_string())
    }
}

/// Reads a YAML/JSON scalar written as text or as a number into its text (`2` → `"2"`,
/// `0.5` → `"0.5"`); model fields that accept both (quantities, durations, limit rules) share it.
pub fn deserialize_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    deserialize_text_expecting(
        deserializer,
        "a Kubernetes quantity: a string such as \"500m\" or \"512Mi\", or a number",
    )
}

/// [`deserialize_text`] for a field that is not a quantity (a duration): `expecting` is what a
/// value of the wrong type (a map, a list, a boolean) is told was expected.
pub fn deserialize_text_expecting<'de, D: Deserializer<'de>>(
    deserializer: D,
    expecting: &'static str,
) -> Result<String, D::Error> {
    deserializer.deserialize_any(QuantityText(expecting))
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = deserialize_text(deserializer)?;
        Quantity::parse(&text).map_err(de::Error::custom)
    }
}

/// Display (canonical quantity), FromStr, Serialize (canonical string) and Deserialize (text or
/// number through `parse`) for a newtype with `parse` and `to_quantity`.
macro_rules! quantity_newtype_traits {
    ($t:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_quantity().canonical())
            }
        }

        impl FromStr for $t {
            type Err = QuantityError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $t::parse(s)
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_string())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = deserialize_text(deserializer)?;
                $t::parse(&text).map_err(de::Error::custom)
            }
        }
    };
}

/// CPU in millicores, read through Quantity (`250m`, `0.5`, `2`). Rejects negative values.
///
/// Finer values round up to the next millicore (`0.0001` is `1m`), like upstream
/// `MilliValue`. Serializes as the canonical string (`"250m"`, `"2"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MilliCpu(pub i64);

impl MilliCpu {
    /// Parses a CPU amount such as `250m`, `0.5` or `2`.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        let q = Quantity::parse_with_cap(s, false).map_err(cpu_examples)?;
        Self::from_quantity_text(&q, s)
    }

    /// The CPU amount of a quantity; errors name its canonical form.
    pub fn from_quantity(q: &Quantity) -> Result<Self, QuantityError> {
        Self::from_quantity_text(q, &q.canonical())
    }

    fn from_quantity_text(q: &Quantity, input: &str) -> Result<Self, QuantityError> {
        if q.is_negative() {
            return Err(QuantityError::new(
                input,
                "CPU must not be negative; expected e.g. 250m, 0.5 or 2",
            ));
        }
        if q > &Quantity::from_milli(i64::MAX, QuantityFormat::DecimalSI) {
            return Err(QuantityError::new(
                input,
                "CPU too large: at most 9223372036854775807m",
            ));
        }
        Ok(MilliCpu(q.milli_value()))
    }

    /// The amount as a DecimalSI quantity.
    pub fn to_quantity(self) -> Quantity {
        Quantity::from_milli(self.0, QuantityFormat::DecimalSI)
    }
}

quantity_newtype_traits!(MilliCpu);

/// A parse error of a CPU amount, with CPU examples in place of the generic ones.
fn cpu_examples(mut e: QuantityError) -> QuantityError {
    e.reason = e.reason.replace(EXAMPLES, "expected e.g. 250m, 0.5 or 2");
    e
}

impl Quantity {
    /// Parses a CPU amount (usage or request) as an exact quantity; errors give CPU examples.
    pub fn parse_cpu(s: &str) -> Result<Quantity, QuantityError> {
        Quantity::parse(s).map_err(cpu_examples)
    }
}

/// Memory in bytes, read through Quantity (`512Mi`, `1G`), value() = ceil. Rejects negative values.
///
/// Also rejects fractional bytes (`500m` is half a byte: almost always meant `500M` or
/// `500Mi`). Serializes as the canonical string, binary when the value is a multiple of 1024
/// (`536870912` is `"512Mi"`), else decimal (`"1500k"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(pub i64);

impl Bytes {
    /// Parses a memory amount such as `512Mi`, `1G` or `1048576`.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        Self::from_quantity_text(&Quantity::parse_with_cap(s, false)?, s)
    }

    /// The memory amount of a quantity; errors name its canonical form.
    pub fn from_quantity(q: &Quantity) -> Result<Self, QuantityError> {
        Self::from_quantity_text(q, &q.canonical())
    }

    fn from_quantity_text(q: &Quantity, input: &str) -> Result<Self, QuantityError> {
        if q.is_negative() {
            return Err(QuantityError::new(
                input,
                "memory must not be negative; expected e.g. 512Mi or 1G",
            ));
        }
        if !q.is_integer() {
            let number = input
                .trim_start_matches('+')
                .trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let hint = if input.ends_with('m') {
                format!("`m` is milli (1/1000), not mega; did you mean {number}M or {number}Mi?")
            } else {
                "memory must be a whole number of bytes, e.g. 512Mi or 500M".to_string()
            };
            let reason = if q < &Quantity::from_int(1, QuantityFormat::DecimalSI) {
                "memory below one byte"
            } else {
                "fractional bytes"
            };
            return Err(QuantityError::new(
                input,
                format!("{reason} ({} bytes): {hint}", q.to_decimal_string()),
            ));
        }
        if q > &Quantity::from_int(i64::MAX, QuantityFormat::DecimalSI) {
            return Err(QuantityError::new(
                input,
                "memory too large: at most 9223372036854775807 bytes (8Ei - 1)",
            ));
        }
        Ok(Bytes(q.value()))
    }

    /// The amount for a message, with its unit: `512Mi`, `1500k`, `512 bytes` (a plain number
    /// alone reads as no unit at all).
    pub fn with_unit(self) -> String {
        let s = self.to_string();
        if s.ends_with(|c: char| c.is_ascii_digit()) {
            format!("{s} bytes")
        } else {
            s
        }
    }

    /// The amount as a quantity: BinarySI when a non-zero multiple of 1024, else DecimalSI.
    pub fn to_quantity(self) -> Quantity {
        let format = if self.0 != 0 && self.0 % 1024 == 0 {
            QuantityFormat::BinarySI
        } else {
            QuantityFormat::DecimalSI
        };
        Quantity::from_int(self.0, format)
    }
}

quantity_newtype_traits!(Bytes);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parses_values_and_formats() {
        use QuantityFormat::*;
        let cases = [
            ("5G", "5000000000", DecimalSI),
            ("5Gi", "5368709120", BinarySI),
            ("0.5", "0.5", DecimalSI),
            ("0.50000", "0.5", DecimalSI),
            (".5", "0.5", DecimalSI),
            ("1.", "1", DecimalSI),
            ("1.G", "1000000000", DecimalSI),
            ("+7Mi", "7340032", BinarySI),
            ("-100.035Ki", "-102435.84", BinarySI),
            ("0.05Gi", "53687091.2", BinarySI),
            ("1e3", "1000", DecimalExponent),
            ("1.3E+6", "1300000", DecimalExponent),
            ("0.5e-9", "0.000000001", DecimalExponent),
            ("1.1E-9", "0.000000002", DecimalExponent),
            ("1E", "1000000000000000000", DecimalSI),
            ("1.01E", "1010000000000000000", DecimalSI),
            ("12E", "12000000000000000000", DecimalSI),
            ("0.1n", "0.000000001", DecimalSI),
            ("3.001n", "0.000000004", DecimalSI),
            ("-0.1n", "-0.000000001", DecimalSI),
            ("9Ei", "9223372036854775807", BinarySI),
            ("-9Ei", "-9223372036854775807", BinarySI),
            ("9223372036854775807Ki", "9223372036854775807", BinarySI),
            (
                "10000000000000000000000m",
                "10000000000000000000",
                DecimalSI,
            ),
            (".000000000001Ki", "0.000000002", DecimalSI),
            ("0.5Ki", "512", BinarySI),
            ("0Ki", "0", BinarySI),
            ("00", "0", DecimalSI),
            ("-0", "0", DecimalSI),
            ("4u", "0.000004", DecimalSI),
        ];
        for (input, value, format) in cases {
            let got = q(input);
            assert_eq!(got.to_decimal_string(), value, "{input}");
            assert_eq!(got.format(), format, "{input}");
        }
    }

    #[test]
    fn canonical_forms() {
        let cases = [
            ("1.5", "1500m"),
            ("1.5Gi", "1536Mi"),
            ("1024Mi", "1Gi"),
            ("1000M", "1G"),
            ("0.001T", "1G"),
            (".001Ki", "1024m"),
            (".000000000001Ki", "2n"),
            ("0.001e0", "1e-3"),
            (".001e12", "1e9"),
            ("300e6", "300e6"),
            ("1e14", "100e12"),
            ("10000000000000000000000m", "10E"),
            ("999999999999999999.1", "999999999999999999100m"),
            ("9223372036854775807.1", "9223372036854775807100m"),
            ("00", "0"),
            ("0Ki", "0"),
            ("1080000000n", "1080m"),
            ("1000000000000000000", "1E"),
            ("+7Mi", "7Mi"),
            ("-1.5Gi", "-1536Mi"),
            ("-0.5Ki", "-512"),
            ("1023Ki", "1023Ki"),
            ("100.035Ki", "102435840m"),
            ("1000E", "1e21"),
            ("1e21", "1e21"),
            ("1e-2147483647", "1e-9"),
            ("1e2147483647", "10e2147483646"),
            ("-3.001n", "-4n"),
        ];
        for (input, canonical) in cases {
            assert_eq!(q(input).canonical(), canonical, "{input}");
            assert_eq!(q(input).to_string(), canonical, "{input}");
        }
    }

    #[test]
    fn rejects_invalid_input() {
        for bad in [
            "",
            " 1",
            "1 ",
            "1 Mi",
            "1.1.M",
            "1+1.0M",
            "mi",
            "1mi",
            "1Mib",
            "1MB",
            "1K",
            "1i",
            ".5i",
            "-3.01i",
            "-3.01e-",
            "1e",
            "1e+",
            "1e3.5",
            "1e3Mi",
            "aoeu",
            "-",
            "+",
            ".",
            "Ki",
            "e3",
            "512MB",
            "400Mib",
            "500mi",
            "1.5.5",
            "--1",
            "1e2147483648",
            "1e-2147483648",
            "1000e2147483647",
            "1\u{00e9}",
            "\u{0661}",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn error_messages_name_input_and_fix() {
        let e = Quantity::parse("512MB").unwrap_err();
        assert_eq!(e.input, "512MB");
        let text = e.to_string();
        assert!(text.starts_with("invalid quantity \"512MB\": "), "{text}");
        assert!(text.contains("512M or 512Mi"), "{text}");
        let e = Quantity::parse("1K").unwrap_err().to_string();
        assert!(e.contains("1k or 1Ki"), "{e}");
        let e = Quantity::parse("500mi").unwrap_err().to_string();
        assert!(e.contains("500M or 500Mi"), "{e}");
        let e = Quantity::parse("12xyz").unwrap_err().to_string();
        assert!(e.contains("expected e.g. 512Mi or 500M"), "{e}");
        // A CPU usage column gives CPU examples.
        let e = Quantity::parse_cpu("NaN").unwrap_err().to_string();
        assert!(
            e.contains("expected e.g. 250m, 0.5 or 2") && !e.contains("512Mi"),
            "{e}"
        );
        assert_eq!(Quantity::parse_cpu("250m").unwrap().milli_value(), 250);
        let e = Quantity::parse("-").unwrap_err().to_string();
        assert!(e.contains("no digits"), "{e}");
    }

    #[test]
    fn integer_accessors() {
        assert_eq!(q("5.4").milli_value(), 5400);
        assert_eq!(q("5Gi").value(), 5368709120);
        assert_eq!(q("0.0001").milli_value(), 1);
        assert_eq!(q("1n").value(), 1);
        assert_eq!(q("1.5").value(), 2);
        assert_eq!(q("-1.5").value(), -2);
        assert_eq!(q("-0.0001").milli_value(), -1);
        assert_eq!(q("-250m").milli_value(), -250);
        assert_eq!(q("100E").milli_value(), i64::MAX);
        assert_eq!(q("-100E").milli_value(), i64::MIN);
        assert_eq!(q("1e2147483647").value(), i64::MAX);
        assert_eq!(q("9Ei").value(), i64::MAX);
        // The checked accessors refuse instead of saturating.
        assert_eq!(q("100E").checked_milli_value(), None);
        assert_eq!(q("9Ei").checked_milli_value(), None);
        assert_eq!(q("-100E").checked_milli_value(), None);
        assert_eq!(
            q("9223372036854775.807").checked_milli_value(),
            Some(i64::MAX)
        );
        assert_eq!(q("9223372036854775.808").checked_milli_value(), None);
        assert_eq!(q("0.1m").checked_milli_value(), Some(1));
        assert_eq!(q("-0.1m").checked_milli_value(), Some(-1));
        assert_eq!(q("2731514n").checked_ceil_scaled(9), Some(2731514));
        assert_eq!(q("10").checked_ceil_scaled(18), None);
        assert_eq!(q("9223372036854775807").value(), i64::MAX);
        assert_eq!(q("-9223372036854775808").value(), i64::MIN);
        assert_eq!(q("9223372036854775.807").milli_value(), i64::MAX);
        assert_eq!(q("1e-2147483647").milli_value(), 1);
    }

    #[test]
    fn constructors() {
        let m = Quantity::from_milli(1500, QuantityFormat::DecimalSI);
        assert_eq!(m.canonical(), "1500m");
        assert_eq!(m, q("1.5"));
        assert_eq!(
            Quantity::from_int(1 << 30, QuantityFormat::BinarySI).canonical(),
            "1Gi"
        );
        assert_eq!(
            Quantity::from_int(1000, QuantityFormat::BinarySI).canonical(),
            "1k"
        );
        assert_eq!(
            Quantity::from_int(i64::MIN, QuantityFormat::BinarySI).canonical(),
            "-8Ei"
        );
        assert_eq!(
            Quantity::from_milli(i64::MIN, QuantityFormat::DecimalSI).milli_value(),
            i64::MIN
        );
        assert!(Quantity::default().is_zero());
        assert!(q("-1m").is_negative());
        assert!(!q("-0").is_negative());
    }

    #[test]
    fn ordering_and_equality_by_value() {
        assert_eq!(q("1000m"), q("1"));
        assert_eq!(q("1Ki"), q("1024"));
        assert!(q("1Ki") > q("1k"));
        assert!(q("1e100") > q("9E"));
        assert!(q("-1e100") < q("-9E"));
        assert!(q("-1") < q("0"));
        assert!(q("1n") > q("0"));
        assert!(q("1e2147483647") > q("999999999999999999999999999999"));
        assert!(q("0.000000001") < q("0.000000002"));
        use std::collections::HashSet;
        let set: HashSet<Quantity> = [q("1000m"), q("1"), q("1e0")].into_iter().collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn field_cases() {
        assert_eq!(MilliCpu::parse("0.5"), Ok(MilliCpu(500)));
        assert_eq!(MilliCpu::parse("250m"), Ok(MilliCpu(250)));
        assert_eq!(MilliCpu::parse("2"), Ok(MilliCpu(2000)));
        assert_eq!(Bytes::parse("1.5Gi"), Ok(Bytes(1610612736)));
        assert_eq!(Bytes::parse("128974848000m"), Ok(Bytes(128974848)));
        let total: i64 = ["1G", "1500M", "937500k"]
            .iter()
            .map(|s| Bytes::parse(s).map(|b| b.0))
            .sum::<Result<i64, _>>()
            .unwrap();
        assert_eq!(total, 3437500000);
    }

    #[test]
    fn cpu_and_memory_rejections() {
        let e = Bytes::parse("500m").unwrap_err();
        assert_eq!(e.input, "500m");
        assert!(e.reason.contains("did you mean 500M or 500Mi?"), "{e}");
        assert!(e.reason.contains("below one byte"), "{e}");
        let e = Bytes::parse("1.5").unwrap_err();
        assert!(e.reason.contains("fractional bytes"), "{e}");
        assert!(Bytes::parse("-1Gi").is_err());
        assert!(Bytes::parse("10E").is_err());
        // Upstream caps `9Ei` at 2^63−1; as memory it is out of range, not 8Ei − 1.
        for big in ["9Ei", "8Ei", "999999999Ei", "8796093022208Pi"] {
            let e = Bytes::parse(big).unwrap_err();
            assert!(e.reason.contains("memory too large"), "{big}: {e}");
        }
        assert_eq!(
            Bytes::parse("9223372036854775807"),
            Ok(Bytes(i64::MAX)),
            "8Ei - 1 is the largest memory amount"
        );
        assert_eq!(Bytes::parse("8191Pi"), Ok(Bytes(8191 << 50)));
        let e = MilliCpu::parse("9Ei").unwrap_err();
        assert!(e.reason.contains("CPU too large"), "{e}");
        assert!(MilliCpu::parse("-250m").is_err());
        assert!(MilliCpu::parse("1E").is_err());
        for bad in ["512MB", "400Mib", "500mi", "1K", "1.5.5", "-", ""] {
            assert!(Bytes::parse(bad).is_err(), "{bad:?}");
            assert!(MilliCpu::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn serde_round_trips() {
        let cpu: Vec<MilliCpu> = serde_json::from_str(r#"[2, 0.5, "250m", "1", " 100m "]"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            cpu,
            [
                MilliCpu(2000),
                MilliCpu(500),
                MilliCpu(250),
                MilliCpu(1000),
                MilliCpu(100)
            ]
        );
        assert_eq!(
            serde_json::to_string(&[MilliCpu(250), MilliCpu(2000), MilliCpu(0)]).ok(),
            Some(r#"["250m","2","0"]"#.to_string())
        );
        let mem: Vec<Bytes> =
            serde_json::from_str(r#"["512Mi", "1G", 1048576]"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mem, [Bytes(536870912), Bytes(1000000000), Bytes(1048576)]);
        assert_eq!(
            serde_json::to_string(&[Bytes(536870912), Bytes(1500000), Bytes(1000), Bytes(1025)])
                .ok(),
            Some(r#"["512Mi","1500k","1k","1025"]"#.to_string())
        );
        let qs: Vec<Quantity> =
            serde_json::from_str(r#"["1.5Gi", 0.5, -3, 1e21]"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            serde_json::to_string(&qs).ok(),
            Some(r#"["1536Mi","500m","-3","1e21"]"#.to_string())
        );
        let e = serde_json::from_str::<Bytes>(r#""500m""#).unwrap_err();
        assert!(e.to_string().contains("did you mean 500M or 500Mi?"), "{e}");
        let e = serde_json::from_str::<Quantity>(r#""512MB""#).unwrap_err();
        assert!(e.to_string().contains("invalid quantity \"512MB\""), "{e}");
        assert!(serde_json::from_str::<Quantity>("null").is_err());
        assert!(serde_json::from_str::<Quantity>("true").is_err());
    }

    #[test]
    fn yaml_model_fields() {
        #[derive(Deserialize)]
        struct Resources {
            cpu: MilliCpu,
            memory: Bytes,
        }
        let r: Resources =
            serde_yaml_ng::from_str("cpu: 0.5\nmemory: 1.5Gi\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.cpu, r.memory), (MilliCpu(500), Bytes(1610612736)));
        let r: Resources = serde_yaml_ng::from_str("cpu: 2\nmemory: \"128974848000m\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.cpu, r.memory), (MilliCpu(2000), Bytes(128974848)));
        let e = serde_yaml_ng::from_str::<Resources>("cpu: 250m\nmemory: 500m\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("did you mean 500M or 500Mi?"), "{e}");
    }

    fn suffix() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi",
                "Ei",
            ])
            .prop_map(String::from),
            (-40i32..40).prop_map(|e| format!("e{e}")),
            (-40i32..40).prop_map(|e| format!("E{e:+}")),
        ]
    }

    fn quantity_string() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!["", "-", "+"]),
            "[0-9]{0,24}",
            prop::option::of("[0-9]{0,12}"),
            suffix(),
        )
            .prop_map(|(sign, int, frac, suffix)| {
                let int = if int.is_empty() && frac.as_deref().unwrap_or("").is_empty() {
                    "1".to_string()
                } else {
                    int
                };
                match frac {
                    Some(f) => format!("{sign}{int}.{f}{suffix}"),
                    None => format!("{sign}{int}{suffix}"),
                }
            })
    }

    /// Exact comparison by materializing both values at scale 10^-9.
    fn naive_cmp(a: &Quantity, b: &Quantity) -> Ordering {
        let scaled = |x: &Quantity| &x.mantissa * pow10((x.exponent + 9) as u64);
        scaled(a).cmp(&scaled(b))
    }

    proptest! {
        #[test]
        fn canonical_parses_back_to_the_same_value(s in quantity_string()) {
            let parsed = Quantity::parse(&s);
            prop_assert!(parsed.is_ok(), "{s:?} rejected: {parsed:?}");
            let parsed = parsed.unwrap();
            let canonical = parsed.canonical();
            let again = Quantity::parse(&canonical);
            prop_assert!(again.is_ok(), "canonical {canonical:?} of {s:?} rejected");
            let again = again.unwrap();
            prop_assert_eq!(&again, &parsed, "{} -> {}", s, canonical);
            prop_assert_eq!(again.canonical(), canonical);
            let plain = Quantity::parse(&parsed.to_decimal_string());
            prop_assert_eq!(plain.ok(), Some(parsed));
        }

        #[test]
        fn integer_accessors_are_monotone(a in quantity_string(), b in quantity_string()) {
            let (qa, qb) = (Quantity::parse(&a).unwrap(), Quantity::parse(&b).unwrap());
            prop_assert_eq!(qa.cmp(&qb), naive_cmp(&qa, &qb));
            let (lo, hi) = if qa <= qb { (qa, qb) } else { (qb, qa) };
            prop_assert!(lo.milli_value() <= hi.milli_value(), "{} {}", lo, hi);
            prop_assert!(lo.value() <= hi.value(), "{} {}", lo, hi);
        }

        #[test]
        fn from_milli_and_from_int_round_trip(m in any::<i64>()) {
            let q = Quantity::from_milli(m, QuantityFormat::DecimalSI);
            prop_assert_eq!(q.milli_value(), m);
            prop_assert_eq!(Quantity::parse(&q.canonical()).ok(), Some(q));
            let q = Quantity::from_int(m, QuantityFormat::BinarySI);
            prop_assert_eq!(q.value(), m);
            prop_assert_eq!(Quantity::parse(&q.canonical()).ok(), Some(q));
        }

        #[test]
        fn typed_views_round_trip(m in 0i64..i64::MAX) {
            let cpu = MilliCpu(m);
            prop_assert_eq!(MilliCpu::parse(&cpu.to_string()), Ok(cpu));
            let mem = Bytes(m);
            prop_assert_eq!(Bytes::parse(&mem.to_string()), Ok(mem));
        }

        #[test]
        fn arbitrary_text_never_panics(s in "[-+.0-9eEinumkKMGTPBb ]{0,14}|\\PC{0,10}") {
            if let Ok(q) = Quantity::parse(&s) {
                let again = Quantity::parse(&q.canonical());
                prop_assert_eq!(again.ok(), Some(q));
            }
        }
    }
}
