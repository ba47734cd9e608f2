//! What a change to an agent means, in plain English, before it is saved: "CI deployer will be
//! able to delete an edge function on project abcdefghijklmnopqrst." Computed from the compiled
//! agents (the filter's own reading of the policy), endpoint by endpoint.

use bollard::catalog::{Area, Catalog, Class, Endpoint, Method, Place};
use bollard::policy::{Agent, Scope};
use bollard::sentence::needed_level;

/// Whether the agent's grants open this endpoint (scope aside): not denied, and allowed or
/// within its area's level.
pub fn opens(agent: &Agent, index: usize, e: &Endpoint) -> bool {
    !agent.denied.contains(index) && (agent.allowed.contains(index) || agent.level(e.area) >= needed_level(e))
}

/// The sentences that tell `before` (or a new agent) from `after`.
pub fn describe(before: Option<&Agent>, after: &Agent) -> Vec<String> {
    let name = &after.name;
    let mut out = Vec::new();
    if let Some(b) = before {
        if b.name != after.name {
            out.push(format!("{} will be called {}.", b.name, after.name));
        }
        scope_change(&mut out, name, "project", &b.projects, &after.projects);
        scope_change(&mut out, name, "organization", &b.organizations, &after.organizations);
    }
    for area in Area::ALL {
        for place in [Place::Account, Place::Project, Place::Organization, Place::Branch] {
            let (mut gained, mut lost) = (Vec::new(), Vec::new());
            // The most consequential first: deletions, then other writes, then reads.
            let mut endpoints: Vec<(usize, &Endpoint)> =
                Catalog::endpoints().iter().enumerate().filter(|(_, e)| e.area == area && e.place() == place).collect();
            endpoints.sort_by_key(|(i, e)| (weight(e), *i));
            for (i, e) in endpoints {
                let was = before.is_some_and(|b| opens(b, i, e));
                let is = opens(after, i, e);
                if is && !was {
                    gained.push(phrase(e));
                } else if was && !is {
                    lost.push(phrase(e));
                }
            }
            if !gained.is_empty() {
                out.push(format!("{name} will be able to {}{}.", list(&gained), place_words(after, place)));
            }
            if let Some(b) = before.filter(|_| !lost.is_empty()) {
                out.push(format!("{name} will no longer be able to {}{}.", list(&lost), place_words(b, place)));
            }
        }
    }
    if out.is_empty() && before.is_some() {
        out.push(format!("No change to what {name} may do."));
    }
    out
}

fn weight(e: &Endpoint) -> u8 {
    match (e.method, e.class()) {
        (Method::Delete, _) => 0,
        (_, Class::Write) => 1,
        (_, Class::Read) => 2,
    }
}

fn scope_change(out: &mut Vec<String>, name: &str, what: &str, before: &Scope, after: &Scope) {
    let every = format!("every {what}");
    match (before, after) {
        (a, b) if a == b => {}
        (_, Scope::All) => out.push(format!("{name} will be able to act on {every} (within its access).")),
        (Scope::All, Scope::Only(list)) if list.is_empty() => {
            out.push(format!("{name} will no longer be able to act on any {what}."))
        }
        (Scope::All, Scope::Only(list)) => {
            out.push(format!("{name} will act only on {what} {} instead of {every}.", list.join(", ")))
        }
        (Scope::Only(old), Scope::Only(new)) => {
            let added: Vec<String> = new.iter().filter(|x| !old.contains(x)).cloned().collect();
            let removed: Vec<String> = old.iter().filter(|x| !new.contains(x)).cloned().collect();
            if !added.is_empty() {
                out.push(format!("{name} will be able to act on {}.", named(what, &added)));
            }
            if !removed.is_empty() {
                out.push(format!("{name} will no longer be able to act on {}.", named(what, &removed)));
            }
        }
    }
}

/// "project x", "projects x and y".
fn named(what: &str, items: &[String]) -> String {
    let plural = if items.len() == 1 { what.to_string() } else { format!("{what}s") };
    format!("{plural} {}", list(items))
}

/// An endpoint's action as a phrase that stands without its place: "delete the project".
fn phrase(e: &Endpoint) -> String {
    if !e.acts_on_place {
        return e.action.to_string();
    }
    let object = match e.place() {
        Place::Project => "the project",
        Place::Organization => "the organization",
        Place::Branch => "the branch",
        Place::Account => "it",
    };
    format!("{} {object}", e.action)
}

/// " on project x", " on every project", ...; where the agent's scope leaves nothing, says so.
fn place_words(agent: &Agent, place: Place) -> String {
    let (scope, what, prep) = match place {
        Place::Account => return String::new(),
        Place::Project => (&agent.projects, "project", "on"),
        Place::Organization => (&agent.organizations, "organization", "in"),
        Place::Branch => {
            return match &agent.projects {
                Scope::All => " on branches of every project".to_string(),
                Scope::Only(l) if l.is_empty() => " on branches (but it has no projects, so on none)".to_string(),
                Scope::Only(l) => format!(" on branches of {}", named("project", l)),
            };
        }
    };
    match scope {
        Scope::All => format!(" {prep} every {what}"),
        Scope::Only(l) if l.is_empty() => format!(" {prep} its {what}s (it has none yet, so nowhere)"),
        Scope::Only(l) => format!(" {prep} {}", named(what, l)),
    }
}

/// "a", "a and b", "a, b and c"; long lists end with "and N more".
fn list(items: &[String]) -> String {
    const SHOWN: usize = 8;
    let (head, rest) = if items.len() > SHOWN + 1 { (&items[..SHOWN], items.len() - SHOWN) } else { (items, 0) };
    let mut parts: Vec<String> = head.to_vec();
    if rest > 0 {
        parts.push(format!("{rest} more"));
    }
    match parts.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::policy::Policy;

    const P: &str = "abcdefghijklmnopqrst";

    fn policy(agent: &str) -> Policy {
        let agent = if agent.is_empty() { String::new() } else { format!(", {agent}") };
        let text = format!(
            r#"{{"upstream": {{"token_env": "T"}}, "agents": [{{"id": "ci-deployer", "name": "CI deployer", "key_sha256": "{}"{agent}}}]}}"#,
            "0".repeat(64)
        );
        Policy::from_json(&text).unwrap()
    }

    fn diff(before: &str, after: &str) -> Vec<String> {
        let (b, a) = (policy(before), policy(after));
        describe(b.agents().first(), &a.agents()[0])
    }

    #[test]
    fn read_to_full_names_the_writes_and_the_project() {
        let got = diff(
            &format!(r#""projects": ["{P}"], "access": {{"edge_functions": "read"}}"#),
            &format!(r#""projects": ["{P}"], "access": {{"edge_functions": "full"}}"#),
        );
        assert_eq!(
            got,
            vec![format!("CI deployer will be able to delete an edge function, create an edge function, bulk update functions, deploy an edge function and update an edge function on project {P}.")]
        );
    }

    #[test]
    fn lowering_a_level_says_what_is_lost() {
        let got = diff(
            r#""projects": ["*"], "access": {"projects": "full"}"#,
            r#""projects": ["*"], "access": {"projects": "read"}"#,
        );
        assert!(
            got.iter().any(|s| s.starts_with("CI deployer will no longer be able to")
                && s.contains("delete the project")
                && s.ends_with(" on every project.")),
            "{got:?}"
        );
        assert!(
            got.iter().any(|s| s.contains("no longer") && s.contains("create a project") && !s.contains(" on ")),
            "{got:?}"
        );
    }

    #[test]
    fn deny_and_allow_entries_count() {
        let got = diff(
            &format!(r#""projects": ["{P}"], "access": {{"projects": "full"}}"#),
            &format!(r#""projects": ["{P}"], "access": {{"projects": "full"}}, "deny": ["delete_project"]"#),
        );
        assert_eq!(got, vec![format!("CI deployer will no longer be able to delete the project on project {P}.")]);
        let got =
            diff(&format!(r#""projects": ["{P}"]"#), &format!(r#""projects": ["{P}"], "allow": ["list_migrations"]"#));
        assert_eq!(got, vec![format!("CI deployer will be able to list migrations on project {P}.")]);
    }

    #[test]
    fn scope_changes_and_no_change() {
        let q = "qrstuvwxyzabcdefghij";
        let got = diff(&format!(r#""projects": ["{P}"]"#), &format!(r#""projects": ["{P}", "{q}"]"#));
        assert_eq!(got, vec![format!("CI deployer will be able to act on project {q}.")]);
        let got = diff(&format!(r#""projects": ["{P}"]"#), r#""projects": ["*"]"#);
        assert_eq!(got, vec!["CI deployer will be able to act on every project (within its access).".to_string()]);
        let got = diff(r#""organizations": []"#, "");
        assert_eq!(got, vec!["No change to what CI deployer may do.".to_string()]);
    }

    #[test]
    fn an_area_without_projects_says_so() {
        let got = diff("", r#""access": {"secrets": "read"}"#);
        assert_eq!(
            got,
            vec!["CI deployer will be able to list secrets on its projects (it has none yet, so nowhere).".to_string()]
        );
    }

    #[test]
    fn long_lists_are_cut() {
        let items: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        assert_eq!(list(&items), "0, 1, 2, 3, 4, 5, 6, 7 and 2 more");
        assert_eq!(list(&items[..2]), "0 and 1");
    }
}
