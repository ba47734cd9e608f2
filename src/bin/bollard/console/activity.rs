//! The audit trail as the console shows it: records newest first, filtered; the calls waiting
//! for a person's approval; the grants in force.

use serde_json::Value;

use super::doc::Doc;

/// The most records a page shows.
pub const MAX_SHOWN: usize = 500;

/// What the activity list is filtered by; empty means any.
#[derive(Default)]
pub struct Filter<'a> {
    pub agent: Option<&'a str>,
    pub decision: Option<&'a str>,
    pub area: Option<&'a str>,
    /// Only records at or after this time (seconds since the epoch).
    pub since: Option<i64>,
}

/// How much of the end of the audit file the console reads: the newest records of a large file.
pub const TAIL_BYTES: u64 = 8 << 20;

/// The records at the end of the audit file (its last [`TAIL_BYTES`]), oldest first. Envoy's own
/// log lines carry the record after "wasm log ...: "; anything else that is not a JSON object
/// with `ts` and `summary` is skipped.
pub fn read(path: &std::path::Path) -> Vec<Value> {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let from = len.saturating_sub(TAIL_BYTES);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(from)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    // A read that starts mid-file starts mid-line: that first piece is not a record.
    let skip = usize::from(from > 0);
    text.lines()
        .skip(skip)
        .filter_map(|l| l.find('{').map(|i| &l[i..]))
        .filter_map(|j| serde_json::from_str::<Value>(j).ok())
        .filter(|v| v.get("ts").is_some() && v.get("summary").is_some())
        .collect()
}

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

/// Newest first, filtered, at most [`MAX_SHOWN`].
pub fn select(records: &[Value], f: &Filter) -> Vec<Value> {
    records
        .iter()
        .rev()
        .filter(|r| f.agent.is_none_or(|a| field(r, "agent") == Some(a)))
        .filter(|r| match f.decision {
            None => true,
            Some("operator") => field(r, "kind") == Some("operator"),
            Some(d) => field(r, "decision") == Some(d),
        })
        .filter(|r| f.area.is_none_or(|a| field(r, "area") == Some(a)))
        .filter(|r| f.since.is_none_or(|s| field(r, "ts").and_then(super::time::parse).is_some_and(|t| t >= s)))
        .take(MAX_SHOWN)
        .cloned()
        .collect()
}

fn is_operator(r: &Value, action: &str, approval_id: &str) -> bool {
    field(r, "kind") == Some("operator")
        && field(r, "action") == Some(action)
        && field(r, "approval_id") == Some(approval_id)
}

/// Whether a grant in force still answers the call refused at `records[at]`: it was approved
/// after that refusal, or its uses (the calls allowed with this approval id since the console
/// last approved it; all of them when the CLI wrote it) are not all taken.
fn covered(grants: &[Doc], records: &[Value], at: usize, id: &str, now: i64) -> bool {
    let in_force = grants.iter().filter(|g| {
        g.get("approval").and_then(Doc::as_str) == Some(id)
            && g.get("not_after").and_then(Doc::as_str).and_then(super::time::parse).is_some_and(|t| t > now)
    });
    let Some(uses) = in_force.map(|g| g.get("uses").and_then(Doc::as_u64).unwrap_or(1)).max() else {
        return false;
    };
    let since = records.iter().rposition(|r| is_operator(r, "approval_granted", id)).map_or(0, |p| p + 1);
    let taken = records[since..]
        .iter()
        .filter(|r| field(r, "approval_id") == Some(id) && field(r, "decision") == Some("allow"))
        .count() as u64;
    since > at || taken < uses
}

/// `approval_required` calls still waiting for a person: the latest refusal of each approval
/// id, unless it was dismissed or the approved call passed since, or a grant in force answers
/// it; newest first.
pub fn pending(records: &[Value], policy: &Doc, now: i64) -> Vec<Value> {
    let grants: &[Doc] = policy.get("grants").and_then(Doc::as_array).unwrap_or(&[]);
    let mut seen: Vec<&str> = Vec::new();
    let mut out: Vec<Value> = Vec::new();
    for (i, r) in records.iter().enumerate().rev() {
        let Some(id) = field(r, "approval_id") else { continue };
        if field(r, "reason") != Some("approval_required") || seen.contains(&id) {
            continue;
        }
        seen.push(id);
        let answered = records[i + 1..].iter().any(|later| {
            is_operator(later, "approval_dismissed", id)
                || (field(later, "approval_id") == Some(id) && field(later, "decision") == Some("allow"))
        });
        if !answered && !covered(grants, records, i, id, now) {
            out.push(r.clone());
        }
    }
    out
}

/// The policy's grants that have not ended, soonest end first.
pub fn active_grants(policy: &Doc, now: i64) -> Vec<Value> {
    let grants: &[Doc] = policy.get("grants").and_then(Doc::as_array).unwrap_or(&[]);
    let mut out: Vec<(i64, Value)> = grants
        .iter()
        .filter_map(|g| {
            let end = g.get("not_after").and_then(Doc::as_str).and_then(super::time::parse)?;
            (end > now).then(|| (end, g.to_value()))
        })
        .collect();
    out.sort_by_key(|(end, _)| *end);
    out.into_iter().map(|(_, g)| g).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(ts: &str, agent: &str, decision: &str, extra: Value) -> Value {
        let mut r = json!({"ts": ts, "agent": agent, "decision": decision, "area": "projects", "summary": "s"});
        if let (Some(o), Value::Object(m)) = (r.as_object_mut(), extra) {
            o.extend(m);
        }
        r
    }

    #[test]
    fn reads_file_lines_and_envoy_log_lines() {
        let path = std::env::temp_dir().join(format!("bollard-console-audit-{}.jsonl", std::process::id()));
        let text = "{\"ts\": \"t1\", \"summary\": \"a\"}\n\
                    [info] wasm log bollard bollard: {\"ts\": \"t2\", \"summary\": \"b\"}\n\
                    not a record\n{\"other\": 1}\n";
        std::fs::write(&path, text).unwrap();
        let got: Vec<String> = read(&path).iter().map(|r| r["summary"].as_str().unwrap().to_string()).collect();
        assert_eq!(got, ["a", "b"]);
        std::fs::remove_file(&path).unwrap();
        assert!(read(&path).is_empty());
    }

    #[test]
    fn newest_first_and_filtered() {
        let records = vec![
            rec("2026-12-01T10:00:00.000Z", "a", "allow", json!({})),
            rec("2026-12-01T11:00:00.000Z", "b", "deny", json!({})),
            rec("2026-12-01T12:00:00.000Z", "a", "deny", json!({"area": "database"})),
        ];
        let all = select(&records, &Filter::default());
        assert_eq!(all[0]["ts"], "2026-12-01T12:00:00.000Z");
        assert_eq!(select(&records, &Filter { agent: Some("a"), ..Filter::default() }).len(), 2);
        assert_eq!(
            select(&records, &Filter { decision: Some("deny"), area: Some("projects"), ..Filter::default() }).len(),
            1
        );
        let since = super::super::time::parse("2026-12-01T11:00:00Z");
        assert_eq!(select(&records, &Filter { since, ..Filter::default() }).len(), 2);
    }

    #[test]
    fn pending_approvals_leave_when_approved_or_dismissed() {
        let ask = |id: &str| {
            rec("2026-12-01T10:00:00.000Z", "ops", "deny", json!({"reason": "approval_required", "approval_id": id}))
        };
        let mut records = vec![ask("x"), ask("y"), ask("y"), ask("z")];
        records.push(json!({"ts": "2026-12-01T10:05:00.000Z", "kind": "operator", "action": "approval_dismissed", "approval_id": "z", "summary": "s"}));
        let policy = Doc::parse(
            r#"{"grants": [{"id": "x", "agent": "ops", "approval": "x", "not_after": "2026-12-01T11:00:00Z", "uses": 1}]}"#,
        )
        .unwrap();
        let now = super::super::time::parse("2026-12-01T10:30:00Z").unwrap();
        let waiting = pending(&records, &policy, now);
        let ids: Vec<&str> = waiting.iter().filter_map(|r| r["approval_id"].as_str()).collect();
        assert_eq!(ids, ["y"]);
        assert_eq!(active_grants(&policy, now).len(), 1);
        // Once the grant has ended, the call waits again and the grant is no longer active.
        let later = now + 3600;
        assert_eq!(pending(&records, &policy, later).len(), 2);
        assert!(active_grants(&policy, later).is_empty());
        // The approved call passes once; asked again, it waits again (its one use is taken).
        records.push(rec(
            "2026-12-01T10:06:00.000Z",
            "ops",
            "allow",
            json!({"reason": "approved", "approval_id": "x"}),
        ));
        assert_eq!(pending(&records, &policy, now).len(), 1);
        records.push(ask("x"));
        let waiting = pending(&records, &policy, now);
        let ids: Vec<&str> = waiting.iter().filter_map(|r| r["approval_id"].as_str()).collect();
        assert_eq!(ids, ["x", "y"]);
        // Approved again from the console: answered until that use is taken too.
        records.push(json!({"ts": "2026-12-01T10:07:00.000Z", "kind": "operator", "action": "approval_granted", "approval_id": "x", "summary": "s"}));
        assert_eq!(pending(&records, &policy, now).len(), 1);
    }
}
