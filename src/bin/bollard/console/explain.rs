//! One request decided by the filter's own code (`decide_for`), as `bollard explain` prints it,
//! for the Explain page and for a refusal opened from the activity list.

use bollard::audit::{AuditRecord, Completion};
use bollard::catalog::Catalog;
use bollard::decision::{decide_for, Request, Verdict};
use bollard::policy::Policy;
use serde_json::{json, Value};

pub fn explain(
    policy: &Policy,
    agent_id: &str,
    method: &str,
    target: &str,
    body: Option<&str>,
) -> Result<Value, String> {
    let agent = policy.agent(agent_id).ok_or_else(|| format!("no agent {agent_id:?}"))?;
    let catalog = Catalog::new()?;
    let request =
        Request { method, target, authorization: &[], method_override: false, now_ms: crate::lifecycle::now_ms() };
    let mut d = decide_for(policy, &catalog, agent, &request);
    let depends_on_body = d.body_check.is_some();
    if depends_on_body {
        match body.filter(|b| !b.trim().is_empty()) {
            Some(b) => d.apply_body(policy, Some("application/json"), b.as_bytes()),
            None => d.apply_body(policy, None, b""),
        }
    }
    let depends_on_branch = d.branch_lookup.is_some();
    if depends_on_branch {
        d.apply_branch_parent(policy, None);
    }
    let status = d.refusal_status();
    let record = AuditRecord::new(
        &d,
        method,
        target,
        Completion { unix_ms: 0, request_id: None, status: status.unwrap_or(200), duration_ms: 0.0 },
    );
    let mut notes = Vec::new();
    if depends_on_branch {
        notes.push("The gateway allows this only if the branch (or project ref) belongs to one of the agent's projects, which it learns from Supabase; decided here as unknown.");
    }
    if depends_on_body && body.is_none_or(|b| b.trim().is_empty()) {
        notes.push("This decision depends on the request body; give it to see the gateway's decision.");
    }
    Ok(json!({
        "agent": agent.id, "agent_name": agent.name,
        "decision": d.verdict.as_str(), "enforced": d.enforced,
        "status": status, "forwarded": status.is_none(),
        "endpoint": d.endpoint.map(|e| json!({"id": e.id, "method": e.method.as_str(), "path": e.path,
            "area": e.area.name(), "area_label": e.area.label(), "level": agent.level(e.area).as_str(),
            "permissions": e.permissions, "class": e.class().as_str()})),
        "project": d.project(), "organization": d.organization(),
        "reason": d.reason.code(),
        "message": (d.verdict == Verdict::Deny).then(|| bollard::refusal::message(&d, method)),
        "summary": record.summary,
        "notes": notes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_policy_decides_as_the_cli_does() {
        let text = std::fs::read_to_string("examples/demo-policy.json").unwrap();
        let policy = Policy::from_json(&text).unwrap();
        let p = "/v1/projects/abcdefghijklmnopqrst/database/query";
        let e = explain(&policy, "mcp-readonly", "POST", p, Some(r#"{"query": "drop table orders"}"#)).unwrap();
        assert_eq!(e["decision"], "deny");
        assert_eq!(e["reason"], "read_only_required");
        assert_eq!(e["status"], 403);
        let e =
            explain(&policy, "mcp-readonly", "POST", p, Some(r#"{"query": "select 1", "read_only": true}"#)).unwrap();
        assert_eq!(e["decision"], "allow");
        assert!(explain(&policy, "nobody", "GET", "/v1/projects", None).is_err());
    }
}
