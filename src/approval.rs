//! A person's approval of one exact call: its id, and the count of its uses.
//!
//! The id binds the agent, the method, the canonical target (path and query, as authorized), the
//! SHA-256 of the body and the body's content type, so an approval covers that call and nothing
//! else: the same bytes sent as another type are read otherwise upstream. Uses are counted
//! in state the host shares across worker threads, like rate limits: this module is the
//! arithmetic, the host does the compare-and-swap.

use sha2::{Digest, Sha256};

/// How long an agent is told it may take to come back with the approved call: the `<time>` of
/// "retry the same call before <time>" in an `approval_required` refusal.
pub const RETRY_WINDOW_MS: u64 = 60 * 60 * 1000;

/// The prefix of every approval id.
pub const PREFIX: &str = "apr_";

/// The deterministic id of a call: `apr_` and 24 hex digits (96 bits of a SHA-256 over the
/// length-prefixed fields, so no two different calls share their encoding). A call without a
/// `content-type` has the id it had before the type was bound; one with it, a field more: the
/// type's name in lower case, its parameters as sent ([`content_type_key`]).
pub fn approval_id(agent: &str, method: &str, target: &str, content_type: Option<&str>, body: &[u8]) -> String {
    let body_sha: [u8; 32] = Sha256::digest(body).into();
    let mut h = Sha256::new();
    h.update(b"bollard approval v1\n");
    for field in [agent.as_bytes(), method.as_bytes(), target.as_bytes(), &body_sha[..]] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    if let Some(t) = content_type.map(content_type_key) {
        h.update((t.len() as u64).to_be_bytes());
        h.update(t.as_bytes());
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("{PREFIX}{hex}")
}

/// A `content-type` as an approval binds it: the media type's name is case-insensitive (RFC 9110),
/// so it is lowered and trimmed; its parameters stay as sent (a `boundary` is case-sensitive).
pub fn content_type_key(value: &str) -> String {
    let (name, parameters) = value.split_once(';').map_or((value, None), |(n, p)| (n, Some(p)));
    let mut key = name.trim().to_ascii_lowercase();
    if let Some(p) = parameters {
        key.push(';');
        key.push_str(p);
    }
    key
}

/// Whether `s` has the shape of an approval id.
pub fn is_approval_id(s: &str) -> bool {
    s.strip_prefix(PREFIX)
        .is_some_and(|h| h.len() == 24 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// The shared-data key counting the uses of one approval grant.
pub fn uses_key(agent: &str, grant_id: &str) -> String {
    format!("bollard.approval.{agent}.{grant_id}")
}

/// An approval grant's uses, as stored in shared data (12 bytes, little-endian): the grant's
/// `not_after`, so a grant written again under the same id with a new end starts from zero,
/// and the uses taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uses {
    pub not_after_ms: u64,
    pub count: u32,
}

impl Uses {
    pub fn encode(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..8].copy_from_slice(&self.not_after_ms.to_le_bytes());
        out[8..].copy_from_slice(&self.count.to_le_bytes());
        out
    }

    /// `None` for anything that is not 12 bytes: no use taken yet.
    pub fn decode(bytes: &[u8]) -> Option<Uses> {
        let not_after_ms = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
        let count = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?);
        (bytes.len() == 12).then_some(Uses { not_after_ms, count })
    }
}

/// What the host must take before an approved call is forwarded: one use of `key`, of `uses`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseCheck {
    /// The shared-data key ([`uses_key`]).
    pub key: String,
    /// How many uses the grant allows.
    pub uses: u32,
    /// The grant's end, stored with the count.
    pub not_after_ms: u64,
}

/// The outcome of taking one use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UseTake {
    pub allowed: bool,
    /// Uses taken, this one included when allowed.
    pub used: u32,
    /// What to store with compare-and-swap (unchanged when refused).
    pub next: Uses,
}

/// Takes one use from a grant whose shared value reads `current`.
pub fn take_use(check: &UseCheck, current: Option<Uses>) -> UseTake {
    let used = match current {
        Some(u) if u.not_after_ms == check.not_after_ms => u.count,
        _ => 0,
    };
    if used >= check.uses {
        return UseTake { allowed: false, used, next: Uses { not_after_ms: check.not_after_ms, count: used } };
    }
    let next = Uses { not_after_ms: check.not_after_ms, count: used + 1 };
    UseTake { allowed: true, used: used + 1, next }
}
