//! What the configuration stores for a password: a SCRAM-SHA-256 verifier (the current form,
//! `conference-mcu hash-password`), or a legacy argon2 PHC string (accepted over TLS only,
//! docs/SECURITY.md).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use conference_proto::scram::{self, Verifier};
use subtle::ConstantTimeEq;

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

/// A stored password, parsed.
#[derive(Clone, Debug)]
pub enum Secret {
    /// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
    Scram(Verifier),
    /// An argon2 PHC string (`$argon2id$...`): the password itself must reach the MCU.
    Legacy(std::sync::Arc<str>),
}

impl Secret {
    pub fn parse(text: &str) -> anyhow::Result<Secret> {
        if text.starts_with(scram::MECHANISM) {
            return Verifier::parse(text)
                .map(Secret::Scram)
                .ok_or_else(|| anyhow::anyhow!("not a valid SCRAM-SHA-256 verifier"));
        }
        let hash = PasswordHash::new(text)
            .map_err(|e| anyhow::anyhow!("not a SCRAM verifier nor a PHC string: {e}"))?;
        if !hash.algorithm.as_str().starts_with("argon2") {
            anyhow::bail!("unsupported hash algorithm {}", hash.algorithm);
        }
        Ok(Secret::Legacy(text.into()))
    }
}

/// A SCRAM-SHA-256 verifier for `password` with a fresh salt: what `hash-password` prints.
pub fn scram_verifier(password: &str, iterations: u32) -> String {
    Verifier::generate(password, iterations).encode()
}

/// Checks that `text` is a stored form this MCU understands.
pub fn validate_hash(text: &str) -> anyhow::Result<()> {
    Secret::parse(text).map(drop)
}

/// Checks a password that reached the MCU in full (the admin page's form, a legacy login)
/// against either stored form; any parse failure is a mismatch.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match Secret::parse(stored) {
        Ok(Secret::Scram(verifier)) => {
            let candidate = Verifier::with_salt(password, &verifier.salt, verifier.iterations);
            bool::from(candidate.stored_key.ct_eq(&verifier.stored_key))
        }
        Ok(Secret::Legacy(phc)) => verify_password_in(password, &phc, &mut Vec::new()),
        Err(_) => false,
    }
}

/// [`verify_password`] with argon2's working memory (the hash's memory cost) taken from
/// `memory`, grown when too small: a login storm reuses the same buffers instead of mapping
/// and faulting in 1–19 MiB per login.
pub fn verify_password_in(password: &str, phc: &str, memory: &mut Vec<Block>) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => matches!(check(password.as_bytes(), &hash, memory), Ok(true)),
        Err(_) => false,
    }
}

/// What argon2's `PasswordVerifier` does, with the caller's memory.
fn check(
    password: &[u8],
    hash: &PasswordHash<'_>,
    memory: &mut Vec<Block>,
) -> password_hash::Result<bool> {
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(hash.algorithm)?;
    let version = hash
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(hash)?;
    let blocks = params.block_count();
    if memory.len() < blocks {
        // Replace rather than grow: growing would copy the old contents.
        *memory = Vec::new();
        *memory = vec![Block::default(); blocks];
    }
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf)?;
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        Ok(argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])?)
    })?;
    // `Output` compares in constant time.
    Ok(computed == *expected)
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

    #[test]
    fn scram_verifiers_check_the_admin_form_and_are_told_apart() {
        let text = scram_verifier("secret", scram::MIN_ITERATIONS);
        assert!(text.starts_with("SCRAM-SHA-256$4096:"));
        assert!(matches!(Secret::parse(&text), Ok(Secret::Scram(_))));
        assert!(verify_password("secret", &text));
        assert!(!verify_password("secret!", &text));
        let legacy = hash_password("secret", Cost::CHEAP).unwrap();
        assert!(matches!(Secret::parse(&legacy), Ok(Secret::Legacy(_))));
        assert!(Secret::parse("SCRAM-SHA-256$x").is_err());
        assert!(Secret::parse("secret").is_err());
    }

    #[test]
    fn reused_memory_gives_the_same_answers() {
        let cheap = hash_password("secret", Cost::CHEAP).unwrap();
        let bigger = hash_password("other", Cost { m_kib: 2048, t: 2 }).unwrap();
        let mut memory = Vec::new();
        // A buffer left over from another hash (bigger, then smaller) changes nothing.
        assert!(verify_password_in("other", &bigger, &mut memory));
        assert_eq!(memory.len(), 2048);
        assert!(verify_password_in("secret", &cheap, &mut memory));
        assert!(!verify_password_in("Secret", &cheap, &mut memory));
        assert!(!verify_password_in("secret", &bigger, &mut memory));
        assert!(verify_password_in("other", &bigger, &mut memory));
        assert_eq!(memory.len(), 2048, "reused, not reallocated");
        // Hashes made by other tools verify too (argon2i, other parameters).
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(256, 3, 2, Some(24)).unwrap(),
        )
        .hash_password(b"legacy", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(verify_password_in("legacy", &argon2i, &mut memory));
        assert!(!verify_password_in("legacy!", &argon2i, &mut memory));
        assert!(!verify_password_in(
            "x",
            "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ",
            &mut memory
        ));
    }
}
