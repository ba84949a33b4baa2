//! `bench`: inference latency per backend and batch size, one JSON line per configuration
//! (compare against a reference run side by side: see tools/bench.sh).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::prelude::*;
use inception::weights::load_weights_file;
use inception::{Arch, NetworkConfig};
use serde::Serialize;

use crate::backend::{Backend, read_logits};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "inception-resnet-v2")]
    arch: Arch,
    /// Weights to run (timing does not depend on them; default: random init).
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
}

#[derive(Serialize)]
struct Record {
    arch: Arch,
    backend: String,
    batch: usize,
    image_size: usize,
    runs: usize,
    first_call_ms: f64,
    median_ms: f64,
    min_ms: f64,
    max_ms: f64,
    ms_per_image: f64,
    images_per_s: f64,
}

pub fn run(args: Args) -> Result<ExitCode> {
    for backend in &args.backends {
        let device = backend.device()?;
        let network = match &args.weights {
            Some(p) => {
                load_weights_file(p, Some(args.arch), &device)
                    .context("loading weights")?
                    .network
            }
            None => NetworkConfig::new(args.arch).init(&device),
        };
        let size = args.image_size;
        network.check_input(size, size)?;
        for &batch in &args.batch_sizes {
            let input = Tensor::<4>::random(
                [batch, 3, size, size],
                burn::tensor::Distribution::Uniform(-1.0, 1.0),
                &device,
            );
            let call = || -> Result<f64> {
                let t = Instant::now();
                let logits = network.forward(input.clone());
                // Reading back waits for the device, so the time covers the whole forward.
                read_logits(logits)?;
                Ok(t.elapsed().as_secs_f64() * 1e3)
            };
            let first = call()?;
            for _ in 1..args.warmup {
                call()?;
            }
            let mut times = (0..args.runs.max(1)).map(|_| call()).collect::<Result<Vec<f64>>>()?;
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            let record = Record {
                arch: args.arch,
                backend: backend.to_string(),
                batch,
                image_size: size,
                runs: times.len(),
                first_call_ms: first,
                median_ms: median,
                min_ms: times[0],
                max_ms: times[times.len() - 1],
                ms_per_image: median / batch as f64,
                images_per_s: batch as f64 * 1e3 / median,
            };
            println!("{}", serde_json::to_string(&record)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
