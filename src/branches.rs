//! Which project a branch belongs to. Branch endpoints (`/v1/branches/{branch_id_or_ref}`) do not
//! name their parent project, and a branch's own ref can stand in `/v1/projects/{ref}`; the
//! filter learns the parent by listing the branches of the agent's projects upstream, and keeps
//! what it learned for a bounded time.

use std::collections::HashMap;

use serde::Deserialize;

/// How long a listing counts, in milliseconds.
pub const TTL_MS: u64 = 60_000;
/// How long a listing that failed counts (an error, Supabase's own rate limit, a body that is not
/// a list): its project is taken as listed with no branch learned, so a caller repeating a
/// refused call does not turn each try into listings upstream with the real token.
pub const FAILED_TTL_MS: u64 = 10_000;
/// Entries kept at most; past it the cache starts over (it only ever costs a new listing).
pub const MAX_ENTRIES: usize = 10_000;

#[derive(Deserialize)]
struct Branch {
    id: String,
    project_ref: String,
    parent_project_ref: String,
}

/// What is known of a branch id or ref.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Its parent project.
    Parent(String),
    /// Not a branch of any of these projects (all listed within the TTL).
    NotAmong,
    /// These projects must be listed first.
    List(Vec<String>),
}

#[derive(Default)]
pub struct BranchCache {
    /// branch id or branch ref → (parent ref, expiry).
    parents: HashMap<String, (String, u64)>,
    /// project ref → expiry of its last listing.
    listed: HashMap<String, u64>,
}

impl BranchCache {
    /// Looks up `key` among the branches of `projects` at `now_ms`.
    pub fn lookup(&self, key: &str, projects: &[String], now_ms: u64) -> Lookup {
        if let Some((parent, until)) = self.parents.get(key) {
            if *until > now_ms && projects.contains(parent) {
                return Lookup::Parent(parent.clone());
            }
        }
        let stale: Vec<String> = projects
            .iter()
            .filter(|p| self.listed.get(p.as_str()).is_none_or(|&until| until <= now_ms))
            .cloned()
            .collect();
        if stale.is_empty() {
            Lookup::NotAmong
        } else {
            Lookup::List(stale)
        }
    }

    /// Records the answer of `GET /v1/projects/{project}/branches` (`status` 0 when none came).
    /// An answer that is not 200 with the expected list teaches no branch, so a branch stays
    /// unresolved (and is refused), and counts as the project's listing for [`FAILED_TTL_MS`].
    /// True when the list was read.
    pub fn record_listing(&mut self, project: &str, status: u16, body: &[u8], now_ms: u64) -> bool {
        let branches = if status == 200 { serde_json::from_slice::<Vec<Branch>>(body).ok() } else { None };
        let learned = branches.as_ref().map_or(0, Vec::len);
        if self.parents.len() + 2 * learned > MAX_ENTRIES || self.listed.len() >= MAX_ENTRIES {
            self.parents.clear();
            self.listed.clear();
        }
        let Some(branches) = branches else {
            self.listed.insert(project.to_string(), now_ms + FAILED_TTL_MS);
            return false;
        };
        let until = now_ms + TTL_MS;
        for b in branches.iter().filter(|b| b.parent_project_ref == project) {
            self.parents.insert(b.id.clone(), (b.parent_project_ref.clone(), until));
            self.parents.insert(b.project_ref.clone(), (b.parent_project_ref.clone(), until));
        }
        self.listed.insert(project.to_string(), until);
        true
    }
}
