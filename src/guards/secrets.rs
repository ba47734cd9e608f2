//! Secret material in responses: replaced with a marker unless the agent has `reveal_secrets`.
//!
//! The table names, per endpoint, the response fields that hold secrets. `tests/secrets_spec.rs`
//! walks every response schema of Supabase's spec and fails on a secret-looking field this table
//! neither lists nor explicitly clears, so a new one cannot slip through silently.

use serde_json::Value;

/// What replaces a secret value.
pub const MARKER: &str = "[redacted by Bollard]";

pub use crate::catalog::SECRET_FIELDS;

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
    "rate_limit_otp",
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

/// The secret fields of an endpoint's response, if it has any (the catalog's data).
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
                // Any case: a key that differs only in case is the same field to a reader.
                if names.iter().any(|n| n.eq_ignore_ascii_case(k)) && !val.is_null() {
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
