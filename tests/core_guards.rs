//! The guards on bodies and responses, and self-discovery, on the core. Native and wasm32.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use bollard::catalog::Catalog;
use bollard::decision::{decide, Request, Verdict};
use bollard::discovery;
use bollard::guards::{lists, secrets};
use bollard::policy::{key_sha256, Policy};
use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

const KEY: &str = "sbp_9a4d000000000000000000000000000000000001";
const AUTH: &[&str] = &["Bearer sbp_9a4d000000000000000000000000000000000001"];

fn policy(fields: &str) -> Policy {
    let text = format!(
        r#"{{"upstream":{{"token_env":"T"}},"max_body_bytes":100,"agents":[{{"id":"a","name":"Agent","key_sha256":"{}",{fields}}}]}}"#,
        key_sha256(KEY)
    );
    Policy::from_json(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// Decides a request with a body, as the filter does once the body has arrived.
fn with_body(p: &Policy, method: &str, path: &str, content_type: Option<&str>, body: &str) -> (String, u16, Verdict) {
    let c = Catalog::new().unwrap();
    let mut d =
        decide(p, &c, &Request { method, target: path, authorization: AUTH, method_override: false, now_ms: 0 });
    assert!(!(d.body_check.is_some() && d.forward()), "a decision waiting for its body never forwards");
    if d.body_check.is_some() {
        d.apply_body(p, content_type, body.as_bytes());
    }
    (d.reason.code().to_string(), d.refusal_status().unwrap_or(200), d.verdict)
}

const SQL: &str = "/v1/projects/abcdefghijklmnopqrst/database/query";
const JSON: Option<&str> = Some("application/json; charset=utf-8");

#[wasm_bindgen_test(unsupported = test)]
fn read_only_sql() {
    let read = policy(r#""projects":["*"],"access":{"database":"read"}"#);
    for (ct, body, reason, status) in [
        (JSON, r#"{"query":"select 1","read_only":true}"#, "read_only_sql", 200),
        (JSON, r#"{"query":"drop table t"}"#, "read_only_required", 403),
        (JSON, r#"{"query":"x","read_only":"true"}"#, "read_only_required", 403),
        (JSON, r#"{"query":"x","read_only":false,"read_only":true}"#, "invalid_body", 400),
        (JSON, r#"{"query":"x","read_only":true} {}"#, "invalid_body", 400),
        (JSON, r#"[true]"#, "invalid_body", 400),
        (JSON, "", "invalid_body", 400),
        (Some("text/plain"), r#"{"read_only":true}"#, "invalid_body", 400),
        (None, r#"{"read_only":true}"#, "invalid_body", 400),
        (JSON, &format!(r#"{{"query":"{}","read_only":true}}"#, "x".repeat(120)), "body_too_large", 413),
    ] {
        assert_eq!(with_body(&read, "POST", SQL, ct, body).0, reason, "{body}");
        assert_eq!(with_body(&read, "POST", SQL, ct, body).1, status, "{body}");
    }
    // Full access needs no read_only, but its SQL is still parsed (issue 13); off never reads it.
    let full = policy(r#""projects":["*"],"access":{"database":"full"}"#);
    assert_eq!(with_body(&full, "POST", SQL, JSON, r#"{"query":"drop table t"}"#).0, "access_full");
    assert_eq!(with_body(&full, "POST", SQL, JSON, r#"{"query":"drop"}"#).0, "sql_unparsed");
    let allowed = policy(r#""projects":["*"],"allow":["database_read"]"#);
    assert_eq!(with_body(&allowed, "POST", SQL, JSON, r#"{"query":"select 1","read_only":true}"#).0, "read_only_sql");
    assert_eq!(with_body(&allowed, "POST", SQL, JSON, r#"{"read_only":true}"#).0, "invalid_body");
    let off = policy(r#""projects":["*"]"#);
    assert_eq!(with_body(&off, "POST", SQL, JSON, r#"{"read_only":true}"#).0, "permission_denied");
}

#[wasm_bindgen_test(unsupported = test)]
fn create_project_organization() {
    let p = policy(r#""organizations":["acme"],"access":{"projects":"full"}"#);
    for (body, reason) in [
        (r#"{"name":"p","organization_slug":"acme"}"#, "access_full"),
        (r#"{"name":"p","organization_id":"acme"}"#, "access_full"),
        (r#"{"name":"p","organization_slug":"other"}"#, "organization_out_of_scope"),
        (r#"{"name":"p","organization_slug":"acme","organization_id":"other"}"#, "invalid_body"),
        (r#"{"name":"p"}"#, "invalid_body"),
    ] {
        assert_eq!(with_body(&p, "POST", "/v1/projects", JSON, body).0, reason, "{body}");
    }
    let all = policy(r#""organizations":["*"],"access":{"projects":"full"}"#);
    let c = Catalog::new().unwrap();
    let d = decide(
        &all,
        &c,
        &Request { method: "POST", target: "/v1/projects", authorization: AUTH, method_override: false, now_ms: 0 },
    );
    assert!(d.body_check.is_none() && d.forward(), "organizations [\"*\"] needs no body");
}

/// The list an endpoint's response is, as the catalog says, when the agent's scope narrows it.
fn list_for(id: &str, agent: &bollard::policy::Agent) -> Option<lists::ScopedList> {
    let (i, _) = bollard::catalog::Catalog::by_id(id)?;
    match bollard::catalog::Catalog::behaviour_of(i).response {
        Some(bollard::catalog::ResponseRule::List(l)) if lists::applies(l, agent, None) => Some(l),
        _ => None,
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn lists_keep_only_what_is_in_scope() {
    let p = policy(r#""projects":["abcdefghijklmnopqrst"],"organizations":["acme"]"#);
    let agent = p.agent("a").unwrap();
    let projects = br#"[{"id":"abcdefghijklmnopqrst","ref":"abcdefghijklmnopqrst"},{"id":"zyxwvutsrqponmlkjihg","ref":"zyxwvutsrqponmlkjihg"}]"#;
    let kind = list_for("list_projects", agent).unwrap();
    let out: Value = serde_json::from_slice(&lists::filter(kind, agent, projects).unwrap()).unwrap();
    assert_eq!(out.as_array().unwrap().len(), 1);
    assert_eq!(out[0]["ref"], "abcdefghijklmnopqrst");
    let orgs = br#"[{"id":"acme","slug":"acme"},{"id":"x","slug":"other"}]"#;
    let kind = list_for("list_organizations", agent).unwrap();
    let out: Value = serde_json::from_slice(&lists::filter(kind, agent, orgs).unwrap()).unwrap();
    assert_eq!(out, serde_json::json!([{"id":"acme","slug":"acme"}]));
    let nested =
        br#"{"projects":[{"ref":"abcdefghijklmnopqrst"},{"ref":"zyxwvutsrqponmlkjihg"}],"pagination":{"count":2}}"#;
    let kind = list_for("get_projects_for_organization", agent).unwrap();
    let out: Value = serde_json::from_slice(&lists::filter(kind, agent, nested).unwrap()).unwrap();
    assert_eq!(out["projects"].as_array().unwrap().len(), 1);
    assert_eq!(out["pagination"]["count"], 1, "the count does not tell how many were left out");
    // Nor does it on a page where every item is in scope: the count is of every page.
    let page = br#"{"projects":[{"ref":"abcdefghijklmnopqrst"}],"pagination":{"count":5,"limit":1,"offset":0}}"#;
    let out: Value = serde_json::from_slice(&lists::filter(kind, agent, page).unwrap()).unwrap();
    assert_eq!(out["pagination"], serde_json::json!({"count": 1, "limit": 1, "offset": 0}));
    // An agent whose projects are an organization's sees that organization's list whole.
    let by_org = policy(r#""projects":{"organizations":["acme"]},"organizations":["acme","other"]"#);
    let agent_by_org = by_org.agent("a").unwrap();
    assert!(!lists::applies(kind, agent_by_org, Some("acme")), "every project of acme is in scope");
    assert!(lists::applies(kind, agent_by_org, Some("other")), "another organization's projects are not");
    let out: Value = serde_json::from_slice(&lists::filter(kind, agent_by_org, nested).unwrap()).unwrap();
    assert_eq!(out["projects"].as_array().unwrap().len(), 0, "filtered for another organization");
    assert!(lists::filter(kind, agent, b"not json").is_none(), "unreadable lists are withheld");
    let all = policy(r#""projects":["*"],"organizations":["*"]"#);
    assert!(list_for("list_projects", all.agent("a").unwrap()).is_none(), "[\"*\"] sees everything");
}

#[wasm_bindgen_test(unsupported = test)]
fn secrets_are_replaced_at_any_depth() {
    let body = br#"[{"name":"A","value":"s3cr3t"},{"name":"B","value":null,"nested":{"value":"deep"}}]"#;
    let out = String::from_utf8(secrets::redact(body, secrets::fields("list_secrets").unwrap()).unwrap()).unwrap();
    assert!(!out.contains("s3cr3t") && !out.contains("deep"), "{out}");
    assert!(out.contains(r#""value":null"#), "nulls stay null: {out}");
    assert_eq!(out.matches(secrets::MARKER).count(), 2);
    let auth = br#"{"smtp_pass":"p","external_github_secret":"g","smtp_host":"h"}"#;
    let out = String::from_utf8(secrets::redact(auth, secrets::fields("get_auth_config").unwrap()).unwrap()).unwrap();
    assert!(out.contains(r#""smtp_host":"h""#) && !out.contains(r#""p""#) && !out.contains(r#""g""#), "{out}");
    assert!(secrets::redact(b"<html>", &["value"]).is_none());
    assert!(secrets::fields("list_functions").is_none());
}

#[wasm_bindgen_test(unsupported = test)]
fn whoami_and_explain_agree_with_decide() {
    let p = policy(
        r#""projects":["abcdefghijklmnopqrst"],"access":{"database":"read","projects":"read"},"deny":["list_migrations"],"reveal_secrets":true"#,
    );
    let c = Catalog::new().unwrap();
    let agent = p.agent("a").unwrap();
    let me: Value = serde_json::from_str(&discovery::whoami(&p, agent, 0)).unwrap();
    assert_eq!((me["id"].as_str(), me["reveal_secrets"].as_bool()), (Some("a"), Some(true)));
    let ids: Vec<&str> = me["endpoints"].as_array().unwrap().iter().filter_map(|e| e["id"].as_str()).collect();
    assert!(ids.contains(&"run_read_only_sql") && ids.contains(&"get_project") && ids.contains(&"run_sql"));
    assert!(!ids.contains(&"list_migrations") && !ids.contains(&"delete_project"));
    // With some projects: a snippet by id may be any project's, and snippets are listed per project.
    assert!(!ids.contains(&"get_snippet"));
    let snippets = me["endpoints"].as_array().unwrap().iter().find(|e| e["id"] == "list_snippets").unwrap();
    assert_eq!(snippets["only_when"], "the query names one of its projects (project_ref=<ref>)");
    // Regions are asked for one organization, named in the query: one of the agent's.
    let regions = me["endpoints"].as_array().unwrap().iter().find(|e| e["id"] == "get_available_regions").unwrap();
    assert_eq!(regions["only_when"], "the query names one of its organizations (organization_slug=<slug>)");
    let every_org = policy(r#""organizations":["*"],"access":{"projects":"read"}"#);
    let me_orgs: Value =
        serde_json::from_str(&discovery::whoami(&every_org, every_org.agent("a").unwrap(), 0)).unwrap();
    let regions = me_orgs["endpoints"].as_array().unwrap().iter().find(|e| e["id"] == "get_available_regions").unwrap();
    assert!(regions.get("only_when").is_none(), "{regions}");
    let every = policy(r#""projects":["*"],"access":{"database":"read"}"#);
    let me_all: Value = serde_json::from_str(&discovery::whoami(&every, every.agent("a").unwrap(), 0)).unwrap();
    let all: Vec<&Value> = me_all["endpoints"].as_array().unwrap().iter().collect();
    assert!(all.iter().any(|e| e["id"] == "get_snippet"));
    assert!(all.iter().any(|e| e["id"] == "list_snippets" && e.get("only_when").is_none()));
    for (method, path) in [
        ("GET", "/v1/projects/abcdefghijklmnopqrst"),
        ("DELETE", "/v1/projects/abcdefghijklmnopqrst"),
        ("GET", "/v1/projects/abcdefghijklmnopqrst/database/migrations"),
        ("GET", "/v1/snippets/0b0f3c5e-8f1a-4c55-9d55-2d8f1f7e7a10"),
        ("GET", "/v1/snippets?project_ref=abcdefghijklmnopqrst"),
        ("GET", "/v1/x"),
    ] {
        let q = format!("method={method}&path={}", path.replace('/', "%2F").replace('?', "%3F").replace('=', "%3D"));
        let (status, body) = discovery::explain(&p, &c, agent, Some(&q), 0);
        assert_eq!(status, 200);
        let e: Value = serde_json::from_str(&body).unwrap();
        let d =
            decide(&p, &c, &Request { method, target: path, authorization: AUTH, method_override: false, now_ms: 0 });
        assert_eq!(e["decision"], d.verdict.as_str(), "{method} {path}");
        assert_eq!(e["reason"], d.reason.code());
    }
    let (status, _) = discovery::explain(&p, &c, agent, Some("method=GET"), 0);
    assert_eq!(status, 400);
    // A bad escape is no path, as in any query the filter reads (`%+2` is not a byte).
    let (status, _) = discovery::explain(&p, &c, agent, Some("method=GET&path=%+2Fv1%2Fprojects"), 0);
    assert_eq!(status, 400);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_secret_field_is_redacted_in_any_case() {
    let names = secrets::fields("list_api_keys").unwrap();
    for body in [
        r#"[{"name":"service_role","API_KEY":"CANARY"}]"#,
        r#"[{"name":"service_role","Api_Key":"CANARY","api_key":"CANARY"}]"#,
        r#"{"nested":[{"aPi_kEy":"CANARY"}]}"#,
    ] {
        let out = String::from_utf8(secrets::redact(body.as_bytes(), names).expect("JSON")).unwrap();
        assert!(!out.contains("CANARY"), "{body} -> {out}");
        assert!(out.contains("service_role") || body.contains("nested"), "{out}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_listed_item_whose_names_disagree_is_not_shown() {
    let p = policy(r#""projects":["abcdefghijklmnopqrst"],"organizations":["acme"]"#);
    let agent = p.agent("a").unwrap();
    let out = |list, body: &str| String::from_utf8(lists::filter(list, agent, body.as_bytes()).expect("JSON")).unwrap();
    // Either of a project's names out of scope hides it; both in scope, or one in scope alone, show it.
    for (body, shown) in [
        (r#"[{"id":"abcdefghijklmnopqrst","ref":"zyxwvutsrqponmlkjihg","name":"OTHER"}]"#, false),
        (r#"[{"id":"zyxwvutsrqponmlkjihg","ref":"abcdefghijklmnopqrst","name":"OTHER"}]"#, false),
        (r#"[{"id":7,"ref":"abcdefghijklmnopqrst","name":"OTHER"}]"#, false),
        (r#"[{"name":"OTHER"}]"#, false),
        (r#"[{"id":"abcdefghijklmnopqrst","ref":"abcdefghijklmnopqrst","name":"MINE"}]"#, true),
        (r#"[{"ref":"abcdefghijklmnopqrst","name":"MINE"}]"#, true),
        (r#"[{"id":"abcdefghijklmnopqrst","name":"MINE"}]"#, true),
    ] {
        let o = out(lists::ScopedList::Projects, body);
        assert_eq!(o.contains("abcdefghijklmnopqrst"), shown, "{body} -> {o}");
        assert!(!o.contains("zyxw") && !o.contains("OTHER"), "{body} -> {o}");
    }
    for (body, shown) in [
        (r#"[{"id":"acme","slug":"other","name":"OTHER"}]"#, false),
        (r#"[{"id":"other","slug":"acme","name":"OTHER"}]"#, false),
        (r#"[{"id":"acme","slug":"acme","name":"MINE"}]"#, true),
    ] {
        let o = out(lists::ScopedList::Organizations, body);
        assert_eq!(o.contains("acme"), shown, "{body} -> {o}");
        assert!(!o.contains("other") && !o.contains("OTHER"), "{body} -> {o}");
    }
    // Projects by organization: both organization names must be the agent's.
    let p = policy(r#""projects":{"organizations":["acme"]},"organizations":["acme"]"#);
    let agent = p.agent("a").unwrap();
    for (body, shown) in [
        (r#"[{"ref":"zyxwvutsrqponmlkjihg","organization_slug":"other","organization_id":"acme"}]"#, false),
        (r#"[{"ref":"zyxwvutsrqponmlkjihg","organization_slug":"acme","organization_id":"other"}]"#, false),
        (r#"[{"ref":"zyxwvutsrqponmlkjihg","organization_slug":"acme","organization_id":"acme"}]"#, true),
        (r#"[{"ref":"zyxwvutsrqponmlkjihg","organization_slug":"acme"}]"#, true),
    ] {
        let o = String::from_utf8(lists::filter(lists::ScopedList::Projects, agent, body.as_bytes()).unwrap()).unwrap();
        assert_eq!(o.contains("zyxw"), shown, "{body} -> {o}");
    }
}

/// The auth config's `sms_test_otp` holds phone numbers with the fixed code each signs in with
/// (`18005550123=123456`), valid until `sms_test_otp_valid_until`: a credential for those users'
/// accounts, which reached an agent with `auth_config: read` as Supabase sent it.
#[wasm_bindgen_test(unsupported = test)]
fn an_auth_configs_test_otp_codes_are_redacted() {
    let body = br#"{"sms_test_otp":"18005550123=123456","sms_test_otp_valid_until":"2030-01-01T00:00:00Z","rate_limit_otp":30}"#;
    for id in ["get_auth_config", "update_auth_config"] {
        let out: Value = serde_json::from_slice(&secrets::redact(body, secrets::fields(id).unwrap()).unwrap()).unwrap();
        assert_eq!(out["sms_test_otp"], secrets::MARKER, "{id}");
        assert_eq!(out["sms_test_otp_valid_until"], "2030-01-01T00:00:00Z", "{id}: a date is not a secret");
        assert_eq!(out["rate_limit_otp"], 30, "{id}: a rate limit is not a secret");
    }
}
