//! The policy file as a document the commands edit: JSON (or YAML) read with its keys in the
//! order they were written, changed in place, validated as the filter would, and written back in
//! its own format atomically (a temporary file in the same directory, then a rename), so nothing
//! ever reads half a file.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::path::Path;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A JSON value whose objects keep their keys' order.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Doc>),
    Object(Vec<(String, Doc)>),
}

impl<'de> Deserialize<'de> for Doc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
        struct Vis;
        impl<'de> Visitor<'de> for Vis {
            type Value = Doc;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Doc, E> {
                Ok(Doc::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Doc, E> {
                Ok(Doc::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Doc, E> {
                Ok(Doc::Number(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Doc, E> {
                Ok(Doc::Number(v.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Doc, E> {
                serde_json::Number::from_f64(v).map(Doc::Number).ok_or_else(|| E::custom("not a JSON number"))
            }
            fn visit_str<E>(self, v: &str) -> Result<Doc, E> {
                Ok(Doc::String(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Doc, E> {
                Ok(Doc::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Doc, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = a.next_element()? {
                    out.push(v);
                }
                Ok(Doc::Array(out))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Doc, M::Error> {
                let mut out: Vec<(String, Doc)> = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Doc>()? {
                    if out.iter().any(|(o, _)| *o == k) {
                        return Err(serde::de::Error::custom(format!("{k:?} is given twice")));
                    }
                    out.push((k, v));
                }
                Ok(Doc::Object(out))
            }
        }
        d.deserialize_any(Vis)
    }
}

impl Serialize for Doc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Doc::Null => s.serialize_unit(),
            Doc::Bool(b) => s.serialize_bool(*b),
            Doc::Number(n) => n.serialize(s),
            Doc::String(v) => s.serialize_str(v),
            Doc::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Doc::Object(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl Doc {
    pub fn parse(text: &str) -> Result<Doc, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    pub fn str(s: &str) -> Doc {
        Doc::String(s.to_string())
    }

    pub fn get(&self, key: &str) -> Option<&Doc> {
        match self {
            Doc::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Doc> {
        match self {
            Doc::Object(fields) => fields.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Doc::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Doc>> {
        match self {
            Doc::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Sets a field: in place when it exists, else after `after` (when given and present), else last.
    pub fn set(&mut self, key: &str, value: Doc, after: Option<&str>) {
        let Doc::Object(fields) = self else { return };
        if let Some(slot) = fields.iter_mut().find(|(k, _)| k == key) {
            slot.1 = value;
            return;
        }
        let at = after.and_then(|a| fields.iter().position(|(k, _)| k == a)).map_or(fields.len(), |i| i + 1);
        fields.insert(at, (key.to_string(), value));
    }

    /// The policy's `agents[i]` whose id is `id`.
    pub fn agent_mut(&mut self, id: &str) -> Option<&mut Doc> {
        self.get_mut("agents")?.as_array_mut()?.iter_mut().find(|a| a.get("id").and_then(Doc::as_str) == Some(id))
    }

    /// The policy's `grants`, created (after `agents`) when missing.
    pub fn grants_mut(&mut self) -> Option<&mut Vec<Doc>> {
        if self.get("grants").is_none() {
            self.set("grants", Doc::Array(Vec::new()), Some("agents"));
        }
        self.get_mut("grants")?.as_array_mut()
    }

    /// JSON on one line.
    fn compact(&self) -> String {
        let mut out = String::new();
        match self {
            Doc::Null => out.push_str("null"),
            Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Doc::Number(n) => out.push_str(&n.to_string()),
            Doc::String(s) => out.push_str(&quote(s)),
            Doc::Array(items) => {
                let parts: Vec<String> = items.iter().map(Doc::compact).collect();
                let _ = write!(out, "[{}]", parts.join(", "));
            }
            Doc::Object(fields) => {
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{}: {}", quote(k), v.compact())).collect();
                let _ = write!(out, "{{{}}}", parts.join(", "));
            }
        }
        out
    }

    /// Readable JSON: two-space indents, and a value on one line when it fits in `WIDTH` and
    /// holds no object inside an array (one agent or grant per block).
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write_pretty(&mut out, 0);
        out.push('\n');
        out
    }

    fn nested_object(&self) -> bool {
        match self {
            Doc::Array(items) => items.iter().any(|i| matches!(i, Doc::Object(_) | Doc::Array(_))),
            Doc::Object(fields) => {
                fields.iter().any(|(_, v)| matches!(v, Doc::Array(a) if a.iter().any(|i| matches!(i, Doc::Object(_)))))
            }
            _ => false,
        }
    }

    fn write_pretty(&self, out: &mut String, indent: usize) {
        const WIDTH: usize = 100;
        let one_line = self.compact();
        let simple = !matches!(self, Doc::Array(_) | Doc::Object(_));
        if simple || (indent > 0 && indent + one_line.len() <= WIDTH && !self.nested_object()) {
            out.push_str(&one_line);
            return;
        }
        let pad = " ".repeat(indent + 2);
        match self {
            Doc::Array(items) if items.is_empty() => out.push_str("[]"),
            Doc::Object(fields) if fields.is_empty() => out.push_str("{}"),
            Doc::Array(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    out.push_str(&pad);
                    item.write_pretty(out, indent + 2);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str(&" ".repeat(indent));
                out.push(']');
            }
            Doc::Object(fields) => {
                out.push_str("{\n");
                for (i, (k, v)) in fields.iter().enumerate() {
                    let _ = write!(out, "{pad}{}: ", quote(k));
                    v.write_pretty(out, indent + 2);
                    out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
                }
                out.push_str(&" ".repeat(indent));
                out.push('}');
            }
            _ => out.push_str(&one_line),
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// Whether a policy file's text is JSON (else it is read as YAML).
fn is_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// Reads the policy file (JSON, or YAML without comments) as a document, with the text it was
/// read from (`write` replaces the file only if it still holds that text).
pub fn read(path: &str) -> Result<(Doc, String), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let doc = if is_json(&text) {
        Doc::parse(&text).map_err(|e| format!("{path}: not JSON: {e}"))?
    } else {
        // Rewriting YAML through a parser drops its comments: refuse rather than lose them.
        if text.lines().any(|l| l.trim_start().starts_with('#') || l.contains(" #")) {
            return Err(format!(
                "{path}: this YAML policy has comments, which rewriting it would drop; keep the policy this command edits in JSON (or YAML without comments), and the commented notes elsewhere"
            ));
        }
        serde_yaml_ng::from_str::<Doc>(&text).map_err(|e| format!("{path}: not a YAML policy: {e}"))?
    };
    if !matches!(doc.get("agents"), Some(Doc::Array(_))) {
        return Err(format!(
            "{path}: not a policy file (no agents list); this command edits the policy file itself, not an Envoy config that embeds it"
        ));
    }
    Ok((doc, text))
}

/// Validates the edited policy exactly as the filter would, then replaces the file atomically:
/// a temporary file in the same directory (same permissions), flushed, then renamed over it.
/// An invalid result is never written, nor one over a file that changed since it held `was`.
pub fn write(path: &str, doc: &Doc, was: &str) -> Result<(), String> {
    let json = doc.pretty();
    let text =
        if is_json(was) { json.clone() } else { serde_yaml_ng::to_string(doc).map_err(|e| format!("{path}: {e}"))? };
    bollard::policy::Policy::from_json(&json)
        .map_err(|e| format!("{path}: the change would make the policy invalid: {e}"))?;
    if replace_if(Path::new(path), |now| now == was, &text)? {
        Ok(())
    } else {
        Err(format!("{path}: the file changed while this command ran (another command or the console saved it); nothing was written: run the command again"))
    }
}

/// Replaces the file with `text` when `unchanged` holds for what it holds now, checking and
/// writing under an exclusive lock on the file: the console and the CLI's edits each read, check
/// and write as one step, so neither overwrites a change the other saved after it read the file.
/// False, and nothing written, when the file changed.
pub fn replace_if(path: &Path, unchanged: impl Fn(&str) -> bool, text: &str) -> Result<bool, String> {
    let _lock = lock(path)?;
    let now = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !unchanged(&now) {
        return Ok(false);
    }
    write_atomic(path, text)?;
    Ok(true)
}

/// An exclusive lock on the file at `path`, held until the returned handle is dropped. A writer
/// replaces the file by a rename, so a lock won on a file since replaced is let go and taken on
/// the new one.
fn lock(path: &Path) -> Result<std::fs::File, String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    loop {
        let file = std::fs::File::open(path).map_err(fail)?;
        file.lock().map_err(fail)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let (held, now) = (file.metadata().map_err(fail)?, std::fs::metadata(path).map_err(fail)?);
            if (held.dev(), held.ino()) != (now.dev(), now.ino()) {
                continue;
            }
        }
        return Ok(file);
    }
}

/// Writes `text` to a new file in the same directory, then renames it over `path`. The new
/// file has a random name and is created only if nothing has that name (never through a link
/// someone left there), with the permissions of the file it replaces from the start.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("policy");
    let tmp = dir.join(format!(".{name}.{}.tmp", crate::keys::random_hex(8)?));
    let old = std::fs::metadata(path).ok().map(|m| m.permissions());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(old.as_ref().map_or(0o666, |p| p.mode() & 0o777));
    }
    let mut f = options.open(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let result = (|| {
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if let Some(permissions) = old {
            std::fs::set_permissions(&tmp, permissions)?;
        }
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("bollard-policy-doc-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_check_and_write_waits_for_another_and_sees_what_it_saved() {
        let path = temp("lock", "v1");
        let (started, wait) = std::sync::mpsc::channel();
        let first = {
            let path = path.clone();
            std::thread::spawn(move || {
                replace_if(
                    &path,
                    |now| {
                        started.send(()).unwrap();
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        now == "v1"
                    },
                    "v2",
                )
            })
        };
        wait.recv().unwrap();
        // Made on "v1" too, but checked only once the first has saved "v2": refused.
        assert!(!replace_if(&path, |now| now == "v1", "v3").unwrap());
        assert!(first.join().unwrap().unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "v2");
        assert!(replace_if(&path, |now| now == "v2", "v3").unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "v3");
    }

    #[test]
    fn an_edit_is_not_written_over_a_file_that_changed_since_it_was_read() {
        let policy = r#"{"upstream": {"token_env": "T"}, "agents": []}"#;
        let path = temp("changed", policy);
        let p = path.to_str().unwrap();
        let (mut doc, was) = read(p).unwrap();
        doc.set("mode", Doc::str("monitor"), None);
        let other = r#"{"upstream": {"token_env": "OTHER"}, "agents": []}"#;
        std::fs::write(&path, other).unwrap();
        let e = write(p, &doc, &was).unwrap_err();
        assert!(e.contains("changed while this command ran"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), other);
        let (mut doc, was) = read(p).unwrap();
        doc.set("mode", Doc::str("monitor"), None);
        write(p, &doc, &was).unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("monitor"));
    }
}
