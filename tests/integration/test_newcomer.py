"""A newcomer's path (issue 16), with real Envoy: a YAML policy of their own, `bollard
envoy-config` output (and its `--ecds` pair) started by Envoy from a directory outside the
checkout, serving requests through the stand-in; and the demo from a copy of the checkout with
nothing beside it.
"""
import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import time

import pytest

from harness import ENVOY, ROOT, UPSTREAM, WASM, free_port, wait_for

BOLLARD = os.environ.get("BOLLARD", os.path.join(ROOT, "target", "release", "bollard"))
REF = "abcdefghijklmnopqrst"
KEYS = {"reader": "sbp_" + "1" * 40, "deployer": "sbp_" + "2" * 40, "ops": "sbp_" + "3" * 40}


def policy_yaml(database="read"):
    h = {a: hashlib.sha256(k.encode()).hexdigest() for a, k in KEYS.items()}
    return f"""# Three agents of my own.
upstream:
  token_env: SUPABASE_ACCESS_TOKEN
agents:
  - id: reader
    key_sha256: {h['reader']}
    projects: [{REF}]
    access: {{database: {database}, edge_functions: read}}
  - id: deployer
    key_sha256: {h['deployer']}
    projects: [{REF}]
    access: {{edge_functions: full}}
    deny: [delete]
  - id: ops
    key_sha256: {h['ops']}
    projects: ["*"]
    access: {{projects: read}}
"""


def bollard(*args, cwd):
    r = subprocess.run([BOLLARD, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


class Running:
    """The stand-in and Envoy, both started in `cwd`, stopped on exit."""

    def __init__(self, cwd):
        self.cwd = cwd
        self.procs = []

    def standin(self):
        port_file = os.path.join(self.cwd, "standin.port")
        self.record = os.path.join(self.cwd, "standin.jsonl")
        self.procs.append(subprocess.Popen(
            [sys.executable, UPSTREAM, "--record", self.record, "--port-file", port_file, "--lifetime", "300"],
            cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: os.path.exists(port_file), what="stand-in")
        return int(open(port_file).read())

    def envoy(self, config, admin_port):
        env = dict(os.environ, SUPABASE_ACCESS_TOKEN="sbp_real_token_of_the_gateway")
        self.log = os.path.join(self.cwd, "envoy.log")
        self.procs.append(subprocess.Popen(
            ["timeout", "300", ENVOY, "-c", config, "--use-dynamic-base-id", "--log-path", self.log,
             "--file-flush-interval-msec", "100"],
            cwd=self.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        envoy = self.procs[-1]

        def ready():
            if envoy.poll() is not None:
                raise AssertionError("Envoy exited:\n" + open(self.log).read()[-3000:])
            try:
                c = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=2)
                c.request("GET", "/ready")
                return c.getresponse().status == 200
            except OSError:
                return False
        try:
            wait_for(ready, timeout=60, what="Envoy ready")
        except TimeoutError:
            raise AssertionError(open(self.log).read()[-3000:])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def call(port, agent, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"authorization": f"Bearer {KEYS[agent]}"}
    if body is not None:
        headers["content-type"] = "application/json"
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    body = r.read()
    return r.status, r.getheader("x-bollard-decision"), body


@pytest.fixture
def elsewhere(tmp_path):
    """A directory outside the checkout, with a policy in it."""
    d = tmp_path / "my-gateway"
    d.mkdir()
    (d / "policy.yaml").write_text(policy_yaml())
    return str(d)


def test_envoy_config_output_serves_from_another_directory(elsewhere):
    out = bollard("check", "policy.yaml", cwd=elsewhere)
    assert "valid, 3 agents" in out
    with Running(elsewhere) as run:
        upstream = run.standin()
        port, admin = free_port(), free_port()
        config = bollard("envoy-config", "policy.yaml", "--upstream", f"http://127.0.0.1:{upstream}",
                         "--listen", f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{admin}",
                         "--audit-log", "audit.jsonl", cwd=elsewhere)
        assert f"filename: {os.path.realpath(WASM)}" in config, "the wasm by its absolute path"
        with open(os.path.join(elsewhere, "envoy.yaml"), "w") as f:
            f.write(config)
        run.envoy("envoy.yaml", admin)
        assert call(port, "reader", "GET", f"/v1/projects/{REF}/functions")[:2] == (200, "allow")
        status, decision, body = call(port, "deployer", "DELETE", f"/v1/projects/{REF}/functions/hello")
        assert (status, decision) == (403, "deny") and b"its deny list names delete" in body
        assert call(port, "ops", "GET", "/v1/projects")[:2] == (200, "allow")
        # The audit file is where --audit-log said, relative to where envoy-config ran.
        audit = os.path.join(elsewhere, "audit.jsonl")
        wait_for(lambda: os.path.exists(audit) and len(open(audit).read().splitlines()) >= 3, what="audit lines")


def test_ecds_pair_serves_and_reloads_from_another_directory(elsewhere):
    with Running(elsewhere) as run:
        upstream = run.standin()
        port, admin = free_port(), free_port()
        args = ["envoy-config", "policy.yaml", "--upstream", f"http://127.0.0.1:{upstream}",
                "--listen", f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{admin}",
                "--audit-log", "audit.jsonl", "--ecds", "ecds"]
        bollard(*args, cwd=elsewhere)
        run.envoy("ecds/envoy.yaml", admin)
        sql = f"/v1/projects/{REF}/database/migrations"
        # A migration's SQL is judged too (issue 13): the body holds one.
        migration = '{"name": "t", "query": "create table t (id int)"}'
        assert call(port, "reader", "POST", sql, migration)[:2] == (403, "deny"), \
            "database: read cannot apply a migration"
        # A new policy: the same command again; Envoy picks the file up without a restart.
        with open(os.path.join(elsewhere, "policy.yaml"), "w") as f:
            f.write(policy_yaml(database="full"))
        bollard(*args, cwd=elsewhere)
        end = time.time() + 30
        while time.time() < end and call(port, "reader", "POST", sql, migration)[0] == 403:
            time.sleep(0.2)
        assert call(port, "reader", "POST", sql, migration)[:2][1] == "allow", open(run.log).read()[-2000:]


def test_demo_runs_from_a_copy_with_nothing_beside_it(tmp_path):
    """The demo needs only the checkout: the spec the stand-in answers from is in spec/."""
    copy = tmp_path / "alone" / "bollard"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = os.path.join(ROOT, rel)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(copy / rel), exist_ok=True)
            shutil.copy2(src, copy / rel)
    assert not (tmp_path / "alone" / "shared").exists()
    # The built filter, as `make build` would leave it (building again here would take minutes).
    wasm = copy / "target" / "wasm32-wasip1" / "release" / "bollard.wasm"
    wasm.parent.mkdir(parents=True)
    shutil.copy2(WASM, wasm)
    r = subprocess.run([sys.executable, "tests/support/demo.py"], cwd=copy, capture_output=True, text=True,
                       timeout=300, env=dict(os.environ, ENVOY=ENVOY))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert "reached the upstream" in r.stdout and "Audit trail" in r.stdout
