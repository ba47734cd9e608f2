"""Branches in scope: the filter learns a branch's parent project from upstream (listing the
agent's projects' branches with the real token) and allows it only for the agent's projects."""
import pytest

from harness import Gateway, sha256

P1, P2 = "abcdefghijklmnopqrst", "zyxwvutsrqponmlkjihg"
OWN_BRANCH = ("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "brnchaaaaaaaaaaaaaaa")   # a branch of P1
FOREIGN_BRANCH = ("bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", "brnchbbbbbbbbbbbbbbb")  # a branch of P2
KEY = "sbp_b4a9c4000000000000000000000000000000aa"
TOKEN = "sbp_canaryupstreamtoken333333333333333333"
POLICY = {
    "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
    "agents": [{"id": "dev", "name": "Dev", "key_sha256": sha256(KEY), "projects": [P1],
                "access": {"branches": "full", "edge_functions": "read"}}],
}


@pytest.fixture(scope="module")
def gw():
    g = Gateway(POLICY, token=TOKEN)
    assert g.start_ok, g.envoy_log()[-3000:]
    yield g
    g.stop()


def forwarded(g, since):
    return [(r["method"], r["path"]) for r in g.upstream_requests(lookups=True)[since:]]


@pytest.mark.parametrize("branch", OWN_BRANCH)
def test_a_branch_of_the_agents_project_is_allowed(gw, branch):
    before = len(gw.upstream_requests(lookups=True))
    r = gw.call("DELETE", f"/v1/branches/{branch}", key=KEY)
    assert r.status == 200, r.body
    assert ("DELETE", f"/v1/branches/{branch}") in forwarded(gw, before)


@pytest.mark.parametrize("branch", FOREIGN_BRANCH + ("cccccccc-cccc-4ccc-8ccc-cccccccccccc",))
def test_a_branch_of_a_foreign_project_is_refused(gw, branch):
    before = len(gw.upstream_requests(lookups=True))
    r = gw.call("DELETE", f"/v1/branches/{branch}", key=KEY)
    assert r.status == 403 and r.json()["code"] == "branch_out_of_scope", r.body
    assert ("DELETE", f"/v1/branches/{branch}") not in forwarded(gw, before), "the refused call reached upstream"
    # Only listings of the agent's own projects were asked for.
    assert all(p == f"/v1/projects/{P1}/branches" for m, p in forwarded(gw, before))


def test_a_branch_ref_under_projects_follows_the_same_rule(gw):
    assert gw.call("GET", f"/v1/projects/{OWN_BRANCH[1]}/functions", key=KEY).status == 200
    r = gw.call("GET", f"/v1/projects/{FOREIGN_BRANCH[1]}/functions", key=KEY)
    assert r.status == 403 and r.json()["code"] == "project_out_of_scope"


def test_listings_use_the_real_token_and_are_cached():
    with Gateway(POLICY, token=TOKEN) as g:
        assert g.start_ok
        for _ in range(3):
            assert g.call("DELETE", f"/v1/branches/{OWN_BRANCH[0]}", key=KEY).status == 200
        listings = [r for r in g.upstream_requests(lookups=True) if r["path"] == f"/v1/projects/{P1}/branches"]
        assert len(listings) == 1, "one listing serves the next requests (cached for 60 s)"
        assert [v for k, v in listings[0]["headers"] if k == "authorization"] == [f"Bearer {TOKEN}"]


def test_an_unresolvable_branch_is_refused():
    with Gateway(POLICY, token=TOKEN) as g:
        assert g.start_ok
        g.procs[0].terminate()  # the upstream is gone: the listing cannot be had
        g.procs[0].wait(timeout=10)
        r = g.call("DELETE", f"/v1/branches/{OWN_BRANCH[0]}", key=KEY)
        assert r.status == 403 and r.json()["code"] == "branch_out_of_scope"
