//! The proxy-wasm driver: turns each host callback into an [`Event`] for the request's
//! [`Exchange`], and each [`Action`] it answers with into host calls. No decision is made here.

mod metrics;

use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use metrics::{Counted, Metrics};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action as HostAction, ContextType, LogLevel};

use crate::exchange::{parse_map, Action, Event, Exchange, Flow, Gateway};

/// The filter-state key Envoy's access log reads: `%FILTER_STATE(wasm.bollard_audit:PLAIN)%`.
const AUDIT_PROPERTY: &str = "bollard_audit";
/// How long a lookup upstream may take before the request it holds is refused.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the counts kept in the VM are handed to the host's stats.
pub(crate) const FLUSH_PERIOD: Duration = Duration::from_millis(500);

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    std::panic::set_hook(Box::new(|info| {
        log::error!("bollard: panic: {info}");
    }));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// The loaded policy and its counters, shared by the VM's requests.
struct Loaded {
    gateway: Rc<Gateway>,
    metrics: Metrics,
}

#[derive(Default)]
struct Root {
    loaded: Option<Rc<Loaded>>,
    /// Policies replaced while some of their requests were still in flight: flushed on each
    /// tick until the last of those requests ends.
    retired: Vec<Rc<Loaded>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_vm_start(&mut self, _: usize) -> bool {
        log::info!("bollard {} ({}) starting", crate::VERSION, crate::GIT_REVISION);
        true
    }

    fn on_configure(&mut self, _: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        match Gateway::load(&config, |name| std::env::var(name).ok()) {
            Ok(gateway) => {
                let n = gateway.policy.agents().len();
                log::info!(
                    "bollard: policy loaded: {n} agent{}, mode {}",
                    if n == 1 { "" } else { "s" },
                    gateway.policy.mode.as_str()
                );
                let metrics = Metrics::define(&gateway.policy);
                if let Some(old) = self.loaded.take() {
                    old.metrics.flush();
                    self.retired.push(old);
                }
                self.loaded = Some(Rc::new(Loaded { gateway: Rc::new(gateway), metrics }));
                self.set_tick_period(FLUSH_PERIOD);
                Metrics::count("bollard.policy.loads");
                true
            }
            Err(e) => {
                log::error!("bollard: policy refused: {e}");
                Metrics::count("bollard.policy.load_failures");
                false
            }
        }
    }

    fn on_tick(&mut self) {
        let now = now_ms(self);
        for loaded in self.loaded.iter().chain(&self.retired) {
            loaded.metrics.flush_at(now);
        }
        self.retired.retain(|l| Rc::strong_count(l) > 1);
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Driver {
            exchange: self.loaded.as_ref().map(|l| Exchange::new(l.gateway.clone())),
            loaded: self.loaded.clone(),
            request_body: 0,
            response_body: 0,
        }))
    }
}

/// One request: its machine, and the host calls that carry out what the machine asks.
struct Driver {
    /// `None` when no policy is loaded: every request is refused.
    exchange: Option<Exchange<Rc<Gateway>>>,
    loaded: Option<Rc<Loaded>>,
    /// What the host buffers of each body, as its last callback said.
    request_body: usize,
    response_body: usize,
}

fn now_ms(ctx: &dyn Context) -> u64 {
    ctx.get_current_time().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn host(flow: Flow) -> HostAction {
    match flow {
        Flow::Hold => HostAction::Pause,
        Flow::Continue => HostAction::Continue,
    }
}

impl Driver {
    /// Feeds one event, then carries out every action it led to, feeding back their answers.
    fn run(&mut self, event: Event) -> HostAction {
        let Some(m) = self.exchange.as_mut() else {
            return self.refuse_unloaded();
        };
        let mut flow = m.handle(event);
        while let Some(action) = self.exchange.as_mut().and_then(Exchange::next_action) {
            if let Some(f) = self.perform(action) {
                flow = f;
            }
        }
        host(flow)
    }

    /// One action; `Some(flow)` when it led to another event whose answer replaces the flow.
    fn perform(&mut self, action: Action) -> Option<Flow> {
        match action {
            Action::DropRequestHeaders(names) => {
                for name in &names {
                    self.set_http_request_header(name, None);
                }
                None
            }
            Action::ReadBody => {
                let body = self.get_http_request_body(0, self.request_body).unwrap_or_default();
                let now = now_ms(self);
                self.feed(Event::Body { bytes: &body, now_ms: now })
            }
            Action::DropTrailers => {
                for (name, _) in self.get_http_request_trailers_bytes() {
                    self.set_http_request_trailer(&name, None);
                }
                None
            }
            Action::Lookup(i, call) => {
                let headers: Vec<(&str, &str)> = call.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let token = self.dispatch_http_call(call.cluster, headers, None, vec![], LOOKUP_TIMEOUT).ok();
                self.feed(Event::LookupSent { lookup: i, token })
            }
            Action::ReadCounter(key) => {
                let (value, cas) = self.get_shared_data(&key);
                self.feed(Event::Counter { value: value.as_deref(), cas })
            }
            Action::WriteCounter { key, value, cas } => {
                let ok = self.set_shared_data(&key, Some(&value), cas).is_ok();
                self.feed(Event::CounterWritten(ok))
            }
            Action::Forward(f) => {
                for name in &f.remove {
                    self.set_http_request_header(name, None);
                }
                for (name, value) in &f.set {
                    self.set_http_request_header(name, Some(value.as_ref()));
                }
                if f.resume {
                    self.resume_http_request();
                }
                None
            }
            Action::Reply(r) => {
                let headers: Vec<(&str, &str)> = r.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
                self.send_http_response(u32::from(r.status), headers, Some(r.body.as_bytes()));
                None
            }
            Action::EditResponseHeaders(edits) => {
                for (name, value) in &edits {
                    self.set_http_response_header(name, value.as_deref());
                }
                None
            }
            Action::ReadResponseBody => {
                let body = self.get_http_response_body(0, self.response_body).unwrap_or_default();
                self.feed(Event::ResponseBytes(&body))
            }
            Action::ReplaceResponseBody(body) => {
                self.set_http_response_body(0, self.response_body, &body);
                None
            }
            Action::DropResponseTrailers => {
                for (name, _) in self.get_http_response_trailers_bytes() {
                    self.set_http_response_trailer(&name, None);
                }
                None
            }
        }
    }

    fn feed(&mut self, event: Event) -> Option<Flow> {
        self.exchange.as_mut().map(|m| m.handle(event))
    }

    /// No policy: nothing may pass.
    fn refuse_unloaded(&mut self) -> HostAction {
        let body = crate::refusal::internal_error(None);
        self.send_http_response(500, vec![("content-type", "application/json")], Some(body.as_bytes()));
        HostAction::Pause
    }
}

impl Context for Driver {
    fn on_http_call_response(&mut self, token: u32, _: usize, body_size: usize, _: usize) {
        let status = self
            .get_http_call_response_header_bytes(":status")
            .and_then(|s| std::str::from_utf8(&s).ok().and_then(|s| s.parse().ok()));
        let body = self.get_http_call_response_body(0, body_size).unwrap_or_default();
        let now = now_ms(self);
        self.run(Event::LookupAnswer { token, status, body: &body, now_ms: now });
    }
}

impl HttpContext for Driver {
    fn on_http_request_headers(&mut self, _: usize, end_of_stream: bool) -> HostAction {
        let now = now_ms(self);
        let raw = request_header_map();
        // A map that cannot be read is decided as one with no headers: refused.
        let headers = parse_map(&raw).unwrap_or_default();
        #[cfg(feature = "fault-injection")]
        fault_injection(&headers);
        self.run(Event::RequestHeaders { headers: &headers, end_of_stream, now_ms: now })
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> HostAction {
        self.request_body = body_size;
        self.run(Event::RequestBody { buffered: body_size, end_of_stream })
    }

    fn on_http_request_trailers(&mut self, _: usize) -> HostAction {
        self.run(Event::RequestTrailers)
    }

    fn on_http_response_headers(&mut self, _: usize, end_of_stream: bool) -> HostAction {
        let status = self
            .get_http_response_header_bytes(":status")
            .and_then(|s| std::str::from_utf8(&s).ok().and_then(|s| s.parse().ok()));
        let guarded = self.exchange.as_ref().is_some_and(Exchange::reads_response_encoding);
        let encoding = if guarded { self.get_http_response_header_bytes("content-encoding") } else { None };
        self.run(Event::ResponseHeaders { status, content_encoding: encoding.as_deref(), end_of_stream })
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> HostAction {
        self.response_body = body_size;
        self.run(Event::ResponseBody { buffered: body_size, end_of_stream })
    }

    fn on_http_response_trailers(&mut self, _: usize) -> HostAction {
        self.run(Event::ResponseTrailers)
    }

    fn on_log(&mut self) {
        let now = now_ms(self);
        let (Some(m), Some(loaded)) = (self.exchange.as_mut(), self.loaded.clone()) else { return };
        let mut done = m.finish(now);
        if !done.status_known {
            done.record.status = self
                .get_property(vec!["response", "code"])
                .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
                .map(|b| i64::from_le_bytes(b) as u16)
                .unwrap_or(0);
        }
        loaded.metrics.request(&Counted {
            allowed: done.record.decision == "allow",
            area: done.area,
            agent: done.agent,
            reason: done.record.reason,
        });
        loaded.metrics.flush_if_late(now);
        let line = done.record.to_json();
        if loaded.gateway.policy.audit_log {
            log::info!("{line}");
        }
        // Hosts that keep no filter state (Kong) refuse this: the policy's `audit.log` is for them.
        let _ = set_property_quietly(AUDIT_PROPERTY, line.as_bytes());
    }
}

/// The request header map as the host serializes it, read in one call and parsed in place by
/// [`parse_map`] (the SDK's reader copies every name and value into its own allocation).
fn request_header_map() -> Vec<u8> {
    #[link(wasm_import_module = "env")]
    extern "C" {
        #[allow(clashing_extern_declarations)]
        fn proxy_get_header_map_pairs(map_type: u32, data: *mut *mut u8, size: *mut usize) -> u32;
    }
    const REQUEST_HEADERS: u32 = 0;
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes a pointer to a buffer it allocated through this module's
    // `proxy_on_memory_allocate` (a `Vec<u8>` of capacity `size`, leaked), and its size; the
    // buffer is taken back as that `Vec`, once.
    unsafe {
        if proxy_get_header_map_pairs(REQUEST_HEADERS, &mut data, &mut size) != 0 || data.is_null() {
            return Vec::new();
        }
        Vec::from_raw_parts(data, size, size)
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

/// Test builds only (`--features fault-injection`): a request with `x-bollard-fault: panic` makes
/// the filter panic, so the tests can prove that a request the filter fails on is not forwarded.
#[cfg(feature = "fault-injection")]
#[allow(clippy::panic)]
fn fault_injection(headers: &[(&str, &[u8])]) {
    if headers.iter().any(|(k, v)| *k == "x-bollard-fault" && *v == b"panic") {
        panic!("fault injected by x-bollard-fault");
    }
}
