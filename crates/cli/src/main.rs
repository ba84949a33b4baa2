//! `inception`: classify images, import timm checkpoints, inspect and benchmark the
//! networks of the `inception` crate. Run from the repository root as
//! `cargo run --release -- <command>`.

mod backend;
mod bench;
mod classify;
mod fetch;
mod hub;
mod import;
mod info;
mod interrupt;
mod make_dataset;
mod manifest;
mod synthetic;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "inception",
    version,
    about = "Inception-v4 and Inception-ResNet-v1/v2 on burn: classify, train, import, inspect"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the top-5 classes of images.
    Classify(classify::Args),
    /// Download a checkpoint from the Hugging Face Hub (timm/inception_resnet_v2.tf_in1k).
    Fetch(fetch::Args),
    /// Convert a timm checkpoint into this project's weights format (.bpk).
    Import(import::Args),
    /// Print the layer table, parameter count and FLOPs of an architecture.
    Info(info::Args),
    /// Measure inference speed (ms/image) on each backend.
    Bench(bench::Args),
    /// Logits of deterministic hash-derived weights, equal on every backend and platform.
    Synthetic(synthetic::Args),
    /// Train a network on an image folder (the paper's RMSProp recipe by default).
    Train(Box<train::Args>),
    /// Write a labelled image folder of drawn shapes and textures (no downloads).
    MakeDataset(make_dataset::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Classify(a) => classify::run(a),
        Command::Fetch(a) => fetch::run(a),
        Command::Import(a) => import::run(a),
        Command::Info(a) => info::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Synthetic(a) => synthetic::run(a),
        Command::Train(a) => train::run(*a),
        Command::MakeDataset(a) => make_dataset::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
