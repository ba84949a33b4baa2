//! The residual Inception blocks (paper Section 3.2) and their residual scaling (Section
//! 3.3, Figure 20), shared by the released Inception-ResNet-v2 and the paper's
//! Inception-ResNet-v1/v2. One type per grid size, its branch widths a parameter:
//!
//! | block | branches | released v2 (TF-slim) | paper v1 | paper v2 |
//! | --- | --- | --- | --- | --- |
//! | [`Block35`] (A, 35x35) | 1x1 / 1x1-3x3 / 1x1-3x3-3x3 | 320: 32 / 32-32 / 32-48-64 | Fig. 10, 256: 32 / 32-32 / 32-32-32 | Fig. 16, 384: 32 / 32-32 / 32-48-64 |
//! | [`Block17`] (B, 17x17) | 1x1 / 1x1-1x7-7x1 | 1088: 192 / 128-160-192 | Fig. 11, 896: 128 / 128-128-128 | Fig. 17, 1152: 192 / 128-160-192 |
//! | [`Block8`] (C, 8x8) | 1x1 / 1x1-1x3-3x1 | 2080: 192 / 192-224-256 | Fig. 13, 1792: 192 / 192-192-192 | Fig. 19, 2144: 192 / 192-224-256 |
//!
//! Each block computes `relu(x + scale * conv1x1(concat(branches)))`; the 1x1 "linear"
//! projection has a bias and no BatchNorm (the paper puts BatchNorm only on the
//! traditional layers, never on the summations). At the end of the file, the body that the
//! three Inception-ResNets build from these blocks ([`BodySpec`]).

use std::fmt;
use std::str::FromStr;

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::basic_conv::{BasicConv2d, conv};
use super::block::{Block, Cost, FeatureShape, InputTooSmall, NamedBlock, concat, concat_shape, named};
use super::fused::{Epilogue, conv2d_layer_fused};
use super::reduction::{ReductionA, ReductionAFilters, ReductionBFilters, ResidualReductionB};
use super::width::Width;

/// How the residual branch is scaled before the sum.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ResidualScale {
    /// The architecture's own factors (released Inception-ResNet-v2: 0.17 / 0.10 / 0.20
    /// for the A / B / C blocks; the paper networks use the same).
    #[default]
    ArchDefault,
    /// No scaling: the "unscaled" network of the paper's stability experiment.
    Unscaled,
    /// One factor for every block (the paper suggests 0.1-0.3).
    Factor(f32),
}

impl ResidualScale {
    /// The factor of a block whose architecture default is `default`.
    pub fn resolve(self, default: f32) -> Option<f32> {
        match self {
            Self::ArchDefault => Some(default),
            Self::Unscaled => None,
            Self::Factor(f) => Some(f),
        }
    }
}

impl fmt::Display for ResidualScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ArchDefault => f.write_str("default"),
            Self::Unscaled => f.write_str("none"),
            Self::Factor(x) => write!(f, "{x}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("residual scale `{0}`: expected `default`, `none` or a factor in (0, 1] such as 0.2")]
pub struct InvalidResidualScale(pub String);

impl FromStr for ResidualScale {
    type Err = InvalidResidualScale;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "default" => Ok(Self::ArchDefault),
            "none" | "unscaled" => Ok(Self::Unscaled),
            other => match other.parse::<f32>() {
                Ok(f) if f > 0.0 && f <= 1.0 => Ok(Self::Factor(f)),
                _ => Err(InvalidResidualScale(s.to_string())),
            },
        }
    }
}

/// Residual scales of the released model (paper Section 3.3: 0.1-0.3).
pub const BLOCK35_SCALE: f32 = 0.17;
pub const BLOCK17_SCALE: f32 = 0.10;
pub const BLOCK8_SCALE: f32 = 0.20;

/// `out = relu(x + scale * projection(mixed))`, with the ReLU left out where asked: on the
/// CPU the projection's GEMM accumulates onto `x` ([`super::fused`]).
fn residual(x: Tensor<4>, projection: &Conv2d, mixed: Tensor<4>, scale: Option<f32>, with_relu: bool) -> Tensor<4> {
    conv2d_layer_fused(projection, mixed, Epilogue::residual(x, scale, with_relu))
}

fn projection(in_channels: usize, out_channels: usize, device: &Device) -> Conv2d {
    // TF-slim: normalizer_fn=None, activation_fn=None; a bias instead.
    Conv2dConfig::new([in_channels, out_channels], [1, 1]).init(device)
}

/// Widths of a [`Block35`]: residual channels, then the branches (paper channel counts,
/// before the width multiplier).
#[derive(Clone, Copy, Debug)]
pub struct Block35Widths {
    pub channels: usize,
    pub branch0: usize,
    pub branch1: [usize; 2],
    pub branch2: [usize; 3],
}

/// Inception-ResNet-A on the 35x35 grid.
#[derive(Module, Debug)]
pub struct Block35 {
    pub branch0: BasicConv2d,
    pub branch1: Vec<BasicConv2d>,
    pub branch2: Vec<BasicConv2d>,
    pub conv2d: Conv2d,
    pub scale: Option<f32>,
}

impl Block35 {
    pub fn new(b: Block35Widths, scale: Option<f32>, w: Width, device: &Device) -> Self {
        let c = w.c(b.channels);
        let [b1a, b1b] = b.branch1.map(|n| w.c(n));
        let [b2a, b2b, b2c] = b.branch2.map(|n| w.c(n));
        let b0 = w.c(b.branch0);
        Self {
            branch0: conv(c, b0, [1, 1], 1, [0, 0], device),
            branch1: vec![
                conv(c, b1a, [1, 1], 1, [0, 0], device),
                conv(b1a, b1b, [3, 3], 1, [1, 1], device),
            ],
            branch2: vec![
                conv(c, b2a, [1, 1], 1, [0, 0], device),
                conv(b2a, b2b, [3, 3], 1, [1, 1], device),
                conv(b2b, b2c, [3, 3], 1, [1, 1], device),
            ],
            conv2d: projection(b0 + b1b + b2c, c, device),
            scale,
        }
    }
}

impl Block for Block35 {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mixed = concat(&[&self.branch0, &self.branch1, &self.branch2], x.clone());
        residual(x, &self.conv2d, mixed, self.scale, true)
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        let mixed = concat_shape(&[&self.branch0, &self.branch1, &self.branch2], s, t)?;
        self.conv2d.output_shape(mixed, t)
    }
}

/// Widths of a [`Block17`] or a [`Block8`]: residual channels, a 1x1 branch, and a 1x1
/// followed by a factorised pair (1x7, 7x1 or 1x3, 3x1).
#[derive(Clone, Copy, Debug)]
pub struct FactorisedWidths {
    pub channels: usize,
    pub branch0: usize,
    pub branch1: [usize; 3],
}

/// The two-branch residual block with a factorised `k x k` convolution.
fn two_branch(b: FactorisedWidths, k: usize, w: Width, device: &Device) -> (BasicConv2d, Vec<BasicConv2d>, Conv2d) {
    let c = w.c(b.channels);
    let b0 = w.c(b.branch0);
    let [b1a, b1b, b1c] = b.branch1.map(|n| w.c(n));
    let half = k / 2;
    (
        conv(c, b0, [1, 1], 1, [0, 0], device),
        vec![
            conv(c, b1a, [1, 1], 1, [0, 0], device),
            conv(b1a, b1b, [1, k], 1, [0, half], device),
            conv(b1b, b1c, [k, 1], 1, [half, 0], device),
        ],
        projection(b0 + b1c, c, device),
    )
}

/// Inception-ResNet-B on the 17x17 grid (factorised 7x7).
#[derive(Module, Debug)]
pub struct Block17 {
    pub branch0: BasicConv2d,
    pub branch1: Vec<BasicConv2d>,
    pub conv2d: Conv2d,
    pub scale: Option<f32>,
}

impl Block17 {
    pub fn new(b: FactorisedWidths, scale: Option<f32>, w: Width, device: &Device) -> Self {
        let (branch0, branch1, conv2d) = two_branch(b, 7, w, device);
        Self {
            branch0,
            branch1,
            conv2d,
            scale,
        }
    }
}

impl Block for Block17 {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mixed = concat(&[&self.branch0, &self.branch1], x.clone());
        residual(x, &self.conv2d, mixed, self.scale, true)
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        let mixed = concat_shape(&[&self.branch0, &self.branch1], s, t)?;
        self.conv2d.output_shape(mixed, t)
    }
}

/// Inception-ResNet-C on the 8x8 grid (factorised 3x3). The released model's last one has
/// no ReLU.
#[derive(Module, Debug)]
pub struct Block8 {
    pub branch0: BasicConv2d,
    pub branch1: Vec<BasicConv2d>,
    pub conv2d: Conv2d,
    pub scale: Option<f32>,
    pub no_relu: bool,
}

impl Block8 {
    pub fn new(b: FactorisedWidths, scale: Option<f32>, no_relu: bool, w: Width, device: &Device) -> Self {
        let (branch0, branch1, conv2d) = two_branch(b, 3, w, device);
        Self {
            branch0,
            branch1,
            conv2d,
            scale,
            no_relu,
        }
    }
}

impl Block for Block8 {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mixed = concat(&[&self.branch0, &self.branch1], x.clone());
        residual(x, &self.conv2d, mixed, self.scale, !self.no_relu)
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        let mixed = concat_shape(&[&self.branch0, &self.branch1], s, t)?;
        self.conv2d.output_shape(mixed, t)
    }
}

// The body that the three Inception-ResNets share (paper Figure 15): A blocks on the
// 35x35 grid, Reduction-A, B blocks on 17x17, Reduction-B, C blocks on 8x8. Each network
// is one row of widths and repeats (`BodySpec`); only their stems and heads differ.

/// One row of the table of residual networks (paper channel counts, before `--width`).
#[derive(Clone, Copy, Debug)]
pub struct BodySpec {
    pub block_a: Block35Widths,
    pub repeats_a: usize,
    pub reduction_a: ReductionAFilters,
    pub block_b: FactorisedWidths,
    pub repeats_b: usize,
    pub reduction_b: ReductionBFilters,
    pub block_c: FactorisedWidths,
    pub repeats_c: usize,
}

/// The built body, to be moved into a network's checkpoint-named fields.
pub struct Body {
    pub repeat: Vec<Block35>,
    pub mixed_6a: ReductionA,
    pub repeat_1: Vec<Block17>,
    pub mixed_7a: ResidualReductionB,
    pub repeat_2: Vec<Block8>,
}

impl BodySpec {
    /// Each reduction reads the residual width of the blocks before it, so a row whose
    /// reductions do not produce the next blocks' width fails at the first forward pass
    /// (the shape tests run every network).
    pub fn build(&self, scale: ResidualScale, w: Width, device: &Device) -> Body {
        Body {
            repeat: (0..self.repeats_a)
                .map(|_| Block35::new(self.block_a, scale.resolve(BLOCK35_SCALE), w, device))
                .collect(),
            mixed_6a: ReductionA::new(w.c(self.block_a.channels), self.reduction_a, w, device),
            repeat_1: (0..self.repeats_b)
                .map(|_| Block17::new(self.block_b, scale.resolve(BLOCK17_SCALE), w, device))
                .collect(),
            mixed_7a: ResidualReductionB::new(w.c(self.block_b.channels), self.reduction_b, w, device),
            repeat_2: (0..self.repeats_c)
                .map(|_| Block8::new(self.block_c, scale.resolve(BLOCK8_SCALE), false, w, device))
                .collect(),
        }
    }
}

/// The body's blocks, named as in TF-slim's Inception-ResNet-v2.
pub fn body_blocks<'a>(
    repeat: &'a dyn Block,
    mixed_6a: &'a dyn Block,
    repeat_1: &'a dyn Block,
    mixed_7a: &'a dyn Block,
    repeat_2: &'a dyn Block,
) -> [NamedBlock<'a>; 5] {
    [
        named("repeat", repeat),
        named("mixed_6a", mixed_6a),
        named("repeat_1", repeat_1),
        named("mixed_7a", mixed_7a),
        named("repeat_2", repeat_2),
    ]
}
