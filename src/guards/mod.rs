//! Guards that read bodies: the request body where a decision depends on it, and responses that
//! carry secrets or account-wide lists.

pub mod body;
pub mod lists;
pub mod secrets;
