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

use super::basic_conv::BasicConv2d;
use super::block::NamedBlock;
use super::inception_v4::{Mixed3a, Mixed4a, Mixed5a, V4Stem, v4_stem_blocks};
use super::network::Architecture;
use super::reduction::{REDUCTION_A_RESNET_V2, REDUCTION_B_RESNET_V2, ReductionA, ResidualReductionB};
use super::residual::{
    Block8, Block17, Block35, Block35Widths, Body, BodySpec, FactorisedWidths, ResidualScale, body_blocks,
};
use super::width::Width;

/// Figures 16-19: 5 x A at 384 channels, Reduction-A to 1152, 10 x B, Reduction-B to
/// 2144, 5 x C.
pub const BODY: BodySpec = BodySpec {
    block_a: Block35Widths {
        channels: 384,
        branch0: 32,
        branch1: [32, 32],
        branch2: [32, 48, 64],
    },
    repeats_a: 5,
    reduction_a: REDUCTION_A_RESNET_V2,
    block_b: FactorisedWidths {
        channels: 1152,
        branch0: 192,
        branch1: [128, 160, 192],
    },
    repeats_b: 10,
    reduction_b: REDUCTION_B_RESNET_V2,
    block_c: FactorisedWidths {
        channels: 2144,
        branch0: 192,
        branch1: [192, 224, 256],
    },
    repeats_c: 5,
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
        let V4Stem {
            conv2d_1a,
            conv2d_2a,
            conv2d_2b,
            mixed_3a,
            mixed_4a,
            mixed_5a,
        } = V4Stem::new(w, device);
        let Body {
            repeat,
            mixed_6a,
            repeat_1,
            mixed_7a,
            repeat_2,
        } = BODY.build(self.residual_scale, w, device);
        InceptionResnetV2Paper {
            conv2d_1a,
            conv2d_2a,
            conv2d_2b,
            mixed_3a,
            mixed_4a,
            mixed_5a,
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

impl Architecture for InceptionResnetV2Paper {
    fn blocks(&self) -> Vec<NamedBlock<'_>> {
        let stem = v4_stem_blocks(
            &self.conv2d_1a,
            &self.conv2d_2a,
            &self.conv2d_2b,
            &self.mixed_3a,
            &self.mixed_4a,
            &self.mixed_5a,
        );
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
