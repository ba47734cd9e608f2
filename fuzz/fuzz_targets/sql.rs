//! The SQL guard on arbitrary text: never panics; SQL the grammar cannot parse is refused (unless
//! `allow_unparsed`); whatever it allows needs only allowed classes and names nothing denied.
#![no_main]

use bollard::sql::{judge, ClassSet, SqlClass, SqlRefusal, SqlRules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let strict = SqlRules {
        allow: ClassSet::of(&[SqlClass::Read, SqlClass::Write]),
        deny_schemas: vec!["auth".to_string()],
        deny_functions: vec!["dblink".to_string()],
        allow_unparsed: false,
    };
    let j = judge(text, &strict);
    for s in &j.statements {
        if s.parse_error.is_some() {
            assert!(!j.allowed(), "unparsed SQL was allowed: {text:?}");
        }
    }
    if j.allowed() {
        assert!(j.classes.iter().all(|c| strict.allow.contains(c)), "a class outside allow passed: {text:?}");
        for s in &j.statements {
            assert!(!s.schemas.iter().any(|x| x == "auth"), "a denied schema passed: {text:?}");
            assert!(!s.functions.iter().any(|f| f.name == "dblink"), "a denied function passed: {text:?}");
        }
    }
    if let Some(SqlRefusal::Unparsed(_)) = &j.refusal {
        assert!(j.deciding().is_some_and(|s| s.parse_error.is_some()));
    }
    // With allow_unparsed, the classes still bind.
    let loose = SqlRules { allow_unparsed: true, ..strict };
    let l = judge(text, &loose);
    if l.allowed() {
        assert!(l.classes.iter().all(|c| loose.allow.contains(c)), "allow_unparsed passed a class: {text:?}");
    }
    let _ = j.phrase();
});
