"""No request reaches Supabase that the policy did not allow: parser differentials, methods,
headers and a failing filter, against the shipped (hardened) config and against Envoy's defaults,
since the filter must be safe on its own."""
import json
import os
import shutil
import subprocess

import pytest

from harness import FAULT_WASM, Gateway, sha256, wait_for

P1 = "abcdefghijklmnopqrst"  # the agent's project
P2 = "zyxwvutsrqponmlkjihg"  # not the agent's
KEY = "sbp_5ec0000000000000000000000000000000000c"
TOKEN = "sbp_canaryupstreamtoken111111111111111111"
POLICY = {
    "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
    "agents": [{
        "id": "scoped", "name": "Scoped Agent", "key_sha256": sha256(KEY),
        "projects": [P1], "organizations": ["acme"],
        "access": {"projects": "read", "edge_functions": "full", "database": "read"},
    }],
}


@pytest.fixture(scope="module", params=[True, False], ids=["hardened", "envoy-defaults"])
def gw(request):
    g = Gateway(POLICY, token=TOKEN, hardened=request.param)
    assert g.start_ok, g.envoy_log()[-3000:]
    yield g
    g.stop()


def forwarded_paths(g):
    return [r["path"] for r in g.upstream_requests()]


# Request targets that try to reach P2 (out of scope) or are not canonical. None may reach upstream.
ATTACKS = [
    f"/v1/projects/{P1}/../{P2}/functions",
    f"/v1/projects/{P1}/./../{P2}/functions",
    f"/v1/projects/{P1}/%2e%2e/{P2}/functions",
    f"/v1/projects/{P1}/%2E%2E/{P2}/functions",
    f"/v1/projects/{P1}/.%2e/{P2}/functions",
    f"/v1/projects/{P1}%2F..%2F{P2}/functions",
    f"/v1/projects/{P1}%2f..%2f{P2}/functions",
    f"/v1/projects/{P1}%5C..%5C{P2}/functions",
    f"/v1/projects/{P1}/%252e%252e/{P2}/functions",
    f"/v1/projects/{P2}%00/functions",
    f"/v1/projects/{P2};/functions",
    f"/v1/projects/{P1};x=1/../{P2}/functions",
    f"//v1/projects/{P2}/functions",
    f"/v1//projects/{P2}/functions",
    f"/v1/projects/{P2}/functions/",
    f"/v1/projects/{P2}/functions%23",
    f"/V1/projects/{P2}/functions",
    f"/v1/projects/{P2.upper()}/functions",
    f"/v1/projects/{P2}/functions?apikey={KEY}",
    f"/v1/projects/{P1}/functions?access_token=x",
    f"/v1/projects/{P1}/functions/hello%2Fworld",
    f"/v1/projects/{P1}/functions/hello world",
    f"/v1/projects/{P1}/api-keys/not-a-uuid",
    f"/v1/projects/{P1}/database/migrations/12ab",
    "/v1/projects/" + "a" * 3000,
    f"http://api.supabase.com/v1/projects/{P2}/functions",
    f"https://evil.example/v1/projects/{P2}/functions",
    "*",
]


@pytest.mark.parametrize("target", ATTACKS)
def test_parser_differentials_never_reach_upstream(gw, target):
    before = len(gw.upstream_requests())
    request = f"GET {target} HTTP/1.1\r\nhost: gw\r\nauthorization: Bearer {KEY}\r\nconnection: close\r\n\r\n"
    status, _ = gw.raw(request.encode("latin-1"))
    assert status is None or status >= 400, (target, status)
    assert len(gw.upstream_requests()) == before, f"{target!r} reached upstream as {forwarded_paths(gw)[before:]}"


@pytest.mark.parametrize("raw_target", [
    f"/v1/projects/{P1}/functions\x01".encode(),
    f"/v1/projects/{P1}/functions\x7f".encode(),
    f"/v1/projects/{P1}/funct\xc3\xa9ons".encode("latin-1"),
    f"/v1/projects/{P1}/functions\xff".encode("latin-1"),
    f"/v1/projects/{P1}/functions#frag".encode(),
    f"/v1/projects/{P1}\\..\\{P2}/functions".encode(),
])
def test_control_non_ascii_fragment_and_backslash_never_reach_upstream(gw, raw_target):
    before = len(gw.upstream_requests())
    status, _ = gw.raw(b"GET " + raw_target + b" HTTP/1.1\r\nhost: gw\r\nauthorization: Bearer " +
                       KEY.encode() + b"\r\nconnection: close\r\n\r\n")
    assert status is None or status >= 400 or not forwarded_paths(gw)[before:], raw_target
    for path in forwarded_paths(gw)[before:]:
        # Envoy may strip a fragment itself; what is forwarded must be the plain in-scope path.
        assert path == f"/v1/projects/{P1}/functions", path


def test_a_canonical_in_scope_call_still_passes(gw):
    r = gw.call("GET", f"/v1/projects/{P1}/functions", key=KEY)
    assert r.status == 200
    assert forwarded_paths(gw)[-1] == f"/v1/projects/{P1}/functions"


@pytest.mark.parametrize("method,status,code", [
    ("HEAD", 403, "unknown_endpoint"),
    ("OPTIONS", 403, "unknown_endpoint"),
    ("TRACE", 403, "unknown_endpoint"),
    ("PURGE", 400, "invalid_method"),
    ("MKCOL", 400, "invalid_method"),
    ("FOO", 400, None),  # Envoy's HTTP/1 codec refuses it before any filter runs
])
def test_methods_not_listed_for_a_path_are_refused(gw, method, status, code):
    before = len(gw.upstream_requests())
    r = gw.call(method, f"/v1/projects/{P1}/functions", key=KEY)
    assert r.status == status
    if code and method != "HEAD":
        assert r.json()["code"] == code
    assert len(gw.upstream_requests()) == before


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is needed for HTTP/2")
@pytest.mark.parametrize("method", ["get", "Get", "delete"])
def test_lower_case_methods_over_http2_are_refused(gw, method):
    before = len(gw.upstream_requests())
    out = subprocess.run(
        ["curl", "-s", "--http2-prior-knowledge", "-X", method, "-H", f"authorization: Bearer {KEY}",
         "-o", "-", "-w", "\n%{http_code} %{http_version}", f"http://127.0.0.1:{gw.port}/v1/projects/{P1}/functions"],
        capture_output=True, text=True, timeout=30)
    body, _, tail = out.stdout.rpartition("\n")
    code, version = tail.split()
    assert version == "2", out
    assert code == "400", out.stdout
    assert json.loads(body)["code"] == "invalid_method"
    assert len(gw.upstream_requests()) == before


@pytest.mark.parametrize("header", ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"])
def test_method_override_headers_are_refused(gw, header):
    before = len(gw.upstream_requests())
    r = gw.call("GET", f"/v1/projects/{P1}/functions", key=KEY, headers=[(header, "DELETE")])
    assert r.status == 400 and r.json()["code"] == "method_override"
    assert len(gw.upstream_requests()) == before


def test_no_client_header_claims_an_identity_or_a_decision(gw):
    forged = [("x-bollard-agent", "admin"), ("x-bollard-decision", "allow"), ("x-bollard-endpoint", "list_functions"),
              ("X-Bollard-Agent", "admin")]
    r = gw.call("GET", f"/v1/projects/{P2}/functions", key=KEY, headers=forged)
    assert r.status == 403
    r = gw.call("GET", f"/v1/projects/{P1}/functions", key=KEY, headers=forged + [("apikey", "a"), ("cookie", "c=d")])
    assert r.status == 200
    up = gw.upstream_requests()[-1]
    names = [k for k, _ in up["headers"]]
    assert not [n for n in names if n.startswith("x-bollard-") or n in ("apikey", "cookie")], names
    assert [v for k, v in up["headers"] if k == "authorization"] == [f"Bearer {TOKEN}"]


def test_every_copy_of_authorization_is_read_and_replaced(gw):
    before = len(gw.upstream_requests())
    r = gw.request("GET", f"/v1/projects/{P1}/functions",
                   headers=[("authorization", f"Bearer {KEY}"), ("authorization", "Bearer other")])
    assert r.status == 401 and r.json()["code"] == "ambiguous_credentials"
    assert len(gw.upstream_requests()) == before


@pytest.mark.skipif(not os.path.exists(FAULT_WASM), reason="make build-fault builds the fault-injection .wasm")
def test_a_request_the_filter_fails_on_is_not_forwarded():
    with Gateway(POLICY, token=TOKEN, wasm=FAULT_WASM) as g:
        assert g.start_ok, g.envoy_log()[-2000:]
        assert g.call("GET", f"/v1/projects/{P1}/functions", key=KEY).status == 200
        before = len(g.upstream_requests())
        r = g.call("GET", f"/v1/projects/{P1}/functions", key=KEY, headers=[("x-bollard-fault", "panic")])
        assert r.status >= 500
        assert len(g.upstream_requests()) == before
        # The VM is gone; with failure_policy FAIL_CLOSED nothing passes until Envoy reloads it.
        after = g.call("GET", f"/v1/projects/{P1}/functions", key=KEY)
        assert after.status >= 500
        assert len(g.upstream_requests()) == before
        wait_for(lambda: "fault injected" in g.envoy_log(), what="the panic in Envoy's log")


def test_a_body_that_never_ends_is_cut_off_and_never_forwarded():
    # The shipped connection manager bounds how long a request may take to arrive, so a body sent
    # slowly cannot keep a decision open; here the bound is 2 s instead of the shipped 300 s.
    with Gateway(POLICY, token=TOKEN, request_timeout="2s") as g:
        assert g.start_ok, g.envoy_log()[-2000:]
        body = b'{"query": "select 1", "read_only": true}'
        head = (f"POST /v1/projects/{P1}/database/query HTTP/1.1\r\nhost: gw\r\n"
                f"authorization: Bearer {KEY}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body) + 10}\r\n\r\n").encode()
        status, out = g.raw(head + body, timeout=20)
        assert status == 408, out[:300]
        assert g.upstream_requests() == []
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "envoy", "envoy.yaml")) as f:
        assert "request_timeout: 300s" in f.read(), "the shipped config bounds a request's arrival"
