"""HTTP/2 through real Envoy, with a client that sends bodies in pieces and trailers (the `h2`
package): a request the filter holds is decided on its whole body and never forwarded before;
an allowed body arrives upstream intact; trailers never go upstream. Both with the shipped
hardened config and with Envoy's defaults."""
import json
import socket

import h2.config
import h2.connection
import h2.events
import pytest

from harness import Gateway, sha256, wait_for

P1 = "abcdefghijklmnopqrst"
KEY = "sbp_" + "2" * 40
BRANCH = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
SQL = f"/v1/projects/{P1}/database/query"

POLICY = {
    "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
    "agents": [{
        "id": "reader", "name": "Reader", "key_sha256": sha256(KEY),
        "projects": [P1], "organizations": ["acme"],
        "access": {"database": "read", "branches": "full", "projects": "read"},
    }],
}


def h2_request(port, method, path, body_parts=(), trailers=None, headers=()):
    """One HTTP/2 request (prior knowledge, cleartext): the body in the given DATA frames, then
    trailers if any. Returns (status, response headers, body) or (None, ...) on a reset."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    sid = conn.get_next_available_stream_id()
    hdrs = [(":method", method), (":path", path), (":scheme", "http"), (":authority", "gateway.local"),
            ("authorization", f"Bearer {KEY}"), ("content-type", "application/json")] + list(headers)
    if trailers:
        hdrs.append(("te", "trailers"))
    parts = list(body_parts)
    conn.send_headers(sid, hdrs, end_stream=not parts and not trailers)
    sock.sendall(conn.data_to_send())
    for i, part in enumerate(parts):
        conn.send_data(sid, part, end_stream=(i == len(parts) - 1 and not trailers))
        sock.sendall(conn.data_to_send())
    if trailers:
        conn.send_headers(sid, list(trailers), end_stream=True)
        sock.sendall(conn.data_to_send())
    status, resp_headers, data, done = None, [], b"", False
    while not done:
        chunk = sock.recv(65536)
        if not chunk:
            break
        for ev in conn.receive_data(chunk):
            if isinstance(ev, h2.events.ResponseReceived):
                resp_headers = ev.headers
                status = int(dict(ev.headers)[":status"])
            elif isinstance(ev, h2.events.DataReceived):
                data += ev.data
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                done = True
        sock.sendall(conn.data_to_send())
    sock.close()
    return status, resp_headers, data


@pytest.fixture(scope="module", params=[True, False], ids=["hardened", "envoy-defaults"])
def gw(request):
    g = Gateway(POLICY, hardened=request.param)
    assert g.start_ok, g.envoy_log()[-3000:]
    yield g
    g.stop()


def forwarded(gw, path):
    return [e for e in gw.upstream_requests() if e["path"].split("?")[0] == path]


def test_allowed_body_in_pieces_with_trailers_arrives_whole(gw):
    body = json.dumps({"query": "select 1 as one", "read_only": True}).encode()
    before = len(forwarded(gw, SQL))
    status, _, data = h2_request(gw.port, "POST", SQL, [body[:7], body[7:20], body[20:]],
                                 trailers=[("x-checksum", "abc"), ("authorization", "Bearer smuggled")])
    assert status == 201, data
    got = forwarded(gw, SQL)[before:]
    assert len(got) == 1
    e = got[0]
    assert e["body"] == body.decode(), "the body decided on is the body forwarded"
    assert [v for k, v in e["headers"] if k == "authorization"] == [f"Bearer {gw.token}"]
    assert e.get("trailers") == [], "trailers never go upstream"
    assert "x-checksum" not in dict(e["headers"]) and "te" not in dict(e["headers"])


def test_allowed_body_without_trailers_arrives_whole(gw):
    body = json.dumps({"query": "select now()", "read_only": True}).encode()
    before = len(forwarded(gw, SQL))
    status, _, data = h2_request(gw.port, "POST", SQL, [body])
    assert status == 201, data
    e = forwarded(gw, SQL)[before:][0]
    assert e["body"] == body.decode() and e["body_bytes"] == len(body)


@pytest.mark.parametrize("parts", [
    [b'{"query":"drop table t"}'],
    [b'{"query":', b'"delete from t"', b'}'],
    [],
])
def test_held_request_with_trailers_is_decided_not_forwarded(gw, parts):
    before = len(forwarded(gw, SQL))
    status, headers, data = h2_request(gw.port, "POST", SQL, parts, trailers=[("x-t", "1")])
    assert status in (400, 403), (status, data)
    assert json.loads(data)["code"] in ("read_only_required", "invalid_body")
    assert forwarded(gw, SQL)[before:] == [], "nothing reaches upstream"
    rid = dict(headers)["x-bollard-request-id"]
    wait_for(lambda: any(rid in line for line in gw.audit_lines()), what="the request's audit line")
    rec = next(json.loads(line) for line in gw.audit_lines() if rid in line)
    assert rec["decision"] == "deny" and rec["reason"] != "not_decided", rec


def test_branch_lookup_with_trailers_waits_for_the_listing(gw):
    path = f"/v1/branches/{BRANCH}"
    before = len(forwarded(gw, path))
    status, _, data = h2_request(gw.port, "GET", path, [], trailers=[("x-t", "1")])
    # The stand-in lists no such branch under the agent's project: refused after the lookup.
    assert status == 403, data
    assert forwarded(gw, path)[before:] == []
    lookups = [e for e in gw.upstream_requests(lookups=True) if e["path"] == f"/v1/projects/{P1}/branches"]
    assert lookups and all(dict(e["headers"]).get("authorization") == f"Bearer {gw.token}" for e in lookups)
