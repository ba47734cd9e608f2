//! `bollard keygen` and `bollard hash`: agent keys and the `key_sha256` the policy holds.

use std::io::Read;
use std::process::ExitCode;

use bollard::policy::key_sha256;

use crate::args::Args;
use crate::Outcome;

pub fn keygen(raw: &[String]) -> Outcome {
    let a = Args::parse(raw, &["--agent", "--print"], &["--json"])?;
    if let Some(extra) = a.positional.first() {
        return Err(format!("unexpected argument {extra:?}"));
    }
    let print = a.value("--print");
    if let Some(p) = print.filter(|p| !matches!(*p, "key" | "key_sha256")) {
        return Err(format!("--print {p:?}: expected key or key_sha256"));
    }
    if print.is_some() && a.has("--json") {
        return Err("--print and --json do not go together".into());
    }
    let id = match (a.value("--agent"), print) {
        (Some(id), _) => Some(id),
        (None, Some(_)) => None,
        (None, None) => return Err("--agent ID is required (or --print key for a bare key)".into()),
    };
    if let Some(id) = id.filter(|id| !bollard::policy::valid_agent_id(id)) {
        return Err(format!("--agent {id:?}: an agent id must match [a-z0-9_-]{{1,64}}"));
    }
    let key = new_key()?;
    let digest = key_sha256(&key);
    match (print, id) {
        (Some("key"), _) => println!("{key}"),
        (Some(_), _) => println!("{digest}"),
        (None, Some(id)) if a.has("--json") => {
            let entry = serde_json::json!({
                "id": id, "name": id, "key_sha256": digest, "projects": [], "organizations": [], "access": {}
            });
            println!("{}", serde_json::to_string_pretty(&entry).map_err(|e| e.to_string())?);
            eprintln!("key for {id} (hand it to the agent; it is stored nowhere), on the next line:");
            eprintln!("{key}");
        }
        (None, id) => {
            println!("agent:      {}", id.unwrap_or("-"));
            println!("key:        {key}");
            println!("key_sha256: {digest}");
            println!("\nHand the key to the agent (it sends it as 'Authorization: Bearer <key>');");
            println!("put key_sha256 in the agent's entry of the policy. The key is not stored anywhere.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sbp_` + 40 lowercase hex from the operating system's randomness, the shape of a Supabase
/// personal access token.
pub fn new_key() -> Result<String, String> {
    Ok(format!("sbp_{}", random_hex(20)?))
}

/// `n` bytes of the operating system's randomness, in lowercase hex.
pub fn random_hex(n: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; n];
    let mut urandom = std::fs::File::open("/dev/urandom").map_err(|e| format!("/dev/urandom: {e}"))?;
    urandom.read_exact(&mut bytes).map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `bollard hash`: the key on stdin (one line; its line ending is not part of it) → key_sha256.
pub fn hash(raw: &[String]) -> Outcome {
    let a = Args::parse(raw, &[], &[])?;
    if let Some(extra) = a.positional.first() {
        return Err(format!(
            "unexpected argument {extra:?}: the key is read from stdin, so that it stays out of the shell history"
        ));
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| format!("stdin: {e}"))?;
    let key = input.strip_suffix('\n').map(|k| k.strip_suffix('\r').unwrap_or(k)).unwrap_or(&input);
    if key.is_empty() {
        return Err("no key on stdin (echo -n \"$KEY\" | bollard hash)".into());
    }
    if key.contains('\n') {
        return Err("more than one line on stdin: one key at a time".into());
    }
    if key.trim() != key {
        return Err("the key on stdin has spaces around it: an agent sends it without them".into());
    }
    println!("{}", key_sha256(key));
    Ok(ExitCode::SUCCESS)
}
