//! Counters through Envoy's stats (`wasmcustom.bollard.*`). Names carry their labels as
//! `.name.value` pairs, which the shipped config's `stats_tags` turn into Prometheus labels.
//! Every counter a policy can produce is defined once, when the policy is loaded; a request
//! adds to counts kept in the VM by index, with no formatting, hashing or host call, and the
//! root context's tick hands what moved to the host (so a scrape sees a request's counts within
//! about a tick, [`super::FLUSH_PERIOD`]).

use std::cell::RefCell;
use std::collections::HashMap;

use proxy_wasm::hostcalls::{define_metric, increment_metric};
use proxy_wasm::types::MetricType;

use crate::catalog::Area;
use crate::policy::Policy;

/// Refusal reasons known when the policy loads; any other is defined on first use.
const REASONS: [&str; 31] = [
    "missing_key",
    "unknown_key",
    "ambiguous_credentials",
    "malformed_target",
    "invalid_method",
    "method_override",
    "credential_in_query",
    "key_in_target",
    "invalid_parameter",
    "unknown_parameter",
    "unknown_endpoint",
    "denied_by_policy",
    "project_out_of_scope",
    "organization_out_of_scope",
    "branch_out_of_scope",
    "permission_denied",
    "read_only_required",
    "invalid_body",
    "body_too_large",
    "rate_limited",
    "invalid_query",
    "not_decided",
    "unexpected_event",
    "sql_not_allowed",
    "sql_unparsed",
    "approval_required",
    "key_expired",
    "access_full",
    "access_read",
    "allow_list",
    "read_only_sql",
];

fn define(name: &str) -> u32 {
    // A host that refuses a metric only loses its counts: u32::MAX is never incremented.
    define_metric(MetricType::Counter, name).unwrap_or(u32::MAX)
}

fn add(id: u32, n: u64) {
    if id != u32::MAX {
        let _ = increment_metric(id, n as i64);
    }
}

/// One request's counters: indexes, as the core knows them.
pub struct Counted<'a> {
    pub allowed: bool,
    pub area: Option<usize>,
    pub agent: Option<usize>,
    pub reason: &'a str,
}

/// The counters of one loaded policy. A request adds to counts kept in the VM; [`Metrics::flush`]
/// (on the root context's tick) hands them to the host, one call per counter that moved.
pub struct Metrics {
    /// The host's id of each counter, by slot.
    ids: Vec<u32>,
    /// Counts not yet handed to the host, by slot, and the slots that have some.
    pending: RefCell<(Vec<u64>, Vec<usize>)>,
    decisions: [usize; 2],
    /// (area index, or the last for none) × decision.
    by_area: Vec<[usize; 2]>,
    /// (agent index, or the last for unidentified) × decision.
    by_agent: Vec<[usize; 2]>,
    reasons: Vec<(&'static str, usize)>,
    /// Per agent: requests refused for the agent's rate limit.
    rate_limited: Vec<usize>,
    late: RefCell<HashMap<String, u32>>,
    /// When the counts were last handed over (ms since the epoch, the host's clock).
    flushed_ms: std::cell::Cell<u64>,
}

impl Metrics {
    pub fn define(policy: &Policy) -> Metrics {
        let mut ids = Vec::new();
        let mut slot = |name: String| {
            ids.push(define(&name));
            ids.len() - 1
        };
        let mut pair = |f: &dyn Fn(&str) -> String| [slot(f("allow")), slot(f("deny"))];
        let decisions = pair(&|d| format!("bollard.requests.decision.{d}"));
        let mut by_area: Vec<[usize; 2]> = Area::ALL
            .iter()
            .map(|a| pair(&|d| format!("bollard.requests_by_area.area.{}.decision.{d}", a.name())))
            .collect();
        by_area.push(pair(&|d| format!("bollard.requests_by_area.area.none.decision.{d}")));
        let mut by_agent: Vec<[usize; 2]> = policy
            .agents()
            .iter()
            .map(|a| pair(&|d| format!("bollard.requests_by_agent.agent.{}.decision.{d}", a.id)))
            .collect();
        by_agent.push(pair(&|d| format!("bollard.requests_by_agent.agent.unidentified.decision.{d}")));
        let mut slot = |name: String| {
            ids.push(define(&name));
            ids.len() - 1
        };
        let reasons = REASONS.iter().map(|r| (*r, slot(format!("bollard.refusals.reason.{r}")))).collect();
        let rate_limited =
            policy.agents().iter().map(|a| slot(format!("bollard.rate_limited.agent.{}", a.id))).collect();
        let pending = RefCell::new((vec![0; ids.len()], Vec::new()));
        Metrics {
            ids,
            pending,
            decisions,
            by_area,
            by_agent,
            reasons,
            rate_limited,
            late: RefCell::new(HashMap::new()),
            flushed_ms: std::cell::Cell::new(0),
        }
    }

    /// Adds one to a counter by name, at once (rare events: policy loads).
    pub fn count(name: &str) {
        add(define(name), 1);
    }

    fn bump(&self, slot: usize) {
        let mut p = self.pending.borrow_mut();
        let (counts, moved) = &mut *p;
        if let Some(c) = counts.get_mut(slot) {
            if *c == 0 {
                moved.push(slot);
            }
            *c += 1;
        }
    }

    /// Flushes when the tick has not for twice its period: a host that never ticks still gets
    /// the counts, with the requests that follow.
    pub fn flush_if_late(&self, now_ms: u64) {
        let period = super::FLUSH_PERIOD.as_millis() as u64;
        if now_ms.saturating_sub(self.flushed_ms.get()) >= 2 * period {
            self.flush_at(now_ms);
        }
    }

    /// [`Metrics::flush`], noting the time.
    pub fn flush_at(&self, now_ms: u64) {
        self.flushed_ms.set(now_ms);
        self.flush();
    }

    /// Hands every count kept since the last flush to the host.
    pub fn flush(&self) {
        let mut p = self.pending.borrow_mut();
        let (counts, moved) = &mut *p;
        for slot in moved.drain(..) {
            if let (Some(c), Some(id)) = (counts.get_mut(slot), self.ids.get(slot)) {
                add(*id, std::mem::take(c));
            }
        }
    }

    /// The counters for one finished request.
    pub fn request(&self, c: &Counted) {
        let d = usize::from(!c.allowed);
        self.bump(self.decisions[d]);
        let area = c.area.unwrap_or(self.by_area.len() - 1).min(self.by_area.len() - 1);
        if let Some(slots) = self.by_area.get(area) {
            self.bump(slots[d]);
        }
        let agent = c.agent.unwrap_or(self.by_agent.len() - 1).min(self.by_agent.len() - 1);
        if let Some(slots) = self.by_agent.get(agent) {
            self.bump(slots[d]);
        }
        if c.reason == "rate_limited" {
            if let Some(slot) = c.agent.and_then(|i| self.rate_limited.get(i)) {
                self.bump(*slot);
            }
        }
        if !c.allowed {
            match self.reasons.iter().find(|(r, _)| *r == c.reason) {
                Some((_, slot)) => self.bump(*slot),
                None => {
                    let mut late = self.late.borrow_mut();
                    let id = *late
                        .entry(c.reason.to_string())
                        .or_insert_with(|| define(&format!("bollard.refusals.reason.{}", c.reason)));
                    add(id, 1);
                }
            }
        }
    }
}
