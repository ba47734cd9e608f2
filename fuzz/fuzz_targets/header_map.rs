//! The host's serialized header map, read in place: any bytes either read as pairs that
//! serialize back to the start of the input, or are refused; never a panic.
#![no_main]

use bollard::exchange::parse_map;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(pairs) = parse_map(data) else { return };
    if data.is_empty() {
        assert!(pairs.is_empty());
        return;
    }
    let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
    for (k, v) in &pairs {
        out.extend((k.len() as u32).to_le_bytes());
        out.extend((v.len() as u32).to_le_bytes());
    }
    for (k, v) in &pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v);
        out.push(0);
    }
    assert!(data.starts_with(&out), "pairs that serialize to what was read");
});
