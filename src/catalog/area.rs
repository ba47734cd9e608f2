//! The areas an agent's access is granted by: the ten of the interface's seed table, and the ones the
//! rest of the API needs.

use std::fmt;

/// A group of endpoints that share one access level in a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    Projects,
    Organizations,
    Database,
    EdgeFunctions,
    Secrets,
    AuthConfig,
    ProjectConfig,
    Storage,
    ApiKeys,
    Branches,
    Backups,
    Domains,
    Network,
    Analytics,
    Advisors,
    Billing,
    Oauth,
    Account,
}

impl Area {
    /// Every area, in the order the docs and the access matrix show them.
    pub const ALL: [Area; 18] = [
        Area::Projects,
        Area::Organizations,
        Area::Database,
        Area::EdgeFunctions,
        Area::Secrets,
        Area::AuthConfig,
        Area::ProjectConfig,
        Area::Storage,
        Area::ApiKeys,
        Area::Branches,
        Area::Backups,
        Area::Domains,
        Area::Network,
        Area::Analytics,
        Area::Advisors,
        Area::Billing,
        Area::Oauth,
        Area::Account,
    ];

    /// The name used in policy files and audit records.
    pub fn name(self) -> &'static str {
        match self {
            Area::Projects => "projects",
            Area::Organizations => "organizations",
            Area::Database => "database",
            Area::EdgeFunctions => "edge_functions",
            Area::Secrets => "secrets",
            Area::AuthConfig => "auth_config",
            Area::ProjectConfig => "project_config",
            Area::Storage => "storage",
            Area::ApiKeys => "api_keys",
            Area::Branches => "branches",
            Area::Backups => "backups",
            Area::Domains => "domains",
            Area::Network => "network",
            Area::Analytics => "analytics",
            Area::Advisors => "advisors",
            Area::Billing => "billing",
            Area::Oauth => "oauth",
            Area::Account => "account",
        }
    }

    /// The name people read in sentences ("its Edge Functions access is read").
    pub fn label(self) -> &'static str {
        match self {
            Area::Projects => "Projects",
            Area::Organizations => "Organizations",
            Area::Database => "Database",
            Area::EdgeFunctions => "Edge Functions",
            Area::Secrets => "Secrets",
            Area::AuthConfig => "Auth config",
            Area::ProjectConfig => "Project config",
            Area::Storage => "Storage",
            Area::ApiKeys => "API keys",
            Area::Branches => "Branches",
            Area::Backups => "Backups",
            Area::Domains => "Domains",
            Area::Network => "Network",
            Area::Analytics => "Analytics",
            Area::Advisors => "Advisors",
            Area::Billing => "Billing",
            Area::Oauth => "OAuth",
            Area::Account => "Account",
        }
    }

    pub fn from_name(name: &str) -> Option<Area> {
        Area::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// Position in [`Area::ALL`], used to index per-agent level tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The known area names, comma-separated, for error messages.
    pub fn known_names() -> String {
        Area::ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
