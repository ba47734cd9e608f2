"""bench/wasm_profile.py (`make bench-profile`), which docs/performance.md's account of the
filter's own code uses: its reading of V8's code listing and callgrind's dump, and one real run
of a filter under valgrind."""
import os
import shutil
import subprocess
import sys

import pytest

from harness import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))
import wasm_profile as P  # noqa: E402

# Two functions as `node --print-wasm-code` lists them (addresses, offsets, bytes, text).
CODE = """--- WebAssembly code ---
name: _ZN7bollard5audit11AuditRecord7to_json17ha4b58a736425e150E
index: 7
kind: wasm function
compiler: TurboFan
Instructions (size = 70)
0x1000     0  55                   push rbp
0x1001     1  4889e5               REX.W movq rbp,rsp
0x103e    3e  e8aabbccdd           call 0x2000
0x1043    43  c3                   retl
--- WebAssembly code ---
name: proxy_on_log
index: 8
Instructions (size = 16)
0x1080     0  55                   push rbp
0x1081     1  c3                   retl
"""

# Instruction counts for 10 requests: with --dump-line=no, positions are addresses, absolute or
# relative to the line before; a call's inclusive cost (after `calls=`) is not the caller's.
DUMP = """# callgrind format
events: Ir
fn=(1) 0x1000
0x1000 10
+1 10
+61 10
calls=10 0x2000
* 5000
+5 3
fn=(2) 0x1080
0x1080 10
+1 10
fn=(3) 0x9000
0x9000 77
"""


def test_instructions_and_lines_are_counted_by_function(tmp_path):
    ranges = P.code_ranges(CODE)
    assert [(s, e) for s, e, _ in ranges] == [(0x1000, 0x1044), (0x1080, 0x1082)]
    f = tmp_path / "cg.out"
    f.write_text(DUMP)
    counts = P.instruction_counts(str(f))
    assert counts[0x1000] == 10 and counts[0x103e] == 10 and counts[0x1043] == 3
    assert sum(counts.values()) == 130  # the call's 5000 belong to its callee
    sizes = P.instruction_sizes(CODE)
    assert sizes == {0x1000: 1, 0x1001: 3, 0x103e: 5, 0x1043: 1, 0x1080: 1, 0x1081: 1}
    rows = {P.demangle(r["function"]): r for r in P.attribute(ranges, counts, 10, sizes)}
    # 0x1000, 0x1001 and 0x103e run on every request, all in the line 0x1000..0x103f; 0x1043, in
    # the next line, runs on three requests of ten, so that line is not counted, nor its byte.
    assert rows["bollard::audit::AuditRecord::to_json"] == {
        "function": "_ZN7bollard5audit11AuditRecord7to_json17ha4b58a736425e150E",
        "instructions": 3.3, "lines": 1, "bytes": 9}
    assert rows["proxy_on_log"] == {"function": "proxy_on_log", "instructions": 2, "lines": 1, "bytes": 2}
    assert len(rows) == 2  # code outside every listed function (0x9000) is no function's
    # Names as Rust's two manglings write them, read back without hashes.
    assert P.demangle("_ZN75_$LT$bollard..filter..Driver$u20$as$u20$proxy_wasm..traits..HttpContext$GT$"
                      "6on_log17hc5363466a69f77acE") == "<bollard::filter::Driver as proxy_wasm::traits::HttpContext>::on_log"
    assert P.demangle("_RNvNtNtCsdHhIpgkcIfN_4core3str8converts9from_utf8") == "core::str::converts::from_utf8"
    assert P.demangle("_RNvCsfLfy6EI15iL_7___rustc12___rust_alloc") == "__rustc::__rust_alloc"


@pytest.mark.skipif(shutil.which("valgrind") is None or shutil.which("node") is None,
                    reason="needs valgrind and node")
def test_a_filter_run_under_callgrind_is_profiled_by_function(tmp_path):
    target = os.path.join(ROOT, "target", "bench-profile-passthrough")
    subprocess.run(["cargo", "build", "--quiet", "--release", "--target", "wasm32-wasip1", "--manifest-path",
                    "bench/passthrough/Cargo.toml", "--target-dir", target], cwd=ROOT, check=True,
                   env=dict(os.environ, CARGO_PROFILE_RELEASE_STRIP="false"))
    wasm = os.path.join(target, "wasm32-wasip1", "release", "bollard_bench_passthrough.wasm")
    policy = tmp_path / "config.json"
    policy.write_text("{}")
    rows, host = P.profile(wasm, str(policy), "/v1/projects", 200, str(tmp_path))
    assert host["host_calls"] > 0 and host["local_replies"] == 0
    names = {P.demangle(r["function"]): r for r in rows}
    # Every request goes through the SDK's entry points, each run once per request.
    for entry in ("proxy_on_request_headers", "proxy_on_log", "proxy_on_delete"):
        assert names[entry]["lines"] >= 1, names[entry]
        assert 5 <= names[entry]["instructions"] < 1000, names[entry]
        # The bytes of the code that runs fit in the lines it runs in, and fill some of them.
        assert 0 < names[entry]["bytes"] <= 64 * names[entry]["lines"], names[entry]
    # What runs only while the filter starts is not counted as every request's.
    assert all(r["lines"] == 0 for n, r in names.items() if "on_configure" in n or n == "_initialize")
