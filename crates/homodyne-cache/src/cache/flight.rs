//! Single flights for `get_or_insert_with`: concurrent misses on one key run
//! the computation once, the other callers wait for it.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::ThreadId;

struct Flight {
    owner: ThreadId,
    done: Mutex<bool>,
    finished: Condvar,
}

/// The flights under way, by key.
pub(crate) struct Flights<K> {
    map: Mutex<HashMap<K, Arc<Flight>>>,
}

impl<K> Default for Flights<K> {
    fn default() -> Self {
        Flights { map: Mutex::new(HashMap::new()) }
    }
}

/// What [`Flights::join`] found.
pub(crate) enum Joined<'a, K: Hash + Eq> {
    /// This caller leads the flight: it computes, and dropping the guard
    /// (also when `compute` panics) releases the waiters.
    Leader(FlightGuard<'a, K>),
    /// Another caller's flight ended; look again.
    Waited,
    /// This thread already leads a flight for the key: it is inside its own
    /// computation, and waiting would wait for itself.
    Recursive,
}

impl<K: Hash + Eq + Clone> Flights<K> {
    /// Takes the flight for `key`, or waits for the one under way to end.
    pub(crate) fn join(&self, key: &K) -> Joined<'_, K> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(flight) = map.get(key).cloned() {
            drop(map);
            if flight.owner == std::thread::current().id() {
                return Joined::Recursive;
            }
            let mut done = flight.done.lock().unwrap_or_else(PoisonError::into_inner);
            while !*done {
                done = flight.finished.wait(done).unwrap_or_else(PoisonError::into_inner);
            }
            return Joined::Waited;
        }
        let flight =
            Arc::new(Flight { owner: std::thread::current().id(), done: Mutex::new(false), finished: Condvar::new() });
        map.insert(key.clone(), Arc::clone(&flight));
        Joined::Leader(FlightGuard { flights: self, key: key.clone(), flight })
    }
}

/// Ends the flight when dropped, whether the computation returned or panicked.
pub(crate) struct FlightGuard<'a, K: Hash + Eq> {
    flights: &'a Flights<K>,
    key: K,
    flight: Arc<Flight>,
}

impl<K: Hash + Eq> Drop for FlightGuard<'_, K> {
    fn drop(&mut self) {
        self.flights.map.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.key);
        *self.flight.done.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.flight.finished.notify_all();
    }
}
