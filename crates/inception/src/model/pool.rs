//! The two pooling patterns of the Inception family.

use burn::nn::PaddingConfig2d;
use burn::nn::pool::{AvgPool2d, AvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::prelude::*;

use super::basic_conv::BasicConv2d;
use super::block::{Block, Cost, FeatureShape, InputTooSmall};

/// 3x3 stride-2 max pool without padding: the grid reductions.
pub fn max_pool_3x3_s2() -> MaxPool2d {
    MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).init()
}

/// The pooling branch of Mixed_5b and Inception-A/B/C: a 3x3 stride-1 average pool whose
/// border windows average only real pixels (`count_include_pad=False`, as TF's 'SAME'
/// average pooling does), then a 1x1 projection. timm names it `branchN.1` (index 0 is
/// the pool); the checkpoint loader maps that to `branchN.proj`.
#[derive(Module, Debug)]
pub struct AvgPoolProjection {
    pub pool: AvgPool2d,
    pub proj: BasicConv2d,
}

impl AvgPoolProjection {
    pub fn new(proj: BasicConv2d) -> Self {
        Self {
            pool: AvgPool2dConfig::new([3, 3])
                .with_strides([1, 1])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_count_include_pad(false)
                .init(),
            proj,
        }
    }
}

impl Block for AvgPoolProjection {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.proj.forward(super::fused_pool::avg_pool2d(&self.pool, x))
    }

    fn output_shape(&self, input: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        self.proj.output_shape(input, t)
    }
}
