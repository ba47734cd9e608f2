"""Real Supabase clients, unchanged and pinned (package.json, package-lock.json), through Bollard.

Each client is pointed at Envoy + bollard.wasm + the stand-in upstream (tests/support) with its own
ordinary setting and an agent key in place of a Supabase token:

- the Supabase MCP server, driven over stdio with MCP JSON-RPC as an AI client drives it
  (`--api-url`, the key in SUPABASE_ACCESS_TOKEN or `--access-token`);
- the Supabase CLI (a profile file whose `api_url` is the gateway, the key in SUPABASE_ACCESS_TOKEN);
- supabase-management-js (its `baseUrl` option).

For every scenario the gateway is checked from the outside: allowed calls return the stand-in's
data, refused ones show the client the gateway's own message, nothing refused reaches upstream,
and every request Envoy received has exactly one audit record.

Nothing is installed here: the locked tree must be in tests/clients/node_modules first
(`make test-clients` installs it).
"""
import collections
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "support"))
from harness import Gateway, sha256  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_MODULES = os.path.join(HERE, "node_modules")
with open(os.path.join(HERE, "package.json")) as _f:
    PINNED = json.load(_f)["dependencies"]
NODE = shutil.which("node")
CLIENT_TIMEOUT = 180  # seconds for one client process; each also has its own deadlines

P1, P2 = "abcdefghijklmnopqrst", "zyxwvutsrqponmlkjihg"
OWN_BRANCH, FOREIGN_BRANCH = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
TOKEN = "sbp_upstream_token_canary_0123456789abcdef"
REDACTED = "[redacted by Bollard]"


def key(agent):
    """A key shaped like a personal access token (`sbp_` + 40 hex), as `bollard keygen` makes."""
    return "sbp_" + hashlib.sha256(f"bollard client test {agent}".encode()).hexdigest()[:40]


AGENTS = {
    "mcp-readonly": ("Claude (MCP, read-only)", {
        "projects": [P1], "organizations": ["acme"],
        "access": {"projects": "read", "organizations": "read", "database": "read", "edge_functions": "read",
                   "branches": "read"},
        "deny": ["get_function_body"]}),
    "mcp-dev": ("Cursor (MCP)", {
        "projects": [P1], "organizations": ["acme"],
        "access": {"projects": "read", "database": "read", "edge_functions": "read", "branches": "full"}}),
    "cli-reader": ("CLI reader", {
        "projects": [P1], "organizations": ["acme"],
        "access": {"projects": "read", "organizations": "read", "edge_functions": "read", "secrets": "read"}}),
    "ci-deployer": ("CI deployer", {
        "projects": [P1],
        "access": {"edge_functions": "full", "secrets": "full"}}),
    "mcp-migrator": ("Migrator (MCP)", {
        "projects": [P1], "organizations": ["acme"],
        "access": {"projects": "read", "database": "full"},
        "sql": {"allow": ["read", "write", "ddl"], "deny_schemas": ["auth", "vault"]}}),
    "deploy-script": ("Deploy script", {
        "projects": [P1], "organizations": ["acme"],
        "access": {"projects": "read", "edge_functions": "full", "secrets": "full", "database": "read"}}),
}
POLICY = {
    "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
    "agents": [dict(id=agent, name=name, key_sha256=sha256(key(agent)), **grants)
               for agent, (name, grants) in AGENTS.items()],
}


# ---------------------------------------------------------------------------------------------
# The gateway, and what one scenario did to it.

@pytest.fixture(scope="module")
def gw():
    if NODE is None:
        pytest.fail("node is not on PATH (Node.js 20 runs the clients)")
    if not os.path.isdir(NODE_MODULES):
        pytest.fail("tests/clients/node_modules is missing: install the locked tree there (make test-clients does)")
    g = Gateway(POLICY, token=TOKEN)
    assert g.start_ok, g.envoy_log()[-3000:]
    yield g
    g.stop()


def downstream_requests(gw):
    """Requests Envoy's HTTP connection manager received (its own count, independent of the filter)."""
    m = re.search(r"^http\.bollard\.downstream_rq_total: (\d+)$", gw.stats(fmt="text"), re.M)
    return int(m.group(1)) if m else 0


class Window:
    """Counts what happens at the gateway between open and close."""

    def __init__(self, gw):
        self.gw = gw
        self.requests = downstream_requests(gw)
        # Every earlier request has its record once Envoy has flushed the file (100 ms timer).
        self.audit = len(gw.audit_lines(expect=self.requests))
        assert self.audit == self.requests, "an earlier request has no audit record"
        self.upstream = len(gw.upstream_requests())

    def close(self):
        received = downstream_requests(self.gw) - self.requests
        records = self.gw.audit(expect=self.audit + received)[self.audit:]
        return received, records, self.gw.upstream_requests()[self.upstream:]


def check_window(window, agent, refusals):
    """Every request has one audit record of `agent`; exactly the allowed ones reached upstream, with
    the real token only; the refusals are exactly `refusals`, a list of (endpoint, reason)."""
    received, records, upstream = window.close()
    assert received > 0, "the client sent nothing to the gateway"
    assert len(records) == received, f"{received} requests but {len(records)} audit records: {records}"
    assert {r["agent"] for r in records} == {agent}, records
    allowed = sorted((r["method"], r["path"]) for r in records if r["decision"] == "allow")
    forwarded = sorted((e["method"], e["path"].split("?", 1)[0]) for e in upstream)
    assert allowed == forwarded, "what reached upstream is not exactly what was allowed"
    for e in upstream:
        assert [v for k, v in e["headers"] if k == "authorization"] == [f"Bearer {TOKEN}"], e
    denied = collections.Counter((r["endpoint"], r["reason"]) for r in records if r["decision"] == "deny")
    assert denied == collections.Counter(refusals), f"refusals: {dict(denied)}"
    assert all(r["status"] == 403 for r in records if r["decision"] == "deny"), records
    return records, upstream


def gateway_refusal(gw, agent, method, target, body=None):
    """What the gateway itself answers the same request: the refusal a client should pass on."""
    headers = [("content-type", "application/json")] if body is not None else []
    r = gw.call(method, target, key=key(agent), headers=headers, body=body)
    assert r.status == 403, r.body
    return r.json()


def client_env(home, **extra):
    """A small environment: no proxy settings, no real token, nothing of the caller's Supabase setup."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "LANG": "C.UTF-8", **extra}


def test_clients_are_the_pinned_versions():
    """package.json pins each client exactly; what is installed is package-lock.json's tree."""
    assert os.path.isdir(NODE_MODULES), "tests/clients/node_modules is missing (make test-clients installs it)"
    with open(os.path.join(HERE, "package-lock.json")) as f:
        lock = json.load(f)["packages"]
    for name, version in PINNED.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned exactly: {version}"
        assert lock[f"node_modules/{name}"]["version"] == version, f"{name}: package-lock.json differs"
    for path, entry in lock.items():
        manifest = os.path.join(HERE, path, "package.json")
        if not path or entry.get("optional") and not os.path.exists(manifest):
            continue  # the root, or another platform's binary package
        with open(manifest) as f:
            assert json.load(f)["version"] == entry["version"], f"{path}: installed version is not the locked one"


# ---------------------------------------------------------------------------------------------
# The Supabase MCP server over stdio.

def mcp_session(gw, args, env, calls, tmp):
    plan = os.path.join(tmp, "plan.json")
    with open(plan, "w") as f:
        json.dump({"args": args, "env": env, "calls": calls}, f)
    p = subprocess.run([NODE, os.path.join(HERE, "mcp_session.mjs"), plan], capture_output=True, text=True,
                       cwd=tmp, env=client_env(tmp), timeout=CLIENT_TIMEOUT)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    out = json.loads(p.stdout)
    assert out["server"] == f"@supabase/mcp-server-supabase@{PINNED['@supabase/mcp-server-supabase']}"
    assert out["initialize"]["serverInfo"]["name"] == "supabase", out["initialize"]
    return out, {c["name"] + json.dumps(c["arguments"], sort_keys=True): c for c in out["calls"]}


def mcp_args(gw, *extra):
    # Without the `docs` group the server never calls the Content API; the local address is a
    # guard so that a stray docs call could not leave the machine.
    return ["--api-url", f"http://127.0.0.1:{gw.port}", "--content-api-url", "http://127.0.0.1:9/graphql", *extra]


def tool_json(call):
    assert not call.get("rpc_error"), call
    assert call["is_error"] is False, call["text"]
    return json.loads(call["text"])


def tool_error(call):
    """The message of a failed tool call, as the MCP client (the AI) reads it."""
    assert not call.get("rpc_error"), call
    assert call["is_error"] is True, call["text"]
    return json.loads(call["text"])["error"]["message"]


def passes_on(shown, refusal):
    """The client shows the gateway's message (the MCP server may drop its final period and add a hint)."""
    return refusal["message"].rstrip(".") in shown


def test_mcp_server_read_only(gw, tmp_path):
    agent = "mcp-readonly"
    calls = [
        {"name": "list_organizations", "arguments": {}},
        {"name": "list_projects", "arguments": {}},
        {"name": "get_project", "arguments": {"id": P1}},
        {"name": "get_project", "arguments": {"id": P2}},
        {"name": "execute_sql", "arguments": {"project_id": P1, "query": "select id, name from orders"}},
        {"name": "list_edge_functions", "arguments": {"project_id": P1}},
        {"name": "get_edge_function", "arguments": {"project_id": P1, "function_slug": "hello-world"}},
        {"name": "list_branches", "arguments": {"project_id": P1}},
    ]
    w = Window(gw)
    out, by = mcp_session(gw, mcp_args(gw, "--read-only", "--features", "account,database,functions,branching"),
                          {"SUPABASE_ACCESS_TOKEN": key(agent)}, calls, str(tmp_path))
    _, upstream = check_window(w, agent, [("get_project", "project_out_of_scope"),
                                          ("get_function_body", "denied_by_policy")])

    tools = {t["name"] for t in out["tools"]}
    assert {"list_organizations", "list_projects", "get_project", "execute_sql", "list_edge_functions",
            "get_edge_function", "list_branches"} <= tools
    assert not tools & {"deploy_edge_function", "delete_branch", "apply_migration", "create_project",
                        "search_docs"}, "read-only mode and --features hide these"

    assert tool_json(by['list_organizations{}'])["organizations"] == [{"id": "acme", "name": "Acme", "slug": "acme"}]
    assert [p["ref"] for p in tool_json(by["list_projects{}"])["projects"]] == [P1], "the list is the agent's scope"
    project = tool_json(by['get_project{"id": "%s"}' % P1])
    assert (project["ref"], project["name"], project["organization_slug"]) == (P1, "prod", "acme")
    sql = tool_json(by['execute_sql{"project_id": "%s", "query": "select id, name from orders"}' % P1])
    assert "stand-in row" in sql["result"]
    functions = tool_json(by['list_edge_functions{"project_id": "%s"}' % P1])["functions"]
    assert [f["slug"] for f in functions] == ["hello-world", "stripe-webhook"]
    assert functions[0]["entrypoint_path"] == "supabase/functions/hello-world/index.ts"
    branches = tool_json(by['list_branches{"project_id": "%s"}' % P1])["branches"]
    assert {b["id"] for b in branches} == {"11111111-1111-4111-8111-111111111111", OWN_BRANCH}

    sql_up = [e for e in upstream if e["path"].endswith("/database/query")]
    assert len(sql_up) == 1 and json.loads(sql_up[0]["body"])["read_only"] is True, \
        "--read-only makes the server send read_only: true, the form a database: read agent may use"

    shown = tool_error(by['get_project{"id": "%s"}' % P2])
    assert passes_on(shown, gateway_refusal(gw, agent, "GET", f"/v1/projects/{P2}")), shown
    shown = tool_error(by['get_edge_function{"function_slug": "hello-world", "project_id": "%s"}' % P1])
    refusal = gateway_refusal(gw, agent, "GET", f"/v1/projects/{P1}/functions/hello-world/body")
    assert refusal["code"] == "denied_by_policy" and passes_on(shown, refusal), shown


def test_mcp_server_writes_are_refused_without_read_only(gw, tmp_path):
    """The same kind of agent key in an MCP server started without --read-only: the server offers its
    write tools, and the gateway refuses what the policy does not grant."""
    agent = "mcp-dev"
    delete_sql = {"project_id": P1, "query": "delete from orders"}
    migration = {"project_id": P1, "name": "add_t", "query": "create table t (id int)"}
    deploy = {"project_id": P1, "name": "hello-world", "entrypoint_path": "index.ts",
              "files": [{"name": "index.ts", "content": "Deno.serve(() => new Response('hi'))"}]}
    calls = [
        {"name": "execute_sql", "arguments": delete_sql},
        {"name": "apply_migration", "arguments": migration},
        {"name": "get_edge_function", "arguments": {"project_id": P1, "function_slug": "hello-world"}},
        {"name": "deploy_edge_function", "arguments": deploy},
        {"name": "list_branches", "arguments": {"project_id": P1}},
        {"name": "delete_branch", "arguments": {"branch_id": FOREIGN_BRANCH}},
        {"name": "delete_branch", "arguments": {"branch_id": OWN_BRANCH}},
    ]
    w = Window(gw)
    args = mcp_args(gw, "--access-token", key(agent), "--features", "database,functions,branching")
    out, by = mcp_session(gw, args, {}, calls, str(tmp_path))
    _, upstream = check_window(w, agent, [("run_sql", "read_only_required"),
                                          ("apply_migration", "permission_denied"),
                                          ("deploy_function", "permission_denied"),
                                          ("delete_branch", "branch_out_of_scope")])
    tools = {t["name"] for t in out["tools"]}
    assert {"execute_sql", "apply_migration", "deploy_edge_function", "delete_branch"} <= tools

    def c(name, args):
        return by[name + json.dumps(args, sort_keys=True)]

    fn = tool_json(c("get_edge_function", {"project_id": P1, "function_slug": "hello-world"}))
    assert fn["slug"] == "hello-world" and fn["files"][0]["name"] == "supabase/functions/hello-world/index.ts"
    assert "hello-world from the stand-in" in fn["files"][0]["content"]
    assert len(tool_json(c("list_branches", {"project_id": P1}))["branches"]) == 2
    assert tool_json(c("delete_branch", {"branch_id": OWN_BRANCH})) == {"success": True}

    # Each refused tool, and the same request sent straight to the gateway.
    expected = [
        ("execute_sql", delete_sql, "POST", f"/v1/projects/{P1}/database/query",
         json.dumps({"query": "delete from orders"}), "read_only_required"),
        ("apply_migration", migration, "POST", f"/v1/projects/{P1}/database/migrations", None, "permission_denied"),
        ("deploy_edge_function", deploy, "POST", f"/v1/projects/{P1}/functions/deploy?slug=hello-world", None,
         "permission_denied"),
        ("delete_branch", {"branch_id": FOREIGN_BRANCH}, "DELETE", f"/v1/branches/{FOREIGN_BRANCH}", None,
         "branch_out_of_scope"),
    ]
    for name, args, method, target, body, code in expected:
        shown = tool_error(c(name, args))
        refusal = gateway_refusal(gw, agent, method, target, body)
        assert refusal["code"] == code
        assert passes_on(shown, refusal), (name, shown, refusal["message"])
    assert [e["method"] for e in upstream if e["method"] != "GET"] == ["DELETE"], "only the own branch's delete"
    assert "delete from orders" not in json.dumps(upstream)


def test_mcp_server_sql_rules(gw, tmp_path):
    """execute_sql and apply_migration for an agent whose SQL may read, write and change the schema
    but never drop, and never touch auth: what the rules allow runs, the rest is refused by the
    gateway and the MCP client (the AI) is shown the gateway's message naming the statement."""
    agent = "mcp-migrator"
    select = {"project_id": P1, "query": "select id, name from orders"}
    drop = {"project_id": P1, "query": "drop table orders"}
    auth = {"project_id": P1, "query": "select email from auth.users"}
    create = {"project_id": P1, "name": "add_widgets", "query": "create table public.widgets (id bigint primary key)"}
    sneaky = {"project_id": P1, "name": "cleanup",
              "query": "create table public.w2 (id int); drop table public.orders"}
    calls = [{"name": "execute_sql", "arguments": a} for a in (select, drop, auth)]
    calls += [{"name": "apply_migration", "arguments": a} for a in (create, sneaky)]
    w = Window(gw)
    args = mcp_args(gw, "--access-token", key(agent), "--features", "database")
    out, by = mcp_session(gw, args, {}, calls, str(tmp_path))
    records, upstream = check_window(w, agent, [("run_sql", "sql_not_allowed"), ("run_sql", "sql_not_allowed"),
                                                ("apply_migration", "sql_not_allowed")])

    def c(name, a):
        return by[name + json.dumps(a, sort_keys=True)]

    assert "stand-in row" in tool_json(c("execute_sql", select))["result"]
    assert not c("apply_migration", create)["is_error"], c("apply_migration", create)
    sql = {(r["endpoint"], r["decision"]): r for r in records if r.get("sql")}
    assert sql[("run_sql", "allow")]["summary"].startswith("Migrator (MCP) ran SELECT on orders on project")
    assert sql[("apply_migration", "allow")]["sql"] == ["ddl"]
    for name, a, target, body in [
        ("execute_sql", drop, f"/v1/projects/{P1}/database/query", {"query": drop["query"]}),
        ("execute_sql", auth, f"/v1/projects/{P1}/database/query", {"query": auth["query"]}),
        ("apply_migration", sneaky, f"/v1/projects/{P1}/database/migrations",
         {"name": sneaky["name"], "query": sneaky["query"]}),
    ]:
        shown = tool_error(c(name, a))
        refusal = gateway_refusal(gw, agent, "POST", target, json.dumps(body))
        assert refusal["code"] == "sql_not_allowed" and refusal["sql"], refusal
        assert passes_on(shown, refusal), (name, shown, refusal["message"])
    assert "DROP TABLE public.orders) is destroy" in tool_error(c("apply_migration", sneaky))
    assert "refers to schema auth" in tool_error(c("execute_sql", auth))
    sent = json.dumps(upstream)
    assert "drop table" not in sent and "auth.users" not in sent, "nothing refused reached upstream"


# ---------------------------------------------------------------------------------------------
# The Supabase CLI.

CLI = os.path.join(NODE_MODULES, ".bin", "supabase")


@pytest.fixture(scope="module")
def cli_ready():
    """The npm package `supabase` is a node shim that runs a native binary from an optional
    dependency (@supabase/cli-<os>-<arch>, fetched from the npm registry, not from GitHub)."""
    if not os.path.exists(CLI):
        pytest.skip("the supabase npm package is not installed in tests/clients/node_modules")
    p = subprocess.run([CLI, "--version"], capture_output=True, text=True, timeout=60,
                       env=client_env(tempfile.gettempdir()))
    if p.returncode != 0:
        out = (p.stderr + p.stdout).strip()
        errors = [line for line in out.splitlines() if re.match(r"\s*\w*Error\b", line)]
        pytest.skip("the Supabase CLI cannot run on this machine: " + (errors[0] if errors else out[-300:]).strip()
                    + " (its native binary comes from the optional dependency @supabase/cli-<os>-<arch>;"
                    " package-lock.json may lack this platform's entry)")
    assert p.stdout.strip() == PINNED["supabase"]


class Cli:
    """Runs the CLI as a user who set it up for the gateway: a profile whose api_url is the gateway,
    the agent key as SUPABASE_ACCESS_TOKEN, telemetry and update checks off."""

    def __init__(self, gw, tmp):
        self.tmp = tmp
        self.profile = os.path.join(tmp, "bollard-profile.yaml")
        with open(self.profile, "w") as f:
            f.write(f"name: bollard\napi_url: http://127.0.0.1:{gw.port}\n"
                    "dashboard_url: http://127.0.0.1:9/dashboard\nproject_host: supabase.co\n")
        self.runs = 0

    def __call__(self, token, *args):
        self.runs += 1
        cwd = os.path.join(self.tmp, f"run{self.runs}")  # no linked-project cache between runs
        os.makedirs(cwd)
        env = client_env(self.tmp, SUPABASE_ACCESS_TOKEN=token, SUPABASE_HOME=os.path.join(self.tmp, "supabase-home"),
                         SUPABASE_TELEMETRY_DISABLED="1", DO_NOT_TRACK="1", SUPABASE_NO_UPDATE_NOTIFIER="1",
                         SUPABASE_NO_KEYRING="1")
        p = subprocess.run([CLI, "--profile", self.profile, *args, "--output-format", "json"], cwd=cwd, env=env,
                           capture_output=True, text=True, timeout=CLIENT_TIMEOUT)
        return p.returncode, json.loads(p.stdout) if p.stdout.strip().startswith("{") else None, p.stdout + p.stderr


def cli_refusal(doc):
    """The gateway's refusal inside the CLI's error (it quotes the API's answer)."""
    message = doc["error"]["message"]
    start = message.index('{"message"')
    return json.JSONDecoder().raw_decode(message[start:])[0]


def test_cli_reader_lists_and_is_refused_writes(gw, cli_ready, tmp_path):
    agent = "cli-reader"
    cli = Cli(gw, str(tmp_path))
    w = Window(gw)
    rc, projects, text = cli(key(agent), "projects", "list")
    assert rc == 0, text
    assert [p["ref"] for p in projects["projects"]] == [P1]
    rc, orgs, text = cli(key(agent), "orgs", "list")
    assert rc == 0 and [o["slug"] for o in orgs["organizations"]] == ["acme"], text
    rc, functions, text = cli(key(agent), "functions", "list", f"--remote={P1}")
    assert rc == 0 and [f["slug"] for f in functions["functions"]] == ["hello-world", "stripe-webhook"], text
    rc, secrets, text = cli(key(agent), "secrets", "list", f"--remote={P1}")
    assert rc == 0, text
    assert secrets["secrets"] and all(s["value"] == REDACTED for s in secrets["secrets"]), secrets
    assert "CANARY" not in text

    refused = [
        (("functions", "list", f"--remote={P2}"), "project_out_of_scope"),
        (("secrets", "set", "STRIPE_KEY=sk_test_1", f"--remote={P1}", "--yes"), "permission_denied"),
        (("functions", "delete", "hello-world", f"--remote={P1}", "--yes"), "permission_denied"),
    ]
    for args, code in refused:
        rc, doc, text = cli(key(agent), *args)
        assert rc != 0 and doc, text
        refusal = cli_refusal(doc)
        assert (refusal["code"], refusal["agent"]) == (code, agent), refusal
        assert "CLI reader may not" in refusal["message"]
    # The CLI also looks the project up for its "Target: project ..." line: refused for P2 as well.
    _, upstream = check_window(w, agent, [("list_functions", "project_out_of_scope"),
                                          ("get_project", "project_out_of_scope"),
                                          ("create_secrets", "permission_denied"),
                                          ("delete_function", "permission_denied")])
    assert "sk_test_1" not in json.dumps(upstream)


def test_cli_deployer_manages_secrets_but_cannot_list_projects(gw, cli_ready, tmp_path):
    """An agent with edge functions and secrets only: the CLI's own project lookups (for the
    "Target: project ..." line) are refused and audited, and the CLI carries on without them."""
    agent = "ci-deployer"
    cli = Cli(gw, str(tmp_path))
    w = Window(gw)
    rc, doc, text = cli(key(agent), "projects", "list")
    assert rc != 0 and cli_refusal(doc)["code"] == "permission_denied", text
    rc, functions, text = cli(key(agent), "functions", "list", f"--remote={P1}")
    assert rc == 0 and len(functions["functions"]) == 2, text
    rc, secrets, text = cli(key(agent), "secrets", "list", f"--remote={P1}")
    assert rc == 0 and all(s["value"] == REDACTED for s in secrets["secrets"]), text
    rc, done, text = cli(key(agent), "secrets", "set", "STRIPE_KEY=sk_test_2", f"--remote={P1}", "--yes")
    assert rc == 0 and done["count"] == 1, text
    rc, done, text = cli(key(agent), "secrets", "unset", "STRIPE_KEY", f"--remote={P1}", "--yes")
    assert rc == 0 and done["names"] == ["STRIPE_KEY"], text
    _, upstream = check_window(w, agent, [("list_projects", "permission_denied")]
                               + [("get_project", "permission_denied")] * 4)
    writes = [(e["method"], json.loads(e["body"])) for e in upstream if e["method"] != "GET"]
    assert writes == [("POST", [{"name": "STRIPE_KEY", "value": "sk_test_2"}]), ("DELETE", ["STRIPE_KEY"])]


def test_cli_checks_the_token_shape_before_sending_anything(gw, cli_ready, tmp_path):
    """Why agent keys look like personal access tokens: the CLI refuses any other shape itself."""
    cli = Cli(gw, str(tmp_path))
    before = downstream_requests(gw)
    rc, doc, text = cli("bollard-agent-key", "projects", "list")
    assert rc != 0 and "Invalid access token format" in text, text
    assert downstream_requests(gw) == before


# ---------------------------------------------------------------------------------------------
# supabase-management-js.

def management_js(gw, agent, steps, tmp):
    plan = os.path.join(tmp, "plan.json")
    with open(plan, "w") as f:
        json.dump({"baseUrl": f"http://127.0.0.1:{gw.port}", "accessToken": key(agent), "steps": steps}, f)
    p = subprocess.run([NODE, os.path.join(HERE, "management_js.mjs"), plan], capture_output=True, text=True,
                       cwd=HERE, env=client_env(tmp), timeout=CLIENT_TIMEOUT)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    return json.loads(p.stdout)["steps"]


def test_management_js_reads_and_writes(gw, tmp_path):
    agent = "deploy-script"
    source = {"$file": {"name": "index.ts", "content": "Deno.serve(() => new Response('hi'))",
                        "type": "application/typescript"}}
    steps = [
        ("listAllProjects", []),
        ("getProject", [P1]),
        ("listAllFunctions", [P1]),
        ("listAllSecrets", [P1]),
        ("bulkCreateSecrets", [P1, [{"name": "STRIPE_KEY", "value": "sk_test_3"}]]),
        ("deployAFunction", [P1, {"file": [source], "metadata": {"name": "hello-world", "entrypoint_path": "index.ts"}},
                             {"slug": "hello-world"}]),
        ("bulkDeleteSecrets", [P1, ["STRIPE_KEY"]]),
        ("runAQuery", [P1, {"query": "select id, name from orders", "read_only": True}]),
        # refused:
        ("runAQuery", [P1, {"query": "drop table orders"}]),
        ("deleteAProject", [P1]),
        ("bulkCreateSecrets", [P2, [{"name": "STRIPE_KEY", "value": "sk_test_4"}]]),
        ("listAllOrganizations", []),
    ]
    w = Window(gw)
    out = management_js(gw, agent, [{"method": m, "args": a} for m, a in steps], str(tmp_path))
    _, upstream = check_window(w, agent, [("run_sql", "read_only_required"), ("delete_project", "permission_denied"),
                                          ("create_secrets", "project_out_of_scope"),
                                          ("list_organizations", "permission_denied")])
    allowed, refused = out[:8], out[8:]
    for s in allowed:
        assert s["ok"] and s["status"] in (200, 201) and s["decision"] == "allow", s
    assert [p["ref"] for p in allowed[0]["data"]] == [P1]
    assert allowed[1]["data"]["name"] == "prod"
    assert [f["slug"] for f in allowed[2]["data"]] == ["hello-world", "stripe-webhook"]
    assert all(s["value"] == REDACTED for s in allowed[3]["data"])
    assert allowed[5]["data"]["slug"] == "hello-world" and allowed[5]["data"]["version"] == 4
    assert allowed[7]["data"] == [{"id": 1, "name": "stand-in row"}]
    deploy = next(e for e in upstream if e["path"].startswith(f"/v1/projects/{P1}/functions/deploy"))
    assert "multipart/form-data" in dict(deploy["headers"])["content-type"] and "new Response('hi')" in deploy["body"]

    codes = ["read_only_required", "permission_denied", "project_out_of_scope", "permission_denied"]
    for s, code in zip(refused, codes):
        assert not s["ok"] and s["status"] == 403 and s["decision"] == "deny", s
        assert s["data"]["code"] == code and s["data"]["agent"] == agent
        assert s["message"].endswith(s["data"]["message"]), "the library's error carries the gateway's message"
    assert "drop table" not in json.dumps(upstream) and "sk_test_4" not in json.dumps(upstream)
