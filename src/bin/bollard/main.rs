//! `bollard`: keys, policy checks, decisions explained, audit digests and Envoy configs, built
//! from the same core as the filter.

mod args;
mod audit_digest;
mod check;
#[cfg(not(target_arch = "wasm32"))]
mod console;
mod envoy_config;
mod keys;
mod lifecycle;
mod policy_doc;
mod policy_source;

use std::io::Read;
use std::process::ExitCode;

use args::Args;
use bollard::audit::{AuditRecord, Completion};
use bollard::catalog::Catalog;
use bollard::decision::{decide_for, Request, Verdict};
use bollard::policy::{suggest, Agent, Policy};
use bollard::sql::{Judgement, SqlRefusal, SqlRules};

const USAGE: &str = "\
bollard: the command-line companion of the Bollard proxy-wasm filter

usage: bollard <command> [options]

commands:
  keygen --agent ID [--json] | --print key|key_sha256
                                      a new agent key and its key_sha256
  hash                                the key_sha256 of a key read from stdin
  check POLICY [--agent ID] [--prune] validate a policy as the filter does; print the access matrix,
                                      or the endpoints of one agent; warn about likely mistakes;
                                      list grants and ending keys (--prune removes expired ones)
  explain POLICY --agent ID METHOD PATH [--body FILE] [--at TIME]
                                      the decision for one request, with its reason and sentences
  catalog [--format table|markdown|json]
                                      every endpoint the filter knows
  audit [FILE|-] [--agent ID] [--decision allow|deny] [--since TIME]
                                      a digest of audit JSON lines
  envoy-config POLICY [--upstream URL] [--listen ADDR] [--wasm PATH] [--audit-log PATH] [--ecds DIR]
                                      a complete Envoy config with the filter and the policy
  console POLICY [--audit FILE] [--ecds FILE] [--listen ADDR]
                                      a local web console: agents' access, activity, approvals
  rotate AGENT POLICY [--keep-old-for 24h]
                                      a new key for AGENT, the old one kept for a while
  approve ID --policy FILE --by NAME [--for 15m] [--uses 1] [--audit FILE]
                                      a person's approval of the call an approval_required named
  grant AGENT --policy FILE --for 1h --reason TEXT [--access AREA=LEVEL]... [--allow ID]...
                                      more access for a while (an elevation)

POLICY is a policy in JSON or YAML, or an Envoy config or Istio WasmPlugin that embeds one.
Run `bollard <command> --help` for one command. Exit status: 0 success (for explain: allowed),
1 error (bad arguments, unreadable or invalid input), 2 explain: denied.";

const COMMANDS: [&str; 12] = [
    "keygen",
    "hash",
    "check",
    "explain",
    "catalog",
    "audit",
    "envoy-config",
    "console",
    "rotate",
    "approve",
    "grant",
    "help",
];

/// What a command returns: its exit status, or an error printed on stderr with status 1.
type Outcome = Result<ExitCode, String>;

fn main() -> ExitCode {
    restore_sigpipe();
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
        "keygen" => keys::keygen(rest),
        "hash" => keys::hash(rest),
        "check" => check::run(rest),
        "explain" => explain(rest),
        "catalog" => catalog(rest),
        "audit" => audit_digest::run(rest),
        "envoy-config" => envoy_config::run(rest),
        #[cfg(not(target_arch = "wasm32"))]
        "console" => console::run(rest),
        "rotate" => lifecycle::rotate(rest),
        "approve" => lifecycle::approve(rest),
        "grant" => lifecycle::grant(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        "--version" | "version" => {
            println!("bollard {}", bollard::VERSION);
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command {other:?}{}\n\n{USAGE}", suggest::hint(other, COMMANDS.iter().copied()))),
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("bollard {command}: {message}");
            ExitCode::from(1)
        }
    }
}

/// A closed pipe (`bollard catalog | head`) ends the program quietly, as it does any Unix
/// tool, instead of a panic in `println!`: Rust ignores SIGPIPE by default.
fn restore_sigpipe() {
    #[cfg(unix)]
    {
        extern "C" {
            fn signal(signum: i32, handler: usize) -> usize;
        }
        const SIGPIPE: i32 = 13;
        const SIG_DFL: usize = 0;
        // SAFETY: resets one signal's disposition to the default before any thread starts.
        unsafe {
            signal(SIGPIPE, SIG_DFL);
        }
    }
}

fn help(command: &str) -> String {
    let text = match command {
        "keygen" => {
            "usage: bollard keygen --agent ID [--json]\n       bollard keygen [--agent ID] --print key|key_sha256\n\n\
            Makes a key from the operating system's randomness, shaped like a Supabase personal access\n\
            token (sbp_ + 40 lowercase hex), and prints it with its SHA-256. Hand the key to the agent;\n\
            paste key_sha256 into the policy. With --json, prints a ready agent entry on stdout and the\n\
            key alone on the last line of stderr. With --print key, prints only the key (then\n\
            `bollard hash` gives its key_sha256)."
        }
        "hash" => {
            "usage: bollard hash   (echo -n \"$KEY\" | bollard hash)\n\n\
            Reads one key from stdin (a final line ending is not part of it) and prints its key_sha256,\n\
            the value an agent's entry in the policy holds. The key is read from stdin so that it stays\n\
            out of the shell's history and the process list."
        }
        "check" => {
            "usage: bollard check POLICY [--agent ID] [--prune]\n\n\
            Validates POLICY exactly as the filter's on_configure does (exit 1, and FILE:LINE: with the\n\
            culprit on error), then prints the access matrix: one row per agent, one column per area it\n\
            uses, with projects, organizations and exceptions. With --agent, lists the endpoints that\n\
            agent may call instead. POLICY is JSON or YAML, or an Envoy config (the Wasm filter's\n\
            configuration, ECDS files too) or an Istio WasmPlugin (spec.pluginConfig) that embeds it.\n\
            Warnings (on stderr, exit 0): no agents, an agent with no access, a project ref or\n\
            organization only one agent names and that is close to another agent's (a typo?). Notes\n\
            when the token variable is not set in this shell. Then the grants (in force, not yet,\n\
            expired) and keys with an end date; --prune first removes expired grants and keys (never\n\
            an agent's last key) from a JSON policy file, replacing it atomically."
        }
        "explain" => {
            "usage: bollard explain POLICY --agent ID METHOD PATH [--body FILE] [--project-organization SLUG] [--at TIME]\n\n\
            Decides one request for agent ID with the filter's own decision code and prints the decision,\n\
            endpoint, permission, reason, the refusal message and the audit summary. Exit 0 when allowed,\n\
            2 when denied. --body FILE is the JSON request body, for the decisions that read it\n\
            (run_sql with read access, create_project, calls the approve list names, whose approval\n\
            id binds the body, and every endpoint that carries SQL, whose statements it lists with their\n\
            classes and the one that decided); without it they are decided as without a body. --at TIME\n\
            (RFC 3339) decides as at that time, for keys and grants that start or end; default now.\n\
            For an agent with projects: {organizations: [...]}, the gateway learns a project's\n\
            organization from Supabase; --project-organization SLUG says it here (unknown otherwise).\n\
            POLICY is read as by check (JSON, YAML, an Envoy config or a WasmPlugin)."
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
            "usage: bollard envoy-config POLICY [--upstream URL] [--listen ADDR] [--admin ADDR]\n\
            \x20                            [--wasm PATH] [--audit-log PATH] [--ecds DIR] [--no-check-wasm]\n\n\
            Validates POLICY (JSON or YAML) and writes a complete Envoy config to stdout with the filter\n\
            and the policy (as JSON) embedded. Paths in the output are absolute, so Envoy can start from\n\
            any directory. Defaults: --upstream https://api.supabase.com (TLS, SNI, certificate\n\
            validation, host rewrite), --listen 127.0.0.1:10000, --admin 127.0.0.1:9901 (Envoy's admin\n\
            interface: /ready, /stats/prometheus), --audit-log /tmp/bollard-audit.jsonl,\n\
            --wasm the bollard.wasm that `make build` wrote (./target/wasm32-wasip1/release/, or the one\n\
            beside this bollard binary: target/wasm32-wasip1/release/ for target/release/bollard, the\n\
            same directory in a release tarball). The wasm must exist; --no-check-wasm writes --wasm as\n\
            given, unchecked (a path inside a container or on another machine).\n\n\
            --ecds DIR writes the hot-reload pair instead of printing: DIR/envoy.yaml (Envoy takes the\n\
            filter's configuration from DIR/bollard-filter.yaml, a watched file) and\n\
            DIR/bollard-filter.yaml. Run it again with a changed policy to reload it: the filter file is\n\
            replaced atomically (written beside it, then renamed), and Envoy applies it to new requests\n\
            without a restart; a policy the filter refuses leaves the previous one serving."
        }
        #[cfg(not(target_arch = "wasm32"))]
        "console" => console::HELP,
        other => lifecycle::help(other).unwrap_or(USAGE),
    };
    text.to_string()
}

pub(crate) fn read_input(path: &str) -> Result<String, String> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| format!("stdin: {e}"))?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

/// The agent with this id, or an error naming the agents there are (and the closest one).
fn find_agent<'p>(policy: &'p Policy, origin: &str, id: &str) -> Result<&'p Agent, String> {
    policy.agent(id).ok_or_else(|| {
        let known: Vec<&str> = policy.agents().iter().map(|x| x.id.as_str()).collect();
        format!("{origin}: no agent {id:?}{} (agents: {})", suggest::hint(id, known.iter().copied()), known.join(", "))
    })
}

pub(crate) fn one_positional<'a>(a: &'a Args, what: &str) -> Result<&'a str, String> {
    match a.positional.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("missing {what}")),
        _ => Err(format!("expected one {what}, got {}", a.positional.len())),
    }
}

/// Left-aligned columns, two spaces apart.
pub(crate) fn table(rows: &[Vec<String>]) -> String {
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
    let a = Args::parse(raw, &["--agent", "--body", "--project-organization", "--at"], &[])?;
    let [path, method, target] = a.positional.as_slice() else {
        return Err("expected POLICY METHOD PATH (see --help)".into());
    };
    let id = a.value("--agent").ok_or("--agent ID is required")?;
    let loaded = policy_source::load(path)?;
    let policy = &loaded.policy;
    let agent = find_agent(policy, &loaded.origin, id)?;
    let body = a.value("--body").map(read_input).transpose()?;
    let catalog = Catalog::new()?;
    let now_ms = match a.value("--at") {
        Some(t) => bollard::time::parse_rfc3339(t)
            .ok_or_else(|| format!("--at {t:?}: expected an RFC 3339 time such as 2027-01-01T00:00:00Z"))?,
        None => lifecycle::now_ms(),
    };
    let request = Request { method, target, authorization: &[], method_override: false, now_ms };
    let mut d = decide_for(policy, &catalog, agent, &request);
    let depends_on_body = d.body_check.is_some();
    if depends_on_body {
        // As the filter does: the body sent (JSON), or a request without one.
        match &body {
            Some(b) => d.apply_body(policy, Some("application/json"), b.as_bytes()),
            None => d.apply_body(policy, None, b""),
        }
    }
    let depends_on_branch = d.branch_lookup.is_some();
    if depends_on_branch {
        // Only the gateway can ask Supabase which project a branch belongs to.
        d.apply_branch_parent(policy, None);
    }
    let depends_on_organization = d.organization_lookup.is_some();
    // The gateway asks Supabase which organization the project belongs to; here the user says.
    let project_organization = a.value("--project-organization");
    d.apply_project_organization(policy, project_organization);
    let counts_a_use = d.approval_use().cloned();
    if let Some(check) = &counts_a_use {
        // Only the gateway counts an approval's uses; decided here as its first use.
        d.apply_use(policy, Some(bollard::approval::take_use(check, None)));
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
    if let Some(id) = d.approval.as_ref().and_then(|x| x.id.as_deref()) {
        println!("approval:   {id}");
    }
    if let Some(g) = d.grant {
        println!("grant:      {} ({}, until {})", g.id, g.kind_name(), bollard::time::rfc3339_secs(g.not_after_ms));
    }
    if let Some(j) = &d.sql {
        print_sql(j, &agent.sql);
    }
    if d.verdict == Verdict::Deny {
        println!("message:    {}", bollard::refusal::message(&d, method));
    }
    println!("summary:    {}", record.summary);
    if depends_on_branch {
        println!("note:       the gateway allows this only if the branch (or project ref) belongs to one of the agent's projects, which it learns from Supabase; decided here as unknown");
    }
    if depends_on_organization && project_organization.is_none() {
        println!("note:       the agent's projects are those of organization(s) {}: the gateway learns this project's organization from Supabase; decided here as unknown (pass --project-organization SLUG)", agent.project_organizations.join(", "));
    }
    if counts_a_use.is_some() {
        println!("note:       the gateway lets an approved call pass as many times as the approval's uses, counted per Envoy instance; decided here as its first use");
    }
    if depends_on_body && body.is_none() {
        println!("note:       this decision depends on the request body; pass it with --body FILE");
    }
    Ok(if d.verdict == Verdict::Allow { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

/// What the SQL guard saw: the classes, each statement, and the one that decided.
fn print_sql(j: &Judgement, rules: &SqlRules) {
    const SHOWN: usize = 20;
    println!(
        "sql:        {} ({} statement(s); the agent may run {})",
        j.classes.describe(),
        j.statements.len(),
        rules.allow.describe()
    );
    for s in j.statements.iter().take(SHOWN) {
        let mark = if Some(s.index) == j.deciding().map(|d| d.index) { "  <- decided" } else { "" };
        let parsed = if s.parse_error.is_some() { ", not parsed" } else { "" };
        println!("            {}. {}: {}{parsed}{mark}", s.index, s.describe(), s.classes.describe());
    }
    if j.statements.len() > SHOWN {
        println!("            ... {} more", j.statements.len() - SHOWN);
    }
    if let Some(s) = j.deciding() {
        let why = match &j.refusal {
            None => format!("allowed; its most powerful class is {}", s.class()),
            Some(SqlRefusal::Class(c)) => format!("{c} is not in the agent's sql.allow"),
            Some(SqlRefusal::Schema(x)) => format!("schema {x} is in sql.deny_schemas"),
            Some(SqlRefusal::Function(f)) => format!("function {f} is in sql.deny_functions"),
            Some(SqlRefusal::Unparsed(e)) => format!("not parsed: {e}"),
        };
        println!("decided by: statement {} ({}): {why}", s.index, s.describe());
    }
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
