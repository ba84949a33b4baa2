//! Ctrl-C and SIGTERM stop training after the current step, with a checkpoint; a second
//! signal quits at once. A tiny handler over the C library's `signal` (a signal crate
//! would change the feature set of `nix`, which burn's dependencies share).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
mod unix {
    use super::*;

    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;

    unsafe extern "C" {
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
        fn _exit(status: i32) -> !;
    }

    /// Only async-signal-safe work here: an atomic swap, or `_exit`.
    extern "C" fn on_signal(_: i32) {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            // SAFETY: `_exit` is async-signal-safe and ends the process.
            unsafe { _exit(130) }
        }
    }

    pub fn install() {
        // SAFETY: `on_signal` only touches an atomic and calls `_exit`.
        unsafe {
            signal(SIGINT, on_signal);
            signal(SIGTERM, on_signal);
        }
    }
}

/// Installs the handler and returns a flag that a watcher thread mirrors into the
/// trainer's interrupt flag (announcing it once).
pub fn install() -> Arc<AtomicBool> {
    #[cfg(unix)]
    unix::install();
    let flag = Arc::new(AtomicBool::new(false));
    let mirror = flag.clone();
    std::thread::spawn(move || {
        while !INTERRUPTED.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        mirror.store(true, Ordering::SeqCst);
        eprintln!("\nstopping after this step (a checkpoint follows); interrupt again to quit now");
    });
    flag
}
