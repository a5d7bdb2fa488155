//! The background sender thread of a long-lived process: it flushes on an
//! interval, or early when a full batch has been accepted, and stops cleanly
//! (queued events stay in the outbox).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::delivery::sender::Sender;

/// Wakes the background sender.
#[derive(Default)]
pub(crate) struct Signal {
    pending: Mutex<bool>,
    cond: Condvar,
    stop: AtomicBool,
    /// Events accepted since the last flush, to flush early on a full batch.
    pub(crate) accepted: AtomicUsize,
}

impl Signal {
    pub(crate) fn wake(&self) {
        if let Ok(mut p) = self.pending.lock() {
            *p = true;
            self.cond.notify_one();
        }
    }
}

/// The background sender thread of a long-lived process.
pub(crate) struct Background {
    pub(crate) signal: Arc<Signal>,
    handle: Option<JoinHandle<()>>,
}

impl Background {
    pub(crate) fn start(sender: Arc<Sender>, interval: Duration) -> std::io::Result<Background> {
        let signal = Arc::new(Signal::default());
        let s = Arc::clone(&signal);
        let handle = std::thread::Builder::new().name("convtrack-sender".into()).spawn(move || loop {
            if s.stop.load(Ordering::Acquire) {
                break;
            }
            s.accepted.store(0, Ordering::Relaxed);
            if let Err(e) = sender.flush(Duration::from_secs(30), false) {
                log::error!("convtrack: background flush failed: {e}");
            }
            let Ok(guard) = s.pending.lock() else { break };
            let (mut guard, _) = match s.cond.wait_timeout_while(guard, interval, |p| !*p && !s.stop.load(Ordering::Acquire)) {
                Ok(r) => r,
                Err(_) => break,
            };
            *guard = false;
        })?;
        Ok(Background { signal, handle: Some(handle) })
    }

    /// Stops the thread after its current request; queued events stay in the outbox.
    pub(crate) fn stop(&mut self) {
        self.signal.stop.store(true, Ordering::Release);
        self.signal.wake();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop();
    }
}
