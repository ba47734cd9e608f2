//! Grants the console writes (interface §7): an approval lets one identical call pass `uses`
//! times before `not_after`. `add_approval` is the one place that writes them, so it can be
//! swapped for the policy crate's own writer (`bollard approve`) when the core knows grants.

use bollard::policy::Policy;

use super::doc::Doc;

/// An approval as the console writes it: `{"id", "agent", "approval", "approved_by", "not_after", "uses"}`.
pub struct Approval<'a> {
    pub id: &'a str,
    pub agent: &'a str,
    pub approval_id: &'a str,
    pub approved_by: &'a str,
    pub not_after: &'a str,
    pub uses: u32,
}

/// Appends the grant to the policy's top-level `grants`.
pub fn add_approval(doc: &mut Doc, a: &Approval) {
    let grant = Doc::Object(vec![
        ("id".into(), Doc::String(a.id.into())),
        ("agent".into(), Doc::String(a.agent.into())),
        ("approval".into(), Doc::String(a.approval_id.into())),
        ("approved_by".into(), Doc::String(a.approved_by.into())),
        ("not_after".into(), Doc::String(a.not_after.into())),
        ("uses".into(), Doc::Number(a.uses.into())),
    ]);
    match doc.get_mut("grants").and_then(Doc::as_array_mut) {
        Some(list) => list.push(grant),
        None => doc.set("grants", Doc::Array(vec![grant])),
    }
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
            field("approval").ok_or(format!("{c}: approval must be an approval id"))?;
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
    fn an_approval_is_written_as_the_interface_says() {
        let mut d = doc();
        let a = Approval {
            id: "g1",
            agent: "ops",
            approval_id: "appr_1",
            approved_by: "alex",
            not_after: "2026-12-01T16:00:00.000Z",
            uses: 1,
        };
        add_approval(&mut d, &a);
        let text = d.pretty();
        assert!(text.contains(
            r#"{ "id": "g1", "agent": "ops", "approval": "appr_1", "approved_by": "alex", "not_after": "2026-12-01T16:00:00.000Z", "uses": 1 }"#
        ), "{text}");
        assert!(validate(&d).is_ok());
        add_approval(&mut d, &Approval { id: "g2", agent: "nobody", ..a });
        assert!(validate(&d).unwrap_err().contains("nobody"));
    }
}
