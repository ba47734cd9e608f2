//! `bollard audit`: a readable digest of audit JSON lines.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde::Deserialize;

use crate::args::Args;

/// The fields the digest reads; the rest of the record is ignored.
#[derive(Deserialize)]
struct Line {
    ts: String,
    agent: Option<String>,
    decision: String,
    status: u16,
    reason: String,
    summary: String,
}

pub fn run(raw: &[String]) -> Result<ExitCode, String> {
    let a = Args::parse(raw, &["--agent", "--decision", "--since"], &[])?;
    let source = match a.positional.as_slice() {
        [] => "-",
        [one] => one.as_str(),
        _ => return Err("expected at most one FILE".into()),
    };
    if let Some(d) = a.value("--decision") {
        if d != "allow" && d != "deny" {
            return Err(format!("--decision {d:?}: expected allow or deny"));
        }
    }
    if let Some(t) = a.value("--since") {
        let ok = t.len() >= 10 && t.as_bytes().get(4) == Some(&b'-') && t.as_bytes().get(7) == Some(&b'-');
        if !ok {
            return Err(format!("--since {t:?}: expected an RFC 3339 time or a date such as 2026-11-27"));
        }
    }
    let text = crate::read_input(source)?;
    let (mut records, mut skipped) = (Vec::new(), 0usize);
    for raw_line in text.lines().filter(|l| !l.trim().is_empty()) {
        // Envoy's own log carries the record after "wasm log ...: "; a file sink has it alone.
        let json = raw_line.find('{').map(|i| &raw_line[i..]).unwrap_or(raw_line);
        match serde_json::from_str::<Line>(json) {
            Ok(rec) => records.push(rec),
            Err(_) => skipped += 1,
        }
    }
    let records: Vec<Line> = records
        .into_iter()
        .filter(|r| a.value("--agent").is_none_or(|id| r.agent.as_deref() == Some(id)))
        .filter(|r| a.value("--decision").is_none_or(|d| r.decision == d))
        .filter(|r| a.value("--since").is_none_or(|t| r.ts.as_str() >= t))
        .collect();
    println!(
        "{} record(s){}",
        records.len(),
        if skipped > 0 { format!(", {skipped} line(s) that are not audit records skipped") } else { String::new() }
    );
    if let (Some(first), Some(last)) = (records.first(), records.last()) {
        println!("from {} to {}", first.ts, last.ts);
    }
    let mut per_agent: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in &records {
        let slot = per_agent.entry(r.agent.clone().unwrap_or_else(|| "(unidentified)".into())).or_default();
        if r.decision == "allow" {
            slot.0 += 1;
        } else {
            slot.1 += 1;
        }
    }
    if !per_agent.is_empty() {
        let width = per_agent.keys().map(String::len).max().unwrap_or(5).max(5);
        println!("\n{:<width$}  {:>5}  {:>5}", "agent", "allow", "deny");
        for (agent, (allow, deny)) in &per_agent {
            println!("{agent:<width$}  {allow:>5}  {deny:>5}");
        }
    }
    let refusals: Vec<&Line> = records.iter().filter(|r| r.decision == "deny").collect();
    if !refusals.is_empty() {
        println!("\nrefusals:");
        for r in refusals {
            println!("{} {} {}: {}", r.ts, r.status, r.reason, r.summary);
        }
    }
    Ok(ExitCode::SUCCESS)
}
