//! Random message ids, so every published message can be told apart (a redelivery from a
//! second publish, one message across producer and consumer spans) even when the caller
//! set none.

/// A random (version 4) UUID in its usual text form, as Celery's task ids are.
pub(crate) fn random_uuid() -> String {
    let bits: u128 = rand::random();
    // The version nibble (4) and the RFC 4122 variant bits (10).
    let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_like_a_v4_uuid_and_differs_each_time() {
        let id = random_uuid();
        assert_eq!(id.len(), 36);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "version 4: {id}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "RFC 4122 variant: {id}"
        );
        assert_ne!(id, random_uuid());
    }
}
