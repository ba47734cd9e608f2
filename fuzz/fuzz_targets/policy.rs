//! Policy parsing and compilation on arbitrary text: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(policy) = bollard::policy::Policy::from_json(text) {
            for agent in policy.agents() {
                assert!(!agent.id.is_empty());
            }
        }
    }
});
