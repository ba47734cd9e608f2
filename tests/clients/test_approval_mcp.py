"""The Supabase MCP server (pinned, unchanged) deleting a branch through a person's approval: the
gateway holds the call and the MCP client (the AI) is shown the gateway's message with the
approval id; a person approves it with `bollard approve`; the policy reaches the running gateway
by hot reload; the same tool call then passes once, and is held again after.

Nothing is installed here: `make test-clients` installs the locked tree in tests/clients/node_modules.
"""
import json
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from harness import ROOT, Gateway, sha256, wait_for  # noqa: E402
from test_clients import NODE, NODE_MODULES, OWN_BRANCH, P1, TOKEN, key, mcp_args, mcp_session, tool_error, \
    tool_json  # noqa: E402

BOLLARD = os.environ.get("BOLLARD", os.path.join(ROOT, "target", "release", "bollard"))
AGENT = "mcp-ops"
POLICY = {
    "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
    "agents": [{"id": AGENT, "name": "Claude (MCP, ops)", "key_sha256": sha256(key(AGENT)), "projects": [P1],
                "access": {"projects": "read", "branches": "full"}, "approve": ["delete_branch"]}],
}


def bollard(*args):
    r = subprocess.run([BOLLARD, *args], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"bollard {' '.join(args)}: {r.stderr}"
    return r.stdout


def test_mcp_server_deletes_a_branch_through_an_approval(tmp_path):
    if NODE is None or not os.path.isdir(NODE_MODULES):
        pytest.fail("node and tests/clients/node_modules are needed (make test-clients installs them)")
    with Gateway(POLICY, token=TOKEN, ecds=True, concurrency=2) as g:
        assert g.start_ok, g.envoy_log()[-3000:]
        policy_path = os.path.join(g.dir, "policy.json")
        with open(policy_path, "w") as f:
            json.dump(POLICY, f, indent=2)
        args = mcp_args(g, "--access-token", key(AGENT), "--features", "branching")
        delete = {"name": "delete_branch", "arguments": {"branch_id": OWN_BRANCH}}

        # The AI asks the MCP server to delete the branch; the gateway holds it for a person.
        _, by = mcp_session(g, args, {}, [delete], str(tmp_path))
        shown = tool_error(by['delete_branch{"branch_id": "%s"}' % OWN_BRANCH])
        direct = g.call("DELETE", f"/v1/branches/{OWN_BRANCH}", key=key(AGENT)).json()
        assert direct["code"] == "approval_required"
        approval = direct["approval_id"]
        # The same message, but for its retry time (an hour from each refusal, to the second).
        same_call = direct["message"].rstrip(".").rsplit(" before ", 1)[0]
        assert same_call in shown and re.search(r" before \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", shown), (shown, direct["message"])
        assert f"ask a person to approve {approval}" in shown and "retry the same call" in shown, shown
        assert re.search(r"apr_[0-9a-f]{24}", shown).group(0) == approval, "the AI sees the id to relay"
        assert not [e for e in g.upstream_requests() if e["method"] == "DELETE"], "nothing deleted"

        # A person approves it from the audit trail; the gateway reloads the policy.
        g.audit(expect=2)
        out = bollard("approve", approval, "--policy", policy_path, "--by", "Ana Ops", "--audit", g.audit_path)
        assert f"DELETE /v1/branches/{OWN_BRANCH}" in out, out
        with open(policy_path) as f:
            g.update_policy(f.read(), version=2)

        def approved_everywhere():
            me = [g.call("GET", "/_bollard/whoami", key=key(AGENT)).json() for _ in range(6)]
            return all(approval in [x["id"] for x in m["grants"]] for m in me)
        wait_for(approved_everywhere, timeout=20, what="the approval in force")

        # The same tool call passes once; the next one is held again.
        again = tmp_path / "again"
        again.mkdir()
        out, _ = mcp_session(g, args, {}, [delete, delete], str(again))
        first, second = out["calls"]
        assert tool_json(first) == {"success": True}
        shown = tool_error(second)
        assert "has been used all 1 time(s)" in shown and approval in shown, shown
        deletes = [e for e in g.upstream_requests() if e["method"] == "DELETE"]
        assert [e["path"] for e in deletes] == [f"/v1/branches/{OWN_BRANCH}"], "deleted exactly once"
        assert [v for k, v in deletes[0]["headers"] if k == "authorization"] == [f"Bearer {TOKEN}"]
        def records():
            return [r for r in g.audit() if r["endpoint"] == "delete_branch"]
        wait_for(lambda: len(records()) == 4, timeout=10, what="the audit records")
        records = records()
        assert [r["reason"] for r in records][-2:] == ["approved", "approval_required"], records
        assert records[-2]["approved_by"] == "Ana Ops" and records[-2]["approval_id"] == approval
