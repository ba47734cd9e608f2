//! Which organization a project belongs to. An agent whose policy says
//! `projects: {"organizations": ["acme"]}` may act on the projects of `acme`; a request names a
//! project ref only, so the gateway asks Supabase (`GET /v1/projects/{ref}` with the real token)
//! and keeps the answer for a bounded time. Pure: the caller brings the clock and the answers.

use std::collections::HashMap;

use serde::Deserialize;

/// How long an answer counts, in milliseconds.
pub const TTL_MS: u64 = 60_000;
/// How long an answer that placed the project nowhere counts (an error, Supabase's own rate
/// limit, a body that is not the project): long enough that a caller repeating a refused call
/// does not turn each try into a call upstream with the real token, short enough that a
/// passing failure refuses a project of the organization only briefly.
pub const FAILED_TTL_MS: u64 = 10_000;
/// Entries kept at most; past it the cache starts over (it only ever costs a new lookup).
pub const MAX_ENTRIES: usize = 10_000;

/// The fields of `GET /v1/projects/{ref}` this reads (Supabase's `V1ProjectWithDatabaseResponse`).
#[derive(Deserialize)]
struct Project {
    #[serde(rename = "ref")]
    project_ref: String,
    #[serde(default)]
    organization_slug: Option<String>,
    /// Deprecated by Supabase in favour of `organization_slug`, which it equals.
    #[serde(default)]
    organization_id: Option<String>,
}

/// What is known of a project's organization.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Its organization's slug.
    Organization(String),
    /// Asked within [`FAILED_TTL_MS`], and the answer placed it nowhere: refused without asking.
    Nowhere,
    /// Unknown or expired: ask `GET /v1/projects/{ref}` upstream first.
    Ask,
}

#[derive(Default)]
pub struct ProjectOrganizationCache {
    /// project ref → (organization slug, or none learned; expiry).
    entries: HashMap<String, (Option<String>, u64)>,
}

impl ProjectOrganizationCache {
    /// The organization of `project_ref` at `now_ms`, if learned within the TTL.
    pub fn lookup(&self, project_ref: &str, now_ms: u64) -> Lookup {
        match self.entries.get(project_ref) {
            Some((Some(org), until)) if *until > now_ms => Lookup::Organization(org.clone()),
            Some((None, until)) if *until > now_ms => Lookup::Nowhere,
            _ => Lookup::Ask,
        }
    }

    /// Records the answer to `GET /v1/projects/{project_ref}` (`status` 0 when none came). Returns
    /// the organization learned, kept for [`TTL_MS`]. Any other answer (not 200, a body that is
    /// not the expected project, or names another ref) places the project nowhere for
    /// [`FAILED_TTL_MS`], so the request is refused and the next one is too, without asking again.
    pub fn record(&mut self, project_ref: &str, status: u16, body: &[u8], now_ms: u64) -> Option<String> {
        let org = (status == 200).then(|| organization_of(project_ref, body)).flatten();
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        let until = now_ms + if org.is_some() { TTL_MS } else { FAILED_TTL_MS };
        self.entries.insert(project_ref.to_string(), (org.clone(), until));
        org
    }
}

/// The organization a `GET /v1/projects/{project_ref}` body names: the slug, or the deprecated id
/// Supabase sets to the same slug; a body whose two disagree, or that is another project, places
/// it nowhere.
fn organization_of(project_ref: &str, body: &[u8]) -> Option<String> {
    let project: Project = serde_json::from_slice(body).ok()?;
    if project.project_ref != project_ref {
        return None;
    }
    match (project.organization_slug.filter(|s| !s.is_empty()), project.organization_id.filter(|s| !s.is_empty())) {
        (Some(slug), Some(id)) if slug != id => None,
        (Some(slug), _) => Some(slug),
        (None, Some(id)) => Some(id),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "abcdefghijklmnopqrst";

    #[test]
    fn learns_caches_and_expires() {
        let mut c = ProjectOrganizationCache::default();
        assert_eq!(c.lookup(P, 0), Lookup::Ask);
        let body = br#"{"id": "abcdefghijklmnopqrst", "ref": "abcdefghijklmnopqrst", "organization_id": "acme", "organization_slug": "acme", "name": "prod"}"#;
        assert_eq!(c.record(P, 200, body, 1_000), Some("acme".to_string()));
        assert_eq!(c.lookup(P, 1_000 + TTL_MS - 1), Lookup::Organization("acme".into()));
        assert_eq!(c.lookup(P, 1_000 + TTL_MS), Lookup::Ask);
    }

    #[test]
    fn records_nothing_it_cannot_trust() {
        let mut c = ProjectOrganizationCache::default();
        let other = br#"{"ref": "zyxwvutsrqponmlkjihg", "organization_slug": "acme"}"#;
        for (status, body) in [
            (404, &br#"{"message": "not found"}"#[..]),
            (200, b"not json"),
            (200, other),
            (200, br#"{"ref": "abcdefghijklmnopqrst"}"#),
            // Its two names for the organization disagree.
            (200, br#"{"ref": "abcdefghijklmnopqrst", "organization_slug": "other", "organization_id": "acme"}"#),
        ] {
            let mut c = ProjectOrganizationCache::default();
            assert_eq!(c.record(P, status, body, 0), None);
            // Not asked again at once: a repeated call would ask upstream each time.
            assert_eq!(c.lookup(P, 0), Lookup::Nowhere);
            assert_eq!(c.lookup(P, FAILED_TTL_MS - 1), Lookup::Nowhere);
            assert_eq!(c.lookup(P, FAILED_TTL_MS), Lookup::Ask);
        }
        // The deprecated field alone still names the organization.
        assert_eq!(
            c.record(P, 200, br#"{"ref": "abcdefghijklmnopqrst", "organization_id": "acme"}"#, 0),
            Some("acme".into())
        );
    }
}
