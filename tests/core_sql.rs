//! SQL rules at the decision (issue 13): policy + endpoint + body -> status, code, refusal body
//! and audit record. Native and wasm32.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use bollard::audit::{AuditRecord, Completion};
use bollard::catalog::Catalog;
use bollard::decision::{decide, Request};
use bollard::policy::{key_sha256, Policy};
use bollard::refusal;
use serde_json::Value;
use wasm_bindgen_test::wasm_bindgen_test;

#[path = "support/sql_agents.rs"]
mod sql_agents;
use sql_agents::{decide_body, json, policy, P, QUERY};

const READ_ONLY: &str = "/v1/projects/abcdefghijklmnopqrst/database/query/read-only";
const MIGRATIONS: &str = "/v1/projects/abcdefghijklmnopqrst/database/migrations";
const PATCH_MIGRATION: &str = "/v1/projects/abcdefghijklmnopqrst/database/migrations/20250101000000";

fn agents() -> Policy {
    policy(
        &[
            ("reader", r#""access":{"database":"read"}"#),
            ("full", r#""access":{"database":"full"}"#),
            (
                "migrator",
                r#""access":{"database":"full"},"sql":{"allow":["read","write","ddl"],"deny_schemas":["auth","vault"]}"#,
            ),
            (
                "analyst",
                r#""access":{"database":"full"},"sql":{"allow":["read"],"deny_functions":["pg_sleep","public.expensive"]}"#,
            ),
            ("loose", r#""access":{"database":"full"},"sql":{"allow":["read"],"allow_unparsed":true}"#),
            ("guarded", r#""access":{"database":"full"},"sql":{"deny_schemas":["auth"]}"#),
        ],
        "enforce",
    )
}

/// (agent index, method, path, body, status, code).
#[wasm_bindgen_test(unsupported = test)]
fn decisions() {
    let p = agents();
    let q = |sql: &str| format!(r#"{{"query":{}}}"#, json(sql));
    let ro = |sql: &str| format!(r#"{{"query":{},"read_only":true}}"#, json(sql));
    let mig = |sql: &str| format!(r#"{{"query":{},"name":"m"}}"#, json(sql));
    let cases: Vec<(usize, &str, &str, String, u16, &str)> = vec![
        // database: read -> ["read"], and run_sql still needs read_only.
        (0, "POST", QUERY, ro("select * from orders"), 200, "read_only_sql"),
        (0, "POST", QUERY, q("select * from orders"), 403, "read_only_required"),
        (0, "POST", QUERY, ro("SELECT '--'; DROP TABLE t"), 403, "sql_not_allowed"),
        (0, "POST", QUERY, ro("select pg_terminate_backend(1)"), 403, "sql_not_allowed"),
        (
            0,
            "POST",
            QUERY,
            ro("with d as (delete from t where id = 1 returning *) select * from d"),
            403,
            "sql_not_allowed",
        ),
        (0, "POST", QUERY, ro("set role postgres"), 403, "sql_not_allowed"),
        (0, "POST", QUERY, ro("select cron.schedule('j', '* * * * *', 'drop table orders')"), 403, "sql_not_allowed"),
        (0, "POST", QUERY, ro("select graphql.resolve('mutation { x }')"), 403, "sql_not_allowed"),
        (0, "POST", QUERY, ro("select vault.create_secret('x')"), 403, "sql_not_allowed"),
        (0, "POST", QUERY, ro("selec 1"), 403, "sql_unparsed"),
        (0, "POST", READ_ONLY, q("select 1"), 200, "access_read"),
        (0, "POST", READ_ONLY, q("copy t to program 'id'"), 403, "sql_not_allowed"),
        (0, "POST", MIGRATIONS, mig("create table t (id int)"), 403, "permission_denied"),
        // database: full -> every class, but unparsed SQL is refused.
        (1, "POST", QUERY, q("drop table orders"), 200, "access_full"),
        (1, "POST", QUERY, q("select pg_terminate_backend(1)"), 200, "access_full"),
        (1, "POST", QUERY, q("drop tabel orders"), 403, "sql_unparsed"),
        (1, "POST", QUERY, q("select x'\\'; drop table t; --'"), 403, "sql_unparsed"),
        (1, "POST", QUERY, q("delete from orders --\u{0}\n where id = 1"), 403, "sql_unparsed"),
        (1, "POST", MIGRATIONS, mig("create table t (id int); drop table u"), 201, "access_full"),
        // read, write, ddl; auth and vault denied: "may migrate but never delete".
        (
            2,
            "POST",
            MIGRATIONS,
            mig("create table public.w (id int); alter table public.w add column n text"),
            201,
            "access_full",
        ),
        (2, "POST", MIGRATIONS, mig("create table public.w (id int); drop table public.old"), 403, "sql_not_allowed"),
        (2, "PUT", MIGRATIONS, mig("alter table w drop column n"), 403, "sql_not_allowed"),
        (
            2,
            "POST",
            MIGRATIONS,
            r#"{"query":"create table w (id int)","rollback":"drop table w"}"#.to_string(),
            403,
            "sql_not_allowed",
        ),
        (2, "PATCH", PATCH_MIGRATION, r#"{"rollback":"truncate w"}"#.to_string(), 403, "sql_not_allowed"),
        (2, "PATCH", PATCH_MIGRATION, r#"{"name":"renamed"}"#.to_string(), 200, "access_full"),
        (2, "POST", QUERY, q("insert into public.orders (id) values (1)"), 200, "access_full"),
        (2, "POST", QUERY, q("select * from auth.users"), 403, "sql_not_allowed"),
        (2, "POST", QUERY, q("select * from \"AUTH\".users"), 403, "sql_not_allowed"),
        (2, "POST", QUERY, q("grant select on orders to anon"), 403, "sql_not_allowed"),
        (2, "POST", QUERY, q("do $$ begin delete from orders; end $$"), 403, "sql_not_allowed"),
        (2, "POST", QUERY, q("delete from orders"), 403, "sql_not_allowed"),
        (2, "POST", QUERY, q("delete from orders where id = 1"), 200, "access_full"),
        // read only, two functions denied.
        (3, "POST", QUERY, q("select pg_sleep(10)"), 403, "sql_not_allowed"),
        (3, "POST", QUERY, q("select PG_CATALOG.PG_SLEEP(10)"), 403, "sql_not_allowed"),
        (3, "POST", QUERY, q("select expensive()"), 403, "sql_not_allowed"),
        (3, "POST", QUERY, q("select other.expensive()"), 200, "access_full"),
        (3, "POST", QUERY, q("select count(*) from orders o join items i on i.order_id = o.id"), 200, "access_full"),
        // allow_unparsed: unparsed SQL passes when its words need only allowed classes.
        (4, "POST", QUERY, q("select 1 END"), 200, "access_full"),
        (4, "POST", QUERY, q("select 1 END; drop table t"), 403, "sql_not_allowed"),
        // every class (the default for full) with auth denied.
        (5, "POST", QUERY, q("drop table public.orders"), 200, "access_full"),
        (5, "POST", QUERY, q("set search_path = auth; select * from users"), 403, "sql_not_allowed"),
        (5, "POST", QUERY, q("set search_path = $$auth$$; select * from users"), 403, "sql_not_allowed"),
        (5, "POST", QUERY, q("select query_to_xml('table auth.users', true, true, '')"), 403, "sql_not_allowed"),
        // Bodies that cannot be judged.
        (1, "POST", QUERY, r#"{"read_only":true}"#.to_string(), 400, "invalid_body"),
        (1, "POST", QUERY, r#"{"query":42}"#.to_string(), 400, "invalid_body"),
        (1, "POST", QUERY, r#"{"query":"select 1","query":"drop table t"}"#.to_string(), 400, "invalid_body"),
        // `read_only` is the JSON value true, once.
        (0, "POST", QUERY, r#"{"query":"select 1","read_only":"true"}"#.to_string(), 403, "read_only_required"),
        (0, "POST", QUERY, r#"{"query":"select 1","read_only":1}"#.to_string(), 403, "read_only_required"),
        (0, "POST", QUERY, r#"{"query":"","read_only":0,"read_only":true}"#.to_string(), 400, "invalid_body"),
        (0, "POST", QUERY, r#"{"query":"","read_\u006fnly":true,"read_only":0}"#.to_string(), 400, "invalid_body"),
    ];
    for (agent, method, path, body, status, code) in &cases {
        let d = decide_body(&p, *agent, method, path, body);
        let got_status =
            d.refusal_status().unwrap_or(if *method == "POST" && path.ends_with("migrations") { 201 } else { 200 });
        assert_eq!((d.reason.code(), got_status), (*code, *status), "agent {agent} {method} {path} {body}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn refusal_and_record_carry_the_classes() {
    let p = agents();
    let d = decide_body(&p, 2, "POST", QUERY, r#"{"query":"create table public.w (id int); drop table public.old"}"#);
    let body: Value = serde_json::from_str(&refusal::body(&d, "POST", Some("r1"))).unwrap();
    assert_eq!(body["code"], "sql_not_allowed");
    assert_eq!(body["sql"], serde_json::json!(["ddl", "destroy"]));
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("statement 2 of its SQL (DROP TABLE public.old) is destroy"), "{message}");
    assert!(message.contains("sql.allow with \"destroy\" would allow it"), "{message}");
    let done = Completion { unix_ms: 0, request_id: Some("r1"), status: 403, duration_ms: 1.0 };
    let record = AuditRecord::new(&d, "POST", QUERY, done);
    let line: Value = serde_json::from_str(&record.to_json()).unwrap();
    assert_eq!(line["sql"], serde_json::json!(["ddl", "destroy"]));
    assert_eq!(line["reason"], "sql_not_allowed");
    let summary = line["summary"].as_str().unwrap();
    assert!(summary.contains("denied (sql_not_allowed: DROP TABLE public.old is destroy, 403)"), "{summary}");

    // Allowed: the summary names what ran.
    let d = decide_body(&p, 1, "POST", QUERY, r#"{"query":"select * from public.orders"}"#);
    let record = AuditRecord::new(&d, "POST", QUERY, Completion { status: 201, ..done });
    assert_eq!(record.sql, Some(vec!["read"]));
    assert_eq!(record.summary, format!("full ran SELECT on public.orders on project {P}: allowed (database: full)."));

    // A denied schema and a denied function are named.
    let d = decide_body(&p, 2, "POST", QUERY, r#"{"query":"select * from auth.users"}"#);
    let m = refusal::message(&d, "POST");
    assert!(m.contains("refers to schema auth, which its sql.deny_schemas names"), "{m}");
    let d = decide_body(&p, 3, "POST", QUERY, r#"{"query":"select pg_sleep(1)"}"#);
    let m = refusal::message(&d, "POST");
    assert!(m.contains("calls pg_sleep, which its sql.deny_functions names"), "{m}");
    let d = decide_body(&p, 1, "POST", QUERY, r#"{"query":"selec 1"}"#);
    let m = refusal::message(&d, "POST");
    assert!(m.contains("could not be parsed") && m.contains("sql.allow_unparsed = true"), "{m}");

    // Endpoints without SQL have no sql field.
    let c = Catalog::new().unwrap();
    let auth = ["Bearer sbp_0000000000000000000000000000000000000001"];
    let d = decide(
        &p,
        &c,
        &Request { method: "GET", target: MIGRATIONS, authorization: &auth, method_override: false, now_ms: 0 },
    );
    assert!(d.body_check.is_none() && d.sql.is_none());
    assert!(!refusal::body(&d, "GET", None).contains("\"sql\""));
}

#[wasm_bindgen_test(unsupported = test)]
fn monitor_mode_forwards_refused_sql() {
    let p = policy(&[("m", r#""access":{"database":"full"},"sql":{"allow":["read"]}"#)], "monitor");
    let d = decide_body(&p, 0, "POST", QUERY, r#"{"query":"drop table t"}"#);
    assert_eq!(d.reason.code(), "sql_not_allowed");
    assert!(d.forward() && !d.enforced);
}

#[wasm_bindgen_test(unsupported = test)]
fn policy_errors_name_the_culprit() {
    let base = |sql: &str| {
        format!(
            r#"{{"upstream":{{"token_env":"T"}},"agents":[{{"id":"ci-bot","key_sha256":"{}","sql":{sql}}}]}}"#,
            key_sha256("k")
        )
    };
    for (sql, error) in [
        (
            r#"{"allow":["raed"]}"#,
            r#"agent "ci-bot": sql.allow: unknown class "raed" (known: read, write, ddl, destroy, privilege, procedural, admin) (did you mean "read"?)"#,
        ),
        (r#"{"allow":["read","read"]}"#, r#"agent "ci-bot": sql.allow: "read" is listed twice"#),
        (r#"{"deny_schemas":["a.b"]}"#, r#"agent "ci-bot": sql.deny_schemas: "a.b" is not a schema name"#),
        (r#"{"deny_schemas":[""]}"#, r#"agent "ci-bot": sql.deny_schemas: "" is not a schema name"#),
        (
            r#"{"deny_functions":["f()"]}"#,
            r#"agent "ci-bot": sql.deny_functions: "f()" is not a function name (name or schema.name)"#,
        ),
        (
            r#"{"deny_functions":["Dblink","dblink"]}"#,
            r#"agent "ci-bot": sql.deny_functions: "dblink" is listed twice"#,
        ),
    ] {
        let e = Policy::from_json(&base(sql)).unwrap_err();
        assert_eq!(e.to_string(), error, "{sql}");
    }
    let e = Policy::from_json(&base(r#"{"allow":["read"],"deny_tables":["x"]}"#)).unwrap_err();
    assert!(e.to_string().starts_with(r#"agent "ci-bot": unknown field `deny_tables`"#), "{e}");
    let e = Policy::from_json(&base(r#"{"allow_unparsed":"yes"}"#)).unwrap_err();
    assert!(e.to_string().starts_with(r#"agent "ci-bot": "#), "{e}");
}

#[wasm_bindgen_test(unsupported = test)]
fn defaults_follow_database_access() {
    let p = policy(
        &[
            ("off", ""),
            ("read", r#""access":{"database":"read"}"#),
            ("full", r#""access":{"database":"full"}"#),
            ("allow-run-sql", r#""allow":["run_sql"]"#),
            ("allow-read", r#""allow":["database_read"]"#),
            ("given", r#""access":{"database":"full"},"sql":{"deny_schemas":["auth"]}"#),
        ],
        "enforce",
    );
    let names = |id: &str| p.agent(id).unwrap().sql.allow.names();
    assert_eq!(names("off"), ["read"]);
    assert_eq!(names("read"), ["read"]);
    assert_eq!(names("full").len(), 7);
    assert_eq!(names("allow-run-sql").len(), 7);
    assert_eq!(names("allow-read"), ["read"]);
    assert_eq!(names("given").len(), 7);
}
