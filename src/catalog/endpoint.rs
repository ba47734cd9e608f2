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
    Endpoint { id, method, path, area, permissions, action, acts_on_place }
}

impl Endpoint {
    /// A permission whose name ends in `_read` is a read; every other one is a write. An
    /// endpoint is a read when all its permissions are; one without permissions is classed
    /// by its method.
    pub fn class(&self) -> Class {
        if self.permissions.is_empty() {
            return match self.method {
                Method::Get | Method::Head => Class::Read,
                _ => Class::Write,
            };
        }
        if self.permissions.iter().all(|p| p.ends_with("_read")) {
            Class::Read
        } else {
            Class::Write
        }
    }

    /// The permission shown in refusals and audit records: the first one, or none.
    pub fn permission(&self) -> Option<&'static str> {
        self.permissions.first().copied()
    }

    pub fn place(&self) -> Place {
        if self.path.contains("{ref}") {
            Place::Project
        } else if self.path.contains("{slug}") {
            Place::Organization
        } else if self.path.contains("{branch_id_or_ref}") {
            Place::Branch
        } else {
            Place::Account
        }
    }
}
