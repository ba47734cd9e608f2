//! Account-level lists, filtered to the agent's scope: `GET /v1/projects` lists every project of
//! the account and `GET /v1/organizations` every organization, whatever the agent may touch.

use serde_json::Value;

use crate::policy::{Agent, Scope};

/// Which list an endpoint returns (the catalog says, per endpoint).
pub use crate::catalog::ListKind as ScopedList;

/// Whether a list needs filtering for this agent: its scope is narrower than all.
/// `organization` is the one the request's path names, if any.
pub fn applies(list: ScopedList, agent: &Agent, organization: Option<&str>) -> bool {
    match list {
        ScopedList::Organizations => agent.organizations != Scope::All,
        // Every project of an organization the agent's projects are given by is in its scope.
        ScopedList::OrganizationProjects if organization.is_some_and(|o| agent.project_organization_in_scope(o)) => {
            false
        }
        _ => agent.projects != Scope::All,
    }
}

/// Whether an item names itself, in every one of `fields` it has (the field and its deprecated
/// twin, which Supabase sets to the same value), and in at least one, only by names `in_scope`
/// holds: an item whose fields disagree is not shown, whichever of them is in scope.
fn named_within(item: &Value, fields: &[&str], in_scope: impl Fn(&str) -> bool) -> bool {
    let mut present = fields.iter().filter_map(|f| item.get(*f)).peekable();
    present.peek().is_some() && present.all(|v| v.as_str().is_some_and(&in_scope))
}

fn keep(item: &Value, scope: &Scope, fields: &[&str]) -> bool {
    named_within(item, fields, |name| scope.contains(name))
}

/// A listed project of one of the agent's `projects.organizations` (by its organization slug,
/// and the deprecated `organization_id`, which Supabase sets to the same slug).
fn in_project_organizations(item: &Value, agent: &Agent) -> bool {
    named_within(item, &["organization_slug", "organization_id"], |org| agent.project_organization_in_scope(org))
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
    let by_organization = list == ScopedList::Projects && !agent.project_organizations.is_empty();
    arr.retain(|item| keep(item, scope, fields) || (by_organization && in_project_organizations(item, agent)));
    let kept = arr.len();
    // The organization's count (of every page) would tell how many projects the agent may not
    // see: it counts what this page kept.
    if let Some(count) = v.get_mut("pagination").and_then(|p| p.get_mut("count")).filter(|c| c.is_number()) {
        *count = Value::from(kept);
    }
    serde_json::to_vec(&v).ok()
}
