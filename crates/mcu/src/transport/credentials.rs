//! The accounts' stored secrets, as the login needs them: a SCRAM verifier to challenge
//! with (docs/SECURITY.md), a decoy for names that are not accounts, and for legacy argon2
//! entries the password check itself, off the reactor.
//!
//! argon2 is deliberately slow, so legacy verifications run on the blocking pool, a few at a
//! time (each one also takes the hash's memory cost). Their working memory (1–19 MiB each) is
//! pooled while logins are in progress and freed when the last one ends: a login storm maps
//! and faults in that memory once per parallel verification instead of once per login, and an
//! idle server keeps none of it (`crate::malloc` makes sure freed buffers go back to the
//! kernel).

use std::collections::HashMap;
use std::sync::Arc;

use argon2::Block;
use conference_proto::scram::{self, Verifier};
use parking_lot::Mutex;
use tokio::sync::Semaphore;

use crate::config::Account;
use crate::password::{Secret, verify_password_in};
use crate::room::UserId;

pub struct Credentials {
    by_name: HashMap<String, (UserId, Secret)>,
    /// Salts of decoy verifiers derive from it: stable per name for this process.
    decoy_secret: [u8; 32],
    /// The iteration count decoys announce: the accounts' most common one.
    decoy_iterations: u32,
    /// Held by the verification itself (not by the waiting login, which a timeout may drop),
    /// so at most this many argon2 buffers exist at once.
    permits: Arc<Semaphore>,
    memory: Arc<Memory>,
}

/// How the MCU challenges a login.
pub enum Challenge {
    /// A SCRAM exchange; `user` is `None` for a decoy (the proof will fail).
    Scram {
        user: Option<UserId>,
        verifier: Verifier,
    },
    /// A legacy account over TLS: the client sends the password.
    Legacy { user: UserId, hash: Arc<str> },
}

impl Credentials {
    pub fn new(accounts: &[Account]) -> Self {
        let parallel = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 4);
        let by_name: HashMap<String, (UserId, Secret)> = accounts
            .iter()
            .filter_map(|a| {
                // The configuration was validated: a parse failure here cannot happen, and
                // would only make that account unusable.
                let secret = Secret::parse(&a.password_hash).ok()?;
                Some((a.username.clone(), (a.id, secret)))
            })
            .collect();
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for (_, secret) in by_name.values() {
            if let Secret::Scram(verifier) = secret {
                *counts.entry(verifier.iterations).or_default() += 1;
            }
        }
        let decoy_iterations = counts
            .into_iter()
            .max_by_key(|&(iterations, count)| (count, iterations))
            .map_or(scram::DEFAULT_ITERATIONS, |(iterations, _)| iterations);
        let mut decoy_secret = [0u8; 32];
        scram::fill_random(&mut decoy_secret);
        Credentials {
            by_name,
            decoy_secret,
            decoy_iterations,
            permits: Arc::new(Semaphore::new(parallel)),
            memory: Arc::default(),
        }
    }

    /// The challenge for `username` on a link that is `tls` or not. An unknown name, and a
    /// legacy account on a plain link (its password must not travel in clear), get a decoy:
    /// on the wire the same as a real account, refused at the proof.
    pub fn challenge(&self, username: &str, tls: bool) -> Challenge {
        match self.by_name.get(username) {
            Some((user, Secret::Scram(verifier))) => Challenge::Scram {
                user: Some(*user),
                verifier: verifier.clone(),
            },
            Some((user, Secret::Legacy(hash))) if tls => Challenge::Legacy {
                user: *user,
                hash: hash.clone(),
            },
            Some((_, Secret::Legacy(_))) => {
                tracing::warn!(
                    username,
                    "legacy argon2 account on a plain link: refused (it needs TLS, or a SCRAM \
                     verifier from `conference-mcu hash-password`)"
                );
                self.decoy(username)
            }
            None => self.decoy(username),
        }
    }

    fn decoy(&self, username: &str) -> Challenge {
        Challenge::Scram {
            user: None,
            verifier: Verifier::decoy(username, &self.decoy_secret, self.decoy_iterations),
        }
    }

    /// Checks a legacy account's password (argon2, on the blocking pool).
    pub async fn verify_legacy(&self, hash: Arc<str>, password: String) -> bool {
        let _login = Login::start(&self.memory);
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return false;
        };
        let memory = self.memory.clone();
        tokio::task::spawn_blocking(move || {
            let mut blocks = memory.take();
            let ok = verify_password_in(&password, &hash, &mut blocks);
            memory.give_back(blocks);
            drop(permit);
            ok
        })
        .await
        .unwrap_or(false)
    }
}

/// argon2 block buffers between verifications of one burst of logins.
#[derive(Default)]
struct Memory {
    state: Mutex<Pool>,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Vec<Block>>,
    /// Logins waiting for or running a verification.
    logins: usize,
}

impl Memory {
    fn take(&self) -> Vec<Block> {
        self.state.lock().idle.pop().unwrap_or_default()
    }

    fn give_back(&self, blocks: Vec<Block>) {
        let mut pool = self.state.lock();
        if pool.logins > 0 {
            pool.idle.push(blocks);
        }
        // else: the login gave up meanwhile and no other is in progress; freed (outside the
        // lock: unmapping 19 MiB is not free).
    }
}

/// A login in progress: keeps pooled memory alive; the last one frees it.
struct Login<'a>(&'a Memory);

impl<'a> Login<'a> {
    fn start(memory: &'a Memory) -> Self {
        memory.state.lock().logins += 1;
        Login(memory)
    }
}

impl Drop for Login<'_> {
    fn drop(&mut self) {
        let freed = {
            let mut pool = self.0.state.lock();
            pool.logins -= 1;
            if pool.logins == 0 {
                std::mem::take(&mut pool.idle)
            } else {
                Vec::new()
            }
        };
        drop(freed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::{Cost, hash_password};

    fn accounts() -> Vec<Account> {
        let hash = hash_password("pw", Cost::CHEAP).unwrap();
        ["a", "b"]
            .iter()
            .zip(1..)
            .map(|(name, id)| Account {
                id,
                username: name.to_string(),
                nickname: name.to_string(),
                password_hash: hash.clone(),
                chair: false,
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_legacy_logins_shares_memory_and_frees_it_at_the_end() {
        let credentials = Arc::new(Credentials::new(&accounts()));
        let logins: Vec<_> = (0..16)
            .map(|i| {
                let credentials = credentials.clone();
                tokio::spawn(async move {
                    let (name, password) = if i % 4 == 3 {
                        ("nobody", "pw")
                    } else if i % 4 == 2 {
                        ("a", "wrong")
                    } else {
                        (["a", "b"][i % 2], "pw")
                    };
                    let ok = match credentials.challenge(name, true) {
                        Challenge::Legacy { user, hash } => credentials
                            .verify_legacy(hash, password.to_string())
                            .await
                            .then_some(user),
                        Challenge::Scram { .. } => None,
                    };
                    (i, ok)
                })
            })
            .collect();
        for login in logins {
            let (i, user) = login.await.unwrap();
            let expected = match i % 4 {
                0 => Some(1),
                1 => Some(2),
                _ => None,
            };
            assert_eq!(user, expected, "login {i}");
        }
        // Over a plain link a legacy account is a decoy, as is an unknown name.
        assert!(matches!(
            credentials.challenge("a", false),
            Challenge::Scram { user: None, .. }
        ));
        let pool = credentials.memory.state.lock();
        assert_eq!(pool.logins, 0);
        assert!(
            pool.idle.is_empty(),
            "no argon2 memory kept after the burst"
        );
    }

    #[test]
    fn scram_accounts_and_decoys_look_alike() {
        let verifier = crate::password::scram_verifier("pw", scram::MIN_ITERATIONS);
        let account = Account {
            id: 7,
            username: "s".into(),
            nickname: "s".into(),
            password_hash: verifier,
            chair: false,
        };
        let credentials = Credentials::new(&[account]);
        let Challenge::Scram {
            user,
            verifier: real,
        } = credentials.challenge("s", false)
        else {
            panic!("a SCRAM account is challenged with SCRAM");
        };
        assert_eq!(user, Some(7));
        let Challenge::Scram {
            user: None,
            verifier: decoy,
        } = credentials.challenge("x", true)
        else {
            panic!("an unknown name gets a decoy");
        };
        assert_eq!(decoy.iterations, real.iterations);
        assert_eq!(decoy.salt.len(), real.salt.len());
        let Challenge::Scram {
            verifier: again, ..
        } = credentials.challenge("x", false)
        else {
            unreachable!()
        };
        assert_eq!(again.salt, decoy.salt, "the same decoy salt on every probe");
    }
}
