#!/usr/bin/env python3
"""`make bench`: what Bollard costs, measured in one run, printed as one table with ratios.

1. Envoy (--concurrency 1) under wrk, on a direct-response route (no upstream cost) and proxied
   to a local upstream (a second Envoy answering with a direct response), for: no filter; a
   minimal pass-through proxy-wasm filter (bench/passthrough); the same crate making the host
   calls of Bollard's contract for an allowed call and nothing else (`--features contract`, direct
   route); Bollard with an allowed and with a denied call; Envoy's RBAC filter with the equivalent rule; a Lua filter doing the equivalent
   check. Then one call whose decision reads its body, `run_sql` with a read-only SELECT (POST,
   JSON body), through Bollard and the same request through the others (direct route; Bollard
   and the pass-through filter also proxied). Rounds are interleaved and medians reported, with
   the spread across rounds.
   Besides req/s and wrk's latency percentiles, the CPU time the Envoy under test spent per
   request, which other work on a shared machine disturbs much less.
   Then the throughput target's own comparison head to head: the pass-through filter, the
   contract-calls baseline and Bollard allow on the direct route, one short run each in turn,
   many times over, and the ratio taken within each turn, where the three ran seconds apart
   (a shared machine's slow minutes then touch both sides of a ratio, not one).
2. The decision path natively (`cargo bench --bench decision`, benches/decision.rs), and the same
   benchmark built for wasm32-wasip1 under Node's WASI (V8, as in Envoy) when `node` is there:
   the decision, policy compile, SQL judgement, and one request's whole life in the core.
3. Sizes: the .wasm files (the full filter, the lean one without the SQL grammar when built, the
   pass-through), and the memory an Envoy holds with a 1-agent and a 10,000-agent policy.

The output ends with every target of the performance issue met, missed, or unresolved (when the
noise across rounds is wider than the target's margin); the raw numbers go to
target/bench/last-run.json.
See docs/performance.md.

Everything listens on 127.0.0.1 only; every server runs under `timeout` and stops by itself.
Needs: the built filter (make build; BOLLARD_WASM names another), the pass-through filter (see
bench/passthrough/Cargo.toml), wrk, and Envoy (ENVOY, default .venv/bin/envoy). The lean filter
(make build-lean; BOLLARD_LEAN_WASM) is only measured for size, when it is there. Options: --help.
"""
import argparse
import copy
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ENVOY = os.environ.get("ENVOY", os.path.join(ROOT, ".venv", "bin", "envoy"))
WASM = os.environ.get("BOLLARD_WASM", os.path.join(ROOT, "target", "wasm32-wasip1", "release", "bollard.wasm"))
# `make build-lean`: the filter without the SQL grammar, the one the size target is judged on.
LEAN_WASM = os.environ.get("BOLLARD_LEAN_WASM", os.path.join(ROOT, "target", "lean", "bollard.wasm"))
# `make build-lean-min`: the same at its smallest (nightly build-std, panics as traps, opt-level z).
LEAN_MIN_WASM = os.environ.get("BOLLARD_LEAN_MIN_WASM", os.path.join(ROOT, "target", "lean-min", "bollard.wasm"))
PASS_WASM = os.path.join(ROOT, "target", "bench-passthrough", "wasm32-wasip1", "release",
                         "bollard_bench_passthrough.wasm")
# The same crate with `--features contract`: the host calls Bollard's contract makes for an allowed
# call, with no decision (bench/passthrough/src/lib.rs).
CONTRACT_WASM = os.path.join(ROOT, "target", "bench-contract", "wasm32-wasip1", "release",
                             "bollard_bench_passthrough.wasm")
CARGO_BENCH = ["cargo", "bench", "--quiet", "--bench", "decision", "--target-dir", "target/bench",
               # With panic = "abort" in the release profile and crate-type cdylib, cargo builds the
               # lib twice (unwind for the bench, abort for the CLI) under one file name, and the
               # link fails at random (rust-lang/cargo#6313, #16673). Unwind for this build only.
               "--config", 'profile.release.panic="unwind"']
WASI_RUN = os.path.join(ROOT, "bench", "wasi-run.mjs")

# The agent every request is sent as: the same key scheme as benches/decision.rs (agent 0).
KEY = f"sbp_{0:040}"
REF = "abcdefghijklmnopqrst"
ALLOW_PATH = f"/v1/projects/{REF}/functions"  # list_functions: edge_functions read -> allowed
DENY_PATH = f"/v1/projects/{REF}/secrets"     # list_secrets: secrets off -> 403 permission_denied
# run_sql, decided on its body: with `database: read` it passes only when the body says
# "read_only": true, and its SQL is then judged by the grammar (one SELECT: read).
SQL_PATH = f"/v1/projects/{REF}/database/query"
SQL_BODY = json.dumps({"query": "select id, name from public.orders where id = 1", "read_only": True})
PREFIX = f"/v1/projects/{REF}/"
UPSTREAM_TOKEN = "sbp_bench_upstream_token_000000000000000"

# What each case sends: a GET, or run_sql's POST with its JSON body.
GET_ALLOW = {"method": "GET", "path": ALLOW_PATH, "body": None}
GET_DENY = {"method": "GET", "path": DENY_PATH, "body": None}
RUN_SQL = {"method": "POST", "path": SQL_PATH, "body": SQL_BODY}

# Targets (the performance issue); benchmarks, not tests: reported as met or missed.
TARGET_THROUGHPUT = 0.85   # Bollard-allow req/s >= 0.85 x pass-through
TARGET_P99_US = 50         # Bollard-allow p99 <= pass-through p99 + 50 us
TARGET_DECIDE_NS = 1000    # decision <= 1 us natively, flat from 1 to 10,000 agents
TARGET_COMPILE_MS = 100    # 10,000-agent policy compile <= 100 ms
TARGET_COMPILE_MIB = 16    # ... and <= 16 MiB
TARGET_WASM_KIB = 400      # .wasm without the SQL grammar <= 400 KiB
FULL_NAME = "bollard.wasm (with the SQL grammar)"
LEAN_NAME = "bollard.wasm, lean (no SQL grammar)"
LEAN_MIN_NAME = "bollard.wasm, lean-min (nightly build-std, z)"


def sha256(s):
    return hashlib.sha256(s.encode()).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project_ref(i):
    """Agent i's project ref, as benches/decision.rs makes it (20 lowercase letters)."""
    out = []
    for _ in range(20):
        out.append(chr(ord("a") + i % 26))
        i //= 26
    out.reverse()
    out[0] = "b"
    return "".join(out)


AREAS = ["projects", "organizations", "database", "edge_functions", "secrets", "auth_config",
         "project_config", "storage", "api_keys", "branches", "backups", "domains", "network",
         "analytics", "advisors", "billing", "oauth", "account"]


def bench_policy():
    """One agent (no rate limit: a limit adds shared-data calls to every request)."""
    return json.dumps({
        "mode": "enforce",
        "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
        "agents": [{
            "id": "bench-agent", "name": "Bench agent", "key_sha256": sha256(KEY),
            "projects": [REF], "organizations": ["acme"],
            "access": {"projects": "read", "edge_functions": "read", "database": "read"},
        }],
    }, indent=1)


def large_policy(n):
    """n agents shaped like benches/decision.rs's: own key, one project, one org, full access."""
    agents = [{
        "id": f"agent-{i}", "name": f"Agent {i}", "key_sha256": sha256(f"sbp_{i:040}"),
        "projects": [project_ref(i)], "organizations": [f"org-{i}"],
        "access": {a: "full" for a in AREAS},
    } for i in range(n)]
    return json.dumps({"mode": "enforce", "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
                       "agents": agents}, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------
# Envoy configs

def shipped():
    with open(os.path.join(ROOT, "envoy", "envoy.yaml")) as f:
        return yaml.safe_load(f)


def shipped_hcm(cfg):
    return cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]


def bollard_filter(cfg, policy_text):
    """The shipped `bollard` http filter, with the policy and the .wasm path replaced."""
    f = copy.deepcopy(next(f for f in shipped_hcm(cfg)["http_filters"] if f["name"] == "bollard"))
    f["typed_config"]["config"]["configuration"]["value"] = policy_text
    f["typed_config"]["config"]["vm_config"]["code"]["local"]["filename"] = WASM
    return [f]


def passthrough_filter(cfg, name="passthrough", wasm=PASS_WASM):
    """The same Wasm filter block, loading the pass-through filter (or the contract's calls) instead."""
    f = copy.deepcopy(bollard_filter(cfg, "")[0])
    f["name"] = name
    c = f["typed_config"]["config"]
    c["name"] = c["root_id"] = c["vm_config"]["vm_id"] = name
    c["vm_config"]["code"]["local"]["filename"] = wasm
    c["vm_config"].pop("environment_variables", None)
    return [f]


def header_mutation():
    return {"name": "envoy.filters.http.header_mutation", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
        "mutations": {"request_mutations": [{"append": {
            "header": {"key": "authorization", "value": f"Bearer {UPSTREAM_TOKEN}"},
            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}}]}}}


def rbac_filters():
    """RBAC: allow `authorization` = the key, GET and the path prefix, or POST to run_sql's path
    (RBAC cannot read a body); then replace `authorization`."""
    rbac = {"name": "envoy.filters.http.rbac", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
        "rules": {"action": "ALLOW", "policies": {"bench-agent": {
            "permissions": [{"and_rules": {"rules": [
                {"header": {"name": ":method", "string_match": {"exact": "GET"}}},
                {"url_path": {"path": {"prefix": PREFIX}}},
            ]}}, {"and_rules": {"rules": [
                {"header": {"name": ":method", "string_match": {"exact": "POST"}}},
                {"url_path": {"path": {"exact": SQL_PATH}}},
            ]}}],
            "principals": [{"header": {"name": "authorization",
                                       "string_match": {"exact": f"Bearer {KEY}"}}}],
        }}}}}
    return [rbac, header_mutation()]


# For run_sql it reads the whole body, as Bollard does, and looks for "read_only": true in it.
LUA = f"""
function envoy_on_request(handle)
  local h = handle:headers()
  local path = h:get(":path") or ""
  local method = h:get(":method")
  local ok = h:get("authorization") == "Bearer {KEY}"
  if ok and method == "POST" and path == "{SQL_PATH}" then
    local body = handle:body()
    ok = body ~= nil and string.find(body:getBytes(0, body:length()), '"read_only": true', 1, true) ~= nil
  elseif ok then
    ok = method == "GET" and string.sub(path, 1, {len(PREFIX)}) == "{PREFIX}"
  end
  if not ok then
    handle:respond({{[":status"] = "403"}}, "denied")
    return
  end
  h:replace("authorization", "Bearer {UPSTREAM_TOKEN}")
end
"""


def lua_filter():
    return [{"name": "envoy.filters.http.lua", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
        "default_source_code": {"inline_string": LUA}}}]


ROUTER = {"name": "envoy.filters.http.router", "typed_config": {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}
# A direct response sent before the request's body has arrived makes Envoy close the connection
# (HTTP/1.1), so every POST would cost a reconnect where no filter holds the body. Envoy's buffer
# filter, off in the chain and on for POSTs only, makes every config answer after the whole body.
BUFFER = {"name": "envoy.filters.http.buffer", "disabled": True, "typed_config": {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer", "max_request_bytes": 1 << 20}}
BUFFER_ON = {"envoy.filters.http.buffer": {
    "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
    "config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute",
               "buffer": {"max_request_bytes": 1 << 20}}}}
POST = [{"name": ":method", "string_match": {"exact": "POST"}}]


def routes(route):
    """The route for every request; POSTs through the buffer filter first."""
    return [dict(match={"prefix": "/", "headers": POST}, typed_per_filter_config=BUFFER_ON, **route),
            dict(match={"prefix": "/"}, **route)]


def listener(name, port, hcm_template, filters, route):
    hcm = copy.deepcopy(hcm_template)
    hcm.pop("access_log", None)  # the same for every config: no access log
    hcm["stat_prefix"] = name
    rc = hcm["route_config"]
    rc["name"] = name
    rc["virtual_hosts"] = [{"name": name, "domains": ["*"], "routes": routes(route)}]
    hcm["http_filters"] = copy.deepcopy(filters) + [BUFFER, ROUTER]
    return {"name": name, "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                            "typed_config": hcm}]}]}


def front_config(filters, admin_port, direct_port, proxied_port, upstream_port):
    """Two listeners with the same filters: `direct` answers itself, `proxied` forwards. A port of
    None leaves that listener out."""
    base = shipped()
    tmpl = shipped_hcm(base)
    cfg = {"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
           "stats_config": base.get("stats_config", {})}
    direct = {"direct_response": {"status": 200, "body": {"inline_string": "[]"}}}
    proxied = {"route": {"cluster": "upstream", "host_rewrite_literal": "api.supabase.com", "timeout": "120s"}}
    cfg["static_resources"] = {
        "listeners": [listener(name, port, tmpl, filters, route)
                      for name, port, route in (("direct", direct_port, direct), ("proxied", proxied_port, proxied))
                      if port is not None],
        "clusters": [{"name": "upstream", "type": "STATIC", "connect_timeout": "5s",
                      "load_assignment": {"cluster_name": "upstream", "endpoints": [{"lb_endpoints": [
                          {"endpoint": {"address": {"socket_address": {
                              "address": "127.0.0.1", "port_value": upstream_port}}}}]}]}}],
    }
    return cfg


def upstream_config(admin_port, port):
    """The stand-in upstream: an Envoy listener with a direct response (fast, unlike Python)."""
    hcm = {"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
           "stat_prefix": "upstream",
           "route_config": {"name": "upstream", "virtual_hosts": [{
               "name": "upstream", "domains": ["*"],
               "routes": routes({"direct_response": {"status": 200, "body": {"inline_string": "[]"}},
                                 "response_headers_to_add": [{"header": {"key": "x-bench-upstream", "value": "1"}}]})}]},
           "http_filters": [BUFFER, ROUTER]}
    return {"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
            "static_resources": {"listeners": [{
                "name": "upstream", "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                                "typed_config": hcm}]}]}]}}


# ---------------------------------------------------------------------------------------------
# Processes

class Envoy:
    """One Envoy on 127.0.0.1 under `timeout`, optionally pinned to CPUs."""

    def __init__(self, name, cfg, workdir, lifetime, concurrency=1, cpus=None, log_level="info"):
        self.name = name
        self.dir = workdir
        self.config_path = os.path.join(workdir, f"{name}.yaml")
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.admin_port = cfg["admin"]["address"]["socket_address"]["port_value"]
        with open(self.config_path, "w") as f:
            yaml.safe_dump(cfg, f)
        cmd = ["timeout", str(lifetime)]
        if cpus:
            cmd += ["taskset", "-c", cpus]
        cmd += [ENVOY, "-c", self.config_path, "--concurrency", str(concurrency), "--use-dynamic-base-id",
                "--log-path", self.log_path, "-l", log_level]
        env = dict(os.environ, SUPABASE_ACCESS_TOKEN=UPSTREAM_TOKEN)
        self.started = time.time()
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ready_s = None

    def wait_ready(self, timeout=120):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"envoy {self.name} exited ({self.proc.returncode}); log: {self.log_path}\n"
                                   + self.log_tail())
            try:
                if self.admin("/ready", timeout=2)[0] == 200:
                    self.ready_s = time.time() - self.started
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"envoy {self.name} not ready after {timeout}s; log: {self.log_path}\n" + self.log_tail())

    def log_tail(self, n=15):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def admin(self, path, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace")

    def pid(self):
        """The Envoy process: `timeout`'s child (taskset and the venv's wrapper exec)."""
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                kids = f.read().split()
            return int(kids[0]) if kids else None
        except OSError:
            return None

    def rss_kib(self):
        pid = self.pid()
        if pid is None:
            return None
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None

    def cpu_ns(self):
        """CPU time Envoy's threads have used (ns, from /proc/PID/task/*/schedstat)."""
        pid = self.pid()
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return total

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()  # timeout passes SIGTERM on to Envoy
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def request(port, req, key=KEY):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"authorization": f"Bearer {key}"}
    if req["body"] is not None:
        headers["content-type"] = "application/json"
    c.request(req["method"], req["path"], body=req["body"], headers=headers)
    r = c.getresponse()
    r.read()
    out = (r.status, {k.lower(): v for k, v in r.getheaders()})
    c.close()
    return out


UNIT = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0}


def wrk_script(workdir, req):
    """The Lua script that makes wrk send a request with a body (wrk sends GETs otherwise)."""
    if req["body"] is None:
        return None
    path = os.path.join(workdir, f"wrk-{req['method'].lower()}.lua")
    with open(path, "w") as f:
        f.write(f'wrk.method = "{req["method"]}"\n'
                f'wrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = {json.dumps(req['body'])}\n")
    return path


def wrk(port, req, connections, duration, cpus=None, script=None):
    cmd = ["timeout", str(duration + 20)]
    if cpus:
        cmd += ["taskset", "-c", cpus]
    cmd += ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
            "-H", f"authorization: Bearer {KEY}"]
    if script:
        cmd += ["-s", script]
    cmd.append(f"http://127.0.0.1:{port}{req['path']}")
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError("wrk gave no result:\n" + out)
    pct = {p: float(v) * UNIT[u] for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(m.group(1)), "p50": pct.get("50"), "p99": pct.get("99"),
            "requests": int(total.group(1)) if total else 0,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": sum(int(x) for x in errors.groups()) if errors else 0}


# ---------------------------------------------------------------------------------------------
# The runs

BOTH = ("direct", "proxied")
CONFIGS = [  # (case, front Envoy, request, expected status, listeners)
    ("no filter", "none", GET_ALLOW, 200, BOTH),
    ("passthrough wasm", "passthrough", GET_ALLOW, 200, BOTH),
    # The host calls of an allowed call without Bollard's code: what is left over it is Bollard's own.
    ("contract calls wasm", "contract", GET_ALLOW, 200, ("direct",)),
    ("bollard allow", "bollard", GET_ALLOW, 200, BOTH),
    ("bollard deny", "bollard", GET_DENY, 403, BOTH),
    ("bollard allow, -l warn", "bollard-warn", GET_ALLOW, 200, BOTH),
    ("rbac + header_mutation", "rbac", GET_ALLOW, 200, BOTH),
    ("lua", "lua", GET_ALLOW, 200, BOTH),
    # run_sql: the body is read (and for Bollard parsed) before the decision. Proxied only for
    # Bollard and the pass-through filter, which keeps the run near its old length.
    ("no filter, run_sql", "none", RUN_SQL, 200, ("direct",)),
    ("passthrough wasm, run_sql", "passthrough", RUN_SQL, 200, BOTH),
    ("bollard run_sql", "bollard", RUN_SQL, 200, BOTH),
    ("rbac + hm, run_sql", "rbac", RUN_SQL, 200, ("direct",)),
    ("lua, run_sql", "lua", RUN_SQL, 200, ("direct",)),
]
CASES = [(lst, case, front, req, status) for lst in BOTH
         for case, front, req, status, listeners in CONFIGS if lst in listeners]


def check_cases(fronts, cases):
    """Each case answers as expected before it is timed (and proxied ones reach the upstream)."""
    for listener_name, case, front, req, status in cases:
        port = fronts[front]["ports"][listener_name]
        got, headers = request(port, req)
        problems = []
        if got != status:
            problems.append(f"status {got}, expected {status}")
        reached = headers.get("x-bench-upstream") == "1"
        if listener_name == "proxied" and status == 200 and not reached:
            problems.append("did not reach the upstream")
        if headers.get("connection") == "close":
            problems.append("Envoy closed the connection (every request would time a reconnect)")
        if front.startswith("bollard") and headers.get("x-bollard-decision") != ("allow" if status == 200 else "deny"):
            problems.append(f"x-bollard-decision {headers.get('x-bollard-decision')!r}")
        if problems:
            raise RuntimeError(f"{listener_name} / {case}: " + "; ".join(problems))


# The throughput target's comparison: the direct route, the three filters run one after another.
HEAD_TO_HEAD = ("passthrough wasm", "contract calls wasm", "bollard allow")


def head_to_head(args, fronts, cases, scripts, load_cpu):
    """`args.pairs` turns; in each, every filter of HEAD_TO_HEAD for `args.pair_duration` s, in an
    order rotated from turn to turn. One dict per turn: case -> {"rps", "cpu_us"}."""
    by_case = {case: (front, req) for lst, case, front, req, _ in cases if lst == "direct" and case in HEAD_TO_HEAD}
    if args.pairs <= 0 or len(by_case) < len(HEAD_TO_HEAD):
        return []
    print(f"\nHead to head, direct route: {args.pairs} turns of {args.pair_duration}s per filter "
          f"({', '.join(HEAD_TO_HEAD)})", flush=True)
    turns = []
    for t in range(args.pairs):
        order = HEAD_TO_HEAD[t % len(HEAD_TO_HEAD):] + HEAD_TO_HEAD[:t % len(HEAD_TO_HEAD)]
        turn = {}
        for case in order:
            front, req = by_case[case]
            envoy = fronts[front]["envoy"]
            cpu0 = envoy.cpu_ns()
            res = wrk(fronts[front]["ports"]["direct"], req, args.connections, args.pair_duration, load_cpu,
                      scripts[id(req)])
            if res["non2xx"] or res["errors"]:
                print(f"  warning: head to head / {case}: {res['non2xx']} unexpected statuses, {res['errors']} socket errors")
            turn[case] = {"rps": res["rps"], "cpu_us": (envoy.cpu_ns() - cpu0) / 1000 / max(res["requests"], 1)}
        turns.append(turn)
    print(f"  {args.pairs} turns done ({time.strftime('%H:%M:%S')}, load average {os.getloadavg()[0]:.2f})", flush=True)
    return turns


def quartiles(xs):
    """(25th percentile, median, 75th percentile) of `xs`, by linear interpolation."""
    xs = sorted(xs)
    if not xs:
        return (float("nan"),) * 3

    def at(q):
        pos = q * (len(xs) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(xs) - 1)
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)
    return (at(0.25), at(0.5), at(0.75))


def paired(turns, one, other):
    """Ratios of `one` to `other` taken within each turn: req/s, and capacity (the inverse ratio of
    CPU per request), each as quartiles; and how many turns met the throughput target."""
    both = [t for t in turns if one in t and other in t and t[other]["rps"] and t[one]["cpu_us"]]
    rps = [t[one]["rps"] / t[other]["rps"] for t in both]
    cap = [t[other]["cpu_us"] / t[one]["cpu_us"] for t in both]
    return {"turns": len(both), "rps": quartiles(rps), "cap": quartiles(cap),
            "cpu_added": quartiles([t[one]["cpu_us"] - t[other]["cpu_us"] for t in both]),
            "met": sum(r >= TARGET_THROUGHPUT for r in rps)}


def envoy_bench(args, workdir, lifetime):
    cpus = sorted(os.sched_getaffinity(0))
    pin = args.pin and len(cpus) >= 2
    front_cpu = str(cpus[-1]) if pin else None  # the Envoy under test gets a core to itself
    load_cpu = ",".join(str(c) for c in cpus[:-1]) if pin else None  # wrk and the upstream share the rest
    base = shipped()
    filters = {
        "none": [],
        "passthrough": passthrough_filter(base),
        "contract": passthrough_filter(base, "contract", CONTRACT_WASM),
        "bollard": bollard_filter(base, bench_policy()),
        "bollard-warn": bollard_filter(base, bench_policy()),  # the same, in an Envoy at -l warning
        "rbac": rbac_filters(),
        "lua": lua_filter(),
    }
    procs = []
    try:
        up_port = free_port()
        up = Envoy("upstream", upstream_config(free_port(), up_port), workdir, lifetime, cpus=load_cpu,
                   log_level="warning")
        procs.append(up)
        fronts = {}
        for name, fl in filters.items():
            ports = {"direct": free_port(), "proxied": free_port()}
            e = Envoy(f"front-{name}", front_config(fl, free_port(), ports["direct"], ports["proxied"], up_port),
                      workdir, lifetime, cpus=front_cpu,
                      log_level="warning" if name == "bollard-warn" else args.log_level)
            procs.append(e)
            fronts[name] = {"envoy": e, "ports": ports}
        for p in procs:
            p.wait_ready()
        cases = CASES
        check_cases(fronts, cases)
        scripts = {id(req): wrk_script(workdir, req) for _, _, _, req, _ in cases}
        print(f"\nEnvoy: {len(cases)} cases x {args.rounds} rounds; wrk -t1 -c{args.connections} for "
              f"{args.duration}s (throughput) and -c1 for {args.latency_duration}s (latency)"
              + (f"; Envoy under test pinned to CPU {front_cpu}, wrk + upstream to CPU {load_cpu}" if pin else ""),
              flush=True)
        for lst, case, front, req, _ in cases:  # warm-up, not recorded
            wrk(fronts[front]["ports"][lst], req, args.connections, 1, load_cpu, scripts[id(req)])
        results = {(c[0], c[1]): {"tput": [], "lat": []} for c in cases}
        loads = []
        turns = head_to_head(args, fronts, cases, scripts, load_cpu)
        for r in range(args.rounds):
            order = cases[r % len(cases):] + cases[:r % len(cases)]  # rotate: no case always first
            for lst, case, front, req, status in order:
                port = fronts[front]["ports"][lst]
                envoy = fronts[front]["envoy"]
                script = scripts[id(req)]
                cpu0 = envoy.cpu_ns()
                t = wrk(port, req, args.connections, args.duration, load_cpu, script)
                # CPU the Envoy under test spent per request: other work on the machine takes CPU
                # away from Envoy (req/s and latency suffer) but adds to this only through caches.
                t["cpu_us"] = (envoy.cpu_ns() - cpu0) / 1000 / max(t["requests"], 1)
                lat = wrk(port, req, 1, args.latency_duration, load_cpu, script)
                for res in (t, lat):
                    bad = res["non2xx"] if status == 200 else res["requests"] - res["non2xx"]
                    if bad or res["errors"]:
                        print(f"  warning: {lst} / {case}: {bad} unexpected statuses, {res['errors']} socket errors")
                results[(lst, case)]["tput"].append(t)
                results[(lst, case)]["lat"].append(lat)
            loads.append(os.getloadavg()[0])
            print(f"  round {r + 1}/{args.rounds} done ({time.strftime('%H:%M:%S')}, load average {loads[-1]:.2f})",
                  flush=True)
        if not args.rounds:
            results = {}
        return cases, results, {"pinned": pin, "front_cpu": front_cpu, "load_cpu": load_cpu, "loads": loads,
                                "turns": turns}
    finally:
        for p in procs:
            p.stop()


def memory_bench(args, workdir, lifetime, agents):
    """Envoy's RSS and allocated bytes with a 1-agent and an n-agent policy, idle after a few calls."""
    out = []
    for concurrency in (1, 2):
        for n in (1, agents):
            text = large_policy(n)
            base = shipped()
            port = free_port()
            # One listener: the policy is in Envoy's config once (each listener holds its own copy).
            cfg = front_config(bollard_filter(base, text), free_port(), port, None, free_port())
            e = Envoy(f"memory-{n}-c{concurrency}", cfg, workdir, lifetime, concurrency=concurrency,
                      log_level="info")
            try:
                e.wait_ready()
                for _ in range(20 * concurrency):  # touch every worker's VM
                    st, _ = request(port, {"method": "GET", "path": f"/v1/projects/{project_ref(0)}/functions",
                                           "body": None}, key=f"sbp_{0:040}")
                    if st != 200:
                        raise RuntimeError(f"memory run, {n} agents: status {st}")
                time.sleep(1.5)
                mem = json.loads(e.admin("/memory")[1])
                stats = e.admin("/stats?filter=bollard.policy.loads")[1]
                loads = sum(int(v) for v in re.findall(r"policy\.loads: (\d+)", stats))
                out.append({"agents": n, "concurrency": concurrency, "policy_bytes": len(text),
                            "rss_kib": e.rss_kib(), "allocated": int(mem.get("allocated", 0)),
                            "heap_size": int(mem.get("heap_size", 0)), "ready_s": e.ready_s,
                            "policy_loads": loads})
            finally:
                e.stop()
    return out


def run_decision_bench(cmd, label):
    print(f"{label}: " + " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    data = None
    for line in p.stdout:
        if line.startswith("bench-json: "):
            data = json.loads(line[len("bench-json: "):])
        else:
            print("  " + line, end="", flush=True)
    p.wait(timeout=1800)
    if p.returncode != 0 or data is None:
        raise RuntimeError(f"{label} failed (exit {p.returncode})")
    return data


def native_bench(args):
    """benches/decision.rs natively; then, when Node is there, built for wasm32-wasip1 under V8."""
    native = run_decision_bench(CARGO_BENCH, "native")
    wasm = None
    if args.skip_wasm_decision:
        return native, wasm
    if shutil.which("node") is None:
        print("wasm32: skipped (no node)")
        return native, wasm
    # Its own allocator counts memory: the filter's small-block heap is left out (system-allocator).
    build = subprocess.run(CARGO_BENCH + ["--no-run", "--target", "wasm32-wasip1", "--features", "system-allocator",
                                          "--message-format", "json"],
                           cwd=ROOT, capture_output=True, text=True, timeout=1800)
    exe = None
    for line in build.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "decision":
            exe = msg.get("executable") or next((f for f in msg.get("filenames", []) if f.endswith(".wasm")), None)
    if build.returncode != 0 or not exe:
        print(build.stderr[-2000:])
        raise RuntimeError("building benches/decision.rs for wasm32-wasip1 failed")
    wasm = run_decision_bench(["node", "--no-warnings", WASI_RUN, exe], "wasm32 (V8, Node's WASI)")
    return native, wasm


# ---------------------------------------------------------------------------------------------
# Report

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def rng(xs):
    xs = [x for x in xs if x is not None]
    return max(xs) - min(xs) if xs else float("nan")


def spread(xs):
    m = med(xs)
    return (max(xs) - min(xs)) / m if xs and m else float("nan")


def cpu_details(cpuinfo, cache_sizes):
    """The CPU's family and model, and its per-core first-level instruction and second-level
    cache sizes: a model name such as "AMD EPYC" covers generations whose front ends differ, and
    Bollard's cost in Envoy is mostly instruction fetch (docs/performance.md)."""
    fields = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    parts = []
    if "cpu family" in fields and "model" in fields:
        parts.append(f"family {fields['cpu family']} model {fields['model']}")
    parts += [f"{name} {size}" for name, size in cache_sizes if size]
    return "; ".join(parts)


def cache_sizes():
    """(L1i, L2) sizes of cpu0's caches from sysfs, as the kernel writes them ("32K")."""
    found = {}
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for index in sorted(os.listdir(base)):
            d = os.path.join(base, index)
            read = lambda name: open(os.path.join(d, name)).read().strip()
            level, kind, size = read("level"), read("type"), read("size")
            if level == "1" and kind == "Instruction":
                found["L1i"] = size
            elif level == "2":
                found["L2"] = size
    except OSError:
        pass
    return [("L1i", found.get("L1i")), ("L2", found.get("L2"))]


def machine():
    model, details = "unknown CPU", ""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        model = next(l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("model name"))
        details = cpu_details(text, cache_sizes())
    except (OSError, StopIteration):
        pass
    if details:
        model = f"{model} ({details})"
    try:
        out = subprocess.run([ENVOY, "--version"], capture_output=True, text=True, timeout=60).stdout
        envoy = re.search(r"/(\d+\.\d+\.\d+)/", out).group(1)
    except (OSError, AttributeError, subprocess.TimeoutExpired):
        envoy = "?"
    return f"{os.cpu_count()} x {model}, Envoy {envoy}"


def verdict(ok):
    return "met" if ok else "MISSED"


def report(args, cases, results, pin, native, wasm_decision, memory, sizes, load_before, load_after, elapsed):
    lines = []
    p = lines.append
    p("")
    p("=" * 100)
    p(f"Bollard benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {machine()}")
    p(f"load average {load_before:.2f} before / {load_after:.2f} after; the whole run took {elapsed / 60:.1f} min")
    rows = {}
    if results:
        p("")
        p(f"Envoy --concurrency 1; wrk -t1 -c{args.connections} {args.duration}s (req/s, p50, p99) and "
          f"-c1 {args.latency_duration}s (unloaded p50, p99); median of {args.rounds} interleaved rounds;")
        p("spread = (max - min) / median of req/s across rounds"
          + (f"; Envoy on CPU {pin['front_cpu']}, wrk + upstream on CPU {pin['load_cpu']}" if pin["pinned"] else ""))
        p("")
        p(f"{'listener':9} {'config':26} {'req/s':>8} {'spread':>7} {'CPU us/req':>10} {'spread':>7} {'p50 us':>7} "
          f"{'p99 us':>7} {'c1 p50':>7} {'c1 p99':>7} {'spread':>7}  status")
        for lst, case, front, req, status in cases:
            r = results[(lst, case)]
            rps = [x["rps"] for x in r["tput"]]
            cpu = [x["cpu_us"] for x in r["tput"]]
            row = {"rps": med(rps), "rps_spread": spread(rps), "cpu_us": med(cpu), "cpu_spread": spread(cpu),
                   "p50": med([x["p50"] for x in r["tput"]]), "p99": med([x["p99"] for x in r["tput"]]),
                   "c1_p50": med([x["p50"] for x in r["lat"]]), "c1_p99": med([x["p99"] for x in r["lat"]]),
                   "c1_spread": spread([x["p99"] for x in r["lat"]]), "rounds": r,
                   "c1_p99_range": rng([x["p99"] for x in r["lat"]]), "p99_range": rng([x["p99"] for x in r["tput"]])}
            rows[(lst, case)] = row
            p(f"{lst:9} {case:26} {row['rps']:8.0f} {row['rps_spread'] * 100:6.1f}% {row['cpu_us']:10.1f} "
              f"{row['cpu_spread'] * 100:6.1f}% {row['p50']:7.0f} {row['p99']:7.0f} {row['c1_p50']:7.0f} "
              f"{row['c1_p99']:7.0f} {row['c1_spread'] * 100:6.1f}%  {status}")
        p("")
        p("Ratios: req/s ratio; capacity ratio (inverse ratio of Envoy CPU per request); CPU added per request;")
        p("p99 difference in us, 1 connection / 16 connections:")
        pairs = [("bollard allow", "passthrough wasm"), ("bollard allow", "contract calls wasm"),
                 ("contract calls wasm", "passthrough wasm"), ("bollard allow", "lua"),
                 ("bollard allow", "rbac + header_mutation"), ("bollard allow", "no filter"),
                 ("bollard deny", "passthrough wasm"), ("bollard allow, -l warn", "passthrough wasm"),
                 ("bollard allow, -l warn", "lua"), ("passthrough wasm", "no filter"), ("lua", "no filter"),
                 ("bollard run_sql", "passthrough wasm, run_sql"), ("bollard run_sql", "lua, run_sql"),
                 ("bollard run_sql", "rbac + hm, run_sql"), ("bollard run_sql", "no filter, run_sql"),
                 ("bollard run_sql", "bollard allow"), ("passthrough wasm, run_sql", "no filter, run_sql")]
        for lst in ("direct", "proxied"):
            for one, other in pairs:
                if (lst, one) not in rows or (lst, other) not in rows:
                    continue
                b, o = rows[(lst, one)], rows[(lst, other)]
                p(f"  {lst:8} {one:22} vs {other:25} {b['rps'] / o['rps']:6.3f}x  capacity {o['cpu_us'] / b['cpu_us']:6.3f}x  "
                  f"CPU {b['cpu_us'] - o['cpu_us']:+6.1f} us  p99 {b['c1_p99'] - o['c1_p99']:+6.0f} / {b['p99'] - o['p99']:+6.0f} us")
        spreads = [row["rps_spread"] for row in rows.values()]
        p("Load average (1 min) after each round: " + ", ".join(f"{x:.2f}" for x in pin["loads"])
          + " (2 = both cores busy; the benchmark itself keeps about 2 busy)")
        cspreads = [row["cpu_spread"] for row in rows.values()]
        p(f"Noise (spread across rounds, median / worst over configs): req/s {med(spreads) * 100:.1f}% / "
          f"{max(spreads) * 100:.1f}%; CPU per request {med(cspreads) * 100:.1f}% / {max(cspreads) * 100:.1f}%; "
          f"1-connection p99 {med([r['c1_spread'] for r in rows.values()]) * 100:.1f}% / "
          f"{max(r['c1_spread'] for r in rows.values()) * 100:.1f}%")
    turns = (pin or {}).get("turns") or []
    if turns:
        p("")
        p(f"Head to head, direct route: {len(turns)} turns of wrk -t1 -c{args.connections} {args.pair_duration}s per "
          f"filter, the order rotated each turn; the ratio within each turn, median (25th-75th percentile):")
        for one, other in (("bollard allow", "passthrough wasm"), ("contract calls wasm", "passthrough wasm"),
                           ("bollard allow", "contract calls wasm")):
            h = paired(turns, one, other)
            p(f"  {one:19} vs {other:19} req/s {h['rps'][1]:.3f}x ({h['rps'][0]:.3f}-{h['rps'][2]:.3f})  "
              f"capacity {h['cap'][1]:.3f}x ({h['cap'][0]:.3f}-{h['cap'][2]:.3f})  CPU {h['cpu_added'][1]:+.1f} us  "
              f"turns >= {TARGET_THROUGHPUT:.2f}: {h['met']}/{h['turns']}")
    for data, label in ((native, "natively"), (wasm_decision, "in wasm32 under V8 (Node's WASI; Envoy's engine)")):
        if not data:
            continue
        p("")
        p(f"Decision path {label}: ns per request over every catalog endpoint, median of 9 runs (min-max):")
        p(f"  {'agents':>7} {'decide':>8} {'min-max':>13} {'identify':>9} {'parse+match':>12} {'decide_for':>11} {'allowed/denied':>15}")
        for r in data["rows"]:
            p(f"  {r['agents']:>7} {r['decide_ns']:8.0f} {r['decide_min_ns']:6.0f}-{r['decide_max_ns']:<6.0f} "
              f"{r['identify_ns']:9.0f} {r['parse_match_ns']:12.0f} {r['decide_for_ns']:11.0f} "
              f"{str(r['allowed']) + '/' + str(r['denied']):>15}")
        for shape, c in data["compile"].items():
            rss = "" if c["rss_delta_kib"] is None else f", RSS +{c['rss_delta_kib'] / 1024:.1f} MiB"
            p(f"  compile {c['agents']} agents, {shape:7} ({c['json_bytes'] / 2**20:.1f} MiB JSON): {c['ms']:5.0f} ms "
              f"(median of 5, {c['min_ms']:.0f}-{c['max_ms']:.0f}); keeps {c['kept_bytes'] / 2**20:5.2f} MiB, "
              f"peak {c['peak_bytes'] / 2**20:5.2f} MiB{rss}")
        for q in data.get("sql", []):
            p(f"  SQL judgement, {q['label']:>6} migration ({q['bytes']} bytes, {q['statements']} statements): "
              f"{q['us']:9.1f} us (median of 9, {q['min_us']:.1f}-{q['max_us']:.1f})")
        for x in data.get("exchange", []):
            p(f"  one request's life in the core, {x['label']:24}: {x['ns']:8.0f} ns (median of 9, "
              f"{x['min_ns']:.0f}-{x['max_ns']:.0f}; headers, forward or refusal, response, audit line)")
    if native:
        p("  (compile shapes: full = every agent has all 18 areas; typical = 4 areas, one allow and one deny entry)")
    p("")
    p("Sizes:")
    for name, size in sizes.items():
        p(f"  {name:36} {size:>9} bytes  {size / 1024:7.1f} KiB")
    if memory:
        p("Envoy memory (idle, after a few requests; RSS and tcmalloc allocated from /memory):")
        by = {(m["agents"], m["concurrency"]): m for m in memory}
        for m in memory:
            p(f"  {m['agents']:>6} agents, --concurrency {m['concurrency']}: RSS {m['rss_kib'] / 1024:7.1f} MiB, "
              f"allocated {m['allocated'] / 2**20:7.1f} MiB, ready in {m['ready_s']:.1f} s, "
              f"policy loaded {m['policy_loads']}x (one per VM)")
        big = max(m["agents"] for m in memory)
        for c in (1, 2):
            if (1, c) in by and (big, c) in by:
                d_rss = (by[(big, c)]["rss_kib"] - by[(1, c)]["rss_kib"]) / 1024
                d_alloc = (by[(big, c)]["allocated"] - by[(1, c)]["allocated"]) / 2**20
                p(f"  {big} vs 1 agents, --concurrency {c}: RSS {d_rss:+.1f} MiB, allocated {d_alloc:+.1f} MiB "
                  f"({by[(big, c)]['policy_loads']} VMs)")
        if all(k in by for k in ((1, 1), (big, 1), (1, 2), (big, 2))):
            per_vm = ((by[(big, 2)]["rss_kib"] - by[(1, 2)]["rss_kib"]) -
                      (by[(big, 1)]["rss_kib"] - by[(1, 1)]["rss_kib"])) / 1024
            p(f"  one more worker VM with {big} agents (difference of the two deltas): RSS {per_vm:+.1f} MiB")
    # Targets
    p("")
    p("Targets:")
    if turns:
        h = paired(turns, "bollard allow", "passthrough wasm")
        p(f"  [{verdict(h['rps'][1] >= TARGET_THROUGHPUT)}] bollard allow, direct, head to head: throughput "
          f"{h['rps'][1]:.3f} x pass-through (target >= {TARGET_THROUGHPUT:.2f}; median of {h['turns']} turns, "
          f"25th-75th percentile {h['rps'][0]:.3f}-{h['rps'][2]:.3f}); by CPU per request {h['cap'][1]:.3f} x "
          f"[{verdict(h['cap'][1] >= TARGET_THROUGHPUT)}]")
    if rows:
        for case in ("bollard allow", "bollard allow, -l warn"):
            for lst in ("direct", "proxied"):
                b, pt = rows[(lst, case)], rows[(lst, "passthrough wasm")]
                ratio = b["rps"] / pt["rps"]
                cap = pt["cpu_us"] / b["cpu_us"]
                p(f"  [{verdict(ratio >= TARGET_THROUGHPUT)}] {case}, {lst}: throughput {ratio:.3f} x pass-through "
                  f"(target >= {TARGET_THROUGHPUT:.2f}); by CPU per request {cap:.3f} x [{verdict(cap >= TARGET_THROUGHPUT)}]")
                d = b["c1_p99"] - pt["c1_p99"]
                dl = b["p99"] - pt["p99"]
                # The p99s' own spread across rounds; when it is wider than the target's margin, the
                # difference says nothing either way.
                noise = max(b["c1_p99_range"], pt["c1_p99_range"])
                noise_l = max(b["p99_range"], pt["p99_range"])
                v = verdict(d <= TARGET_P99_US) if noise <= TARGET_P99_US else "unresolved"
                vl = verdict(dl <= TARGET_P99_US) if noise_l <= TARGET_P99_US else "unresolved"
                p(f"  [{v}] {case}, {lst}: p99 {d:+.0f} us over pass-through, 1 connection (target <= "
                  f"+{TARGET_P99_US} us; p99 range across rounds up to {noise:.0f} us); with {args.connections} "
                  f"connections {dl:+.0f} us [{vl}, range up to {noise_l:.0f} us]")
                p(f"      steadier: 1-connection p50 {b['c1_p50'] - pt['c1_p50']:+.0f} us, CPU per request "
                  f"{b['cpu_us'] - pt['cpu_us']:+.0f} us over pass-through (how much longer a request holds the worker)")
        for case, base in (("bollard deny", "passthrough wasm"), ("bollard run_sql", "passthrough wasm, run_sql"),
                           ("contract calls wasm", "passthrough wasm"), ("bollard allow", "contract calls wasm")):
            for lst in ("direct", "proxied"):
                if (lst, case) in rows and (lst, base) in rows:
                    b, pt = rows[(lst, case)], rows[(lst, base)]
                    p(f"  [info] {case}, {lst}: throughput {b['rps'] / pt['rps']:.3f} x pass-through ({base}); "
                      f"by CPU per request {pt['cpu_us'] / b['cpu_us']:.3f} x")
    if native:
        worst = max(r["decide_ns"] for r in native["rows"])
        first, last = native["rows"][0]["decide_ns"], native["rows"][-1]["decide_ns"]
        p(f"  [{verdict(worst <= TARGET_DECIDE_NS)}] decision natively: worst median {worst:.0f} ns "
          f"(target <= {TARGET_DECIDE_NS} ns)")
        # The filter holds the digests of the last few keys presented (policy::key_digest): with
        # one agent every request's key is held, with 100 or more each request's key is new. The
        # size of the policy is judged between policies whose keys are all computed.
        cold = [r for r in native["rows"] if r["agents"] > 4] or native["rows"]
        first, low = cold[0]["decide_ns"], cold[0]["agents"]
        flat = last <= first * 1.25
        p(f"  [{verdict(flat)}] flat from {low} to {native['rows'][-1]['agents']} agents: {first:.0f} -> {last:.0f} ns "
          f"({(last / first - 1) * 100:+.0f}%; within 25% counts as flat; 1 agent, its key's digest held: "
          f"{native['rows'][0]['decide_ns']:.0f} ns)")
        for shape, c in native["compile"].items():
            p(f"  [{verdict(c['ms'] <= TARGET_COMPILE_MS)}] compile {c['agents']} agents ({shape}): {c['ms']:.0f} ms "
              f"(target <= {TARGET_COMPILE_MS} ms)")
            p(f"  [{verdict(c['peak_bytes'] <= TARGET_COMPILE_MIB * 2**20)}] compile memory ({shape}): peak "
              f"{c['peak_bytes'] / 2**20:.1f} MiB, kept {c['kept_bytes'] / 2**20:.1f} MiB (target <= {TARGET_COMPILE_MIB} MiB)")
    if LEAN_NAME in sizes:
        size = sizes[LEAN_NAME]
        p(f"  [{verdict(size <= TARGET_WASM_KIB * 1024)}] {LEAN_NAME}: {size / 1024:.1f} KiB "
          f"(target <= {TARGET_WASM_KIB} KiB, judged without the SQL grammar)")
    else:
        p(f"  [unresolved] the .wasm without the SQL grammar: not built (make build-lean); target <= {TARGET_WASM_KIB} KiB")
    if LEAN_MIN_NAME in sizes:
        size = sizes[LEAN_MIN_NAME]
        p(f"  [{verdict(size <= TARGET_WASM_KIB * 1024)}] {LEAN_MIN_NAME}: {size / 1024:.1f} KiB "
          f"(target <= {TARGET_WASM_KIB} KiB; make build-lean-min, the smallest build, slower per request)")
    if FULL_NAME in sizes:
        p(f"  [info] {FULL_NAME}: {sizes[FULL_NAME] / 1024:.1f} KiB (with the SQL grammar, reported separately)")
    p("=" * 100)
    text = "\n".join(lines)
    print(text)
    return text, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5, help="seconds per throughput run (default 5)")
    ap.add_argument("--latency-duration", type=int, default=2, help="seconds per 1-connection run (default 2)")
    ap.add_argument("--connections", type=int, default=16, help="wrk connections for throughput (default 16)")
    ap.add_argument("--pairs", type=int, default=15,
                    help="head-to-head turns of the pass-through filter, the contract calls and Bollard allow (default 15; 0 skips)")
    ap.add_argument("--pair-duration", type=int, default=2, help="seconds per filter in a head-to-head turn (default 2)")
    ap.add_argument("--agents", type=int, default=10_000, help="agents in the large policy (default 10000)")
    ap.add_argument("--log-level", default="info", help="Envoy log level of the Envoys under test (default info)")
    ap.add_argument("--pin", action="store_true",
                    help="pin the Envoy under test to the last CPU and wrk + the upstream to the others")
    ap.add_argument("--skip-native", action="store_true", help="skip cargo bench (native and wasm32)")
    ap.add_argument("--skip-wasm-decision", action="store_true", help="skip the wasm32 run of benches/decision.rs")
    ap.add_argument("--skip-envoy", action="store_true", help="skip the wrk runs")
    ap.add_argument("--skip-memory", action="store_true", help="skip the Envoy memory runs")
    ap.add_argument("--json", default=os.path.join(ROOT, "target", "bench", "last-run.json"),
                    help="where to write the raw results")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (configs, Envoy logs)")
    args = ap.parse_args()

    for path, how in ((WASM, "make build"), (PASS_WASM, "see bench/passthrough/Cargo.toml"),
                      (CONTRACT_WASM, "see bench/passthrough/Cargo.toml, --features contract")):
        if not os.path.exists(path):
            sys.exit(f"missing {path} ({how})")
    if not args.skip_envoy and shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    estimate = (0 if args.skip_envoy else len(CASES) * (1 + args.rounds * (args.duration + args.latency_duration + 0.3))
                + len(HEAD_TO_HEAD) * args.pairs * (args.pair_duration + 0.3) + 15) \
        + (0 if args.skip_memory else 40)
    lifetime = int(estimate) + 600
    print(f"make bench: about {estimate / 60:.0f} min of measuring after the native bench; "
          f"every server stops by itself after {lifetime} s", flush=True)
    started = time.time()
    load_before = os.getloadavg()[0]
    workdir = tempfile.mkdtemp(prefix="bollard-bench-")
    native = wasm_decision = cases = results = pin = memory = None
    try:
        if not args.skip_native:
            native, wasm_decision = native_bench(args)
        if not args.skip_envoy:
            cases, results, pin = envoy_bench(args, workdir, lifetime)
        if not args.skip_memory:
            print(f"\nmemory: Envoy with 1 and {args.agents} agents, --concurrency 1 and 2", flush=True)
            memory = memory_bench(args, workdir, lifetime, args.agents)
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sizes = {FULL_NAME: os.path.getsize(WASM)}
    if os.path.exists(LEAN_WASM):
        sizes[LEAN_NAME] = os.path.getsize(LEAN_WASM)
    if os.path.exists(LEAN_MIN_WASM):
        sizes[LEAN_MIN_NAME] = os.path.getsize(LEAN_MIN_WASM)
    sizes["bollard_bench_passthrough.wasm"] = os.path.getsize(PASS_WASM)
    text, rows = report(args, cases or [], results or {}, pin, native, wasm_decision, memory, sizes, load_before,
                        os.getloadavg()[0], time.time() - started)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        exchange = {arch: data.get("exchange") for arch, data in (("native", native), ("wasm32", wasm_decision)) if data}
        json.dump({"args": vars(args), "native": native, "wasm_decision": wasm_decision, "exchange": exchange,
                   "memory": memory, "sizes": sizes, "report": text, "head_to_head": (pin or {}).get("turns"),
                   "envoy": {f"{k[0]} / {k[1]}": {kk: vv for kk, vv in v.items()} for k, v in rows.items()}},
                  f, indent=1)
    print(f"raw results: {os.path.relpath(args.json, ROOT)}")


if __name__ == "__main__":
    main()
