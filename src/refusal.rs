//! The JSON body of a refusal: Supabase's `{"message": ...}` shape plus fields a program can act on.

use serde::Serialize;

use crate::decision::{Decision, Reason};
use crate::sentence::{retry_before, what, who, why};

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
    match d.agent {
        Some(_) => format!("{} may not {}: {}.", who(d), what(d, method), why(d)),
        None => format!("Request refused: {}.", why(d)),
    }
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

    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"message":"Request refused."}"#.to_string())
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
