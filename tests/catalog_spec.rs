//! The catalog agrees with Supabase's OpenAPI spec both ways, and the docs' table is current.
//! Native only: it reads the spec from `spec/` and the docs from disk.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;
use std::path::PathBuf;

use bollard::catalog::Catalog;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spec() -> Value {
    let path = root().join("spec/supabase-management-api-v1.openapi.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("the spec is JSON")
}

/// (METHOD, path) → the spec's alternative permission sets.
fn spec_operations() -> Vec<(String, String, Vec<BTreeSet<String>>)> {
    let spec = spec();
    let mut out = Vec::new();
    for (path, ops) in spec["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            if op.get("responses").is_none() {
                continue;
            }
            let alternatives = op["security"]
                .as_array()
                .map(|s| {
                    s.iter()
                        .filter_map(|r| r.get("fga_permissions"))
                        .map(|p| {
                            p.as_array()
                                .expect("permission list")
                                .iter()
                                .map(|x| x.as_str().expect("name").to_string())
                                .collect()
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push((method.to_uppercase(), path.clone(), alternatives));
        }
    }
    out
}

#[test]
fn every_spec_operation_is_in_the_catalog_with_the_spec_permission() {
    let ops = spec_operations();
    assert_eq!(ops.len(), 169, "the spec this catalog was built from has 169 operations");
    let mut missing = Vec::new();
    for (method, path, alternatives) in &ops {
        let Some(e) = Catalog::endpoints().iter().find(|e| e.method.as_str() == method && e.path == path) else {
            missing.push(format!("{method} {path}: not in the catalog"));
            continue;
        };
        let ours: BTreeSet<String> = e.permissions.iter().map(|p| p.to_string()).collect();
        let agrees = if alternatives.is_empty() { ours.is_empty() } else { alternatives.contains(&ours) };
        if !agrees {
            missing.push(format!("{method} {path} ({}): catalog says {ours:?}, spec says {alternatives:?}", e.id));
        }
    }
    assert!(missing.is_empty(), "catalog and spec disagree:\n{}", missing.join("\n"));
}

#[test]
fn the_catalog_has_nothing_the_spec_lacks() {
    let ops = spec_operations();
    let extra: Vec<String> = Catalog::endpoints()
        .iter()
        .filter(|e| !ops.iter().any(|(m, p, _)| m == e.method.as_str() && p == e.path))
        .map(|e| format!("{} {} {}", e.id, e.method, e.path))
        .collect();
    assert!(extra.is_empty(), "catalog entries the spec does not have: {extra:?}");
    assert_eq!(Catalog::endpoints().len(), ops.len());
}

#[test]
fn every_permission_name_in_the_spec_is_known() {
    for (method, path, alternatives) in spec_operations() {
        for name in alternatives.iter().flatten() {
            assert!(Catalog::is_permission(name), "{method} {path}: {name} is not a known permission");
        }
    }
    assert!(!Catalog::is_permission("storage_write_everything"));
}

/// `docs/catalog.md` is exactly `Catalog::markdown()`. `make docs` rewrites it.
#[test]
fn docs_catalog_table_is_current() {
    let path = root().join("docs/catalog.md");
    let want = Catalog::markdown();
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(have == want, "docs/catalog.md is stale: run `make docs`");
    assert_eq!(have.lines().filter(|l| l.starts_with("| `")).count(), 169);
}

/// The query parameters each catalog entry declares are the spec's, in its order, with the
/// same required flag and a kind that fits the schema (`tools/gen_query_params.py` writes them).
#[test]
fn query_parameters_are_the_specs() {
    use bollard::catalog::query::Kind;
    let spec = spec();
    let mut wrong = Vec::new();
    for (i, e) in Catalog::endpoints().iter().enumerate() {
        let op = &spec["paths"][e.path][e.method.as_str().to_lowercase()];
        let theirs: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter(|p| p["in"] == "query").collect())
            .unwrap_or_default();
        let ours = Catalog::query_params(i);
        if theirs.len() != ours.len() {
            wrong.push(format!("{}: spec has {} query parameters, catalog {}", e.id, theirs.len(), ours.len()));
            continue;
        }
        for (p, q) in theirs.iter().zip(ours) {
            let schema = &p["schema"];
            let fits = match (&q.kind, schema["type"].as_str()) {
                (Kind::Boolean, Some("boolean")) => true,
                (Kind::OneOf(values), Some("string")) => schema["enum"]
                    .as_array()
                    .is_some_and(|en| en.iter().map(|v| v.as_str()).eq(values.iter().map(|v| Some(*v)))),
                (Kind::List(_), Some("array")) => true,
                (Kind::Integer(..) | Kind::Number(..), Some("integer" | "number" | "string")) => true,
                (Kind::Uuid, Some("string")) => schema["format"] == "uuid",
                (Kind::DateTime, Some("string")) => schema["format"] == "date-time",
                (Kind::Text(_) | Kind::ProjectRef | Kind::Digits | Kind::Word, Some("string")) => {
                    schema.get("enum").is_none()
                }
                _ => false,
            };
            let same = p["name"].as_str() == Some(q.name) && p["required"].as_bool().unwrap_or(false) == q.required;
            if !fits || !same {
                wrong.push(format!("{} ?{}: catalog {:?} does not fit the spec's {}", e.id, q.name, q.kind, schema));
            }
        }
    }
    assert!(wrong.is_empty(), "regenerate with tools/gen_query_params.py:\n{}", wrong.join("\n"));
}

/// The endpoints whose body carries SQL (`SQL_BODIES`) are exactly the spec's operations whose
/// request body has a `query` or a `rollback`, with those fields (issue 13).
#[test]
fn sql_bodies_are_the_specs() {
    let spec = spec();
    let resolve = |v: &Value| -> Value {
        match v["$ref"].as_str() {
            Some(r) => r.trim_start_matches("#/").split('/').fold(spec.clone(), |o, k| o[k].clone()),
            None => v.clone(),
        }
    };
    let mut theirs = BTreeSet::new();
    for e in Catalog::endpoints() {
        let op = &spec["paths"][e.path][e.method.as_str().to_lowercase()];
        let schema = resolve(&op["requestBody"]["content"]["application/json"]["schema"]);
        let fields: Vec<String> = ["query", "rollback"]
            .iter()
            .filter(|f| schema["properties"].get(**f).is_some())
            .map(|f| f.to_string())
            .collect();
        if !fields.is_empty() {
            let required = schema["required"].as_array().is_some_and(|r| r.iter().any(|x| x == "query"));
            theirs.insert((e.id.to_string(), fields, required));
        }
    }
    let ours: BTreeSet<(String, Vec<String>, bool)> = bollard::catalog::SQL_BODIES
        .iter()
        .map(|(id, b)| (id.to_string(), b.fields.iter().map(|f| f.to_string()).collect(), b.required.is_some()))
        .collect();
    assert_eq!(ours, theirs);
}

/// Every path parameter accepts the spec's example, and one the spec restricts to listed values
/// (`{addon_variant}`) accepts exactly those.
#[test]
fn path_parameters_accept_what_the_spec_allows() {
    use bollard::target::check_param;
    let spec = spec();
    let mut wrong = Vec::new();
    let mut enums = 0;
    for e in Catalog::endpoints() {
        let op = &spec["paths"][e.path][e.method.as_str().to_lowercase()];
        for p in op["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "path") {
            let name = p["name"].as_str().expect("name");
            let schema = &p["schema"];
            if let Some(example) = schema["example"].as_str() {
                if check_param(name, example).is_err() {
                    wrong.push(format!("{} {{{name}}}: the spec's example {example:?} is refused", e.id));
                }
            }
            let alternatives = schema["oneOf"].as_array().cloned().unwrap_or_else(|| vec![schema.clone()]);
            let listed: Vec<&str> =
                alternatives.iter().filter_map(|a| a["enum"].as_array()).flatten().filter_map(Value::as_str).collect();
            if listed.is_empty() {
                continue;
            }
            enums += 1;
            for v in &listed {
                if check_param(name, v).is_err() {
                    wrong.push(format!("{} {{{name}}}: the listed value {v:?} is refused", e.id));
                }
            }
            if check_param(name, "not_listed").is_ok() {
                wrong.push(format!("{} {{{name}}}: a value the spec does not list is accepted", e.id));
            }
        }
    }
    assert!(enums > 0);
    assert!(wrong.is_empty(), "path parameters and spec disagree:\n{}", wrong.join("\n"));
}
