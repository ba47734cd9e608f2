//! The decision, table-driven: every seed endpoint at every level, scope, allow and deny lists,
//! monitor mode, credentials and malformed requests. Runs natively and as wasm32 under Node.

use bollard::audit::{AuditRecord, Completion};
use bollard::catalog::{Catalog, Class};
use bollard::decision::{decide, Decision, Request, Verdict};
use bollard::policy::{key_sha256, Policy};
use wasm_bindgen_test::wasm_bindgen_test;

const P1: &str = "abcdefghijklmnopqrst";
const P2: &str = "zyxwvutsrqponmlkjihg";
const KEY: &str = "sbp_0000000000000000000000000000000000000001";
const BRANCH_UUID: &str = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b";

/// The interface's seed endpoints: id, method, concrete path (in P1 / org acme), area.
const SEED: [(&str, &str, &str, &str); 35] = [
    ("list_projects", "GET", "/v1/projects", "projects"),
    ("create_project", "POST", "/v1/projects", "projects"),
    ("get_project", "GET", "/v1/projects/abcdefghijklmnopqrst", "projects"),
    ("delete_project", "DELETE", "/v1/projects/abcdefghijklmnopqrst", "projects"),
    ("pause_project", "POST", "/v1/projects/abcdefghijklmnopqrst/pause", "projects"),
    ("restore_project", "POST", "/v1/projects/abcdefghijklmnopqrst/restore", "projects"),
    ("list_organizations", "GET", "/v1/organizations", "organizations"),
    ("create_organization", "POST", "/v1/organizations", "organizations"),
    ("run_sql", "POST", "/v1/projects/abcdefghijklmnopqrst/database/query", "database"),
    ("run_read_only_sql", "POST", "/v1/projects/abcdefghijklmnopqrst/database/query/read-only", "database"),
    ("list_migrations", "GET", "/v1/projects/abcdefghijklmnopqrst/database/migrations", "database"),
    ("apply_migration", "POST", "/v1/projects/abcdefghijklmnopqrst/database/migrations", "database"),
    ("enable_database_webhooks", "POST", "/v1/projects/abcdefghijklmnopqrst/database/webhooks/enable", "database"),
    ("list_functions", "GET", "/v1/projects/abcdefghijklmnopqrst/functions", "edge_functions"),
    ("get_function", "GET", "/v1/projects/abcdefghijklmnopqrst/functions/hello-world", "edge_functions"),
    ("get_function_body", "GET", "/v1/projects/abcdefghijklmnopqrst/functions/hello-world/body", "edge_functions"),
    ("create_function", "POST", "/v1/projects/abcdefghijklmnopqrst/functions", "edge_functions"),
    ("deploy_function", "POST", "/v1/projects/abcdefghijklmnopqrst/functions/deploy", "edge_functions"),
    ("update_function", "PATCH", "/v1/projects/abcdefghijklmnopqrst/functions/hello-world", "edge_functions"),
    ("delete_function", "DELETE", "/v1/projects/abcdefghijklmnopqrst/functions/hello-world", "edge_functions"),
    ("list_secrets", "GET", "/v1/projects/abcdefghijklmnopqrst/secrets", "secrets"),
    ("create_secrets", "POST", "/v1/projects/abcdefghijklmnopqrst/secrets", "secrets"),
    ("delete_secrets", "DELETE", "/v1/projects/abcdefghijklmnopqrst/secrets", "secrets"),
    ("get_auth_config", "GET", "/v1/projects/abcdefghijklmnopqrst/config/auth", "auth_config"),
    ("update_auth_config", "PATCH", "/v1/projects/abcdefghijklmnopqrst/config/auth", "auth_config"),
    ("get_postgres_config", "GET", "/v1/projects/abcdefghijklmnopqrst/config/database/postgres", "project_config"),
    ("update_postgres_config", "PUT", "/v1/projects/abcdefghijklmnopqrst/config/database/postgres", "project_config"),
    ("get_storage_config", "GET", "/v1/projects/abcdefghijklmnopqrst/config/storage", "project_config"),
    ("update_storage_config", "PATCH", "/v1/projects/abcdefghijklmnopqrst/config/storage", "project_config"),
    ("list_buckets", "GET", "/v1/projects/abcdefghijklmnopqrst/storage/buckets", "storage"),
    ("list_api_keys", "GET", "/v1/projects/abcdefghijklmnopqrst/api-keys", "api_keys"),
    ("create_api_key", "POST", "/v1/projects/abcdefghijklmnopqrst/api-keys", "api_keys"),
    ("list_branches", "GET", "/v1/projects/abcdefghijklmnopqrst/branches", "branches"),
    ("create_branch", "POST", "/v1/projects/abcdefghijklmnopqrst/branches", "branches"),
    ("delete_branch", "DELETE", "/v1/branches/abcdefghijklmnopqrst", "branches"),
];

/// A one-agent policy; `extra` is spliced into the agent object.
fn policy(mode: &str, extra: &str) -> Policy {
    let text = format!(
        r#"{{"mode":"{mode}","upstream":{{"token_env":"SUPABASE_ACCESS_TOKEN"}},"agents":[{{
            "id":"agent-1","name":"Agent One","key_sha256":"{}"{}{extra}}}]}}"#,
        key_sha256(KEY),
        if extra.is_empty() { "" } else { "," }
    );
    Policy::from_json(&text).unwrap_or_else(|e| panic!("test policy: {e}\n{text}"))
}

fn run<'p, 'a>(p: &'p Policy, method: &'a str, target: &'a str, auth: &'a [&'a str]) -> Decision<'p, 'a> {
    let catalog = Catalog::new().expect("catalog");
    decide(p, &catalog, &Request { method, target, authorization: auth, method_override: false })
}

const AUTH: &[&str] = &["Bearer sbp_0000000000000000000000000000000000000001"];

#[wasm_bindgen_test(unsupported = test)]
fn every_seed_endpoint_at_every_level() {
    for (id, method, path, area) in SEED {
        for level in ["off", "read", "full"] {
            let p = policy(
                "enforce",
                &format!(r#""projects":["*"],"organizations":["*"],"access":{{"{area}":"{level}"}}"#),
            );
            let d = run(&p, method, path, AUTH);
            let e = d.endpoint.unwrap_or_else(|| panic!("{method} {path} did not match"));
            assert_eq!(e.id, id, "{method} {path}");
            assert_eq!(e.area.name(), area, "{id}");
            let want = level == "full" || (level == "read" && e.class() == Class::Read);
            assert_eq!(d.verdict == Verdict::Allow, want, "{id} at {level}: {:?}", d.reason);
            if want {
                assert!(d.forward() && d.refusal_status().is_none(), "{id}");
            } else {
                assert_eq!(d.refusal_status(), Some(403), "{id} at {level}");
                assert_eq!(d.reason.code(), "permission_denied");
            }
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn scope_in_and_out() {
    let p = policy("enforce", r#""projects":["abcdefghijklmnopqrst"],"organizations":["acme"],
        "access":{"edge_functions":"full","organizations":"full","branches":"full"}"#);
    let p2 = format!("/v1/projects/{P2}/functions");
    let b_uuid = format!("/v1/branches/{BRANCH_UUID}");
    let b_p1 = format!("/v1/branches/{P1}");
    let b_p2 = format!("/v1/branches/{P2}");
    let cases: [(&str, &str, &str); 7] = [
        ("GET", "/v1/projects/abcdefghijklmnopqrst/functions", "access_full"),
        ("GET", &p2, "project_out_of_scope"),
        ("GET", "/v1/organizations/acme/members", "access_full"),
        ("GET", "/v1/organizations/other/members", "organization_out_of_scope"),
        ("DELETE", &b_uuid, "branch_out_of_scope"),
        ("DELETE", &b_p1, "access_full"),
        ("DELETE", &b_p2, "branch_out_of_scope"),
    ];
    for (method, path, reason) in cases {
        let d = run(&p, method, path, AUTH);
        assert_eq!(d.reason.code(), reason, "{method} {path}");
    }
    // projects ["*"] reaches any branch; [] reaches no project at all.
    let all = policy("enforce", r#""projects":["*"],"access":{"branches":"full"}"#);
    assert_eq!(run(&all, "DELETE", &b_uuid, AUTH).verdict, Verdict::Allow);
    let none = policy("enforce", r#""access":{"edge_functions":"full"}"#);
    assert_eq!(run(&none, "GET", "/v1/projects/abcdefghijklmnopqrst/functions", AUTH).reason.code(), "project_out_of_scope");
}

#[wasm_bindgen_test(unsupported = test)]
fn allow_and_deny_lists() {
    let fns = "/v1/projects/abcdefghijklmnopqrst/functions";
    let cases: [(&str, &str, &str, &str); 8] = [
        // (agent fields, method, path, expected reason)
        (r#""allow":["list_functions"]"#, "GET", fns, "allow_list"),
        (r#""allow":["edge_functions_read"]"#, "GET", fns, "allow_list"),
        (r#""allow":["edge_functions_read"]"#, "POST", fns, "permission_denied"),
        // update_auth_config needs auth_config_write and project_admin_write: one is not enough.
        (r#""allow":["auth_config_write"]"#, "PATCH", "/v1/projects/abcdefghijklmnopqrst/config/auth", "permission_denied"),
        (r#""allow":["auth_config_write","project_admin_write"]"#, "PATCH", "/v1/projects/abcdefghijklmnopqrst/config/auth", "allow_list"),
        (r#""access":{"edge_functions":"full"},"deny":["list_functions"]"#, "GET", fns, "denied_by_policy"),
        (r#""access":{"edge_functions":"full"},"deny":["edge_functions_write"]"#, "POST", fns, "denied_by_policy"),
        (r#""allow":["list_functions"],"deny":["list_functions"]"#, "GET", fns, "denied_by_policy"),
    ];
    for (fields, method, path, reason) in cases {
        let p = policy("enforce", &format!(r#""projects":["abcdefghijklmnopqrst"],{fields}"#));
        assert_eq!(run(&p, method, path, AUTH).reason.code(), reason, "{fields} {method} {path}");
    }
    // allow does not lift scope.
    let p = policy("enforce", r#""projects":["abcdefghijklmnopqrst"],"allow":["list_functions"]"#);
    let other = format!("/v1/projects/{P2}/functions");
    assert_eq!(run(&p, "GET", &other, AUTH).reason.code(), "project_out_of_scope");
}

#[wasm_bindgen_test(unsupported = test)]
fn outside_the_catalog_is_denied() {
    let p = policy("enforce", r#""projects":["*"],"organizations":["*"],"access":{"projects":"full"}"#);
    for (method, path) in [("GET", "/v1/nothing"), ("PUT", "/v1/projects/abcdefghijklmnopqrst"), ("GET", "/v2/projects"), ("OPTIONS", "/v1/projects")] {
        let d = run(&p, method, path, AUTH);
        assert_eq!((d.verdict, d.reason.code(), d.refusal_status()), (Verdict::Deny, "unknown_endpoint", Some(403)), "{method} {path}");
        assert!(d.endpoint.is_none());
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn monitor_mode_forwards_only_identified_authorization_denials() {
    let p = policy("monitor", r#""projects":["abcdefghijklmnopqrst"],"access":{"projects":"read"}"#);
    let d = run(&p, "DELETE", "/v1/projects/abcdefghijklmnopqrst", AUTH);
    assert_eq!((d.verdict, d.enforced, d.forward()), (Verdict::Deny, false, true));
    let d = run(&p, "GET", "/v1/nothing", AUTH);
    assert_eq!((d.reason.code(), d.enforced, d.forward()), ("unknown_endpoint", false, true));
    let d = run(&p, "GET", "/v1/projects/abcdefghijklmnopqrst", AUTH);
    assert_eq!((d.verdict, d.enforced), (Verdict::Allow, true));
    for (target, auth, status) in [
        ("/v1/projects", &[][..], 401),
        ("/v1/projects", &["Bearer sbp_wrong"][..], 401),
        ("/v1/projects/../x", AUTH, 400),
        ("/v1/projects/ABC", AUTH, 400),
    ] {
        let d = run(&p, "GET", target, auth);
        assert_eq!((d.enforced, d.forward(), d.refusal_status()), (true, false, Some(status)), "{target}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn credentials() {
    let p = policy("enforce", r#""access":{"projects":"read"}"#);
    let k = KEY;
    let two = format!("Bearer {k}, Bearer {k}");
    let twice = format!("Bearer Bearer {k}");
    let basic = format!("Basic {k}");
    let lower = format!("bearer {k}");
    let upper = format!("BEARER {k}");
    let good = format!("Bearer {k}");
    let cases: [(Vec<&str>, &str); 9] = [
        (vec![], "missing_key"),
        (vec!["Bearer "], "missing_key"),
        (vec!["Bearer sbp_not_an_agent"], "unknown_key"),
        (vec![&good, &good], "ambiguous_credentials"),
        (vec![&two], "ambiguous_credentials"),
        (vec![&twice], "ambiguous_credentials"),
        (vec![&basic], "ambiguous_credentials"),
        (vec![&lower], "access_read"),
        (vec![&upper], "access_read"),
    ];
    for (auth, reason) in cases {
        let d = run(&p, "GET", "/v1/projects", &auth);
        assert_eq!(d.reason.code(), reason, "{auth:?}");
        if reason != "access_read" {
            assert_eq!(d.refusal_status(), Some(401));
            assert!(d.agent.is_none());
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn malformed_requests_are_400() {
    let p = policy("enforce", r#""projects":["*"],"organizations":["*"],"access":{"projects":"full","edge_functions":"full","api_keys":"full"}"#);
    let long = format!("/v1/projects/{}", "a".repeat(3000));
    let cases: [(&str, &str, &str); 14] = [
        ("GET", "/v1/projects/abcdefghijklmnopqrst/../x", "malformed_target"),
        ("GET", "/v1/projects/%2e%2e/x", "malformed_target"),
        ("GET", "//v1/projects", "malformed_target"),
        ("GET", "/v1/projects/", "malformed_target"),
        ("GET", "/v1/projects;a=b", "malformed_target"),
        ("GET", "/v1/projects/\u{e9}", "malformed_target"),
        ("GET", "/v1/projects#x", "malformed_target"),
        ("GET", "http://api.supabase.com/v1/projects", "malformed_target"),
        ("GET", &long, "malformed_target"),
        ("GET", "/v1/projects?apikey=x", "credential_in_query"),
        ("get", "/v1/projects", "invalid_method"),
        ("GET", "/v1/projects/ABCDEFGHIJKLMNOPQRST", "invalid_parameter"),
        ("GET", "/v1/projects/abcdefghijklmnopqrs/functions", "invalid_parameter"),
        ("GET", "/v1/projects/abcdefghijklmnopqrst/api-keys/not-a-uuid", "invalid_parameter"),
    ];
    for (method, target, reason) in cases {
        let d = run(&p, method, target, AUTH);
        assert_eq!((d.reason.code(), d.refusal_status()), (reason, Some(400)), "{method} {target}");
    }
    let catalog = Catalog::new().expect("catalog");
    let d = decide(&p, &catalog, &Request { method: "GET", target: "/v1/projects", authorization: AUTH, method_override: true });
    assert_eq!(d.reason.code(), "method_override");
}

#[wasm_bindgen_test(unsupported = test)]
fn refusal_body_has_every_field_and_an_actionable_message() {
    let p = policy("enforce", r#""projects":["abcdefghijklmnopqrst"],"access":{"projects":"read"}"#);
    let d = run(&p, "DELETE", "/v1/projects/abcdefghijklmnopqrst", AUTH);
    let body: serde_json::Value = serde_json::from_str(&bollard::refusal::body(&d, "DELETE", Some("rid-1"))).expect("JSON");
    let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    let mut want = vec!["message", "code", "agent", "endpoint", "area", "permission", "project", "request_id"];
    want.sort_unstable();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    assert_eq!(keys_sorted, want);
    assert_eq!(body["code"], "permission_denied");
    assert_eq!(body["endpoint"], "delete_project");
    assert_eq!(body["permission"], "project_admin_write");
    assert_eq!(body["project"], P1);
    assert_eq!(body["request_id"], "rid-1");
    let m = body["message"].as_str().expect("message");
    for part in ["Agent One", "delete project abcdefghijklmnopqrst", "Projects access is read", "needs full", "project_admin_write"] {
        assert!(m.contains(part), "{part:?} not in {m}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn audit_record_has_the_interface_fields() {
    let p = policy("enforce", r#""projects":["abcdefghijklmnopqrst"],"access":{"edge_functions":"read"}"#);
    let d = run(&p, "GET", "/v1/projects/abcdefghijklmnopqrst/functions?limit=1", AUTH);
    let rec = AuditRecord::new(&d, "GET", "/v1/projects/abcdefghijklmnopqrst/functions?limit=1",
        Completion { unix_ms: 1_796_000_000_123, request_id: Some("r1"), status: 200, duration_ms: 1.23456 });
    let v: serde_json::Value = serde_json::from_str(&rec.to_json()).expect("JSON");
    let mut keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = vec!["ts", "request_id", "agent", "method", "path", "endpoint", "area", "permission", "project",
        "organization", "decision", "enforced", "reason", "status", "duration_ms", "summary"];
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(v["path"], "/v1/projects/abcdefghijklmnopqrst/functions", "no query string");
    assert_eq!(v["ts"], "2026-11-30T00:53:20.123Z");
    assert_eq!(bollard::audit::rfc3339(1_709_164_800_000), "2024-02-29T00:00:00.000Z");
    assert_eq!(bollard::audit::rfc3339(951_868_799_999), "2000-02-29T23:59:59.999Z");
    assert_eq!(v["duration_ms"], 1.235);
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["organization"], serde_json::Value::Null);
    let s = v["summary"].as_str().expect("summary");
    assert_eq!(s, "Agent One asked to list edge functions on project abcdefghijklmnopqrst: allowed (edge_functions: read).");
    // A refused, non-canonical target is logged escaped and cut to 256 bytes.
    let bad = format!("/v1/\u{1}{}", "x".repeat(400));
    let d = run(&p, "GET", &bad, AUTH);
    let rec = AuditRecord::new(&d, "GET", &bad, Completion { unix_ms: 0, request_id: None, status: 400, duration_ms: 0.0 });
    assert!(rec.path.len() <= 256 && rec.path.starts_with("/v1/\\u{1}"), "{}", rec.path);
    assert_eq!(rec.ts, "1970-01-01T00:00:00.000Z");
}
