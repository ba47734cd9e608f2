"""Guards that read bodies and responses, and self-discovery, in real Envoy with a stand-in
upstream whose responses carry real-looking secrets ("CANARY")."""
import json
import urllib.parse

import pytest

from harness import Gateway, sha256, wait_for

P1, P2, P3 = "abcdefghijklmnopqrst", "zyxwvutsrqponmlkjihg", "mnopqrstuvwxyzabcdef"
KEYS = {
    "reader": "sbp_4ead000000000000000000000000000000000a",
    "admin": "sbp_ad31000000000000000000000000000000000b",
    "revealer": "sbp_4e7e000000000000000000000000000000000c",
}
POLICY = {
    "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
    "max_body_bytes": 4096,
    "agents": [
        {"id": "reader", "name": "Reader", "key_sha256": sha256(KEYS["reader"]), "projects": [P1],
         "organizations": ["acme"],
         "access": {"projects": "full", "organizations": "read", "database": "read", "secrets": "read",
                    "api_keys": "read", "auth_config": "read", "project_config": "read", "branches": "read"},
         "allow": ["get_pgsodium_config"]},
        {"id": "admin", "name": "Admin", "key_sha256": sha256(KEYS["admin"]), "projects": ["*"], "organizations": ["*"],
         "access": {"projects": "full", "organizations": "full", "secrets": "read"}},
        {"id": "revealer", "name": "Revealer", "key_sha256": sha256(KEYS["revealer"]), "projects": [P1],
         "access": {"secrets": "read"}, "reveal_secrets": True},
    ],
}
JSON = [("content-type", "application/json")]


@pytest.fixture(scope="module")
def gw():
    g = Gateway(POLICY)
    assert g.start_ok, g.envoy_log()[-3000:]
    yield g
    g.stop()


def last_upstream(g):
    return g.upstream_requests()[-1]


@pytest.mark.parametrize("body,status,code", [
    ('{"query": "select 1", "read_only": true}', 201, None),
    ('{"query": "drop table users"}', 403, "read_only_required"),
    ('{"query": "select 1", "read_only": "true"}', 403, "read_only_required"),
    ('{"query": "select 1", "read_only": 1}', 403, "read_only_required"),
    ('{"query": "delete from t", "read_only": false, "read_only": true}', 400, "invalid_body"),
    ('{"query": "x", "read_only": true} trailing', 400, "invalid_body"),
    ('[{"read_only": true}]', 400, "invalid_body"),
    ("", 400, "invalid_body"),
])
def test_run_sql_with_read_access_needs_read_only_true(gw, body, status, code):
    before = len(gw.upstream_requests())
    r = gw.call("POST", f"/v1/projects/{P1}/database/query", key=KEYS["reader"], headers=JSON, body=body)
    assert r.status == status, r.body
    if code:
        assert r.json()["code"] == code
        assert len(gw.upstream_requests()) == before, "a refused body reached upstream"
    else:
        up = last_upstream(gw)
        assert up["body"] == body, "the forwarded body is the one inspected"
        assert [v for k, v in up["headers"] if k == "authorization"] == [f"Bearer {gw.token}"]


def test_run_sql_body_rules_beyond_json(gw):
    before = len(gw.upstream_requests())
    body = '{"query": "select 1", "read_only": true}'
    r = gw.call("POST", f"/v1/projects/{P1}/database/query", key=KEYS["reader"],
                headers=[("content-type", "application/x-www-form-urlencoded")], body=body)
    assert r.status == 400 and r.json()["code"] == "invalid_body"
    big = json.dumps({"query": "select 1 " + "x" * 5000, "read_only": True})
    r = gw.call("POST", f"/v1/projects/{P1}/database/query", key=KEYS["reader"], headers=JSON, body=big)
    assert r.status == 413 and r.json()["code"] == "body_too_large"
    assert len(gw.upstream_requests()) == before


@pytest.mark.parametrize("body,status", [
    ('{"name": "p", "organization_slug": "acme", "region": "us-east-1"}', 201),
    ('{"name": "p", "organization_id": "acme"}', 201),
    ('{"name": "p", "organization_slug": "other-org"}', 403),
    ('{"name": "p", "organization_slug": "acme", "organization_id": "other-org"}', 400),
    ('{"name": "p"}', 400),
])
def test_create_project_needs_one_of_the_agents_organizations(gw, body, status):
    before = len(gw.upstream_requests())
    r = gw.call("POST", "/v1/projects", key=KEYS["reader"], headers=JSON, body=body)
    assert r.status == status, r.body
    if status >= 400:
        assert len(gw.upstream_requests()) == before
        if status == 403:
            assert r.json()["code"] == "organization_out_of_scope"
            assert "other-org" in r.json()["message"]


def test_create_project_with_all_organizations_needs_no_body_check(gw):
    r = gw.call("POST", "/v1/projects", key=KEYS["admin"], headers=JSON, body='{"name": "p", "organization_slug": "any"}')
    assert r.status == 201


def test_account_lists_are_filtered_to_the_agents_scope(gw):
    r = gw.call("GET", "/v1/projects", key=KEYS["reader"], headers=[("accept-encoding", "gzip")])
    assert r.status == 200
    assert [p["ref"] for p in r.json()] == [P1]
    assert ("accept-encoding", "identity") in [tuple(h) for h in last_upstream(gw)["headers"]]
    r = gw.call("GET", "/v1/organizations", key=KEYS["reader"])
    assert [o["slug"] for o in r.json()] == ["acme"]
    r = gw.call("GET", "/v1/projects", key=KEYS["admin"])
    assert sorted(p["ref"] for p in r.json()) == sorted([P1, P2, P3]), "projects [\"*\"] sees the whole list"


@pytest.mark.parametrize("path,fields", [
    (f"/v1/projects/{P1}/secrets", ["value"]),
    (f"/v1/projects/{P1}/api-keys", ["api_key"]),
    (f"/v1/projects/{P1}/config/auth", ["smtp_pass", "external_github_secret", "sms_twilio_auth_token"]),
    (f"/v1/projects/{P1}/postgrest", ["jwt_secret"]),
    (f"/v1/projects/{P1}/pgsodium", ["root_key"]),
])
def test_secrets_are_replaced_with_a_marker(gw, path, fields):
    r = gw.call("GET", path, key=KEYS["reader"])
    assert r.status == 200, r.body
    text = r.body.decode()
    assert "CANARY" not in text, text[:500]
    doc = r.json()
    first = doc[0] if isinstance(doc, list) else doc
    for f in fields:
        assert first[f] == "[redacted by Bollard]", (f, text[:300])


def test_reveal_true_is_not_passed_upstream_for_api_keys(gw):
    r = gw.call("GET", f"/v1/projects/{P1}/api-keys?reveal=true", key=KEYS["reader"])
    assert r.status == 200 and "CANARY" not in r.body.decode()
    assert last_upstream(gw)["path"] == f"/v1/projects/{P1}/api-keys"


def test_reveal_secrets_shows_them_to_that_agent_only(gw):
    r = gw.call("GET", f"/v1/projects/{P1}/secrets", key=KEYS["revealer"])
    assert "sk_live_CANARY_value" in r.body.decode()


def test_no_secret_in_any_audit_line(gw):
    gw.call("GET", f"/v1/projects/{P1}/secrets", key=KEYS["reader"])
    wait_for(lambda: any("list_secrets" in line for line in gw.audit_lines()), what="the audit line")
    lines = gw.audit_lines()
    assert not [line for line in lines if "CANARY" in line]


def test_whoami_lists_what_the_agent_may_do(gw):
    r = gw.call("GET", "/_bollard/whoami", key=KEYS["reader"])
    assert r.status == 200
    me = r.json()
    assert (me["id"], me["name"], me["mode"], me["projects"], me["organizations"]) == (
        "reader", "Reader", "enforce", [P1], ["acme"])
    assert me["access"]["database"] == "read" and me["access"]["edge_functions"] == "off"
    ids = {e["id"] for e in me["endpoints"]}
    assert {"list_projects", "delete_project", "run_read_only_sql", "get_pgsodium_config", "run_sql"} <= ids
    assert "apply_migration" not in ids and "list_functions" not in ids
    run_sql = next(e for e in me["endpoints"] if e["id"] == "run_sql")
    assert "read_only" in run_sql["only_when"]
    assert gw.call("GET", "/_bollard/whoami").status == 401
    assert gw.call("GET", "/_bollard/whoami", key="sbp_nobody").status == 401


def test_whoami_and_explain_match_the_decisions_actually_made(gw):
    me = gw.call("GET", "/_bollard/whoami", key=KEYS["reader"]).json()
    listed = {e["id"] for e in me["endpoints"]}
    probes = [("GET", f"/v1/projects/{P1}/functions"), ("GET", f"/v1/projects/{P1}/secrets"),
              ("DELETE", f"/v1/projects/{P1}"), ("POST", f"/v1/projects/{P1}/database/migrations"),
              ("GET", f"/v1/projects/{P2}/secrets"), ("GET", "/v1/nope")]
    before = len(gw.upstream_requests())
    for method, path in probes:
        q = urllib.parse.urlencode({"method": method, "path": path})
        ex = gw.call("GET", f"/_bollard/explain?{q}", key=KEYS["reader"])
        assert ex.status == 200
        e = ex.json()
        real = gw.call(method, path, key=KEYS["reader"])
        assert e["decision"] == real.header("x-bollard-decision"), (method, path)
        assert e["status"] == (200 if e["decision"] == "allow" else real.status)
        assert e["summary"].startswith("Reader asked to")
        if e["endpoint"] and path.startswith(f"/v1/projects/{P1}") or path == "/v1/projects":
            assert (e["endpoint"] in listed) == (e["decision"] == "allow"), (method, path)
    allowed = sum(1 for m, p in probes if gw.call("GET", "/_bollard/explain?" + urllib.parse.urlencode({"method": m, "path": p}), key=KEYS["reader"]).json()["decision"] == "allow")
    assert len(gw.upstream_requests()) == before + allowed, "explain itself never reaches upstream"
    wait_for(lambda: any(r["endpoint"] == "bollard_explain" and r["reason"] == "self_discovery" for r in gw.audit()),
             what="the explain calls' audit records")


@pytest.fixture(scope="module")
def gw_trailers():
    g = Gateway(POLICY, upstream_trailers=True)
    assert g.start_ok, g.envoy_log()[-3000:]
    yield g
    g.stop()


@pytest.mark.parametrize("path", [f"/v1/projects/{P1}/secrets", f"/v1/projects/{P1}/api-keys", "/v1/projects"])
def test_a_guarded_response_that_ends_with_trailers_is_still_rewritten(gw_trailers, path):
    # Supabase's response in chunks, then trailers: the body is guarded all the same, and the
    # trailers of a guarded response (never read) do not reach the agent.
    r = gw_trailers.call("GET", path, key=KEYS["reader"], headers=[("user-agent", "standin-trailers")])
    assert r.status == 200, r.body
    text = r.body.decode()
    assert "CANARY" not in text, text[:500]
    if path == "/v1/projects":
        assert [p["ref"] for p in r.json()] == [P1]
    else:
        assert "[redacted by Bollard]" in text
    assert "x-standin-trailer" not in dict(r.headers)
    # The same call without trailers: the stand-in's answer carries secrets to redact.
    plain = gw_trailers.call("GET", path, key=KEYS["reader"])
    assert r.json() == plain.json()
