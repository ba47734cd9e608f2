//! Agents with SQL rules, and their bodies decided as the filter decides them: shared by the SQL
//! tests (each uses some of them).
#![allow(dead_code)]

use bollard::catalog::Catalog;
use bollard::decision::{decide, Decision, Request};
use bollard::policy::{key_sha256, Policy};

pub const P: &str = "abcdefghijklmnopqrst";
pub const QUERY: &str = "/v1/projects/abcdefghijklmnopqrst/database/query";

/// One policy, several agents: each entry is (id, extra fields); agent `i`'s key is
/// `sbp_` and `i` in 40 digits.
pub fn policy(agents: &[(&str, &str)], mode: &str) -> Policy {
    let list: Vec<String> = agents
        .iter()
        .enumerate()
        .map(|(i, (id, fields))| {
            format!(
                r#"{{"id":"{id}","name":"{id}","key_sha256":"{}","projects":["{P}"]{}{fields}}}"#,
                key_sha256(&format!("sbp_{i:0>40}")),
                if fields.is_empty() { "" } else { "," }
            )
        })
        .collect();
    let text = format!(r#"{{"mode":"{mode}","upstream":{{"token_env":"T"}},"agents":[{}]}}"#, list.join(","));
    Policy::from_json(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// Agent `agent`'s request, decided once its body has arrived.
pub fn decide_body<'p>(p: &'p Policy, agent: usize, method: &str, path: &str, body: &str) -> Decision<'p, 'static> {
    let c = Catalog::new().unwrap();
    let auth = format!("Bearer sbp_{agent:0>40}");
    let auth: &'static str = Box::leak(auth.into_boxed_str());
    let authorization: &'static [&'static str] = Box::leak(vec![auth].into_boxed_slice());
    let method: &'static str = Box::leak(method.to_string().into_boxed_str());
    let path: &'static str = Box::leak(path.to_string().into_boxed_str());
    let mut d = decide(p, &c, &Request { method, target: path, authorization, method_override: false, now_ms: 0 });
    assert!(!(d.body_check.is_some() && d.forward()), "a decision waiting for its body never forwards");
    if d.body_check.is_some() {
        d.apply_body(p, Some("application/json"), body.as_bytes());
    }
    d
}

/// `s` as a JSON string.
pub fn json(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}
