//! The decision: who is calling, which endpoint, where, and whether it may pass.
//!
//! Evaluated in this order (the docs' "How a request is decided" follows it):
//!
//! 1. Credentials: exactly one `Authorization: Bearer <key>` whose SHA-256 is an agent's, or 401;
//!    a key past its `not_after` is a 401 `key_expired`.
//! 2. Request: a target that does not carry the agent's key, a standard upper-case method, no
//!    method-override header, a canonical target with no credential in its query, or 400.
//! 3. Catalog: the method and path are an endpoint, or 403 `unknown_endpoint`.
//! 4. Parameters: each path parameter in the format the spec gives it (a `{ref}` is a project
//!    ref, ids are UUIDs, ...), and the query only the parameters the operation declares, each
//!    given once (lists excepted) with a value of its kind, and each it requires given, or 400
//!    (`invalid_parameter`, `unknown_parameter`).
//! 5. `deny`: an endpoint the agent's deny list names is refused, whatever else grants it.
//! 6. Scope: the `{ref}` (or, on an account-level path, the project its query names) is one of
//!    the agent's projects; an account-level call that would reach every project (no
//!    `project_ref`) or a project its request never names (`get_snippet`) needs
//!    `projects: ["*"]`; the `{slug}` (or the organization its query names) is one of its
//!    organizations, and a branch endpoint needs `projects: ["*"]`, the branch ref among its
//!    projects, or its parent project among them
//!    (always the parent for a call that reaches it: `merge_branch`, `diff_branch`). For
//!    `projects: {"organizations": [...]}` the `{ref}`'s organization is learned from Supabase
//!    (`organization_lookup`, finished by `apply_project_organization`); unknown is refused.
//! 7. `allow`: an endpoint the allow list names (by id, or all its permissions) is allowed.
//! 8. `access`: `full` allows the area's endpoints, `read` its reads; anything else is denied.
//!    An elevation grant in force adds its `access` and `allow` to the agent's for 7 and 8.
//! 9. `approve`: an allowed call of an endpoint the agent's approve list names passes only with
//!    an approval grant in force for exactly this call (agent, method, target, body SHA-256),
//!    one use at a time; otherwise 403 `approval_required` with the call's `approval_id`.
//! 10. Body, for an allowed request whose decision depends on it (`Decision::apply_body`):
//!     `run_sql` with read access needs `"read_only": true`; `create_project` names one of the
//!     agent's organizations; the SQL of every endpoint whose body carries SQL (its behaviour's
//!     `sql`) is judged statement by statement by the agent's SQL rules (403 `sql_not_allowed`,
//!     `sql_unparsed`).
//!
//! In monitor mode an identified agent's denied request (steps 5 to 9) is forwarded with
//! `enforced: false`; 401, 400 and a request outside the catalog (403 `unknown_endpoint`) are
//! always enforced: only what the spec declares goes upstream.

use std::borrow::Cow;

use crate::approval::{approval_id, uses_key, UseCheck, UseTake};
use crate::catalog::{query, Area, Behaviour, BodyRule, Catalog, Class, Endpoint, Method, NoMatch, Place};
use crate::guards::body::{self, BodyCheck, BodyError};
use crate::policy::{Agent, Grant, GrantKind, Level, Mode, Policy, Scope};
use crate::sql::{Judgement, SqlRefusal};
use crate::target::{check_param, credential_in_query, is_project_ref, RequestTarget, TargetError};

/// What the decision reads from a request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `:method`, exactly as received.
    pub method: &'a str,
    /// `:path`, exactly as received (path and query).
    pub target: &'a str,
    /// Every value of every `authorization` header, in order.
    pub authorization: &'a [&'a str],
    /// Whether the request carries a header that asks a server to change its method or URL
    /// ([`METHOD_OVERRIDE_HEADERS`]).
    pub method_override: bool,
    /// The host's time, in milliseconds since the Unix epoch: keys and grants are checked against it.
    pub now_ms: u64,
}

/// Headers that ask a server to run another method, or serve another URL, than the one
/// authorized. A request carrying one is refused (400 `method_override`).
pub const METHOD_OVERRIDE_HEADERS: [&str; 7] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-forwarded-method",
    "x-original-method",
    "x-original-url",
    "x-rewrite-url",
];

/// The methods HTTP defines. Anything else (lower case, extension methods) is refused with 400;
/// a standard method the catalog does not list for the path is a 403 `unknown_endpoint`.
const STANDARD_METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"];

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
        }
    }
}

/// Why: the short machine code in audit records and refusal bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Allowed because the area's level is `full`.
    AccessFull,
    /// Allowed because the area's level is `read` and the endpoint reads.
    AccessRead,
    /// Allowed by an `allow` entry.
    AllowList,
    MissingKey,
    UnknownKey,
    AmbiguousCredentials,
    /// One of an agent's keys, past its `not_after` (milliseconds since the Unix epoch).
    KeyExpired(u64),
    /// An allowed call the agent's `approve` list holds for a person's approval, with no
    /// approval in force for it (or one whose uses are taken).
    ApprovalRequired,
    /// Allowed: a person approved exactly this call.
    Approved,
    MalformedTarget(TargetError),
    /// Not one of HTTP's standard methods, in upper case.
    InvalidMethod,
    /// A method-override header.
    MethodOverride,
    /// A query parameter named like a credential.
    CredentialInQuery,
    /// The agent's key in the request target as well as in `Authorization`.
    KeyInTarget,
    /// A path or query parameter that is not of its kind: (parameter, what it must be).
    InvalidParameter(String, String),
    /// A query parameter the operation does not declare in Supabase's spec.
    UnknownParameter(String),
    UnknownEndpoint,
    DeniedByPolicy,
    ProjectOutOfScope,
    OrganizationOutOfScope,
    BranchOutOfScope,
    /// The area's level does not reach this endpoint.
    PermissionDenied,
    /// `run_sql` with read access, and a body that does not say `"read_only": true`.
    ReadOnlyRequired,
    /// A body the decision needs that is not one plain JSON object.
    InvalidBody(&'static str),
    /// A body the decision needs that is larger than the policy's limit.
    BodyTooLarge(usize),
    /// Allowed: `run_sql` with read access and `"read_only": true`.
    ReadOnlySql,
    /// A statement of the body's SQL needs a class the agent lacks, names a denied schema or
    /// calls a denied function (`Decision::sql` says which).
    SqlNotAllowed,
    /// The body's SQL could not be parsed, and the agent does not have `allow_unparsed`.
    SqlUnparsed,
}

impl Reason {
    pub fn code(&self) -> &'static str {
        match self {
            Reason::AccessFull => "access_full",
            Reason::AccessRead => "access_read",
            Reason::AllowList => "allow_list",
            Reason::MissingKey => "missing_key",
            Reason::UnknownKey => "unknown_key",
            Reason::AmbiguousCredentials => "ambiguous_credentials",
            Reason::KeyExpired(_) => "key_expired",
            Reason::ApprovalRequired => "approval_required",
            Reason::Approved => "approved",
            Reason::MalformedTarget(_) => "malformed_target",
            Reason::InvalidMethod => "invalid_method",
            Reason::MethodOverride => "method_override",
            Reason::CredentialInQuery => "credential_in_query",
            Reason::KeyInTarget => "key_in_target",
            Reason::InvalidParameter(..) => "invalid_parameter",
            Reason::UnknownParameter(_) => "unknown_parameter",
            Reason::UnknownEndpoint => "unknown_endpoint",
            Reason::DeniedByPolicy => "denied_by_policy",
            Reason::ProjectOutOfScope => "project_out_of_scope",
            Reason::OrganizationOutOfScope => "organization_out_of_scope",
            Reason::BranchOutOfScope => "branch_out_of_scope",
            Reason::PermissionDenied => "permission_denied",
            Reason::ReadOnlyRequired => "read_only_required",
            Reason::InvalidBody(_) => "invalid_body",
            Reason::BodyTooLarge(_) => "body_too_large",
            Reason::ReadOnlySql => "read_only_sql",
            Reason::SqlNotAllowed => "sql_not_allowed",
            Reason::SqlUnparsed => "sql_unparsed",
        }
    }

    /// A few words for audit summaries.
    pub fn describe(&self) -> &'static str {
        match self {
            Reason::AccessFull => "full access",
            Reason::AccessRead => "read access",
            Reason::AllowList => "allow list",
            Reason::MissingKey => "no agent key",
            Reason::UnknownKey => "unknown agent key",
            Reason::AmbiguousCredentials => "ambiguous credentials",
            Reason::KeyExpired(_) => "expired agent key",
            Reason::ApprovalRequired => "waits for a person's approval",
            Reason::Approved => "approved by a person",
            Reason::MalformedTarget(_) => "malformed request target",
            Reason::InvalidMethod => "non-standard method",
            Reason::MethodOverride => "method-override header",
            Reason::CredentialInQuery => "credential in the query string",
            Reason::KeyInTarget => "agent key in the request target",
            Reason::InvalidParameter(..) => "invalid parameter",
            Reason::UnknownParameter(_) => "undeclared query parameter",
            Reason::UnknownEndpoint => "not in the catalog",
            Reason::DeniedByPolicy => "on its deny list",
            Reason::ProjectOutOfScope => "project outside its projects",
            Reason::OrganizationOutOfScope => "organization outside its organizations",
            Reason::BranchOutOfScope => "branch's project cannot be checked",
            Reason::PermissionDenied => "insufficient access",
            Reason::ReadOnlyRequired => "SQL not marked read_only",
            Reason::InvalidBody(_) => "body is not plain JSON",
            Reason::BodyTooLarge(_) => "body over the limit",
            Reason::ReadOnlySql => "read-only SQL",
            Reason::SqlNotAllowed => "SQL not allowed",
            Reason::SqlUnparsed => "SQL the gateway could not parse",
        }
    }

    /// The status a refusal for this reason carries.
    pub fn status(&self) -> u16 {
        match self {
            Reason::AccessFull | Reason::AccessRead | Reason::AllowList | Reason::ReadOnlySql | Reason::Approved => 200,
            Reason::BodyTooLarge(_) => 413,
            Reason::InvalidBody(_) => 400,
            Reason::MissingKey | Reason::UnknownKey | Reason::AmbiguousCredentials | Reason::KeyExpired(_) => 401,
            Reason::MalformedTarget(_)
            | Reason::InvalidMethod
            | Reason::MethodOverride
            | Reason::CredentialInQuery
            | Reason::KeyInTarget
            | Reason::InvalidParameter(..)
            | Reason::UnknownParameter(_) => 400,
            _ => 403,
        }
    }
}

/// Where the request acts: the project, organization or branch its path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location<'a> {
    Account,
    Project(&'a str),
    /// Borrowed from the path, or decoded from the query (`organization_slug=`).
    Organization(Cow<'a, str>),
    Branch(&'a str),
}

impl Location<'_> {
    /// The organization the request names, if it names one.
    pub fn organization(&self) -> Option<&str> {
        match self {
            Location::Organization(slug) => Some(slug),
            _ => None,
        }
    }
}

/// A call the agent's `approve` list names.
#[derive(Debug, Clone, Default)]
pub struct Approval<'p> {
    /// The call's `approval_id`; `None` until the body has been read.
    pub id: Option<String>,
    /// The approval grant for this call (in force), when there is one.
    pub grant: Option<&'p Grant>,
    /// The use the host must take before forwarding; `None` once taken (or when refused).
    pub take: Option<UseCheck>,
    /// Uses taken, this one included, once taken.
    pub used: Option<u32>,
    /// The grant's uses were all taken already.
    pub used_up: bool,
}

impl Approval<'_> {
    /// Who approved the call, when a grant approves it.
    pub fn approved_by(&self) -> Option<&str> {
        match self.grant.map(|g| &g.kind) {
            Some(GrantKind::Approval { approved_by, .. }) => Some(approved_by),
            _ => None,
        }
    }

    /// How many uses the approving grant allows.
    pub fn uses(&self) -> Option<u32> {
        match self.grant.map(|g| &g.kind) {
            Some(GrantKind::Approval { uses, .. }) => Some(*uses),
            _ => None,
        }
    }
}

/// The outcome for one request.
#[derive(Debug)]
pub struct Decision<'p, 'a> {
    pub verdict: Verdict,
    pub reason: Reason,
    /// Whether the verdict is applied (false only for monitor mode's forwarded denials).
    pub enforced: bool,
    pub agent: Option<&'p Agent>,
    pub endpoint: Option<&'static Endpoint>,
    pub location: Location<'a>,
    /// The path without the query, when the target was canonical.
    pub path: Option<&'a str>,
    /// The matched endpoint's catalog index.
    pub index: Option<usize>,
    /// What the matched endpoint needs beyond the general rules (from the catalog).
    pub behaviour: Behaviour,
    /// The agent's level for the endpoint's area, when both are known.
    pub level: Option<Level>,
    /// What the decision still needs from the request body; `None` when it is final.
    pub body_check: Option<BodyCheck>,
    /// The organization a body named (`create_project`).
    pub body_organization: Option<String>,
    /// A branch id or ref whose parent project must be one of the agent's before this is final.
    pub branch_lookup: Option<&'a str>,
    /// A project ref whose organization must be one of the agent's `projects.organizations`
    /// before this is final (learned upstream with `GET /v1/projects/{ref}`).
    pub organization_lookup: Option<&'a str>,
    /// The organization learned for the project (`apply_project_organization`), for the record.
    pub project_organization: Option<String>,
    /// The time the request was decided at (milliseconds since the Unix epoch).
    pub now_ms: u64,
    /// The canonical target (path and query), when it parsed.
    pub target: Option<&'a str>,
    /// The grant that allowed the call (an elevation, or the approval), when one did.
    pub grant: Option<&'p Grant>,
    /// Set when the agent's `approve` list names the endpoint of an otherwise allowed call.
    pub approval: Option<Approval<'p>>,
    /// The judgement of the body's SQL, on the endpoints whose body carries SQL.
    pub sql: Option<Judgement>,
}

impl<'p> Decision<'p, '_> {
    /// Whether the request goes upstream. Never while the decision still waits for the body, a
    /// branch's parent or an approval's use.
    pub fn forward(&self) -> bool {
        !self.waiting() && (self.verdict == Verdict::Allow || !self.enforced)
    }

    /// Whether the decision still waits for the body, a branch's parent, a project's
    /// organization or an approval's use.
    fn waiting(&self) -> bool {
        self.body_check.is_some()
            || self.branch_lookup.is_some()
            || self.organization_lookup.is_some()
            || self.approval_use().is_some()
    }

    /// The approval use the host must take (with [`crate::approval::take_use`] over its shared
    /// data) and hand to [`Decision::apply_use`] before the request can go upstream.
    pub fn approval_use(&self) -> Option<&UseCheck> {
        self.approval.as_ref().and_then(|a| a.take.as_ref())
    }

    /// The status the filter answers with itself, or `None` when the request is forwarded. A
    /// decision still waiting for its body is a 500: whoever holds it must apply the body first.
    pub fn refusal_status(&self) -> Option<u16> {
        if self.waiting() {
            Some(500)
        } else if self.forward() {
            None
        } else {
            Some(self.reason.status())
        }
    }

    pub fn area(&self) -> Option<Area> {
        self.endpoint.map(|e| e.area)
    }

    pub fn project(&self) -> Option<&str> {
        match self.location {
            Location::Project(r) => Some(r),
            Location::Branch(r) if is_project_ref(r) => Some(r),
            _ => None,
        }
    }

    pub fn organization(&self) -> Option<&str> {
        match &self.location {
            Location::Organization(s) => Some(s),
            _ => self.body_organization.as_deref().or(self.project_organization.as_deref()),
        }
    }

    /// The decision behind a self-discovery answer (`/_bollard/...`): the agent, nothing else.
    pub fn discovery(agent: &'p Agent) -> Decision<'p, 'static> {
        let mut d = refuse(Reason::AccessRead, Some(agent));
        d.verdict = Verdict::Allow;
        d
    }

    /// Completes a decision that waited for the body (the bytes that will be forwarded).
    pub fn apply_body(&mut self, policy: &Policy, content_type: Option<&str>, body: &[u8]) {
        let (Some(check), Some(agent)) = (self.body_check.take(), self.agent) else {
            return;
        };
        if body.len() > policy.max_body_bytes {
            self.deny(Reason::BodyTooLarge(policy.max_body_bytes), true);
            return;
        }
        if check != BodyCheck::Approval {
            self.check_body(policy, agent, check, content_type, body);
        }
        if self.verdict == Verdict::Allow && self.approval.is_some() {
            self.resolve_approval(policy, agent, content_type, body);
        }
    }

    /// Step 9, with the body read: the call's approval id, and the grant in force for it.
    fn resolve_approval(&mut self, policy: &Policy, agent: &'p Agent, content_type: Option<&str>, body: &[u8]) {
        let (Some(endpoint), Some(target)) = (self.endpoint, self.target) else {
            self.deny(Reason::ApprovalRequired, true);
            return;
        };
        let id = approval_id(&agent.id, endpoint.method.as_str(), target, content_type, body);
        let now = self.now_ms;
        let grant = agent.active_grants(now).find(|g| match &g.kind {
            GrantKind::Approval { approval_id, .. } => *approval_id == id,
            GrantKind::Elevation { .. } => false,
        });
        let mut state = Approval { id: Some(id), ..Approval::default() };
        match grant {
            Some(g) => {
                let uses = match g.kind {
                    GrantKind::Approval { uses, .. } => uses,
                    GrantKind::Elevation { .. } => 0,
                };
                state.take = Some(UseCheck { key: uses_key(&agent.id, &g.id), uses, not_after_ms: g.not_after_ms });
                state.grant = Some(g);
                self.grant = Some(g);
                self.reason = Reason::Approved;
                self.approval = Some(state);
            }
            None => {
                self.approval = Some(state);
                self.deny(Reason::ApprovalRequired, policy.mode == Mode::Enforce);
            }
        }
    }

    /// Hands over the approval use this decision waits for: the caller takes it (and refuses the
    /// call through [`Decision::apply_use`] when it cannot) before the request goes upstream.
    pub fn take_approval_use(&mut self) -> Option<UseCheck> {
        self.approval.as_mut().and_then(|a| a.take.take())
    }

    /// Completes an approved decision with the use the host took from the grant's shared count
    /// (`None`: the host could not count, which refuses, as a use it cannot prove it had).
    pub fn apply_use(&mut self, policy: &Policy, taken: Option<UseTake>) {
        let Some(state) = self.approval.as_mut() else { return };
        if state.take.take().is_none() {
            return;
        }
        match taken {
            Some(t) if t.allowed => state.used = Some(t.used),
            _ => {
                state.used_up = true;
                self.deny(Reason::ApprovalRequired, policy.mode == Mode::Enforce);
            }
        }
    }

    fn check_body(
        &mut self,
        policy: &Policy,
        agent: &Agent,
        check: BodyCheck,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        match body::check(check, agent, self.behaviour.sql, content_type, body) {
            Ok(judgement) => {
                self.sql = judgement;
                if check == BodyCheck::OrganizationInScope {
                    self.body_organization = body::organization(body);
                }
            }
            Err(BodyError::Sql(j)) => {
                let reason = match j.refusal {
                    Some(SqlRefusal::Unparsed(_)) => Reason::SqlUnparsed,
                    _ => Reason::SqlNotAllowed,
                };
                self.sql = Some(*j);
                self.deny(reason, policy.mode == Mode::Enforce);
            }
            Err(BodyError::NotJson(why)) => self.deny(Reason::InvalidBody(why), true),
            Err(BodyError::NoOrganization) => self.deny(
                Reason::InvalidBody("the body must name one organization (organization_slug, or organization_id)"),
                true,
            ),
            Err(BodyError::NotReadOnly) => self.deny(Reason::ReadOnlyRequired, policy.mode == Mode::Enforce),
            Err(BodyError::OrganizationOutOfScope(org)) => {
                self.body_organization = Some(org);
                self.deny(Reason::OrganizationOutOfScope, policy.mode == Mode::Enforce);
            }
        }
    }

    /// Completes a decision that waited for a branch's parent project (`None`: not one of the
    /// agent's projects, or it could not be learned).
    pub fn apply_branch_parent(&mut self, policy: &Policy, parent: Option<&str>) {
        let (Some(_), Some(agent)) = (self.branch_lookup.take(), self.agent) else {
            return;
        };
        if parent.is_some_and(|p| agent.projects.contains(p)) {
            return;
        }
        let reason = match self.location {
            Location::Project(_) => Reason::ProjectOutOfScope,
            _ => Reason::BranchOutOfScope,
        };
        self.deny(reason, policy.mode == Mode::Enforce);
    }

    /// Completes a decision that waited for the organization of its project (`None`: it could
    /// not be learned). Only a project of one of the agent's `projects.organizations` passes.
    pub fn apply_project_organization(&mut self, policy: &Policy, organization: Option<&str>) {
        let (Some(_), Some(agent)) = (self.organization_lookup.take(), self.agent) else {
            return;
        };
        self.project_organization = organization.map(str::to_string);
        if organization.is_some_and(|o| agent.project_organization_in_scope(o)) {
            return;
        }
        self.deny(Reason::ProjectOutOfScope, policy.mode == Mode::Enforce);
    }

    /// The body limit was passed before the body arrived (from `content-length` or while reading).
    pub fn body_too_large(&mut self, limit: usize) {
        self.body_check = None;
        self.deny(Reason::BodyTooLarge(limit), true);
    }

    /// The body the decision reads came with a `content-encoding`: Supabase could decode it into
    /// something other than the bytes judged, so it is refused (an approval only hashes the
    /// bytes, and is not affected).
    pub fn body_encoded(&mut self) {
        if self.body_check.is_some_and(|c| c != BodyCheck::Approval) {
            self.body_check = None;
            self.deny(
                Reason::InvalidBody("the body must be sent without a content-encoding: it is judged as it is sent"),
                true,
            );
        }
    }

    fn deny(&mut self, reason: Reason, enforced: bool) {
        self.verdict = Verdict::Deny;
        self.reason = reason;
        self.enforced = enforced;
    }
}

/// The characters of a token68 (RFC 9110) before its trailing `=`.
const TOKEN68: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        i += 1;
    }
    t
};

/// The agent's key from the `Authorization` values: exactly one value, `Bearer` (any case),
/// one space, and one token68 key.
pub fn bearer_key<'a>(values: &[&'a str]) -> Result<&'a str, Reason> {
    let value = match values {
        [] => return Err(Reason::MissingKey),
        [one] => *one,
        _ => return Err(Reason::AmbiguousCredentials),
    };
    let space = value.bytes().position(|b| b == b' ').ok_or(Reason::AmbiguousCredentials)?;
    let (scheme, key) = (&value[..space], &value[space + 1..]);
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Reason::AmbiguousCredentials);
    }
    // token68: one or more of its characters, then any number of `=`.
    let k = key.as_bytes();
    let body = k.len() - k.iter().rev().take_while(|&&b| b == b'=').count();
    let token68 = body > 0 && k[..body].iter().all(|&b| TOKEN68[b as usize]);
    if token68 {
        Ok(key)
    } else if key.is_empty() {
        Err(Reason::MissingKey)
    } else {
        Err(Reason::AmbiguousCredentials)
    }
}

/// Keys at least this long are looked for in the request target; a shorter one could be part of
/// an ordinary path by chance (the keys Bollard generates are 44 bytes).
pub const MIN_KEY_IN_TARGET: usize = 16;

/// The pieces of an `authorization` value that may be a key: the runs between spaces, tabs and
/// commas of at least [`MIN_KEY_IN_TARGET`] bytes. Whatever the decision makes of the value (one
/// bearer key, two, another scheme), none of them is let out anywhere else.
pub fn credential_pieces(value: &str) -> CredentialPieces<'_> {
    CredentialPieces { rest: value }
}

/// See [`credential_pieces`].
pub struct CredentialPieces<'a> {
    rest: &'a str,
}

impl<'a> Iterator for CredentialPieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        // Key bytes are above `,`, so most are told apart by one comparison.
        let apart = |b: u8| b <= b',' && matches!(b, b' ' | b'\t' | b',');
        let bytes = self.rest.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            while i < bytes.len() && apart(bytes[i]) {
                i += 1;
            }
            let start = i;
            while i < bytes.len() && !apart(bytes[i]) {
                i += 1;
            }
            if i - start >= MIN_KEY_IN_TARGET {
                // The separators are ASCII: both ends are whole UTF-8.
                let piece = self.rest.get(start..i);
                self.rest = self.rest.get(i..).unwrap_or_default();
                return piece;
            }
        }
        self.rest = "";
        None
    }
}

/// Whether the request target (path or query, as sent or once its escapes are decoded) carries
/// the key as well.
fn key_is_in(key: &str, target: &str) -> bool {
    key.len() >= MIN_KEY_IN_TARGET && crate::target::target_contains(target, key)
}

fn refuse<'p, 'a>(reason: Reason, agent: Option<&'p Agent>) -> Decision<'p, 'a> {
    Decision {
        now_ms: 0,
        target: None,
        grant: None,
        approval: None,
        verdict: Verdict::Deny,
        reason,
        enforced: true,
        agent,
        endpoint: None,
        location: Location::Account,
        path: None,
        index: None,
        behaviour: Behaviour::default(),
        level: None,
        body_check: None,
        body_organization: None,
        branch_lookup: None,
        organization_lookup: None,
        project_organization: None,
        sql: None,
    }
}

/// Decides one request. Never panics; anything it cannot place is denied.
pub fn decide<'p, 'a>(policy: &'p Policy, catalog: &Catalog, req: &Request<'a>) -> Decision<'p, 'a> {
    let (identified, key_in_target) = match bearer_key(req.authorization) {
        Ok(key) => {
            let agent = agent_for_key(policy, key, req.now_ms);
            let key_in_target = agent.is_ok() && key_is_in(key, req.target);
            (agent, key_in_target)
        }
        Err(reason) => (Err((reason, None)), false),
    };
    match identified {
        // The key goes nowhere but in `Authorization`: not upstream, not into a record or a refusal.
        Ok(agent) if key_in_target => {
            let mut d = refuse(Reason::KeyInTarget, Some(agent));
            d.now_ms = req.now_ms;
            d
        }
        Ok(agent) => decide_for(policy, catalog, agent, req),
        Err((reason, agent)) => {
            // An expired key still says whose it was: the refusal and the record name the agent.
            let mut d = refuse(reason, agent);
            d.now_ms = req.now_ms;
            if agent.is_some() {
                d.path = RequestTarget::parse(req.target).ok().map(|t| t.path);
            }
            d
        }
    }
}

/// Step 1: the agent whose key the `Authorization` values carry, if the key has not expired at
/// `now_ms`. On refusal, the reason, and the agent whose expired key it was.
pub fn identify<'p>(
    policy: &'p Policy,
    authorization: &[&str],
    now_ms: u64,
) -> Result<&'p Agent, (Reason, Option<&'p Agent>)> {
    agent_for_key(policy, bearer_key(authorization).map_err(|r| (r, None))?, now_ms)
}

fn agent_for_key<'p>(policy: &'p Policy, key: &str, now_ms: u64) -> Result<&'p Agent, (Reason, Option<&'p Agent>)> {
    match policy.agent_by_key(key) {
        None => Err((Reason::UnknownKey, None)),
        Some((agent, Some(not_after))) if now_ms >= not_after => Err((Reason::KeyExpired(not_after), Some(agent))),
        Some((agent, _)) => Ok(agent),
    }
}

/// What steps 7 and 8 grant with this level and these allow entries (`allows` answers for a
/// permission name): `ReadOnlySql` when the endpoint passes in its read-only form only.
fn grant_reason(
    endpoint: &Endpoint,
    body: Option<BodyRule>,
    allowed: bool,
    level: Level,
    allows: &dyn Fn(&str) -> bool,
) -> Option<Reason> {
    if allowed {
        return Some(Reason::AllowList);
    }
    match (level, endpoint.class(), body) {
        (Level::Full, ..) => Some(Reason::AccessFull),
        (Level::Read, Class::Read, _) => Some(Reason::AccessRead),
        (_, _, Some(BodyRule::ReadOnlyForm { read_permission })) if level == Level::Read || allows(read_permission) => {
            Some(Reason::ReadOnlySql)
        }
        _ => None,
    }
}

/// Orders grant outcomes: nothing, the read-only form of `run_sql`, a full grant.
fn grant_rank(r: &Option<Reason>) -> u8 {
    match r {
        None => 0,
        Some(Reason::ReadOnlySql) => 1,
        Some(_) => 2,
    }
}

/// Steps 2 to 9 for an identified agent (`req.authorization` is not read). The filter reaches
/// this through [`decide`]; `bollard explain` calls it directly, so both share one code path.
pub fn decide_for<'p, 'a>(
    policy: &'p Policy,
    catalog: &Catalog,
    agent: &'p Agent,
    req: &Request<'a>,
) -> Decision<'p, 'a> {
    // 2. The request itself: method, override headers, the canonical target.
    if !STANDARD_METHODS.contains(&req.method) {
        return refuse(Reason::InvalidMethod, Some(agent));
    }
    if req.method_override {
        return refuse(Reason::MethodOverride, Some(agent));
    }
    let target = match RequestTarget::parse(req.target) {
        Ok(t) => t,
        Err(e) => {
            let mut d = refuse(Reason::MalformedTarget(e), Some(agent));
            d.now_ms = req.now_ms;
            return d;
        }
    };
    if target.query.and_then(credential_in_query).is_some() {
        let mut d = refuse(Reason::CredentialInQuery, Some(agent));
        d.path = Some(target.path);
        d.now_ms = req.now_ms;
        return d;
    }
    let mut d = refuse(Reason::UnknownEndpoint, Some(agent));
    d.path = Some(target.path);
    d.target = Some(req.target);
    d.now_ms = req.now_ms;
    d.enforced = policy.mode == Mode::Enforce;
    // 3. Which endpoint.
    let matched = match Method::parse(req.method) {
        Some(m) => catalog.find(m, target.path),
        None => Err(NoMatch::Method),
    };
    let matched = match matched {
        Ok(m) => m,
        Err(_) => {
            // Nothing outside the catalog goes upstream, in either mode.
            d.enforced = true;
            return d;
        }
    };
    let endpoint = matched.endpoint;
    d.endpoint = Some(endpoint);
    d.index = Some(matched.index);
    d.behaviour = catalog.behaviour(matched.index);
    d.level = Some(agent.level(endpoint.area));
    // 4. Where, with parameters of their kind.
    d.location = match endpoint.place() {
        Place::Account => Location::Account,
        Place::Project => Location::Project(matched.param("ref").unwrap_or_default()),
        Place::Organization => Location::Organization(Cow::Borrowed(matched.param("slug").unwrap_or_default())),
        Place::Branch => Location::Branch(matched.param("branch_id_or_ref").unwrap_or_default()),
    };
    let bad_param = matched.params().find_map(|(name, value)| check_param(name, value).err().map(|kind| (name, kind)));
    if let Some((name, kind)) = bad_param {
        d.reason = Reason::InvalidParameter(name.to_string(), kind.to_string());
        d.enforced = true;
        return d;
    }
    // 4b. The query: only parameters the operation declares, each with a value of its kind, and
    // those it requires.
    let declared = Catalog::query_params(matched.index);
    if target.query.is_some() || declared.iter().any(|p| p.required) {
        if let Err(e) = query::check(declared, target.query.unwrap_or_default()) {
            d.reason = match e {
                query::QueryError::Unknown(name) => Reason::UnknownParameter(name),
                query::QueryError::Invalid(name, kind) => Reason::InvalidParameter(name.to_string(), kind),
            };
            d.enforced = true;
            return d;
        }
    }
    // A project the query names (`list_snippets?project_ref=`) is where the call acts.
    if let (Location::Account, Some(name), Some(q)) = (&d.location, d.behaviour.project_param, target.query) {
        if let Some(r) = query::raw_value(q, name) {
            d.location = Location::Project(r);
        }
    }
    // So is an organization it names (`get_available_regions?organization_slug=`), decoded as
    // upstream reads it (the query's check above refused a value that does not decode).
    if let (Location::Account, Some(name), Some(q)) = (&d.location, d.behaviour.organization_param, target.query) {
        if let Some(raw) = query::raw_value(q, name) {
            d.location = Location::Organization(query::decoded(raw));
        }
    }
    // 5. Deny beats everything.
    if agent.denied.contains(matched.index) {
        d.reason = Reason::DeniedByPolicy;
        return d;
    }
    // 6. Scope.
    // A ref outside the agent's projects may still be a branch of one of them (and a branch id
    // always needs its parent): that is learned upstream, after the grants below pass.
    let has_projects = matches!(&agent.projects, Scope::Only(list) if !list.is_empty());
    let in_scope = match d.location {
        // Without the project its query can name, the call reaches every project's data
        // (`list_snippets`), and some calls reach a project they never name (`get_snippet`):
        // only an agent with every project may make them.
        Location::Account
            if (d.behaviour.project_param.is_some() || d.behaviour.unnamed_project)
                && !matches!(agent.projects, Scope::All) =>
        {
            Err((Reason::ProjectOutOfScope, None))
        }
        Location::Account => Ok(()),
        Location::Project(r) if agent.projects.contains(r) => Ok(()),
        Location::Project(r) if !agent.project_organizations.is_empty() => {
            d.organization_lookup = Some(r);
            Ok(())
        }
        Location::Project(r) if has_projects => Err((Reason::ProjectOutOfScope, Some(r))),
        Location::Project(_) => Err((Reason::ProjectOutOfScope, None)),
        Location::Organization(ref s) if agent.organizations.contains(s) => Ok(()),
        Location::Organization(_) => Err((Reason::OrganizationOutOfScope, None)),
        // A branch among the agent's projects is in scope itself; a call that reaches its parent
        // (a merge) needs the parent, learned upstream as for a branch id.
        Location::Branch(_) if agent.projects == Scope::All => Ok(()),
        Location::Branch(b) if agent.projects.contains(b) && !d.behaviour.parent_project => Ok(()),
        Location::Branch(b) if has_projects => Err((Reason::BranchOutOfScope, Some(b))),
        Location::Branch(_) => Err((Reason::BranchOutOfScope, None)),
    };
    let scope_reason = match in_scope {
        Ok(()) => None,
        Err((reason, None)) => {
            d.reason = reason;
            return d;
        }
        Err((reason, Some(key))) => {
            d.branch_lookup = Some(key);
            Some(reason)
        }
    };
    // 7, 8. Grants: the agent's own, then each elevation in force with them, the widest winning.
    // An endpoint with a read-only form (`run_sql`) passes in that form only with read access
    // (or its read permission allowed).
    let own_level = agent.level(endpoint.area);
    let own_allowed = agent.allowed.contains(matched.index);
    let own_allows = |p: &str| agent.allow.iter().any(|a| a == p);
    let body_rule = d.behaviour.body;
    let mut reason = grant_reason(endpoint, body_rule, own_allowed, own_level, &own_allows);
    if grant_rank(&reason) < 2 {
        for g in agent.active_grants(req.now_ms) {
            let GrantKind::Elevation { allowed, allow, .. } = &g.kind else { continue };
            let level = own_level.max(g.level(endpoint.area));
            let allows = |p: &str| own_allows(p) || allow.iter().any(|a| a == p);
            let r = grant_reason(endpoint, body_rule, own_allowed || allowed.contains(matched.index), level, &allows);
            if grant_rank(&r) > grant_rank(&reason) {
                reason = r;
                d.grant = Some(g);
                d.level = Some(level);
            }
        }
    }
    // The read-only form needs its read permission (`database_read`): a `deny` entry that names
    // it refuses the call, an `approve` entry holds it for a person, as for an endpoint that
    // needs that permission.
    let read_form = match (&reason, body_rule) {
        (Some(Reason::ReadOnlySql), Some(BodyRule::ReadOnlyForm { read_permission })) => Some(read_permission),
        _ => None,
    };
    if read_form.is_some_and(|p| agent.deny_entry_for(p).is_some()) {
        d.reason = Reason::DeniedByPolicy;
        d.branch_lookup = None;
        d.organization_lookup = None;
        d.grant = None;
        return d;
    }
    match reason {
        Some(r) => {
            if r == Reason::ReadOnlySql {
                d.body_check = Some(BodyCheck::ReadOnlySql);
            }
            d.verdict = Verdict::Allow;
            d.reason = r;
            d.enforced = true;
            if d.behaviour.body == Some(BodyRule::OrganizationInScope) && agent.organizations != Scope::All {
                d.body_check = Some(BodyCheck::OrganizationInScope);
            }
            // The SQL of an endpoint that carries it is judged statement by statement.
            if d.body_check.is_none() && d.behaviour.sql.is_some() {
                d.body_check = Some(BodyCheck::Sql);
            }
            // 9. A person's approval: its id binds the body, so it is resolved with the body.
            if agent.needs_approval.contains(matched.index)
                || read_form.is_some_and(|p| agent.approve_entry_for(p).is_some())
            {
                d.approval = Some(Approval::default());
                d.body_check.get_or_insert(BodyCheck::Approval);
            }
        }
        None => {
            // Scope is checked before grants: a place outside the agent's projects is the reason,
            // and no lookup is needed when the grants refuse anyway.
            d.body_check = None;
            // A project's organization is not asked for either: the grants refuse in any case.
            d.organization_lookup = None;
            d.reason = match d.branch_lookup.take().and(scope_reason) {
                Some(scope) => scope,
                None => Reason::PermissionDenied,
            };
        }
    }
    d
}
