//! The policy as written, unknown fields refused. `compile` in the parent turns it into the
//! runtime form.
//!
//! The objects are read by one reader driven by their shapes (below) rather than by a serde
//! derive per type: each derive adds its own copy of the JSON reader to the .wasm. The reader
//! makes the same calls, in the same order, as the derives would, so every error is serde's,
//! word for word and at the same line and column.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::PolicyError;
pub(super) use crate::json::UniqueMap;

pub(super) struct PolicyFile<'a> {
    pub mode: Option<String>,
    pub upstream: UpstreamFile,
    /// Borrowed from the policy text, and parsed one at a time, so a large policy is never
    /// held twice in memory.
    pub agents: Vec<&'a RawValue>,
    pub rate_limit: Option<RateLimitFile>,
    pub max_body_bytes: Option<usize>,
    pub audit: Option<AuditFile>,
    /// Time-boxed approvals and elevations (`grants.rs`); read one by one so errors name them.
    pub grants: Vec<&'a RawValue>,
}

/// `{"log": true}`: also write each audit record to the proxy-wasm log (hosts without filter state).
pub(super) struct AuditFile {
    pub log: bool,
}

/// `{"requests_per_minute": 120, "endpoints": {"run_sql": 30}}`
#[derive(Clone)]
pub(super) struct RateLimitFile {
    pub requests_per_minute: u32,
    pub endpoints: UniqueMap<u32>,
}

pub(super) struct UpstreamFile {
    pub token_env: String,
}

pub(super) struct AgentFile {
    pub id: String,
    pub name: Option<String>,
    /// One key forever; or `keys`, several with end dates (exactly one of the two).
    pub key_sha256: Option<String>,
    pub keys: Option<Vec<KeyFile>>,
    pub projects: ProjectsFile,
    pub organizations: Vec<String>,
    pub access: UniqueMap,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    pub rate_limit: Option<RateLimitFile>,
    pub reveal_secrets: bool,
    /// Endpoint ids or permission names whose calls need a person's approval.
    pub approve: Vec<String>,
    pub sql: Option<SqlFile>,
}

/// One of an agent's keys: `{"sha256": "…", "not_after": "2027-01-01T00:00:00Z"}`.
pub(super) struct KeyFile {
    pub sha256: String,
    pub not_after: Option<String>,
}

/// A grant as written: an approval (`approval`, `approved_by`, `uses`) or an elevation
/// (`access`, `allow`); which one is decided by the fields present.
pub(super) struct GrantFile {
    pub id: String,
    pub agent: String,
    pub not_after: String,
    pub not_before: Option<String>,
    pub reason: Option<String>,
    pub approval: Option<String>,
    pub approved_by: Option<String>,
    pub uses: Option<u32>,
    pub access: Option<UniqueMap>,
    pub allow: Option<Vec<String>>,
}

/// `{"allow": ["read", "write"], "deny_schemas": ["auth"], "deny_functions": ["dblink"], "allow_unparsed": false}`
pub(super) struct SqlFile {
    pub allow: Option<Vec<String>>,
    pub deny_schemas: Vec<String>,
    pub deny_functions: Vec<String>,
    pub allow_unparsed: bool,
}

/// What a field holds, as the Rust type it is read into.
#[derive(Clone, Copy)]
enum Kind {
    /// `String`
    Str,
    /// `bool`
    Bool,
    /// `u32`
    U32,
    /// `usize`
    Usize,
    /// `Vec<String>`
    Strings,
    /// `Vec<&RawValue>`
    Raws,
    /// `UniqueMap<String>`
    Map,
    /// `UniqueMap<u32>`
    MapU32,
    /// `ProjectsFile`
    Projects,
    /// One of the structs below.
    Object(&'static Shape),
    /// `Vec` of one of them.
    Objects(&'static Shape),
    /// `Option<…>`: `null` is none.
    Option(&'static Kind),
}

/// A struct as serde sees it: its name in messages, its fields in order, which of them must be
/// given (the others default to empty or none), and whether other fields are refused.
struct Shape {
    expecting: &'static str,
    names: &'static [&'static str],
    kinds: &'static [Kind],
    required: &'static [&'static str],
    deny_unknown: bool,
}

static POLICY: Shape = Shape {
    expecting: "struct PolicyFile",
    names: &["mode", "upstream", "agents", "rate_limit", "max_body_bytes", "audit", "grants"],
    kinds: &[
        Kind::Option(&Kind::Str),
        Kind::Object(&UPSTREAM),
        Kind::Raws,
        Kind::Option(&Kind::Object(&RATE_LIMIT)),
        Kind::Option(&Kind::Usize),
        Kind::Option(&Kind::Object(&AUDIT)),
        Kind::Raws,
    ],
    required: &["upstream", "agents"],
    deny_unknown: true,
};

static AUDIT: Shape =
    Shape { expecting: "struct AuditFile", names: &["log"], kinds: &[Kind::Bool], required: &[], deny_unknown: true };

static RATE_LIMIT: Shape = Shape {
    expecting: "struct RateLimitFile",
    names: &["requests_per_minute", "endpoints"],
    kinds: &[Kind::U32, Kind::MapU32],
    required: &["requests_per_minute"],
    deny_unknown: true,
};

static UPSTREAM: Shape = Shape {
    expecting: "struct UpstreamFile",
    names: &["token_env"],
    kinds: &[Kind::Str],
    required: &["token_env"],
    deny_unknown: true,
};

static AGENT: Shape = Shape {
    expecting: "struct AgentFile",
    names: &[
        "id",
        "name",
        "key_sha256",
        "keys",
        "projects",
        "organizations",
        "access",
        "allow",
        "deny",
        "rate_limit",
        "reveal_secrets",
        "approve",
        "sql",
    ],
    kinds: &[
        Kind::Str,
        Kind::Option(&Kind::Str),
        Kind::Option(&Kind::Str),
        Kind::Option(&Kind::Objects(&KEY)),
        Kind::Projects,
        Kind::Strings,
        Kind::Map,
        Kind::Strings,
        Kind::Strings,
        Kind::Option(&Kind::Object(&RATE_LIMIT)),
        Kind::Bool,
        Kind::Strings,
        Kind::Option(&Kind::Object(&SQL)),
    ],
    required: &["id"],
    deny_unknown: true,
};

static KEY: Shape = Shape {
    expecting: "struct KeyFile",
    names: &["sha256", "not_after"],
    kinds: &[Kind::Str, Kind::Option(&Kind::Str)],
    required: &["sha256"],
    deny_unknown: true,
};

static GRANT: Shape = Shape {
    expecting: "struct GrantFile",
    names: &["id", "agent", "not_after", "not_before", "reason", "approval", "approved_by", "uses", "access", "allow"],
    kinds: &[
        Kind::Str,
        Kind::Str,
        Kind::Str,
        Kind::Option(&Kind::Str),
        Kind::Option(&Kind::Str),
        Kind::Option(&Kind::Str),
        Kind::Option(&Kind::Str),
        Kind::Option(&Kind::U32),
        Kind::Option(&Kind::Map),
        Kind::Option(&Kind::Strings),
    ],
    required: &["id", "agent", "not_after"],
    deny_unknown: true,
};

static SQL: Shape = Shape {
    expecting: "struct SqlFile",
    names: &["allow", "deny_schemas", "deny_functions", "allow_unparsed"],
    kinds: &[Kind::Option(&Kind::Strings), Kind::Strings, Kind::Strings, Kind::Bool],
    required: &[],
    deny_unknown: true,
};

/// An agent's or a grant's `id` alone, other fields ignored: to name the culprit of an error.
static ID_ONLY: Shape =
    Shape { expecting: "struct IdOnly", names: &["id"], kinds: &[Kind::Str], required: &["id"], deny_unknown: false };

/// A value read for a field.
enum Node<'a> {
    Null,
    Str(String),
    Bool(bool),
    U32(u32),
    Usize(usize),
    Strings(Vec<String>),
    Raws(Vec<&'a RawValue>),
    Map(UniqueMap),
    MapU32(UniqueMap<u32>),
    Projects(ProjectsFile),
    Object(Fields<'a>),
    Objects(Vec<Fields<'a>>),
}

/// An object's fields as read, in its shape's order; `None` where the field was not given.
struct Fields<'a> {
    shape: &'static Shape,
    values: Vec<Option<Node<'a>>>,
    /// Where the next field taken is looked for first: they are taken in order.
    next: usize,
}

impl<'a> Fields<'a> {
    /// The field's value; `None` when absent or `null`.
    fn take(&mut self, name: &str) -> Option<Node<'a>> {
        let names = self.shape.names;
        let i = match names.get(self.next) {
            Some(n) if *n == name => self.next,
            _ => names.iter().position(|n| *n == name)?,
        };
        self.next = i + 1;
        match self.values.get_mut(i).and_then(Option::take) {
            Some(Node::Null) | None => None,
            node => node,
        }
    }

    fn string(&mut self, name: &str) -> Option<String> {
        match self.take(name) {
            Some(Node::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn strings(&mut self, name: &str) -> Option<Vec<String>> {
        match self.take(name) {
            Some(Node::Strings(v)) => Some(v),
            _ => None,
        }
    }

    fn bool(&mut self, name: &str) -> bool {
        matches!(self.take(name), Some(Node::Bool(true)))
    }

    fn u32(&mut self, name: &str) -> Option<u32> {
        match self.take(name) {
            Some(Node::U32(n)) => Some(n),
            _ => None,
        }
    }

    fn map(&mut self, name: &str) -> Option<UniqueMap> {
        match self.take(name) {
            Some(Node::Map(m)) => Some(m),
            _ => None,
        }
    }

    fn raws(&mut self, name: &str) -> Vec<&'a RawValue> {
        match self.take(name) {
            Some(Node::Raws(v)) => v,
            _ => Vec::new(),
        }
    }

    fn object(&mut self, name: &str) -> Option<Fields<'a>> {
        match self.take(name) {
            Some(Node::Object(f)) => Some(f),
            _ => None,
        }
    }
}

impl<'a> From<Fields<'a>> for UpstreamFile {
    fn from(mut f: Fields<'a>) -> UpstreamFile {
        UpstreamFile { token_env: f.string("token_env").unwrap_or_default() }
    }
}

impl<'a> From<Fields<'a>> for RateLimitFile {
    fn from(mut f: Fields<'a>) -> RateLimitFile {
        RateLimitFile {
            requests_per_minute: f.u32("requests_per_minute").unwrap_or_default(),
            endpoints: match f.take("endpoints") {
                Some(Node::MapU32(m)) => m,
                _ => UniqueMap::default(),
            },
        }
    }
}

impl<'a> From<Fields<'a>> for PolicyFile<'a> {
    fn from(mut f: Fields<'a>) -> PolicyFile<'a> {
        PolicyFile {
            mode: f.string("mode"),
            upstream: f.object("upstream").map(UpstreamFile::from).unwrap_or(UpstreamFile { token_env: String::new() }),
            agents: f.raws("agents"),
            rate_limit: f.object("rate_limit").map(RateLimitFile::from),
            max_body_bytes: match f.take("max_body_bytes") {
                Some(Node::Usize(n)) => Some(n),
                _ => None,
            },
            audit: f.object("audit").map(|mut a| AuditFile { log: a.bool("log") }),
            grants: f.raws("grants"),
        }
    }
}

impl<'a> From<Fields<'a>> for AgentFile {
    fn from(mut f: Fields<'a>) -> AgentFile {
        AgentFile {
            id: f.string("id").unwrap_or_default(),
            name: f.string("name"),
            key_sha256: f.string("key_sha256"),
            keys: match f.take("keys") {
                Some(Node::Objects(list)) => Some(
                    list.into_iter()
                        .map(|mut k| KeyFile {
                            sha256: k.string("sha256").unwrap_or_default(),
                            not_after: k.string("not_after"),
                        })
                        .collect(),
                ),
                _ => None,
            },
            projects: match f.take("projects") {
                Some(Node::Projects(p)) => p,
                _ => ProjectsFile::Unset,
            },
            organizations: f.strings("organizations").unwrap_or_default(),
            access: f.map("access").unwrap_or_default(),
            allow: f.strings("allow").unwrap_or_default(),
            deny: f.strings("deny").unwrap_or_default(),
            rate_limit: f.object("rate_limit").map(RateLimitFile::from),
            reveal_secrets: f.bool("reveal_secrets"),
            approve: f.strings("approve").unwrap_or_default(),
            sql: f.object("sql").map(|mut s| SqlFile {
                allow: s.strings("allow"),
                deny_schemas: s.strings("deny_schemas").unwrap_or_default(),
                deny_functions: s.strings("deny_functions").unwrap_or_default(),
                allow_unparsed: s.bool("allow_unparsed"),
            }),
        }
    }
}

impl<'a> From<Fields<'a>> for GrantFile {
    fn from(mut f: Fields<'a>) -> GrantFile {
        GrantFile {
            id: f.string("id").unwrap_or_default(),
            agent: f.string("agent").unwrap_or_default(),
            not_after: f.string("not_after").unwrap_or_default(),
            not_before: f.string("not_before"),
            reason: f.string("reason"),
            approval: f.string("approval"),
            approved_by: f.string("approved_by"),
            uses: f.u32("uses"),
            access: f.map("access"),
            allow: f.strings("allow"),
        }
    }
}

/// Reads a value of one kind.
struct KindSeed(&'static Kind);

impl<'de> DeserializeSeed<'de> for KindSeed {
    type Value = Node<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        Ok(match self.0 {
            Kind::Str => Node::Str(String::deserialize(d)?),
            Kind::Bool => Node::Bool(bool::deserialize(d)?),
            Kind::U32 => Node::U32(u32::deserialize(d)?),
            Kind::Usize => Node::Usize(usize::deserialize(d)?),
            Kind::Strings => Node::Strings(Vec::<String>::deserialize(d)?),
            Kind::Raws => Node::Raws(Vec::<&'de RawValue>::deserialize(d)?),
            Kind::Map => Node::Map(UniqueMap::<String>::deserialize(d)?),
            Kind::MapU32 => Node::MapU32(UniqueMap::<u32>::deserialize(d)?),
            Kind::Projects => Node::Projects(ProjectsFile::deserialize(d)?),
            Kind::Object(shape) => Node::Object(ObjectSeed(shape).deserialize(d)?),
            Kind::Objects(shape) => Node::Objects(d.deserialize_seq(ObjectsVisitor(shape))?),
            Kind::Option(kind) => d.deserialize_option(OptionVisitor(kind))?,
        })
    }
}

/// `Option<T>` as serde reads it.
struct OptionVisitor(&'static Kind);

impl<'de> Visitor<'de> for OptionVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("option")
    }

    fn visit_none<E: de::Error>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        KindSeed(self.0).deserialize(d)
    }
}

/// `Vec<T>` of structs as serde reads it.
struct ObjectsVisitor(&'static Shape);

impl<'de> Visitor<'de> for ObjectsVisitor {
    type Value = Vec<Fields<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Fields<'de>>, A::Error> {
        let mut list = Vec::new();
        while let Some(fields) = seq.next_element_seed(ObjectSeed(self.0))? {
            list.push(fields);
        }
        Ok(list)
    }
}

/// A struct's field name, as the derive's field visitor reads it: its index, or `None` for an
/// ignored field.
struct FieldSeed(&'static Shape);

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        match self.0.names.iter().position(|n| *n == v) {
            Some(i) => Ok(Some(i)),
            None if self.0.deny_unknown => Err(E::unknown_field(v, self.0.names)),
            None => Ok(None),
        }
    }
}

/// A struct, from an object or (as serde allows) an array of its fields in order.
struct ObjectSeed(&'static Shape);

impl<'de> DeserializeSeed<'de> for ObjectSeed {
    type Value = Fields<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fields<'de>, D::Error> {
        d.deserialize_struct(self.0.expecting, self.0.names, ObjectVisitor(self.0))
    }
}

struct ObjectVisitor(&'static Shape);

/// The derive's "struct X with N elements", for an array that ends early.
struct SeqLength(&'static Shape);

impl de::Expected for SeqLength {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let n = self.0.names.len();
        if n == 1 {
            write!(f, "{} with 1 element", self.0.expecting)
        } else {
            write!(f, "{} with {n} elements", self.0.expecting)
        }
    }
}

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Fields<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0.expecting)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fields<'de>, A::Error> {
        let shape = self.0;
        let mut values = Vec::with_capacity(shape.names.len());
        for (i, (name, kind)) in shape.names.iter().zip(shape.kinds).enumerate() {
            match seq.next_element_seed(KindSeed(kind))? {
                Some(node) => values.push(Some(node)),
                None if shape.required.contains(name) => return Err(de::Error::invalid_length(i, &SeqLength(shape))),
                None => values.push(None),
            }
        }
        Ok(Fields { shape, values, next: 0 })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
        let shape = self.0;
        let mut values: Vec<Option<Node<'de>>> = shape.names.iter().map(|_| None).collect();
        while let Some(key) = map.next_key_seed(FieldSeed(shape))? {
            let field = key.and_then(|i| Some((values.get_mut(i)?, *shape.names.get(i)?, shape.kinds.get(i)?)));
            let Some((slot, name, kind)) = field else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if slot.is_some() {
                return Err(de::Error::duplicate_field(name));
            }
            *slot = Some(map.next_value_seed(KindSeed(kind))?);
        }
        for (name, value) in shape.names.iter().zip(&values) {
            if value.is_none() && shape.required.contains(name) {
                return Err(de::Error::missing_field(name));
            }
        }
        Ok(Fields { shape, values, next: 0 })
    }
}

/// Reads a whole text as one struct of this shape, as `serde_json::from_str` would (by the
/// reader of byte slices, which request bodies use too: one copy of it in the .wasm).
fn read<'a>(text: &'a str, shape: &'static Shape) -> Result<Fields<'a>, serde_json::Error> {
    let mut d = serde_json::Deserializer::from_slice(text.as_bytes());
    let fields = ObjectSeed(shape).deserialize(&mut d)?;
    d.end()?;
    Ok(fields)
}

/// The `id` of an agent or grant whose text did not read, when that much of it reads.
fn id_only(text: &str) -> Option<String> {
    read(text, &ID_ONLY).ok()?.string("id")
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
    read(text, &POLICY).map(PolicyFile::from).map_err(|e| PolicyError::new("policy", json_error(&e, 0)))
}

/// Parses the `i`th agent; its error names the agent.
pub(super) fn parse_agent(text: &str, i: usize, raw: &RawValue) -> Result<AgentFile, PolicyError> {
    read(raw.get(), &AGENT).map(AgentFile::from).map_err(|e| {
        let culprit = match id_only(raw.get()) {
            Some(id) => format!("agent {id:?}"),
            None => format!("agents[{i}]"),
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
        let grant = read(r.get(), &GRANT).map(GrantFile::from).map_err(|e| {
            let culprit = match id_only(r.get()) {
                Some(id) => format!("grant {id:?}"),
                None => format!("grants[{i}]"),
            };
            PolicyError::new(culprit, e.to_string())
        })?;
        grants.push(grant);
    }
    Ok(grants)
}

#[cfg(test)]
mod tests {
    use super::{AGENT, AUDIT, GRANT, ID_ONLY, KEY, POLICY, RATE_LIMIT, SQL, UPSTREAM};

    #[test]
    fn every_shape_gives_each_field_a_kind() {
        for shape in [&POLICY, &AUDIT, &RATE_LIMIT, &UPSTREAM, &AGENT, &KEY, &GRANT, &SQL, &ID_ONLY] {
            assert_eq!(shape.names.len(), shape.kinds.len(), "{}", shape.expecting);
            assert!(shape.required.iter().all(|r| shape.names.contains(r)), "{}", shape.expecting);
        }
    }
}

/// The derives this reader replaces, kept here to show it reads every text as they did.
#[cfg(test)]
mod same_as_derive {
    use serde::Deserialize;
    use serde_json::value::RawValue;

    use super::{read, ProjectsFile, UniqueMap, AGENT, GRANT, ID_ONLY, POLICY};

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct PolicyFile<'a> {
        #[serde(default)]
        mode: Option<String>,
        upstream: UpstreamFile,
        #[serde(borrow)]
        agents: Vec<&'a RawValue>,
        #[serde(default)]
        rate_limit: Option<RateLimitFile>,
        #[serde(default)]
        max_body_bytes: Option<usize>,
        #[serde(default)]
        audit: Option<AuditFile>,
        #[serde(default, borrow)]
        grants: Vec<&'a RawValue>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct AuditFile {
        #[serde(default)]
        log: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct RateLimitFile {
        requests_per_minute: u32,
        #[serde(default)]
        endpoints: UniqueMap<u32>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct UpstreamFile {
        token_env: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct AgentFile {
        id: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        key_sha256: Option<String>,
        #[serde(default)]
        keys: Option<Vec<KeyFile>>,
        #[serde(default)]
        projects: ProjectsFile,
        #[serde(default)]
        organizations: Vec<String>,
        #[serde(default)]
        access: UniqueMap,
        #[serde(default)]
        allow: Vec<String>,
        #[serde(default)]
        deny: Vec<String>,
        #[serde(default)]
        rate_limit: Option<RateLimitFile>,
        #[serde(default)]
        reveal_secrets: bool,
        #[serde(default)]
        approve: Vec<String>,
        #[serde(default)]
        sql: Option<SqlFile>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct KeyFile {
        sha256: String,
        #[serde(default)]
        not_after: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct GrantFile {
        id: String,
        agent: String,
        not_after: String,
        #[serde(default)]
        not_before: Option<String>,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        approval: Option<String>,
        #[serde(default)]
        approved_by: Option<String>,
        #[serde(default)]
        uses: Option<u32>,
        #[serde(default)]
        access: Option<UniqueMap>,
        #[serde(default)]
        allow: Option<Vec<String>>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct SqlFile {
        #[serde(default)]
        allow: Option<Vec<String>>,
        #[serde(default)]
        deny_schemas: Vec<String>,
        #[serde(default)]
        deny_functions: Vec<String>,
        #[serde(default)]
        allow_unparsed: bool,
    }

    #[derive(Deserialize)]
    struct IdOnly {
        id: String,
    }

    fn projects(p: &ProjectsFile) -> String {
        match p {
            ProjectsFile::Unset => "unset".into(),
            ProjectsFile::List(l) => format!("list {l:?}"),
            ProjectsFile::Organizations(o) => format!("orgs {o:?}"),
        }
    }

    macro_rules! rate {
        ($r:expr) => {
            $r.as_ref().map(|r| format!("{} {:?}", r.requests_per_minute, r.endpoints))
        };
    }

    macro_rules! agent {
        ($a:expr) => {{
            let a = $a;
            format!(
                "{:?} {:?} {:?} {:?} {} {:?} {:?} {:?} {:?} {:?} {} {:?} {:?}",
                a.id,
                a.name,
                a.key_sha256,
                a.keys.as_ref().map(|k| k.iter().map(|k| (k.sha256.clone(), k.not_after.clone())).collect::<Vec<_>>()),
                projects(&a.projects),
                a.organizations,
                a.access,
                a.allow,
                a.deny,
                rate!(a.rate_limit),
                a.reveal_secrets,
                a.approve,
                a.sql.as_ref().map(|s| format!(
                    "{:?} {:?} {:?} {}",
                    s.allow, s.deny_schemas, s.deny_functions, s.allow_unparsed
                )),
            )
        }};
    }

    macro_rules! grant {
        ($g:expr) => {{
            let g = $g;
            format!(
                "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                g.id,
                g.agent,
                g.not_after,
                g.not_before,
                g.reason,
                g.approval,
                g.approved_by,
                g.uses,
                g.access,
                g.allow
            )
        }};
    }

    macro_rules! policy {
        ($p:expr) => {{
            let p = $p;
            format!(
                "{:?} {:?} {:?} {:?} {:?} {:?} {:?}",
                p.mode,
                p.upstream.token_env,
                p.agents.iter().map(|a| a.get()).collect::<Vec<_>>(),
                rate!(p.rate_limit),
                p.max_body_bytes,
                p.audit.as_ref().map(|a| a.log),
                p.grants.iter().map(|a| a.get()).collect::<Vec<_>>(),
            )
        }};
    }

    const AGENT_TEXT: &str = r#"{"id":"ci-bot","name":"CI","keys":[{"sha256":"ab","not_after":"2027-01-01T00:00:00Z"},{"sha256":"cd"}],"projects":{"organizations":["acme"]},"organizations":["acme"],"access":{"projects":"read","database":"full"},"allow":["get_project"],"deny":["delete"],"rate_limit":{"requests_per_minute":5,"endpoints":{"run_sql":2}},"reveal_secrets":true,"approve":["run_sql"],"sql":{"allow":["read"],"deny_schemas":["auth"],"deny_functions":["dblink"],"allow_unparsed":false}}"#;
    const AGENT_TEXT_2: &str =
        r#"{"id":"b","key_sha256":"ef","projects":["abcdefghijklmnopqrst"],"name":null,"sql":null,"keys":null}"#;
    const GRANT_TEXT: &str = r#"{"id":"g1","agent":"ci-bot","not_after":"2027-01-01T00:00:00Z","not_before":"2026-01-01T00:00:00Z","reason":"r","approval":"a","approved_by":"p","uses":2,"access":{"projects":"full"},"allow":["x"]}"#;

    fn policy_text() -> String {
        format!(
            r#"{{"mode":"enforce","upstream":{{"token_env":"T"}},"agents":[{AGENT_TEXT},{AGENT_TEXT_2}],"rate_limit":{{"requests_per_minute":120,"endpoints":{{"run_sql":30}}}},"max_body_bytes":1000,"audit":{{"log":true}},"grants":[{GRANT_TEXT}]}}"#
        )
    }

    /// The text with one change at each place: a byte removed, or a token put in.
    fn mutations(text: &str) -> Vec<String> {
        let inserts = [
            "\"",
            ",",
            "1",
            "-1",
            "1.5",
            "5000000000",
            "null",
            "[",
            "]",
            "{}",
            "[]",
            "\"x\"",
            "true",
            "\"id\":\"z\",",
            "\n",
        ];
        let mut out = vec![text.to_string()];
        for (i, _) in text.char_indices() {
            let mut t = text.to_string();
            t.remove(i);
            out.push(t);
            for ins in inserts {
                let mut t = text.to_string();
                t.insert_str(i, ins);
                out.push(t);
            }
        }
        // Whole values swapped for others of every JSON type, and objects given as arrays.
        for (from, to) in [
            ("{\"token_env\":\"T\"}", "[\"T\"]"),
            ("{\"token_env\":\"T\"}", "[]"),
            ("{\"token_env\":\"T\"}", "[\"T\",1]"),
            ("{\"log\":true}", "[true]"),
            ("{\"log\":true}", "[]"),
            ("{\"sha256\":\"cd\"}", "[\"cd\"]"),
            ("{\"sha256\":\"cd\"}", "[\"cd\",null]"),
            ("{\"requests_per_minute\":5,\"endpoints\":{\"run_sql\":2}}", "[5]"),
            ("{\"requests_per_minute\":5,\"endpoints\":{\"run_sql\":2}}", "[]"),
        ] {
            out.push(text.replace(from, to));
        }
        out
    }

    fn same(text: &str) -> usize {
        let mut checked = 0;
        for t in mutations(text) {
            let old = serde_json::from_str::<PolicyFile>(&t).map(|p| policy!(p)).map_err(|e| e.to_string());
            let new = read(&t, &POLICY).map(|f| policy!(super::PolicyFile::from(f))).map_err(|e| e.to_string());
            assert_eq!(new, old, "{t}");
            let old = serde_json::from_str::<AgentFile>(&t).map(|a| agent!(a)).map_err(|e| e.to_string());
            let new = read(&t, &AGENT).map(|f| agent!(super::AgentFile::from(f))).map_err(|e| e.to_string());
            assert_eq!(new, old, "{t}");
            let old = serde_json::from_str::<GrantFile>(&t).map(|g| grant!(g)).map_err(|e| e.to_string());
            let new = read(&t, &GRANT).map(|f| grant!(super::GrantFile::from(f))).map_err(|e| e.to_string());
            assert_eq!(new, old, "{t}");
            let old = serde_json::from_str::<IdOnly>(&t).map(|i| i.id).map_err(|e| e.to_string());
            let new = read(&t, &ID_ONLY).map(|mut f| f.string("id").unwrap_or_default()).map_err(|e| e.to_string());
            assert_eq!(new, old, "{t}");
            checked += 1;
        }
        checked
    }

    #[test]
    fn policies_read_as_the_derives_read_them() {
        assert!(same(&policy_text()) > 1000);
        let pretty = serde_json::to_string_pretty(
            &serde_json::from_str::<serde_json::Value>(&policy_text()).unwrap_or_default(),
        )
        .unwrap_or_default();
        assert!(same(&pretty) > 1000);
    }

    #[test]
    fn agents_and_grants_read_as_the_derives_read_them() {
        for text in [AGENT_TEXT, AGENT_TEXT_2, GRANT_TEXT] {
            assert!(same(text) > 100);
        }
    }
}
