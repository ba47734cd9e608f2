//! Bollard: a proxy-wasm filter that narrows a Supabase personal access token to exactly what
//! each AI agent needs.
//!
//! The core (`catalog`, `target`, `policy`, `decision`, `approval`, `audit`, `refusal`) is plain Rust with no
//! host calls; `filter` translates between Envoy's proxy-wasm ABI and the core, and is built only
//! for `wasm32-wasip1`.

pub mod approval;
pub mod audit;
pub mod branches;
pub mod catalog;
pub mod decimal;
pub mod decision;
pub mod discovery;
pub mod exchange;
pub mod guards;
pub mod heap;
pub mod json;
pub mod policy;
pub mod project_organizations;
pub mod rate_limit;
pub mod refusal;
pub mod secret;
pub mod sentence;
pub mod sql;
pub mod target;
pub mod time;

#[cfg(target_os = "wasi")]
mod filter;

/// In wasm32 (the filter, and the core's tests under Node), small blocks come from per-size free
/// lists in front of the standard allocator: see [`heap`].
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics"), not(feature = "system-allocator")))]
#[global_allocator]
static HEAP: heap::SmallBlocks<std::alloc::System> = heap::SmallBlocks::new(std::alloc::System);

/// The crate version, logged when the VM starts.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git revision the filter was built from (`unknown` outside a checkout), logged at start.
pub const GIT_REVISION: &str = match option_env!("BOLLARD_GIT_REVISION") {
    Some(r) => r,
    None => "unknown",
};
