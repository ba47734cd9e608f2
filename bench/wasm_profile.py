#!/usr/bin/env python3
"""`make bench-profile`: where the filter's own code goes on one request, by wasm function.

The filter runs in V8 (Node, compiled by TurboFan only, `--no-liftoff`, as Envoy's V8 compiles
it) under bench/host.mjs, the stand-in host, inside valgrind's callgrind with a count for every
instruction; V8's `--print-wasm-code` says where each wasm function's machine code lies. For each
function it prints, per request:

- `instr`: the instructions it ran;
- `lines`: the 64-byte lines of its code that run on every request. In Envoy, Envoy's own work
  between two requests evicts the first-level instruction cache, so each of them is a miss the
  next request pays again (docs/performance.md, "Counted inside Envoy"). `make bench-sim` counts
  those misses in Envoy for the whole filter; this says which functions they come from;
- `bytes`: the machine code of the distinct instructions that run on every request. Over the
  lines' 64 bytes each, it is how densely those lines are used: near 1, the lines hold little
  but code that runs, and fewer lines take less code, not another layout of the same.

The figures cover the wasm functions only (not the host, not V8's own code), do not vary from
run to run, and need a filter built with its function names: `make bench-profile` builds one
(target/bench-profile). Needs valgrind (apt-get install -y valgrind) and Node. About a minute to
run, and two for the build.
"""
import argparse
import bisect
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as B  # noqa: E402

LINE = 64
# `--print-wasm-code`: a function's name, then one line per machine instruction:
# address, offset, the instruction's bytes in hex, its text.
NAME = re.compile(r"^name: (.*)$")
INSTRUCTION = re.compile(r"^0x([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s")


def code_ranges(text):
    """[(start, end, name)] of every compiled wasm function in `--print-wasm-code`'s output."""
    ranges, name, current = [], None, None
    for line in text.splitlines():
        m = NAME.match(line)
        if m:
            name, current = m.group(1).strip(), None
            continue
        m = INSTRUCTION.match(line)
        if m and name is not None:
            at, size = int(m.group(1), 16), len(m.group(2)) // 2
            if current is None:
                current = [at, at + size, name]
                ranges.append(current)
            else:
                current[1] = at + size
    return sorted((s, e, n) for s, e, n in ranges)


def instruction_sizes(text):
    """{address: size in bytes} of every machine instruction in `--print-wasm-code`'s output."""
    sizes = {}
    for line in text.splitlines():
        m = INSTRUCTION.match(line)
        if m:
            sizes[int(m.group(1), 16)] = len(m.group(2)) // 2
    return sizes


def instruction_counts(path):
    """{address: instructions run} from a callgrind dump made with --dump-instr=yes
    --dump-line=no. A call's inclusive cost (the line after `calls=`) is the callee's, counted
    where the callee ran, so it is skipped here."""
    counts = defaultdict(int)
    at, skip = 0, False
    with open(path) as f:
        for line in f:
            c = line[:1]
            if c == "c" and line.startswith("calls="):
                skip = True
                continue
            if not (c.isdigit() or c in "+-*"):
                continue
            fields = line.split()
            p = fields[0]
            at = at if p == "*" else at + int(p) if p[0] in "+-" else int(p, 0)
            if skip:
                skip = False
                continue
            if len(fields) > 1:
                counts[at] += int(fields[1])
    return counts


def attribute(ranges, counts, requests, sizes):
    """Per function: instructions per request, the lines run on (nearly) every request, and the
    bytes of the distinct instructions run on (nearly) every request."""
    starts = [r[0] for r in ranges]
    per = defaultdict(lambda: [0, set(), 0])
    every = 0.9 * requests
    for at, n in counts.items():
        i = bisect.bisect_right(starts, at) - 1
        if i < 0 or at >= ranges[i][1]:
            continue
        entry = per[ranges[i][2]]
        entry[0] += n
        if n >= every:
            entry[1].add(at // LINE)
            entry[2] += sizes.get(at, 0)
    rows = [{"function": name, "instructions": n / requests, "lines": len(lines), "bytes": size}
            for name, (n, lines, size) in per.items()]
    rows.sort(key=lambda r: (-r["lines"], -r["instructions"]))
    return rows


def demangle(name):
    """The path of a Rust symbol without its hash (`bollard::audit::to_json`), else the name."""
    if name.startswith("_ZN") and name.endswith("E"):
        parts, rest = [], name[3:-1]
        while rest and rest[0].isdigit():
            n = int(re.match(r"\d+", rest).group(0))
            rest = rest[len(str(n)):]
            parts.append(rest[:n])
            rest = rest[n:]
        if parts and re.fullmatch(r"h[0-9a-f]{16}", parts[-1]):
            parts.pop()
        text = "::".join(parts)
        text = re.sub(r"(^|::)_\$", r"\1$", text)
        for code, ch in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$RF$", "&"), ("$C$", ","),
                         ("$u7b$", "{"), ("$u7d$", "}"), ("..", "::")):
            text = text.replace(code, ch)
        return text
    if name.startswith("_R"):
        # v0 symbols (the standard library's): the identifiers, without crate hashes, back
        # references and disambiguators.
        rest = re.sub(r"(Cs|B|Ms|Xs)[0-9A-Za-z]*_", "", name[2:])
        parts = []
        for m in re.finditer(r"(\d+)", rest):
            n, at = int(m.group(1)), m.end()
            if m.start() and rest[m.start() - 1].isdigit():
                continue
            if rest[at:at + 1] == "_":  # the separator before a name that starts with `_`
                at += 1
            ident = rest[at:at + n]
            if len(ident) == n and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident):
                parts.append(ident)
        if parts:
            return "::".join(parts)
    return name


def profile(wasm, policy, path, requests, workdir):
    """Runs the filter under callgrind; returns the rows of `attribute`."""
    dump = os.path.join(workdir, "callgrind.out")
    code = os.path.join(workdir, "wasm-code.txt")
    env = dict(os.environ, SUPABASE_ACCESS_TOKEN=B.UPSTREAM_TOKEN)
    cmd = ["valgrind", "--tool=callgrind", "--dump-instr=yes", "--dump-line=no", "--smc-check=all-non-file",
           f"--callgrind-out-file={dump}", "node", "--no-warnings", "--no-liftoff", "--print-wasm-code",
           os.path.join(B.ROOT, "bench", "host.mjs"), wasm, policy, path, str(requests), "1"]
    with open(code, "w") as out, open(os.path.join(workdir, "valgrind.err"), "w") as err:
        if subprocess.run(cmd, stdout=out, stderr=err, env=env).returncode:
            raise SystemExit(f"the filter did not run under valgrind: see {workdir}/valgrind.err")
    text = open(code, errors="replace").read()
    result = next((line for line in text.splitlines() if line.startswith('{"ns_per_request"')), None)
    if result is None:
        raise SystemExit(f"bench/host.mjs printed no result: see {workdir}")
    # host.mjs sends `requests` to warm up, then `requests` more: every one runs compiled code.
    return (attribute(code_ranges(text), instruction_counts(dump), 2 * requests, instruction_sizes(text)),
            json.loads(result))


def build_named():
    """The filter with its function names (the release build strips them)."""
    target = os.path.join(B.ROOT, "target", "bench-profile")
    env = dict(os.environ, CARGO_PROFILE_RELEASE_STRIP="false")
    subprocess.run(["cargo", "build", "--quiet", "--locked", "--release", "--target", "wasm32-wasip1", "--lib",
                    "--target-dir", target], cwd=B.ROOT, env=env, check=True)
    return os.path.join(target, "wasm32-wasip1", "release", "bollard.wasm")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wasm", help="a filter built with its names (default: build one)")
    ap.add_argument("--path", default=B.ALLOW_PATH, help="the request's path (default: an allowed call)")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--json", default=os.path.join(B.ROOT, "target", "bench", "profile.json"))
    a = ap.parse_args()
    for tool, fix in (("valgrind", "apt-get install -y valgrind"), ("node", "install Node 20 or later")):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], stdout=subprocess.DEVNULL).returncode:
            raise SystemExit(f"{tool} is missing: {fix}")
    wasm = a.wasm or build_named()
    if not os.path.isfile(wasm):
        raise SystemExit(f"{wasm}: no such file (make bench-profile builds one with its names)")
    workdir = tempfile.mkdtemp(prefix="bollard-profile-")
    policy = os.path.join(workdir, "policy.json")
    with open(policy, "w") as f:
        f.write(B.bench_policy())
    rows, host = profile(wasm, policy, a.path, a.requests, workdir)
    if not any(r["instructions"] for r in rows):
        raise SystemExit(f"no wasm function ran: is {wasm} built with its names? (work dir {workdir})")
    total_i = sum(r["instructions"] for r in rows)
    total_l = sum(r["lines"] for r in rows)
    total_b = sum(r["bytes"] for r in rows)
    print(f"{wasm}, GET {a.path}: {a.requests} requests after as many to warm up; work dir {workdir}")
    print(f"the filter's wasm code per request: {total_i:.0f} instructions, {total_l} lines of code run every request")
    print(f"those lines hold {total_b} bytes of instructions that run every request: "
          f"{100 * total_b / max(1, total_l * LINE):.0f}% of their {total_l * LINE} bytes")
    print(f"{'lines':>6s} {'instr':>7s} {'bytes':>6s}  function")
    for r in rows[:a.top]:
        print(f"{r['lines']:6d} {r['instructions']:7.0f} {r['bytes']:6d}  {demangle(r['function'])[:110]}")
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump({"wasm": wasm, "path": a.path, "requests": a.requests, "instructions": total_i,
                   "lines": total_l, "bytes": total_b, "host": host, "functions": rows}, f, indent=1)
    print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
