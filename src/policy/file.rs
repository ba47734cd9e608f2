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
    pub rate_limit: Option<RateLimitFile>,
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
}

/// A JSON object in which a repeated key is an error, not a silent last-wins.
#[derive(Clone)]
pub(super) struct UniqueMap<V = String>(BTreeMap<String, V>);

impl<V> Default for UniqueMap<V> {
    fn default() -> Self {
        UniqueMap(BTreeMap::new())
    }
}

impl<'a, V> IntoIterator for &'a UniqueMap<V> {
    type Item = (&'a String, &'a V);
    type IntoIter = std::collections::btree_map::Iter<'a, String, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<UniqueMap<V>, D::Error> {
        struct Vis<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with each key once")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<UniqueMap<V>, M::Error> {
                let mut out = BTreeMap::new();
                while let Some((k, v)) = m.next_entry::<String, V>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("{k:?} is given twice")));
                    }
                    out.insert(k, v);
                }
                Ok(UniqueMap(out))
            }
        }
        d.deserialize_map(Vis(std::marker::PhantomData))
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
