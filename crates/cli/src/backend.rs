//! Choosing where tensors live: wgpu (Vulkan, Metal, DX12; Mesa's lavapipe on a machine
//! without a GPU), or one of burn's CPU backends.

use std::fmt;
use std::str::FromStr;

use anyhow::{Context, Result};
use burn::prelude::{Device, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// burn-wgpu: the GPU through Vulkan / Metal / DX12.
    Wgpu,
    /// burn-flex: burn's CPU backend (SIMD, multi-threaded).
    Flex,
    /// burn-ndarray: the older CPU backend.
    Ndarray,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Wgpu, Backend::Flex, Backend::Ndarray];

    pub fn device(self) -> Result<Device> {
        Ok(match self {
            Backend::Wgpu => Device::wgpu_options().init().context(
                "no usable wgpu adapter (install a Vulkan driver, e.g. Debian's mesa-vulkan-drivers, \
                 or use --backend flex)",
            )?,
            Backend::Flex => Device::flex(),
            // burn deprecates ndarray in favour of flex; it stays selectable for comparison.
            #[allow(deprecated)]
            Backend::Ndarray => Device::ndarray(),
        })
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Wgpu => "wgpu",
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
        })
    }
}

impl FromStr for Backend {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        Backend::ALL
            .into_iter()
            .find(|b| b.to_string() == s)
            .with_context(|| format!("unknown backend `{s}` (wgpu, flex, ndarray)"))
    }
}

/// Reads logits back to the host, waiting for the device to finish the work behind them.
pub fn read_logits(logits: Tensor<2>) -> Result<Vec<f32>> {
    read_f32(logits)
}

/// A tensor's values, read back from the device.
pub fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>> {
    tensor
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading a tensor back: {e:?}"))
}
