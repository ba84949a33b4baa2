//! Choosing where tensors live: wgpu (Vulkan, Metal, DX12; Mesa's lavapipe on a machine
//! without a GPU), CUDA (with the `cuda` cargo feature), or one of burn's CPU backends.

use std::fmt;
use std::str::FromStr;

use anyhow::{Context, Result};
use burn::prelude::{Device, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// burn-wgpu: the GPU through Vulkan / Metal / DX12.
    Wgpu,
    /// burn's CUDA kernels on an NVIDIA GPU (built with `--features cuda`).
    #[cfg(feature = "cuda")]
    Cuda,
    /// burn-flex: burn's CPU backend (SIMD, multi-threaded).
    Flex,
    /// burn-ndarray: the older CPU backend.
    Ndarray,
}

impl Backend {
    pub const ALL: &[Backend] = &[
        Backend::Wgpu,
        #[cfg(feature = "cuda")]
        Backend::Cuda,
        Backend::Flex,
        Backend::Ndarray,
    ];

    pub fn device(self) -> Result<Device> {
        Ok(match self {
            Backend::Wgpu => Device::wgpu_options().init().context(
                "no usable wgpu adapter (install a Vulkan driver, e.g. Debian's mesa-vulkan-drivers, \
                 or use --backend flex)",
            )?,
            #[cfg(feature = "cuda")]
            Backend::Cuda => Device::cuda(0),
            Backend::Flex => Device::flex(),
            // burn deprecates ndarray in favour of flex; it stays selectable for comparison.
            #[allow(deprecated)]
            Backend::Ndarray => Device::ndarray(),
        })
    }
}

/// `--devices`: how many devices of a backend, or which (their indices).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceList {
    /// The first N: `--devices 2`.
    Count(usize),
    /// These indices: `--devices 0,2`.
    Indices(Vec<usize>),
}

impl FromStr for DeviceList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let number = |part: &str| {
            part.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{s}` is not a device count (2) or a list of device indices (0,2)"))
        };
        if !s.contains(',') {
            return match number(s)? {
                0 => Err("--devices needs at least one device".into()),
                n => Ok(DeviceList::Count(n)),
            };
        }
        let indices = s.split(',').map(number).collect::<Result<Vec<_>, _>>()?;
        if let Some(i) = indices
            .iter()
            .enumerate()
            .find_map(|(k, i)| indices[..k].contains(i).then_some(i))
        {
            return Err(format!(
                "--devices lists device {i} twice: each replica needs a device of its own"
            ));
        }
        Ok(DeviceList::Indices(indices))
    }
}

impl DeviceList {
    fn indices(&self) -> Vec<usize> {
        match self {
            DeviceList::Count(n) => (0..*n).collect(),
            DeviceList::Indices(indices) => indices.clone(),
        }
    }
}

impl Backend {
    /// The devices a data-parallel run trains on. One device is [`Backend::device`]; several
    /// are GPUs by index: wgpu's discrete GPUs in the order the driver lists them, or CUDA's.
    pub fn devices(self, list: &DeviceList) -> Result<Vec<Device>> {
        if *list == DeviceList::Count(1) {
            return Ok(vec![self.device()?]);
        }
        let indices = list.indices();
        match self {
            Backend::Wgpu => indices
                .iter()
                .map(|&i| {
                    Device::wgpu_options()
                        .device_kind(burn::tensor::DeviceKind::DiscreteGpu(i))
                        .init()
                        .with_context(|| {
                            format!("no discrete GPU number {i} for wgpu (--devices counts discrete GPUs from 0)")
                        })
                })
                .collect(),
            #[cfg(feature = "cuda")]
            Backend::Cuda => Ok(indices.iter().map(|&i| Device::cuda(i)).collect()),
            Backend::Flex | Backend::Ndarray => anyhow::bail!(
                "{self} is one device that already uses every core: --devices {} needs --backend wgpu{}",
                indices.len(),
                if cfg!(feature = "cuda") {
                    " or cuda"
                } else {
                    " (or cuda, in a build with --features cuda)"
                }
            ),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Wgpu => "wgpu",
            #[cfg(feature = "cuda")]
            Backend::Cuda => "cuda",
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
        })
    }
}

impl FromStr for Backend {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        Backend::ALL
            .iter()
            .copied()
            .find(|b| b.to_string() == s)
            .with_context(|| {
                let known: Vec<String> = Backend::ALL.iter().map(Backend::to_string).collect();
                format!("unknown backend `{s}` ({})", known.join(", "))
            })
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
