//! The audit record: one JSON line per request, with a plain-English summary.

use serde::Serialize;

use crate::decision::{Decision, Reason, Verdict};
use crate::sentence::{push_what, push_who, what, who};
use crate::target::{loggable_path, redact_target};

/// Every field of the interface's audit record; `None` serializes as null.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub ts: String,
    pub request_id: Option<String>,
    pub agent: Option<String>,
    pub method: String,
    pub path: String,
    pub endpoint: Option<&'static str>,
    pub area: Option<&'static str>,
    pub permission: Option<&'static str>,
    pub project: Option<String>,
    pub organization: Option<String>,
    pub decision: &'static str,
    pub enforced: bool,
    pub reason: &'static str,
    pub status: u16,
    pub duration_ms: f64,
    pub summary: String,
    /// Where they apply: the call's approval id, who approved it, and the grant that allowed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    /// The classes of the body's SQL, on the endpoints that carry SQL (absent elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<Vec<&'static str>>,
}

/// What only the host knows when the request ends.
#[derive(Debug, Clone, Copy)]
pub struct Completion<'a> {
    pub unix_ms: u64,
    pub request_id: Option<&'a str>,
    /// The status the caller got (0 when none was sent).
    pub status: u16,
    pub duration_ms: f64,
}

impl AuditRecord {
    pub fn new(d: &Decision, method: &str, raw_target: &str, done: Completion) -> AuditRecord {
        let method: String = if method.len() <= 16 && method.bytes().all(|b| b.is_ascii_graphic()) {
            method.to_owned()
        } else {
            method.chars().filter(|c| c.is_ascii_graphic()).take(16).collect()
        };
        let path = match d.path {
            Some(p) => p.to_string(),
            None => loggable_path(raw_target),
        };
        AuditRecord {
            ts: rfc3339(done.unix_ms),
            request_id: done.request_id.map(str::to_string),
            agent: d.agent.map(|a| a.id.clone()),
            summary: summary(d, &method, &path, done.status),
            method,
            path,
            endpoint: d.endpoint.map(|e| e.id),
            area: d.endpoint.map(|e| e.area.name()),
            permission: d.endpoint.and_then(|e| e.permission()),
            project: d.project().map(str::to_string),
            organization: d.organization().map(str::to_string),
            decision: d.verdict.as_str(),
            enforced: d.enforced,
            reason: d.reason.code(),
            status: done.status,
            duration_ms: (done.duration_ms * 1000.0).round() / 1000.0,
            approval_id: d.approval.as_ref().and_then(|a| a.id.clone()),
            approved_by: d.approval.as_ref().and_then(|a| a.approved_by()).map(str::to_string),
            grant: d.grant.map(|g| g.id.clone()),
            sql: d.sql.as_ref().map(|j| j.classes.names()),
        }
    }

    /// Takes each of `secrets` out of every field the request target fills: the path (from
    /// `raw_target`, where a secret may be escaped in any of its bytes, then escaped and cut again,
    /// so that no cut leaves a piece of it), the summary, the project and the organization.
    pub fn redact(&mut self, secrets: &[&str], raw_target: &str) {
        const MARK: &str = "[redacted]";
        let mut target = raw_target.to_string();
        for secret in secrets {
            target = redact_target(&target, secret, MARK);
        }
        let path = loggable_path(&target);
        // The summary names the path as the record had it (escaped, perhaps cut inside a secret).
        let old = std::mem::replace(&mut self.path, path);
        if !old.is_empty() {
            self.summary = self.summary.replace(&old, &self.path);
        }
        for secret in secrets {
            self.summary = self.summary.replace(secret, MARK);
            for field in [&mut self.project, &mut self.organization].into_iter().flatten() {
                *field = field.replace(secret, MARK);
            }
        }
    }

    /// Takes a credential out of the method as recorded (cut, it is still a piece of the key),
    /// and out of the summary that names it.
    pub fn redact_method(&mut self) {
        const MARK: &str = "[redacted]";
        if !self.method.is_empty() {
            self.summary = self.summary.replace(&self.method, MARK);
        }
        self.method = MARK.to_string();
    }

    /// Marks the record of a request over its rate limit: refused (429), or, in monitor mode
    /// (`enforced` false), denied and forwarded all the same.
    pub fn rate_limited(&mut self, d: &Decision, limit: u32, enforced: bool) {
        self.decision = "deny";
        self.reason = "rate_limited";
        self.enforced = enforced;
        let outcome = if enforced {
            self.status = 429;
            "refused"
        } else {
            "denied (rate_limited) but forwarded, as monitor mode does"
        };
        self.summary = format!(
            "{} asked to {}: {outcome} (over its rate limit of {limit} per minute).",
            who(d),
            what(d, &self.method)
        );
    }

    /// The record of a request that was never decided: nothing was forwarded.
    pub fn undecided(unix_ms: u64, method: &str, raw_target: &str) -> AuditRecord {
        AuditRecord {
            ts: rfc3339(unix_ms),
            request_id: None,
            agent: None,
            method: method.chars().filter(|c| c.is_ascii_graphic()).take(16).collect(),
            path: loggable_path(raw_target),
            endpoint: None,
            area: None,
            permission: None,
            project: None,
            organization: None,
            decision: Verdict::Deny.as_str(),
            enforced: true,
            reason: "not_decided",
            status: 0,
            duration_ms: 0.0,
            summary: "A request ended before it was decided: nothing was forwarded.".to_string(),
            approval_id: None,
            approved_by: None,
            grant: None,
            sql: None,
        }
    }

    /// Notes on an approved call's record which use of its approval it took.
    pub fn approval_used(&mut self, used: u32, uses: u32) {
        if let Some(head) = self.summary.strip_suffix(").") {
            self.summary = format!("{head}, use {used} of {uses}).");
        }
    }

    /// One line of JSON, written field by field into one buffer sized for it (the same text
    /// `serde_json` gives for this struct; a test holds them equal).
    pub fn to_json(&self) -> String {
        // The keys and the fixed-size fields take about 420 bytes: one allocation, no growth.
        let mut o = String::with_capacity(448 + self.summary.len() + self.path.len());
        o.push_str("{\"ts\":");
        json_word(&mut o, &self.ts);
        o.push_str(",\"request_id\":");
        json_opt(&mut o, self.request_id.as_deref());
        o.push_str(",\"agent\":");
        json_opt(&mut o, self.agent.as_deref());
        o.push_str(",\"method\":");
        json_str(&mut o, &self.method);
        o.push_str(",\"path\":");
        json_str(&mut o, &self.path);
        o.push_str(",\"endpoint\":");
        json_opt_word(&mut o, self.endpoint);
        o.push_str(",\"area\":");
        json_opt_word(&mut o, self.area);
        o.push_str(",\"permission\":");
        json_opt_word(&mut o, self.permission);
        o.push_str(",\"project\":");
        json_opt(&mut o, self.project.as_deref());
        o.push_str(",\"organization\":");
        json_opt(&mut o, self.organization.as_deref());
        o.push_str(",\"decision\":");
        json_word(&mut o, self.decision);
        o.push_str(if self.enforced { ",\"enforced\":true" } else { ",\"enforced\":false" });
        o.push_str(",\"reason\":");
        json_word(&mut o, self.reason);
        o.push_str(",\"status\":");
        push_uint(&mut o, u64::from(self.status), 1);
        o.push_str(",\"duration_ms\":");
        json_f64(&mut o, self.duration_ms);
        o.push_str(",\"summary\":");
        json_str(&mut o, &self.summary);
        let present = [
            ("approval_id", self.approval_id.as_deref()),
            ("approved_by", self.approved_by.as_deref()),
            ("grant", self.grant.as_deref()),
        ];
        json_close(&mut o, &present, self.sql.as_deref());
        o
    }
}

/// The end of an object: the string fields that appear only when present, then `sql` (a list of
/// class names) when present, then the closing brace; as serde's `skip_serializing_if` writes them.
pub(crate) fn json_close(o: &mut String, present: &[(&str, Option<&str>)], sql: Option<&[&'static str]>) {
    for (name, value) in present {
        if let Some(v) = value {
            o.push_str(",\"");
            o.push_str(name);
            o.push_str("\":");
            json_str(o, v);
        }
    }
    if let Some(classes) = sql {
        o.push_str(",\"sql\":[");
        for (i, c) in classes.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            json_str(o, c);
        }
        o.push(']');
    }
    o.push('}');
}

/// A JSON string: quotes, backslashes and control characters escaped as `serde_json` does;
/// everything else (UTF-8 included) copied in runs.
pub(crate) fn json_str(o: &mut String, s: &str) {
    o.push('"');
    let mut rest = s;
    while let Some(i) = first_escape(rest.as_bytes()) {
        o.push_str(&rest[..i]);
        match rest.as_bytes()[i] {
            b'"' => o.push_str("\\\""),
            b'\\' => o.push_str("\\\\"),
            b'\n' => o.push_str("\\n"),
            b'\r' => o.push_str("\\r"),
            b'\t' => o.push_str("\\t"),
            0x08 => o.push_str("\\b"),
            0x0c => o.push_str("\\f"),
            b => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                o.push_str("\\u00");
                o.push(char::from(HEX[usize::from(b >> 4)]));
                o.push(char::from(HEX[usize::from(b & 0xf)]));
            }
        }
        // The byte at `i` is ASCII: `i + 1` is a character boundary.
        rest = &rest[i + 1..];
    }
    o.push_str(rest);
    o.push('"');
}

/// Where the first byte JSON must escape is (a control byte, `"` or `\\`), eight bytes at a
/// time while none is there.
fn first_escape(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(chunk) = b.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        // Per byte: below 0x20, or equal to `"` or `\\` (a zero after the XOR); exact for
        // whether any byte of the word is one, which is all this asks.
        let below = w.wrapping_sub(ONES * 0x20) & !w;
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let equal = (quote.wrapping_sub(ONES) & !quote) | (backslash.wrapping_sub(ONES) & !backslash);
        if (below | equal) & HIGH != 0 {
            break;
        }
        at += 8;
    }
    b[at..].iter().position(|&c| c < 0x20 || c == b'"' || c == b'\\').map(|p| p + at)
}

/// A string from a fixed set that holds nothing JSON escapes (the catalog's names, the codes of
/// decisions and reasons, a timestamp), written as it is without looking for such bytes. The
/// test `words_need_no_escape` holds every string of those sets to it.
fn json_word(o: &mut String, s: &str) {
    debug_assert!(needs_no_escape(s), "{s:?} needs escaping");
    o.push('"');
    o.push_str(s);
    o.push('"');
}

fn needs_no_escape(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.'))
}

fn json_opt_word(o: &mut String, s: Option<&str>) {
    match s {
        Some(s) => json_word(o, s),
        None => o.push_str("null"),
    }
}

pub(crate) fn json_opt(o: &mut String, s: Option<&str>) {
    match s {
        Some(s) => json_str(o, s),
        None => o.push_str("null"),
    }
}

/// A number as `serde_json` writes an `f64`: whole values with `.0`, others in their shortest form.
fn json_f64(o: &mut String, v: f64) {
    if !v.is_finite() {
        o.push_str("null");
    } else if v.fract() == 0.0 && v.abs() < 1e16 {
        if v < 0.0 {
            o.push('-');
        }
        push_uint(o, v.abs() as u64, 1);
        o.push_str(".0");
    } else if let Some(n) = serde_json::Number::from_f64(v) {
        use std::fmt::Write;
        let _ = write!(o, "{n}");
    }
}

/// A number in decimal, zero-padded to at least `width` digits.
fn push_uint(o: &mut String, mut n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 && digits.len() - i >= width {
            break;
        }
    }
    for &d in &digits[i..] {
        o.push(char::from(d));
    }
}

/// "Ops Agent asked to list edge functions on project X: allowed (edge_functions: full)."
pub fn summary(d: &Decision, method: &str, path: &str, status: u16) -> String {
    // The calls an agent makes all day, allowed by its level or refused by it, are written
    // piece by piece into one buffer; the rest are worded below.
    let by_level = match (d.verdict, &d.reason, d.endpoint, d.agent) {
        (Verdict::Allow, Reason::AccessFull | Reason::AccessRead, Some(e), Some(_)) if d.grant.is_none() => {
            Some((e, "allowed (", None))
        }
        (Verdict::Deny, Reason::PermissionDenied, Some(e), Some(_)) if d.enforced => {
            Some((e, "denied (", Some(crate::sentence::needed_level(e))))
        }
        _ => None,
    };
    if let (Some((e, opening, needs)), None) = (by_level, &d.sql) {
        let mut o = String::with_capacity(160);
        push_who(&mut o, d);
        o.push_str(" asked to ");
        push_what(&mut o, d, method);
        o.push_str(": ");
        o.push_str(opening);
        o.push_str(e.area.name());
        o.push_str(": ");
        o.push_str(d.level.map(|l| l.as_str()).unwrap_or("off"));
        if let Some(level) = needs {
            o.push_str(", needs ");
            o.push_str(level.as_str());
        }
        o.push_str(").");
        return o;
    }
    let outcome = match (d.verdict, &d.reason, d.endpoint) {
        (Verdict::Allow, Reason::Approved, _) => {
            let a = d.approval.clone().unwrap_or_default();
            let used = match (a.used, a.uses()) {
                (Some(n), Some(of)) => format!(", use {n} of {of}"),
                _ => String::new(),
            };
            format!(
                "allowed (approved by {}: {}, grant {}{used})",
                a.approved_by().unwrap_or("-"),
                a.id.as_deref().unwrap_or("-"),
                d.grant.map(|g| g.id.as_str()).unwrap_or("-")
            )
        }
        (Verdict::Deny, Reason::ApprovalRequired, _) if d.enforced => {
            let a = d.approval.clone().unwrap_or_default();
            let id = a.id.as_deref().unwrap_or("-");
            if a.used_up {
                format!(
                    "held for a person's approval: {id} was approved but its uses are taken (approval_required, 403)"
                )
            } else {
                format!("held for a person's approval: bollard approve {id} (approval_required, 403)")
            }
        }
        (Verdict::Allow, Reason::AllowList, Some(e)) if d.grant.is_some() => {
            format!("allowed (allow list: {}, grant {})", e.id, d.grant.map(|g| g.id.as_str()).unwrap_or("-"))
        }
        (Verdict::Allow, _, Some(e)) if d.grant.is_some() => format!(
            "allowed ({}: {}, grant {})",
            e.area.name(),
            d.level.map(|l| l.as_str()).unwrap_or("off"),
            d.grant.map(|g| g.id.as_str()).unwrap_or("-")
        ),
        (Verdict::Allow, Reason::AllowList, Some(e)) => format!("allowed (allow list: {})", e.id),
        (Verdict::Allow, Reason::ReadOnlySql, Some(e)) => format!("allowed ({}: read, read_only: true)", e.area.name()),
        (Verdict::Allow, _, Some(e)) => {
            format!("allowed ({}: {})", e.area.name(), d.level.map(|l| l.as_str()).unwrap_or("off"))
        }
        (Verdict::Deny, reason, _) if !d.enforced => {
            format!("denied ({}) but forwarded, as monitor mode does", reason.code())
        }
        (Verdict::Deny, Reason::PermissionDenied, Some(e)) => format!(
            "denied ({}: {}, needs {})",
            e.area.name(),
            d.level.map(|l| l.as_str()).unwrap_or("off"),
            crate::sentence::needed_level(e).as_str()
        ),
        (_, reason, _) => {
            format!("{} ({}, {status})", if status == 403 { "denied" } else { "refused" }, reason.describe())
        }
    };
    let what = match d.agent {
        Some(_) => what(d, method),
        None => format!("call {method} {path}"),
    };
    // SQL that was judged: what ran (allowed), or which statement was refused and why.
    if let Some(j) = &d.sql {
        let place = crate::sentence::place_phrase(&d.location).map(|p| format!(" {p}")).unwrap_or_default();
        return match (d.verdict, &d.reason) {
            (Verdict::Allow, _) => format!("{} ran {}{place}: {outcome}.", who(d), j.phrase()),
            (Verdict::Deny, Reason::SqlNotAllowed | Reason::SqlUnparsed) if d.enforced => format!(
                "{} asked to run {}{place}: denied ({}: {}, {status}).",
                who(d),
                j.phrase(),
                d.reason.code(),
                crate::sentence::sql_refusal_phrase(j)
            ),
            _ => format!("{} asked to run {}{place}: {outcome}.", who(d), j.phrase()),
        };
    }
    format!("{} asked to {what}: {outcome}.", who(d))
}

/// Formats milliseconds since the Unix epoch as RFC 3339 in UTC, e.g. `2026-11-27T01:02:03.456Z`.
pub fn rfc3339(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let ms = unix_ms % 1000;
    // Requests of the same second share all but the milliseconds: that text is kept.
    let cached = LAST_SECOND.with(|last| {
        let (s, text) = last.get();
        (s == secs).then_some(text)
    });
    let mut b = match cached {
        Some(text) => text,
        None => {
            let days = (secs / 86_400) as i64;
            let rem = secs % 86_400;
            let (y, m, d) = civil_from_days(days);
            if !(0..=9999).contains(&y) {
                return format!(
                    "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
                    rem / 3600,
                    rem % 3600 / 60,
                    rem % 60
                );
            }
            let mut text = *b"0000-00-00T00:00:00.000Z";
            for (at, width, n) in [
                (0, 4, y as u64),
                (5, 2, u64::from(m)),
                (8, 2, u64::from(d)),
                (11, 2, rem / 3600),
                (14, 2, rem % 3600 / 60),
                (17, 2, rem % 60),
            ] {
                put_digits(&mut text[at..at + width], n);
            }
            LAST_SECOND.with(|last| last.set((secs, text)));
            text
        }
    };
    put_digits(&mut b[20..23], ms);
    std::str::from_utf8(&b).map(str::to_owned).unwrap_or_default()
}

thread_local! {
    /// The last second [`rfc3339`] wrote, and its text (the milliseconds are written per call).
    static LAST_SECOND: std::cell::Cell<(u64, [u8; 24])> = const { std::cell::Cell::new((u64::MAX, [0; 24])) };
}

/// `n` in decimal into `slots`, zero-padded (its last digits if it is longer).
fn put_digits(slots: &mut [u8], mut n: u64) {
    for slot in slots.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::{json_str, needs_no_escape, rfc3339};
    use crate::catalog::{Area, Catalog};
    use crate::decision::{Reason, Verdict};
    use crate::target::TargetError;

    /// What the record writes without escaping: every catalog id, area and permission, every
    /// reason and decision code, and timestamps far into the past and the future.
    #[test]
    fn words_need_no_escape() {
        let reasons = [
            Reason::AccessFull,
            Reason::AccessRead,
            Reason::AllowList,
            Reason::MissingKey,
            Reason::UnknownKey,
            Reason::AmbiguousCredentials,
            Reason::KeyExpired(0),
            Reason::ApprovalRequired,
            Reason::Approved,
            Reason::MalformedTarget(TargetError::Empty),
            Reason::InvalidMethod,
            Reason::MethodOverride,
            Reason::CredentialInQuery,
            Reason::KeyInTarget,
            Reason::InvalidParameter("p\"".into(), "x".into()),
            Reason::UnknownParameter("q\"".into()),
            Reason::UnknownEndpoint,
            Reason::DeniedByPolicy,
            Reason::ProjectOutOfScope,
            Reason::OrganizationOutOfScope,
            Reason::BranchOutOfScope,
            Reason::PermissionDenied,
            Reason::ReadOnlyRequired,
            Reason::InvalidBody("\""),
            Reason::BodyTooLarge(1),
            Reason::ReadOnlySql,
            Reason::SqlNotAllowed,
            Reason::SqlUnparsed,
        ];
        let mut words: Vec<&str> = reasons.iter().map(Reason::code).collect();
        words.extend([
            "rate_limited",
            "not_decided",
            "unexpected_event",
            Verdict::Allow.as_str(),
            Verdict::Deny.as_str(),
        ]);
        words.extend(Area::ALL.iter().map(|a| a.name()));
        for e in Catalog::endpoints() {
            words.push(e.id);
            words.extend(e.permissions);
        }
        for w in words {
            assert!(needs_no_escape(w), "{w:?}");
        }
        for ms in [0, 1, 999, 1_764_547_200_123, u64::MAX / 2, u64::MAX] {
            assert!(needs_no_escape(&rfc3339(ms)), "{}", rfc3339(ms));
        }
        assert!(
            !needs_no_escape("a\"b") && !needs_no_escape("a\\b") && !needs_no_escape("a\nb") && !needs_no_escape("a b")
        );
    }

    /// The text kept for the last second is only ever used for that second: times in the same
    /// second, the next, an earlier one and other days read as they do written from scratch.
    #[test]
    fn rfc3339_reuses_a_second_only_for_that_second() {
        let plain = |ms: u64| {
            let (secs, rem) = (ms / 1000, ms / 1000 % 86_400);
            let (y, m, d) = super::civil_from_days((secs / 86_400) as i64);
            format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
        };
        let base = 1_764_547_199_000u64;
        let times = [base, base + 1, base + 999, base + 1000, base + 998, base + 1001, base - 86_400_000, 0, 999, base];
        for t in times.into_iter().chain((0..2000).map(|i| base + i * 7919)) {
            assert_eq!(rfc3339(t), plain(t), "{t}");
        }
    }

    /// Every byte JSON escapes, at every offset of a word and across word boundaries, next to
    /// bytes it does not (DEL, UTF-8): the same text as serde's.
    #[test]
    fn json_str_escapes_as_serde_does_at_every_offset() {
        let specials: Vec<char> = (0u8..0x20).map(char::from).chain(['"', '\\', '\u{7f}', 'é', '😀', ' ']).collect();
        for len in 0..20 {
            for at in 0..=len {
                for &c in &specials {
                    let mut s: String = "a".repeat(len);
                    s.insert(at, c);
                    s.push(c);
                    let mut o = String::new();
                    json_str(&mut o, &s);
                    assert_eq!(o, serde_json::to_string(&s).unwrap_or_default(), "{s:?}");
                }
            }
        }
    }
}
