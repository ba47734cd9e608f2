"""bench/host.mjs, the stand-in proxy-wasm host `make bench`'s notes and docs/performance.md use:
it loads the built filter in Node's V8 and drives Envoy's callbacks. Checked here so that what it
reports is what the filter does: the real token forwarded, one audit line in filter state per
request, counters that reach the host on the tick (and only then), and the host calls counted."""
import hashlib
import json
import os
import shutil
import subprocess

import pytest

from harness import ROOT, WASM

KEY = "sbp_" + "0" * 40
TOKEN = "sbp_host_harness_token_00000000000000000"
REF = "abcdefghijklmnopqrst"


def run_host(tmp_path, path, requests=200, rounds=2, wasm=WASM, **env):
    policy = {"mode": "enforce", "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
              "agents": [{"id": "bench-agent", "name": "Bench agent",
                          "key_sha256": hashlib.sha256(KEY.encode()).hexdigest(),
                          "projects": [REF], "access": {"projects": "read", "edge_functions": "read"}}]}
    cfg = tmp_path / "policy.json"
    cfg.write_text(json.dumps(policy))
    out = subprocess.run(
        ["node", "--no-warnings", os.path.join(ROOT, "bench", "host.mjs"), wasm, str(cfg), path,
         str(requests), str(rounds)],
        env=dict(os.environ, SUPABASE_ACCESS_TOKEN=TOKEN, BENCH_KEY=KEY, **env),
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_allowed_calls_through_the_stand_in_host(tmp_path):
    r = run_host(tmp_path, f"/v1/projects/{REF}/functions")
    assert r["forwarded_authorization"] == f"Bearer {TOKEN}"
    assert r["local_replies"] == 0
    # 2 x 200 timed requests after 200 to warm up; counted once, on the tick at the end.
    assert r["counted"]["bollard.requests.decision.allow"] == 600
    assert r["counted"]["bollard.requests_by_agent.agent.bench-agent.decision.allow"] == 600
    assert r["counted"]["bollard.requests_by_area.area.edge_functions.decision.allow"] == 600
    assert "bollard.requests.decision.deny" not in r["counted"]
    # The clock twice, the header map, four request headers, :status, two response headers,
    # filter state; counters go on the tick, not per request (a late flush adds a few calls).
    assert r["host_calls"] == pytest.approx(11, abs=0.05)
    assert r["audit_bytes"] and r["audit_bytes"] > 200


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_refused_calls_through_the_stand_in_host(tmp_path):
    r = run_host(tmp_path, f"/v1/projects/{REF}/secrets")
    assert r["local_replies"] == 1
    assert r["forwarded_authorization"] == f"Bearer {KEY}", "nothing was rewritten for a refusal"
    assert r["counted"]["bollard.requests.decision.deny"] == 600
    assert r["counted"]["bollard.refusals.reason.permission_denied"] == 600


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_counts_reach_a_host_that_never_ticks(tmp_path):
    """Without a tick, the counts go with the requests that follow, once a second of the host's
    clock has passed (here 20 ms per request: the clock is read twice per request)."""
    r = run_host(tmp_path, f"/v1/projects/{REF}/functions", HOST_TICK="0", HOST_CLOCK_STEP_MS="10")
    got = r["counted"]["bollard.requests.decision.allow"]
    assert 600 - 60 <= got < 600, got
    # With a tick at the end, every count is there.
    r = run_host(tmp_path, f"/v1/projects/{REF}/functions", HOST_CLOCK_STEP_MS="10")
    assert r["counted"]["bollard.requests.decision.allow"] == 600


CONTRACT_WASM = os.path.join(ROOT, "target", "bench-contract", "wasm32-wasip1", "release",
                             "bollard_bench_passthrough.wasm")


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_the_contract_baseline_makes_bollards_host_calls(tmp_path):
    """`make bench`'s "contract calls" filter (bench/passthrough, `--features contract`) is the
    baseline that leaves only Bollard's own code in the difference: for an allowed call it makes
    the host calls Bollard makes, in the same order, and nothing else."""
    subprocess.run(["cargo", "build", "--quiet", "--release", "--target", "wasm32-wasip1", "--features", "contract",
                    "--manifest-path", os.path.join(ROOT, "bench", "passthrough", "Cargo.toml"),
                    "--target-dir", os.path.join(ROOT, "target", "bench-contract")], check=True, timeout=900)
    # A clock that does not move: no late flush of the counters adds calls to the traced request.
    bollard = run_host(tmp_path, f"/v1/projects/{REF}/functions", HOST_TRACE="1", HOST_CLOCK_STEP_MS="0")
    baseline = run_host(tmp_path, f"/v1/projects/{REF}/functions", wasm=CONTRACT_WASM, HOST_TRACE="1",
                        HOST_CLOCK_STEP_MS="0")
    assert len(bollard["trace"]) == 11, bollard["trace"]
    assert baseline["trace"] == bollard["trace"]
    assert baseline["forwarded_authorization"] != f"Bearer {KEY}", "the baseline replaces authorization too"
    assert baseline["audit_bytes"] == pytest.approx(bollard["audit_bytes"], rel=0.25)
