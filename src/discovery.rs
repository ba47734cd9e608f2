//! Self-discovery: `GET /_bollard/whoami` and `GET /_bollard/explain?method=M&path=P`, answered
//! by the filter for an identified agent and never forwarded.

use serde_json::{json, Value};

use crate::audit::summary;
use crate::catalog::{query, Area, Catalog, Class};
use crate::decision::{decide_for, Request};
use crate::policy::{Agent, GrantKind, Level, Policy, Scope};
use crate::refusal;

/// The prefix of the paths the filter answers itself.
pub const PREFIX: &str = "/_bollard/";

/// The answer to any other path under [`PREFIX`] (404).
pub const NOT_FOUND: &str = r#"{"message":"Bollard answers GET /_bollard/whoami and GET /_bollard/explain?method=M&path=P.","code":"unknown_endpoint"}"#;

/// A JSON value as compact text, by the writer the response guards use (one copy in the .wasm).
fn text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn projects(agent: &Agent) -> Value {
    if agent.project_organizations.is_empty() {
        scope(&agent.projects)
    } else {
        json!({"organizations": agent.project_organizations})
    }
}

fn scope(s: &Scope) -> Value {
    match s {
        Scope::All => json!(["*"]),
        Scope::Only(v) => json!(v),
    }
}

/// Whether the agent's grants reach an endpoint (scope and bodies aside): what whoami lists.
pub fn may_call(agent: &Agent, index: usize) -> bool {
    may_call_at(agent, index, None)
}

/// As [`may_call`], with the elevations in force at `now_ms` added when a time is given.
pub fn may_call_at(agent: &Agent, index: usize, now_ms: Option<u64>) -> bool {
    let Some(e) = Catalog::endpoints().get(index) else { return false };
    if agent.denied.contains(index) {
        return false;
    }
    let reaches = |allowed: bool, level: Level| {
        allowed
            || match level {
                Level::Full => true,
                // A read-only form needs its read permission, which a deny entry may name.
                Level::Read => {
                    e.class() == Class::Read
                        || matches!(
                            Catalog::behaviour_of(index).body,
                            Some(crate::catalog::BodyRule::ReadOnlyForm { read_permission })
                                if agent.deny_entry_for(read_permission).is_none()
                        )
                }
                Level::Off => false,
            }
    };
    reaches(agent.allowed.contains(index), agent.level(e.area))
        || now_ms.is_some_and(|now| {
            agent.active_grants(now).any(|g| match &g.kind {
                GrantKind::Elevation { allowed, .. } => {
                    reaches(allowed.contains(index), agent.level(e.area).max(g.level(e.area)))
                }
                GrantKind::Approval { .. } => false,
            })
        })
}

/// The grants in force for the agent at `now_ms`, as whoami lists them.
fn grants_in_force(agent: &Agent, now_ms: u64) -> Vec<Value> {
    agent
        .active_grants(now_ms)
        .map(|g| {
            let mut v =
                json!({"id": g.id, "kind": g.kind_name(), "not_after": crate::time::rfc3339_secs(g.not_after_ms)});
            match &g.kind {
                GrantKind::Approval { approval_id, uses, .. } => {
                    v["approval_id"] = json!(approval_id);
                    v["uses"] = json!(uses);
                }
                GrantKind::Elevation { allow, .. } => {
                    let access: serde_json::Map<String, Value> = Area::ALL
                        .iter()
                        .filter(|a| g.level(**a) != Level::Off)
                        .map(|a| (a.name().to_string(), json!(g.level(*a).as_str())))
                        .collect();
                    v["access"] = Value::Object(access);
                    v["allow"] = json!(allow);
                }
            }
            v
        })
        .collect()
}

/// The whoami answer at `now_ms` (the grants in force then).
pub fn whoami(policy: &Policy, agent: &Agent, now_ms: u64) -> String {
    let every_project = matches!(agent.projects, crate::policy::Scope::All);
    let access: serde_json::Map<String, Value> =
        Area::ALL.iter().map(|a| (a.name().to_string(), json!(agent.level(*a).as_str()))).collect();
    let endpoints: Vec<Value> = Catalog::endpoints()
        .iter()
        .enumerate()
        .filter(|(i, _)| may_call_at(agent, *i, Some(now_ms)))
        // A call that reaches a project its request never names needs every project.
        .filter(|(i, _)| every_project || !Catalog::behaviour_of(*i).unnamed_project)
        .map(|(i, e)| {
            let mut v = json!({"id": e.id, "method": e.method.as_str(), "path": e.path});
            if let Some(name) = Catalog::behaviour_of(i).project_param.filter(|_| !every_project) {
                v["only_when"] = json!(format!("the query names one of its projects ({name}=<ref>)"));
            }
            let every_organization = matches!(agent.organizations, crate::policy::Scope::All);
            if let Some(name) = Catalog::behaviour_of(i).organization_param.filter(|_| !every_organization) {
                v["only_when"] = json!(format!("the query names one of its organizations ({name}=<slug>)"));
            }
            let read_form = match Catalog::behaviour_of(i).body {
                Some(crate::catalog::BodyRule::ReadOnlyForm { read_permission })
                    if agent.level(e.area) == Level::Read && !agent.allowed.contains(i) =>
                {
                    Some(read_permission)
                }
                _ => None,
            };
            if read_form.is_some() {
                v["only_when"] = json!("the JSON body has \"read_only\": true");
            }
            if agent.needs_approval.contains(i) || read_form.is_some_and(|p| agent.approve_entry_for(p).is_some()) {
                v["needs_approval"] = json!(true);
            }
            if crate::catalog::sql_body(e.id).is_some() {
                v["sql"] = json!("each statement of its SQL is judged by the agent's sql rules");
            }
            v
        })
        .collect();
    let body = json!({
        "id": agent.id,
        "name": agent.name,
        "mode": policy.mode.as_str(),
        "projects": projects(agent),
        "organizations": scope(&agent.organizations),
        "access": access,
        "reveal_secrets": agent.reveal_secrets,
        "sql": {
            "allow": agent.sql.allow.names(),
            "deny_schemas": agent.sql.deny_schemas,
            "deny_functions": agent.sql.deny_functions,
            "allow_unparsed": agent.sql.allow_unparsed,
        },
        "rate_limit_per_minute": agent.rate_limit.as_ref().map(|r| r.per_minute),
        "approve": agent.approve,
        "grants": grants_in_force(agent, now_ms),
        "endpoints": endpoints,
    });
    text(&body)
}

/// The explain answer: (status, JSON body).
pub fn explain(policy: &Policy, catalog: &Catalog, agent: &Agent, query: Option<&str>, now_ms: u64) -> (u16, String) {
    let mut method = None;
    let mut path = None;
    for pair in query.unwrap_or_default().split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "method" => method = query::decode(v),
            "path" => path = query::decode(v),
            _ => {}
        }
    }
    let (Some(method), Some(path)) = (method, path) else {
        let body = json!({"message": "Ask as GET /_bollard/explain?method=GET&path=/v1/projects (the path URL-encoded).", "code": "invalid_query"});
        return (400, text(&body));
    };
    let mut d = decide_for(
        policy,
        catalog,
        agent,
        &Request { method: &method, target: &path, authorization: &[], method_override: false, now_ms },
    );
    let depends_on_branch = d.branch_lookup.is_some();
    let depends_on_organization = d.organization_lookup.is_some();
    let depends_on_body = d.body_check.is_some();
    // Without the request itself: no body, and no branch parent or project organization looked up.
    d.apply_body(policy, None, b"");
    d.apply_branch_parent(policy, None);
    d.apply_project_organization(policy, None);
    let status = d.refusal_status().unwrap_or(200);
    let body = json!({
        "decision": d.verdict.as_str(),
        "status": status,
        "reason": d.reason.code(),
        "endpoint": d.endpoint.map(|e| e.id),
        "area": d.endpoint.map(|e| e.area.name()),
        "permission": d.endpoint.and_then(|e| e.permission()),
        "project": d.project(),
        "depends_on_body": depends_on_body,
        "depends_on_branch": depends_on_branch,
        "depends_on_project_organization": depends_on_organization,
        "message": (d.verdict == crate::decision::Verdict::Deny).then(|| refusal::message(&d, &method)),
        "summary": summary(&d, &method, &path, status),
    });
    (200, text(&body))
}
