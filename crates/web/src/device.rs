//! WebGPU when the browser has an adapter, the CPU (burn-flex in wasm) when it has none.
//! burn's wgpu runtime can be initialised once per worker, so the choice is kept. A build
//! without the `webgpu` feature (the threaded CPU build) always answers the CPU.

#[cfg(feature = "webgpu")]
use std::cell::RefCell;

use burn::prelude::Device;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Backend {
    /// `"webgpu"` or `"cpu"`.
    pub kind: &'static str,
    /// Why WebGPU is not used, when it is not.
    pub fallback_reason: Option<String>,
}

#[cfg(feature = "webgpu")]
thread_local! {
    static GPU: RefCell<Option<(Device, Backend)>> = const { RefCell::new(None) };
}

/// The worker's device. `allow_gpu = false` forces the CPU.
pub async fn init_device(allow_gpu: bool) -> (Device, Backend) {
    if !allow_gpu {
        return (
            Device::flex(),
            Backend {
                kind: "cpu",
                fallback_reason: Some("CPU requested".into()),
            },
        );
    }
    #[cfg(not(feature = "webgpu"))]
    return (
        Device::flex(),
        Backend {
            kind: "cpu",
            fallback_reason: Some("this module is built without WebGPU (the page's threaded CPU module)".into()),
        },
    );
    #[cfg(feature = "webgpu")]
    init_webgpu().await
}

#[cfg(feature = "webgpu")]
async fn init_webgpu() -> (Device, Backend) {
    if let Some(known) = GPU.with(|g| g.borrow().clone()) {
        return known;
    }
    let cpu = |reason: String| {
        (
            Device::flex(),
            Backend {
                kind: "cpu",
                fallback_reason: Some(reason),
            },
        )
    };
    // Asked before wgpu is: a browser without WebGPU then gets a plain answer, whatever
    // wgpu's web backend would make of the missing API.
    let chosen = if !browser_has_webgpu() {
        cpu("This browser has no WebGPU (navigator.gpu is missing).".into())
    } else {
        match Device::wgpu_options().init_async().await {
            Ok(device) => (
                device,
                Backend {
                    kind: "webgpu",
                    fallback_reason: None,
                },
            ),
            Err(e) => {
                // The details are for developers; the page gets a sentence.
                web_sys::console::warn_1(&format!("WebGPU set-up failed: {e}").into());
                cpu("This browser offers no usable WebGPU adapter (it may be switched off, or the GPU is not supported).".into())
            }
        }
    };
    GPU.with(|g| *g.borrow_mut() = Some(chosen.clone()));
    chosen
}

/// Whether `navigator.gpu` exists in this worker (or page).
#[cfg(feature = "webgpu")]
fn browser_has_webgpu() -> bool {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &"navigator".into())
        .and_then(|navigator| js_sys::Reflect::get(&navigator, &"gpu".into()))
        .is_ok_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
}
