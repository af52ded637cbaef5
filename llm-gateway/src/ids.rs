//! Ids the gateway makes: one per call (its `x-litellm-call-id`, its spend
//! log's `request_id`), per team and per lease; and the hex they and the
//! keys' hashes are written in.

use std::time::{SystemTime, UNIX_EPOCH};

/// A new id: a UUIDv7 (RFC 9562) in its hyphenated form, as LiteLLM's call
/// ids are UUIDs. Its first 48 bits are the Unix time in milliseconds, the
/// rest random, so ids sort by time: the spend log's primary-key index
/// takes each batch at its end instead of on a random page per row (which
/// wrote a whole page to the database per call once the log outgrew the
/// page cache).
pub fn new_id() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut random = [0u8; 10];
    fastrand::fill(&mut random);
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut text)
        .to_owned()
}

/// `bytes` in lowercase hex, in one allocation (`hex::encode` collects
/// its digits one `char` at a time; this runs on every call).
pub fn lower_hex(bytes: &[u8]) -> String {
    let mut digits = vec![0u8; bytes.len() * 2];
    // The buffer is exactly twice as long, and hex digits are ASCII.
    let _ = hex::encode_to_slice(bytes, &mut digits);
    String::from_utf8(digits).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{lower_hex, new_id};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn lower_hex_is_hex_encode(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            prop_assert_eq!(lower_hex(&bytes), hex::encode(&bytes));
        }
    }

    #[test]
    fn ids_are_unique_uuids_in_time_order() {
        let first: Vec<String> = (0..5000).map(|_| new_id()).collect();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let later = new_id();
        let mut seen = std::collections::HashSet::new();
        for id in &first {
            let parsed = uuid::Uuid::parse_str(id).expect("a UUID");
            assert_eq!(parsed.get_version_num(), 7, "{id}");
            assert_eq!(id.len(), 36, "{id}");
            assert!(seen.insert(id.clone()), "{id} twice");
            // Made at least a millisecond earlier: sorts before.
            assert!(*id < later, "{id} after {later}");
        }
    }
}
