#!/usr/bin/env python3
"""`make demo`: Envoy + bollard.wasm + the stand-in upstream, offline, with examples/demo-policy.json.

Each agent of the demo policy makes calls its grants allow and calls they do not; the demo prints
what each agent got back and the audit line Envoy wrote for it.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ROOT, Gateway  # noqa: E402

P = "abcdefghijklmnopqrst"
OTHER = "zyxwvutsrqponmlkjihg"
# The demo agents' keys. Their SHA-256 digests are in examples/demo-policy.json.
KEYS = {
    "mcp-readonly": "sbp_8b0f271faa1e73f5fdd12b03afdabf3d28f70fad",
    "ci-deployer": "sbp_73ba07c41d40ed01dcbefa9d6d26cbc9778f8214",
    "ops-bot": "sbp_73af045e9c579fdf7c1ad4b7dc36f5530938220e",
}
READ_ONLY_SQL = '{"query": "select count(*) from orders", "read_only": true}'
WRITE_SQL = '{"query": "drop table orders"}'
CALLS = [
    ("mcp-readonly", "GET", f"/v1/projects/{P}/functions"),
    ("mcp-readonly", "POST", f"/v1/projects/{P}/database/query", READ_ONLY_SQL),
    ("mcp-readonly", "POST", f"/v1/projects/{P}/database/query", WRITE_SQL),
    ("mcp-readonly", "GET", f"/v1/projects/{P}/functions/hello/body"),
    ("ci-deployer", "POST", f"/v1/projects/{P}/functions/deploy"),
    ("ci-deployer", "GET", f"/v1/projects/{P}/database/migrations"),
    ("ci-deployer", "GET", f"/v1/projects/{OTHER}/secrets"),
    ("ops-bot", "POST", f"/v1/projects/{OTHER}/pause"),
    ("ops-bot", "DELETE", f"/v1/projects/{OTHER}"),
    ("ops-bot", "GET", "/v1/organizations/other-org"),
    (None, "GET", "/v1/projects"),
]


def main():
    with open(os.path.join(ROOT, "examples", "demo-policy.json")) as f:
        policy = f.read()
    with Gateway(policy, token="sbp_demo_upstream_token_held_by_the_gateway") as g:
        if not g.start_ok:
            print(g.envoy_log()[-3000:], file=sys.stderr)
            sys.exit("Envoy did not start")
        print(f"Envoy with bollard.wasm on 127.0.0.1:{g.port}, stand-in api.supabase.com on 127.0.0.1:{g.upstream_port}\n")
        allowed = denied = 0
        for agent, method, path, *body in CALLS:
            body = body[0] if body else None
            headers = [("content-type", "application/json")] if body else []
            r = g.call(method, path, key=KEYS.get(agent), headers=headers, body=body)
            who = agent or "(no key)"
            print(f"{who:>13}  {method:6} {path}" + (f"  {body}" if body else ""))
            if r.status < 300:
                allowed += 1
                print(f"{'':>13}  -> {r.status} allowed, forwarded upstream with the real token")
            else:
                denied += 1
                print(f"{'':>13}  -> {r.status} {r.json()['message']}")
        print(f"\n{allowed} allowed, {denied} refused; {len(g.upstream_requests())} reached the upstream.\n")
        print(f"Audit trail ({g.audit_path}):")
        for line in g.audit_lines(expect=len(CALLS)):
            print(line)
        if allowed + denied != len(CALLS) or len(g.upstream_requests()) != allowed:
            sys.exit("demo: unexpected outcome")


if __name__ == "__main__":
    main()
