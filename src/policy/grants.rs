//! Keys with end dates, and the policy's time-boxed grants: a person's approval of one call, and
//! an elevation that adds access for a while. Compiled once with the policy; whether one is in
//! force is decided per request against the time the host passes in.

use super::file::{GrantFile, KeyFile};
use super::{compile_access, compile_entries, parse_digest, EndpointSet, Level, PolicyError};
use crate::approval::is_approval_id;
use crate::catalog::Area;
use crate::time::parse_rfc3339;

/// One of an agent's keys, by its SHA-256; `not_after_ms` is when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentKey {
    /// Lowercase hex, as written.
    pub sha256: String,
    pub not_after_ms: Option<u64>,
}

impl AgentKey {
    /// A key works strictly before its `not_after`.
    pub fn expired(&self, now_ms: u64) -> bool {
        self.not_after_ms.is_some_and(|t| now_ms >= t)
    }
}

/// What a grant gives.
#[derive(Debug, Clone)]
pub enum GrantKind {
    /// A person approved one exact call (`approval_id`), `uses` times.
    Approval { approval_id: String, approved_by: String, uses: u32 },
    /// More access for a while: levels per area (taken with the agent's own, the higher wins) and
    /// endpoints allowed.
    Elevation { levels: [Level; Area::ALL.len()], allowed: EndpointSet, allow: Vec<String> },
}

/// A compiled grant.
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: String,
    pub agent: String,
    pub not_before_ms: Option<u64>,
    pub not_after_ms: u64,
    pub reason: Option<String>,
    pub kind: GrantKind,
}

impl Grant {
    /// In force from `not_before` (inclusive) to `not_after` (exclusive).
    pub fn active(&self, now_ms: u64) -> bool {
        now_ms < self.not_after_ms && self.not_before_ms.is_none_or(|t| now_ms >= t)
    }

    pub fn expired(&self, now_ms: u64) -> bool {
        now_ms >= self.not_after_ms
    }

    /// The elevation's level for an area (`Off` for approvals).
    pub fn level(&self, area: Area) -> Level {
        match &self.kind {
            GrantKind::Elevation { levels, .. } => levels.get(area.index()).copied().unwrap_or(Level::Off),
            GrantKind::Approval { .. } => Level::Off,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            GrantKind::Approval { .. } => "approval",
            GrantKind::Elevation { .. } => "elevation",
        }
    }
}

fn time_field(culprit: &str, field: &str, value: &str) -> Result<u64, PolicyError> {
    parse_rfc3339(value).ok_or_else(|| {
        PolicyError::new(culprit, format!("{field} {value:?} is not an RFC 3339 time such as \"2027-01-01T00:00:00Z\""))
    })
}

/// Text a grant can hold (`approved_by`, `reason`): not blank, at most `max` characters, none of
/// them a control character.
pub fn is_plain_text(value: &str, max: usize) -> bool {
    !value.trim().is_empty() && value.chars().count() <= max && !value.chars().any(char::is_control)
}

fn plain_text(culprit: &str, field: &str, value: &str, max: usize) -> Result<(), PolicyError> {
    if !is_plain_text(value, max) {
        return Err(PolicyError::new(
            culprit,
            format!("{field} must be non-empty text of at most {max} characters, without control characters"),
        ));
    }
    Ok(())
}

/// An agent's keys: `key_sha256` or `keys`, exactly one of the two.
pub(super) fn compile_keys(
    culprit: &str,
    key_sha256: Option<String>,
    keys: Option<Vec<KeyFile>>,
) -> Result<Vec<(AgentKey, [u8; 32])>, PolicyError> {
    let written: Vec<(String, Option<String>, String)> = match (key_sha256, keys) {
        (Some(k), None) => vec![(k, None, "key_sha256".to_string())],
        (None, Some(list)) if !list.is_empty() => {
            list.into_iter().enumerate().map(|(i, k)| (k.sha256, k.not_after, format!("keys[{i}]"))).collect()
        }
        (None, Some(_)) => return Err(PolicyError::new(culprit, "keys is empty: an agent needs at least one key")),
        (None, None) => {
            return Err(PolicyError::new(culprit, "needs key_sha256 or keys (the SHA-256 of the agent's key)"))
        }
        (Some(_), Some(_)) => {
            return Err(PolicyError::new(culprit, "has both key_sha256 and keys: use one (keys for several)"))
        }
    };
    let mut out: Vec<(AgentKey, [u8; 32])> = Vec::with_capacity(written.len());
    for (hex, not_after, field) in written {
        let digest = parse_digest(&hex).ok_or_else(|| {
            let what = if field == "key_sha256" { field.clone() } else { format!("{field}.sha256") };
            PolicyError::new(culprit, format!("{what} must be the 64 lowercase hex digits of the SHA-256 of a key"))
        })?;
        if out.iter().any(|(_, d)| *d == digest) {
            return Err(PolicyError::new(culprit, format!("{field}: the same key hash is listed twice")));
        }
        let not_after_ms = not_after.map(|t| time_field(culprit, &format!("{field}.not_after"), &t)).transpose()?;
        out.push((AgentKey { sha256: hex, not_after_ms }, digest));
    }
    Ok(out)
}

/// A grant id: `[A-Za-z0-9_.-]{1,128}`.
pub fn valid_grant_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Compiles one grant; `agent_ids` are the policy's agents, for the error naming an unknown one.
pub(super) fn compile_grant(g: GrantFile, agent_ids: &[&str]) -> Result<Grant, PolicyError> {
    if !valid_grant_id(&g.id) {
        return Err(PolicyError::new(format!("grant {:?}", g.id), "id must match [A-Za-z0-9_.-]{1,128}"));
    }
    let culprit = format!("grant {:?}", g.id);
    let c = culprit.as_str();
    if !agent_ids.contains(&g.agent.as_str()) {
        return Err(PolicyError::new(
            c,
            format!("agent {:?} is not an agent of this policy (agents: {})", g.agent, agent_ids.join(", ")),
        ));
    }
    let not_after_ms = time_field(c, "not_after", &g.not_after)?;
    let not_before_ms = g.not_before.as_deref().map(|t| time_field(c, "not_before", t)).transpose()?;
    if not_before_ms.is_some_and(|b| b >= not_after_ms) {
        return Err(PolicyError::new(c, "not_before must be earlier than not_after"));
    }
    if let Some(r) = &g.reason {
        plain_text(c, "reason", r, 500)?;
    }
    let kind = match g.approval {
        Some(approval_id) => {
            if g.access.is_some() || g.allow.is_some() {
                return Err(PolicyError::new(
                    c,
                    "an approval (approval) cannot also grant access or allow; write an elevation as its own grant",
                ));
            }
            if !is_approval_id(&approval_id) {
                return Err(PolicyError::new(
                    c,
                    format!(
                        "approval {approval_id:?} is not an approval id (apr_ and 24 hex digits, from an approval_required refusal)"
                    ),
                ));
            }
            let approved_by = g
                .approved_by
                .ok_or_else(|| PolicyError::new(c, "approved_by is required: the person who approved the call"))?;
            plain_text(c, "approved_by", &approved_by, 128)?;
            let uses = g.uses.unwrap_or(1);
            if uses == 0 {
                return Err(PolicyError::new(c, "uses must be at least 1"));
            }
            GrantKind::Approval { approval_id, approved_by, uses }
        }
        None => {
            if g.approved_by.is_some() || g.uses.is_some() {
                return Err(PolicyError::new(
                    c,
                    "approved_by and uses belong to an approval, which names the approved call in approval",
                ));
            }
            let access = g.access.unwrap_or_default();
            let allow = g.allow.unwrap_or_default();
            if (&access).into_iter().next().is_none() && allow.is_empty() {
                return Err(PolicyError::new(
                    c,
                    "grants nothing: an elevation needs access or allow (an approval needs approval)",
                ));
            }
            let levels = compile_access(c, &access)?;
            let allowed = compile_entries(c, "allow", &allow, false)?;
            GrantKind::Elevation { levels, allowed, allow }
        }
    };
    Ok(Grant { id: g.id, agent: g.agent, not_before_ms, not_after_ms, reason: g.reason, kind })
}
