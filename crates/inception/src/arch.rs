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

/// What each architecture needs to be used like timm's model (timm's `default_cfgs`).
#[derive(Clone, Copy, Debug)]
pub struct ArchConfig {
    /// The name used on the command line and in weight files.
    pub name: &'static str,
    /// timm's model name, for the architectures timm has.
    pub timm_name: Option<&'static str>,
    /// Whether the network has residual connections (and so a residual scale).
    pub residual: bool,
    /// Name of the final Linear layer in the state dict (timm's, and the same TF-slim
    /// style name for the paper networks).
    pub classifier: &'static str,
    /// Default input size (square).
    pub input_size: usize,
    /// timm's `crop_pct` of the `tf_in1k` weights: the eval transform resizes the shorter
    /// side to `floor(input_size / crop_pct)` before the centre crop. The paper networks have
    /// no released weights; 0.875 is the common choice.
    pub crop_pct: f64,
}

/// One row per architecture, in [`Arch::ALL`]'s order.
const CONFIGS: [ArchConfig; 4] = [
    ArchConfig {
        name: "inception-resnet-v2",
        timm_name: Some("inception_resnet_v2"),
        residual: true,
        classifier: "classif",
        input_size: 299,
        crop_pct: 0.8975,
    },
    ArchConfig {
        name: "inception-v4",
        timm_name: Some("inception_v4"),
        residual: false,
        classifier: "last_linear",
        input_size: 299,
        crop_pct: 0.875,
    },
    ArchConfig {
        name: "inception-resnet-v1",
        timm_name: None,
        residual: true,
        classifier: "classif",
        input_size: 299,
        crop_pct: 0.875,
    },
    ArchConfig {
        name: "inception-resnet-v2-paper",
        timm_name: None,
        residual: true,
        classifier: "classif",
        input_size: 299,
        crop_pct: 0.875,
    },
];

impl Arch {
    pub const ALL: [Arch; 4] = [
        Arch::InceptionResnetV2,
        Arch::InceptionV4,
        Arch::InceptionResnetV1,
        Arch::InceptionResnetV2Paper,
    ];
    /// The architectures with released checkpoints that timm ports.
    pub const TIMM: [Arch; 2] = [Arch::InceptionResnetV2, Arch::InceptionV4];

    /// This architecture's row of the table.
    pub fn config(self) -> &'static ArchConfig {
        &CONFIGS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.config().name
    }

    pub fn timm_name(self) -> Option<&'static str> {
        self.config().timm_name
    }

    pub fn is_residual(self) -> bool {
        self.config().residual
    }

    pub fn classifier_name(self) -> &'static str {
        self.config().classifier
    }

    pub fn input_size(self) -> usize {
        self.config().input_size
    }

    pub fn crop_pct(self) -> f64 {
        self.config().crop_pct
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_row_per_architecture_in_order() {
        for (i, arch) in Arch::ALL.into_iter().enumerate() {
            assert_eq!(arch as usize, i);
            assert_eq!(arch.name().parse::<Arch>().unwrap(), arch, "{}", arch.name());
            assert_eq!(arch.is_residual(), arch != Arch::InceptionV4);
        }
        assert_eq!(Arch::InceptionV4.timm_name(), Some("inception_v4"));
        assert_eq!(Arch::InceptionResnetV2.crop_pct(), 0.8975);
    }
}
