"""The lean filter (make build-lean: no SQL grammar, wasm-opt'd) in real Envoy: it decides what
needs no SQL as the full filter does, and refuses every body that carries SQL as sql_unparsed,
even for an agent whose rules would let it through; nothing it refuses reaches upstream."""
import json
import os

import pytest

from harness import ROOT, WASM, Gateway, sha256

LEAN_WASM = os.path.join(ROOT, "target", "lean", "bollard.wasm")
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


@pytest.mark.skipif(not os.path.exists(LEAN_WASM), reason="make build-lean builds the lean .wasm")
def test_the_lean_filter_refuses_sql_and_decides_the_rest():
    with Gateway(POLICY, wasm=LEAN_WASM) as g:
        assert g.start_ok, g.envoy_log()[-2000:]
        assert g.call("GET", f"/v1/projects/{P1}/functions", key=KEY).status == 200
        assert g.call("GET", f"/v1/projects/{P1}/secrets", key=KEY).status == 403
        r, upstream = sql_call(g)
        assert r.status == 403, r.body
        assert r.json()["code"] == "sql_unparsed"
        assert upstream == []


def test_the_full_filter_judges_the_same_body():
    with Gateway(POLICY, wasm=WASM) as g:
        assert g.start_ok, g.envoy_log()[-2000:]
        r, upstream = sql_call(g)
        assert r.status == 201, r.body  # the stand-in upstream's answer
        assert len(upstream) == 1 and upstream[0]["path"].endswith("/database/query")
