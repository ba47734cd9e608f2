//! What some endpoints need beyond the general rules, as data: the body their decision reads,
//! what their responses go through before the agent sees them, and the query parameters that
//! ask for secrets. The request path reads these by endpoint index; no other module names an
//! endpoint by its id.

/// A body the decision reads before it is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyRule {
    /// `run_sql`: with read access (or the named read permission allowed), only the form whose
    /// body says `"read_only": true` passes.
    ReadOnlyForm { read_permission: &'static str },
    /// `create_project`: the organization the body names must be one of the agent's.
    OrganizationInScope,
}

/// A body that carries SQL: the fields that hold it (each judged by the agent's SQL rules), and
/// the one that must be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlBody {
    pub fields: &'static [&'static str],
    pub required: Option<&'static str>,
}

/// An account-wide list that is filtered to the agent's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// An array of projects, each with `ref` (`list_projects`).
    Projects,
    /// `{ "projects": [...] }`, each with `ref` (`get_projects_for_organization`).
    OrganizationProjects,
    /// An array of organizations, each with `slug` (or `id`) (`list_organizations`).
    Organizations,
}

/// What a response goes through before the agent sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseRule {
    /// These fields, at any depth, are replaced with a marker unless the agent has `reveal_secrets`.
    Secrets(&'static [&'static str]),
    /// The list keeps only what the agent's scope holds.
    List(ListKind),
}

/// One endpoint's special behaviour; the default is none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Behaviour {
    pub body: Option<BodyRule>,
    pub response: Option<ResponseRule>,
    /// A query parameter that asks Supabase to show secrets: dropped unless the agent has
    /// `reveal_secrets`.
    pub reveal_param: Option<&'static str>,
    /// A query parameter that names the project the call acts on (`list_snippets`'
    /// `project_ref`): when given, it is scoped like a `{ref}` in the path.
    pub project_param: Option<&'static str>,
    /// A query parameter that names the organization the call acts on
    /// (`get_available_regions`' `organization_slug`): when given, it is scoped like a `{slug}`
    /// in the path.
    pub organization_param: Option<&'static str>,
    /// The call reaches one project's data though neither its path nor its query names the
    /// project (`get_snippet`: a snippet by id): only an agent with every project may make it.
    pub unnamed_project: bool,
    /// Where its body carries SQL, judged statement by statement (`crate::sql`).
    pub sql: Option<SqlBody>,
    /// A branch endpoint that reaches the branch's parent project too (`merge_branch` writes it,
    /// `diff_branch` reads its schema): in scope only when the parent is.
    pub parent_project: bool,
}

const AUTH_CONFIG: &[&str] = &[
    "external_apple_secret",
    "external_azure_secret",
    "external_bitbucket_secret",
    "external_discord_secret",
    "external_facebook_secret",
    "external_figma_secret",
    "external_github_secret",
    "external_gitlab_secret",
    "external_google_secret",
    "external_kakao_secret",
    "external_keycloak_secret",
    "external_linkedin_oidc_secret",
    "external_notion_secret",
    "external_slack_oidc_secret",
    "external_slack_secret",
    "external_spotify_secret",
    "external_twitch_secret",
    "external_twitter_secret",
    "external_workos_secret",
    "external_x_secret",
    "external_zoom_secret",
    "hook_after_user_created_secrets",
    "hook_before_user_created_secrets",
    "hook_custom_access_token_secrets",
    "hook_mfa_verification_attempt_secrets",
    "hook_password_verification_attempt_secrets",
    "hook_send_email_secrets",
    "hook_send_sms_secrets",
    "nimbus_oauth_client_secret",
    "security_captcha_secret",
    "sms_messagebird_access_key",
    // Phone numbers with the fixed code each signs in with: a credential for those accounts.
    "sms_test_otp",
    "sms_textlocal_api_key",
    "sms_twilio_auth_token",
    "sms_twilio_verify_auth_token",
    "sms_vonage_api_key",
    "sms_vonage_api_secret",
    "smtp_pass",
];
const API_KEY: &[&str] = &["api_key"];

/// Endpoint id → the response fields that hold secrets. `tests/secrets_spec.rs` walks every
/// response schema of the spec against this table.
pub const SECRET_FIELDS: &[(&str, &[&str])] = &[
    ("list_secrets", &["value"]),
    ("list_api_keys", API_KEY),
    ("create_api_key", API_KEY),
    ("get_project_api_key", API_KEY),
    ("update_project_api_key", API_KEY),
    ("delete_project_api_key", API_KEY),
    ("get_auth_config", AUTH_CONFIG),
    ("update_auth_config", AUTH_CONFIG),
    ("get_branch_config", &["db_pass", "jwt_secret"]),
    ("get_postgrest_service_config", &["jwt_secret"]),
    ("get_pgsodium_config", &["root_key"]),
    ("update_pgsodium_config", &["root_key"]),
    ("create_project_claim_token", &["token"]),
    ("create_login_role", &["password"]),
    ("exchange_oauth_token", &["access_token", "refresh_token"]),
];

/// Endpoint id → the body its decision reads.
const BODY_RULES: &[(&str, BodyRule)] = &[
    ("run_sql", BodyRule::ReadOnlyForm { read_permission: "database_read" }),
    ("create_project", BodyRule::OrganizationInScope),
];

const QUERY: SqlBody = SqlBody { fields: &["query"], required: Some("query") };
const MIGRATION: SqlBody = SqlBody { fields: &["query", "rollback"], required: Some("query") };

/// Endpoint id → where its body carries SQL: every operation of Supabase's spec whose request
/// body has a `query`, and a migration's `rollback` (SQL that runs later).
/// `tests/catalog_spec.rs` checks this table against the spec both ways.
pub const SQL_BODIES: &[(&str, SqlBody)] = &[
    ("run_sql", QUERY),
    ("run_read_only_sql", QUERY),
    ("apply_migration", MIGRATION),
    ("upsert_migration", MIGRATION),
    ("patch_migration", SqlBody { fields: &["rollback"], required: None }),
];

/// Where an endpoint's body carries SQL, by id (for code that has no compiled catalog).
pub fn sql_body(id: &str) -> Option<SqlBody> {
    SQL_BODIES.iter().find(|(e, _)| *e == id).map(|&(_, b)| b)
}

/// Endpoint id → the list its response is.
const LISTS: &[(&str, ListKind)] = &[
    ("list_projects", ListKind::Projects),
    ("get_projects_for_organization", ListKind::OrganizationProjects),
    ("list_organizations", ListKind::Organizations),
];

/// Endpoint ids whose call reaches a project that the request does not name.
const UNNAMED_PROJECT: &[&str] = &["get_snippet"];

/// Branch endpoint ids whose call reaches the branch's parent project.
const PARENT_PROJECT: &[&str] = &["merge_branch", "diff_branch"];

/// The query parameter that reveals secrets, on every endpoint that declares it.
const REVEAL_PARAM: &str = "reveal";

/// The query parameter that names a project, on every endpoint that declares it.
const PROJECT_PARAM: &str = "project_ref";

/// The query parameter that names an organization, on every endpoint that declares it.
const ORGANIZATION_PARAM: &str = "organization_slug";

/// Every endpoint's behaviour, in catalog order. The error names an id the tables above hold
/// that the catalog does not.
pub(super) fn compile(ids: &[&'static str], declares: impl Fn(usize, &str) -> bool) -> Result<Vec<Behaviour>, String> {
    let mut out = vec![Behaviour::default(); ids.len()];
    let index = |id: &str| ids.iter().position(|e| *e == id).ok_or(format!("catalog behaviour: unknown endpoint {id}"));
    for &(id, fields) in SECRET_FIELDS {
        if let Some(b) = out.get_mut(index(id)?) {
            b.response = Some(ResponseRule::Secrets(fields));
        }
    }
    for &(id, list) in LISTS {
        if let Some(b) = out.get_mut(index(id)?) {
            b.response = Some(ResponseRule::List(list));
        }
    }
    for &(id, rule) in BODY_RULES {
        if let Some(b) = out.get_mut(index(id)?) {
            b.body = Some(rule);
        }
    }
    for &(id, sql) in SQL_BODIES {
        if let Some(b) = out.get_mut(index(id)?) {
            b.sql = Some(sql);
        }
    }
    for &id in UNNAMED_PROJECT {
        if let Some(b) = out.get_mut(index(id)?) {
            b.unnamed_project = true;
        }
    }
    for &id in PARENT_PROJECT {
        if let Some(b) = out.get_mut(index(id)?) {
            b.parent_project = true;
        }
    }
    for (i, b) in out.iter_mut().enumerate() {
        if declares(i, REVEAL_PARAM) {
            b.reveal_param = Some(REVEAL_PARAM);
        }
        if declares(i, PROJECT_PARAM) {
            b.project_param = Some(PROJECT_PARAM);
        }
        if declares(i, ORGANIZATION_PARAM) {
            b.organization_param = Some(ORGANIZATION_PARAM);
        }
    }
    Ok(out)
}
