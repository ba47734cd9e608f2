//! The files the console reads and writes: the policy (validated by the filter's own code, then
//! written atomically), the ECDS file Envoy watches for hot reload, and the audit file, to which
//! every change is appended as an operator record.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use bollard::catalog::Area;
use bollard::policy::{key_sha256, Policy};
use serde::Deserialize;

use super::doc::Doc;
use super::grants;
use crate::policy_doc::{replace_if, write_atomic};

pub struct Store {
    pub policy: PathBuf,
    pub audit: PathBuf,
    pub ecds: Option<PathBuf>,
}

/// The policy file as read now.
pub struct Loaded {
    /// SHA-256 of the file's bytes: a change is saved only over the version it was made on.
    pub version: String,
    pub doc: Doc,
    pub policy: Policy,
}

/// The fields of an agent the console edits; the others are kept as written.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct AgentEdit {
    pub name: String,
    pub projects: Vec<String>,
    pub organizations: Vec<String>,
    pub access: BTreeMap<String, String>,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

impl Store {
    pub fn load(&self) -> Result<Loaded, String> {
        let text = std::fs::read_to_string(&self.policy).map_err(|e| format!("{}: {e}", self.policy.display()))?;
        let doc = Doc::parse(&text).map_err(|e| format!("{}: {e}", self.policy.display()))?;
        let policy = grants::validate(&doc).map_err(|e| format!("{}: {e}", self.policy.display()))?;
        Ok(Loaded { version: key_sha256(&text), doc, policy })
    }

    /// Validates `doc` as the filter would and, when the file is still at `base_version`, writes
    /// it (a new file beside it, then renamed over it) and hands it to Envoy through the ECDS file.
    pub fn save(&self, base_version: &str, doc: &Doc) -> Result<Policy, String> {
        let policy = grants::validate(doc)?;
        let text = doc.pretty();
        if !replace_if(&self.policy, |now| key_sha256(now) == base_version, &text)? {
            return Err(
                "the policy file changed since this page loaded it; reload the page and make the change again".into()
            );
        }
        if let Some(ecds) = &self.ecds {
            let old = std::fs::read_to_string(ecds).map_err(|e| format!("{}: {e}", ecds.display()))?;
            let new = ecds_with_policy(&old, &text).map_err(|e| format!("{}: {e}", ecds.display()))?;
            write_atomic(ecds, &new)?;
        }
        Ok(policy)
    }

    /// Appends one operator record (one JSON line) to the audit file.
    pub fn record(
        &self,
        action: &str,
        operator: &str,
        agent: Option<&str>,
        extra: serde_json::Value,
        summary: &str,
    ) -> Result<(), String> {
        let mut rec = serde_json::json!({
            "ts": super::time::now(), "kind": "operator", "action": action, "operator": operator,
            "agent": agent, "via": "bollard console", "summary": summary,
        });
        if let (Some(obj), serde_json::Value::Object(more)) = (rec.as_object_mut(), extra) {
            obj.extend(more);
        }
        let line = format!("{rec}\n");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.audit)
            .map_err(|e| format!("{}: {e}", self.audit.display()))?;
        // One write of one line: appends from Envoy's logger and this one do not interleave.
        f.write_all(line.as_bytes()).map_err(|e| format!("{}: {e}", self.audit.display()))
    }
}

/// Applies an edit to agent `id` of the policy document.
pub fn apply_edit(doc: &Doc, id: &str, edit: &AgentEdit) -> Result<Doc, String> {
    let mut doc = doc.clone();
    let agent = doc
        .get_mut("agents")
        .and_then(Doc::as_array_mut)
        .and_then(|list| list.iter_mut().find(|a| a.get("id").and_then(Doc::as_str) == Some(id)))
        .ok_or_else(|| format!("no agent {id:?}"))?;
    let name = edit.name.trim();
    if name.is_empty() || name == id {
        agent.remove("name");
    } else {
        agent.set("name", Doc::String(name.to_string()));
    }
    for (field, list) in [
        ("projects", &edit.projects),
        ("organizations", &edit.organizations),
        ("allow", &edit.allow),
        ("deny", &edit.deny),
    ] {
        let list: Vec<String> = list.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        if list.is_empty() && field != "projects" {
            agent.remove(field);
        } else {
            agent.set(field, Doc::strings(&list));
        }
    }
    // Keep the areas in the order they were written; new ones follow in the catalog's order.
    let mut access: Vec<(String, Doc)> = match agent.get("access") {
        Some(Doc::Object(m)) => m.clone(),
        _ => Vec::new(),
    };
    for (area, level) in &edit.access {
        match access.iter_mut().find(|(k, _)| k == area) {
            Some((_, v)) => *v = Doc::String(level.clone()),
            None => access.push((area.clone(), Doc::String(level.clone()))),
        }
    }
    access.retain(|(_, v)| v.as_str() != Some("off"));
    access.sort_by_key(|(k, _)| {
        let written = match agent.get("access") {
            Some(Doc::Object(m)) => m.iter().position(|(x, _)| x == k),
            _ => None,
        };
        (written.is_none(), written.unwrap_or(0), Area::from_name(k).map_or(usize::MAX, Area::index))
    });
    agent.set("access", Doc::Object(access));
    Ok(doc)
}

/// Adds a new agent with no access; returns the document and the agent's key (shown once).
pub fn add_agent(doc: &Doc, id: &str, name: &str) -> Result<(Doc, String), String> {
    if !bollard::policy::valid_agent_id(id) {
        return Err(format!("the id {id:?} must be 1 to 64 of a-z, 0-9, _ and -"));
    }
    let key = crate::keys::new_key()?;
    let mut entry = Doc::Object(vec![("id".into(), Doc::String(id.into()))]);
    if !name.trim().is_empty() {
        entry.set("name", Doc::String(name.trim().into()));
    }
    entry.set("key_sha256", Doc::String(key_sha256(&key)));
    entry.set("projects", Doc::Array(Vec::new()));
    entry.set("access", Doc::Object(Vec::new()));
    let mut doc = doc.clone();
    match doc.get_mut("agents").and_then(Doc::as_array_mut) {
        Some(list) => list.push(entry),
        None => return Err("the policy has no agents list".into()),
    }
    Ok((doc, key))
}

/// The ECDS file with its policy replaced and its `version_info` raised. The policy is the
/// block scalar (`value: |`) under the `google.protobuf.StringValue` configuration, as
/// `envoy/ecds/bollard-filter.yaml` holds it.
pub fn ecds_with_policy(yaml: &str, policy: &str) -> Result<String, String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            let t = lines[i].trim();
            (t == "value: |" || t == "value: |-" || t == "value: |+")
                && lines[i.saturating_sub(3)..i].iter().any(|l| l.contains("google.protobuf.StringValue"))
        })
        .collect();
    let [start] = starts.as_slice() else {
        return Err("expected one `value: |` block under the google.protobuf.StringValue configuration".into());
    };
    let key_indent = indent(lines[*start]);
    let mut end = start + 1;
    while end < lines.len() && (lines[end].trim().is_empty() || indent(lines[end]) > key_indent) {
        end += 1;
    }
    let pad = lines[start + 1..end].iter().find(|l| !l.trim().is_empty()).map_or(key_indent + 2, |l| indent(l));
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    for l in &lines[..=*start] {
        match l.strip_prefix("version_info:") {
            Some(v) => {
                let n: u64 = v.trim().trim_matches(|c| c == '"' || c == '\'').parse().unwrap_or(0);
                out.push(format!("version_info: \"{}\"", n + 1));
            }
            None => out.push(l.to_string()),
        }
    }
    out.extend(policy.trim_end().lines().map(|l| {
        if l.is_empty() {
            String::new()
        } else {
            format!("{}{l}", " ".repeat(pad))
        }
    }));
    out.extend(lines[end..].iter().map(|l| l.to_string()));
    Ok(out.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECDS: &str = "# comment\nversion_info: \"7\"\nresources:\n- name: bollard\n  typed_config:\n    config:\n      configuration:\n        \"@type\": type.googleapis.com/google.protobuf.StringValue\n        value: |\n          {\n            \"mode\": \"enforce\"\n          }\n      vm_config:\n        runtime: envoy.wasm.runtime.v8\n";

    #[test]
    fn the_ecds_file_gets_the_new_policy_and_a_new_version() {
        let out = ecds_with_policy(ECDS, "{\n  \"mode\": \"monitor\"\n}\n").unwrap();
        assert_eq!(
            out,
            "# comment\nversion_info: \"8\"\nresources:\n- name: bollard\n  typed_config:\n    config:\n      configuration:\n        \"@type\": type.googleapis.com/google.protobuf.StringValue\n        value: |\n          {\n            \"mode\": \"monitor\"\n          }\n      vm_config:\n        runtime: envoy.wasm.runtime.v8\n"
        );
        assert!(ecds_with_policy("version_info: \"1\"\n", "{}").is_err());
    }

    #[test]
    fn the_shipped_ecds_file_can_be_updated() {
        let shipped = std::fs::read_to_string("envoy/ecds/bollard-filter.yaml").unwrap();
        let policy = std::fs::read_to_string("examples/demo-policy.json").unwrap();
        let out = ecds_with_policy(&shipped, &policy).unwrap();
        assert!(out.contains("\"id\": \"ci-deployer\""));
        assert!(out.contains("allow_on_headers_stop_iteration: true"));
    }

    fn doc() -> Doc {
        Doc::parse(&format!(
            r#"{{"upstream": {{"token_env": "T"}}, "agents": [{{"id": "ci", "name": "CI", "key_sha256": "{}", "projects": ["abcdefghijklmnopqrst"], "access": {{"secrets": "full", "edge_functions": "read"}}, "rate_limit": {{"requests_per_minute": 5}}}}]}}"#,
            "0".repeat(64)
        ))
        .unwrap()
    }

    #[test]
    fn an_edit_keeps_the_rest_of_the_agent_and_the_order() {
        let mut access = BTreeMap::new();
        access.insert("edge_functions".to_string(), "full".to_string());
        access.insert("secrets".to_string(), "off".to_string());
        access.insert("database".to_string(), "read".to_string());
        let edit = AgentEdit {
            name: "CI".into(),
            projects: vec!["abcdefghijklmnopqrst".into()],
            organizations: vec![],
            access,
            allow: vec![" list_migrations ".into()],
            deny: vec![],
        };
        let out = apply_edit(&doc(), "ci", &edit).unwrap().pretty();
        assert!(out.contains(r#""access": { "edge_functions": "full", "database": "read" }"#), "{out}");
        assert!(out.contains(r#""allow": ["list_migrations"]"#), "{out}");
        assert!(out.contains(r#""rate_limit": { "requests_per_minute": 5 }"#), "{out}");
        assert!(!out.contains("organizations"), "{out}");
        assert!(apply_edit(&doc(), "nobody", &edit).is_err());
    }

    #[test]
    fn a_new_agent_stores_only_the_hash_of_its_key() {
        let (d, key) = add_agent(&doc(), "new-bot", "New bot").unwrap();
        assert!(key.starts_with("sbp_") && key.len() == 44);
        let text = d.pretty();
        assert!(!text.contains(&key));
        assert!(text.contains(&key_sha256(&key)));
        assert!(grants::validate(&d).is_ok());
        assert!(add_agent(&doc(), "Bad Id", "").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn saving_writes_through_no_file_left_beside_the_policy() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("bollard-console-link-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.json");
        std::fs::write(&path, doc().pretty()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        // Links at the names a save would once have used, to a file of the operator's.
        let victim = dir.join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        for pid in [std::process::id(), 1] {
            for name in [format!(".policy.json.console-{pid}"), format!(".policy.json.{pid}.tmp")] {
                std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
            }
        }
        let store = Store { policy: path.clone(), audit: dir.join("audit.jsonl"), ecds: None };
        let loaded = store.load().unwrap();
        let mut good = loaded.doc.clone();
        good.set("mode", Doc::String("monitor".into()));
        store.save(&loaded.version, &good).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"mode\": \"monitor\""));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn saving_refuses_an_invalid_policy_and_a_stale_version() {
        let dir = std::env::temp_dir().join(format!("bollard-console-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.json");
        std::fs::write(&path, doc().pretty()).unwrap();
        let store = Store { policy: path.clone(), audit: dir.join("audit.jsonl"), ecds: None };
        let loaded = store.load().unwrap();
        let mut bad = loaded.doc.clone();
        bad.set("mode", Doc::String("loose".into()));
        assert!(store.save(&loaded.version, &bad).unwrap_err().contains("unknown mode"));
        let mut good = loaded.doc.clone();
        good.set("mode", Doc::String("monitor".into()));
        assert!(store.save("stale", &good).unwrap_err().contains("changed since"));
        store.save(&loaded.version, &good).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"mode\": \"monitor\""));
        store.record("policy_saved", "console", Some("ci"), serde_json::json!({}), "s").unwrap();
        let line = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
        assert!(line.contains("\"kind\":\"operator\""));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
