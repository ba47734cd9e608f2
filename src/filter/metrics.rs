//! Counters through Envoy's stats (`wasmcustom.bollard.*`). Names carry their labels as
//! `.name.value` pairs, which the shipped config's `stats_tags` turn into Prometheus labels.
//! Every counter a policy can produce is defined once, when the policy is loaded; a request
//! adds to counters by index, with no formatting or hashing.

use std::cell::RefCell;
use std::collections::HashMap;

use proxy_wasm::hostcalls::{define_metric, increment_metric};
use proxy_wasm::types::MetricType;

use crate::catalog::Area;
use crate::policy::Policy;

/// Refusal reasons known when the policy loads; any other is defined on first use.
const REASONS: [&str; 30] = [
    "missing_key",
    "unknown_key",
    "ambiguous_credentials",
    "malformed_target",
    "invalid_method",
    "method_override",
    "credential_in_query",
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

fn add(id: u32) {
    if id != u32::MAX {
        let _ = increment_metric(id, 1);
    }
}

/// One request's counters: indexes, as the core knows them.
pub struct Counted<'a> {
    pub allowed: bool,
    pub area: Option<usize>,
    pub agent: Option<usize>,
    pub reason: &'a str,
}

/// The counters of one loaded policy.
pub struct Metrics {
    decisions: [u32; 2],
    /// (area index, or the last for none) × decision.
    by_area: Vec<[u32; 2]>,
    /// (agent index, or the last for unidentified) × decision.
    by_agent: Vec<[u32; 2]>,
    reasons: Vec<(&'static str, u32)>,
    /// Per agent: requests refused for the agent's rate limit.
    rate_limited: Vec<u32>,
    late: RefCell<HashMap<String, u32>>,
}

impl Metrics {
    pub fn define(policy: &Policy) -> Metrics {
        let pair = |f: &dyn Fn(&str) -> String| [define(&f("allow")), define(&f("deny"))];
        let decisions = pair(&|d| format!("bollard.requests.decision.{d}"));
        let mut by_area: Vec<[u32; 2]> = Area::ALL
            .iter()
            .map(|a| pair(&|d| format!("bollard.requests_by_area.area.{}.decision.{d}", a.name())))
            .collect();
        by_area.push(pair(&|d| format!("bollard.requests_by_area.area.none.decision.{d}")));
        let mut by_agent: Vec<[u32; 2]> = policy
            .agents()
            .iter()
            .map(|a| pair(&|d| format!("bollard.requests_by_agent.agent.{}.decision.{d}", a.id)))
            .collect();
        by_agent.push(pair(&|d| format!("bollard.requests_by_agent.agent.unidentified.decision.{d}")));
        let reasons = REASONS.iter().map(|r| (*r, define(&format!("bollard.refusals.reason.{r}")))).collect();
        let rate_limited =
            policy.agents().iter().map(|a| define(&format!("bollard.rate_limited.agent.{}", a.id))).collect();
        Metrics { decisions, by_area, by_agent, reasons, rate_limited, late: RefCell::new(HashMap::new()) }
    }

    /// Adds one to a counter by name (rare events: policy loads).
    pub fn count(name: &str) {
        add(define(name));
    }

    /// The counters for one finished request.
    pub fn request(&self, c: &Counted) {
        let d = usize::from(!c.allowed);
        add(self.decisions[d]);
        let area = c.area.unwrap_or(self.by_area.len() - 1).min(self.by_area.len() - 1);
        if let Some(ids) = self.by_area.get(area) {
            add(ids[d]);
        }
        let agent = c.agent.unwrap_or(self.by_agent.len() - 1).min(self.by_agent.len() - 1);
        if let Some(ids) = self.by_agent.get(agent) {
            add(ids[d]);
        }
        if c.reason == "rate_limited" {
            if let Some(id) = c.agent.and_then(|i| self.rate_limited.get(i)) {
                add(*id);
            }
        }
        if !c.allowed {
            match self.reasons.iter().find(|(r, _)| *r == c.reason) {
                Some((_, id)) => add(*id),
                None => {
                    let mut late = self.late.borrow_mut();
                    let id = *late
                        .entry(c.reason.to_string())
                        .or_insert_with(|| define(&format!("bollard.refusals.reason.{}", c.reason)));
                    add(id);
                }
            }
        }
    }
}
