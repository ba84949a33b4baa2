//! The channel-width multiplier (`--width`) for small experiments.
//!
//! Every channel count in these networks (inputs aside) is a multiple of 16, so a
//! multiplier of `k / 16` scales all of them exactly and the concatenations still add up
//! to the residual widths. Other multipliers are refused rather than rounded.

use serde::{Deserialize, Serialize};

/// Read from files through [`Width::new`], so that a weights file cannot ask for a width
/// the networks cannot be built with (0: a panic) or one that would not fit in memory.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f32", into = "f32")]
pub struct Width(f32);

/// Widest multiplier accepted: parameters grow with its square (4x at 2).
pub const MAX_WIDTH: f32 = 2.0;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("width multiplier {0} is not a positive multiple of 1/16 up to {MAX_WIDTH} (e.g. 0.25, 0.5, 1)")]
pub struct InvalidWidth(pub f32);

impl TryFrom<f32> for Width {
    type Error = InvalidWidth;
    fn try_from(multiplier: f32) -> Result<Self, InvalidWidth> {
        Self::new(multiplier)
    }
}

impl From<Width> for f32 {
    fn from(width: Width) -> f32 {
        width.0
    }
}

impl Width {
    pub const FULL: Width = Width(1.0);

    pub fn new(multiplier: f32) -> Result<Self, InvalidWidth> {
        let sixteenths = multiplier * 16.0;
        if multiplier.is_finite()
            && (1.0..=16.0 * MAX_WIDTH).contains(&sixteenths)
            && (sixteenths - sixteenths.round()).abs() < 1e-4
        {
            Ok(Self(sixteenths.round() / 16.0))
        } else {
            Err(InvalidWidth(multiplier))
        }
    }

    pub fn multiplier(self) -> f32 {
        self.0
    }

    /// The scaled count of a paper channel count `n` (a multiple of 16).
    pub fn c(self, n: usize) -> usize {
        (n as f32 * self.0).round() as usize
    }
}

impl Default for Width {
    fn default() -> Self {
        Self::FULL
    }
}
