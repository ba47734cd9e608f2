//! The decision, table-driven: every seed endpoint at every level, scope, allow and deny lists,
//! monitor mode, credentials and malformed requests. Runs natively and as wasm32 under Node.

// Tests may panic: that is how they fail.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use bollard::audit::{AuditRecord, Completion};
use bollard::catalog::Catalog;
use bollard::decision::{decide, Decision, Request, Verdict};
use bollard::policy::{key_sha256, Policy};
use wasm_bindgen_test::wasm_bindgen_test;

const P1: &str = "abcdefghijklmnopqrst";
const P2: &str = "zyxwvutsrqponmlkjihg";
const KEY: &str = "sbp_0000000000000000000000000000000000000001";
const AUTH: &[&str] = &["Bearer sbp_0000000000000000000000000000000000000001"];
const BRANCH_UUID: &str = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b";
/// The agent's scope in most tests: the project and organization every seed path below names.
const SCOPE: &str = r#""projects":["abcdefghijklmnopqrst"],"organizations":["acme"]"#;
/// A body for the endpoints whose decision reads one (`create_project` names its organization;
/// `run_sql` does not say `read_only`, so it is the write form).
const BODY: &[u8] = br#"{"organization_slug":"acme","name":"p","query":"select 1"}"#;

/// The interface's seed table (section 2): id, method, a concrete path in P1, area, permission.
const SEED: [(&str, &str, &str, &str, &str); 35] = [
    ("list_projects", "GET", "/v1/projects", "projects", "projects_read"),
    ("create_project", "POST", "/v1/projects", "projects", "organization_projects_create"),
    ("get_project", "GET", "/v1/projects/abcdefghijklmnopqrst", "projects", "project_admin_read"),
    ("delete_project", "DELETE", "/v1/projects/abcdefghijklmnopqrst", "projects", "project_admin_write"),
    ("pause_project", "POST", "/v1/projects/abcdefghijklmnopqrst/pause", "projects", "project_admin_write"),
    ("restore_project", "POST", "/v1/projects/abcdefghijklmnopqrst/restore", "projects", "project_admin_write"),
    ("list_organizations", "GET", "/v1/organizations", "organizations", "organizations_read"),
    ("create_organization", "POST", "/v1/organizations", "organizations", "organizations_create"),
    ("run_sql", "POST", "/v1/projects/abcdefghijklmnopqrst/database/query", "database", "database_write"),
    (
        "run_read_only_sql",
        "POST",
        "/v1/projects/abcdefghijklmnopqrst/database/query/read-only",
        "database",
        "database_read",
    ),
    (
        "list_migrations",
        "GET",
        "/v1/projects/abcdefghijklmnopqrst/database/migrations",
        "database",
        "database_migrations_read",
    ),
    (
        "apply_migration",
        "POST",
        "/v1/projects/abcdefghijklmnopqrst/database/migrations",
        "database",
        "database_migrations_write",
    ),
    (
        "enable_database_webhooks",
        "POST",
        "/v1/projects/abcdefghijklmnopqrst/database/webhooks/enable",
        "database",
        "database_webhooks_config_write",
    ),
    ("list_functions", "GET", "/v1/projects/abcdefghijklmnopqrst/functions", "edge_functions", "edge_functions_read"),
    (
        "get_function",
        "GET",
        "/v1/projects/abcdefghijklmnopqrst/functions/hello-world",
        "edge_functions",
        "edge_functions_read",
    ),
    (
        "get_function_body",
        "GET",
        "/v1/projects/abcdefghijklmnopqrst/functions/hello-world/body",
        "edge_functions",
        "edge_functions_read",
    ),
    (
        "create_function",
        "POST",
        "/v1/projects/abcdefghijklmnopqrst/functions",
        "edge_functions",
        "edge_functions_write",
    ),
    (
        "deploy_function",
        "POST",
        "/v1/projects/abcdefghijklmnopqrst/functions/deploy",
        "edge_functions",
        "edge_functions_write",
    ),
    (
        "update_function",
        "PATCH",
        "/v1/projects/abcdefghijklmnopqrst/functions/hello-world",
        "edge_functions",
        "edge_functions_write",
    ),
    (
        "delete_function",
        "DELETE",
        "/v1/projects/abcdefghijklmnopqrst/functions/hello-world",
        "edge_functions",
        "edge_functions_write",
    ),
    ("list_secrets", "GET", "/v1/projects/abcdefghijklmnopqrst/secrets", "secrets", "edge_functions_secrets_read"),
    ("create_secrets", "POST", "/v1/projects/abcdefghijklmnopqrst/secrets", "secrets", "edge_functions_secrets_write"),
    (
        "delete_secrets",
        "DELETE",
        "/v1/projects/abcdefghijklmnopqrst/secrets",
        "secrets",
        "edge_functions_secrets_write",
    ),
    ("get_auth_config", "GET", "/v1/projects/abcdefghijklmnopqrst/config/auth", "auth_config", "auth_config_read"),
    (
        "update_auth_config",
        "PATCH",
        "/v1/projects/abcdefghijklmnopqrst/config/auth",
        "auth_config",
        "auth_config_write",
    ),
    (
        "get_postgres_config",
        "GET",
        "/v1/projects/abcdefghijklmnopqrst/config/database/postgres",
        "project_config",
        "database_config_read",
    ),
    (
        "update_postgres_config",
        "PUT",
        "/v1/projects/abcdefghijklmnopqrst/config/database/postgres",
        "project_config",
        "database_config_write",
    ),
    (
        "get_storage_config",
        "GET",
        "/v1/projects/abcdefghijklmnopqrst/config/storage",
        "project_config",
        "storage_config_read",
    ),
    (
        "update_storage_config",
        "PATCH",
        "/v1/projects/abcdefghijklmnopqrst/config/storage",
        "project_config",
        "storage_config_write",
    ),
    ("list_buckets", "GET", "/v1/projects/abcdefghijklmnopqrst/storage/buckets", "storage", "storage_read"),
    ("list_api_keys", "GET", "/v1/projects/abcdefghijklmnopqrst/api-keys", "api_keys", "api_gateway_keys_read"),
    ("create_api_key", "POST", "/v1/projects/abcdefghijklmnopqrst/api-keys", "api_keys", "api_gateway_keys_write"),
    ("list_branches", "GET", "/v1/projects/abcdefghijklmnopqrst/branches", "branches", "branching_development_read"),
    ("create_branch", "POST", "/v1/projects/abcdefghijklmnopqrst/branches", "branches", "branching_development_create"),
    ("delete_branch", "DELETE", "/v1/branches/abcdefghijklmnopqrst", "branches", "branching_development_delete"),
];

/// A one-agent policy ("Agent One", key KEY); `fields` is spliced into the agent object.
fn policy(mode: &str, fields: &str) -> Policy {
    let sep = if fields.is_empty() { "" } else { "," };
    let text = format!(
        r#"{{"mode":"{mode}","upstream":{{"token_env":"SUPABASE_ACCESS_TOKEN"}},"agents":[{{
            "id":"agent-1","name":"Agent One","key_sha256":"{}"{sep}{fields}}}]}}"#,
        key_sha256(KEY)
    );
    Policy::from_json(&text).unwrap_or_else(|e| panic!("test policy: {e}\n{text}"))
}

/// Decides a request, then completes it as the filter does: with `body` when the decision waits
/// for one, and, when it waits for a branch's parent project, with upstream's answer that the
/// ref is no branch of the agent's projects.
fn req<'p, 'a>(p: &'p Policy, method: &'a str, target: &'a str, auth: &'a [&'a str], body: &[u8]) -> Decision<'p, 'a> {
    let catalog = Catalog::new().expect("catalog");
    let mut d =
        decide(p, &catalog, &Request { method, target, authorization: auth, method_override: false, now_ms: 0 });
    assert!(
        !((d.body_check.is_some() || d.branch_lookup.is_some()) && d.forward()),
        "a pending decision never forwards"
    );
    d.apply_body(p, Some("application/json"), body);
    d.apply_branch_parent(p, None);
    d
}

#[wasm_bindgen_test(unsupported = test)]
fn branches_wait_for_their_parent_project() {
    let p = policy(
        "enforce",
        r#""projects":["abcdefghijklmnopqrst"],"access":{"branches":"full","edge_functions":"read"}"#,
    );
    let catalog = Catalog::new().expect("catalog");
    for (method, target) in [
        ("DELETE", "/v1/branches/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"),
        ("GET", "/v1/projects/brnchaaaaaaaaaaaaaaa/functions"),
    ] {
        let mut d =
            decide(&p, &catalog, &Request { method, target, authorization: AUTH, method_override: false, now_ms: 0 });
        assert!(d.branch_lookup.is_some() && !d.forward() && d.refusal_status() == Some(500), "{target}");
        d.apply_branch_parent(&p, Some("abcdefghijklmnopqrst"));
        assert!(d.forward() && d.verdict == Verdict::Allow, "a branch of the agent's project passes: {target}");
        let mut d =
            decide(&p, &catalog, &Request { method, target, authorization: AUTH, method_override: false, now_ms: 0 });
        d.apply_branch_parent(&p, Some("zyxwvutsrqponmlkjihg"));
        assert_eq!(d.refusal_status(), Some(403), "a branch of another project is refused: {target}");
    }
    // The grants refuse first: no lookup is needed, and the scope is the reason.
    let off = policy("enforce", r#""projects":["abcdefghijklmnopqrst"]"#);
    let d = decide(
        &off,
        &catalog,
        &Request {
            method: "DELETE",
            target: "/v1/branches/brnchaaaaaaaaaaaaaaa",
            authorization: AUTH,
            method_override: false,
            now_ms: 0,
        },
    );
    assert!(d.branch_lookup.is_none());
    assert_eq!((d.reason.code(), d.refusal_status()), ("branch_out_of_scope", Some(403)));
}

fn run<'p, 'a>(p: &'p Policy, method: &'a str, target: &'a str, auth: &'a [&'a str]) -> Decision<'p, 'a> {
    req(p, method, target, auth, BODY)
}

fn refusal(d: &Decision, method: &str) -> serde_json::Value {
    serde_json::from_str(&bollard::refusal::body(d, method, Some("rid-1"))).expect("refusal body is JSON")
}

#[wasm_bindgen_test(unsupported = test)]
fn every_seed_endpoint_at_every_level() {
    for (id, method, path, area, permission) in SEED {
        let is_read = permission.ends_with("_read");
        for level in ["off", "read", "full"] {
            let p = policy("enforce", &format!(r#"{SCOPE},"access":{{"{area}":"{level}"}}"#));
            let d = run(&p, method, path, AUTH);
            let e = d.endpoint.unwrap_or_else(|| panic!("{method} {path} matched nothing"));
            assert_eq!(e.id, id, "{method} {path}");
            let want_allow = level == "full" || (level == "read" && is_read);
            let want_reason = match (want_allow, level) {
                (true, "full") => "access_full",
                (true, _) => "access_read",
                // run_sql at read passes only in its read-only form; this body is not.
                (false, "read") if id == "run_sql" => "read_only_required",
                (false, _) => "permission_denied",
            };
            assert_eq!(d.reason.code(), want_reason, "{id} at {level}");
            assert_eq!(d.verdict == Verdict::Allow, want_allow, "{id} at {level}");
            assert_eq!(d.forward(), want_allow, "{id} at {level}");
            if want_allow {
                assert_eq!(d.refusal_status(), None, "{id}");
                continue;
            }
            assert_eq!(d.refusal_status(), Some(403), "{id} at {level}");
            let body = refusal(&d, method);
            let project = if path.contains(P1) { serde_json::json!(P1) } else { serde_json::Value::Null };
            assert_eq!(
                (
                    &body["code"],
                    &body["agent"],
                    &body["endpoint"],
                    &body["area"],
                    &body["permission"],
                    &body["project"]
                ),
                (&want_reason.into(), &"agent-1".into(), &id.into(), &area.into(), &permission.into(), &project),
                "{id} at {level}"
            );
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn every_seed_endpoint_by_allow_and_deny_entries() {
    for (id, method, path, _, permission) in SEED {
        let grants = |fields: &str| {
            let p = policy("enforce", &format!("{SCOPE},{fields}"));
            run(&p, method, path, AUTH).reason.code()
        };
        assert_eq!(grants(&format!(r#""allow":["{id}"]"#)), "allow_list", "allow by id, access off: {id}");
        // Allowing a permission grants the endpoints all of whose permissions are allowed.
        let needs_only_this = Catalog::by_id(id).is_some_and(|(_, e)| e.permissions.iter().all(|p| *p == permission));
        let by_perm = grants(&format!(r#""allow":["{permission}"]"#));
        assert_eq!(by_perm == "allow_list", needs_only_this, "allow {permission}: {id} got {by_perm}");
        for deny in [id, permission] {
            let fields = format!(
                r#""access":{{"projects":"full","organizations":"full","database":"full","edge_functions":"full",
                "secrets":"full","auth_config":"full","project_config":"full","storage":"full","api_keys":"full","branches":"full"}},
                "allow":["{id}"],"deny":["{deny}"]"#
            );
            let p = policy("enforce", &format!("{SCOPE},{fields}"));
            let d = run(&p, method, path, AUTH);
            assert_eq!(
                (d.reason.code(), d.refusal_status()),
                ("denied_by_policy", Some(403)),
                "deny {deny} beats full and allow: {id}"
            );
            assert!(
                refusal(&d, method)["message"].as_str().is_some_and(|m| m.contains(deny)),
                "the refusal names the deny entry {deny}"
            );
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn run_sql_read_only_form() {
    let q = "/v1/projects/abcdefghijklmnopqrst/database/query";
    let ro = br#"{"query":"select 1","read_only":true}"#;
    let cases: [(&str, &[u8], &str); 7] = [
        (r#""access":{"database":"read"}"#, ro, "read_only_sql"),
        (r#""access":{"database":"read"}"#, br#"{"query":"drop table t"}"#, "read_only_required"),
        (r#""access":{"database":"read"}"#, br#"{"query":"drop table t","read_only":"true"}"#, "read_only_required"),
        (r#""access":{"database":"read"}"#, br#"{"read_only":true,"read_only":false}"#, "invalid_body"),
        (r#""allow":["database_read"]"#, ro, "read_only_sql"),
        (r#""access":{"database":"full"}"#, br#"{"query":"drop table t"}"#, "access_full"),
        (r#""access":{"database":"off"}"#, ro, "permission_denied"),
    ];
    for (fields, body, reason) in cases {
        let p = policy("enforce", &format!("{SCOPE},{fields}"));
        let d = req(&p, "POST", q, AUTH, body);
        assert_eq!(d.reason.code(), reason, "{fields} {}", String::from_utf8_lossy(body));
        assert_eq!(d.forward(), reason == "read_only_sql" || reason == "access_full", "{reason}");
    }
}

/// The read-only form of `run_sql` needs `database_read` (the contract's table): a `deny` or an
/// `approve` entry that names that permission, or the `read` kind, holds it as it holds
/// `run_read_only_sql`.
#[wasm_bindgen_test(unsupported = test)]
fn run_sql_read_only_form_needs_its_read_permission() {
    let q = "/v1/projects/abcdefghijklmnopqrst/database/query";
    let ro = br#"{"query":"select 1","read_only":true}"#;
    let cases: [(&str, &str); 5] = [
        (r#""access":{"database":"read"},"deny":["database_read"]"#, "denied_by_policy"),
        (r#""access":{"database":"read"},"deny":["read"]"#, "denied_by_policy"),
        (r#""allow":["database_read"],"deny":["database_read"]"#, "denied_by_policy"),
        (r#""access":{"database":"read"},"approve":["database_read"]"#, "approval_required"),
        (r#""access":{"database":"read"},"approve":["read"]"#, "approval_required"),
    ];
    for (fields, reason) in cases {
        let p = policy("enforce", &format!("{SCOPE},{fields}"));
        for path in [q, "/v1/projects/abcdefghijklmnopqrst/database/query/read-only"] {
            let d = req(&p, "POST", path, AUTH, ro);
            assert_eq!(d.reason.code(), reason, "{fields} {path}");
            assert!(!d.forward(), "{fields} {path}");
            let message = refusal(&d, "POST")["message"].as_str().unwrap_or_default().to_string();
            let entry = if fields.contains(r#"["read"]"#) { "read" } else { "database_read" };
            assert!(
                message.contains(&format!("names {entry}")) || message.contains(&format!("holds {entry}")),
                "{message}"
            );
        }
    }
}

/// Branch endpoints accept a production or a development permission (the spec lists both; the
/// catalog names the development one): a `deny` or `approve` entry that names the production one
/// holds them too, and one naming a development permission leaves an endpoint that needs only
/// the production one alone.
#[wasm_bindgen_test(unsupported = test)]
fn alternative_permissions_in_deny_and_approve() {
    let merge = format!("/v1/branches/{BRANCH_UUID}/merge");
    let branch = format!("/v1/branches/{BRANCH_UUID}");
    let branches = format!("/v1/projects/{P1}/branches");
    let cases: [(&str, &str, &str, &str); 6] = [
        (r#""deny":["branching_production_write"]"#, "POST", &merge, "denied_by_policy"),
        (r#""deny":["branching_production_delete"]"#, "DELETE", &branch, "denied_by_policy"),
        (r#""deny":["branching_production_read"]"#, "GET", &branches, "denied_by_policy"),
        (r#""deny":["branching_production_create"]"#, "POST", &branches, "denied_by_policy"),
        (r#""approve":["branching_production_write"]"#, "POST", &merge, "approval_required"),
        (r#""deny":["branching_development_delete"]"#, "DELETE", &branches, "access_full"),
    ];
    for (fields, method, path, reason) in cases {
        let p = policy("enforce", &format!(r#""projects":["*"],"access":{{"branches":"full"}},{fields}"#));
        let d = req(&p, method, path, AUTH, b"{}");
        assert_eq!(d.reason.code(), reason, "{fields} {method} {path}");
        if reason != "access_full" {
            let message = refusal(&d, method)["message"].as_str().unwrap_or_default().to_string();
            let entry = fields.split('"').nth(3).unwrap_or_default();
            assert!(message.contains(entry), "{message}");
        }
    }
}

/// Merging a branch writes its parent project, and diffing it reads the parent's schema: an agent
/// whose projects name the branch's own ref, and not its parent, may act on the branch, not
/// merge or diff it. The parent is learned as for a branch id.
#[wasm_bindgen_test(unsupported = test)]
fn merging_or_diffing_a_branch_needs_its_parent_project() {
    const BR: &str = "brnchaaaaaaaaaaaaaaa";
    let catalog = Catalog::new().expect("catalog");
    let decide_at = |p: &Policy, method: &'static str, target: &str| {
        let target: &'static str = Box::leak(target.to_string().into_boxed_str());
        decide(p, &catalog, &Request { method, target, authorization: AUTH, method_override: false, now_ms: 0 })
            .reason
            .code()
    };
    let only_branch = policy("enforce", &format!(r#""projects":["{BR}"],"access":{{"branches":"full"}}"#));
    let both = policy("enforce", &format!(r#""projects":["{P1}","{BR}"],"access":{{"branches":"full"}}"#));
    for (method, suffix) in [("POST", "/merge"), ("GET", "/diff")] {
        let target = format!("/v1/branches/{BR}{suffix}");
        // The branch is one of the agent's projects; its parent must be learned.
        let mut d = req(&only_branch, method, &target, AUTH, b"{}");
        assert_eq!((d.reason.code(), d.forward()), ("branch_out_of_scope", false), "{method} {target}");
        let pending = decide(
            &only_branch,
            &catalog,
            &Request { method, target: &target, authorization: AUTH, method_override: false, now_ms: 0 },
        );
        assert!(pending.branch_lookup.is_some() && !pending.forward(), "{method} {target} waits for the parent");
        d.apply_branch_parent(&only_branch, Some(P2));
        assert!(!d.forward());
        let message = refusal(&d, method)["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains("parent project listed"), "{message}");
        // A parent among the agent's projects passes.
        let mut d = decide(
            &both,
            &catalog,
            &Request { method, target: &target, authorization: AUTH, method_override: false, now_ms: 0 },
        );
        d.apply_branch_parent(&both, Some(P1));
        assert!(d.forward() && d.verdict == Verdict::Allow, "{method} {target}");
    }
    // Acting on the branch itself needs the branch only; every project reaches any.
    assert_eq!(decide_at(&only_branch, "DELETE", &format!("/v1/branches/{BR}")), "access_full");
    assert_eq!(decide_at(&only_branch, "POST", &format!("/v1/branches/{BR}/reset")), "access_full");
    let all = policy("enforce", r#""projects":["*"],"access":{"branches":"full"}"#);
    assert_eq!(decide_at(&all, "POST", &format!("/v1/branches/{BR}/merge")), "access_full");
}

#[wasm_bindgen_test(unsupported = test)]
fn scope_in_and_out() {
    let p = policy(
        "enforce",
        &format!(r#"{SCOPE},"access":{{"edge_functions":"full","organizations":"full","branches":"full"}}"#),
    );
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
        let status = if reason == "access_full" { None } else { Some(403) };
        assert_eq!((d.reason.code(), d.refusal_status()), (reason, status), "{method} {path}");
    }
    let d = run(&p, "GET", &p2, AUTH);
    let m = refusal(&d, "GET")["message"].as_str().map(str::to_string).unwrap_or_default();
    assert!(
        m.contains(P2) && m.contains(&format!("({P1})")),
        "the message names the project and the agent's projects: {m}"
    );
    // projects ["*"] reaches any branch; no projects at all reaches no project.
    let all = policy("enforce", r#""projects":["*"],"access":{"branches":"full"}"#);
    assert_eq!(run(&all, "DELETE", &b_uuid, AUTH).verdict, Verdict::Allow);
    let none = policy("enforce", r#""access":{"edge_functions":"full"}"#);
    assert_eq!(
        run(&none, "GET", "/v1/projects/abcdefghijklmnopqrst/functions", AUTH).reason.code(),
        "project_out_of_scope"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn a_project_named_in_the_query_is_scoped_like_one_in_the_path() {
    let p = policy("enforce", &format!(r#"{SCOPE},"access":{{"database":"read"}}"#));
    let in_scope = format!("/v1/snippets?project_ref={P1}&limit=10");
    let out = format!("/v1/snippets?limit=10&project_ref={P2}");
    let escaped = format!("/v1/snippets?project_ref=%7a{}", &P2[1..]);
    for (target, reason, project) in [
        // Without a project_ref it lists every project's snippets: not for an agent with some.
        ("/v1/snippets", "project_out_of_scope", None),
        ("/v1/snippets?limit=10", "project_out_of_scope", None),
        (in_scope.as_str(), "access_read", Some(P1)),
        (out.as_str(), "project_out_of_scope", Some(P2)),
        (escaped.as_str(), "project_out_of_scope", None),
    ] {
        let d = run(&p, "GET", target, AUTH);
        assert_eq!(d.reason.code(), reason, "{target}");
        assert_eq!(d.forward(), reason == "access_read", "{target}");
        if let Some(project) = project {
            assert_eq!(refusal(&d, "GET")["project"].as_str(), Some(project), "{target}");
        }
    }
    let m = refusal(&run(&p, "GET", "/v1/snippets", AUTH), "GET")["message"].as_str().unwrap_or_default().to_string();
    assert!(m.contains("project_ref"), "the refusal says how to name the project: {m}");
    // An agent with every project lists them all.
    let every = policy("enforce", r#""projects":["*"],"access":{"database":"read"}"#);
    assert_eq!(run(&every, "GET", "/v1/snippets", AUTH).reason.code(), "access_read");
}

#[wasm_bindgen_test(unsupported = test)]
fn an_organization_named_in_the_query_is_scoped_like_one_in_the_path() {
    // `get_available_regions` answers for the organization its `organization_slug` names.
    let p = policy("enforce", &format!(r#"{SCOPE},"access":{{"projects":"read","oauth":"read"}}"#));
    for (target, reason, organization) in [
        ("/v1/projects/available-regions?organization_slug=acme", "access_read", Some("acme")),
        ("/v1/projects/available-regions?organization_slug=other", "organization_out_of_scope", Some("other")),
        (
            "/v1/projects/available-regions?continent=EU&organization_slug=other",
            "organization_out_of_scope",
            Some("other"),
        ),
        // Escaped, it is the slug upstream reads: decided, and named, decoded.
        ("/v1/projects/available-regions?organization_slug=%61cme", "access_read", Some("acme")),
        ("/v1/projects/available-regions?organization_slug=%61cme%26x", "organization_out_of_scope", Some("acme&x")),
    ] {
        let d = run(&p, "GET", target, AUTH);
        assert_eq!(d.reason.code(), reason, "{target}");
        assert_eq!(d.forward(), reason == "access_read", "{target}");
        if let Some(o) = organization {
            assert_eq!(d.organization(), Some(o), "{target}");
        }
    }
    let d = run(&p, "GET", "/v1/projects/available-regions?organization_slug=other", AUTH);
    let m = refusal(&d, "GET")["message"].as_str().unwrap_or_default().to_string();
    assert!(m.contains("acme"), "the refusal names the agent's organizations: {m}");
    // Every organization reaches any; monitor mode decides the same and forwards it.
    let every = policy("enforce", r#""organizations":["*"],"access":{"projects":"read"}"#);
    assert!(run(&every, "GET", "/v1/projects/available-regions?organization_slug=other", AUTH).forward());
    let monitor = policy("monitor", &format!(r#"{SCOPE},"access":{{"projects":"read"}}"#));
    let d = run(&monitor, "GET", "/v1/projects/available-regions?organization_slug=other", AUTH);
    assert_eq!(d.reason.code(), "organization_out_of_scope");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_call_that_reaches_a_project_it_does_not_name_needs_every_project() {
    // A snippet by id may belong to any project: its path and query name none.
    let snippet = "/v1/snippets/0b0f3c5e-8f1a-4c55-9d55-2d8f1f7e7a10";
    let some = policy("enforce", &format!(r#"{SCOPE},"access":{{"database":"read"}}"#));
    let d = run(&some, "GET", snippet, AUTH);
    assert_eq!(d.reason.code(), "project_out_of_scope");
    assert!(!d.forward());
    let body = refusal(&d, "GET");
    assert_eq!(body["endpoint"].as_str(), Some("get_snippet"));
    assert_eq!(body["project"], serde_json::Value::Null);
    let m = body["message"].as_str().unwrap_or_default();
    assert!(m.contains(r#""projects": ["*"]"#) && m.contains(P1), "the refusal names what would allow it: {m}");
    // Monitor mode decides the same and forwards it, as for any identified agent.
    let monitor = policy("monitor", &format!(r#"{SCOPE},"access":{{"database":"read"}}"#));
    assert_eq!(run(&monitor, "GET", snippet, AUTH).reason.code(), "project_out_of_scope");
    // With every project it is allowed by the agent's level; without the level it is not.
    let every = policy("enforce", r#""projects":["*"],"access":{"database":"read"}"#);
    assert_eq!(run(&every, "GET", snippet, AUTH).reason.code(), "access_read");
    let off = policy("enforce", r#""projects":["*"],"access":{"projects":"read"}"#);
    assert!(!run(&off, "GET", snippet, AUTH).forward());
    // Only the calls that reach an unnamed project are held to it: the account's profile is not.
    let profile = policy("enforce", &format!(r#"{SCOPE},"access":{{"account":"read"}}"#));
    assert!(run(&profile, "GET", "/v1/profile", AUTH).forward());
}

#[wasm_bindgen_test(unsupported = test)]
fn allow_and_deny_lists() {
    let fns = "/v1/projects/abcdefghijklmnopqrst/functions";
    let auth_cfg = "/v1/projects/abcdefghijklmnopqrst/config/auth";
    let cases: [(&str, &str, &str, &str); 9] = [
        // (agent fields, method, path, expected reason)
        (r#""allow":["list_functions"]"#, "GET", fns, "allow_list"),
        (r#""allow":["edge_functions_read"]"#, "GET", fns, "allow_list"),
        (r#""allow":["edge_functions_read"]"#, "POST", fns, "permission_denied"),
        // update_auth_config needs auth_config_write and project_admin_write: one is not enough.
        (r#""allow":["auth_config_write"]"#, "PATCH", auth_cfg, "permission_denied"),
        (r#""allow":["auth_config_write","project_admin_write"]"#, "PATCH", auth_cfg, "allow_list"),
        (r#""access":{"edge_functions":"full"},"deny":["list_functions"]"#, "GET", fns, "denied_by_policy"),
        (r#""access":{"edge_functions":"full"},"deny":["edge_functions_write"]"#, "POST", fns, "denied_by_policy"),
        (r#""access":{"edge_functions":"full"},"deny":["edge_functions_write"]"#, "GET", fns, "access_full"),
        (r#""allow":["list_functions"],"deny":["edge_functions_read"]"#, "GET", fns, "denied_by_policy"),
    ];
    for (fields, method, path, reason) in cases {
        let p = policy("enforce", &format!("{SCOPE},{fields}"));
        assert_eq!(run(&p, method, path, AUTH).reason.code(), reason, "{fields} {method} {path}");
    }
    // allow does not lift scope.
    let p = policy("enforce", &format!(r#"{SCOPE},"allow":["list_functions"]"#));
    let other = format!("/v1/projects/{P2}/functions");
    assert_eq!(run(&p, "GET", &other, AUTH).reason.code(), "project_out_of_scope");
}

#[wasm_bindgen_test(unsupported = test)]
fn outside_the_catalog_is_denied() {
    let p = policy(
        "enforce",
        r#""projects":["*"],"organizations":["*"],"access":{"projects":"full"},"allow":["get_project"]"#,
    );
    for (method, path) in [
        ("GET", "/v1/nothing"),
        ("GET", "/v2/projects"),
        ("GET", "/v1/projects/abcdefghijklmnopqrst/nothing"),
        ("PUT", "/v1/projects/abcdefghijklmnopqrst"),
        ("POST", "/v1/projects/abcdefghijklmnopqrst"),
        ("OPTIONS", "/v1/projects"),
    ] {
        let d = run(&p, method, path, AUTH);
        assert_eq!(
            (d.verdict, d.reason.code(), d.refusal_status()),
            (Verdict::Deny, "unknown_endpoint", Some(403)),
            "{method} {path}"
        );
        assert!(d.endpoint.is_none());
        let body = refusal(&d, method);
        assert_eq!(
            (&body["code"], &body["agent"], &body["endpoint"]),
            (&"unknown_endpoint".into(), &"agent-1".into(), &serde_json::Value::Null)
        );
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn monitor_mode_forwards_only_identified_authorization_denials() {
    let p = policy(
        "monitor",
        &format!(r#"{SCOPE},"access":{{"projects":"read","database":"read"}},"deny":["list_projects"]"#),
    );
    let p2 = format!("/v1/projects/{P2}");
    for (method, target, reason) in [
        ("DELETE", "/v1/projects/abcdefghijklmnopqrst", "permission_denied"),
        ("GET", p2.as_str(), "project_out_of_scope"),
        ("GET", "/v1/projects", "denied_by_policy"),
        ("POST", "/v1/projects/abcdefghijklmnopqrst/database/query", "read_only_required"),
    ] {
        let d = run(&p, method, target, AUTH);
        assert_eq!(
            (d.verdict, d.reason.code(), d.enforced, d.forward(), d.refusal_status()),
            (Verdict::Deny, reason, false, true, None),
            "{method} {target}"
        );
    }
    let d = run(&p, "GET", "/v1/projects/abcdefghijklmnopqrst", AUTH);
    assert_eq!((d.verdict, d.enforced), (Verdict::Allow, true));
    for (target, auth, status) in [
        ("/v1/projects", &[][..], 401),
        ("/v1/projects", &["Bearer sbp_wrong"][..], 401),
        ("/v1/projects", &["Basic abc"][..], 401),
        ("/v1/projects/../x", AUTH, 400),
        ("/v1/projects/ABC", AUTH, 400),
        // Only what the spec declares goes upstream, in either mode.
        ("/v1/nothing", AUTH, 403),
    ] {
        let d = run(&p, "GET", target, auth);
        assert_eq!(
            (d.verdict, d.enforced, d.forward(), d.refusal_status()),
            (Verdict::Deny, true, false, Some(status)),
            "{target} {auth:?}"
        );
    }
}

/// `bearer_key` by the plain rules: one value, `Bearer` in any case, one space, a token68.
fn bearer_by_the_rules(value: &str) -> Result<&str, &'static str> {
    let Some((scheme, key)) = value.split_once(' ') else { return Err("ambiguous_credentials") };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("ambiguous_credentials");
    }
    let body = key.trim_end_matches('=');
    let token68 = !body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric() || "-._~+/".contains(c));
    match (token68, key.is_empty()) {
        (true, _) => Ok(key),
        (false, true) => Err("missing_key"),
        (false, false) => Err("ambiguous_credentials"),
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn bearer_keys_follow_the_plain_rules_on_every_short_value() {
    // Every value of up to 4 characters over the characters that matter, after each scheme.
    let alphabet = ['a', 'Z', '0', '-', '/', '=', ' ', ',', '\t', '"', 'é', '\0'];
    let mut tails = vec![String::new()];
    let mut all = Vec::new();
    for _ in 0..4 {
        tails = tails.iter().flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}"))).collect();
        all.extend(tails.iter().cloned());
    }
    let mut checked = 0;
    for scheme in ["Bearer", "bEaReR", "Basic", "Bearerx", ""] {
        for tail in &all {
            for value in [format!("{scheme} {tail}"), format!("{scheme}{tail}")] {
                let got = bollard::decision::bearer_key(&[value.as_str()]).map_err(|r| r.code());
                assert_eq!(got, bearer_by_the_rules(&value), "{value:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 200_000, "{checked}");
}

#[wasm_bindgen_test(unsupported = test)]
fn credentials() {
    let p = policy("enforce", r#""access":{"projects":"read"}"#);
    let k = KEY;
    let good = format!("Bearer {k}");
    let two = format!("Bearer {k}, Bearer {k}");
    let twice = format!("Bearer Bearer {k}");
    let basic = format!("Basic {k}");
    let lower = format!("bearer {k}");
    let upper = format!("BEARER {k}");
    let cases: [(Vec<&str>, &str); 11] = [
        (vec![], "missing_key"),
        (vec!["Bearer "], "missing_key"),
        (vec!["Bearer sbp_not_an_agent"], "unknown_key"),
        (vec![&good, &good], "ambiguous_credentials"),
        (vec![&good, "Bearer sbp_other"], "ambiguous_credentials"),
        (vec!["Bearer a, Bearer b"], "ambiguous_credentials"),
        (vec![&two], "ambiguous_credentials"),
        (vec![&twice], "ambiguous_credentials"),
        (vec![&basic], "ambiguous_credentials"),
        (vec![&lower], "access_read"),
        (vec![&upper], "access_read"),
    ];
    for (auth, reason) in cases {
        let d = run(&p, "GET", "/v1/projects", &auth);
        assert_eq!(d.reason.code(), reason, "{auth:?}");
        if reason == "access_read" {
            assert_eq!(d.agent.map(|a| a.id.as_str()), Some("agent-1"));
            continue;
        }
        assert_eq!((d.refusal_status(), d.forward()), (Some(401), false), "{auth:?}");
        assert!(d.agent.is_none());
        // Neither the refusal nor the audit record repeats what the caller sent as a key.
        let body = bollard::refusal::body(&d, "GET", None);
        let rec = AuditRecord::new(
            &d,
            "GET",
            "/v1/projects",
            Completion { unix_ms: 0, request_id: None, status: 401, duration_ms: 0.0 },
        );
        assert!(!body.contains(KEY) && !rec.to_json().contains(KEY), "key leaked for {auth:?}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&body).expect("JSON")["code"], reason);
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn malformed_requests_are_400() {
    let p = policy(
        "enforce",
        r#""projects":["*"],"organizations":["*"],"access":{"projects":"full","edge_functions":"full","api_keys":"full"}"#,
    );
    let long = format!("/v1/projects/{}", "a".repeat(3000));
    let cases: [(&str, &str, &str); 22] = [
        ("GET", "/v1/projects/abcdefghijklmnopqrst/../x", "malformed_target"),
        // Not an escape (`%` and two hex digits): a server keeps `%+1` as it is, the filter read
        // it as the byte 1.
        ("GET", "/v1/snippets?cursor=%+1", "invalid_parameter"),
        ("GET", "/v1/projects/available-regions?organization_slug=acme%+f", "invalid_parameter"),
        // Split on `;` by some servers: an organization the filter never scoped.
        ("GET", "/v1/projects/available-regions?organization_slug=acme;organization_slug=other", "malformed_target"),
        ("GET", "/v1/./projects", "malformed_target"),
        ("GET", "/v1/projects/%2e%2e/x", "malformed_target"),
        ("GET", "/v1/%2e/projects", "malformed_target"),
        ("GET", "/v1/projects%2Fabcdefghijklmnopqrst", "malformed_target"),
        ("GET", "//v1/projects", "malformed_target"),
        ("GET", "/v1//projects", "malformed_target"),
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
        ("GET", "/v1/projects/abcdefghijklmnopqrst/functions/hello.world", "invalid_parameter"),
        ("GET", "/v1/projects/abcdefghijklmnopqrst/api-keys/not-a-uuid", "invalid_parameter"),
    ];
    for (method, target, reason) in cases {
        let d = run(&p, method, target, AUTH);
        assert_eq!((d.reason.code(), d.refusal_status(), d.forward()), (reason, Some(400), false), "{method} {target}");
        assert_eq!(refusal(&d, method)["code"], reason);
        let m = refusal(&d, method)["message"].as_str().map(str::to_string).unwrap_or_default();
        assert_eq!(m.matches("send the plain path").count(), usize::from(reason == "malformed_target"), "{m}");
    }
    let d = run(&p, "GET", "/v1/projects/ABCDEFGHIJKLMNOPQRST", AUTH);
    let m = refusal(&d, "GET")["message"].as_str().map(str::to_string).unwrap_or_default();
    assert!(
        m.contains("ref") && m.contains("20 lowercase letters"),
        "the message says which parameter and what it must be: {m}"
    );
    let catalog = Catalog::new().expect("catalog");
    let d = decide(
        &p,
        &catalog,
        &Request { method: "GET", target: "/v1/projects", authorization: AUTH, method_override: true, now_ms: 0 },
    );
    assert_eq!((d.reason.code(), d.refusal_status()), ("method_override", Some(400)));
}

#[wasm_bindgen_test(unsupported = test)]
fn refusal_body_has_every_field_and_an_actionable_message() {
    let p = policy("enforce", &format!(r#"{SCOPE},"access":{{"projects":"read"}}"#));
    let d = run(&p, "DELETE", "/v1/projects/abcdefghijklmnopqrst", AUTH);
    let body = refusal(&d, "DELETE");
    let mut keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = vec!["message", "code", "agent", "endpoint", "area", "permission", "project", "request_id"];
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(body["code"], "permission_denied");
    assert_eq!(body["agent"], "agent-1");
    assert_eq!(body["endpoint"], "delete_project");
    assert_eq!(body["area"], "projects");
    assert_eq!(body["permission"], "project_admin_write");
    assert_eq!(body["project"], P1);
    assert_eq!(body["request_id"], "rid-1");
    let m = body["message"].as_str().expect("message");
    for part in [
        "Agent One",
        "delete project abcdefghijklmnopqrst",
        "delete_project",
        "Projects access is read",
        "needs full",
        "project_admin_write",
    ] {
        assert!(m.contains(part), "{part:?} not in {m}");
    }
    // Unknown fields are null, not missing.
    let d = run(&p, "GET", "/v1/projects", &[]);
    let body = refusal(&d, "GET");
    assert_eq!(body.as_object().map(|o| o.len()), Some(8));
    assert!(body["agent"].is_null() && body["endpoint"].is_null() && body["project"].is_null());
}

#[wasm_bindgen_test(unsupported = test)]
fn audit_record_has_the_interface_fields() {
    let p = policy("enforce", &format!(r#"{SCOPE},"access":{{"edge_functions":"read","projects":"read"}}"#));
    // A query the operation does not declare is refused, and the record still has no query.
    let with_query = run(&p, "GET", "/v1/projects/abcdefghijklmnopqrst/functions?limit=1", AUTH);
    let rec = AuditRecord::new(
        &with_query,
        "GET",
        "/v1/projects/abcdefghijklmnopqrst/functions?limit=1",
        Completion { unix_ms: 0, request_id: None, status: 400, duration_ms: 0.0 },
    );
    assert_eq!((rec.reason, rec.path.as_str()), ("unknown_parameter", "/v1/projects/abcdefghijklmnopqrst/functions"));
    let target = "/v1/projects/abcdefghijklmnopqrst/functions";
    let d = run(&p, "GET", target, AUTH);
    let rec = AuditRecord::new(
        &d,
        "GET",
        target,
        Completion { unix_ms: 1_796_000_000_123, request_id: Some("r1"), status: 200, duration_ms: 1.23456 },
    );
    let v: serde_json::Value = serde_json::from_str(&rec.to_json()).expect("JSON");
    assert!(!rec.to_json().contains('\n'), "one line");
    let mut keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = vec![
        "ts",
        "request_id",
        "agent",
        "method",
        "path",
        "endpoint",
        "area",
        "permission",
        "project",
        "organization",
        "decision",
        "enforced",
        "reason",
        "status",
        "duration_ms",
        "summary",
    ];
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(v["path"], "/v1/projects/abcdefghijklmnopqrst/functions", "no query string");
    assert_eq!(v["ts"], "2026-11-30T00:53:20.123Z");
    assert_eq!(bollard::audit::rfc3339(1_709_164_800_000), "2024-02-29T00:00:00.000Z");
    assert_eq!(bollard::audit::rfc3339(951_868_799_999), "2000-02-29T23:59:59.999Z");
    assert_eq!(v["duration_ms"], 1.235);
    assert_eq!(
        (&v["agent"], &v["endpoint"], &v["area"], &v["permission"], &v["project"]),
        (
            &"agent-1".into(),
            &"list_functions".into(),
            &"edge_functions".into(),
            &"edge_functions_read".into(),
            &P1.into()
        )
    );
    assert_eq!(
        (&v["decision"], &v["enforced"], &v["reason"], &v["status"]),
        (&"allow".into(), &true.into(), &"access_read".into(), &200.into())
    );
    assert_eq!(v["organization"], serde_json::Value::Null);
    assert_eq!(
        v["summary"],
        "Agent One asked to list edge functions on project abcdefghijklmnopqrst: allowed (edge_functions: read)."
    );
    // The summary of a denial names the agent, the action and what it lacked.
    let d = run(&p, "DELETE", "/v1/projects/abcdefghijklmnopqrst", AUTH);
    let rec = AuditRecord::new(
        &d,
        "DELETE",
        "/v1/projects/abcdefghijklmnopqrst",
        Completion { unix_ms: 0, request_id: None, status: 403, duration_ms: 0.0 },
    );
    assert_eq!((rec.decision, rec.reason, rec.status), ("deny", "permission_denied", 403));
    assert_eq!(
        rec.summary,
        "Agent One asked to delete project abcdefghijklmnopqrst: denied (projects: read, needs full)."
    );
    // A refused, non-canonical target is logged escaped and cut to 256 bytes.
    let bad = format!("/v1/\u{1}{}?apikey=secret", "x".repeat(400));
    let d = run(&p, "GET", &bad, AUTH);
    let rec =
        AuditRecord::new(&d, "GET", &bad, Completion { unix_ms: 0, request_id: None, status: 400, duration_ms: 0.0 });
    assert!(rec.path.len() <= 256 && rec.path.starts_with("/v1/\\u{1}xxx"), "{}", rec.path);
    assert!(!rec.to_json().contains("secret"), "no query string in the record");
    assert_eq!(rec.ts, "1970-01-01T00:00:00.000Z");
    // An unidentified caller is named as such.
    let d = run(&p, "GET", "/v1/projects", &["Bearer sbp_nobody"]);
    let rec = AuditRecord::new(
        &d,
        "GET",
        "/v1/projects",
        Completion { unix_ms: 0, request_id: None, status: 401, duration_ms: 0.0 },
    );
    assert!(rec.agent.is_none());
    assert!(
        rec.summary.starts_with("An unidentified caller asked to call GET /v1/projects: refused"),
        "{}",
        rec.summary
    );
}

/// The audit line is written by hand on the request path: it must be the JSON serde writes for
/// the same record, whatever the strings hold (quotes, backslashes, control bytes, non-ASCII).
#[wasm_bindgen_test(unsupported = test)]
fn audit_line_is_the_json_serde_writes() {
    let p = policy("enforce", &format!(r#"{SCOPE},"access":{{"edge_functions":"read","projects":"read"}}"#));
    let target = "/v1/projects/abcdefghijklmnopqrst/functions";
    let d = run(&p, "GET", target, AUTH);
    let odd = ["", "plain", "q\"uote", "back\\slash", "nl\ncr\rtab\t", "\u{1}\u{8}\u{c}\u{1f}\u{7f}", "é ✓ 😀"];
    for (i, s) in odd.iter().enumerate() {
        for duration in [0.0, 1.0, 1.23456, 0.001, 1e-7, 12345.5, 3e15] {
            let mut rec = AuditRecord::new(
                &d,
                "GET",
                target,
                Completion { unix_ms: 1_796_000_000_123, request_id: Some(s), status: 200, duration_ms: duration },
            );
            rec.summary = format!("{s} asked {s}");
            rec.path = format!("/v1/{s}");
            rec.agent = (i % 2 == 0).then(|| s.to_string());
            rec.grant = (i % 3 == 0).then(|| s.to_string());
            rec.approval_id = (i % 2 == 1).then(|| s.to_string());
            rec.sql = (i % 2 == 0).then(|| vec!["read", "write"]);
            rec.method = s.to_string();
            rec.project = (i % 2 == 1).then(|| s.to_string());
            rec.organization = (i % 3 == 1).then(|| s.to_string());
            rec.enforced = i % 2 == 0;
            if i % 3 == 2 {
                (rec.endpoint, rec.area, rec.permission) = (None, None, None);
            }
            let line = rec.to_json();
            assert_eq!(line, serde_json::to_string(&rec).expect("serde"), "for {s:?} and {duration}");
            let back: serde_json::Value = serde_json::from_str(&line).expect("JSON");
            assert_eq!(back["summary"], rec.summary.as_str());
        }
    }
}

/// A catalog path with its parameters filled with values the test policy's scope holds.
fn filled(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else { break };
        out.push_str(match &rest[open + 1..open + close] {
            "ref" | "branch_id_or_ref" => P1,
            "slug" => "acme",
            "id" | "invite_id" | "provider_id" | "tpa_id" | "user_id" => "4b8e2f3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            "function_slug" => "hello",
            "version" => "1",
            _ => "x",
        });
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

fn every_area_read() -> String {
    let areas = bollard::catalog::Area::ALL.map(|a| format!(r#""{}":"read""#, a.name()));
    areas.join(",")
}

#[test]
fn refusal_messages_read_as_their_parts_for_every_endpoint_and_level() {
    use bollard::sentence::{what, who, why};
    let policies =
        [policy("enforce", SCOPE), policy("enforce", &format!(r#"{SCOPE},"access":{{{}}}"#, every_area_read()))];
    let mut denied = 0;
    for p in &policies {
        for e in Catalog::endpoints() {
            let (method, target) = (e.method.as_str(), filled(e.path));
            for auth in [AUTH, &[] as &[&str]] {
                let d = run(p, method, &target, auth);
                if d.forward() {
                    continue;
                }
                let want = match d.agent {
                    Some(_) => format!("{} may not {}: {}.", who(&d), what(&d, method), why(&d)),
                    None => format!("Request refused: {}.", why(&d)),
                };
                assert_eq!(bollard::refusal::message(&d, method), want, "{method} {target}");
                denied += usize::from(d.reason.code() == "permission_denied");
            }
        }
    }
    assert!(denied > Catalog::endpoints().len(), "most endpoints were refused for their level: {denied}");
}
