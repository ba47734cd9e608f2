//! Statements and their classes: the body is split and parsed by the grammar, each statement's
//! syntax tree is walked whole (CTEs, subqueries, nested statements, every function call), and
//! its tokens are scanned for schemas and calls (`scan`).

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    self, AccessExpr, CopySource, CopyTarget, Expr, FunctionSecurity, ObjectName, ObjectType, Query, SchemaName,
    Select, Set, SetExpr, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use super::functions::{in_schemas, known_schema, on_path, runs_sql_strings};
use super::scan::{self, Scan};
use super::{function_class, ClassSet, FunctionRef, SqlClass, Statement, ANY_FUNCTION};

/// How deep the grammar may nest (expressions, subqueries). Deeper SQL is refused as unparsed,
/// so neither the parser nor the walk can exhaust the VM's stack.
const RECURSION_LIMIT: usize = 40;
/// Objects named in a statement's description.
const MAX_OBJECTS: usize = 3;

/// Splits, parses and classifies a body.
pub fn statements(sql: &str) -> Vec<Statement> {
    let tokens = match scan::tokenize(sql) {
        Ok(t) => t,
        Err(error) => return vec![unsplit(error)],
    };
    let mut list = match parse_all(&tokens) {
        Some(list) => list,
        None => chunks(&tokens),
    };
    follow_search_path(&mut list);
    list
}

fn parser(tokens: Vec<TokenWithSpan>) -> Parser<'static> {
    static DIALECT: PostgreSqlDialect = PostgreSqlDialect {};
    Parser::new(&DIALECT).with_recursion_limit(RECURSION_LIMIT).with_tokens_with_locations(tokens)
}

fn is_eof(p: &Parser) -> bool {
    p.peek_token().token == Token::EOF
}

/// The common case: every statement parses. `None` when one does not.
fn parse_all(tokens: &[TokenWithSpan]) -> Option<Vec<Statement>> {
    let mut p = parser(tokens.to_vec());
    let mut out = Vec::new();
    loop {
        while p.consume_token(&Token::SemiColon) {}
        if is_eof(&p) {
            return Some(out);
        }
        let start = p.index();
        let stmt = p.parse_statement().ok()?;
        let end = p.index();
        // Each statement ends at `;` or the end: nothing is left unread.
        if !(is_eof(&p) || p.peek_token().token == Token::SemiColon) {
            return None;
        }
        out.push(statement(out.len() + 1, &stmt, tokens.get(start..end).unwrap_or_default()));
    }
}

/// A body with a statement the grammar cannot parse: split at each `;` token, and each piece
/// parsed alone, or judged by its leading keyword.
fn chunks(tokens: &[TokenWithSpan]) -> Vec<Statement> {
    let mut out = Vec::new();
    for chunk in tokens.split(|t| t.token == Token::SemiColon) {
        if chunk.iter().all(|t| matches!(t.token, Token::Whitespace(_) | Token::EOF)) {
            continue;
        }
        let index = out.len() + 1;
        let mut p = parser(chunk.to_vec());
        let parsed = match p.parse_statement() {
            Ok(s) if is_eof(&p) => Ok(s),
            Ok(_) => Err("more than one statement without a ';' between them".to_string()),
            Err(e) => Err(e.to_string()),
        };
        out.push(match parsed {
            Ok(s) => statement(index, &s, chunk),
            Err(e) => by_keyword(index, chunk, e),
        });
    }
    out
}

/// A statement the grammar does not know: a few PostgreSQL commands are known by their first
/// word alone; anything else is unparsed.
fn by_keyword(index: usize, tokens: &[TokenWithSpan], error: String) -> Statement {
    let lead = scan::leading_keyword(tokens).unwrap_or_default();
    let command = scan::command_label(tokens);
    let known = match (lead.as_str(), command.as_str()) {
        (_, "CREATE FUNCTION" | "CREATE PROCEDURE") => Some(SqlClass::Procedural),
        (_, "CREATE ROLE" | "CREATE USER" | "CREATE GROUP" | "ALTER ROLE" | "ALTER USER" | "ALTER GROUP") => {
            Some(SqlClass::Privilege)
        }
        (_, "DROP ROLE" | "DROP USER" | "DROP GROUP") => Some(SqlClass::Privilege),
        _ => None,
    };
    let known = known.or(match lead.as_str() {
        "DO" => Some(SqlClass::Procedural),
        "CHECKPOINT" | "CLUSTER" | "REINDEX" | "VACUUM" | "ANALYZE" | "ANALYSE" | "LOAD" | "LISTEN" | "UNLISTEN"
        | "NOTIFY" | "DISCARD" | "LOCK" => Some(SqlClass::Admin),
        "TABLE" if plain_table(tokens) => Some(SqlClass::Read),
        _ => None,
    });
    match known {
        Some(class) => {
            let s = scan::scan_unparsed(tokens, class == SqlClass::Procedural);
            let definer = s.has(Keyword::DEFINER) || scan::has_role_clause(tokens);
            let routine = matches!(command.as_str(), "CREATE FUNCTION" | "CREATE PROCEDURE");
            let label = if lead == "DO" || lead == "TABLE" { lead } else { command };
            let mut st = base(index, label, s, class);
            if definer && class == SqlClass::Procedural {
                st.classes.insert(SqlClass::Privilege);
            }
            if routine {
                body_calls_anywhere(&mut st);
            }
            if class == SqlClass::Read {
                st.objects = table_name(tokens).into_iter().collect();
            }
            st
        }
        None => unparsed(index, tokens, error),
    }
}

/// `TABLE [ONLY] name [*]`.
fn plain_table(tokens: &[TokenWithSpan]) -> bool {
    let toks: Vec<&Token> =
        tokens.iter().map(|t| &t.token).filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF)).collect();
    let mut rest = toks.get(1..).unwrap_or_default();
    if matches!(rest.first(), Some(Token::Word(w)) if w.quote_style.is_none() && w.keyword == Keyword::ONLY) {
        rest = rest.get(1..).unwrap_or_default();
    }
    let mut expect_word = true;
    for t in rest {
        match t {
            Token::Word(_) if expect_word => expect_word = false,
            Token::Period if !expect_word => expect_word = true,
            Token::Mul if !expect_word => {}
            _ => return false,
        }
    }
    !expect_word
}

fn table_name(tokens: &[TokenWithSpan]) -> Option<String> {
    let words: Vec<String> = tokens
        .iter()
        .filter_map(|t| match &t.token {
            Token::Word(w) if !(w.quote_style.is_none() && matches!(w.keyword, Keyword::TABLE | Keyword::ONLY)) => {
                Some(w.value.clone())
            }
            _ => None,
        })
        .collect();
    (!words.is_empty()).then(|| words.join("."))
}

fn base(index: usize, label: String, s: Scan, class: SqlClass) -> Statement {
    let mut classes = ClassSet::of(&[class]);
    if s.sets_role {
        classes.insert(SqlClass::Privilege);
    }
    for f in &s.functions {
        classes.extend(function_classes(f));
    }
    let rereads = s.rereads_strings;
    let mut st = Statement {
        index,
        label,
        objects: Vec::new(),
        classes,
        schemas: s.schemas,
        functions: s.functions,
        attribute_calls: s.attribute_calls,
        search_path: s.search_path,
        parse_error: None,
    };
    if rereads {
        strings_read_otherwise(&mut st);
    }
    st
}

/// A statement that sets `standard_conforming_strings`: turned off, PostgreSQL reads the strings
/// of SQL sent later (in the session, or in every session of a role or database) otherwise than
/// the tokenizer, which may then miss any statement in them. It needs every class, and may reach
/// any schema and call any function.
fn strings_read_otherwise(st: &mut Statement) {
    st.classes = ClassSet::ALL;
    may_reach_anything(st);
}

/// Adds the calls `to` does not hold yet, each once (by hash: a statement may make thousands).
fn add_calls(to: &mut Vec<FunctionRef>, calls: Vec<FunctionRef>) {
    let mut seen: HashSet<FunctionRef> = to.iter().cloned().collect();
    to.extend(calls.into_iter().filter(|f| seen.insert(f.clone())));
}

/// Once a statement sets `search_path`, a bare call in it or after it may be a known function of
/// a schema it names (`SET search_path = cron; SELECT schedule(...)` is `cron.schedule`), or of
/// any schema when the value was not read. Such a call adds that function's class; one that runs
/// SQL from its strings may reach any schema and call any function (its strings were not read as
/// code, its name being bare).
fn follow_search_path(list: &mut [Statement]) {
    // Only the schemas that known functions live in matter: the path stays a few names long.
    let (mut path, mut any): (Vec<&'static str>, bool) = (Vec::new(), false);
    for st in list {
        // A path a role, a database or a function keeps (`ALTER ROLE r SET search_path = cron`,
        // postgis_topology's `AddToSearchPath('cron')`, and the same ALTER run from a `DO` block
        // or from the SQL a call runs, `dblink_exec`'s): a bare call sent later, in a body that
        // sets no path, may be any known function of it.
        let keeps_path = st.label.starts_with("ALTER")
            || st.label == "DO"
            || st.functions.iter().any(|f| f.name == "addtosearchpath" || runs_sql_strings(f));
        if keeps_path && !st.search_path.is_empty() {
            let kept: Vec<&str> = st.search_path.iter().filter_map(|s| known_schema(s)).collect();
            let (classes, runs_sql) = in_schemas(&kept, st.search_path.iter().any(|s| s == scan::ANY_SCHEMA));
            st.classes.extend(classes);
            if runs_sql {
                may_reach_anything(st);
            }
        }
        for schema in &st.search_path {
            any |= schema == scan::ANY_SCHEMA;
            if let Some(known) = known_schema(schema) {
                if !path.contains(&known) {
                    path.push(known);
                }
            }
        }
        if path.is_empty() && !any {
            continue;
        }
        bare_calls_on_path(st, &path, any);
    }
}

/// A function's body runs when it is called, under whatever `search_path` the caller has: a bare
/// call in it may be any schema's known function.
fn body_calls_anywhere(st: &mut Statement) {
    bare_calls_on_path(st, &[], true);
}

/// What the statement's bare calls may be where `search_path` leads to `path` (or anywhere):
/// the known functions' classes, and for one that runs SQL from its strings (not read as code,
/// its name being bare), any schema and any function.
fn bare_calls_on_path(st: &mut Statement, path: &[&str], any: bool) {
    let (mut classes, mut runs_sql) = (ClassSet::EMPTY, false);
    for f in st.functions.iter().filter(|f| f.schema.is_none()) {
        let (c, sql) = on_path(&f.name, path, any);
        classes.extend(c);
        runs_sql |= sql;
    }
    st.classes.extend(classes);
    if runs_sql {
        may_reach_anything(st);
    }
}

/// The statement may reach any schema and call any function.
fn may_reach_anything(st: &mut Statement) {
    if !st.schemas.iter().any(|s| s == scan::ANY_SCHEMA) {
        st.schemas.push(scan::ANY_SCHEMA.to_string());
    }
    add_calls(&mut st.functions, vec![FunctionRef { schema: None, name: ANY_FUNCTION.to_string() }]);
}

/// SQL the tokenizer cannot read, or reads otherwise than PostgreSQL: where its statements start
/// and end is not known, so with `allow_unparsed` it needs every class, and it may reach any schema
/// and call any function.
fn unsplit(error: String) -> Statement {
    let mut st = unparsed(1, &[], error);
    st.classes = ClassSet::ALL;
    st.schemas = vec![scan::ANY_SCHEMA.to_string()];
    st.functions = vec![FunctionRef { schema: None, name: ANY_FUNCTION.to_string() }];
    st
}

/// SQL the grammar cannot parse. With `allow_unparsed` it still needs the classes its words
/// suggest: its first word's, and those of class-changing keywords anywhere in it (unknown: admin).
fn unparsed(index: usize, tokens: &[TokenWithSpan], error: String) -> Statement {
    let lead = scan::leading_keyword(tokens).unwrap_or_default();
    let class = match lead.as_str() {
        // `PREPARE TRANSACTION 'x'` ends the transaction the body runs in, as COMMIT does.
        "PREPARE" if scan::second_keyword(tokens).as_deref() == Some("TRANSACTION") => SqlClass::Admin,
        "SELECT" | "WITH" | "VALUES" | "TABLE" | "SHOW" | "EXPLAIN" => SqlClass::Read,
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" => SqlClass::Write,
        "CREATE" | "ALTER" | "COMMENT" | "REFRESH" => SqlClass::Ddl,
        "DROP" | "TRUNCATE" => SqlClass::Destroy,
        "GRANT" | "REVOKE" | "REASSIGN" | "SECURITY" => SqlClass::Privilege,
        "DO" | "CALL" | "EXECUTE" | "PREPARE" => SqlClass::Procedural,
        _ => SqlClass::Admin,
    };
    let s = scan::scan_unparsed(tokens, true);
    let mut classes = ClassSet::of(&[class]);
    for k in &s.keywords {
        match k {
            // `SHARE`: a `FOR [KEY] SHARE` locking clause.
            Keyword::INSERT | Keyword::UPDATE | Keyword::DELETE | Keyword::MERGE | Keyword::INTO | Keyword::SHARE => {
                classes.insert(SqlClass::Write)
            }
            // `REFRESH`: `EXPLAIN ANALYZE REFRESH MATERIALIZED VIEW` runs it.
            Keyword::CREATE | Keyword::ALTER | Keyword::REFRESH => classes.insert(SqlClass::Ddl),
            Keyword::DROP | Keyword::TRUNCATE => classes.insert(SqlClass::Destroy),
            Keyword::GRANT
            | Keyword::REVOKE
            | Keyword::ROLE
            | Keyword::DEFINER
            | Keyword::AUTHORIZATION
            | Keyword::OWNER => classes.insert(SqlClass::Privilege),
            Keyword::EXECUTE | Keyword::CALL | Keyword::FUNCTION | Keyword::PROCEDURE => {
                classes.insert(SqlClass::Procedural)
            }
            Keyword::COPY | Keyword::SET | Keyword::RESET | Keyword::LOCK | Keyword::PROGRAM => {
                classes.insert(SqlClass::Admin)
            }
            _ => {}
        }
    }
    // A DELETE or UPDATE without a WHERE is destroy; unread, one may lack it.
    if scan::unfiltered_delete_or_update(tokens) {
        classes.insert(SqlClass::Destroy);
    }
    // `SET "role" = ...`, `SET session_authorization = ...` (a database's, the system's): a SET
    // ROLE for the sessions that follow, whose quoted or unreserved name is no keyword above.
    if scan::has_role_clause(tokens) {
        classes.insert(SqlClass::Privilege);
    }
    let mut st = base(index, if lead.is_empty() { "statement".to_string() } else { lead }, s, class);
    st.classes.extend(classes);
    st.parse_error = Some(error);
    st
}

fn function_classes(f: &FunctionRef) -> ClassSet {
    function_class(f).map(|c| ClassSet::of(&[c])).unwrap_or_default()
}

/// One parsed statement: its own class, everything its tree holds, and what its tokens show.
fn statement(index: usize, stmt: &ast::Statement, tokens: &[TokenWithSpan]) -> Statement {
    let mut walk = Walk::default();
    let _ = stmt.visit(&mut walk);
    let bodies = matches!(stmt, ast::Statement::CreateFunction(_) | ast::Statement::CreateProcedure { .. });
    let mut s = scan::scan(tokens, bodies);
    // A call that runs SQL from its strings (`query_to_xml('select ...')`): they are code too.
    if !bodies && walk.functions.iter().chain(&s.functions).any(runs_sql_strings) {
        s = scan::scan(tokens, true);
    }
    // `UPDATE pg_settings` (alone, or run by an EXPLAIN ANALYZE, a PREPARE, a CTE) may set
    // `search_path` to anything, and `standard_conforming_strings` unless its WHERE names one
    // other setting.
    if let Some(rereads) = walk.settings {
        s.path_reaches_any_schema();
        s.rereads_strings |= rereads;
    }
    let mut classes = walk.classes;
    // What only the statement's words show.
    if matches!(stmt, ast::Statement::AlterTable(_) | ast::Statement::AlterIndex { .. } | ast::Statement::AlterView(_))
        || scan::leading_keyword(tokens).as_deref() == Some("ALTER")
    {
        // ALTER ... DROP is destroy, not ddl.
        if s.has(Keyword::DROP) {
            classes.remove(SqlClass::Ddl);
            classes.insert(SqlClass::Destroy);
        }
        // `DISABLE ROW LEVEL SECURITY`, and `NO FORCE ROW LEVEL SECURITY`: the table's owner reads
        // past its policies again.
        let unforced = s.has(Keyword::NO) && s.has(Keyword::FORCE);
        if s.has(Keyword::OWNER)
            || s.has(Keyword::DEFINER)
            || ((s.has(Keyword::DISABLE) || unforced) && s.has(Keyword::SECURITY))
        {
            classes.insert(SqlClass::Privilege);
        }
    }
    // `CREATE SCHEMA s AUTHORIZATION r`: a schema another role owns, as `ALTER SCHEMA s OWNER TO r`.
    if matches!(
        stmt,
        ast::Statement::CreateSchema {
            schema_name: SchemaName::UnnamedAuthorization(_) | SchemaName::NamedAuthorization(..),
            ..
        }
    ) {
        classes.insert(SqlClass::Privilege);
    }
    // A function that runs as another role: `SET role = ...` among its options.
    let routine = bodies || matches!(stmt, ast::Statement::AlterFunction(_));
    if s.sets_role || (routine && scan::has_role_clause(tokens)) {
        classes.insert(SqlClass::Privilege);
    }
    let mut functions = walk.functions;
    add_calls(&mut functions, s.functions);
    for f in &functions {
        classes.extend(function_classes(f));
    }
    if classes.is_empty() {
        classes.insert(SqlClass::Admin);
    }
    let mut objects = walk.objects;
    if objects.is_empty() {
        objects = named_objects(stmt);
    }
    let mut attribute_calls = walk.attribute_calls;
    add_calls(&mut attribute_calls, s.attribute_calls);
    let rereads = s.rereads_strings;
    let mut st = Statement {
        index,
        label: label(stmt, tokens),
        objects,
        classes,
        schemas: s.schemas,
        functions,
        attribute_calls,
        search_path: s.search_path,
        parse_error: None,
    };
    if bodies {
        body_calls_anywhere(&mut st);
    }
    if rereads {
        strings_read_otherwise(&mut st);
    }
    st
}

/// The objects a statement names outside its relations (what it drops, creates, comments on).
fn named_objects(stmt: &ast::Statement) -> Vec<String> {
    use ast::Statement as S;
    let names: Vec<String> = match stmt {
        S::Drop { names, .. } => names.iter().map(ToString::to_string).collect(),
        S::Truncate(t) => t.table_names.iter().map(|t| t.name.to_string()).collect(),
        S::DropFunction(f) => f.func_desc.iter().map(|d| d.name.to_string()).collect(),
        S::CreateFunction(f) => vec![f.name.to_string()],
        S::Comment { object_name, .. } => vec![object_name.to_string()],
        S::CreateSchema { schema_name, .. } => vec![schema_name.to_string()],
        S::CreateIndex(i) => vec![i.table_name.to_string()],
        S::CreateView(v) => vec![v.name.to_string()],
        S::CreateTable(t) => vec![t.name.to_string()],
        S::AlterTable(t) => vec![t.name.to_string()],
        _ => Vec::new(),
    };
    names.into_iter().take(MAX_OBJECTS).collect()
}

fn label(stmt: &ast::Statement, tokens: &[TokenWithSpan]) -> String {
    use ast::Statement as S;
    match stmt {
        S::Query(_) => "SELECT".to_string(),
        S::Insert(_) => "INSERT".to_string(),
        S::Update(_) => "UPDATE".to_string(),
        S::Delete(_) => "DELETE".to_string(),
        S::Merge(_) => "MERGE".to_string(),
        S::Explain { statement, .. } if analyzes(stmt) => format!("EXPLAIN ANALYZE {}", label(statement, &[])),
        S::Explain { statement, .. } => format!("EXPLAIN {}", label(statement, &[])),
        S::Set(Set::SetRole { .. }) => "SET ROLE".to_string(),
        S::Set(Set::SetSessionAuthorization(_)) => "SET SESSION AUTHORIZATION".to_string(),
        _ if tokens.is_empty() => "statement".to_string(),
        _ => scan::command_label(tokens),
    }
}

/// Whether an EXPLAIN runs its statement: `ANALYZE`, or `(ANALYZE [true|on|1])` (PostgreSQL also
/// spells it `ANALYSE`).
fn analyzes(stmt: &ast::Statement) -> bool {
    let ast::Statement::Explain { analyze, options, .. } = stmt else { return false };
    *analyze
        || options.iter().flatten().any(|o| {
            let name = o.name.value.to_ascii_lowercase();
            (name == "analyze" || name == "analyse") && o.arg.as_ref().is_none_or(truthy)
        })
}

/// An option's value as PostgreSQL reads a boolean; anything unusual counts as true (fail closed).
fn truthy(e: &Expr) -> bool {
    let off = |s: &str| matches!(s.to_ascii_lowercase().as_str(), "false" | "off" | "0" | "no");
    match e {
        Expr::Value(v) => match &v.value {
            ast::Value::Boolean(b) => *b,
            ast::Value::Number(n, _) => !off(n),
            ast::Value::SingleQuotedString(s) => !off(s),
            _ => true,
        },
        Expr::Identifier(i) => !off(&i.value),
        _ => true,
    }
}

/// The class of one statement node, not counting what it holds (the walk adds that).
fn own_class(stmt: &ast::Statement) -> ClassSet {
    use ast::Statement as S;
    use SqlClass::*;
    let one = |c| ClassSet::of(&[c]);
    match stmt {
        S::Query(_) | S::Explain { .. } | S::ExplainTable { .. } => one(Read),
        S::ShowVariable { .. }
        | S::ShowVariables { .. }
        | S::ShowCreate { .. }
        | S::ShowColumns { .. }
        | S::ShowTables { .. }
        | S::ShowViews { .. }
        | S::ShowFunctions { .. }
        | S::ShowSchemas { .. }
        | S::ShowDatabases { .. }
        | S::ShowCollation { .. }
        | S::ShowStatus { .. }
        | S::ShowObjects(_)
        | S::ShowCharset(_)
        | S::ShowCatalogs { .. } => one(Read),
        // Transaction control and cursors are none of the named classes: `admin` ("anything
        // else"). A COMMIT or ROLLBACK would also end the read-only transaction a `read_only`
        // query runs in, and what follows it would run outside.
        S::StartTransaction { statements, .. } if statements.is_empty() => one(Admin),
        S::StartTransaction { .. } => one(Procedural),
        S::Commit { .. } | S::Rollback { .. } | S::Savepoint { .. } | S::ReleaseSavepoint { .. } => one(Admin),
        S::Declare { .. } | S::Fetch { .. } | S::Close { .. } => one(Admin),
        S::Insert(_) | S::Merge(_) => one(Write),
        // `UPDATE pg_settings` runs `set_config` for each row: a SET, and a SET ROLE unless its
        // WHERE names one setting other than the role's.
        S::Update(u) if updates_settings(&u.table) => {
            let mut c = ClassSet::of(&[if u.selection.is_none() { Destroy } else { Write }, Admin]);
            if u.selection.as_ref().and_then(named_setting).is_none_or(scan::is_role_setting) {
                c.insert(Privilege);
            }
            c
        }
        S::Update(u) if u.selection.is_none() => one(Destroy),
        S::Update(_) => one(Write),
        S::Delete(d) if d.selection.is_none() => one(Destroy),
        S::Delete(_) => one(Write),
        S::Copy { to: false, target: CopyTarget::Stdin, .. } => one(Write),
        S::Copy { source: CopySource::Query(_), .. } | S::Copy { .. } => one(Admin),
        S::Truncate(_) => one(Destroy),
        S::Drop { object_type: ObjectType::Role | ObjectType::User | ObjectType::Group, .. } => one(Privilege),
        S::Drop { .. }
        | S::DropFunction(_)
        | S::DropDomain(_)
        | S::DropProcedure { .. }
        | S::DropPolicy(_)
        | S::DropRule(_)
        | S::DropTrigger(_)
        | S::DropExtension(_)
        | S::DropOperator(_)
        | S::DropOperatorFamily(_)
        | S::DropOperatorClass(_) => one(Destroy),
        S::Grant(_)
        | S::GrantRole(_)
        | S::Revoke(_)
        | S::RevokeRole(_)
        | S::AlterDefaultPrivileges(_)
        | S::CreateRole(_)
        | S::AlterRole { .. }
        | S::CreateUser(_)
        | S::AlterUser(_)
        | S::Set(Set::SetRole { .. } | Set::SetSessionAuthorization(_)) => one(Privilege),
        // `SET role = x` is SET ROLE; RESET ALL and DISCARD ALL reset the session's role too.
        S::Set(Set::SingleAssignment { variable, .. }) if names_role(variable) => one(Privilege),
        S::Reset(r) => match &r.reset {
            ast::Reset::ConfigurationParameter(name) if names_role(name) => one(Privilege),
            ast::Reset::ConfigurationParameter(_) => one(Admin),
            ast::Reset::ALL => ClassSet::of(&[Admin, Privilege]),
            ast::Reset::SessionAuthorization => one(Privilege),
        },
        S::Discard { object_type: ast::DiscardObject::ALL } => ClassSet::of(&[Admin, Privilege]),
        S::CreateFunction(f) => {
            let mut c = one(Procedural);
            if f.security == Some(FunctionSecurity::Definer) {
                c.insert(Privilege);
            }
            c
        }
        S::CreateProcedure { .. } | S::Call(_) | S::Execute { .. } | S::Prepare { .. } => one(Procedural),
        S::Case(_) | S::If(_) | S::While(_) | S::Raise(_) => one(Procedural),
        S::CreateTable(_)
        | S::CreateView(_)
        | S::CreateIndex(_)
        | S::CreateSchema { .. }
        | S::CreateSequence { .. }
        | S::CreateType { .. }
        | S::CreateDomain(_)
        | S::CreateExtension(_)
        | S::CreatePolicy(_)
        | S::CreateTrigger(_)
        | S::CreateRule(_)
        | S::CreateCollation(_)
        | S::CreateOperator(_)
        | S::CreateOperatorFamily(_)
        | S::CreateOperatorClass(_)
        | S::CreateTextSearch(_)
        | S::CreateAggregate(_)
        | S::CreateForeignTable(_)
        | S::AlterTable(_)
        | S::AlterSchema(_)
        | S::AlterIndex { .. }
        | S::AlterView { .. }
        | S::AlterFunction(_)
        | S::AlterType(_)
        | S::AlterCollation(_)
        | S::AlterOperator(_)
        | S::AlterOperatorFamily(_)
        | S::AlterOperatorClass(_)
        | S::AlterTextSearch(_)
        | S::AlterPolicy(_)
        | S::AlterTrigger(_)
        | S::Comment { .. }
        | S::RefreshMaterializedView(_) => one(Ddl),
        // VACUUM, ANALYZE, LOCK, LISTEN, NOTIFY, SET, RESET, DISCARD, servers, user mappings,
        // and every statement kind not named above.
        _ => one(Admin),
    }
}

fn updates_settings(t: &ast::TableWithJoins) -> bool {
    let TableFactor::Table { name, .. } = &t.relation else { return false };
    name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| i.value.eq_ignore_ascii_case("pg_settings"))
}

/// `name = 'statement_timeout'`: one setting, not `standard_conforming_strings`.
fn names_other_setting(e: &Expr) -> bool {
    named_setting(e).is_some_and(|s| !s.eq_ignore_ascii_case(scan::STRINGS_SETTING))
}

/// The one setting a WHERE of `name = '...'` names.
fn named_setting(e: &Expr) -> Option<&str> {
    let Expr::BinaryOp { left, op: ast::BinaryOperator::Eq, right } = e else { return None };
    let (Expr::Identifier(column), Expr::Value(v)) = (left.as_ref(), right.as_ref()) else { return None };
    let ast::Value::SingleQuotedString(setting) = &v.value else { return None };
    column.value.eq_ignore_ascii_case("name").then_some(setting.as_str())
}

fn names_role(name: &ObjectName) -> bool {
    name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| scan::is_role_setting(&i.value))
}

/// Walks a statement's whole tree.
#[derive(Default)]
struct Walk {
    classes: ClassSet,
    objects: Vec<String>,
    functions: Vec<FunctionRef>,
    /// `o.f`, `(o).f`: perhaps `f(o)`.
    attribute_calls: Vec<FunctionRef>,
    /// What the two lists hold (false: functions, true: attribute calls).
    seen: HashSet<(bool, FunctionRef)>,
    /// Inside an EXPLAIN that does not run its statement.
    not_run: usize,
    /// An `UPDATE pg_settings` it runs, and whether it may set `standard_conforming_strings`.
    settings: Option<bool>,
}

impl Walk {
    fn function(&mut self, name: &ObjectName) {
        let parts: Vec<String> =
            name.0.iter().filter_map(|p| p.as_ident()).map(|i| i.value.to_ascii_lowercase()).collect();
        let Some((last, rest)) = parts.split_last() else { return };
        let f = FunctionRef { schema: rest.last().cloned(), name: last.clone() };
        if self.seen.insert((false, f.clone())) {
            self.functions.push(f);
        }
    }

    fn attribute_call(&mut self, name: &str) {
        let f = FunctionRef { schema: None, name: name.to_ascii_lowercase() };
        if self.seen.insert((true, f.clone())) {
            self.attribute_calls.push(f);
        }
    }

    fn add(&mut self, c: SqlClass) {
        if self.not_run == 0 {
            self.classes.insert(c);
        }
    }
}

impl Visitor for Walk {
    type Break = ();

    fn pre_visit_statement(&mut self, s: &ast::Statement) -> ControlFlow<()> {
        if self.not_run == 0 {
            self.classes.extend(own_class(s));
            if let ast::Statement::Update(u) = s {
                if updates_settings(&u.table) {
                    let rereads = !u.selection.as_ref().is_some_and(names_other_setting);
                    self.settings = Some(self.settings.unwrap_or(false) || rereads);
                }
            }
        }
        if matches!(s, ast::Statement::Explain { .. }) && !analyzes(s) {
            self.not_run += 1;
        }
        if let ast::Statement::Call(f) = s {
            self.function(&f.name);
        }
        ControlFlow::Continue(())
    }

    fn post_visit_statement(&mut self, s: &ast::Statement) -> ControlFlow<()> {
        if matches!(s, ast::Statement::Explain { .. }) && !analyzes(s) {
            self.not_run = self.not_run.saturating_sub(1);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        // SELECT ... FOR UPDATE / SHARE locks rows: a write.
        if !q.locks.is_empty() {
            self.add(SqlClass::Write);
        }
        if let SetExpr::Table(_) = q.body.as_ref() {
            self.add(SqlClass::Read);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
        // A SELECT anywhere reads (INSERT ... SELECT, CREATE VIEW ... AS SELECT, COPY (SELECT)).
        self.add(SqlClass::Read);
        // SELECT ... INTO creates a table.
        if s.into.is_some() {
            self.add(SqlClass::Write);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, name: &ObjectName) -> ControlFlow<()> {
        let n = name.to_string();
        if self.objects.len() < MAX_OBJECTS && !self.objects.contains(&n) {
            self.objects.push(n);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
        match t {
            TableFactor::Table { name, args: Some(_), .. } | TableFactor::Function { name, .. } => self.function(name),
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::Function(f) => self.function(&f.name),
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                if let Some(last) = parts.last() {
                    self.attribute_call(&last.value);
                }
            }
            // `(o).f`, `o.f[1]`, `(o).f.total`: every name after a dot, and the root's last.
            Expr::CompoundFieldAccess { root, access_chain } => {
                if let Expr::CompoundIdentifier(parts) = root.as_ref() {
                    if let Some(last) = parts.last().filter(|_| parts.len() >= 2) {
                        self.attribute_call(&last.value);
                    }
                }
                for access in access_chain {
                    match access {
                        AccessExpr::Dot(Expr::Identifier(i)) => self.attribute_call(&i.value),
                        AccessExpr::Dot(Expr::CompoundIdentifier(parts)) => {
                            for p in parts {
                                self.attribute_call(&p.value);
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}
