//! Password checks off the reactor: argon2 is deliberately slow, so verifications run on the
//! blocking pool, a few at a time (each one also takes the hash's memory cost).

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::config::Account;
use crate::password::verify_password;
use crate::room::UserId;

pub struct Credentials {
    by_name: HashMap<String, (UserId, Arc<str>)>,
    /// Verified when the username is unknown, so both failures cost the same.
    decoy: Option<Arc<str>>,
    permits: Semaphore,
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
            permits: Semaphore::new(parallel),
        }
    }

    /// The user id of a correct username/password pair.
    pub async fn verify(&self, username: &str, password: String) -> Option<UserId> {
        let (user, hash) = match self.by_name.get(username) {
            Some((id, hash)) => (Some(*id), hash.clone()),
            None => (None, self.decoy.clone()?),
        };
        let _permit = self.permits.acquire().await.ok()?;
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false);
        if ok { user } else { None }
    }
}
