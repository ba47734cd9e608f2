//! One operation of the Management API, as the catalog knows it.

use std::fmt;

use super::area::Area;

/// The HTTP methods the Management API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// Parses a request's `:method`. Methods are case-sensitive (RFC 9110), so `get` is not `GET`.
    pub fn parse(s: &str) -> Option<Method> {
        Some(match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an endpoint only reads, or changes something. `read` access grants the reads of an area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Read,
    Write,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Read => "read",
            Class::Write => "write",
        }
    }
}

/// What an endpoint acts on, as its path says: this decides which scope check applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Account-level (`/v1/projects`, `/v1/organizations`, `/v1/profile`, ...).
    Account,
    /// Under `/v1/projects/{ref}`.
    Project,
    /// Under `/v1/organizations/{slug}`.
    Organization,
    /// Under `/v1/branches/{branch_id_or_ref}`: the project is not in the path.
    Branch,
}

/// One catalog entry.
#[derive(Debug)]
pub struct Endpoint {
    /// Stable identifier used in policies, refusals and audit records.
    pub id: &'static str,
    pub method: Method,
    /// The OpenAPI path template, e.g. `/v1/projects/{ref}/functions/{function_slug}`.
    pub path: &'static str,
    pub area: Area,
    /// Supabase's fine-grained permissions for this operation; all are required. Empty where
    /// the spec names none.
    pub permissions: &'static [&'static str],
    /// A verb phrase for sentences: "list edge functions".
    pub action: &'static str,
    /// True when the place is the action's object ("delete project X" rather than "... on project X").
    pub acts_on_place: bool,
    /// Read from `path` and `permissions` when the table is built, never per request.
    place: Place,
    class: Class,
}

pub(crate) const fn ep(
    id: &'static str,
    method: Method,
    path: &'static str,
    area: Area,
    permissions: &'static [&'static str],
    action: &'static str,
    acts_on_place: bool,
) -> Endpoint {
    let place = if contains(path, "{ref}") {
        Place::Project
    } else if contains(path, "{slug}") {
        Place::Organization
    } else if contains(path, "{branch_id_or_ref}") {
        Place::Branch
    } else {
        Place::Account
    };
    Endpoint { id, method, path, area, permissions, action, acts_on_place, place, class: class_of(method, permissions) }
}

/// A permission whose name ends in `_read` is a read; every other one is a write. An endpoint is
/// a read when all its permissions are; one without permissions is classed by its method.
const fn class_of(method: Method, permissions: &[&str]) -> Class {
    if permissions.is_empty() {
        return match method {
            Method::Get | Method::Head => Class::Read,
            _ => Class::Write,
        };
    }
    let mut i = 0;
    while i < permissions.len() {
        let p = permissions[i].as_bytes();
        if !ends_with(p, b"_read") {
            return Class::Write;
        }
        i += 1;
    }
    Class::Read
}

const fn ends_with(s: &[u8], end: &[u8]) -> bool {
    s.len() >= end.len() && starts_at(s, s.len() - end.len(), end)
}

const fn contains(s: &str, part: &str) -> bool {
    let (s, part) = (s.as_bytes(), part.as_bytes());
    let mut at = 0;
    while at + part.len() <= s.len() {
        if starts_at(s, at, part) {
            return true;
        }
        at += 1;
    }
    false
}

const fn starts_at(s: &[u8], at: usize, part: &[u8]) -> bool {
    let mut i = 0;
    while i < part.len() {
        if s[at + i] != part[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Endpoint {
    /// Read or write ([`class_of`]).
    pub fn class(&self) -> Class {
        self.class
    }

    /// The permission shown in refusals and audit records: the first one, or none.
    pub fn permission(&self) -> Option<&'static str> {
        self.permissions.first().copied()
    }

    pub fn place(&self) -> Place {
        self.place
    }
}

#[cfg(test)]
mod tests {
    use super::{Class, Method, Place};
    use crate::catalog::Catalog;

    /// The place and class worked out when the table is built are what the path and the
    /// permissions say, read the plain way, for every endpoint.
    #[test]
    fn place_and_class_follow_path_and_permissions() {
        let mut places = [0; 4];
        for e in Catalog::endpoints() {
            let place = if e.path.contains("{ref}") {
                Place::Project
            } else if e.path.contains("{slug}") {
                Place::Organization
            } else if e.path.contains("{branch_id_or_ref}") {
                Place::Branch
            } else {
                Place::Account
            };
            assert_eq!(e.place(), place, "{}", e.id);
            places[place as usize] += 1;
            let class = match (e.permissions.is_empty(), e.method) {
                (true, Method::Get | Method::Head) => Class::Read,
                (true, _) => Class::Write,
                (false, _) if e.permissions.iter().all(|p| p.ends_with("_read")) => Class::Read,
                (false, _) => Class::Write,
            };
            assert_eq!(e.class(), class, "{}", e.id);
        }
        assert!(places.iter().all(|&n| n > 0), "every place occurs: {places:?}");
        assert!(Catalog::endpoints().iter().any(|e| e.class() == Class::Read && !e.permissions.is_empty()));
        assert!(Catalog::endpoints().iter().any(|e| e.class() == Class::Write && e.method == Method::Get));
    }
}
