//! The proxy-wasm glue: reads what the decision needs from the host, hands it to the core, and
//! carries the result back (forward with the real token, or reply). No decision logic lives here.

mod metrics;

use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics::Metrics;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use std::cell::RefCell;
use std::collections::HashMap;

use crate::audit::{AuditRecord, Completion};
use crate::branches::{BranchCache, Lookup};
use crate::catalog::Catalog;
use crate::decision::{decide, identify, Decision, Request, Verdict, METHOD_OVERRIDE_HEADERS};
use crate::discovery;
use crate::guards::{lists, secrets};
use crate::policy::{Mode, Policy};
use crate::rate_limit::{self, Take, Window};
use crate::refusal;
use crate::secret::Secret;

/// The filter-state key Envoy's access log reads: `%FILTER_STATE(wasm.bollard_audit:PLAIN)%`.
const AUDIT_PROPERTY: &str = "bollard_audit";

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    std::panic::set_hook(Box::new(|info| {
        log::error!("bollard: panic: {info}");
    }));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(BollardRoot::default()) });
}}

/// What every request of this VM shares once the policy is loaded.
struct Loaded {
    policy: Policy,
    catalog: Catalog,
    token: Secret,
}

#[derive(Default)]
struct BollardRoot {
    loaded: Option<Rc<Loaded>>,
    metrics: Rc<Metrics>,
    branches: Rc<RefCell<BranchCache>>,
}

impl Context for BollardRoot {}

impl RootContext for BollardRoot {
    fn on_vm_start(&mut self, _: usize) -> bool {
        log::info!("bollard {} ({}) starting", crate::VERSION, crate::GIT_REVISION);
        true
    }

    fn on_configure(&mut self, _: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        match load(&config) {
            Ok(loaded) => {
                log::info!(
                    "bollard: policy loaded: {} agents, mode {}",
                    loaded.policy.agents().len(),
                    loaded.policy.mode.as_str()
                );
                self.loaded = Some(Rc::new(loaded));
                self.metrics.count("bollard.policy.loads");
                true
            }
            Err(e) => {
                log::error!("bollard: policy refused: {e}");
                self.metrics.count("bollard.policy.load_failures");
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(BollardHttp {
            loaded: self.loaded.clone(),
            metrics: self.metrics.clone(),
            record: None,
            started: None,
            limit_headers: None,
            pending: None,
            response_guard: None,
            response_encoded: false,
            branches: self.branches.clone(),
            callouts: HashMap::new(),
            held_body: None,
            listed_once: false,
        }))
    }
}

fn load(config: &[u8]) -> Result<Loaded, String> {
    let text = std::str::from_utf8(config).map_err(|_| "policy: the configuration is not UTF-8".to_string())?;
    let policy = Policy::from_json(text).map_err(|e| e.to_string())?;
    let token = policy.upstream_token(|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
    let catalog = Catalog::new()?;
    Ok(Loaded { policy, catalog, token })
}

/// What the decision reads from the request headers, owned, so a decision that waits for the
/// body can be made again from the same inputs when the body has arrived.
#[derive(Default)]
struct Head {
    method: String,
    target: String,
    authorization: Vec<String>,
    request_id: Option<String>,
    method_override: bool,
    content_type: Option<String>,
    content_length: Option<usize>,
    /// Client headers that never go upstream (`apikey`, `cookie`, `x-bollard-*`, ...).
    strip: Vec<String>,
}

/// What a response must go through before the agent sees it.
enum ResponseGuard {
    Secrets(&'static [&'static str]),
    List(lists::ScopedList, String),
}

struct BollardHttp {
    loaded: Option<Rc<Loaded>>,
    metrics: Rc<Metrics>,
    /// The agent-wide limit's state after this request, echoed on the response.
    limit_headers: Option<Take>,
    /// The audit record, completed with status and duration when the request ends.
    record: Option<AuditRecord>,
    started: Option<SystemTime>,
    /// Headers of a request whose decision waits for its body.
    pending: Option<Head>,
    response_guard: Option<ResponseGuard>,
    /// The response has a content encoding the guards cannot read (read with its headers: the
    /// header map cannot be read from the body callback).
    response_encoded: bool,
    /// Branches learned from upstream, shared by the VM's requests.
    branches: Rc<RefCell<BranchCache>>,
    /// Branch listings in flight: callout token → the project listed.
    callouts: HashMap<u32, String>,
    /// The body read for a decision that then waited for a branch listing.
    held_body: Option<Vec<u8>>,
    /// This request already asked for branch listings (once per request, answered or not).
    listed_once: bool,
}

/// The cluster Envoy's configs name for Supabase, and the host it answers to.
const UPSTREAM_CLUSTER: &str = "supabase";
const UPSTREAM_HOST: &str = "api.supabase.com";

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A request id safe to echo: Envoy's `x-request-id`, when it is plain.
fn clean_request_id(v: &str) -> Option<String> {
    let ok = !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| v.to_string())
}

fn limit_header_values(t: &Take) -> [(String, String); 3] {
    [
        ("x-ratelimit-limit".into(), t.limit.to_string()),
        ("x-ratelimit-remaining".into(), t.remaining.to_string()),
        ("x-ratelimit-reset".into(), t.reset_secs.to_string()),
    ]
}

impl Context for BollardHttp {
    fn on_http_call_response(&mut self, token: u32, _: usize, body_size: usize, _: usize) {
        let Some(project) = self.callouts.remove(&token) else { return };
        let ok = self.get_http_call_response_header_bytes(":status").is_some_and(|s| s.as_slice() == b"200");
        if ok {
            let body = self.get_http_call_response_body(0, body_size).unwrap_or_default();
            let now_ms = unix_ms(self.get_current_time());
            self.branches.borrow_mut().record_listing(&project, &body, now_ms);
        }
        if !self.callouts.is_empty() {
            return;
        }
        let (Some(loaded), Some(head)) = (self.loaded.clone(), self.pending.take()) else { return };
        let body = self.held_body.take();
        // Decide again: the listings are in the cache now, or the branch stays unresolved.
        match self.process(&loaded, &head, body.as_deref(), true) {
            Action::Continue => self.resume_http_request(),
            Action::Pause if self.record.is_none() => self.pending = Some(head),
            _ => {}
        }
    }
}

impl BollardHttp {
    fn reply(&self, status: u16, body: &str, decision: Option<&str>, request_id: Option<&str>, limit: Option<&Take>) {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(d) = decision {
            headers.push(("x-bollard-decision".into(), d.into()));
        }
        if let Some(id) = request_id {
            headers.push(("x-bollard-request-id".into(), id.into()));
        }
        if let Some(t) = limit {
            headers.extend(limit_header_values(t));
            headers.push(("retry-after".into(), t.reset_secs.to_string()));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.send_http_response(u32::from(status), headers, Some(body.as_bytes()));
    }

    /// Takes one request from a shared-data counter, retrying when another worker wrote first.
    /// Returns `None` when the host cannot be read or written: the caller refuses (fail closed).
    fn take(&self, key: &str, limit: u32, now_secs: u64) -> Option<Take> {
        for _ in 0..8 {
            let (value, cas) = self.get_shared_data(key);
            let current = value.as_deref().and_then(Window::decode);
            let t = rate_limit::take(limit, now_secs, current);
            if !t.allowed {
                return Some(t);
            }
            if self.set_shared_data(key, Some(&t.next.encode()), cas).is_ok() {
                return Some(t);
            }
        }
        None
    }

    /// Reads every request header once, as bytes (the SDK's string form panics on a value that
    /// is not UTF-8); every copy of a repeated header is seen.
    fn read_head(&self) -> Head {
        let mut h = Head::default();
        for (name, value) in self.get_http_request_headers_bytes() {
            let value = String::from_utf8_lossy(&value).into_owned();
            match name.as_str() {
                ":method" => h.method = value,
                ":path" => h.target = value,
                "authorization" => h.authorization.push(value),
                "x-request-id" => h.request_id = clean_request_id(&value),
                "content-type" => h.content_type = Some(value),
                "content-length" => h.content_length = value.trim().parse().ok(),
                // Never credentials to Bollard, never forwarded.
                "apikey" | "cookie" | "proxy-authorization" => h.strip.push(name),
                n if n.starts_with("x-bollard-") => h.strip.push(name),
                n if METHOD_OVERRIDE_HEADERS.contains(&n) => h.method_override = true,
                _ => {}
            }
        }
        h
    }

    /// Decides, completes the decision with the body when it has one, and applies the result.
    fn process(&mut self, loaded: &Rc<Loaded>, head: &Head, body: Option<&[u8]>, end_of_stream: bool) -> Action {
        let auth: Vec<&str> = head.authorization.iter().map(String::as_str).collect();
        let request = Request {
            method: &head.method,
            target: &head.target,
            authorization: &auth,
            method_override: head.method_override,
        };
        let mut d = decide(&loaded.policy, &loaded.catalog, &request);
        if d.body_check.is_some() {
            let limit = loaded.policy.max_body_bytes;
            if head.content_length.is_some_and(|n| n > limit) {
                d.body_too_large(limit);
            } else if let Some(b) = body {
                d.apply_body(&loaded.policy, head.content_type.as_deref(), b);
            } else if end_of_stream {
                d.apply_body(&loaded.policy, head.content_type.as_deref(), b"");
            } else {
                return Action::Pause;
            }
        }
        if let (Some(key), Some(agent)) = (d.branch_lookup, d.agent) {
            let projects = match &agent.projects {
                crate::policy::Scope::Only(list) => list.as_slice(),
                crate::policy::Scope::All => &[],
            };
            let now_ms = unix_ms(self.get_current_time());
            let found = self.branches.borrow().lookup(key, projects, now_ms);
            match found {
                Lookup::Parent(parent) => d.apply_branch_parent(&loaded.policy, Some(&parent)),
                Lookup::NotAmong => d.apply_branch_parent(&loaded.policy, None),
                Lookup::List(stale) if !self.listed_once && self.list_branches(loaded, &stale) => {
                    self.listed_once = true;
                    self.held_body = body.map(<[u8]>::to_vec);
                    return Action::Pause;
                }
                // Listings already answered (or none could be sent): what is not known is refused.
                Lookup::List(_) => d.apply_branch_parent(&loaded.policy, None),
            }
        }
        self.finish(loaded, head, &d)
    }

    /// Asks upstream for the branches of `projects`, with the real token. False when no call
    /// could be sent (the branch is then refused: it cannot be resolved).
    fn list_branches(&mut self, loaded: &Rc<Loaded>, projects: &[String]) -> bool {
        let auth = format!("Bearer {}", loaded.token.expose());
        for project in projects.iter().take(16) {
            let path = format!("/v1/projects/{project}/branches");
            let headers = vec![
                (":method", "GET"),
                (":path", path.as_str()),
                (":authority", UPSTREAM_HOST),
                ("authorization", auth.as_str()),
                ("accept", "application/json"),
                ("accept-encoding", "identity"),
            ];
            if let Ok(token) = self.dispatch_http_call(UPSTREAM_CLUSTER, headers, None, vec![], Duration::from_secs(5))
            {
                self.callouts.insert(token, project.clone());
            }
        }
        !self.callouts.is_empty()
    }

    /// Answers or forwards a final decision.
    fn finish(&mut self, loaded: &Rc<Loaded>, head: &Head, d: &Decision) -> Action {
        let now = self.started.unwrap_or(UNIX_EPOCH);
        let request_id = head.request_id.as_deref();
        let status = d.refusal_status();
        let mut record = AuditRecord::new(
            d,
            &head.method,
            &head.target,
            Completion { unix_ms: unix_ms(now), request_id, status: status.unwrap_or(0), duration_ms: 0.0 },
        );
        let verdict = d.verdict.as_str();
        if let Some(status) = status {
            let body = refusal::body(d, &head.method, request_id);
            self.record = Some(record);
            self.reply(status, &body, d.agent.is_some().then_some(verdict), request_id, None);
            return Action::Pause;
        }
        let (Some(agent), Some(endpoint)) = (d.agent, d.endpoint) else {
            // Forwarding needs an identified agent and an endpoint; anything else is refused.
            self.record = Some(record);
            self.reply(500, &refusal::internal_error(request_id), None, request_id, None);
            return Action::Pause;
        };
        // Rate limits apply to what would be forwarded; monitor mode records but does not apply them.
        if let Some(rl) = &agent.rate_limit {
            let now_secs = unix_ms(now) / 1000;
            let mut checks = vec![(format!("bollard.rl.{}", agent.id), rl.per_minute)];
            if let Some(n) = d.endpoint_index().and_then(|i| rl.for_endpoint(i)) {
                checks.push((format!("bollard.rl.{}.{}", agent.id, endpoint.id), n));
            }
            for (key, limit) in checks {
                let taken = self.take(&key, limit, now_secs);
                let over = taken.is_none_or(|t| !t.allowed);
                if over && loaded.policy.mode == Mode::Enforce {
                    let t = taken.unwrap_or(Take {
                        allowed: false,
                        limit,
                        remaining: 0,
                        reset_secs: 60,
                        next: Window { minute: 0, count: 0 },
                    });
                    self.metrics.count(&format!("bollard.rate_limited.agent.{}", agent.id));
                    record.rate_limited(d, limit);
                    let body = refusal::rate_limited(d, &head.method, request_id, limit, t.reset_secs);
                    self.record = Some(record);
                    self.reply(429, &body, Some("deny"), request_id, Some(&t));
                    return Action::Pause;
                }
                if self.limit_headers.is_none() {
                    self.limit_headers = taken;
                }
            }
        }
        self.record = Some(record);
        for name in &head.strip {
            self.set_http_request_header(name, None);
        }
        self.set_http_request_header("authorization", None);
        self.add_http_request_header("authorization", &format!("Bearer {}", loaded.token.expose()));
        self.set_http_request_header("x-bollard-agent", Some(&agent.id));
        self.set_http_request_header("x-bollard-endpoint", Some(endpoint.id));
        self.set_http_request_header("x-bollard-decision", Some(verdict));
        // Responses that carry secrets or account-wide lists are read before the agent sees them.
        self.response_guard = if let Some(list) = lists::for_endpoint(endpoint.id, agent) {
            Some(ResponseGuard::List(list, agent.id.clone()))
        } else if agent.reveal_secrets {
            None
        } else {
            secrets::fields(endpoint.id).map(ResponseGuard::Secrets)
        };
        if self.response_guard.is_some() {
            self.set_http_request_header("accept-encoding", Some("identity"));
        }
        if endpoint.id == "list_api_keys" && !agent.reveal_secrets {
            if let Some(path) = without_query_param(&head.target, "reveal") {
                self.set_http_request_header(":path", Some(&path));
            }
        }
        if d.body_check.is_none() && self.pending.is_some() {
            // The decision waited for the body; let the held request go on.
            self.pending = None;
        }
        Action::Continue
    }

    /// `GET /_bollard/whoami` and `GET /_bollard/explain`: answered here, never forwarded.
    fn self_discovery(&mut self, loaded: &Rc<Loaded>, head: &Head) -> Action {
        let auth: Vec<&str> = head.authorization.iter().map(String::as_str).collect();
        let request_id = head.request_id.as_deref();
        let agent = match identify(&loaded.policy, &auth) {
            Ok(a) => a,
            Err(_) => {
                // Refused exactly like any other unidentified call.
                return self.process(loaded, head, None, true);
            }
        };
        let (path, query) = head.target.split_once('?').map_or((head.target.as_str(), None), |(p, q)| (p, Some(q)));
        let (id, status, body) = match (head.method.as_str(), path) {
            ("GET", "/_bollard/whoami") => ("bollard_whoami", 200, discovery::whoami(&loaded.policy, agent)),
            ("GET", "/_bollard/explain") => {
                let (s, b) = discovery::explain(&loaded.policy, &loaded.catalog, agent, query);
                ("bollard_explain", s, b)
            }
            _ => (
                "bollard_unknown",
                404,
                r#"{"message":"Bollard answers GET /_bollard/whoami and GET /_bollard/explain?method=M&path=P.","code":"unknown_endpoint"}"#.to_string(),
            ),
        };
        let ok = status == 200;
        let mut record = AuditRecord::new(
            &Decision::discovery(agent),
            &head.method,
            &head.target,
            Completion { unix_ms: unix_ms(self.started.unwrap_or(UNIX_EPOCH)), request_id, status, duration_ms: 0.0 },
        );
        record.endpoint = Some(id);
        record.path = path.to_string();
        record.decision = if ok { "allow" } else { "deny" };
        record.reason = if ok { "self_discovery" } else { "unknown_endpoint" };
        record.summary = format!(
            "{} asked the gateway {}: {}.",
            agent.name,
            if id == "bollard_explain" { "to explain a decision" } else { "what it may do" },
            if ok { "answered" } else { "refused" }
        );
        self.record = Some(record);
        self.reply(status, &body, Some(if ok { "allow" } else { "deny" }), request_id, None);
        Action::Pause
    }
}

/// The target without one query parameter, or `None` when it has none of that name.
fn without_query_param(target: &str, name: &str) -> Option<String> {
    let (path, query) = target.split_once('?')?;
    let kept: Vec<&str> = query.split('&').filter(|p| p.split('=').next() != Some(name)).collect();
    if kept.len() == query.split('&').count() {
        return None;
    }
    Some(if kept.is_empty() { path.to_string() } else { format!("{path}?{}", kept.join("&")) })
}

impl HttpContext for BollardHttp {
    fn on_http_request_headers(&mut self, _: usize, end_of_stream: bool) -> Action {
        self.started = Some(self.get_current_time());
        let Some(loaded) = self.loaded.clone() else {
            // No policy: nothing may pass.
            self.reply(500, &refusal::internal_error(None), None, None, None);
            return Action::Pause;
        };
        let head = self.read_head();
        #[cfg(feature = "fault-injection")]
        fault_injection(&self.get_http_request_headers_bytes());
        if head.target.starts_with(discovery::PREFIX) {
            return self.self_discovery(&loaded, &head);
        }
        let action = self.process(&loaded, &head, None, end_of_stream);
        if matches!(action, Action::Pause) && self.record.is_none() {
            // The decision needs the body or a branch listing: hold the headers until then.
            self.pending = Some(head);
        }
        action
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let (Some(loaded), Some(head)) = (self.loaded.clone(), self.pending.take()) else {
            return Action::Continue;
        };
        if !self.callouts.is_empty() {
            // Branch listings are in flight; Envoy keeps the body until the request resumes.
            self.pending = Some(head);
            return Action::Pause;
        }
        let limit = loaded.policy.max_body_bytes;
        if body_size > limit || !end_of_stream {
            if body_size > limit {
                // Decide on what is known: the body is over the limit.
                let auth: Vec<&str> = head.authorization.iter().map(String::as_str).collect();
                let request = Request {
                    method: &head.method,
                    target: &head.target,
                    authorization: &auth,
                    method_override: head.method_override,
                };
                let mut d = decide(&loaded.policy, &loaded.catalog, &request);
                d.body_too_large(limit);
                return self.finish(&loaded, &head, &d);
            }
            self.pending = Some(head);
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        match self.process(&loaded, &head, Some(&body), true) {
            Action::Continue => {
                self.resume_http_request();
                Action::Continue
            }
            Action::Pause if self.record.is_none() => {
                // Waiting for a branch listing.
                self.pending = Some(head);
                Action::Pause
            }
            other => other,
        }
    }

    fn on_http_response_headers(&mut self, _: usize, end_of_stream: bool) -> Action {
        if let Some(record) = &self.record {
            if record.agent.is_some() && record.status == 0 {
                let decision = record.decision;
                let id = record.request_id.clone();
                self.set_http_response_header("x-bollard-decision", Some(decision));
                if let Some(id) = id {
                    self.set_http_response_header("x-bollard-request-id", Some(&id));
                }
                // Supabase's own X-RateLimit-* answer passes through unless the gateway limits.
                if let Some(t) = self.limit_headers {
                    for (k, v) in limit_header_values(&t) {
                        self.set_http_response_header(&k, Some(&v));
                    }
                }
            }
        }
        if self.response_guard.is_some() && !end_of_stream {
            self.response_encoded = self
                .get_http_response_header_bytes("content-encoding")
                .is_some_and(|e| !String::from_utf8_lossy(&e).trim().eq_ignore_ascii_case("identity"));
            // The body will change length.
            self.set_http_response_header("content-length", None);
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let Some(guard) = &self.response_guard else {
            return Action::Continue;
        };
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self.get_http_response_body(0, body_size).unwrap_or_default();
        let rewritten = if self.response_encoded {
            None
        } else {
            match guard {
                ResponseGuard::Secrets(fields) => secrets::redact(&body, fields),
                ResponseGuard::List(list, agent_id) => {
                    match self.loaded.as_ref().and_then(|l| l.policy.agent(agent_id)) {
                        Some(agent) => lists::filter(*list, agent, &body),
                        None => None,
                    }
                }
            }
        };
        let out = match rewritten {
            Some(b) => b,
            // Never pass on what could not be checked.
            None if body.is_empty() => body,
            None => br#"{"message":"Bollard could not inspect this response, so it was withheld.","code":"response_withheld"}"#.to_vec(),
        };
        self.set_http_response_body(0, body_size, &out);
        Action::Continue
    }

    fn on_log(&mut self) {
        let status = self
            .get_property(vec!["response", "code"])
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map(|b| i64::from_le_bytes(b) as u16)
            .unwrap_or(0);
        let elapsed = match self.started {
            Some(t) => self.get_current_time().duration_since(t).unwrap_or(Duration::ZERO),
            None => Duration::ZERO,
        };
        let mut record = match self.record.take() {
            Some(r) => r,
            None => unrecorded(unix_ms(self.get_current_time())),
        };
        if status != 0 {
            record.status = status;
        }
        record.duration_ms = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0;
        self.metrics.request(record.decision, record.area, record.agent.as_deref(), record.reason);
        let line = record.to_json();
        log::info!("{line}");
        // Hosts that keep no filter state (Kong) refuse this; the log line above still carries it.
        let _ = set_property_quietly(AUDIT_PROPERTY, line.as_bytes());
    }
}

/// `set_property` for one path segment, returning the host's status instead of panicking on it
/// as the SDK does (a panic would stop the VM for every request on that worker).
fn set_property_quietly(name: &str, value: &[u8]) -> Result<(), u32> {
    #[link(wasm_import_module = "env")]
    extern "C" {
        #[allow(clashing_extern_declarations)]
        fn proxy_set_property(path: *const u8, path_size: usize, value: *const u8, value_size: usize) -> u32;
    }
    // SAFETY: both buffers are valid for their lengths for the duration of the call; the host
    // copies them and keeps no pointer.
    let status = unsafe { proxy_set_property(name.as_ptr(), name.len(), value.as_ptr(), value.len()) };
    if status == 0 {
        Ok(())
    } else {
        Err(status)
    }
}

/// The record for a request the filter never saw the headers of (reset early): still one line.
fn unrecorded(unix_ms: u64) -> AuditRecord {
    AuditRecord {
        ts: crate::audit::rfc3339(unix_ms),
        request_id: None,
        agent: None,
        method: String::new(),
        path: String::new(),
        endpoint: None,
        area: None,
        permission: None,
        project: None,
        organization: None,
        decision: Verdict::Deny.as_str(),
        enforced: true,
        reason: "not_decided",
        status: 0,
        duration_ms: 0.0,
        summary: "A request ended before it was decided: nothing was forwarded.".to_string(),
    }
}

/// Test builds only (`--features fault-injection`): a request with `x-bollard-fault: panic` makes
/// the filter panic, so the tests can prove that a request the filter fails on is not forwarded.
#[cfg(feature = "fault-injection")]
#[allow(clippy::panic)]
fn fault_injection(headers: &[(String, proxy_wasm::types::Bytes)]) {
    if headers.iter().any(|(k, v)| k == "x-bollard-fault" && v.as_slice() == b"panic") {
        panic!("fault injected by x-bollard-fault");
    }
}
