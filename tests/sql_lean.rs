//! The lean build (`--no-default-features`, no SQL grammar) refuses every body that carries SQL as
//! `sql_unparsed`, whatever the agent's rules; the default build judges the same bodies. Run both
//! ways by `make test-core`: `cargo test --test sql_lean` and `cargo test --no-default-features
//! --test sql_lean`.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use bollard::policy::Policy;
use bollard::sql::{judge, ClassSet, SqlClass, SqlRefusal, SqlRules, GRAMMAR};
use wasm_bindgen_test::wasm_bindgen_test;

#[path = "support/sql_agents.rs"]
mod sql_agents;
use sql_agents::{decide_body, QUERY};

const MIGRATIONS: &str = "/v1/projects/abcdefghijklmnopqrst/database/migrations";
const PATCH_MIGRATION: &str = "/v1/projects/abcdefghijklmnopqrst/database/migrations/20250101000000";
const FUNCTIONS: &str = "/v1/projects/abcdefghijklmnopqrst/functions";

/// reader: database read; full: database full; loose: full, read only, unparsed SQL let through.
fn policy() -> Policy {
    sql_agents::policy(
        &[
            ("reader", r#""access":{"database":"read","edge_functions":"read"}"#),
            ("full", r#""access":{"database":"full"}"#),
            ("loose", r#""access":{"database":"full"},"sql":{"allow":["read","admin"],"allow_unparsed":true}"#),
        ],
        "enforce",
    )
}

/// (agent, method, path, body, with the grammar (status, code)).
type Case = (usize, &'static str, &'static str, &'static str, (u16, &'static str));

const SQL_BODIES: [Case; 6] = [
    (
        0,
        "POST",
        QUERY,
        r#"{"query":"select id, name from public.orders where id = 1","read_only":true}"#,
        (200, "read_only_sql"),
    ),
    (0, "POST", QUERY, r#"{"query":"select 1; drop table t","read_only":true}"#, (403, "sql_not_allowed")),
    (1, "POST", QUERY, r#"{"query":"drop table orders"}"#, (200, "access_full")),
    (1, "POST", MIGRATIONS, r#"{"query":"create table t (id int)","name":"m"}"#, (201, "access_full")),
    // allow_unparsed and every class its words suggest: still refused without the grammar.
    (2, "POST", QUERY, r#"{"query":"select 1 END"}"#, (200, "access_full")),
    (2, "PATCH", PATCH_MIGRATION, r#"{"rollback":"select 1"}"#, (200, "access_full")),
];

#[wasm_bindgen_test(unsupported = test)]
fn sql_bodies_are_judged_with_the_grammar_and_refused_without_it() {
    let p = policy();
    for (agent, method, path, body, judged) in SQL_BODIES {
        let d = decide_body(&p, agent, method, path, body);
        let status = d.refusal_status().unwrap_or(if judged.0 == 201 { 201 } else { 200 });
        let got = (status, d.reason.code());
        if GRAMMAR {
            assert_eq!(got, judged, "agent {agent} {method} {path} {body}");
        } else {
            assert_eq!(got, (403, "sql_unparsed"), "agent {agent} {method} {path} {body}");
            assert!(!d.forward(), "an unjudged body is never forwarded: {body}");
        }
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn requests_without_sql_are_decided_the_same_either_way() {
    let p = policy();
    let cases: [Case; 3] = [
        (0, "GET", FUNCTIONS, "", (200, "access_read")),
        (0, "POST", QUERY, r#"{"query":"select 1"}"#, (403, "read_only_required")),
        // A migration renamed, no rollback: no SQL, so nothing for the grammar to judge.
        (1, "PATCH", PATCH_MIGRATION, r#"{"name":"renamed"}"#, (200, "access_full")),
    ];
    for (agent, method, path, body, expected) in cases {
        let d = decide_body(&p, agent, method, path, body);
        let got = (d.refusal_status().unwrap_or(200), d.reason.code());
        assert_eq!(got, expected, "agent {agent} {method} {path} {body}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_judgement_without_the_grammar_is_unparsed_whatever_the_rules() {
    let every = ClassSet::of(&[
        SqlClass::Read,
        SqlClass::Write,
        SqlClass::Ddl,
        SqlClass::Destroy,
        SqlClass::Privilege,
        SqlClass::Procedural,
        SqlClass::Admin,
    ]);
    let rules = SqlRules { allow_unparsed: true, ..SqlRules::classes(every) };
    let j = judge("select 1", &rules);
    if GRAMMAR {
        assert!(j.allowed(), "{j:?}");
        assert_eq!(j.phrase(), "SELECT");
    } else {
        assert!(matches!(j.refusal, Some(SqlRefusal::Unparsed(_))), "{j:?}");
        assert_eq!(j.deciding().map(|s| s.describe()), Some("SQL".to_string()));
    }
    assert!(judge("", &rules).allowed(), "no SQL, nothing to refuse");
}
