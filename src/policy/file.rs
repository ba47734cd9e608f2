//! The policy as written: serde types with unknown fields refused. `compile` in the parent turns
//! them into the runtime form.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::PolicyError;
pub(super) use crate::json::UniqueMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile<'a> {
    #[serde(default)]
    pub mode: Option<String>,
    pub upstream: UpstreamFile,
    /// Borrowed from the policy text, and parsed one at a time, so a large policy is never
    /// held twice in memory.
    #[serde(borrow)]
    pub agents: Vec<&'a RawValue>,
    #[serde(default)]
    pub rate_limit: Option<RateLimitFile>,
    #[serde(default)]
    pub max_body_bytes: Option<usize>,
    #[serde(default)]
    pub audit: Option<AuditFile>,
    /// Time-boxed approvals and elevations (`grants.rs`); read one by one so errors name them.
    #[serde(default, borrow)]
    pub grants: Vec<&'a RawValue>,
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
    /// One key forever; or `keys`, several with end dates (exactly one of the two).
    #[serde(default)]
    pub key_sha256: Option<String>,
    #[serde(default)]
    pub keys: Option<Vec<KeyFile>>,
    #[serde(default)]
    pub projects: ProjectsFile,
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
    /// Endpoint ids or permission names whose calls need a person's approval.
    #[serde(default)]
    pub approve: Vec<String>,
    #[serde(default)]
    pub sql: Option<SqlFile>,
}

/// One of an agent's keys: `{"sha256": "…", "not_after": "2027-01-01T00:00:00Z"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyFile {
    pub sha256: String,
    #[serde(default)]
    pub not_after: Option<String>,
}

/// A grant as written: an approval (`approval`, `approved_by`, `uses`) or an elevation
/// (`access`, `allow`); which one is decided by the fields present.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GrantFile {
    pub id: String,
    pub agent: String,
    pub not_after: String,
    #[serde(default)]
    pub not_before: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub approval: Option<String>,
    #[serde(default)]
    pub approved_by: Option<String>,
    #[serde(default)]
    pub uses: Option<u32>,
    #[serde(default)]
    pub access: Option<UniqueMap>,
    #[serde(default)]
    pub allow: Option<Vec<String>>,
}

/// `{"allow": ["read", "write"], "deny_schemas": ["auth"], "deny_functions": ["dblink"], "allow_unparsed": false}`
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SqlFile {
    #[serde(default)]
    pub allow: Option<Vec<String>>,
    #[serde(default)]
    pub deny_schemas: Vec<String>,
    #[serde(default)]
    pub deny_functions: Vec<String>,
    #[serde(default)]
    pub allow_unparsed: bool,
}

/// `projects`: a list of refs (or `["*"]`), or `{"organizations": [slugs]}`, the projects of
/// those organizations.
#[derive(Default)]
pub(super) enum ProjectsFile {
    #[default]
    Unset,
    List(Vec<String>),
    Organizations(Vec<String>),
}

impl<'de> Deserialize<'de> for ProjectsFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ProjectsFile;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a list of project refs, ["*"], or {"organizations": [organization slugs]}"#)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ProjectsFile, A::Error> {
                let mut list = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    list.push(s);
                }
                Ok(ProjectsFile::List(list))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ProjectsFile, A::Error> {
                let mut orgs: Option<Vec<String>> = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key != "organizations" {
                        return Err(de::Error::unknown_field(&key, &["organizations"]));
                    }
                    if orgs.is_some() {
                        return Err(de::Error::duplicate_field("organizations"));
                    }
                    orgs = Some(map.next_value()?);
                }
                orgs.map(ProjectsFile::Organizations).ok_or_else(|| de::Error::missing_field("organizations"))
            }
        }
        d.deserialize_any(V)
    }
}

/// serde's message for an unknown field, with a suggestion when a known one is close:
/// "unknown field `organisations`, expected one of ... (did you mean `organizations`?)".
fn with_suggestion(message: String) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else { return message };
    let Some((field, expected)) = rest.split_once('`') else { return message };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match super::suggest::closest(field, known.iter().copied()) {
        Some(best) => match message.split_once(" at line ") {
            Some((head, tail)) => format!("{head} (did you mean `{best}`?) at line {tail}"),
            None => format!("{message} (did you mean `{best}`?)"),
        },
        None => message,
    }
}

/// A serde_json error with its line counted from the start of the policy text: errors inside
/// an agent are found by parsing the agent alone, whose text starts at `line_offset`.
fn json_error(e: &serde_json::Error, line_offset: usize) -> String {
    let message = with_suggestion(e.to_string());
    if line_offset == 0 || e.line() == 0 {
        return message;
    }
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&suffix) {
        Some(head) => format!("{head} at line {}", e.line() + line_offset),
        None => message,
    }
}

/// Parses the policy text, leaving each agent as its text.
pub(super) fn parse(text: &str) -> Result<PolicyFile<'_>, PolicyError> {
    serde_json::from_str(text).map_err(|e| PolicyError::new("policy", json_error(&e, 0)))
}

/// Parses the `i`th agent; its error names the agent.
pub(super) fn parse_agent(text: &str, i: usize, raw: &RawValue) -> Result<AgentFile, PolicyError> {
    serde_json::from_str(raw.get()).map_err(|e| {
        #[derive(Deserialize)]
        struct IdOnly {
            id: String,
        }
        let culprit = match serde_json::from_str::<IdOnly>(raw.get()) {
            Ok(IdOnly { id }) => format!("agent {id:?}"),
            Err(_) => format!("agents[{i}]"),
        };
        PolicyError::new(culprit, json_error(&e, agent_line(text, raw.get())))
    })
}

/// The line (counted from 0) where an agent's text starts in the policy, when it is found
/// verbatim; 0 otherwise. The same agent text twice is refused later as a duplicate id.
fn agent_line(text: &str, agent: &str) -> usize {
    text.find(agent).map_or(0, |at| text.get(..at).map_or(0, |before| before.matches('\n').count()))
}

/// Parses the grants; an error names the grant (`grant "id"`, or `grants[2]`).
pub(super) fn parse_grants(raw: &[&RawValue]) -> Result<Vec<GrantFile>, PolicyError> {
    let mut grants = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let grant: GrantFile = serde_json::from_str(r.get()).map_err(|e| {
            #[derive(Deserialize)]
            struct IdOnly {
                id: String,
            }
            let culprit = match serde_json::from_str::<IdOnly>(r.get()) {
                Ok(IdOnly { id }) => format!("grant {id:?}"),
                Err(_) => format!("grants[{i}]"),
            };
            PolicyError::new(culprit, e.to_string())
        })?;
        grants.push(grant);
    }
    Ok(grants)
}
