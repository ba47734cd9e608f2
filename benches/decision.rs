//! The decision path, natively: `cargo bench --bench decision` (part of `make bench`).
//!
//! No benchmark framework: a timing loop with `Instant` and `black_box`, several runs, the median
//! reported. Measures, for policies of 1, 100 and 10,000 agents:
//!
//! - `decide`: everything the filter asks of the core for one request: the key's SHA-256 and the
//!   agent lookup, method checks, request-target parsing, the catalog match, parameter checks,
//!   scope, allow/deny and access; over one request per catalog endpoint (every endpoint, each
//!   with another agent's key and that agent's project/organization in its path);
//! - its parts: `identify` (SHA-256 + lookup), target parsing + catalog match, `decide_for`;
//! - `Policy::from_json` for 10,000 agents, of two shapes (all 18 areas each, or a typical agent):
//!   time, and memory (bytes the compiled policy keeps and the peak while compiling, from a
//!   counting allocator; the RSS change from /proc/self/status).
//!
//! - SQL judgement (`bollard::sql::judge`, what `run_sql` and `apply_migration` bodies go through):
//!   a migration of about 1 KB and one of about 100 KB, parsed, walked and checked against an
//!   agent's rules. Requests that carry no SQL never reach the parser.
//!
//! Built for wasm32-wasip1 it runs under Node (`node bench/wasi-run.mjs decision-*.wasm`), in
//! V8 as in Envoy; `make bench` runs both. The last line, `bench-json: {...}`, is what
//! `bench/run.py` reads.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bollard::catalog::query::Kind;
use bollard::catalog::{Catalog, Method};
use bollard::decision::{decide, decide_for, identify, Request, Verdict};
use bollard::exchange::{Event, Exchange, Gateway};
use bollard::policy::{key_sha256, Policy};
use bollard::sql::{judge, ClassSet, SqlClass, SqlRules};
use bollard::target::RequestTarget;

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const AGENT_COUNTS: [usize; 3] = [1, 100, 10_000];
/// Timed runs per measurement; the median is reported.
const RUNS: usize = 9;
/// Each run lasts about this long.
const RUN_TIME: Duration = Duration::from_millis(150);
const UUID: &str = "3f2b8c1e-7d4a-4b6e-9c2f-1a2b3c4d5e6f";

fn key(i: usize) -> String {
    format!("sbp_{i:040}")
}

/// Agent i's project ref: 20 lowercase letters, distinct per agent.
fn project_ref(i: usize) -> String {
    let mut n = i;
    let mut out = vec![b'a'; 20];
    for b in out.iter_mut().rev() {
        *b = b'a' + (n % 26) as u8;
        n /= 26;
    }
    out[0] = b'b'; // not "aaaa...": still 20 lowercase letters
    String::from_utf8_lossy(&out).into_owned()
}

fn org(i: usize) -> String {
    format!("org-{i}")
}

/// The agents' shape: `Full` gives every agent full access to all 18 areas (each request then runs
/// through every step of the decision before it is allowed, except `get_snippet`, which needs
/// every project where these agents have one each; and the policy is as large as an agent entry
/// gets without allow/deny lists); `Typical` is an agent like the README's: four areas, one allow
/// and one deny entry.
#[derive(Clone, Copy)]
enum Shape {
    Full,
    Typical,
}

/// A policy of `n` agents, each with its own key, one project and one organization.
fn policy_json(n: usize, shape: Shape) -> String {
    let areas = [
        "projects",
        "organizations",
        "database",
        "edge_functions",
        "secrets",
        "auth_config",
        "project_config",
        "storage",
        "api_keys",
        "branches",
        "backups",
        "domains",
        "network",
        "analytics",
        "advisors",
        "billing",
        "oauth",
        "account",
    ];
    let rest = match shape {
        Shape::Full => {
            let access: Vec<String> = areas.iter().map(|a| format!("\"{a}\": \"full\"")).collect();
            format!(r#""access": {{{}}}"#, access.join(", "))
        }
        Shape::Typical => r#""access": {"projects": "read", "database": "read", "edge_functions": "full", "storage": "read"}, "allow": ["list_migrations"], "deny": ["get_function_body"]"#.to_string(),
    };
    let agents: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"id": "agent-{i}", "name": "Agent {i}", "key_sha256": "{}", "projects": ["{}"], "organizations": ["{}"], {rest}}}"#,
                key_sha256(&key(i)),
                project_ref(i),
                org(i)
            )
        })
        .collect();
    format!(
        r#"{{"mode": "enforce", "upstream": {{"token_env": "SUPABASE_ACCESS_TOKEN"}}, "agents": [{}]}}"#,
        agents.join(",\n")
    )
}

/// What compiling one policy costs: time, bytes kept, peak bytes while compiling, RSS change.
struct Compile {
    json_bytes: usize,
    ms: f64,
    min_ms: f64,
    max_ms: f64,
    kept: usize,
    peak: usize,
    rss_delta_kib: Option<u64>,
}

/// Memory first (kept/peak from the counting allocator; RSS is meaningful only for the first
/// large allocation of the process), then the median time of 5 compiles.
fn compile(n: usize, shape: Shape) -> Result<Compile, String> {
    let text = policy_json(n, shape);
    let rss_before = vm_rss_kib();
    let live_before = LIVE.load(Ordering::Relaxed);
    PEAK.store(live_before, Ordering::Relaxed);
    let policy = Policy::from_json(&text).map_err(|e| e.to_string())?;
    let kept = LIVE.load(Ordering::Relaxed).saturating_sub(live_before);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(live_before);
    let rss_delta_kib = match (rss_before, vm_rss_kib()) {
        (Some(b), Some(a)) => Some(a.saturating_sub(b)),
        _ => None,
    };
    drop(black_box(policy));
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let p = Policy::from_json(black_box(&text)).map_err(|e| e.to_string())?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        drop(black_box(p));
    }
    let min_ms = times.iter().copied().fold(f64::INFINITY, f64::min);
    let max_ms = times.iter().copied().fold(0.0, f64::max);
    Ok(Compile { json_bytes: text.len(), ms: median(times), min_ms, max_ms, kept, peak, rss_delta_kib })
}

/// A path template with its parameters filled for agent `i`.
fn fill(template: &str, i: usize) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else { break };
        let name = &rest[open + 1..open + close];
        let value = match name {
            "ref" | "branch_id_or_ref" => project_ref(i),
            "slug" => org(i),
            "id" | "invite_id" | "provider_id" | "tpa_id" | "user_id" => UUID.to_string(),
            "function_slug" => "hello".to_string(),
            "version" => "1".to_string(),
            "addon_variant" => "pitr_7".to_string(),
            _ => "x".to_string(),
        };
        out.push_str(&value);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// A query value of this kind, form-encoded, for agent `i`.
fn query_value(kind: &Kind, i: usize) -> String {
    match kind {
        Kind::Boolean => "true".to_string(),
        Kind::Integer(lo, hi) => 1i64.clamp(*lo, *hi).to_string(),
        Kind::Number(lo, hi) => 1f64.clamp(*lo, *hi).to_string(),
        Kind::OneOf(values) => values.first().map(|v| v.replace(' ', "+")).unwrap_or_default(),
        Kind::Uuid => UUID.to_string(),
        Kind::DateTime => "2026-01-01T00:00:00Z".to_string(),
        Kind::ProjectRef => project_ref(i),
        Kind::Digits => "1".to_string(),
        Kind::Text(_) | Kind::Word => "x".to_string(),
        Kind::List(inner) => query_value(inner, i),
    }
}

/// One request per catalog endpoint: (method, target, authorization value). Endpoint j is sent
/// by agent (j * 7919) mod n, so a large policy is looked up at many places.
fn requests(n: usize) -> Vec<(&'static str, String, String)> {
    Catalog::endpoints()
        .iter()
        .enumerate()
        .map(|(j, e)| {
            let i = (j * 7919) % n;
            // An account-level call that can name its project names the agent's (list_snippets),
            // and every parameter an operation requires is given a value of its kind.
            let mut query: Vec<(&str, String)> = Vec::new();
            if let Some(name) = Catalog::behaviour_of(j).project_param {
                query.push((name, project_ref(i)));
            }
            for p in Catalog::query_params(j).iter().filter(|p| p.required) {
                if !query.iter().any(|(n, _)| *n == p.name) {
                    query.push((p.name, query_value(&p.kind, i)));
                }
            }
            let mut target = fill(e.path, i);
            for (k, (name, value)) in query.iter().enumerate() {
                target.push_str(&format!("{}{name}={value}", if k == 0 { '?' } else { '&' }));
            }
            (e.method.as_str(), target, format!("Bearer {}", key(i)))
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// How many passes over `items` fill one timed run of about RUN_TIME.
fn calibrate<T>(items: &[T], f: &mut impl FnMut(&T)) -> usize {
    let mut passes = 1usize;
    loop {
        let t = Instant::now();
        for _ in 0..passes {
            for it in items {
                f(black_box(it));
            }
        }
        if t.elapsed() >= RUN_TIME / 4 || passes >= 1 << 24 {
            return passes * 4;
        }
        passes *= 2;
    }
}

/// One timed run: ns per call of `f`.
fn sample<T>(items: &[T], passes: usize, f: &mut impl FnMut(&T)) -> f64 {
    let t = Instant::now();
    for _ in 0..passes {
        for it in items {
            f(black_box(it));
        }
    }
    t.elapsed().as_nanos() as f64 / (passes * items.len()).max(1) as f64
}

/// (median, min, max) of the samples.
fn summary(samples: &[f64]) -> (f64, f64, f64) {
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(0.0, f64::max);
    (median(samples.to_vec()), min, max)
}

fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A migration of at least `bytes` bytes, of statements like those agents write: tables,
/// indexes, policies, a trigger function, grants, inserts.
fn migration(bytes: usize) -> String {
    let mut out = String::new();
    for i in 0.. {
        let statements = [
            format!("create table if not exists public.items_{i} (\n  id bigint generated by default as identity primary key,\n  owner_id uuid not null references auth.users (id) on delete cascade,\n  name text not null check (char_length(name) < 200),\n  data jsonb default '{{}}'::jsonb,\n  created_at timestamptz not null default now()\n);\n"),
            format!("create index if not exists items_{i}_owner_idx on public.items_{i} (owner_id, created_at desc);\n"),
            format!("alter table public.items_{i} enable row level security;\n"),
            format!("create policy \"own items {i}\" on public.items_{i} for select using ((select auth.uid()) = owner_id);\n"),
            format!("insert into public.items_{i} (owner_id, name, data) select id, 'seed', jsonb_build_object('n', {i}) from auth.users where email like '%@example.com';\n"),
            format!("comment on table public.items_{i} is 'items, migration {i}';\n"),
        ];
        for st in statements {
            if out.len() >= bytes {
                return out;
            }
            out.push_str(&st);
        }
    }
    out
}

/// Times `judge` on a 1 KB and a 100 KB migration: (label, bytes, statements, median, min, max µs).
fn sql_bench() -> Vec<(String, usize, usize, f64, f64, f64)> {
    let rules = SqlRules {
        allow: ClassSet::of(&[SqlClass::Read, SqlClass::Write, SqlClass::Ddl]),
        deny_schemas: vec!["vault".to_string()],
        deny_functions: vec!["dblink".to_string()],
        allow_unparsed: false,
    };
    let mut out = Vec::new();
    for (label, size) in [("1 KB", 1024), ("100 KB", 100 * 1024)] {
        let sql = migration(size);
        let j = judge(&sql, &rules);
        assert!(j.allowed(), "the bench migration is allowed: {:?}", j.refusal);
        let items = [sql.as_str()];
        let mut op = |s: &&str| {
            black_box(judge(s, &rules).classes);
        };
        let passes = calibrate(&items, &mut op);
        let samples: Vec<f64> = (0..RUNS).map(|_| sample(&items, passes, &mut op) / 1000.0).collect();
        let (med, lo, hi) = summary(&samples);
        out.push((label.to_string(), sql.len(), j.statements.len(), med, lo, hi));
    }
    out
}

/// The whole life of one request in the core, as the filter drives it in Envoy: the request
/// headers (the decision, the forward or the refusal), the response headers, the end (the audit
/// record and its JSON line). `path` is sent by the bench's agent with the headers Envoy adds.
fn exchange_once(gw: &Gateway, path: &str, key: &str) -> usize {
    let auth = format!("Bearer {key}");
    let headers: [(&str, &[u8]); 7] = [
        (":authority", b"127.0.0.1:10000"),
        (":path", path.as_bytes()),
        (":method", b"GET"),
        (":scheme", b"http"),
        ("authorization", auth.as_bytes()),
        ("x-forwarded-proto", b"http"),
        ("x-request-id", b"0d2c4b5a-6f7e-4d8c-9b0a-1f2e3d4c5b6a"),
    ];
    let mut m = Exchange::new(gw);
    let mut n = 0;
    m.handle(Event::RequestHeaders { headers: &headers, end_of_stream: true, now_ms: 1_764_000_000_000 });
    while let Some(a) = m.next_action() {
        black_box(&a);
        n += 1;
    }
    m.handle(Event::ResponseHeaders { status: Some(200), content_encoding: None, end_of_stream: false });
    m.handle(Event::ResponseBody { buffered: 2, end_of_stream: true });
    while let Some(a) = m.next_action() {
        black_box(&a);
        n += 1;
    }
    let done = m.finish(1_764_000_000_001);
    n + done.record.to_json().len()
}

/// Writes one byte in every cache line of `buf`.
#[inline(never)]
fn evict(buf: &mut [u8]) {
    for i in (0..buf.len()).step_by(64) {
        buf[i] = buf[i].wrapping_add(1);
    }
    black_box(buf);
}

/// Times [`exchange_once`] for an allowed and a refused call: (label, median, min, max ns).
fn exchange_bench() -> Result<Vec<(&'static str, f64, f64, f64)>, String> {
    let reference = project_ref(0);
    let policy = format!(
        r#"{{"mode": "enforce", "upstream": {{"token_env": "T"}}, "agents": [{{"id": "bench-agent", "name": "Bench agent",
        "key_sha256": "{}", "projects": ["{reference}"], "organizations": ["acme"],
        "access": {{"projects": "read", "edge_functions": "read"}}}}]}}"#,
        key_sha256(&key(0))
    );
    let gw = Gateway::load(policy.as_bytes(), |_| Some("sbp_bench_upstream_token_000000000000000".to_string()))?;
    let mut out = Vec::new();
    for (label, tail) in [("allow (list_functions)", "functions"), ("deny (list_secrets)", "secrets")] {
        let items = [format!("/v1/projects/{reference}/{tail}")];
        let k = key(0);
        if std::env::var("EXCHANGE_ONLY").is_ok_and(|only| !label.starts_with(&only)) {
            continue;
        }
        // A fixed count instead of timed runs: for instruction counts under valgrind's callgrind.
        if let Some(n) = std::env::var("EXCHANGE_CALLS").ok().and_then(|v| v.parse::<usize>().ok()) {
            // EXCHANGE_THRASH_KB: that many KiB written between requests, evicting the caches as
            // the host's own work between two requests does (for cachegrind's miss counts).
            let kb = std::env::var("EXCHANGE_THRASH_KB").ok().and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
            let mut thrash = vec![0u8; kb * 1024];
            for _ in 0..n {
                evict(&mut thrash);
                black_box(exchange_once(&gw, &items[0], &k));
            }
            out.push((label, 0.0, 0.0, 0.0));
            continue;
        }
        let mut op = |p: &String| {
            black_box(exchange_once(&gw, p, &k));
        };
        let passes = calibrate(&items, &mut op);
        let samples: Vec<f64> = (0..RUNS).map(|_| sample(&items, passes, &mut op)).collect();
        let (med, lo, hi) = summary(&samples);
        out.push((label, med, lo, hi));
    }
    Ok(out)
}

fn main() -> Result<(), String> {
    // `cargo bench --bench decision -- exchange`: only the request's life in the core.
    if std::env::args().any(|a| a == "exchange") {
        for (label, med, lo, hi) in exchange_bench()? {
            println!("{label:24} {med:8.0} ns ({lo:.0}-{hi:.0})");
        }
        return Ok(());
    }
    // Compiling 10,000 agents, first: the RSS change is only meaningful before anything is freed.
    let n = 10_000;
    let full = compile(n, Shape::Full)?;
    let typical = compile(n, Shape::Typical)?;

    let catalog = Catalog::new()?;
    let endpoints = Catalog::endpoints().len();
    let arch = if cfg!(target_arch = "wasm32") { "wasm32" } else { "native" };
    println!("decision path, {arch} ({endpoints} catalog endpoints, one request each; median of {RUNS} interleaved runs, ns per request)");
    println!(
        "{:>7}  {:>18}  {:>9}  {:>12}  {:>11}  {:>15}",
        "agents", "decide (min-max)", "identify", "parse+match", "decide_for", "allowed/denied"
    );
    // One setup per policy size: the policy and one request per endpoint.
    let mut setups = Vec::new();
    for n in AGENT_COUNTS {
        let text = policy_json(n, Shape::Full);
        let policy = Policy::from_json(&text).map_err(|e| format!("{n}-agent policy: {e}"))?;
        setups.push((n, policy, requests(n)));
    }
    let auths: Vec<Vec<[&str; 1]>> =
        setups.iter().map(|(_, _, reqs)| reqs.iter().map(|(_, _, a)| [a.as_str()]).collect()).collect();
    let alls: Vec<Vec<Request>> = setups
        .iter()
        .zip(&auths)
        .map(|((_, _, reqs), auth)| {
            reqs.iter()
                .zip(auth)
                .map(|((m, t, _), a)| Request {
                    method: m,
                    target: t,
                    authorization: a,
                    method_override: false,
                    now_ms: 0,
                })
                .collect()
        })
        .collect();
    let with_agents: Vec<Vec<_>> = setups
        .iter()
        .zip(&alls)
        .map(|((_, policy, _), all)| {
            all.iter().filter_map(|r| identify(policy, r.authorization, 0).ok().map(|a| (a, *r))).collect()
        })
        .collect();
    // The four measurements: the whole decision as the filter calls it; the key (bearer parsing,
    // SHA-256, lookup); the request target and the catalog match; everything after identification
    // (which includes parsing and matching).
    const OPS: usize = 4;
    let time = |s: usize, op: usize, passes: Option<usize>| -> (usize, f64) {
        let (_, policy, _) = &setups[s];
        let (all, with_agent) = (&alls[s], &with_agents[s]);
        let mut decide_op = |r: &Request| {
            black_box(decide(policy, &catalog, r).verdict);
        };
        let mut identify_op = |r: &Request| {
            black_box(identify(policy, r.authorization, 0).is_ok());
        };
        let mut match_op = |r: &Request| {
            let found = RequestTarget::parse(r.target)
                .ok()
                .and_then(|t| Method::parse(r.method).and_then(|m| catalog.find(m, t.path).ok()))
                .map(|m| m.index);
            black_box(found);
        };
        let mut decide_for_op = |(a, r): &(&bollard::policy::Agent, Request)| {
            black_box(decide_for(policy, &catalog, a, r).verdict);
        };
        macro_rules! run {
            ($items:expr, $f:expr) => {{
                let p = match passes {
                    Some(p) => p,
                    None => calibrate($items, $f),
                };
                (p, sample($items, p, $f))
            }};
        }
        match op {
            0 => run!(all, &mut decide_op),
            1 => run!(all, &mut identify_op),
            2 => run!(all, &mut match_op),
            _ => run!(with_agent, &mut decide_for_op),
        }
    };
    // Calibrate each (size, measurement), then interleave: run r times every size and measurement
    // once, so that a busy moment of the machine does not fall on one size only.
    let mut passes = vec![[0usize; OPS]; setups.len()];
    for (s, p) in passes.iter_mut().enumerate() {
        for (op, slot) in p.iter_mut().enumerate() {
            *slot = time(s, op, None).0;
        }
    }
    let mut samples: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); OPS]; setups.len()];
    for _ in 0..RUNS {
        for s in 0..setups.len() {
            for op in 0..OPS {
                samples[s][op].push(time(s, op, Some(passes[s][op])).1);
            }
        }
    }
    let mut json_rows = Vec::new();
    for (s, (n, policy, _)) in setups.iter().enumerate() {
        // What the requests come to (checked untimed): the bench measures real allows.
        let (mut allowed, mut denied) = (0, 0);
        for r in &alls[s] {
            match decide(policy, &catalog, r).verdict {
                Verdict::Allow => allowed += 1,
                Verdict::Deny => denied += 1,
            }
        }
        let (decide_ns, lo, hi) = summary(&samples[s][0]);
        let (identify_ns, ..) = summary(&samples[s][1]);
        let (match_ns, ..) = summary(&samples[s][2]);
        let (decide_for_ns, ..) = summary(&samples[s][3]);
        println!(
            "{n:>7}  {:>18}  {identify_ns:>9.0}  {match_ns:>12.0}  {decide_for_ns:>11.0}  {:>15}",
            format!("{decide_ns:.0} ({lo:.0}-{hi:.0})"),
            format!("{allowed}/{denied}")
        );
        json_rows.push(format!(
            r#"{{"agents": {n}, "decide_ns": {decide_ns:.1}, "decide_min_ns": {lo:.1}, "decide_max_ns": {hi:.1}, "identify_ns": {identify_ns:.1}, "parse_match_ns": {match_ns:.1}, "decide_for_ns": {decide_for_ns:.1}, "allowed": {allowed}, "denied": {denied}}}"#
        ));
    }

    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    println!();
    println!("policy compile, {n} agents (median of 5 compiles; memory from a counting allocator):");
    let mut json_compile = Vec::new();
    for (name, c) in [("full", &full), ("typical", &typical)] {
        let rss = c.rss_delta_kib.map_or("-".to_string(), |k| format!("{:.2} MiB", k as f64 / 1024.0));
        println!(
            "  {name:8} {:5.2} MiB JSON: {:6.1} ms ({:.1}-{:.1}); keeps {:5.2} MiB ({:.0} bytes/agent), peak {:5.2} MiB, RSS +{rss}",
            mib(c.json_bytes),
            c.ms,
            c.min_ms,
            c.max_ms,
            mib(c.kept),
            c.kept as f64 / n as f64,
            mib(c.peak)
        );
        json_compile.push(format!(
            r#""{name}": {{"agents": {n}, "json_bytes": {}, "ms": {:.2}, "min_ms": {:.2}, "max_ms": {:.2}, "kept_bytes": {}, "peak_bytes": {}, "rss_delta_kib": {}}}"#,
            c.json_bytes,
            c.ms,
            c.min_ms,
            c.max_ms,
            c.kept,
            c.peak,
            c.rss_delta_kib.map_or("null".to_string(), |k| k.to_string())
        ));
    }
    println!("  (\"full\": every agent has all 18 areas; \"typical\": 4 areas, one allow and one deny entry; RSS only for the first)");
    println!();
    println!("SQL judgement (parse, walk, classify, check; median of {RUNS} runs):");
    let mut json_sql = Vec::new();
    for (label, bytes, statements, med, lo, hi) in sql_bench() {
        println!("  {label:>6} migration ({bytes} bytes, {statements} statements): {med:9.1} µs ({lo:.1}-{hi:.1})");
        json_sql.push(format!(
            r#"{{"label": "{label}", "bytes": {bytes}, "statements": {statements}, "us": {med:.2}, "min_us": {lo:.2}, "max_us": {hi:.2}}}"#
        ));
    }
    println!();
    println!(
        "one request's life in the core (headers, forward or refusal, response, audit line; median of {RUNS} runs):"
    );
    let mut json_exchange = Vec::new();
    for (label, med, lo, hi) in exchange_bench()? {
        println!("  {label:24} {med:8.0} ns ({lo:.0}-{hi:.0})");
        json_exchange.push(format!(r#"{{"label": "{label}", "ns": {med:.1}, "min_ns": {lo:.1}, "max_ns": {hi:.1}}}"#));
    }
    println!(
        "bench-json: {{\"arch\": \"{arch}\", \"rows\": [{}], \"compile\": {{{}}}, \"sql\": [{}], \"exchange\": [{}]}}",
        json_rows.join(", "),
        json_compile.join(", "),
        json_sql.join(", "),
        json_exchange.join(", ")
    );
    Ok(())
}
