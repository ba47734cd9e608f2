"""The attack suite: raw request targets and headers over a socket, against the shipped hardened
config and against Envoy's defaults. Every case is refused with the status the table expects,
and the upstream receives nothing. A secret canary covers the whole suite."""
import json
import os

import pytest

from attacks import CASES, P1
from harness import Gateway, sha256

KEY = "sbp_a77ac4000000000000000000000000000000aa"
TOKEN = "sbp_canaryupstreamtoken444444444444444444"
POLICY = {
    "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
    "agents": [{"id": "scoped", "name": "Scoped", "key_sha256": sha256(KEY), "projects": [P1],
                "organizations": ["acme"],
                "access": {"projects": "full", "edge_functions": "full", "api_keys": "full", "database": "full",
                           "organizations": "full"}}],
}
EXPECTED = json.load(open(os.path.join(os.path.dirname(__file__), "attacks_expected.json")))
SEEN = {}


@pytest.fixture(scope="module", params=["hardened", "envoy-defaults"])
def gw(request):
    g = Gateway(POLICY, token=TOKEN, hardened=request.param == "hardened")
    assert g.start_ok, g.envoy_log()[-3000:]
    g.config_name = request.param
    g.responses = []
    yield g
    g.stop()
    # The secret canary, over every response, audit line and log line of this configuration.
    text = g.envoy_log() + "\n".join(g.audit_lines()) + "".join(r.decode("latin-1") for r in g.responses)
    assert TOKEN not in text and KEY not in text


def request_bytes(method, target, headers):
    head = [method.encode() + b" " + target + b" HTTP/1.1", b"host: gw", b"connection: close"]
    if not any(k.lower() == "authorization" for k, _ in headers):
        head.append(b"authorization: Bearer " + KEY.encode())
    head += [k.encode() + b": " + v.encode() for k, v in headers]
    return b"\r\n".join(head) + b"\r\n\r\n"


def test_the_table_is_large_enough():
    assert len(CASES) >= 60 and len({c[0] for c in CASES}) >= 20
    assert len(CASES) * 2 >= 120, "each case runs against both configurations"


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_attack_is_refused_and_never_reaches_upstream(gw, case):
    cls, method, target, headers = CASES[case]
    before = len(gw.upstream_requests())
    status, raw = gw.raw(request_bytes(method, target, headers))
    gw.responses.append(raw)
    SEEN[f"{gw.config_name}:{case}"] = status
    assert len(gw.upstream_requests()) == before, f"{cls} {target!r} reached upstream"
    want = EXPECTED.get(f"{gw.config_name}:{case}")
    assert status == want, f"{cls} {target[:80]!r}: got {status}, table says {want}"
