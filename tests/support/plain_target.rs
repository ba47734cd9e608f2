//! The request-target rules written the plain way, for the tests and the fuzz target that hold
//! `RequestTarget::parse` to them (included with `#[path]`; not a test target of its own).

use bollard::target::TargetError;

/// The rules of a request target written the plain way (split on `?`, then on `/`, each segment
/// judged whole): the parser must find the same target and the same first error for every input.
pub fn plain_parse(raw: &str) -> Result<(&str, Option<&str>), TargetError> {
    if raw.is_empty() {
        return Err(TargetError::Empty);
    }
    if raw.len() > bollard::target::MAX_TARGET_LEN {
        return Err(TargetError::TooLong(raw.len()));
    }
    if !raw.starts_with('/') {
        return Err(TargetError::NotOriginForm);
    }
    let (path, query) = match raw.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (raw, None),
    };
    let path_ok = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,=:@".contains(&b);
    for segment in path.split('/').skip(1) {
        if segment.is_empty() {
            return Err(TargetError::EmptySegment);
        }
        if segment == "." || segment == ".." {
            return Err(TargetError::DotSegment);
        }
        for &b in segment.as_bytes() {
            if b == b'%' {
                return Err(TargetError::PercentEscape);
            }
            if !path_ok(b) {
                return Err(TargetError::ForbiddenByte(b));
            }
        }
    }
    if let Some(q) = query {
        if let Some(&b) = q.as_bytes().iter().find(|&&b| !((0x21..=0x7e).contains(&b) && b != b'#' && b != b';')) {
            return Err(TargetError::ForbiddenByte(b));
        }
    }
    Ok((path, query))
}
