//! The optimisation recipe: RMSProp, the label-smoothed loss and dropout.
//!
//! RMSProp is TensorFlow's by default, as the paper trained ([`crate::rmsprop_tf`]), or
//! PyTorch's (`torch.optim.RMSprop`, burn's `RmsProp`): `v = a v + (1 - a) g^2`,
//! `b = m b + g / (sqrt(v) + eps)`, `p -= lr b`. Both add the L2 weight decay to the gradient.
//! The tests compare one step of PyTorch's and several of TensorFlow's with PyTorch and timm.

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::decay::{WeightDecay, WeightDecayConfig};
use burn::optim::{ModuleOptimizer, RmsPropConfig};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use inception::Network;

use crate::config::{OptimizerKind, TrainConfig};
use crate::rmsprop_tf::RmsPropTf;
use crate::rng::Rng;

pub fn optimizer(config: &TrainConfig) -> ModuleOptimizer {
    let clipping = config.grad_clip_norm.map(GradientClippingConfig::Norm);
    let weight_decay = (config.weight_decay > 0.0).then(|| WeightDecayConfig::new(config.weight_decay));
    match config.optimizer {
        OptimizerKind::RmspropTf => {
            let optim = ModuleOptimizer::from(RmsPropTf {
                decay: config.rmsprop_decay,
                momentum: config.rmsprop_momentum,
                epsilon: config.rmsprop_epsilon,
                weight_decay: weight_decay.as_ref().map(WeightDecay::new),
            });
            match clipping {
                Some(c) => optim.with_grad_clipping(c.init()),
                None => optim,
            }
        }
        OptimizerKind::RmspropTorch => RmsPropConfig::new()
            .with_alpha(config.rmsprop_decay)
            .with_momentum(config.rmsprop_momentum)
            .with_epsilon(config.rmsprop_epsilon)
            .with_centered(false)
            .with_weight_decay(weight_decay)
            .with_grad_clipping(clipping)
            .init(),
    }
}

/// Cross-entropy against smoothed targets, `(1 - e) one_hot + e / classes` (PyTorch's
/// `CrossEntropyLoss(label_smoothing=e)`), averaged over the batch.
pub fn smoothed_cross_entropy(logits: Tensor<2>, labels: &[i64], smoothing: f32) -> Tensor<1> {
    let [batch, classes] = logits.dims();
    let off = smoothing / classes as f32;
    let mut targets = vec![off; batch * classes];
    for (row, &label) in labels.iter().enumerate() {
        targets[row * classes + label as usize] += 1.0 - smoothing;
    }
    let targets = Tensor::<2>::from_data(TensorData::new(targets, [batch, classes]), &logits.device());
    (log_softmax(logits, 1) * targets).sum_dim(1).mean().neg()
}

/// An inverted-dropout mask `[batch, features]` (zeros, and `1 / (1 - p)` elsewhere),
/// drawn from the step's coordinates so that a resumed run drops the same units. Row-major
/// on the host: the replicas of a step take their rows of it.
pub fn dropout_mask(batch: usize, features: usize, p: f64, rng: &mut Rng) -> Vec<f32> {
    let keep = (1.0 / (1.0 - p)) as f32;
    (0..batch * features)
        .map(|_| if rng.chance(p) { 0.0 } else { keep })
        .collect()
}

/// Puts a network into training mode on an autodiff device (or back, with `valid`).
pub fn to_training(network: Network, device: &Device) -> Network {
    network.to_device(device).train()
}

/// A snapshot without autodiff, for evaluation and export.
pub fn to_valid(network: &Network) -> Network {
    network.valid()
}
