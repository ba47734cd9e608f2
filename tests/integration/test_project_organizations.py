"""`projects: {"organizations": ["acme"]}` in real Envoy: the filter learns a project's
organization from upstream (`GET /v1/projects/{ref}` with the real token), caches it, and allows
the projects of `acme` only. The stand-in answers project lookups from its three projects:
abcdefghijklmnopqrst and mnopqrstuvwxyzabcdef of acme, zyxwvutsrqponmlkjihg of other-org.

The decision waits (`Decision::organization_lookup`), the request path (`src/exchange`) sends
the lookup and feeds the answer to `src/project_organizations.rs`'s cache, and
`apply_project_organization` finishes the decision.
"""
from harness import Gateway, sha256

ACME, ACME2, OTHER = "abcdefghijklmnopqrst", "mnopqrstuvwxyzabcdef", "zyxwvutsrqponmlkjihg"
KEY = "sbp_0a9c000000000000000000000000000000000acc"
TOKEN = "sbp_canaryupstreamtoken444444444444444444"
POLICY = {
    "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
    "agents": [{"id": "acme-ops", "name": "Acme ops", "key_sha256": sha256(KEY),
                "projects": {"organizations": ["acme"]},
                "access": {"projects": "read", "edge_functions": "read"}}],
}


def lookups(g, ref):
    return [r for r in g.upstream_requests(lookups=True)
            if r["method"] == "GET" and r["path"] == f"/v1/projects/{ref}" and
            not any(k == "x-forwarded-for" for k, _ in r["headers"])]


def test_projects_of_the_organization_pass_others_are_refused_and_the_lookup_is_cached():
    with Gateway(POLICY, token=TOKEN) as g:
        assert g.start_ok, g.envoy_log()[-3000:]
        for ref in (ACME, ACME2):
            for _ in range(3):
                r = g.call("GET", f"/v1/projects/{ref}/functions", key=KEY)
                assert r.status == 200, r.body
            [lookup] = lookups(g, ref)  # one lookup serves the next calls (cached)
            assert [v for k, v in lookup["headers"] if k == "authorization"] == [f"Bearer {TOKEN}"]
        r = g.call("GET", f"/v1/projects/{OTHER}/functions", key=KEY)
        assert r.status == 403 and r.json()["code"] == "project_out_of_scope", r.body
        assert "the projects of organization acme" in r.json()["message"]
        assert not any(p["path"] == f"/v1/projects/{OTHER}/functions" for p in g.upstream_requests())
        # The record names the organization learned.
        records = g.audit(expect=7)
        assert {rec["organization"] for rec in records if rec["project"] in (ACME, ACME2)} == {"acme"}


def test_an_unknown_organization_is_refused():
    with Gateway(POLICY, token=TOKEN) as g:
        assert g.start_ok
        g.procs[0].terminate()  # the upstream is gone: the project's organization cannot be had
        g.procs[0].wait(timeout=10)
        r = g.call("GET", f"/v1/projects/{ACME}/functions", key=KEY)
        assert r.status == 403 and r.json()["code"] == "project_out_of_scope"
