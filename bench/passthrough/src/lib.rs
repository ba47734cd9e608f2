//! The benchmark's baseline filters.
//!
//! By default, the least a proxy-wasm filter in Bollard's place does: it reads the three headers
//! Bollard's decision needs and replaces `authorization`, as Bollard does for an allowed call,
//! with no decision at all.
//!
//! With the cargo feature `contract` (`make bench` builds both): the host calls Bollard's contract
//! makes for an allowed call, in the same order and with values of the same sizes, and nothing
//! else: the clock, the request header map in one call, `authorization` and the three
//! `x-bollard-*` request headers, `:status`, the two response headers, the clock again and the
//! audit line into filter state. What Bollard costs over this is its own code: the decision,
//! the record and its sentence, the state machine.

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Passthrough::default()) });
}}

#[derive(Default)]
struct Passthrough {
    #[cfg(feature = "contract")]
    started: u128,
}

impl Context for Passthrough {}

#[cfg(not(feature = "contract"))]
impl HttpContext for Passthrough {
    fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
        let path = self.get_http_request_header(":path");
        let method = self.get_http_request_header(":method");
        let authorization = self.get_http_request_header("authorization");
        std::hint::black_box((path, method, authorization));
        self.set_http_request_header("authorization", Some("Bearer bench-upstream-token"));
        Action::Continue
    }
}

#[cfg(feature = "footprint")]
mod footprint {
    include!(concat!(env!("OUT_DIR"), "/footprint.rs"));
}

#[cfg(feature = "contract")]
mod contract {
    use super::*;
    use std::time::UNIX_EPOCH;

    /// An audit line of the size Bollard writes for an allowed `list_functions`.
    const LINE: &str = concat!(
        r#"{"ts":"2026-12-01T20:00:00.000Z","request_id":"0d2c4b5a-6f7e-4d8c-9b0a-1f2e3d4c5b6a","#,
        r#""agent":"bench-agent","method":"GET","path":"/v1/projects/abcdefghijklmnopqrst/functions","#,
        r#""endpoint":"list_functions","area":"edge_functions","permission":"edge_functions_read","#,
        r#""project":"abcdefghijklmnopqrst","organization":null,"decision":"allow","reason":"allowed","#,
        r#""status":200,"duration_ms":0.0,"summary":"Agent bench-agent listed the Edge Functions of "#,
        r#"project abcdefghijklmnopqrst: allowed by its edge_functions read access."}"#
    );

    fn now(ctx: &dyn Context) -> u128 {
        ctx.get_current_time().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
    }

    fn header_map() -> Vec<u8> {
        #[link(wasm_import_module = "env")]
        extern "C" {
            #[allow(clashing_extern_declarations)]
            fn proxy_get_header_map_pairs(map_type: u32, data: *mut *mut u8, size: *mut usize) -> u32;
        }
        let mut data: *mut u8 = std::ptr::null_mut();
        let mut size: usize = 0;
        // SAFETY: the host hands back a buffer it allocated through `proxy_on_memory_allocate`
        // (a leaked `Vec<u8>` of capacity `size`); it is taken back once.
        unsafe {
            if proxy_get_header_map_pairs(0, &mut data, &mut size) != 0 || data.is_null() {
                return Vec::new();
            }
            Vec::from_raw_parts(data, size, size)
        }
    }

    fn set_filter_state(name: &str, value: &[u8]) {
        #[link(wasm_import_module = "env")]
        extern "C" {
            #[allow(clashing_extern_declarations)]
            fn proxy_set_property(path: *const u8, path_size: usize, value: *const u8, value_size: usize) -> u32;
        }
        // SAFETY: both buffers are valid for the call; the host copies them.
        unsafe {
            proxy_set_property(name.as_ptr(), name.len(), value.as_ptr(), value.len());
        }
    }

    impl HttpContext for Passthrough {
        fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
            self.started = now(self);
            #[cfg(feature = "footprint")]
            std::hint::black_box(footprint::run(self.started as u64));
            std::hint::black_box(header_map());
            self.set_http_request_header("authorization", Some("Bearer bench-upstream-token"));
            self.set_http_request_header("x-bollard-agent", Some("bench-agent"));
            self.set_http_request_header("x-bollard-endpoint", Some("list_functions"));
            self.set_http_request_header("x-bollard-decision", Some("allow"));
            Action::Continue
        }

        fn on_http_response_headers(&mut self, _: usize, _: bool) -> Action {
            std::hint::black_box(self.get_http_response_header_bytes(":status"));
            self.set_http_response_header("x-bollard-decision", Some("allow"));
            self.set_http_response_header("x-bollard-request-id", Some("0d2c4b5a-6f7e-4d8c-9b0a-1f2e3d4c5b6a"));
            Action::Continue
        }

        fn on_log(&mut self) {
            let elapsed = now(self) - self.started;
            std::hint::black_box(elapsed);
            set_filter_state("bollard_audit", LINE.as_bytes());
        }
    }
}
