//! Inception-ResNet-v2 as the paper draws it, which is not the released checkpoint (see
//! [`super::inception_resnet_v2`]).
//!
//! Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4, Inception-ResNet and the Impact of
//! Residual Connections on Learning", AAAI 2017 (arXiv:1602.07261), Figure 15 with the
//! blocks of Figures 3 (the Inception-v4 stem, 35x35x384), 16, 7, 17, 18 and 19:
//! 5 x Inception-ResNet-A, Reduction-A with (k, l, m, n) = (256, 256, 384, 384),
//! 10 x Inception-ResNet-B, Reduction-B, 5 x Inception-ResNet-C.
//!
//! Where the figures disagree with themselves, the widths follow from the sums, because
//! a residual block's output must have its input's width:
//! - Figure 17 labels the B block's linear 1x1 conv "1154"; its input from Reduction-A
//!   is 384 (pooled) + 384 (n) + 384 (m) = 1152, so the conv has 1152 filters.
//! - Figure 19 labels the C block's linear 1x1 conv "2048"; its input from Reduction-B
//!   (Figure 18) is 1152 + 384 + 288 + 320 = 2144, so the conv has 2144 filters and the
//!   pooled feature vector is 2144 wide.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::basic_conv::{BasicConv2d, conv};
use super::inception_v4::{Mixed3a, Mixed4a, Mixed5a};
use super::reduction::{REDUCTION_A_RESNET_V2, REDUCTION_B_RESNET_V2, ReductionA, ResidualReductionB};
use super::residual::{
    BLOCK8_SCALE, BLOCK17_SCALE, BLOCK35_SCALE, Block8, Block17, Block35, Block35Widths, FactorisedWidths,
    ResidualScale,
};
use super::width::Width;
use super::{Stage, global_average_pool};

/// Figure 16: Inception-ResNet-A, 35x35x384.
pub const BLOCK_A: Block35Widths = Block35Widths {
    channels: 384,
    branch0: 32,
    branch1: [32, 32],
    branch2: [32, 48, 64],
};
/// Figure 17: Inception-ResNet-B, 17x17x1152.
pub const BLOCK_B: FactorisedWidths = FactorisedWidths {
    channels: 1152,
    branch0: 192,
    branch1: [128, 160, 192],
};
/// Figure 19: Inception-ResNet-C, 8x8x2144.
pub const BLOCK_C: FactorisedWidths = FactorisedWidths {
    channels: 2144,
    branch0: 192,
    branch1: [192, 224, 256],
};

#[derive(Config, Debug)]
pub struct InceptionResnetV2PaperConfig {
    #[config(default = "1000")]
    pub num_classes: usize,
    /// The paper gives a range (0.1-0.3); the default uses the released model's
    /// 0.17 / 0.10 / 0.20.
    #[config(default = "ResidualScale::ArchDefault")]
    pub residual_scale: ResidualScale,
    #[config(default = "Width::FULL")]
    pub width: Width,
}

impl InceptionResnetV2PaperConfig {
    pub fn init(&self, device: &Device) -> InceptionResnetV2Paper {
        let w = self.width;
        let scale = self.residual_scale;
        InceptionResnetV2Paper {
            conv2d_1a: conv(3, w.c(32), [3, 3], 2, [0, 0], device),
            conv2d_2a: conv(w.c(32), w.c(32), [3, 3], 1, [0, 0], device),
            conv2d_2b: conv(w.c(32), w.c(64), [3, 3], 1, [1, 1], device),
            mixed_3a: Mixed3a::new(w, device),
            mixed_4a: Mixed4a::new(w, device),
            mixed_5a: Mixed5a::new(w, device),
            repeat: (0..5)
                .map(|_| Block35::new(BLOCK_A, scale.resolve(BLOCK35_SCALE), w, device))
                .collect(),
            mixed_6a: ReductionA::new(w.c(384), REDUCTION_A_RESNET_V2, w, device),
            repeat_1: (0..10)
                .map(|_| Block17::new(BLOCK_B, scale.resolve(BLOCK17_SCALE), w, device))
                .collect(),
            mixed_7a: ResidualReductionB::new(w.c(1152), REDUCTION_B_RESNET_V2, w, device),
            repeat_2: (0..5)
                .map(|_| Block8::new(BLOCK_C, scale.resolve(BLOCK8_SCALE), false, w, device))
                .collect(),
            classif: LinearConfig::new(w.c(2144), self.num_classes).init(device),
        }
    }
}

#[derive(Module, Debug)]
pub struct InceptionResnetV2Paper {
    pub conv2d_1a: BasicConv2d,
    pub conv2d_2a: BasicConv2d,
    pub conv2d_2b: BasicConv2d,
    pub mixed_3a: Mixed3a,
    pub mixed_4a: Mixed4a,
    pub mixed_5a: Mixed5a,
    pub repeat: Vec<Block35>,
    pub mixed_6a: ReductionA,
    pub repeat_1: Vec<Block17>,
    pub mixed_7a: ResidualReductionB,
    pub repeat_2: Vec<Block8>,
    pub classif: Linear,
}

impl InceptionResnetV2Paper {
    pub fn stages(&self) -> Vec<Stage<'_>> {
        vec![
            Stage::single("conv2d_1a", &self.conv2d_1a, BasicConv2d::forward, BasicConv2d::trace),
            Stage::single("conv2d_2a", &self.conv2d_2a, BasicConv2d::forward, BasicConv2d::trace),
            Stage::single("conv2d_2b", &self.conv2d_2b, BasicConv2d::forward, BasicConv2d::trace),
            Stage::single("mixed_3a", &self.mixed_3a, Mixed3a::forward, Mixed3a::trace),
            Stage::single("mixed_4a", &self.mixed_4a, Mixed4a::forward, Mixed4a::trace),
            Stage::single("mixed_5a", &self.mixed_5a, Mixed5a::forward, Mixed5a::trace),
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
