//! What every block of these networks is: a function of a feature map, and the shape and
//! cost of that function without running it (the output shape for an input shape, the FLOPs
//! on the way, and a clear error when an input is too small for the stride-2 reductions,
//! where burn would panic inside the convolution). The networks list their top-level blocks once
//! ([`super::network::Architecture::blocks`]); the forward pass, the feature taps, the input
//! check and the layer table all walk that one list.

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::prelude::*;

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
        super::fused_pool::max_pool2d(self, x)
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

/// `[channels, height, width]` of one image's feature map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FeatureShape {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl FeatureShape {
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
        }
    }

    pub fn with_channels(self, channels: usize) -> Self {
        Self { channels, ..self }
    }
}

impl std::fmt::Display for FeatureShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.height, self.width, self.channels)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "input too small: layer `{layer}` needs at least {kernel_h}x{kernel_w} pixels but gets {}x{}",
    input.height,
    input.width
)]
pub struct InputTooSmall {
    pub layer: String,
    pub input: FeatureShape,
    pub kernel_h: usize,
    pub kernel_w: usize,
}

/// The running cost of a shape walk: multiply-add FLOPs (2 per MAC, convolutions and the
/// classifier only, as `torch.utils.flop_counter` counts them), and the name of the
/// top-level block being walked, for the error.
#[derive(Debug, Default)]
pub struct Cost {
    pub flops: u64,
    pub block: String,
}

fn out_size(size: usize, pad: usize, kernel: usize, stride: usize) -> Option<usize> {
    (size + pad).checked_sub(kernel).map(|s| s / stride + 1)
}

/// `(top, left, bottom, right)` padding of a 2D layer with a `kernel` window.
fn pads(padding: &PaddingConfig2d, kernel: [usize; 2]) -> [usize; 4] {
    let [kh, kw] = kernel;
    match *padding {
        PaddingConfig2d::Explicit(t, l, b, r) => [t, l, b, r],
        PaddingConfig2d::Valid => [0; 4],
        PaddingConfig2d::Same => [(kh - 1) / 2, (kw - 1) / 2, kh / 2, kw / 2],
    }
}

impl Cost {
    /// The output grid of a `kernel` window moved by `stride` over `input` with `pads`.
    fn window(
        &self,
        input: FeatureShape,
        kernel: [usize; 2],
        stride: [usize; 2],
        pads: [usize; 4],
    ) -> Result<(usize, usize), InputTooSmall> {
        let h = out_size(input.height, pads[0] + pads[2], kernel[0], stride[0]);
        let w = out_size(input.width, pads[1] + pads[3], kernel[1], stride[1]);
        match (h, w) {
            (Some(h), Some(w)) if h > 0 && w > 0 => Ok((h, w)),
            _ => Err(InputTooSmall {
                layer: self.block.clone(),
                input,
                kernel_h: kernel[0],
                kernel_w: kernel[1],
            }),
        }
    }

    pub fn conv2d(&mut self, conv: &Conv2d, input: FeatureShape) -> Result<FeatureShape, InputTooSmall> {
        let [out_c, in_per_group, kh, kw] = conv.weight.dims();
        let (h, w) = self.window(input, [kh, kw], conv.stride, pads(&conv.padding, [kh, kw]))?;
        self.flops += 2 * (out_c * in_per_group * kh * kw * h * w) as u64;
        Ok(FeatureShape::new(out_c, h, w))
    }

    pub fn max_pool2d(&mut self, pool: &MaxPool2d, input: FeatureShape) -> Result<FeatureShape, InputTooSmall> {
        let (h, w) = self.window(
            input,
            pool.kernel_size,
            pool.stride,
            pads(&pool.padding, pool.kernel_size),
        )?;
        Ok(FeatureShape::new(input.channels, h, w))
    }

    pub fn linear(&mut self, in_features: usize, out_features: usize) {
        self.flops += 2 * (in_features * out_features) as u64;
    }
}
