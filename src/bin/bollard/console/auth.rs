//! Who may use the console: whoever holds the access token printed at start. The printed URL
//! (`/?token=...`) hands the token to the page, which keeps it in the tab's `sessionStorage`
//! (scoped to this scheme, host and port) and sends it as `Authorization: Bearer ...` with every
//! API call. There is no cookie: a browser sends a host's cookies to every port of that host, so
//! another local server the browser visits would receive it. A page of another origin cannot
//! send that header without a CORS preflight, which the console never grants, so a cross-site
//! request carries no token. The page, its script and its style hold no data and no secret and
//! are served without the token; a request for another host name (DNS rebinding) is refused.

/// The paths served without the token: the page and its assets, the same for everyone.
pub const PUBLIC: [&str; 3] = ["/", "/app.js", "/style.css"];

/// The console's secret for one run.
pub struct Secrets {
    pub access: String,
}

impl Secrets {
    /// An access token of 256 bits from the operating system's randomness.
    pub fn generate() -> Result<Secrets, String> {
        Ok(Secrets { access: random_hex(32)? })
    }
}

/// `n` random bytes as lowercase hex.
pub use crate::keys::random_hex;

/// Equal, in a time that does not depend on where the first difference is.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of an `Authorization: Bearer <token>` value.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// What a request shows of itself, for the checks below.
pub struct Seen<'a> {
    /// The path, without the query string.
    pub path: &'a str,
    pub host: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub changes: bool,
}

/// The answer to a request before any handler runs.
#[derive(Debug, PartialEq, Eq)]
pub enum Gate {
    /// Go on.
    Pass,
    /// 421: a host name the console does not serve.
    WrongHost,
    /// 401: no token, or a wrong one.
    NoToken,
    /// 403: a change sent from another origin.
    WrongOrigin,
}

/// Decides whether a request may reach the console. `hosts` are the `Host` values it answers to.
pub fn gate(s: &Secrets, hosts: &[String], seen: &Seen) -> Gate {
    if !seen.host.is_some_and(|h| hosts.iter().any(|x| x.eq_ignore_ascii_case(h))) {
        return Gate::WrongHost;
    }
    if seen.changes && !seen.origin.is_none_or(|o| hosts.iter().any(|h| o.eq_ignore_ascii_case(&format!("http://{h}"))))
    {
        return Gate::WrongOrigin;
    }
    if !seen.changes && PUBLIC.contains(&seen.path) {
        return Gate::Pass;
    }
    match seen.authorization.and_then(bearer) {
        Some(t) if same(t, &s.access) => Gate::Pass,
        _ => Gate::NoToken,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets { access: "a".repeat(64) }
    }

    fn hosts() -> Vec<String> {
        vec!["127.0.0.1:8780".into(), "localhost:8780".into()]
    }

    fn seen<'a>(path: &'a str, authorization: Option<&'a str>, changes: bool) -> Seen<'a> {
        Seen { path, host: Some("127.0.0.1:8780"), authorization, origin: None, changes }
    }

    #[test]
    fn tokens_are_random_and_256_bits() {
        let (a, b) = (random_hex(32).unwrap(), random_hex(32).unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn no_data_and_no_change_without_the_token() {
        let s = secrets();
        let ok = format!("Bearer {}", "a".repeat(64));
        let lower = format!("bearer {}", "a".repeat(64));
        let bad = format!("Bearer {}", "b".repeat(64));
        let basic = format!("Basic {}", "a".repeat(64));
        let cases: [(Seen, Gate); 11] = [
            (seen("/", None, false), Gate::Pass),
            (seen("/app.js", None, false), Gate::Pass),
            (seen("/api/state", None, false), Gate::NoToken),
            (seen("/api/activity", Some(&bad), false), Gate::NoToken),
            (seen("/api/state", Some(&basic), false), Gate::NoToken),
            (seen("/api/state", Some("Bearer"), false), Gate::NoToken),
            (seen("/api/state", Some(&ok), false), Gate::Pass),
            (seen("/api/state", Some(&lower), false), Gate::Pass),
            (seen("/api/save", None, true), Gate::NoToken),
            // A public path is public for reading only.
            (seen("/", None, true), Gate::NoToken),
            (seen("/api/save", Some(&ok), true), Gate::Pass),
        ];
        for (i, (input, want)) in cases.iter().enumerate() {
            assert_eq!(&gate(&s, &hosts(), input), want, "case {i}");
        }
    }

    #[test]
    fn a_change_from_another_origin_is_refused() {
        let s = secrets();
        let ok = format!("Bearer {}", "a".repeat(64));
        let mut other_origin = seen("/api/save", Some(&ok), true);
        other_origin.origin = Some("http://evil.example");
        assert_eq!(gate(&s, &hosts(), &other_origin), Gate::WrongOrigin);
        let mut other_port = seen("/api/save", Some(&ok), true);
        other_port.origin = Some("http://127.0.0.1:9999");
        assert_eq!(gate(&s, &hosts(), &other_port), Gate::WrongOrigin);
        let mut our_origin = seen("/api/save", Some(&ok), true);
        our_origin.origin = Some("http://127.0.0.1:8780");
        assert_eq!(gate(&s, &hosts(), &our_origin), Gate::Pass);
    }

    #[test]
    fn another_host_name_is_refused() {
        let s = secrets();
        let ok = format!("Bearer {}", "a".repeat(64));
        let mut rebound = seen("/api/state", Some(&ok), false);
        rebound.host = Some("attacker.example:8780");
        assert_eq!(gate(&s, &hosts(), &rebound), Gate::WrongHost);
        let mut page = seen("/", None, false);
        page.host = Some("attacker.example:8780");
        assert_eq!(gate(&s, &hosts(), &page), Gate::WrongHost);
        rebound.host = None;
        assert_eq!(gate(&s, &hosts(), &rebound), Gate::WrongHost);
    }

    #[test]
    fn comparison_and_parsing() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert_eq!(bearer("Bearer t"), Some("t"));
        assert_eq!(bearer(" bearer  t "), Some("t"));
        assert_eq!(bearer("Basic t"), None);
        assert_eq!(bearer("Bearer"), None);
    }
}
