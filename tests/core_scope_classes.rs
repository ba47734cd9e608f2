//! `projects: {"organizations": [...]}` (the projects of those organizations, learned upstream)
//! and `deny` by kind (`write`, `delete`, `read`), with the suggestions a mistyped name gets.
//! Runs natively and as wasm32.

// Tests may panic: that is how they fail.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use bollard::catalog::{Catalog, Method};
use bollard::decision::{decide, Reason, Request, Verdict};
use bollard::policy::{key_sha256, Policy};
use bollard::project_organizations::{Lookup, ProjectOrganizationCache};
use wasm_bindgen_test::wasm_bindgen_test;

const P1: &str = "abcdefghijklmnopqrst";
const AUTH: &[&str] = &["Bearer sbp_0000000000000000000000000000000000000001"];

fn policy(agent_fields: &str) -> Policy {
    let text = format!(
        r#"{{"upstream":{{"token_env":"SUPABASE_ACCESS_TOKEN"}},"agents":[{{"id":"a","key_sha256":"{}",{agent_fields}}}]}}"#,
        key_sha256("sbp_0000000000000000000000000000000000000001")
    );
    Policy::from_json(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn refused(agent_fields: &str) -> String {
    let text = format!(
        r#"{{"upstream":{{"token_env":"SUPABASE_ACCESS_TOKEN"}},"agents":[{{"id":"a","key_sha256":"{}",{agent_fields}}}]}}"#,
        key_sha256("k")
    );
    match Policy::from_json(&text) {
        Ok(_) => panic!("accepted {text}"),
        Err(e) => e.to_string(),
    }
}

fn request<'a>(method: &'a str, target: &'a str) -> Request<'a> {
    Request { method, target, authorization: AUTH, method_override: false, now_ms: 0 }
}

#[wasm_bindgen_test(unsupported = test)]
fn organization_scope_waits_for_the_projects_organization() {
    let p = policy(r#""projects":{"organizations":["acme"]},"access":{"edge_functions":"read","projects":"read"}"#);
    let catalog = Catalog::new().unwrap();
    let target = format!("/v1/projects/{P1}/functions");
    // Decided but not final: the project's organization must be learned first.
    let d = decide(&p, &catalog, &request("GET", &target));
    assert_eq!(d.organization_lookup, Some(P1));
    assert!(!d.forward());
    assert_eq!(d.refusal_status(), Some(500), "never forwarded before the lookup is applied");
    for (org, verdict, reason) in [
        (Some("acme"), Verdict::Allow, "access_read"),
        (Some("other-org"), Verdict::Deny, "project_out_of_scope"),
        (None, Verdict::Deny, "project_out_of_scope"),
    ] {
        let mut d = decide(&p, &catalog, &request("GET", &target));
        d.apply_project_organization(&p, org);
        assert_eq!((d.verdict, d.reason.code()), (verdict, reason), "organization {org:?}");
        assert_eq!(d.forward(), verdict == Verdict::Allow);
        assert_eq!(d.organization(), org);
    }
    let mut d = decide(&p, &catalog, &request("GET", &target));
    d.apply_project_organization(&p, Some("other-org"));
    let message = bollard::refusal::message(&d, "GET");
    assert!(message.contains("the projects of organization acme"), "{message}");
    // Grants that refuse anyway need no lookup.
    let project = format!("/v1/projects/{P1}");
    let d = decide(&p, &catalog, &request("DELETE", &project));
    assert_eq!((d.verdict, d.organization_lookup), (Verdict::Deny, None));
    assert_eq!(d.reason, Reason::PermissionDenied);
    // Account-level reads need none either; branch endpoints are refused (no project in the path).
    let d = decide(&p, &catalog, &request("GET", "/v1/projects"));
    assert_eq!((d.verdict, d.organization_lookup), (Verdict::Allow, None));
    let d = decide(&p, &catalog, &request("DELETE", "/v1/branches/0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"));
    assert_eq!(d.reason.code(), "branch_out_of_scope");
    // The listing of projects keeps the organization's.
    let agent = p.agent("a").unwrap();
    let list = br#"[{"ref":"abcdefghijklmnopqrst","organization_slug":"acme"},{"ref":"zyxwvutsrqponmlkjihg","organization_slug":"other-org"}]"#;
    let kept = bollard::guards::lists::filter(bollard::guards::lists::ScopedList::Projects, agent, list).unwrap();
    let kept = String::from_utf8(kept).unwrap();
    assert!(kept.contains(P1) && !kept.contains("other-org"), "{kept}");
}

#[wasm_bindgen_test(unsupported = test)]
fn the_cache_feeds_the_decision() {
    let p = policy(r#""projects":{"organizations":["acme"]},"access":{"database":"full"}"#);
    let catalog = Catalog::new().unwrap();
    let mut cache = ProjectOrganizationCache::default();
    let target = format!("/v1/projects/{P1}/database/migrations");
    let mut d = decide(&p, &catalog, &request("GET", &target));
    let project = d.organization_lookup.unwrap();
    assert_eq!(cache.lookup(project, 0), Lookup::Ask);
    let learned = cache.record(project, 200, br#"{"ref":"abcdefghijklmnopqrst","organization_slug":"acme"}"#, 0);
    d.apply_project_organization(&p, learned.as_deref());
    assert!(d.forward());
    let mut again = decide(&p, &catalog, &request("GET", &target));
    let Lookup::Organization(org) = cache.lookup(P1, 10) else { panic!("not cached") };
    again.apply_project_organization(&p, Some(&org));
    assert!(again.forward());
}

#[wasm_bindgen_test(unsupported = test)]
fn organization_scope_is_validated() {
    for (fields, expected) in [
        (r#""projects":{"organizations":[]}"#, "projects.organizations is empty"),
        (r#""projects":{"organizations":["*"]}"#, r#"projects: ["*"] means every project"#),
        (r#""projects":{"organizations":["no way"]}"#, "is not an organization slug"),
        (r#""projects":{"organisations":["acme"]}"#, "did you mean `organizations`?"),
        (
            r#""projects":"acme""#,
            r#"expected a list of project refs, ["*"], or {"organizations": [organization slugs]}"#,
        ),
    ] {
        let e = refused(fields);
        assert!(e.contains(expected), "{fields}: {e}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn deny_by_kind() {
    let catalog = Catalog::new().unwrap();
    let all = r#""projects":["*"],"organizations":["*"],"access":{"projects":"full","edge_functions":"full","database":"full"}"#;
    let cases = [
        ("delete", "DELETE", format!("/v1/projects/{P1}"), Verdict::Deny),
        ("delete", "DELETE", format!("/v1/projects/{P1}/functions/hello"), Verdict::Deny),
        ("delete", "POST", format!("/v1/projects/{P1}/pause"), Verdict::Allow),
        ("write", "POST", format!("/v1/projects/{P1}/pause"), Verdict::Deny),
        ("write", "DELETE", format!("/v1/projects/{P1}"), Verdict::Deny),
        ("write", "GET", format!("/v1/projects/{P1}/functions"), Verdict::Allow),
        ("read", "GET", format!("/v1/projects/{P1}/functions"), Verdict::Deny),
        ("read", "POST", format!("/v1/projects/{P1}/functions/deploy"), Verdict::Allow),
    ];
    for (class, method, target, verdict) in cases {
        let p = policy(&format!(r#"{all},"deny":["{class}"]"#));
        let d = decide(&p, &catalog, &request(method, &target));
        assert_eq!(d.verdict, verdict, "deny {class}: {method} {target}");
        if verdict == Verdict::Deny {
            assert_eq!(d.reason, Reason::DeniedByPolicy);
            let message = bollard::refusal::message(&d, method);
            assert!(message.contains(&format!("its deny list names {class}")), "{message}");
        }
    }
    // Every DELETE of the catalog, and nothing else, is denied by "delete".
    let p = policy(r#""deny":["delete"]"#);
    let agent = p.agent("a").unwrap();
    for (i, e) in Catalog::endpoints().iter().enumerate() {
        assert_eq!(agent.denied.contains(i), e.method == Method::Delete, "{}", e.id);
    }
    // The kinds are deny entries only.
    assert!(refused(r#""allow":["write"]"#).contains("neither an endpoint id nor a Supabase permission name"));
}

#[wasm_bindgen_test(unsupported = test)]
fn mistyped_names_get_a_suggestion() {
    for (fields, expected) in [
        (r#""access":{"storge":"read"}"#, r#"unknown area "storge""#),
        (r#""access":{"storge":"read"}"#, r#"(did you mean "storage"?)"#),
        (r#""access":{"storage":"raed"}"#, r#"(did you mean "read"?)"#),
        (r#""organisations":["acme"]"#, "(did you mean `organizations`?)"),
        (r#""allow":["lst_projects"]"#, r#"(did you mean "list_projects"?)"#),
        (r#""deny":["delte"]"#, r#"(did you mean "delete"?)"#),
    ] {
        let e = refused(fields);
        assert!(e.contains(expected), "{fields}: {e}");
    }
}
