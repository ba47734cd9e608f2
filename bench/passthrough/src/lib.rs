//! The benchmark's baseline filter: the least a proxy-wasm filter in Bollard's place does. It reads
//! the three headers Bollard's decision needs and replaces `authorization`, as Bollard does for an
//! allowed call, with no decision at all.

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_http_context(|_, _| -> Box<dyn HttpContext> { Box::new(Passthrough) });
}}

struct Passthrough;

impl Context for Passthrough {}

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
