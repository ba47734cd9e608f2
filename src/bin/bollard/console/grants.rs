//! Grants the console writes (interface §7): an approval lets one identical call pass `uses`
//! times before `not_after`. `add_approval` is the one place that writes them, so it can be
//! swapped for the policy crate's own writer (`bollard approve`) when the core knows grants.

use bollard::policy::Policy;

use super::doc::Doc;

/// An approval as `bollard approve` writes it: `{"id", "agent", "approval", "approved_by",
/// "not_after", "uses"}`, its id the approval id itself.
pub struct Approval<'a> {
    pub agent: &'a str,
    pub approval_id: &'a str,
    pub approved_by: &'a str,
    pub not_after: &'a str,
    pub uses: u32,
}

/// Writes the grant into the policy's top-level `grants`, replacing an earlier approval of the
/// same call (a grant written again with a new end starts its uses from zero).
pub fn add_approval(doc: &mut Doc, a: &Approval) {
    let grant = Doc::Object(vec![
        ("id".into(), Doc::String(a.approval_id.into())),
        ("agent".into(), Doc::String(a.agent.into())),
        ("approval".into(), Doc::String(a.approval_id.into())),
        ("approved_by".into(), Doc::String(a.approved_by.into())),
        ("not_after".into(), Doc::String(a.not_after.into())),
        ("uses".into(), Doc::Number(a.uses.into())),
    ]);
    if doc.get("grants").and_then(Doc::as_array).is_none() {
        doc.set("grants", Doc::Array(Vec::new()));
    }
    if let Some(list) = doc.get_mut("grants").and_then(Doc::as_array_mut) {
        list.retain(|g| {
            let same_call = g.get("approval").and_then(Doc::as_str) == Some(a.approval_id)
                && g.get("agent").and_then(Doc::as_str) == Some(a.agent);
            !same_call && g.get("id").and_then(Doc::as_str) != Some(a.approval_id)
        });
        list.push(grant);
    }
}

/// Whether `s` has the shape of an approval id: `apr_` and 24 hex digits.
pub fn is_approval_id(s: &str) -> bool {
    s.strip_prefix("apr_").is_some_and(|h| h.len() == 24 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Whether the core validates top-level `grants` itself.
pub fn core_knows_grants() -> bool {
    let probe = r#"{"upstream": {"token_env": "T"}, "agents": [], "grants": []}"#;
    Policy::from_json(probe).is_ok()
}

/// Validates a policy text with the filter's own code. While the core does not yet read
/// `grants`, they are checked here for the shape §7 gives them and the rest goes to the core.
pub fn validate(doc: &Doc) -> Result<Policy, String> {
    let text = doc.pretty();
    let grants = doc.get("grants");
    if grants.is_none() || core_knows_grants() {
        return Policy::from_json(&text).map_err(|e| e.to_string());
    }
    let mut rest = doc.clone();
    rest.remove("grants");
    let policy = Policy::from_json(&rest.pretty()).map_err(|e| e.to_string())?;
    check_shape(grants, &policy)?;
    Ok(policy)
}

fn check_shape(grants: Option<&Doc>, policy: &Policy) -> Result<(), String> {
    let list = grants.and_then(Doc::as_array).ok_or("grants: expected a list")?;
    let mut ids: Vec<&str> = Vec::new();
    for (i, g) in list.iter().enumerate() {
        let field = |k: &str| g.get(k).and_then(Doc::as_str);
        let id = field("id").ok_or(format!("grants[{i}]: id is required"))?;
        let c = format!("grant {id:?}");
        if ids.contains(&id) {
            return Err(format!("{c}: id is used twice"));
        }
        ids.push(id);
        let agent = field("agent").ok_or(format!("{c}: agent is required"))?;
        if policy.agent(agent).is_none() {
            return Err(format!("{c}: no agent {agent:?}"));
        }
        let not_after = field("not_after").ok_or(format!("{c}: not_after is required"))?;
        super::time::parse(not_after).ok_or(format!("{c}: not_after {not_after:?} is not an RFC 3339 time"))?;
        if g.get("approval").is_some() {
            field("approval")
                .filter(|a| is_approval_id(a))
                .ok_or(format!("{c}: approval must be an approval id (apr_ and 24 hex digits)"))?;
            field("approved_by").ok_or(format!("{c}: approved_by is required"))?;
            let uses_ok = match g.get("uses") {
                None => true,
                Some(Doc::Number(n)) => n.as_u64().is_some_and(|u| u >= 1),
                Some(_) => false,
            };
            if !uses_ok {
                return Err(format!("{c}: uses must be a whole number, at least 1"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Doc {
        Doc::parse(&format!(
            r#"{{"upstream": {{"token_env": "T"}}, "agents": [{{"id": "ops", "key_sha256": "{}"}}]}}"#,
            "0".repeat(64)
        ))
        .unwrap()
    }

    #[test]
    fn an_approval_is_written_as_bollard_approve_writes_it() {
        let mut d = doc();
        let id = "apr_0123456789abcdef01234567";
        let a =
            Approval { agent: "ops", approval_id: id, approved_by: "alex", not_after: "2026-12-01T16:00:00Z", uses: 1 };
        add_approval(&mut d, &a);
        let text = d.pretty();
        assert!(
            text.contains(&format!(
                r#"{{ "id": "{id}", "agent": "ops", "approval": "{id}", "approved_by": "alex", "not_after": "2026-12-01T16:00:00Z", "uses": 1 }}"#
            )),
            "{text}"
        );
        assert!(validate(&d).is_ok());
        // Approved again: one grant, the new one.
        add_approval(&mut d, &Approval { uses: 3, ..a });
        assert_eq!(d.get("grants").and_then(Doc::as_array).map(<[Doc]>::len), Some(1));
        assert!(d.pretty().contains("\"uses\": 3"));
        add_approval(&mut d, &Approval { agent: "nobody", approval_id: "apr_ffffffffffffffffffffffff", ..a });
        assert!(validate(&d).unwrap_err().contains("nobody"));
        let mut bad = doc();
        add_approval(&mut bad, &Approval { approval_id: "appr_1", ..a });
        assert!(validate(&bad).unwrap_err().contains("approval id"));
    }
}
