//! Request bodies that decide: the read-only form of `run_sql`, the SQL of every endpoint that
//! carries SQL (judged by `crate::sql`), and the organization named when creating a project. Only
//! these endpoints' bodies are read, up to the policy's limit.

use serde_json::Value;

use crate::catalog::SqlBody;
use crate::json::UniqueMap;
use crate::policy::Agent;
use crate::sql::{self, Judgement};

/// What a decision still needs from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyCheck {
    /// `run_sql` with read access: allowed only when the body says `"read_only": true`, and its
    /// SQL is judged like [`BodyCheck::Sql`].
    ReadOnlySql,
    /// An endpoint whose body carries SQL (its catalog behaviour's `sql`): every statement judged
    /// by the agent's SQL rules.
    Sql,
    /// `create_project`: the body's organization must be one of the agent's.
    OrganizationInScope,
    /// A call that needs a person's approval: the body is read only for its SHA-256, which the
    /// approval id binds (any content type, any bytes).
    Approval,
}

/// Why a body failed its check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not one JSON object with each key once, or not sent as `application/json`.
    NotJson(&'static str),
    /// `read_only` is absent or not exactly `true`.
    NotReadOnly,
    /// No organization, or `organization_slug` and `organization_id` disagree.
    NoOrganization,
    /// The organization named is not the agent's.
    OrganizationOutOfScope(String),
    /// The SQL is not allowed, or could not be parsed (the judgement says which statement, why).
    Sql(Box<Judgement>),
}

/// Parses a top-level JSON object whose keys each appear once.
fn object(content_type: Option<&str>, body: &[u8]) -> Result<UniqueMap<Value>, BodyError> {
    let ct = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim();
    if !ct.eq_ignore_ascii_case("application/json") {
        return Err(BodyError::NotJson("the body must be sent as application/json"));
    }
    serde_json::from_slice::<UniqueMap<Value>>(body)
        .map_err(|_| BodyError::NotJson("the body must be one JSON object in which each key appears once"))
}

/// Applies a check to the body the filter read (and will forward unchanged). `sql` is where the
/// endpoint's body carries SQL; the judgement of that SQL is returned.
pub fn check(
    check: BodyCheck,
    agent: &Agent,
    sql: Option<SqlBody>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Option<Judgement>, BodyError> {
    if check == BodyCheck::Approval {
        return Ok(None);
    }
    let map = object(content_type, body)?;
    match check {
        BodyCheck::ReadOnlySql | BodyCheck::Sql => {
            if check == BodyCheck::ReadOnlySql && !matches!(map.get("read_only"), Some(Value::Bool(true))) {
                return Err(BodyError::NotReadOnly);
            }
            judge_sql(agent, sql, &map).map(Some)
        }
        BodyCheck::OrganizationInScope => {
            let slug = map.get("organization_slug");
            let id = map.get("organization_id");
            let name = match (slug, id) {
                (Some(Value::String(s)), None) | (None, Some(Value::String(s))) => s,
                (Some(Value::String(s)), Some(Value::String(i))) if s == i => s,
                _ => return Err(BodyError::NoOrganization),
            };
            if agent.organizations.contains(name) {
                Ok(None)
            } else {
                Err(BodyError::OrganizationOutOfScope(name.clone()))
            }
        }
        BodyCheck::Approval => Ok(None),
    }
}

/// Judges every SQL field of the body (`query`, a migration's `rollback`) by the agent's rules.
fn judge_sql(agent: &Agent, body: Option<SqlBody>, map: &UniqueMap<Value>) -> Result<Judgement, BodyError> {
    let mut judged: Option<Judgement> = None;
    let (fields, required) = body.map_or((&[][..], None), |b| (b.fields, b.required));
    for field in fields {
        let text = match map.get(field) {
            Some(Value::String(s)) => s,
            None if required != Some(field) => continue,
            None => return Err(BodyError::NotJson("the body must hold its SQL in \"query\", a string")),
            Some(_) => return Err(BodyError::NotJson("the body's \"query\" and \"rollback\" must be strings of SQL")),
        };
        let j = sql::judge(text, &agent.sql);
        judged = Some(match judged {
            None => j,
            Some(before) => before.merge(j),
        });
    }
    let j = judged.unwrap_or_else(|| sql::judge("", &agent.sql));
    if j.allowed() {
        Ok(j)
    } else {
        Err(BodyError::Sql(Box::new(j)))
    }
}

/// The organization a (checked) body names, for audit records.
pub fn organization(body: &[u8]) -> Option<String> {
    let map: UniqueMap<Value> = serde_json::from_slice(body).ok()?;
    match map.get("organization_slug").or_else(|| map.get("organization_id")) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}
