//! Inception-v4 (paper Figures 3-9) as released by TF-slim and ported by timm's
//! `inception_v4`.
//!
//! Szegedy, Ioffe, Vanhoucke, Alemi, "Inception-v4, Inception-ResNet and the Impact of
//! Residual Connections on Learning", AAAI 2017 (arXiv:1602.07261).
//!
//! timm stores the network as one flat `features.N` sequence; here the stages carry the
//! TF-slim names (`mixed_3a` .. `inception_c`) and [`crate::weights`] maps `features.N`
//! onto them. Inside a block, branch names follow the checkpoint (`branch1.2`, `branch2_3a`).

use burn::nn::pool::MaxPool2d;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::basic_conv::{BasicConv2d, conv};
use super::block::{Block, Cost, FeatureShape, InputTooSmall, NamedBlock, concat, concat_shape, named};
use super::network::Architecture;
use super::pool::{AvgPoolProjection, max_pool_3x3_s2};
use super::reduction::{REDUCTION_A_V4, ReductionA};
use super::width::Width;

/// Stem, part 1: 147x147x64 -> 73x73x160 (max pool beside a stride-2 conv).
#[derive(Module, Debug)]
pub struct Mixed3a {
    pub maxpool: MaxPool2d,
    pub conv: BasicConv2d,
}

impl Mixed3a {
    pub fn new(w: Width, device: &Device) -> Self {
        Self {
            maxpool: max_pool_3x3_s2(),
            conv: conv(w.c(64), w.c(96), [3, 3], 2, [0, 0], device),
        }
    }
}

impl Block for Mixed3a {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        concat(&[&self.maxpool, &self.conv], x)
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        concat_shape(&[&self.maxpool, &self.conv], s, t)
    }
}

/// Stem, part 2: 73x73x160 -> 71x71x192 (factorised 7x7 branch).
#[derive(Module, Debug)]
pub struct Mixed4a {
    pub branch0: Vec<BasicConv2d>,
    pub branch1: Vec<BasicConv2d>,
}

impl Mixed4a {
    pub fn new(w: Width, device: &Device) -> Self {
        Self {
            branch0: vec![
                conv(w.c(160), w.c(64), [1, 1], 1, [0, 0], device),
                conv(w.c(64), w.c(96), [3, 3], 1, [0, 0], device),
            ],
            branch1: vec![
                conv(w.c(160), w.c(64), [1, 1], 1, [0, 0], device),
                conv(w.c(64), w.c(64), [1, 7], 1, [0, 3], device),
                conv(w.c(64), w.c(64), [7, 1], 1, [3, 0], device),
                conv(w.c(64), w.c(96), [3, 3], 1, [0, 0], device),
            ],
        }
    }
}

impl Block for Mixed4a {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        concat(&[&self.branch0, &self.branch1], x)
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        concat_shape(&[&self.branch0, &self.branch1], s, t)
    }
}

/// Stem, part 3: 71x71x192 -> 35x35x384.
#[derive(Module, Debug)]
pub struct Mixed5a {
    pub conv: BasicConv2d,
    pub maxpool: MaxPool2d,
}

impl Mixed5a {
    pub fn new(w: Width, device: &Device) -> Self {
        Self {
            conv: conv(w.c(192), w.c(192), [3, 3], 2, [0, 0], device),
            maxpool: max_pool_3x3_s2(),
        }
    }
}

impl Block for Mixed5a {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        concat(&[&self.conv, &self.maxpool], x)
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        concat_shape(&[&self.conv, &self.maxpool], s, t)
    }
}

/// Inception-A (Figure 4) on the 35x35x384 grid.
#[derive(Module, Debug)]
pub struct InceptionA {
    pub branch0: BasicConv2d,
    pub branch1: Vec<BasicConv2d>,
    pub branch2: Vec<BasicConv2d>,
    pub branch3: AvgPoolProjection,
}

impl InceptionA {
    pub fn new(w: Width, device: &Device) -> Self {
        Self {
            branch0: conv(w.c(384), w.c(96), [1, 1], 1, [0, 0], device),
            branch1: vec![
                conv(w.c(384), w.c(64), [1, 1], 1, [0, 0], device),
                conv(w.c(64), w.c(96), [3, 3], 1, [1, 1], device),
            ],
            branch2: vec![
                conv(w.c(384), w.c(64), [1, 1], 1, [0, 0], device),
                conv(w.c(64), w.c(96), [3, 3], 1, [1, 1], device),
                conv(w.c(96), w.c(96), [3, 3], 1, [1, 1], device),
            ],
            branch3: AvgPoolProjection::new(conv(w.c(384), w.c(96), [1, 1], 1, [0, 0], device)),
        }
    }
}

impl Block for InceptionA {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        concat(&[&self.branch0, &self.branch1, &self.branch2, &self.branch3], x)
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        concat_shape(&[&self.branch0, &self.branch1, &self.branch2, &self.branch3], s, t)
    }
}

/// Inception-B (Figure 5) on the 17x17x1024 grid.
#[derive(Module, Debug)]
pub struct InceptionB {
    pub branch0: BasicConv2d,
    pub branch1: Vec<BasicConv2d>,
    pub branch2: Vec<BasicConv2d>,
    pub branch3: AvgPoolProjection,
}

impl InceptionB {
    pub fn new(w: Width, device: &Device) -> Self {
        Self {
            branch0: conv(w.c(1024), w.c(384), [1, 1], 1, [0, 0], device),
            branch1: vec![
                conv(w.c(1024), w.c(192), [1, 1], 1, [0, 0], device),
                conv(w.c(192), w.c(224), [1, 7], 1, [0, 3], device),
                conv(w.c(224), w.c(256), [7, 1], 1, [3, 0], device),
            ],
            branch2: vec![
                conv(w.c(1024), w.c(192), [1, 1], 1, [0, 0], device),
                conv(w.c(192), w.c(192), [7, 1], 1, [3, 0], device),
                conv(w.c(192), w.c(224), [1, 7], 1, [0, 3], device),
                conv(w.c(224), w.c(224), [7, 1], 1, [3, 0], device),
                conv(w.c(224), w.c(256), [1, 7], 1, [0, 3], device),
            ],
            branch3: AvgPoolProjection::new(conv(w.c(1024), w.c(128), [1, 1], 1, [0, 0], device)),
        }
    }
}

impl Block for InceptionB {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        concat(&[&self.branch0, &self.branch1, &self.branch2, &self.branch3], x)
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        concat_shape(&[&self.branch0, &self.branch1, &self.branch2, &self.branch3], s, t)
    }
}

/// Reduction-B (Figure 8): 17x17x1024 -> 8x8x1536.
#[derive(Module, Debug)]
pub struct ReductionB {
    pub branch0: Vec<BasicConv2d>,
    pub branch1: Vec<BasicConv2d>,
    pub branch2: MaxPool2d,
}

impl ReductionB {
    pub fn new(w: Width, device: &Device) -> Self {
        Self {
            branch0: vec![
                conv(w.c(1024), w.c(192), [1, 1], 1, [0, 0], device),
                conv(w.c(192), w.c(192), [3, 3], 2, [0, 0], device),
            ],
            branch1: vec![
                conv(w.c(1024), w.c(256), [1, 1], 1, [0, 0], device),
                conv(w.c(256), w.c(256), [1, 7], 1, [0, 3], device),
                conv(w.c(256), w.c(320), [7, 1], 1, [3, 0], device),
                conv(w.c(320), w.c(320), [3, 3], 2, [0, 0], device),
            ],
            branch2: max_pool_3x3_s2(),
        }
    }
}

impl Block for ReductionB {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        concat(&[&self.branch0, &self.branch1, &self.branch2], x)
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        concat_shape(&[&self.branch0, &self.branch1, &self.branch2], s, t)
    }
}

/// Inception-C (Figure 6) on the 8x8x1536 grid: two branches split into 1x3 and 3x1.
#[derive(Module, Debug)]
pub struct InceptionC {
    pub branch0: BasicConv2d,
    pub branch1_0: BasicConv2d,
    pub branch1_1a: BasicConv2d,
    pub branch1_1b: BasicConv2d,
    pub branch2_0: BasicConv2d,
    pub branch2_1: BasicConv2d,
    pub branch2_2: BasicConv2d,
    pub branch2_3a: BasicConv2d,
    pub branch2_3b: BasicConv2d,
    pub branch3: AvgPoolProjection,
}

impl InceptionC {
    pub fn new(w: Width, device: &Device) -> Self {
        Self {
            branch0: conv(w.c(1536), w.c(256), [1, 1], 1, [0, 0], device),
            branch1_0: conv(w.c(1536), w.c(384), [1, 1], 1, [0, 0], device),
            branch1_1a: conv(w.c(384), w.c(256), [1, 3], 1, [0, 1], device),
            branch1_1b: conv(w.c(384), w.c(256), [3, 1], 1, [1, 0], device),
            branch2_0: conv(w.c(1536), w.c(384), [1, 1], 1, [0, 0], device),
            branch2_1: conv(w.c(384), w.c(448), [3, 1], 1, [1, 0], device),
            branch2_2: conv(w.c(448), w.c(512), [1, 3], 1, [0, 1], device),
            branch2_3a: conv(w.c(512), w.c(256), [1, 3], 1, [0, 1], device),
            branch2_3b: conv(w.c(512), w.c(256), [3, 1], 1, [1, 0], device),
            branch3: AvgPoolProjection::new(conv(w.c(1536), w.c(256), [1, 1], 1, [0, 0], device)),
        }
    }
}

impl Block for InceptionC {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x1 = self.branch1_0.forward(x.clone());
        let x2 = self
            .branch2_2
            .forward(self.branch2_1.forward(self.branch2_0.forward(x.clone())));
        Tensor::cat(
            vec![
                self.branch0.forward(x.clone()),
                self.branch1_1a.forward(x1.clone()),
                self.branch1_1b.forward(x1),
                self.branch2_3a.forward(x2.clone()),
                self.branch2_3b.forward(x2),
                self.branch3.forward(x),
            ],
            1,
        )
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        let b0 = self.branch0.output_shape(s, t)?;
        let x1 = self.branch1_0.output_shape(s, t)?;
        let b1 = self.branch1_1a.output_shape(x1, t)?.channels + self.branch1_1b.output_shape(x1, t)?.channels;
        let x2 = self.branch2_0.output_shape(s, t)?;
        let x2 = self.branch2_1.output_shape(x2, t)?;
        let x2 = self.branch2_2.output_shape(x2, t)?;
        let b2 = self.branch2_3a.output_shape(x2, t)?.channels + self.branch2_3b.output_shape(x2, t)?.channels;
        let b3 = self.branch3.output_shape(s, t)?;
        Ok(b0.with_channels(b0.channels + b1 + b2 + b3.channels))
    }
}

/// The Inception-v4 stem (Figure 3), 299x299x3 -> 35x35x384, which the paper's
/// Inception-ResNet-v2 shares; built here and moved into each network's fields.
pub struct V4Stem {
    pub conv2d_1a: BasicConv2d,
    pub conv2d_2a: BasicConv2d,
    pub conv2d_2b: BasicConv2d,
    pub mixed_3a: Mixed3a,
    pub mixed_4a: Mixed4a,
    pub mixed_5a: Mixed5a,
}

impl V4Stem {
    pub fn new(w: Width, device: &Device) -> Self {
        Self {
            conv2d_1a: conv(3, w.c(32), [3, 3], 2, [0, 0], device),
            conv2d_2a: conv(w.c(32), w.c(32), [3, 3], 1, [0, 0], device),
            conv2d_2b: conv(w.c(32), w.c(64), [3, 3], 1, [1, 1], device),
            mixed_3a: Mixed3a::new(w, device),
            mixed_4a: Mixed4a::new(w, device),
            mixed_5a: Mixed5a::new(w, device),
        }
    }
}

/// The stem's blocks, in order.
pub fn v4_stem_blocks<'a>(
    conv2d_1a: &'a dyn Block,
    conv2d_2a: &'a dyn Block,
    conv2d_2b: &'a dyn Block,
    mixed_3a: &'a dyn Block,
    mixed_4a: &'a dyn Block,
    mixed_5a: &'a dyn Block,
) -> [NamedBlock<'a>; 6] {
    [
        named("conv2d_1a", conv2d_1a),
        named("conv2d_2a", conv2d_2a),
        named("conv2d_2b", conv2d_2b),
        named("mixed_3a", mixed_3a),
        named("mixed_4a", mixed_4a),
        named("mixed_5a", mixed_5a),
    ]
}

#[derive(Config, Debug)]
pub struct InceptionV4Config {
    #[config(default = "1000")]
    pub num_classes: usize,
    /// Channel-width multiplier (see [`Width`]).
    #[config(default = "Width::FULL")]
    pub width: Width,
}

impl InceptionV4Config {
    pub fn init(&self, device: &Device) -> InceptionV4 {
        let w = self.width;
        let V4Stem {
            conv2d_1a,
            conv2d_2a,
            conv2d_2b,
            mixed_3a,
            mixed_4a,
            mixed_5a,
        } = V4Stem::new(w, device);
        InceptionV4 {
            conv2d_1a,
            conv2d_2a,
            conv2d_2b,
            mixed_3a,
            mixed_4a,
            mixed_5a,
            inception_a: (0..4).map(|_| InceptionA::new(w, device)).collect(),
            reduction_a: ReductionA::new(w.c(384), REDUCTION_A_V4, w, device),
            inception_b: (0..7).map(|_| InceptionB::new(w, device)).collect(),
            reduction_b: ReductionB::new(w, device),
            inception_c: (0..3).map(|_| InceptionC::new(w, device)).collect(),
            last_linear: LinearConfig::new(w.c(1536), self.num_classes).init(device),
        }
    }
}

#[derive(Module, Debug)]
pub struct InceptionV4 {
    pub conv2d_1a: BasicConv2d,
    pub conv2d_2a: BasicConv2d,
    pub conv2d_2b: BasicConv2d,
    pub mixed_3a: Mixed3a,
    pub mixed_4a: Mixed4a,
    pub mixed_5a: Mixed5a,
    pub inception_a: Vec<InceptionA>,
    pub reduction_a: ReductionA,
    pub inception_b: Vec<InceptionB>,
    pub reduction_b: ReductionB,
    pub inception_c: Vec<InceptionC>,
    pub last_linear: Linear,
}

/// timm's `features.N` index of each stage: `(first index, stage name, repeats)`.
pub const TIMM_FEATURES: [(usize, &str, usize); 11] = [
    (0, "conv2d_1a", 1),
    (1, "conv2d_2a", 1),
    (2, "conv2d_2b", 1),
    (3, "mixed_3a", 1),
    (4, "mixed_4a", 1),
    (5, "mixed_5a", 1),
    (6, "inception_a", 4),
    (10, "reduction_a", 1),
    (11, "inception_b", 7),
    (18, "reduction_b", 1),
    (19, "inception_c", 3),
];

/// Feature taps (timm's `feature_info`: features.2/.3/.9/.17/.21).
pub const TAPS: [&str; 5] = ["conv2d_2b", "mixed_3a", "inception_a", "inception_b", "inception_c"];

impl Architecture for InceptionV4 {
    fn blocks(&self) -> Vec<NamedBlock<'_>> {
        let stem = v4_stem_blocks(
            &self.conv2d_1a,
            &self.conv2d_2a,
            &self.conv2d_2b,
            &self.mixed_3a,
            &self.mixed_4a,
            &self.mixed_5a,
        );
        let rest = [
            named("inception_a", &self.inception_a),
            named("reduction_a", &self.reduction_a),
            named("inception_b", &self.inception_b),
            named("reduction_b", &self.reduction_b),
            named("inception_c", &self.inception_c),
        ];
        stem.into_iter().chain(rest).collect()
    }

    fn classifier(&self) -> &Linear {
        &self.last_linear
    }

    fn classifier_mut(&mut self) -> &mut Linear {
        &mut self.last_linear
    }
}
