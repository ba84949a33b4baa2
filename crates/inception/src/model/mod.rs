//! The networks, their blocks, and what all of them share: a list of named top-level
//! stages that the forward pass, the feature taps and the layer table all walk, so that
//! there is one definition of the execution order.

pub mod basic_conv;
pub mod fold;
pub mod inception_resnet_v1;
pub mod inception_resnet_v2;
pub mod inception_resnet_v2_paper;
pub mod inception_v4;
mod network_module;
pub mod pool;
pub mod reduction;
pub mod residual;
pub mod residual_body;
pub mod synthetic;
pub mod trace;
pub mod width;

use burn::prelude::*;

use burn::nn::pool::MaxPool2d;

use crate::arch::Arch;
use inception_resnet_v1::{InceptionResnetV1, InceptionResnetV1Config};
use inception_resnet_v2::{InceptionResnetV2, InceptionResnetV2Config};
use inception_resnet_v2_paper::{InceptionResnetV2Paper, InceptionResnetV2PaperConfig};
use inception_v4::{InceptionV4, InceptionV4Config};
pub use residual::ResidualScale;
use trace::{FeatureShape, Trace, TraceError};
pub use width::Width;

type ForwardFn<'a> = Box<dyn Fn(Tensor<4>) -> Tensor<4> + 'a>;
type TraceFn<'a> = Box<dyn Fn(FeatureShape, &mut Trace) -> Result<FeatureShape, TraceError> + 'a>;
type ParamsFn<'a> = Box<dyn Fn() -> usize + 'a>;

/// One top-level stage of a network, named as in the checkpoint. Its parameter count is
/// computed on demand: counting visits every tensor, which a forward pass need not do.
pub struct Stage<'a> {
    pub name: &'static str,
    forward: ForwardFn<'a>,
    trace: TraceFn<'a>,
    params: ParamsFn<'a>,
}

impl<'a> Stage<'a> {
    /// One module run once.
    pub fn single<M: Module>(
        name: &'static str,
        module: &'a M,
        forward: fn(&M, Tensor<4>) -> Tensor<4>,
        trace: fn(&M, FeatureShape, &mut Trace) -> Result<FeatureShape, TraceError>,
    ) -> Self {
        Self {
            name,
            forward: Box::new(move |x| forward(module, x)),
            trace: Box::new(move |s, t| trace(module, s, t)),
            params: Box::new(move || trainable_params(module)),
        }
    }

    /// A 3x3 stride-2 max pool (no parameters).
    pub fn max_pool(name: &'static str, pool: &'a MaxPool2d) -> Self {
        Self {
            name,
            forward: Box::new(move |x| pool.forward(x)),
            trace: Box::new(|s, t| t.max_pool_3x3_s2(s)),
            params: Box::new(|| 0),
        }
    }

    /// A run of identical blocks (timm's `nn.Sequential` of residual blocks).
    pub fn repeated<M: Module>(
        name: &'static str,
        blocks: &'a [M],
        forward: fn(&M, Tensor<4>) -> Tensor<4>,
        trace: fn(&M, FeatureShape, &mut Trace) -> Result<FeatureShape, TraceError>,
    ) -> Self {
        Self {
            name,
            forward: Box::new(move |x| blocks.iter().fold(x, |x, b| forward(b, x))),
            trace: Box::new(move |s, t| blocks.iter().try_fold(s, |s, b| trace(b, s, t))),
            params: Box::new(move || blocks.iter().map(trainable_params).sum()),
        }
    }

    pub fn params(&self) -> usize {
        (self.params)()
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        (self.forward)(x)
    }
}

/// Trainable parameters of a module, as timm and the paper count them. burn's
/// `num_params` also counts BatchNorm's running mean and variance, which are statistics.
pub fn trainable_params<M: Module>(module: &M) -> usize {
    /// The visitor sees a module's fields as nested `enter_module(name)` calls.
    struct Counter {
        path: Vec<String>,
        count: usize,
    }
    impl burn::module::ModuleVisitor for Counter {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            if !matches!(
                self.path.last().map(String::as_str),
                Some("running_mean" | "running_var")
            ) {
                self.count += param.lazy_shape().num_elements();
            }
        }
    }
    let mut counter = Counter {
        path: Vec::new(),
        count: 0,
    };
    module.visit(&mut counter);
    counter.count
}

/// A function over any module type, for [`Network::map`].
pub trait MapModule {
    fn map<M: Module>(self, module: M) -> M;
}

/// Every burn `ModuleMapper` maps a network.
impl<T: burn::module::ModuleMapper> MapModule for &mut T {
    fn map<M: Module>(self, module: M) -> M {
        module.map(self)
    }
}

/// Global average pooling to `[batch, channels]`.
pub fn global_average_pool(x: Tensor<4>) -> Tensor<2> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c])
}

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
            $crate::model::Network::InceptionResnetV2($n) => $body,
            $crate::model::Network::InceptionV4($n) => $body,
            $crate::model::Network::InceptionResnetV1($n) => $body,
            $crate::model::Network::InceptionResnetV2Paper($n) => $body,
        }
    };
}
pub(crate) use each_network;

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

impl Network {
    pub fn arch(&self) -> Arch {
        match self {
            Self::InceptionResnetV2(_) => Arch::InceptionResnetV2,
            Self::InceptionV4(_) => Arch::InceptionV4,
            Self::InceptionResnetV1(_) => Arch::InceptionResnetV1,
            Self::InceptionResnetV2Paper(_) => Arch::InceptionResnetV2Paper,
        }
    }

    /// Applies `f` to the wrapped module (a burn `ModuleMapper`, `to_device`, an optimizer
    /// step), keeping the variant.
    pub fn map<F>(self, f: F) -> Self
    where
        F: MapModule,
    {
        match self {
            Self::InceptionResnetV2(n) => Self::InceptionResnetV2(f.map(n)),
            Self::InceptionV4(n) => Self::InceptionV4(f.map(n)),
            Self::InceptionResnetV1(n) => Self::InceptionResnetV1(f.map(n)),
            Self::InceptionResnetV2Paper(n) => Self::InceptionResnetV2Paper(f.map(n)),
        }
    }

    /// Moves every tensor to `device` (e.g. weights loaded on the CPU onto the GPU).
    pub fn to_device(self, device: &Device) -> Self {
        struct ToDevice<'d>(&'d Device);
        impl MapModule for ToDevice<'_> {
            fn map<M: Module>(self, module: M) -> M {
                module.to_device(self.0)
            }
        }
        self.map(ToDevice(device))
    }

    /// Visits every parameter (burn's `ModuleVisitor`).
    pub fn visit<V: burn::module::ModuleVisitor>(&self, visitor: &mut V) {
        each_network!(self, n => n.visit(visitor))
    }

    pub fn stages(&self) -> Vec<Stage<'_>> {
        each_network!(self, n => n.stages())
    }

    /// Writes every tensor into a burn-store store (burnpack, safetensors).
    pub fn save_into<S: burn::store::ModuleStore>(&self, store: &mut S) -> Result<(), S::Error> {
        use burn::store::ModuleSnapshot;
        each_network!(self, n => n.save_into(store))
    }

    /// Global average pool and classifier.
    pub fn head(&self, features: Tensor<4>) -> Tensor<2> {
        self.classify_features(global_average_pool(features))
    }

    /// The pooled feature vector `[batch, features]` that the classifier reads.
    pub fn pre_logits(&self, x: Tensor<4>) -> Tensor<2> {
        global_average_pool(self.forward_features(x))
    }

    /// The classifier alone, on [`Network::pre_logits`] (training puts dropout between).
    pub fn classify_features(&self, features: Tensor<2>) -> Tensor<2> {
        self.classifier().forward(features)
    }

    pub fn classifier(&self) -> &burn::nn::Linear {
        match self {
            Self::InceptionV4(n) => &n.last_linear,
            Self::InceptionResnetV2(n) => &n.classif,
            Self::InceptionResnetV1(n) => &n.classif,
            Self::InceptionResnetV2Paper(n) => &n.classif,
        }
    }

    /// The classifier, to replace it (fine-tuning on new classes, TF-slim's background class).
    pub fn classifier_mut(&mut self) -> &mut burn::nn::Linear {
        match self {
            Self::InceptionV4(n) => &mut n.last_linear,
            Self::InceptionResnetV2(n) => &mut n.classif,
            Self::InceptionResnetV1(n) => &mut n.classif,
            Self::InceptionResnetV2Paper(n) => &mut n.classif,
        }
    }

    pub fn num_classes(&self) -> usize {
        self.classifier().weight.dims()[1]
    }

    pub fn num_features(&self) -> usize {
        self.classifier().weight.dims()[0]
    }

    /// Trainable parameters (timm's count).
    pub fn num_params(&self) -> usize {
        each_network!(self, n => trainable_params(n))
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
        self.head(self.forward_features(x))
    }

    /// The final feature map `[batch, features, h, w]`, before pooling (8x8 at 299).
    pub fn forward_features(&self, x: Tensor<4>) -> Tensor<4> {
        self.stages().iter().fold(x, |x, s| s.forward(x))
    }

    /// Logits and the final feature map they were pooled from (for
    /// [`crate::cam::class_activation_maps`]).
    pub fn forward_with_features(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<4>) {
        let features = self.forward_features(x);
        (self.head(features.clone()), features)
    }

    /// Logits plus the activations after the named stages (for parity checks against
    /// timm's `feature_info` taps).
    pub fn forward_with_taps(&self, x: Tensor<4>, taps: &[&str]) -> (Tensor<2>, Vec<(String, Tensor<4>)>) {
        let mut tapped = Vec::new();
        let mut x = x;
        for stage in self.stages() {
            x = stage.forward(x);
            if taps.contains(&stage.name) {
                tapped.push((stage.name.to_string(), x.clone()));
            }
        }
        (self.head(x), tapped)
    }

    /// Feature-map output (before pooling) for an input of `height x width` pixels, or an
    /// error naming the first layer that the input is too small for.
    pub fn check_input(&self, height: usize, width: usize) -> Result<FeatureShape, TraceError> {
        let mut trace = Trace::default();
        self.stages()
            .iter()
            .try_fold(FeatureShape::new(3, height, width), |shape, stage| {
                trace.block = stage.name.to_string();
                (stage.trace)(shape, &mut trace)
            })
    }

    pub fn summary(&self, height: usize, width: usize) -> Result<Summary, TraceError> {
        let input = FeatureShape::new(3, height, width);
        let mut trace = Trace::default();
        let mut layers = Vec::new();
        let mut shape = input;
        for stage in self.stages() {
            trace.block = stage.name.to_string();
            shape = (stage.trace)(shape, &mut trace)?;
            layers.push(LayerRow {
                name: stage.name.to_string(),
                output: shape,
                params: stage.params(),
            });
        }
        let features = shape;
        let pooled = FeatureShape::new(shape.channels, 1, 1);
        layers.push(LayerRow {
            name: "global_pool".into(),
            output: pooled,
            params: 0,
        });
        let classifier = self.classifier();
        trace.linear(self.num_features(), self.num_classes());
        layers.push(LayerRow {
            name: self.arch().classifier_name().into(),
            output: FeatureShape::new(self.num_classes(), 1, 1),
            params: trainable_params(classifier),
        });
        Ok(Summary {
            arch: self.arch(),
            input,
            features,
            params: layers.iter().map(|l| l.params).sum(),
            layers,
            flops: trace.flops,
        })
    }
}
