//! The proxy-wasm glue: reads what the decision needs from the host, hands it to the core, and
//! carries the result back (forward with the real token, or reply). No decision logic lives here.

use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use crate::audit::{AuditRecord, Completion};
use crate::catalog::Catalog;
use crate::decision::{decide, Request, Verdict, METHOD_OVERRIDE_HEADERS};
use crate::policy::Policy;
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
                true
            }
            Err(e) => {
                log::error!("bollard: policy refused: {e}");
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(BollardHttp { loaded: self.loaded.clone(), record: None, started: None }))
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
    fn reply(&self, status: u16, body: &str, decision: Option<&str>, request_id: Option<&str>) {
        let mut headers = vec![("content-type", "application/json")];
        if let Some(d) = decision {
            headers.push(("x-bollard-decision", d));
        }
        if let Some(id) = request_id {
            headers.push(("x-bollard-request-id", id));
        }
        self.send_http_response(u32::from(status), headers, Some(body.as_bytes()));
    }
}

impl HttpContext for BollardHttp {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let now = self.get_current_time();
        self.started = Some(now);
        let Some(loaded) = self.loaded.clone() else {
            // No policy: nothing may pass.
            self.reply(500, &refusal::internal_error(None), None, None);
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
        let verdict = d.verdict.as_str();
        let identified = d.agent.is_some();
        if let Some(status) = status {
            let body = refusal::body(&d, method, request_id.as_deref());
            self.record = Some(record);
            self.reply(status, &body, identified.then_some(verdict), request_id.as_deref());
            return Action::Pause;
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
