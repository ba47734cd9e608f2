//! The policy as written: serde types with unknown fields refused. `compile` in the parent turns
//! them into the runtime form.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::PolicyError;
pub(super) use crate::json::UniqueMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    #[serde(default)]
    pub mode: Option<String>,
    pub upstream: UpstreamFile,
    pub agents: Vec<Box<RawValue>>,
    #[serde(default)]
    pub rate_limit: Option<RateLimitFile>,
    #[serde(default)]
    pub max_body_bytes: Option<usize>,
    #[serde(default)]
    pub audit: Option<AuditFile>,
}

/// `{"log": true}`: also write each audit record to the proxy-wasm log (hosts without filter state).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditFile {
    #[serde(default)]
    pub log: bool,
}

/// `{"requests_per_minute": 120, "endpoints": {"run_sql": 30}}`
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RateLimitFile {
    pub requests_per_minute: u32,
    #[serde(default)]
    pub endpoints: UniqueMap<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpstreamFile {
    pub token_env: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AgentFile {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub key_sha256: String,
    #[serde(default)]
    pub projects: Vec<String>,
    #[serde(default)]
    pub organizations: Vec<String>,
    #[serde(default)]
    pub access: UniqueMap,
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub deny: Vec<String>,
    #[serde(default)]
    pub rate_limit: Option<RateLimitFile>,
    #[serde(default)]
    pub reveal_secrets: bool,
}

/// Parses the policy text; an agent's error names the agent.
pub(super) fn parse(text: &str) -> Result<(PolicyFile, Vec<AgentFile>), PolicyError> {
    let file: PolicyFile = serde_json::from_str(text).map_err(|e| PolicyError::new("policy", e.to_string()))?;
    let mut agents = Vec::with_capacity(file.agents.len());
    for (i, raw) in file.agents.iter().enumerate() {
        let agent: AgentFile = serde_json::from_str(raw.get()).map_err(|e| {
            #[derive(Deserialize)]
            struct IdOnly {
                id: String,
            }
            let culprit = match serde_json::from_str::<IdOnly>(raw.get()) {
                Ok(IdOnly { id }) => format!("agent {id:?}"),
                Err(_) => format!("agents[{i}]"),
            };
            PolicyError::new(culprit, e.to_string())
        })?;
        agents.push(agent);
    }
    Ok((file, agents))
}
