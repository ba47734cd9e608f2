"""bench/sim.py (`make bench-sim`), which docs/performance.md's account of a request's cost uses:
its reading of callgrind's dumps, and one real run of Envoy under valgrind."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from harness import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))
import sim  # noqa: E402

DUMP = """# callgrind format
version: 1
creator: callgrind-3.19.0
events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
ob=(1) /opt/envoy/_bin/envoy
fl=(1) ???
fn=(1) 0x0000000001
5 100 10 5 3 1 0 0 0 0
cob=(2) /usr/lib/x86_64-linux-gnu/libc.so.6
cfi=(2) ???
cfn=(2) memcpy
calls=1 0x0
5 999 999 999 99 99 99 9 9 9
ob=(3) ???
fn=(3) 0x7f00
+1 40 4 2 2 1 0 1 0 0
ob=(2)
fn=(2)
0 7 1 1 1 0 0 0 0 0
ob=(1)
fn=(1)
+2 1 0 0 0 0 0 0 0 0
totals: 148 15 8 6 2 1 1 0 0
"""


def test_a_dump_is_split_by_where_the_code_ran(tmp_path):
    f = tmp_path / "cg.out"
    f.write_text(DUMP)
    parts = sim.parse(str(f))
    # A call line's cost is the callee's, inclusive: counted where the callee ran, not twice.
    assert parts["envoy"]["Ir"] == 101
    assert parts["envoy"]["I1mr"] == 3
    assert parts["generated"]["Ir"] == 40  # code with no object file: V8's
    assert parts["generated"]["ILmr"] == 1
    # libc is named in a call (cob=) before its own costs, which then name it by number only.
    assert parts["libc"]["Ir"] == 7
    assert sum(p["Ir"] for p in parts.values()) == 148  # the dump's totals


@pytest.mark.skipif(shutil.which("valgrind") is None or shutil.which("callgrind_control") is None,
                    reason="needs valgrind")
def test_envoy_under_the_simulation_counts_each_request(tmp_path):
    subprocess.run(["cargo", "build", "--quiet", "--release", "--target", "wasm32-wasip1", "--manifest-path",
                    "bench/passthrough/Cargo.toml", "--target-dir", "target/bench-passthrough"],
                   cwd=ROOT, check=True, timeout=600)
    out = tmp_path / "sim.json"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "sim.py"), "--filters", "passthrough",
                        "--requests", "20", "--json", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads(out.read_text())["results"]["passthrough"]
    assert res["statuses"] == [200]
    per = res["per_request"]
    # Envoy's own work for one request is tens of thousands of instructions; the filter's wasm,
    # compiled by V8, runs as generated code.
    assert per["envoy"]["Ir"] > 20_000
    assert per["generated"]["Ir"] > 1_000
    assert per["envoy"]["I1mr"] > 0
    assert "passthrough" in r.stdout and "generated" in r.stdout
