//! Salted password hashes (argon2id, PHC strings) for the accounts of the configuration.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Cost of a new hash.
#[derive(Copy, Clone, Debug)]
pub struct Cost {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
}

impl Cost {
    /// argon2's recommended default (19 MiB, 2 passes): for real deployments.
    pub const DEFAULT: Cost = Cost {
        m_kib: 19 * 1024,
        t: 2,
    };
    /// Cheap enough for the built-in demo, tests and load generation (1 MiB, 1 pass).
    pub const CHEAP: Cost = Cost { m_kib: 1024, t: 1 };
}

/// Hashes `password` with a fresh random salt into a PHC string (`$argon2id$v=19$...`).
pub fn hash_password(password: &str, cost: Cost) -> anyhow::Result<String> {
    let params = Params::new(cost.m_kib, cost.t, 1, None)
        .map_err(|e| anyhow::anyhow!("invalid argon2 cost: {e}"))?;
    let salt = SaltString::generate(&mut OsRng);
    let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
    Ok(hash.to_string())
}

/// Checks that `phc` is a PHC string argon2 can verify against.
pub fn validate_hash(phc: &str) -> anyhow::Result<()> {
    let hash = PasswordHash::new(phc).map_err(|e| anyhow::anyhow!("not a PHC string: {e}"))?;
    if !hash.algorithm.as_str().starts_with("argon2") {
        anyhow::bail!("unsupported hash algorithm {}", hash.algorithm);
    }
    Ok(())
}

/// Constant-work check of `password` against a PHC string; any parse failure is a mismatch.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let phc = hash_password("secret", Cost::CHEAP).unwrap();
        assert!(phc.starts_with("$argon2id$"));
        validate_hash(&phc).unwrap();
        assert!(verify_password("secret", &phc));
        assert!(!verify_password("Secret", &phc));
        assert!(!verify_password("secret", "not a hash"));
        assert!(validate_hash("plain").is_err());
    }
}
