//! `bollard console`: a local web console for one policy file. The page, its script and its
//! style are built into the binary; the server answers on loopback unless told otherwise, and
//! only to whoever holds the access token it prints.

mod activity;
mod auth;
mod diff;
mod doc;
mod explain;
mod grants;
mod store;
mod time;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use bollard::catalog::{Area, Catalog};
use bollard::policy::{Agent, Policy, Scope};
use serde::Deserialize;
use serde_json::{json, Value};
use tiny_http::{Header, Method, Request, Response, Server};

use crate::args::Args;
use auth::{Gate, Secrets};
use doc::Doc;
use store::{AgentEdit, Store};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");
/// The largest request body the console reads.
const MAX_BODY: u64 = 1 << 20;
/// The largest declared body whose unread rest is drained after a 413: tiny_http drains a
/// dropped request into one allocation of that rest.
const MAX_DRAIN: u64 = 64 << 20;

pub const HELP: &str =
    "usage: bollard console POLICY [--audit FILE] [--ecds FILE] [--listen ADDR [--allow-remote]]\n\n\
Serves a web console for POLICY: each agent's access area by area (Off / Read / Full) with the\n\
change spelled out before it is saved, the audit trail, approvals and explanations. Changes are\n\
validated as the filter validates them, written atomically, and recorded in the audit file.\n\n\
  --audit FILE   the audit trail to read and to record changes in (default /tmp/bollard-audit.jsonl)\n\
  --ecds FILE    also write each saved policy into this ECDS file (envoy/ecds/bollard-filter.yaml),\n\
                 which a running Envoy watches: changes apply without a restart\n\
  --listen ADDR  where to serve (default 127.0.0.1:8780; port 0 picks a free one)\n\
  --allow-remote let --listen be an address beyond loopback: the access token then crosses\n\
                 the network in clear, and any host name is answered\n\n\
It prints a URL with a random access token; only that URL opens the console.";

pub fn run(raw: &[String]) -> Result<ExitCode, String> {
    let a = Args::parse(raw, &["--audit", "--ecds", "--listen"], &["--allow-remote"])?;
    let [policy_path] = a.positional.as_slice() else {
        return Err("expected one POLICY file (see --help)".into());
    };
    let store = Store {
        policy: PathBuf::from(policy_path),
        audit: PathBuf::from(a.value("--audit").unwrap_or("/tmp/bollard-audit.jsonl")),
        ecds: a.value("--ecds").map(PathBuf::from),
    };
    store.load()?;
    if let Some(ecds) = &store.ecds {
        let text = std::fs::read_to_string(ecds).map_err(|e| format!("{}: {e}", ecds.display()))?;
        store::ecds_with_policy(&text, "{}").map_err(|e| format!("{}: {e}", ecds.display()))?;
    }
    let listen = a.value("--listen").unwrap_or("127.0.0.1:8780");
    let addr: std::net::SocketAddr = listen
        .parse()
        .map_err(|_| format!("--listen {listen:?}: expected an address and port, such as 127.0.0.1:8780"))?;
    if !addr.ip().is_loopback() && !a.has("--allow-remote") {
        return Err(format!(
            "--listen {listen}: not a loopback address; whoever reaches it with the token can change the policy, and the token crosses the network in clear (add --allow-remote to serve it anyway)"
        ));
    }
    let server = Server::http(addr).map_err(|e| format!("--listen {listen}: {e}"))?;
    let bound = server.server_addr().to_ip().ok_or("the server has no IP address")?;
    let secrets = Secrets::generate()?;
    // Host names the console answers to; on loopback only its own (against DNS rebinding).
    let hosts: Option<Vec<String>> = bound.ip().is_loopback().then(|| {
        let port = bound.port();
        let mut hosts = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")];
        // The address it printed, when another of 127.0.0.0/8.
        if !hosts.contains(&bound.to_string()) {
            hosts.push(bound.to_string());
        }
        hosts
    });
    if !bound.ip().is_loopback() {
        eprintln!("warning: the console listens on {bound}, beyond this machine; anyone with the URL below can change the policy");
    }
    println!("bollard console for {policy_path} (audit {})", store.audit.display());
    println!("open: http://{bound}/?token={}", secrets.access);
    println!("(the token is printed only here; stop with Ctrl-C)");
    let console = Console { store, secrets, hosts };
    for request in server.incoming_requests() {
        console.handle(request);
    }
    Ok(ExitCode::SUCCESS)
}

struct Console {
    store: Store,
    secrets: Secrets,
    hosts: Option<Vec<String>>,
}

/// An answer: status and JSON (or one of the built-in assets).
enum Answer {
    Json(u16, Value),
    Asset(&'static str, &'static str),
    Text(u16, &'static str),
}

fn header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn error(status: u16, message: impl Into<String>) -> Answer {
    Answer::Json(status, json!({ "error": message.into() }))
}

impl Console {
    fn handle(&self, mut req: Request) {
        let declared = req.body_length().unwrap_or(0);
        if declared as u64 > MAX_DRAIN {
            // Never answered: dropping a request whose body is unread, tiny_http allocates the
            // unread rest of its declared length in one piece, and a length beyond memory
            // aborts the process. The page never sends so much.
            std::mem::forget(req);
            return;
        }
        if declared as u64 > MAX_BODY {
            // Answered at once, unread; the rest is drained once the answer has left (tiny_http
            // keeps the connection until then, and sends no `Connection: close`).
            respond(req, too_large(), 0);
            return;
        }
        let header_value = |name: &'static str| {
            req.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str().to_string())
        };
        let (host, authorization, origin) =
            (header_value("Host"), header_value("Authorization"), header_value("Origin"));
        let url = req.url().to_string();
        let path = url.split('?').next().unwrap_or("");
        let mut taken = 0;
        let changes = !matches!(req.method(), Method::Get | Method::Head);
        // Beyond loopback any host name is served, and a change's Origin must match the one used.
        let hosts: Vec<String> = match (&self.hosts, &host) {
            (Some(h), _) => h.clone(),
            (None, Some(h)) => vec![h.clone()],
            (None, None) => Vec::new(),
        };
        let seen = auth::Seen {
            path,
            host: host.as_deref(),
            authorization: authorization.as_deref(),
            origin: origin.as_deref(),
            changes,
        };
        let answer = match auth::gate(&self.secrets, &hosts, &seen) {
            Gate::WrongHost => Answer::Text(421, "This console answers only to its own address.\n"),
            Gate::NoToken => error(
                401,
                "no access token: open the console with the URL that `bollard console` printed (it carries the token)",
            ),
            Gate::WrongOrigin => error(403, "refused: a change must come from the console's own page"),
            Gate::Pass => {
                let mut body = Vec::new();
                let read = req.as_reader().take(MAX_BODY + 1).read_to_end(&mut body);
                taken = body.len();
                if taken as u64 > MAX_BODY {
                    // A body without a declared length (chunked) that went past the limit.
                    respond(req, too_large(), 0);
                    return;
                }
                match read.ok().and_then(|_| String::from_utf8(body).ok()) {
                    Some(body) => self.route(req.method(), &url, &body),
                    None => error(400, "the request body is not UTF-8 text"),
                }
            }
        };
        respond(req, answer, declared.saturating_sub(taken));
    }

    fn route(&self, method: &Method, url: &str, body: &str) -> Answer {
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let result = match (method, path) {
            (Method::Get, "/") => return Answer::Asset("text/html; charset=utf-8", INDEX_HTML),
            (Method::Get, "/app.js") => return Answer::Asset("text/javascript; charset=utf-8", APP_JS),
            (Method::Get, "/style.css") => return Answer::Asset("text/css; charset=utf-8", STYLE_CSS),
            (Method::Get, "/api/state") => self.state(),
            (Method::Get, "/api/activity") => self.activity(query),
            (Method::Get, "/api/approvals") => self.approvals(),
            (Method::Post, "/api/preview") => parse(body).and_then(|r| self.preview(r)),
            (Method::Post, "/api/save") => parse(body).and_then(|r| self.save(r)),
            (Method::Post, "/api/agents") => parse(body).and_then(|r| self.add_agent(r)),
            (Method::Post, "/api/explain") => parse(body).and_then(|r| self.explain(r)),
            (Method::Post, "/api/approve") => parse(body).and_then(|r| self.approve(r)),
            (Method::Post, "/api/dismiss") => parse(body).and_then(|r| self.dismiss(r)),
            _ => return error(404, format!("no such page: {path}")),
        };
        match result {
            Ok(v) => Answer::Json(200, v),
            Err(e) => error(400, e),
        }
    }

    fn state(&self) -> Result<Value, String> {
        let loaded = self.store.load()?;
        let raw_agents: &[Doc] = loaded.doc.get("agents").and_then(Doc::as_array).unwrap_or(&[]);
        let agents: Vec<Value> = loaded
            .policy
            .agents()
            .iter()
            .map(|a| agent_view(a, raw_agents.iter().find(|r| r.get("id").and_then(Doc::as_str) == Some(&a.id))))
            .collect();
        let areas: Vec<Value> = Area::ALL
            .iter()
            .map(|&area| {
                let endpoints: Vec<Value> = Catalog::endpoints()
                    .iter()
                    .filter(|e| e.area == area)
                    .map(|e| json!({"id": e.id, "method": e.method.as_str(), "path": e.path, "class": e.class().as_str(), "action": e.action}))
                    .collect();
                json!({"name": area.name(), "label": area.label(), "endpoints": endpoints})
            })
            .collect();
        Ok(json!({
            "policy": self.store.policy.display().to_string(), "audit": self.store.audit.display().to_string(),
            "ecds": self.store.ecds.as_ref().map(|p| p.display().to_string()),
            "version": loaded.version, "mode": loaded.policy.mode.as_str(), "token_env": loaded.policy.token_env,
            "agents": agents, "areas": areas,
        }))
    }

    /// The policy with `req.agent` edited, and what the change means.
    fn edited(&self, req: &EditRequest) -> Result<(store::Loaded, Doc, Policy, Vec<String>), String> {
        let loaded = self.store.load()?;
        let doc = store::apply_edit(&loaded.doc, &req.agent, &req.edit)?;
        let policy = grants::validate(&doc)?;
        let after = policy.agent(&req.agent).ok_or_else(|| format!("no agent {:?}", req.agent))?;
        let sentences = diff::describe(loaded.policy.agent(&req.agent), after);
        Ok((loaded, doc, policy, sentences))
    }

    fn preview(&self, req: EditRequest) -> Result<Value, String> {
        match self.edited(&req) {
            Ok((_, _, _, sentences)) => Ok(json!({"ok": true, "changes": sentences})),
            Err(e) => Ok(json!({"ok": false, "error": e, "changes": []})),
        }
    }

    fn save(&self, req: EditRequest) -> Result<Value, String> {
        let (_, doc, policy, sentences) = self.edited(&req)?;
        self.store.save(req.version.as_deref().unwrap_or(""), &doc)?;
        let name = policy.agent(&req.agent).map_or(req.agent.as_str(), |a| a.name.as_str());
        let summary =
            format!("{} changed the access of {name} from the console: {}", operator(&req.by), sentences.join(" "));
        self.store.record(
            "policy_saved",
            &operator(&req.by),
            Some(&req.agent),
            json!({"changes": sentences}),
            &summary,
        )?;
        Ok(json!({"ok": true, "changes": sentences, "reloaded": self.store.ecds.is_some()}))
    }

    fn add_agent(&self, req: NewAgent) -> Result<Value, String> {
        let loaded = self.store.load()?;
        if loaded.policy.agent(&req.id).is_some() {
            return Err(format!("there is already an agent {:?}", req.id));
        }
        let (doc, key) = store::add_agent(&loaded.doc, &req.id, &req.name)?;
        let policy = self.store.save(req.version.as_deref().unwrap_or(""), &doc)?;
        let name = policy.agent(&req.id).map_or(req.id.clone(), |a| a.name.clone());
        let summary = format!(
            "{} added the agent {name} ({}) from the console, with a new key and no access.",
            operator(&req.by),
            req.id
        );
        self.store.record("agent_added", &operator(&req.by), Some(&req.id), json!({}), &summary)?;
        // The key leaves the console this once; only its SHA-256 is in the policy.
        Ok(json!({"ok": true, "id": req.id, "key": key}))
    }

    fn activity(&self, query: &str) -> Result<Value, String> {
        let q = |k: &str| query_value(query, k).filter(|v| !v.is_empty());
        let (agent, decision, area, since) = (q("agent"), q("decision"), q("area"), q("since"));
        let since = match since {
            Some(s) => Some(time::parse(&s).ok_or(format!("since {s:?} is not an RFC 3339 time"))?),
            None => None,
        };
        let records = activity::read(&self.store.audit);
        let filter =
            activity::Filter { agent: agent.as_deref(), decision: decision.as_deref(), area: area.as_deref(), since };
        let shown = activity::select(&records, &filter);
        Ok(json!({"total": records.len(), "records": shown}))
    }

    fn explain(&self, req: ExplainRequest) -> Result<Value, String> {
        let loaded = self.store.load()?;
        explain::explain(&loaded.policy, &req.agent, req.method.trim(), req.path.trim(), req.body.as_deref())
    }

    fn approvals(&self) -> Result<Value, String> {
        let loaded = self.store.load()?;
        let now = (time::now_ms() / 1000) as i64;
        let records = activity::read(&self.store.audit);
        Ok(json!({
            "version": loaded.version,
            "pending": activity::pending(&records, &loaded.doc, now),
            "active": activity::active_grants(&loaded.doc, now),
            "core_reads_grants": grants::core_knows_grants(),
        }))
    }

    fn approve(&self, req: ApproveRequest) -> Result<Value, String> {
        let loaded = self.store.load()?;
        let records = activity::read(&self.store.audit);
        let now = (time::now_ms() / 1000) as i64;
        let pending = activity::pending(&records, &loaded.doc, now);
        let call = pending
            .iter()
            .find(|r| r["approval_id"].as_str() == Some(req.approval_id.as_str()))
            .ok_or("no pending call with this approval id")?;
        let agent = call["agent"].as_str().ok_or("the pending call names no agent")?;
        let by = approver(&req.approved_by)?;
        if !(1..=7 * 24 * 60).contains(&req.minutes) || !(1..=1000).contains(&req.uses) {
            return Err("approve for 1 minute to 7 days, and 1 to 1000 uses".into());
        }
        let not_after = time::rfc3339_secs(time::now_ms() + req.minutes * 60_000);
        let id = req.approval_id.clone();
        let mut doc = loaded.doc.clone();
        let approval = grants::Approval {
            agent,
            approval_id: &req.approval_id,
            approved_by: by,
            not_after: &not_after,
            uses: req.uses,
        };
        grants::add_approval(&mut doc, &approval);
        self.store.save(req.version.as_deref().unwrap_or(&loaded.version), &doc)?;
        let what = call["summary"].as_str().unwrap_or("the call");
        let summary = format!(
            "{by} approved, from the console, {} use(s) until {not_after} of the call refused as: {what}",
            req.uses
        );
        self.store.record(
            "approval_granted",
            by,
            Some(agent),
            json!({"approval_id": req.approval_id, "grant": id, "not_after": not_after, "uses": req.uses}),
            &summary,
        )?;
        Ok(json!({"ok": true, "grant": id, "not_after": not_after}))
    }

    fn dismiss(&self, req: DismissRequest) -> Result<Value, String> {
        let loaded = self.store.load()?;
        let records = activity::read(&self.store.audit);
        let now = (time::now_ms() / 1000) as i64;
        let pending = activity::pending(&records, &loaded.doc, now);
        let call = pending
            .iter()
            .find(|r| r["approval_id"].as_str() == Some(req.approval_id.as_str()))
            .ok_or("no pending call with this approval id")?;
        let by = operator(&req.by);
        let summary = format!(
            "{by} dismissed, from the console, the call refused as: {}",
            call["summary"].as_str().unwrap_or("?")
        );
        self.store.record(
            "approval_dismissed",
            &by,
            call["agent"].as_str(),
            json!({"approval_id": req.approval_id}),
            &summary,
        )?;
        Ok(json!({"ok": true}))
    }
}

/// A body over [`MAX_BODY`].
fn too_large() -> Answer {
    error(413, format!("the request body is over {} MiB, more than any change the page sends", MAX_BODY >> 20))
}

/// Sends the answer from a thread of its own once `left` more bytes of the body have come and
/// been dropped: a client that sends them slowly, or never, holds that thread only, never the
/// console. A 413 is sent at once (`left` 0), its body unread.
fn respond(mut req: Request, answer: Answer, left: usize) {
    let (status, content_type, bytes) = match answer {
        Answer::Json(s, v) => (s, "application/json", v.to_string().into_bytes()),
        Answer::Asset(t, text) => (200, t, text.as_bytes().to_vec()),
        Answer::Text(s, t) => (s, "text/plain; charset=utf-8", t.as_bytes().to_vec()),
    };
    let mut response = Response::from_data(bytes).with_status_code(status);
    let headers = [
        ("Content-Type", content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        (
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    for (name, value) in headers {
        if let Some(h) = header(name, value) {
            response.add_header(h);
        }
    }
    let sent = std::thread::Builder::new().spawn(move || {
        drain(req.as_reader(), left);
        let _ = req.respond(response);
    });
    if sent.is_err() {
        eprintln!("warning: no thread to answer a request");
    }
}

/// Reads and drops up to `left` bytes of a request body, in small pieces.
fn drain(body: &mut dyn Read, mut left: usize) {
    let mut buf = [0u8; 8192];
    while left > 0 {
        match body.read(&mut buf[..left.min(8192)]) {
            Ok(0) => break,
            Ok(n) => left = left.saturating_sub(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}

/// The longest `approved_by` the policy holds.
const MAX_APPROVED_BY: usize = 128;

/// The name of whoever approves a call, as the approval grant will hold it: refused here, naming
/// the field, by the policy's own rule, rather than when the policy is saved.
fn approver(approved_by: &str) -> Result<&str, String> {
    let by = approved_by.trim();
    if by.is_empty() {
        return Err("say who approves the call".into());
    }
    if !bollard::policy::is_plain_text(by, MAX_APPROVED_BY) {
        return Err(format!(
            "Approved by {by:?}: expected a name of 1 to {MAX_APPROVED_BY} characters, without control characters"
        ));
    }
    Ok(by)
}

fn operator(by: &Option<String>) -> String {
    match by.as_deref().map(str::trim) {
        Some(b) if !b.is_empty() => b.chars().filter(|c| !c.is_control()).take(64).collect(),
        _ => "An operator".to_string(),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &str) -> Result<T, String> {
    serde_json::from_str(body).map_err(|e| format!("the request is not what this page sends: {e}"))
}

/// A query parameter, percent-decoded.
fn query_value(query: &str, key: &str) -> Option<String> {
    let raw = query.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == key)?.1;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// An agent as the Agents page draws it. Keys appear only as the first 12 hex digits of their hash.
fn agent_view(a: &Agent, raw: Option<&Doc>) -> Value {
    let scope = |s: &Scope| match s {
        Scope::All => vec!["*".to_string()],
        Scope::Only(l) => l.clone(),
    };
    let access: serde_json::Map<String, Value> =
        Area::ALL.iter().map(|&ar| (ar.name().to_string(), Value::from(a.level(ar).as_str()))).collect();
    let open: Vec<&str> =
        Catalog::endpoints().iter().enumerate().filter(|(i, e)| diff::opens(a, *i, e)).map(|(_, e)| e.id).collect();
    let prefix = |h: &str| format!("{}…", h.chars().take(12).collect::<String>());
    let mut keys = Vec::new();
    if let Some(h) = raw.and_then(|r| r.get("key_sha256")).and_then(Doc::as_str) {
        keys.push(json!({"sha256": prefix(h), "not_after": null}));
    }
    for k in raw.and_then(|r| r.get("keys")).and_then(Doc::as_array).unwrap_or(&[]) {
        let h = k.get("sha256").and_then(Doc::as_str).unwrap_or("");
        keys.push(json!({"sha256": prefix(h), "not_after": k.get("not_after").and_then(Doc::as_str)}));
    }
    const SHOWN: [&str; 10] =
        ["id", "name", "key_sha256", "keys", "projects", "organizations", "access", "allow", "deny", "rate_limit"];
    let other: serde_json::Map<String, Value> = match raw {
        Some(Doc::Object(m)) => m
            .iter()
            .filter(|(k, _)| !SHOWN.contains(&k.as_str()) && k != "deny")
            .map(|(k, v)| (k.clone(), v.to_value()))
            .collect(),
        _ => serde_json::Map::new(),
    };
    json!({
        "id": a.id, "name": a.name, "projects": scope(&a.projects), "organizations": scope(&a.organizations),
        "access": access, "allow": a.allow, "deny": a.deny, "open": open, "keys": keys, "other": other,
        "rate_limit": a.rate_limit.as_ref().map(|r| r.per_minute),
    })
}

#[derive(Deserialize)]
struct EditRequest {
    agent: String,
    edit: AgentEdit,
    version: Option<String>,
    by: Option<String>,
}

#[derive(Deserialize)]
struct NewAgent {
    id: String,
    #[serde(default)]
    name: String,
    version: Option<String>,
    by: Option<String>,
}

#[derive(Deserialize)]
struct ExplainRequest {
    agent: String,
    method: String,
    path: String,
    body: Option<String>,
}

#[derive(Deserialize)]
struct ApproveRequest {
    approval_id: String,
    minutes: u64,
    uses: u32,
    approved_by: String,
    version: Option<String>,
}

#[derive(Deserialize)]
struct DismissRequest {
    approval_id: String,
    by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A console on a free loopback port, answering in a thread of its own, and its access token.
    fn serving() -> (std::net::SocketAddr, String) {
        let server = Server::http("127.0.0.1:0").unwrap();
        let addr = server.server_addr().to_ip().unwrap();
        let console = Console {
            store: Store {
                policy: PathBuf::from("examples/demo-policy.json"),
                audit: std::env::temp_dir().join(format!("bollard-console-test-{}.jsonl", std::process::id())),
                ecds: None,
            },
            secrets: Secrets::generate().unwrap(),
            hosts: None,
        };
        let token = console.secrets.access.clone();
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                console.handle(request);
            }
        });
        (addr, token)
    }

    /// One answer: its head, and as much body as its `Content-Length` says (empty on a timeout).
    fn read_answer(conn: &mut std::net::TcpStream) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&got).to_string();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .and_then(|v| v.parse::<usize>().ok());
                if length.is_some_and(|n| body.len() >= n) {
                    return text;
                }
            }
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return text,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// A body over 1 MiB, announced or chunked, sent in part, whole or not at all: a 413 with a
    /// JSON error, at once. It went unanswered, the client waiting for ever.
    #[test]
    fn a_body_over_the_limit_is_answered_413_at_once() {
        use std::io::Write;
        let (addr, token) = serving();
        let over = MAX_BODY as usize + 1;
        let mut chunked = format!("{over:x}\r\n").into_bytes();
        chunked.extend(vec![b'a'; over]);
        chunked.extend(b"\r\n0\r\n\r\n");
        let cases: [(String, Vec<u8>); 4] = [
            (format!("Content-Length: {over}"), Vec::new()),
            (format!("Content-Length: {over}"), vec![b'{'; 64 << 10]),
            (format!("Content-Length: {}", 8 * MAX_BODY), vec![b'{'; 8 * MAX_BODY as usize]),
            ("Transfer-Encoding: chunked".to_string(), chunked),
        ];
        for (framing, body) in cases {
            let mut conn = std::net::TcpStream::connect(addr).unwrap();
            conn.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
            let head = format!(
                "POST /api/save HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n{framing}\r\n\r\n"
            );
            conn.write_all(head.as_bytes()).unwrap();
            // The server may answer, and close, before it has read all of it.
            let _ = conn.write_all(&body);
            let text = read_answer(&mut conn);
            assert!(text.starts_with("HTTP/1.1 413"), "{framing}: {text}");
            let (_, json) = text.split_once("\r\n\r\n").unwrap();
            let v: Value = serde_json::from_str(json).unwrap();
            assert!(v["error"].as_str().unwrap().contains("1 MiB"), "{v}");
        }
    }

    #[test]
    fn an_approver_the_policy_cannot_hold_is_refused_naming_the_field() {
        assert_eq!(approver("  Ana Lima "), Ok("Ana Lima"));
        assert_eq!(approver(&"a".repeat(128)).map(str::len), Ok(128));
        for bad in ["Ana\u{7}", "Ana\nLima", "Ana\tLima", "\u{1b}[31mAna", "Ana\u{85}Lima", &"a".repeat(129)] {
            let e = approver(bad).expect_err(bad);
            assert!(e.starts_with("Approved by "), "{e}");
        }
        assert!(approver(" \t ").is_err());
    }

    #[test]
    fn query_values_are_decoded() {
        assert_eq!(
            query_value("agent=ci-bot&since=2026-12-01T10%3A00%3A00Z", "since").as_deref(),
            Some("2026-12-01T10:00:00Z")
        );
        assert_eq!(query_value("a=1", "b"), None);
    }

    #[test]
    fn an_agent_view_shows_only_a_prefix_of_the_key_hash() {
        let text = std::fs::read_to_string("examples/demo-policy.json").unwrap();
        let policy = Policy::from_json(&text).unwrap();
        let doc = Doc::parse(&text).unwrap();
        let raw = doc.get("agents").and_then(Doc::as_array).unwrap();
        let v = agent_view(&policy.agents()[1], raw.get(1));
        let shown = v.to_string();
        assert!(shown.contains("\"sha256\":\"28901532aa23…\""), "{shown}");
        assert!(!shown.contains("28901532aa239b8e311c5b603a4371e9e208edecb5ed2181fbe927c404d66a67"));
        assert_eq!(v["access"]["edge_functions"], "full");
        assert!(v["open"].as_array().unwrap().iter().any(|e| e == "list_migrations"));
    }
}
