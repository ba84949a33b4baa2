//! Per-epoch metrics: accuracy from logits, and `metrics.csv` in the run folder.

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    pub learning_rate: f64,
    pub train_loss: f64,
    pub train_top1: f64,
    pub val_loss: f64,
    pub val_top1: f64,
    pub val_top5: f64,
    pub images_per_second: f64,
    pub seconds: f64,
    /// The mean activation of the last layer before the average pooling, on the validation
    /// images (the evaluated weights'): the paper's symptom of a network that "died" is this
    /// layer producing only zeros (Section 3.3).
    #[serde(default)]
    pub val_feature_mean: f64,
    /// The fraction of that layer's channels that are zero everywhere on every validation image.
    #[serde(default)]
    pub val_dead_features: f64,
}

pub const CSV_HEADER: &str = "epoch,learning_rate,train_loss,train_top1,val_loss,val_top1,val_top5,images_per_second,seconds,val_feature_mean,val_dead_features";

impl EpochMetrics {
    pub fn csv_row(&self) -> String {
        format!(
            "{},{:.6e},{:.6},{:.6},{:.6},{:.6},{:.6},{:.3},{:.3},{:.6e},{:.6}",
            self.epoch,
            self.learning_rate,
            self.train_loss,
            self.train_top1,
            self.val_loss,
            self.val_top1,
            self.val_top5,
            self.images_per_second,
            self.seconds,
            self.val_feature_mean,
            self.val_dead_features
        )
    }
}

/// Rewrites `metrics.csv` from the whole history (atomically), so that a resumed run's
/// file never holds the rows of an epoch that was redone.
pub fn write_csv(history: &[EpochMetrics], path: &Path) -> std::io::Result<()> {
    let mut text = String::from(CSV_HEADER);
    text.push('\n');
    for row in history {
        text.push_str(&row.csv_row());
        text.push('\n');
    }
    crate::atomic_file::write_atomically(path, text.as_bytes())
}

/// Running sums over the batches of an epoch (kept in checkpoints for the epoch in progress).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Accumulator {
    pub loss_sum: f64,
    pub top1: usize,
    pub top5: usize,
    pub samples: usize,
    pub batches: usize,
}

impl Accumulator {
    /// Adds a batch: its mean loss and its logits `[n, classes]` (row-major).
    pub fn add(&mut self, loss: f64, logits: &[f32], labels: &[i64]) {
        let classes = logits.len() / labels.len().max(1);
        for (row, &label) in logits.chunks(classes).zip(labels) {
            let target = row[label as usize];
            // Rank of the true class: how many logits beat it (ties count against it).
            let rank = row.iter().filter(|&&v| v > target).count();
            self.top1 += usize::from(rank == 0);
            self.top5 += usize::from(rank < 5);
        }
        self.loss_sum += loss * labels.len() as f64;
        self.samples += labels.len();
        self.batches += 1;
    }

    pub fn loss(&self) -> f64 {
        self.loss_sum / self.samples.max(1) as f64
    }

    pub fn top1(&self) -> f64 {
        self.top1 as f64 / self.samples.max(1) as f64
    }

    pub fn top5(&self) -> f64 {
        self.top5 as f64 / self.samples.max(1) as f64
    }
}

/// The activity of the last layer before the average pooling, from the pooled features
/// `[n, channels]` of the batches of an evaluation. Each layer ends in a ReLU, so a pooled
/// value of zero is a channel that is zero at every position of that image.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Activity {
    sum: f64,
    values: usize,
    /// Per channel, the largest pooled value seen.
    channel_max: Vec<f32>,
}

impl Activity {
    pub fn add(&mut self, features: &[f32], channels: usize) {
        if self.channel_max.len() != channels {
            self.channel_max = vec![f32::NEG_INFINITY; channels];
        }
        for row in features.chunks(channels) {
            for (max, &v) in self.channel_max.iter_mut().zip(row) {
                *max = max.max(v);
            }
        }
        self.sum += features.iter().map(|&v| v as f64).sum::<f64>();
        self.values += features.len();
    }

    /// The mean activation (the mean of the pooled features is the mean over positions too).
    pub fn mean(&self) -> f64 {
        self.sum / self.values.max(1) as f64
    }

    /// The fraction of channels that were never above zero.
    pub fn dead_fraction(&self) -> f64 {
        let dead = self.channel_max.iter().filter(|&&m| m <= 0.0).count();
        dead as f64 / self.channel_max.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::Activity;

    #[test]
    fn activity_counts_channels_that_never_fire() {
        let mut activity = Activity::default();
        // Two images, three channels; the last channel is zero on both.
        activity.add(&[1.0, 0.0, 0.0, 3.0, 0.5, 0.0], 3);
        assert!((activity.mean() - 4.5 / 6.0).abs() < 1e-12);
        assert!((activity.dead_fraction() - 1.0 / 3.0).abs() < 1e-12);
        activity.add(&[0.0, 0.0, 2.0], 3);
        assert_eq!(activity.dead_fraction(), 0.0);
    }
}
