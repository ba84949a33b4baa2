//! Panics on the threaded module's pool threads, said to the page.
//!
//! A panic aborts the module, and the thread it happens on traps. On the worker's own thread
//! the trap is an exception that the worker reports. On one of rayon's pool threads (Web
//! Workers of their own) nothing reaches the page: the worker's thread waits for that thread's
//! share of the work for ever, and the page would wait with it.
//!
//! So the panic hook also posts the panic's message on a `BroadcastChannel` that the page
//! listens to. The page then ends that worker and starts another, as after any crash.

use std::sync::OnceLock;

use wasm_bindgen::prelude::*;

static CHANNEL: OnceLock<String> = OnceLock::new();

/// Panics from now on, on any thread of the module, are also posted on the channel `name`
/// (a name of the worker's own, so that two pages do not hear each other).
#[wasm_bindgen(js_name = reportPoolPanicsTo)]
pub fn report_pool_panics_to(name: String) {
    if CHANNEL.set(name).is_err() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let Some(name) = CHANNEL.get() else {
            return;
        };
        if let Ok(channel) = web_sys::BroadcastChannel::new(name) {
            let _ = channel.post_message(&JsValue::from_str(&info.to_string()));
        }
    }));
}

/// Panics on a thread of the pool, as a bug there would: how the page's test checks the
/// above. The calling thread, like the worker's under a real bug, never returns.
#[wasm_bindgen(js_name = crashTestOnAPoolThread)]
pub fn crash_test_on_a_pool_thread() {
    // From a thread outside the pool, both halves of a join run on the pool's threads.
    rayon::join(|| (), || panic!("a test of a panic on a thread of the pool"));
}
