// A stand-in proxy-wasm host in Node (V8, the engine Envoy runs the filter in): loads a filter,
// configures it, and drives requests through the same callbacks Envoy makes for a call answered
// by a direct response (context create, request headers, response headers and body, log, done,
// delete). It times the filter's own work per request, host calls included but with Envoy's cost
// of each call left out. `make bench` runs it for Bollard and the pass-through filter.
//
// Usage: node bench/host.mjs FILTER.wasm CONFIG_FILE PATH [requests] [rounds]
// Prints one JSON line: {"ns_per_request": median, "min", "max", "host_calls": per request, ...}.
// HOST_TRACE=1 adds "trace": the host calls of one more request, in order, by name.
// THRASH_KB=N writes one byte in every 64 of an N KiB buffer before each request, evicting the
// caches as Envoy's own work between two requests does, and times the requests alone.
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";
import { argv, env, exit } from "node:process";

const [file, configFile, path, n = "20000", r = "7"] = argv.slice(2);
const requests = Number(n);
const rounds = Number(r);
const config = configFile ? readFileSync(configFile) : Buffer.alloc(0);
const key = env.BENCH_KEY ?? "sbp_0000000000000000000000000000000000000000";

const OK = 0;
const NOT_FOUND = 1;
const maps = new Map(); // map type -> [[name, value]]
const metrics = [];
const properties = new Map();
let calls = 0;
const clockStep = env.HOST_CLOCK_STEP_MS ? BigInt(env.HOST_CLOCK_STEP_MS) : null;
let clock = 1764547200000n;
let replies = 0;
let exports;
let memory;

const u8 = () => new Uint8Array(memory.buffer);
const dv = () => new DataView(memory.buffer);
const text = (ptr, len) => Buffer.from(memory.buffer, ptr, len).toString("latin1");
function give(bytes, retPtr, retSize) {
  const p = exports.proxy_on_memory_allocate(bytes.length);
  u8().set(bytes, p);
  dv().setUint32(retPtr, p, true);
  dv().setUint32(retSize, bytes.length, true);
  return OK;
}
function serialize(pairs) {
  let size = 4 + pairs.length * 8;
  for (const [k, v] of pairs) size += k.length + v.length + 2;
  const out = Buffer.alloc(size);
  out.writeUInt32LE(pairs.length, 0);
  let at = 4;
  for (const [k, v] of pairs) {
    out.writeUInt32LE(k.length, at);
    out.writeUInt32LE(v.length, at + 4);
    at += 8;
  }
  for (const [k, v] of pairs) {
    at += out.write(k, at, "latin1") + 1;
    at += out.write(v, at, "latin1") + 1;
  }
  return out;
}
const map = (t) => maps.get(t) ?? [];
function setHeader(t, k, v) {
  const m = map(t).filter(([name]) => name !== k);
  if (v !== null) m.push([k, v]);
  maps.set(t, m);
}

const host = {
  proxy_get_buffer_bytes(type, start, max, retPtr, retSize) {
    calls++;
    if (type === 7) return give(config.subarray(start, start + (max >>> 0)), retPtr, retSize);
    if (type === 1) return give(Buffer.from("[]"), retPtr, retSize);
    return NOT_FOUND;
  },
  proxy_get_header_map_pairs(t, retPtr, retSize) {
    calls++;
    return give(serialize(map(t)), retPtr, retSize);
  },
  proxy_get_header_map_value(t, kp, kl, retPtr, retSize) {
    calls++;
    const k = text(kp, kl);
    const found = map(t).find(([name]) => name === k);
    return found ? give(Buffer.from(found[1], "latin1"), retPtr, retSize) : NOT_FOUND;
  },
  proxy_replace_header_map_value(t, kp, kl, vp, vl) {
    calls++;
    setHeader(t, text(kp, kl), text(vp, vl));
    return OK;
  },
  proxy_add_header_map_value(t, kp, kl, vp, vl) {
    calls++;
    maps.set(t, [...map(t), [text(kp, kl), text(vp, vl)]]);
    return OK;
  },
  proxy_remove_header_map_value(t, kp, kl) {
    calls++;
    setHeader(t, text(kp, kl), null);
    return OK;
  },
  proxy_set_header_map_pairs() {
    calls++;
    return OK;
  },
  proxy_get_current_time_nanoseconds(retPtr) {
    calls++;
    // HOST_CLOCK_STEP_MS: a clock that starts at 2026-12-01 and moves this much per read.
    const now = clockStep === null ? BigInt(Date.now()) : (clock += clockStep);
    dv().setBigUint64(retPtr, now * 1000000n, true);
    return OK;
  },
  proxy_define_metric(type, np, nl, retId) {
    calls++;
    metrics.push([text(np, nl), 0n]);
    dv().setUint32(retId, metrics.length - 1, true);
    return OK;
  },
  proxy_increment_metric(id, offset) {
    calls++;
    if (metrics[id]) metrics[id][1] += offset;
    return OK;
  },
  proxy_set_property(pp, pl, vp, vl) {
    calls++;
    properties.set(text(pp, pl), vl);
    return OK;
  },
  proxy_get_property() {
    calls++;
    return NOT_FOUND;
  },
  proxy_send_local_response() {
    calls++;
    replies++;
    return OK;
  },
  proxy_log(level, mp, ml) {
    calls++;
    if (level >= 4) console.error(text(mp, ml));
    return OK;
  },
  proxy_set_tick_period_milliseconds() {
    calls++;
    return OK;
  },
};

const module = new WebAssembly.Module(readFileSync(file));
const wasi = new WASI({ version: "preview1", env, returnOnExit: true });
const imports = { ...wasi.getImportObject() };
imports.env = {};
let trace = null;
for (const i of WebAssembly.Module.imports(module)) {
  if (i.module === "env" && i.kind === "function") {
    const f = host[i.name] ?? (() => OK);
    imports.env[i.name] = env.HOST_TRACE === "1" ? (...a) => { trace?.push(i.name); return f(...a); } : f;
  }
}
const instance = new WebAssembly.Instance(module, imports);
exports = instance.exports;
memory = exports.memory;
wasi.initialize(instance);

const ROOT = 1;
exports.proxy_on_context_create(ROOT, 0);
exports.proxy_on_vm_start(ROOT, 0);
if (!exports.proxy_on_configure(ROOT, config.length)) {
  console.error("the filter refused its configuration");
  exit(1);
}

const request = [
  [":authority", "127.0.0.1:10000"],
  [":path", path],
  [":method", "GET"],
  [":scheme", "http"],
  ["authorization", `Bearer ${key}`],
  ["user-agent", "wrk"],
  ["x-forwarded-proto", "http"],
  ["x-request-id", "0d2c4b5a-6f7e-4d8c-9b0a-1f2e3d4c5b6a"],
];
const response = [
  [":status", "200"],
  ["content-length", "2"],
  ["content-type", "text/plain"],
];
let ctx = 2;
function once() {
  const id = ctx++;
  maps.set(0, request.slice());
  maps.set(2, response.slice());
  exports.proxy_on_context_create(id, ROOT);
  exports.proxy_on_request_headers(id, request.length, 1);
  exports.proxy_on_response_headers(id, response.length, 0);
  exports.proxy_on_response_body(id, 2, 1);
  exports.proxy_on_log(id);
  exports.proxy_on_done(id);
  exports.proxy_on_delete(id);
}

for (let i = 0; i < requests; i++) once(); // warm up: V8 tiers the hot functions up
const samples = [];
calls = 0;
replies = 0;
const thrash = new Uint8Array(Number(env.THRASH_KB ?? "0") * 1024);
for (let k = 0; k < rounds; k++) {
  if (thrash.length === 0) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < requests; i++) once();
    samples.push(Number(process.hrtime.bigint() - t) / requests);
    continue;
  }
  let spent = 0n;
  for (let i = 0; i < requests; i++) {
    for (let j = 0; j < thrash.length; j += 64) thrash[j]++;
    const t = process.hrtime.bigint();
    once();
    spent += process.hrtime.bigint() - t;
  }
  samples.push(Number(spent) / requests);
}
const timedCalls = calls;
let traced;
if (env.HOST_TRACE === "1") {
  trace = [];
  once();
  [traced, trace] = [trace, null];
}
// HOST_TICK=0: a host that never ticks (the filter must still hand its counts over).
if (exports.proxy_on_tick && env.HOST_TICK !== "0") exports.proxy_on_tick(ROOT);
samples.sort((a, b) => a - b);
const out = {
  ns_per_request: samples[samples.length >> 1],
  min: samples[0],
  max: samples[samples.length - 1],
  host_calls: (env.HOST_TRACE === "1" ? timedCalls : calls) / (requests * rounds),
  local_replies: replies / (requests * rounds),
  forwarded_authorization: (maps.get(0).find(([k]) => k === "authorization") ?? [])[1] ?? null,
  audit_bytes: properties.get("bollard_audit") ?? null,
  trace: traced,
  counted: Object.fromEntries(metrics.filter(([, v]) => v > 0n).map(([k, v]) => [k, Number(v)])),
};
console.log(JSON.stringify(out));
