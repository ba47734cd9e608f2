//! The policy: parsed from JSON (unknown fields refused), then compiled into the form every
//! request reads. A policy with any error is refused whole.

mod error;
mod file;
mod grants;
pub mod suggest;

pub use error::PolicyError;
pub use grants::{is_plain_text, valid_grant_id, AgentKey, Grant, GrantKind};

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::catalog::{Area, Catalog, Class, Method};
use crate::secret::Secret;
use crate::sql::{ClassSet, SqlClass, SqlRules};
use crate::target::{is_org_slug, is_project_ref};

/// The body limit when the policy sets none: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// The largest body limit a policy may set.
pub const MAX_BODY_LIMIT: usize = 16 << 20;

/// `enforce` applies decisions; `monitor` records them and forwards identified agents' requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Monitor,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Monitor => "monitor",
        }
    }
}

/// An agent's access to one area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Off,
    Read,
    Full,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Read => "read",
            Level::Full => "full",
        }
    }

    fn parse(s: &str) -> Option<Level> {
        match s {
            "off" => Some(Level::Off),
            "read" => Some(Level::Read),
            "full" => Some(Level::Full),
            _ => None,
        }
    }
}

/// Projects or organizations an agent may act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Only(Vec<String>),
}

impl Scope {
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(list) => list.iter().any(|n| n == name),
        }
    }

    /// For sentences: `all`, `none`, or the comma-joined list.
    pub fn describe(&self) -> String {
        match self {
            Scope::All => "all".to_string(),
            Scope::Only(list) if list.is_empty() => "none".to_string(),
            Scope::Only(list) => list.join(", "),
        }
    }
}

/// A set of catalog endpoints, by index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndpointSet([u64; 3]);

impl EndpointSet {
    fn insert(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    pub fn contains(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
}

/// Requests per minute for an agent, overall and for named endpoints (by catalog index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub per_minute: u32,
    pub endpoints: Vec<(usize, u32)>,
}

impl RateLimit {
    /// The limit for one endpoint, if the policy names one.
    pub fn for_endpoint(&self, index: usize) -> Option<u32> {
        self.endpoints.iter().find(|&&(i, _)| i == index).map(|&(_, n)| n)
    }
}

fn compile_rate_limit(culprit: &str, r: &file::RateLimitFile) -> Result<RateLimit, PolicyError> {
    if r.requests_per_minute == 0 {
        return Err(PolicyError::new(
            culprit,
            "rate_limit.requests_per_minute must be at least 1 (leave rate_limit out for no limit)",
        ));
    }
    let mut endpoints = Vec::new();
    for (id, &n) in &r.endpoints {
        let (i, _) = Catalog::by_id(id).ok_or_else(|| {
            PolicyError::new(
                culprit,
                format!("rate_limit.endpoints: {id:?} is not an endpoint id (see docs/catalog.md)"),
            )
        })?;
        if n == 0 {
            return Err(PolicyError::new(culprit, format!("rate_limit.endpoints.{id} must be at least 1")));
        }
        endpoints.push((i, n));
    }
    Ok(RateLimit { per_minute: r.requests_per_minute, endpoints })
}

/// The `deny` entries that name a kind of call rather than an endpoint or a permission:
/// `write` (every endpoint that is not a read), `delete` (every DELETE), `read` (every read).
pub const DENY_CLASSES: [&str; 3] = ["read", "write", "delete"];

/// Whether a `deny` or `approve` entry names this permission, or the kind of call it is (a
/// permission ending in `_read` is a read).
fn names_permission(entry: &str, permission: &str) -> bool {
    entry == permission || (entry == "read" && permission.ends_with("_read"))
}

fn in_deny_class(class: &str, e: &crate::catalog::Endpoint) -> bool {
    match class {
        "read" => e.class() == Class::Read,
        "write" => e.class() == Class::Write,
        "delete" => e.method == Method::Delete,
        _ => false,
    }
}

/// A compiled agent.
#[derive(Debug)]
pub struct Agent {
    /// Its position in the policy (per-agent counters are kept by index).
    pub index: usize,
    pub id: String,
    pub name: String,
    /// Project refs the agent may act on. Empty (`Only([])`) when the agent's projects are
    /// given by organization, see `project_organizations`.
    pub projects: Scope,
    /// `projects: {"organizations": [...]}`: the agent may act on the projects of these
    /// organizations, learned from Supabase (`GET /v1/projects/{ref}`) when a request names one.
    pub project_organizations: Vec<String>,
    pub organizations: Scope,
    levels: [Level; Area::ALL.len()],
    /// Endpoints `allow` grants, by id or because all their permissions are allowed.
    pub allowed: EndpointSet,
    /// Endpoints `deny` removes, by id or because one of their permissions is denied.
    pub denied: EndpointSet,
    /// The entries as written, for sentences and the access matrix.
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    /// The agent's limits (its own, or the policy's default); `None` means no gateway limit.
    pub rate_limit: Option<RateLimit>,
    /// Whether responses may show this agent secret values (default: replaced with a marker).
    pub reveal_secrets: bool,
    /// The agent's keys (one `key_sha256`, or `keys` with end dates).
    pub keys: Vec<AgentKey>,
    /// Endpoints whose calls need a person's approval, by id or because they need a permission named.
    pub needs_approval: EndpointSet,
    /// The `approve` entries as written.
    pub approve: Vec<String>,
    /// The policy's grants for this agent, in force or not (each request checks the time).
    pub grants: Vec<Grant>,
    /// What SQL it may run on the endpoints that carry SQL (its `sql`, or the defaults that
    /// follow its database access).
    pub sql: SqlRules,
    /// Whether the policy gave `sql` (false: the defaults).
    pub sql_given: bool,
}

impl Agent {
    pub fn level(&self, area: Area) -> Level {
        self.levels.get(area.index()).copied().unwrap_or(Level::Off)
    }

    /// The `approve` entry that holds this endpoint for a person's approval, for messages.
    pub fn approve_entry(&self, index: usize) -> Option<&str> {
        let e = Catalog::endpoints().get(index)?;
        self.approve
            .iter()
            .map(String::as_str)
            .find(|d| *d == e.id || Catalog::accepts_permission(e, d) || in_deny_class(d, e))
    }

    /// The grants in force at `now_ms`.
    pub fn active_grants(&self, now_ms: u64) -> impl Iterator<Item = &Grant> {
        self.grants.iter().filter(move |g| g.active(now_ms))
    }

    /// The `deny` entry that removes this endpoint, for refusal messages.
    pub fn deny_entry(&self, index: usize) -> Option<&str> {
        let e = Catalog::endpoints().get(index)?;
        self.deny
            .iter()
            .map(String::as_str)
            .find(|d| *d == e.id || Catalog::accepts_permission(e, d) || in_deny_class(d, e))
    }

    /// The `deny` entry that names a permission a call needs in one of its forms (`run_sql`'s
    /// read-only form needs `database_read`): the permission, or the kind of call it is.
    pub fn deny_entry_for(&self, permission: &str) -> Option<&str> {
        self.deny.iter().map(String::as_str).find(|d| names_permission(d, permission))
    }

    /// The `approve` entry that names a permission a call needs in one of its forms.
    pub fn approve_entry_for(&self, permission: &str) -> Option<&str> {
        self.approve.iter().map(String::as_str).find(|d| names_permission(d, permission))
    }

    /// The agent's projects, for sentences: `all`, `none`, the refs, or `the projects of
    /// organization(s) acme`.
    pub fn projects_description(&self) -> String {
        if self.project_organizations.is_empty() {
            return self.projects.describe();
        }
        let plural = if self.project_organizations.len() == 1 { "" } else { "s" };
        format!("the projects of organization{plural} {}", self.project_organizations.join(", "))
    }

    /// Whether a project of this organization is one of the agent's.
    pub fn project_organization_in_scope(&self, organization: &str) -> bool {
        self.project_organizations.iter().any(|o| o == organization)
    }
}

/// A compiled policy, shared by every request.
#[derive(Debug)]
pub struct Policy {
    pub mode: Mode,
    /// The environment variable that holds the upstream token.
    pub token_env: String,
    /// The largest request body a decision reads (`max_body_bytes`, 1 MiB by default); larger is 413.
    pub max_body_bytes: usize,
    /// Whether each audit record is also written to the proxy-wasm log (`audit.log`; off by
    /// default: Envoy's access loggers read it from filter state).
    pub audit_log: bool,
    agents: Vec<Agent>,
    /// Key digest → (agent index, the key's `not_after`).
    by_digest: HashMap<[u8; 32], (usize, Option<u64>), DigestHash>,
}

impl Policy {
    /// Parses and compiles a policy. Any error refuses the whole policy.
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        let mut raw = file::parse(text)?;
        let grant_files = file::parse_grants(&std::mem::take(&mut raw.grants))?;
        let mode = match raw.mode.as_deref() {
            None | Some("enforce") => Mode::Enforce,
            Some("monitor") => Mode::Monitor,
            Some(other) => {
                return Err(PolicyError::new("policy", format!("unknown mode {other:?} (known: enforce, monitor)")))
            }
        };
        let token_env = raw.upstream.token_env;
        let env_ok = !token_env.is_empty()
            && token_env.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            && !token_env.as_bytes().first().is_some_and(u8::is_ascii_digit);
        if !env_ok {
            return Err(PolicyError::new(
                "upstream",
                format!("token_env {token_env:?} is not an environment variable name ([A-Z_][A-Z0-9_]*)"),
            ));
        }
        let default_limit = raw.rate_limit.as_ref().map(|r| compile_rate_limit("policy", r)).transpose()?;
        let agent_texts = std::mem::take(&mut raw.agents);
        let mut agents: Vec<Agent> = Vec::with_capacity(agent_texts.len());
        // Ids seen so far: a set, so a policy of many agents compiles in linear time.
        let mut ids: std::collections::HashSet<String> = std::collections::HashSet::with_capacity(agent_texts.len());
        let mut by_digest = HashMap::with_capacity_and_hasher(agent_texts.len(), DigestHash);
        for (i, text_of_agent) in agent_texts.into_iter().enumerate() {
            let a = file::parse_agent(text, i, text_of_agent)?;
            let (mut agent, digests) = compile_agent(a.culprit(i), a)?;
            // An agent's own limit replaces the default; its endpoint limits add to the default's.
            agent.rate_limit = match (agent.rate_limit.take(), &default_limit) {
                (Some(mut own), Some(d)) => {
                    for &(i, n) in &d.endpoints {
                        if !own.endpoints.iter().any(|&(j, _)| j == i) {
                            own.endpoints.push((i, n));
                        }
                    }
                    Some(own)
                }
                (own, d) => own.or_else(|| d.clone()),
            };
            if !ids.insert(agent.id.clone()) {
                return Err(PolicyError::new(
                    format!("agent {:?}", agent.id),
                    "id is used by two agents; ids must be unique",
                ));
            }
            for (digest, not_after, field) in digests {
                if let Some(other) = by_digest.get(&digest).and_then(|&(j, _): &(usize, Option<u64>)| agents.get(j)) {
                    return Err(PolicyError::new(
                        format!("agent {:?}", agent.id),
                        format!("{field} is the same as agent {:?}'s: every agent needs its own key", other.id),
                    ));
                }
                by_digest.insert(digest, (agents.len(), not_after));
            }
            agent.index = agents.len();
            agents.push(agent);
        }
        let max_body_bytes = match raw.max_body_bytes {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(n) if (1..=MAX_BODY_LIMIT).contains(&n) => n,
            Some(n) => {
                return Err(PolicyError::new(
                    "policy",
                    format!("max_body_bytes {n} must be between 1 and {MAX_BODY_LIMIT} (16 MiB)"),
                ))
            }
        };
        let agent_ids: Vec<&str> = agents.iter().map(|a| a.id.as_str()).collect();
        let mut compiled: Vec<Grant> = Vec::with_capacity(grant_files.len());
        for g in grant_files {
            let grant = grants::compile_grant(g, &agent_ids)?;
            if compiled.iter().any(|o| o.id == grant.id) {
                return Err(PolicyError::new(
                    format!("grant {:?}", grant.id),
                    "id is used by two grants; ids must be unique",
                ));
            }
            compiled.push(grant);
        }
        for grant in compiled {
            if let Some(agent) = agents.iter_mut().find(|a| a.id == grant.agent) {
                agent.grants.push(grant);
            }
        }
        let audit_log = raw.audit.as_ref().is_some_and(|a| a.log);
        Ok(Policy { mode, token_env, max_body_bytes, audit_log, agents, by_digest })
    }

    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }

    /// `3 agents, mode enforce` (or `1 agent, ...`): for log lines and the CLI.
    pub fn describe(&self) -> String {
        let n = self.agents.len();
        format!("{n} agent{}, mode {}", if n == 1 { "" } else { "s" }, self.mode.as_str())
    }

    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }

    /// Finds the agent whose key this is, by the key's SHA-256, with the key's `not_after`
    /// (the caller compares it with the time: see `decision::identify`).
    pub fn agent_by_key(&self, key: &str) -> Option<(&Agent, Option<u64>)> {
        let digest = key_digest(key);
        self.by_digest.get(&digest).and_then(|&(i, t)| self.agents.get(i).map(|a| (a, t)))
    }

    /// Every grant, agent by agent.
    pub fn grants(&self) -> impl Iterator<Item = &Grant> {
        self.agents.iter().flat_map(|a| a.grants.iter())
    }

    /// Reads the upstream token through `lookup` (the environment in the filter). A missing or
    /// empty variable refuses the policy: the gateway never forwards without the real token.
    pub fn upstream_token(&self, lookup: impl FnOnce(&str) -> Option<String>) -> Result<Secret, PolicyError> {
        match lookup(&self.token_env) {
            Some(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim().to_string())),
            _ => Err(PolicyError::new(
                "upstream",
                format!(
                    "the environment variable {0} (token_env) is not set, or empty, in Envoy's environment: start Envoy with it ({0}=sbp_... envoy -c envoy.yaml); Envoy hands it to the filter when the config lists it in vm_config.environment_variables.host_env_keys, as bollard envoy-config writes",
                    self.token_env
                ),
            )),
        }
    }
}

fn compile_scope(
    culprit: &str,
    field: &str,
    list: Vec<String>,
    valid: fn(&str) -> bool,
    what: &str,
) -> Result<Scope, PolicyError> {
    if list.iter().any(|s| s == "*") {
        if list.len() != 1 {
            return Err(PolicyError::new(culprit, format!("{field}: \"*\" means all and must stand alone")));
        }
        return Ok(Scope::All);
    }
    for (i, s) in list.iter().enumerate() {
        if !valid(s) {
            return Err(PolicyError::new(culprit, format!("{field}: {s:?} is not {what}")));
        }
        if list.iter().take(i).any(|o| o == s) {
            return Err(PolicyError::new(culprit, format!("{field}: {s:?} is listed twice")));
        }
    }
    Ok(Scope::Only(list))
}

pub(crate) fn compile_entries(
    culprit: &str,
    field: &str,
    entries: &[String],
    any_permission: bool,
) -> Result<EndpointSet, PolicyError> {
    let mut set = EndpointSet::default();
    for entry in entries {
        if let Some((i, _)) = Catalog::by_id(entry) {
            set.insert(i);
        } else if any_permission && DENY_CLASSES.contains(&entry.as_str()) {
            for (i, e) in Catalog::endpoints().iter().enumerate() {
                if in_deny_class(entry, e) {
                    set.insert(i);
                }
            }
        } else if Catalog::is_permission(entry) {
            for (i, e) in Catalog::endpoints().iter().enumerate() {
                let hit = if any_permission {
                    Catalog::accepts_permission(e, entry)
                } else {
                    !e.permissions.is_empty() && e.permissions.iter().all(|p| entries.iter().any(|x| x == p))
                };
                if hit {
                    set.insert(i);
                }
            }
        } else {
            let classes = if any_permission { ", nor write, delete or read" } else { "" };
            let names = Catalog::endpoints()
                .iter()
                .map(|e| e.id)
                .chain(Catalog::endpoints().iter().flat_map(|e| e.permissions.iter().copied()));
            let names = names.chain(if any_permission { DENY_CLASSES.as_slice() } else { &[] }.iter().copied());
            return Err(PolicyError::new(
                culprit,
                format!(
                    "{field}: {entry:?} is neither an endpoint id nor a Supabase permission name{classes} (see docs/catalog.md){}",
                    suggest::hint(entry, names)
                ),
            ));
        }
    }
    Ok(set)
}

impl file::AgentFile {
    fn culprit(&self, i: usize) -> String {
        if self.id.is_empty() {
            format!("agents[{i}]")
        } else {
            format!("agent {:?}", self.id)
        }
    }
}

/// An agent id: `[a-z0-9_-]{1,64}`.
pub fn valid_agent_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `access`: area → level, every area and level known.
pub(crate) fn compile_access(
    c: &str,
    access: &crate::json::UniqueMap,
) -> Result<[Level; Area::ALL.len()], PolicyError> {
    let mut levels = [Level::Off; Area::ALL.len()];
    for (area_name, level_name) in access {
        let area = Area::from_name(area_name).ok_or_else(|| {
            PolicyError::new(
                c,
                format!(
                    "access: unknown area {area_name:?} (known: {}){}",
                    Area::known_names(),
                    suggest::hint(area_name, Area::ALL.iter().map(|a| a.name()))
                ),
            )
        })?;
        let level = Level::parse(level_name).ok_or_else(|| {
            PolicyError::new(
                c,
                format!(
                    "access.{area_name}: unknown level {level_name:?} (known: off, read, full){}",
                    suggest::hint(level_name, ["off", "read", "full"])
                ),
            )
        })?;
        if let Some(slot) = levels.get_mut(area.index()) {
            *slot = level;
        }
    }
    Ok(levels)
}

/// Each key's digest, its `not_after`, and the field it was written in (for errors).
type KeyDigests = Vec<([u8; 32], Option<u64>, String)>;

fn compile_agent(culprit: String, a: file::AgentFile) -> Result<(Agent, KeyDigests), PolicyError> {
    let c = culprit.as_str();
    if !valid_agent_id(&a.id) {
        return Err(PolicyError::new(c, format!("id {:?} must match [a-z0-9_-]{{1,64}}", a.id)));
    }
    let a_single = a.key_sha256.is_some();
    let compiled_keys = grants::compile_keys(c, a.key_sha256, a.keys)?;
    let digests: KeyDigests = compiled_keys
        .iter()
        .enumerate()
        .map(|(i, (k, d))| {
            let field = if a_single { "key_sha256".to_string() } else { format!("keys[{i}]") };
            (*d, k.not_after_ms, field)
        })
        .collect();
    let keys: Vec<AgentKey> = compiled_keys.into_iter().map(|(k, _)| k).collect();
    let (projects, project_organizations) = match a.projects {
        file::ProjectsFile::Unset => (Scope::Only(Vec::new()), Vec::new()),
        file::ProjectsFile::List(list) => {
            (compile_scope(c, "projects", list, is_project_ref, "a project ref (20 lowercase letters)")?, Vec::new())
        }
        file::ProjectsFile::Organizations(orgs) => {
            if orgs.is_empty() {
                return Err(PolicyError::new(c, "projects.organizations is empty (leave projects out for none)"));
            }
            if orgs.iter().any(|o| o == "*") {
                return Err(PolicyError::new(
                    c,
                    "projects.organizations: \"*\" is not an organization; projects: [\"*\"] means every project",
                ));
            }
            match compile_scope(
                c,
                "projects.organizations",
                orgs,
                is_org_slug,
                "an organization slug ([A-Za-z0-9_-]+)",
            )? {
                Scope::Only(list) => (Scope::Only(Vec::new()), list),
                Scope::All => (Scope::All, Vec::new()),
            }
        }
    };
    let organizations =
        compile_scope(c, "organizations", a.organizations, is_org_slug, "an organization slug ([A-Za-z0-9_-]+)")?;
    let levels = compile_access(c, &a.access)?;
    let needs_approval = compile_entries(c, "approve", &a.approve, true)?;
    let allowed = compile_entries(c, "allow", &a.allow, false)?;
    let rate_limit = a.rate_limit.as_ref().map(|r| compile_rate_limit(c, r)).transpose()?;
    let denied = compile_entries(c, "deny", &a.deny, true)?;
    let name = match a.name {
        Some(n) if !n.trim().is_empty() => n,
        Some(_) => return Err(PolicyError::new(c, "name is empty (leave it out to use the id)")),
        None => a.id.clone(),
    };
    if name.len() > 128 || name.chars().any(char::is_control) {
        return Err(PolicyError::new(c, "name must be at most 128 characters, without control characters"));
    }
    let sql_given = a.sql.is_some();
    let sql = compile_sql(c, a.sql, default_sql_classes(&levels, &allowed))?;
    let agent = Agent {
        index: 0,
        id: a.id,
        name,
        projects,
        project_organizations,
        organizations,
        levels,
        allowed,
        denied,
        allow: a.allow,
        deny: a.deny,
        rate_limit,
        reveal_secrets: a.reveal_secrets,
        keys,
        needs_approval,
        approve: a.approve,
        grants: Vec::new(),
        sql,
        sql_given,
    };
    Ok((agent, digests))
}

/// The classes an agent without `sql.allow` gets: every class with database `full` (or an allow
/// entry that grants an endpoint writing SQL, such as `run_sql`), else `read`.
fn default_sql_classes(levels: &[Level; Area::ALL.len()], allowed: &EndpointSet) -> ClassSet {
    let full = levels.get(Area::Database.index()) == Some(&Level::Full);
    let writes_sql = Catalog::endpoints().iter().enumerate().any(|(i, e)| {
        allowed.contains(i) && crate::catalog::sql_body(e.id).is_some() && e.class() == crate::catalog::Class::Write
    });
    if full || writes_sql {
        ClassSet::ALL
    } else {
        ClassSet::of(&[SqlClass::Read])
    }
}

fn compile_sql(culprit: &str, sql: Option<file::SqlFile>, default: ClassSet) -> Result<SqlRules, PolicyError> {
    let Some(sql) = sql else { return Ok(SqlRules::classes(default)) };
    let allow = match sql.allow {
        None => default,
        Some(list) => {
            let mut set = ClassSet::EMPTY;
            for name in &list {
                let class = SqlClass::parse(name).ok_or_else(|| {
                    PolicyError::new(
                        culprit,
                        format!(
                            "sql.allow: unknown class {name:?} (known: {}){}",
                            SqlClass::known_names(),
                            suggest::hint(name, SqlClass::ALL.iter().map(|c| c.name()))
                        ),
                    )
                })?;
                if set.contains(class) {
                    return Err(PolicyError::new(culprit, format!("sql.allow: {name:?} is listed twice")));
                }
                set.insert(class);
            }
            set
        }
    };
    let names = |field: &str, list: Vec<String>, qualified: bool| -> Result<Vec<String>, PolicyError> {
        let mut out: Vec<String> = Vec::with_capacity(list.len());
        for name in list {
            let parts: Vec<&str> = name.split('.').collect();
            let ok = !name.is_empty()
                && parts.len() <= if qualified { 2 } else { 1 }
                && parts.iter().all(|p| {
                    !p.is_empty()
                        && p.len() <= 63
                        && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'-')
                });
            if !ok {
                let what = if qualified { "a function name (name or schema.name)" } else { "a schema name" };
                return Err(PolicyError::new(culprit, format!("sql.{field}: {name:?} is not {what}")));
            }
            let lower = name.to_ascii_lowercase();
            if out.contains(&lower) {
                return Err(PolicyError::new(culprit, format!("sql.{field}: {name:?} is listed twice")));
            }
            out.push(lower);
        }
        Ok(out)
    };
    Ok(SqlRules {
        allow,
        deny_schemas: names("deny_schemas", sql.deny_schemas, false)?,
        deny_functions: names("deny_functions", sql.deny_functions, true)?,
        allow_unparsed: sql.allow_unparsed,
    })
}

pub(crate) fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
        let hi = hex_val(*chunk.first()?)?;
        let lo = hex_val(*chunk.get(1)?)?;
        *out.get_mut(i)? = hi << 4 | lo;
    }
    Some(out)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// The lowercase hex SHA-256 of a key: what goes in `key_sha256`.
pub fn key_sha256(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes a SHA-256 digest by its first eight bytes: they are already uniform, and the table
/// holds only the digests the operator put in the policy, so no caller can crowd one bucket.
#[derive(Debug, Clone, Copy, Default)]
pub struct DigestHash;

impl std::hash::BuildHasher for DigestHash {
    type Hasher = DigestHasher;
    fn build_hasher(&self) -> DigestHasher {
        DigestHasher(0)
    }
}

/// See [`DigestHash`].
#[derive(Debug, Default)]
pub struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 32]` hashes as its length, then its bytes: the bytes' first eight are kept.
        if bytes.len() >= 8 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[..8]);
            self.0 = u64::from_le_bytes(b);
        }
    }
}

/// How many presented keys keep their SHA-256 at hand: an agent sends the same key call after
/// call, and the hash is the largest part of a decision in wasm.
const RECENT_KEYS: usize = 4;

/// The last keys presented, with their digests, and where the next one goes.
type Recent = ([(String, [u8; 32]); RECENT_KEYS], usize);

thread_local! {
    /// The last keys presented on this thread (a filter VM has one) and their digests.
    static RECENT: std::cell::RefCell<Recent> = std::cell::RefCell::new((Default::default(), 0));
}

/// A key's SHA-256, from the recent keys when it is one of them. Every held key is compared in
/// full, without stopping early, so the time taken does not depend on how much of a held key a
/// presented one matches.
pub fn key_digest(key: &str) -> [u8; 32] {
    let held = RECENT.with(|r| {
        let r = r.borrow();
        let mut found = None;
        for (k, digest) in r.0.iter() {
            if !k.is_empty() && k.len() == key.len() {
                let diff = k.bytes().zip(key.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
                if diff == 0 {
                    found = Some(*digest);
                }
            }
        }
        found
    });
    if let Some(d) = held {
        return d;
    }
    let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    if key.len() > 128 {
        return digest;
    }
    RECENT.with(|r| {
        let mut r = r.borrow_mut();
        let at = r.1 % RECENT_KEYS;
        r.0[at] = (key.to_string(), digest);
        r.1 = at + 1;
    });
    digest
}
