//! Request headers: what the decision reads from them, and the allowlist of what goes upstream.
//!
//! Only the headers named here (and Envoy's own `host` and `x-forwarded-proto`, which it routes
//! on) reach Supabase; every other one is dropped on the way, so a
//! header that some server reads as an instruction (a rewrite, an override, a forwarded
//! identity) never arrives. Headers that ask a server to change the method or the URL are not
//! dropped but refused (400), so that an agent learns its request was not what it seemed.

use crate::decision::{bearer_key, Request, METHOD_OVERRIDE_HEADERS, MIN_KEY_IN_TARGET};

/// Forwarded as they came: content negotiation, the body's framing and type, the client's name,
/// the request id, and what Supabase's own clients send.
pub const FORWARDED: [&str; 13] = [
    "accept",
    "accept-encoding",
    "accept-language",
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "user-agent",
    "x-request-id",
    "x-client-info",
    "idempotency-key",
    "if-match",
    "if-none-match",
];

/// What the decision reads from the request headers, owned, so that a decision that waits for
/// the body or a lookup can be made again from the same inputs.
#[derive(Debug, Default, Clone)]
pub struct Head {
    pub method: String,
    pub target: String,
    pub authorization: Vec<String>,
    pub request_id: Option<String>,
    pub method_override: bool,
    pub content_type: Option<String>,
    pub content_length: Option<usize>,
    /// A `content-encoding` other than `identity`: the body is not the bytes it stands for.
    pub content_encoded: bool,
    /// Names of the headers that must not go upstream (each once).
    pub drop: Vec<String>,
}

impl Head {
    /// Every `authorization` value, borrowed, for [`Head::request`].
    pub fn authorization_values(&self) -> Vec<&str> {
        self.authorization.iter().map(String::as_str).collect()
    }

    /// What the decision reads, at `now_ms`.
    pub fn request<'a>(&'a self, authorization: &'a [&'a str], now_ms: u64) -> Request<'a> {
        Request {
            method: &self.method,
            target: &self.target,
            authorization,
            method_override: self.method_override,
            now_ms,
        }
    }

    /// Reads a header map once, in order, with every copy of a repeated header.
    pub fn read(headers: &[(&str, &[u8])]) -> Head {
        let mut h = Head::default();
        for &(raw, value) in headers {
            // Envoy hands names over in lower case; a host that keeps the client's case is read
            // the same way, and what is dropped is named as the host has it.
            let lower;
            let name = if raw.bytes().any(|b| b.is_ascii_uppercase()) {
                lower = raw.to_ascii_lowercase();
                lower.as_str()
            } else {
                raw
            };
            match name {
                ":method" => h.method = text(value),
                ":path" => h.target = text(value),
                n if n.starts_with(':') => {}
                // Envoy's own: it routes on them (and sets them itself in the shipped configs).
                "host" | "x-forwarded-proto" => {}
                "authorization" => h.authorization.push(text(value)),
                "x-request-id" => h.request_id = clean_request_id(value),
                // Copies are joined as Envoy joins them: a server may read either one, so a
                // repeated type is not one media type and a body read for the decision is refused.
                "content-type" => {
                    let value = text(value);
                    h.content_type = Some(match h.content_type.take() {
                        Some(first) => format!("{first},{value}"),
                        None => value,
                    });
                }
                "content-encoding" => {
                    h.content_encoded |= !String::from_utf8_lossy(value).trim().eq_ignore_ascii_case("identity")
                }
                "content-length" => {
                    h.content_length = std::str::from_utf8(value).ok().and_then(|v| v.trim().parse().ok())
                }
                n if FORWARDED.contains(&n) => {}
                n => {
                    if METHOD_OVERRIDE_HEADERS.contains(&n) {
                        h.method_override = true;
                    }
                    drop_once(&mut h.drop, raw);
                }
            }
        }
        // The caller's key goes nowhere but in `Authorization`: a forwarded header that carries
        // it too stays behind (`user-agent: bot sbp_...` would hand it to Supabase).
        if let [one] = h.authorization.as_slice() {
            if let Some(key) = key_in_header(one) {
                for &(name, value) in headers {
                    let forwarded = FORWARDED.iter().any(|f| f.eq_ignore_ascii_case(name));
                    if forwarded && contains(value, key.as_bytes()) {
                        drop_once(&mut h.drop, name);
                    }
                }
            }
        }
        h
    }
}

fn drop_once(drop: &mut Vec<String>, name: &str) {
    if !drop.iter().any(|d| d == name) {
        drop.push(name.to_string());
    }
}

/// The key an `authorization` value presents, when it is long enough to be looked for elsewhere.
fn key_in_header(authorization: &str) -> Option<&str> {
    bearer_key(&[authorization]).ok().filter(|k| k.len() >= MIN_KEY_IN_TARGET)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn text(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(value).into_owned(),
    }
}

/// A request id safe to echo: Envoy's `x-request-id`, when it is plain.
fn clean_request_id(v: &[u8]) -> Option<String> {
    let ok = !v.is_empty() && v.len() <= 64 && v.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-');
    ok.then(|| text(v))
}

/// Reads a header map as a proxy-wasm host hands it over, without copying: a little-endian `u32`
/// count, then a (name length, value length) pair of `u32`s for each header, then each name and
/// value followed by a NUL byte. `None` when the buffer is not such a map, or a name is not
/// UTF-8: the request is then refused, never guessed at.
pub fn parse_map(buf: &[u8]) -> Option<Vec<(&str, &[u8])>> {
    let word = |at: usize| -> Option<usize> {
        let b = buf.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    if buf.is_empty() {
        return Some(Vec::new());
    }
    let count = word(0)?;
    let mut data = count.checked_mul(8)?.checked_add(4)?;
    if data > buf.len() {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (name_len, value_len) = (word(4 + 8 * i)?, word(8 + 8 * i)?);
        let name = buf.get(data..data.checked_add(name_len)?)?;
        data += name_len;
        if buf.get(data) != Some(&0) {
            return None;
        }
        data += 1;
        let value = buf.get(data..data.checked_add(value_len)?)?;
        data += value_len;
        if buf.get(data) != Some(&0) {
            return None;
        }
        data += 1;
        out.push((std::str::from_utf8(name).ok()?, value));
    }
    Some(out)
}
