//! Everything a run needs, with the paper's recipe as the default. Saved as `config.json`
//! in the run folder; a partial JSON file (`--config`) overrides the defaults and flags
//! override the file.

use std::path::PathBuf;

use inception::Arch;
use inception::model::{ResidualScale, Width};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub arch: Arch,
    /// Channel-width multiplier (a multiple of 1/16).
    pub width: f32,
    pub residual_scale: ResidualScale,
    /// Side of the square training input.
    pub image_size: usize,
    pub batch_size: usize,
    pub epochs: usize,
    /// Stop each epoch after this many steps (quick experiments and tests).
    pub max_steps_per_epoch: Option<usize>,
    pub seed: u64,

    /// Which RMSProp: TensorFlow's (the paper's) or PyTorch's. A run folder written before
    /// this field existed used PyTorch's, so that is what a missing field means.
    #[serde(default = "OptimizerKind::before_the_choice")]
    pub optimizer: OptimizerKind,
    pub learning_rate: f64,
    /// The learning rate is multiplied by `lr_decay` every `lr_decay_epochs` epochs.
    pub lr_decay: f64,
    pub lr_decay_epochs: usize,
    pub rmsprop_decay: f32,
    pub rmsprop_momentum: f32,
    pub rmsprop_epsilon: f32,
    pub weight_decay: f32,
    /// Clip each gradient tensor to this L2 norm (`None`: no clipping, as in the paper).
    pub grad_clip_norm: Option<f32>,
    pub label_smoothing: f32,
    /// Drop probability before the classifier (the paper keeps 0.8).
    pub dropout: f64,
    /// Decay of the weights' exponential moving average (TF's, with its warm-up
    /// `min(decay, (1 + step) / (10 + step))`); `None` evaluates the raw weights.
    pub ema_decay: Option<f64>,

    /// Random-resized crop: the crop covers this range of the image's area...
    pub crop_area: (f64, f64),
    /// ...with an aspect ratio in this range.
    pub crop_ratio: (f64, f64),
    pub horizontal_flip: bool,
    /// Colour jitter strength (brightness, contrast and saturation factors in 1 +- x).
    pub color_jitter: f32,

    /// Fraction of a folder held out for validation when it has no `train/` and `val/`.
    pub val_fraction: f64,
    /// Threads that decode and augment images.
    pub workers: usize,
    /// Weights to start from (fine-tuning): a timm checkpoint or a `.bpk`. The classifier
    /// is replaced when the classes differ.
    pub init_weights: Option<PathBuf>,
}

/// The two formulations of RMSProp (see `recipe.rs` and `rmsprop_tf.rs`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// TensorFlow's, as the paper ran it (timm's `RMSpropTF`): epsilon inside the square
    /// root, the mean square starting at 1, the learning rate inside the momentum.
    RmspropTf,
    /// PyTorch's `torch.optim.RMSprop` (burn's `RmsProp`).
    RmspropTorch,
}

impl OptimizerKind {
    pub const NAMES: [&str; 2] = ["rmsprop-tf", "rmsprop-torch"];

    fn before_the_choice() -> Self {
        Self::RmspropTorch
    }
}

impl std::str::FromStr for OptimizerKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rmsprop-tf" => Ok(Self::RmspropTf),
            "rmsprop-torch" => Ok(Self::RmspropTorch),
            _ => Err(format!(
                "unknown optimizer `{s}` (expected {})",
                Self::NAMES.join(" or ")
            )),
        }
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            arch: Arch::InceptionResnetV2,
            width: 1.0,
            residual_scale: ResidualScale::ArchDefault,
            image_size: 299,
            batch_size: 32,
            epochs: 10,
            max_steps_per_epoch: None,
            seed: 0,
            optimizer: OptimizerKind::RmspropTf,
            learning_rate: 0.045,
            lr_decay: 0.94,
            lr_decay_epochs: 2,
            rmsprop_decay: 0.9,
            rmsprop_momentum: 0.9,
            rmsprop_epsilon: 1.0,
            weight_decay: 4e-5,
            grad_clip_norm: None,
            label_smoothing: 0.1,
            dropout: 0.2,
            ema_decay: Some(0.9999),
            crop_area: (0.08, 1.0),
            crop_ratio: (3.0 / 4.0, 4.0 / 3.0),
            horizontal_flip: true,
            color_jitter: 0.4,
            val_fraction: 0.1,
            // The loader keeps the device fed with one decoding thread per core (the step
            // itself runs on the device or, on a CPU backend, on burn's own threads).
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            init_weights: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Width(#[from] inception::model::width::InvalidWidth),
    #[error(transparent)]
    Network(#[from] inception::model::ConfigError),
}

impl TrainConfig {
    /// A recipe file a user wrote (`train --config`): what it leaves out takes today's
    /// defaults, the optimizer included. (Read as a checkpoint's `config.json` is, a missing
    /// optimizer would mean PyTorch's, the one of runs older than the choice.)
    pub fn from_user_json(text: &str) -> serde_json::Result<Self> {
        let mut value: serde_json::Value = serde_json::from_str(text)?;
        if let Some(fields) = value.as_object_mut()
            && !fields.contains_key("optimizer")
        {
            fields.insert("optimizer".into(), serde_json::to_value(Self::default().optimizer)?);
        }
        serde_json::from_value(value)
    }

    pub fn width(&self) -> Result<Width, ConfigError> {
        Ok(Width::new(self.width)?)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.to_string()));
        self.width()?;
        if self.batch_size == 0 {
            return invalid("batch size must be at least 1");
        }
        if self.epochs == 0 {
            return invalid("epochs must be at least 1");
        }
        if self.image_size < 75 {
            return invalid("image size must be at least 75 (the networks' smallest input)");
        }
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(self.learning_rate) || !positive(self.lr_decay) || self.lr_decay_epochs == 0 {
            return invalid("learning rate and its decay must be positive, decay epochs at least 1");
        }
        if !(0.0..1.0).contains(&self.dropout) || !(0.0..1.0).contains(&(self.label_smoothing as f64)) {
            return invalid("dropout and label smoothing must be in [0, 1)");
        }
        if self.ema_decay.is_some_and(|d| !(0.0..1.0).contains(&d)) {
            return invalid("EMA decay must be in [0, 1)");
        }
        let (a0, a1) = self.crop_area;
        let (r0, r1) = self.crop_ratio;
        if !(0.0 < a0 && a0 <= a1 && a1 <= 1.0 && 0.0 < r0 && r0 <= r1) {
            return invalid("crop area must satisfy 0 < min <= max <= 1, and the ratio 0 < min <= max");
        }
        if !(0.0..1.0).contains(&self.val_fraction) {
            return invalid("validation fraction must be in [0, 1)");
        }
        if self.workers == 0 {
            return invalid("at least one data worker is needed");
        }
        Ok(())
    }

    /// Learning rate during `epoch` (0-based): staircase decay.
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        self.learning_rate * self.lr_decay.powi((epoch / self.lr_decay_epochs) as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_optimizer_is_tensorflows_and_an_older_run_keeps_pytorchs() {
        assert_eq!(TrainConfig::default().optimizer, OptimizerKind::RmspropTf);
        // A config.json written before the field existed: that run used PyTorch's RMSProp.
        let old: TrainConfig = serde_json::from_str(r#"{"epochs": 3}"#).unwrap();
        assert_eq!(old.optimizer, OptimizerKind::RmspropTorch);
        // A recipe file a user writes for a new run: today's default.
        let user = TrainConfig::from_user_json(r#"{"epochs": 3}"#).unwrap();
        assert_eq!((user.optimizer, user.epochs), (OptimizerKind::RmspropTf, 3));
        let chosen = TrainConfig::from_user_json(r#"{"optimizer": "rmsprop-torch"}"#).unwrap();
        assert_eq!(chosen.optimizer, OptimizerKind::RmspropTorch);
        assert!(
            TrainConfig::from_user_json(r#"{"epoch": 3}"#).is_err(),
            "a misspelt field is refused"
        );
        let saved = serde_json::to_string(&TrainConfig::default()).unwrap();
        assert!(saved.contains(r#""optimizer":"rmsprop-tf""#), "{saved}");
        let back: TrainConfig = serde_json::from_str(&saved).unwrap();
        assert_eq!(back, TrainConfig::default());
        for name in OptimizerKind::NAMES {
            let kind: OptimizerKind = name.parse().unwrap();
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
        }
        assert!(
            "adam"
                .parse::<OptimizerKind>()
                .unwrap_err()
                .contains("rmsprop-tf or rmsprop-torch")
        );
    }
}
