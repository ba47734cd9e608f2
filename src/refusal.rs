//! The JSON body of a refusal: Supabase's `{"message": ...}` shape plus fields a program can act on.

use serde::Serialize;

use crate::decision::{Decision, Reason};
use crate::sentence::{push_what, push_who, push_why, retry_before, what, who, why};

#[derive(Serialize)]
struct Body<'a> {
    message: String,
    code: &'static str,
    agent: Option<&'a str>,
    endpoint: Option<&'static str>,
    area: Option<&'static str>,
    permission: Option<&'static str>,
    project: Option<&'a str>,
    request_id: Option<&'a str>,
    /// For `approval_required`: the id a person approves, and until when the agent should retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    approval_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_before: Option<String>,
    /// The classes of the body's SQL, where SQL was judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    sql: Option<Vec<&'static str>>,
}

/// The one-sentence message: who, what, where, why, and what would allow it.
pub fn message(d: &Decision, method: &str) -> String {
    if d.reason == Reason::ApprovalRequired && d.agent.is_some() {
        return format!("{} may not {} without a person's approval: {}.", who(d), what(d, method), why(d));
    }
    let mut o = String::with_capacity(320);
    match d.agent {
        Some(_) => {
            push_who(&mut o, d);
            o.push_str(" may not ");
            push_what(&mut o, d, method);
            o.push_str(": ");
        }
        None => o.push_str("Request refused: "),
    }
    push_why(&mut o, d);
    o.push('.');
    o
}

impl<'a> Body<'a> {
    /// The fields a decision knows, with a message and code.
    fn new(d: &'a Decision, message: String, code: &'static str, request_id: Option<&'a str>) -> Body<'a> {
        Body {
            message,
            code,
            agent: d.agent.map(|a| a.id.as_str()),
            endpoint: d.endpoint.map(|e| e.id),
            area: d.endpoint.map(|e| e.area.name()),
            permission: d.endpoint.and_then(|e| e.permission()),
            project: d.project(),
            request_id,
            approval_id: d.approval.as_ref().and_then(|a| a.id.as_deref()),
            retry_before: (d.reason == Reason::ApprovalRequired).then(|| retry_before(d)),
            sql: d.sql.as_ref().map(|j| j.classes.names()),
        }
    }

    /// The body as `serde_json` writes this struct, field by field into one buffer.
    fn to_json(&self) -> String {
        use crate::audit::{json_close, json_opt, json_str};
        let mut o = String::with_capacity(200 + self.message.len());
        o.push_str("{\"message\":");
        json_str(&mut o, &self.message);
        o.push_str(",\"code\":");
        json_str(&mut o, self.code);
        for (name, value) in [
            ("agent", self.agent),
            ("endpoint", self.endpoint),
            ("area", self.area),
            ("permission", self.permission),
            ("project", self.project),
            ("request_id", self.request_id),
        ] {
            o.push_str(",\"");
            o.push_str(name);
            o.push_str("\":");
            json_opt(&mut o, value);
        }
        let present = [("approval_id", self.approval_id), ("retry_before", self.retry_before.as_deref())];
        json_close(&mut o, &present, self.sql.as_deref());
        o
    }
}

/// The refusal body, as JSON text.
pub fn body(d: &Decision, method: &str, request_id: Option<&str>) -> String {
    Body::new(d, message(d, method), d.reason.code(), request_id).to_json()
}

/// The 429 body for an agent over its rate limit.
pub fn rate_limited(d: &Decision, method: &str, request_id: Option<&str>, limit: u32, reset_secs: u64) -> String {
    let message = format!(
        "{} may not {} now: it has used all {limit} requests it may make per minute through this gateway; retry in {reset_secs} seconds.",
        who(d),
        what(d, method)
    );
    Body::new(d, message, "rate_limited", request_id).to_json()
}

/// The body for a request the filter could not decide (500, never forwarded).
pub fn internal_error(request_id: Option<&str>) -> String {
    Body {
        message: "The gateway could not decide this request, so it was not forwarded; retry, and report it to the operator if it persists.".to_string(),
        code: "internal_error",
        agent: None,
        endpoint: None,
        area: None,
        permission: None,
        project: None,
        request_id,
        approval_id: None,
        retry_before: None,
        sql: None,
    }
    .to_json()
}

#[cfg(test)]
mod tests {
    use super::Body;

    /// The hand-written body is the JSON serde writes for the same struct.
    #[test]
    fn body_is_the_json_serde_writes() {
        let odd = ["", "plain", "q\"uote \\ back", "nl\ncr\rtab\t\u{1}\u{1f}", "é ✓ 😀"];
        for (i, s) in odd.iter().enumerate() {
            let b = Body {
                message: format!("{s} may not {s}."),
                code: "permission_denied",
                agent: (i % 2 == 0).then_some(*s),
                endpoint: Some("list_functions"),
                area: (i % 3 == 0).then_some("edge_functions"),
                permission: None,
                project: Some(s),
                request_id: (i % 2 == 1).then_some(*s),
                approval_id: (i % 2 == 0).then_some(*s),
                retry_before: (i % 3 == 1).then(|| s.to_string()),
                sql: (i % 2 == 1).then(|| vec!["read", "ddl"]),
            };
            assert_eq!(b.to_json(), serde_json::to_string(&b).unwrap_or_default(), "for {s:?}");
        }
    }
}
