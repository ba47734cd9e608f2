//! Counters through Envoy's stats (`wasmcustom.bollard.*`). Names carry their labels as
//! `.name.value` pairs, which the shipped config's `stats_tags` turn into Prometheus labels.
//! Agent and area labels come from the policy and the catalog, so their number is bounded.

use std::cell::RefCell;
use std::collections::HashMap;

use proxy_wasm::hostcalls::{define_metric, increment_metric};
use proxy_wasm::types::MetricType;

#[derive(Default)]
pub struct Metrics {
    ids: RefCell<HashMap<String, u32>>,
}

impl Metrics {
    /// Adds one to a counter, defining it on first use. A host error only loses the count.
    pub fn count(&self, name: &str) {
        let id = {
            let mut ids = self.ids.borrow_mut();
            match ids.get(name) {
                Some(&id) => Some(id),
                None => define_metric(MetricType::Counter, name).ok().inspect(|&id| {
                    ids.insert(name.to_string(), id);
                }),
            }
        };
        if let Some(id) = id {
            let _ = increment_metric(id, 1);
        }
    }

    /// The counters for one finished decision.
    pub fn request(&self, decision: &str, area: Option<&str>, agent: Option<&str>, reason: &str) {
        self.count(&format!("bollard.requests.decision.{decision}"));
        self.count(&format!("bollard.requests_by_area.area.{}.decision.{decision}", area.unwrap_or("none")));
        self.count(&format!("bollard.requests_by_agent.agent.{}.decision.{decision}", agent.unwrap_or("unidentified")));
        if decision == "deny" {
            self.count(&format!("bollard.refusals.reason.{reason}"));
        }
    }
}
