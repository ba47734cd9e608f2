//! The catalog's fixed contract: the interface's seed ids, matching, classes. Runs natively and as wasm32.

// Tests may panic: that is how they fail.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::HashSet;

use bollard::catalog::{Area, Catalog, Class, Method};
use wasm_bindgen_test::wasm_bindgen_test;

/// The interface's seed table: id, method, path template, area, permission.
const SEED: [(&str, &str, &str, &str, &str); 35] = [
    ("list_projects", "GET", "/v1/projects", "projects", "projects_read"),
    ("create_project", "POST", "/v1/projects", "projects", "organization_projects_create"),
    ("get_project", "GET", "/v1/projects/{ref}", "projects", "project_admin_read"),
    ("delete_project", "DELETE", "/v1/projects/{ref}", "projects", "project_admin_write"),
    ("pause_project", "POST", "/v1/projects/{ref}/pause", "projects", "project_admin_write"),
    ("restore_project", "POST", "/v1/projects/{ref}/restore", "projects", "project_admin_write"),
    ("list_organizations", "GET", "/v1/organizations", "organizations", "organizations_read"),
    ("create_organization", "POST", "/v1/organizations", "organizations", "organizations_create"),
    ("run_sql", "POST", "/v1/projects/{ref}/database/query", "database", "database_write"),
    ("run_read_only_sql", "POST", "/v1/projects/{ref}/database/query/read-only", "database", "database_read"),
    ("list_migrations", "GET", "/v1/projects/{ref}/database/migrations", "database", "database_migrations_read"),
    ("apply_migration", "POST", "/v1/projects/{ref}/database/migrations", "database", "database_migrations_write"),
    (
        "enable_database_webhooks",
        "POST",
        "/v1/projects/{ref}/database/webhooks/enable",
        "database",
        "database_webhooks_config_write",
    ),
    ("list_functions", "GET", "/v1/projects/{ref}/functions", "edge_functions", "edge_functions_read"),
    ("get_function", "GET", "/v1/projects/{ref}/functions/{function_slug}", "edge_functions", "edge_functions_read"),
    (
        "get_function_body",
        "GET",
        "/v1/projects/{ref}/functions/{function_slug}/body",
        "edge_functions",
        "edge_functions_read",
    ),
    ("create_function", "POST", "/v1/projects/{ref}/functions", "edge_functions", "edge_functions_write"),
    ("deploy_function", "POST", "/v1/projects/{ref}/functions/deploy", "edge_functions", "edge_functions_write"),
    (
        "update_function",
        "PATCH",
        "/v1/projects/{ref}/functions/{function_slug}",
        "edge_functions",
        "edge_functions_write",
    ),
    (
        "delete_function",
        "DELETE",
        "/v1/projects/{ref}/functions/{function_slug}",
        "edge_functions",
        "edge_functions_write",
    ),
    ("list_secrets", "GET", "/v1/projects/{ref}/secrets", "secrets", "edge_functions_secrets_read"),
    ("create_secrets", "POST", "/v1/projects/{ref}/secrets", "secrets", "edge_functions_secrets_write"),
    ("delete_secrets", "DELETE", "/v1/projects/{ref}/secrets", "secrets", "edge_functions_secrets_write"),
    ("get_auth_config", "GET", "/v1/projects/{ref}/config/auth", "auth_config", "auth_config_read"),
    ("update_auth_config", "PATCH", "/v1/projects/{ref}/config/auth", "auth_config", "auth_config_write"),
    (
        "get_postgres_config",
        "GET",
        "/v1/projects/{ref}/config/database/postgres",
        "project_config",
        "database_config_read",
    ),
    (
        "update_postgres_config",
        "PUT",
        "/v1/projects/{ref}/config/database/postgres",
        "project_config",
        "database_config_write",
    ),
    ("get_storage_config", "GET", "/v1/projects/{ref}/config/storage", "project_config", "storage_config_read"),
    ("update_storage_config", "PATCH", "/v1/projects/{ref}/config/storage", "project_config", "storage_config_write"),
    ("list_buckets", "GET", "/v1/projects/{ref}/storage/buckets", "storage", "storage_read"),
    ("list_api_keys", "GET", "/v1/projects/{ref}/api-keys", "api_keys", "api_gateway_keys_read"),
    ("create_api_key", "POST", "/v1/projects/{ref}/api-keys", "api_keys", "api_gateway_keys_write"),
    ("list_branches", "GET", "/v1/projects/{ref}/branches", "branches", "branching_development_read"),
    ("create_branch", "POST", "/v1/projects/{ref}/branches", "branches", "branching_development_create"),
    ("delete_branch", "DELETE", "/v1/branches/{branch_id_or_ref}", "branches", "branching_development_delete"),
];

#[wasm_bindgen_test(unsupported = test)]
fn seed_ids_are_fixed() {
    for (id, method, path, area, permission) in SEED {
        let (_, e) = Catalog::by_id(id).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(
            (e.method.as_str(), e.path, e.area.name(), e.permission()),
            (method, path, area, Some(permission)),
            "{id}"
        );
        let read = if permission.ends_with("_read") { Class::Read } else { Class::Write };
        assert_eq!(e.class(), read, "{id}: the interface's permission {permission} makes it a {}", read.as_str());
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn ids_are_unique_and_classes_follow_the_read_rule() {
    let all = Catalog::endpoints();
    assert_eq!(all.len(), 169);
    let ids: HashSet<&str> = all.iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), all.len());
    for e in all {
        let want = if e.permissions.is_empty() {
            if matches!(e.method, Method::Get | Method::Head) {
                Class::Read
            } else {
                Class::Write
            }
        } else if e.permissions.iter().all(|p| p.ends_with("_read")) {
            Class::Read
        } else {
            Class::Write
        };
        assert_eq!(e.class(), want, "{}", e.id);
        assert!(Area::ALL.contains(&e.area));
    }
    assert_eq!(
        Catalog::by_id("get_pgsodium_config").map(|(_, e)| e.class()),
        Some(Class::Write),
        "a GET that needs a write permission is a write"
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn concrete_paths_match_the_right_endpoint() {
    let c = Catalog::new().expect("catalog");
    for (method, path, id) in [
        (Method::Get, "/v1/projects/available-regions", "get_available_regions"),
        (Method::Get, "/v1/projects/abcdefghijklmnopqrst", "get_project"),
        (Method::Post, "/v1/projects/abcdefghijklmnopqrst/functions/deploy", "deploy_function"),
        (Method::Get, "/v1/projects/abcdefghijklmnopqrst/api-keys/legacy", "get_project_legacy_api_keys"),
        (Method::Get, "/v1/projects/abcdefghijklmnopqrst/analytics/endpoints/logs.all", "get_project_logs_all"),
        (Method::Get, "/v1/projects/abcdefghijklmnopqrst/analytics/endpoints/logs", "get_project_logs"),
        (Method::Head, "/v1/projects/abcdefghijklmnopqrst/actions", "count_action_runs"),
        (Method::Delete, "/v1/branches/abcdefghijklmnopqrst", "delete_branch"),
    ] {
        let m = c.find(method, path).unwrap_or_else(|e| panic!("{method} {path}: {e:?}"));
        assert_eq!(m.endpoint.id, id, "{method} {path}");
    }
    let m = c.find(Method::Get, "/v1/projects/abcdefghijklmnopqrst/functions/hello/body").expect("match");
    assert_eq!((m.param("ref"), m.param("function_slug")), (Some("abcdefghijklmnopqrst"), Some("hello")));
    assert!(c.find(Method::Put, "/v1/projects/abcdefghijklmnopqrst").is_err());
    // A static segment wins over a parameter among the routes of the request's method only: a
    // function named "deploy" is read, updated and deleted by path; POST of it deploys.
    for (method, id) in [
        (Method::Get, "get_function"),
        (Method::Patch, "update_function"),
        (Method::Delete, "delete_function"),
        (Method::Post, "deploy_function"),
    ] {
        let m = c.find(method, "/v1/projects/abcdefghijklmnopqrst/functions/deploy").expect("match");
        assert_eq!(m.endpoint.id, id, "{method}");
    }
    assert!(c.find(Method::Put, "/v1/projects/abcdefghijklmnopqrst/functions/deploy").is_err());
    assert!(c.find(Method::Get, "/v1/unknown").is_err());
    assert!(c.find(Method::Get, "/v1/projects/abcdefghijklmnopqrst/functions/a/b/c").is_err());
}
