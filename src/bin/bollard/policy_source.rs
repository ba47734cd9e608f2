//! Where a policy comes from: a JSON or YAML policy file, or the policy embedded in an Envoy
//! config (the Wasm filter's `configuration` value, ECDS files included), an Istio `WasmPlugin`
//! (`spec.pluginConfig`) or a Kong filter chain (the `bollard` filter's `config`). Errors name
//! the file and the line.
//!
//! YAML is read by the CLI only (serde_yaml_ng) and handed to the core as JSON text, which is
//! what Envoy hands the filter: the `.wasm` carries no YAML parser.

use bollard::policy::{Policy, PolicyError};
use serde_yaml_ng::Value as Yaml;

/// A policy read from a file.
pub struct Loaded {
    pub policy: Policy,
    /// The policy as the filter reads it (JSON text): the file itself when it is a JSON policy.
    pub json: String,
    /// The file's own text, for the line of a warning.
    pub text: String,
    /// `examples/policy.json`, or `envoy.yaml (the Wasm filter's configuration)`.
    pub origin: String,
}

/// Reads `path` (`-` for stdin) and compiles the one policy it holds.
pub fn load(path: &str) -> Result<Loaded, String> {
    let mut all = load_all(path)?;
    match all.len() {
        1 => Ok(all.remove(0)),
        n => Err(format!(
            "{path}: {n} different policies in one file ({}); check them one by one",
            all.iter().map(|l| l.origin.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Reads `path` and compiles every distinct policy it holds (an Envoy config may carry several).
pub fn load_all(path: &str) -> Result<Vec<Loaded>, String> {
    let text = crate::read_input(path)?;
    let found = find_policies(path, &text)?;
    let mut out: Vec<Loaded> = Vec::new();
    for (json, origin, base_line) in found {
        if out.iter().any(|l| l.json == json) {
            continue;
        }
        let policy =
            Policy::from_json(&json).map_err(|e| located(path, &text, &json, base_line, e, origin.as_deref()))?;
        let origin = match origin {
            Some(o) => format!("{path} ({o})"),
            None => path.to_string(),
        };
        out.push(Loaded { policy, json, text: text.clone(), origin });
    }
    Ok(out)
}

/// The policies in a file: (JSON text, where in the file, the file line where the JSON text
/// starts when it is there verbatim).
type Found = (String, Option<String>, Option<usize>);

fn find_policies(path: &str, text: &str) -> Result<Vec<Found>, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        // JSON: compiled as written, so the core's own line numbers are the file's.
        return Ok(vec![(text.to_string(), None, Some(0))]);
    }
    let mut docs = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let value = <Yaml as serde::Deserialize>::deserialize(doc).map_err(|e| yaml_error(path, text, &e))?;
        docs.push(value);
    }
    if docs.iter().filter(|d| !d.is_null()).count() == 0 {
        return Err(format!("{path}: empty file; a policy has at least upstream and agents (see README, The policy)"));
    }
    // A policy written in YAML: its top level has `agents`.
    if let [doc] = docs.as_slice() {
        if ["agents", "upstream", "mode"].iter().any(|k| doc.get(*k).is_some()) {
            let json = serde_json::to_string_pretty(doc).map_err(|e| format!("{path}: {e}"))?;
            return Ok(vec![(json, None, None)]);
        }
    }
    let mut found = Vec::new();
    for doc in &docs {
        embedded(doc, text, &mut found);
    }
    if found.is_empty() {
        return Err(format!(
            "{path}: no Bollard policy here: expected a policy (JSON or YAML, with upstream and agents), an Envoy config with the Bollard Wasm filter, or an Istio WasmPlugin"
        ));
    }
    Ok(found)
}

const STRING_VALUE: &str = "type.googleapis.com/google.protobuf.StringValue";

/// Policies inside an Envoy config (any Wasm filter's `configuration` StringValue) or an Istio
/// WasmPlugin (`spec.pluginConfig`).
fn embedded(v: &Yaml, text: &str, out: &mut Vec<Found>) {
    if v.get("kind").and_then(Yaml::as_str) == Some("WasmPlugin") {
        if let Some(config) = v.get("spec").and_then(|s| s.get("pluginConfig")) {
            if let Ok(json) = serde_json::to_string_pretty(config) {
                out.push((json, Some("WasmPlugin spec.pluginConfig".into()), None));
            }
        }
        return;
    }
    match v {
        Yaml::Mapping(m) => {
            if let Some(c) = m.get("configuration") {
                if c.get("@type").and_then(Yaml::as_str) == Some(STRING_VALUE) {
                    if let Some(policy) = c.get("value").and_then(Yaml::as_str) {
                        let start = start_line(text, policy);
                        out.push((policy.to_string(), Some("the Wasm filter's configuration".into()), start));
                    }
                }
            }
            // Kong's filter chains: `filters: [{name: bollard, config: "<policy JSON>"}]`.
            if m.get("name").and_then(Yaml::as_str) == Some("bollard") {
                if let Some(policy) = m.get("config").and_then(Yaml::as_str) {
                    let start = start_line(text, policy);
                    out.push((policy.to_string(), Some("the Kong filter's config".into()), start));
                }
            }
            for (_, child) in m {
                embedded(child, text, out);
            }
        }
        Yaml::Sequence(s) => s.iter().for_each(|child| embedded(child, text, out)),
        Yaml::Tagged(t) => embedded(&t.value, text, out),
        _ => {}
    }
}

/// The file line (from 0) where an embedded policy's text starts: the first line whose content
/// is the policy's first two lines, indented.
fn start_line(text: &str, policy: &str) -> Option<usize> {
    let mut want = policy.lines().map(str::trim).filter(|l| !l.is_empty());
    let (first, second) = (want.next()?, want.next()?);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines.windows(2).position(|w| w.first() == Some(&first) && w.get(1) == Some(&second))
}

fn yaml_error(path: &str, text: &str, e: &serde_yaml_ng::Error) -> String {
    let hint = if text.contains('\t') { " (YAML indents with spaces, never tabs)" } else { "" };
    match e.location() {
        Some(l) => {
            let message = e.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            format!("{path}:{}: not valid YAML or JSON: {message}{hint}", l.line())
        }
        None => format!("{path}: not valid YAML or JSON: {e}{hint}"),
    }
}

/// `file:line: culprit: message`: the line of the culprit in the file the user wrote.
fn located(
    path: &str,
    text: &str,
    json: &str,
    base_line: Option<usize>,
    e: PolicyError,
    origin: Option<&str>,
) -> String {
    let (message, json_line) = split_line(&e.message);
    let within = origin.map(|o| format!(" ({o})")).unwrap_or_default();
    // serde_json counted the line in the JSON text: the file's own line when that text is in the
    // file verbatim; otherwise the line of the offending name in the file.
    let line = match (json_line, base_line) {
        (Some(n), Some(base)) => Some(base + n),
        _ => find_line(text, &e.culprit, &message).or_else(|| json_line.and_then(|n| find_line_in_json(text, json, n))),
    };
    let comment = json.lines().any(|l| l.trim_start().starts_with("//") || l.trim_start().starts_with('#'));
    let hint = if base_line.is_some()
        && comment
        && (message.starts_with("key must be a string") || message.starts_with("expected value"))
    {
        " (JSON has no comments: remove them, or write the policy in YAML, where # starts a comment)"
    } else {
        ""
    };
    match line {
        Some(n) => format!("{path}:{n}{within}: {}: {message}{hint}", e.culprit),
        None => format!("{path}{within}: {}: {message}{hint}", e.culprit),
    }
}

/// serde_json's " at line N column M" (or " at line N") taken off the message.
fn split_line(message: &str) -> (String, Option<usize>) {
    if let Some((head, tail)) = message.rsplit_once(" at line ") {
        let n = tail.split(' ').next().and_then(|n| n.parse::<usize>().ok());
        if n.is_some() {
            return (head.to_string(), n);
        }
    }
    (message.to_string(), None)
}

/// The JSON text's line `n` located in the file (an embedded policy whose start was not found).
fn find_line_in_json(text: &str, json: &str, n: usize) -> Option<usize> {
    let wanted = json.lines().nth(n.checked_sub(1)?)?.trim();
    if wanted.is_empty() {
        return None;
    }
    text.lines().position(|l| l.trim() == wanted).map(|i| i + 1)
}

/// The line (from 1) of the culprit: the agent's `id` line, then the first line after it that
/// holds the name the message quotes (`"storge"`, `` `organisations` ``).
pub fn find_line(text: &str, culprit: &str, message: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let agent_start = culprit
        .strip_prefix("agent \"")
        .and_then(|r| r.strip_suffix('"'))
        .and_then(|id| lines.iter().position(|l| is_id_line(l, id)));
    let from = agent_start.unwrap_or(0);
    // The agent's own lines: up to the next agent's id.
    let to = match agent_start {
        Some(s) => lines.iter().skip(s + 1).position(|l| is_any_id_line(l)).map_or(lines.len(), |p| s + 1 + p),
        None => lines.len(),
    };
    let named = quoted(message)
        .and_then(|name| lines.get(from..to)?.iter().position(|l| contains_word(l, &name)).map(|p| from + p + 1));
    named.or(agent_start.map(|s| s + 1))
}

/// The first name a message quotes with `"..."` or `` `...` ``.
fn quoted(message: &str) -> Option<String> {
    let at = message.find(['"', '`'])?;
    let quote = message.get(at..at + 1)?;
    let rest = message.get(at + 1..)?;
    let end = rest.find(quote)?;
    let name = rest.get(..end)?;
    (!name.is_empty()).then(|| name.to_string())
}

fn contains_word(line: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    line.match_indices(word).any(|(i, _)| {
        let before = line.get(..i).and_then(|s| s.chars().last());
        let after = line.get(i + word.len()..).and_then(|s| s.chars().next());
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

fn id_value(line: &str) -> Option<&str> {
    let l = line.trim().trim_start_matches('-').trim_start().trim_start_matches('{').trim_start();
    let rest = l.strip_prefix("\"id\"").or_else(|| l.strip_prefix("id"))?;
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let value = rest.trim_start_matches(['"', '\'']);
    let end = value.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(value.len());
    value.get(..end)
}

fn is_id_line(line: &str, id: &str) -> bool {
    id_value(line) == Some(id)
}

fn is_any_id_line(line: &str) -> bool {
    id_value(line).is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_culprits() {
        let yaml = "upstream:\n  token_env: T\nagents:\n- id: a\n  access:\n    storge: read\n- id: b\n  access: {storge: read}\n";
        assert_eq!(find_line(yaml, "agent \"a\"", "access: unknown area \"storge\""), Some(6));
        assert_eq!(find_line(yaml, "agent \"b\"", "access: unknown area \"storge\""), Some(8));
        assert_eq!(find_line(yaml, "agent \"b\"", "no name quoted"), Some(7));
        let json = "{\n \"agents\": [\n  {\"id\": \"ci-bot\",\n   \"organisations\": []}]}";
        assert_eq!(find_line(json, "agent \"ci-bot\"", "unknown field `organisations`, expected"), Some(4));
        assert_eq!(split_line("bad at line 4 column 2"), ("bad".to_string(), Some(4)));
    }
}
