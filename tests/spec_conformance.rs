//! Requests generated from Supabase's OpenAPI spec, as a spec-driven fuzzer would send them: for
//! every operation, path and query parameters valid per their schemas go upstream unchanged for
//! an agent allowed everything, and invalid ones (wrong kinds, out of range, undeclared, wrong
//! methods, extra segments, slashes) are refused, never forwarded. Runs natively and as wasm32.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;

use bollard::catalog::{Catalog, Method};
use bollard::exchange::{Action, Event, Exchange, Gateway};
use bollard::policy::key_sha256;
use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

const KEY: &str = "sbp_2222222222222222222222222222222222222222";
const TOKEN: &str = "sbp_real_upstream_token_1111111111111111";
const SPEC: &str = include_str!("../spec/supabase-management-api-v1.openapi.json");
const NOW: u64 = 1_800_000_000_000;

/// One agent with `full` on every area, every project and organization, secrets revealed (so
/// nothing in the query is dropped on the way).
fn gateway() -> Gateway {
    let areas: BTreeSet<&str> = Catalog::endpoints().iter().map(|e| e.area.name()).collect();
    let access: Vec<String> = areas.iter().map(|a| format!(r#""{a}":"full""#)).collect();
    let policy = format!(
        r#"{{"upstream":{{"token_env":"T"}},"agents":[{{"id":"all","key_sha256":"{}",
        "projects":["*"],"organizations":["*"],"reveal_secrets":true,"access":{{{}}}}}]}}"#,
        key_sha256(KEY),
        access.join(",")
    );
    Gateway::load(policy.as_bytes(), |_| Some(TOKEN.to_string())).expect("policy loads")
}

/// What became of a request.
#[derive(Debug)]
enum Outcome {
    /// Forwarded; the headers it set or removed (names only), and the endpoint it was taken for.
    Forwarded(Vec<String>, String),
    /// Refused: status and `code`.
    Refused(u16, String),
}

fn send(gw: &Gateway, method: &str, target: &str, body: Option<&[u8]>) -> Outcome {
    send_as(gw, method, target, body, "application/json")
}

fn send_as(gw: &Gateway, method: &str, target: &str, body: Option<&[u8]>, content_type: &str) -> Outcome {
    let mut m = Exchange::new(gw);
    let auth = format!("Bearer {KEY}");
    let h: Vec<(&str, &[u8])> = vec![
        (":method", method.as_bytes()),
        (":path", target.as_bytes()),
        (":authority", b"gw"),
        ("authorization", auth.as_bytes()),
        ("content-type", content_type.as_bytes()),
        ("accept", b"application/json"),
        ("accept-language", b"en"),
        ("user-agent", b"spec-fuzzer/1.0"),
        ("x-request-id", b"req-1"),
        ("x-client-info", b"supabase-js/2"),
        ("idempotency-key", b"idem-1"),
    ];
    m.handle(Event::RequestHeaders { headers: &h, end_of_stream: body.is_none(), now_ms: NOW });
    let mut out = None;
    let mut sent_body = false;
    loop {
        while let Some(a) = m.next_action() {
            match a {
                Action::ReadBody => {
                    m.handle(Event::Body { bytes: body.unwrap_or_default(), now_ms: NOW });
                }
                Action::ReadCounter(_) => {
                    m.handle(Event::Counter { value: None, cas: None });
                }
                Action::WriteCounter { .. } => {
                    m.handle(Event::CounterWritten(true));
                }
                Action::Lookup(..) => panic!("{method} {target}: no lookup is needed for this agent"),
                Action::Forward(f) => {
                    assert!(out.is_none(), "one outcome");
                    let endpoint = f.set.iter().find(|(k, _)| *k == "x-bollard-endpoint").map(|(_, v)| v.to_string());
                    let touched = f.set.iter().map(|(k, _)| k.to_string()).chain(f.remove.iter().cloned()).collect();
                    out = Some(Outcome::Forwarded(touched, endpoint.unwrap_or_default()));
                }
                Action::Reply(r) => {
                    assert!(out.is_none(), "one outcome");
                    let v: Value = serde_json::from_str(&r.body).expect("a refusal is JSON");
                    assert!(v["message"].is_string(), "a refusal has a message: {}", r.body);
                    for field in ["code", "agent", "endpoint", "area", "permission", "project", "request_id"] {
                        assert!(v.get(field).is_some(), "a refusal has {field}, null where unknown: {}", r.body);
                    }
                    out = Some(Outcome::Refused(r.status, v["code"].as_str().unwrap_or_default().to_string()));
                }
                _ => {}
            }
        }
        match (body, sent_body, &out) {
            (Some(b), false, None) => {
                sent_body = true;
                m.handle(Event::RequestBody { buffered: b.len(), end_of_stream: true });
            }
            _ => break,
        }
    }
    out.unwrap_or_else(|| panic!("{method} {target}: neither forwarded nor refused"))
}

/// Requests sent, and what went wrong with them: all are listed when the test fails.
#[derive(Default)]
struct Tally {
    sent: usize,
    wrong: Vec<String>,
}

impl Tally {
    fn check(&self, least: usize) {
        assert!(self.wrong.is_empty(), "{} of {} requests:\n{}", self.wrong.len(), self.sent, self.wrong.join("\n"));
        assert!(self.sent >= least, "{} requests", self.sent);
    }
}

/// Counts it wrong unless the request went upstream with its method and target untouched.
fn expect_forwarded(gw: &Gateway, method: &str, target: &str, body: Option<&[u8]>, t: &mut Tally) {
    t.sent += 1;
    match send(gw, method, target, body) {
        Outcome::Forwarded(touched, _) if touched.iter().any(|h| UNCHANGED.contains(&h.as_str())) => {
            t.wrong.push(format!("forwarded changed ({touched:?}): {method} {target}"));
        }
        Outcome::Forwarded(_, endpoint) if endpoint != expected_endpoint(method, target) => {
            let want = expected_endpoint(method, target);
            t.wrong.push(format!("forwarded as {endpoint}, not {want}: {method} {target}"));
        }
        Outcome::Forwarded(..) => {}
        Outcome::Refused(status, code) => {
            t.wrong.push(format!("refused a valid request: {method} {target} -> {status} {code}"));
        }
    }
}

/// Counts it wrong unless the request was refused with this status and code.
fn expect_refused(gw: &Gateway, method: &str, target: &str, status: u16, code: &str, t: &mut Tally) {
    t.sent += 1;
    match send(gw, method, target, None) {
        Outcome::Forwarded(..) => t.wrong.push(format!("forwarded an invalid request: {method} {target}")),
        Outcome::Refused(s, c) if (s, c.as_str()) != (status, code) => {
            t.wrong.push(format!("{method} {target} -> {s} {c}, not {status} {code}"));
        }
        Outcome::Refused(..) => {}
    }
}

/// The catalog endpoint a concrete path is, as OpenAPI matches it: of the templates it fits,
/// the one with the most literal segments (`/functions/deploy` over `/functions/{slug}`).
fn expected_endpoint(method: &str, target: &str) -> String {
    let path = target.split('?').next().unwrap();
    let segments: Vec<&str> = path.split('/').collect();
    Catalog::endpoints()
        .iter()
        .filter(|e| e.method.as_str() == method)
        .filter_map(|e| {
            let t: Vec<&str> = e.path.split('/').collect();
            let fits = t.len() == segments.len() && t.iter().zip(&segments).all(|(a, b)| a.starts_with('{') || a == b);
            fits.then(|| (t.iter().filter(|a| !a.starts_with('{')).count(), e.id))
        })
        .max()
        .map(|(_, id)| id.to_string())
        .unwrap_or_default()
}

fn spec() -> Value {
    serde_json::from_str(SPEC).expect("the spec is JSON")
}

fn resolve<'v>(spec: &'v Value, v: &'v Value) -> &'v Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => spec.pointer(r.trim_start_matches('#')).expect("a $ref resolves"),
        None => v,
    }
}

/// The spec's operations: (METHOD, path template, operation).
fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, ops) in spec["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            if op.get("responses").is_some() {
                out.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// What goes upstream as the agent sent it: the method, the target, and the allowlisted headers.
const UNCHANGED: [&str; 9] = [
    ":method",
    ":path",
    "content-type",
    "accept",
    "accept-language",
    "user-agent",
    "x-request-id",
    "x-client-info",
    "idempotency-key",
];

const UUID_LOWER: &str = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b";
const UUID_UPPER: &str = "0F1E2D3C-4B5A-4978-8A6B-5C4D3E2F1A0B";

/// Every literal segment of the spec's paths: as parameter values they probe how the router
/// tells a literal from a parameter.
fn literal_segments() -> BTreeSet<&'static str> {
    Catalog::endpoints()
        .iter()
        .flat_map(|e| e.path.split('/'))
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .collect()
}

/// Valid values for a path parameter, per its schema, each written as it appears in a path.
fn valid_path_values(name: &str, schema: &Value) -> Vec<String> {
    let mut v = valid_path_values_of_kind(name, schema);
    let allowed = |s: &str| match schema["pattern"].as_str() {
        Some("^[A-Za-z0-9_-]+$") | Some("^[\\w-]+$") => {
            s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }
        Some("^\\d+$") => s.bytes().all(|b| b.is_ascii_digit()),
        None if schema.get("format").is_none() && schema.get("oneOf").is_none() && schema.get("enum").is_none() => {
            s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        }
        _ => false,
    };
    v.extend(literal_segments().into_iter().filter(|s| allowed(s)).map(String::from));
    v
}

fn valid_path_values_of_kind(name: &str, schema: &Value) -> Vec<String> {
    let long = |c: &str, n: usize| c.repeat(n);
    let mut v: Vec<String> = Vec::new();
    if let Some(alts) = schema["oneOf"].as_array() {
        for alt in alts {
            v.extend(valid_path_values_of_kind(name, alt));
        }
        return v;
    }
    if let Some(e) = schema["enum"].as_array() {
        return e.iter().map(|x| x.as_str().unwrap().to_string()).collect();
    }
    if schema["format"] == "uuid" {
        return vec![UUID_LOWER.into(), UUID_UPPER.into()];
    }
    match schema["pattern"].as_str() {
        Some("^[a-z]+$") => vec!["abcdefghijklmnopqrst".into(), "zzzzzzzzzzzzzzzzzzzz".into()],
        Some("^[A-Za-z0-9_-]+$") | Some("^[\\w-]+$") => {
            vec!["hello-world".into(), "A_b-9".into(), "_".into(), "-".into(), "0".into(), long("ab", 50)]
        }
        Some("^\\d+$") => vec!["20250312000000".into(), "0".into(), long("9", 40)],
        Some(p) => panic!("{name}: a pattern this test does not know: {p}"),
        None => {
            // A free string: the plain names the README documents (`[A-Za-z0-9._-]+`).
            let example = schema["example"].as_str().unwrap_or("x").to_string();
            vec![example, "a.b_c-D9".into(), "v1.2.3".into(), long("n", 100)]
        }
    }
}

/// Values a path parameter's schema refuses.
fn invalid_path_values(schema: &Value) -> Vec<&'static str> {
    if schema["oneOf"].is_array() && schema["oneOf"][0]["enum"].is_array() {
        return vec!["pitr_8", "PITR_7"];
    }
    if schema["oneOf"].is_array() {
        // A ref or a UUID.
        return vec!["abcdefghijklmnopqrs", "ABCDEFGHIJKLMNOPQRST", "0f1e2d3c4b5a49788a6b5c4d3e2f1a0b"];
    }
    if schema["format"] == "uuid" {
        return vec!["not-a-uuid", "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0", "0f1e2d3c4b5a49788a6b5c4d3e2f1a0b0000"];
    }
    match schema["pattern"].as_str() {
        Some("^[a-z]+$") => {
            vec!["abcdefghijklmnopqrs", "abcdefghijklmnopqrstu", "ABCDEFGHIJKLMNOPQRST", "abcdefghij0123456789"]
        }
        Some("^[A-Za-z0-9_-]+$") | Some("^[\\w-]+$") => vec!["a.b", "a~b", "a:b", "a@b"],
        Some("^\\d+$") => vec!["12a", "-1", "1.5"],
        _ => vec![],
    }
}

/// Valid values for a query parameter, per its schema, each as it appears in a query (escaped).
fn valid_query_values(schema: &Value) -> Vec<String> {
    let s = |x: &str| x.to_string();
    if let Some(e) = schema["enum"].as_array() {
        return e.iter().map(|x| x.as_str().unwrap().replace(' ', "%20")).collect();
    }
    match (schema["type"].as_str(), schema["format"].as_str(), schema["pattern"].as_str()) {
        (Some("boolean"), _, _) => vec![s("true"), s("false")],
        (Some("integer"), _, _) => {
            let lo = schema["minimum"].as_i64().unwrap_or(-1000);
            let mut v = vec![lo.to_string(), (lo + 1).to_string()];
            match schema["maximum"].as_i64() {
                Some(hi) => v.extend([hi.to_string(), ((lo + hi) / 2).to_string()]),
                // No maximum: any whole number at or above the minimum, however large.
                None => v.extend([s("1000000"), s("9007199254740993"), s("100000000000000000000000")]),
            }
            v
        }
        (Some("number"), _, _) => {
            let lo = schema["minimum"].as_f64().unwrap_or(0.0);
            let mut v =
                vec![format!("{lo}"), format!("{}", lo + 0.5), format!("{}.25", lo as i64 + 10), s("123456789")];
            // With an exponent, as JSON and most languages print small and large numbers.
            v.push(format!("{}e%2B2", lo as i64 + 1));
            if lo == 0.0 {
                v.extend([s("1e-05"), s("0.00012345678901234567")]);
            }
            if schema.get("maximum").is_none() {
                v.extend([s("10000000000000000"), s("100000000000000000000000.5"), s("2.5E%2B16"), s("1e%2B300")]);
            }
            v
        }
        (Some("string"), Some("uuid"), _) => vec![s(UUID_LOWER), s(UUID_UPPER)],
        (Some("string"), Some("date-time"), _) => vec![
            s("2025-03-01T00:00:00Z"),
            s("2025-03-01T23:59:59.123456Z"),
            s("2025-03-01T00:00:00%2B05:30"),
            s("2025-03-01T00:00:00-08:00"),
            s("2025-03-01T00%3A00%3A00Z"),
            s("2024-02-29T23:59:60Z"),
            s("2000-02-29t12:00:00z"),
            s("1900-12-31T00:00:00.5%2B23:59"),
        ],
        (Some("string"), _, Some("^[a-z]+$")) => vec![s("abcdefghijklmnopqrst")],
        (Some("string"), _, Some("^\\d+$")) => vec![s("20250312000000"), s("0")],
        (Some("string"), _, Some("^[A-Za-z][A-Za-z0-9_-]*$")) => vec![s("hello-world"), s("A"), s("a_9-")],
        (Some("string"), _, Some(_)) => vec![s("hello-world"), s("A_b-9"), s("_")],
        (Some("string"), _, None) if schema.get("minimum").is_some() => {
            // `list_snippets?limit`: a string with numeric bounds, read as the number it holds.
            vec![s("1"), s("100"), s("50")]
        }
        (Some("string"), _, None) => {
            let max = schema["maxLength"].as_u64().unwrap_or(64) as usize;
            let chars = |v: &String| v.replace("%C3%A9", "e").replace("%E2%9C%93", "c").replace("%20", " ").len();
            let values = vec![
                s(""),
                s("x"),
                s("hello+world"),
                s("hello%20world"),
                s("%C3%A9t%C3%A9"),
                s("%E2%9C%93"),
                s("a%26b%3Dc%23d%2Be"),
                s("public,auth"),
                s("https://app.acme.com/auth/callback"),
                "y".repeat(max),
                "%C3%A9".repeat(max),
            ];
            // Only what fits the schema's maxLength (in characters, as JSON Schema counts).
            values.into_iter().filter(|v| chars(v) <= max).collect()
        }
        (Some("array"), _, _) => valid_query_values(&schema["items"]),
        _ => panic!("a query schema this test does not know: {schema}"),
    }
}

/// Values a query parameter's schema refuses.
fn invalid_query_values(schema: &Value) -> Vec<String> {
    let s = |x: &str| x.to_string();
    if schema["enum"].is_array() {
        return vec![s("not-one-of-them"), s("")];
    }
    match (schema["type"].as_str(), schema["format"].as_str(), schema["pattern"].as_str()) {
        (Some("boolean"), _, _) => vec![s("yes"), s("1"), s("TRUE"), s("")],
        (Some("integer"), _, _) => {
            let lo = schema["minimum"].as_i64().unwrap_or(-1000);
            let mut v = vec![(lo - 1).to_string(), s("1.5"), s("abc"), s("")];
            if let Some(hi) = schema["maximum"].as_i64() {
                v.push((hi + 1).to_string());
            }
            v
        }
        (Some("number"), _, _) => {
            let lo = schema["minimum"].as_f64().unwrap_or(0.0);
            vec![
                format!("{}", lo - 1.0),
                format!("{}e-1", lo * 10.0 - 1.0),
                s("abc"),
                s(""),
                s("1e"),
                s("e1"),
                s("1e+1"),
            ]
        }
        (Some("string"), Some("uuid"), _) => vec![s("not-a-uuid"), s("")],
        (Some("string"), Some("date-time"), _) => vec![
            s("yesterday"),
            s("2025-03-01"),
            s("2025-03-01T00:00:00"),
            s("2025-13-01T00:00:00Z"),
            s("2025-00-01T00:00:00Z"),
            s("2025-02-29T00:00:00Z"),
            s("2025-04-31T00:00:00Z"),
            s("2025-03-00T00:00:00Z"),
            s("2025-03-01T24:00:00Z"),
            s("2025-03-01T00:60:00Z"),
            s("2025-03-01T00:00:61Z"),
            s("2025-03-01T00:00:00%2B24:00"),
            s("2025-03-01T00:00:00-05:60"),
        ],
        (Some("string"), _, Some("^[a-z]+$")) => vec![s("ABCDEFGHIJKLMNOPQRST"), s("abc")],
        (Some("string"), _, Some("^\\d+$")) => vec![s("12a"), s("")],
        (Some("string"), _, Some(_)) => vec![s("a.b"), s("a%20b"), s("")],
        (Some("string"), _, None) if schema.get("minimum").is_some() => vec![s("0"), s("101"), s("x")],
        (Some("string"), _, None) => match schema["maxLength"].as_u64() {
            Some(max) => vec!["y".repeat(max as usize + 1)],
            None => vec![s("%ZZ"), s("%C3")],
        },
        (Some("array"), _, _) => invalid_query_values(&schema["items"]),
        _ => vec![],
    }
}

/// The target for `path` with every `{param}` replaced from `values`.
fn fill(path: &str, values: &[(String, String)]) -> String {
    let mut out = path.to_string();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// `target` with the required query parameters (at their first valid value) and `extra`, a
/// required parameter that `extra` names taking its value from there.
fn with_query(target: &str, query: &[(String, Value, bool)], extra: &[String]) -> String {
    let mut pairs: Vec<String> = query
        .iter()
        .filter(|(n, _, required)| *required && !extra.iter().any(|e| e.starts_with(&format!("{n}="))))
        .map(|(n, s, _)| format!("{n}={}", valid_query_values(s)[0]))
        .collect();
    pairs.extend(extra.iter().cloned());
    if pairs.is_empty() {
        target.to_string()
    } else {
        format!("{target}?{}", pairs.join("&"))
    }
}

/// Each operation's parameters, resolved: (path params, query params).
type Params = (Vec<(String, Value)>, Vec<(String, Value, bool)>);

fn params(spec: &Value, op: &Value) -> Params {
    let mut path = Vec::new();
    let mut query = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let p = resolve(spec, p);
        let name = p["name"].as_str().unwrap().to_string();
        let schema = p["schema"].clone();
        match p["in"].as_str() {
            Some("path") => path.push((name, schema)),
            Some("query") => {
                let style = p["style"].as_str().unwrap_or("form");
                let explode = p["explode"].as_bool().unwrap_or(true);
                assert!(style == "form" && explode, "{name}: a query style this test does not know");
                query.push((name, schema, p["required"] == true));
            }
            _ => {}
        }
    }
    (path, query)
}

/// A body the spec's request schema describes, for the operations whose decision reads it.
fn bodies(spec: &Value, op: &Value) -> Vec<Vec<u8>> {
    let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else {
        return vec![b"{}".to_vec()];
    };
    let schema = resolve(spec, schema);
    let mut out: Vec<Value> = Vec::new();
    if let Some(example) = schema.get("example") {
        out.push(example.clone());
    }
    let props = schema["properties"].as_object();
    if props.is_some_and(|p| p.contains_key("query")) {
        for extra in [
            serde_json::json!({}),
            serde_json::json!({"read_only": true}),
            serde_json::json!({"read_only": false}),
            serde_json::json!({"parameters": [1, "x", null]}),
            serde_json::json!({"name": "create_widgets", "rollback": "drop table if exists public.widgets;"}),
        ] {
            let mut b = serde_json::json!({"query": "select * from public.orders where id = 1;"});
            for (k, v) in extra.as_object().unwrap() {
                if props.is_some_and(|p| p.contains_key(k)) {
                    b[k] = v.clone();
                }
            }
            out.push(b);
        }
    }
    if props.is_some_and(|p| p.contains_key("organization_slug")) {
        out.push(serde_json::json!({"organization_slug": "tsrqponmlkjihgfedcba", "name": "p", "db_pass": "x"}));
        out.push(serde_json::json!({"organization_slug": "A_b-9", "name": "p é", "region": "us-east-1"}));
    }
    if out.is_empty() {
        out.push(serde_json::json!({}));
    }
    out.into_iter().map(|v| serde_json::to_vec(&v).unwrap()).collect()
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

#[wasm_bindgen_test(unsupported = test)]
fn every_valid_request_the_spec_describes_is_forwarded_unchanged() {
    let spec = spec();
    let gw = gateway();
    let mut t = Tally::default();
    let ops = operations(&spec);
    assert_eq!(ops.len(), Catalog::endpoints().len(), "every catalog operation is in the spec");
    for (method, path, op) in &ops {
        let (path_params, query_params) = params(&spec, op);
        let defaults: Vec<(String, String)> =
            path_params.iter().map(|(n, s)| (n.clone(), valid_path_values(n, s)[0].clone())).collect();
        let base = fill(path, &defaults);
        let body_list = bodies(&spec, op);
        let body = if method == "GET" || method == "DELETE" && op.get("requestBody").is_none() {
            None
        } else {
            Some(body_list[0].as_slice())
        };
        expect_forwarded(&gw, method, &with_query(&base, &query_params, &[]), body, &mut t);
        // Each path parameter through its valid values, the others at their first.
        for (i, (name, schema)) in path_params.iter().enumerate() {
            for value in valid_path_values(name, schema) {
                let mut values = defaults.clone();
                values[i].1 = value;
                expect_forwarded(&gw, method, &with_query(&fill(path, &values), &query_params, &[]), body, &mut t);
            }
        }
        // Each query parameter through its valid values, beside the required ones.
        for (name, schema, _) in &query_params {
            for value in valid_query_values(schema) {
                let target = with_query(&base, &query_params, &[format!("{name}={value}")]);
                expect_forwarded(&gw, method, &target, body, &mut t);
            }
            // Arrays in the spec's style (form, exploded): the name repeated.
            if schema["type"] == "array" {
                let all: Vec<String> = valid_query_values(schema).iter().map(|v| format!("{name}={v}")).collect();
                expect_forwarded(&gw, method, &with_query(&base, &query_params, &all), body, &mut t);
            }
        }
        // Empty pairs and an empty query change nothing.
        let plain = with_query(&base, &query_params, &[]);
        let sep = if plain.contains('?') { "&" } else { "?" };
        expect_forwarded(&gw, method, &format!("{plain}{sep}&"), body, &mut t);
        if sep == "?" {
            expect_forwarded(&gw, method, &format!("{plain}?"), body, &mut t);
        }
        // Every declared parameter at once, then in reverse order.
        if !query_params.is_empty() {
            let mut pairs: Vec<String> =
                query_params.iter().map(|(n, s, _)| format!("{n}={}", valid_query_values(s)[0])).collect();
            expect_forwarded(&gw, method, &format!("{base}?{}", pairs.join("&")), body, &mut t);
            pairs.reverse();
            expect_forwarded(&gw, method, &format!("{base}?{}", pairs.join("&")), body, &mut t);
        }
        // Every body the request schema describes, on the operations whose decision reads it.
        if body.is_some() {
            for b in &body_list {
                expect_forwarded(&gw, method, &with_query(&base, &query_params, &[]), Some(b), &mut t);
            }
        }
    }
    t.check(1200);
}

#[wasm_bindgen_test(unsupported = test)]
fn every_invalid_request_the_spec_rules_out_is_refused() {
    let spec = spec();
    let gw = gateway();
    let mut t = Tally::default();
    let ops = operations(&spec);
    let declared: BTreeSet<(String, String)> = ops.iter().map(|(m, p, _)| (m.clone(), p.clone())).collect();
    for (method, path, op) in &ops {
        let (path_params, query_params) = params(&spec, op);
        let defaults: Vec<(String, String)> =
            path_params.iter().map(|(n, s)| (n.clone(), valid_path_values(n, s)[0].clone())).collect();
        let base = fill(path, &defaults);
        for (i, (_, schema)) in path_params.iter().enumerate() {
            for value in invalid_path_values(schema) {
                let mut values = defaults.clone();
                values[i].1 = value.to_string();
                let target = fill(path, &values);
                // A value that is not a parameter may be a literal segment of another path.
                if Catalog::new().unwrap().find(Method::parse(method).unwrap(), &target).is_ok() {
                    expect_refused(&gw, method, &target, 400, "invalid_parameter", &mut t);
                }
            }
        }
        // A required parameter left out, the others given.
        for (name, _, required) in &query_params {
            if *required {
                let others: Vec<(String, Value, bool)> =
                    query_params.iter().filter(|(n, ..)| n != name).cloned().collect();
                expect_refused(&gw, method, &with_query(&base, &others, &[]), 400, "invalid_parameter", &mut t);
            }
        }
        for (name, schema, _) in &query_params {
            for value in invalid_query_values(schema) {
                expect_refused(&gw, method, &format!("{base}?{name}={value}"), 400, "invalid_parameter", &mut t);
            }
            if schema["type"] != "array" {
                let v = &valid_query_values(schema)[0];
                expect_refused(&gw, method, &format!("{base}?{name}={v}&{name}={v}"), 400, "invalid_parameter", &mut t);
            }
        }
        for undeclared in ["zzz=1", "_method=DELETE", "read_only=false", "ref=abcdefghijklmnopqrst"] {
            expect_refused(&gw, method, &format!("{base}?{undeclared}"), 400, "unknown_parameter", &mut t);
        }
        if let Some((first, ..)) = query_params.first() {
            let v = valid_query_values(&query_params[0].1)[0].clone();
            let first = first.as_str();
            expect_refused(&gw, method, &format!("{base}?{first}={v}&zzz=1"), 400, "unknown_parameter", &mut t);
            expect_refused(
                &gw,
                method,
                &format!("{base}?{}={v}", first.to_uppercase()),
                400,
                "unknown_parameter",
                &mut t,
            );
        }
        // Methods the path does not declare.
        for other in METHODS {
            // Unless the path is another operation's with this method (`GET /functions/deploy`
            // is `get_function`), which the test above sends.
            if !declared.contains(&(other.to_string(), path.clone())) && expected_endpoint(other, &base).is_empty() {
                expect_refused(&gw, other, &base, 403, "unknown_endpoint", &mut t);
            }
        }
        expect_refused(&gw, &method.to_lowercase(), &base, 400, "invalid_method", &mut t);
        // Extra segments, slashes, escapes.
        let extra = format!("{base}/zzz-extra");
        if Catalog::new().unwrap().find(Method::parse(method).unwrap(), &extra).is_err() {
            expect_refused(&gw, method, &extra, 403, "unknown_endpoint", &mut t);
        }
        expect_refused(&gw, method, &format!("{base}/"), 400, "malformed_target", &mut t);
        expect_refused(&gw, method, &format!("{base}//"), 400, "malformed_target", &mut t);
        expect_refused(&gw, method, &base.replacen("/v1/", "/v1//", 1), 400, "malformed_target", &mut t);
        expect_refused(&gw, method, &format!("/{base}"), 400, "malformed_target", &mut t);
        expect_refused(&gw, method, &format!("{base}%2Fzzz"), 400, "malformed_target", &mut t);
        expect_refused(&gw, method, &format!("{base}/.."), 400, "malformed_target", &mut t);
        expect_refused(&gw, method, &base.replacen("/v1/", "/v1/%2e/", 1), 400, "malformed_target", &mut t);
        expect_refused(&gw, method, &base.replacen("/v1/", "/V1/", 1), 403, "unknown_endpoint", &mut t);
        if !path_params.is_empty() {
            let with_space: Vec<(String, String)> =
                defaults.iter().map(|(n, v)| (n.clone(), format!("{v}%20x"))).collect();
            expect_refused(&gw, method, &fill(path, &with_space), 400, "malformed_target", &mut t);
            let with_slash: Vec<(String, String)> =
                defaults.iter().map(|(n, v)| (n.clone(), format!("{v}%2Fx"))).collect();
            expect_refused(&gw, method, &fill(path, &with_slash), 400, "malformed_target", &mut t);
        }
    }
    t.check(1200);
}

/// The bodies the decision reads: every JSON body their schemas describe passes, in any JSON
/// media type; SQL the grammar cannot read and bodies of the wrong shape are refused, as the
/// README says, and never forwarded.
#[wasm_bindgen_test(unsupported = test)]
fn bodies_the_decision_reads_pass_when_the_schema_allows_them() {
    let spec = spec();
    let gw = gateway();
    let mut t = Tally::default();
    for (method, path, op) in &operations(&spec) {
        let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else { continue };
        let has_query = resolve(&spec, schema)["properties"].get("query").is_some();
        let (path_params, _) = params(&spec, op);
        let values: Vec<(String, String)> =
            path_params.iter().map(|(n, s)| (n.clone(), valid_path_values(n, s)[0].clone())).collect();
        let target = fill(path, &values);
        for body in bodies(&spec, op) {
            for media in ["application/json", "application/json; charset=utf-8", "Application/JSON"] {
                t.sent += 1;
                if let Outcome::Refused(s, c) = send_as(&gw, method, &target, Some(&body), media) {
                    t.wrong.push(format!(
                        "refused a valid body: {method} {target} ({media}) {} -> {s} {c}",
                        String::from_utf8_lossy(&body)
                    ));
                }
            }
        }
        if !has_query {
            continue;
        }
        for (body, status, code) in [
            (&br#"{"query":"not sql at all ("}"#[..], 403, "sql_unparsed"),
            (br#"{"query":1}"#, 400, "invalid_body"),
            (br#"{"query":"select 1""#, 400, "invalid_body"),
            (b"", 400, "invalid_body"),
        ] {
            t.sent += 1;
            match send(&gw, method, &target, Some(body)) {
                Outcome::Forwarded(..) => t
                    .wrong
                    .push(format!("forwarded an invalid body: {method} {target} {}", String::from_utf8_lossy(body))),
                Outcome::Refused(s, c) if (s, c.as_str()) != (status, code) => t.wrong.push(format!(
                    "{method} {target} {} -> {s} {c}, not {status} {code}",
                    String::from_utf8_lossy(body)
                )),
                Outcome::Refused(..) => {}
            }
        }
    }
    t.check(100);
}
