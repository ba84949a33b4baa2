//! The architectures this crate builds, with what each needs to be used like timm's model:
//! the checkpoint's classifier name and timm's eval preprocessing.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    /// Released TF-slim Inception-ResNet-v2 (timm `inception_resnet_v2`).
    InceptionResnetV2,
    /// Inception-v4 (timm `inception_v4`).
    InceptionV4,
    /// Inception-ResNet-v1 as drawn in the paper (no released weights).
    InceptionResnetV1,
    /// Inception-ResNet-v2 as drawn in the paper (Inception-v4 stem, Figures 16-19).
    InceptionResnetV2Paper,
}

impl Arch {
    pub const ALL: [Arch; 4] = [
        Arch::InceptionResnetV2,
        Arch::InceptionV4,
        Arch::InceptionResnetV1,
        Arch::InceptionResnetV2Paper,
    ];
    /// The architectures with released checkpoints that timm ports.
    pub const TIMM: [Arch; 2] = [Arch::InceptionResnetV2, Arch::InceptionV4];

    /// The name used on the command line and in weight files.
    pub fn name(self) -> &'static str {
        match self {
            Self::InceptionResnetV2 => "inception-resnet-v2",
            Self::InceptionV4 => "inception-v4",
            Self::InceptionResnetV1 => "inception-resnet-v1",
            Self::InceptionResnetV2Paper => "inception-resnet-v2-paper",
        }
    }

    /// timm's model name, for the architectures timm has.
    pub fn timm_name(self) -> Option<&'static str> {
        match self {
            Self::InceptionResnetV2 => Some("inception_resnet_v2"),
            Self::InceptionV4 => Some("inception_v4"),
            Self::InceptionResnetV1 | Self::InceptionResnetV2Paper => None,
        }
    }

    /// Whether the network has residual connections (and so a residual scale).
    pub fn is_residual(self) -> bool {
        self != Self::InceptionV4
    }

    /// Name of the final Linear layer in the state dict (timm's, and the same TF-slim
    /// style name for the paper networks).
    pub fn classifier_name(self) -> &'static str {
        match self {
            Self::InceptionV4 => "last_linear",
            Self::InceptionResnetV2 | Self::InceptionResnetV1 | Self::InceptionResnetV2Paper => "classif",
        }
    }

    /// Default input size (square).
    pub fn input_size(self) -> usize {
        299
    }

    /// timm's `crop_pct` of the `tf_in1k` weights: the eval transform resizes the shorter
    /// side to `floor(input_size / crop_pct)` before the centre crop.
    pub fn crop_pct(self) -> f64 {
        match self {
            Self::InceptionResnetV2 => 0.8975,
            // The paper networks have no released weights; 0.875 is the common choice.
            Self::InceptionV4 | Self::InceptionResnetV1 | Self::InceptionResnetV2Paper => 0.875,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown architecture `{0}` (expected one of: {names})", names = Arch::ALL.map(Arch::name).join(", "))]
pub struct UnknownArch(pub String);

impl FromStr for Arch {
    type Err = UnknownArch;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normalized = s.trim().to_ascii_lowercase().replace('_', "-");
        Arch::ALL
            .into_iter()
            .find(|a| a.name() == normalized)
            .ok_or_else(|| UnknownArch(s.to_string()))
    }
}
