//! The policy as written: serde types with unknown fields refused. `compile` in the parent turns
//! them into the runtime form.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::PolicyError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    #[serde(default)]
    pub mode: Option<String>,
    pub upstream: UpstreamFile,
    pub agents: Vec<Box<RawValue>>,
    #[serde(default)]
    pub rate_limit: Option<serde_json::Value>,
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
    pub rate_limit: Option<serde_json::Value>,
}

/// A JSON object of strings in which a repeated key is an error, not a silent last-wins.
#[derive(Default)]
pub(super) struct UniqueMap(BTreeMap<String, String>);

impl<'a> IntoIterator for &'a UniqueMap {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'de> Deserialize<'de> for UniqueMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<UniqueMap, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UniqueMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of area names to off, read or full")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<UniqueMap, M::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = m.next_entry::<String, String>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("area {k:?} is given twice")));
                    }
                    out.insert(k, v);
                }
                Ok(UniqueMap(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses the policy text; an agent's error names the agent.
pub(super) fn parse(text: &str) -> Result<(PolicyFile, Vec<AgentFile>), PolicyError> {
    let file: PolicyFile =
        serde_json::from_str(text).map_err(|e| PolicyError::new("policy", e.to_string()))?;
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
