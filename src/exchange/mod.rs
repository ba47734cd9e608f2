//! One request's whole life at the gateway, as a state machine without I/O.
//!
//! A host driver (the proxy-wasm filter, or a test) feeds it [`Event`]s: the request's headers,
//! body, trailers, callout answers, shared-counter values, the response's headers and body, a
//! reset. After each event the machine answers with a [`Flow`] for the callback (hold the stream
//! here, or let it go on) and queues [`Action`]s the driver carries out in order ([`Exchange::next_action`]):
//! drop a client's `x-bollard-*` headers on arrival, read the buffered body, send a lookup, read
//! or write a counter, forward with exactly these header edits, reply, rewrite the response. Some
//! actions are answered with another event (`ReadBody` with `Body`, `ReadCounter` with
//! `Counter`, ...), fed back by the driver at once.
//!
//! The states, in the order a request meets them:
//!
//! - `Start`: nothing seen. Request headers are read once: the gateway's own paths
//!   (`/_bollard/...`) are answered; otherwise the decision is made.
//! - `AwaitBody`: the decision reads the body (`run_sql`, `create_project`). Chunks are held
//!   (Envoy buffers them) up to the policy's limit; at the end of the stream, or at trailers,
//!   the whole body is read and the decision completed.
//! - `AwaitLookups`: a branch's parent project (or, for `projects: {"organizations": [...]}`,
//!   a project's organization) must be learned upstream first; the request is held until every
//!   lookup has answered or failed.
//! - `AwaitCounter`: an allowed request takes one from each of its rate limits, then, for a call
//!   a person approved, one use of the approval (counters shared by the host's workers, read and
//!   written with compare-and-swap). A project's lookup takes one from the agent's limit before
//!   it is sent, and the call it decides is not counted there again.
//! - `Forwarded`: sent upstream with the real token and only allowlisted headers; the response
//!   is annotated and, for endpoints whose responses hold secrets or account-wide lists,
//!   rewritten.
//! - `Replied`: answered by the gateway; nothing went upstream.
//!
//! Nothing is forwarded before the decision is final: the only action that lets a request go
//! upstream is [`Action::Forward`], queued from one place ([`Exchange::forward`]) after every
//! check has passed. Trailers never go upstream. An event a state does not expect ends a request
//! that is still held with a 500 and an honest record.

mod headers;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;

use headers::drop_once;
pub use headers::{parse_map, Head, FORWARDED};

use crate::approval::{self, UseCheck, UseTake, Uses};
use crate::audit::{AuditRecord, Completion};
use crate::branches::{self, BranchCache};
use crate::catalog::{query, Catalog, ResponseRule};
use crate::decision::{credential_pieces, decide, identify, Decision, Reason, Verdict};
use crate::discovery;
use crate::guards::{lists, secrets};
use crate::policy::{Mode, Policy, Scope};
use crate::project_organizations::{self, ProjectOrganizationCache};
use crate::rate_limit::{self, Take, Window};
use crate::refusal;
use crate::secret::Secret;
use crate::target::target_contains;

/// The cluster the shipped Envoy configs name for Supabase, and the host it answers to.
pub const UPSTREAM_CLUSTER: &str = "supabase";
pub const UPSTREAM_HOST: &str = "api.supabase.com";
/// Branch listings one request may ask for.
const MAX_LOOKUPS: usize = 16;
/// Compare-and-swap attempts on a shared counter before the request is refused.
const MAX_COUNTER_ATTEMPTS: u8 = 8;

/// What every request of a VM shares once the policy is loaded.
pub struct Gateway {
    pub policy: Policy,
    pub catalog: Catalog,
    /// `Bearer <token>`, the only credential that goes upstream.
    bearer: Secret,
    /// Branch parents learned from upstream listings, shared by the VM's requests.
    branches: RefCell<BranchCache>,
    /// Project organizations learned from upstream (`GET /v1/projects/{ref}`), likewise shared.
    project_organizations: RefCell<ProjectOrganizationCache>,
}

impl Gateway {
    /// Compiles a policy and reads the upstream token through `env`. Any error refuses it whole.
    pub fn load(config: &[u8], env: impl FnOnce(&str) -> Option<String>) -> Result<Gateway, String> {
        let text = std::str::from_utf8(config).map_err(|_| "policy: the configuration is not UTF-8".to_string())?;
        let policy = Policy::from_json(text).map_err(|e| e.to_string())?;
        let token = policy.upstream_token(env).map_err(|e| e.to_string())?;
        let catalog = Catalog::new()?;
        let bearer = Secret::new(format!("Bearer {}", token.expose()));
        Ok(Gateway {
            policy,
            catalog,
            bearer,
            branches: RefCell::new(BranchCache::default()),
            project_organizations: RefCell::new(ProjectOrganizationCache::default()),
        })
    }
}

/// What happened, as the host saw it.
#[derive(Debug)]
pub enum Event<'a> {
    /// The request's header map, every copy of every header, in order.
    RequestHeaders { headers: &'a [(&'a str, &'a [u8])], end_of_stream: bool, now_ms: u64 },
    /// Part of the request body arrived; `buffered` is all the host holds so far.
    RequestBody { buffered: usize, end_of_stream: bool },
    /// The request ended with trailers (the body, if any, is complete).
    RequestTrailers,
    /// The answer to [`Action::ReadBody`]: the whole buffered body, and the time it was read.
    Body { bytes: &'a [u8], now_ms: u64 },
    /// The answer to [`Action::Lookup`]: the call was sent (`Some(token)`) or could not be.
    LookupSent { lookup: usize, token: Option<u32> },
    /// A lookup's answer; `status` is `None` when the call failed or timed out.
    LookupAnswer { token: u32, status: Option<u16>, body: &'a [u8], now_ms: u64 },
    /// The answer to [`Action::ReadCounter`].
    Counter { value: Option<&'a [u8]>, cas: Option<u32> },
    /// The answer to [`Action::WriteCounter`]: whether the host stored it.
    CounterWritten(bool),
    /// The response's headers: its `:status`, its `content-encoding`.
    ResponseHeaders { status: Option<u16>, content_encoding: Option<&'a [u8]>, end_of_stream: bool },
    /// Part of the response body arrived; `buffered` is all the host holds so far.
    ResponseBody { buffered: usize, end_of_stream: bool },
    /// The response ended with trailers (its body, if any, is complete).
    ResponseTrailers,
    /// The answer to [`Action::ReadResponseBody`].
    ResponseBytes(&'a [u8]),
    /// The stream was reset by either side.
    Reset,
}

/// What the host callback returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Hold the stream here; the host buffers what follows.
    Hold,
    /// Let the stream go on.
    Continue,
}

/// The request as it goes upstream: exactly these header edits, the body as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// Headers removed, every copy.
    pub remove: Vec<String>,
    /// Headers set (replacing every copy), in order. `authorization` carries the real token.
    /// Values the catalog or the decision names are borrowed, not copied.
    pub set: Vec<(&'static str, Cow<'static, str>)>,
    /// The request was held in an earlier callback and must be resumed.
    pub resume: bool,
}

/// An answer from the gateway itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// A call upstream, with the real token, whose answer the decision needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callout {
    pub cluster: &'static str,
    pub headers: Vec<(&'static str, String)>,
}

/// The compare-and-swap token a counter that does not exist yet is written with. Envoy's shared
/// data (proxy-wasm-cpp-host) stores a write to an absent key whatever its token, and refuses a
/// non-zero token that is not an existing key's current one (tokens count up from 1, and come
/// back to this one only after 2^32 writes): so this one
/// creates the counter, and fails when another worker created it between the read and the write
/// (the write is then retried from a new read). No token, or 0, would overwrite that worker's
/// count: two workers could each take the one use of an approval.
pub const CREATE_ONLY: u32 = u32::MAX;

/// What the driver does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Remove these request headers (every copy) at once: a client's `x-bollard-*`, dropped on
    /// arrival whatever the decision, so that nothing reading the request later (the host's
    /// access log) takes them for the gateway's own.
    DropRequestHeaders(Vec<String>),
    /// Read the whole buffered request body and answer with [`Event::Body`] (with the time).
    ReadBody,
    /// Remove every request trailer.
    DropTrailers,
    /// Send a call upstream and answer with [`Event::LookupSent`].
    Lookup(usize, Callout),
    /// Read a shared counter and answer with [`Event::Counter`].
    ReadCounter(String),
    /// Write a shared counter if its cas still holds, and answer with [`Event::CounterWritten`].
    WriteCounter { key: String, value: [u8; 12], cas: Option<u32> },
    /// Send the request upstream.
    Forward(Forward),
    /// Answer the agent; nothing goes upstream.
    Reply(Reply),
    /// Edit the response headers (`None` removes).
    EditResponseHeaders(Vec<(&'static str, Option<Cow<'static, str>>)>),
    /// Read the whole buffered response body and answer with [`Event::ResponseBytes`].
    ReadResponseBody,
    /// Replace the response body with this.
    ReplaceResponseBody(Vec<u8>),
    /// Remove every response trailer.
    DropResponseTrailers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    AwaitBody,
    AwaitLookups,
    AwaitCounter,
    Forwarded,
    Replied,
}

/// One shared counter an allowed request takes from before it is forwarded.
#[derive(Debug, Clone)]
enum Check {
    /// A rate limit: (shared key, requests per minute).
    Rate(String, u32),
    /// One use of the approval that allowed the call (always the last check, so a call refused
    /// for its rate limit does not use it).
    Use(UseCheck),
}

impl Check {
    fn key(&self) -> &str {
        match self {
            Check::Rate(key, _) => key,
            Check::Use(c) => &c.key,
        }
    }
}

/// Counter checks in progress, in order, and where they stand.
#[derive(Debug, Default)]
struct Counting {
    checks: Vec<Check>,
    at: usize,
    attempts: u8,
    pending: Option<(u32, Option<u32>)>,
    /// The agent-wide limit's state after this request, echoed on the response.
    first: Option<Take>,
    resume: bool,
    /// The checks are a lookup's: once they pass, the lookup is sent, not the request.
    lookup: bool,
    /// The agent-wide limit was taken for the lookup: `first` is its state, not a check's here.
    counted: bool,
}

/// What a forwarded response must go through before the agent sees it.
#[derive(Debug, Clone, Copy)]
struct ResponseGuard {
    rule: ResponseRule,
    agent: usize,
    /// The response has a content encoding the guards cannot read.
    encoded: bool,
}

/// What the driver needs from a finished request: the audit line and the counters to add to.
#[derive(Debug)]
pub struct Finished {
    pub record: AuditRecord,
    /// Whether the host's status must be read (no response headers were seen).
    pub status_known: bool,
    /// The agent's index in the policy, for per-agent counters.
    pub agent: Option<usize>,
    /// The endpoint's area index, for per-area counters.
    pub area: Option<usize>,
}

/// One request's state machine.
pub struct Exchange<G: std::ops::Deref<Target = Gateway> + Clone> {
    gw: G,
    state: State,
    head: Head,
    /// The request id to echo (Envoy's `x-request-id`, when plain).
    request_id: Option<String>,
    /// Client headers that must not go upstream.
    drop: Vec<String>,
    started_ms: u64,
    /// The clock the decision reads (keys' and grants' ends, rate-limit windows): the time of
    /// the headers, then of the body or lookup answer the decision waited for.
    now_ms: u64,
    /// The body read for the decision (kept while a lookup is in flight).
    body: Option<Vec<u8>>,
    /// The request stream has ended (end of stream or trailers).
    request_ended: bool,
    /// What the host said it buffered of the request body, at its last chunk.
    request_buffered: usize,
    /// Lookups: (token, project) for each sent; `sent` counts the answers to `Lookup` actions.
    lookups: Vec<(Option<u32>, String)>,
    lookups_answered: usize,
    looked_up: bool,
    /// The lookup in flight asks for a project's details (its organization), not branch listings.
    organization_lookup: bool,
    counting: Counting,
    record: Option<AuditRecord>,
    agent_index: Option<usize>,
    area_index: Option<usize>,
    guard: Option<ResponseGuard>,
    /// What the host said it buffered of a guarded response body, at its last chunk.
    response_buffered: usize,
    pending_forward: Option<Forward>,
    status: Option<u16>,
    actions: VecDeque<Action>,
}

impl<G: std::ops::Deref<Target = Gateway> + Clone> Exchange<G> {
    pub fn new(gw: G) -> Exchange<G> {
        Exchange {
            gw,
            state: State::Start,
            head: Head::default(),
            request_id: None,
            drop: Vec::new(),
            started_ms: 0,
            now_ms: 0,
            body: None,
            request_ended: false,
            request_buffered: 0,
            lookups: Vec::new(),
            lookups_answered: 0,
            looked_up: false,
            organization_lookup: false,
            counting: Counting::default(),
            record: None,
            agent_index: None,
            area_index: None,
            guard: None,
            response_buffered: 0,
            pending_forward: None,
            status: None,
            actions: VecDeque::new(),
        }
    }

    /// The next thing the driver must do, in order.
    pub fn next_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Whether the response headers event needs the response's `content-encoding` (only a
    /// response whose body is guarded does): the driver reads it only then.
    pub fn reads_response_encoding(&self) -> bool {
        self.guard.is_some()
    }

    /// Whether the request went upstream.
    pub fn forwarded(&self) -> bool {
        self.state == State::Forwarded
    }

    /// Feeds one event; the answer is what the host callback returns.
    pub fn handle(&mut self, event: Event) -> Flow {
        use State::*;
        match (self.state, event) {
            (Start, Event::RequestHeaders { headers, end_of_stream, now_ms }) => {
                self.started_ms = now_ms;
                self.now_ms = now_ms;
                self.head = Head::read(headers);
                self.request_id = self.head.request_id.clone();
                self.drop = std::mem::take(&mut self.head.drop);
                self.request_ended = end_of_stream;
                // Not only with the forward: a refused request keeps its headers for the access
                // log, which would read a caller's `x-bollard-agent` as the gateway's.
                let forged: Vec<String> = self.drop.iter().filter(|n| is_bollard_header(n)).cloned().collect();
                if !forged.is_empty() {
                    self.actions.push_back(Action::DropRequestHeaders(forged));
                }
                if self.head.target.starts_with(discovery::PREFIX) {
                    return self.self_discovery();
                }
                self.decide(false)
            }
            (Start, _) => self.unexpected("an event before the request headers"),

            (AwaitBody, Event::RequestBody { buffered, end_of_stream }) => {
                let limit = self.gw.policy.max_body_bytes;
                if buffered > limit {
                    return self.body_too_large();
                }
                self.request_buffered = buffered;
                if end_of_stream {
                    self.request_ended = true;
                    self.actions.push_back(Action::ReadBody);
                }
                Flow::Hold
            }
            (AwaitBody, Event::RequestTrailers) => {
                self.request_ended = true;
                self.actions.push_back(Action::DropTrailers);
                self.actions.push_back(Action::ReadBody);
                Flow::Hold
            }
            (AwaitBody, Event::Body { bytes, now_ms }) if self.request_ended => {
                self.now_ms = self.now_ms.max(now_ms);
                if bytes.len() > self.gw.policy.max_body_bytes {
                    return self.body_too_large();
                }
                // A read that came back short (the driver cannot tell a failed read from an empty
                // body) would decide on a body other than the one that goes upstream.
                if bytes.len() < self.request_buffered {
                    return self.unexpected("a body read back shorter than the host holds");
                }
                self.body = Some(bytes.to_vec());
                self.decide(false)
            }

            (AwaitLookups, Event::LookupSent { lookup, token }) => {
                if let Some(entry) = self.lookups.get_mut(lookup) {
                    entry.0 = token;
                }
                self.lookups_answered += usize::from(token.is_none());
                self.after_lookup(false)
            }
            (AwaitLookups, Event::LookupAnswer { token, status, body, now_ms }) => {
                let Some(project) = self.lookups.iter().find(|(t, _)| *t == Some(token)).map(|(_, p)| p.clone()) else {
                    return Flow::Hold;
                };
                self.now_ms = self.now_ms.max(now_ms);
                if self.organization_lookup {
                    let status = status.unwrap_or(0);
                    self.gw.project_organizations.borrow_mut().record(&project, status, body, now_ms);
                } else {
                    self.gw.branches.borrow_mut().record_listing(&project, status.unwrap_or(0), body, now_ms);
                }
                self.lookups_answered += 1;
                self.after_lookup(true)
            }
            // Body and trailers while a lookup is in flight: held, trailers dropped.
            (AwaitLookups, Event::RequestBody { buffered, end_of_stream }) => {
                self.request_ended |= end_of_stream;
                if buffered > self.gw.policy.max_body_bytes && self.body.is_some() {
                    return self.body_too_large();
                }
                Flow::Hold
            }
            (AwaitLookups, Event::RequestTrailers) => {
                self.request_ended = true;
                self.actions.push_back(Action::DropTrailers);
                Flow::Hold
            }

            (AwaitCounter, Event::Counter { value, cas }) => self.counter_read(value, cas),
            (AwaitCounter, Event::CounterWritten(ok)) => self.counter_written(ok),

            (Forwarded, Event::RequestBody { .. }) => Flow::Continue,
            (Forwarded, Event::RequestTrailers) => {
                self.actions.push_back(Action::DropTrailers);
                Flow::Continue
            }
            (Forwarded, Event::ResponseHeaders { status, content_encoding, end_of_stream }) => {
                self.status = status;
                self.annotate_response(content_encoding, end_of_stream);
                Flow::Continue
            }
            (Forwarded, Event::ResponseBody { buffered, end_of_stream }) => match self.guard {
                None => Flow::Continue,
                Some(_) if !end_of_stream => {
                    self.response_buffered = buffered;
                    Flow::Hold
                }
                Some(_) => {
                    self.response_buffered = buffered;
                    self.actions.push_back(Action::ReadResponseBody);
                    Flow::Continue
                }
            },
            // A guarded body that ends with trailers is complete here: rewritten like one that
            // ended with its last chunk, or the host would pass on what it held unread. Its
            // trailers are not read, so they do not pass either.
            (Forwarded, Event::ResponseTrailers) => {
                if self.guard.is_some() {
                    self.actions.push_back(Action::ReadResponseBody);
                    self.actions.push_back(Action::DropResponseTrailers);
                }
                Flow::Continue
            }
            (Forwarded, Event::ResponseBytes(body)) => {
                self.guard_response(body);
                Flow::Continue
            }

            // The gateway answered: the rest of the request is not needed, its own reply passes.
            (Replied, Event::RequestBody { .. } | Event::RequestTrailers | Event::Body { .. }) => Flow::Hold,
            (Replied, Event::ResponseHeaders { status, .. }) => {
                self.status = status.or(self.status);
                Flow::Continue
            }
            (Replied, Event::ResponseBody { .. } | Event::ResponseTrailers) => Flow::Continue,
            (Replied, Event::LookupAnswer { .. } | Event::LookupSent { .. }) => Flow::Hold,

            (_, Event::Reset) => {
                if !matches!(self.state, Forwarded | Replied) {
                    self.record = Some(self.undecided("the request was reset before it was decided"));
                    self.state = Replied;
                }
                Flow::Hold
            }
            // A response while the request is held comes from the host itself (a local reply).
            (AwaitBody | AwaitLookups | AwaitCounter, Event::ResponseHeaders { status, .. }) => {
                self.status = status;
                self.record = Some(self.undecided("the host answered the request before it was decided"));
                self.state = Replied;
                Flow::Continue
            }
            (Forwarded, Event::LookupAnswer { .. }) => Flow::Continue,
            (_, _) => self.unexpected("an event this state does not expect"),
        }
    }

    /// The audit record and counters, when the request ends (the host's log callback).
    pub fn finish(&mut self, now_ms: u64) -> Finished {
        let mut record = match self.record.take() {
            Some(r) => r,
            None => {
                if self.state == State::Start {
                    self.started_ms = now_ms;
                }
                self.undecided("the request ended before it was decided")
            }
        };
        // Whatever the credentials were (one key, two, ambiguous, unknown), a piece of them that
        // the target carries too, as sent or escaped, is kept out of the record. A forwarded
        // request had one bearer key, which its decision found nowhere in the target.
        if self.state != State::Forwarded {
            let mut carried = Vec::new();
            // A key sent as the method (any token, to HTTP/2) is refused, and recorded cut to 16 bytes.
            let method = self.head.method.to_ascii_lowercase();
            let mut in_method = false;
            for value in &self.head.authorization {
                carried.extend(credential_pieces(value).filter(|p| target_contains(&self.head.target, p)));
                in_method |= credential_pieces(value).any(|p| method.contains(&p.to_ascii_lowercase()));
            }
            if !carried.is_empty() {
                record.redact(&carried, &self.head.target);
            }
            if in_method {
                record.redact_method();
            }
        }
        let status_known = self.status.is_some() || record.status != 0;
        if let Some(s) = self.status {
            record.status = s;
        }
        let elapsed = now_ms.saturating_sub(self.started_ms);
        record.duration_ms = elapsed as f64;
        Finished { record, status_known, agent: self.agent_index, area: self.area_index }
    }

    /// Makes the decision from what is known: the headers, and the body once read.
    fn decide(&mut self, resume: bool) -> Flow {
        self.decide_as(resume, false)
    }

    /// The decision, with the head taken out of `self` while the decision borrows it.
    fn decide_as(&mut self, resume: bool, too_large: bool) -> Flow {
        let gw = self.gw.clone();
        let head = std::mem::take(&mut self.head);
        let flow = self.decide_with(&gw, &head, resume, too_large);
        self.head = head;
        flow
    }

    fn decide_with(&mut self, gw: &Gateway, head: &Head, resume: bool, too_large: bool) -> Flow {
        let auth = head.authorization_values();
        let request = head.request(auth.as_slice(), self.now_ms);
        let mut d = decide(&gw.policy, &gw.catalog, &request);
        // Known while the request is held too: a refusal then still tells the agent the decision.
        self.agent_index = d.agent.map(|a| a.index);
        if too_large {
            d.body_too_large(gw.policy.max_body_bytes);
        }
        if head.content_encoded {
            d.body_encoded();
        }
        if d.body_check.is_some() {
            let limit = gw.policy.max_body_bytes;
            if head.content_length.is_some_and(|n| n > limit) {
                d.body_too_large(limit);
            } else if let Some(b) = &self.body {
                d.apply_body(&gw.policy, head.content_type.as_deref(), b);
            } else if self.request_ended {
                d.apply_body(&gw.policy, head.content_type.as_deref(), b"");
            } else {
                self.state = State::AwaitBody;
                return Flow::Hold;
            }
        }
        if let (Some(key), Some(agent)) = (d.branch_lookup, d.agent) {
            let projects = match &agent.projects {
                Scope::Only(list) => list.as_slice(),
                Scope::All => &[],
            };
            let found = gw.branches.borrow().lookup(key, projects, self.now_ms);
            match found {
                branches::Lookup::Parent(parent) => d.apply_branch_parent(&gw.policy, Some(&parent)),
                branches::Lookup::NotAmong => d.apply_branch_parent(&gw.policy, None),
                branches::Lookup::List(stale) if !self.looked_up => {
                    self.looked_up = true;
                    self.state = State::AwaitLookups;
                    for (i, project) in stale.into_iter().take(MAX_LOOKUPS).enumerate() {
                        self.actions.push_back(Action::Lookup(i, branch_listing(gw, &project)));
                        self.lookups.push((None, project));
                    }
                    return Flow::Hold;
                }
                // Listings already answered (or none could be sent): what is not known is refused.
                branches::Lookup::List(_) => d.apply_branch_parent(&gw.policy, None),
            }
        }
        // A call its body refuses whatever its project's organization is not looked up: nothing
        // goes upstream for it, nothing is taken from its limit, and its refusal stays its own
        // (not a 429 once the lookups have spent the limit). One that waits for a person's
        // approval is: a project outside the agent's scope is refused before a person is asked.
        if d.verdict == Verdict::Deny && d.enforced && d.reason != Reason::ApprovalRequired {
            d.organization_lookup = None;
        }
        if let Some(project) = d.organization_lookup {
            let found = gw.project_organizations.borrow().lookup(project, self.now_ms);
            match found {
                project_organizations::Lookup::Organization(org) => {
                    d.apply_project_organization(&gw.policy, Some(&org))
                }
                project_organizations::Lookup::Ask if !self.looked_up => {
                    self.looked_up = true;
                    self.organization_lookup = true;
                    self.lookups.push((None, project.to_string()));
                    // A lookup is a call upstream with the real token: it takes one from the
                    // agent's limit first, whatever it answers, so that naming a new project on
                    // every call costs no more calls upstream than the limit allows.
                    if let Some((agent, rl)) = d.agent.and_then(|a| a.rate_limit.as_ref().map(|rl| (a, rl))) {
                        self.area_index = d.endpoint.map(|e| e.area.index());
                        let checks = vec![Check::Rate(format!("bollard.rl.{}", agent.id), rl.per_minute)];
                        self.counting = Counting { checks, resume, lookup: true, ..Counting::default() };
                        self.state = State::AwaitCounter;
                        self.read_next_counter();
                        return Flow::Hold;
                    }
                    self.send_lookup();
                    return Flow::Hold;
                }
                // Asked already (or the call could not be sent), or asked lately with no answer
                // that placed it: an unknown organization is refused.
                project_organizations::Lookup::Ask | project_organizations::Lookup::Nowhere => {
                    d.apply_project_organization(&gw.policy, None)
                }
            }
        }
        // An approved call's use is counted with the rate limits, after them.
        let approval_use = d.take_approval_use();
        self.conclude(head, &d, resume, approval_use)
    }

    /// Sends the project lookup the decision waits for (its organization).
    fn send_lookup(&mut self) {
        self.state = State::AwaitLookups;
        if let Some((_, project)) = self.lookups.first() {
            let call = project_details(&self.gw, project);
            self.actions.push_back(Action::Lookup(0, call));
        }
    }

    /// After a lookup was sent or answered: decide again once every one is settled.
    fn after_lookup(&mut self, from_callout: bool) -> Flow {
        if self.lookups_answered < self.lookups.len() {
            return Flow::Hold;
        }
        // Decided again in a callout's callback, the held request must be resumed there.
        self.decide(from_callout)
    }

    /// A final decision: refuse, or take the rate limits and forward.
    fn conclude(&mut self, head: &Head, d: &Decision, resume: bool, approval_use: Option<UseCheck>) -> Flow {
        let request_id = self.request_id.clone();
        let status = d.refusal_status();
        let record = AuditRecord::new(
            d,
            &head.method,
            &head.target,
            Completion {
                unix_ms: self.started_ms,
                request_id: request_id.as_deref(),
                status: status.unwrap_or(0),
                duration_ms: 0.0,
            },
        );
        self.agent_index = d.agent.map(|a| a.index);
        self.area_index = d.endpoint.map(|e| e.area.index());
        self.record = Some(record);
        if let Some(status) = status {
            let body = refusal::body(d, &head.method, request_id.as_deref());
            self.reply(status, body, d.agent.is_some().then_some(d.verdict), None);
            return Flow::Hold;
        }
        let (Some(agent), Some(_)) = (d.agent, d.endpoint) else {
            // Forwarding needs an identified agent and an endpoint; anything else is refused.
            return self.internal_error();
        };
        // Rate limits count what the policy allows; monitor mode records but does not apply them,
        // and does not count the denied calls it forwards (enforce mode refuses them before).
        // A call whose lookup took from the agent-wide limit is not counted there again.
        let first = self.counting.first;
        let counted = first.is_some();
        let mut checks = Vec::new();
        if let (Some(rl), Verdict::Allow) = (&agent.rate_limit, d.verdict) {
            if !counted {
                checks.push(Check::Rate(format!("bollard.rl.{}", agent.id), rl.per_minute));
            }
            if let (Some(n), Some(e)) = (d.index.and_then(|i| rl.for_endpoint(i)), d.endpoint) {
                checks.push(Check::Rate(format!("bollard.rl.{}.{}", agent.id, e.id), n));
            }
        }
        checks.extend(approval_use.map(Check::Use));
        self.prepare_forward(head, d);
        if checks.is_empty() {
            self.forward(resume);
            return Flow::Continue;
        }
        self.counting = Counting { checks, resume, first, counted, ..Counting::default() };
        self.state = State::AwaitCounter;
        self.read_next_counter();
        Flow::Hold
    }

    /// What the forward will carry, fixed while the decision is at hand.
    fn prepare_forward(&mut self, head: &Head, d: &Decision) {
        let Some(agent) = d.agent else { return };
        let b = d.behaviour;
        self.guard = match b.response {
            Some(ResponseRule::List(list)) if lists::applies(list, agent, d.location.organization()) => {
                self.agent_index.map(|i| ResponseGuard { rule: ResponseRule::List(list), agent: i, encoded: false })
            }
            Some(rule @ ResponseRule::Secrets(_)) if !agent.reveal_secrets => {
                self.agent_index.map(|i| ResponseGuard { rule, agent: i, encoded: false })
            }
            _ => None,
        };
        let mut set: Vec<(&'static str, Cow<'static, str>)> = Vec::with_capacity(6);
        set.push(("authorization", self.gw.bearer.expose().to_string().into()));
        set.push(("x-bollard-agent", agent.id.clone().into()));
        set.push(("x-bollard-endpoint", d.endpoint.map(|e| e.id).unwrap_or_default().into()));
        set.push(("x-bollard-decision", d.verdict.as_str().into()));
        if self.guard.is_some() {
            set.push(("accept-encoding", "identity".into()));
        }
        if let (Some(param), false) = (b.reveal_param, agent.reveal_secrets) {
            if let Some((path, q)) = head.target.split_once('?') {
                if let Some(rest) = query::without(q, param) {
                    let target = if rest.is_empty() { path.to_string() } else { format!("{path}?{rest}") };
                    set.push((":path", target.into()));
                }
            }
        }
        let mut remove = std::mem::take(&mut self.drop);
        // A rewritten response answers for a body upstream never sent: a conditional request
        // would ask upstream about the body it has (secrets, every project) and learn from 304/412.
        if self.guard.is_some() {
            for name in &head.conditional {
                drop_once(&mut remove, name);
            }
        }
        self.pending_forward = Some(Forward { remove, set, resume: false });
    }

    /// Queues the forward prepared at the decision: the only place a request goes upstream.
    fn forward(&mut self, resume: bool) {
        let Some(mut f) = self.pending_forward.take() else {
            self.internal_error();
            return;
        };
        f.resume = resume;
        self.state = State::Forwarded;
        self.actions.push_back(Action::Forward(f));
    }

    fn reply(&mut self, status: u16, body: String, verdict: Option<Verdict>, limit: Option<&Take>) {
        let mut headers: Vec<(&'static str, String)> = vec![("content-type", "application/json".into())];
        if let Some(v) = verdict {
            headers.push(("x-bollard-decision", v.as_str().into()));
        }
        if let Some(id) = &self.request_id {
            headers.push(("x-bollard-request-id", id.clone()));
        }
        if let Some(t) = limit {
            headers.extend(limit_headers(t));
            headers.push(("retry-after", t.reset_secs.to_string()));
        }
        self.status = Some(status);
        self.state = State::Replied;
        self.pending_forward = None;
        self.actions.push_back(Action::Reply(Reply { status, headers, body }));
    }

    /// A 500 that is never forwarded, with a record that says so.
    fn internal_error(&mut self) -> Flow {
        if self.record.is_none() {
            self.record = Some(self.undecided("the gateway could not decide the request"));
        }
        if let Some(r) = &mut self.record {
            r.decision = Verdict::Deny.as_str();
            r.enforced = true;
            r.status = 500;
        }
        let body = refusal::internal_error(self.request_id.as_deref());
        // Every response to an identified agent carries the decision: this one refuses.
        let verdict = self.agent_index.map(|_| Verdict::Deny);
        self.reply(500, body, verdict, None);
        Flow::Hold
    }

    /// An event the state does not expect: a request still held is refused; one already
    /// forwarded or answered is left as it is.
    fn unexpected(&mut self, what: &str) -> Flow {
        match self.state {
            State::Forwarded => Flow::Continue,
            State::Replied => Flow::Hold,
            _ => {
                self.record = Some(self.undecided(what));
                if let Some(r) = &mut self.record {
                    r.reason = "unexpected_event";
                }
                self.internal_error()
            }
        }
    }

    /// The record of a request that was not decided: nothing was forwarded.
    fn undecided(&self, why: &str) -> AuditRecord {
        let mut r = AuditRecord::undecided(self.started_ms, &self.head.method, &self.head.target);
        r.request_id = self.request_id.clone();
        r.summary = format!("A request ended undecided ({why}): nothing was forwarded.");
        r
    }

    fn body_too_large(&mut self) -> Flow {
        self.decide_as(false, true)
    }

    /// `GET /_bollard/whoami` and `GET /_bollard/explain`: answered here, never forwarded.
    fn self_discovery(&mut self) -> Flow {
        let gw = self.gw.clone();
        let gw = &*gw;
        let auth: Vec<&str> = self.head.authorization.iter().map(String::as_str).collect();
        let Ok(agent) = identify(&gw.policy, &auth, self.started_ms) else {
            // Refused exactly like any other unidentified call.
            return self.decide(false);
        };
        let target = self.head.target.clone();
        let (path, query) = target.split_once('?').map_or((target.as_str(), None), |(p, q)| (p, Some(q)));
        let (id, status, body) = match (self.head.method.as_str(), path) {
            ("GET", "/_bollard/whoami") => {
                ("bollard_whoami", 200, discovery::whoami(&gw.policy, agent, self.started_ms))
            }
            ("GET", "/_bollard/explain") => {
                let (s, b) = discovery::explain(&gw.policy, &gw.catalog, agent, query, self.started_ms);
                ("bollard_explain", s, b)
            }
            _ => ("bollard_unknown", 404, discovery::NOT_FOUND.to_string()),
        };
        let ok = status == 200;
        let mut record = AuditRecord::new(
            &Decision::discovery(agent),
            &self.head.method,
            &self.head.target,
            Completion {
                unix_ms: self.started_ms,
                request_id: self.head.request_id.as_deref(),
                status,
                duration_ms: 0.0,
            },
        );
        record.endpoint = Some(id);
        record.path = crate::target::loggable_path(path);
        record.decision = if ok { "allow" } else { "deny" };
        record.reason = match status {
            200 => "self_discovery",
            400 => "invalid_query",
            _ => "unknown_endpoint",
        };
        record.summary = format!(
            "{} asked the gateway {}: {}.",
            agent.name,
            if id == "bollard_explain" { "to explain a decision" } else { "what it may do" },
            if ok { "answered" } else { "refused" }
        );
        self.agent_index = Some(agent.index);
        self.record = Some(record);
        let verdict = if ok { Verdict::Allow } else { Verdict::Deny };
        self.reply(status, body, Some(verdict), None);
        Flow::Hold
    }

    fn read_next_counter(&mut self) {
        match self.counting.checks.get(self.counting.at) {
            Some(check) => self.actions.push_back(Action::ReadCounter(check.key().to_string())),
            None if self.counting.lookup => {
                self.counting.lookup = false;
                self.send_lookup();
            }
            None => {
                let resume = self.counting.resume;
                self.forward(resume);
            }
        }
    }

    fn counter_read(&mut self, value: Option<&[u8]>, cas: Option<u32>) -> Flow {
        // A counter no worker has written yet is created only if none does first.
        let cas = Some(cas.unwrap_or(CREATE_ONLY));
        let (key, limit) = match self.counting.checks.get(self.counting.at).cloned() {
            Some(Check::Rate(key, limit)) => (key, limit),
            Some(Check::Use(check)) => {
                let t = approval::take_use(&check, value.and_then(Uses::decode));
                if !t.allowed {
                    return self.approval_refused(Some(t));
                }
                self.counting.pending = Some((t.used, cas));
                self.actions.push_back(Action::WriteCounter { key: check.key, value: t.next.encode(), cas });
                return self.flow_while_counting();
            }
            None => return self.unexpected("a counter value nobody asked for"),
        };
        let now_secs = self.now_ms / 1000;
        let t = rate_limit::take(limit, now_secs, value.and_then(Window::decode));
        if !t.allowed {
            return self.over_limit(t);
        }
        self.counting.pending = Some((limit, cas));
        if self.counting.at == 0 && !self.counting.counted {
            self.counting.first = Some(t);
        }
        self.actions.push_back(Action::WriteCounter { key, value: t.next.encode(), cas });
        self.flow_while_counting()
    }

    fn counter_written(&mut self, ok: bool) -> Flow {
        let check = self.counting.checks.get(self.counting.at).cloned();
        if let (true, Some(Check::Use(c)), Some((used, _))) = (ok, &check, self.counting.pending) {
            if let Some(r) = self.record.as_mut() {
                r.approval_used(used, c.uses);
            }
        }
        if !ok && matches!(check, Some(Check::Use(_))) && self.counting.attempts + 1 >= MAX_COUNTER_ATTEMPTS {
            // The use could not be counted: refused rather than let past uncounted.
            return self.approval_refused(None);
        }
        if ok {
            self.counting.at += 1;
            self.counting.attempts = 0;
            self.read_next_counter();
            return self.flow_while_counting();
        }
        self.counting.attempts += 1;
        if self.counting.attempts >= MAX_COUNTER_ATTEMPTS {
            // The shared count could not be updated: refused rather than let past uncounted.
            let limit = self.counting.pending.map(|(l, _)| l).unwrap_or(0);
            return self.over_limit(Take {
                allowed: false,
                limit,
                remaining: 0,
                reset_secs: 60,
                next: Window { minute: 0, count: 0 },
            });
        }
        if let Some(check) = self.counting.checks.get(self.counting.at) {
            self.actions.push_back(Action::ReadCounter(check.key().to_string()));
        }
        self.flow_while_counting()
    }

    /// The approval's uses are all taken (or could not be counted): the call needs a new
    /// approval. The refusal speaks of the decision, made again from the same inputs.
    fn approval_refused(&mut self, taken: Option<UseTake>) -> Flow {
        let (status, record, body, forward) = self.remade(|gw, head, request_id, started_ms, d| {
            d.apply_use(&gw.policy, taken);
            let status = if d.forward() { 0 } else { d.reason.status() };
            let record = AuditRecord::new(
                d,
                &head.method,
                &head.target,
                Completion { unix_ms: started_ms, request_id, status, duration_ms: 0.0 },
            );
            (status, record, refusal::body(d, &head.method, request_id), d.forward())
        });
        self.record = Some(record);
        if forward {
            // Monitor mode: recorded as held, forwarded.
            self.counting.at += 1;
            self.read_next_counter();
            return self.flow_while_counting();
        }
        self.reply(status, body, Some(Verdict::Deny), None);
        Flow::Hold
    }

    /// The decision made again from the same inputs, for a refusal that comes after it allowed
    /// (a limit or an approval's uses): the body as read, the lookups already resolved.
    fn remade<R>(&self, f: impl FnOnce(&Gateway, &Head, Option<&str>, u64, &mut Decision) -> R) -> R {
        let gw = self.gw.clone();
        let head = &self.head;
        let auth = head.authorization_values();
        let request = head.request(auth.as_slice(), self.now_ms);
        let mut d = decide(&gw.policy, &gw.catalog, &request);
        if head.content_encoded {
            d.body_encoded();
        }
        d.apply_body(&gw.policy, head.content_type.as_deref(), self.body.as_deref().unwrap_or_default());
        d.branch_lookup = None;
        d.organization_lookup = None;
        f(&gw, head, self.request_id.as_deref(), self.started_ms, &mut d)
    }

    /// Counting happens within one callback: the flow is the forward's once it is queued.
    fn flow_while_counting(&self) -> Flow {
        match self.state {
            State::Forwarded => Flow::Continue,
            _ => Flow::Hold,
        }
    }

    fn over_limit(&mut self, t: Take) -> Flow {
        if self.gw.policy.mode == Mode::Monitor {
            // Recorded, not applied: the record says the limit would refuse the call (one monitor
            // mode forwards denied keeps its own reason); then the next limit, or the forward.
            let mut record = self.record.take();
            if let Some(r) = record.as_mut().filter(|r| r.decision == Verdict::Allow.as_str()) {
                self.remade(|_, _, _, _, d| r.rate_limited(d, t.limit, false));
            }
            self.record = record;
            self.counting.at += 1;
            self.read_next_counter();
            return self.flow_while_counting();
        }
        // The refusal speaks of the decision: made again from the same inputs (it allowed). A
        // call refused before its lookup has no record yet.
        let mut record = self.record.take();
        let body = self.remade(|_, head, request_id, unix_ms, d| {
            let completion = Completion { unix_ms, request_id, status: 429, duration_ms: 0.0 };
            record
                .get_or_insert_with(|| AuditRecord::new(d, &head.method, &head.target, completion))
                .rate_limited(d, t.limit, true);
            refusal::rate_limited(d, &head.method, request_id, t.limit, t.reset_secs)
        });
        self.record = record;
        self.reply(429, body, Some(Verdict::Deny), Some(&t));
        Flow::Hold
    }

    /// The response headers of a forwarded request: the decision and request id for the agent,
    /// the gateway's own rate-limit state, and what a guarded body needs.
    fn annotate_response(&mut self, content_encoding: Option<&[u8]>, end_of_stream: bool) {
        let mut edits: Vec<(&'static str, Option<Cow<'static, str>>)> = Vec::with_capacity(11);
        if let Some(r) = &self.record {
            edits.push(("x-bollard-decision", Some(r.decision.into())));
            if let Some(id) = &r.request_id {
                edits.push(("x-bollard-request-id", Some(id.clone().into())));
            }
        }
        // Supabase's own X-RateLimit-* answer passes through unless the gateway limits.
        if let Some(t) = self.counting.first {
            for (k, v) in limit_headers(&t) {
                edits.push((k, Some(v.into())));
            }
        }
        if let Some(g) = &mut self.guard {
            // Upstream's validator and digests are of the body before the rewrite (Express's ETag
            // is its length and SHA-1): with them, a redacted secret could be guessed offline.
            for name in ["etag", "content-md5", "digest", "content-digest", "repr-digest"] {
                edits.push((name, None));
            }
            if !end_of_stream {
                g.encoded = content_encoding
                    .is_some_and(|e| !String::from_utf8_lossy(e).trim().eq_ignore_ascii_case("identity"));
                // The body will change length.
                edits.push(("content-length", None));
            }
        }
        if !edits.is_empty() {
            self.actions.push_back(Action::EditResponseHeaders(edits));
        }
    }

    /// Redacts secrets or filters a list; what cannot be read is withheld, never passed on.
    fn guard_response(&mut self, body: &[u8]) {
        let Some(g) = self.guard else { return };
        let rewritten = if g.encoded {
            None
        } else {
            match g.rule {
                ResponseRule::Secrets(fields) => secrets::redact(body, fields),
                ResponseRule::List(list) => {
                    self.gw.policy.agents().get(g.agent).and_then(|agent| lists::filter(list, agent, body))
                }
            }
        };
        let out = match rewritten {
            Some(b) => b,
            // Empty indeed; a read that came back short of what the host holds rewrote nothing.
            None if body.is_empty() && self.response_buffered == 0 => return,
            None => br#"{"message":"Bollard could not inspect this response, so it was withheld.","code":"response_withheld"}"#.to_vec(),
        };
        self.actions.push_back(Action::ReplaceResponseBody(out));
    }
}

/// Whether a header name is one of the gateway's own annotations (`x-bollard-...`, any case).
fn is_bollard_header(name: &str) -> bool {
    name.as_bytes().get(..10).is_some_and(|p| p.eq_ignore_ascii_case(b"x-bollard-"))
}

/// The gateway's `X-RateLimit-*` headers.
fn limit_headers(t: &Take) -> [(&'static str, String); 3] {
    [
        ("x-ratelimit-limit", t.limit.to_string()),
        ("x-ratelimit-remaining", t.remaining.to_string()),
        ("x-ratelimit-reset", t.reset_secs.to_string()),
    ]
}

/// `GET /v1/projects/{project}` with the real token: the project's organization.
fn project_details(gw: &Gateway, project: &str) -> Callout {
    upstream_get(gw, format!("/v1/projects/{project}"))
}

/// `GET /v1/projects/{project}/branches` with the real token.
fn branch_listing(gw: &Gateway, project: &str) -> Callout {
    upstream_get(gw, format!("/v1/projects/{project}/branches"))
}

/// A `GET` to Supabase with the real token, read as plain JSON.
fn upstream_get(gw: &Gateway, path: String) -> Callout {
    Callout {
        cluster: UPSTREAM_CLUSTER,
        headers: vec![
            (":method", "GET".into()),
            (":path", path),
            (":authority", UPSTREAM_HOST.into()),
            ("authorization", gw.bearer.expose().to_string()),
            ("accept", "application/json".into()),
            ("accept-encoding", "identity".into()),
        ],
    }
}
