//! `bench`: inference latency (or, with `--train`, the time of a training step; with `--data`,
//! the data pipeline's throughput) per backend and batch size, one JSON line per
//! configuration (compare against a reference run side by side: see tools/bench.sh and
//! tools/bench_train.sh).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::prelude::*;
use inception::model::fused;
use inception::weights::load_weights_file;

use crate::hub::resolve_weights;
use inception::{Arch, Network, NetworkConfig};
use inception_train::TrainConfig;
use inception_train::data::loader::{BatchLoader, View};
use inception_train::learner::{TrainBatch, learner, schedule, train_step as run_train_step};
use inception_train::recipe::to_training;
use serde::Serialize;

use crate::backend::{Backend, read_logits};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "inception-resnet-v2")]
    arch: Arch,
    /// Weights to run, a file or a `hub:` name (timing does not depend on them; default:
    /// random init).
    #[arg(long)]
    weights: Option<PathBuf>,
    #[arg(long, value_delimiter = ',', default_value = "wgpu,flex,ndarray")]
    backends: Vec<Backend>,
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    batch_sizes: Vec<usize>,
    #[arg(long, default_value_t = 299)]
    image_size: usize,
    /// Untimed calls first (wgpu compiles and autotunes its kernels here).
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Forms of the network to time for inference: `folded` (BatchNorm folded into the
    /// convolutions, what `classify` and the page run), `unfused` (folded, but each
    /// convolution and its bias, residual sum and ReLU as burn's own operations: what the
    /// fused CPU convolution replaces) and `loaded` (as loaded, BatchNorm as its own op).
    /// Training always runs the loaded form.
    #[arg(long, value_delimiter = ',', default_value = "folded")]
    forms: Vec<Form>,
    /// Time a training step instead: train-mode forward, label-smoothed loss, backward and
    /// the recipe's RMSProp update.
    #[arg(long)]
    train: bool,
    /// Time the data pipeline instead: decode and augment this image folder's training views
    /// (as `train` makes them), for each batch size and number of --workers.
    #[arg(long, conflicts_with_all = ["train", "weights"])]
    data: Option<PathBuf>,
    /// Data-pipeline worker threads to time (with --data).
    #[arg(long, value_delimiter = ',', default_value = "1,2", requires = "data")]
    workers: Vec<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Form {
    Folded,
    Unfused,
    Loaded,
}

#[derive(Serialize)]
struct Record {
    arch: Arch,
    backend: String,
    mode: &'static str,
    form: Form,
    batch: usize,
    image_size: usize,
    runs: usize,
    first_call_ms: f64,
    median_ms: f64,
    min_ms: f64,
    max_ms: f64,
    ms_per_image: f64,
    images_per_s: f64,
    /// The process's peak resident memory so far, in MB (Linux: `VmHWM`), weights loading
    /// included. It is this configuration's own only in a process that runs one
    /// (tools/bench.sh runs one per batch for it, as ONNX Runtime's side does).
    peak_rss_mb: Option<f64>,
}

/// The process's peak resident set size in MB, from `/proc/self/status` (Linux only).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn run(args: Args) -> Result<ExitCode> {
    if let Some(dir) = &args.data {
        return data_pipeline(&args, dir);
    }
    let weights = args.weights.as_deref().map(resolve_weights).transpose()?;
    for backend in &args.backends {
        let device = backend.device()?;
        let network = match &weights {
            Some(p) => {
                load_weights_file(p, Some(args.arch), &device)
                    .context("loading weights")?
                    .network
            }
            None => NetworkConfig::new(args.arch).init(&device),
        };
        let size = args.image_size;
        network.check_input(size, size)?;
        let forms = if args.train {
            vec![Form::Loaded]
        } else {
            args.forms.clone()
        };
        // The last form takes the loaded network instead of a copy, so that a run of one form
        // (the memory runs of tools/bench.sh) holds one network, as `classify` does.
        let mut loaded = Some(network);
        let last = forms.len().saturating_sub(1);
        for (i, form) in forms.into_iter().enumerate() {
            let Some(network) = (if i == last { loaded.take() } else { loaded.clone() }) else {
                break;
            };
            let network = match form {
                Form::Folded | Form::Unfused => network.for_inference(&device),
                Form::Loaded => network,
            };
            fused::use_fused_kernels(form != Form::Unfused);
            for &batch in &args.batch_sizes {
                let record = time(&args, &network, backend, form, batch, &device)?;
                println!("{}", serde_json::to_string(&record)?);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Times one configuration: the first call, the warm-up, then the median of the runs.
fn time(
    args: &Args,
    network: &Network,
    backend: &Backend,
    form: Form,
    batch: usize,
    device: &Device,
) -> Result<Record> {
    let size = args.image_size;
    let input = Tensor::<4>::random(
        [batch, 3, size, size],
        burn::tensor::Distribution::Uniform(-1.0, 1.0),
        device,
    );
    let mut call: Box<dyn FnMut() -> Result<f64>> = if args.train {
        Box::new(train_step(network, input.clone(), device)?)
    } else {
        Box::new(|| {
            let t = Instant::now();
            let logits = network.forward(input.clone());
            // Reading back waits for the device, so the time covers the whole forward.
            read_logits(logits)?;
            Ok(t.elapsed().as_secs_f64() * 1e3)
        })
    };
    let first = call()?;
    for _ in 1..args.warmup {
        call()?;
    }
    let mut times = (0..args.runs.max(1)).map(|_| call()).collect::<Result<Vec<f64>>>()?;
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    Ok(Record {
        arch: args.arch,
        backend: backend.to_string(),
        mode: if args.train { "train" } else { "inference" },
        form,
        batch,
        image_size: size,
        runs: times.len(),
        first_call_ms: first,
        median_ms: median,
        min_ms: times[0],
        max_ms: times[times.len() - 1],
        ms_per_image: median / batch as f64,
        images_per_s: batch as f64 * 1e3 / median,
        peak_rss_mb: peak_rss_mb(),
    })
}

#[derive(Serialize)]
struct DataRecord {
    mode: &'static str,
    data: PathBuf,
    workers: usize,
    batch: usize,
    image_size: usize,
    images: usize,
    runs: usize,
    median_s: f64,
    images_per_s: f64,
    images_per_s_per_worker: f64,
}

/// Decode + augment throughput: whole epochs of the folder's training views through the
/// training's own loader, one JSON line per (batch size, workers).
fn data_pipeline(args: &Args, dir: &std::path::Path) -> Result<ExitCode> {
    let dataset = inception_train::data::folder::scan(dir, 0.0, 0)?;
    let samples = std::sync::Arc::new(dataset.train);
    for &batch in &args.batch_sizes {
        for &workers in &args.workers {
            let config = TrainConfig {
                arch: args.arch,
                image_size: args.image_size,
                batch_size: batch,
                workers: workers.max(1),
                ..TrainConfig::default()
            };
            config.validate()?;
            let epoch = |e: usize| {
                let t = Instant::now();
                let loader = BatchLoader::new(samples.clone(), &config, View::Train, e, 0);
                let images: usize = loader.map(|b| b.labels.len()).sum();
                (images, t.elapsed().as_secs_f64())
            };
            if epoch(0).0 == 0 {
                anyhow::bail!("{}: fewer images than one batch of {batch}", dir.display());
            }
            let mut times: Vec<(usize, f64)> = (1..=args.runs.max(1)).map(epoch).collect();
            times.sort_by(|a, b| a.1.total_cmp(&b.1));
            let (images, median) = times[times.len() / 2];
            let rate = images as f64 / median.max(1e-9);
            let record = DataRecord {
                mode: "data",
                data: dir.to_path_buf(),
                workers: config.workers,
                batch,
                image_size: args.image_size,
                images,
                runs: times.len(),
                median_s: median,
                images_per_s: rate,
                images_per_s_per_worker: rate / config.workers as f64,
            };
            println!("{}", serde_json::to_string(&record)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One timed training step per call, through burn-train's `Learner` as `inception train`
/// runs it (no dropout), on a copy of `network` on the autodiff device.
fn train_step(network: &Network, input: Tensor<4>, device: &Device) -> Result<impl FnMut() -> Result<f64>> {
    let config = TrainConfig::default();
    let ad = device.clone().autodiff();
    let mut learner = learner(
        to_training(network.clone(), &ad),
        &config,
        None,
        schedule(&config, 1, 0)?,
    );
    let input = input.to_device(&ad);
    let labels: Vec<i64> = (0..input.dims()[0] as i64)
        .map(|i| i % network.num_classes() as i64)
        .collect();
    Ok(move || {
        let t = Instant::now();
        let batch = TrainBatch {
            images: input.clone(),
            labels: labels.clone(),
            dropout_mask: None,
            label_smoothing: config.label_smoothing,
            share: 1.0,
        };
        run_train_step(&mut learner, batch);
        // Reading a weight back waits for the update.
        read_logits(learner.model().network.classifier().weight.val())?;
        Ok(t.elapsed().as_secs_f64() * 1e3)
    })
}
