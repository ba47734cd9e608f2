//! Shared data as Envoy keeps it for every worker (proxy-wasm-cpp-host's `SharedData`): a value
//! and a compare-and-swap token per key. A missing key reads as no value and no token; a write
//! to a missing key is stored whatever its token; a write to an existing key with a non-zero
//! token that is not the key's current one is refused; no token, or 0, always writes.

use std::collections::HashMap;

#[derive(Default, Clone)]
pub struct SharedData {
    pub data: HashMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
}

impl SharedData {
    pub fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        self.data.get(key).cloned().map_or((None, None), |(v, c)| (Some(v), Some(c)))
    }

    pub fn set(&mut self, key: String, value: &[u8], cas: Option<u32>) -> bool {
        let cas = cas.unwrap_or(0);
        if let Some((_, current)) = self.data.get(&key) {
            if cas != 0 && cas != *current {
                return false;
            }
        }
        self.next_cas += 1;
        self.data.insert(key, (value.to_vec(), self.next_cas));
        true
    }
}
