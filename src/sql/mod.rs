//! SQL judged by a PostgreSQL grammar: every statement of a body is parsed (`sqlparser`, its
//! PostgreSQL dialect), classified into one of seven classes, and checked against the agent's
//! rules (allowed classes, denied schemas, denied functions). Plain Rust, no host calls.
//!
//! Which endpoints carry SQL, and in which body fields, is catalog data
//! (`crate::catalog::SQL_BODIES`, read through each endpoint's `Behaviour::sql`).

#[cfg(feature = "sql")]
mod classify;
mod functions;
#[cfg(feature = "sql")]
mod scan;

use std::fmt;

pub use functions::{function_class, known as known_functions};

/// What a statement may do, from least to most powerful (interface section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SqlClass {
    /// SELECT, VALUES, TABLE, SHOW, EXPLAIN without ANALYZE; no locking, no INTO.
    Read,
    /// INSERT, UPDATE and DELETE with a WHERE, MERGE, COPY FROM STDIN, SELECT FOR UPDATE / INTO.
    Write,
    /// CREATE, ALTER (not dropping), COMMENT, CREATE INDEX, REFRESH MATERIALIZED VIEW.
    Ddl,
    /// DROP, TRUNCATE, ALTER ... DROP, DELETE or UPDATE without WHERE.
    Destroy,
    /// GRANT, REVOKE, roles, SET ROLE, SET SESSION AUTHORIZATION, SECURITY DEFINER.
    Privilege,
    /// DO, CREATE FUNCTION / PROCEDURE, CALL, PREPARE / EXECUTE, SQL run from a string.
    Procedural,
    /// VACUUM, ANALYZE, LOCK, LISTEN / NOTIFY, SET / RESET, COPY TO / PROGRAM, anything else.
    Admin,
}

impl SqlClass {
    pub const ALL: [SqlClass; 7] = [
        SqlClass::Read,
        SqlClass::Write,
        SqlClass::Ddl,
        SqlClass::Destroy,
        SqlClass::Privilege,
        SqlClass::Procedural,
        SqlClass::Admin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SqlClass::Read => "read",
            SqlClass::Write => "write",
            SqlClass::Ddl => "ddl",
            SqlClass::Destroy => "destroy",
            SqlClass::Privilege => "privilege",
            SqlClass::Procedural => "procedural",
            SqlClass::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<SqlClass> {
        SqlClass::ALL.into_iter().find(|c| c.name() == name)
    }

    /// `read, write, ddl, ...` for error messages.
    pub fn known_names() -> String {
        SqlClass::ALL.map(SqlClass::name).join(", ")
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for SqlClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of classes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassSet(u8);

impl ClassSet {
    pub const EMPTY: ClassSet = ClassSet(0);
    pub const ALL: ClassSet = ClassSet(0x7f);

    pub fn of(classes: &[SqlClass]) -> ClassSet {
        let mut s = ClassSet::EMPTY;
        for c in classes {
            s.insert(*c);
        }
        s
    }

    pub fn insert(&mut self, c: SqlClass) {
        self.0 |= c.bit();
    }

    pub fn remove(&mut self, c: SqlClass) {
        self.0 &= !c.bit();
    }

    pub fn extend(&mut self, other: ClassSet) {
        self.0 |= other.0;
    }

    pub fn contains(self, c: SqlClass) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = SqlClass> {
        SqlClass::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// The class names in order, as in audit records and refusals: `["read", "write"]`.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(SqlClass::name).collect()
    }

    /// The most powerful class in the set.
    pub fn highest(self) -> Option<SqlClass> {
        self.iter().last()
    }

    /// `read, write` (or `none`).
    pub fn describe(self) -> String {
        if self.is_empty() {
            "none".to_string()
        } else {
            self.names().join(", ")
        }
    }
}

/// An agent's compiled SQL rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlRules {
    pub allow: ClassSet,
    /// Lowercase schema names.
    pub deny_schemas: Vec<String>,
    /// Lowercase function names, bare (`dblink`) or schema-qualified (`public.reset_all`).
    pub deny_functions: Vec<String>,
    pub allow_unparsed: bool,
}

impl SqlRules {
    /// The rules that follow only from classes (no denied names, unparsed SQL refused).
    pub fn classes(allow: ClassSet) -> SqlRules {
        SqlRules { allow, deny_schemas: Vec::new(), deny_functions: Vec::new(), allow_unparsed: false }
    }

    /// The deny entry that matches a call, if any: a bare entry matches the name in any schema;
    /// a qualified entry matches that schema's function, and an unqualified call of that name
    /// (it may resolve there through `search_path`).
    /// The denied schema a statement's schema is: itself when listed, and the first listed for a
    /// statement that may reach any (a `search_path` set to a value that was not read, the
    /// planner's statistics).
    #[cfg(feature = "sql")]
    fn denied_schema<'s>(&'s self, schema: &'s String) -> Option<&'s String> {
        if schema == scan::ANY_SCHEMA {
            self.deny_schemas.first()
        } else {
            self.deny_schemas.iter().find(|d| *d == schema)
        }
    }

    #[cfg_attr(not(feature = "sql"), allow(dead_code))]
    fn denied_function(&self, f: &FunctionRef) -> Option<&str> {
        if f.name == ANY_FUNCTION {
            return self.deny_functions.first().map(String::as_str);
        }
        self.deny_functions.iter().map(String::as_str).find(|entry| match entry.rsplit_once('.') {
            None => *entry == f.name,
            Some((schema, name)) => name == f.name && f.schema.as_deref().is_none_or(|s| s == schema),
        })
    }
}

/// Stands in a statement's functions for SQL built at run time (`EXECUTE 'select ' || f`,
/// `query_to_xml(format(...))`): it may call any function, so every `deny_functions` entry
/// applies. No function's name can hold a NUL (a body with one is unparsed).
pub(crate) const ANY_FUNCTION: &str = "\0any function";

/// A function a statement calls (lowercase).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionRef {
    pub schema: Option<String>,
    pub name: String,
}

impl fmt::Display for FunctionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// One statement of a body, as the grammar saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// 1-based position in the body.
    pub index: usize,
    /// The command: `SELECT`, `DROP TABLE`, `CREATE FUNCTION`, `DO`.
    pub label: String,
    /// Tables and other objects it names, as written (at most a few, for sentences).
    pub objects: Vec<String>,
    /// Every class it needs: its own, nested statements' (CTEs, EXPLAIN ANALYZE), called functions'.
    pub classes: ClassSet,
    /// Schemas it refers to, lowercase.
    pub schemas: Vec<String>,
    /// Functions it calls.
    pub functions: Vec<FunctionRef>,
    /// Functions it may call in attribute notation (`o.f` is `f(o)` for a function of one row):
    /// for `deny_functions` only (no known function takes a row).
    pub attribute_calls: Vec<FunctionRef>,
    /// The schemas it sets `search_path` to: a bare call in it, or in a statement after it, may
    /// be a function of one of them.
    pub search_path: Vec<String>,
    /// Why the grammar could not parse it; its classes then come from its leading keyword.
    pub parse_error: Option<String>,
}

impl Statement {
    /// `DROP TABLE public.orders`, `SELECT on public.orders`, `DO`.
    pub fn describe(&self) -> String {
        if self.objects.is_empty() {
            return self.label.clone();
        }
        let joiner = if label_names_object(&self.label) { " " } else { " on " };
        format!("{}{joiner}{}", self.label, self.objects.join(", "))
    }

    /// The most powerful class, for sentences.
    pub fn class(&self) -> SqlClass {
        self.classes.highest().unwrap_or(SqlClass::Admin)
    }
}

/// Why a body's SQL is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlRefusal {
    /// A statement needs a class the agent does not have.
    Class(SqlClass),
    /// A statement refers to a schema the agent's `deny_schemas` names.
    Schema(String),
    /// A statement calls a function the agent's `deny_functions` names (the entry).
    Function(String),
    /// The grammar could not parse a statement (the parser's words).
    Unparsed(String),
}

/// The judgement of one body's SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub statements: Vec<Statement>,
    /// Every class the body's statements need.
    pub classes: ClassSet,
    /// The statement that decided: the first refused, or else the most powerful one.
    pub decided_by: Option<usize>,
    /// `None` when allowed.
    pub refusal: Option<SqlRefusal>,
}

impl Judgement {
    pub fn allowed(&self) -> bool {
        self.refusal.is_none()
    }

    /// The statement that decided (see `decided_by`).
    pub fn deciding(&self) -> Option<&Statement> {
        self.decided_by.and_then(|i| self.statements.get(i))
    }

    /// What ran, for audit summaries: `SELECT on public.orders`, or `3 statements (CREATE TABLE
    /// public.widgets, ...)`. Never literal values: names and commands only.
    pub fn phrase(&self) -> String {
        match self.statements.as_slice() {
            [] => "no SQL statement".to_string(),
            [one] => one.describe(),
            many => {
                let mut shown: Vec<String> = many.iter().take(3).map(Statement::describe).collect();
                if many.len() > 3 {
                    shown.push("...".to_string());
                }
                format!("{} statements ({})", many.len(), shown.join(", "))
            }
        }
    }

    /// Joins the judgement of another SQL field of the same body (a migration's `rollback`).
    pub fn merge(mut self, other: Judgement) -> Judgement {
        let offset = self.statements.len();
        self.classes.extend(other.classes);
        if self.refusal.is_none() {
            if other.refusal.is_some() {
                self.refusal = other.refusal;
                self.decided_by = other.decided_by.map(|i| i + offset);
            } else if other.deciding().map(Statement::class) > self.deciding().map(Statement::class) {
                self.decided_by = other.decided_by.map(|i| i + offset);
            }
        }
        self.statements.extend(other.statements.into_iter().map(|mut s| {
            s.index += offset;
            s
        }));
        self
    }
}

/// Whether this build has the SQL grammar (the `sql` feature, on by default).
pub const GRAMMAR: bool = cfg!(feature = "sql");

/// Labels that end with the kind of object they name: `DROP TABLE public.orders`.
fn label_names_object(label: &str) -> bool {
    label.contains(' ')
        || matches!(label, "TRUNCATE" | "COMMENT" | "VACUUM" | "ANALYZE" | "LOCK" | "REINDEX" | "CLUSTER")
}

/// Parses and classifies a body's SQL without judging it.
#[cfg(feature = "sql")]
pub fn analyze(sql: &str) -> Vec<Statement> {
    classify::statements(sql)
}

/// Without the grammar nothing is parsed: the whole body is one statement that could not be.
#[cfg(not(feature = "sql"))]
pub fn analyze(_sql: &str) -> Vec<Statement> {
    vec![Statement {
        index: 1,
        label: "SQL".to_string(),
        objects: Vec::new(),
        classes: ClassSet::of(&[SqlClass::Admin]),
        schemas: Vec::new(),
        functions: Vec::new(),
        attribute_calls: Vec::new(),
        search_path: Vec::new(),
        parse_error: Some(NO_GRAMMAR.to_string()),
    }]
}

/// Why every body is unparsed in a build without the grammar.
#[cfg(not(feature = "sql"))]
const NO_GRAMMAR: &str = "this build of the gateway has no SQL grammar";

/// Judges SQL against an agent's rules. Never panics; anything that cannot be judged is refused
/// (unless the rules allow unparsed SQL, and then its leading keyword's class must be allowed).
#[cfg(feature = "sql")]
pub fn judge(sql: &str, rules: &SqlRules) -> Judgement {
    let statements = analyze(sql);
    let mut classes = ClassSet::EMPTY;
    let mut refusal = None;
    let mut decided_by = None;
    for (i, s) in statements.iter().enumerate() {
        classes.extend(s.classes);
        if refusal.is_some() {
            continue;
        }
        let found = if let Some(error) = s.parse_error.as_ref().filter(|_| !rules.allow_unparsed) {
            Some(SqlRefusal::Unparsed(error.clone()))
        } else if let Some(c) = s.classes.iter().find(|c| !rules.allow.contains(*c)) {
            Some(SqlRefusal::Class(c))
        } else if let Some(schema) = s.schemas.iter().find_map(|x| rules.denied_schema(x)) {
            Some(SqlRefusal::Schema(schema.clone()))
        } else {
            s.functions
                .iter()
                .chain(&s.attribute_calls)
                .find_map(|f| rules.denied_function(f))
                .map(|e| SqlRefusal::Function(e.to_string()))
        };
        if found.is_some() {
            refusal = found;
            decided_by = Some(i);
        } else if decided_by.is_none_or(|d: usize| statements.get(d).map(Statement::class) < Some(s.class())) {
            decided_by = Some(i);
        }
    }
    Judgement { statements, classes, decided_by, refusal }
}

/// Without the grammar no SQL can be judged, so every body that holds any is refused as unparsed,
/// whatever the rules say (`allow_unparsed` included): a guess from its words is not a judgement.
/// No SQL at all (a migration's rename without `rollback`) is what the grammar would find in it:
/// no statement.
#[cfg(not(feature = "sql"))]
pub fn judge(sql: &str, _rules: &SqlRules) -> Judgement {
    if sql.is_empty() {
        return Judgement { statements: Vec::new(), classes: ClassSet::EMPTY, decided_by: None, refusal: None };
    }
    let statements = analyze(sql);
    let classes = statements.iter().fold(ClassSet::EMPTY, |mut all, s| {
        all.extend(s.classes);
        all
    });
    Judgement { statements, classes, decided_by: Some(0), refusal: Some(SqlRefusal::Unparsed(NO_GRAMMAR.to_string())) }
}
