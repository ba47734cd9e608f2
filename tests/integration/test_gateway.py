"""Bollard in real Envoy, checked from the outside: what reaches the stand-in upstream, what the
agent gets back, and what lands in the audit trail."""
import json
import os
import subprocess

import pytest

from harness import ENVOY, ROOT, Gateway, envoy_config, sha256, wait_for

P1 = "abcdefghijklmnopqrst"
P2 = "zyxwvutsrqponmlkjihg"
TOKEN = "sbp_canaryupstreamtoken000000000000000000"
KEYS = {
    "ops-agent": "sbp_0ps0000000000000000000000000000000000a",
    "admin-agent": "sbp_adm1000000000000000000000000000000000b",
}
AUDIT_FIELDS = {
    "ts", "request_id", "agent", "method", "path", "endpoint", "area", "permission", "project",
    "organization", "decision", "enforced", "reason", "status", "duration_ms", "summary",
}
REFUSAL_FIELDS = {"message", "code", "agent", "endpoint", "area", "permission", "project", "request_id"}


def policy(mode="enforce"):
    return {
        "mode": mode,
        "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
        "agents": [
            {
                "id": "ops-agent",
                "name": "Ops Agent",
                "key_sha256": sha256(KEYS["ops-agent"]),
                "projects": [P1],
                "organizations": ["acme"],
                "access": {"projects": "read", "database": "read", "edge_functions": "full"},
                "allow": ["list_secrets"],
                "deny": ["delete_function"],
            },
            {
                "id": "admin-agent",
                "name": "Admin Agent",
                "key_sha256": sha256(KEYS["admin-agent"]),
                "projects": ["*"],
                "organizations": ["*"],
                "access": {"projects": "full", "branches": "full", "organizations": "full"},
            },
        ],
    }


@pytest.fixture(scope="module")
def gw():
    g = Gateway(policy(), token=TOKEN)
    assert g.start_ok, g.envoy_log()[-3000:]
    yield g
    g.stop()


ALLOWED = [
    # (agent, method, path, endpoint id)
    ("ops-agent", "GET", f"/v1/projects/{P1}", "get_project"),
    ("ops-agent", "GET", f"/v1/projects/{P1}/functions", "list_functions"),
    ("ops-agent", "POST", f"/v1/projects/{P1}/database/query/read-only", "run_read_only_sql"),
    ("ops-agent", "GET", f"/v1/projects/{P1}/secrets", "list_secrets"),
    ("ops-agent", "GET", "/v1/projects", "list_projects"),
    ("admin-agent", "DELETE", f"/v1/branches/{P2}", "delete_branch"),
    ("admin-agent", "GET", "/v1/organizations/acme", "get_organization"),
]

DENIED = [
    # (agent, method, path, status, code)
    ("ops-agent", "DELETE", f"/v1/projects/{P1}", 403, "permission_denied"),
    ("ops-agent", "DELETE", f"/v1/projects/{P1}/functions/hello", 403, "denied_by_policy"),
    ("ops-agent", "POST", f"/v1/projects/{P1}/database/migrations", 403, "permission_denied"),
    ("ops-agent", "POST", f"/v1/projects/{P1}/database/query", 400, "invalid_body"),
    ("ops-agent", "GET", f"/v1/projects/{P2}/functions", 403, "project_out_of_scope"),
    ("ops-agent", "GET", "/v1/organizations/other-org/members", 403, "organization_out_of_scope"),
    ("ops-agent", "DELETE", f"/v1/branches/{P2}", 403, "branch_out_of_scope"),
    ("ops-agent", "GET", f"/v1/projects/{P1}/config/auth", 403, "permission_denied"),
    ("ops-agent", "GET", "/v1/not-an-endpoint", 403, "unknown_endpoint"),
    ("ops-agent", "PUT", f"/v1/projects/{P1}", 403, "unknown_endpoint"),
    ("ops-agent", "GET", "/v1/projects/NOTAREF/functions", 400, "invalid_parameter"),
    ("ops-agent", "GET", "/v1/projects;x=1", 400, "malformed_target"),
    (None, "GET", "/v1/projects", 401, "missing_key"),
    ("nobody", "GET", "/v1/projects", 401, "unknown_key"),
]


def key_of(agent):
    if agent is None:
        return None
    return KEYS.get(agent, "sbp_unknown000000000000000000000000000000")


@pytest.mark.parametrize("agent,method,path,endpoint", ALLOWED)
def test_allowed_calls_reach_upstream_with_only_the_real_token(gw, agent, method, path, endpoint):
    before = len(gw.upstream_requests())
    # An endpoint that carries SQL is judged by its body (issue 13).
    body = '{"query": "select 1"}' if endpoint == "run_read_only_sql" else None
    extra = [("content-type", "application/json")] if body else []
    r = gw.call(method, path, key=key_of(agent), body=body,
                headers=[("apikey", "client-apikey"), ("cookie", "session=client"), ("x-bollard-agent", "forged"),
                         *extra])
    assert r.status < 300, r.body
    assert r.header("x-bollard-decision") == "allow"
    assert r.header("x-bollard-request-id")
    got = gw.upstream_requests()
    assert len(got) == before + 1
    up = got[-1]
    assert (up["method"], up["path"]) == (method, path)
    auth = [v for k, v in up["headers"] if k == "authorization"]
    assert auth == [f"Bearer {TOKEN}"]
    names = {k for k, _ in up["headers"]}
    assert not names & {"apikey", "cookie", "proxy-authorization"}
    assert not any(n.startswith("x-bollard-") for n in names), names
    assert ("host", "api.supabase.com") in [tuple(h) for h in up["headers"]]
    assert key_of(agent) not in json.dumps(up)


@pytest.mark.parametrize("agent,method,path,status,code", DENIED)
def test_denied_calls_never_reach_upstream(gw, agent, method, path, status, code):
    before = len(gw.upstream_requests())
    r = gw.call(method, path, key=key_of(agent), headers=[("x-bollard-decision", "allow")])
    assert r.status == status, r.body
    body = r.json()
    assert set(body) == REFUSAL_FIELDS
    assert body["code"] == code
    assert body["request_id"] == r.header("x-bollard-request-id")
    assert body["message"].endswith(".")
    if agent in KEYS:
        assert body["agent"] == agent
        assert r.header("x-bollard-decision") == "deny"
        assert policy()["agents"][list(KEYS).index(agent)]["name"] in body["message"]
    else:
        assert body["agent"] is None
    assert len(gw.upstream_requests()) == before, "a refused request reached upstream"


def test_refusal_message_says_who_what_where_why_and_the_grant(gw):
    r = gw.call("POST", f"/v1/projects/{P1}/database/migrations", key=KEYS["ops-agent"])
    body = r.json()
    assert body["endpoint"] == "apply_migration" and body["area"] == "database"
    assert body["permission"] == "database_migrations_write" and body["project"] == P1
    m = body["message"]
    for part in ("Ops Agent", "apply a migration", P1, "Database access is read", "needs full", 'access.database = "full"'):
        assert part in m, m


@pytest.mark.parametrize("headers", [
    [("authorization", f"Bearer {KEYS['ops-agent']}"), ("authorization", f"Bearer {KEYS['admin-agent']}")],
    [("authorization", f"Bearer {KEYS['ops-agent']}"), ("authorization", f"Bearer {KEYS['ops-agent']}")],
    [("authorization", f"Bearer {KEYS['ops-agent']}, Bearer {KEYS['admin-agent']}")],
    [("authorization", f"Bearer Bearer {KEYS['ops-agent']}")],
    [("authorization", f"Basic {KEYS['ops-agent']}")],
    [("apikey", KEYS["ops-agent"])],
    [("cookie", f"sb-access-token={KEYS['ops-agent']}")],
])
def test_anything_but_one_bearer_key_is_401(gw, headers):
    before = len(gw.upstream_requests())
    r = gw.request("GET", f"/v1/projects/{P1}", headers=headers)
    assert r.status == 401, r.body
    assert len(gw.upstream_requests()) == before


def test_scheme_word_is_case_insensitive(gw):
    r = gw.request("GET", f"/v1/projects/{P1}", headers=[("authorization", f"bearer {KEYS['ops-agent']}")])
    assert r.status == 200


def test_one_audit_record_per_request_with_every_field(tmp_path):
    with Gateway(policy(), token=TOKEN) as g:
        assert g.start_ok
        sent = []
        for agent, method, path, _ in ALLOWED:
            sent.append((g.call(method, path, key=key_of(agent)), agent, method, path))
        for agent, method, path, _, _ in DENIED:
            sent.append((g.call(method, path, key=key_of(agent)), agent, method, path))
        records = g.audit(expect=len(sent))
        assert len(records) == len(sent)
        by_id = {r["request_id"]: r for r in records}
        assert len(by_id) == len(sent)
        for resp, agent, method, path in sent:
            rid = resp.header("x-bollard-request-id")
            rec = by_id[rid]
            assert set(rec) == AUDIT_FIELDS
            assert rec["status"] == resp.status
            assert rec["method"] == method and rec["path"] == path.split("?")[0]
            assert rec["agent"] == (agent if agent in KEYS else None)
            assert rec["decision"] == ("allow" if resp.status < 300 else "deny")
            assert rec["enforced"] is True
            assert isinstance(rec["duration_ms"], (int, float)) and rec["duration_ms"] >= 0
            assert rec["ts"].endswith("Z") and "T" in rec["ts"]
            assert rec["summary"].endswith(".") and ("allowed" in rec["summary"]) == (resp.status < 300)
        # One write per request: filter state only, unless the policy asks for the log copy.
        log = g.envoy_log()
        assert sum(1 for line in log.splitlines() if '"summary":' in line and "wasm log bollard" in line) == 0


def test_audit_log_copy_is_a_policy_option():
    """`"audit": {"log": true}` also writes each record to the proxy-wasm log (hosts without
    filter state, such as Kong), the same line as the access log's."""
    p = policy()
    p["audit"] = {"log": True}
    with Gateway(p, token=TOKEN) as g:
        assert g.start_ok
        for agent, method, path, _ in ALLOWED[:3]:
            g.call(method, path, key=key_of(agent))
        lines = g.audit_lines(expect=3)
        assert len(lines) == 3
        wait_for(lambda: sum('"summary":' in l and "wasm log bollard" in l for l in g.envoy_log().splitlines()) == 3,
                 what="three audit lines in Envoy's log")
        logged = [l for l in g.envoy_log().splitlines() if "wasm log bollard" in l and '"summary":' in l]
        assert all(any(line in l for l in logged) for line in lines)


def test_no_key_or_token_in_any_log_line_or_response():
    with Gateway(policy(), token=TOKEN) as g:
        assert g.start_ok
        bodies = []
        for agent, method, path, _ in ALLOWED:
            bodies.append(g.call(method, path + "?q=" + KEYS["ops-agent"], key=key_of(agent)))
        for agent, method, path, _, _ in DENIED:
            bodies.append(g.call(method, path, key=key_of(agent)))
        bodies.append(g.request("GET", "/v1/projects", headers=[("authorization", f"Bearer {KEYS['ops-agent']} x")]))
        g.audit(expect=len(bodies))
        g.stop()
        everything = g.envoy_log() + "\n".join(g.audit_lines())
        everything += "".join(r.body.decode(errors="replace") + json.dumps(r.headers) for r in bodies)
        for secret in [TOKEN, *KEYS.values()]:
            assert secret not in everything, "a secret leaked"
        assert len(everything) > 1000


def test_monitor_mode_forwards_identified_denials_but_never_unidentified_or_malformed():
    with Gateway(policy(mode="monitor"), token=TOKEN) as g:
        assert g.start_ok
        r = g.call("DELETE", f"/v1/projects/{P1}", key=KEYS["ops-agent"])
        assert r.status == 200, r.body
        assert r.header("x-bollard-decision") == "deny"
        assert len(g.upstream_requests()) == 1
        assert [v for k, v in g.upstream_requests()[0]["headers"] if k == "authorization"] == [f"Bearer {TOKEN}"]
        for headers, target, status in [
            ([], "/v1/projects", 401),
            ([("authorization", "Bearer sbp_unknown")], "/v1/projects", 401),
            ([("authorization", f"Bearer {KEYS['ops-agent']}")], "/v1/projects;x", 400),
            ([("authorization", f"Bearer {KEYS['ops-agent']}")], "/v1/projects/BAD/functions", 400),
        ]:
            assert g.request("GET", target, headers=headers).status == status
        assert len(g.upstream_requests()) == 1
        recs = g.audit(expect=5)
        assert len(recs) == 5
        first = recs[0]
        assert (first["decision"], first["enforced"], first["reason"], first["status"]) == (
            "deny", False, "permission_denied", 200)
        assert "monitor" in first["summary"]
        assert all(r["enforced"] is True for r in recs[1:])


@pytest.mark.parametrize("mutate,culprit", [
    (lambda p: p["agents"][0].update(access={"storge": "read"}), 'agent "ops-agent": access: unknown area "storge"'),
    (lambda p: p["agents"][0].update(allow=["drop_everything"]), 'agent "ops-agent": allow: "drop_everything"'),
    (lambda p: p["agents"][1].update(key_sha256=p["agents"][0]["key_sha256"]), 'agent "admin-agent": key_sha256'),
    (lambda p: p.update(extra=1), "policy: unknown field `extra`"),
    (lambda p: p["agents"][0].update(projects=["Not-A-Ref"]), 'agent "ops-agent": projects: "Not-A-Ref"'),
])
def test_envoy_refuses_a_bad_policy(mutate, culprit):
    p = policy()
    mutate(p)
    g = Gateway(p, token=TOKEN)
    try:
        assert g.start_ok is False, "Envoy started serving with a broken policy"
        assert culprit in g.envoy_log(), g.envoy_log()[-2000:]
    finally:
        g.stop()


def test_envoy_refuses_to_start_without_the_token_variable():
    g = Gateway(policy(), token=None)
    try:
        assert g.start_ok is False
        assert "SUPABASE_ACCESS_TOKEN" in g.envoy_log()
    finally:
        g.stop()


def validate(config_path, env_token="sbp_x"):
    env = dict(os.environ, SUPABASE_ACCESS_TOKEN=env_token)
    config_path = os.path.relpath(config_path, ROOT) if config_path.startswith(ROOT) else config_path
    return subprocess.run([ENVOY, "--mode", "validate", "-c", config_path, "--use-dynamic-base-id"],
                          env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(os.path.join(ROOT, "envoy")) if f.endswith(".yaml")))
def test_shipped_envoy_configs_validate(name):
    r = validate(os.path.join(ROOT, "envoy", name))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert f"configuration 'envoy/{name}' OK" in r.stdout + r.stderr


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(os.path.join(ROOT, "examples")) if f.endswith(".json")))
def test_every_example_policy_loads_in_envoy(tmp_path, name):
    import yaml
    with open(os.path.join(ROOT, "examples", name)) as f:
        text = f.read()
    cfg = envoy_config(text, 10000, 9901, 8080, str(tmp_path / "audit.jsonl"))
    path = tmp_path / "envoy.yaml"
    path.write_text(yaml.safe_dump(cfg))
    r = validate(str(path))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "policy loaded" in r.stdout + r.stderr
