//! `make-dataset`: a labelled image folder drawn here (shapes and textures), no downloads.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use inception_train::shapes::{CLASSES, ShapesConfig, write_dataset};

#[derive(clap::Args)]
pub struct Args {
    /// Folder to write: OUT/<class>/<class>_NNNN.png.
    #[arg(default_value = "data/shapes")]
    out: PathBuf,
    /// Number of classes (2 to 10).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(2..=10))]
    classes: u16,
    #[arg(long, default_value_t = 200)]
    per_class: usize,
    /// Side of the square images in pixels.
    #[arg(long, default_value_t = 96, value_parser = clap::value_parser!(u32).range(8..=1024))]
    size: u32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let config = ShapesConfig {
        classes: args.classes as usize,
        per_class: args.per_class,
        size: args.size,
        seed: args.seed,
    };
    let n = write_dataset(&args.out, &config).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "wrote {n} images of {} classes ({}) to {}",
        config.classes,
        CLASSES[..config.classes].join(", "),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
