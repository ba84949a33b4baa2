//! Data parallelism over several devices of one machine: burn-train's multi-device strategy
//! (`MultiDeviceOptim::OptimMainDevice`), run inside this crate's own loop so that the loop
//! keeps its checkpoints and its exact resume.
//!
//! Each step splits the batch into one contiguous shard per device. A replica of the network
//! on each device runs the forward and backward passes of its shard, on a thread of its own.
//! The gradients are brought to the first device and summed there; each replica's loss is
//! weighted by its share of the batch, so the sum is the whole batch's mean gradient. One
//! optimizer step on the first device follows, and the next step starts from its weights.
//!
//! BatchNorm:
//! - The batch statistics that normalise a shard are that shard's, as in PyTorch's DDP
//!   without `SyncBatchNorm`.
//! - The running statistics are the mean of the replicas' updates. burn's `RunningState`
//!   keeps one update per thread and averages them on the next read.
//!
//! The threads live as long as the [`Replicas`]. burn's `RunningState` keys its updates by
//! thread, so a new thread every step would never see its own previous update.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use anyhow::{Context, Result, bail};
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;
use burn::train::{Learner, TrainOutput, TrainStep};

use crate::learner::{TrainBatch, Trainee, train_step};

/// One step's batch, on the host: the loop's loader and dropout draw make it, the replicas
/// split it.
pub struct HostBatch {
    /// `[n, 3, size, size]`, row-major.
    pub images: Vec<f32>,
    pub size: usize,
    pub labels: Vec<i64>,
    /// `[n, features]`: the inverted-dropout mask of the pooled features, if any.
    pub dropout_mask: Option<Vec<f32>>,
    pub label_smoothing: f32,
}

impl HostBatch {
    fn len(&self) -> usize {
        self.labels.len()
    }

    /// Rows `start..end` as a training batch on `device`, its loss weighted by `share`.
    fn shard(&self, start: usize, end: usize, share: f32, device: &Device) -> TrainBatch {
        let n = end - start;
        let pixels = 3 * self.size * self.size;
        let images = self.images[start * pixels..end * pixels].to_vec();
        let dropout_mask = self.dropout_mask.as_ref().map(|mask| {
            let features = mask.len() / self.len();
            let rows = mask[start * features..end * features].to_vec();
            Tensor::from_data(TensorData::new(rows, [n, features]), device)
        });
        TrainBatch {
            images: Tensor::from_data(TensorData::new(images, [n, 3, self.size, self.size]), device),
            labels: self.labels[start..end].to_vec(),
            dropout_mask,
            label_smoothing: self.label_smoothing,
            share,
        }
    }
}

/// What a step leaves on the host: the batch's mean loss and its logits `[n, classes]`.
pub struct StepOutput {
    pub loss: f64,
    pub logits: Vec<f32>,
}

/// The devices a run trains on: one (every step on the caller's thread), or several (a
/// replica and a thread per device).
pub struct Replicas {
    /// The first device: the model, the optimizer and the gradients' sum live there.
    main: Device,
    workers: Vec<Worker>,
}

impl Replicas {
    /// `devices` are plain devices (autodiff is added here); the first holds the model.
    pub fn new(devices: &[Device]) -> Result<Self> {
        let Some(main) = devices.first() else {
            bail!("no device to train on");
        };
        for (i, device) in devices.iter().enumerate() {
            if devices[..i].contains(device) {
                bail!("device {device:?} is listed twice: each replica needs a device of its own");
            }
        }
        let workers = if devices.len() > 1 {
            devices
                .iter()
                .enumerate()
                .map(|(index, device)| Worker::start(index, device.clone().autodiff()))
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        Ok(Self {
            main: main.clone().autodiff(),
            workers,
        })
    }

    /// How many devices share each step.
    pub fn count(&self) -> usize {
        self.workers.len().max(1)
    }

    /// Whether a batch of `n` images can be shared: every device needs one image at least.
    pub fn check_batch_size(&self, n: usize) -> Result<()> {
        let count = self.count();
        if n < count {
            bail!("a batch of {n} images cannot be shared by {count} devices: use a batch of at least {count}");
        }
        Ok(())
    }

    /// The autodiff device of the model and the optimizer.
    pub fn main_device(&self) -> &Device {
        &self.main
    }

    /// One step: the learning rate's step, every shard's forward and backward passes, and
    /// the optimizer's step on the summed gradients.
    pub fn step(&self, learner: &mut Learner<Trainee>, batch: HostBatch) -> Result<StepOutput> {
        let n = batch.len();
        if self.workers.is_empty() {
            let output = train_step(learner, batch.shard(0, n, 1.0, &self.main));
            return Ok(StepOutput {
                loss: read_f32(output.loss)?[0] as f64,
                logits: read_f32(output.output)?,
            });
        }
        self.check_batch_size(n)?;
        let count = self.workers.len();
        learner.lr_step();
        let model = learner.model();
        // Contiguous shards whose sizes differ by one at most, the larger ones first.
        let mut start = 0;
        for (index, worker) in self.workers.iter().enumerate() {
            let end = start + n / count + usize::from(index < n % count);
            let share = (end - start) as f32 / n as f32;
            let shard = batch.shard(start, end, share, &worker.device);
            worker
                .jobs
                .send(Job {
                    model: model.clone(),
                    batch: shard,
                })
                .ok()
                .with_context(|| format!("the replica on device {index} has stopped"))?;
            start = end;
        }
        // Every replica's answer first: one that failed must not leave another's answer
        // queued for the next step.
        let answers: Vec<Result<Done>> = self
            .workers
            .iter()
            .enumerate()
            .map(|(index, worker)| {
                let answer = worker.results.recv().ok();
                answer
                    .with_context(|| format!("the replica on device {index} stopped during the step"))?
                    .with_context(|| format!("the replica on device {index}"))
            })
            .collect();
        let mut sum = GradientsAccumulator::new();
        let mut loss = 0.0;
        let mut logits = Vec::with_capacity(n * model.network.num_classes());
        // In device order, so that the sum of the gradients is the same on every run.
        for answer in answers {
            let done = answer?;
            sum.accumulate(&model, done.grads.to_device(&self.main, &model));
            loss += done.share as f64 * done.loss;
            logits.extend(done.logits);
        }
        learner.optimizer_step(sum.grads());
        Ok(StepOutput { loss, logits })
    }
}

struct Job {
    model: Trainee,
    batch: TrainBatch,
}

struct Done {
    grads: GradientsParams,
    share: f32,
    loss: f64,
    logits: Vec<f32>,
}

struct Worker {
    device: Device,
    jobs: Sender<Job>,
    results: Receiver<Result<Done>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    fn start(index: usize, device: Device) -> Result<Self> {
        let (jobs, job_queue) = channel::<Job>();
        let (result_sender, results) = channel();
        let replica_device = device.clone();
        let thread = std::thread::Builder::new()
            .name(format!("replica-{index}"))
            .spawn(move || {
                for job in job_queue {
                    let done =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| replica_step(job, &replica_device)))
                            .unwrap_or_else(|panic| Err(anyhow::anyhow!("panicked: {}", panic_message(&panic))));
                    if result_sender.send(done).is_err() {
                        break;
                    }
                }
            })
            .context("starting a replica's thread")?;
        Ok(Self {
            device,
            jobs,
            results,
            thread: Some(thread),
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop.
        let (closed, _) = channel();
        drop(std::mem::replace(&mut self.jobs, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A shard's forward and backward passes on a replica of the model on `device`.
fn replica_step(job: Job, device: &Device) -> Result<Done> {
    let replica = job.model.fork(device);
    let share = job.batch.share;
    let TrainOutput { grads, item } = TrainStep::step(&replica, job.batch);
    Ok(Done {
        grads,
        share,
        loss: read_f32(item.loss)?[0] as f64,
        logits: read_f32(item.output)?,
    })
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

pub(crate) fn read_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading a tensor back: {e:?}"))
}
