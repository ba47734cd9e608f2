"""The lean filter (make build-lean: no SQL grammar, wasm-opt'd) and its smallest build (make
build-lean-min: nightly build-std, panics as traps, opt-level z) in real Envoy: each decides what
needs no SQL as the full filter does, and refuses every body that carries SQL as sql_unparsed,
even for an agent whose rules would let it through; nothing it refuses reaches upstream."""
import json
import os

import pytest

from harness import ROOT, WASM, Gateway, sha256

LEAN_WASM = os.path.join(ROOT, "target", "lean", "bollard.wasm")
LEAN_MIN_WASM = os.path.join(ROOT, "target", "lean-min", "bollard.wasm")
P1 = "abcdefghijklmnopqrst"
KEY = "sbp_1ea4000000000000000000000000000000000001"
POLICY = {
    "mode": "enforce",
    "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
    "agents": [{"id": "dba", "name": "DBA", "key_sha256": sha256(KEY), "projects": [P1],
                "access": {"database": "full", "edge_functions": "read"},
                "sql": {"allow_unparsed": True}}],
}
JSON = [("content-type", "application/json")]
SELECT = json.dumps({"query": "select id, name from public.orders where id = 1"})


def sql_call(g):
    before = len(g.upstream_requests())
    r = g.call("POST", f"/v1/projects/{P1}/database/query", key=KEY, headers=JSON, body=SELECT)
    return r, g.upstream_requests()[before:]


@pytest.mark.parametrize("wasm", [
    pytest.param(LEAN_WASM, id="lean", marks=pytest.mark.skipif(
        not os.path.exists(LEAN_WASM), reason="make build-lean builds the lean .wasm")),
    pytest.param(LEAN_MIN_WASM, id="lean-min", marks=pytest.mark.skipif(
        not os.path.exists(LEAN_MIN_WASM), reason="make build-lean-min builds it (nightly toolchain)")),
])
def test_the_lean_filter_refuses_sql_and_decides_the_rest(wasm):
    with Gateway(POLICY, wasm=wasm) as g:
        assert g.start_ok, g.envoy_log()[-2000:]
        r = g.call("GET", f"/v1/projects/{P1}/functions", key=KEY)
        assert r.status == 200, r.body
        assert g.call("GET", f"/v1/projects/{P1}/secrets", key=KEY).status == 403
        assert g.call("GET", f"/v1/projects/{P1}/functions", key="sbp_wrong").status == 401
        r, upstream = sql_call(g)
        assert r.status == 403, r.body
        assert r.json()["code"] == "sql_unparsed"
        assert upstream == []
        # One audit line per request, with its sentence.
        records = g.audit(expect=4)
        assert [x["status"] for x in records] == [200, 403, 401, 403], records
        assert records[0]["summary"].startswith("DBA asked to list edge functions")


def test_the_full_filter_judges_the_same_body():
    with Gateway(POLICY, wasm=WASM) as g:
        assert g.start_ok, g.envoy_log()[-2000:]
        r, upstream = sql_call(g)
        assert r.status == 201, r.body  # the stand-in upstream's answer
        assert len(upstream) == 1 and upstream[0]["path"].endswith("/database/query")
