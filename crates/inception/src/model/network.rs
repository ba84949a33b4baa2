//! [`Network`]: any of the four networks, chosen at run time, and what is done with one:
//! the forward pass (with the final feature map or with timm's feature taps), the input
//! check, the layer table, the BatchNorm fold for inference. Each network lists its
//! top-level blocks once ([`Architecture::blocks`]) and everything here walks that list.

use burn::module::{Content, Devices, ModuleDisplay, ModuleDisplayDefault, ModuleMapper, ModuleVisitor};
use burn::nn::Linear;
use burn::prelude::*;

use super::block::{Cost, FeatureShape, InputTooSmall, NamedBlock, TrainableParams};
use super::fold;
use super::inception_resnet_v1::{InceptionResnetV1, InceptionResnetV1Config};
use super::inception_resnet_v2::{InceptionResnetV2, InceptionResnetV2Config};
use super::inception_resnet_v2_paper::{InceptionResnetV2Paper, InceptionResnetV2PaperConfig};
use super::inception_v4::{InceptionV4, InceptionV4Config};
use super::residual::ResidualScale;
use super::width::Width;
use crate::arch::Arch;

/// Hyper-parameters shared by every architecture.
#[derive(Config, Debug)]
pub struct NetworkConfig {
    pub arch: Arch,
    #[config(default = "1000")]
    pub num_classes: usize,
    /// Channel-width multiplier, a multiple of 1/16 (1 = the paper's widths).
    #[config(default = "Width::FULL")]
    pub width: Width,
    /// Residual scaling of the residual networks (paper Section 3.3).
    #[config(default = "ResidualScale::ArchDefault")]
    pub residual_scale: ResidualScale,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} has no residual connections to scale (--residual-scale applies to the Inception-ResNets)")]
    NotResidual(Arch),
    #[error("a network needs at least one class")]
    NoClasses,
    #[error("residual scale {0} is not a finite number")]
    NonFiniteScale(f32),
}

impl NetworkConfig {
    /// Settings that `init` would silently ignore are errors here.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.num_classes == 0 {
            return Err(ConfigError::NoClasses);
        }
        if !self.arch.is_residual() && self.residual_scale != ResidualScale::ArchDefault {
            return Err(ConfigError::NotResidual(self.arch));
        }
        if let ResidualScale::Factor(f) = self.residual_scale
            && !f.is_finite()
        {
            return Err(ConfigError::NonFiniteScale(f));
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> Network {
        let (classes, width, scale) = (self.num_classes, self.width, self.residual_scale);
        match self.arch {
            Arch::InceptionResnetV2 => Network::InceptionResnetV2(
                InceptionResnetV2Config::new()
                    .with_num_classes(classes)
                    .with_width(width)
                    .with_residual_scale(scale)
                    .init(device),
            ),
            Arch::InceptionV4 => Network::InceptionV4(
                InceptionV4Config::new()
                    .with_num_classes(classes)
                    .with_width(width)
                    .init(device),
            ),
            Arch::InceptionResnetV1 => Network::InceptionResnetV1(
                InceptionResnetV1Config::new()
                    .with_num_classes(classes)
                    .with_width(width)
                    .with_residual_scale(scale)
                    .init(device),
            ),
            Arch::InceptionResnetV2Paper => Network::InceptionResnetV2Paper(
                InceptionResnetV2PaperConfig::new()
                    .with_num_classes(classes)
                    .with_width(width)
                    .with_residual_scale(scale)
                    .init(device),
            ),
        }
    }
}

/// What each of the four network types says of itself: its top-level blocks in execution
/// order, named as in the checkpoint, and its classifier (after global average pooling).
pub trait Architecture {
    fn blocks(&self) -> Vec<NamedBlock<'_>>;
    fn classifier(&self) -> &Linear;
    fn classifier_mut(&mut self) -> &mut Linear;
}

/// Any of the supported networks, chosen at run time.
// A program holds one or two of these; boxing the variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Network {
    InceptionResnetV2(InceptionResnetV2),
    InceptionV4(InceptionV4),
    InceptionResnetV1(InceptionResnetV1),
    InceptionResnetV2Paper(InceptionResnetV2Paper),
}

/// Runs `$body` with `$n` bound to whichever network `$net` holds.
macro_rules! each_network {
    ($net:expr, $n:ident => $body:expr) => {
        match $net {
            Network::InceptionResnetV2($n) => $body,
            Network::InceptionV4($n) => $body,
            Network::InceptionResnetV1($n) => $body,
            Network::InceptionResnetV2Paper($n) => $body,
        }
    };
}

/// Rebuilds the same variant around `$body`, with `$n` bound to the wrapped network.
macro_rules! rewrap {
    ($net:expr, $n:ident => $body:expr) => {
        match $net {
            Network::InceptionResnetV2($n) => Network::InceptionResnetV2($body),
            Network::InceptionV4($n) => Network::InceptionV4($body),
            Network::InceptionResnetV1($n) => Network::InceptionResnetV1($body),
            Network::InceptionResnetV2Paper($n) => Network::InceptionResnetV2Paper($body),
        }
    };
}

/// `Network` is a burn [`Module`] like any derived one (optimizers, records, device moves,
/// visitors and mappers take it). Not derived: burn's derive for enums names the variant in
/// every parameter's path (`InceptionResnetV2.conv2d_1a.conv.weight`), which would change
/// the checkpoint keys; here every method forwards to the network the enum holds, so the
/// paths are the checkpoint's own (`conv2d_1a.conv.weight`).
impl Module for Network {
    fn collect_devices(&self, devices: Devices) -> Devices {
        each_network!(self, n => n.collect_devices(devices))
    }

    fn fork(self, device: &Device) -> Self {
        rewrap!(self, n => n.fork(device))
    }

    fn to_device(self, device: &Device) -> Self {
        rewrap!(self, n => n.to_device(device))
    }

    fn train(self) -> Self {
        rewrap!(self, n => n.train())
    }

    fn valid(&self) -> Self {
        rewrap!(self, n => n.valid())
    }

    fn materialize(self) -> Self {
        rewrap!(self, n => n.materialize())
    }

    fn visit<V: ModuleVisitor>(&self, visitor: &mut V) {
        each_network!(self, n => n.visit(visitor))
    }

    fn map<M: ModuleMapper>(self, mapper: &mut M) -> Self {
        rewrap!(self, n => n.map(mapper))
    }
}

impl ModuleDisplayDefault for Network {
    fn content(&self, content: Content) -> Option<Content> {
        each_network!(self, n => n.content(content))
    }

    fn num_params(&self) -> usize {
        each_network!(self, n => Module::num_params(n))
    }
}

impl ModuleDisplay for Network {}

/// One row of the layer table.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LayerRow {
    pub name: String,
    pub output: FeatureShape,
    pub params: usize,
}

/// Output shapes, parameters and FLOPs of a network at one input size.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub arch: Arch,
    pub input: FeatureShape,
    pub layers: Vec<LayerRow>,
    /// Feature map before global pooling.
    pub features: FeatureShape,
    pub params: usize,
    pub flops: u64,
}

/// Global average pooling to `[batch, channels]`.
pub fn global_average_pool(x: Tensor<4>) -> Tensor<2> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c])
}

impl Network {
    pub fn arch(&self) -> Arch {
        match self {
            Self::InceptionResnetV2(_) => Arch::InceptionResnetV2,
            Self::InceptionV4(_) => Arch::InceptionV4,
            Self::InceptionResnetV1(_) => Arch::InceptionResnetV1,
            Self::InceptionResnetV2Paper(_) => Arch::InceptionResnetV2Paper,
        }
    }

    /// The top-level blocks in execution order, with their checkpoint names.
    pub fn blocks(&self) -> Vec<NamedBlock<'_>> {
        each_network!(self, n => n.blocks())
    }

    pub fn classifier(&self) -> &Linear {
        each_network!(self, n => n.classifier())
    }

    /// The classifier, to replace it (fine-tuning on new classes, TF-slim's background class).
    pub fn classifier_mut(&mut self) -> &mut Linear {
        each_network!(self, n => n.classifier_mut())
    }

    pub fn num_classes(&self) -> usize {
        self.classifier().weight.dims()[1]
    }

    pub fn num_features(&self) -> usize {
        self.classifier().weight.dims()[0]
    }

    /// Every BatchNorm folded into its convolution (see [`fold`]), on the device the network
    /// is on. Same logits, fewer passes over memory; for classifying, not for training.
    pub fn fold_batch_norm(self) -> Self {
        fold::fold_batch_norm(self)
    }

    /// The inference form on `device`: the BatchNorm fold done on the host (burn's flex
    /// backend), then the network moved to `device`. The fold is a few small operations per
    /// layer, and on a GPU each would be a kernel to compile (on WebGPU in a page, a minute of
    /// shader compilation). Call it on a network that is on the host or natively on any
    /// device; in a browser, load onto the host first (reading a WebGPU tensor back cannot
    /// block there).
    pub fn for_inference(self, device: &Device) -> Self {
        self.to_device(&Device::flex()).fold_batch_norm().to_device(device)
    }

    /// Logits `[batch, classes]` for preprocessed images `[batch, 3, height, width]`.
    /// Check the size first with [`Network::check_input`]: burn panics on a too-small input.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.forward_head(self.forward_features(x))
    }

    /// The final feature map `[batch, features, h, w]`, before pooling (8x8 at 299).
    pub fn forward_features(&self, x: Tensor<4>) -> Tensor<4> {
        self.blocks().iter().fold(x, |x, b| b.block.forward(x))
    }

    /// Global average pool and classifier, on the final feature map.
    pub fn forward_head(&self, features: Tensor<4>) -> Tensor<2> {
        self.classify_features(global_average_pool(features))
    }

    /// Logits and the final feature map they were pooled from (for
    /// [`crate::cam::class_activation_maps`]).
    pub fn forward_with_features(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<4>) {
        let features = self.forward_features(x);
        (self.forward_head(features.clone()), features)
    }

    /// The pooled feature vector `[batch, features]` that the classifier reads.
    pub fn pre_logits(&self, x: Tensor<4>) -> Tensor<2> {
        global_average_pool(self.forward_features(x))
    }

    /// The classifier alone, on [`Network::pre_logits`] (training puts dropout between).
    pub fn classify_features(&self, features: Tensor<2>) -> Tensor<2> {
        self.classifier().forward(features)
    }

    /// The output of every top-level block, in order, and the logits (the shape test
    /// compares these with [`Network::summary`]; the parity tests pick timm's taps).
    pub fn forward_with_taps(&self, x: Tensor<4>) -> (Tensor<2>, Vec<(&'static str, Tensor<4>)>) {
        let mut outputs = Vec::new();
        let mut x = x;
        for b in self.blocks() {
            x = b.block.forward(x);
            outputs.push((b.name, x.clone()));
        }
        (self.forward_head(x), outputs)
    }

    /// Feature-map output (before pooling) for an input of `height x width` pixels, or an
    /// error naming the first layer that the input is too small for.
    pub fn check_input(&self, height: usize, width: usize) -> Result<FeatureShape, InputTooSmall> {
        let (features, _) = self.walk_shapes(height, width, |_, _| {})?;
        Ok(features)
    }

    /// The layer table: each top-level block's output shape and parameters, then the
    /// pooling and the classifier, with the FLOPs of the whole pass.
    pub fn summary(&self, height: usize, width: usize) -> Result<Summary, InputTooSmall> {
        let mut layers = Vec::new();
        let (features, mut cost) = self.walk_shapes(height, width, |b, output| {
            layers.push(LayerRow {
                name: b.name.to_string(),
                output,
                params: b.block.trainable_params(),
            })
        })?;
        layers.push(LayerRow {
            name: "global_pool".into(),
            output: FeatureShape::new(features.channels, 1, 1),
            params: 0,
        });
        cost.linear(self.num_features(), self.num_classes());
        layers.push(LayerRow {
            name: self.arch().classifier_name().into(),
            output: FeatureShape::new(self.num_classes(), 1, 1),
            params: self.classifier().trainable_params(),
        });
        Ok(Summary {
            arch: self.arch(),
            input: FeatureShape::new(3, height, width),
            features,
            params: layers.iter().map(|l| l.params).sum(),
            layers,
            flops: cost.flops,
        })
    }

    /// The blocks' output shapes for a `height x width` image, each passed to `each`; the
    /// final one is returned with the cost of getting there.
    fn walk_shapes(
        &self,
        height: usize,
        width: usize,
        mut each: impl FnMut(&NamedBlock, FeatureShape),
    ) -> Result<(FeatureShape, Cost), InputTooSmall> {
        let mut cost = Cost::default();
        let mut shape = FeatureShape::new(3, height, width);
        for b in self.blocks() {
            cost.block = b.name.to_string();
            shape = b.block.output_shape(shape, &mut cost)?;
            each(&b, shape);
        }
        Ok((shape, cost))
    }
}
