//! Plain-English pieces shared by refusal messages and audit summaries.

use crate::catalog::{BodyRule, Endpoint};
use crate::decision::{Decision, Location, Reason};
use crate::policy::Level;
use crate::sql::{Judgement, SqlRefusal};

/// The caller: the agent's name, or "An unidentified caller".
pub fn who(d: &Decision) -> String {
    let mut o = String::new();
    push_who(&mut o, d);
    o
}

/// [`who`], written into `o`.
pub fn push_who(o: &mut String, d: &Decision) {
    o.push_str(match d.agent {
        Some(a) => &a.name,
        None => "An unidentified caller",
    });
}

/// The kind of place and its name: ("project", "abc..."); `None` for the account.
fn place_parts<'l>(location: &'l Location<'_>) -> Option<(&'static str, &'l str)> {
    match location {
        Location::Account => None,
        Location::Project(r) => Some(("project", r)),
        Location::Organization(s) => Some(("organization", s)),
        Location::Branch(b) => Some(("branch", b)),
    }
}

fn place(location: &Location) -> Option<String> {
    place_parts(location).map(|(kind, name)| format!("{kind} {name}"))
}

/// The action and where it acts: "delete project X", "list edge functions on project X".
pub fn action(e: &Endpoint, location: &Location) -> String {
    let mut o = String::new();
    push_action(&mut o, e, location);
    o
}

/// [`action`], written into `o`.
pub fn push_action(o: &mut String, e: &Endpoint, location: &Location) {
    o.push_str(e.action);
    if let Some((kind, name)) = place_parts(location) {
        if !e.acts_on_place {
            o.push_str(if matches!(location, Location::Organization(_)) { " in" } else { " on" });
        }
        o.push(' ');
        o.push_str(kind);
        o.push(' ');
        o.push_str(name);
    }
}

/// What the request asked for, even when no endpoint matched.
pub fn what(d: &Decision, method: &str) -> String {
    let mut o = String::new();
    push_what(&mut o, d, method);
    o
}

/// [`what`], written into `o`.
pub fn push_what(o: &mut String, d: &Decision, method: &str) {
    match (d.endpoint, d.path) {
        (Some(e), _) => push_action(o, e, &d.location),
        (None, Some(path)) => {
            o.push_str("call ");
            o.push_str(&printable(method));
            o.push(' ');
            o.push_str(path);
        }
        (None, None) => {
            o.push_str("send a ");
            o.push_str(&printable(method));
            o.push_str(" request");
        }
    }
}

/// A method as it may appear in a sentence: visible ASCII, at most 16 bytes.
fn printable(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic()).take(16).collect()
}

/// The level an endpoint needs: `read` for reads, `full` for writes.
pub fn needed_level(e: &Endpoint) -> Level {
    match e.class() {
        crate::catalog::Class::Read => Level::Read,
        crate::catalog::Class::Write => Level::Full,
    }
}

/// [`why`], written into `o`: the refusal agents meet most (their level is too low) piece by
/// piece, the others as [`why`] words them.
pub fn push_why(o: &mut String, d: &Decision) {
    match (&d.reason, d.endpoint, d.agent) {
        (Reason::PermissionDenied, Some(e), Some(_)) => {
            let needs = needed_level(e).as_str();
            o.push_str("its ");
            o.push_str(e.area.label());
            o.push_str(" access is ");
            o.push_str(d.level.unwrap_or(Level::Off).as_str());
            o.push_str(", and ");
            o.push_str(e.id);
            o.push_str(" needs ");
            o.push_str(needs);
            for (i, p) in e.permissions.iter().enumerate() {
                o.push_str(if i == 0 { " (" } else { " + " });
                o.push_str(p);
            }
            if !e.permissions.is_empty() {
                o.push(')');
            }
            o.push_str("; access.");
            o.push_str(e.area.name());
            o.push_str(" = \"");
            o.push_str(needs);
            o.push_str("\" or an allow entry for ");
            o.push_str(e.id);
            o.push_str(" would allow it");
        }
        _ => o.push_str(&why(d)),
    }
}

/// Why, and what grant would allow it: the tail of a refusal message.
pub fn why(d: &Decision) -> String {
    let agent = d.agent;
    match (&d.reason, d.endpoint, agent) {
        (Reason::MissingKey, ..) => {
            "no agent key was sent; send your Bollard agent key as 'Authorization: Bearer <key>'".to_string()
        }
        (Reason::UnknownKey, ..) => {
            "the key sent belongs to no agent in this gateway's policy; check the key, or ask the operator to add its SHA-256 to the policy".to_string()
        }
        (Reason::KeyExpired(t), _, Some(a)) => format!(
            "the key sent is one of {}'s keys and it expired at {}; use the agent's current key (the operator makes one with bollard rotate)",
            a.id,
            crate::time::rfc3339_secs(*t)
        ),
        (Reason::ApprovalRequired, Some(e), Some(a)) => {
            let id = d.approval.as_ref().and_then(|x| x.id.as_deref()).unwrap_or("(unknown)");
            let entry = d
                .endpoint_index()
                .and_then(|i| a.approve_entry(i))
                .or_else(|| read_form_permission(d).and_then(|p| a.approve_entry_for(p)))
                .unwrap_or(e.id);
            let used = match d.approval.as_ref() {
                Some(x) if x.used_up => format!(
                    "its approval {id} (grant {}, by {}) has been used all {} time(s) it allows on this gateway, so it needs a new one; ",
                    x.grant.map(|g| g.id.as_str()).unwrap_or("-"),
                    x.approved_by().unwrap_or("-"),
                    x.uses().unwrap_or(0)
                ),
                _ => format!("the policy holds {entry} for a person's approval (approve), and no approval of this exact call is in force; "),
            };
            format!(
                "{used}ask a person to approve {id} (bollard approve {id} --policy <policy file> --by <their name>), then retry the same call, with the same method, path, query and body, before {}",
                retry_before(d)
            )
        }
        (Reason::AmbiguousCredentials, ..) => {
            "the credentials are ambiguous; send exactly one 'Authorization: Bearer <key>' header holding one key".to_string()
        }
        (Reason::MalformedTarget(e), ..) => format!("{e}; send the plain path the API documents"),
        (Reason::InvalidMethod, ..) => {
            "the method is not one of HTTP's standard methods in upper case (GET, POST, PUT, PATCH, DELETE, ...)".to_string()
        }
        (Reason::MethodOverride, ..) => {
            "headers that ask a server to change the method or the URL (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override, X-Forwarded-Method, X-Original-Method, X-Original-URL, X-Rewrite-URL) are refused; send the real method and path".to_string()
        }
        (Reason::KeyInTarget, ..) => {
            "the request target carries the agent's key; send the key only as 'Authorization: Bearer <key>'".to_string()
        }
        (Reason::CredentialInQuery, ..) => {
            "the query string names a credential parameter (apikey, access_token, token, ...); send the agent key only as 'Authorization: Bearer <key>'".to_string()
        }
        (Reason::InvalidParameter(name, kind), ..) => {
            format!("the parameter {name} must be {kind}")
        }
        (Reason::UnknownParameter(name), Some(e), _) => {
            let known: Vec<&str> = crate::catalog::Catalog::query_params(d.index.unwrap_or(usize::MAX)).iter().map(|p| p.name).collect();
            let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
            format!("the query parameter \"{name}\" is not one that {} declares (it takes: {known}), and undeclared parameters never reach Supabase; remove it", e.id)
        }
        (Reason::UnknownEndpoint, ..) => {
            "it is not an operation of the Supabase Management API that this gateway knows, and such requests are always refused (see docs/catalog.md)".to_string()
        }
        (Reason::DeniedByPolicy, Some(e), Some(a)) => {
            let entry = d
                .endpoint_index()
                .and_then(|i| a.deny_entry(i))
                .or_else(|| read_form_permission(d).and_then(|p| a.deny_entry_for(p)))
                .unwrap_or(e.id);
            format!("its deny list names {entry}, and a deny entry overrides every grant; only removing it from the policy would allow this")
        }
        (Reason::ProjectOutOfScope, Some(_), Some(a))
            if matches!(d.location, crate::decision::Location::Account) && d.behaviour.unnamed_project =>
        {
            format!(
                "its path does not name the project it reaches, which may be any project, and the agent has only some ({}); only an agent with \"projects\": [\"*\"] may make this call",
                a.projects_description()
            )
        }
        (Reason::ProjectOutOfScope, Some(e), Some(a)) if matches!(d.location, crate::decision::Location::Account) => format!(
            "without a project_ref it reaches every project, and the agent has only some ({}); name one of them: {}?project_ref=<ref>",
            a.projects_description(),
            e.path
        ),
        (Reason::ProjectOutOfScope, _, Some(a)) => format!(
            "that project is not among its projects ({}); the policy would have to add it to the agent's projects",
            a.projects_description()
        ),
        (Reason::OrganizationOutOfScope, _, Some(a)) if d.body_organization.is_some() => format!(
            "the organization its body names, {}, is not among its organizations ({}); the policy would have to add it to the agent's organizations",
            d.body_organization.as_deref().unwrap_or_default(),
            a.organizations.describe()
        ),
        (Reason::OrganizationOutOfScope, _, Some(a)) => format!(
            "that organization is not among its organizations ({}); the policy would have to add it to the agent's organizations",
            a.organizations.describe()
        ),
        (Reason::BranchOutOfScope, ..) if d.behaviour.parent_project => {
            "this call reaches the branch's parent project, which is not one of the agent's projects (or could not be learned), so it needs projects [\"*\"] or the parent project listed in the agent's projects".to_string()
        }
        (Reason::BranchOutOfScope, ..) => {
            "the branch's parent project is not in the path, so branch endpoints need projects [\"*\"] or the branch ref listed in the agent's projects".to_string()
        }
        (Reason::PermissionDenied, Some(e), Some(_)) => {
            let have = d.level.unwrap_or(Level::Off);
            let perm = e.permissions.join(" + ");
            let perm = if perm.is_empty() { String::new() } else { format!(" ({perm})") };
            format!(
                "its {} access is {}, and {} needs {}{perm}; access.{} = \"{}\" or an allow entry for {} would allow it",
                e.area.label(),
                have.as_str(),
                e.id,
                needed_level(e).as_str(),
                e.area.name(),
                needed_level(e).as_str(),
                e.id
            )
        }
        (Reason::ReadOnlyRequired, Some(e), Some(_)) => format!(
            "its {} access is read, so run_sql passes only when its JSON body says \"read_only\": true (or use run_read_only_sql); access.{} = \"full\" would allow any SQL",
            e.area.label(),
            e.area.name()
        ),
        (Reason::SqlNotAllowed | Reason::SqlUnparsed, _, Some(a)) => match &d.sql {
            Some(j) => sql_why(j, a),
            None => "its SQL could not be judged".to_string(),
        },
        (Reason::InvalidBody(why), ..) => format!("{why}, since the decision depends on it"),
        (Reason::BodyTooLarge(n), ..) => {
            format!("the body is larger than the {n} bytes this gateway reads to decide (max_body_bytes)")
        }
        _ => "the request could not be decided".to_string(),
    }
}

/// The permission an endpoint's read-only form needs (`run_sql`: `database_read`), if it has one.
fn read_form_permission(d: &Decision) -> Option<&'static str> {
    match d.behaviour.body {
        Some(BodyRule::ReadOnlyForm { read_permission }) => Some(read_permission),
        _ => None,
    }
}

/// Until when an agent told to get an approval should retry: the decision's time and the window.
pub fn retry_before(d: &Decision) -> String {
    crate::time::rfc3339_secs(d.now_ms.saturating_add(crate::approval::RETRY_WINDOW_MS))
}

/// `on project X`, or nothing for account-level calls.
pub fn place_phrase(location: &Location) -> Option<String> {
    let p = place(location)?;
    let prep = if matches!(location, Location::Organization(_)) { "in" } else { "on" };
    Some(format!("{prep} {p}"))
}

/// Why a body's SQL was refused, and what rule would allow it.
fn sql_why(j: &Judgement, agent: &crate::policy::Agent) -> String {
    let statement = match j.deciding() {
        Some(s) if j.statements.len() > 1 => format!("statement {} of its SQL ({})", s.index, s.describe()),
        Some(s) => format!("its SQL ({})", s.describe()),
        None => "its SQL".to_string(),
    };
    match &j.refusal {
        Some(SqlRefusal::Class(c)) => format!(
            "{statement} is {c}, and the SQL it may run is {}; sql.allow with \"{c}\" would allow it",
            agent.sql.allow.describe()
        ),
        Some(SqlRefusal::Schema(schema)) => format!(
            "{statement} refers to schema {schema}, which its sql.deny_schemas names; only removing {schema} from it would allow this"
        ),
        Some(SqlRefusal::Function(f)) => format!(
            "{statement} calls {f}, which its sql.deny_functions names; only removing {f} from it would allow this"
        ),
        Some(SqlRefusal::Unparsed(error)) if cfg!(feature = "sql") => format!(
            "{statement} could not be parsed by the gateway's PostgreSQL grammar ({error}), and SQL it cannot judge is refused; sql.allow_unparsed = true would allow it"
        ),
        Some(SqlRefusal::Unparsed(error)) => format!(
            "{statement} was not judged ({error}): this gateway runs the lean build of the filter, which has no SQL grammar and refuses every SQL body; the full build would judge it"
        ),
        None => "its SQL is allowed".to_string(),
    }
}

/// The audit phrase for a refused body's SQL: which statement, and why (never the SQL's values).
pub fn sql_refusal_phrase(j: &Judgement) -> String {
    let statement = j.deciding().map(|s| s.describe()).unwrap_or_else(|| "SQL".to_string());
    match &j.refusal {
        Some(SqlRefusal::Class(c)) => format!("{statement} is {c}"),
        Some(SqlRefusal::Schema(s)) => format!("{statement} refers to denied schema {s}"),
        Some(SqlRefusal::Function(f)) => format!("{statement} calls denied function {f}"),
        Some(SqlRefusal::Unparsed(_)) => format!("{statement} could not be parsed"),
        None => statement,
    }
}

impl Decision<'_, '_> {
    /// The catalog index of the matched endpoint.
    pub fn endpoint_index(&self) -> Option<usize> {
        self.index
    }
}
