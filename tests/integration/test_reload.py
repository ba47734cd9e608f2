"""Hot reload through Envoy's extension config discovery (a watched file): a new policy applies
without a restart and without failing requests in flight; a broken one is refused and the
previous policy keeps serving."""
import copy
import threading
import time

from harness import Gateway, sha256, wait_for

P1 = "abcdefghijklmnopqrst"
KEY = "sbp_re10ad000000000000000000000000000000aa"
FNS = f"/v1/projects/{P1}/functions"
PROJECT = f"/v1/projects/{P1}"
BASE = {
    "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
    "agents": [{"id": "ops", "name": "Ops", "key_sha256": sha256(KEY), "projects": [P1],
                "access": {"projects": "read", "edge_functions": "read"}}],
}


def with_access(access):
    p = copy.deepcopy(BASE)
    p["agents"][0]["access"] = access
    return p


def test_policy_change_applies_under_load_and_a_broken_one_is_refused():
    with Gateway(BASE, ecds=True, concurrency=2) as g:
        assert g.start_ok, g.envoy_log()[-3000:]
        assert g.call("GET", FNS, key=KEY).status == 200

        results, stop = [], threading.Event()

        def load():
            while not stop.is_set():
                try:
                    results.append(g.call("GET", FNS, key=KEY).status)
                except OSError as e:  # a dropped connection is a failure too
                    results.append(repr(e))

        workers = [threading.Thread(target=load) for _ in range(4)]
        for w in workers:
            w.start()
        try:
            time.sleep(1)
            # Edge functions off: list_functions is now refused, get_project still allowed.
            g.update_policy(with_access({"projects": "read"}), version=2)
            wait_for(lambda: g.call("GET", FNS, key=KEY).status == 403, timeout=20, what="the new policy")
            time.sleep(1)
        finally:
            stop.set()
            for w in workers:
                w.join(timeout=30)
        assert results, "the load ran"
        assert set(results) <= {200, 403}, f"failed requests during the reload: {set(results) - {200, 403}}"
        assert results.count(200) > 0 and results.count(403) > 0
        # After the switch, the new decision holds.
        assert g.call("GET", FNS, key=KEY).status == 403
        assert g.call("GET", PROJECT, key=KEY).status == 200

        # A broken policy: refused, and the previous one keeps serving.
        broken = with_access({"projects": "read", "edge_fnctions": "full"})
        g.update_policy(broken, version=3)
        wait_for(lambda: 'unknown area "edge_fnctions"' in g.envoy_log(), timeout=20, what="the refusal in the log")
        time.sleep(1)
        for _ in range(10):
            assert g.call("GET", FNS, key=KEY).status == 403
            assert g.call("GET", PROJECT, key=KEY).status == 200
        assert "policy refused" in g.envoy_log()
