//! Read connections: reads run on a small pool of their own connections,
//! so they do not queue behind the one connection that writes (WAL lets
//! readers and a writer run at once, across processes too).

use rusqlite::Connection;
use std::sync::{Condvar, Mutex, PoisonError};

/// A fixed set of connections opened with `query_only`; a reader takes
/// one, or waits until one is given back.
#[derive(Debug)]
pub(super) struct Readers {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

impl Readers {
    pub(super) fn new(connections: Vec<Connection>) -> Self {
        Self {
            idle: Mutex::new(connections),
            returned: Condvar::new(),
        }
    }

    /// Runs `f` on an idle connection (blocking: call from a blocking
    /// task). The connection goes back to the pool even if `f` panics.
    pub(super) fn with<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        let conn = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(conn) = idle.pop() {
                    break conn;
                }
                idle = self
                    .returned
                    .wait(idle)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let mut lent = Lent {
            readers: self,
            conn: Some(conn),
        };
        match lent.conn.as_mut() {
            Some(conn) => f(conn),
            None => unreachable!("a lent connection is present until dropped"),
        }
    }
}

/// A connection out of the pool; given back when dropped.
struct Lent<'a> {
    readers: &'a Readers,
    conn: Option<Connection>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
            self.readers.returned.notify_one();
        }
    }
}
