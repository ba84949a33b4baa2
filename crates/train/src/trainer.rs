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
use inception::weights::{WeightsMeta, load_weights_file, save_burnpack};
use inception::{Network, NetworkConfig, Preprocess};
use indicatif::{ProgressBar, ProgressStyle};

use crate::checkpoint::{self, TrainState, write_atomically};
use crate::config::TrainConfig;
use crate::data::{BatchLoader, Sample, View, scan};
use crate::ema::Ema;
use crate::metrics::{Accumulator, EpochMetrics, write_csv};
use crate::plot::curves_svg;
use crate::recipe::{dropout_mask, optimizer, smoothed_cross_entropy, step, to_training, to_valid};
use crate::rng::Rng;

/// Set (by a Ctrl-C handler) to stop after the current step with a checkpoint.
pub type Interrupt = Arc<AtomicBool>;

#[derive(Debug)]
pub struct RunSummary {
    pub history: Vec<EpochMetrics>,
    pub interrupted: bool,
    /// The loss became NaN or infinite; training stopped there.
    pub diverged: bool,
    /// Exported weights (the EMA network when enabled), loadable by the CLI and the page.
    pub exported: Option<PathBuf>,
    pub classes: Vec<String>,
    pub skipped_files: usize,
}

pub struct TrainRequest<'a> {
    pub config: TrainConfig,
    pub data: &'a Path,
    pub run: &'a Path,
    pub resume: bool,
    /// The plain device; autodiff is added here.
    pub device: Device,
    pub interrupt: Interrupt,
    pub progress: bool,
}

/// The name of the weights a run exports.
pub const EXPORT_NAME: &str = "model.bpk";

pub fn train(request: TrainRequest<'_>) -> Result<RunSummary> {
    let TrainRequest {
        config,
        data,
        run,
        resume,
        device,
        interrupt,
        progress,
    } = request;
    std::fs::create_dir_all(run).with_context(|| format!("creating {}", run.display()))?;
    let ad_device = device.clone().autodiff();

    let loaded = if resume {
        let loaded = checkpoint::load(run, &device)?;
        Some(loaded.with_context(|| format!("{} has no checkpoint to resume from", run.display()))?)
    } else {
        if checkpoint::checkpoint_dir(run).exists() {
            bail!(
                "{} already holds a training run: continue it with --resume, or choose another --out",
                run.display()
            );
        }
        None
    };
    // A resumed run keeps its recipe; only the number of epochs may be raised.
    let config = match &loaded {
        Some(l) => TrainConfig {
            epochs: config.epochs.max(l.state.config.epochs),
            ..l.state.config.clone()
        },
        None => config,
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
    if dataset.train.len() < config.batch_size {
        bail!(
            "{} training images, fewer than one batch of {}: lower --batch-size or add images",
            dataset.train.len(),
            config.batch_size
        );
    }
    let classes = dataset.classes.clone();

    let (mut model, mut state, optimizer_record, ema_network) = match loaded {
        Some(l) => {
            if l.state.classes != classes {
                bail!(
                    "the data folder's classes ({}) differ from the run's ({})",
                    classes.join(", "),
                    l.state.classes.join(", ")
                );
            }
            let mut state = l.state;
            state.config = config.clone();
            (to_training(l.model, &ad_device), state, Some(l.optimizer), l.ema)
        }
        None => {
            let model = initial_network(&config, &network_config, classes.len(), &device)?;
            let state = TrainState {
                config: config.clone(),
                classes: classes.clone(),
                epoch: 0,
                batch: 0,
                global_step: 0,
                ema_updates: 0,
                epoch_loss_sum: 0.0,
                epoch_top1: 0,
                epoch_samples: 0,
                history: Vec::new(),
            };
            (to_training(model, &ad_device), state, None, None)
        }
    };
    let mut optim = optimizer(&config);
    if let Some(record) = optimizer_record {
        optim = optim.load_record(record);
    }
    let mut ema = config.ema_decay.map(|decay| {
        let start = ema_network.unwrap_or_else(|| to_valid(&model));
        Ema::new(start, decay, state.ema_updates)
    });
    write_atomically(&run.join("config.json"), &serde_json::to_vec_pretty(&config)?)?;

    let meta = WeightsMeta {
        labels: Some(classes.clone()),
        preprocess: Preprocess::timm_eval(config.arch).with_input_size(config.image_size),
        width: config.width()?,
        residual_scale: config.residual_scale,
        ..WeightsMeta::new(config.arch, classes.len(), format!("trained: {}", run.display()))
    };
    let train_samples = Arc::new(dataset.train);
    let val_samples = Arc::new(dataset.val);
    let size = config.image_size;
    let mut summary = RunSummary {
        history: state.history.clone(),
        interrupted: false,
        diverged: false,
        exported: None,
        classes: classes.clone(),
        skipped_files: dataset.skipped.len(),
    };

    while state.epoch < config.epochs {
        let epoch = state.epoch;
        let learning_rate = config.learning_rate_at(epoch);
        let loader = BatchLoader::new(train_samples.clone(), &config, View::Train, epoch, state.batch);
        let bar = progress_bar(
            progress,
            loader.len() as u64,
            format!("epoch {}/{}", epoch + 1, config.epochs),
        );
        bar.set_position(state.batch as u64);
        let started = Instant::now();
        let mut images_this_session = 0usize;
        for batch in loader {
            let n = batch.labels.len();
            let x = Tensor::<4>::from_data(TensorData::new(batch.images, [n, 3, size, size]), &ad_device);
            let mut features = model.pre_logits(x);
            if config.dropout > 0.0 {
                let mut rng = Rng::at(&[config.seed, 0xD80, state.global_step]);
                let [b, f] = features.dims();
                features = features * dropout_mask(b, f, config.dropout, &mut rng, &ad_device);
            }
            let logits = model.classify_features(features);
            let loss = smoothed_cross_entropy(logits.clone(), &batch.labels, config.label_smoothing);
            let loss_value = read_f32(loss.clone())?[0] as f64;
            let logits_host = read_f32(logits.clone().detach())?;
            model = step(&mut optim, learning_rate, model, loss);
            if let Some(ema) = ema.as_mut() {
                ema.update(&to_valid(&model));
                state.ema_updates = ema.updates;
            }
            let mut acc = Accumulator::default();
            acc.add(loss_value, &logits_host, &batch.labels);
            state.epoch_loss_sum += acc.loss_sum;
            state.epoch_top1 += acc.top1;
            state.epoch_samples += acc.samples;
            state.global_step += 1;
            state.batch += 1;
            images_this_session += n;
            let rate = images_this_session as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "loss {:.4}  top-1 {:.1}%  {:.1} img/s",
                state.epoch_loss_sum / state.epoch_samples.max(1) as f64,
                100.0 * state.epoch_top1 as f64 / state.epoch_samples.max(1) as f64,
                rate
            ));
            bar.inc(1);
            if !loss_value.is_finite() {
                summary.diverged = true;
                break;
            }
            if interrupt.load(Ordering::SeqCst) {
                bar.abandon_with_message("interrupted: checkpoint saved");
                checkpoint::save(
                    run,
                    &state,
                    &to_valid(&model),
                    ema.as_ref().map(|e| &e.network),
                    &optim,
                    &meta,
                )?;
                summary.interrupted = true;
                summary.history = state.history.clone();
                return Ok(summary);
            }
        }
        bar.finish();
        let seconds = started.elapsed().as_secs_f64();

        let evaluated = ema
            .as_ref()
            .map(|e| e.network.clone())
            .unwrap_or_else(|| to_valid(&model));
        let val = evaluate(&evaluated, val_samples.clone(), &config, &device, progress)?;
        let metrics = EpochMetrics {
            epoch: epoch + 1,
            learning_rate,
            train_loss: state.epoch_loss_sum / state.epoch_samples.max(1) as f64,
            train_top1: state.epoch_top1 as f64 / state.epoch_samples.max(1) as f64,
            val_loss: val.loss(),
            val_top1: val.top1(),
            val_top5: val.top5(),
            images_per_second: images_this_session as f64 / seconds.max(1e-9),
            seconds,
        };
        if progress {
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
        state.history.push(metrics);
        state.epoch += 1;
        state.batch = 0;
        state.epoch_loss_sum = 0.0;
        state.epoch_top1 = 0;
        state.epoch_samples = 0;

        write_csv(&state.history, &run.join("metrics.csv"))?;
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
        write_atomically(&run.join("curves.svg"), curves_svg(&state.history, &title).as_bytes())?;
        let export = run.join(EXPORT_NAME);
        save_burnpack(&evaluated, &meta, &export).map_err(anyhow::Error::msg)?;
        summary.exported = Some(export);
        checkpoint::save(
            run,
            &state,
            &to_valid(&model),
            ema.as_ref().map(|e| &e.network),
            &optim,
            &meta,
        )?;
        if summary.diverged {
            eprintln!(
                "the loss is no longer finite (step {}): training stopped",
                state.global_step
            );
            break;
        }
    }
    summary.history = state.history;
    Ok(summary)
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

/// Mean cross-entropy (no smoothing) and accuracy of a network on evaluation views.
pub fn evaluate(
    network: &Network,
    samples: Arc<Vec<Sample>>,
    config: &TrainConfig,
    device: &Device,
    progress: bool,
) -> Result<Accumulator> {
    let mut acc = Accumulator::default();
    let size = config.image_size;
    let loader = BatchLoader::new(samples, config, View::Eval, 0, 0);
    let bar = progress_bar(progress, loader.len() as u64, "validation".into());
    for batch in loader {
        let n = batch.labels.len();
        let x = Tensor::<4>::from_data(TensorData::new(batch.images, [n, 3, size, size]), device);
        let logits = network.forward(x);
        let loss = smoothed_cross_entropy(logits.clone(), &batch.labels, 0.0);
        acc.add(read_f32(loss)?[0] as f64, &read_f32(logits)?, &batch.labels);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(acc)
}

fn read_f32<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading a tensor back: {e:?}"))
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
