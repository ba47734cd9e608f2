//! What a newcomer does first with `bollard`, and each mistake they make on the way (issue 16):
//! YAML policies, policies embedded in Envoy configs and WasmPlugins, errors with the file's
//! line and a suggestion, warnings, one agent's endpoints, `keygen --print`, `hash`, a closed
//! pipe, and `envoy-config` with absolute paths and `--ecds`. Native only: it runs the binary.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_in(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bollard"))
        .args(args)
        .current_dir(dir)
        .env_remove("SUPABASE_ACCESS_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run bollard");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("bollard output")
}

fn bollard(args: &[&str]) -> Output {
    run_in(&root(), args, "")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// A directory of its own for each test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bollard-newcomer-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A newcomer's policy for three agents, in YAML with comments (line numbers matter below).
const THREE_AGENTS: &str = r#"# My gateway: three agents.
upstream:
  token_env: SUPABASE_ACCESS_TOKEN
rate_limit: {requests_per_minute: 120}
agents:
  - id: support-bot
    name: Support bot
    key_sha256: 46f4cbda86c617ff50715b63f5632a0bfe95c3996d3e36ce76177b73d91afe95
    projects: [abcdefghijklmnopqrst]
    access:
      database: read
      storage: read
  - id: deployer
    key_sha256: 28901532aa239b8e311c5b603a4371e9e208edecb5ed2181fbe927c404d66a67
    projects: [abcdefghijklmnopqrst]
    access: {edge_functions: full, secrets: full}
    deny: [delete]
  - id: acme-ops
    key_sha256: 5e4b2c1a7d1e7f4a8a1c3c1f8b2a9e0d4c6f1b3a5d7e9f0a2c4e6b8d0f1a3c5e
    projects: {organizations: [acme]}
    access: {projects: read, database: full}
    deny: [write]
"#;

#[test]
fn a_yaml_policy_checks_explains_and_lists_an_agents_endpoints() {
    let dir = temp_dir("yaml");
    let p = write(&dir, "policy.yaml", THREE_AGENTS);
    let o = run_in(&dir, &["check", "policy.yaml"], "");
    assert_eq!(code(&o), 0, "{}", err(&o));
    let t = out(&o);
    assert!(t.starts_with("policy.yaml: valid, 3 agents, mode enforce"), "{t}");
    assert!(t.contains("of org acme"), "the organization scope shows: {t}");
    assert!(err(&o).is_empty(), "no warnings for a sound policy: {}", err(&o));

    // One agent's endpoints, with what grants each.
    let o = bollard(&["check", s(&p), "--agent", "deployer"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let t = out(&o);
    assert!(t.contains("deploy_function") && t.contains("edge_functions: full"), "{t}");
    assert!(!t.contains("delete_function"), "deny: [delete] removes every DELETE: {t}");
    assert!(!t.contains("list_projects"), "{t}");
    let o = bollard(&["check", s(&p), "--agent", "deployr"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("no agent \"deployr\" (did you mean \"deployer\"?)"), "{}", err(&o));

    // explain reads YAML too; the organization scope is decided with what the user says.
    let ref_path = "/v1/projects/abcdefghijklmnopqrst/database/migrations";
    let o = bollard(&["explain", s(&p), "--agent", "acme-ops", "GET", ref_path]);
    assert_eq!(code(&o), 2, "unknown organization: refused");
    assert!(out(&o).contains("project_out_of_scope") && out(&o).contains("--project-organization"), "{}", out(&o));
    let o = bollard(&["explain", s(&p), "--agent", "acme-ops", "GET", ref_path, "--project-organization", "acme"]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    let o = bollard(&["explain", s(&p), "--agent", "acme-ops", "GET", ref_path, "--project-organization", "other"]);
    assert_eq!(code(&o), 2);
    assert!(out(&o).contains("the projects of organization acme"), "{}", out(&o));
    let o = bollard(&["explain", s(&p), "--agent", "deployer", "DELETE", "/v1/projects/abcdefghijklmnopqrst/secrets"]);
    assert_eq!(code(&o), 2);
    assert!(out(&o).contains("its deny list names delete"), "{}", out(&o));
}

#[test]
fn each_mistake_gets_its_line_and_a_suggestion() {
    let dir = temp_dir("mistakes");
    let cases: Vec<(&str, String, &str, Vec<&str>)> = vec![
        // (file, text, "file:line", fragments)
        (
            "storge.yaml",
            THREE_AGENTS.replace("      storage: read", "      storge: read"),
            "storge.yaml:12",
            vec!["agent \"support-bot\"", "unknown area \"storge\"", "(did you mean \"storage\"?)"],
        ),
        (
            "organisations.yaml",
            THREE_AGENTS.replace("    projects: {organizations: [acme]}", "    organisations: [acme]"),
            "organisations.yaml:20",
            vec!["agent \"acme-ops\"", "unknown field `organisations`", "(did you mean `organizations`?)"],
        ),
        (
            "level.yaml",
            THREE_AGENTS.replace("{edge_functions: full,", "{edge_functions: ful,"),
            "level.yaml:16",
            vec!["agent \"deployer\"", "unknown level \"ful\"", "(did you mean \"full\"?)"],
        ),
        (
            "endpoint.yaml",
            THREE_AGENTS.replace("deny: [delete]", "deny: [delte_project]"),
            "endpoint.yaml:17",
            vec!["deny: \"delte_project\"", "(did you mean \"delete_project\"?)"],
        ),
        (
            "top.yaml",
            THREE_AGENTS.replace("rate_limit:", "rate_limt:"),
            "top.yaml:4",
            vec!["policy: unknown field `rate_limt`", "(did you mean `rate_limit`?)"],
        ),
        (
            "tabs.yaml",
            THREE_AGENTS.replace("    access:\n      database: read", "    access:\n\tdatabase: read"),
            "tabs.yaml:11",
            vec!["not valid YAML or JSON", "never tabs"],
        ),
    ];
    let demo = std::fs::read_to_string(root().join("examples/demo-policy.json")).expect("demo");
    let json_cases: Vec<(&str, String, &str, Vec<&str>)> = vec![
        (
            "storge.json",
            demo.replace("\"storage\": \"read\"", "\"storge\": \"read\""),
            "storge.json:12",
            vec!["(did you mean \"storage\"?)"],
        ),
        (
            "organisations.json",
            demo.replace(
                "\"organizations\": [\"acme\"],\n      \"access\": { \"projects\": \"full\"",
                "\"organisations\": [\"acme\"],\n      \"access\": { \"projects\": \"full\"",
            ),
            "organisations.json:",
            vec!["agent \"ops-bot\"", "(did you mean `organizations`?)"],
        ),
        (
            "comment.json",
            demo.replacen("{\n", "{\n  // my policy\n", 1),
            "comment.json:2",
            vec!["JSON has no comments", "YAML"],
        ),
    ];
    for (name, text, at, fragments) in cases.into_iter().chain(json_cases) {
        assert!(text != THREE_AGENTS && text != demo, "{name}: the mistake was made");
        write(&dir, name, &text);
        let o = run_in(&dir, &["check", name], "");
        assert_eq!(code(&o), 1, "{name}: {}", out(&o));
        let e = err(&o);
        assert!(e.contains(&format!("{at}")), "{name}: {at} not in {e}");
        for f in fragments {
            assert!(e.contains(f), "{name}: {f:?} not in {e}");
        }
    }
}

#[test]
fn the_json_line_of_an_error_inside_an_agent_is_the_files() {
    let dir = temp_dir("json-line");
    let demo = std::fs::read_to_string(root().join("examples/demo-policy.json")).expect("demo");
    // A wrong type inside the third agent: serde_json's line must count from the file's start.
    let text = demo.replace("\"deny\": [\"delete_project\"]", "\"deny\": \"delete_project\"");
    assert_ne!(text, demo);
    let line = text.lines().position(|l| l.contains("\"deny\": \"delete_project\"")).unwrap() + 1;
    write(&dir, "p.json", &text);
    let o = run_in(&dir, &["check", "p.json"], "");
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains(&format!("p.json:{line}: agent \"ops-bot\"")), "line {line}: {}", err(&o));
}

#[test]
fn warnings_leave_the_exit_status_at_zero() {
    let dir = temp_dir("warnings");
    let no_agents = "upstream: {token_env: SUPABASE_ACCESS_TOKEN}\nagents: []\n";
    let no_access = THREE_AGENTS.replace("    access: {projects: read, database: full}\n", "");
    let typo = THREE_AGENTS.replacen("projects: [abcdefghijklmnopqrst]", "projects: [abcdefghijklmnopqrts]", 1);
    for (name, text, expected) in [
        ("none.yaml", no_agents.to_string(), "warning: the policy has no agents"),
        ("noaccess.yaml", no_access, "warning: noaccess.yaml:18: agent \"acme-ops\" has no access"),
        ("typo.yaml", typo, "warning: typo.yaml:9: agent \"support-bot\": project ref \"abcdefghijklmnopqrts\" is named by no other agent, and is close to \"abcdefghijklmnopqrst\""),
    ] {
        write(&dir, name, &text);
        let o = run_in(&dir, &["check", name], "");
        assert_eq!(code(&o), 0, "{name}: {}", err(&o));
        assert!(err(&o).contains(expected), "{name}: {expected:?} not in {}", err(&o));
    }
}

#[test]
fn check_and_explain_read_the_policy_embedded_in_envoy_configs_and_wasmplugins() {
    for (file, origin) in [
        ("envoy/envoy.yaml", "the Wasm filter's configuration"),
        ("envoy/demo.yaml", "the Wasm filter's configuration"),
        ("envoy/ecds/bollard-filter.yaml", "the Wasm filter's configuration"),
        ("examples/istio/wasmplugin.yaml", "WasmPlugin spec.pluginConfig"),
        ("examples/kong/kong.yaml", "the Kong filter's config"),
    ] {
        let o = bollard(&["check", file]);
        assert_eq!(code(&o), 0, "{file}: {}", err(&o));
        assert!(out(&o).starts_with(&format!("{file} ({origin}): valid")), "{file}: {}", out(&o));
    }
    let o =
        bollard(&["explain", "envoy/demo.yaml", "--agent", "ops-bot", "DELETE", "/v1/projects/abcdefghijklmnopqrst"]);
    assert_eq!(code(&o), 2);
    assert!(out(&o).contains("denied_by_policy"));
    // A mistake inside the embedded policy names the config file's line.
    let dir = temp_dir("embedded");
    let envoy = std::fs::read_to_string(root().join("envoy/envoy.yaml")).expect("envoy.yaml");
    let bad = envoy.replace("\"edge_functions\": \"full\"", "\"edge_functions\": \"fll\"");
    let line = bad.lines().position(|l| l.contains("\"fll\"")).unwrap() + 1;
    write(&dir, "envoy.yaml", &bad);
    let o = run_in(&dir, &["check", "envoy.yaml"], "");
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains(&format!("envoy.yaml:{line} (the Wasm filter's configuration)")), "{}", err(&o));
    assert!(err(&o).contains("(did you mean \"full\"?)"));
    let o = bollard(&["check", "Cargo.toml"]);
    assert_eq!(code(&o), 1);
}

#[test]
fn keygen_print_key_and_hash_agree() {
    let o = bollard(&["keygen", "--print", "key"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let key = out(&o);
    assert!(key.starts_with("sbp_") && key.trim_end().len() == 44 && key.lines().count() == 1, "{key}");
    let h = run_in(&root(), &["hash"], &key);
    assert_eq!(code(&h), 0, "{}", err(&h));
    assert_eq!(out(&h).trim(), bollard::policy::key_sha256(key.trim_end()));
    let h = run_in(&root(), &["hash"], key.trim_end());
    assert_eq!(out(&h).trim(), bollard::policy::key_sha256(key.trim_end()), "with or without the newline");
    let o = bollard(&["keygen", "--agent", "x", "--print", "key_sha256"]);
    assert_eq!(out(&o).trim().len(), 64);
    for (args, stdin, fragment) in [
        (vec!["hash"], "", "no key on stdin"),
        (vec!["hash"], "a\nb\n", "one key at a time"),
        (vec!["hash", "sbp_x"], "", "stdin"),
        (vec!["keygen", "--print", "password"], "", "expected key or key_sha256"),
    ] {
        let o = run_in(&root(), &args, stdin);
        assert_eq!(code(&o), 1, "{args:?}");
        assert!(err(&o).contains(fragment), "{args:?}: {}", err(&o));
    }
    let o = bollard(&["hash", "--help"]);
    assert!(out(&o).starts_with("usage: bollard hash"));
    let o = bollard(&["chek"]);
    assert!(err(&o).contains("(did you mean \"check\"?)"), "{}", err(&o));
}

#[test]
fn a_closed_pipe_is_no_panic() {
    for args in [vec!["catalog"], vec!["catalog", "--format", "markdown"], vec!["audit", "-"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bollard"))
            .args(&args)
            .current_dir(root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run");
        if let Some(mut stdin) = child.stdin.take() {
            let line = r#"{"ts":"2026-11-27T00:00:00Z","agent":"a","decision":"deny","summary":"x","reason":"r","status":403}"#;
            let _ = stdin.write_all(format!("{line}\n").repeat(2000).as_bytes());
        }
        // Read nothing and close the pipe, as `| head -0` would.
        drop(child.stdout.take());
        let o = child.wait_with_output().expect("wait");
        let e = err(&o);
        assert!(!e.contains("panicked"), "{args:?}: {e}");
    }
}

#[test]
fn envoy_config_writes_absolute_checked_paths_from_any_directory() {
    let dir = temp_dir("envoy-config");
    let policy = write(&dir, "policy.yaml", THREE_AGENTS);
    let wasm = root().join("target/wasm32-wasip1/release/bollard.wasm");
    // From another directory, with the filter named explicitly and relative to it.
    let o = run_in(&dir, &["envoy-config", "policy.yaml", "--wasm", s(&wasm)], "");
    assert_eq!(code(&o), 0, "{}", err(&o));
    let t = out(&o);
    let canonical = std::fs::canonicalize(&wasm).unwrap_or(wasm.clone());
    assert!(t.contains(&format!("filename: {}", canonical.display())), "absolute wasm path");
    assert!(t.contains("\"support-bot\""), "the YAML policy is embedded as JSON");
    assert!(t.contains("bollard_requests{decision=\"allow\"}") && !t.contains("envoy_wasmcustom"));
    // A wrong --wasm is caught.
    let o = run_in(&dir, &["envoy-config", "policy.yaml", "--wasm", "nowhere/bollard.wasm"], "");
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("--wasm nowhere/bollard.wasm") && err(&o).contains("make build"), "{}", err(&o));
    // --no-check-wasm: as given (a path in a container).
    let o =
        run_in(&dir, &["envoy-config", "policy.yaml", "--wasm", "/etc/bollard/bollard.wasm", "--no-check-wasm"], "");
    assert_eq!(code(&o), 0);
    assert!(out(&o).contains("filename: /etc/bollard/bollard.wasm"));
    // Without --wasm: the one beside this binary (target/release/bollard → target/wasm32-wasip1/release).
    if wasm.is_file() {
        let o = run_in(&dir, &["envoy-config", s(&policy)], "");
        assert_eq!(code(&o), 0, "{}", err(&o));
        assert!(out(&o).contains("/bollard.wasm\n") && !out(&o).contains("filename: target/"), "absolute");
    }
    let o = run_in(&dir, &["envoy-config", "policy.yaml", "--audit-log", "audit.jsonl", "--wasm", s(&wasm)], "");
    assert!(
        out(&o).contains(&format!("path: {}/audit.jsonl", std::fs::canonicalize(&dir).unwrap().display()))
            || out(&o).contains(&format!("path: {}/audit.jsonl", dir.display()))
    );
}

#[test]
fn envoy_config_ecds_writes_the_hot_reload_pair() {
    let dir = temp_dir("ecds");
    write(&dir, "policy.yaml", THREE_AGENTS);
    let wasm = root().join("target/wasm32-wasip1/release/bollard.wasm");
    let o =
        run_in(&dir, &["envoy-config", "policy.yaml", "--wasm", s(&wasm), "--no-check-wasm", "--ecds", "gateway"], "");
    assert_eq!(code(&o), 0, "{}", err(&o));
    let gateway = std::fs::canonicalize(dir.join("gateway")).unwrap();
    let bootstrap = std::fs::read_to_string(gateway.join("envoy.yaml")).expect("bootstrap");
    let filter = std::fs::read_to_string(gateway.join("bollard-filter.yaml")).expect("filter");
    assert!(bootstrap.contains(&format!("path: {}/bollard-filter.yaml", gateway.display())), "absolute watched path");
    assert!(bootstrap.contains("config_discovery:") && bootstrap.contains("node:"));
    assert!(!bootstrap.contains("\"agents\""), "the policy is only in the filter file");
    assert!(filter.contains("TypedExtensionConfig") && filter.contains("\"support-bot\""));
    // check reads the filter file; a new policy replaces it (and only a valid one is written).
    let o = run_in(&dir, &["check", "gateway/bollard-filter.yaml"], "");
    assert_eq!(code(&o), 0, "{}", err(&o));
    let version = |t: &str| t.lines().find(|l| l.starts_with("version_info:")).map(str::to_string);
    write(&dir, "policy.yaml", &THREE_AGENTS.replace("database: read", "database: full"));
    let o =
        run_in(&dir, &["envoy-config", "policy.yaml", "--wasm", s(&wasm), "--no-check-wasm", "--ecds", "gateway"], "");
    assert_eq!(code(&o), 0);
    let again = std::fs::read_to_string(gateway.join("bollard-filter.yaml")).unwrap();
    assert_ne!(version(&again), version(&filter), "a new version");
    write(&dir, "policy.yaml", &THREE_AGENTS.replace("database: read", "database: raed"));
    let o =
        run_in(&dir, &["envoy-config", "policy.yaml", "--wasm", s(&wasm), "--no-check-wasm", "--ecds", "gateway"], "");
    assert_eq!(code(&o), 1);
    assert_eq!(std::fs::read_to_string(gateway.join("bollard-filter.yaml")).unwrap(), again, "unchanged");
}
