//! The request machine under arbitrary event sequences: whatever order headers, body chunks,
//! trailers, lookup answers, counters, responses and resets come in, nothing is forwarded unless
//! the final decision allowed it, and what is forwarded carries only the real token.
//! Input: the first line is the target, the rest drives events byte by byte.
#![no_main]

use bollard::exchange::{Action, Event, Exchange, Gateway};
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "sbp_fuzz_upstream_token";
const POLICY: &str = r#"{"upstream":{"token_env":"T"},"max_body_bytes":512,"rate_limit":{"requests_per_minute":3},
  "agents":[{"id":"a","key_sha256":"KEY","projects":["abcdefghijklmnopqrst"],"organizations":["acme"],
  "access":{"projects":"full","database":"read","edge_functions":"full","branches":"full","secrets":"read"}}]}"#;

fn gateway() -> &'static Gateway {
    // One gateway per thread, as one per proxy-wasm VM (its branch cache is not shared).
    thread_local! {
        static G: &'static Gateway = Box::leak(Box::new({
            let policy = POLICY.replace("KEY", &bollard::policy::key_sha256("sbp_fuzz"));
            Gateway::load(policy.as_bytes(), |_| Some(TOKEN.to_string())).expect("fuzz policy")
        }));
    }
    G.with(|g| *g)
}

fuzz_target!(|data: &[u8]| {
    let (target, script) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let method: &[u8] = match script.first().copied().unwrap_or(0) % 4 {
        0 => b"GET",
        1 => b"POST",
        2 => b"DELETE",
        _ => b"PATCH",
    };
    let mut m = Exchange::new(gateway());
    let mut body: Vec<u8> = Vec::new();
    let mut forwarded = false;
    let mut counter: Option<(Vec<u8>, u32)> = None;
    let headers: Vec<(&str, &[u8])> = vec![
        (":method", method),
        (":path", target),
        ("authorization", b"Bearer sbp_fuzz"),
        ("content-type", b"application/json"),
    ];
    let mut step = |m: &mut Exchange<&Gateway>, e: Event, body: &[u8]| {
        m.handle(e);
        while let Some(a) = m.next_action() {
            match a {
                Action::ReadBody => {
                    m.handle(Event::Body { bytes: body, now_ms: 1_500 });
                }
                Action::Lookup(i, _) => {
                    m.handle(Event::LookupSent { lookup: i, token: Some(i as u32 + 1) });
                }
                Action::ReadCounter(_) => {
                    let (v, c) = counter.clone().map_or((None, None), |(v, c)| (Some(v), Some(c)));
                    m.handle(Event::Counter { value: v.as_deref(), cas: c });
                }
                Action::WriteCounter { value, .. } => {
                    let c = counter.as_ref().map_or(1, |(_, c)| c + 1);
                    counter = Some((value.to_vec(), c));
                    m.handle(Event::CounterWritten(true));
                }
                Action::Forward(f) => {
                    assert!(!forwarded, "forwarded twice");
                    forwarded = true;
                    let auth: Vec<&str> =
                        f.set.iter().filter(|(k, _)| *k == "authorization").map(|(_, v)| v.as_ref()).collect();
                    assert_eq!(auth, vec![&format!("Bearer {TOKEN}")]);
                }
                _ => {}
            }
        }
    };
    let script = script.get(1..).unwrap_or_default();
    if script.first().is_some_and(|b| b % 8 == 0) {
        step(&mut m, Event::RequestBody { buffered: 1, end_of_stream: true }, &body);
    }
    step(&mut m, Event::RequestHeaders { headers: &headers, end_of_stream: script.is_empty(), now_ms: 1_000 }, &body);
    for (i, &b) in script.iter().enumerate() {
        match b % 9 {
            0..=3 => {
                body.push(b'a' + b % 26);
                let end = i + 1 == script.len();
                step(&mut m, Event::RequestBody { buffered: body.len(), end_of_stream: end }, &body);
            }
            4 => step(&mut m, Event::RequestTrailers, &body),
            5 => step(
                &mut m,
                Event::LookupAnswer { token: u32::from(b % 3), status: Some(200), body: b"[]", now_ms: 2_000 },
                &body,
            ),
            6 => step(
                &mut m,
                Event::ResponseHeaders { status: Some(200), content_encoding: None, end_of_stream: false },
                &body,
            ),
            7 => step(&mut m, Event::ResponseBody { buffered: 4, end_of_stream: b % 2 == 0 }, &body),
            _ if b % 2 == 0 => step(&mut m, Event::ResponseTrailers, &body),
            _ => step(&mut m, Event::Reset, &body),
        }
    }
    let done = m.finish(3_000);
    if forwarded {
        assert_eq!(done.record.decision, "allow", "forwarded only when allowed: {:?}", done.record);
    }
});
