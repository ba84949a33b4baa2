//! The body that the three Inception-ResNets share (paper Figure 15): A blocks on the
//! 35x35 grid, Reduction-A, B blocks on 17x17, Reduction-B, C blocks on 8x8. Each network
//! is one row of widths and repeats ([`BodySpec`]); only their stems and heads differ.

use burn::prelude::*;

use super::block::{Block, NamedBlock, named};
use super::reduction::{ReductionA, ReductionAFilters, ReductionBFilters, ResidualReductionB};
use super::residual::{
    BLOCK8_SCALE, BLOCK17_SCALE, BLOCK35_SCALE, Block8, Block17, Block35, Block35Widths, FactorisedWidths,
    ResidualScale,
};
use super::width::Width;

/// One row of the table of residual networks (paper channel counts, before `--width`).
#[derive(Clone, Copy, Debug)]
pub struct BodySpec {
    pub block_a: Block35Widths,
    pub repeats_a: usize,
    pub reduction_a: ReductionAFilters,
    pub block_b: FactorisedWidths,
    pub repeats_b: usize,
    pub reduction_b: ReductionBFilters,
    pub block_c: FactorisedWidths,
    pub repeats_c: usize,
}

/// The built body, to be moved into a network's checkpoint-named fields.
pub struct Body {
    pub repeat: Vec<Block35>,
    pub mixed_6a: ReductionA,
    pub repeat_1: Vec<Block17>,
    pub mixed_7a: ResidualReductionB,
    pub repeat_2: Vec<Block8>,
}

impl BodySpec {
    /// Each reduction reads the residual width of the blocks before it, so a row whose
    /// reductions do not produce the next blocks' width fails at the first forward pass
    /// (the shape tests run every network).
    pub fn build(&self, scale: ResidualScale, w: Width, device: &Device) -> Body {
        Body {
            repeat: (0..self.repeats_a)
                .map(|_| Block35::new(self.block_a, scale.resolve(BLOCK35_SCALE), w, device))
                .collect(),
            mixed_6a: ReductionA::new(w.c(self.block_a.channels), self.reduction_a, w, device),
            repeat_1: (0..self.repeats_b)
                .map(|_| Block17::new(self.block_b, scale.resolve(BLOCK17_SCALE), w, device))
                .collect(),
            mixed_7a: ResidualReductionB::new(w.c(self.block_b.channels), self.reduction_b, w, device),
            repeat_2: (0..self.repeats_c)
                .map(|_| Block8::new(self.block_c, scale.resolve(BLOCK8_SCALE), false, w, device))
                .collect(),
        }
    }
}

/// The body's blocks, named as in TF-slim's Inception-ResNet-v2.
pub fn body_blocks<'a>(
    repeat: &'a dyn Block,
    mixed_6a: &'a dyn Block,
    repeat_1: &'a dyn Block,
    mixed_7a: &'a dyn Block,
    repeat_2: &'a dyn Block,
) -> [NamedBlock<'a>; 5] {
    [
        named("repeat", repeat),
        named("mixed_6a", mixed_6a),
        named("repeat_1", repeat_1),
        named("mixed_7a", mixed_7a),
        named("repeat_2", repeat_2),
    ]
}
