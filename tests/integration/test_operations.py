"""Operating Bollard: metrics from the admin endpoint, per-agent rate limits across workers,
Supabase's own failures passed through, and an audit trail that loses nothing under load."""
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness import Gateway, sha256

P1 = "abcdefghijklmnopqrst"
KEYS = {"ops": "sbp_0p50000000000000000000000000000000000a", "bot": "sbp_b0t0000000000000000000000000000000000b"}
TOKEN = "sbp_canaryupstreamtoken222222222222222222"


def policy(ops_limit=None, bot_limit=None, default=None):
    agents = [
        {"id": "ops", "name": "Ops", "key_sha256": sha256(KEYS["ops"]), "projects": [P1],
         "access": {"projects": "read", "edge_functions": "read"}},
        {"id": "bot", "name": "Bot", "key_sha256": sha256(KEYS["bot"]), "projects": [P1],
         "access": {"edge_functions": "full"}},
    ]
    if ops_limit:
        agents[0]["rate_limit"] = ops_limit
    if bot_limit:
        agents[1]["rate_limit"] = bot_limit
    p = {"upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"}, "agents": agents}
    if default:
        p["rate_limit"] = default
    return p


def prom(text, name, **labels):
    """The value of one Prometheus sample (0 when absent)."""
    total = 0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        m = re.match(r"^(\w+)(?:\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def stats_when(g, ready, timeout=5.0):
    """Envoy's stats once `ready` holds for them, or after `timeout` seconds (then as they are)."""
    end = time.time() + timeout
    while True:
        t = g.stats()
        if ready(t) or time.time() > end:
            return t
        time.sleep(0.1)


def away_from_minute_edge():
    """Rate limits count per wall-clock minute; start a limit test well inside one."""
    s = time.time() % 60
    if s > 45:
        time.sleep(61 - s)


def test_metrics_count_known_traffic():
    with Gateway(policy()) as g:
        assert g.start_ok, g.envoy_log()[-2000:]
        fns = f"/v1/projects/{P1}/functions"
        for _ in range(3):
            assert g.call("GET", fns, key=KEYS["ops"]).status == 200
        for _ in range(2):
            assert g.call("POST", fns, key=KEYS["ops"]).status == 403
        assert g.call("GET", fns).status == 401
        assert g.call("POST", fns, key=KEYS["bot"]).status < 300
        g.audit(expect=7)
        # Counts reach Envoy's stats on the filter's next tick (every 0.5 s).
        t = stats_when(g, lambda t: prom(t, "bollard_requests") == 7)
        n = "bollard_requests"
        assert prom(t, n, decision="allow") == 4
        assert prom(t, n, decision="deny") == 3
        assert prom(t, "bollard_requests_by_agent", agent="ops", decision="allow") == 3
        assert prom(t, "bollard_requests_by_agent", agent="ops", decision="deny") == 2
        assert prom(t, "bollard_requests_by_agent", agent="unidentified", decision="deny") == 1
        assert prom(t, "bollard_requests_by_area", area="edge_functions", decision="allow") == 4
        assert prom(t, "bollard_refusals", reason="permission_denied") == 2
        assert prom(t, "bollard_refusals", reason="missing_key") == 1
        assert prom(t, "bollard_policy_loads") >= 1
        assert prom(t, "bollard_policy_load_failures") == 0


def test_rate_limit_is_shared_by_all_workers_and_answers_429():
    away_from_minute_edge()
    with Gateway(policy(ops_limit={"requests_per_minute": 5}), concurrency=2) as g:
        assert g.start_ok, g.envoy_log()[-2000:]
        fns = f"/v1/projects/{P1}/functions"
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda _: g.call("GET", fns, key=KEYS["ops"]), range(12)))
        statuses = sorted(r.status for r in results)
        assert statuses.count(200) == 5, statuses
        assert statuses.count(429) == 7, statuses
        assert len(g.upstream_requests()) == 5
        limited = [r for r in results if r.status == 429]
        for r in limited:
            assert r.header("x-ratelimit-limit") == "5"
            assert r.header("x-ratelimit-remaining") == "0"
            assert 0 < int(r.header("x-ratelimit-reset")) <= 60
            body = r.json()
            assert body["code"] == "rate_limited" and body["agent"] == "ops"
            assert "5 requests" in body["message"]
        ok = [r for r in results if r.status == 200]
        assert sorted(int(r.header("x-ratelimit-remaining")) for r in ok) == [0, 1, 2, 3, 4]
        # The other agent has its own (absent) limit.
        assert all(g.call("POST", fns, key=KEYS["bot"]).status < 300 for _ in range(8))
        recs = g.audit(expect=20)
        rl = [r for r in recs if r["reason"] == "rate_limited"]
        assert len(rl) == 7 and all(r["status"] == 429 and r["decision"] == "deny" for r in rl)
        assert "rate limit of 5 per minute" in rl[0]["summary"]
        t = stats_when(g, lambda t: prom(t, "bollard_rate_limited", agent="ops") == 7)
        assert prom(t, "bollard_rate_limited", agent="ops") == 7


def test_per_endpoint_and_default_limits():
    away_from_minute_edge()
    p = policy(default={"requests_per_minute": 120, "endpoints": {"list_functions": 2}})
    with Gateway(p) as g:
        assert g.start_ok, g.envoy_log()[-2000:]
        fns = f"/v1/projects/{P1}/functions"
        got = [g.call("GET", fns, key=KEYS["ops"]).status for _ in range(3)]
        assert got == [200, 200, 429]
        assert g.call("GET", f"/v1/projects/{P1}", key=KEYS["ops"]).status == 200
        r = g.call("GET", f"/v1/projects/{P1}", key=KEYS["ops"])
        assert r.header("x-ratelimit-limit") == "120"
        # The default applies to every agent, each with its own count.
        assert [g.call("GET", fns, key=KEYS["bot"]).status for _ in range(3)] == [200, 200, 429]


@pytest.mark.parametrize("status", [401, 403, 429, 500, 503])
def test_supabase_refusals_and_failures_pass_through_and_are_recorded(status):
    with Gateway(policy()) as g:
        assert g.start_ok
        r = g.call("GET", f"/v1/projects/{P1}/functions", key=KEYS["ops"], headers=[("user-agent", f"test standin-status/{status}")])
        assert r.status == status
        assert r.json() == {"message": f"stand-in answered {status}"}
        if status == 429:
            assert r.header("x-ratelimit-limit") == "120", "Supabase's own rate-limit headers pass through"
        [rec] = g.audit(expect=1)
        assert (rec["status"], rec["decision"], rec["reason"]) == (status, "allow", "access_read")


def test_an_unreachable_upstream_is_recorded():
    with Gateway(policy()) as g:
        assert g.start_ok
        g.procs[0].terminate()
        g.procs[0].wait(timeout=10)
        r = g.call("GET", f"/v1/projects/{P1}/functions", key=KEYS["ops"])
        assert r.status == 503
        [rec] = g.audit(expect=1)
        assert rec["status"] == 503 and rec["decision"] == "allow"


def test_audit_trail_has_one_line_per_request_under_load():
    away_from_minute_edge()
    with Gateway(policy(bot_limit={"requests_per_minute": 20}), concurrency=2) as g:
        assert g.start_ok
        fns = f"/v1/projects/{P1}/functions"
        kinds = [
            ("GET", fns, KEYS["ops"], 200),          # allowed
            ("POST", fns, KEYS["ops"], 403),         # denied
            ("GET", fns, None, 401),                 # no key
            ("GET", fns + ";x", KEYS["ops"], 400),   # malformed
            ("POST", fns, KEYS["bot"], None),        # allowed, then rate limited
        ]
        jobs = [kinds[i % len(kinds)] for i in range(400)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda j: (j, g.call(j[0], j[1], key=j[2])), jobs))
        for (method, path, key, want), r in results:
            if want is not None:
                assert r.status == want, (method, path, r.status)
        statuses = [r.status for _, r in results]
        # 20 per minute; a slow run may cross into a second minute.
        assert 80 - statuses.count(429) in (20, 40), statuses.count(429)
        lines = g.audit_lines(expect=len(jobs), timeout=20)
        assert len(lines) == len(jobs)
        recs = [json.loads(line) for line in lines]
        assert sorted(r["status"] for r in recs) == sorted(statuses)
        assert len({r["request_id"] for r in recs}) == len(jobs)
