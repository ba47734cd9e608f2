#!/usr/bin/env python3
"""`make bench-footprint`: what a kilobyte of code run once per request costs in Envoy.

The contract-calls filter (bench/passthrough, `--features contract`) is built again with
`--features footprint` and FOOTPRINT_FUNCS = 0, 10, 20, 40 and 80: that many functions of
straight-line integer code (about 1.3 KiB of wasm each, bench/passthrough/build.rs), run once per
request before the contract's host calls. Each is measured beside the pass-through filter and
Bollard on the direct route, with Envoy (--concurrency 1) alone on CPU 1 and everything else on
CPU 0, in interleaved rounds; the figure is the CPU time the Envoy spent per request.

The code's own run time, hot, is small (50 multiplications per function); what grows with its
size is the cost of running code that the caches no longer hold, and of Envoy's own code that
it pushed out. docs/performance.md compares Bollard with this scale.

Needs: make build, wrk, Envoy (.venv). Options: --rounds, --duration, --funcs.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as B  # noqa: E402

ROOT = B.ROOT


def build(funcs):
    target = os.path.join(ROOT, "target", f"bench-footprint-{funcs}")
    subprocess.run(["cargo", "build", "--quiet", "--locked", "--release", "--target", "wasm32-wasip1",
                    "--manifest-path", os.path.join(ROOT, "bench", "passthrough", "Cargo.toml"),
                    "--target-dir", target, "--features", "footprint"],
                   check=True, env=dict(os.environ, FOOTPRINT_FUNCS=str(funcs)))
    return os.path.join(target, "wasm32-wasip1", "release", "bollard_bench_passthrough.wasm")


def pin_all(cpus):
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                os.sched_setaffinity(int(pid), cpus)
            except OSError:
                pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--duration", type=int, default=3, help="seconds per run (default 3)")
    ap.add_argument("--funcs", default="0,10,20,40,80", help="FOOTPRINT_FUNCS values (default 0,10,20,40,80)")
    args = ap.parse_args()
    if len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs two CPUs: Envoy alone on one, wrk and the rest on the other")
    counts = [int(n) for n in args.funcs.split(",")]
    wasm = {n: build(n) for n in counts}
    base = B.shipped()
    filters = {"passthrough": B.passthrough_filter(base)}
    for n in counts:
        filters[f"contract + {n} functions"] = B.passthrough_filter(base, f"footprint-{n}", wasm[n])
    filters["bollard allow"] = B.bollard_filter(base, B.bench_policy())
    req = B.GET_ALLOW
    workdir = tempfile.mkdtemp(prefix="bollard-footprint-")
    lifetime = 120 + args.rounds * len(filters) * (args.duration + 5)
    pin_all({0})
    envoys = []
    try:
        fronts = {}
        for name, fl in filters.items():
            port = B.free_port()
            e = B.Envoy(name.replace(" ", "-").replace("+", ""), B.front_config(fl, B.free_port(), port, None,
                        B.free_port()), workdir, lifetime, cpus="1", log_level="warn")
            envoys.append(e)
            fronts[name] = (e, port)
        for e in envoys:
            e.wait_ready()
        for name, (e, port) in fronts.items():
            status, _ = B.request(port, req)
            if status != 200:
                sys.exit(f"{name}: status {status}, expected 200")
            B.wrk(port, req, 16, 1, "0")
        cpu = {n: [] for n in fronts}
        names = list(fronts)
        for r in range(args.rounds):
            for name in names[r % len(names):] + names[:r % len(names)]:
                e, port = fronts[name]
                before = e.cpu_ns()
                t = B.wrk(port, req, 16, args.duration, "0")
                cpu[name].append((e.cpu_ns() - before) / 1000 / max(t["requests"], 1))
    finally:
        for e in envoys:
            e.stop()
        pin_all(set(range(os.cpu_count() or 2)))
    pt = statistics.median(cpu["passthrough"])
    c0 = statistics.median(cpu[f"contract + {counts[0]} functions"])
    size0 = os.path.getsize(wasm[counts[0]])
    print(f"{'filter':28s} {'code run':>9s} {'CPU/request':>12s} {'over pass-through':>18s} "
          f"{'over contract':>14s}  spread")
    for name in names:
        m = statistics.median(cpu[name])
        kib = ""
        if name.startswith("contract"):
            n = int(name.split()[2])
            kib = f"{(os.path.getsize(wasm[n]) - size0) / 1024:.0f} KiB"
        spread = (max(cpu[name]) - min(cpu[name])) / m * 100
        print(f"{name:28s} {kib:>9s} {m:9.1f} µs {m - pt:+15.1f} µs {m - c0:+11.1f} µs  {spread:3.0f}%")
    print(f"({args.rounds} rounds of {args.duration} s, medians; load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
