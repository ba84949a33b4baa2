//! `BasicConv2d`: convolution without bias, BatchNorm (eps 1e-3) and ReLU, the unit every
//! Inception network is built from (TF-slim's `slim.conv2d` with batch norm).
//!
//! For inference the BatchNorm can be folded into the convolution ([`super::fold`]): the
//! layer is then one convolution with a bias and a ReLU, two passes over its output instead
//! of six.

use burn::module::{Flag, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::block::{Block, Cost, FeatureShape, InputTooSmall};
use super::fused::{Epilogue, conv_options, conv2d_fused};

/// BatchNorm epsilon of the TF-slim checkpoints (timm uses the same).
pub const BN_EPS: f64 = 1e-3;

#[derive(Config, Debug)]
pub struct BasicConv2dConfig {
    pub in_channels: usize,
    pub out_channels: usize,
    /// `[height, width]` of the kernel.
    pub kernel: [usize; 2],
    #[config(default = "1")]
    pub stride: usize,
    /// Symmetric `[height, width]` zero padding.
    #[config(default = "[0, 0]")]
    pub padding: [usize; 2],
}

impl BasicConv2dConfig {
    pub fn init(&self, device: &Device) -> BasicConv2d {
        let [ph, pw] = self.padding;
        BasicConv2d {
            conv: Conv2dConfig::new([self.in_channels, self.out_channels], self.kernel)
                .with_stride([self.stride, self.stride])
                .with_padding(PaddingConfig2d::Explicit(ph, pw, ph, pw))
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(self.out_channels)
                .with_epsilon(BN_EPS)
                .init(device),
            folded: Param::from_bool(false),
        }
    }
}

/// Shorthand used by the block definitions: `conv(in, out, [kh, kw], stride, [ph, pw])`.
pub fn conv(
    in_channels: usize,
    out_channels: usize,
    kernel: [usize; 2],
    stride: usize,
    padding: [usize; 2],
    device: &Device,
) -> BasicConv2d {
    BasicConv2dConfig::new(in_channels, out_channels, kernel)
        .with_stride(stride)
        .with_padding(padding)
        .init(device)
}

#[derive(Module, Debug)]
pub struct BasicConv2d {
    pub conv: Conv2d,
    pub bn: BatchNorm,
    /// Set by [`super::fold::fold_batch_norm`]: the convolution's weights carry the
    /// BatchNorm's scale and `bn.beta` its shift, and `bn` itself is the identity plus that
    /// shift. A flag is runtime state, not part of a record, so a saved folded layer is an
    /// ordinary one that computes the same function.
    pub folded: Param<Flag>,
}

impl Block for BasicConv2d {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        // On an autodiff device the BatchNorm may be training, which needs the batch's own
        // statistics: only inference takes the folded path.
        if self.folded.is_enabled()
            && !x.device().is_autodiff()
            && let Some(options) = conv_options(&self.conv)
        {
            // The shift is the convolution's bias, added in the convolution's own output pass.
            let bias = Some(self.bn.beta.val());
            return conv2d_fused(x, self.conv.weight.val(), bias, options, Epilogue::relu());
        }
        relu(self.bn.forward(self.conv.forward(x)))
    }

    fn output_shape(&self, input: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        t.conv2d(&self.conv, input)
    }
}
