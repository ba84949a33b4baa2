//! The networks, their blocks, and what all of them share: a list of named top-level
//! stages that the forward pass, the feature taps and the layer table all walk, so that
//! there is one definition of the execution order.

pub mod basic_conv;
pub mod inception_resnet_v2;
pub mod inception_v4;
pub mod pool;
pub mod synthetic;
pub mod trace;

use burn::prelude::*;

use crate::arch::Arch;
use inception_resnet_v2::{InceptionResnetV2, InceptionResnetV2Config};
use inception_v4::{InceptionV4, InceptionV4Config};
use trace::{FeatureShape, Trace, TraceError};

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
    pub fn new(
        name: &'static str,
        forward: impl Fn(Tensor<4>) -> Tensor<4> + 'a,
        trace: impl Fn(FeatureShape, &mut Trace) -> Result<FeatureShape, TraceError> + 'a,
        params: impl Fn() -> usize + 'a,
    ) -> Self {
        Self {
            name,
            forward: Box::new(forward),
            trace: Box::new(trace),
            params: Box::new(params),
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
}

impl NetworkConfig {
    pub fn init(&self, device: &Device) -> Network {
        match self.arch {
            Arch::InceptionResnetV2 => Network::InceptionResnetV2(
                InceptionResnetV2Config::new()
                    .with_num_classes(self.num_classes)
                    .init(device),
            ),
            Arch::InceptionV4 => {
                Network::InceptionV4(InceptionV4Config::new().with_num_classes(self.num_classes).init(device))
            }
        }
    }
}

/// Any of the supported networks, chosen at run time.
// A program holds one or two of these; boxing the variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Network {
    InceptionResnetV2(InceptionResnetV2),
    InceptionV4(InceptionV4),
}

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
        }
    }

    /// Moves every tensor to `device` (e.g. weights loaded on the CPU onto the GPU).
    pub fn to_device(self, device: &Device) -> Self {
        match self {
            Self::InceptionResnetV2(n) => Self::InceptionResnetV2(n.to_device(device)),
            Self::InceptionV4(n) => Self::InceptionV4(n.to_device(device)),
        }
    }

    pub fn stages(&self) -> Vec<Stage<'_>> {
        match self {
            Self::InceptionResnetV2(n) => n.stages(),
            Self::InceptionV4(n) => n.stages(),
        }
    }

    /// Global average pool and classifier.
    pub fn head(&self, features: Tensor<4>) -> Tensor<2> {
        match self {
            Self::InceptionResnetV2(n) => n.head(features),
            Self::InceptionV4(n) => n.head(features),
        }
    }

    fn classifier(&self) -> &burn::nn::Linear {
        match self {
            Self::InceptionResnetV2(n) => &n.classif,
            Self::InceptionV4(n) => &n.last_linear,
        }
    }

    pub(crate) fn classifier_mut(&mut self) -> &mut burn::nn::Linear {
        match self {
            Self::InceptionResnetV2(n) => &mut n.classif,
            Self::InceptionV4(n) => &mut n.last_linear,
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
        match self {
            Self::InceptionResnetV2(n) => trainable_params(n),
            Self::InceptionV4(n) => trainable_params(n),
        }
    }

    /// Logits `[batch, classes]` for preprocessed images `[batch, 3, height, width]`.
    /// Check the size first with [`Network::check_input`]: burn panics on a too-small input.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let features = self.stages().iter().fold(x, |x, s| s.forward(x));
        self.head(features)
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
