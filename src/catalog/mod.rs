//! The catalog: every Management API operation with its id, area, permissions and class,
//! matched on method and path with `matchit`.

mod area;
mod behaviour;
mod endpoint;
mod endpoints;
pub mod query;
mod query_params;

pub use area::Area;
pub use behaviour::{sql_body, Behaviour, BodyRule, ListKind, ResponseRule, SqlBody, SECRET_FIELDS, SQL_BODIES};
pub use endpoint::{Class, Endpoint, Method, Place};
pub use query::QueryParam;

use matchit::Router;

/// Permission names the spec offers only as alternatives to the ones the catalog rows name.
/// They are valid in `allow` and `deny` lists.
const ALTERNATIVE_PERMISSIONS: [&str; 3] =
    ["branching_production_read", "branching_production_write", "branching_production_create"];

/// (alternative, the permission a catalog row names): the spec lets a call of each branch
/// endpoint pass with either, and the row names the development one.
const ALTERNATIVES: [(&str, &str); 4] = [
    ("branching_production_read", "branching_development_read"),
    ("branching_production_write", "branching_development_write"),
    ("branching_production_create", "branching_development_create"),
    ("branching_production_delete", "branching_development_delete"),
];

/// The compiled catalog: a router per method, from path template to the endpoint. Per method,
/// as HTTP routers match: a static segment wins over a parameter only among the routes of the
/// request's method (`GET /functions/deploy` is `get_function`, `POST` of it `deploy_function`).
pub struct Catalog {
    routers: [Router<usize>; METHODS],
    behaviours: Vec<Behaviour>,
}

/// How many methods the catalog routes ([`Method`]).
const METHODS: usize = 6;

/// A request matched to a catalog entry, with the path parameters it carried.
#[derive(Debug)]
pub struct Matched<'k, 'v> {
    pub index: usize,
    pub endpoint: &'static Endpoint,
    params: Vec<(&'k str, &'v str)>,
}

impl<'k, 'v> Matched<'k, 'v> {
    /// The value of a path parameter, as it appeared in the request (matchit does no decoding).
    pub fn param(&self, name: &str) -> Option<&'v str> {
        self.params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
    }

    /// Every path parameter, as (name, value).
    pub fn params(&self) -> impl Iterator<Item = (&'k str, &'v str)> + '_ {
        self.params.iter().copied()
    }
}

/// Why a request did not match.
#[derive(Debug, PartialEq, Eq)]
pub enum NoMatch {
    /// No path template fits.
    Path,
    /// The path exists, but not with this method.
    Method,
}

impl Catalog {
    /// Every endpoint, in catalog order (index = position).
    pub fn endpoints() -> &'static [Endpoint] {
        &endpoints::ENDPOINTS
    }

    /// Builds the router. The table is static, so this fails only if the table itself is broken,
    /// which the catalog tests rule out; the error names the template.
    pub fn new() -> Result<Catalog, String> {
        let mut routers: [Router<usize>; METHODS] = Default::default();
        for (i, e) in Catalog::endpoints().iter().enumerate() {
            let router = routers.get_mut(e.method as usize).ok_or_else(|| format!("catalog method {}", e.method))?;
            router.insert(e.path, i).map_err(|err| format!("catalog path {} {}: {err}", e.method, e.path))?;
        }
        if let Some(e) = (0..Catalog::endpoints().len())
            .find(|&i| Catalog::query_params(i).len() > query::MAX_PARAMS)
            .and_then(|i| Catalog::endpoints().get(i))
        {
            return Err(format!("catalog {}: more than {} query parameters", e.id, query::MAX_PARAMS));
        }
        let ids: Vec<&'static str> = Catalog::endpoints().iter().map(|e| e.id).collect();
        let behaviours = behaviour::compile(&ids, |i, name| Catalog::query_params(i).iter().any(|p| p.name == name))?;
        Ok(Catalog { routers, behaviours })
    }

    /// What the endpoint at `index` needs beyond the general rules (precomputed).
    pub fn behaviour(&self, index: usize) -> Behaviour {
        self.behaviours.get(index).copied().unwrap_or_default()
    }

    /// The same, without a compiled catalog (tools and docs; computed on each call).
    pub fn behaviour_of(index: usize) -> Behaviour {
        let ids: Vec<&'static str> = Catalog::endpoints().iter().map(|e| e.id).collect();
        behaviour::compile(&ids, |i, name| Catalog::query_params(i).iter().any(|p| p.name == name))
            .ok()
            .and_then(|all| all.get(index).copied())
            .unwrap_or_default()
    }

    /// The query parameters the endpoint at `index` declares in Supabase's spec.
    pub fn query_params(index: usize) -> &'static [QueryParam] {
        query_params::QUERY_PARAMS.get(index).copied().unwrap_or(&[])
    }

    /// Why a path matched nothing for its method: another method has it, or none does.
    #[cold]
    #[inline(never)]
    fn no_match(&self, path: &str) -> NoMatch {
        if self.routers.iter().any(|r| r.at(path).is_ok()) {
            NoMatch::Method
        } else {
            NoMatch::Path
        }
    }

    /// Finds the endpoint for a method and a canonical path (no query string).
    pub fn find<'k, 'v>(&'k self, method: Method, path: &'v str) -> Result<Matched<'k, 'v>, NoMatch> {
        let Some(Ok(m)) = self.routers.get(method as usize).map(|r| r.at(path)) else {
            return Err(self.no_match(path));
        };
        let index = *m.value;
        let endpoint = Catalog::endpoints().get(index).ok_or(NoMatch::Path)?;
        let params = m.params.iter().collect();
        Ok(Matched { index, endpoint, params })
    }

    /// The endpoint with this id.
    pub fn by_id(id: &str) -> Option<(usize, &'static Endpoint)> {
        Catalog::endpoints().iter().enumerate().find(|(_, e)| e.id == id)
    }

    /// Whether a call of `e` may pass on `name` at Supabase: one of the permissions its row names,
    /// or the alternative the spec offers to one of them. A `deny` or `approve` entry naming
    /// either holds the endpoint.
    pub fn accepts_permission(e: &Endpoint, name: &str) -> bool {
        e.permissions.contains(&name)
            || ALTERNATIVES.iter().any(|&(alt, row)| alt == name && e.permissions.contains(&row))
    }

    /// Whether `name` is one of Supabase's permission names the catalog knows.
    pub fn is_permission(name: &str) -> bool {
        ALTERNATIVE_PERMISSIONS.contains(&name) || Catalog::endpoints().iter().any(|e| e.permissions.contains(&name))
    }

    /// The catalog as a Markdown table: the docs' `docs/catalog.md` is exactly this.
    pub fn markdown() -> String {
        let mut out = String::from(
            "# The catalog\n\n\
             Every operation of the Supabase Management API v1 that Bollard knows, one row each \
             (generated from `src/catalog/endpoints.rs`; a test fails when this page is stale).\n\
             `read` access to an area grants its `read` rows; `full` grants all of them.\n\n\
             | id | method | path | area | permission | class |\n|---|---|---|---|---|---|\n",
        );
        for area in Area::ALL {
            for e in Catalog::endpoints().iter().filter(|e| e.area == area) {
                let perms = if e.permissions.is_empty() { "(none)".to_string() } else { e.permissions.join(" + ") };
                out.push_str(&format!(
                    "| `{}` | {} | `{}` | {} | {} | {} |\n",
                    e.id,
                    e.method,
                    e.path,
                    e.area,
                    perms,
                    e.class().as_str()
                ));
            }
        }
        out
    }
}
