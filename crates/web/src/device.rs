//! WebGPU when the browser has an adapter, the CPU (burn-flex in wasm) when it has none.
//! burn's wgpu runtime can be initialised once per worker, so the choice is kept.

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
    if let Some(known) = GPU.with(|g| g.borrow().clone()) {
        return known;
    }
    let chosen = match Device::wgpu_options().init_async().await {
        Ok(device) => (
            device,
            Backend {
                kind: "webgpu",
                fallback_reason: None,
            },
        ),
        Err(e) => (
            Device::flex(),
            Backend {
                kind: "cpu",
                fallback_reason: Some(format!("WebGPU is not available: {e}")),
            },
        ),
    };
    GPU.with(|g| *g.borrow_mut() = Some(chosen.clone()));
    chosen
}
