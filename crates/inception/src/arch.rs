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
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::InceptionResnetV2, Arch::InceptionV4];

    /// The name used on the command line and in weight files.
    pub fn name(self) -> &'static str {
        match self {
            Self::InceptionResnetV2 => "inception-resnet-v2",
            Self::InceptionV4 => "inception-v4",
        }
    }

    /// timm's model name.
    pub fn timm_name(self) -> &'static str {
        match self {
            Self::InceptionResnetV2 => "inception_resnet_v2",
            Self::InceptionV4 => "inception_v4",
        }
    }

    /// Name of the final Linear layer in timm's state dict.
    pub fn classifier_name(self) -> &'static str {
        match self {
            Self::InceptionResnetV2 => "classif",
            Self::InceptionV4 => "last_linear",
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
            Self::InceptionV4 => 0.875,
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
