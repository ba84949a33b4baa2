//! What every block of these networks is: a function of a feature map, and the shape and
//! cost of that function without running it. The networks list their top-level blocks once
//! ([`super::network::Architecture::blocks`]); the forward pass, the feature taps, the input
//! check and the layer table all walk that one list.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::prelude::*;

use super::shape::{Cost, FeatureShape, InputTooSmall};

/// A block: `forward` runs it; `output_shape` gives the shape `forward` would return for an
/// input of shape `input`, adding the block's FLOPs to `cost`, or says which layer the input
/// is too small for. A test checks the two against each other for every network.
pub trait Block: TrainableParams {
    fn forward(&self, x: Tensor<4>) -> Tensor<4>;
    fn output_shape(&self, input: FeatureShape, cost: &mut Cost) -> Result<FeatureShape, InputTooSmall>;
}

/// A run of blocks, one after the other (timm's `nn.Sequential`: a branch's convolutions,
/// a repeated residual block).
impl<B: Block + Module> Block for Vec<B> {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.iter().fold(x, |x, b| b.forward(x))
    }

    fn output_shape(&self, input: FeatureShape, cost: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        self.iter().try_fold(input, |s, b| b.output_shape(s, cost))
    }
}

impl Block for MaxPool2d {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        MaxPool2d::forward(self, x)
    }

    fn output_shape(&self, input: FeatureShape, cost: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        cost.max_pool2d(self, input)
    }
}

/// The residual blocks' 1x1 projection (a plain convolution with a bias).
impl Block for Conv2d {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        Conv2d::forward(self, x)
    }

    fn output_shape(&self, input: FeatureShape, cost: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        cost.conv2d(self, input)
    }
}

/// Branches side by side on one input, concatenated on channels (every Inception block).
pub fn concat(branches: &[&dyn Block], x: Tensor<4>) -> Tensor<4> {
    Tensor::cat(branches.iter().map(|b| b.forward(x.clone())).collect(), 1)
}

/// The shape [`concat`] returns: the branches' grid (they agree) and the sum of their channels.
pub fn concat_shape(
    branches: &[&dyn Block],
    input: FeatureShape,
    cost: &mut Cost,
) -> Result<FeatureShape, InputTooSmall> {
    let mut out = input.with_channels(0);
    for branch in branches {
        let shape = branch.output_shape(input, cost)?;
        out = shape.with_channels(out.channels + shape.channels);
    }
    Ok(out)
}

/// A top-level block with its checkpoint name (`conv2d_1a`, `repeat_1`, `mixed_7a`).
#[derive(Clone, Copy)]
pub struct NamedBlock<'a> {
    pub name: &'static str,
    pub block: &'a dyn Block,
}

pub fn named<'a>(name: &'static str, block: &'a dyn Block) -> NamedBlock<'a> {
    NamedBlock { name, block }
}

/// Trainable parameters of a module, as timm and the paper count them. burn's
/// `num_params` also counts BatchNorm's running mean and variance, which are statistics.
/// (A supertrait of [`Block`], so that a `&dyn Block` can count its own.)
pub trait TrainableParams {
    fn trainable_params(&self) -> usize;
}

impl<M: Module> TrainableParams for M {
    fn trainable_params(&self) -> usize {
        /// The visitor sees a module's fields as nested `enter_module(name)` calls.
        struct Counter {
            path: Vec<String>,
            count: usize,
        }
        impl ModuleVisitor for Counter {
            fn enter_module(&mut self, name: &str, _container_type: &str) {
                self.path.push(name.to_string());
            }
            fn exit_module(&mut self, _name: &str, _container_type: &str) {
                self.path.pop();
            }
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
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
        self.visit(&mut counter);
        counter.count
    }
}
