//! Emails prepared once and completed per reader (see `PreparedEmail`): the
//! confirmation, and each digest being sent, per set of reader topics, with
//! the digest's publications loaded once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::domain::Topics;
use crate::email::{ComposeError, Composer, PreparedEmail};
use crate::store::{Publication, Store, StoreError, TestDigest};

/// Entries kept at most; past this the cache starts afresh (digests in
/// flight are few, topic combinations a few hundred at most).
const CAPACITY: usize = 512;
/// A prepared email carries its `Date`: prepare it again after this long.
const FRESH_FOR: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("cannot load the digest")]
    Store(#[from] StoreError),
    #[error("cannot compose the digest")]
    Compose(#[from] ComposeError),
}

type Prepared = Option<Arc<PreparedEmail>>;

pub struct PreparedEmails {
    store: Arc<dyn Store>,
    composer: Arc<Composer>,
    confirmation: Mutex<Option<Arc<PreparedEmail>>>,
    publications: Mutex<HashMap<i64, Arc<[Publication]>>>,
    digests: Mutex<HashMap<(i64, String), Prepared>>,
}

impl PreparedEmails {
    pub fn new(store: Arc<dyn Store>, composer: Arc<Composer>) -> PreparedEmails {
        PreparedEmails {
            store,
            composer,
            confirmation: Mutex::default(),
            publications: Mutex::default(),
            digests: Mutex::default(),
        }
    }

    pub fn confirmation(&self) -> Result<Arc<PreparedEmail>, PrepareError> {
        if let Some(found) = lock(&self.confirmation).as_ref().filter(|p| p.age() < FRESH_FOR) {
            return Ok(found.clone());
        }
        let prepared = Arc::new(self.composer.prepare_confirmation()?);
        *lock(&self.confirmation) = Some(prepared.clone());
        Ok(prepared)
    }

    /// The email of `digest_id` for readers with `topics`; `None` when none
    /// of the digest is for them.
    pub async fn digest(&self, digest_id: i64, topics: &Topics) -> Result<Prepared, PrepareError> {
        let key = (digest_id, topics.keys_json());
        if let Some(found) = lock(&self.digests).get(&key)
            && found.as_ref().is_none_or(|p| p.age() < FRESH_FOR)
        {
            return Ok(found.clone());
        }
        let publications = self.publications(digest_id).await?;
        let prepared = self.composer.prepare_digest(topics, &publications)?.map(Arc::new);
        let mut cache = lock(&self.digests);
        if cache.len() >= CAPACITY {
            cache.clear();
        }
        cache.insert(key, prepared.clone());
        Ok(prepared)
    }

    /// A dashboard test digest: its publications as they are now, never cached.
    pub async fn test_digest(&self, test: &TestDigest, topics: &Topics) -> Result<Prepared, PrepareError> {
        let mut publications = Vec::with_capacity(test.publication_ids.len());
        for id in &test.publication_ids {
            publications.extend(self.store.publication(*id).await?);
        }
        Ok(self.composer.prepare_digest(topics, &publications)?.map(Arc::new))
    }

    async fn publications(&self, digest_id: i64) -> Result<Arc<[Publication]>, StoreError> {
        if let Some(found) = lock(&self.publications).get(&digest_id) {
            return Ok(found.clone());
        }
        let publications: Arc<[Publication]> = self.store.digest_publications(digest_id).await?.into();
        let mut loaded = lock(&self.publications);
        if loaded.len() >= CAPACITY {
            loaded.clear();
        }
        loaded.insert(digest_id, publications.clone());
        Ok(publications)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
