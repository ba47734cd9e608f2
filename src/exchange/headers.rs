//! Request headers: what the decision reads from them, and the allowlist of what goes upstream.
//!
//! Only the headers named here (and Envoy's own `host` and `x-forwarded-proto`, which it routes
//! on) reach Supabase; every other one is dropped on the way, so a
//! header that some server reads as an instruction (a rewrite, an override, a forwarded
//! identity) never arrives. Headers that ask a server to change the method or the URL are not
//! dropped but refused (400), so that an agent learns its request was not what it seemed.

use crate::decision::{credential_pieces, Request, METHOD_OVERRIDE_HEADERS, MIN_KEY_IN_TARGET};

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

/// Header values, borrowed: one in place, or a list.
pub enum Values<'a> {
    One([&'a str; 1]),
    Many(Vec<&'a str>),
}

impl<'a> Values<'a> {
    pub fn as_slice(&self) -> &[&'a str] {
        match self {
            Values::One(one) => one,
            Values::Many(all) => all,
        }
    }
}

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
    /// Which of `:method` and `:path` were read (bits 1 and 2): a second copy is no one request.
    pseudo: u8,
    /// Names of the conditional headers (`if-match`, `if-none-match`) the request carries, each
    /// once: forwarded, unless the response is rewritten (they would ask about the body as
    /// upstream has it).
    pub conditional: Vec<String>,
}

impl Head {
    /// Every `authorization` value, borrowed, for [`Head::request`]: the one a request
    /// normally has without a copy of the list.
    pub fn authorization_values(&self) -> Values<'_> {
        match self.authorization.as_slice() {
            [one] => Values::One([one.as_str()]),
            all => Values::Many(all.iter().map(String::as_str).collect()),
        }
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
        // Forwarded headers long enough to hold a key: looked at again once the key is known.
        let mut long = Long::default();
        for (i, &(raw, value)) in headers.iter().enumerate() {
            if h.read_one(raw, raw, value) && value.len() >= MIN_KEY_IN_TARGET {
                long.mark(i);
            }
        }
        // The caller's key goes nowhere but in `Authorization`: a forwarded header that carries
        // it too stays behind (`user-agent: bot sbp_...` would hand it to Supabase). Every piece
        // of the credentials that may be a key is looked for, whatever the decision makes of them.
        if long.any() {
            // Most requests present one piece (the key): found once, not again per header.
            let mut pieces = h.authorization.iter().flat_map(|v| credential_pieces(v));
            let (first, more) = (pieces.next(), pieces.next().is_some());
            let carries = |value: &[u8]| {
                first.is_some_and(|k| contains(value, k.as_bytes()))
                    || more
                        && h.authorization.iter().any(|v| credential_pieces(v).any(|k| contains(value, k.as_bytes())))
            };
            for (i, &(name, value)) in headers.iter().enumerate() {
                // Past the first 64, any forwarded header is looked at: its name says which.
                let forwarded = i < 64 || FORWARDED.iter().any(|f| f.eq_ignore_ascii_case(name));
                if long.has(i) && forwarded && carries(value) {
                    // Nor is it echoed back, or written in the record, as the request's id.
                    if name.eq_ignore_ascii_case("x-request-id") {
                        h.request_id = None;
                    }
                    drop_once(&mut h.drop, name);
                }
            }
        }
        h
    }

    /// Reads a header whose name is not in lower case, as the same name in lower case.
    #[cold]
    #[inline(never)]
    fn read_lowered(&mut self, raw: &str, value: &[u8]) -> bool {
        self.read_one(&raw.to_ascii_lowercase(), raw, value)
    }

    /// Reads one header by its lower-case `name` (`raw` as the host has it); true when it is
    /// forwarded upstream.
    #[inline(always)]
    fn read_one(&mut self, name: &str, raw: &str, value: &[u8]) -> bool {
        let h = self;
        match name {
            // A host that hands over two (Envoy never does) sends one of them on: the request
            // is read as having none, a 400, rather than decided on either.
            ":method" if h.pseudo & 1 == 0 => {
                h.pseudo |= 1;
                h.method = text(value);
            }
            ":method" => h.method.clear(),
            ":path" if h.pseudo & 2 == 0 => {
                h.pseudo |= 2;
                h.target = text(value);
            }
            ":path" => h.target.clear(),
            n if n.starts_with(':') => {}
            // Envoy's own: it routes on them (and sets them itself in the shipped configs).
            "host" | "x-forwarded-proto" => {}
            "authorization" => h.authorization.push(text(value)),
            "x-request-id" => {
                h.request_id = clean_request_id(value);
                return true;
            }
            // Copies are joined as Envoy joins them: a server may read either one, so a
            // repeated type is not one media type and a body read for the decision is refused.
            "content-type" => {
                let value = text(value);
                h.content_type = Some(match h.content_type.take() {
                    Some(first) => format!("{first},{value}"),
                    None => value,
                });
                return true;
            }
            "content-encoding" => {
                h.content_encoded |= !String::from_utf8_lossy(value).trim().eq_ignore_ascii_case("identity");
                return true;
            }
            "content-length" => {
                h.content_length = std::str::from_utf8(value).ok().and_then(|v| v.trim().parse().ok());
                return true;
            }
            "if-match" | "if-none-match" => {
                drop_once(&mut h.conditional, raw);
                return true;
            }
            n if FORWARDED.contains(&n) => return true,
            // Envoy hands names over in lower case; a host that keeps the client's case is read
            // the same way, and what is dropped is named as the host has it.
            n if n.bytes().any(|b| b.is_ascii_uppercase()) => return h.read_lowered(raw, value),
            n => {
                if METHOD_OVERRIDE_HEADERS.contains(&n) {
                    h.method_override = true;
                }
                drop_once(&mut h.drop, raw);
            }
        }
        false
    }
}

/// Which headers, by position, to look at again: the first 64 by bit, any later one always.
#[derive(Default)]
struct Long {
    bits: u64,
    beyond: bool,
}

impl Long {
    fn mark(&mut self, i: usize) {
        if i < 64 {
            self.bits |= 1 << i;
        } else {
            self.beyond = true;
        }
    }

    fn any(&self) -> bool {
        self.bits != 0 || self.beyond
    }

    fn has(&self, i: usize) -> bool {
        if i < 64 {
            self.bits & (1 << i) != 0
        } else {
            self.beyond
        }
    }
}

/// Adds a header name to a list of names, unless the list has it already (in any case).
pub(super) fn drop_once(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        names.push(name.to_string());
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else { return true };
    let Some(last) = haystack.len().checked_sub(needle.len()) else { return false };
    (0..=last).any(|i| haystack[i] == first && haystack[i + 1..i + needle.len()] == *rest)
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
