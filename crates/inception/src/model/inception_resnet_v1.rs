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
use super::pool::max_pool_3x3_s2;
use super::reduction::{REDUCTION_A_RESNET_V1, REDUCTION_B_RESNET_V1, ReductionA, ResidualReductionB};
use super::residual::{
    BLOCK8_SCALE, BLOCK17_SCALE, BLOCK35_SCALE, Block8, Block17, Block35, Block35Widths, FactorisedWidths,
    ResidualScale,
};
use super::width::Width;
use super::{Stage, global_average_pool};

/// Figure 10: Inception-ResNet-A, 35x35x256.
pub const BLOCK_A: Block35Widths = Block35Widths {
    channels: 256,
    branch0: 32,
    branch1: [32, 32],
    branch2: [32, 32, 32],
};
/// Figure 11: Inception-ResNet-B, 17x17x896.
pub const BLOCK_B: FactorisedWidths = FactorisedWidths {
    channels: 896,
    branch0: 128,
    branch1: [128, 128, 128],
};
/// Figure 13: Inception-ResNet-C, 8x8x1792.
pub const BLOCK_C: FactorisedWidths = FactorisedWidths {
    channels: 1792,
    branch0: 192,
    branch1: [192, 192, 192],
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
        let scale = self.residual_scale;
        InceptionResnetV1 {
            // Figure 14, every "V" (valid) conv unpadded.
            conv2d_1a: conv(3, w.c(32), [3, 3], 2, [0, 0], device),
            conv2d_2a: conv(w.c(32), w.c(32), [3, 3], 1, [0, 0], device),
            conv2d_2b: conv(w.c(32), w.c(64), [3, 3], 1, [1, 1], device),
            maxpool_3a: max_pool_3x3_s2(),
            conv2d_3b: conv(w.c(64), w.c(80), [1, 1], 1, [0, 0], device),
            conv2d_4a: conv(w.c(80), w.c(192), [3, 3], 1, [0, 0], device),
            conv2d_4b: conv(w.c(192), w.c(256), [3, 3], 2, [0, 0], device),
            repeat: (0..5)
                .map(|_| Block35::new(BLOCK_A, scale.resolve(BLOCK35_SCALE), w, device))
                .collect(),
            mixed_6a: ReductionA::new(w.c(256), REDUCTION_A_RESNET_V1, w, device),
            repeat_1: (0..10)
                .map(|_| Block17::new(BLOCK_B, scale.resolve(BLOCK17_SCALE), w, device))
                .collect(),
            mixed_7a: ResidualReductionB::new(w.c(896), REDUCTION_B_RESNET_V1, w, device),
            repeat_2: (0..5)
                .map(|_| Block8::new(BLOCK_C, scale.resolve(BLOCK8_SCALE), false, w, device))
                .collect(),
            classif: LinearConfig::new(w.c(1792), self.num_classes).init(device),
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

impl InceptionResnetV1 {
    pub fn stages(&self) -> Vec<Stage<'_>> {
        vec![
            Stage::single("conv2d_1a", &self.conv2d_1a, BasicConv2d::forward, BasicConv2d::trace),
            Stage::single("conv2d_2a", &self.conv2d_2a, BasicConv2d::forward, BasicConv2d::trace),
            Stage::single("conv2d_2b", &self.conv2d_2b, BasicConv2d::forward, BasicConv2d::trace),
            Stage::max_pool("maxpool_3a", &self.maxpool_3a),
            Stage::single("conv2d_3b", &self.conv2d_3b, BasicConv2d::forward, BasicConv2d::trace),
            Stage::single("conv2d_4a", &self.conv2d_4a, BasicConv2d::forward, BasicConv2d::trace),
            Stage::single("conv2d_4b", &self.conv2d_4b, BasicConv2d::forward, BasicConv2d::trace),
            Stage::repeated("repeat", &self.repeat, Block35::forward, Block35::trace),
            Stage::single("mixed_6a", &self.mixed_6a, ReductionA::forward, ReductionA::trace),
            Stage::repeated("repeat_1", &self.repeat_1, Block17::forward, Block17::trace),
            Stage::single(
                "mixed_7a",
                &self.mixed_7a,
                ResidualReductionB::forward,
                ResidualReductionB::trace,
            ),
            Stage::repeated("repeat_2", &self.repeat_2, Block8::forward, Block8::trace),
        ]
    }

    pub fn head(&self, features: Tensor<4>) -> Tensor<2> {
        self.classif.forward(global_average_pool(features))
    }
}
