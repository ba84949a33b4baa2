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

use super::Stage;
use super::basic_conv::{BasicConv2d, conv, forward_chain, trace_chain};
use super::pool::{AvgPoolProjection, four_branches, max_pool_3x3_s2, trace_four_branches};
use super::reduction::{REDUCTION_A_V4, ReductionA};
use super::trace::{FeatureShape, Trace, TraceError};
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

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        Tensor::cat(vec![self.maxpool.forward(x.clone()), self.conv.forward(x)], 1)
    }

    pub(crate) fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        let pooled = t.max_pool_3x3_s2(s)?;
        let c = self.conv.trace(s, t)?;
        Ok(c.with_channels(pooled.channels + c.channels))
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

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        Tensor::cat(
            vec![forward_chain(&self.branch0, x.clone()), forward_chain(&self.branch1, x)],
            1,
        )
    }

    pub(crate) fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        let b0 = trace_chain(&self.branch0, s, t)?;
        let b1 = trace_chain(&self.branch1, s, t)?;
        Ok(b0.with_channels(b0.channels + b1.channels))
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

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        Tensor::cat(vec![self.conv.forward(x.clone()), self.maxpool.forward(x)], 1)
    }

    pub(crate) fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        let c = self.conv.trace(s, t)?;
        let pooled = t.max_pool_3x3_s2(s)?;
        Ok(c.with_channels(c.channels + pooled.channels))
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

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        four_branches(&self.branch0, &self.branch1, &self.branch2, &self.branch3, x)
    }

    pub(crate) fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        trace_four_branches(&self.branch0, &self.branch1, &self.branch2, &self.branch3, s, t)
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

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        four_branches(&self.branch0, &self.branch1, &self.branch2, &self.branch3, x)
    }

    pub(crate) fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        trace_four_branches(&self.branch0, &self.branch1, &self.branch2, &self.branch3, s, t)
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

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        Tensor::cat(
            vec![
                forward_chain(&self.branch0, x.clone()),
                forward_chain(&self.branch1, x.clone()),
                self.branch2.forward(x),
            ],
            1,
        )
    }

    pub(crate) fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        let b0 = trace_chain(&self.branch0, s, t)?;
        let c = b0.channels + trace_chain(&self.branch1, s, t)?.channels + t.max_pool_3x3_s2(s)?.channels;
        Ok(b0.with_channels(c))
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

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
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

    pub(crate) fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        let b0 = self.branch0.trace(s, t)?;
        let x1 = self.branch1_0.trace(s, t)?;
        let b1 = self.branch1_1a.trace(x1, t)?.channels + self.branch1_1b.trace(x1, t)?.channels;
        let x2 = self.branch2_0.trace(s, t)?;
        let x2 = self.branch2_1.trace(x2, t)?;
        let x2 = self.branch2_2.trace(x2, t)?;
        let b2 = self.branch2_3a.trace(x2, t)?.channels + self.branch2_3b.trace(x2, t)?.channels;
        let b3 = self.branch3.trace(s, t)?;
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

/// The stem's stages, in order.
pub fn v4_stem_stages<'a>(
    conv2d_1a: &'a BasicConv2d,
    conv2d_2a: &'a BasicConv2d,
    conv2d_2b: &'a BasicConv2d,
    mixed_3a: &'a Mixed3a,
    mixed_4a: &'a Mixed4a,
    mixed_5a: &'a Mixed5a,
) -> [Stage<'a>; 6] {
    [
        Stage::single("conv2d_1a", conv2d_1a, BasicConv2d::forward, BasicConv2d::trace),
        Stage::single("conv2d_2a", conv2d_2a, BasicConv2d::forward, BasicConv2d::trace),
        Stage::single("conv2d_2b", conv2d_2b, BasicConv2d::forward, BasicConv2d::trace),
        Stage::single("mixed_3a", mixed_3a, Mixed3a::forward, Mixed3a::trace),
        Stage::single("mixed_4a", mixed_4a, Mixed4a::forward, Mixed4a::trace),
        Stage::single("mixed_5a", mixed_5a, Mixed5a::forward, Mixed5a::trace),
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

impl InceptionV4 {
    pub fn stages(&self) -> Vec<Stage<'_>> {
        let stem = v4_stem_stages(
            &self.conv2d_1a,
            &self.conv2d_2a,
            &self.conv2d_2b,
            &self.mixed_3a,
            &self.mixed_4a,
            &self.mixed_5a,
        );
        let rest = [
            Stage::repeated("inception_a", &self.inception_a, InceptionA::forward, InceptionA::trace),
            Stage::single("reduction_a", &self.reduction_a, ReductionA::forward, ReductionA::trace),
            Stage::repeated("inception_b", &self.inception_b, InceptionB::forward, InceptionB::trace),
            Stage::single("reduction_b", &self.reduction_b, ReductionB::forward, ReductionB::trace),
            Stage::repeated("inception_c", &self.inception_c, InceptionC::forward, InceptionC::trace),
        ];
        stem.into_iter().chain(rest).collect()
    }
}
