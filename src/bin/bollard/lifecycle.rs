//! Keys and grants that change over time: `rotate`, `approve`, `grant`, and the part of `check`
//! that lists (and with `--prune` removes) what has expired. Every write goes through
//! `policy_doc::write`: validated as the filter would, then an atomic rename.

use std::io::Read;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use bollard::approval::is_approval_id;
use bollard::catalog::Area;
use bollard::policy::{key_sha256, valid_grant_id, GrantKind, Level, Policy};
use bollard::time::{parse_rfc3339, rfc3339_secs};

use crate::args::Args;
use crate::policy_doc::{self, Doc};

/// The audit file `envoy/envoy.yaml` writes, read by `approve` when `--audit` is not given.
const DEFAULT_AUDIT: &str = "/tmp/bollard-audit.jsonl";

const RELOAD_HINT: &str = "A gateway reading this policy through envoy/ecds.yaml picks the change up when its discovery file is rewritten (see the README, \"Keys, grants and approvals\").";

pub fn help(command: &str) -> Option<&'static str> {
    Some(match command {
        "rotate" => {
            "usage: bollard rotate AGENT POLICY [--keep-old-for 24h]\n\n\
            Makes a new key for AGENT, prints it once (hand it to the agent; it is stored nowhere), and\n\
            writes its SHA-256 into the agent's keys beside the old one. The old key keeps working for\n\
            --keep-old-for (default 24h; 0 ends it now), so agents move to the new key with no failed\n\
            request. A key_sha256 entry becomes a keys list. The file is replaced atomically."
        }
        "approve" => {
            "usage: bollard approve ID --policy FILE --by NAME [--for 15m] [--uses 1] [--audit FILE] [--agent AGENT]\n\n\
            Approves the call whose approval_required refusal carried approval id ID. Shows what is being\n\
            approved from the audit trail's record of that refusal (--audit, default /tmp/bollard-audit.jsonl),\n\
            then writes an approval grant: the identical call (same agent, method, path, query and body)\n\
            passes --uses times (per gateway instance) until --for from now (at most 7d). --agent names the agent when\n\
            no audit record is at hand. An earlier approval of the same call is replaced."
        }
        "grant" => {
            "usage: bollard grant AGENT --policy FILE --for 1h --reason TEXT [--access AREA=LEVEL]... [--allow ID]... [--id ID]\n\n\
            Writes an elevation: the agent gets the given access levels and allow entries on top of its\n\
            own, from now until --for from now. Its projects, organizations and deny list still apply,\n\
            and every call the elevation allows is recorded with the grant's id. --access and --allow\n\
            may be given several times; at least one is needed."
        }
        _ => return None,
    })
}

/// The longest an approval lasts, as in the console: one call approved, for a while.
const MAX_APPROVAL_MS: u64 = 7 * 86_400 * 1000;

/// 9999-12-31T23:59:59Z: the last time an RFC 3339 `not_after` can hold.
const LAST_TIME_MS: u64 = 253_402_300_799_000;

/// A flag's text as the policy holds it (`approved_by`, `reason`): checked here so the error
/// names the flag.
fn plain_text(flag: &str, value: &str, max: usize) -> Result<(), String> {
    if !bollard::policy::is_plain_text(value, max) {
        return Err(format!("{flag} {value:?}: expected text of 1 to {max} characters, without control characters"));
    }
    Ok(())
}

/// The time now, in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// `15m`, `1h`, `24h`, `7d`, `90s`, `1h30m`, `0`: milliseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a duration such as 15m, 1h, 24h, 7d or 1h30m");
    if text == "0" {
        return Ok(0);
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        let unit: u64 = match c {
            's' => 1000,
            'm' => 60 * 1000,
            'h' => 3600 * 1000,
            'd' => 86_400 * 1000,
            _ => return Err(bad()),
        };
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
    }
    if !digits.is_empty() || text.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

fn new_key() -> Result<String, String> {
    let mut bytes = [0u8; 20];
    let mut urandom = std::fs::File::open("/dev/urandom").map_err(|e| format!("/dev/urandom: {e}"))?;
    urandom.read_exact(&mut bytes).map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(std::iter::once("sbp_".to_string()).chain(bytes.iter().map(|b| format!("{b:02x}"))).collect())
}

fn agent_ids(doc: &Doc) -> String {
    match doc.get("agents") {
        Some(Doc::Array(list)) => {
            list.iter().filter_map(|a| a.get("id").and_then(Doc::as_str)).collect::<Vec<_>>().join(", ")
        }
        _ => String::new(),
    }
}

fn one_positional<'a>(a: &'a Args, what: &str) -> Result<&'a str, String> {
    match a.positional.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("missing {what}")),
        _ => Err(format!("expected one {what}, got {}", a.positional.len())),
    }
}

/// `bollard rotate AGENT POLICY [--keep-old-for 24h]`
pub fn rotate(raw: &[String]) -> Result<ExitCode, String> {
    let a = Args::parse(raw, &["--keep-old-for"], &[])?;
    let [agent_id, path] = a.positional.as_slice() else {
        return Err("expected AGENT POLICY (see --help)".into());
    };
    let keep_text = a.value("--keep-old-for").unwrap_or("24h");
    let keep = parse_duration(keep_text).map_err(|e| format!("--keep-old-for {e}"))?;
    if now_ms().saturating_add(keep) > LAST_TIME_MS {
        return Err(format!(
            "--keep-old-for {keep_text:?}: the old key would end after the year 9999; give a shorter duration"
        ));
    }
    let (mut doc, was) = policy_doc::read(path)?;
    let known = agent_ids(&doc);
    let agent = doc.agent_mut(agent_id).ok_or_else(|| format!("{path}: no agent {agent_id:?} (agents: {known})"))?;
    let now = now_ms();
    let old_end = now.saturating_add(keep);
    let key = new_key()?;
    let digest = key_sha256(&key);
    let mut old: Vec<(String, u64)> = Vec::new();
    let Doc::Object(fields) = agent else { return Err(format!("{path}: agent {agent_id:?} is not an object")) };
    if let Some(slot) = fields.iter_mut().find(|(k, _)| k == "key_sha256") {
        let hash = slot.1.as_str().unwrap_or_default().to_string();
        old.push((hash.clone(), old_end));
        *slot = (
            "keys".to_string(),
            Doc::Array(vec![
                Doc::Object(vec![
                    ("sha256".into(), Doc::str(&hash)),
                    ("not_after".into(), Doc::str(&rfc3339_secs(old_end))),
                ]),
                Doc::Object(vec![("sha256".into(), Doc::str(&digest))]),
            ]),
        );
    } else if let Some((_, Doc::Array(keys))) = fields.iter_mut().find(|(k, _)| k == "keys") {
        for k in keys.iter_mut() {
            let hash = k.get("sha256").and_then(Doc::as_str).unwrap_or_default().to_string();
            let end = k.get("not_after").and_then(Doc::as_str).and_then(parse_rfc3339);
            match end {
                Some(t) if t <= old_end => old.push((hash, t)),
                _ => {
                    k.set("not_after", Doc::str(&rfc3339_secs(old_end)), Some("sha256"));
                    old.push((hash, old_end));
                }
            }
        }
        keys.push(Doc::Object(vec![("sha256".into(), Doc::str(&digest))]));
    } else {
        return Err(format!("{path}: agent {agent_id:?} has neither key_sha256 nor keys"));
    }
    policy_doc::write(path, &doc, &was)?;
    println!("agent:      {agent_id}");
    println!("new key:    {key}");
    println!("key_sha256: {digest}");
    for (hash, end) in &old {
        let short: String = hash.chars().take(12).collect();
        let state = if *end <= now { "ended" } else { "keeps working until" };
        println!("old key:    {short}... {state} {}", rfc3339_secs(*end));
    }
    println!("\nHand the new key to the agent now: it is stored nowhere and not shown again.");
    println!("{path} written. {RELOAD_HINT}");
    Ok(ExitCode::SUCCESS)
}

/// The newest `approval_required` record for an approval id in an audit trail (JSON lines, or
/// Envoy log lines that carry them).
fn find_request(audit: &str, id: &str) -> Option<serde_json::Value> {
    audit
        .lines()
        .rev()
        .filter(|l| l.contains(id))
        .filter_map(|l| l.find('{').and_then(|i| serde_json::from_str::<serde_json::Value>(&l[i..]).ok()))
        .find(|r| r["approval_id"] == id && r["reason"] == "approval_required")
}

/// `bollard approve ID --policy FILE --by NAME [--for 15m] [--uses 1] [--audit FILE] [--agent ID]`
pub fn approve(raw: &[String]) -> Result<ExitCode, String> {
    let a = Args::parse(raw, &["--policy", "--by", "--for", "--uses", "--audit", "--agent"], &[])?;
    let id = one_positional(&a, "approval ID")?;
    if !is_approval_id(id) {
        return Err(format!(
            "{id:?} is not an approval id (apr_ and 24 hex digits, from an approval_required refusal)"
        ));
    }
    let path = a.value("--policy").ok_or("--policy FILE is required")?;
    let by = a.value("--by").ok_or("--by NAME is required: the person approving")?;
    plain_text("--by", by, 128)?;
    let for_text = a.value("--for").unwrap_or("15m");
    let window = parse_duration(for_text).map_err(|e| format!("--for {e}"))?;
    if window == 0 {
        return Err("--for must be longer than 0".into());
    }
    if window > MAX_APPROVAL_MS {
        return Err(format!(
            "--for {for_text:?}: an approval lasts at most 7d, as in the console (approve the call again when it is needed later, or give the agent the access with bollard grant)"
        ));
    }
    let uses: u32 = match a.value("--uses") {
        None => 1,
        Some(u) => {
            u.parse().ok().filter(|&n| n >= 1).ok_or_else(|| format!("--uses {u:?}: expected a number, at least 1"))?
        }
    };
    let audit_path = a.value("--audit").unwrap_or(DEFAULT_AUDIT);
    let record = match std::fs::read_to_string(audit_path) {
        Ok(text) => find_request(&text, id),
        Err(e) if a.value("--audit").is_some() => return Err(format!("{audit_path}: {e}")),
        Err(_) => None,
    };
    let agent = match (&record, a.value("--agent")) {
        (Some(r), given) => {
            let from_record = r["agent"].as_str().unwrap_or_default().to_string();
            if given.is_some_and(|g| g != from_record) {
                return Err(format!("--agent {:?}: the audit record of {id} is agent {from_record:?}'s", given.unwrap_or_default()));
            }
            from_record
        }
        (None, Some(given)) => given.to_string(),
        (None, None) => {
            return Err(format!(
                "no approval_required record of {id} in {audit_path}; pass --audit FILE (the gateway's audit trail) to see what is approved, or --agent AGENT to approve it unseen"
            ))
        }
    };
    let (mut doc, was) = policy_doc::read(path)?;
    if doc.agent_mut(&agent).is_none() {
        return Err(format!("{path}: no agent {agent:?} (agents: {})", agent_ids(&doc)));
    }
    let now = now_ms();
    let not_after = now.saturating_add(window);
    println!("approval:   {id}");
    match &record {
        Some(r) => {
            let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
            println!("requested:  {} by agent {} (request {})", s("ts"), s("agent"), s("request_id"));
            println!("call:       {} {}", s("method"), s("path"));
            println!("endpoint:   {} (area {}, permission {})", s("endpoint"), s("area"), s("permission"));
            if let Some(p) = r["project"].as_str() {
                println!("project:    {p}");
            }
            if let Some(o) = r["organization"].as_str() {
                println!("organization: {o}");
            }
            println!("summary:    {}", s("summary"));
        }
        None => println!("requested:  (no audit record at hand) agent {agent}"),
    }
    let grants = doc.grants_mut().ok_or_else(|| format!("{path}: grants is not a list"))?;
    grants.retain(|g| {
        !(g.get("approval").and_then(Doc::as_str) == Some(id) && g.get("agent").and_then(Doc::as_str) == Some(&agent))
            && g.get("id").and_then(Doc::as_str) != Some(id)
    });
    grants.push(Doc::Object(vec![
        ("id".into(), Doc::str(id)),
        ("agent".into(), Doc::str(&agent)),
        ("approval".into(), Doc::str(id)),
        ("approved_by".into(), Doc::str(by)),
        ("not_after".into(), Doc::str(&rfc3339_secs(not_after))),
        ("uses".into(), Doc::Number(uses.into())),
    ]));
    policy_doc::write(path, &doc, &was)?;
    println!("approved:   by {by}, {uses} use(s), until {} (grant {id})", rfc3339_secs(not_after));
    println!("\n{path} written. The agent may now retry the identical call. {RELOAD_HINT}");
    Ok(ExitCode::SUCCESS)
}

/// `bollard grant AGENT --policy FILE --for 1h --reason TEXT [--access AREA=LEVEL]... [--allow ID]...`
pub fn grant(raw: &[String]) -> Result<ExitCode, String> {
    let a = Args::parse(raw, &["--policy", "--for", "--reason", "--access", "--allow", "--id"], &[])?;
    let agent = one_positional(&a, "AGENT")?;
    let path = a.value("--policy").ok_or("--policy FILE is required")?;
    let for_text = a.value("--for").ok_or("--for DURATION is required (a grant always ends)")?;
    let window = parse_duration(for_text).map_err(|e| format!("--for {e}"))?;
    if window == 0 {
        return Err("--for must be longer than 0".into());
    }
    if now_ms().saturating_add(window) > LAST_TIME_MS {
        return Err(format!("--for {for_text:?}: the grant would end after the year 9999; give a shorter duration"));
    }
    let reason = a.value("--reason").ok_or("--reason TEXT is required: why the agent needs more access")?;
    plain_text("--reason", reason, 500)?;
    let mut access: Vec<(String, Doc)> = Vec::new();
    for entry in a.values("--access") {
        let (area, level) = entry
            .split_once('=')
            .ok_or_else(|| format!("--access {entry:?}: expected AREA=LEVEL, e.g. projects=full"))?;
        if Area::from_name(area).is_none() {
            return Err(format!("--access {entry:?}: unknown area {area:?} (known: {})", Area::known_names()));
        }
        if !matches!(level, "read" | "full") {
            return Err(format!("--access {entry:?}: level must be read or full"));
        }
        if access.iter().any(|(a, _)| a == area) {
            return Err(format!("--access: area {area:?} is given twice"));
        }
        access.push((area.to_string(), Doc::str(level)));
    }
    let allow: Vec<Doc> = a.values("--allow").into_iter().map(Doc::str).collect();
    if access.is_empty() && allow.is_empty() {
        return Err("nothing to grant: give --access AREA=LEVEL and/or --allow ENDPOINT".into());
    }
    let (mut doc, was) = policy_doc::read(path)?;
    if doc.agent_mut(agent).is_none() {
        return Err(format!("{path}: no agent {agent:?} (agents: {})", agent_ids(&doc)));
    }
    let now = now_ms();
    let not_after = now.saturating_add(window);
    let grants = doc.grants_mut().ok_or_else(|| format!("{path}: grants is not a list"))?;
    let taken = |id: &str| grants.iter().any(|g| g.get("id").and_then(Doc::as_str) == Some(id));
    let id = match a.value("--id") {
        Some(id) if !valid_grant_id(id) => {
            return Err(format!("--id {id:?}: a grant id must match [A-Za-z0-9_.-]{{1,128}}"))
        }
        Some(id) if taken(id) => return Err(format!("--id {id:?}: a grant with this id is already in {path}")),
        Some(id) => id.to_string(),
        None => {
            let stamp: String = rfc3339_secs(now).chars().filter(char::is_ascii_alphanumeric).collect();
            let base = format!("{agent}-{}", stamp.to_lowercase());
            (1..).map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") }).find(|c| !taken(c)).unwrap_or(base)
        }
    };
    let mut grant = vec![("id".into(), Doc::str(&id)), ("agent".into(), Doc::str(agent))];
    if !access.is_empty() {
        grant.push(("access".into(), Doc::Object(access)));
    }
    if !allow.is_empty() {
        grant.push(("allow".into(), Doc::Array(allow)));
    }
    grant.push(("not_after".into(), Doc::str(&rfc3339_secs(not_after))));
    grant.push(("reason".into(), Doc::str(reason)));
    grants.push(Doc::Object(grant));
    policy_doc::write(path, &doc, &was)?;
    println!("grant:      {id}");
    println!("agent:      {agent}");
    println!("until:      {}", rfc3339_secs(not_after));
    println!("reason:     {reason}");
    println!(
        "\n{path} written. Scope and deny still apply; calls it allows are recorded with grant {id}. {RELOAD_HINT}"
    );
    Ok(ExitCode::SUCCESS)
}

/// What a grant gives, in a few words.
fn grant_text(g: &bollard::policy::Grant) -> String {
    match &g.kind {
        GrantKind::Approval { approved_by, uses, approval_id } => {
            format!("approval of {approval_id} by {approved_by}, {uses} use(s)")
        }
        GrantKind::Elevation { allow, .. } => {
            let mut parts: Vec<String> = Area::ALL
                .iter()
                .filter(|&&area| g.level(area) != Level::Off)
                .map(|&area| format!("{}={}", area.name(), g.level(area).as_str()))
                .collect();
            if !allow.is_empty() {
                parts.push(format!("allow {}", allow.join(",")));
            }
            parts.join("; ")
        }
    }
}

/// `bollard check`'s part on time: keys with an end date and grants, in force or expired.
pub fn report(policy: &Policy) {
    let now = now_ms();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let (mut expired_grants, mut expired_keys) = (0, 0);
    for g in policy.grants() {
        let state = if g.expired(now) {
            expired_grants += 1;
            "expired (ignored)"
        } else if g.active(now) {
            "in force"
        } else {
            "not yet"
        };
        let mut what = grant_text(g);
        if let Some(r) = &g.reason {
            what.push_str(&format!(" ({r})"));
        }
        rows.push(vec![
            g.id.clone(),
            g.agent.clone(),
            g.kind_name().into(),
            rfc3339_secs(g.not_after_ms),
            state.into(),
            what,
        ]);
    }
    if !rows.is_empty() {
        let mut table = vec![["grant", "agent", "kind", "not_after", "state", "grants"].map(String::from).to_vec()];
        table.extend(rows);
        print!("{}", crate::table(&table));
    }
    for agent in policy.agents() {
        let ending: Vec<String> = agent
            .keys
            .iter()
            .filter_map(|k| {
                let t = k.not_after_ms?;
                let short: String = k.sha256.chars().take(12).collect();
                if k.expired(now) {
                    expired_keys += 1;
                    Some(format!("{short}... expired {}", rfc3339_secs(t)))
                } else {
                    Some(format!("{short}... until {}", rfc3339_secs(t)))
                }
            })
            .collect();
        if !ending.is_empty() {
            println!("keys of {}: {} key(s); {}", agent.id, agent.keys.len(), ending.join("; "));
        }
        if agent.keys.iter().all(|k| k.expired(now)) {
            println!(
                "warning: every key of agent {} has expired: it cannot call (bollard rotate {} POLICY)",
                agent.id, agent.id
            );
        }
    }
    if expired_grants + expired_keys > 0 {
        println!(
            "expired: {expired_grants} grant(s) and {expired_keys} key(s) are past their not_after and ignored; bollard check --prune POLICY removes them."
        );
    }
}

/// `bollard check --prune`: removes expired grants and expired keys (never an agent's last key).
pub fn prune(path: &str) -> Result<(), String> {
    let (mut doc, was) = policy_doc::read(path)?;
    let now = now_ms();
    let expired = |d: &Doc| d.get("not_after").and_then(Doc::as_str).and_then(parse_rfc3339).is_some_and(|t| now >= t);
    let mut removed: Vec<String> = Vec::new();
    if let Some(grants) = doc.get_mut("grants").and_then(Doc::as_array_mut) {
        grants.retain(|g| {
            let gone = expired(g);
            if gone {
                removed.push(format!("grant {}", g.get("id").and_then(Doc::as_str).unwrap_or("?")));
            }
            !gone
        });
    }
    if let Some(agents) = doc.get_mut("agents").and_then(Doc::as_array_mut) {
        for agent in agents.iter_mut() {
            let id = agent.get("id").and_then(Doc::as_str).unwrap_or("?").to_string();
            let Some(keys) = agent.get_mut("keys").and_then(Doc::as_array_mut) else { continue };
            if keys.iter().all(&expired) {
                continue;
            }
            keys.retain(|k| {
                let gone = expired(k);
                if gone {
                    let short: String = k.get("sha256").and_then(Doc::as_str).unwrap_or("?").chars().take(12).collect();
                    removed.push(format!("key {short}... of agent {id}"));
                }
                !gone
            });
        }
    }
    if removed.is_empty() {
        println!("prune: nothing has expired; {path} unchanged");
        return Ok(());
    }
    policy_doc::write(path, &doc, &was)?;
    println!("prune: removed {} from {path}: {}", removed.len(), removed.join(", "));
    Ok(())
}
