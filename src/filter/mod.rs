//! The proxy-wasm glue: reads what the decision needs from the host, hands it to the core, and
//! carries the result back (forward with the real token, or reply). No decision logic lives here.

use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

mod metrics;

use metrics::Metrics;

use crate::audit::{AuditRecord, Completion};
use crate::catalog::Catalog;
use crate::decision::{decide, Request, Verdict, METHOD_OVERRIDE_HEADERS};
use crate::policy::Policy;
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
}

impl Context for BollardRoot {}

impl RootContext for BollardRoot {
    fn on_vm_start(&mut self, _: usize) -> bool {
        log::info!("bollard {} starting", crate::VERSION);
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

struct BollardHttp {
    loaded: Option<Rc<Loaded>>,
    metrics: Rc<Metrics>,
    /// The agent-wide limit's state after this request, echoed on the response.
    limit_headers: Option<Take>,
    /// The audit record, completed with status and duration when the request ends.
    record: Option<AuditRecord>,
    started: Option<SystemTime>,
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A request id safe to echo: Envoy's `x-request-id`, when it is plain.
fn clean_request_id(v: &str) -> Option<String> {
    let ok = !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then(|| v.to_string())
}

impl Context for BollardHttp {}

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
}

fn limit_header_values(t: &Take) -> [(String, String); 3] {
    [
        ("x-ratelimit-limit".into(), t.limit.to_string()),
        ("x-ratelimit-remaining".into(), t.remaining.to_string()),
        ("x-ratelimit-reset".into(), t.reset_secs.to_string()),
    ]
}

impl HttpContext for BollardHttp {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let now = self.get_current_time();
        self.started = Some(now);
        let Some(loaded) = self.loaded.clone() else {
            // No policy: nothing may pass.
            self.reply(500, &refusal::internal_error(None), None, None, None);
            return Action::Pause;
        };
        // The byte form: the SDK's string form panics on a value that is not UTF-8. Every value is
        // read, so a repeated `authorization` is seen (a single-header read returns the first).
        let headers: Vec<(String, String)> = self
            .get_http_request_headers_bytes()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let mut method = "";
        let mut target = "";
        let mut request_id = None;
        let mut method_override = false;
        let mut authorization: Vec<&str> = Vec::new();
        let mut strip: Vec<&str> = Vec::new();
        for (name, value) in &headers {
            match name.as_str() {
                ":method" => method = value,
                ":path" => target = value,
                "authorization" => authorization.push(value),
                "x-request-id" => request_id = clean_request_id(value),
                // Never credentials to Bollard, never forwarded.
                "apikey" | "cookie" | "proxy-authorization" => strip.push(name),
                n if n.starts_with("x-bollard-") => strip.push(name),
                n if METHOD_OVERRIDE_HEADERS.contains(&n) => method_override = true,
                _ => {}
            }
        }
        #[cfg(feature = "fault-injection")]
        fault_injection(&headers);
        let request = Request { method, target, authorization: &authorization, method_override };
        let d = decide(&loaded.policy, &loaded.catalog, &request);
        let status = d.refusal_status();
        let record = AuditRecord::new(
            &d,
            method,
            target,
            Completion {
                unix_ms: unix_ms(now),
                request_id: request_id.as_deref(),
                status: status.unwrap_or(0),
                duration_ms: 0.0,
            },
        );
        let mut record = record;
        let verdict = d.verdict.as_str();
        let identified = d.agent.is_some();
        if let Some(status) = status {
            let body = refusal::body(&d, method, request_id.as_deref());
            self.record = Some(record);
            self.reply(status, &body, identified.then_some(verdict), request_id.as_deref(), None);
            return Action::Pause;
        }
        // Rate limits apply to what would be forwarded; monitor mode records but does not apply them.
        if let (Some(agent), Some(endpoint)) = (d.agent, d.endpoint) {
            if let Some(rl) = &agent.rate_limit {
                let now_secs = unix_ms(now) / 1000;
                let mut checks = vec![(format!("bollard.rl.{}", agent.id), rl.per_minute)];
                if let Some(n) = d.endpoint_index().and_then(|i| rl.for_endpoint(i)) {
                    checks.push((format!("bollard.rl.{}.{}", agent.id, endpoint.id), n));
                }
                for (key, limit) in checks {
                    let taken = self.take(&key, limit, now_secs);
                    let over = taken.is_none_or(|t| !t.allowed);
                    if over && loaded.policy.mode == crate::policy::Mode::Enforce {
                        let t = taken.unwrap_or(Take { allowed: false, limit, remaining: 0, reset_secs: 60, next: Window { minute: 0, count: 0 } });
                        self.metrics.count(&format!("bollard.rate_limited.agent.{}", agent.id));
                        record.rate_limited(&d, limit);
                        let body = refusal::rate_limited(&d, method, request_id.as_deref(), limit, t.reset_secs);
                        self.record = Some(record);
                        self.reply(429, &body, Some("deny"), request_id.as_deref(), Some(&t));
                        return Action::Pause;
                    }
                    if self.limit_headers.is_none() {
                        self.limit_headers = taken;
                    }
                }
            }
        }
        let agent_id = d.agent.map(|a| a.id.clone()).unwrap_or_default();
        let endpoint_id = d.endpoint.map(|e| e.id).unwrap_or_default();
        self.record = Some(record);
        for name in strip {
            self.set_http_request_header(name, None);
        }
        self.set_http_request_header("authorization", None);
        self.add_http_request_header("authorization", &format!("Bearer {}", loaded.token.expose()));
        self.set_http_request_header("x-bollard-agent", Some(&agent_id));
        self.set_http_request_header("x-bollard-endpoint", Some(endpoint_id));
        self.set_http_request_header("x-bollard-decision", Some(verdict));
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
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
        self.set_property(vec![AUDIT_PROPERTY], Some(line.as_bytes()));
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
        summary: "A request ended before its headers were read: nothing was forwarded.".to_string(),
    }
}


/// Test builds only (`--features fault-injection`): a request with `x-bollard-fault: panic` makes
/// the filter panic, so the tests can prove that a request the filter fails on is not forwarded.
#[cfg(feature = "fault-injection")]
#[allow(clippy::panic)]
fn fault_injection(headers: &[(String, String)]) {
    if headers.iter().any(|(k, v)| k == "x-bollard-fault" && v == "panic") {
        panic!("fault injected by x-bollard-fault");
    }
}
