//! The training loop: epochs of RMSProp steps on augmented batches, EMA updates, an
//! evaluation of the averaged weights on the held-out images after every epoch, and a
//! checkpoint, metrics, curves and exported weights written after every epoch.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::nn::LinearConfig;
use burn::prelude::*;
use burn::train::Learner;
use inception::weights::{WeightsMeta, load_weights_file, save_burnpack};
use inception::{Network, NetworkConfig, Preprocess};
use indicatif::{ProgressBar, ProgressStyle};

use crate::atomic_file::write_atomically;
use crate::checkpoint::{self, TrainState};
use crate::config::TrainConfig;
use crate::data::{BatchLoader, Sample, View, scan};
use crate::ema::Ema;
use crate::learner::{OptimizerSnapshot, Trainee, evaluate_batch, learner, schedule};
use crate::metrics::{Accumulator, Activity, EpochMetrics, write_csv};
use crate::plot::curves_svg;
use crate::recipe::{dropout_mask, to_training, to_valid};
use crate::replicas::{HostBatch, Replicas, StepOutput, read_f32};
use crate::rng::Rng;
use crate::tensorboard::Board;

/// Set (by a Ctrl-C handler) to stop after the current step with a checkpoint.
pub type Interrupt = Arc<AtomicBool>;

#[derive(Debug)]
pub struct RunSummary {
    pub history: Vec<EpochMetrics>,
    pub interrupted: bool,
    /// The loss became NaN or infinite; training stopped there without saving that step.
    pub diverged: bool,
    /// Exported weights (the EMA network when enabled), loadable by the CLI and the page.
    pub exported: Option<PathBuf>,
    /// What the exported file says about itself (architecture, classes, preprocessing).
    pub meta: WeightsMeta,
    pub classes: Vec<String>,
}

/// A new run, or the continuation of the one in the run folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    Fresh,
    /// Continue from the checkpoint with the run's own recipe; `epochs` (when given)
    /// changes how many epochs the run has in all.
    Resume {
        epochs: Option<usize>,
    },
}

pub struct TrainRequest<'a> {
    /// The recipe of a fresh run (a resumed run keeps the one in its checkpoint).
    pub config: TrainConfig,
    pub data: &'a Path,
    pub run: &'a Path,
    pub start: Start,
    /// The plain devices (autodiff is added here). The first holds the model, the optimizer and
    /// the evaluation; with several, each step is shared by a replica per device
    /// ([`crate::replicas`]).
    pub devices: Vec<Device>,
    pub interrupt: Interrupt,
    pub progress: bool,
    /// A checkpoint every this many steps inside an epoch, besides the one at its end: a
    /// killed run loses at most that many steps. `None`: at the end of epochs only.
    pub checkpoint_every: Option<u64>,
}

/// The name of the weights a run exports.
pub const EXPORT_NAME: &str = "model.bpk";

/// Runs (or continues) a training run: set up, then one epoch after another, each ended by
/// an evaluation, the run's files and a checkpoint.
pub fn train(request: TrainRequest<'_>) -> Result<RunSummary> {
    let mut run = Run::set_up(request)?;
    while run.state.epoch < run.config.epochs {
        match run.epoch()? {
            Epoch::Finished(epoch) => run.end_epoch(epoch)?,
            Epoch::Interrupted => return Ok(run.summary(Ending::Interrupted)),
            Epoch::Diverged => return Ok(run.summary(Ending::Diverged)),
        }
    }
    Ok(run.summary(Ending::Completed))
}

/// A run in progress: its recipe, its data, the learner and what surrounds it.
struct Run<'a> {
    folder: &'a Path,
    config: TrainConfig,
    device: Device,
    replicas: Replicas,
    interrupt: Interrupt,
    progress: bool,
    checkpoint_every: Option<u64>,
    state: TrainState,
    learner: Learner<Trainee>,
    optimizer_snapshot: OptimizerSnapshot,
    ema: Option<Ema>,
    board: Board,
    meta: WeightsMeta,
    classes: Vec<String>,
    train_samples: Arc<Vec<Sample>>,
    val_samples: Arc<Vec<Sample>>,
    batches_per_epoch: usize,
    num_features: usize,
    exported: Option<PathBuf>,
}

/// How an epoch's loop of steps ended.
enum Epoch {
    /// Every step ran: the training figures, for [`Run::end_epoch`].
    Finished(EpochTraining),
    /// Ctrl-C: a checkpoint was written after the current step.
    Interrupted,
    /// The loss stopped being finite; nothing of that step was saved.
    Diverged,
}

struct EpochTraining {
    learning_rate: f64,
    images: usize,
    seconds: f64,
}

enum Ending {
    Completed,
    Interrupted,
    Diverged,
}

impl<'a> Run<'a> {
    /// A fresh run's network and state, or the checkpoint's; the data scanned and split;
    /// the learner, the EMA and the logs ready.
    fn set_up(request: TrainRequest<'a>) -> Result<Self> {
        let TrainRequest {
            config,
            data,
            run: folder,
            start,
            devices,
            interrupt,
            progress,
            checkpoint_every,
        } = request;
        std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
        let replicas = Replicas::new(&devices)?;
        let ad_device = replicas.main_device().clone();
        let device = devices[0].clone();

        let loaded = if let Start::Resume { .. } = start {
            let loaded = checkpoint::load(folder, &device)?;
            Some(loaded.with_context(|| format!("{} has no checkpoint to resume from", folder.display()))?)
        } else {
            if checkpoint::checkpoint_dir(folder).exists() {
                bail!(
                    "{} already holds a training run: continue it with --resume, or choose another --out",
                    folder.display()
                );
            }
            None
        };
        let config = match (&loaded, start) {
            (Some(l), Start::Resume { epochs }) => TrainConfig {
                epochs: epochs.unwrap_or(l.state.config.epochs),
                ..l.state.config.clone()
            },
            _ => config,
        };
        config.validate()?;
        let network_config = NetworkConfig::new(config.arch)
            .with_width(config.width()?)
            .with_residual_scale(config.residual_scale);
        network_config.validate()?;

        let dataset = scan(data, config.val_fraction, config.seed)?;
        if !dataset.skipped.is_empty() {
            eprintln!(
                "warning: skipped {} file(s) that are not readable images, e.g. {} ({})",
                dataset.skipped.len(),
                dataset.skipped[0].0.display(),
                dataset.skipped[0].1
            );
        }
        replicas.check_batch_size(config.batch_size)?;
        if dataset.train.len() < config.batch_size {
            bail!(
                "{} training images, fewer than one batch of {}: lower --batch-size or add images",
                dataset.train.len(),
                config.batch_size
            );
        }
        let classes = dataset.classes.clone();

        let (model, state, optimizer_record, ema_network) = match loaded {
            Some(l) => {
                if l.state.classes != classes {
                    bail!(
                        "the data folder's classes ({}) differ from the run's ({})",
                        classes.join(", "),
                        l.state.classes.join(", ")
                    );
                }
                let state = TrainState {
                    config: config.clone(),
                    ..l.state
                };
                (to_training(l.model, &ad_device), state, Some(l.optimizer), l.ema)
            }
            None => {
                let model = initial_network(&config, &network_config, classes.len(), &device)?;
                (
                    to_training(model, &ad_device),
                    TrainState::new(&config, &classes),
                    None,
                    None,
                )
            }
        };
        let ema = config.ema_decay.map(|decay| {
            let start = ema_network.unwrap_or_else(|| to_valid(&model));
            Ema::new(start, decay, state.ema_updates)
        });
        let num_features = model.num_features();
        let batches_per_epoch = BatchLoader::epoch_len(dataset.train.len(), &config, View::Train);
        // burn-train's Learner runs every step: the schedule's step, the forward and backward
        // passes (`TrainStep`), and the optimizer's step.
        let learner = learner(
            model,
            &config,
            optimizer_record,
            schedule(&config, batches_per_epoch, state.global_step)?,
        );
        let optimizer_snapshot = learner.model().snapshot();
        write_atomically(&folder.join("config.json"), &serde_json::to_vec_pretty(&config)?)?;
        // A resumed run's first logged step is the one after its checkpoint's.
        let board = Board::open(folder, (state.global_step > 0).then_some(state.global_step + 1));
        let meta = WeightsMeta {
            labels: Some(classes.clone()),
            preprocess: Preprocess::timm_eval(config.arch).with_input_size(config.image_size),
            width: config.width()?,
            residual_scale: config.residual_scale,
            ..WeightsMeta::new(config.arch, classes.len(), format!("trained: {}", folder.display()))
        };
        Ok(Self {
            folder,
            config,
            device,
            replicas,
            interrupt,
            progress,
            checkpoint_every,
            state,
            learner,
            optimizer_snapshot,
            ema,
            board,
            meta,
            classes,
            train_samples: Arc::new(dataset.train),
            val_samples: Arc::new(dataset.val),
            batches_per_epoch,
            num_features,
            exported: None,
        })
    }

    /// The current epoch's steps, from where the state says it stands.
    fn epoch(&mut self) -> Result<Epoch> {
        let config = &self.config;
        let epoch = self.state.epoch;
        let learning_rate = config.learning_rate_at(epoch);
        let loader = BatchLoader::new(self.train_samples.clone(), config, View::Train, epoch, self.state.batch);
        let bar = progress_bar(
            self.progress,
            loader.len() as u64,
            format!("epoch {}/{}", epoch + 1, config.epochs),
        );
        bar.set_position(self.state.batch as u64);
        let started = Instant::now();
        let mut images = 0usize;
        for batch in loader {
            let labels = batch.labels;
            let n = labels.len();
            let dropout_mask = (config.dropout > 0.0).then(|| {
                let mut rng = Rng::at(&[config.seed, 0xD80, self.state.global_step]);
                dropout_mask(n, self.num_features, config.dropout, &mut rng)
            });
            // A checkpoint follows this step at the end of the epoch, every
            // `checkpoint_every` steps, and on Ctrl-C: the optimizer's state after it is
            // needed then.
            let stop = self.interrupt.load(Ordering::SeqCst);
            let end_of_epoch = self.state.batch + 1 == self.batches_per_epoch;
            let periodic = self
                .checkpoint_every
                .is_some_and(|n| n > 0 && (self.state.global_step + 1).is_multiple_of(n));
            if stop || end_of_epoch || periodic {
                self.optimizer_snapshot.request();
            }
            let StepOutput {
                loss: loss_value,
                logits: logits_host,
            } = self.replicas.step(
                &mut self.learner,
                HostBatch {
                    images: batch.images,
                    size: config.image_size,
                    labels: labels.clone(),
                    dropout_mask,
                    label_smoothing: config.label_smoothing,
                },
            )?;
            if let Some(ema) = self.ema.as_mut() {
                ema.update(to_valid(&self.learner.model().network));
                self.state.ema_updates = ema.updates;
            }
            self.state.epoch_train.add(loss_value, &logits_host, &labels);
            self.state.global_step += 1;
            self.state.batch += 1;
            images += n;
            let rate = images as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "loss {:.4}  top-1 {:.1}%  {:.1} img/s",
                self.state.epoch_train.loss(),
                100.0 * self.state.epoch_train.top1(),
                rate
            ));
            bar.inc(1);
            self.board.log(
                self.state.global_step,
                &[("train/loss", loss_value), ("train/learning_rate", learning_rate)],
            );
            if !loss_value.is_finite() {
                // Nothing from this step on is saved: the last checkpoint and export stay
                // the last good ones.
                bar.abandon_with_message("the loss is no longer finite");
                eprintln!(
                    "the loss is no longer finite (step {}): training stopped; the last checkpoint is kept",
                    self.state.global_step
                );
                return Ok(Epoch::Diverged);
            }
            if stop {
                bar.abandon_with_message("interrupted: checkpoint saved");
                self.save_checkpoint()?;
                return Ok(Epoch::Interrupted);
            }
            // The end of the epoch has its own checkpoint, after the validation pass.
            if periodic && !end_of_epoch {
                self.save_checkpoint()?;
            }
        }
        bar.finish();
        Ok(Epoch::Finished(EpochTraining {
            learning_rate,
            images,
            seconds: started.elapsed().as_secs_f64(),
        }))
    }

    /// After an epoch's steps: the evaluation of the averaged (or current) weights, the
    /// metrics, curves and logs, the exported weights and the checkpoint.
    fn end_epoch(&mut self, training: EpochTraining) -> Result<()> {
        let config = &self.config;
        let evaluated = self
            .ema
            .as_ref()
            .map(|e| e.network.clone())
            .unwrap_or_else(|| to_valid(&self.learner.model().network));
        let (val, activity) = evaluate(
            &evaluated,
            self.val_samples.clone(),
            config,
            &self.device,
            self.progress,
        )?;
        let train = &self.state.epoch_train;
        let metrics = EpochMetrics {
            epoch: self.state.epoch + 1,
            learning_rate: training.learning_rate,
            train_loss: train.loss(),
            train_top1: train.top1(),
            val_loss: val.loss(),
            val_top1: val.top1(),
            val_top5: val.top5(),
            images_per_second: training.images as f64 / training.seconds.max(1e-9),
            seconds: training.seconds,
            val_feature_mean: activity.mean(),
            val_dead_features: activity.dead_fraction(),
        };
        if self.progress {
            eprintln!(
                "epoch {}: train loss {:.4} top-1 {:.1}% | val loss {:.4} top-1 {:.1}% top-5 {:.1}% | {:.1} img/s",
                metrics.epoch,
                metrics.train_loss,
                100.0 * metrics.train_top1,
                metrics.val_loss,
                100.0 * metrics.val_top1,
                100.0 * metrics.val_top5,
                metrics.images_per_second
            );
        }
        self.board.log(
            self.state.global_step,
            &[
                ("train/top1", metrics.train_top1),
                ("val/loss", metrics.val_loss),
                ("val/top1", metrics.val_top1),
                ("val/top5", metrics.val_top5),
                ("val/feature_mean", metrics.val_feature_mean),
                ("val/dead_features", metrics.val_dead_features),
                ("images_per_second", metrics.images_per_second),
            ],
        );
        self.state.history.push(metrics);
        self.state.epoch += 1;
        self.state.batch = 0;
        self.state.epoch_train = Accumulator::default();

        write_csv(&self.state.history, &self.folder.join("metrics.csv"))?;
        let title = format!(
            "{} width {} residual scale {} lr {} batch {} image {} seed {}",
            config.arch,
            config.width,
            config.residual_scale,
            config.learning_rate,
            config.batch_size,
            config.image_size,
            config.seed
        );
        write_atomically(
            &self.folder.join("curves.svg"),
            curves_svg(&self.state.history, &title).as_bytes(),
        )?;
        let export = self.folder.join(EXPORT_NAME);
        save_burnpack(&evaluated, &self.meta, &export).map_err(anyhow::Error::msg)?;
        self.exported = Some(export);
        self.save_checkpoint()
    }

    /// The trained weights and the optimizer's state after the last step (copied during that
    /// step when the loop asked for it; `None` carries the previous checkpoint's over).
    fn save_checkpoint(&self) -> Result<()> {
        let model = to_valid(&self.learner.model().network);
        checkpoint::save(
            self.folder,
            &self.state,
            &model,
            self.ema.as_ref().map(|e| &e.network),
            self.optimizer_snapshot.take(),
            &self.meta,
        )
        .with_context(|| {
            format!(
                "writing the checkpoint at step {} failed; the previous checkpoint in {} is intact and --resume continues from it",
                self.state.global_step,
                self.folder.display()
            )
        })
    }

    fn summary(self, ending: Ending) -> RunSummary {
        RunSummary {
            history: self.state.history,
            interrupted: matches!(ending, Ending::Interrupted),
            diverged: matches!(ending, Ending::Diverged),
            exported: self.exported,
            meta: self.meta,
            classes: self.classes,
        }
    }
}

/// A fresh network, or one fine-tuned from `init_weights` with a new classifier when the
/// number of classes differs.
fn initial_network(
    config: &TrainConfig,
    network_config: &NetworkConfig,
    classes: usize,
    device: &Device,
) -> Result<Network> {
    device.seed(config.seed);
    let Some(path) = &config.init_weights else {
        return Ok(network_config.clone().with_num_classes(classes).init(device));
    };
    let mut network = load_weights_file(path, Some(config.arch), device)
        .with_context(|| format!("loading --init-weights {}", path.display()))?
        .network;
    if network.num_classes() != classes {
        *network.classifier_mut() = LinearConfig::new(network.num_features(), classes).init(device);
    }
    Ok(network)
}

/// Mean cross-entropy (no smoothing), accuracy and the last layer's activity of a network on
/// evaluation views.
pub fn evaluate(
    network: &Network,
    samples: Arc<Vec<Sample>>,
    config: &TrainConfig,
    device: &Device,
    progress: bool,
) -> Result<(Accumulator, Activity)> {
    let mut acc = Accumulator::default();
    let mut activity = Activity::default();
    let size = config.image_size;
    let loader = BatchLoader::new(samples, config, View::Eval, 0, 0);
    let bar = progress_bar(progress, loader.len() as u64, "validation".into());
    for batch in loader {
        let (images, labels) = batch.into_tensor(size, device);
        let (loss, logits, features) = evaluate_batch(network, images, &labels);
        acc.add(read_f32(loss)?[0] as f64, &read_f32(logits)?, &labels);
        activity.add(&read_f32(features)?, network.num_features());
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok((acc, activity))
}

fn progress_bar(visible: bool, len: u64, prefix: String) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_prefix(prefix);
    if let Ok(style) = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed} {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
