//! The audit record: one JSON line per request, with a plain-English summary.

use serde::Serialize;

use crate::decision::{Decision, Reason, Verdict};
use crate::sentence::{what, who};
use crate::target::loggable_path;

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
        let method: String = method.chars().filter(|c| c.is_ascii_graphic()).take(16).collect();
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

    /// Marks the record of a request refused for its rate limit (429).
    pub fn rate_limited(&mut self, d: &Decision, limit: u32) {
        self.decision = "deny";
        self.reason = "rate_limited";
        self.enforced = true;
        self.status = 429;
        self.summary = format!(
            "{} asked to {}: refused (over its rate limit of {limit} per minute).",
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

    /// One line of JSON.
    pub fn to_json(&self) -> String {
        // One buffer, sized for a typical record (the summary is most of it): no regrowth.
        let mut buf = Vec::with_capacity(384 + self.summary.len() + self.path.len());
        if serde_json::to_writer(&mut buf, self).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// "Ops Agent asked to list edge functions on project X: allowed (edge_functions: full)."
pub fn summary(d: &Decision, method: &str, path: &str, status: u16) -> String {
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
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
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
