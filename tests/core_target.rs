//! The canonical request target and path parameter formats. Runs natively and as wasm32.

// Tests may panic: that is how they fail.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use bollard::target::{
    check_param, credential_in_query, loggable_path, redact_target, target_contains, RequestTarget, TargetError,
};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test(unsupported = test)]
fn canonical_targets_are_accepted_as_they_are() {
    for (raw, path, query) in [
        ("/v1/projects", "/v1/projects", None),
        ("/v1/projects?limit=1&offset=2", "/v1/projects", Some("limit=1&offset=2")),
        (
            "/v1/projects/abcdefghijklmnopqrst/analytics/endpoints/logs.all?sql=select%201",
            "/v1/projects/abcdefghijklmnopqrst/analytics/endpoints/logs.all",
            Some("sql=select%201"),
        ),
        ("/v1/projects?", "/v1/projects", Some("")),
        // A `;` escaped is data; raw, it is refused (below).
        ("/v1/projects?x=a%3Bb", "/v1/projects", Some("x=a%3Bb")),
    ] {
        assert_eq!(RequestTarget::parse(raw), Ok(RequestTarget { path, query }), "{raw}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn every_non_canonical_form_is_refused() {
    let long = format!("/{}", "a".repeat(2048));
    let cases: Vec<(&str, TargetError)> = vec![
        ("", TargetError::Empty),
        (&long, TargetError::TooLong(2049)),
        ("v1/projects", TargetError::NotOriginForm),
        ("http://api.supabase.com/v1/projects", TargetError::NotOriginForm),
        ("*", TargetError::NotOriginForm),
        ("/v1/projects/../organizations", TargetError::DotSegment),
        ("/v1/./projects", TargetError::DotSegment),
        ("/v1/projects/..", TargetError::DotSegment),
        ("/v1/projects/%2e%2e/x", TargetError::PercentEscape),
        ("/v1/projects/%2E%2E/x", TargetError::PercentEscape),
        ("/v1/projects%2Fx", TargetError::PercentEscape),
        ("/v1/projects%5cx", TargetError::PercentEscape),
        ("/v1/projects/%252e", TargetError::PercentEscape),
        ("/v1//projects", TargetError::EmptySegment),
        ("/v1/projects/", TargetError::EmptySegment),
        ("/", TargetError::EmptySegment),
        ("/v1/projects;x=1", TargetError::ForbiddenByte(b';')),
        ("/v1/projects\\x", TargetError::ForbiddenByte(b'\\')),
        ("/v1/projects#frag", TargetError::ForbiddenByte(b'#')),
        ("/v1/projects?a=1#frag", TargetError::ForbiddenByte(b'#')),
        ("/v1/projects?a=1;b=2", TargetError::ForbiddenByte(b';')),
        ("/v1/projects?a=1%3B;b", TargetError::ForbiddenByte(b';')),
        ("/v1/pro jects", TargetError::ForbiddenByte(b' ')),
        ("/v1/projects\0", TargetError::ForbiddenByte(0)),
        ("/v1/projects\t", TargetError::ForbiddenByte(b'\t')),
        ("/v1/projects?a=\u{1}", TargetError::ForbiddenByte(1)),
        ("/v1/proj\u{e9}cts", TargetError::ForbiddenByte(0xc3)),
    ];
    for (raw, want) in cases {
        assert_eq!(RequestTarget::parse(raw), Err(want.clone()), "{raw:?}");
        assert!(!want.to_string().is_empty());
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn credentials_in_the_query_are_found() {
    for (q, hit) in [
        ("limit=1", None),
        ("apikey=x", Some("apikey")),
        ("a=1&ACCESS_TOKEN=x", Some("ACCESS_TOKEN")),
        ("token", Some("token")),
        ("ap%69key=x", Some("ap%69key")),
        ("reveal=true", None),
    ] {
        assert_eq!(credential_in_query(q), hit, "{q}");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn path_parameters_follow_the_spec_formats() {
    let uuid = "22222222-2222-4222-8222-222222222222";
    let good = [
        ("ref", "abcdefghijklmnopqrst"),
        ("slug", "acme_corp-1"),
        ("function_slug", "Hello-World_2"),
        ("branch_id_or_ref", "abcdefghijklmnopqrst"),
        ("branch_id_or_ref", uuid),
        ("id", uuid),
        ("provider_id", uuid),
        ("tpa_id", uuid),
        ("user_id", uuid),
        ("invite_id", uuid),
        ("version", "20250312000000"),
        ("addon_variant", "pitr_7"),
        ("addon_variant", "ci_24xlarge_high_memory"),
        ("run_id", "run_01hq3q9m7y5q7e4a7x2c8m1p4n"),
        ("token", "0123456789abcdef"),
        // Identifiers may hold dots (issue 12), as the README says.
        ("run_id", "run.1"),
        ("token", "abc.def-ghi"),
        ("name", "preview-login-page"),
    ];
    for (name, value) in good {
        assert_eq!(check_param(name, value), Ok(()), "{name}={value}");
    }
    let bad = [
        ("ref", "abcdefghijklmnopqrs"),
        ("ref", "abcdefghijklmnopqrsT"),
        ("ref", "abcdefghijklmnopqrs1"),
        ("slug", "ac.me"),
        ("function_slug", "hello.world"),
        ("branch_id_or_ref", "main"),
        ("id", "not-a-uuid"),
        ("id", "2222222222224222822222222222222222ab"),
        ("version", "12ab"),
        ("addon_variant", "PITR"),
        // Only the variants the spec lists.
        ("addon_variant", "pitr_8"),
        ("addon_variant", "not_an_addon"),
        ("run_id", ".hidden"),
        ("run_id", "run/1"),
        ("name", "a~b"),
    ];
    for (name, value) in bad {
        assert!(check_param(name, value).is_err(), "{name}={value} accepted");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn loggable_paths_are_escaped_and_bounded() {
    assert_eq!(loggable_path("/v1/projects?apikey=secret"), "/v1/projects");
    assert_eq!(loggable_path("/v1/\u{1}x#frag"), "/v1/\\u{1}x");
    assert_eq!(loggable_path("/v1/\u{e9}"), "/v1/\\u{e9}");
    let long = loggable_path(&format!("/{}", "a".repeat(1000)));
    assert_eq!(long.len(), 256);
    // Escapes are never cut in half: 1 + 42 * len("\\u{e9}") = 253, and a 43rd would pass 256.
    let wide = loggable_path(&format!("/{}", "\u{e9}".repeat(200)));
    assert_eq!(wide.len(), 253);
    assert!(wide.ends_with("\\u{e9}") && wide.is_ascii(), "{wide}");
    assert_eq!(loggable_path("/v1/a\"b\\c"), "/v1/a\\\"b\\\\c", "quotes and backslashes are escaped");
}

#[path = "support/plain_target.rs"]
mod plain_target;
use plain_target::plain_parse;

#[test]
fn every_short_target_is_judged_as_the_plain_rules_judge_it() {
    // Every string of up to 6 characters over an alphabet with each kind of byte that matters.
    let alphabet = ['/', '?', '.', 'a', '%', '#', ' ', ';', '=', 'é'];
    let mut inputs = vec![String::new()];
    let mut level = vec![String::new()];
    for _ in 0..6 {
        let mut next = Vec::new();
        for s in &level {
            for c in alphabet {
                next.push(format!("{s}{c}"));
            }
        }
        inputs.extend(next.iter().cloned());
        level = next;
    }
    assert!(inputs.len() > 1_000_000);
    for raw in &inputs {
        let got = RequestTarget::parse(raw).map(|t| (t.path, t.query));
        assert_eq!(got, plain_parse(raw), "{raw:?}");
    }
}

/// Every way of writing `secret` with some of its bytes escaped (upper or lower hex), for a
/// secret of at most 8 bytes: 3^8 forms.
fn spellings(secret: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for b in secret.bytes() {
        out = out
            .into_iter()
            .flat_map(|p| [format!("{p}{}", b as char), format!("{p}%{b:02X}"), format!("{p}%{b:02x}")])
            .collect();
    }
    out
}

#[wasm_bindgen_test(unsupported = test)]
fn a_secret_is_found_and_taken_out_of_a_target_however_it_is_escaped() {
    let secret = "sbp_k1+Z";
    let forms = spellings(secret);
    assert_eq!(forms.len(), 3usize.pow(8));
    for (i, form) in forms.iter().enumerate() {
        // Around it: a bad escape, a lone `%`, another escape, and (for some) the secret again.
        let again = if i % 7 == 0 { forms[forms.len() - 1 - i].as_str() } else { "" };
        let target = format!("/v1/x%G1/{form}?q=%25{again}&r=%");
        assert!(target_contains(&target, secret), "{target}");
        let redacted = redact_target(&target, secret, "[redacted]");
        assert!(!target_contains(&redacted, secret), "{target} -> {redacted}");
        let expected = format!("/v1/x%G1/[redacted]?q=%25{}&r=%", if again.is_empty() { "" } else { "[redacted]" });
        assert_eq!(redacted, expected, "{target}");
    }
    // Nothing to take out: the target as it was, escapes and all.
    for target in ["/v1/projects?q=sbp%5Fk1%2BY", "/v1/p%", "/v1/%zz/sbp_k1", "/v1/%C3%A9?x=%FF"] {
        assert!(!target_contains(target, secret), "{target}");
        assert_eq!(redact_target(target, secret, "[redacted]"), target);
    }
    // `+` is not a space here: the key's own `+` is found as sent and escaped.
    assert!(target_contains("/v1?q=sbp_k1%2BZ", secret) && target_contains("/v1?q=sbp_k1+Z", secret));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_secret_after_a_lone_percent_is_taken_out() {
    for (secret, target) in [
        ("ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34", "/v1/x%ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34"),
        ("b12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34", "/v1/x%ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34"),
        ("sbp_%41aaaaaaaaaaaaaaaaaaaa", "/v1/x/sbp_%41aaaaaaaaaaaaaaaaaaaa"),
    ] {
        assert!(target_contains(target, secret), "{target}");
        let redacted = redact_target(target, secret, "[redacted]");
        assert!(!target_contains(&redacted, secret), "{target} -> {redacted}");
    }
}
