//! Capturing what the library logs, per test thread.
//!
//! One global subscriber (installed on first use) formats every event at
//! every level into a buffer of the calling thread while
//! [`capture_logs`] runs, and discards events elsewhere. Scoped subscribers
//! (`tracing::subscriber::with_default`) are not used because callsite
//! interest is cached process-wide, which makes them miss events when
//! tests run in parallel.

// Test helpers panic on broken fixtures, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::io::Write;
use std::sync::Once;

thread_local! {
    static BUFFER: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

struct ThreadSink;

impl Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        BUFFER.with(|b| {
            if let Some(v) = b.borrow_mut().as_mut() {
                v.extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged on this thread while `f` runs.
pub(crate) fn capture_logs(f: impl FnOnce()) -> String {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| ThreadSink)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in the test binary");
    });
    BUFFER.with(|b| *b.borrow_mut() = Some(Vec::new()));
    f();
    let bytes = BUFFER.with(|b| b.borrow_mut().take()).unwrap_or_default();
    String::from_utf8(bytes).expect("logs are UTF-8")
}
