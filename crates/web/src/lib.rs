//! The browser shell around the `inception` crate: a [`Classifier`] that a Web Worker drives
//! from JavaScript. It picks WebGPU when the browser offers it and falls back to burn's CPU
//! backend otherwise, and never panics on bad input: every failure is a JavaScript error.
//! Results are read back asynchronously (`into_data_async`): a synchronous readback would
//! block, and panic, in the browser.

#![cfg(target_arch = "wasm32")]

mod classifier;
mod device;
mod manifest;
#[cfg(feature = "threads")]
mod pool_panic;

pub use classifier::Classifier;
pub use device::{Backend, init_device};
pub use manifest::parse_manifest;

use wasm_bindgen::prelude::*;
// `initThreadPool(n)` for JavaScript: starts rayon's pool of n Web Workers (the threaded CPU
// build; the worker that owns the classifier awaits it before the first pass).
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Whether the CPU path runs the model crate's fused convolution (the default) or burn's own
/// operations: the benchmark mode's `fused=0` compares the two in one page.
#[wasm_bindgen(js_name = useFusedKernels)]
pub fn use_fused_kernels(on: bool) {
    inception::model::fused::use_fused_kernels(on);
}
