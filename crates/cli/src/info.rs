//! `info`: what a network is, without running it.

use std::process::ExitCode;

use anyhow::Result;
use burn::prelude::Device;
use inception::model::{ResidualScale, Width};
use inception::{Arch, NetworkConfig};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = "inception-resnet-v2")]
    arch: Arch,
    /// Input height and width.
    #[arg(long)]
    image_size: Option<usize>,
    #[arg(long, default_value_t = 1000)]
    num_classes: usize,
    /// Channel-width multiplier, a multiple of 1/16.
    #[arg(long, default_value_t = 1.0, value_parser = parse_width)]
    width: f32,
    /// Residual scaling: `default`, `none`, or a factor such as 0.2.
    #[arg(long, default_value = "default")]
    residual_scale: ResidualScale,
    /// Print the table as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    // Parameters are created on the CPU backend; nothing is computed.
    let config = NetworkConfig::new(args.arch)
        .with_num_classes(args.num_classes)
        .with_width(Width::new(args.width)?)
        .with_residual_scale(args.residual_scale);
    config.validate()?;
    let network = config.init(&Device::flex());
    let size = args.image_size.unwrap_or(args.arch.input_size());
    let summary = network.summary(size, size)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} at {size}x{size}x3", args.arch);
    println!("{:<14} {:>16} {:>12}", "layer", "output (HxWxC)", "parameters");
    for row in &summary.layers {
        println!("{:<14} {:>16} {:>12}", row.name, row.output.to_string(), row.params);
    }
    println!("parameters: {}", summary.params);
    println!(
        "flops: {} ({:.2} GFLOPs, {:.2} GMACs)",
        summary.flops,
        summary.flops as f64 / 1e9,
        summary.flops as f64 / 2e9
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks a `--width` value on the command line.
pub fn parse_width(s: &str) -> Result<f32, String> {
    let value: f32 = s.parse().map_err(|e| format!("{e}"))?;
    Width::new(value).map(Width::multiplier).map_err(|e| e.to_string())
}
