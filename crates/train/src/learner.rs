//! The network as burn-train trains it: a [`TrainStep`] (forward pass with dropout before
//! the classifier, the label-smoothed loss, backward pass), stepped by burn-train's
//! [`Learner`] with the recipe's RMSProp and burn's staircase learning-rate schedule; and the
//! evaluation pass ([`evaluate_batch`]).
//!
//! burn-train's `Learner` owns the optimizer. A checkpoint needs the optimizer's state
//! after a given step, so [`TrainStep::optimize`] leaves a copy of it in an
//! [`OptimizerSnapshot`] when the loop has asked for one (only then: holding the state
//! every step would keep a second copy of it alive).

use std::sync::{Arc, Mutex, MutexGuard};

use burn::lr_scheduler::module_lr_scheduler::{ModuleLearningRate, ModuleLrScheduler};
use burn::lr_scheduler::step::StepLrSchedulerConfig;
use burn::optim::{GradientsParams, ModuleOptimizer, OptimizerRecord};
use burn::prelude::*;
use burn::train::{ClassificationOutput, InferenceStep, Learner, TrainOutput, TrainStep};
use inception::Network;

use crate::config::TrainConfig;
use crate::recipe::{optimizer, smoothed_cross_entropy};

/// A batch for a training step, on the autodiff device.
pub struct TrainBatch {
    pub images: Tensor<4>,
    pub labels: Vec<i64>,
    /// Inverted-dropout mask `[batch, features]` for the pooled features, drawn by the loop
    /// from the step's coordinates (see [`crate::recipe::dropout_mask`]).
    pub dropout_mask: Option<Tensor<2>>,
    pub label_smoothing: f32,
    /// This batch's share of the step's images: 1 on one device, a shard's fraction when
    /// several replicas share the step ([`crate::replicas`]). The loss is weighted by it before
    /// the backward pass, so that the replicas' gradients sum to the whole batch's.
    pub share: f32,
}

/// A batch for evaluation (no dropout, no smoothing).
pub struct EvalBatch {
    pub images: Tensor<4>,
    pub labels: Vec<i64>,
}

/// The module that burn-train's `Learner` trains: the network and a slot for the
/// optimizer's state.
#[derive(Module, Debug)]
pub struct Trainee {
    pub network: Network,
    #[module(skip)]
    snapshot: OptimizerSnapshot,
}

impl Trainee {
    pub fn new(network: Network) -> Self {
        Self {
            network,
            snapshot: OptimizerSnapshot::default(),
        }
    }

    /// The slot shared by every copy of this trainee (the `Learner` keeps its own).
    pub fn snapshot(&self) -> OptimizerSnapshot {
        self.snapshot.clone()
    }
}

fn targets(labels: Vec<i64>, device: &Device) -> Tensor<1, Int> {
    let n = labels.len();
    Tensor::from_data(TensorData::new(labels, [n]), device)
}

impl TrainStep for Trainee {
    type Input = TrainBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: TrainBatch) -> TrainOutput<ClassificationOutput> {
        let device = batch.images.device();
        let mut features = self.network.pre_logits(batch.images);
        if let Some(mask) = batch.dropout_mask {
            features = features * mask;
        }
        let logits = self.network.classify_features(features);
        let loss = smoothed_cross_entropy(logits.clone(), &batch.labels, batch.label_smoothing);
        // A share of 1 (one device) multiplies exactly: the gradients are the loss's own.
        let gradients = (loss.clone() * batch.share).backward();
        let output = ClassificationOutput::new(loss, logits, targets(batch.labels, &device));
        TrainOutput::new(self, gradients, output)
    }

    fn optimize(self, optim: &mut ModuleOptimizer, learning_rate: ModuleLearningRate, grads: GradientsParams) -> Self {
        let snapshot = self.snapshot.clone();
        let trained = optim.step(learning_rate, self, grads);
        snapshot.fill(optim);
        trained
    }
}

/// An evaluation pass (no dropout, no smoothing): the batch's mean cross-entropy, the logits,
/// and the pooled features the classifier read.
pub fn evaluate_batch(network: &Network, images: Tensor<4>, labels: &[i64]) -> (Tensor<1>, Tensor<2>, Tensor<2>) {
    let features = network.pre_logits(images);
    let logits = network.classify_features(features.clone());
    let loss = smoothed_cross_entropy(logits.clone(), labels, 0.0);
    (loss, logits, features)
}

/// burn-train's `Learner` asks for one. The loop's evaluation calls [`evaluate_batch`] itself,
/// for the features too.
impl InferenceStep for Trainee {
    type Input = EvalBatch;
    type Output = ClassificationOutput;

    fn step(&self, batch: EvalBatch) -> ClassificationOutput {
        let device = batch.images.device();
        let (loss, logits, _) = evaluate_batch(&self.network, batch.images, &batch.labels);
        ClassificationOutput::new(loss, logits, targets(batch.labels, &device))
    }
}

/// The paper's schedule as burn's step scheduler: the learning rate is multiplied by
/// `lr_decay` every `lr_decay_epochs` epochs of `batches_per_epoch` steps, after
/// `steps_done` steps (a resumed run continues where it stopped).
pub fn schedule(config: &TrainConfig, batches_per_epoch: usize, steps_done: u64) -> anyhow::Result<ModuleLrScheduler> {
    let step_size = config.lr_decay_epochs * batches_per_epoch.max(1);
    let mut scheduler = StepLrSchedulerConfig::new(config.learning_rate, step_size)
        .with_gamma(config.lr_decay)
        .init()
        .map_err(|e| anyhow::anyhow!("learning-rate schedule: {e}"))?;
    for _ in 0..steps_done {
        scheduler.step();
    }
    Ok(scheduler)
}

/// A `Learner` for `network` (already on the autodiff device, in training mode) with the
/// recipe's optimizer, resumed from `optimizer_state` when given.
pub fn learner(
    network: Network,
    config: &TrainConfig,
    optimizer_state: Option<OptimizerRecord>,
    schedule: ModuleLrScheduler,
) -> Learner<Trainee> {
    let mut optim = optimizer(config);
    if let Some(record) = optimizer_state {
        optim = optim.load_record(record);
    }
    Learner::new(Trainee::new(network), optim, schedule)
}

/// One training step through the learner: the learning rate's step, forward and backward
/// passes, then the optimizer's step. Returns the step's loss and logits (on the device,
/// detached from the graph).
pub fn train_step(learner: &mut Learner<Trainee>, batch: TrainBatch) -> ClassificationOutput {
    learner.lr_step();
    let TrainOutput { grads, item } = learner.train_step(batch);
    learner.optimizer_step(grads);
    ClassificationOutput::new(item.loss.detach(), item.output.detach(), item.targets)
}

/// A copy of the optimizer's state, taken after the step that follows a
/// [`request`](Self::request).
#[derive(Clone, Default)]
pub struct OptimizerSnapshot(Arc<Mutex<SnapshotSlot>>);

#[derive(Default)]
struct SnapshotSlot {
    requested: bool,
    record: Option<OptimizerRecord>,
}

impl std::fmt::Debug for OptimizerSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slot = self.lock();
        f.debug_struct("OptimizerSnapshot")
            .field("requested", &slot.requested)
            .field("held", &slot.record.is_some())
            .finish()
    }
}

impl OptimizerSnapshot {
    fn lock(&self) -> MutexGuard<'_, SnapshotSlot> {
        // The slot holds no invariant that a panic elsewhere could break.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next optimizer step leaves a copy of the state it ends with.
    pub fn request(&self) {
        self.lock().requested = true;
    }

    /// The copy taken since the last request, if a step has run since.
    pub fn take(&self) -> Option<OptimizerRecord> {
        self.lock().record.take()
    }

    fn fill(&self, optim: &ModuleOptimizer) {
        let mut slot = self.lock();
        if slot.requested {
            slot.requested = false;
            slot.record = Some(optim.to_record());
        }
    }
}
