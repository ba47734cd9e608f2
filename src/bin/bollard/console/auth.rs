//! Who may use the console: whoever holds the access token printed at start. The token opens
//! the page once (`/?token=...`) and is then carried by an HttpOnly, SameSite=Strict cookie;
//! every change also needs the CSRF token the page itself received, and a request for another
//! host name (DNS rebinding) is refused.

/// The cookie that carries the access token after the first visit.
pub const COOKIE: &str = "bollard_console";
/// The header every change must carry, holding the page's CSRF token.
pub const CSRF_HEADER: &str = "x-bollard-csrf";

/// The console's secrets for one run.
pub struct Secrets {
    pub access: String,
    pub csrf: String,
}

impl Secrets {
    /// Two independent 256-bit tokens from the operating system's randomness.
    pub fn generate() -> Result<Secrets, String> {
        Ok(Secrets { access: random_hex(32)?, csrf: random_hex(32)? })
    }
}

/// `n` random bytes as lowercase hex.
pub use crate::keys::random_hex;

/// Equal, in a time that does not depend on where the first difference is.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of one cookie in a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// The value of one query parameter (no decoding: the tokens are hex).
pub fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = url.split_once('?')?;
    query.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// The `Set-Cookie` value for the access token.
pub fn set_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/")
}

/// What a request shows of itself, for the checks below.
pub struct Seen<'a> {
    pub url: &'a str,
    pub host: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub csrf: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub changes: bool,
}

/// The answer to a request before any handler runs.
#[derive(Debug, PartialEq, Eq)]
pub enum Gate {
    /// Go on.
    Pass,
    /// The token was in the URL and is right: set the cookie and redirect to the bare path.
    SetCookie,
    /// 421: a host name the console does not serve.
    WrongHost,
    /// 401: no token, or a wrong one.
    NoToken,
    /// 403: a change without the page's CSRF token, or from another origin.
    NoCsrf,
}

/// Decides whether a request may reach the console. `hosts` are the `Host` values it answers to.
pub fn gate(s: &Secrets, hosts: &[String], seen: &Seen) -> Gate {
    if !seen.host.is_some_and(|h| hosts.iter().any(|x| x.eq_ignore_ascii_case(h))) {
        return Gate::WrongHost;
    }
    let by_cookie = seen.cookie.and_then(|c| cookie(c, COOKIE)).is_some_and(|t| same(t, &s.access));
    if !by_cookie {
        let by_url = query_param(seen.url, "token").is_some_and(|t| same(t, &s.access));
        return if by_url && !seen.changes { Gate::SetCookie } else { Gate::NoToken };
    }
    if seen.changes {
        let origin_ok =
            seen.origin.is_none_or(|o| hosts.iter().any(|h| o.eq_ignore_ascii_case(&format!("http://{h}"))));
        if !origin_ok || !seen.csrf.is_some_and(|t| same(t, &s.csrf)) {
            return Gate::NoCsrf;
        }
    }
    Gate::Pass
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets { access: "a".repeat(64), csrf: "c".repeat(64) }
    }

    fn hosts() -> Vec<String> {
        vec!["127.0.0.1:8780".into(), "localhost:8780".into()]
    }

    fn seen<'a>(url: &'a str, cookie: Option<&'a str>, csrf: Option<&'a str>, changes: bool) -> Seen<'a> {
        Seen { url, host: Some("127.0.0.1:8780"), cookie, csrf, origin: None, changes }
    }

    #[test]
    fn tokens_are_random_and_256_bits() {
        let (a, b) = (random_hex(32).unwrap(), random_hex(32).unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn no_page_without_the_token() {
        let s = secrets();
        let cookie_ok = format!("other=1; {COOKIE}={}", "a".repeat(64));
        let cookie_bad = format!("{COOKIE}={}", "b".repeat(64));
        let url_ok = format!("/?token={}", "a".repeat(64));
        let cases: [(Seen, Gate); 7] = [
            (seen("/", None, None, false), Gate::NoToken),
            (seen("/api/policy", None, None, false), Gate::NoToken),
            (seen("/?token=abc", None, None, false), Gate::NoToken),
            (seen("/", Some(&cookie_bad), None, false), Gate::NoToken),
            (seen(&url_ok, None, None, false), Gate::SetCookie),
            (seen("/", Some(&cookie_ok), None, false), Gate::Pass),
            // The token in a URL never authorizes a change by itself.
            (seen(&url_ok, None, Some(&s.csrf), true), Gate::NoToken),
        ];
        for (i, (input, want)) in cases.iter().enumerate() {
            assert_eq!(&gate(&s, &hosts(), input), want, "case {i}");
        }
    }

    #[test]
    fn a_change_needs_the_csrf_token_and_our_origin() {
        let s = secrets();
        let c = format!("{COOKIE}={}", "a".repeat(64));
        let wrong = "d".repeat(64);
        assert_eq!(gate(&s, &hosts(), &seen("/api/save", Some(&c), None, true)), Gate::NoCsrf);
        assert_eq!(gate(&s, &hosts(), &seen("/api/save", Some(&c), Some(&wrong), true)), Gate::NoCsrf);
        assert_eq!(gate(&s, &hosts(), &seen("/api/save", Some(&c), Some(&s.csrf), true)), Gate::Pass);
        let mut other_origin = seen("/api/save", Some(&c), Some(&s.csrf), true);
        other_origin.origin = Some("http://evil.example");
        assert_eq!(gate(&s, &hosts(), &other_origin), Gate::NoCsrf);
        let mut our_origin = seen("/api/save", Some(&c), Some(&s.csrf), true);
        our_origin.origin = Some("http://127.0.0.1:8780");
        assert_eq!(gate(&s, &hosts(), &our_origin), Gate::Pass);
    }

    #[test]
    fn another_host_name_is_refused() {
        let s = secrets();
        let c = format!("{COOKIE}={}", "a".repeat(64));
        let mut rebound = seen("/", Some(&c), None, false);
        rebound.host = Some("attacker.example:8780");
        assert_eq!(gate(&s, &hosts(), &rebound), Gate::WrongHost);
        rebound.host = None;
        assert_eq!(gate(&s, &hosts(), &rebound), Gate::WrongHost);
    }

    #[test]
    fn comparison_and_parsing() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert_eq!(cookie("x=1; bollard_console=t; y=2", COOKIE), Some("t"));
        assert_eq!(query_param("/a?x=1&token=t", "token"), Some("t"));
        assert!(set_cookie("t").contains("HttpOnly; SameSite=Strict"));
    }
}
