//! The policy file as a document: JSON that keeps its keys in the order they were written, so a
//! change made in the console leaves the rest of the file as the operator wrote it (fields this
//! version does not edit, such as `rate_limit` or `sql`, included).

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value whose objects keep their order.
#[derive(Clone, Debug, PartialEq)]
pub enum Doc {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Doc>),
    Object(Vec<(String, Doc)>),
}

impl Doc {
    pub fn parse(text: &str) -> Result<Doc, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    pub fn get(&self, key: &str) -> Option<&Doc> {
        match self {
            Doc::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Doc> {
        match self {
            Doc::Object(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets `key`, in place when it exists, at the end otherwise.
    pub fn set(&mut self, key: &str, value: Doc) {
        if let Doc::Object(m) = self {
            match m.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => m.push((key.to_string(), value)),
            }
        }
    }

    pub fn remove(&mut self, key: &str) {
        if let Doc::Object(m) = self {
            m.retain(|(k, _)| k != key);
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Doc::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Doc::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Doc]> {
        match self {
            Doc::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Doc>> {
        match self {
            Doc::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn strings(list: &[String]) -> Doc {
        Doc::Array(list.iter().map(|s| Doc::String(s.clone())).collect())
    }

    fn is_scalar(&self) -> bool {
        !matches!(self, Doc::Array(_) | Doc::Object(_))
    }

    /// The text the console writes: two-space indents, with arrays and objects that hold only
    /// scalars on one line (`"projects": ["abcdefghijklmnopqrst"]`), as the examples are written.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, indent: usize) {
        match self {
            Doc::Null => out.push_str("null"),
            Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Doc::Number(n) => out.push_str(&n.to_string()),
            Doc::String(s) => out.push_str(&quote(s)),
            Doc::Array(a) if a.is_empty() => out.push_str("[]"),
            Doc::Object(m) if m.is_empty() => out.push_str("{}"),
            Doc::Array(a) if a.iter().all(Doc::is_scalar) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write(out, indent);
                }
                out.push(']');
            }
            Doc::Object(m) if m.iter().all(|(_, v)| v.is_scalar()) && indent > 0 => {
                out.push_str("{ ");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&quote(k));
                    out.push_str(": ");
                    v.write(out, indent);
                }
                out.push_str(" }");
            }
            Doc::Array(a) => {
                out.push_str("[\n");
                for (i, v) in a.iter().enumerate() {
                    out.push_str(&"  ".repeat(indent + 1));
                    v.write(out, indent + 1);
                    out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
                }
                out.push_str(&"  ".repeat(indent));
                out.push(']');
            }
            Doc::Object(m) => {
                out.push_str("{\n");
                for (i, (k, v)) in m.iter().enumerate() {
                    out.push_str(&"  ".repeat(indent + 1));
                    out.push_str(&quote(k));
                    out.push_str(": ");
                    v.write(out, indent + 1);
                    out.push_str(if i + 1 < m.len() { ",\n" } else { "\n" });
                }
                out.push_str(&"  ".repeat(indent));
                out.push('}');
            }
        }
    }

    /// The document as serde_json's value (for answers to the browser).
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Doc::Null => serde_json::Value::Null,
            Doc::Bool(b) => serde_json::Value::Bool(*b),
            Doc::Number(n) => serde_json::Value::Number(n.clone()),
            Doc::String(s) => serde_json::Value::String(s.clone()),
            Doc::Array(a) => serde_json::Value::Array(a.iter().map(Doc::to_value).collect()),
            Doc::Object(m) => serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_value())).collect()),
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

impl<'de> Deserialize<'de> for Doc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
        struct Vis;
        impl<'de> Visitor<'de> for Vis {
            type Value = Doc;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Doc, E> {
                Ok(Doc::Null)
            }
            fn visit_none<E>(self) -> Result<Doc, E> {
                Ok(Doc::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Doc, E> {
                Ok(Doc::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Doc, E> {
                Ok(Doc::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Doc, E> {
                Ok(Doc::Number(n.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Doc, E> {
                serde_json::Number::from_f64(n).map(Doc::Number).ok_or_else(|| E::custom("not a finite number"))
            }
            fn visit_str<E>(self, s: &str) -> Result<Doc, E> {
                Ok(Doc::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Doc, E> {
                Ok(Doc::String(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Doc, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(Doc::Array(out))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Doc, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Doc>()? {
                    out.push((k, v));
                }
                Ok(Doc::Object(out))
            }
        }
        d.deserialize_any(Vis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_order_and_writes_the_examples_style() {
        let text = "{\"mode\":\"enforce\",\"upstream\":{\"token_env\":\"T\"},\"agents\":[{\"id\":\"a\",\"projects\":[\"x\",\"y\"],\"access\":{\"storage\":\"read\",\"database\":\"full\"},\"rate_limit\":{\"requests_per_minute\":5,\"endpoints\":{\"run_sql\":1}}}]}";
        let doc = Doc::parse(text).unwrap();
        assert_eq!(
            doc.pretty(),
            "{\n  \"mode\": \"enforce\",\n  \"upstream\": { \"token_env\": \"T\" },\n  \"agents\": [\n    {\n      \"id\": \"a\",\n      \"projects\": [\"x\", \"y\"],\n      \"access\": { \"storage\": \"read\", \"database\": \"full\" },\n      \"rate_limit\": {\n        \"requests_per_minute\": 5,\n        \"endpoints\": { \"run_sql\": 1 }\n      }\n    }\n  ]\n}\n"
        );
        assert_eq!(Doc::parse(&doc.pretty()).unwrap(), doc);
    }

    #[test]
    fn every_example_policy_reads_back_the_same() {
        for entry in std::fs::read_dir("examples").unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                let doc = Doc::parse(&text).unwrap();
                let before: serde_json::Value = serde_json::from_str(&text).unwrap();
                let after: serde_json::Value = serde_json::from_str(&doc.pretty()).unwrap();
                assert_eq!(before, after, "{}", path.display());
            }
        }
    }
}
