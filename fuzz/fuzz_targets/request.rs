//! Request-target parsing, catalog matching and the decision, on arbitrary requests.
//! Input: method, target and authorization values separated by `\n`.
#![no_main]

use std::sync::OnceLock;

use bollard::catalog::Catalog;
use bollard::decision::{decide, Request, Verdict};
use bollard::policy::Policy;
use bollard::target::RequestTarget;
use libfuzzer_sys::fuzz_target;

const REF: &str = "abcdefghijklmnopqrst";
// SHA-256 of "sbp_fuzz".
const POLICY: &str = r#"{"upstream":{"token_env":"T"},"agents":[{"id":"a","key_sha256":"KEY",
  "projects":["abcdefghijklmnopqrst"],"organizations":["acme"],
  "access":{"projects":"full","database":"read","edge_functions":"full","branches":"full"}}]}"#;

fn setup() -> &'static (Policy, Catalog) {
    static S: OnceLock<(Policy, Catalog)> = OnceLock::new();
    S.get_or_init(|| {
        let key = bollard::policy::key_sha256("sbp_fuzz");
        let policy = Policy::from_json(&POLICY.replace("KEY", &key)).expect("fuzz policy");
        (policy, Catalog::new().expect("catalog"))
    })
}

#[path = "../../tests/support/plain_target.rs"]
mod plain_target;
use plain_target::plain_parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.split('\n');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let auth: Vec<&str> = parts.collect();
    let (policy, catalog) = setup();
    // The one-pass parser finds what the plain rules find: the same target, the same first error.
    assert_eq!(RequestTarget::parse(target).map(|t| (t.path, t.query)), plain_parse(target), "{target:?}");
    let mut d =
        decide(policy, catalog, &Request { method, target, authorization: &auth, method_override: false, now_ms: 0 });
    // A decision waiting for a body or a branch's parent never forwards.
    assert!(!((d.body_check.is_some() || d.branch_lookup.is_some()) && d.forward()));
    // Complete it as the filter would with an unhelpful body and upstream.
    d.apply_body(policy, Some("application/json"), b"{}");
    d.apply_branch_parent(policy, None);
    if d.forward() {
        assert_eq!(d.verdict, Verdict::Allow, "enforce mode forwards only allowed requests");
        // Whatever is allowed was canonical, matched, and in the agent's scope.
        let t = RequestTarget::parse(target).expect("allowed target parses");
        assert_eq!(d.path, Some(t.path));
        let e = d.endpoint.expect("allowed request has an endpoint");
        assert_eq!(e.method.as_str(), method);
        if let Some(p) = d.project() {
            assert_eq!(p, REF);
        }
        assert!(!t.path.contains("..") && !t.path.contains("//") && !t.path.contains('%'));
    }
    let _ = bollard::refusal::body(&d, method, Some("id"));
});
