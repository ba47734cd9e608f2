"""`bollard explain` and the filter in real Envoy agree, and `bollard envoy-config` output is a
config real Envoy accepts and serves with."""
import os
import re
import subprocess

import pytest

from harness import ENVOY, ROOT, WASM, Gateway

BOLLARD = os.environ.get("BOLLARD", os.path.join(ROOT, "target", "release", "bollard"))
DEMO = os.path.join(ROOT, "examples", "demo-policy.json")
P = "abcdefghijklmnopqrst"
KEYS = {  # the demo agents' keys (their hashes are in examples/demo-policy.json)
    "mcp-readonly": "sbp_8b0f271faa1e73f5fdd12b03afdabf3d28f70fad",
    "ci-deployer": "sbp_73ba07c41d40ed01dcbefa9d6d26cbc9778f8214",
    "ops-bot": "sbp_73af045e9c579fdf7c1ad4b7dc36f5530938220e",
}
# The interface's seed endpoints with concrete paths, plus a few outside the agents' scope.
SEED = [
    ("GET", "/v1/projects"), ("POST", "/v1/projects"), ("GET", f"/v1/projects/{P}"), ("DELETE", f"/v1/projects/{P}"),
    ("POST", f"/v1/projects/{P}/pause"), ("POST", f"/v1/projects/{P}/restore"), ("GET", "/v1/organizations"),
    ("POST", "/v1/organizations"), ("POST", f"/v1/projects/{P}/database/query"),
    ("POST", f"/v1/projects/{P}/database/query/read-only"), ("GET", f"/v1/projects/{P}/database/migrations"),
    ("POST", f"/v1/projects/{P}/database/migrations"), ("POST", f"/v1/projects/{P}/database/webhooks/enable"),
    ("GET", f"/v1/projects/{P}/functions"), ("GET", f"/v1/projects/{P}/functions/hello"),
    ("GET", f"/v1/projects/{P}/functions/hello/body"), ("POST", f"/v1/projects/{P}/functions"),
    ("POST", f"/v1/projects/{P}/functions/deploy"), ("PATCH", f"/v1/projects/{P}/functions/hello"),
    ("DELETE", f"/v1/projects/{P}/functions/hello"), ("GET", f"/v1/projects/{P}/secrets"),
    ("POST", f"/v1/projects/{P}/secrets"), ("DELETE", f"/v1/projects/{P}/secrets"),
    ("GET", f"/v1/projects/{P}/config/auth"), ("PATCH", f"/v1/projects/{P}/config/auth"),
    ("GET", f"/v1/projects/{P}/config/database/postgres"), ("PUT", f"/v1/projects/{P}/config/database/postgres"),
    ("GET", f"/v1/projects/{P}/config/storage"), ("PATCH", f"/v1/projects/{P}/config/storage"),
    ("GET", f"/v1/projects/{P}/storage/buckets"), ("GET", f"/v1/projects/{P}/api-keys"),
    ("POST", f"/v1/projects/{P}/api-keys"), ("GET", f"/v1/projects/{P}/branches"),
    ("POST", f"/v1/projects/{P}/branches"), ("DELETE", f"/v1/branches/{P}"),
    ("GET", "/v1/projects/zyxwvutsrqponmlkjihg/functions"), ("GET", "/v1/organizations/acme/members"),
    ("GET", "/v1/organizations/other/members"), ("GET", "/v1/nothing-here"),
]


def explain(agent, method, path):
    r = subprocess.run([BOLLARD, "explain", DEMO, "--agent", agent, method, path],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode in (0, 2), r.stderr
    decision = re.search(r"^decision:\s+(\w+)", r.stdout, re.M).group(1)
    status = re.search(r"^status:\s+(\d+)", r.stdout, re.M)
    return decision, int(status.group(1)) if status else None, r.returncode


def test_explain_and_the_filter_in_envoy_agree_on_every_seed_endpoint_and_agent():
    with open(DEMO) as f:
        policy = f.read()
    with Gateway(policy) as g:
        assert g.start_ok, g.envoy_log()[-2000:]
        compared = 0
        for agent, key in KEYS.items():
            for method, path in SEED:
                decision, status, rc = explain(agent, method, path)
                r = g.call(method, path, key=key)
                got = r.header("x-bollard-decision")
                assert got == decision, f"{agent} {method} {path}: explain {decision}, Envoy {got} {r.status}"
                assert rc == (0 if decision == "allow" else 2)
                if status is None:
                    assert r.status < 400, (agent, method, path, r.status)
                else:
                    assert r.status == status, (agent, method, path, r.status, status)
                compared += 1
        assert compared == len(KEYS) * len(SEED)
        allowed = sum(1 for r in g.audit(expect=compared) if r["decision"] == "allow")
        assert 0 < allowed < compared, "the table exercises both outcomes"


@pytest.mark.parametrize("upstream", ["https://api.supabase.com", "http://127.0.0.1:18080"])
def test_envoy_config_output_passes_envoy_validate(tmp_path, upstream):
    r = subprocess.run([BOLLARD, "envoy-config", DEMO, "--upstream", upstream, "--wasm", WASM,
                        "--audit-log", str(tmp_path / "audit.jsonl")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    cfg = tmp_path / "envoy.yaml"
    cfg.write_text(r.stdout)
    v = subprocess.run([ENVOY, "--mode", "validate", "-c", str(cfg), "--use-dynamic-base-id"],
                       env=dict(os.environ, SUPABASE_ACCESS_TOKEN="sbp_validate"),
                       capture_output=True, text=True, timeout=120)
    assert v.returncode == 0, v.stdout[-2000:] + v.stderr[-2000:]
    assert "policy loaded: 3 agents" in v.stdout + v.stderr
