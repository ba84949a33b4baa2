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

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::MaxPool2d;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::basic_conv::{BasicConv2d, conv, forward_chain, trace_chain};
use super::pool::{AvgPoolProjection, four_branches, max_pool_3x3_s2, trace_four_branches};
use super::trace::{FeatureShape, Trace, TraceError};
use super::{Stage, global_average_pool, trainable_params};

/// Residual scales of the released model (paper Section 3.3: 0.1-0.3).
pub const BLOCK35_SCALE: f32 = 0.17;
pub const BLOCK17_SCALE: f32 = 0.10;
pub const BLOCK8_SCALE: f32 = 0.20;

/// `out = relu(x + scale * conv1x1(concat(branches)))`, with the ReLU left out where asked.
/// `scale: None` is the unscaled residual of the paper's Figure 20 ablation.
fn residual(x: Tensor<4>, update: Tensor<4>, scale: Option<f32>, with_relu: bool) -> Tensor<4> {
    let update = match scale {
        Some(s) => update.mul_scalar(s),
        None => update,
    };
    let out = x + update;
    if with_relu { relu(out) } else { out }
}

fn projection(in_channels: usize, out_channels: usize, device: &Device) -> Conv2d {
    // The residual projections have a bias and no BatchNorm (TF-slim: normalizer_fn=None).
    Conv2dConfig::new([in_channels, out_channels], [1, 1]).init(device)
}

/// Stem output block: 35x35x192 -> 35x35x320.
#[derive(Module, Debug)]
pub struct Mixed5b {
    pub branch0: BasicConv2d,
    pub branch1: Vec<BasicConv2d>,
    pub branch2: Vec<BasicConv2d>,
    pub branch3: AvgPoolProjection,
}

impl Mixed5b {
    pub fn new(device: &Device) -> Self {
        Self {
            branch0: conv(192, 96, [1, 1], 1, [0, 0], device),
            branch1: vec![
                conv(192, 48, [1, 1], 1, [0, 0], device),
                conv(48, 64, [5, 5], 1, [2, 2], device),
            ],
            branch2: vec![
                conv(192, 64, [1, 1], 1, [0, 0], device),
                conv(64, 96, [3, 3], 1, [1, 1], device),
                conv(96, 96, [3, 3], 1, [1, 1], device),
            ],
            branch3: AvgPoolProjection::new(conv(192, 64, [1, 1], 1, [0, 0], device)),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        four_branches(&self.branch0, &self.branch1, &self.branch2, &self.branch3, x)
    }

    fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        trace_four_branches(&self.branch0, &self.branch1, &self.branch2, &self.branch3, s, t)
    }
}

/// Inception-ResNet-A on the 35x35 grid (320 channels).
#[derive(Module, Debug)]
pub struct Block35 {
    pub branch0: BasicConv2d,
    pub branch1: Vec<BasicConv2d>,
    pub branch2: Vec<BasicConv2d>,
    pub conv2d: Conv2d,
    pub scale: Option<f32>,
}

impl Block35 {
    pub fn new(scale: Option<f32>, device: &Device) -> Self {
        Self {
            branch0: conv(320, 32, [1, 1], 1, [0, 0], device),
            branch1: vec![
                conv(320, 32, [1, 1], 1, [0, 0], device),
                conv(32, 32, [3, 3], 1, [1, 1], device),
            ],
            branch2: vec![
                conv(320, 32, [1, 1], 1, [0, 0], device),
                conv(32, 48, [3, 3], 1, [1, 1], device),
                conv(48, 64, [3, 3], 1, [1, 1], device),
            ],
            conv2d: projection(128, 320, device),
            scale,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mixed = Tensor::cat(
            vec![
                self.branch0.forward(x.clone()),
                forward_chain(&self.branch1, x.clone()),
                forward_chain(&self.branch2, x.clone()),
            ],
            1,
        );
        residual(x, self.conv2d.forward(mixed), self.scale, true)
    }

    fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        let c = self.branch0.trace(s, t)?.channels
            + trace_chain(&self.branch1, s, t)?.channels
            + trace_chain(&self.branch2, s, t)?.channels;
        t.conv2d(&self.conv2d, s.with_channels(c))
    }
}

/// Reduction-A: 35x35x320 -> 17x17x1088.
#[derive(Module, Debug)]
pub struct Mixed6a {
    pub branch0: BasicConv2d,
    pub branch1: Vec<BasicConv2d>,
    pub branch2: MaxPool2d,
}

impl Mixed6a {
    pub fn new(device: &Device) -> Self {
        Self {
            branch0: conv(320, 384, [3, 3], 2, [0, 0], device),
            branch1: vec![
                conv(320, 256, [1, 1], 1, [0, 0], device),
                conv(256, 256, [3, 3], 1, [1, 1], device),
                conv(256, 384, [3, 3], 2, [0, 0], device),
            ],
            branch2: max_pool_3x3_s2(),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        Tensor::cat(
            vec![
                self.branch0.forward(x.clone()),
                forward_chain(&self.branch1, x.clone()),
                self.branch2.forward(x),
            ],
            1,
        )
    }

    fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        let b0 = self.branch0.trace(s, t)?;
        let b1 = trace_chain(&self.branch1, s, t)?;
        let b2 = t.max_pool_3x3_s2(s)?;
        Ok(b0.with_channels(b0.channels + b1.channels + b2.channels))
    }
}

/// Inception-ResNet-B on the 17x17 grid (1088 channels).
#[derive(Module, Debug)]
pub struct Block17 {
    pub branch0: BasicConv2d,
    pub branch1: Vec<BasicConv2d>,
    pub conv2d: Conv2d,
    pub scale: Option<f32>,
}

impl Block17 {
    pub fn new(scale: Option<f32>, device: &Device) -> Self {
        Self {
            branch0: conv(1088, 192, [1, 1], 1, [0, 0], device),
            branch1: vec![
                conv(1088, 128, [1, 1], 1, [0, 0], device),
                conv(128, 160, [1, 7], 1, [0, 3], device),
                conv(160, 192, [7, 1], 1, [3, 0], device),
            ],
            conv2d: projection(384, 1088, device),
            scale,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mixed = Tensor::cat(
            vec![self.branch0.forward(x.clone()), forward_chain(&self.branch1, x.clone())],
            1,
        );
        residual(x, self.conv2d.forward(mixed), self.scale, true)
    }

    fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        let c = self.branch0.trace(s, t)?.channels + trace_chain(&self.branch1, s, t)?.channels;
        t.conv2d(&self.conv2d, s.with_channels(c))
    }
}

/// Reduction-B: 17x17x1088 -> 8x8x2080.
#[derive(Module, Debug)]
pub struct Mixed7a {
    pub branch0: Vec<BasicConv2d>,
    pub branch1: Vec<BasicConv2d>,
    pub branch2: Vec<BasicConv2d>,
    pub branch3: MaxPool2d,
}

impl Mixed7a {
    pub fn new(device: &Device) -> Self {
        Self {
            branch0: vec![
                conv(1088, 256, [1, 1], 1, [0, 0], device),
                conv(256, 384, [3, 3], 2, [0, 0], device),
            ],
            branch1: vec![
                conv(1088, 256, [1, 1], 1, [0, 0], device),
                conv(256, 288, [3, 3], 2, [0, 0], device),
            ],
            branch2: vec![
                conv(1088, 256, [1, 1], 1, [0, 0], device),
                conv(256, 288, [3, 3], 1, [1, 1], device),
                conv(288, 320, [3, 3], 2, [0, 0], device),
            ],
            branch3: max_pool_3x3_s2(),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        Tensor::cat(
            vec![
                forward_chain(&self.branch0, x.clone()),
                forward_chain(&self.branch1, x.clone()),
                forward_chain(&self.branch2, x.clone()),
                self.branch3.forward(x),
            ],
            1,
        )
    }

    fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        let b0 = trace_chain(&self.branch0, s, t)?;
        let c = b0.channels
            + trace_chain(&self.branch1, s, t)?.channels
            + trace_chain(&self.branch2, s, t)?.channels
            + t.max_pool_3x3_s2(s)?.channels;
        Ok(b0.with_channels(c))
    }
}

/// Inception-ResNet-C on the 8x8 grid (2080 channels). The last one has no ReLU.
#[derive(Module, Debug)]
pub struct Block8 {
    pub branch0: BasicConv2d,
    pub branch1: Vec<BasicConv2d>,
    pub conv2d: Conv2d,
    pub scale: Option<f32>,
    pub no_relu: bool,
}

impl Block8 {
    pub fn new(scale: Option<f32>, no_relu: bool, device: &Device) -> Self {
        Self {
            branch0: conv(2080, 192, [1, 1], 1, [0, 0], device),
            branch1: vec![
                conv(2080, 192, [1, 1], 1, [0, 0], device),
                conv(192, 224, [1, 3], 1, [0, 1], device),
                conv(224, 256, [3, 1], 1, [1, 0], device),
            ],
            conv2d: projection(448, 2080, device),
            scale,
            no_relu,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mixed = Tensor::cat(
            vec![self.branch0.forward(x.clone()), forward_chain(&self.branch1, x.clone())],
            1,
        );
        residual(x, self.conv2d.forward(mixed), self.scale, !self.no_relu)
    }

    fn trace(&self, s: FeatureShape, t: &mut Trace) -> Result<FeatureShape, TraceError> {
        let c = self.branch0.trace(s, t)?.channels + trace_chain(&self.branch1, s, t)?.channels;
        t.conv2d(&self.conv2d, s.with_channels(c))
    }
}

#[derive(Config, Debug)]
pub struct InceptionResnetV2Config {
    #[config(default = "1000")]
    pub num_classes: usize,
    /// Residual scales of the A, B and C blocks; `None` disables scaling (Figure 20).
    #[config(default = "Some(BLOCK35_SCALE)")]
    pub block35_scale: Option<f32>,
    #[config(default = "Some(BLOCK17_SCALE)")]
    pub block17_scale: Option<f32>,
    #[config(default = "Some(BLOCK8_SCALE)")]
    pub block8_scale: Option<f32>,
}

impl InceptionResnetV2Config {
    pub fn init(&self, device: &Device) -> InceptionResnetV2 {
        InceptionResnetV2 {
            conv2d_1a: conv(3, 32, [3, 3], 2, [0, 0], device),
            conv2d_2a: conv(32, 32, [3, 3], 1, [0, 0], device),
            conv2d_2b: conv(32, 64, [3, 3], 1, [1, 1], device),
            maxpool_3a: max_pool_3x3_s2(),
            conv2d_3b: conv(64, 80, [1, 1], 1, [0, 0], device),
            conv2d_4a: conv(80, 192, [3, 3], 1, [0, 0], device),
            maxpool_5a: max_pool_3x3_s2(),
            mixed_5b: Mixed5b::new(device),
            repeat: (0..10).map(|_| Block35::new(self.block35_scale, device)).collect(),
            mixed_6a: Mixed6a::new(device),
            repeat_1: (0..20).map(|_| Block17::new(self.block17_scale, device)).collect(),
            mixed_7a: Mixed7a::new(device),
            repeat_2: (0..9).map(|_| Block8::new(self.block8_scale, false, device)).collect(),
            // The final block is unscaled (scale 1.0) and has no ReLU, as in TF-slim.
            block8: Block8::new(None, true, device),
            conv2d_7b: conv(2080, 1536, [1, 1], 1, [0, 0], device),
            classif: LinearConfig::new(1536, self.num_classes).init(device),
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

impl InceptionResnetV2 {
    /// The top-level stages in execution order, each as its checkpoint name.
    pub fn stages(&self) -> Vec<Stage<'_>> {
        let mut s = vec![
            Stage::new(
                "conv2d_1a",
                |x| self.conv2d_1a.forward(x),
                |i, t| self.conv2d_1a.trace(i, t),
                || trainable_params(&self.conv2d_1a),
            ),
            Stage::new(
                "conv2d_2a",
                |x| self.conv2d_2a.forward(x),
                |i, t| self.conv2d_2a.trace(i, t),
                || trainable_params(&self.conv2d_2a),
            ),
            Stage::new(
                "conv2d_2b",
                |x| self.conv2d_2b.forward(x),
                |i, t| self.conv2d_2b.trace(i, t),
                || trainable_params(&self.conv2d_2b),
            ),
            Stage::new(
                "maxpool_3a",
                |x| self.maxpool_3a.forward(x),
                |i, t| t.max_pool_3x3_s2(i),
                || 0,
            ),
            Stage::new(
                "conv2d_3b",
                |x| self.conv2d_3b.forward(x),
                |i, t| self.conv2d_3b.trace(i, t),
                || trainable_params(&self.conv2d_3b),
            ),
            Stage::new(
                "conv2d_4a",
                |x| self.conv2d_4a.forward(x),
                |i, t| self.conv2d_4a.trace(i, t),
                || trainable_params(&self.conv2d_4a),
            ),
            Stage::new(
                "maxpool_5a",
                |x| self.maxpool_5a.forward(x),
                |i, t| t.max_pool_3x3_s2(i),
                || 0,
            ),
            Stage::new(
                "mixed_5b",
                |x| self.mixed_5b.forward(x),
                |i, t| self.mixed_5b.trace(i, t),
                || trainable_params(&self.mixed_5b),
            ),
        ];
        s.push(Stage::repeated(
            "repeat",
            &self.repeat,
            Block35::forward,
            Block35::trace,
        ));
        s.push(Stage::new(
            "mixed_6a",
            |x| self.mixed_6a.forward(x),
            |i, t| self.mixed_6a.trace(i, t),
            || trainable_params(&self.mixed_6a),
        ));
        s.push(Stage::repeated(
            "repeat_1",
            &self.repeat_1,
            Block17::forward,
            Block17::trace,
        ));
        s.push(Stage::new(
            "mixed_7a",
            |x| self.mixed_7a.forward(x),
            |i, t| self.mixed_7a.trace(i, t),
            || trainable_params(&self.mixed_7a),
        ));
        s.push(Stage::repeated(
            "repeat_2",
            &self.repeat_2,
            Block8::forward,
            Block8::trace,
        ));
        s.push(Stage::new(
            "block8",
            |x| self.block8.forward(x),
            |i, t| self.block8.trace(i, t),
            || trainable_params(&self.block8),
        ));
        s.push(Stage::new(
            "conv2d_7b",
            |x| self.conv2d_7b.forward(x),
            |i, t| self.conv2d_7b.trace(i, t),
            || trainable_params(&self.conv2d_7b),
        ));
        s
    }

    pub fn head(&self, features: Tensor<4>) -> Tensor<2> {
        self.classif.forward(global_average_pool(features))
    }
}
