//! Password checks off the reactor: argon2 is deliberately slow, so verifications run on the
//! blocking pool, a few at a time (each one also takes the hash's memory cost).
//!
//! argon2's working memory (1–19 MiB per verification) is pooled while logins are in progress
//! and freed when the last one ends: a login storm maps and faults in that memory once per
//! parallel verification instead of once per login, and an idle server keeps none of it
//! (`crate::malloc` makes sure freed buffers go back to the kernel).

use std::collections::HashMap;
use std::sync::Arc;

use argon2::Block;
use parking_lot::Mutex;
use tokio::sync::Semaphore;

use crate::config::Account;
use crate::password::verify_password_in;
use crate::room::UserId;

pub struct Credentials {
    by_name: HashMap<String, (UserId, Arc<str>)>,
    /// Verified when the username is unknown, so both failures cost the same.
    decoy: Option<Arc<str>>,
    /// Held by the verification itself (not by the waiting login, which a timeout may drop),
    /// so at most this many argon2 buffers exist at once.
    permits: Arc<Semaphore>,
    memory: Arc<Memory>,
}

impl Credentials {
    pub fn new(accounts: &[Account]) -> Self {
        let parallel = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 4);
        Credentials {
            by_name: accounts
                .iter()
                .map(|a| {
                    (
                        a.username.clone(),
                        (a.id, Arc::from(a.password_hash.as_str())),
                    )
                })
                .collect(),
            decoy: accounts
                .first()
                .map(|a| Arc::from(a.password_hash.as_str())),
            permits: Arc::new(Semaphore::new(parallel)),
            memory: Arc::default(),
        }
    }

    /// The user id of a correct username/password pair.
    pub async fn verify(&self, username: &str, password: String) -> Option<UserId> {
        let (user, hash) = match self.by_name.get(username) {
            Some((id, hash)) => (Some(*id), hash.clone()),
            None => (None, self.decoy.clone()?),
        };
        let _login = Login::start(&self.memory);
        let permit = self.permits.clone().acquire_owned().await.ok()?;
        let memory = self.memory.clone();
        let ok = tokio::task::spawn_blocking(move || {
            let mut blocks = memory.take();
            let ok = verify_password_in(&password, &hash, &mut blocks);
            memory.give_back(blocks);
            drop(permit);
            ok
        })
        .await
        .unwrap_or(false);
        if ok { user } else { None }
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
    async fn a_burst_of_logins_shares_memory_and_frees_it_at_the_end() {
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
                    (i, credentials.verify(name, password.to_string()).await)
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
        let pool = credentials.memory.state.lock();
        assert_eq!(pool.logins, 0);
        assert!(
            pool.idle.is_empty(),
            "no argon2 memory kept after the burst"
        );
    }
}
