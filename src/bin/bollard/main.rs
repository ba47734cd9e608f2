//! `bollard`: keys, policy checks, decisions explained, audit digests and Envoy configs, built
//! from the same core as the filter.

mod args;
mod audit_digest;
#[cfg(not(target_arch = "wasm32"))]
mod console;
mod envoy_config;

use std::io::Read;
use std::process::ExitCode;

use args::Args;
use bollard::audit::{AuditRecord, Completion};
use bollard::catalog::{Area, Catalog};
use bollard::decision::{decide_for, Request, Verdict};
use bollard::policy::{key_sha256, Level, Policy, Scope};

const USAGE: &str = "\
bollard: the command-line companion of the Bollard proxy-wasm filter

usage: bollard <command> [options]

commands:
  keygen --agent ID [--json]          a new agent key and its key_sha256
  check POLICY                        validate a policy as the filter does; print the access matrix
  explain POLICY --agent ID METHOD PATH [--body FILE]
                                      the decision for one request, with its reason and sentences
  catalog [--format table|markdown|json]
                                      every endpoint the filter knows
  audit [FILE|-] [--agent ID] [--decision allow|deny] [--since TIME]
                                      a digest of audit JSON lines
  envoy-config POLICY [--upstream URL] [--listen ADDR] [--wasm PATH] [--audit-log PATH]
                                      a complete Envoy config with the filter and the policy
  console POLICY [--audit FILE] [--ecds FILE] [--listen ADDR]
                                      a local web console: agents' access, activity, approvals

Run `bollard <command> --help` for one command. Exit status: 0 success (for explain: allowed),
1 error (bad arguments, unreadable or invalid input), 2 explain: denied.";

/// What a command returns: its exit status, or an error printed on stderr with status 1.
type Outcome = Result<ExitCode, String>;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(1);
    };
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        println!("{}", help(command));
        return ExitCode::SUCCESS;
    }
    let outcome = match command.as_str() {
        "keygen" => keygen(rest),
        "check" => check(rest),
        "explain" => explain(rest),
        "catalog" => catalog(rest),
        "audit" => audit_digest::run(rest),
        "envoy-config" => envoy_config_cmd(rest),
        #[cfg(not(target_arch = "wasm32"))]
        "console" => console::run(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        "--version" | "version" => {
            println!("bollard {}", bollard::VERSION);
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("bollard {command}: {message}");
            ExitCode::from(1)
        }
    }
}

fn help(command: &str) -> String {
    let text = match command {
        "keygen" => {
            "usage: bollard keygen --agent ID [--json]\n\n\
            Makes a key from the operating system's randomness, shaped like a Supabase personal access\n\
            token (sbp_ + 40 lowercase hex), and prints it with its SHA-256. Hand the key to the agent;\n\
            paste key_sha256 into the policy. With --json, prints a ready agent entry on stdout and the\n\
            key on stderr."
        }
        "check" => {
            "usage: bollard check POLICY\n\n\
            Validates POLICY exactly as the filter's on_configure does (exit 1 and the culprit on error),\n\
            then prints the access matrix: one row per agent, one column per area it uses, with projects,\n\
            organizations and exceptions. Notes when the token variable is not set in this shell."
        }
        "explain" => {
            "usage: bollard explain POLICY --agent ID METHOD PATH [--body FILE]\n\n\
            Decides one request for agent ID with the filter's own decision code and prints the decision,\n\
            endpoint, permission, reason, the refusal message and the audit summary. Exit 0 when allowed,\n\
            2 when denied. --body FILE is the JSON request body, for the decisions that read it\n\
            (run_sql with read access, create_project); without it they are decided as without a body."
        }
        "catalog" => {
            "usage: bollard catalog [--format table|markdown|json]\n\n\
            Prints every endpoint with id, method, path, area, permission and class. docs/catalog.md is\n\
            the markdown form."
        }
        "audit" => {
            "usage: bollard audit [FILE|-] [--agent ID] [--decision allow|deny] [--since TIME]\n\n\
            Reads audit JSON lines (or Envoy log lines carrying them) from FILE or stdin and prints calls\n\
            per agent and decision, then the refusals with their sentences. TIME is RFC 3339 or a date\n\
            (2026-11-27), compared with each record's ts."
        }
        "envoy-config" => {
            "usage: bollard envoy-config POLICY [--upstream URL] [--listen ADDR] [--wasm PATH] [--audit-log PATH]\n\n\
            Validates POLICY and writes a complete Envoy config to stdout with the filter and the policy\n\
            embedded. Defaults: --upstream https://api.supabase.com (TLS, SNI, certificate validation,\n\
            host rewrite), --listen 127.0.0.1:10000, --wasm target/wasm32-wasip1/release/bollard.wasm,\n\
            --audit-log /tmp/bollard-audit.jsonl."
        }
        #[cfg(not(target_arch = "wasm32"))]
        "console" => console::HELP,
        _ => USAGE,
    };
    text.to_string()
}

fn read_input(path: &str) -> Result<String, String> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| format!("stdin: {e}"))?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

fn load_policy(path: &str) -> Result<Policy, String> {
    let text = read_input(path)?;
    Policy::from_json(&text).map_err(|e| format!("{path}: {e}"))
}

fn one_positional<'a>(a: &'a Args, what: &str) -> Result<&'a str, String> {
    match a.positional.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("missing {what}")),
        _ => Err(format!("expected one {what}, got {}", a.positional.len())),
    }
}

fn keygen(raw: &[String]) -> Outcome {
    let a = Args::parse(raw, &["--agent"], &["--json"])?;
    if !a.positional.is_empty() {
        return Err(format!("unexpected argument {:?}", a.positional[0]));
    }
    let id = a.value("--agent").ok_or("--agent ID is required")?;
    if !bollard::policy::valid_agent_id(id) {
        return Err(format!("--agent {id:?}: an agent id must match [a-z0-9_-]{{1,64}}"));
    }
    let mut bytes = [0u8; 20];
    let mut urandom = std::fs::File::open("/dev/urandom").map_err(|e| format!("/dev/urandom: {e}"))?;
    urandom.read_exact(&mut bytes).map_err(|e| format!("/dev/urandom: {e}"))?;
    let key: String = std::iter::once("sbp_".to_string()).chain(bytes.iter().map(|b| format!("{b:02x}"))).collect();
    let digest = key_sha256(&key);
    if a.has("--json") {
        let entry = format!(
            "{{\n  \"id\": \"{id}\",\n  \"name\": \"{id}\",\n  \"key_sha256\": \"{digest}\",\n  \"projects\": [],\n  \"organizations\": [],\n  \"access\": {{}}\n}}"
        );
        println!("{entry}");
        eprintln!("key for {id} (hand it to the agent; it is not stored anywhere): {key}");
    } else {
        println!("agent:      {id}");
        println!("key:        {key}");
        println!("key_sha256: {digest}");
        println!("\nHand the key to the agent (it sends it as 'Authorization: Bearer <key>');");
        println!("put key_sha256 in the agent's entry of the policy. The key is not stored anywhere.");
    }
    Ok(ExitCode::SUCCESS)
}

fn scope_text(s: &Scope) -> String {
    match s {
        Scope::All => "*".into(),
        Scope::Only(v) if v.is_empty() => "-".into(),
        Scope::Only(v) => v.join(","),
    }
}

fn check(raw: &[String]) -> Outcome {
    let a = Args::parse(raw, &[], &[])?;
    let path = one_positional(&a, "POLICY file")?;
    let policy = load_policy(path)?;
    let areas: Vec<Area> = Area::ALL
        .iter()
        .copied()
        .filter(|&area| policy.agents().iter().any(|ag| ag.level(area) != Level::Off))
        .collect();
    println!("{path}: valid, {} agent(s), mode {}", policy.agents().len(), policy.mode.as_str());
    let mut header = vec!["agent".to_string()];
    header.extend(areas.iter().map(|a| a.name().to_string()));
    header.extend(["project refs", "org slugs", "allow", "deny", "per minute"].map(String::from));
    let mut rows = vec![header];
    for ag in policy.agents() {
        let mut row = vec![ag.id.clone()];
        row.extend(areas.iter().map(|&area| ag.level(area).as_str().to_string()));
        row.push(scope_text(&ag.projects));
        row.push(scope_text(&ag.organizations));
        row.push(if ag.allow.is_empty() { "-".into() } else { ag.allow.join(",") });
        row.push(if ag.deny.is_empty() { "-".into() } else { ag.deny.join(",") });
        row.push(match &ag.rate_limit {
            None => "-".into(),
            Some(rl) if rl.endpoints.is_empty() => rl.per_minute.to_string(),
            Some(rl) => {
                let each: Vec<String> = rl
                    .endpoints
                    .iter()
                    .filter_map(|&(i, n)| Catalog::endpoints().get(i).map(|e| format!("{}:{n}", e.id)))
                    .collect();
                format!("{} ({})", rl.per_minute, each.join(","))
            }
        });
        rows.push(row);
    }
    print!("{}", table(&rows));
    let others = Area::ALL.len() - areas.len();
    if others > 0 {
        println!("Every other area ({others}) is off for every agent.");
    }
    if std::env::var_os(&policy.token_env).is_none() {
        println!(
            "note: {} is not set in this shell; Envoy's VM needs it (vm_config.environment_variables.host_env_keys), or the filter refuses to start.",
            policy.token_env
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Left-aligned columns, two spaces apart.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn explain(raw: &[String]) -> Outcome {
    let a = Args::parse(raw, &["--agent", "--body"], &[])?;
    let [path, method, target] = a.positional.as_slice() else {
        return Err("expected POLICY METHOD PATH (see --help)".into());
    };
    let id = a.value("--agent").ok_or("--agent ID is required")?;
    let policy = load_policy(path)?;
    let agent = policy.agent(id).ok_or_else(|| {
        let known: Vec<&str> = policy.agents().iter().map(|x| x.id.as_str()).collect();
        format!("{path}: no agent {id:?} (agents: {})", known.join(", "))
    })?;
    let body = a.value("--body").map(read_input).transpose()?;
    let catalog = Catalog::new()?;
    let request = Request { method, target, authorization: &[], method_override: false };
    let mut d = decide_for(&policy, &catalog, agent, &request);
    let depends_on_body = d.body_check.is_some();
    if depends_on_body {
        // As the filter does: the body sent (JSON), or a request without one.
        match &body {
            Some(b) => d.apply_body(&policy, Some("application/json"), b.as_bytes()),
            None => d.apply_body(&policy, None, b""),
        }
    }
    let depends_on_branch = d.branch_lookup.is_some();
    if depends_on_branch {
        // Only the gateway can ask Supabase which project a branch belongs to.
        d.apply_branch_parent(&policy, None);
    }
    let status = d.refusal_status();
    let record = AuditRecord::new(
        &d,
        method,
        target,
        Completion { unix_ms: 0, request_id: None, status: status.unwrap_or(200), duration_ms: 0.0 },
    );
    let enforced = if d.enforced { "enforced" } else { "not enforced: monitor mode forwards it" };
    println!("decision:   {} ({enforced})", d.verdict.as_str());
    match status {
        Some(s) => println!("status:     {s} from the gateway; not forwarded"),
        None => println!("status:     forwarded to Supabase with the real token"),
    }
    match d.endpoint {
        Some(e) => {
            println!("endpoint:   {} ({} {})", e.id, e.method, e.path);
            println!("area:       {} (agent's level: {})", e.area.name(), agent.level(e.area).as_str());
            let perms = if e.permissions.is_empty() { "(none)".to_string() } else { e.permissions.join(" + ") };
            println!("permission: {perms} ({})", e.class().as_str());
        }
        None => println!("endpoint:   (none)"),
    }
    if let Some(p) = d.project() {
        println!("project:    {p}");
    }
    if let Some(o) = d.organization() {
        println!("organization: {o}");
    }
    println!("reason:     {}", d.reason.code());
    if d.verdict == Verdict::Deny {
        println!("message:    {}", bollard::refusal::message(&d, method));
    }
    println!("summary:    {}", record.summary);
    if depends_on_branch {
        println!("note:       the gateway allows this only if the branch (or project ref) belongs to one of the agent's projects, which it learns from Supabase; decided here as unknown");
    }
    if depends_on_body && body.is_none() {
        println!("note:       this decision depends on the request body; pass it with --body FILE");
    }
    Ok(if d.verdict == Verdict::Allow { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn catalog(raw: &[String]) -> Outcome {
    let a = Args::parse(raw, &["--format"], &[])?;
    if !a.positional.is_empty() {
        return Err(format!("unexpected argument {:?}", a.positional[0]));
    }
    match a.value("--format").unwrap_or("table") {
        "markdown" => print!("{}", Catalog::markdown()),
        "json" => {
            let rows: Vec<serde_json::Value> = Catalog::endpoints()
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "id": e.id, "method": e.method.as_str(), "path": e.path, "area": e.area.name(),
                        "permissions": e.permissions, "class": e.class().as_str()
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?);
        }
        "table" => {
            let mut rows = vec![["id", "method", "path", "area", "permission", "class"].map(String::from).to_vec()];
            for e in Catalog::endpoints() {
                let perms = if e.permissions.is_empty() { "-".to_string() } else { e.permissions.join("+") };
                rows.push(vec![
                    e.id.into(),
                    e.method.as_str().into(),
                    e.path.into(),
                    e.area.name().into(),
                    perms,
                    e.class().as_str().into(),
                ]);
            }
            print!("{}", table(&rows));
        }
        other => return Err(format!("--format {other:?}: expected table, markdown or json")),
    }
    Ok(ExitCode::SUCCESS)
}

fn envoy_config_cmd(raw: &[String]) -> Outcome {
    let a = Args::parse(raw, &["--upstream", "--listen", "--wasm", "--audit-log"], &[])?;
    let path = one_positional(&a, "POLICY file")?;
    let text = read_input(path)?;
    let policy = Policy::from_json(&text).map_err(|e| format!("{path}: {e}"))?;
    let upstream = envoy_config::parse_upstream(a.value("--upstream").unwrap_or("https://api.supabase.com"))?;
    let listen = envoy_config::parse_listen(a.value("--listen").unwrap_or("127.0.0.1:10000"))?;
    let options = envoy_config::Options {
        policy_text: &text,
        listen,
        upstream,
        wasm: a.value("--wasm").unwrap_or("target/wasm32-wasip1/release/bollard.wasm"),
        audit_log: a.value("--audit-log").unwrap_or("/tmp/bollard-audit.jsonl"),
        token_env: &policy.token_env,
    };
    print!("{}", envoy_config::render(&options));
    Ok(ExitCode::SUCCESS)
}
