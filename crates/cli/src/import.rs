//! `import`: a timm checkpoint (or a `.bpk`) into this project's `.bpk` (what the web page
//! loads), its weights stored as f32, f16 or int8.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use burn::prelude::Device;
use inception::Arch;
use inception::model::TrainableParams;
use inception::storage::StorageDtype;
use inception::weights::{load_weights_file, save_burnpack};

use crate::hub::resolve_weights;
use crate::manifest::{add_variant, write_manifest};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    arch: Arch,
    /// timm `.safetensors` (or PyTorch `.pth`) state dict, a `.bpk` to store at another
    /// `--dtype`, or a checkpoint on the Hub: `hub:timm/inception_resnet_v2.tf_in1k`.
    checkpoint: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// Class names, one per line (default: ImageNet-1k for a 1000-class checkpoint).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Also write the web page's manifest (file, architecture, classes, preprocessing,
    /// size, sha256) here, e.g. weights/manifest.json.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Add the file to `--manifest` (an existing one, of the same weights at another dtype)
    /// as a variant the page offers, instead of writing a new manifest around it.
    #[arg(long, requires = "manifest")]
    variant: bool,
    /// Description shown on the page.
    #[arg(long)]
    description: Option<String>,
    /// How the file stores the convolution and classifier weights: f32, f16 (half the size)
    /// or int8 (a quarter: one f32 scale per output channel). Loading gives f32 again.
    #[arg(long, default_value_t = StorageDtype::F32)]
    dtype: StorageDtype,
}

pub fn run(args: Args) -> Result<ExitCode> {
    // Conversion needs no accelerator: tensors pass through the CPU backend.
    let device = Device::flex();
    let checkpoint = resolve_weights(&args.checkpoint)?;
    let loaded = load_weights_file(&checkpoint, Some(args.arch), &device)
        .with_context(|| format!("cannot import {}", args.checkpoint.display()))?;
    // A `.bpk` keeps its metadata (classes, preprocessing, width) and is written again at
    // `--dtype`.
    let mut meta = loaded.meta;
    meta.dtype = args.dtype;
    if let Some(path) = &args.labels {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let labels: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        if labels.len() != meta.num_classes {
            bail!(
                "{} has {} labels but the checkpoint has {} classes",
                path.display(),
                labels.len(),
                meta.num_classes
            );
        }
        meta.labels = Some(labels);
    }
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    save_burnpack(&loaded.network, &meta, &args.out)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    let size = std::fs::metadata(&args.out)?.len();
    match &args.manifest {
        Some(path) if args.variant => add_variant(path, &args.out, &meta)?,
        Some(path) => write_manifest(path, &args.out, &meta, args.description.clone())?,
        None => {}
    }
    println!(
        "wrote {} ({}, {} classes, {} parameters at {}, {:.1} MB)",
        args.out.display(),
        meta.arch,
        meta.num_classes,
        loaded.network.trainable_params(),
        meta.dtype,
        size as f64 / 1e6
    );
    Ok(ExitCode::SUCCESS)
}
