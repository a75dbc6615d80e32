//! Locking that survives a panic: the connector's shared state (summary counters, the state
//! database handle, rate-limit grants, the simulator's books) stays usable after a task that held
//! a lock panicked, because every update it makes is complete or absent. The one place that
//! decides this; no other module calls `Mutex::lock` itself.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, taking over the data of a holder that panicked.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
