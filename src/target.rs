//! The request target: the one canonical reading of `:path` that is both authorized and forwarded.
//!
//! Agents build requests from the documented API, so they never need dot segments, percent
//! escapes in the path, empty segments or exotic characters. Anything that is not already in
//! the plain form is refused rather than normalized: the bytes authorized are the bytes forwarded.

use std::fmt;

/// Longest `:path` (path and query) accepted.
pub const MAX_TARGET_LEN: usize = 2048;

/// A canonical origin-form target, split into path and query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTarget<'a> {
    /// Starts with `/`, no query, no escapes, no dot or empty segments.
    pub path: &'a str,
    /// The raw query string after `?`, if any. Never logged.
    pub query: Option<&'a str>,
}

/// Why a target was refused. Each carries what a caller needs to see the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    Empty,
    TooLong(usize),
    /// Not origin-form (`http://host/...`, `*`, or no leading `/`).
    NotOriginForm,
    /// A byte that has no place in a canonical path (control, space, non-ASCII, `\`, `#`, `;`, ...).
    ForbiddenByte(u8),
    /// Any `%` in the path: escapes have no canonical reading here.
    PercentEscape,
    DotSegment,
    EmptySegment,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Empty => write!(f, "the request target is empty"),
            TargetError::TooLong(n) => {
                write!(f, "the request target is {n} bytes long, over the limit of {MAX_TARGET_LEN}")
            }
            TargetError::NotOriginForm => write!(f, "the request target must be a path starting with /"),
            TargetError::ForbiddenByte(b';') => write!(
                f,
                "the request target contains a raw ';', which some servers read as a separator of parameters; send it escaped as %3B"
            ),
            TargetError::ForbiddenByte(b) => {
                write!(f, "the request target contains the byte 0x{b:02x}, which has no place in an API path")
            }
            TargetError::PercentEscape => write!(f, "the path contains a percent escape"),
            TargetError::DotSegment => write!(f, "the path contains a . or .. segment"),
            TargetError::EmptySegment => write!(f, "the path contains an empty segment (// or a trailing /)"),
        }
    }
}

/// Characters allowed in a path segment: RFC 3986 unreserved, plus the sub-delims and `:`/`@`
/// that the API's own paths use (`logs.all`, `usage.api-counts`). `;` is refused: some servers
/// read it as a path parameter.
const fn path_byte_ok(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b'='
                | b':'
                | b'@'
        )
}

const OK: u8 = 1;
/// [`path_byte_ok`] for every byte, looked up instead of compared.
static PATH_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        if path_byte_ok(b as u8) {
            t[b] = OK;
        }
        b += 1;
    }
    t
};

/// An empty segment or a dot segment (`.`, `..`) is refused.
fn segment_shape(segment: &[u8]) -> Result<(), TargetError> {
    match segment {
        [] => Err(TargetError::EmptySegment),
        b"." | b".." => Err(TargetError::DotSegment),
        _ => Ok(()),
    }
}

/// Query bytes: visible ASCII except `#` and `;`. Escapes are fine here (each parameter is read
/// decoded). A raw `;` is refused because some servers split parameters on it as on `&`, and
/// would then see a parameter the filter never checked; escaped (`%3B`) it is data everywhere.
fn query_byte_ok(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && b != b'#' && b != b';'
}

impl<'a> RequestTarget<'a> {
    pub fn parse(raw: &'a str) -> Result<RequestTarget<'a>, TargetError> {
        if raw.is_empty() {
            return Err(TargetError::Empty);
        }
        if raw.len() > MAX_TARGET_LEN {
            return Err(TargetError::TooLong(raw.len()));
        }
        if !raw.starts_with('/') {
            return Err(TargetError::NotOriginForm);
        }
        // One pass over the path, segment by segment: a segment's bytes are judged as they come
        // and its shape when it ends, which finds the same first error as judging each segment
        // whole (an empty or dot segment has no byte that could fail before it).
        let bytes = raw.as_bytes();
        let mut start = 1;
        let mut end = bytes.len();
        for (i, &b) in bytes.iter().enumerate().skip(1) {
            if b == b'/' || b == b'?' {
                segment_shape(&bytes[start..i])?;
                if b == b'?' {
                    end = i;
                    break;
                }
                start = i + 1;
            } else if PATH_BYTE[usize::from(b)] != OK {
                return Err(if b == b'%' { TargetError::PercentEscape } else { TargetError::ForbiddenByte(b) });
            }
        }
        if end == bytes.len() {
            segment_shape(&bytes[start..])?;
        }
        let (path, query) = (&raw[..end], raw.get(end + 1..));
        if let Some(q) = query {
            if let Some(&b) = q.as_bytes().iter().find(|&&b| !query_byte_ok(b)) {
                return Err(TargetError::ForbiddenByte(b));
            }
        }
        Ok(RequestTarget { path, query })
    }
}

/// A target as it may appear in an audit record: without the query, escaped, cut to 256 bytes.
pub fn loggable_path(raw: &str) -> String {
    let path = raw.split(['?', '#']).next().unwrap_or_default();
    let mut out = String::with_capacity(path.len().min(256));
    for ch in path.chars() {
        if ch.is_ascii_graphic() && ch != '\\' && ch != '"' {
            if out.len() + 1 > 256 {
                break;
            }
            out.push(ch);
        } else {
            let piece = ch.escape_default();
            if out.len() + piece.len() > 256 {
                break;
            }
            out.extend(piece);
        }
    }
    out
}

/// The target's bytes as a server decodes them once (`%XX` a byte; a `%` without two hex digits
/// after it stays as it is), each with the offset in `raw` where it starts. `None` when `raw` has
/// no escape, and then it reads as it is.
fn decoded(raw: &str) -> Option<(Vec<u8>, Vec<usize>)> {
    let bytes = raw.as_bytes();
    // A plain loop: `contains` calls `memchr`, 7 more lines of code per request in V8 (profiled).
    if bytes.iter().all(|&b| b != b'%') {
        return None;
    }
    let (mut out, mut starts) = (Vec::with_capacity(bytes.len()), Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while i < bytes.len() {
        starts.push(i);
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some((out, starts))
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

/// Whether `needle` is in the target as sent, or once its escapes are decoded (what the server
/// behind reads: `sbp%5F...` in a query is `sbp_...` to it).
pub fn target_contains(raw: &str, needle: &str) -> bool {
    raw.contains(needle) || decoded(raw).is_some_and(|(d, _)| find(&d, needle.as_bytes(), 0).is_some())
}

/// The target with every occurrence of `secret`, as sent or escaped in any of its bytes, replaced
/// by `mark`; the rest as sent.
pub fn redact_target(raw: &str, secret: &str, mark: &str) -> String {
    // As sent first: an escape may eat a secret's first bytes (`%ab12...` decodes `ab` away).
    let sent = raw.replace(secret, mark);
    let raw = sent.as_str();
    let Some((d, starts)) = decoded(raw) else {
        return sent;
    };
    let (mut out, mut copied, mut from) = (Vec::with_capacity(raw.len()), 0, 0);
    while let Some(at) = find(&d, secret.as_bytes(), from) {
        let end = at + secret.len();
        let (raw_at, raw_end) = (starts[at], starts.get(end).copied().unwrap_or(raw.len()));
        out.extend_from_slice(&raw.as_bytes()[copied..raw_at]);
        out.extend_from_slice(mark.as_bytes());
        copied = raw_end;
        from = end;
    }
    out.extend_from_slice(&raw.as_bytes()[copied..]);
    String::from_utf8_lossy(&out).into_owned()
}

/// Query parameter names that carry credentials in other APIs. Bollard takes its key only from
/// `Authorization`, and Supabase's spec uses none of these, so a query naming one is refused.
pub const CREDENTIAL_QUERY_NAMES: [&str; 7] =
    ["apikey", "api_key", "access_token", "token", "key", "authorization", "sb_access_token"];

/// The query parameter name that carries a credential, if any (names compared case-insensitively,
/// percent-decoding not attempted: an escaped name is refused as well).
pub fn credential_in_query(query: &str) -> Option<&str> {
    query
        .split('&')
        .map(|pair| pair.split('=').next().unwrap_or_default())
        .find(|name| name.contains('%') || CREDENTIAL_QUERY_NAMES.iter().any(|c| name.eq_ignore_ascii_case(c)))
}

/// Checks a path parameter against the format Supabase's spec gives it. Returns what it must be
/// when it is not. Parameters the spec leaves as free strings get the plain `[A-Za-z0-9._-]` set.
pub fn check_param(name: &str, value: &str) -> Result<(), &'static str> {
    let (ok, kind) = match name {
        "ref" => (is_project_ref(value), "a project ref (20 lowercase letters)"),
        "slug" => (is_org_slug(value), "an organization slug ([A-Za-z0-9_-]+)"),
        "function_slug" => (is_function_slug(value), "a function slug ([A-Za-z0-9_-]+)"),
        "branch_id_or_ref" => {
            (is_project_ref(value) || is_uuid(value), "a branch ref (20 lowercase letters) or a branch UUID")
        }
        "id" | "invite_id" | "provider_id" | "tpa_id" | "user_id" => (is_uuid(value), "a UUID"),
        "version" => (!value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()), "a migration version (digits)"),
        "addon_variant" => (ADDON_VARIANTS.contains(&value), "an add-on variant the spec lists (pitr_7, ...)"),
        "run_id" | "token" => (
            is_word(value, true) || (is_word(&value.replace('.', "-"), true) && !value.starts_with('.')),
            "an identifier ([A-Za-z0-9._-]+)",
        ),
        _ => (
            !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')),
            "a name ([A-Za-z0-9._-]+)",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(kind)
    }
}

/// The values Supabase's spec allows for `{addon_variant}` (its enums, in its order).
pub const ADDON_VARIANTS: [&str; 23] = [
    "ci_micro",
    "ci_small",
    "ci_medium",
    "ci_large",
    "ci_xlarge",
    "ci_2xlarge",
    "ci_4xlarge",
    "ci_8xlarge",
    "ci_12xlarge",
    "ci_16xlarge",
    "ci_24xlarge",
    "ci_24xlarge_optimized_cpu",
    "ci_24xlarge_optimized_memory",
    "ci_24xlarge_high_memory",
    "ci_48xlarge",
    "ci_48xlarge_optimized_cpu",
    "ci_48xlarge_optimized_memory",
    "ci_48xlarge_high_memory",
    "cd_default",
    "pitr_7",
    "pitr_14",
    "pitr_28",
    "ipv4_default",
];

/// A UUID in its canonical 8-4-4-4-12 hex form (either case).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn is_word(s: &str, upper_and_dash: bool) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || b == b'_'
                || (upper_and_dash && (b.is_ascii_uppercase() || b == b'-'))
        })
}

/// A project ref: 20 lowercase ASCII letters.
pub fn is_project_ref(s: &str) -> bool {
    s.len() == 20 && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// An organization slug: `[\w-]+` in ASCII, of any length (the spec sets none; the target's
/// own limit bounds it).
pub fn is_org_slug(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A function slug: `[A-Za-z0-9_-]+`.
pub fn is_function_slug(s: &str) -> bool {
    is_org_slug(s)
}
