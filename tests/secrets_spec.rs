//! The secret-field list agrees with Supabase's response schemas: every secret-looking field in
//! a response is either redacted for that endpoint or explicitly cleared, and every listed field
//! exists. Native only: it reads the spec from `spec/`.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use bollard::catalog::Catalog;
use bollard::guards::secrets::{fields, NOT_SECRET, SECRET_FIELDS};
use serde_json::Value;

fn spec() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/supabase-management-api-v1.openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("spec")).expect("JSON")
}

/// Property names that may hold secret material.
fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "secret",
        "password",
        "passw",
        "token",
        "api_key",
        "apikey",
        "private",
        "jwt",
        "root_key",
        "credential",
        "access_key",
    ]
    .iter()
    .any(|p| n.contains(p))
        || n == "pass"
        || n.ends_with("_pass")
        || n == "key"
        || n.ends_with("_key")
        // A fixed one-time password (the auth config's `sms_test_otp`) signs a user in.
        || n.ends_with("_otp")
}

fn walk(spec: &Value, schema: &Value, out: &mut BTreeSet<String>, depth: usize, seen: &mut Vec<String>) {
    if depth > 14 {
        return;
    }
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or_default().to_string();
        if seen.contains(&name) {
            return;
        }
        seen.push(name.clone());
        walk(spec, &spec["components"]["schemas"][&name], out, depth + 1, seen);
        seen.pop();
        return;
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for s in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            walk(spec, s, out, depth + 1, seen);
        }
    }
    if let Some(items) = schema.get("items") {
        walk(spec, items, out, depth + 1, seen);
    }
    for (name, prop) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        out.insert(name.clone());
        walk(spec, prop, out, depth + 1, seen);
    }
}

/// Endpoint id → every property name its 2xx JSON responses can carry.
fn response_fields() -> BTreeMap<&'static str, BTreeSet<String>> {
    let spec = spec();
    let mut out = BTreeMap::new();
    for e in Catalog::endpoints() {
        let op = &spec["paths"][e.path][e.method.as_str().to_ascii_lowercase()];
        let mut names = BTreeSet::new();
        for (code, resp) in op["responses"].as_object().into_iter().flatten() {
            if code.starts_with('2') {
                if let Some(schema) = resp.pointer("/content/application~1json/schema") {
                    walk(&spec, schema, &mut names, 0, &mut Vec::new());
                }
            }
        }
        out.insert(e.id, names);
    }
    out
}

#[test]
fn every_secret_looking_response_field_is_redacted_or_cleared() {
    let mut missing = Vec::new();
    for (id, names) in response_fields() {
        for name in names.iter().filter(|n| looks_secret(n)) {
            let redacted = fields(id).is_some_and(|f| f.contains(&name.as_str()));
            if !redacted && !NOT_SECRET.contains(&name.as_str()) {
                missing.push(format!("{id}: {name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "secret-looking response fields neither redacted nor cleared in src/guards/secrets.rs:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_listed_secret_field_is_in_that_endpoints_response() {
    let all = response_fields();
    for (id, names) in SECRET_FIELDS {
        let have = all.get(id).unwrap_or_else(|| panic!("{id} is not a catalog endpoint"));
        for n in *names {
            assert!(have.contains(*n), "{id}: {n} is not in its response schema");
        }
    }
    // The one secret the name rule cannot see: a secret's value.
    assert!(all["list_secrets"].contains("value"));
    assert_eq!(fields("list_secrets"), Some(&["value"][..]));
}
