//! `synthetic`: logits of the hash-derived weights on the hash-derived input
//! (`inception::model::synthetic`). The same numbers come out of every backend and
//! platform, so two of them can be compared without a weights file; the browser tests
//! compare WebGPU in Chrome against this.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use inception::model::hashed::{hashed_input, hashed_weights};
use inception::pipeline::input_tensor;
use inception::pipeline::top_k;
use inception::{Arch, NetworkConfig};

use crate::backend::{Backend, read_logits};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "inception-resnet-v2")]
    arch: Arch,
    #[arg(long, default_value_t = 75)]
    image_size: usize,
    #[arg(long, default_value_t = 1000)]
    num_classes: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Backend::Flex)]
    backend: Backend,
    /// Write the logits here as raw little-endian f32.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let device = args.backend.device()?;
    let network = NetworkConfig::new(args.arch)
        .with_num_classes(args.num_classes)
        .init(&device);
    let network = hashed_weights(network, args.seed);
    let input = hashed_input(1, args.image_size, args.seed);
    let x = input_tensor(&network, &[&input], args.image_size, &device)?;
    let logits = read_logits(network.forward(x))?;
    let max = logits.iter().fold(0f32, |m, v| m.max(v.abs()));
    let labels: Vec<String> = (0..logits.len()).map(|i| i.to_string()).collect();
    let top: Vec<usize> = top_k(&logits, &labels, 5)?.iter().map(|p| p.index).collect();
    println!(
        "{} at {}x{} seed {} on {}: max |logit| {max:.4}, top-5 {top:?}",
        args.arch, args.image_size, args.image_size, args.seed, args.backend
    );
    if let Some(out) = &args.out {
        let bytes: Vec<u8> = logits.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(out, bytes).with_context(|| format!("cannot write {}", out.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
