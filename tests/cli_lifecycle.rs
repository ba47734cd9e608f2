//! `bollard rotate`, `approve`, `grant` and `check --prune`: what they print, what they write
//! (a valid policy, replaced atomically), and their error paths. Native only: it runs the binary.
#![cfg(not(target_arch = "wasm32"))]
// Tests may panic: that is how they fail.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use bollard::approval::approval_id;
use bollard::catalog::Catalog;
use bollard::decision::{decide, Request};
use bollard::policy::{key_sha256, Policy};
use bollard::time::parse_rfc3339;
use serde_json::Value;

const OLD_KEY: &str = "sbp_00000000000000000000000000000000000000b1";
const BRANCH: &str = "/v1/branches/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";

fn bollard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bollard"))
        .args(args)
        .env_remove("SUPABASE_ACCESS_TOKEN")
        .output()
        .expect("run bollard")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A fresh directory holding `policy.json` with the given grants (JSON text).
fn setup(test: &str, grants: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("bollard-lifecycle-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let policy = format!(
        r#"{{
  "upstream": {{ "token_env": "SUPABASE_ACCESS_TOKEN" }},
  "agents": [
    {{ "id": "ops", "name": "Ops Bot", "key_sha256": "{}", "projects": ["*"],
       "access": {{ "branches": "full", "projects": "read" }}, "approve": ["delete_branch"] }},
    {{ "id": "ci", "key_sha256": "{}", "projects": ["abcdefghijklmnopqrst"] }}
  ],
  "grants": [{grants}]
}}"#,
        key_sha256(OLD_KEY),
        key_sha256("ci-key")
    );
    let path = dir.join("policy.json");
    std::fs::write(&path, policy).unwrap();
    (dir, path)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Only the policy is left in the directory: no temporary file from the atomic write.
fn only_policy_in(dir: &Path) {
    let names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let stray: Vec<&String> = names.iter().filter(|n| *n != "policy.json" && *n != "audit.jsonl").collect();
    assert!(stray.is_empty(), "left behind: {stray:?}");
}

fn time_of(v: &Value) -> u64 {
    parse_rfc3339(v.as_str().expect("a time")).expect("RFC 3339")
}

#[test]
fn help_for_the_new_commands() {
    for cmd in ["rotate", "approve", "grant"] {
        let o = bollard(&[cmd, "--help"]);
        assert_eq!(code(&o), 0, "{cmd}");
        assert!(out(&o).starts_with(&format!("usage: bollard {cmd}")), "{cmd}: {}", out(&o));
    }
    let o = bollard(&["--help"]);
    for cmd in ["rotate AGENT POLICY", "approve ID", "grant AGENT", "[--prune]", "[--at TIME]"] {
        assert!(out(&o).contains(cmd), "{cmd}");
    }
}

#[test]
fn rotate_adds_a_key_and_ends_the_old_one_later() {
    let (dir, path) = setup("rotate", "");
    let before = now_ms();
    let o = bollard(&["rotate", "ops", s(&path), "--keep-old-for", "24h"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let text = out(&o);
    let key = text.lines().find_map(|l| l.strip_prefix("new key:")).unwrap().trim().to_string();
    assert!(key.len() == 44 && key.starts_with("sbp_") && key[4..].bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    assert!(text.contains("keeps working until"), "{text}");
    let doc = read_json(&path);
    let agent = &doc["agents"][0];
    assert!(agent.get("key_sha256").is_none(), "key_sha256 became keys");
    let keys = agent["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["sha256"], key_sha256(OLD_KEY));
    let end = time_of(&keys[0]["not_after"]);
    assert!(end >= before / 1000 * 1000 + 86_400_000 - 1000 && end <= now_ms() + 86_400_000, "{end}");
    assert_eq!(keys[1]["sha256"], key_sha256(&key));
    assert!(keys[1].get("not_after").is_none());
    // The written policy is valid; both keys work now, only the new one after the overlap.
    let p = Policy::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let catalog = Catalog::new().unwrap();
    let old_auth = format!("Bearer {OLD_KEY}");
    let new_auth = format!("Bearer {key}");
    for (auth, at, want) in [
        (&old_auth, now_ms(), "access_read"),
        (&new_auth, now_ms(), "access_read"),
        (&old_auth, end, "key_expired"),
        (&new_auth, end, "access_read"),
    ] {
        let a = [auth.as_str()];
        let req =
            Request { method: "GET", target: "/v1/projects", authorization: &a, method_override: false, now_ms: at };
        assert_eq!(decide(&p, &catalog, &req).reason.code(), want);
    }
    // The key is printed, never written; the file keeps its readable layout.
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(!written.contains(&key) && written.contains("\n    {\n      \"id\": \"ops\""), "{written}");
    only_policy_in(&dir);
    // Rotating again: the second key gets the end date; the first keeps its earlier one.
    let o = bollard(&["rotate", "ops", s(&path), "--keep-old-for", "48h"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let keys = read_json(&path)["agents"][0]["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 3);
    assert_eq!(time_of(&keys[0]["not_after"]), end);
    assert!(time_of(&keys[1]["not_after"]) > end + 86_000_000);
    // --keep-old-for 0 ends the old keys now.
    let o = bollard(&["rotate", "ci", s(&path), "--keep-old-for", "0"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("old key:") && out(&o).contains("ended"), "{}", out(&o));
    // Errors.
    let o = bollard(&["rotate", "nobody", s(&path)]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("no agent \"nobody\" (agents: ops, ci)"), "{}", err(&o));
    let o = bollard(&["rotate", "ops", s(&path), "--keep-old-for", "a while"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("is not a duration"), "{}", err(&o));
    let o = bollard(&["rotate", "ops", "/nonexistent/policy.json"]);
    assert_eq!(code(&o), 1);
}

#[test]
fn approve_shows_the_call_from_the_audit_trail_and_writes_the_grant() {
    let (dir, path) = setup("approve", "");
    let id = approval_id("ops", "DELETE", BRANCH, None, b"");
    let record = format!(
        r#"{{"ts":"2026-12-01T10:00:00.000Z","request_id":"req-7","agent":"ops","method":"DELETE","path":"{BRANCH}","endpoint":"delete_branch","area":"branches","permission":"branching_development_delete","project":null,"organization":null,"decision":"deny","enforced":true,"reason":"approval_required","status":403,"duration_ms":1.0,"summary":"Ops Bot asked to delete branch aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa: held for a person's approval: bollard approve {id} (approval_required, 403).","approval_id":"{id}"}}"#
    );
    // Envoy's log form of the same line, and an unrelated line, are read too.
    let audit = dir.join("audit.jsonl");
    std::fs::write(&audit, format!("{{\"reason\":\"access_read\"}}\n[info] wasm log bollard: {record}\n")).unwrap();
    let o = bollard(&["approve", &id, "--policy", s(&path), "--by", "Ana Ops", "--audit", s(&audit), "--uses", "2"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let text = out(&o);
    for want in [
        format!("approval:   {id}"),
        "requested:  2026-12-01T10:00:00.000Z by agent ops (request req-7)".to_string(),
        format!("call:       DELETE {BRANCH}"),
        "endpoint:   delete_branch".to_string(),
        "summary:    Ops Bot asked to delete branch".to_string(),
        "approved:   by Ana Ops, 2 use(s), until".to_string(),
    ] {
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
    let doc = read_json(&path);
    let grants = doc["grants"].as_array().unwrap();
    assert_eq!(grants.len(), 1);
    let g = &grants[0];
    assert_eq!(
        (g["id"].as_str(), g["agent"].as_str(), g["approval"].as_str()),
        (Some(id.as_str()), Some("ops"), Some(id.as_str()))
    );
    assert_eq!((g["approved_by"].as_str(), g["uses"].as_u64()), (Some("Ana Ops"), Some(2)));
    let end = time_of(&g["not_after"]);
    assert!(end > now_ms() + 14 * 60_000 && end <= now_ms() + 15 * 60_000, "--for defaults to 15m");
    only_policy_in(&dir);
    // The gateway's decision for that call, with this policy: approved.
    let p = Policy::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let a = [format!("Bearer {OLD_KEY}")];
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let req = Request { method: "DELETE", target: BRANCH, authorization: &a, method_override: false, now_ms: now_ms() };
    let mut d = decide(&p, &Catalog::new().unwrap(), &req);
    d.apply_body(&p, None, b"");
    assert_eq!(d.reason.code(), "approved");
    // Approving the same call again replaces the grant (one per call).
    let o = bollard(&["approve", &id, "--policy", s(&path), "--by", "Bo", "--audit", s(&audit), "--for", "1h"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let grants = read_json(&path)["grants"].as_array().unwrap().clone();
    assert_eq!(grants.len(), 1);
    assert_eq!((grants[0]["approved_by"].as_str(), grants[0]["uses"].as_u64()), (Some("Bo"), Some(1)));
    // Without a record: --agent approves it unseen; otherwise an error that says what to do.
    let other = approval_id("ops", "DELETE", "/v1/branches/bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", None, b"");
    let o = bollard(&["approve", &other, "--policy", s(&path), "--by", "Bo", "--audit", s(&audit)]);
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains(&format!("no approval_required record of {other}")) && err(&o).contains("--agent"),
        "{}",
        err(&o)
    );
    let o = bollard(&["approve", &other, "--policy", s(&path), "--by", "Bo", "--audit", s(&audit), "--agent", "ops"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(read_json(&path)["grants"].as_array().unwrap().len(), 2);
    // Errors: a malformed id, a missing --by, an agent other than the record's, an unknown agent.
    for (args, want) in [
        (vec!["approve", "apr_123", "--policy", s(&path), "--by", "Bo"], "is not an approval id"),
        (vec!["approve", &id, "--policy", s(&path)], "--by NAME is required"),
        (
            vec!["approve", &id, "--policy", s(&path), "--by", "Bo", "--audit", s(&audit), "--agent", "ci"],
            "is agent \"ops\"'s",
        ),
        (
            vec!["approve", &other, "--policy", s(&path), "--by", "Bo", "--audit", s(&audit), "--agent", "nobody"],
            "no agent \"nobody\"",
        ),
        (vec!["approve", &id, "--policy", s(&path), "--by", "Bo", "--audit", s(&audit), "--uses", "0"], "--uses \"0\""),
    ] {
        let o = bollard(&args);
        assert_eq!(code(&o), 1, "{args:?}");
        assert!(err(&o).contains(want), "{args:?}: {}", err(&o));
    }
}

#[test]
fn grant_writes_an_elevation_that_check_lists() {
    let (dir, path) = setup("grant", "");
    let o = bollard(&[
        "grant",
        "ops",
        "--policy",
        s(&path),
        "--access",
        "projects=full",
        "--access",
        "database=read",
        "--allow",
        "list_functions",
        "--for",
        "1h",
        "--reason",
        "incident 42",
        "--id",
        "oncall-42",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("grant:      oncall-42"), "{}", out(&o));
    let g = &read_json(&path)["grants"][0];
    assert_eq!(g["access"], serde_json::json!({"projects": "full", "database": "read"}));
    assert_eq!(g["allow"], serde_json::json!(["list_functions"]));
    assert_eq!(g["reason"], "incident 42");
    let end = time_of(&g["not_after"]);
    assert!(end > now_ms() + 59 * 60_000 && end <= now_ms() + 3_600_000);
    only_policy_in(&dir);
    let o = bollard(&["check", s(&path)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        out(&o).lines().any(|l| l.starts_with("oncall-42")
            && l.contains("elevation")
            && l.contains("in force")
            && l.contains("projects=full")),
        "{}",
        out(&o)
    );
    // A generated id when none is given.
    let o = bollard(&["grant", "ops", "--policy", s(&path), "--allow", "get_project", "--for", "30m", "--reason", "x"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(read_json(&path)["grants"].as_array().unwrap().len(), 2);
    // Errors leave the file as it was.
    let before = std::fs::read_to_string(&path).unwrap();
    for (args, want) in [
        (
            vec!["grant", "ops", "--policy", s(&path), "--access", "projcts=full", "--for", "1h", "--reason", "x"],
            "unknown area \"projcts\"",
        ),
        (
            vec!["grant", "ops", "--policy", s(&path), "--access", "projects=admin", "--for", "1h", "--reason", "x"],
            "level must be read or full",
        ),
        (
            vec!["grant", "ops", "--policy", s(&path), "--allow", "nuke_everything", "--for", "1h", "--reason", "x"],
            "the change would make the policy invalid: grant",
        ),
        (
            vec!["grant", "ops", "--policy", s(&path), "--access", "projects=full", "--reason", "x"],
            "--for DURATION is required",
        ),
        (
            vec!["grant", "ops", "--policy", s(&path), "--access", "projects=full", "--for", "1h"],
            "--reason TEXT is required",
        ),
        (vec!["grant", "ops", "--policy", s(&path), "--for", "1h", "--reason", "x"], "nothing to grant"),
        (
            vec!["grant", "nobody", "--policy", s(&path), "--allow", "get_project", "--for", "1h", "--reason", "x"],
            "no agent \"nobody\"",
        ),
        (
            vec![
                "grant",
                "ops",
                "--policy",
                s(&path),
                "--allow",
                "get_project",
                "--for",
                "1h",
                "--reason",
                "x",
                "--id",
                "oncall-42",
            ],
            "already in",
        ),
    ] {
        let o = bollard(&args);
        assert_eq!(code(&o), 1, "{args:?}");
        assert!(err(&o).contains(want), "{args:?}: {}", err(&o));
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    only_policy_in(&dir);
}

#[test]
fn check_lists_what_expired_and_prune_removes_it() {
    let grants = r#"{"id":"old-elevation","agent":"ops","access":{"projects":"full"},"not_after":"2020-01-01T00:00:00Z"},
      {"id":"later","agent":"ops","allow":["get_project"],"not_before":"2099-01-01T00:00:00Z","not_after":"2099-01-02T00:00:00Z"},
      {"id":"current","agent":"ci","allow":["get_project"],"not_after":"2099-01-01T00:00:00Z","reason":"audit"}"#;
    let (dir, path) = setup("prune", grants);
    // Give ops an expired key beside its current one.
    let text = std::fs::read_to_string(&path).unwrap().replace(
        &format!(r#""key_sha256": "{}""#, key_sha256(OLD_KEY)),
        &format!(
            r#""keys": [{{"sha256": "{}", "not_after": "2020-01-01T00:00:00Z"}}, {{"sha256": "{}"}}]"#,
            key_sha256("retired"),
            key_sha256(OLD_KEY)
        ),
    );
    std::fs::write(&path, text).unwrap();
    let o = bollard(&["check", s(&path)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let t = out(&o);
    assert!(t.lines().any(|l| l.starts_with("old-elevation") && l.contains("expired (ignored)")), "{t}");
    assert!(t.lines().any(|l| l.starts_with("later") && l.contains("not yet")), "{t}");
    assert!(t.lines().any(|l| l.starts_with("current") && l.contains("in force") && l.contains("(audit)")), "{t}");
    assert!(t.contains("expired: 1 grant(s) and 1 key(s)") && t.contains("bollard check --prune"), "{t}");
    let o = bollard(&["check", s(&path), "--prune"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("prune: removed 2") && out(&o).contains("grant old-elevation"), "{}", out(&o));
    let doc = read_json(&path);
    let ids: Vec<&str> = doc["grants"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["later", "current"]);
    assert_eq!(doc["agents"][0]["keys"].as_array().unwrap().len(), 1);
    assert_eq!(doc["agents"][0]["keys"][0]["sha256"], key_sha256(OLD_KEY));
    only_policy_in(&dir);
    let o = bollard(&["check", s(&path), "--prune"]);
    assert_eq!(code(&o), 0);
    assert!(out(&o).contains("nothing has expired"), "{}", out(&o));
    // An agent whose every key expired keeps them (the policy stays valid) and is warned about.
    let text = std::fs::read_to_string(&path).unwrap().replace(
        &format!(r#"{{"sha256": "{}"}}"#, key_sha256(OLD_KEY)),
        &format!(r#"{{"sha256": "{}", "not_after": "2020-01-01T00:00:00Z"}}"#, key_sha256(OLD_KEY)),
    );
    std::fs::write(&path, text).unwrap();
    let o = bollard(&["check", s(&path), "--prune"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("warning: every key of agent ops has expired"), "{}", out(&o));
    assert_eq!(read_json(&path)["agents"][0]["keys"].as_array().unwrap().len(), 1);
}

#[test]
fn a_yaml_policy_is_edited_as_yaml_unless_it_has_comments() {
    let dir = std::env::temp_dir().join(format!("bollard-lifecycle-{}-yaml", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.yaml");
    let yaml = format!(
        "upstream:\n  token_env: SUPABASE_ACCESS_TOKEN\nagents:\n- id: ops\n  name: Ops Bot\n  key_sha256: {}\n  projects: ['*']\n  access:\n    projects: read\n",
        key_sha256(OLD_KEY)
    );
    std::fs::write(&path, &yaml).unwrap();
    let o = bollard(&[
        "grant",
        "ops",
        "--policy",
        s(&path),
        "--access",
        "projects=full",
        "--for",
        "1h",
        "--reason",
        "x",
        "--id",
        "g1",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = bollard(&["rotate", "ops", s(&path)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.trim_start().starts_with('{') && text.contains("grants:") && text.contains("keys:"), "{text}");
    assert!(text.find("id: ops").unwrap() < text.find("name: Ops Bot").unwrap(), "key order kept: {text}");
    let o = bollard(&["check", s(&path)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).lines().any(|l| l.starts_with("g1") && l.contains("in force")), "{}", out(&o));
    // Comments would be lost: refused, the file untouched.
    let commented = format!("# who may do what\n{yaml}");
    std::fs::write(&path, &commented).unwrap();
    let o = bollard(&["rotate", "ops", s(&path)]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("has comments, which rewriting it would drop"), "{}", err(&o));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), commented);
    // An Envoy config that embeds a policy is not edited.
    let o = bollard(&["rotate", "ops", "envoy/envoy.yaml"]);
    assert_eq!(code(&o), 1);
}

/// An approval is of one call, for a while: `--for` longer than the console's 7 days is refused
/// and named (`--for 300000d` wrote an approval in force until the year 2848, and a longer one
/// failed with an error about a `not_after` in the year 27381096).
#[test]
fn approve_refuses_a_for_beyond_seven_days_and_names_it() {
    let (_dir, path) = setup("approve_for_bound", "");
    let before = std::fs::read_to_string(&path).unwrap();
    let id = "apr_0123456789abcdef01234567";
    for long in ["8d", "300000d", "9999999999d"] {
        let o = bollard(&["approve", id, "--policy", s(&path), "--by", "Bo", "--agent", "ops", "--for", long]);
        assert_eq!(code(&o), 1, "--for {long}: {}", out(&o));
        assert!(err(&o).contains(&format!("--for {long:?}")) && err(&o).contains("7d"), "{}", err(&o));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before, "nothing written for --for {long}");
    }
    let o = bollard(&["approve", id, "--policy", s(&path), "--by", "Bo", "--agent", "ops", "--for", "7d"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
}

/// A grant's `--for` that ends past the year 9999 is named as the culprit, not as a `not_after`
/// the policy cannot hold.
#[test]
fn grant_names_a_for_too_long_to_write() {
    let (_dir, path) = setup("grant_for_bound", "");
    let o = bollard(&[
        "grant",
        "ops",
        "--policy",
        s(&path),
        "--allow",
        "get_project",
        "--for",
        "9999999999d",
        "--reason",
        "x",
    ]);
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert!(err(&o).contains("--for \"9999999999d\""), "{}", err(&o));
}

/// A `--keep-old-for` that ends past the year 9999 is named as the culprit, not as a key's
/// `not_after` the policy cannot hold.
#[test]
fn rotate_names_a_keep_old_for_too_long_to_write() {
    let (_dir, path) = setup("rotate_keep_bound", "");
    let before = std::fs::read_to_string(&path).unwrap();
    let o = bollard(&["rotate", "ops", s(&path), "--keep-old-for", "9999999999d"]);
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert!(err(&o).contains("--keep-old-for \"9999999999d\""), "{}", err(&o));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}

/// A `--by` or `--reason` the policy cannot hold is named as the flag given, not as a field of a
/// policy the change "would make invalid".
#[test]
fn approve_and_grant_name_a_by_or_reason_the_policy_cannot_hold() {
    let (_dir, path) = setup("by_reason_text", "");
    let before = std::fs::read_to_string(&path).unwrap();
    let id = "apr_0123456789abcdef01234567";
    let long = "x".repeat(129);
    for by in ["", " ", "Bo\u{1b}[2J", long.as_str()] {
        let o = bollard(&["approve", id, "--policy", s(&path), "--by", by, "--agent", "ops"]);
        assert_eq!(code(&o), 1, "--by {by:?}: {}", out(&o));
        assert!(err(&o).contains("--by") && !err(&o).contains("would make"), "{}", err(&o));
    }
    for reason in ["", "a\nb"] {
        let o = bollard(&[
            "grant",
            "ops",
            "--policy",
            s(&path),
            "--allow",
            "get_project",
            "--for",
            "1h",
            "--reason",
            reason,
        ]);
        assert_eq!(code(&o), 1, "--reason {reason:?}: {}", out(&o));
        assert!(err(&o).contains("--reason") && !err(&o).contains("would make"), "{}", err(&o));
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}
