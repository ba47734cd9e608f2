//! What a statement's tokens show, whatever its syntax tree: the schemas it names (`auth.users`,
//! `SCHEMA auth`, `search_path` values), the functions it calls (`name(`), and the keywords that
//! change its class. The tokens are the grammar's own (`sqlparser`'s PostgreSQL tokenizer), so
//! strings, comments and dollar quoting are what PostgreSQL reads them as.

use std::collections::HashSet;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace, Word};

use super::functions::runs_sql_strings;
use super::{FunctionRef, ANY_FUNCTION};

/// Tokens with their places, `U&"..."` identifiers decoded into plain quoted identifiers.
/// What PostgreSQL would not read as the grammar does is an error: a NUL character (the protocol
/// ends a query's text there), an `X'...'` string other than hex digits (the grammar lets a
/// backslash escape its closing quote; PostgreSQL does not), a `B'...'` string other than binary
/// digits (the grammar reads `''` in it as a quote; PostgreSQL ends it there), `b"x"` (a string
/// for the grammar, the name `b` and the name `x` for PostgreSQL), operator characters that run
/// into `--` or `/*` (an operator for the grammar, the start of a comment for PostgreSQL), and
/// lines after a `COPY ... FROM STDIN;` (the grammar takes them as the copy's data, as psql does;
/// the server reads them as more statements, its copy data comes apart from the query's text).
pub fn tokenize(sql: &str) -> Result<Vec<TokenWithSpan>, String> {
    if sql.contains('\0') {
        return Err("a NUL character, which PostgreSQL cannot read in SQL".to_string());
    }
    let tokens = read_tokens(sql)?;
    let mut operator = String::new();
    for t in &tokens {
        if operator_holds_comment(&t.token, &mut operator) {
            return Err(format!(
                "the operator {operator:?}, which PostgreSQL ends at its -- or /* and reads a comment from there"
            ));
        }
        match &t.token {
            Token::HexStringLiteral(h) if !h.chars().all(|c| c.is_ascii_hexdigit()) => {
                return Err("an X'...' string that is not hexadecimal digits".to_string());
            }
            Token::SingleQuotedByteStringLiteral(b) if !b.chars().all(|c| c == '0' || c == '1') => {
                return Err("a B'...' string that is not binary digits".to_string());
            }
            Token::DoubleQuotedByteStringLiteral(_) => {
                return Err("b\"...\", which PostgreSQL reads as a name followed by a quoted name".to_string());
            }
            Token::CopyData { data, terminated } if *terminated || !data.trim().is_empty() => {
                return Err("lines after COPY ... FROM STDIN, which PostgreSQL reads as SQL, not as data".to_string());
            }
            _ => {}
        }
    }
    Ok(tokens)
}

/// PostgreSQL's operator characters.
fn is_operator_char(c: char) -> bool {
    matches!(c, '+' | '-' | '*' | '/' | '<' | '>' | '=' | '~' | '!' | '@' | '#' | '%' | '^' | '&' | '|' | '`' | '?')
}

/// Adds a token to the run of operator characters it continues (`run`: the characters of the
/// operator tokens right before it, none between) and tells whether the run holds `--` or `/*`.
/// PostgreSQL reads a run of operator characters as one operator that ends where a comment
/// starts; the grammar's tokenizer reads `#--` as one operator, and `?-` then `-` as two.
fn operator_holds_comment(token: &Token, run: &mut String) -> bool {
    use std::fmt::Write;
    if matches!(
        token,
        Token::Word(_)
            | Token::Whitespace(_)
            | Token::Number(..)
            | Token::Comma
            | Token::Period
            | Token::LParen
            | Token::RParen
            | Token::SemiColon
            | Token::EOF
            | Token::SingleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::CopyData { .. }
    ) {
        run.clear();
        return false;
    }
    let start = run.len();
    let _ = write!(run, "{token}");
    if !run.get(start..).is_some_and(|added| added.chars().all(is_operator_char)) {
        run.clear();
        return false;
    }
    run.contains("--") || run.contains("/*")
}

/// Tokens with their places, `U&"..."` identifiers decoded, strings continued on the next line
/// joined.
fn read_tokens(sql: &str) -> Result<Vec<TokenWithSpan>, String> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().map_err(|e| e.to_string())?;
    join_continued_strings(decode_unicode_identifiers(tokens)?)
}

/// PostgreSQL joins a string constant to the `'...'` that follows it across whitespace holding a
/// line break (`'cr'`, a newline, `'on'` is `'cron'`); the tokenizer keeps the pieces apart, so a
/// body or a name given in pieces would be read in pieces. Joined here. A piece after an
/// `E'...'` or `U&'...'` string is read by PostgreSQL with that string's escapes (`\'` does not
/// end it), which the tokenizer did not apply, and `U&'...' UESCAPE 'c'` has escapes that start
/// with `c`, which the tokenizer read as `\`: both are errors.
fn join_continued_strings(tokens: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>, String> {
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    // Where the last token that is not whitespace stands in `out`: kept, not searched for, so
    // that long runs of whitespace cost what they are long.
    let mut last: Option<usize> = None;
    for t in tokens {
        let prior = last.and_then(|k| out.get(k)).map(|o| &o.token);
        match &t.token {
            Token::Word(w)
                if w.quote_style.is_none()
                    && w.keyword == Keyword::UESCAPE
                    && matches!(prior, Some(Token::UnicodeStringLiteral(_))) =>
            {
                return Err("a U&'...' string with UESCAPE, whose escapes the tokenizer does not read".to_string());
            }
            Token::SingleQuotedString(piece) => {
                let line_break = last.and_then(|k| out.get(k + 1..)).is_some_and(|between| {
                    between.iter().any(|w| {
                        matches!(w.token, Token::Whitespace(Whitespace::Newline | Whitespace::SingleLineComment { .. }))
                    })
                });
                if let (true, Some(k)) = (line_break, last) {
                    match out.get_mut(k) {
                        Some(TokenWithSpan {
                            token: Token::SingleQuotedString(s) | Token::NationalStringLiteral(s),
                            span,
                        }) => {
                            s.push_str(piece);
                            *span = span.union(&t.span);
                            out.truncate(k + 1);
                            continue;
                        }
                        Some(TokenWithSpan {
                            token: Token::EscapedStringLiteral(_) | Token::UnicodeStringLiteral(_),
                            ..
                        }) => {
                            return Err(
                                "an E'...' or U&'...' string continued on the next line, whose escapes the tokenizer does not read there"
                                    .to_string(),
                            );
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        if !matches!(t.token, Token::Whitespace(_)) {
            last = Some(out.len());
        }
        out.push(t);
    }
    Ok(out)
}

/// PostgreSQL's `U&"d\0061ta"` (optionally `UESCAPE '!'`) is the identifier `data`; the tokenizer
/// reads it as `U`, `&`, `"d\0061ta"`. Merged here so that names are compared decoded.
fn decode_unicode_identifiers(tokens: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>, String> {
    let mut out: Vec<TokenWithSpan> = Vec::with_capacity(tokens.len());
    let mut iter = tokens.into_iter().peekable();
    while let Some(t) = iter.next() {
        let is_u = matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("u"));
        let amp_adjacent =
            is_u && iter.peek().is_some_and(|a| a.token == Token::Ampersand && a.span.start == t.span.end);
        if !amp_adjacent {
            out.push(t);
            continue;
        }
        let Some(amp) = iter.next() else { break };
        let quoted = iter.peek().is_some_and(|q| {
            matches!(&q.token, Token::Word(w) if w.quote_style == Some('"')) && q.span.start == amp.span.end
        });
        if !quoted {
            out.push(t);
            out.push(amp);
            continue;
        }
        let Some(ident) = iter.next() else { break };
        let Token::Word(w) = ident.token else { break };
        // An optional `UESCAPE 'c'` after it.
        let mut rest: Vec<TokenWithSpan> = Vec::new();
        let mut escape = '\\';
        while let Some(n) = iter.peek() {
            if matches!(n.token, Token::Whitespace(_)) {
                rest.extend(iter.next());
                continue;
            }
            break;
        }
        if iter.peek().is_some_and(|n| matches!(&n.token, Token::Word(k) if k.keyword == Keyword::UESCAPE)) {
            iter.next();
            while iter.peek().is_some_and(|n| matches!(n.token, Token::Whitespace(_))) {
                iter.next();
            }
            match iter.next().map(|n| n.token) {
                Some(Token::SingleQuotedString(s)) if s.chars().count() == 1 => {
                    escape = s.chars().next().unwrap_or('\\');
                }
                _ => return Err("UESCAPE needs one character in quotes".to_string()),
            }
            rest.clear();
        }
        let value = unescape(&w.value, escape).ok_or("an invalid escape in a U&\"...\" identifier")?;
        out.push(TokenWithSpan {
            token: Token::Word(Word { value, quote_style: Some('"'), keyword: Keyword::NoKeyword }),
            span: t.span.union(&ident.span),
        });
        out.extend(rest);
    }
    Ok(out)
}

/// `\XXXX` and `\+XXXXXX` code points, and the escape character doubled.
fn unescape(s: &str, escape: char) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != escape {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&escape) {
            chars.next();
            out.push(escape);
            continue;
        }
        let digits = if chars.peek() == Some(&'+') {
            chars.next();
            6
        } else {
            4
        };
        let hex: String = (0..digits).filter_map(|_| chars.next()).collect();
        if hex.len() != digits {
            return None;
        }
        let code = u32::from_str_radix(&hex, 16).ok()?;
        out.push(char::from_u32(code).filter(|c| *c != '\0')?);
    }
    Some(out)
}

/// Stands in [`Scan::schemas`] for a statement that may reach any schema (a `search_path` whose
/// value is not read, the planner's statistics): no schema's name can hold a NUL (a body with one
/// is unparsed), so it names none.
pub const ANY_SCHEMA: &str = "\0any schema";

/// The functions that read every schema's tables: a call reaches any schema.
const DATABASE_WIDE: &[&str] = &[
    "database_to_xml",
    "database_to_xmlschema",
    "database_to_xml_and_xmlschema",
    // The WAL and logical decoding: the rows every schema's changes wrote.
    "pg_get_wal_records_info",
    "pg_get_wal_records_info_till_end_of_wal",
    "pg_get_wal_record_info",
    "pg_get_wal_block_info",
    "pg_get_wal_fpi_info",
    "pg_logical_slot_get_changes",
    "pg_logical_slot_peek_changes",
    "pg_logical_slot_get_binary_changes",
    "pg_logical_slot_peek_binary_changes",
];

/// The planner's statistics: values sampled from every table's columns, whatever its schema
/// (`histogram_bounds`, `most_common_vals`).
const STATISTICS: &[&str] =
    &["pg_stats", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic", "pg_statistic_ext_data"];

/// The views that read the server's configuration files from disk, and the function each one
/// calls (a `pg_read_file` of pg_hba.conf, pg_ident.conf, postgresql.conf and what it includes).
const SERVER_FILE_VIEWS: &[(&str, &str)] = &[
    ("pg_hba_file_rules", "pg_hba_file_rules"),
    ("pg_ident_file_mappings", "pg_ident_file_mappings"),
    ("pg_file_settings", "pg_show_all_file_settings"),
];

/// What one statement's tokens show.
#[derive(Debug, Default)]
pub struct Scan {
    pub schemas: Vec<String>,
    pub functions: Vec<FunctionRef>,
    /// An unquoted keyword of the statement, other than its first: `DROP` in an `ALTER`.
    pub keywords: Vec<Keyword>,
    /// `set_config('role', ...)` or `set_config('session_authorization', ...)`: a `SET ROLE`.
    pub sets_role: bool,
    /// `standard_conforming_strings` set (`SET`, `set_config`, a role's or a function's `SET`):
    /// turned off, PostgreSQL reads a backslash in a `'...'` string as an escape (`'x\' , '` is
    /// one string), so SQL sent later may hold statements where the tokenizer reads strings.
    pub rereads_strings: bool,
    /// The schemas a `search_path` it sets names ([`ANY_SCHEMA`] for a value not read): a bare
    /// call from here on may be a function of any of them.
    pub search_path: Vec<String>,
    /// `x.name` not followed by `(`: PostgreSQL's attribute notation may call `name(x)` (a
    /// function of one row). Possible calls, for `deny_functions` only.
    pub attribute_calls: Vec<FunctionRef>,
    /// What the lists above hold, to add each once in constant time: a statement may name
    /// thousands of things.
    seen: HashSet<(u8, FunctionRef)>,
    /// The statement has no syntax tree (unparsed): its own `o.name` are read from its tokens.
    no_tree: bool,
}

impl Scan {
    /// Whether `f` is new to list `which` (0 schemas, 1 functions, 2 attribute calls, 3 path).
    fn first(&mut self, which: u8, f: &FunctionRef) -> bool {
        self.seen.insert((which, f.clone()))
    }

    fn schema(&mut self, name: &str) {
        let name = name.trim().trim_matches('"').to_ascii_lowercase();
        if !name.is_empty() && self.first(0, &FunctionRef { schema: None, name: name.clone() }) {
            self.schemas.push(name);
        }
    }

    fn function(&mut self, schema: Option<&str>, name: &str) {
        let f = FunctionRef { schema: schema.map(str::to_ascii_lowercase), name: name.to_ascii_lowercase() };
        if self.first(1, &f) {
            self.functions.push(f);
        }
    }

    fn attribute_call(&mut self, name: &str) {
        let f = FunctionRef { schema: None, name: name.to_ascii_lowercase() };
        if self.first(2, &f) {
            self.attribute_calls.push(f);
        }
    }

    /// A `search_path` set to a value that is not one constant (`set_config('search_path',
    /// 'au' || 'th', false)`, `UPDATE pg_settings`), or the statistics read: any schema.
    pub fn reaches_any_schema(&mut self) {
        self.schema(ANY_SCHEMA);
    }

    /// A schema `search_path` is set to (named, so also a schema the statement refers to).
    fn path_schema(&mut self, name: &str) {
        self.schema(name);
        let name = name.trim().trim_matches('"').to_ascii_lowercase();
        if !name.is_empty() && self.first(3, &FunctionRef { schema: None, name: name.clone() }) {
            self.search_path.push(name);
        }
    }

    /// `search_path` set to a value that is not read.
    pub fn path_reaches_any_schema(&mut self) {
        self.path_schema(ANY_SCHEMA);
    }

    /// SQL text built at run time: any schema, any function.
    fn runs_built_sql(&mut self) {
        self.reaches_any_schema();
        self.function(None, ANY_FUNCTION);
    }

    pub fn has(&self, k: Keyword) -> bool {
        self.keywords.contains(&k)
    }
}

fn significant(tokens: &[TokenWithSpan]) -> Vec<&Token> {
    tokens.iter().map(|t| &t.token).filter(|t| !matches!(t, Token::Whitespace(_))).collect()
}

/// How deep string bodies are scanned (a function body holding a `DO` holding ...).
const MAX_BODY_DEPTH: usize = 3;

/// Scans a statement's tokens. With `bodies`, the strings in it are code (a `DO` block, a function
/// body) and are scanned too.
pub fn scan(tokens: &[TokenWithSpan], bodies: bool) -> Scan {
    let mut out = Scan::default();
    scan_into(&significant(tokens), bodies, 0, &mut out);
    out
}

/// Scans a statement the grammar did not parse: no tree shows its own `o.name`, so they are read
/// from its tokens as possible calls, as a body's are.
pub fn scan_unparsed(tokens: &[TokenWithSpan], bodies: bool) -> Scan {
    let mut out = Scan { no_tree: true, ..Scan::default() };
    scan_into(&significant(tokens), bodies, 0, &mut out);
    out
}

/// Functions that take a schema, a table or another relation by name, as their first
/// argument (a string, or a `regclass` written as one): the strings among their arguments name
/// what they may (`a.b`: the schema `a`; a bare name: a schema), and a first argument that is not
/// one constant may name any schema's relation.
const NAME_TAKING: &[&str] = &[
    "table_to_xml",
    "table_to_xmlschema",
    "table_to_xml_and_xmlschema",
    "schema_to_xml",
    "schema_to_xmlschema",
    "schema_to_xml_and_xmlschema",
    "get_raw_page",
    "bt_page_items",
    "pg_buffercache_evict_relation",
    "pg_truncate_visibility_map",
    "heap_force_freeze",
    "heap_force_kill",
    "pgroonga_query_expand",
    "dblink_build_sql_insert",
    "dblink_build_sql_update",
    "dblink_build_sql_delete",
    "create_parent",
    "run_maintenance",
    "partition_data_proc",
    "undo_partition_proc",
    "reapply_constraints_proc",
    "refresh_continuous_aggregate",
    "partition_data_time",
    "partition_data_id",
    "undo_partition",
    "drop_partition_time",
    "drop_partition_id",
    "apply_privileges",
    "apply_cluster",
    "apply_constraints",
    "drop_constraints",
    "autovacuum_off",
    "autovacuum_reset",
    "inherit_replica_identity",
    "inherit_template_properties",
    "stop_sub_partition",
    "create_hypertable",
    "drop_chunks",
    "compress_chunk",
    "decompress_chunk",
    "move_chunk",
    "reorder_chunk",
    "add_retention_policy",
    "add_compression_policy",
    "add_columnstore_policy",
    "add_reorder_policy",
    "add_continuous_aggregate_policy",
    "addgeometrycolumn",
    "updategeometrysrid",
    "populate_geometry_columns",
    "dropgeometrycolumn",
    "dropgeometrytable",
    "addrasterconstraints",
    "droprasterconstraints",
    "addtopogeometrycolumn",
    "droptopogeometrycolumn",
    "addtosearchpath",
    "st_createoverview",
    "addoverviewconstraints",
    "dropoverviewconstraints",
    "_add_overview_constraint",
    "_drop_overview_constraint",
    "_drop_raster_constraint",
];

/// Families of [`NAME_TAKING`] functions: PostGIS raster's constraint internals.
const NAME_TAKING_PREFIXES: &[&str] = &["_add_raster_constraint_", "_drop_raster_constraint_"];

fn takes_names(name: &str) -> bool {
    NAME_TAKING.contains(&name) || NAME_TAKING_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// What a string among a [`NAME_TAKING`] call's arguments may name.
fn name_string(text: &str, out: &mut Scan) {
    let name = text.trim();
    if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '$' | '"')) {
        out.schema(name);
    }
    qualified_name(name, out);
}

/// Whether the first argument of the call whose `(` is at `open` is one constant string,
/// perhaps cast (`'auth.users'::regclass`).
fn first_argument_constant(toks: &[&Token], open: usize) -> bool {
    if toks.get(open + 1).is_none_or(|t| string_value(t).is_none()) {
        return false;
    }
    let mut i = open + 2;
    while toks.get(i) == Some(&&Token::DoubleColon) && matches!(toks.get(i + 1), Some(Token::Word(_))) {
        i += 2;
    }
    matches!(toks.get(i), Some(Token::Comma | Token::RParen))
}

/// Whether the arguments of the call whose `(` is at `open` are all constants: strings, numbers,
/// `true`, `false`, `null`, each perhaps cast (`'x'::text`). A column, a parameter, `||`, or a
/// nested call (`format(...)`) makes the SQL a call runs known only when it runs.
fn constant_arguments(toks: &[&Token], open: usize) -> bool {
    let mut i = open + 1;
    let mut expect_value = true;
    while let Some(t) = toks.get(i) {
        match t {
            Token::RParen if !expect_value || i == open + 1 => return true,
            Token::Comma if !expect_value => expect_value = true,
            Token::DoubleColon if !expect_value => {
                // The type's name, perhaps qualified or with a size: `::pg_catalog.varchar(10)`.
                i += 1;
                while let Some(Token::Word(_) | Token::Period) = toks.get(i + 1) {
                    i += 1;
                }
                if toks.get(i + 1) == Some(&&Token::LParen) {
                    while !matches!(toks.get(i), Some(Token::RParen) | None) {
                        i += 1;
                    }
                }
            }
            Token::Number(..) if expect_value => expect_value = false,
            // A named argument: `command := '...'`, `command => '...'`.
            Token::Word(_) if expect_value && matches!(toks.get(i + 1), Some(Token::Assignment | Token::RArrow)) => {
                i += 1;
            }
            Token::Word(w)
                if expect_value
                    && w.quote_style.is_none()
                    && matches!(w.keyword, Keyword::TRUE | Keyword::FALSE | Keyword::NULL) =>
            {
                expect_value = false
            }
            t if expect_value && string_value(t).is_some() => expect_value = false,
            _ => return false,
        }
        i += 1;
    }
    false
}

/// `FROM`, `JOIN`, `INTO`, `UPDATE`, `TABLE`, `ONLY` at `j`: the `a.b` after them is a relation
/// (but not after `IS DISTINCT FROM`).
fn names_relation(toks: &[&Token], j: usize) -> bool {
    let keyword = |j: usize| match toks.get(j) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    };
    match keyword(j) {
        Some(Keyword::FROM) => j.checked_sub(1).and_then(keyword) != Some(Keyword::DISTINCT),
        Some(k) => matches!(k, Keyword::JOIN | Keyword::INTO | Keyword::UPDATE | Keyword::TABLE | Keyword::ONLY),
        None => false,
    }
}

/// In a body (a `DO` block, a function's): `EXECUTE` of anything but one constant string
/// (`EXECUTE 'sql'`, then `;`, `USING` or `INTO`).
fn executes_built_sql(toks: &[&Token], i: usize) -> bool {
    // Not a command: `EXECUTE FUNCTION f()` in a trigger, `GRANT EXECUTE ON FUNCTION`.
    let word = |t: Option<&&Token>, keys: &[Keyword]| matches!(t, Some(Token::Word(w)) if w.quote_style.is_none() && keys.contains(&w.keyword));
    if word(toks.get(i + 1), &[Keyword::FUNCTION, Keyword::PROCEDURE, Keyword::ON])
        || word(i.checked_sub(1).and_then(|j| toks.get(j)), &[Keyword::GRANT, Keyword::REVOKE])
        || i.checked_sub(1).and_then(|j| toks.get(j)) == Some(&&Token::Comma)
    {
        return false;
    }
    let constant = toks.get(i + 1).is_some_and(|t| string_value(t).is_some());
    let ends = match toks.get(i + 2) {
        None | Some(Token::SemiColon | Token::EOF) => true,
        Some(Token::Word(w)) => w.quote_style.is_none() && matches!(w.keyword, Keyword::USING | Keyword::INTO),
        _ => false,
    };
    !(constant && ends)
}

/// The parentheses open around a token, and how many of them are a [`NAME_TAKING`] call's or a
/// dblink call's: one pass keeps them, so nested calls cost no more than flat ones.
#[derive(Default)]
struct Open {
    /// Each open parenthesis: whether it holds a name-taking call's arguments, a dblink call's.
    calls: Vec<(bool, bool)>,
    naming: usize,
    connecting: usize,
    /// The word just read is such a call's name: its `(` comes next.
    pending: bool,
    pending_connect: bool,
}

impl Open {
    fn see(&mut self, t: &Token) {
        match t {
            Token::LParen => {
                self.calls.push((self.pending, self.pending_connect));
                self.naming += usize::from(self.pending);
                self.connecting += usize::from(self.pending_connect);
            }
            Token::RParen => {
                if let Some((naming, connecting)) = self.calls.pop() {
                    self.naming -= usize::from(naming);
                    self.connecting -= usize::from(connecting);
                }
            }
            _ => {}
        }
        self.pending = false;
        self.pending_connect = false;
    }
}

/// dblink's functions that open a session from a connection string (or a dblink_fdw server's name).
const CONNECTING: &[&str] = &["dblink", "dblink_exec", "dblink_connect", "dblink_connect_u"];

/// A string among a dblink call's arguments that may be a connection string setting the remote
/// session's options (`options=-csearch_path=auth`), or naming a pg_service.conf entry that may
/// (`service=name`, `servicefile=path`), or a URI, whose percent-escapes may spell anything: the
/// SQL it runs there may read any schema by a bare name.
fn sets_connection_options(text: &str) -> bool {
    let lower = text.trim_start().to_ascii_lowercase();
    lower.contains("options")
        || lower.starts_with("postgres://")
        || lower.starts_with("postgresql://")
        || connection_keys(text).iter().any(|k| SERVICE_KEYS.contains(k))
}

/// The connection-string keys (and dblink_fdw server options) that name a pg_service.conf entry.
const SERVICE_KEYS: &[&str] = &["service", "servicefile"];

/// The keys of a libpq connection string, read as libpq reads them (`key = value`, the spaces
/// around `=` optional, a value in single quotes or not, `\` escaping the next character), up to
/// where it stops reading: text that is not one (a connection's name, SQL) has none.
fn connection_keys(text: &str) -> Vec<&str> {
    // C's isspace: ASCII whitespace and the vertical tab.
    let space = |c: char| c.is_ascii_whitespace() || c == '\x0b';
    let mut keys = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(space);
        if rest.is_empty() {
            return keys;
        }
        let (key, after) = rest.split_at(rest.find(|c: char| c == '=' || space(c)).unwrap_or(rest.len()));
        let Some(value) = after.trim_start_matches(space).strip_prefix('=') else { return keys };
        keys.push(key);
        rest = after_value(value.trim_start_matches(space));
    }
}

/// What follows a connection-string value: after its closing quote, or the space that ends it.
fn after_value(value: &str) -> &str {
    let quoted = value.starts_with('\'');
    let mut chars = value.char_indices().skip(usize::from(quoted));
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '\'' if quoted => return value.get(i + 1..).unwrap_or_default(),
            c if !quoted && (c.is_ascii_whitespace() || c == '\x0b') => return value.get(i..).unwrap_or_default(),
            _ => {}
        }
    }
    ""
}

fn scan_into(toks: &[&Token], bodies: bool, depth: usize, out: &mut Scan) {
    let mut names = Open::default();
    // In an `IMPORT FOREIGN SCHEMA` (until its `;`): its `INTO` names the schema it fills.
    let mut importing = false;
    // In a `CREATE` or `ALTER PUBLICATION` (until its `;`): `ALL TABLES` publishes every schema.
    let mut publishing = false;
    for (i, t) in toks.iter().enumerate() {
        let next = toks.get(i + 1);
        names.see(t);
        if *t == &Token::SemiColon {
            importing = false;
            publishing = false;
        }
        if names.naming > 0 {
            if let Some(text) = string_value(t) {
                name_string(text, out);
            }
        }
        if names.connecting > 0 && string_value(t).is_some_and(sets_connection_options) {
            out.reaches_any_schema();
        }
        match t {
            Token::Word(w) => {
                if w.quote_style.is_none()
                    && w.keyword != Keyword::NoKeyword
                    && i > 0
                    && !out.keywords.contains(&w.keyword)
                {
                    out.keywords.push(w.keyword);
                }
                // `schema.name`: every qualifier is a possible schema.
                if next == Some(&&Token::Period) {
                    out.schema(&w.value);
                }
                // `name(` or `schema.name(`: a call (also types and column lists: harmless here).
                if next == Some(&&Token::LParen) {
                    let qualifier =
                        match (i.checked_sub(2).and_then(|j| toks.get(j)), i.checked_sub(1).map(|j| toks.get(j))) {
                            (Some(Token::Word(q)), Some(Some(Token::Period))) => Some(q.value.as_str()),
                            _ => None,
                        };
                    out.function(qualifier, &w.value);
                    let call = FunctionRef {
                        schema: qualifier.map(str::to_ascii_lowercase),
                        name: w.value.to_ascii_lowercase(),
                    };
                    if runs_sql_strings(&call) && !constant_arguments(toks, i + 1) {
                        out.runs_built_sql();
                    }
                    if takes_names(&call.name) {
                        names.pending = true;
                        // `run_maintenance()`: every partition set, each made by a call that
                        // named its table (`populate_geometry_columns()` reaches every table).
                        let every_set = call.name == "run_maintenance" && toks.get(i + 2) == Some(&&Token::RParen);
                        if !every_set && !first_argument_constant(toks, i + 1) {
                            out.reaches_any_schema();
                        }
                    }
                    // `to_regclass('auth.users')`, `to_regnamespace('auth')`: a name looked up.
                    if let Some(kind) = call.name.strip_prefix("to_").and_then(object_type) {
                        if let Some(text) = toks.get(i + 2).and_then(|t| string_value(t)) {
                            object_name(text, kind, out);
                        }
                    }
                    if DATABASE_WIDE.contains(&call.name.as_str()) {
                        out.reaches_any_schema();
                    }
                    // postgis_topology's `AddToSearchPath('cron')`: the database's path, kept.
                    if call.name == "addtosearchpath" {
                        match toks.get(i + 2).and_then(|t| string_value(t)) {
                            Some(schema) if first_argument_constant(toks, i + 1) => out.path_schema(schema),
                            _ => out.path_reaches_any_schema(),
                        }
                    }
                    // A dblink connection string built at run time may set any options.
                    if CONNECTING.contains(&call.name.as_str()) {
                        names.pending_connect = true;
                        if !constant_arguments(toks, i + 1) {
                            out.reaches_any_schema();
                        }
                    }
                } else if (depth > 0 || out.no_tree)
                    && i > 0
                    && toks.get(i - 1) == Some(&&Token::Period)
                    && next != Some(&&Token::Period)
                    && !i.checked_sub(3).is_some_and(|j| names_relation(toks, j))
                {
                    // In a body, `o.name`, `(o).name`: perhaps `name(o)` (a statement's own tree
                    // shows these; a body's text is only tokens).
                    out.attribute_call(&w.value);
                }
                // A body in a language other than SQL and PL/pgSQL (`LANGUAGE plv8`): its SQL is
                // in strings this reading does not reach.
                if bodies
                    && depth == 0
                    && w.quote_style.is_none()
                    && w.keyword == Keyword::LANGUAGE
                    && !matches!(i.checked_sub(1).and_then(|j| toks.get(j)), Some(Token::LParen | Token::Comma))
                {
                    let language = match next {
                        Some(Token::Word(l)) => Some(l.value.as_str()),
                        Some(t) => string_value(t),
                        None => None,
                    };
                    if !language.is_some_and(|l| l.eq_ignore_ascii_case("sql") || l.eq_ignore_ascii_case("plpgsql")) {
                        out.runs_built_sql();
                    }
                }
                // `EXECUTE` in a body runs the SQL text that follows it.
                if depth > 0 && w.quote_style.is_none() && w.keyword == Keyword::EXECUTE && executes_built_sql(toks, i)
                {
                    out.runs_built_sql();
                }
                // `sfunc = name`, `handler schema.name`: a function bound by name, called later;
                // `WITH FUNCTION name` (a cast's, a transform's): its argument types may be left out.
                let with_function = w.quote_style.is_none()
                    && w.keyword == Keyword::FUNCTION
                    && matches!(i.checked_sub(1).and_then(|j| toks.get(j)), Some(Token::Word(p)) if p.quote_style.is_none() && p.keyword == Keyword::WITH);
                if with_function || binds_function(w, next.copied()) {
                    bound_function(toks.get(i + 1..).unwrap_or_default(), out);
                }
                if w.quote_style.is_none() && matches!(w.keyword, Keyword::SCHEMA | Keyword::SCHEMAS) {
                    if sets_schema(toks, i) {
                        search_path(toks.get(i + 1..).unwrap_or_default(), out);
                    } else {
                        schema_list(toks.get(i + 1..).unwrap_or_default(), out);
                    }
                }
                if w.value.eq_ignore_ascii_case("search_path") {
                    search_path(toks.get(i + 1..).unwrap_or_default(), out);
                }
                // A server's `options '-csearch_path=auth'` (dblink_fdw), or its `service 'name'`
                // (a pg_service.conf entry that may set them): the session dblink opens through it
                // reads any schema by a bare name.
                let option = |names: &[&str]| names.iter().any(|o| w.value.eq_ignore_ascii_case(o));
                if (option(&["options"]) || option(SERVICE_KEYS)) && next.is_some_and(|t| string_value(t).is_some()) {
                    out.reaches_any_schema();
                }
                if w.quote_style.is_none() {
                    let created = matches!(i.checked_sub(1).and_then(|j| toks.get(j)), Some(Token::Word(c)) if c.quote_style.is_none() && matches!(c.keyword, Keyword::CREATE | Keyword::ALTER));
                    publishing |= created && w.value.eq_ignore_ascii_case("publication");
                    // `FOR ALL TABLES` (or `SEQUENCES`): every schema's rows sent to subscribers.
                    if publishing
                        && w.keyword == Keyword::ALL
                        && matches!(next, Some(Token::Word(n)) if n.quote_style.is_none() && (n.value.eq_ignore_ascii_case("tables") || n.value.eq_ignore_ascii_case("sequences")))
                    {
                        out.reaches_any_schema();
                    }
                    // A subscription writes a publication's rows into the tables of the same
                    // names, in whatever schema the publisher has them.
                    if created && w.value.eq_ignore_ascii_case("subscription") {
                        out.reaches_any_schema();
                    }
                    importing |= w.value.eq_ignore_ascii_case("import")
                        && matches!(next, Some(Token::Word(f)) if f.value.eq_ignore_ascii_case("foreign"));
                    if importing && w.keyword == Keyword::INTO {
                        if let Some(Token::Word(schema)) = next {
                            out.schema(&schema.value);
                        }
                    }
                }
                // postgres_fdw's `schema_name 'auth'` option: a foreign table read from that schema
                // (of this database, through a server that leads back to it).
                if w.value.eq_ignore_ascii_case("schema_name") {
                    if let Some(schema) = next.and_then(|t| string_value(t)) {
                        out.schema(schema);
                    }
                }
                // `UPDATE [ONLY] [pg_catalog.]pg_settings` in a body or an unparsed statement (a
                // statement's own tree shows it otherwise): it may set `search_path` and
                // `standard_conforming_strings`, whatever its WHERE.
                if (depth > 0 || out.no_tree)
                    && w.quote_style.is_none()
                    && w.keyword == Keyword::UPDATE
                    && updates_settings(toks.get(i + 1..).unwrap_or_default())
                {
                    out.path_reaches_any_schema();
                    out.rereads_strings = true;
                }
                // `SET [LOCAL | SESSION] standard_conforming_strings`, in any statement.
                if w.value.eq_ignore_ascii_case(STRINGS_SETTING)
                    && matches!(i.checked_sub(1).and_then(|j| toks.get(j)), Some(Token::Word(s)) if s.quote_style.is_none() && matches!(s.keyword, Keyword::SET | Keyword::LOCAL | Keyword::SESSION))
                {
                    out.rereads_strings = true;
                }
                // `nextval('auth.s')`: the sequence is named by a string, read when it runs.
                if next == Some(&&Token::LParen) && SEQUENCE_FUNCTIONS.iter().any(|f| w.value.eq_ignore_ascii_case(f)) {
                    sequence_argument(toks.get(i + 2..).unwrap_or_default(), out);
                }
                if STATISTICS.iter().any(|v| w.value.eq_ignore_ascii_case(v)) {
                    out.reaches_any_schema();
                }
                // A view that reads the server's files calls the function that does.
                if let Some((_, f)) = SERVER_FILE_VIEWS.iter().find(|(v, _)| w.value.eq_ignore_ascii_case(v)) {
                    out.function(None, f);
                }
                // The setting's name, unless it is one constant: anything else may name `role`.
                if w.value.eq_ignore_ascii_case("set_config") && next == Some(&&Token::LParen) {
                    // `setting_name => 'role'`: the name given by its parameter's name.
                    let a = match (toks.get(i + 2), toks.get(i + 3)) {
                        (Some(Token::Word(p)), Some(Token::RArrow | Token::Assignment))
                            if p.value.eq_ignore_ascii_case("setting_name") =>
                        {
                            i + 4
                        }
                        _ => i + 2,
                    };
                    match (toks.get(a).and_then(|t| string_value(t)), toks.get(a + 1)) {
                        (Some(name), Some(Token::Comma)) => {
                            out.sets_role |= is_role_setting(name);
                            out.rereads_strings |= name.eq_ignore_ascii_case(STRINGS_SETTING);
                            let value = (toks.get(a + 2).and_then(|t| string_value(t)), toks.get(a + 3));
                            if name.eq_ignore_ascii_case("search_path")
                                && !matches!(value, (Some(_), Some(Token::Comma)))
                            {
                                out.path_reaches_any_schema();
                            }
                        }
                        _ => {
                            out.sets_role = true;
                            out.rereads_strings = true;
                            out.path_reaches_any_schema();
                        }
                    }
                }
            }
            // `'auth.users'::regclass`, `cast('auth' as regnamespace)`, `regproc 'auth.uid'`: an
            // object, or a schema, named by a string.
            t if string_value(t).is_some() && object_type_of(toks, i).is_some() => {
                if let (Some(text), Some(kind)) = (string_value(t), object_type_of(toks, i)) {
                    object_name(text, kind, out);
                }
            }
            // `set_config('search_path', 'auth', false)`.
            t if next == Some(&&Token::Comma)
                && string_value(t).is_some_and(|s| s.eq_ignore_ascii_case("search_path")) =>
            {
                if let Some(v) = toks.get(i + 2).and_then(|t| string_value(t)) {
                    for part in v.split(',') {
                        out.path_schema(part);
                    }
                }
            }
            t if bodies && depth < MAX_BODY_DEPTH => {
                if let Some(text) = string_value(t) {
                    body(text, depth, out)
                }
            }
            // Code nested deeper than is read: it may reach anything.
            t if bodies && string_value(t).is_some() => out.runs_built_sql(),
            _ => {}
        }
    }
}

/// The tokens after `UPDATE`: `[ONLY] [schema.]pg_settings`.
fn updates_settings(toks: &[&Token]) -> bool {
    let toks = match toks.first() {
        Some(Token::Word(w)) if w.quote_style.is_none() && w.keyword == Keyword::ONLY => {
            toks.get(1..).unwrap_or_default()
        }
        _ => toks,
    };
    let table = match toks {
        [Token::Word(_), Token::Period, Token::Word(t), ..] | [Token::Word(t), ..] => t,
        _ => return false,
    };
    table.value.eq_ignore_ascii_case("pg_settings")
}

/// A string constant's text, however PostgreSQL lets it be written: `'...'`, `E'...'`,
/// `U&'...'`, `N'...'`, `$$...$$`.
fn string_value(t: &Token) -> Option<&str> {
    match t {
        Token::SingleQuotedString(s)
        | Token::EscapedStringLiteral(s)
        | Token::UnicodeStringLiteral(s)
        | Token::NationalStringLiteral(s) => Some(s),
        Token::DollarQuotedString(d) => Some(&d.value),
        _ => None,
    }
}

/// The options that name a function without calling it: an operator's or an aggregate's, a type's
/// input and output, a range type's canonical and subtype_diff, a language's or a foreign-data
/// wrapper's handler.
const FUNCTION_OPTIONS: &[&str] = &[
    "function",
    "procedure",
    "restrict",
    "join",
    "sfunc",
    // The old spelling of `sfunc`, still read.
    "sfunc1",
    "finalfunc",
    "combinefunc",
    "serialfunc",
    "deserialfunc",
    "msfunc",
    "minvfunc",
    "mfinalfunc",
    "input",
    "output",
    "receive",
    "send",
    "typmod_in",
    "typmod_out",
    "analyze",
    "subscript",
    "canonical",
    "subtype_diff",
];

/// `option =` (one of the options above, its name perhaps in double quotes: PostgreSQL reads
/// `"sfunc" = f` as `sfunc = f`) or `HANDLER` / `VALIDATOR` / `INLINE` before a name.
fn binds_function(word: &Word, next: Option<&Token>) -> bool {
    let named = |names: &[&str]| names.iter().any(|o| word.value.eq_ignore_ascii_case(o));
    match next {
        Some(Token::Eq) => named(FUNCTION_OPTIONS),
        Some(Token::Word(_)) => word.quote_style.is_none() && named(&["handler", "validator", "inline"]),
        _ => false,
    }
}

/// The function named after `=` (or right away): `name` or `schema.name`.
fn bound_function(toks: &[&Token], out: &mut Scan) {
    let toks = match toks.first() {
        Some(Token::Eq) => toks.get(1..).unwrap_or_default(),
        _ => toks,
    };
    match toks {
        [Token::Word(schema), Token::Period, Token::Word(name), ..] => out.function(Some(&schema.value), &name.value),
        [Token::Word(name), ..] => out.function(None, &name.value),
        _ => {}
    }
}

/// A `SET role = ...` (or `session_authorization`) clause among a statement's own words: a
/// function that switches role whenever it is called.
pub fn has_role_clause(tokens: &[TokenWithSpan]) -> bool {
    significant(tokens).windows(2).any(|pair| match pair {
        [Token::Word(set), Token::Word(name)] => {
            set.quote_style.is_none() && set.keyword == Keyword::SET && is_role_setting(&name.value)
        }
        _ => false,
    })
}

/// The setting that decides whether a backslash in a `'...'` string is an escape.
pub const STRINGS_SETTING: &str = "standard_conforming_strings";

/// The settings that change who the session is: setting them is `SET ROLE`.
pub fn is_role_setting(name: &str) -> bool {
    name.eq_ignore_ascii_case("role") || name.eq_ignore_ascii_case("session_authorization")
}

/// A string that is code: scanned with the same rules (its own strings are code too). One the
/// tokenizer cannot read may still be code PostgreSQL reads (`#--` is an operator to the
/// tokenizer, which then reads a quote in what PostgreSQL reads as a comment; a `UESCAPE`): a
/// body's own text, or a string in it that spans lines or holds `--`, `/*` or `UESCAPE`, may then
/// be anything. Other strings in a body are often not code (`raise notice 'it''s done'`).
fn body(text: &str, depth: usize, out: &mut Scan) {
    match read_tokens(text) {
        Ok(tokens) => {
            let toks = significant(&tokens);
            let before = out.keywords.len();
            scan_into(&toks, true, depth + 1, out);
            // Keywords inside a body describe the body, not the statement that holds it.
            out.keywords.truncate(before);
        }
        Err(_) if depth == 0 || may_be_read_otherwise(text) => out.runs_built_sql(),
        Err(_) => {}
    }
}

/// Whether PostgreSQL may read this text otherwise than the tokenizer does.
fn may_be_read_otherwise(text: &str) -> bool {
    text.contains("--")
        || text.contains("/*")
        || text.contains(['\n', '\r'])
        || text.to_ascii_lowercase().contains("uescape")
}

/// `SET [LOCAL | SESSION] SCHEMA 'a'` (`SCHEMA` at `i`): PostgreSQL's `SET search_path TO 'a'`
/// (`ALTER TABLE t SET SCHEMA a` takes a name, not a string).
fn sets_schema(toks: &[&Token], i: usize) -> bool {
    let word = |j: Option<usize>, keys: &[Keyword]| matches!(j.and_then(|j| toks.get(j)), Some(Token::Word(w)) if w.quote_style.is_none() && keys.contains(&w.keyword));
    let set = word(i.checked_sub(1), &[Keyword::SET])
        || (word(i.checked_sub(1), &[Keyword::LOCAL, Keyword::SESSION]) && word(i.checked_sub(2), &[Keyword::SET]));
    set && toks.get(i + 1).is_some_and(|t| string_value(t).is_some())
}

/// `SCHEMA [IF [NOT] EXISTS] a, b` and `SCHEMA 'a'`.
fn schema_list(toks: &[&Token], out: &mut Scan) {
    let mut expect_name = true;
    for t in toks {
        match t {
            // `CREATE SCHEMA AUTHORIZATION r` names the schema after the role.
            Token::Word(w)
                if w.quote_style.is_none()
                    && matches!(w.keyword, Keyword::IF | Keyword::NOT | Keyword::EXISTS | Keyword::AUTHORIZATION) => {}
            Token::Word(w) if expect_name => {
                out.schema(&w.value);
                expect_name = false;
            }
            t if expect_name && string_value(t).is_some() => {
                for part in string_value(t).unwrap_or_default().split(',') {
                    out.schema(part);
                }
                expect_name = false;
            }
            Token::Comma if !expect_name => expect_name = true,
            _ => break,
        }
    }
}

/// The functions whose first argument names a sequence, as a string or a `regclass`.
const SEQUENCE_FUNCTIONS: &[&str] = &["nextval", "setval", "currval", "pg_sequence_last_value"];

/// A sequence function's first argument: one constant (`'auth.s'`, `'auth.s'::regclass`), the
/// sequence of a column named by constants (`pg_get_serial_sequence('auth.users', 'id')`), or
/// else a value that is not read, which may name any schema's sequence.
fn sequence_argument(toks: &[&Token], out: &mut Scan) {
    let name = match toks {
        [t, Token::RParen | Token::Comma | Token::DoubleColon, ..] => string_value(t),
        [Token::Word(f), Token::LParen, t, Token::Comma, ..]
            if f.value.eq_ignore_ascii_case("pg_get_serial_sequence") =>
        {
            string_value(t)
        }
        _ => None,
    };
    match name {
        Some(name) => qualified_name(name, out),
        None => out.reaches_any_schema(),
    }
}

/// The object identifier types whose input is an object's name, perhaps qualified by its schema
/// (a `regprocedure`'s and a `regoperator`'s with their argument types'), or a schema's own
/// (`regnamespace`).
const OBJECT_NAME_TYPES: &[&str] = &[
    "regclass",
    "regcollation",
    "regconfig",
    "regdictionary",
    "regnamespace",
    "regoper",
    "regoperator",
    "regproc",
    "regprocedure",
    "regtype",
];

fn object_type(name: &str) -> Option<&'static str> {
    OBJECT_NAME_TYPES.iter().find(|t| name.eq_ignore_ascii_case(t)).copied()
}

/// The object identifier type the constant at `i` is read as, if any: written before it
/// (`regclass 'auth.users'`), or cast to after it, through any casts and parentheses between
/// (`'auth'::text::regnamespace`, `cast(cast('auth.users' as text) as regclass)`,
/// `('auth')::regnamespace`).
fn object_type_of(toks: &[&Token], i: usize) -> Option<&'static str> {
    if let Some(Token::Word(w)) = i.checked_sub(1).and_then(|j| toks.get(j)) {
        if let Some(kind) = object_type(&w.value) {
            return Some(kind);
        }
    }
    let is_word = |j: Option<usize>, k: Keyword| matches!(j.and_then(|j| toks.get(j)), Some(Token::Word(w)) if w.quote_style.is_none() && w.keyword == k);
    // The expression that holds the constant spans `start..=end`.
    let (mut start, mut end) = (i, i);
    loop {
        while toks.get(end + 1) == Some(&&Token::DoubleColon) {
            let (last, kind) = type_name(toks, end + 2)?;
            if kind.is_some() {
                return kind;
            }
            end = last;
        }
        if start.checked_sub(1).and_then(|j| toks.get(j)) != Some(&&Token::LParen) {
            return None;
        }
        if toks.get(end + 1) == Some(&&Token::RParen) {
            start -= 1;
            end += 1;
        } else if is_word(Some(end + 1), Keyword::AS) && is_word(start.checked_sub(2), Keyword::CAST) {
            let (last, kind) = type_name(toks, end + 2)?;
            if kind.is_some() {
                return kind;
            }
            if toks.get(last + 1) != Some(&&Token::RParen) {
                return None;
            }
            start -= 2;
            end = last + 1;
        } else {
            return None;
        }
    }
}

/// The type named from `j` (`regclass`, `pg_catalog.regclass`, `character varying(10)`,
/// `text[]`): where its name ends, and the object identifier type it is, if it is one.
fn type_name(toks: &[&Token], j: usize) -> Option<(usize, Option<&'static str>)> {
    let Some(Token::Word(first)) = toks.get(j) else { return None };
    let (mut w, mut end) = (first, j);
    while toks.get(end + 1) == Some(&&Token::Period) {
        let Some(Token::Word(n)) = toks.get(end + 2) else { return None };
        w = n;
        end += 2;
    }
    let kind = object_type(&w.value);
    while let Some(Token::Word(n)) = toks.get(end + 1) {
        let more = matches!(
            n.keyword,
            Keyword::VARYING | Keyword::PRECISION | Keyword::WITH | Keyword::WITHOUT | Keyword::TIME | Keyword::ZONE
        );
        if n.quote_style.is_some() || !more {
            break;
        }
        end += 1;
    }
    if toks.get(end + 1) == Some(&&Token::LParen) {
        end += toks.get(end + 1..)?.iter().position(|t| *t == &Token::RParen)? + 1;
    }
    while toks.get(end + 1) == Some(&&Token::LBracket) && toks.get(end + 2) == Some(&&Token::RBracket) {
        end += 2;
    }
    Some((end, kind))
}

/// What a constant read as an object identifier type names: a schema (`regnamespace`), or
/// objects whose qualifiers are schemas (a function's name and its arguments' types, each element
/// of an array).
fn object_name(text: &str, kind: &str, out: &mut Scan) {
    for name in text.split(['(', ')', ',', '{', '}']) {
        if kind == "regnamespace" {
            out.schema(name);
        } else {
            qualified_name(name.trim(), out);
        }
    }
}

/// `schema.name` written in a string: every qualifier is a possible schema.
fn qualified_name(text: &str, out: &mut Scan) {
    if let Some((qualifiers, _)) = text.rsplit_once('.') {
        for part in qualifiers.split('.') {
            out.schema(part);
        }
    }
}

/// `search_path [=|TO] a, 'b, c', "d"`.
fn search_path(toks: &[&Token], out: &mut Scan) {
    let toks = match toks.first() {
        Some(Token::Eq) => toks.get(1..).unwrap_or_default(),
        Some(Token::Word(w)) if w.quote_style.is_none() && w.keyword == Keyword::TO => {
            toks.get(1..).unwrap_or_default()
        }
        _ => toks,
    };
    let mut expect_name = true;
    for t in toks {
        match t {
            Token::Word(w) if expect_name => {
                out.path_schema(&w.value);
                expect_name = false;
            }
            t if expect_name && string_value(t).is_some() => {
                for part in string_value(t).unwrap_or_default().split(',') {
                    out.path_schema(part);
                }
                expect_name = false;
            }
            Token::Comma if !expect_name => expect_name = true,
            // `'cr'` then `'on'` on the next line: PostgreSQL reads one constant, `'cron'`.
            t if string_value(t).is_some() => {
                out.path_reaches_any_schema();
                break;
            }
            _ => break,
        }
    }
}

/// Whether a `DELETE` or `UPDATE` among these tokens may reach every row: one that begins a
/// command (first, or after `(` or `)`, as in a CTE's body or after an EXPLAIN's options, or
/// after `ANALYZE` or `VERBOSE`) with no `WHERE` after it at its own depth of parentheses.
pub fn unfiltered_delete_or_update(tokens: &[TokenWithSpan]) -> bool {
    let toks = significant(tokens);
    toks.iter().enumerate().any(|(i, t)| {
        let Token::Word(w) = t else { return false };
        if w.quote_style.is_some() || !matches!(w.keyword, Keyword::DELETE | Keyword::UPDATE) {
            return false;
        }
        let begins = match i.checked_sub(1).and_then(|j| toks.get(j)) {
            None | Some(Token::LParen | Token::RParen) => true,
            Some(Token::Word(p)) => {
                p.quote_style.is_none()
                    && (matches!(p.keyword, Keyword::ANALYZE | Keyword::VERBOSE)
                        || p.value.eq_ignore_ascii_case("analyse"))
            }
            _ => false,
        };
        begins && !where_follows(toks.get(i + 1..).unwrap_or_default())
    })
}

/// A `WHERE` before the parenthesis that closes the group these tokens start in.
fn where_follows(toks: &[&Token]) -> bool {
    let mut depth = 0usize;
    for t in toks {
        match t {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => return false,
            Token::RParen => depth -= 1,
            Token::Word(w) if depth == 0 && w.quote_style.is_none() && w.keyword == Keyword::WHERE => return true,
            _ => {}
        }
    }
    false
}

/// The first significant word of a statement, upper case.
pub fn leading_keyword(tokens: &[TokenWithSpan]) -> Option<String> {
    tokens.iter().find_map(|t| match &t.token {
        Token::Whitespace(_) => None,
        Token::Word(w) if w.quote_style.is_none() => Some(Some(w.value.to_ascii_uppercase())),
        _ => Some(None),
    })?
}

/// The second significant word of a statement, upper case, if it is an unquoted word.
pub fn second_keyword(tokens: &[TokenWithSpan]) -> Option<String> {
    match significant(tokens).get(1) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// The command words of a statement: `DROP TABLE`, `CREATE MATERIALIZED VIEW`, `ALTER DEFAULT
/// PRIVILEGES`, skipping `OR REPLACE`, `TEMPORARY`, `IF NOT EXISTS` and the like.
pub fn command_label(tokens: &[TokenWithSpan]) -> String {
    let words: Vec<&Word> = tokens
        .iter()
        .filter_map(|t| match &t.token {
            Token::Whitespace(_) => None,
            Token::Word(w) if w.quote_style.is_none() => Some(Some(w)),
            _ => Some(None),
        })
        .map_while(|w| w)
        .take(8)
        .collect();
    let Some(first) = words.first() else { return "statement".to_string() };
    let mut label = first.value.to_ascii_uppercase();
    if !matches!(first.keyword, Keyword::CREATE | Keyword::ALTER | Keyword::DROP | Keyword::COMMENT | Keyword::REFRESH)
    {
        return label;
    }
    let skip = [
        Keyword::OR,
        Keyword::REPLACE,
        Keyword::TEMP,
        Keyword::TEMPORARY,
        Keyword::UNIQUE,
        Keyword::IF,
        Keyword::NOT,
        Keyword::EXISTS,
        Keyword::GLOBAL,
        Keyword::LOCAL,
        Keyword::UNLOGGED,
        Keyword::CONCURRENTLY,
        Keyword::RECURSIVE,
    ];
    let mut taken = 0;
    for w in words.iter().skip(1) {
        if skip.contains(&w.keyword) {
            continue;
        }
        if w.keyword == Keyword::NoKeyword || taken == 2 {
            break;
        }
        label.push(' ');
        label.push_str(&w.value.to_ascii_uppercase());
        taken += 1;
        // `CREATE TABLE`, `DROP FUNCTION`: one word names the kind, except these two-word kinds.
        if !matches!(
            w.keyword,
            Keyword::ON
                | Keyword::MATERIALIZED
                | Keyword::DEFAULT
                | Keyword::FOREIGN
                | Keyword::EVENT
                | Keyword::TEXT
                | Keyword::ACCESS
        ) {
            break;
        }
    }
    label
}
