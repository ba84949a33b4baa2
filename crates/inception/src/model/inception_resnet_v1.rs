//! Inception-ResNet-v1 as the paper draws it (no checkpoint was released).
//!
//! Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4, Inception-ResNet and the Impact of
//! Residual Connections on Learning", AAAI 2017 (arXiv:1602.07261), Figure 15 with the
//! blocks of Figures 14 (stem), 10, 7, 11, 12 and 13: a stem to 35x35x256, 5 x
//! Inception-ResNet-A, Reduction-A with (k, l, m, n) = (192, 192, 256, 384) to 17x17x896,
//! 10 x Inception-ResNet-B, Reduction-B to 8x8x1792, 5 x Inception-ResNet-C, average
//! pooling and the classifier. Stage names follow the TF-slim convention of the released
//! Inception-ResNet-v2, so both networks read alike.

use burn::nn::pool::MaxPool2d;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::basic_conv::{BasicConv2d, conv};
use super::block::{NamedBlock, named};
use super::network::Architecture;
use super::pool::max_pool_3x3_s2;
use super::reduction::{REDUCTION_A_RESNET_V1, REDUCTION_B_RESNET_V1, ReductionA, ResidualReductionB};
use super::residual::{
    Block8, Block17, Block35, Block35Widths, Body, BodySpec, FactorisedWidths, ResidualScale, body_blocks,
};
use super::width::Width;

/// Figures 10-13: 5 x A at 256 channels, Reduction-A to 896, 10 x B, Reduction-B to
/// 1792, 5 x C.
pub const BODY: BodySpec = BodySpec {
    block_a: Block35Widths {
        channels: 256,
        branch0: 32,
        branch1: [32, 32],
        branch2: [32, 32, 32],
    },
    repeats_a: 5,
    reduction_a: REDUCTION_A_RESNET_V1,
    block_b: FactorisedWidths {
        channels: 896,
        branch0: 128,
        branch1: [128, 128, 128],
    },
    repeats_b: 10,
    reduction_b: REDUCTION_B_RESNET_V1,
    block_c: FactorisedWidths {
        channels: 1792,
        branch0: 192,
        branch1: [192, 192, 192],
    },
    repeats_c: 5,
};

#[derive(Config, Debug)]
pub struct InceptionResnetV1Config {
    #[config(default = "1000")]
    pub num_classes: usize,
    /// The paper gives a range (0.1-0.3), not a value; the default uses the released
    /// Inception-ResNet-v2's 0.17 / 0.10 / 0.20.
    #[config(default = "ResidualScale::ArchDefault")]
    pub residual_scale: ResidualScale,
    #[config(default = "Width::FULL")]
    pub width: Width,
}

impl InceptionResnetV1Config {
    pub fn init(&self, device: &Device) -> InceptionResnetV1 {
        let w = self.width;
        let Body {
            repeat,
            mixed_6a,
            repeat_1,
            mixed_7a,
            repeat_2,
        } = BODY.build(self.residual_scale, w, device);
        InceptionResnetV1 {
            // Figure 14, every "V" (valid) conv unpadded.
            conv2d_1a: conv(3, w.c(32), [3, 3], 2, [0, 0], device),
            conv2d_2a: conv(w.c(32), w.c(32), [3, 3], 1, [0, 0], device),
            conv2d_2b: conv(w.c(32), w.c(64), [3, 3], 1, [1, 1], device),
            maxpool_3a: max_pool_3x3_s2(),
            conv2d_3b: conv(w.c(64), w.c(80), [1, 1], 1, [0, 0], device),
            conv2d_4a: conv(w.c(80), w.c(192), [3, 3], 1, [0, 0], device),
            conv2d_4b: conv(w.c(192), w.c(BODY.block_a.channels), [3, 3], 2, [0, 0], device),
            repeat,
            mixed_6a,
            repeat_1,
            mixed_7a,
            repeat_2,
            classif: LinearConfig::new(w.c(BODY.block_c.channels), self.num_classes).init(device),
        }
    }
}

#[derive(Module, Debug)]
pub struct InceptionResnetV1 {
    pub conv2d_1a: BasicConv2d,
    pub conv2d_2a: BasicConv2d,
    pub conv2d_2b: BasicConv2d,
    pub maxpool_3a: MaxPool2d,
    pub conv2d_3b: BasicConv2d,
    pub conv2d_4a: BasicConv2d,
    pub conv2d_4b: BasicConv2d,
    pub repeat: Vec<Block35>,
    pub mixed_6a: ReductionA,
    pub repeat_1: Vec<Block17>,
    pub mixed_7a: ResidualReductionB,
    pub repeat_2: Vec<Block8>,
    pub classif: Linear,
}

impl Architecture for InceptionResnetV1 {
    fn blocks(&self) -> Vec<NamedBlock<'_>> {
        let stem = [
            named("conv2d_1a", &self.conv2d_1a),
            named("conv2d_2a", &self.conv2d_2a),
            named("conv2d_2b", &self.conv2d_2b),
            named("maxpool_3a", &self.maxpool_3a),
            named("conv2d_3b", &self.conv2d_3b),
            named("conv2d_4a", &self.conv2d_4a),
            named("conv2d_4b", &self.conv2d_4b),
        ];
        let body = body_blocks(
            &self.repeat,
            &self.mixed_6a,
            &self.repeat_1,
            &self.mixed_7a,
            &self.repeat_2,
        );
        stem.into_iter().chain(body).collect()
    }

    fn classifier(&self) -> &Linear {
        &self.classif
    }

    fn classifier_mut(&mut self) -> &mut Linear {
        &mut self.classif
    }
}
