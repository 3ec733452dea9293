//! The publications of digests being sent, loaded once per digest and
//! shared by every email of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::store::{Publication, Store, StoreResult};

/// Digests in flight at once are few; older entries are dropped past this.
const CAPACITY: usize = 16;

pub struct DigestCache {
    store: Arc<dyn Store>,
    loaded: Mutex<HashMap<i64, Arc<[Publication]>>>,
}

impl DigestCache {
    pub fn new(store: Arc<dyn Store>) -> DigestCache {
        DigestCache { store, loaded: Mutex::new(HashMap::new()) }
    }

    pub async fn publications(&self, digest_id: i64) -> StoreResult<Arc<[Publication]>> {
        if let Some(found) = self.lock().get(&digest_id) {
            return Ok(found.clone());
        }
        let publications: Arc<[Publication]> = self.store.digest_publications(digest_id).await?.into();
        let mut loaded = self.lock();
        if loaded.len() >= CAPACITY {
            loaded.clear();
        }
        loaded.insert(digest_id, publications.clone());
        Ok(publications)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<[Publication]>>> {
        self.loaded.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
