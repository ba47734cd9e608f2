"""Keys, grants and approvals in real Envoy, changed the way an operator changes them: the
`bollard` command edits the policy file, and the gateway picks it up by hot reload (extension
config discovery from a watched file, as envoy/ecds.yaml does). Envoy runs two workers, so an
approval's uses are counted across them."""
import json
import os
import re
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import ROOT, Gateway, sha256, wait_for

BOLLARD = os.environ.get("BOLLARD", os.path.join(ROOT, "target", "release", "bollard"))
P1 = "abcdefghijklmnopqrst"
OPS_KEY = "sbp_a9910ba1000000000000000000000000000000a1"
CI_KEY = "sbp_a9910ba1000000000000000000000000000000c1"
BRANCH = "/v1/branches/aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
PAUSE = f"/v1/projects/{P1}/pause"
POLICY = {
    "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
    "agents": [
        {"id": "ops", "name": "Ops Bot", "key_sha256": sha256(OPS_KEY), "projects": ["*"],
         "access": {"branches": "full", "projects": "read"}, "approve": ["delete_branch"]},
        {"id": "ci", "name": "CI", "key_sha256": sha256(CI_KEY), "projects": [P1],
         "access": {"projects": "read"}},
    ],
}


def cli(*args):
    r = subprocess.run([BOLLARD, *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"bollard {' '.join(args)}: {r.stderr}"
    return r.stdout


def policy_file(g):
    path = os.path.join(g.dir, "policy.json")
    with open(path, "w") as f:
        json.dump(POLICY, f, indent=2)
    return path


def reload(g, path, version):
    """What an operator does after a bollard command: hand the file to the gateway."""
    with open(path) as f:
        g.update_policy(f.read(), version=version)


def whoami(g, key):
    return g.call("GET", "/_bollard/whoami", key=key).json()


def wait_for_grant(g, key, grant_id, present=True):
    """Until every worker serves the new policy (whoami lists the grants in force; it uses none)."""
    def seen():
        return all((grant_id in [x["id"] for x in whoami(g, key)["grants"]]) == present for _ in range(6))
    wait_for(seen, timeout=20, what=f"grant {grant_id} {'in' if present else 'out of'} force")


def deletes(g):
    return [e for e in g.upstream_requests() if e["method"] == "DELETE"]


def test_an_approval_is_requested_approved_used_once_and_refused_again():
    with Gateway(POLICY, ecds=True, concurrency=2) as g:
        assert g.start_ok, g.envoy_log()[-3000:]
        path = policy_file(g)
        # 1. The agent asks; the gateway holds the call and says what to do.
        r = g.call("DELETE", BRANCH, key=OPS_KEY)
        assert r.status == 403, r.body
        body = r.json()
        approval = body["approval_id"]
        assert body["code"] == "approval_required" and re.fullmatch(r"apr_[0-9a-f]{24}", approval)
        assert f"ask a person to approve {approval}" in body["message"]
        assert "retry the same call" in body["message"] and body["retry_before"] in body["message"]
        assert r.header("x-bollard-decision") == "deny"
        assert deletes(g) == [], "nothing reached Supabase"
        # The same call asked again has the same id; another call has another.
        assert g.call("DELETE", BRANCH, key=OPS_KEY).json()["approval_id"] == approval
        other = g.call("DELETE", "/v1/branches/bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb", key=OPS_KEY).json()
        assert other["code"] == "approval_required" and other["approval_id"] != approval
        records = g.audit(expect=3)
        held = [x for x in records if x.get("approval_id") == approval]
        assert held and held[0]["reason"] == "approval_required" and held[0]["status"] == 403
        assert f"bollard approve {approval}" in held[0]["summary"]

        # 2. A person approves it with the CLI, reading the audit trail; the gateway reloads.
        out = cli("approve", approval, "--policy", path, "--by", "Ana Ops", "--audit", g.audit_path)
        assert f"call:       DELETE {BRANCH}" in out and "delete_branch" in out, out
        reload(g, path, version=2)
        wait_for_grant(g, OPS_KEY, approval)

        # 3. The identical call passes once, with the real token, recorded as approved.
        r = g.call("DELETE", BRANCH, key=OPS_KEY)
        assert r.status == 200, r.body
        sent = deletes(g)
        assert len(sent) == 1 and sent[0]["path"] == BRANCH
        assert dict(sent[0]["headers"]).get("authorization") == f"Bearer {g.token}"
        # 4. Refused again: the approval had one use on this gateway.
        r = g.call("DELETE", BRANCH, key=OPS_KEY)
        assert r.status == 403 and r.json()["code"] == "approval_required", r.body
        assert "has been used all 1 time(s)" in r.json()["message"]
        assert len(deletes(g)) == 1
        time.sleep(0.5)
        records = g.audit()
        approved = [x for x in records if x["reason"] == "approved"]
        assert len(approved) == 1, records
        a = approved[0]
        assert (a["approval_id"], a["approved_by"], a["grant"], a["status"]) == (approval, "Ana Ops", approval, 200)
        assert "allowed (approved by Ana Ops" in a["summary"]

        # 5. The count survives a reload: another policy change does not give the use back.
        cli("grant", "ci", "--policy", path, "--allow", "get_project", "--for", "1h", "--reason", "unrelated",
            "--id", "unrelated")
        reload(g, path, version=3)
        wait_for_grant(g, CI_KEY, "unrelated")
        assert g.call("DELETE", BRANCH, key=OPS_KEY).status == 403
        assert len(deletes(g)) == 1


def test_uses_are_counted_across_workers():
    with Gateway(POLICY, ecds=True, concurrency=2) as g:
        assert g.start_ok, g.envoy_log()[-3000:]
        path = policy_file(g)
        approval = g.call("DELETE", BRANCH, key=OPS_KEY).json()["approval_id"]
        g.audit(expect=1)
        cli("approve", approval, "--policy", path, "--by", "Ana", "--audit", g.audit_path, "--uses", "3")
        reload(g, path, version=2)
        wait_for_grant(g, OPS_KEY, approval)
        # Twelve identical calls at once, each on its own connection (spread over both workers).
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(lambda _: g.call("DELETE", BRANCH, key=OPS_KEY).status, range(12)))
        assert sorted(statuses) == [200] * 3 + [403] * 9, statuses
        assert len(deletes(g)) == 3


def test_an_elevation_applies_until_it_ends():
    with Gateway(POLICY, ecds=True, concurrency=2) as g:
        assert g.start_ok, g.envoy_log()[-3000:]
        path = policy_file(g)
        assert g.call("POST", PAUSE, key=CI_KEY).status == 403
        out = cli("grant", "ci", "--policy", path, "--access", "projects=full", "--for", "8s",
                  "--reason", "release window", "--id", "release-1")
        until = re.search(r"until:\s+(\S+)", out).group(1)
        reload(g, path, version=2)
        wait_for_grant(g, CI_KEY, "release-1")
        me = whoami(g, CI_KEY)
        assert me["grants"] == [{"id": "release-1", "kind": "elevation", "not_after": until,
                                 "access": {"projects": "full"}, "allow": []}]
        r = g.call("POST", PAUSE, key=CI_KEY)
        assert r.status == 200, r.body
        # Scope still applies.
        assert g.call("POST", "/v1/projects/zyxwvutsrqponmlkjihg/pause", key=CI_KEY).status == 403
        # It ends by itself: no reload, the gateway's clock.
        wait_for_grant(g, CI_KEY, "release-1", present=False)
        r = g.call("POST", PAUSE, key=CI_KEY)
        assert r.status == 403 and r.json()["code"] == "permission_denied", r.body
        time.sleep(0.5)
        records = [x for x in g.audit() if x["path"] == PAUSE]
        assert [x["status"] for x in records] == [403, 200, 403], records
        assert records[1]["grant"] == "release-1" and "grant release-1" in records[1]["summary"]
        assert "grant" not in records[0] and "grant" not in records[2]
        # check lists it as expired, and --prune removes it.
        assert "expired (ignored)" in cli("check", path)
        assert "grant release-1" in cli("check", path, "--prune")
        assert json.load(open(path)).get("grants") == []


def test_a_key_rotates_with_no_failed_request():
    with Gateway(POLICY, ecds=True, concurrency=2) as g:
        assert g.start_ok, g.envoy_log()[-3000:]
        path = policy_file(g)
        results, stop = [], threading.Event()

        def load():
            while not stop.is_set():
                try:
                    results.append(g.call("GET", f"/v1/projects/{P1}", key=CI_KEY).status)
                except OSError as e:
                    results.append(repr(e))

        workers = [threading.Thread(target=load) for _ in range(3)]
        for w in workers:
            w.start()
        try:
            out = cli("rotate", "ci", path, "--keep-old-for", "10s")
            new_key = re.search(r"new key:\s+(sbp_[0-9a-f]{40})", out).group(1)
            reload(g, path, version=2)
            wait_for(lambda: g.call("GET", f"/v1/projects/{P1}", key=new_key).status == 200, timeout=20,
                     what="the new key")
            time.sleep(1)
        finally:
            stop.set()
            for w in workers:
                w.join(timeout=30)
        assert results and set(results) == {200}, f"failed during the rotation: {set(results) - {200}}"
        # After the overlap the old key is refused, saying why; the new one works.
        wait_for(lambda: g.call("GET", f"/v1/projects/{P1}", key=CI_KEY).status == 401, timeout=20,
                 what="the old key's end")
        r = g.call("GET", f"/v1/projects/{P1}", key=CI_KEY)
        assert r.json()["code"] == "key_expired" and r.json()["agent"] == "ci", r.body
        assert CI_KEY not in r.body.decode()
        assert g.call("GET", f"/v1/projects/{P1}", key=new_key).status == 200
        time.sleep(0.5)
        expired = [x for x in g.audit() if x["reason"] == "key_expired"]
        assert expired and expired[0]["agent"] == "ci" and expired[0]["status"] == 401
        log = open(g.audit_path).read() + g.envoy_log()
        assert CI_KEY not in log and new_key not in log, "no key in a record or a log line"
