//! `bollard check`: validates a policy as the filter does, prints the access matrix (or one
//! agent's endpoints), and warns about what is valid but probably not meant.

use std::process::ExitCode;

use bollard::catalog::{Area, Catalog};
use bollard::discovery::may_call;
use bollard::policy::suggest;
use bollard::policy::{Agent, Level, Policy, Scope};
use bollard::sql::{ClassSet, SqlRules};

use crate::args::Args;
use crate::policy_source::{self, Loaded};
use crate::{one_positional, table, Outcome};

pub fn run(raw: &[String]) -> Outcome {
    let a = Args::parse(raw, &["--agent"], &["--prune"])?;
    let path = one_positional(&a, "POLICY file")?;
    if a.has("--prune") {
        crate::lifecycle::prune(path)?;
    }
    let loaded = policy_source::load_all(path)?;
    for l in &loaded {
        match a.value("--agent") {
            Some(id) => agent_endpoints(l, id)?,
            None => matrix(l),
        }
        crate::lifecycle::report(&l.policy);
        for w in warnings(l) {
            eprintln!("warning: {w}");
        }
        token_note(&l.policy);
    }
    Ok(ExitCode::SUCCESS)
}

fn scope_text(agent: &Agent, which: &Scope, projects: bool) -> String {
    if projects && !agent.project_organizations.is_empty() {
        return format!("of org {}", agent.project_organizations.join(","));
    }
    match which {
        Scope::All => "*".into(),
        Scope::Only(v) if v.is_empty() => "-".into(),
        Scope::Only(v) => v.join(","),
    }
}

fn matrix(l: &Loaded) {
    let policy = &l.policy;
    let areas: Vec<Area> = Area::ALL
        .iter()
        .copied()
        .filter(|&area| policy.agents().iter().any(|ag| ag.level(area) != Level::Off))
        .collect();
    let n = policy.agents().len();
    println!("{}: valid, {}", l.origin, policy.describe());
    if n == 0 {
        return;
    }
    let mut header = vec!["agent".to_string()];
    header.extend(areas.iter().map(|a| a.name().to_string()));
    header.extend(["project refs", "org slugs", "allow", "deny", "sql", "per minute"].map(String::from));
    let mut rows = vec![header];
    for ag in policy.agents() {
        let mut row = vec![ag.id.clone()];
        row.extend(areas.iter().map(|&area| ag.level(area).as_str().to_string()));
        row.push(scope_text(ag, &ag.projects, true));
        row.push(scope_text(ag, &ag.organizations, false));
        row.push(if ag.allow.is_empty() { "-".into() } else { ag.allow.join(",") });
        row.push(if ag.deny.is_empty() { "-".into() } else { ag.deny.join(",") });
        // SQL rules matter only to an agent that may call an endpoint whose body carries SQL.
        let runs_sql = Catalog::endpoints()
            .iter()
            .enumerate()
            .any(|(i, e)| bollard::catalog::sql_body(e.id).is_some() && may_call(ag, i));
        row.push(if runs_sql { sql_text(&ag.sql) } else { "-".into() });
        row.push(match &ag.rate_limit {
            None => "-".into(),
            Some(rl) if rl.endpoints.is_empty() => rl.per_minute.to_string(),
            Some(rl) => {
                let each: Vec<String> = rl
                    .endpoints
                    .iter()
                    .filter_map(|&(i, n)| Catalog::endpoints().get(i).map(|e| format!("{}:{n}", e.id)))
                    .collect();
                format!("{} ({})", rl.per_minute, each.join(","))
            }
        });
        rows.push(row);
    }
    print!("{}", table(&rows));
    let others = Area::ALL.len() - areas.len();
    if others > 0 {
        println!("Every other area ({others}) is off for every agent.");
    }
}

/// An agent's SQL rules in one cell: its classes, then what it denies (`auth.*`, `dblink()`).
fn sql_text(rules: &SqlRules) -> String {
    let mut parts = vec![if rules.allow == ClassSet::ALL { "all".to_string() } else { rules.allow.names().join(",") }];
    let denied: Vec<String> = rules
        .deny_schemas
        .iter()
        .map(|s| format!("{s}.*"))
        .chain(rules.deny_functions.iter().map(|f| format!("{f}()")))
        .collect();
    if !denied.is_empty() {
        parts.push(format!("not {}", denied.join(",")));
    }
    if rules.allow_unparsed {
        parts.push("unparsed ok".to_string());
    }
    parts.join("; ")
}

/// `check --agent ID`: the endpoints the agent's grants reach, and where.
fn agent_endpoints(l: &Loaded, id: &str) -> Result<(), String> {
    let policy = &l.policy;
    let agent = crate::find_agent(policy, &l.origin, id)?;
    let endpoints: Vec<(usize, &bollard::catalog::Endpoint)> =
        Catalog::endpoints().iter().enumerate().filter(|(i, _)| may_call(agent, *i)).collect();
    println!("{}: valid; agent {} ({}), mode {}", l.origin, agent.id, agent.name, policy.mode.as_str());
    println!("projects:      {}", agent.projects_description());
    println!("organizations: {}", agent.organizations.describe());
    println!("sql:           {}", sql_text(&agent.sql));
    println!("{} of {} endpoints:", endpoints.len(), Catalog::endpoints().len());
    let mut rows = vec![["id", "method", "path", "area", "granted by"].map(String::from).to_vec()];
    for (i, e) in endpoints {
        let by = if agent.allowed.contains(i) {
            "allow".to_string()
        } else if matches!(Catalog::behaviour_of(i).body, Some(bollard::catalog::BodyRule::ReadOnlyForm { .. }))
            && agent.level(e.area) == Level::Read
        {
            "read, only with \"read_only\": true".to_string()
        } else {
            format!("{}: {}", e.area.name(), agent.level(e.area).as_str())
        };
        rows.push(vec![e.id.into(), e.method.as_str().into(), e.path.into(), e.area.name().into(), by]);
    }
    print!("{}", table(&rows));
    println!("Scope still applies: a path's project or organization must be the agent's.");
    Ok(())
}

fn token_note(policy: &Policy) {
    if std::env::var_os(&policy.token_env).is_none() {
        println!(
            "note: {} is not set in this shell. Set it where Envoy starts ({}=sbp_... envoy -c envoy.yaml); without it the filter refuses to start.",
            policy.token_env, policy.token_env
        );
    }
}

/// The project refs and organization slugs an agent names.
fn scope_names(a: &Agent) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    if let Scope::Only(v) = &a.projects {
        out.extend(v.iter().map(|n| ("project ref", n.as_str())));
    }
    if let Scope::Only(v) = &a.organizations {
        out.extend(v.iter().map(|n| ("organization", n.as_str())));
    }
    out.extend(a.project_organizations.iter().map(|n| ("organization", n.as_str())));
    out
}

/// What is valid but probably not meant. Each names its line when the file shows it.
pub fn warnings(l: &Loaded) -> Vec<String> {
    let policy = &l.policy;
    let at = |culprit: &str, name: &str| -> String {
        policy_source::find_line(&l.text, culprit, &format!("\"{name}\""))
            .map(|n| format!("{}:{n}: ", l.origin.split(" (").next().unwrap_or(&l.origin)))
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    if policy.agents().is_empty() {
        out.push("the policy has no agents: every request will be refused (401)".to_string());
    }
    for ag in policy.agents() {
        let culprit = format!("agent {:?}", ag.id);
        let any_grant = Area::ALL.iter().any(|&a| ag.level(a) != Level::Off) || !ag.allow.is_empty();
        let any_endpoint = (0..Catalog::endpoints().len()).any(|i| may_call(ag, i));
        if !any_grant || !any_endpoint {
            out.push(format!(
                "{}{culprit} has no access: every request it makes will be refused (give it access or allow entries)",
                at(&culprit, &ag.id)
            ));
            continue;
        }
        let needs_project = Catalog::endpoints()
            .iter()
            .enumerate()
            .filter(|(i, _)| may_call(ag, *i))
            .all(|(_, e)| e.path.contains("{ref}") || e.path.contains("{branch_id_or_ref}"));
        if needs_project && ag.projects == Scope::Only(Vec::new()) && ag.project_organizations.is_empty() {
            out.push(format!(
                "{}{culprit} has no projects, and every endpoint it may call names one: every request it makes will be refused",
                at(&culprit, &ag.id)
            ));
        }
    }
    // A scope entry only one agent names, a letter or two from one another agent names.
    let mut reported: Vec<(&str, &str)> = Vec::new();
    for ag in policy.agents() {
        let others: Vec<&str> = policy
            .agents()
            .iter()
            .filter(|o| o.id != ag.id)
            .flat_map(|o| scope_names(o).into_iter().map(|(_, n)| n))
            .collect();
        for (what, name) in scope_names(ag) {
            if others.contains(&name) {
                continue;
            }
            let limit = if what == "project ref" { 3 } else { 2 };
            let close = others
                .iter()
                .copied()
                .map(|n| (suggest::distance(name, n), n))
                .filter(|&(d, _)| d > 0 && d <= limit)
                .min_by_key(|&(d, _)| d);
            if let Some((_, meant)) = close {
                if reported.contains(&(meant, name)) {
                    continue;
                }
                reported.push((name, meant));
                let culprit = format!("agent {:?}", ag.id);
                out.push(format!(
                    "{}{culprit}: {what} {name:?} is named by no other agent, and is close to {meant:?}, which another names: a typo?",
                    at(&culprit, name)
                ));
            }
        }
    }
    out
}
