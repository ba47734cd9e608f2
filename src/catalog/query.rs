//! The query parameters an operation declares, and the check that a request's query holds only
//! those, each with a value of its kind. This is the positive model for query strings: a name
//! the spec does not declare for the operation never reaches Supabase.

use std::borrow::Cow;
use std::fmt;

use crate::decimal;
use crate::target::{is_project_ref, is_uuid};

/// What a parameter's value must be, as the spec's schema says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Free text of at most this many characters (after decoding), as JSON Schema's `maxLength`
    /// counts them.
    Text(usize),
    /// `true` or `false`.
    Boolean,
    /// A whole number within the bounds; `i64::MIN` and `i64::MAX` stand for a bound the spec
    /// does not set (any longer number is taken as beyond them).
    Integer(i64, i64),
    /// A decimal number within the bounds; the infinities stand for a bound the spec does not set.
    Number(f64, f64),
    /// One of these values.
    OneOf(&'static [&'static str]),
    Uuid,
    /// An RFC 3339 timestamp.
    DateTime,
    /// A project ref (20 lowercase letters).
    ProjectRef,
    /// Digits only.
    Digits,
    /// `[A-Za-z0-9_-]+`.
    Word,
    /// Several values, each given as its own `name=value` pair.
    List(&'static Kind),
}

impl Kind {
    /// A few words for refusals: "true or false".
    pub fn describe(&self) -> String {
        match self {
            Kind::Text(n) => format!("text of at most {n} characters"),
            Kind::Boolean => "true or false".into(),
            Kind::Integer(i64::MIN, i64::MAX) => "a whole number".into(),
            Kind::Integer(lo, i64::MAX) => format!("a whole number of at least {lo}"),
            Kind::Integer(i64::MIN, hi) => format!("a whole number of at most {hi}"),
            Kind::Integer(lo, hi) => format!("a whole number from {lo} to {hi}"),
            Kind::Number(lo, hi) => match (lo.is_finite(), hi.is_finite()) {
                (true, true) => format!("a number from {} to {}", decimal::display(*lo), decimal::display(*hi)),
                (true, false) => format!("a number of at least {}", decimal::display(*lo)),
                (false, true) => format!("a number of at most {}", decimal::display(*hi)),
                (false, false) => "a number".into(),
            },
            Kind::OneOf(values) => format!("one of {}", values.join(", ")),
            Kind::Uuid => "a UUID".into(),
            Kind::DateTime => "an RFC 3339 timestamp".into(),
            Kind::ProjectRef => "a project ref (20 lowercase letters)".into(),
            Kind::Digits => "digits".into(),
            Kind::Word => "letters, digits, _ and -".into(),
            Kind::List(item) => format!("one or more values, each {}", item.describe()),
        }
    }

    fn accepts(&self, value: &str) -> bool {
        match self {
            // Bytes first: a value that short has no more characters.
            Kind::Text(n) => value.len() <= *n || value.chars().count() <= *n,
            Kind::Boolean => value == "true" || value == "false",
            Kind::Integer(lo, hi) => plain_integer(value).is_some_and(|v| *lo <= v && v <= *hi),
            Kind::Number(lo, hi) => plain_number(value).is_some_and(|v| *lo <= v && v <= *hi),
            Kind::OneOf(values) => values.contains(&value),
            Kind::Uuid => is_uuid(value),
            Kind::DateTime => is_rfc3339(value),
            Kind::ProjectRef => is_project_ref(value),
            Kind::Digits => !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
            Kind::Word => {
                !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            }
            Kind::List(item) => item.accepts(value),
        }
    }
}

/// One declared query parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryParam {
    pub name: &'static str,
    pub kind: Kind,
    /// Whether the spec marks it required: a request without it is refused.
    pub required: bool,
}

/// Why a query string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// A name the operation does not declare (escaped, at most 64 bytes).
    Unknown(String),
    /// A declared name with a value not of its kind, given twice, or required and missing:
    /// (name, what it must be).
    Invalid(&'static str, String),
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Unknown(name) => write!(f, "the query parameter \"{name}\" is not one this endpoint declares"),
            QueryError::Invalid(name, kind) => write!(f, "the query parameter \"{name}\" must be {kind}"),
        }
    }
}

/// How many query parameters one operation may declare: one bit each in [`check`].
pub const MAX_PARAMS: usize = 64;

/// Checks every `name=value` pair of `query` (empty when the target has none) against the
/// declared parameters. Empty pairs (`a=1&&b=2`, a trailing `&`) are ignored; a parameter given
/// twice is refused unless it is a list, so a server that reads the first copy and one that
/// reads the last cannot disagree; a required one that is missing is refused.
/// `declared` holds at most [`MAX_PARAMS`] parameters (the catalog refuses to build otherwise).
pub fn check(declared: &[QueryParam], query: &str) -> Result<(), QueryError> {
    let mut seen: u64 = 0;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let Some((i, param)) = declared.iter().enumerate().find(|(_, p)| p.name == name) else {
            return Err(QueryError::Unknown(shown(name)));
        };
        let bit = 1u64 << i;
        if seen & bit != 0 && !matches!(param.kind, Kind::List(_)) {
            return Err(QueryError::Invalid(param.name, "given once".into()));
        }
        seen |= bit;
        let ok = match decode(raw) {
            Some(value) => param.kind.accepts(&value),
            None => false,
        };
        if !ok {
            return Err(QueryError::Invalid(param.name, param.kind.describe()));
        }
    }
    match declared.iter().enumerate().find(|(i, p)| p.required && seen & (1u64 << i) == 0) {
        Some((_, missing)) => Err(QueryError::Invalid(missing.name, "given (the spec requires it)".into())),
        None => Ok(()),
    }
}

/// The value of the first pair named `name`, as it appears in the query (not decoded).
pub fn raw_value<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|p| p.split_once('=').filter(|(n, _)| *n == name).map(|(_, v)| v))
}

/// The query without the pairs named `name` (`None` when it has none).
pub fn without(query: &str, name: &str) -> Option<String> {
    let is_named = |p: &&str| p.split('=').next() == Some(name);
    if !query.split('&').any(|p| is_named(&p)) {
        return None;
    }
    let kept: Vec<&str> = query.split('&').filter(|p| !p.is_empty() && !is_named(p)).collect();
    Some(kept.join("&"))
}

/// A name as it may appear in a refusal: printable ASCII, at most 64 bytes.
fn shown(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\').take(64).collect()
}

/// Form decoding: `+` is a space, `%XX` a byte; the result must be UTF-8. `None` on a bad escape.
pub fn decode(raw: &str) -> Option<String> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Some(raw.to_string());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                // Two hex digits, each read alone: `from_str_radix` would take `+1` as one.
                let hex = |at: usize| bytes.get(at).and_then(|b| char::from(*b).to_digit(16));
                out.push((hex(i + 1)? * 16 + hex(i + 2)?) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A value as upstream reads it: borrowed when it holds no escape, decoded otherwise. A value
/// that does not decode (which [`check`] refuses) is kept as it stands.
pub fn decoded(raw: &str) -> Cow<'_, str> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(raw);
    }
    decode(raw).map_or(Cow::Borrowed(raw), Cow::Owned)
}

/// A whole number; one of more than 18 significant digits is read as `i64::MIN` or `i64::MAX`,
/// beyond every bound the spec sets.
fn plain_integer(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let negative = digits.len() < s.len();
    let significant = digits.trim_start_matches('0');
    if significant.len() > 18 {
        return Some(if negative { i64::MIN } else { i64::MAX });
    }
    let v: i64 = if significant.is_empty() { 0 } else { significant.parse().ok()? };
    Some(if negative { -v } else { v })
}

/// A decimal number, plainly written or with an exponent (`1.5`, `1e-05`, `2.5E+16`: the forms
/// JSON and most languages print). Digits past the 18th significant one in the whole part, or
/// the 18th in the fraction, only move the value off the decimal before them, by one step away
/// from zero: an upper bound is never met by a value that lies beyond it, while a value written
/// with more than 18 digits may land within one step of a lower bound it is below, and the
/// scaling by an exponent rounds once more. The request still carries the text as written.
fn plain_number(s: &str) -> Option<f64> {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let body = mantissa.strip_prefix('-');
    let negative = body.is_some();
    let unsigned = body.unwrap_or(mantissa);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || frac.is_empty() || !digits(int) || !digits(frac) {
        return None;
    }
    let significant = int.trim_start_matches('0');
    let (head, tail) = significant.split_at(significant.len().min(18));
    let (kept, dropped) = if tail.is_empty() { frac.split_at(frac.len().min(18)) } else { ("", frac) };
    let mut v = decimal::plain_to_f64(false, if head.is_empty() { "0" } else { head }, kept)?;
    if tail.bytes().chain(dropped.bytes()).any(|b| b != b'0') {
        v = f64::from_bits(v.to_bits() + 1);
    }
    let mut e = tail.len() as i32;
    if let Some(x) = exponent {
        let magnitude = x.strip_prefix(['+', '-']).unwrap_or(x);
        if magnitude.is_empty() || !digits(magnitude) {
            return None;
        }
        let magnitude = magnitude.trim_start_matches('0');
        // Past 10^±9999 every f64 is zero or infinite already.
        let m: i32 = if magnitude.len() > 4 { 10_000 } else { magnitude.parse().unwrap_or(0) };
        e += if x.starts_with('-') { -m } else { m };
    }
    if v != 0.0 && e != 0 {
        v = if e > 0 { v * 10f64.powi(e) } else { v / 10f64.powi(-e) };
    }
    Some(if negative { -v } else { v })
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let date_time = (0..4).all(digit)
        && at(4, b'-')
        && digit(5)
        && digit(6)
        && at(7, b'-')
        && digit(8)
        && digit(9)
        && (at(10, b'T') || at(10, b't') || at(10, b' '))
        && digit(11)
        && digit(12)
        && at(13, b':')
        && digit(14)
        && digit(15)
        && at(16, b':')
        && digit(17)
        && digit(18);
    if !date_time {
        return false;
    }
    // The fields in their ranges (RFC 3339 section 5.7): a real day of its month, a leap second.
    let num = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let year = num(0) * 100 + num(2);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match num(5) {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=12).contains(&num(5)) || !(1..=days).contains(&num(8)) || num(11) > 23 || num(14) > 59 || num(17) > 60 {
        return false;
    }
    let mut i = 19;
    if at(i, b'.') {
        i += 1;
        let start = i;
        while digit(i) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len()
                && digit(i + 1)
                && digit(i + 2)
                && at(i + 3, b':')
                && digit(i + 4)
                && digit(i + 5)
                && num(i + 1) <= 23
                && num(i + 4) <= 59
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;
    use crate::catalog::Catalog;

    /// The catalog's number bounds read in refusals as Rust writes them, and a query value is
    /// checked against them as Rust would read it.
    #[test]
    fn number_bounds_are_written_and_compared_as_rust_does() {
        let mut seen = 0;
        for i in 0..Catalog::endpoints().len() {
            for p in Catalog::query_params(i) {
                let Kind::Number(lo, hi) = p.kind else { continue };
                seen += 1;
                let bounds = if hi.is_finite() { format!("from {lo} to {hi}") } else { format!("of at least {lo}") };
                assert_eq!(p.kind.describe(), format!("a number {bounds}"));
                for v in [
                    "0",
                    "-0",
                    "10",
                    "9.999999999999999999",
                    "1000000000000000.0625",
                    "1000000000000000.0626",
                    "1e3",
                    "1E3",
                    "1e-05",
                    "2.5e+16",
                    "9.99999999999999999999e0",
                    "10.00000000000000000001",
                    "0.00012345678901234567",
                    "1e400",
                    "1e-400",
                    "1e99999",
                    "-1e3",
                    "1.e3",
                    "1e",
                    "e3",
                    "1e+",
                    "1.",
                    "100000000000000000000000",
                    "-100000000000000000000000",
                    "0000000000000000000000010.5",
                    "",
                    ".5",
                    "-.5",
                ] {
                    // Digits on both sides of a point, when there is one.
                    let plain = !v.contains(".e") && !v.ends_with('.') && !v.trim_start_matches('-').starts_with('.');
                    let want = v.parse::<f64>().ok().filter(|_| plain);
                    assert_eq!(p.kind.accepts(v), want.is_some_and(|x| lo <= x && x <= hi), "{v}");
                }
            }
        }
        assert!(seen > 0);
    }
}
