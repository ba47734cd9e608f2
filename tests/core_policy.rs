//! Policy validation: one row per rule, each naming its culprit. Runs natively and as wasm32.

// Tests may panic: that is how they fail.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use bollard::policy::{key_sha256, Mode, Policy, PolicyError};
use bollard::secret::Secret;
use wasm_bindgen_test::wasm_bindgen_test;

fn h(key: &str) -> String {
    key_sha256(key)
}

/// A valid policy with two agents; `edit` rewrites its text before parsing.
fn base() -> String {
    format!(
        r#"{{"mode":"enforce","upstream":{{"token_env":"SUPABASE_ACCESS_TOKEN"}},"agents":[
        {{"id":"ci-bot","name":"CI bot","key_sha256":"{}","projects":["abcdefghijklmnopqrst"],"organizations":["acme"],
          "access":{{"edge_functions":"full"}},"allow":["list_migrations"],"deny":["delete_function"]}},
        {{"id":"ops","key_sha256":"{}","projects":["*"],"access":{{"projects":"read"}}}}]}}"#,
        h("k1"),
        h("k2")
    )
}

fn err(text: &str) -> PolicyError {
    match Policy::from_json(text) {
        Ok(_) => panic!("accepted a bad policy:\n{text}"),
        Err(e) => e,
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_valid_policy_compiles() {
    let p = Policy::from_json(&base()).expect("valid");
    assert_eq!(p.mode, Mode::Enforce);
    assert_eq!(p.agents().len(), 2);
    let ci = p.agent("ci-bot").expect("ci-bot");
    assert_eq!(ci.name, "CI bot");
    assert_eq!(p.agent("ops").expect("ops").name, "ops", "name defaults to the id");
    assert_eq!(p.agent_by_key("k2").map(|(a, _)| a.id.as_str()), Some("ops"));
    assert!(p.agent_by_key("k3").is_none());
    for text in [include_str!("../examples/policy.json"), include_str!("../examples/demo-policy.json")] {
        Policy::from_json(text).expect("example policies are valid");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn each_rule_refuses_and_names_the_culprit() {
    let b = base();
    let ci_hash = h("k1");
    let rows: Vec<(String, &str, &str)> = vec![
        // (policy text, culprit, a fragment of the message)
        (b.replace(r#""mode":"enforce","#, r#""mode":"enforce","extra":1,"#), "policy", "unknown field `extra`"),
        (b.replace(r#""name":"CI bot","#, r#""name":"CI bot","colour":"red","#), "agent \"ci-bot\"", "unknown field `colour`"),
        (b.replace(r#""edge_functions":"full""#, r#""storge":"read""#), "agent \"ci-bot\"", "unknown area \"storge\" (known: projects, organizations, database, edge_functions, secrets, auth_config, project_config, storage, api_keys, branches"),
        (b.replace(r#""edge_functions":"full""#, r#""edge_functions":"write""#), "agent \"ci-bot\"", "unknown level \"write\""),
        (b.replace(r#""allow":["list_migrations"]"#, r#""allow":["list_migratoins"]"#), "agent \"ci-bot\"", "allow: \"list_migratoins\""),
        (b.replace(r#""deny":["delete_function"]"#, r#""deny":["functions_delete"]"#), "agent \"ci-bot\"", "deny: \"functions_delete\""),
        (b.replace(r#""allow":["list_migrations"]"#, r#""allow":["database_reed"]"#), "agent \"ci-bot\"", "allow: \"database_reed\" is neither an endpoint id nor a Supabase permission"),
        (b.replace(r#""deny":["delete_function"]"#, r#""deny":["delete_projet"]"#), "agent \"ci-bot\"", "deny: \"delete_projet\" is neither an endpoint id nor a Supabase permission"),
        (b.replace(r#""projects":["abcdefghijklmnopqrst"]"#, r#""projects":["ABCDEFGHIJKLMNOPQRST"]"#), "agent \"ci-bot\"", "projects: \"ABCDEFGHIJKLMNOPQRST\""),
        (b.replace(r#""projects":["abcdefghijklmnopqrst"]"#, r#""projects":["abc"]"#), "agent \"ci-bot\"", "projects: \"abc\""),
        (b.replace(r#""organizations":["acme"]"#, r#""organizations":["ac me"]"#), "agent \"ci-bot\"", "organizations: \"ac me\""),
        (b.replace(r#""projects":["*"]"#, r#""projects":["*","abcdefghijklmnopqrst"]"#), "agent \"ops\"", "\"*\" means all"),
        (b.replace(r#""organizations":["acme"]"#, r#""organizations":["acme","*"]"#), "agent \"ci-bot\"", "organizations: \"*\" means all"),
        (b.replace(r#""projects":["abcdefghijklmnopqrst"]"#, r#""projects":["abcdefghijklmnopqrst","abcdefghijklmnopqrst"]"#), "agent \"ci-bot\"", "listed twice"),
        (b.replace(r#""id":"ops""#, r#""id":"ci-bot""#), "agent \"ci-bot\"", "ids must be unique"),
        (b.replace(&h("k2"), &ci_hash), "agent \"ops\"", "same as agent \"ci-bot\""),
        (b.replace(&ci_hash, &ci_hash.to_uppercase()), "agent \"ci-bot\"", "key_sha256"),
        (b.replace(&ci_hash, &ci_hash[..40]), "agent \"ci-bot\"", "key_sha256"),
        (b.replace(r#""id":"ci-bot""#, r#""id":"CI Bot""#), "agent \"CI Bot\"", "[a-z0-9_-]{1,64}"),
        (b.replace("SUPABASE_ACCESS_TOKEN", "supabase-token"), "upstream", "token_env \"supabase-token\""),
        (b.replace(r#""edge_functions":"full""#, r#""edge_functions":"full","edge_functions":"read""#), "agent \"ci-bot\"", "\"edge_functions\" is given twice"),
        (b.replace(r#""mode":"enforce""#, r#""mode":"audit""#), "policy", "unknown mode \"audit\""),
        (b.replace(r#""mode":"enforce","#, r#""mode":"enforce","rate_limit":{"requests_per_minute":0},"#), "policy", "requests_per_minute must be at least 1"),
        (b.replace(r#""mode":"enforce","#, r#""mode":"enforce","rate_limit":{"requests_per_minute":120,"burst":5},"#), "policy", "unknown field `burst`"),
        (b.replace(r#""id":"ops","#, r#""id":"ops","rate_limit":{"requests_per_minute":5,"endpoints":{"run_sqll":1}},"#), "agent \"ops\"", "rate_limit.endpoints: \"run_sqll\""),
        (b.replace(r#""id":"ops","#, r#""id":"ops","rate_limit":{"requests_per_minute":5,"endpoints":{"run_sql":0}},"#), "agent \"ops\"", "rate_limit.endpoints.run_sql must be at least 1"),
        (b.replace(r#""name":"CI bot""#, r#""name":"  ""#), "agent \"ci-bot\"", "name is empty"),
        (b.replace(r#""upstream":{"token_env":"SUPABASE_ACCESS_TOKEN"},"#, ""), "policy", "missing field `upstream`"),
        ("not json".to_string(), "policy", "expected"),
    ];
    for (text, culprit, fragment) in rows {
        assert_ne!(text, b, "row for {fragment:?} did not change the policy");
        let e = err(&text);
        assert_eq!(e.culprit, culprit, "{fragment}: {e}");
        assert!(e.message.contains(fragment), "{fragment:?} not in {e}");
        assert!(e.to_string().starts_with(culprit));
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn rate_limits_default_and_per_agent() {
    let text = base()
        .replace(r#""mode":"enforce","#, r#""mode":"enforce","rate_limit":{"requests_per_minute":120,"endpoints":{"run_sql":10,"list_functions":50}},"#)
        .replace(r#""id":"ops","#, r#""id":"ops","rate_limit":{"requests_per_minute":30,"endpoints":{"run_sql":2}},"#);
    let p = Policy::from_json(&text).expect("valid");
    let idx = |id: &str| bollard::catalog::Catalog::by_id(id).map(|(i, _)| i).expect("id");
    let ci = p.agent("ci-bot").and_then(|a| a.rate_limit.clone()).expect("default applies");
    assert_eq!(
        (ci.per_minute, ci.for_endpoint(idx("run_sql")), ci.for_endpoint(idx("get_project"))),
        (120, Some(10), None)
    );
    let ops = p.agent("ops").and_then(|a| a.rate_limit.clone()).expect("own limit");
    assert_eq!(ops.per_minute, 30, "an agent's own limit replaces the default");
    assert_eq!(ops.for_endpoint(idx("run_sql")), Some(2), "its endpoint limit wins");
    assert_eq!(ops.for_endpoint(idx("list_functions")), Some(50), "the default's other endpoint limits still apply");
    let none = Policy::from_json(&base()).expect("valid");
    assert!(none.agents().iter().all(|a| a.rate_limit.is_none()), "no rate_limit anywhere: no gateway limit");
}

#[wasm_bindgen_test(unsupported = test)]
fn rate_limit_windows() {
    use bollard::rate_limit::{take, Window};
    let t = take(2, 120, None);
    assert_eq!((t.allowed, t.remaining, t.reset_secs, t.next), (true, 1, 60, Window { minute: 2, count: 1 }));
    let t = take(2, 150, Some(t.next));
    assert_eq!((t.allowed, t.remaining, t.reset_secs), (true, 0, 30));
    let t = take(2, 179, Some(t.next));
    assert_eq!((t.allowed, t.remaining, t.reset_secs), (false, 0, 1));
    let t = take(2, 180, Some(t.next));
    assert!(t.allowed, "a new minute starts a new window");
    assert_eq!(Window::decode(&t.next.encode()), Some(t.next));
    assert_eq!(Window::decode(&[1, 2, 3]), None);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_token_variable_must_be_set() {
    let p = Policy::from_json(&base()).expect("valid");
    let e = p.upstream_token(|_| None).expect_err("missing variable");
    assert_eq!(e.culprit, "upstream");
    assert!(e.message.contains("SUPABASE_ACCESS_TOKEN") && e.message.contains("host_env_keys"));
    assert!(p.upstream_token(|_| Some("  ".into())).is_err());
    let token =
        p.upstream_token(|name| (name == "SUPABASE_ACCESS_TOKEN").then(|| "sbp_real".to_string())).expect("set");
    assert_eq!(token.expose(), "sbp_real");
}

#[wasm_bindgen_test(unsupported = test)]
fn secrets_print_redacted() {
    let s = Secret::new("sbp_super_secret");
    assert_eq!(format!("{s}"), "[redacted]");
    assert_eq!(format!("{s:?}"), "[redacted]");
    assert!(!format!("{:?}", Some(&s)).contains("super"));
}

/// The digests of recent keys are kept: whatever the order and however many keys come, each
/// key's digest is its SHA-256 (never a neighbour's), and the agent found is the key's.
#[wasm_bindgen_test(unsupported = test)]
fn recent_key_digests_are_each_keys_own() {
    use bollard::policy::key_digest;
    let keys: Vec<String> = (0..11).map(|i| format!("sbp_{i:040}")).collect();
    let long = "k".repeat(300);
    for round in 0..3 {
        for (i, k) in keys.iter().enumerate().chain([(99, &long)]) {
            let want = key_sha256(k);
            let got: String = key_digest(k).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, want, "key {i}, round {round}");
            // A key differing in its last byte only is not taken for a held one.
            let mut near = k.clone();
            near.pop();
            near.push('x');
            let got: String = key_digest(&near).iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, key_sha256(&near));
        }
    }
}
