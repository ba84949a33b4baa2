//! `train`: the paper's recipe on an image folder, resumable, with metrics and curves.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use inception::Arch;
use inception::model::ResidualScale;
use inception_train::config::OptimizerKind;
use inception_train::trainer::TrainRequest;
use inception_train::{Start, TrainConfig, train};

use crate::backend::{Backend, DeviceList};
use crate::info::parse_width;
use crate::manifest::write_manifest;

#[derive(clap::Args)]
pub struct Args {
    /// Image folder: DATA/<class>/*.jpg|png|webp, or DATA/train/<class>/... and DATA/val/<class>/...
    #[arg(long, default_value = "data/shapes")]
    data: PathBuf,
    /// Run folder (checkpoint, metrics.csv, curves.svg, model.bpk). Default: runs/<arch>-<time>.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Continue the run in --out from its checkpoint: its recipe is kept, other flags are
    /// ignored except --epochs (the run's total).
    #[arg(long, requires = "out")]
    resume: bool,
    /// A JSON file of TrainConfig fields; flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    #[arg(long, default_value = "wgpu")]
    backend: Backend,
    /// Devices that share each step (data parallel): a count (`2`: GPUs 0 and 1) or a list
    /// of indices (`0,2`). Each takes a contiguous part of every batch; the gradients are
    /// summed on the first, which holds the model and the optimizer.
    #[arg(long, default_value = "1")]
    devices: DeviceList,
    /// Also write the web page's manifest for the exported weights (e.g. weights/manifest.json,
    /// with the weights copied beside it).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// No progress bars (logs, CI).
    #[arg(long)]
    quiet: bool,
    /// Steps between checkpoints inside an epoch (0: at the end of epochs only). A run
    /// killed at any moment loses at most this many steps.
    #[arg(long, default_value_t = 500)]
    checkpoint_every: u64,

    #[arg(long)]
    arch: Option<Arch>,
    /// Residual scaling: `default`, `none`, or a factor such as 0.2.
    #[arg(long)]
    residual_scale: Option<ResidualScale>,
    #[arg(long)]
    image_size: Option<usize>,
    /// Channel-width multiplier, a multiple of 1/16.
    #[arg(long, value_parser = parse_width)]
    width: Option<f32>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    max_steps_per_epoch: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
    /// `rmsprop-tf` (TensorFlow's RMSProp, as the paper trained: the default) or
    /// `rmsprop-torch` (PyTorch's `torch.optim.RMSprop`).
    #[arg(long)]
    optimizer: Option<OptimizerKind>,
    /// Initial learning rate (paper: 0.045).
    #[arg(long)]
    lr: Option<f64>,
    /// Learning-rate factor every --lr-decay-epochs (paper: 0.94 every 2).
    #[arg(long)]
    lr_decay: Option<f64>,
    #[arg(long)]
    lr_decay_epochs: Option<usize>,
    /// RMSProp decay of the squared-gradient average (paper: 0.9).
    #[arg(long)]
    rmsprop_decay: Option<f32>,
    #[arg(long)]
    momentum: Option<f32>,
    /// RMSProp epsilon (paper: 1.0).
    #[arg(long)]
    rmsprop_epsilon: Option<f32>,
    #[arg(long)]
    weight_decay: Option<f32>,
    #[arg(long)]
    grad_clip_norm: Option<f32>,
    #[arg(long)]
    label_smoothing: Option<f32>,
    #[arg(long)]
    dropout: Option<f64>,
    /// Weight EMA decay, or `none` to evaluate the raw weights.
    #[arg(long, value_parser = parse_ema)]
    ema_decay: Option<EmaDecay>,
    #[arg(long)]
    color_jitter: Option<f32>,
    #[arg(long)]
    val_fraction: Option<f64>,
    /// Threads that decode and augment images (default: one per core).
    #[arg(long)]
    workers: Option<usize>,
    /// Start from these weights (timm checkpoint, .bpk or a `hub:` name); the classifier is replaced
    /// for the folder's classes.
    #[arg(long)]
    init_weights: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug)]
struct EmaDecay(Option<f64>);

fn parse_ema(s: &str) -> Result<EmaDecay, String> {
    if s == "none" {
        return Ok(EmaDecay(None));
    }
    s.parse::<f64>().map(|d| EmaDecay(Some(d))).map_err(|e| e.to_string())
}

fn config_from(args: &Args) -> Result<TrainConfig> {
    let mut c = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            TrainConfig::from_user_json(&text)
                .with_context(|| format!("{} is not a valid training config", path.display()))?
        }
        None => TrainConfig::default(),
    };
    macro_rules! set {
        ($($flag:ident => $field:ident),* $(,)?) => {
            $(if let Some(v) = args.$flag.clone() { c.$field = v; })*
        };
    }
    set!(arch => arch, residual_scale => residual_scale, image_size => image_size, width => width,
        batch_size => batch_size, epochs => epochs, seed => seed, optimizer => optimizer, lr => learning_rate,
        lr_decay => lr_decay, lr_decay_epochs => lr_decay_epochs, rmsprop_decay => rmsprop_decay,
        momentum => rmsprop_momentum, rmsprop_epsilon => rmsprop_epsilon, weight_decay => weight_decay,
        label_smoothing => label_smoothing, dropout => dropout, color_jitter => color_jitter,
        val_fraction => val_fraction, workers => workers);
    if args.max_steps_per_epoch.is_some() {
        c.max_steps_per_epoch = args.max_steps_per_epoch;
    }
    if args.grad_clip_norm.is_some() {
        c.grad_clip_norm = args.grad_clip_norm;
    }
    if let Some(EmaDecay(d)) = args.ema_decay {
        c.ema_decay = d;
    }
    if let Some(weights) = &args.init_weights {
        c.init_weights = Some(crate::hub::resolve_weights(weights)?);
    }
    c.validate()?;
    Ok(c)
}

fn default_run_dir(config: &TrainConfig) -> PathBuf {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    Path::new("runs").join(format!("{}-{seconds}", config.arch))
}

pub fn run(args: Args) -> Result<ExitCode> {
    let config = config_from(&args)?;
    if !args.data.is_dir() {
        bail!(
            "no image folder at {}: make one with `cargo run --release -- make-dataset {}`, or pass --data DIR",
            args.data.display(),
            args.data.display()
        );
    }
    let run_dir = args.out.clone().unwrap_or_else(|| default_run_dir(&config));
    let devices = args.backend.devices(&args.devices)?;
    let on = match devices.len() {
        1 => args.backend.to_string(),
        n => format!("{n} {} devices", args.backend),
    };
    let interrupt = crate::interrupt::install();

    let start = if args.resume {
        eprintln!("resuming {} on {on}", run_dir.display());
        Start::Resume { epochs: args.epochs }
    } else {
        eprintln!(
            "training {} (width {}, residual scale {}) at {}x{} on {on} from {} into {}",
            config.arch,
            config.width,
            config.residual_scale,
            config.image_size,
            config.image_size,
            args.data.display(),
            run_dir.display()
        );
        Start::Fresh
    };
    let summary = train(TrainRequest {
        config,
        data: &args.data,
        run: &run_dir,
        start,
        devices,
        interrupt,
        progress: !args.quiet,
        checkpoint_every: (args.checkpoint_every > 0).then_some(args.checkpoint_every),
    })?;
    if summary.interrupted {
        eprintln!(
            "interrupted; continue with: cargo run --release -- train --resume --out {}",
            run_dir.display()
        );
        return Ok(ExitCode::from(130));
    }
    if let Some(last) = summary.history.last() {
        println!(
            "epoch {}: val top-1 {:.2}% top-5 {:.2}% loss {:.4}",
            last.epoch,
            100.0 * last.val_top1,
            100.0 * last.val_top5,
            last.val_loss
        );
    }
    if let Some(exported) = &summary.exported {
        println!(
            "weights: {} (classes: {})",
            exported.display(),
            summary.classes.join(", ")
        );
        if let Some(manifest) = &args.manifest {
            let dir = manifest
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            let target = dir.join(exported.file_name().unwrap_or_default());
            if target != *exported {
                std::fs::copy(exported, &target)?;
            }
            write_manifest(manifest, &target, &summary.meta, None)?;
            println!("manifest: {}", manifest.display());
        }
    }
    println!("metrics: {}", run_dir.join("metrics.csv").display());
    println!("curves: {}", run_dir.join("curves.svg").display());
    Ok(if summary.diverged {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
