//! The grid reductions shared across the family: Reduction-A (paper Figure 7, with the
//! per-network filter counts of Table 1) and the residual networks' Reduction-B
//! (Figures 12 and 18).

use burn::nn::pool::MaxPool2d;
use burn::prelude::*;

use super::basic_conv::{BasicConv2d, conv};
use super::block::{Block, Cost, FeatureShape, InputTooSmall, concat, concat_shape};
use super::pool::max_pool_3x3_s2;
use super::width::Width;

/// The paper's Table 1: Reduction-A filter counts `(k, l, m, n)` per network.
#[derive(Clone, Copy, Debug)]
pub struct ReductionAFilters {
    pub k: usize,
    pub l: usize,
    pub m: usize,
    pub n: usize,
}

pub const REDUCTION_A_V4: ReductionAFilters = ReductionAFilters {
    k: 192,
    l: 224,
    m: 256,
    n: 384,
};
pub const REDUCTION_A_RESNET_V1: ReductionAFilters = ReductionAFilters {
    k: 192,
    l: 192,
    m: 256,
    n: 384,
};
/// Inception-ResNet-v2, in the paper and in the released model (`Mixed_6a`) alike.
pub const REDUCTION_A_RESNET_V2: ReductionAFilters = ReductionAFilters {
    k: 256,
    l: 256,
    m: 384,
    n: 384,
};

/// Reduction-A: 35x35xC -> 17x17x(C + n + m). Branches: a stride-2 3x3 conv (n), a
/// 1x1 (k) - 3x3 (l) - stride-2 3x3 (m) chain, and a max pool.
#[derive(Module, Debug)]
pub struct ReductionA {
    pub branch0: BasicConv2d,
    pub branch1: Vec<BasicConv2d>,
    pub branch2: MaxPool2d,
}

impl ReductionA {
    /// `in_channels` is already scaled by the width multiplier; the filters are not.
    pub fn new(in_channels: usize, f: ReductionAFilters, w: Width, device: &Device) -> Self {
        let (k, l, m, n) = (w.c(f.k), w.c(f.l), w.c(f.m), w.c(f.n));
        Self {
            branch0: conv(in_channels, n, [3, 3], 2, [0, 0], device),
            branch1: vec![
                conv(in_channels, k, [1, 1], 1, [0, 0], device),
                conv(k, l, [3, 3], 1, [1, 1], device),
                conv(l, m, [3, 3], 2, [0, 0], device),
            ],
            branch2: max_pool_3x3_s2(),
        }
    }
}

impl Block for ReductionA {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        concat(&[&self.branch0, &self.branch1, &self.branch2], x)
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        concat_shape(&[&self.branch0, &self.branch1, &self.branch2], s, t)
    }
}

/// Filter counts of the residual networks' Reduction-B: three 1x1-then-stride-2 chains.
#[derive(Clone, Copy, Debug)]
pub struct ReductionBFilters {
    pub branch0: [usize; 2],
    pub branch1: [usize; 2],
    pub branch2: [usize; 3],
}

/// Figure 12 (Inception-ResNet-v1).
pub const REDUCTION_B_RESNET_V1: ReductionBFilters = ReductionBFilters {
    branch0: [256, 384],
    branch1: [256, 256],
    branch2: [256, 256, 256],
};
/// Figure 18 (Inception-ResNet-v2); the released model's `Mixed_7a` is the same.
pub const REDUCTION_B_RESNET_V2: ReductionBFilters = ReductionBFilters {
    branch0: [256, 384],
    branch1: [256, 288],
    branch2: [256, 288, 320],
};

/// Reduction-B of the residual networks: 17x17xC -> 8x8x(C + the three chains).
#[derive(Module, Debug)]
pub struct ResidualReductionB {
    pub branch0: Vec<BasicConv2d>,
    pub branch1: Vec<BasicConv2d>,
    pub branch2: Vec<BasicConv2d>,
    pub branch3: MaxPool2d,
}

impl ResidualReductionB {
    pub fn new(in_channels: usize, f: ReductionBFilters, w: Width, device: &Device) -> Self {
        let reduce = |[a, b]: [usize; 2]| {
            vec![
                conv(in_channels, w.c(a), [1, 1], 1, [0, 0], device),
                conv(w.c(a), w.c(b), [3, 3], 2, [0, 0], device),
            ]
        };
        let [a, b, c] = f.branch2.map(|n| w.c(n));
        Self {
            branch0: reduce(f.branch0),
            branch1: reduce(f.branch1),
            branch2: vec![
                conv(in_channels, a, [1, 1], 1, [0, 0], device),
                conv(a, b, [3, 3], 1, [1, 1], device),
                conv(b, c, [3, 3], 2, [0, 0], device),
            ],
            branch3: max_pool_3x3_s2(),
        }
    }
}

impl Block for ResidualReductionB {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        concat(&[&self.branch0, &self.branch1, &self.branch2, &self.branch3], x)
    }

    fn output_shape(&self, s: FeatureShape, t: &mut Cost) -> Result<FeatureShape, InputTooSmall> {
        concat_shape(&[&self.branch0, &self.branch1, &self.branch2, &self.branch3], s, t)
    }
}
