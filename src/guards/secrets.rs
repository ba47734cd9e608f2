//! Secret material in responses: replaced with a marker unless the agent has `reveal_secrets`.
//!
//! The table names, per endpoint, the response fields that hold secrets. `tests/secrets_spec.rs`
//! walks every response schema of Supabase's spec and fails on a secret-looking field this table
//! neither lists nor explicitly clears, so a new one cannot slip through silently.

use serde_json::Value;

/// What replaces a secret value.
pub const MARKER: &str = "[redacted by Bollard]";

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
    "sms_textlocal_api_key",
    "sms_twilio_auth_token",
    "sms_twilio_verify_auth_token",
    "sms_vonage_api_key",
    "sms_vonage_api_secret",
    "smtp_pass",
];
const API_KEY: &[&str] = &["api_key"];

/// Endpoint id → the response fields that hold secrets.
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

/// Field names that look secret but are not (flags, lengths, URIs, ids, templates); reviewed.
pub const NOT_SECRET: &[&str] = &[
    "token_type",
    "token_alias",
    "hook_custom_access_token_enabled",
    "hook_custom_access_token_uri",
    "hook_password_verification_attempt_enabled",
    "hook_password_verification_attempt_uri",
    "jwt_exp",
    "mailer_notifications_password_changed_enabled",
    "mailer_subjects_password_changed_notification",
    "mailer_templates_password_changed_notification_content",
    "password_hibp_enabled",
    "password_min_length",
    "password_required_characters",
    "rate_limit_token_refresh",
    "refresh_token_rotation_enabled",
    "security_refresh_token_reuse_interval",
    "security_update_password_require_reauthentication",
    "cache_key",
    "idempotency_key",
    "verify_jwt",
    "private_only",
    "key",
    "secret_jwt_template",
];

/// The secret fields of an endpoint's response, if it has any.
pub fn fields(endpoint_id: &str) -> Option<&'static [&'static str]> {
    SECRET_FIELDS.iter().find(|(id, _)| *id == endpoint_id).map(|(_, f)| *f)
}

/// Replaces every non-null value of the named fields, at any depth. `None` when the body is not JSON.
pub fn redact(body: &[u8], names: &[&str]) -> Option<Vec<u8>> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    walk(&mut v, names);
    serde_json::to_vec(&v).ok()
}

fn walk(v: &mut Value, names: &[&str]) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if names.contains(&k.as_str()) && !val.is_null() {
                    *val = Value::String(MARKER.to_string());
                } else {
                    walk(val, names);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| walk(x, names)),
        _ => {}
    }
}
