//! Redirect tokens: who may join which room on which node, under which placement (its KV revision),
//! until when — signed with the fleet's key (HMAC-SHA256), opaque to clients.
//!
//! Layout: `1 | expires_unix_ms u64 | revision u64 | room u32 | user u32 | node | mac[32]`
//! (big-endian; the node name fills the bytes between the user and the MAC).

use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const FIXED: usize = 1 + 8 + 8 + 4 + 4;
const MAC_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub room: u32,
    pub user: u32,
    pub node: String,
    /// The KV revision of the placement the token was issued under.
    pub revision: u64,
    pub expires_unix_ms: u64,
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length")
}

pub fn sign(key: &[u8], claims: &Claims) -> Vec<u8> {
    let mut token = Vec::with_capacity(FIXED + claims.node.len() + MAC_LEN);
    token.push(VERSION);
    token.extend_from_slice(&claims.expires_unix_ms.to_be_bytes());
    token.extend_from_slice(&claims.revision.to_be_bytes());
    token.extend_from_slice(&claims.room.to_be_bytes());
    token.extend_from_slice(&claims.user.to_be_bytes());
    token.extend_from_slice(claims.node.as_bytes());
    let mut mac = mac(key);
    mac.update(&token);
    token.extend_from_slice(&mac.finalize().into_bytes());
    token
}

/// The claims of a genuine token not expired at `now_unix_ms`.
pub fn verify(key: &[u8], token: &[u8], now_unix_ms: u64) -> Option<Claims> {
    if token.len() < FIXED + MAC_LEN || token[0] != VERSION {
        return None;
    }
    let (signed, tag) = token.split_at(token.len() - MAC_LEN);
    let mut mac = mac(key);
    mac.update(signed);
    // Constant time: the comparison leaks nothing about the right tag.
    mac.verify_slice(tag).ok()?;
    let u64_at = |at: usize| u64::from_be_bytes(signed[at..at + 8].try_into().expect("8 bytes"));
    let u32_at = |at: usize| u32::from_be_bytes(signed[at..at + 4].try_into().expect("4 bytes"));
    let claims = Claims {
        expires_unix_ms: u64_at(1),
        revision: u64_at(9),
        room: u32_at(17),
        user: u32_at(21),
        node: String::from_utf8(signed[FIXED..].to_vec()).ok()?,
    };
    (now_unix_ms < claims.expires_unix_ms).then_some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            room: 1001,
            user: 10002,
            node: "mcu-b".into(),
            revision: 7,
            expires_unix_ms: 2_000,
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let token = sign(b"fleet key of sixteen", &claims());
        assert_eq!(
            verify(b"fleet key of sixteen", &token, 1_999),
            Some(claims())
        );
        assert_eq!(verify(b"fleet key of sixteen", &token, 2_000), None);
    }

    #[test]
    fn another_key_or_any_changed_byte_is_refused() {
        let token = sign(b"fleet key of sixteen", &claims());
        assert_eq!(verify(b"another fleet's key", &token, 0), None);
        for i in 0..token.len() {
            let mut bad = token.clone();
            bad[i] ^= 1;
            assert_eq!(verify(b"fleet key of sixteen", &bad, 0), None, "byte {i}");
        }
        assert_eq!(verify(b"fleet key of sixteen", &token[..20], 0), None);
        assert_eq!(verify(b"fleet key of sixteen", &[], 0), None);
    }
}
