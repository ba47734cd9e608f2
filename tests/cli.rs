//! The `bollard` command, every subcommand and its error paths. Native only: it runs the binary.
#![cfg(not(target_arch = "wasm32"))]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bollard(args: &[&str]) -> Output {
    bollard_stdin(args, "")
}

fn bollard_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bollard"))
        .args(args)
        .current_dir(root())
        .env_remove("SUPABASE_ACCESS_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run bollard");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("bollard output")
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

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bollard-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write temp file");
    p
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn help_for_every_command() {
    for cmd in ["keygen", "check", "explain", "catalog", "audit", "envoy-config"] {
        let o = bollard(&[cmd, "--help"]);
        assert_eq!(code(&o), 0, "{cmd}");
        assert!(out(&o).starts_with(&format!("usage: bollard {cmd}")), "{cmd}: {}", out(&o));
    }
    let o = bollard(&["--help"]);
    assert_eq!(code(&o), 0);
    assert!(out(&o).contains("commands:"));
    let o = bollard(&[]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("usage: bollard"));
    let o = bollard(&["frobnicate"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("unknown command \"frobnicate\""));
    let o = bollard(&["check", "--nope"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("unknown option --nope"));
}

#[test]
fn keygen_makes_a_pat_shaped_key_and_its_hash() {
    let a = bollard(&["keygen", "--agent", "ci-bot"]);
    assert_eq!(code(&a), 0, "{}", err(&a));
    let text = out(&a);
    let field =
        |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string()).unwrap_or_default();
    let key = field("key:");
    assert!(key.starts_with("sbp_") && key.len() == 44, "{key}");
    assert!(key[4..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_eq!(field("key_sha256:"), bollard::policy::key_sha256(&key));
    let b = bollard(&["keygen", "--agent", "ci-bot"]);
    assert_ne!(out(&b), text, "two keys are never the same");

    let j = bollard(&["keygen", "--agent", "ci-bot", "--json"]);
    assert_eq!(code(&j), 0);
    let entry: serde_json::Value = serde_json::from_str(&out(&j)).expect("agent entry is JSON");
    assert_eq!(entry["id"], "ci-bot");
    let key = err(&j).trim().lines().last().unwrap_or_default().to_string();
    assert_eq!(entry["key_sha256"], bollard::policy::key_sha256(&key));
    let policy = format!(r#"{{"upstream":{{"token_env":"T"}},"agents":[{}]}}"#, out(&j));
    let p = bollard::policy::Policy::from_json(&policy).expect("the entry fits a policy");
    assert_eq!(p.agent_by_key(&key).map(|(a, _)| a.id.as_str()), Some("ci-bot"));

    assert_eq!(code(&bollard(&["keygen"])), 1);
    let bad = bollard(&["keygen", "--agent", "CI Bot"]);
    assert_eq!(code(&bad), 1);
    assert!(err(&bad).contains("[a-z0-9_-]"));
}

#[test]
fn check_prints_the_access_matrix() {
    let o = bollard(&["check", "examples/demo-policy.json"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let text = out(&o);
    assert!(text.contains("valid, 3 agents, mode enforce"));
    let header = text.lines().nth(1).expect("header");
    for col in ["agent", "database", "edge_functions", "project refs", "org slugs", "allow", "deny"] {
        assert!(header.contains(col), "{col} missing from {header}");
    }
    let row = text.lines().find(|l| l.starts_with("ci-deployer")).expect("ci-deployer row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    let cols: Vec<&str> = header.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    let at = |name: &str| cols.iter().position(|c| *c == name).and_then(|i| cells.get(i)).copied();
    assert_eq!(at("edge_functions"), Some("full"));
    assert_eq!(at("database"), Some("off"));
    assert_eq!(at("allow"), Some("list_migrations"));
    assert!(text.contains("SUPABASE_ACCESS_TOKEN is not set"));
    // Each agent's SQL classes (issue 13).
    let o = bollard(&["check", "examples/sql-policy.json"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let text = out(&o);
    assert!(text.lines().nth(1).expect("header").contains("  sql  "));
    let line = |id: &str| text.lines().find(|l| l.starts_with(id)).unwrap_or_default().to_string();
    assert!(line("migrator").contains("read,write,ddl; not auth.*,vault.*,storage.*,dblink(),http_get()"), "{text}");
    assert!(line("analyst").contains("read; not auth.*,vault.*,pg_sleep()"), "{text}");
    assert!(line("dba").contains(" all "), "{text}");
}

#[test]
fn check_names_the_culprit() {
    let demo = std::fs::read_to_string(root().join("examples/demo-policy.json")).expect("demo");
    for (text, fragments) in [
        (
            demo.replace("\"storage\": \"read\"", "\"storge\": \"read\""),
            vec!["agent \"mcp-readonly\"", "unknown area \"storge\""],
        ),
        (
            demo.replace("\"list_migrations\"", "\"list_migratoins\""),
            vec!["agent \"ci-deployer\"", "allow", "list_migratoins"],
        ),
        ("{ not json".to_string(), vec!["policy:"]),
    ] {
        let f = temp_file("bad.json", &text);
        let o = bollard(&["check", s(&f)]);
        assert_eq!(code(&o), 1);
        let e = err(&o);
        assert!(e.contains(s(&f)), "the file is named: {e}");
        for frag in fragments {
            assert!(e.contains(frag), "{frag:?} not in {e}");
        }
        assert!(out(&o).is_empty());
    }
    let o = bollard(&["check", "/no/such/policy.json"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("/no/such/policy.json"));
    assert_eq!(code(&bollard(&["check"])), 1);
}

#[test]
fn explain_gives_the_decision_and_its_sentences() {
    let p = "examples/demo-policy.json";
    let o = bollard(&["explain", p, "--agent", "mcp-readonly", "GET", "/v1/projects/abcdefghijklmnopqrst/functions"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let t = out(&o);
    assert!(t.contains("decision:   allow"));
    assert!(t.contains("endpoint:   list_functions (GET /v1/projects/{ref}/functions)"));
    assert!(t.contains("permission: edge_functions_read (read)"));
    assert!(t.contains("reason:     access_read"));
    assert!(t.contains(
        "summary:    Claude (MCP, read-only) asked to list edge functions on project abcdefghijklmnopqrst: allowed"
    ));

    let o = bollard(&[
        "explain",
        p,
        "--agent",
        "mcp-readonly",
        "POST",
        "/v1/projects/abcdefghijklmnopqrst/database/migrations",
    ]);
    assert_eq!(code(&o), 2);
    let t = out(&o);
    assert!(t.contains("decision:   deny") && t.contains("status:     403"));
    assert!(t.contains("message:    Claude (MCP, read-only) may not apply a migration"), "{t}");

    // run_sql with read access depends on the body.
    let sql = "/v1/projects/abcdefghijklmnopqrst/database/query";
    let ro = temp_file("ro.json", r#"{"query":"select 1","read_only":true}"#);
    let rw = temp_file("rw.json", r#"{"query":"drop table t"}"#);
    let o = bollard(&["explain", p, "--agent", "mcp-readonly", "--body", s(&ro), "POST", sql]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(out(&o).contains("reason:     read_only_sql"));
    let o = bollard(&["explain", p, "--agent", "mcp-readonly", "--body", s(&rw), "POST", sql]);
    assert_eq!(code(&o), 2);
    assert!(out(&o).contains("reason:     read_only_required"));
    let o = bollard(&["explain", p, "--agent", "mcp-readonly", "POST", sql]);
    assert_eq!(code(&o), 2);
    assert!(out(&o).contains("depends on the request body"));

    // SQL: the classes, each statement, and the one that decided (issue 13).
    let sp = "examples/sql-policy.json";
    let mig = "/v1/projects/abcdefghijklmnopqrst/database/migrations";
    let m = temp_file("mig.json", r#"{"query":"create table public.w (id int); drop table public.old","name":"m"}"#);
    let o = bollard(&["explain", sp, "--agent", "migrator", "--body", s(&m), "POST", mig]);
    assert_eq!(code(&o), 2, "{}", out(&o));
    let t = out(&o);
    assert!(t.contains("reason:     sql_not_allowed"), "{t}");
    assert!(t.contains("sql:        ddl, destroy (2 statement(s); the agent may run read, write, ddl)"), "{t}");
    assert!(t.contains("2. DROP TABLE public.old: destroy  <- decided"), "{t}");
    assert!(
        t.contains("decided by: statement 2 (DROP TABLE public.old): destroy is not in the agent's sql.allow"),
        "{t}"
    );
    let q = temp_file("q.json", r#"{"query":"select * from public.orders"}"#);
    let o = bollard(&["explain", sp, "--agent", "migrator", "--body", s(&q), "POST", sql]);
    assert_eq!(code(&o), 0, "{}", out(&o));
    assert!(out(&o)
        .contains("summary:    Schema migrator ran SELECT on public.orders on project abcdefghijklmnopqrst: allowed"));

    let o = bollard(&["explain", p, "--agent", "ops-bot", "GET", "/v1/projects/x/../y"]);
    assert_eq!(code(&o), 2);
    assert!(out(&o).contains("status:     400"));

    let o = bollard(&["explain", p, "--agent", "nobody", "GET", "/v1/projects"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("no agent \"nobody\" (agents: mcp-readonly, ci-deployer, ops-bot)"));
    assert_eq!(code(&bollard(&["explain", p, "GET", "/v1/projects"])), 1, "--agent is required");
    assert_eq!(code(&bollard(&["explain", p, "--agent", "ops-bot", "GET"])), 1);
    let o = bollard(&["explain", p, "--agent", "ops-bot", "--body", "/no/body.json", "POST", "/v1/projects"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("/no/body.json"));
}

#[test]
fn catalog_in_three_formats() {
    let md = bollard(&["catalog", "--format", "markdown"]);
    assert_eq!(code(&md), 0);
    let docs = std::fs::read_to_string(root().join("docs/catalog.md")).expect("docs/catalog.md");
    assert_eq!(out(&md), docs, "docs/catalog.md is `bollard catalog --format markdown`");
    let json = bollard(&["catalog", "--format", "json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out(&json)).expect("json");
    assert_eq!(rows.len(), 169);
    assert!(rows
        .iter()
        .any(|r| r["id"] == "run_sql" && r["permissions"][0] == "database_write" && r["class"] == "write"));
    let table = bollard(&["catalog"]);
    assert_eq!(out(&table).lines().count(), 170);
    assert!(out(&table)
        .lines()
        .any(|l| l.starts_with("delete_branch") && l.contains("/v1/branches/{branch_id_or_ref}")));
    let bad = bollard(&["catalog", "--format", "yaml"]);
    assert_eq!(code(&bad), 1);
    assert!(err(&bad).contains("--format \"yaml\""));
}

const AUDIT: &str = r#"{"ts":"2026-11-26T10:00:00.000Z","request_id":"a","agent":"ops-agent","method":"GET","path":"/v1/projects","endpoint":"list_projects","area":"projects","permission":"projects_read","project":null,"organization":null,"decision":"allow","enforced":true,"reason":"access_read","status":200,"duration_ms":1.0,"summary":"Ops Agent asked to list projects: allowed (projects: read)."}
[2026-11-27 10:00:01.000][1][info][wasm] wasm log bollard bollard: {"ts":"2026-11-27T10:00:01.000Z","request_id":"b","agent":"ops-agent","method":"DELETE","path":"/v1/projects/abcdefghijklmnopqrst","endpoint":"delete_project","area":"projects","permission":"project_admin_write","project":"abcdefghijklmnopqrst","organization":null,"decision":"deny","enforced":true,"reason":"permission_denied","status":403,"duration_ms":0.1,"summary":"Ops Agent asked to delete project abcdefghijklmnopqrst: denied (projects: read, needs full)."}
not a record
{"ts":"2026-11-27T10:00:02.000Z","request_id":"c","agent":null,"method":"GET","path":"/v1/projects","endpoint":null,"area":null,"permission":null,"project":null,"organization":null,"decision":"deny","enforced":true,"reason":"missing_key","status":401,"duration_ms":0.1,"summary":"An unidentified caller asked to call GET /v1/projects: refused (no agent key, 401)."}
"#;

#[test]
fn audit_digest_counts_and_filters() {
    let f = temp_file("audit.jsonl", AUDIT);
    let o = bollard(&["audit", s(&f)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let t = out(&o);
    assert!(t.starts_with("3 record(s), 1 line(s) that are not audit records skipped"), "{t}");
    let row =
        |name: &str| t.lines().find(|l| l.starts_with(name)).map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>());
    assert_eq!(row("ops-agent"), Some(vec!["1", "1"]));
    assert_eq!(row("(unidentified)"), Some(vec!["0", "1"]));
    assert!(t.contains("403 permission_denied: Ops Agent asked to delete project abcdefghijklmnopqrst"));
    assert!(!t.contains("asked to list projects: allowed"), "allowed calls are not refusals");

    let o = bollard_stdin(&["audit", "-", "--agent", "ops-agent", "--decision", "deny"], AUDIT);
    assert!(out(&o).starts_with("1 record(s)"), "{}", out(&o));
    let o = bollard(&["audit", s(&f), "--since", "2026-11-27"]);
    assert!(out(&o).starts_with("2 record(s)"), "{}", out(&o));
    let o = bollard_stdin(&["audit"], AUDIT);
    assert!(out(&o).starts_with("3 record(s)"));

    assert_eq!(code(&bollard(&["audit", s(&f), "--decision", "maybe"])), 1);
    assert_eq!(code(&bollard(&["audit", s(&f), "--since", "yesterday"])), 1);
    let o = bollard(&["audit", "/no/such/audit.jsonl"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("/no/such/audit.jsonl"));
}

#[test]
fn envoy_config_embeds_the_policy() {
    let o = bollard(&[
        "envoy-config",
        "examples/policy.json",
        "--wasm",
        "target/wasm32-wasip1/release/bollard.wasm",
        "--no-check-wasm",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let shipped = std::fs::read_to_string(root().join("envoy/envoy.yaml")).expect("envoy.yaml");
    assert_eq!(out(&o), shipped, "envoy/envoy.yaml is `bollard envoy-config examples/policy.json` (make envoy-config)");
    assert!(shipped.contains("sni: api.supabase.com") && shipped.contains("host_rewrite_literal: api.supabase.com"));

    let o = bollard(&[
        "envoy-config",
        "examples/demo-policy.json",
        "--upstream",
        "http://127.0.0.1:8080",
        "--listen",
        "127.0.0.1:18000",
    ]);
    assert_eq!(code(&o), 0);
    let t = out(&o);
    assert!(!t.contains("transport_socket"), "plain HTTP upstream has no TLS");
    assert!(t.contains("port_value: 18000") && t.contains("port_value: 8080"));
    assert!(t.contains("\"id\": \"ci-deployer\""), "the policy is embedded");

    for (args, fragment) in [
        (vec!["envoy-config", "examples/policy.json", "--upstream", "ftp://x"], "--upstream"),
        (vec!["envoy-config", "examples/policy.json", "--listen", "nowhere"], "--listen"),
        (vec!["envoy-config", "/no/policy.json"], "/no/policy.json"),
    ] {
        let o = bollard(&args);
        assert_eq!(code(&o), 1, "{args:?}");
        assert!(err(&o).contains(fragment), "{fragment} not in {}", err(&o));
    }
    let bad = temp_file("bad-policy.json", r#"{"upstream":{"token_env":"T"},"agents":[],"x":1}"#);
    let o = bollard(&["envoy-config", s(&bad)]);
    assert_eq!(code(&o), 1, "an invalid policy is never embedded");
    assert!(out(&o).is_empty());
}

#[test]
fn console_refuses_what_it_cannot_serve() {
    let o = bollard(&["console", "--help"]);
    assert_eq!(code(&o), 0);
    assert!(out(&o).starts_with("usage: bollard console"), "{}", out(&o));
    let o = bollard(&["console"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("expected one POLICY file"), "{}", err(&o));
    let bad = temp_file("console-bad.json", r#"{"upstream": {"token_env": "T"}, "agents": [], "mode": "loose"}"#);
    let o = bollard(&["console", s(&bad)]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("unknown mode \"loose\""), "{}", err(&o));
    let demo = root().join("examples/demo-policy.json");
    let o = bollard(&["console", s(&demo), "--listen", "localhost"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("--listen \"localhost\""), "{}", err(&o));
    // Beyond loopback only when asked for by name: the token crosses the network in
    // clear, and any host name is answered.
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let o = bollard(&["console", s(&demo), "--listen", addr]);
        assert_eq!(code(&o), 1, "{addr}");
        assert!(err(&o).contains("--allow-remote"), "{addr}: {}", err(&o));
        assert!(!out(&o).contains("token="), "{addr}: {}", out(&o));
    }
    let not_ecds = temp_file("console-not-ecds.yaml", "version_info: \"1\"\n");
    let o = bollard(&["console", s(&demo), "--ecds", s(&not_ecds), "--listen", "127.0.0.1:0"]);
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("value: |"), "{}", err(&o));
}

/// A `bollard console` on a free loopback port, stopped when dropped.
struct Console {
    child: std::process::Child,
    /// Its address, `127.0.0.1:PORT`.
    addr: String,
    token: String,
    // Kept open: the console writes to its standard output after the URL.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Console {
    fn start(test: &str, extra: &[&str]) -> Console {
        use std::io::BufRead;
        let policy = temp_file(&format!("{test}-policy.json"), include_str!("../examples/demo-policy.json"));
        let audit = policy.with_file_name(format!("{test}-audit.jsonl"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_bollard"))
            .args(["console", s(&policy), "--audit", s(&audit)])
            .args(if extra.contains(&"--listen") { &[][..] } else { &["--listen", "127.0.0.1:0"][..] })
            .args(extra)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run bollard console");
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        while !line.starts_with("open: ") {
            line.clear();
            assert!(stdout.read_line(&mut line).expect("console output") > 0, "the console printed no URL");
        }
        let url = line.trim().trim_start_matches("open: http://");
        let (addr, token) = url.split_once("/?token=").expect("a URL with a token");
        Console { addr: addr.to_string(), token: token.to_string(), child, _stdout: stdout }
    }

    /// Sends `request` as written on a new connection and returns the answer (empty if none
    /// came within five seconds).
    fn raw(&self, request: &str) -> String {
        use std::io::Read;
        let mut c = std::net::TcpStream::connect(&self.addr).expect("connect to the console");
        c.set_read_timeout(Some(std::time::Duration::from_secs(5))).expect("timeout");
        c.write_all(request.as_bytes()).expect("send");
        let mut answer = Vec::new();
        let _ = c.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    }

    fn get(&self, path: &str, token: Option<&str>) -> String {
        let token = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
        self.raw(&format!("GET {path} HTTP/1.1\r\nHost: {}\r\n{token}Connection: close\r\n\r\n", self.addr))
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().expect("console status").is_none()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn console_is_not_held_or_stopped_by_a_body_it_never_gets() {
    let mut console = Console::start("console-body", &[]);
    assert!(console.get("/api/state", None).starts_with("HTTP/1.1 401"));
    // A declared body far beyond memory, of which three bytes come, then the connection ends.
    let mut huge = std::net::TcpStream::connect(&console.addr).expect("connect");
    let head =
        format!("POST /api/save HTTP/1.1\r\nHost: {}\r\nContent-Length: 999999999999999\r\n\r\nabc", console.addr);
    huge.write_all(head.as_bytes()).expect("send");
    drop(huge);
    // A declared body that never comes, on a connection left open.
    let mut stalled = std::net::TcpStream::connect(&console.addr).expect("connect");
    let head = format!("POST /api/save HTTP/1.1\r\nHost: {}\r\nContent-Length: 100000\r\n\r\nabc", console.addr);
    stalled.write_all(head.as_bytes()).expect("send");
    std::thread::sleep(std::time::Duration::from_millis(300));
    // The console still answers, and answers the operator.
    assert!(console.get("/api/state", None).starts_with("HTTP/1.1 401"), "the console no longer answers");
    assert!(console.running(), "the console stopped");
    let token = console.token.clone();
    let state = console.get("/api/state", Some(&token));
    assert!(state.starts_with("HTTP/1.1 200") && state.contains("\"agents\""), "{state}");
    drop(stalled);
}

#[test]
fn console_answers_to_the_loopback_address_it_was_given() {
    let mut console = Console::start("console-loopback", &["--listen", "127.0.0.2:0"]);
    assert!(console.addr.starts_with("127.0.0.2:"), "{}", console.addr);
    let token = console.token.clone();
    let state = console.get("/api/state", Some(&token));
    assert!(state.starts_with("HTTP/1.1 200"), "{state}");
    let other = console.raw(&format!(
        "GET /api/state HTTP/1.1\r\nHost: attacker.example\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    ));
    assert!(other.starts_with("HTTP/1.1 421"), "{other}");
    assert!(console.running());
}
