//! Inception-ResNet-v2 in the layout of the released TF-slim checkpoint
//! (`inception_resnet_v2_2016_08_30`), as timm's `inception_resnet_v2` ports it.
//!
//! Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4, Inception-ResNet and the Impact of
//! Residual Connections on Learning", AAAI 2017 (arXiv:1602.07261).
//!
//! The released model differs from the paper's Figures 15-19: its stem ends in Mixed_5b
//! (an Inception-v3 style block, 320 channels) instead of the Inception-v4 stem, the
//! residual blocks are 320 / 1088 / 2080 channels wide, and a final Block8 without ReLU
//! precedes the 1x1 conv to 1536 channels. Field names follow the checkpoint's keys
//! (`repeat.3.branch1.0.conv.weight`), so timm weights load without a name table.

use burn::nn::pool::MaxPool2d;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::basic_conv::{BasicConv2d, conv};
use super::block::{Block, Cost, FeatureShape, InputTooSmall, NamedBlock, concat, concat_shape, named};
use super::network::Architecture;
use super::pool::{AvgPoolProjection, max_pool_3x3_s2};
use super::reduction::{REDUCTION_A_RESNET_V2, REDUCTION_B_RESNET_V2, ReductionA, ResidualReductionB};
use super::residual::{
    Block8, Block17, Block35, Block35Widths, Body, BodySpec, FactorisedWidths, ResidualScale, body_blocks,
};
use super::width::Width;

/// Reduction-A of the released model, (k, l, m, n) = (256, 256, 384, 384).
pub type Mixed6a = ReductionA;
/// Reduction-B of the released model (the paper's Figure 18).
pub type Mixed7a = ResidualReductionB;

/// The released body: 10 x A at 320 channels, Mixed_6a to 1088, 20 x B, Mixed_7a to
/// 2080, 9 x C (then one more C block without ReLU, outside the table).
pub const BODY: BodySpec = BodySpec {
    block_a: Block35Widths {
        channels: 320,
        branch0: 32,
        branch1: [32, 32],
        branch2: [32, 48, 64],
    },
    repeats_a: 10,
    reduction_a: REDUCTION_A_RESNET_V2,
    block_b: FactorisedWidths {
        channels: 1088,
        branch0: 192,
        branch1: [128, 160, 192],
    },
    repeats_b: 20,
    reduction_b: REDUCTION_B_RESNET_V2,
    block_c: FactorisedWidths {
        channels: 2080,
        branch0: 192,
        branch1: [192, 224, 256],
    },
    repeats_c: 9,
};

/// Stem output block: 35x35x192 -> 35x35x320.
#[derive(Module, Debug)]
pub struct Mixed5b {
    pub branch0: BasicConv2d,
    pub branch1: Vec<BasicConv2d>,
    pub branch2: Vec<BasicConv2d>,
    pub branch3: AvgPoolProjection,
}

impl Mixed5b {
    pub fn new(w: Width, device: &Device) -> Self {
        Self {
            branch0: conv(w.c(192), w.c(96), [1, 1], 1, [0, 0], device),
            branch1: vec![
                conv(w.c(192), w.c(48), [1, 1], 1, [0, 0], device),
                conv(w.c(48), w.c(64), [5, 5], 1, [2, 2], device),
            ],
            branch2: vec![
                conv(w.c(192), w.c(64), [1, 1], 1, [0, 0], device),
                conv(w.c(64), w.c(96), [3, 3], 1, [1, 1], device),
                conv(w.c(96), w.c(96), [3, 3], 1, [1, 1], device),
            ],
            branch3: AvgPoolProjection::new(conv(w.c(192), w.c(64), [1, 1], 1, [0, 0], device)),
        }
    }
}

impl Block for Mixed5b {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        concat(&[&self.branch0, &self.branch1, &self.branch2, &self.branch3], x)
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        concat_shape(&[&self.branch0, &self.branch1, &self.branch2, &self.branch3], s, t)
    }
}

#[derive(Config, Debug)]
pub struct InceptionResnetV2Config {
    #[config(default = "1000")]
    pub num_classes: usize,
    /// Residual scaling of the A, B and C blocks (the final Block8 is always unscaled).
    #[config(default = "ResidualScale::ArchDefault")]
    pub residual_scale: ResidualScale,
    /// Channel-width multiplier (see [`Width`]).
    #[config(default = "Width::FULL")]
    pub width: Width,
}

impl InceptionResnetV2Config {
    pub fn init(&self, device: &Device) -> InceptionResnetV2 {
        let w = self.width;
        let Body {
            repeat,
            mixed_6a,
            repeat_1,
            mixed_7a,
            repeat_2,
        } = BODY.build(self.residual_scale, w, device);
        InceptionResnetV2 {
            conv2d_1a: conv(3, w.c(32), [3, 3], 2, [0, 0], device),
            conv2d_2a: conv(w.c(32), w.c(32), [3, 3], 1, [0, 0], device),
            conv2d_2b: conv(w.c(32), w.c(64), [3, 3], 1, [1, 1], device),
            maxpool_3a: max_pool_3x3_s2(),
            conv2d_3b: conv(w.c(64), w.c(80), [1, 1], 1, [0, 0], device),
            conv2d_4a: conv(w.c(80), w.c(192), [3, 3], 1, [0, 0], device),
            maxpool_5a: max_pool_3x3_s2(),
            mixed_5b: Mixed5b::new(w, device),
            repeat,
            mixed_6a,
            repeat_1,
            mixed_7a,
            repeat_2,
            // The final block is unscaled (scale 1.0) and has no ReLU, as in TF-slim.
            block8: Block8::new(BODY.block_c, None, true, w, device),
            conv2d_7b: conv(w.c(2080), w.c(1536), [1, 1], 1, [0, 0], device),
            classif: LinearConfig::new(w.c(1536), self.num_classes).init(device),
        }
    }
}

#[derive(Module, Debug)]
pub struct InceptionResnetV2 {
    pub conv2d_1a: BasicConv2d,
    pub conv2d_2a: BasicConv2d,
    pub conv2d_2b: BasicConv2d,
    pub maxpool_3a: MaxPool2d,
    pub conv2d_3b: BasicConv2d,
    pub conv2d_4a: BasicConv2d,
    pub maxpool_5a: MaxPool2d,
    pub mixed_5b: Mixed5b,
    pub repeat: Vec<Block35>,
    pub mixed_6a: Mixed6a,
    pub repeat_1: Vec<Block17>,
    pub mixed_7a: Mixed7a,
    pub repeat_2: Vec<Block8>,
    pub block8: Block8,
    pub conv2d_7b: BasicConv2d,
    pub classif: Linear,
}

/// Feature taps (timm's `feature_info` modules): name and the stage index after which
/// the activation is taken.
pub const TAPS: [&str; 5] = ["conv2d_2b", "conv2d_4a", "repeat", "repeat_1", "conv2d_7b"];

impl Architecture for InceptionResnetV2 {
    fn blocks(&self) -> Vec<NamedBlock<'_>> {
        let stem = [
            named("conv2d_1a", &self.conv2d_1a),
            named("conv2d_2a", &self.conv2d_2a),
            named("conv2d_2b", &self.conv2d_2b),
            named("maxpool_3a", &self.maxpool_3a),
            named("conv2d_3b", &self.conv2d_3b),
            named("conv2d_4a", &self.conv2d_4a),
            named("maxpool_5a", &self.maxpool_5a),
            named("mixed_5b", &self.mixed_5b),
        ];
        let body = body_blocks(
            &self.repeat,
            &self.mixed_6a,
            &self.repeat_1,
            &self.mixed_7a,
            &self.repeat_2,
        );
        let tail = [named("block8", &self.block8), named("conv2d_7b", &self.conv2d_7b)];
        stem.into_iter().chain(body).chain(tail).collect()
    }

    fn classifier(&self) -> &Linear {
        &self.classif
    }

    fn classifier_mut(&mut self) -> &mut Linear {
        &mut self.classif
    }
}
