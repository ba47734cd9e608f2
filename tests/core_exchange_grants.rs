//! Approvals, elevations and keys through the request's state machine: the use of an approval is
//! a shared counter the machine takes after the rate limits, counted across two workers whose
//! actions interleave; the clock is the one the host hands in. Runs natively and as wasm32.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use bollard::approval::{approval_id, uses_key, Uses};
use bollard::exchange::{Action, Event, Exchange, Gateway, Reply};
use bollard::policy::key_sha256;
use wasm_bindgen_test::wasm_bindgen_test;

const KEY: &str = "sbp_2222222222222222222222222222222222222222";
const OLD_KEY: &str = "sbp_3333333333333333333333333333333333333333";
const TOKEN: &str = "sbp_real_upstream_token_0000000000000000";
const BRANCH: &str = "/v1/branches/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
/// 2027-01-01T00:00:00Z.
const T: u64 = 1_798_761_600_000;

fn gateway(agent_extra: &str, grants: &str) -> Gateway {
    let policy = format!(
        r#"{{"upstream":{{"token_env":"T"}},"agents":[{{"id":"ops","name":"Ops","projects":["*"],
        "keys":[{{"sha256":"{}","not_after":"2027-01-01T00:00:00Z"}},{{"sha256":"{}"}}],
        "access":{{"branches":"full","projects":"read"}},"approve":["delete_branch"]{agent_extra}}}],
        "grants":[{grants}]}}"#,
        key_sha256(OLD_KEY),
        key_sha256(KEY)
    );
    Gateway::load(policy.as_bytes(), |_| Some(TOKEN.to_string())).expect("policy loads")
}

fn approval(uses: u32) -> String {
    let id = approval_id("ops", "DELETE", BRANCH, None, b"");
    format!(
        r#"{{"id":"ok-1","agent":"ops","approval":"{id}","approved_by":"Ana","not_after":"2027-01-01T00:00:00Z","uses":{uses}}}"#
    )
}

#[path = "support/shared_data.rs"]
mod shared_data;
use shared_data::SharedData as Store;

/// How one worker's request ended.
#[derive(Debug, Default)]
struct Outcome {
    forwarded: bool,
    reply: Option<Reply>,
}

/// Carries out one action of the machine, as Envoy's driver does; false when none is queued.
fn step(m: &mut Exchange<&Gateway>, store: &mut Store, out: &mut Outcome) -> bool {
    let Some(action) = m.next_action() else { return false };
    match action {
        Action::ReadCounter(key) => {
            let (v, cas) = store.get(&key);
            m.handle(Event::Counter { value: v.as_deref(), cas });
        }
        Action::WriteCounter { key, value, cas } => {
            let ok = store.set(key, &value, cas);
            m.handle(Event::CounterWritten(ok));
        }
        Action::ReadBody => {
            m.handle(Event::Body { bytes: b"", now_ms: 0 });
        }
        Action::Forward(f) => {
            assert!(f.set.contains(&("authorization", format!("Bearer {TOKEN}").into())));
            out.forwarded = true;
        }
        Action::Reply(r) => out.reply = Some(r),
        _ => {}
    }
    true
}

fn start(m: &mut Exchange<&Gateway>, key: &str, now_ms: u64) {
    send_headers(m, key, now_ms, true);
}

/// The headers of `DELETE {BRANCH}` with `key`; `end_of_stream` false when a body follows.
fn send_headers(m: &mut Exchange<&Gateway>, key: &str, now_ms: u64, end_of_stream: bool) {
    let auth = format!("Bearer {key}");
    let h: Vec<(&str, &[u8])> = vec![
        (":method", b"DELETE"),
        (":path", BRANCH.as_bytes()),
        (":authority", b"gw"),
        ("authorization", auth.as_bytes()),
    ];
    m.handle(Event::RequestHeaders { headers: &h, end_of_stream, now_ms });
}

fn run(gw: &Gateway, store: &mut Store, key: &str, now_ms: u64) -> (Outcome, serde_json::Value) {
    let mut m = Exchange::new(gw);
    let mut out = Outcome::default();
    start(&mut m, key, now_ms);
    while step(&mut m, store, &mut out) {}
    let record = m.finish(now_ms + 5).record;
    (out, serde_json::from_str(&record.to_json()).unwrap())
}

fn reply_json(out: &Outcome) -> serde_json::Value {
    serde_json::from_str(&out.reply.as_ref().expect("a reply").body).unwrap()
}

#[wasm_bindgen_test(unsupported = test)]
fn one_use_taken_by_two_interleaved_workers_passes_once() {
    let gw = gateway("", &approval(1));
    let mut store = Store::default();
    let (mut a, mut b) = (Exchange::new(&gw), Exchange::new(&gw));
    let (mut out_a, mut out_b) = (Outcome::default(), Outcome::default());
    start(&mut a, KEY, T - 60_000);
    start(&mut b, KEY, T - 60_000);
    // Both read the count before either writes it.
    assert!(step(&mut a, &mut store, &mut out_a), "A reads the use counter");
    assert!(step(&mut b, &mut store, &mut out_b), "B reads the use counter");
    while step(&mut a, &mut store, &mut out_a) {}
    while step(&mut b, &mut store, &mut out_b) {}
    assert!(out_a.forwarded && out_a.reply.is_none());
    assert!(!out_b.forwarded, "B's stale write failed, it read again and found the use taken");
    let reply = out_b.reply.as_ref().unwrap();
    assert_eq!(reply.status, 403);
    let body = reply_json(&out_b);
    assert_eq!(body["code"], "approval_required");
    assert!(body["message"].as_str().unwrap().contains("has been used all 1 time(s)"), "{}", body["message"]);
    let ra: serde_json::Value = serde_json::from_str(&a.finish(T).record.to_json()).unwrap();
    let rb: serde_json::Value = serde_json::from_str(&b.finish(T).record.to_json()).unwrap();
    assert_eq!(
        (ra["reason"].as_str(), ra["approved_by"].as_str(), ra["grant"].as_str()),
        (Some("approved"), Some("Ana"), Some("ok-1"))
    );
    assert!(ra["summary"].as_str().unwrap().ends_with(", use 1 of 1)."), "{}", ra["summary"]);
    assert_eq!((rb["reason"].as_str(), rb["status"].as_u64()), (Some("approval_required"), Some(403)));
    let stored = Uses::decode(&store.data[&uses_key("ops", "ok-1")].0).unwrap();
    assert_eq!(stored, Uses { not_after_ms: T, count: 1 });
}

#[wasm_bindgen_test(unsupported = test)]
fn the_use_is_taken_after_the_rate_limit_so_a_429_keeps_it() {
    let gw = gateway(r#","rate_limit":{"requests_per_minute":1}"#, &approval(2));
    let mut store = Store::default();
    let (first, record) = run(&gw, &mut store, KEY, T - 120_000);
    assert!(first.forwarded, "{record}");
    let (second, record) = run(&gw, &mut store, KEY, T - 120_000 + 1);
    assert_eq!(second.reply.as_ref().map(|r| r.status), Some(429), "{record}");
    assert_eq!(Uses::decode(&store.data[&uses_key("ops", "ok-1")].0).unwrap().count, 1, "the 429 took no use");
    // In the next minute the second use passes, and the third call is held.
    let (third, _) = run(&gw, &mut store, KEY, T - 1000);
    assert!(third.forwarded);
    let (fourth, record) = run(&gw, &mut store, KEY, T - 999);
    assert_eq!(fourth.reply.as_ref().map(|r| r.status), Some(429), "{record}");
}

#[wasm_bindgen_test(unsupported = test)]
fn the_clock_the_host_hands_in_decides_keys_and_grants() {
    let gw = gateway("", &approval(5));
    let mut store = Store::default();
    // Before the end: the old key and the approval work.
    let (out, _) = run(&gw, &mut store, OLD_KEY, T - 1);
    assert!(out.forwarded);
    // At the end: the old key is a 401 key_expired, and the new key's call is held again.
    let (out, record) = run(&gw, &mut store, OLD_KEY, T);
    assert_eq!(out.reply.as_ref().map(|r| r.status), Some(401));
    assert_eq!((reply_json(&out)["code"].as_str(), record["agent"].as_str()), (Some("key_expired"), Some("ops")));
    let (out, record) = run(&gw, &mut store, KEY, T);
    assert_eq!(out.reply.as_ref().map(|r| r.status), Some(403));
    assert_eq!(record["reason"], "approval_required");
    assert_eq!(reply_json(&out)["approval_id"], approval_id("ops", "DELETE", BRANCH, None, b"").as_str());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_host_that_cannot_count_refuses_the_approved_call() {
    let gw = gateway("", &approval(1));
    let mut m = Exchange::new(&gw);
    let mut out = Outcome::default();
    start(&mut m, KEY, T - 1);
    // Every write loses its compare-and-swap.
    while let Some(action) = m.next_action() {
        match action {
            Action::ReadCounter(_) => {
                m.handle(Event::Counter { value: None, cas: Some(7) });
            }
            Action::WriteCounter { .. } => {
                m.handle(Event::CounterWritten(false));
            }
            Action::Forward(_) => out.forwarded = true,
            Action::Reply(r) => out.reply = Some(r),
            _ => {}
        }
    }
    assert!(!out.forwarded);
    assert_eq!(out.reply.map(|r| r.status), Some(403));
}

/// A request held for its body is decided at the time the body has arrived: a key or an
/// approval that ended while the body was on its way no longer lets the call pass.
#[wasm_bindgen_test(unsupported = test)]
fn a_held_request_is_decided_when_its_body_has_arrived() {
    let gw = gateway("", &approval(5));
    for (key, body_ms, status) in
        [(OLD_KEY, T - 30_000, None), (KEY, T - 1, None), (KEY, T, Some(403)), (OLD_KEY, T + 60_000, Some(401))]
    {
        let mut m = Exchange::new(&gw);
        send_headers(&mut m, key, T - 60_000, false);
        assert_eq!(m.next_action(), None, "held for the body the approval binds");
        m.handle(Event::RequestBody { buffered: 0, end_of_stream: true });
        assert_eq!(m.next_action(), Some(Action::ReadBody));
        m.handle(Event::Body { bytes: b"", now_ms: body_ms });
        let (mut store, mut out) = (Store::default(), Outcome::default());
        while step(&mut m, &mut store, &mut out) {}
        assert_eq!(out.forwarded, status.is_none(), "{key} at {body_ms}: {:?}", out.reply);
        assert_eq!(out.reply.as_ref().map(|r| r.status), status, "{key} at {body_ms}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_rate_limit_window_no_worker_has_opened_is_opened_once() {
    // Two workers read the counter of a window nobody has written, then both write it: one
    // creates it, the other's write fails and it counts again from what the first wrote.
    let gw = gateway(r#","rate_limit":{"requests_per_minute":1}"#, "");
    let mut store = Store::default();
    let auth = format!("Bearer {KEY}");
    let h: Vec<(&str, &[u8])> = vec![
        (":method", b"GET"),
        (":path", b"/v1/projects/abcdefghijklmnopqrst"),
        (":authority", b"gw"),
        ("authorization", auth.as_bytes()),
    ];
    let (mut a, mut b) = (Exchange::new(&gw), Exchange::new(&gw));
    let (mut out_a, mut out_b) = (Outcome::default(), Outcome::default());
    a.handle(Event::RequestHeaders { headers: &h, end_of_stream: true, now_ms: T - 60_000 });
    b.handle(Event::RequestHeaders { headers: &h, end_of_stream: true, now_ms: T - 60_000 });
    assert!(step(&mut a, &mut store, &mut out_a), "A reads the window");
    assert!(step(&mut b, &mut store, &mut out_b), "B reads the window");
    while step(&mut a, &mut store, &mut out_a) {}
    while step(&mut b, &mut store, &mut out_b) {}
    assert!(out_a.forwarded, "{:?}", out_a.reply);
    assert!(!out_b.forwarded, "two calls passed a limit of one per minute");
    assert_eq!(out_b.reply.as_ref().map(|r| r.status), Some(429));
}

/// An approval binds the body's SHA-256; a call is decided on the body the host reads back. When
/// that read came back empty though the host had buffered a body (a read that failed, which the
/// driver cannot tell from an empty body), the call passed as the approved empty-bodied one and
/// the body the host held went upstream: 500, never forwarded.
#[wasm_bindgen_test(unsupported = test)]
fn a_body_read_back_short_of_what_the_host_holds_is_not_decided_on() {
    let gw = gateway("", &approval(5));
    let mut m = Exchange::new(&gw);
    send_headers(&mut m, KEY, T - 60_000, false);
    m.handle(Event::RequestBody { buffered: 7, end_of_stream: true });
    assert_eq!(m.next_action(), Some(Action::ReadBody));
    m.handle(Event::Body { bytes: b"", now_ms: T - 30_000 });
    let (mut store, mut out) = (Store::default(), Outcome::default());
    while step(&mut m, &mut store, &mut out) {}
    assert!(!out.forwarded, "decided on a body that is not the one held");
    assert_eq!(out.reply.as_ref().map(|r| r.status), Some(500));
}

/// `DELETE {BRANCH}` with this `content-type` (none when `None`) and body, carried through.
fn run_typed(gw: &Gateway, content_type: Option<&str>, body: &[u8]) -> Outcome {
    let auth = format!("Bearer {KEY}");
    let mut h: Vec<(&str, &[u8])> = vec![
        (":method", b"DELETE"),
        (":path", BRANCH.as_bytes()),
        (":authority", b"gw"),
        ("authorization", auth.as_bytes()),
    ];
    h.extend(content_type.map(|t| ("content-type", t.as_bytes())));
    let mut m = Exchange::new(gw);
    m.handle(Event::RequestHeaders { headers: &h, end_of_stream: false, now_ms: T - 60_000 });
    m.handle(Event::RequestBody { buffered: body.len(), end_of_stream: true });
    assert_eq!(m.next_action(), Some(Action::ReadBody));
    m.handle(Event::Body { bytes: body, now_ms: T - 60_000 });
    let (mut store, mut out) = (Store::default(), Outcome::default());
    while step(&mut m, &mut store, &mut out) {}
    out
}

/// An approval binds the content type the body was sent as: the same bytes read as another type
/// (upstream may parse a form, or JSON, differently) are another call, held for its own approval.
/// The type's name is compared without case; its parameters as sent.
#[wasm_bindgen_test(unsupported = test)]
fn an_approved_call_replayed_with_another_content_type_is_held_again() {
    let body = br#"{"a":1}"#;
    for (approved, replayed, passes) in [
        (Some("application/json"), Some("application/json"), true),
        (Some("application/json"), Some("Application/JSON"), true),
        (Some("application/json; charset=utf-8"), Some("APPLICATION/json; charset=utf-8"), true),
        (None, None, true),
        (Some("application/json"), Some("application/x-www-form-urlencoded"), false),
        (Some("application/json"), Some("text/plain"), false),
        (Some("application/json"), Some("application/json; charset=utf-16"), false),
        (Some("application/json; charset=utf-8"), Some("application/json; charset=utf-16"), false),
        (Some("application/json"), None, false),
        (None, Some("application/json"), false),
    ] {
        let held = run_typed(&gateway("", ""), approved, body);
        assert_eq!(held.reply.as_ref().map(|r| r.status), Some(403), "{approved:?}");
        let id = reply_json(&held)["approval_id"].as_str().unwrap().to_string();
        let grant = format!(
            r#"{{"id":"ok-1","agent":"ops","approval":"{id}","approved_by":"Ana","not_after":"2027-01-01T00:00:00Z","uses":5}}"#
        );
        let gw = gateway("", &grant);
        assert!(run_typed(&gw, approved, body).forwarded, "the approved call itself, as {approved:?}");
        let replay = run_typed(&gw, replayed, body);
        assert_eq!(replay.forwarded, passes, "approved as {approved:?}, replayed as {replayed:?}");
        if !passes {
            let refusal = reply_json(&replay);
            assert_eq!(refusal["code"], "approval_required");
            assert_ne!(refusal["approval_id"].as_str(), Some(id.as_str()), "{replayed:?} is another call");
        }
    }
}
