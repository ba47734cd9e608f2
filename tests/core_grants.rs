//! Keys with end dates, approvals and elevations, decided with a clock the tests set. Runs
//! natively and as wasm32 under Node.

// Tests may panic: that is how they fail.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashMap;

use bollard::approval::{approval_id, is_approval_id, take_use, uses_key, UseCheck, UseTake, Uses, RETRY_WINDOW_MS};
use bollard::audit::{AuditRecord, Completion};
use bollard::catalog::Catalog;
use bollard::decision::{decide, Decision, Request, Verdict};
use bollard::policy::{key_sha256, Policy};
use bollard::refusal;
use bollard::time::{parse_rfc3339, rfc3339_secs};
use wasm_bindgen_test::wasm_bindgen_test;

const P1: &str = "abcdefghijklmnopqrst";
const BRANCH: &str = "/v1/branches/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const OLD: &str = "sbp_00000000000000000000000000000000000000a1";
const NEW: &str = "sbp_00000000000000000000000000000000000000a2";
const AUTH_OLD: &[&str] = &["Bearer sbp_00000000000000000000000000000000000000a1"];
const AUTH_NEW: &[&str] = &["Bearer sbp_00000000000000000000000000000000000000a2"];
/// 2027-01-01T00:00:00Z: the end of most things below.
const T: u64 = 1_798_761_600_000;

/// A policy from its agents and grants (JSON text spliced in).
fn policy(mode: &str, agents: &str, grants: &str) -> Policy {
    let text = format!(r#"{{"mode":"{mode}","upstream":{{"token_env":"T"}},"agents":[{agents}],"grants":[{grants}]}}"#);
    Policy::from_json(&text).unwrap_or_else(|e| panic!("test policy: {e}\n{text}"))
}

fn refused(agents: &str, grants: &str) -> String {
    let text = format!(r#"{{"upstream":{{"token_env":"T"}},"agents":[{agents}],"grants":[{grants}]}}"#);
    match Policy::from_json(&text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The ops agent: every project, branches full, delete_branch and pause_project held for approval.
fn ops(extra: &str) -> String {
    format!(
        r#"{{"id":"ops","name":"Ops Bot","key_sha256":"{}","projects":["*"],
            "access":{{"branches":"full","projects":"read"}},"approve":["delete_branch","pause_project"]{extra}}}"#,
        key_sha256(NEW)
    )
}

/// Decides at `now_ms` and completes the decision as the filter does: the body, then (for a
/// branch) its parent found among the agent's projects.
fn at<'p, 'a>(
    p: &'p Policy,
    now_ms: u64,
    method: &'a str,
    target: &'a str,
    a: &'a [&'a str],
    body: &[u8],
) -> Decision<'p, 'a> {
    let catalog = Catalog::new().expect("catalog");
    let mut d = decide(p, &catalog, &Request { method, target, authorization: a, method_override: false, now_ms });
    d.apply_body(p, Some("application/json"), body);
    d.apply_branch_parent(p, Some(P1));
    d
}

fn record(d: &Decision, method: &str, target: &str) -> serde_json::Value {
    let status = d.refusal_status().unwrap_or(200);
    let r = AuditRecord::new(
        d,
        method,
        target,
        Completion { unix_ms: d.now_ms, request_id: None, status, duration_ms: 0.0 },
    );
    serde_json::from_str(&r.to_json()).expect("record is JSON")
}

#[wasm_bindgen_test(unsupported = test)]
fn rfc3339_times_parse_to_milliseconds() {
    assert_eq!(parse_rfc3339("2027-01-01T00:00:00Z"), Some(T));
    assert_eq!(parse_rfc3339("2027-01-01T01:00:00+01:00"), Some(T));
    assert_eq!(parse_rfc3339("2026-12-31T23:00:00-01:00"), Some(T));
    assert_eq!(parse_rfc3339("2027-01-01T00:00:00.250Z"), Some(T + 250));
    assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z").map(rfc3339_secs), Some("2024-02-29T00:00:00Z".to_string()));
    assert_eq!(rfc3339_secs(T), "2027-01-01T00:00:00Z");
    for bad in [
        "2027-01-01",
        "2027-01-01 00:00:00Z",
        "2027-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2027-01-01T24:00:00Z",
        "2027-01-01T00:00:00",
        "2027-01-01T00:00:00+0100",
        "1969-12-31T23:59:59Z",
        "tomorrow",
        "",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_key_works_until_its_not_after_and_rotation_overlaps() {
    let agent = format!(
        r#"{{"id":"ops","name":"Ops Bot","keys":[{{"sha256":"{}","not_after":"2027-01-01T00:00:00Z"}},{{"sha256":"{}"}}],
            "projects":["*"],"access":{{"projects":"read"}}}}"#,
        key_sha256(OLD),
        key_sha256(NEW)
    );
    for mode in ["enforce", "monitor"] {
        let p = policy(mode, &agent, "");
        // Both keys work during the overlap, the old one up to the last millisecond.
        for now in [0, T - 1] {
            for key in [AUTH_OLD, AUTH_NEW] {
                let d = at(&p, now, "GET", "/v1/projects", key, b"");
                assert_eq!((d.verdict, d.forward()), (Verdict::Allow, true), "{mode} {key:?} at {now}");
            }
        }
        // From not_after on, the old key is a 401 key_expired that names the agent; the new works.
        for now in [T, T + 86_400_000] {
            let d = at(&p, now, "GET", "/v1/projects/abcdefghijklmnopqrst?x=1", AUTH_OLD, b"");
            assert_eq!((d.reason.code(), d.refusal_status(), d.enforced), ("key_expired", Some(401), true), "{mode}");
            assert_eq!(d.agent.map(|a| a.id.as_str()), Some("ops"));
            let body: serde_json::Value = serde_json::from_str(&refusal::body(&d, "GET", None)).unwrap();
            assert_eq!(body["code"], "key_expired");
            let m = body["message"].as_str().unwrap();
            assert!(m.contains("expired at 2027-01-01T00:00:00Z") && m.contains("bollard rotate"), "{m}");
            assert!(!m.contains(OLD), "the key itself is never echoed");
            let r = record(&d, "GET", "/v1/projects/abcdefghijklmnopqrst?x=1");
            assert_eq!(
                (r["reason"].as_str(), r["agent"].as_str(), r["status"].as_u64()),
                (Some("key_expired"), Some("ops"), Some(401))
            );
            assert_eq!(r["path"], "/v1/projects/abcdefghijklmnopqrst", "no query string in the record");
            assert!(r["summary"].as_str().unwrap().contains("expired agent key"), "{}", r["summary"]);
            let d = at(&p, now, "GET", "/v1/projects", AUTH_NEW, b"");
            assert!(d.forward(), "the new key has no end");
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn keys_are_validated_and_each_names_its_culprit() {
    let k = key_sha256("k");
    let cases: Vec<(String, &str)> = vec![
        (
            format!(r#"{{"id":"a","key_sha256":"{k}","keys":[{{"sha256":"{k}"}}]}}"#),
            r#"agent "a": has both key_sha256 and keys"#,
        ),
        (r#"{"id":"a"}"#.to_string(), r#"agent "a": needs key_sha256 or keys"#),
        (r#"{"id":"a","keys":[]}"#.to_string(), r#"agent "a": keys is empty"#),
        (
            format!(r#"{{"id":"a","keys":[{{"sha256":"{k}","not_after":"soon"}}]}}"#),
            r#"agent "a": keys[0].not_after "soon" is not an RFC 3339 time"#,
        ),
        (
            r#"{"id":"a","keys":[{"sha256":"ABC"}]}"#.to_string(),
            r#"agent "a": keys[0].sha256 must be the 64 lowercase hex digits"#,
        ),
        (
            format!(r#"{{"id":"a","keys":[{{"sha256":"{k}","until":"2027-01-01T00:00:00Z"}}]}}"#),
            r#"agent "a": unknown field `until`"#,
        ),
        (
            format!(r#"{{"id":"a","keys":[{{"sha256":"{k}"}},{{"sha256":"{k}"}}]}}"#),
            r#"agent "a": keys[1]: the same key hash is listed twice"#,
        ),
        (
            format!(
                r#"{{"id":"a","key_sha256":"{k}"}},{{"id":"b","keys":[{{"sha256":"{}"}},{{"sha256":"{k}"}}]}}"#,
                key_sha256("other")
            ),
            r#"agent "b": keys[1] is the same as agent "a"'s"#,
        ),
    ];
    for (agents, want) in cases {
        let e = refused(&agents, "");
        assert!(e.starts_with(want), "{agents}\n  got:  {e}\n  want: {want}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn grants_are_validated_and_each_names_its_culprit() {
    let id = approval_id("ops", "DELETE", BRANCH, Some("application/json"), b"");
    let cases: Vec<(String, &str)> = vec![
        (r#"{"id":"g1","agent":"ops","access":{"projects":"full"},"not_after":"2027-01-01T00:00:00Z","color":"red"}"#.into(), r#"grant "g1": unknown field `color`"#),
        (r#"{"id":"g1","agent":"nobody","access":{"projects":"full"},"not_after":"2027-01-01T00:00:00Z"}"#.into(), r#"grant "g1": agent "nobody" is not an agent of this policy (agents: ops)"#),
        (r#"{"id":"g1","agent":"ops","access":{"projects":"full"},"not_after":"next week"}"#.into(), r#"grant "g1": not_after "next week" is not an RFC 3339 time"#),
        (r#"{"id":"g1","agent":"ops","access":{"projects":"full"}}"#.into(), r#"grant "g1": missing field `not_after`"#),
        (r#"{"id":"g1","agent":"ops","access":{"projects":"full"},"not_after":"2027-01-01T00:00:00Z","not_before":"2027-01-01T00:00:00Z"}"#.into(), r#"grant "g1": not_before must be earlier than not_after"#),
        (r#"{"id":"g1","agent":"ops","access":{"projcts":"full"},"not_after":"2027-01-01T00:00:00Z"}"#.into(), r#"grant "g1": access: unknown area "projcts""#),
        (r#"{"id":"g1","agent":"ops","allow":["delete_everything"],"not_after":"2027-01-01T00:00:00Z"}"#.into(), r#"grant "g1": allow: "delete_everything" is neither an endpoint id"#),
        (r#"{"id":"g1","agent":"ops","not_after":"2027-01-01T00:00:00Z"}"#.into(), r#"grant "g1": grants nothing"#),
        (r#"{"id":"g 1","agent":"ops","allow":["get_project"],"not_after":"2027-01-01T00:00:00Z"}"#.into(), r#"grant "g 1": id must match"#),
        (r#"{"id":"g1","agent":"ops","approval":"apr_123","approved_by":"Ana","not_after":"2027-01-01T00:00:00Z"}"#.into(), r#"grant "g1": approval "apr_123" is not an approval id"#),
        (format!(r#"{{"id":"g1","agent":"ops","approval":"{id}","not_after":"2027-01-01T00:00:00Z"}}"#), r#"grant "g1": approved_by is required"#),
        (format!(r#"{{"id":"g1","agent":"ops","approval":"{id}","approved_by":"Ana","uses":0,"not_after":"2027-01-01T00:00:00Z"}}"#), r#"grant "g1": uses must be at least 1"#),
        (format!(r#"{{"id":"g1","agent":"ops","approval":"{id}","approved_by":"Ana","allow":["get_project"],"not_after":"2027-01-01T00:00:00Z"}}"#), r#"grant "g1": an approval (approval) cannot also grant access"#),
        (r#"{"id":"g1","agent":"ops","approved_by":"Ana","allow":["get_project"],"not_after":"2027-01-01T00:00:00Z"}"#.into(), r#"grant "g1": approved_by and uses belong to an approval"#),
        (
            r#"{"id":"g1","agent":"ops","allow":["get_project"],"not_after":"2027-01-01T00:00:00Z"},{"id":"g1","agent":"ops","allow":["get_project"],"not_after":"2027-01-01T00:00:00Z"}"#.into(),
            r#"grant "g1": id is used by two grants"#,
        ),
        (r#"{"agent":"ops","allow":["get_project"],"not_after":"2027-01-01T00:00:00Z"}"#.into(), r#"grants[0]: missing field `id`"#),
    ];
    for (grants, want) in cases {
        let e = refused(&ops(""), &grants);
        assert!(e.starts_with(want), "{grants}\n  got:  {e}\n  want: {want}");
    }
    let e = refused(
        &ops(r#","approve":["delete_brnch"]"#).replacen(r#""approve":["delete_branch","pause_project"],"#, "", 1),
        "",
    );
    assert!(e.starts_with(r#"agent "ops": approve: "delete_brnch" is neither"#), "{e}");
}

#[wasm_bindgen_test(unsupported = test)]
fn the_approval_id_is_stable_and_binds_every_field() {
    let base = approval_id("ops", "DELETE", BRANCH, Some("application/json"), b"");
    assert!(is_approval_id(&base), "{base}");
    assert_eq!(base, approval_id("ops", "DELETE", BRANCH, Some("application/json"), b""), "the same call, the same id");
    let others = [
        approval_id("ops2", "DELETE", BRANCH, Some("application/json"), b""),
        approval_id("ops", "POST", BRANCH, Some("application/json"), b""),
        approval_id(
            "ops",
            "DELETE",
            "/v1/branches/bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb",
            Some("application/json"),
            b"",
        ),
        approval_id("ops", "DELETE", &format!("{BRANCH}?force=true"), Some("application/json"), b""),
        approval_id("ops", "DELETE", BRANCH, Some("application/json"), b"{}"),
        approval_id("ops", "DELETE", BRANCH, Some("application/json"), b" "),
        // Field boundaries are part of the encoding: moving bytes between fields changes the id.
        approval_id("opsD", "ELETE", BRANCH, Some("application/json"), b""),
        // The content type, whether there is one, and its parameters.
        approval_id("ops", "DELETE", BRANCH, None, b""),
        approval_id("ops", "DELETE", BRANCH, Some("text/plain"), b""),
        approval_id("ops", "DELETE", BRANCH, Some("application/json; charset=utf-8"), b""),
    ];
    assert_eq!(base, approval_id("ops", "DELETE", BRANCH, Some(" Application/JSON"), b""), "its name in any case");
    for (i, o) in others.iter().enumerate() {
        assert_ne!(*o, base, "field change {i} must change the id");
        assert!(is_approval_id(o));
    }
    // The decision computes exactly this id from the request.
    let p = policy("enforce", &ops(""), "");
    let d = at(&p, T, "DELETE", BRANCH, AUTH_NEW, b"");
    assert_eq!(d.approval.as_ref().and_then(|x| x.id.as_deref()), Some(base.as_str()));
    let body = br#"{"name":"x"}"#;
    let d = at(&p, T, "DELETE", BRANCH, AUTH_NEW, body);
    assert_eq!(
        d.approval.as_ref().and_then(|x| x.id.clone()),
        Some(approval_id("ops", "DELETE", BRANCH, Some("application/json"), body))
    );
    for s in ["apr_", "apr_0123456789abcdef0123456", "apr_0123456789ABCDEF01234567", "xyz_0123456789abcdef01234567"] {
        assert!(!is_approval_id(s), "{s}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn an_approve_listed_call_waits_for_a_person() {
    let p = policy("enforce", &ops(""), "");
    let d = at(&p, T, "DELETE", BRANCH, AUTH_NEW, b"");
    let id = approval_id("ops", "DELETE", BRANCH, Some("application/json"), b"");
    assert_eq!((d.verdict, d.reason.code(), d.refusal_status()), (Verdict::Deny, "approval_required", Some(403)));
    let body: serde_json::Value = serde_json::from_str(&refusal::body(&d, "DELETE", Some("req-1"))).unwrap();
    assert_eq!((body["code"].as_str(), body["approval_id"].as_str()), (Some("approval_required"), Some(id.as_str())));
    let before = rfc3339_secs(T + RETRY_WINDOW_MS);
    assert_eq!(body["retry_before"], before.as_str());
    let m = body["message"].as_str().unwrap();
    assert!(
        m.starts_with(
            "Ops Bot may not delete branch aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa without a person's approval: "
        ) && m.contains(&format!("ask a person to approve {id}"))
            && m.contains(&format!("retry the same call, with the same method, path, query and body, before {before}")),
        "{m}"
    );
    let r = record(&d, "DELETE", BRANCH);
    assert_eq!(
        (r["reason"].as_str(), r["approval_id"].as_str(), r["status"].as_u64()),
        (Some("approval_required"), Some(id.as_str()), Some(403))
    );
    assert!(
        r["summary"].as_str().unwrap().contains(&format!("held for a person's approval: bollard approve {id}")),
        "{}",
        r["summary"]
    );
    assert!(r.get("approved_by").is_none() && r.get("grant").is_none());
    // A call the agent may not make anyway is refused for that, not held for approval.
    let d = at(&p, T, "DELETE", "/v1/projects/abcdefghijklmnopqrst", AUTH_NEW, b"");
    assert_eq!(d.reason.code(), "permission_denied");
    assert!(d.approval.is_none());
    // Calls outside the approve list are not held.
    let d = at(&p, T, "GET", "/v1/projects/abcdefghijklmnopqrst/branches", AUTH_NEW, b"");
    assert!(d.forward() && d.approval.is_none());
    // Monitor mode records the hold and forwards.
    let p = policy("monitor", &ops(""), "");
    let d = at(&p, T, "DELETE", BRANCH, AUTH_NEW, b"");
    assert_eq!((d.reason.code(), d.enforced, d.forward()), ("approval_required", false, true));
}

#[wasm_bindgen_test(unsupported = test)]
fn an_approval_works_for_that_call_until_not_after_then_is_ignored() {
    let id = approval_id("ops", "DELETE", BRANCH, Some("application/json"), b"");
    let grant = format!(
        r#"{{"id":"ok-1","agent":"ops","approval":"{id}","approved_by":"Ana Ops","not_after":"2027-01-01T00:00:00Z","uses":1}}"#
    );
    let p = policy("enforce", &ops(""), &grant);
    let d = at(&p, T - 1, "DELETE", BRANCH, AUTH_NEW, b"");
    assert_eq!((d.verdict, d.reason.code()), (Verdict::Allow, "approved"));
    // Not forwarded before the host has taken a use.
    let check = d.approval_use().cloned().expect("a use to take");
    assert_eq!(check, UseCheck { key: uses_key("ops", "ok-1"), uses: 1, not_after_ms: T });
    assert_eq!((d.forward(), d.refusal_status()), (false, Some(500)));
    let mut d = d;
    d.apply_use(&p, Some(take_use(&check, None)));
    assert!(d.forward());
    let r = record(&d, "DELETE", BRANCH);
    assert_eq!(
        (r["reason"].as_str(), r["approval_id"].as_str(), r["approved_by"].as_str(), r["grant"].as_str()),
        (Some("approved"), Some(id.as_str()), Some("Ana Ops"), Some("ok-1"))
    );
    assert!(r["summary"].as_str().unwrap().contains("allowed (approved by Ana Ops"), "{}", r["summary"]);
    // The approval is for this call only: another branch, a query, a body are each held again.
    for (target, body) in [
        ("/v1/branches/bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", &b""[..]),
        ("/v1/branches/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa?force=true", &b""[..]),
        (BRANCH, &b"{}"[..]),
    ] {
        let d = at(&p, T - 1, "DELETE", target, AUTH_NEW, body);
        assert_eq!(d.reason.code(), "approval_required", "{target}");
    }
    // At not_after the grant is ignored.
    let d = at(&p, T, "DELETE", BRANCH, AUTH_NEW, b"");
    assert_eq!(d.reason.code(), "approval_required");
    // Uses taken: held again, and the message says so.
    let mut d = at(&p, T - 1, "DELETE", BRANCH, AUTH_NEW, b"");
    let used = Uses { not_after_ms: T, count: 1 };
    d.apply_use(&p, Some(take_use(&check, Some(used))));
    assert_eq!((d.reason.code(), d.refusal_status()), ("approval_required", Some(403)));
    let m = refusal::message(&d, "DELETE");
    assert!(m.contains("has been used all 1 time(s)") && m.contains(&id), "{m}");
    // A host that cannot count refuses.
    let mut d = at(&p, T - 1, "DELETE", BRANCH, AUTH_NEW, b"");
    d.apply_use(&p, None);
    assert_eq!(d.refusal_status(), Some(403));
    // Another agent's approval of the same id does not count.
    let other = format!(
        r#"{},{{"id":"dev","key_sha256":"{}","projects":["*"],"access":{{"branches":"full"}},"approve":["delete_branch"]}}"#,
        ops(""),
        key_sha256(OLD)
    );
    let p = policy("enforce", &other, &grant.replace(r#""agent":"ops""#, r#""agent":"dev""#));
    let d = at(&p, T - 1, "DELETE", BRANCH, AUTH_NEW, b"");
    assert_eq!(d.reason.code(), "approval_required");
}

/// Shared data as the host keeps it: a value and a compare-and-swap token per key.
#[derive(Default)]
struct Store(HashMap<String, (Vec<u8>, u32)>);

impl Store {
    fn get(&self, key: &str) -> (Option<Vec<u8>>, u32) {
        match self.0.get(key) {
            Some((v, cas)) => (Some(v.clone()), *cas),
            None => (None, 0),
        }
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> bool {
        let current = self.0.get(key).map_or(0, |(_, c)| *c);
        if current != cas {
            return false;
        }
        self.0.insert(key.to_string(), (value.to_vec(), cas + 1));
        true
    }
}

/// What a worker does: read, take, write back with the token read, retry when another wrote first.
fn worker_take(store: &mut Store, check: &UseCheck) -> UseTake {
    loop {
        let (value, cas) = store.get(&check.key);
        let t = take_use(check, value.as_deref().and_then(Uses::decode));
        if !t.allowed || store.set(&check.key, &t.next.encode(), cas) {
            return t;
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn uses_are_counted_across_workers_sharing_the_store() {
    let check = UseCheck { key: uses_key("ops", "ok-1"), uses: 2, not_after_ms: T };
    let mut store = Store::default();
    // Two workers read the same empty value; the first write wins, the second must retry.
    let (v_a, cas_a) = store.get(&check.key);
    let (v_b, cas_b) = store.get(&check.key);
    let a = take_use(&check, v_a.as_deref().and_then(Uses::decode));
    let b = take_use(&check, v_b.as_deref().and_then(Uses::decode));
    assert!(a.allowed && b.allowed && a.next == b.next, "both saw no use taken");
    assert!(store.set(&check.key, &a.next.encode(), cas_a));
    assert!(!store.set(&check.key, &b.next.encode(), cas_b), "a stale write is refused");
    // Worker B retries and takes the second use; every later take, from either, is refused.
    assert_eq!(worker_take(&mut store, &check).used, 2);
    for _ in 0..4 {
        let t = worker_take(&mut store, &check);
        assert!(!t.allowed && t.used == 2);
    }
    // The same grant id written again with a new end starts from zero.
    let renewed = UseCheck { not_after_ms: T + 60_000, ..check.clone() };
    assert!(worker_take(&mut store, &renewed).allowed);
    // A value that is not ours reads as no use taken.
    assert_eq!(Uses::decode(b"garbage"), None);
    assert_eq!(Uses::decode(&Uses { not_after_ms: T, count: 7 }.encode()), Some(Uses { not_after_ms: T, count: 7 }));
    // Through the decision: one approval with uses 2 across two workers passes exactly twice.
    let id = approval_id("ops", "DELETE", BRANCH, Some("application/json"), b"");
    let grant = format!(
        r#"{{"id":"ok-2","agent":"ops","approval":"{id}","approved_by":"Ana","not_after":"2027-01-01T00:00:00Z","uses":2}}"#
    );
    let p = policy("enforce", &ops(""), &grant);
    let mut store = Store::default();
    let mut passed = 0;
    for _ in 0..5 {
        let mut d = at(&p, T - 1000, "DELETE", BRANCH, AUTH_NEW, b"");
        if let Some(c) = d.approval_use().cloned() {
            let t = worker_take(&mut store, &c);
            d.apply_use(&p, Some(t));
        }
        if d.forward() {
            passed += 1;
        }
    }
    assert_eq!(passed, 2);
}

#[wasm_bindgen_test(unsupported = test)]
fn an_elevation_adds_access_until_not_after_and_scope_and_deny_still_apply() {
    let agent = format!(
        r#"{{"id":"ops","name":"Ops Bot","key_sha256":"{}","projects":["{P1}"],"access":{{"projects":"read"}},
            "deny":["delete_project"]}}"#,
        key_sha256(NEW)
    );
    let grants = r#"{"id":"oncall","agent":"ops","access":{"projects":"full","database":"read"},"allow":["list_functions"],
        "not_before":"2026-12-31T23:00:00Z","not_after":"2027-01-01T00:00:00Z","reason":"incident 42"}"#;
    let p = policy("enforce", &agent, grants);
    let pause = "/v1/projects/abcdefghijklmnopqrst/pause";
    let fns = "/v1/projects/abcdefghijklmnopqrst/functions";
    let start = T - 3_600_000;
    // Before not_before and from not_after on: the agent's own access only.
    for now in [start - 1, T, T + 1] {
        assert_eq!(at(&p, now, "POST", pause, AUTH_NEW, b"").reason.code(), "permission_denied", "at {now}");
        assert_eq!(at(&p, now, "GET", fns, AUTH_NEW, b"").reason.code(), "permission_denied");
    }
    for now in [start, T - 1] {
        let d = at(&p, now, "POST", pause, AUTH_NEW, b"");
        assert_eq!((d.reason.code(), d.forward()), ("access_full", true), "at {now}");
        let r = record(&d, "POST", pause);
        assert_eq!(r["grant"], "oncall");
        assert!(r["summary"].as_str().unwrap().contains("allowed (projects: full, grant oncall)"), "{}", r["summary"]);
        let d = at(&p, now, "GET", fns, AUTH_NEW, b"");
        assert_eq!((d.reason.code(), d.grant.map(|g| g.id.as_str())), ("allow_list", Some("oncall")));
        // What the agent had anyway names no grant.
        let d = at(&p, now, "GET", "/v1/projects/abcdefghijklmnopqrst", AUTH_NEW, b"");
        assert_eq!((d.reason.code(), d.grant.is_none()), ("access_read", true));
        // database read through the elevation: run_sql in its read-only form.
        let sql = "/v1/projects/abcdefghijklmnopqrst/database/query";
        let d = at(&p, now, "POST", sql, AUTH_NEW, br#"{"query":"select 1","read_only":true}"#);
        assert_eq!((d.reason.code(), d.forward()), ("read_only_sql", true));
        let d = at(&p, now, "POST", sql, AUTH_NEW, br#"{"query":"drop table x"}"#);
        assert_eq!(d.reason.code(), "read_only_required");
        // deny and scope still apply.
        assert_eq!(
            at(&p, now, "DELETE", "/v1/projects/abcdefghijklmnopqrst", AUTH_NEW, b"").reason.code(),
            "denied_by_policy"
        );
        let catalog = Catalog::new().expect("catalog");
        let target = "/v1/projects/zyxwvutsrqponmlkjihg/pause";
        let req = Request { method: "POST", target, authorization: AUTH_NEW, method_override: false, now_ms: now };
        let mut d = decide(&p, &catalog, &req);
        d.apply_body(&p, None, b"");
        d.apply_branch_parent(&p, None);
        assert_eq!(d.reason.code(), "project_out_of_scope");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn approvals_combine_with_body_checks_and_elevations() {
    // Read-only SQL held for approval: the read-only check comes first, then the approval.
    let agent = format!(
        r#"{{"id":"ops","name":"Ops Bot","key_sha256":"{}","projects":["{P1}"],"access":{{"database":"read"}},"approve":["run_sql"]}}"#,
        key_sha256(NEW)
    );
    let p = policy("enforce", &agent, "");
    let sql = "/v1/projects/abcdefghijklmnopqrst/database/query";
    let body = br#"{"query":"select 1","read_only":true}"#;
    let d = at(&p, T, "POST", sql, AUTH_NEW, body);
    assert_eq!(d.reason.code(), "approval_required");
    assert_eq!(
        d.approval.as_ref().and_then(|x| x.id.clone()),
        Some(approval_id("ops", "POST", sql, Some("application/json"), body))
    );
    assert_eq!(at(&p, T, "POST", sql, AUTH_NEW, br#"{"query":"drop table x"}"#).reason.code(), "read_only_required");
    // An elevation's grant is held for approval too, when the approve list names the endpoint.
    let p = policy(
        "enforce",
        &ops(""),
        r#"{"id":"more","agent":"ops","access":{"projects":"full"},"not_after":"2027-01-01T00:00:00Z"}"#,
    );
    let d = at(&p, T - 1, "POST", "/v1/projects/abcdefghijklmnopqrst/pause", AUTH_NEW, b"");
    assert_eq!(d.reason.code(), "approval_required");
}

#[wasm_bindgen_test(unsupported = test)]
fn whoami_lists_the_grants_in_force_and_what_they_open() {
    let grants = r#"{"id":"more","agent":"ops","access":{"projects":"full"},"not_after":"2027-01-01T00:00:00Z"}"#;
    let p = policy("enforce", &ops(""), grants);
    let agent = p.agent("ops").unwrap();
    let me = |now| -> serde_json::Value { serde_json::from_str(&bollard::discovery::whoami(&p, agent, now)).unwrap() };
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["endpoints"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
    };
    let during = me(T - 1);
    assert_eq!(during["approve"], serde_json::json!(["delete_branch", "pause_project"]));
    assert_eq!(
        during["grants"],
        serde_json::json!([{"id": "more", "kind": "elevation", "not_after": "2027-01-01T00:00:00Z",
                            "access": {"projects": "full"}, "allow": []}])
    );
    assert!(ids(&during).contains(&"pause_project".to_string()));
    let pause = during["endpoints"].as_array().unwrap().iter().find(|e| e["id"] == "pause_project").unwrap();
    assert_eq!(pause["needs_approval"], true);
    let after = me(T);
    assert_eq!(after["grants"], serde_json::json!([]));
    assert!(!ids(&after).contains(&"pause_project".to_string()));
}

/// `run_sql`'s read-only form needs `database_read`: whoami leaves it out where a deny entry
/// names that permission, and marks it as needing approval where an approve entry does, as the
/// decision refuses or holds it.
#[wasm_bindgen_test(unsupported = test)]
fn whoami_follows_the_read_only_form_of_run_sql() {
    let scope = r#""projects":["abcdefghijklmnopqrst"],"access":{"database":"read"}"#;
    let run_sql = |fields: &str| -> Option<serde_json::Value> {
        let p = policy("enforce", &format!(r#"{{"id":"ops","key_sha256":"{}",{scope}{fields}}}"#, key_sha256(NEW)), "");
        let me: serde_json::Value =
            serde_json::from_str(&bollard::discovery::whoami(&p, p.agent("ops").unwrap(), T)).unwrap();
        me["endpoints"].as_array().unwrap().iter().find(|e| e["id"] == "run_sql").cloned()
    };
    let plain = run_sql("").expect("run_sql in reach at read");
    assert_eq!(plain["only_when"], "the JSON body has \"read_only\": true");
    assert!(plain.get("needs_approval").is_none());
    for deny in [r#","deny":["database_read"]"#, r#","deny":["read"]"#] {
        assert!(run_sql(deny).is_none(), "{deny}");
    }
    for approve in [r#","approve":["database_read"]"#, r#","approve":["read"]"#] {
        assert_eq!(run_sql(approve).expect("run_sql in reach")["needs_approval"], true, "{approve}");
    }
}
