//! Inception-v4 and Inception-ResNet-v2 on [burn](https://burn.dev), numerically equal to
//! timm's `inception_v4` and `inception_resnet_v2` and loading their checkpoints by name.
//!
//! Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4, Inception-ResNet and the Impact of
//! Residual Connections on Learning", AAAI 2017 (arXiv:1602.07261).
//!
//! This crate knows nothing of command lines or browsers: it builds the networks
//! ([`model`]), loads weights ([`weights`]), runs the path from an image file to its
//! classes ([`pipeline`]: [`preprocess`], the network, top-k, and [`cam`]'s maps of where
//! the network looked), and reads the
//! manifest that names a shipped weights file ([`manifest`]). It compiles for native targets
//! and for `wasm32-unknown-unknown`; the backend (wgpu, flex, ndarray) is the caller's
//! choice of [`burn::tensor::Device`].

pub mod arch;
pub mod cam;
pub mod hash;
pub mod imagenet;
pub mod manifest;
pub mod model;
pub mod pipeline;
pub mod preprocess;
pub mod resample;
pub mod storage;
pub mod weights;

pub use arch::Arch;
pub use manifest::Manifest;
pub use model::{Network, NetworkConfig, Summary};
pub use pipeline::{Answer, ClassifyError, Pipeline, Prepared};
pub use preprocess::{ImageError, Preprocess, decode_image};
pub use weights::{LoadedWeights, WeightsError, WeightsMeta, load_weights};
