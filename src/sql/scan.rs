//! What a statement's tokens show, whatever its syntax tree: the schemas it names (`auth.users`,
//! `SCHEMA auth`, `search_path` values), the functions it calls (`name(`), and the keywords that
//! change its class. The tokens are the grammar's own (`sqlparser`'s PostgreSQL tokenizer), so
//! strings, comments and dollar quoting are what PostgreSQL reads them as.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Word};

use super::FunctionRef;

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

/// Tokens with their places, `U&"..."` identifiers decoded.
fn read_tokens(sql: &str) -> Result<Vec<TokenWithSpan>, String> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().map_err(|e| e.to_string())?;
    decode_unicode_identifiers(tokens)
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

/// The planner's statistics: values sampled from every table's columns, whatever its schema
/// (`histogram_bounds`, `most_common_vals`).
const STATISTICS: &[&str] =
    &["pg_stats", "pg_stats_ext", "pg_stats_ext_exprs", "pg_statistic", "pg_statistic_ext_data"];

/// What one statement's tokens show.
#[derive(Debug, Default)]
pub struct Scan {
    pub schemas: Vec<String>,
    pub functions: Vec<FunctionRef>,
    /// An unquoted keyword of the statement, other than its first: `DROP` in an `ALTER`.
    pub keywords: Vec<Keyword>,
    /// `set_config('role', ...)` or `set_config('session_authorization', ...)`: a `SET ROLE`.
    pub sets_role: bool,
}

impl Scan {
    fn schema(&mut self, name: &str) {
        let name = name.trim().trim_matches('"').to_ascii_lowercase();
        if !name.is_empty() && !self.schemas.contains(&name) {
            self.schemas.push(name);
        }
    }

    fn function(&mut self, schema: Option<&str>, name: &str) {
        let f = FunctionRef { schema: schema.map(str::to_ascii_lowercase), name: name.to_ascii_lowercase() };
        if !self.functions.contains(&f) {
            self.functions.push(f);
        }
    }

    /// A `search_path` set to a value that is not one constant (`set_config('search_path',
    /// 'au' || 'th', false)`, `UPDATE pg_settings`), or the statistics read: any schema.
    pub fn reaches_any_schema(&mut self) {
        if !self.schemas.iter().any(|s| s == ANY_SCHEMA) {
            self.schemas.push(ANY_SCHEMA.to_string());
        }
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

fn scan_into(toks: &[&Token], bodies: bool, depth: usize, out: &mut Scan) {
    for (i, t) in toks.iter().enumerate() {
        let next = toks.get(i + 1);
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
                }
                // `sfunc = name`, `handler schema.name`: a function bound by name, called later.
                if w.quote_style.is_none() && binds_function(&w.value, next.copied()) {
                    bound_function(toks.get(i + 1..).unwrap_or_default(), out);
                }
                if w.quote_style.is_none() && matches!(w.keyword, Keyword::SCHEMA | Keyword::SCHEMAS) {
                    schema_list(toks.get(i + 1..).unwrap_or_default(), out);
                }
                if w.value.eq_ignore_ascii_case("search_path") {
                    search_path(toks.get(i + 1..).unwrap_or_default(), out);
                }
                // `nextval('auth.s')`: the sequence is named by a string, read when it runs.
                if next == Some(&&Token::LParen) && SEQUENCE_FUNCTIONS.iter().any(|f| w.value.eq_ignore_ascii_case(f)) {
                    sequence_argument(toks.get(i + 2..).unwrap_or_default(), out);
                }
                if STATISTICS.iter().any(|v| w.value.eq_ignore_ascii_case(v)) {
                    out.reaches_any_schema();
                }
                // The setting's name, unless it is one constant: anything else may name `role`.
                if w.value.eq_ignore_ascii_case("set_config") && next == Some(&&Token::LParen) {
                    match (toks.get(i + 2).and_then(|t| string_value(t)), toks.get(i + 3)) {
                        (Some(name), Some(Token::Comma)) => {
                            out.sets_role |= is_role_setting(name);
                            let value = (toks.get(i + 4).and_then(|t| string_value(t)), toks.get(i + 5));
                            if name.eq_ignore_ascii_case("search_path")
                                && !matches!(value, (Some(_), Some(Token::Comma)))
                            {
                                out.reaches_any_schema();
                            }
                        }
                        _ => {
                            out.sets_role = true;
                            out.reaches_any_schema();
                        }
                    }
                }
            }
            // `'auth.users'::regclass`: a relation named by a string.
            t if next == Some(&&Token::DoubleColon)
                && matches!(toks.get(i + 2), Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("regclass")) =>
            {
                if let Some(name) = string_value(t) {
                    qualified_name(name, out);
                }
            }
            // `set_config('search_path', 'auth', false)`.
            t if next == Some(&&Token::Comma)
                && string_value(t).is_some_and(|s| s.eq_ignore_ascii_case("search_path")) =>
            {
                if let Some(v) = toks.get(i + 2).and_then(|t| string_value(t)) {
                    for part in v.split(',') {
                        out.schema(part);
                    }
                }
            }
            t if bodies && depth < MAX_BODY_DEPTH => {
                if let Some(text) = string_value(t) {
                    body(text, depth, out)
                }
            }
            _ => {}
        }
    }
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

/// `option =` (one of the options above) or `HANDLER` / `VALIDATOR` before a name.
fn binds_function(word: &str, next: Option<&Token>) -> bool {
    match next {
        Some(Token::Eq) => FUNCTION_OPTIONS.iter().any(|o| word.eq_ignore_ascii_case(o)),
        Some(Token::Word(_)) => word.eq_ignore_ascii_case("handler") || word.eq_ignore_ascii_case("validator"),
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

/// The settings that change who the session is: setting them is `SET ROLE`.
pub fn is_role_setting(name: &str) -> bool {
    name.eq_ignore_ascii_case("role") || name.eq_ignore_ascii_case("session_authorization")
}

/// A string that is code: scanned with the same rules (its own strings are code too).
fn body(text: &str, depth: usize, out: &mut Scan) {
    if let Ok(tokens) = read_tokens(text) {
        let toks = significant(&tokens);
        let before = out.keywords.len();
        scan_into(&toks, true, depth + 1, out);
        // Keywords inside a body describe the body, not the statement that holds it.
        out.keywords.truncate(before);
    }
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
