//! What the workspace's tests share, so that each helper exists once:
//! - [`floats`]: raw little-endian f32 files (the timm fixtures, `--out` logits), top-5 and
//!   differences;
//! - [`png`]: hand-made PNG headers for the hostile-input tests;
//! - [`network`] (feature `network`): the fixtures folder, the test devices and the weights
//!   of a saved network.

pub mod floats;
#[cfg(feature = "network")]
pub mod network;
pub mod png;

pub use floats::{f32_values, max_abs_diff, read_f32, top5};
