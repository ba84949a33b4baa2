//! `info`: what a network is, without running it.

use std::process::ExitCode;

use anyhow::Result;
use burn::prelude::Device;
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
    /// Print the table as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<ExitCode> {
    // Parameters are created on the CPU backend; nothing is computed.
    let network = NetworkConfig::new(args.arch)
        .with_num_classes(args.num_classes)
        .init(&Device::flex());
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
