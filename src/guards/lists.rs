//! Account-level lists, filtered to the agent's scope: `GET /v1/projects` lists every project of
//! the account and `GET /v1/organizations` every organization, whatever the agent may touch.

use serde_json::Value;

use crate::policy::{Agent, Scope};

/// Which list an endpoint returns, and the field that names each item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopedList {
    /// An array of projects, each with `ref` (`list_projects`).
    Projects,
    /// `{ "projects": [...] }`, each with `ref` (`get_projects_for_organization`).
    OrganizationProjects,
    /// An array of organizations, each with `slug` (or `id`) (`list_organizations`).
    Organizations,
}

/// The list an endpoint returns, when the agent's scope is narrower than all.
pub fn for_endpoint(endpoint_id: &str, agent: &Agent) -> Option<ScopedList> {
    let list = match endpoint_id {
        "list_projects" => ScopedList::Projects,
        "get_projects_for_organization" => ScopedList::OrganizationProjects,
        "list_organizations" => ScopedList::Organizations,
        _ => return None,
    };
    let scope = match list {
        ScopedList::Organizations => &agent.organizations,
        _ => &agent.projects,
    };
    (*scope != Scope::All).then_some(list)
}

fn keep(item: &Value, scope: &Scope, fields: &[&str]) -> bool {
    fields.iter().any(|f| item.get(*f).and_then(Value::as_str).is_some_and(|name| scope.contains(name)))
}

/// Keeps only the items in the agent's scope. `None` when the body is not the expected JSON, in
/// which case the filter withholds it rather than pass an unfiltered list.
pub fn filter(list: ScopedList, agent: &Agent, body: &[u8]) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let (items, scope, fields): (&mut Value, &Scope, &[&str]) = match list {
        ScopedList::Projects => (&mut v, &agent.projects, &["ref", "id"]),
        ScopedList::OrganizationProjects => (v.get_mut("projects")?, &agent.projects, &["ref"]),
        ScopedList::Organizations => (&mut v, &agent.organizations, &["slug", "id"]),
    };
    let Value::Array(arr) = items else { return None };
    arr.retain(|item| keep(item, scope, fields));
    serde_json::to_vec(&v).ok()
}
