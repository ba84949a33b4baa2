//! `fetch`: a checkpoint from the Hugging Face Hub into the Hub's cache (shared with Python's
//! `huggingface_hub`), checked as weights for one of the networks.

use std::process::ExitCode;

use anyhow::{Context, Result};
use burn::prelude::Device;
use inception::weights::load_weights_file;

use crate::hub::{DEFAULT_FILE, Hub, HubFile};

#[derive(clap::Args)]
pub struct Args {
    /// A model repository, like timm/inception_resnet_v2.tf_in1k or timm/inception_v4.tf_in1k
    /// (`@revision` and a `hub:` prefix are allowed).
    repo: String,
    /// Branch, tag or commit.
    #[arg(long)]
    revision: Option<String>,
    /// The file in the repository.
    #[arg(long, default_value = DEFAULT_FILE)]
    file: String,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let name = match &args.revision {
        Some(revision) => format!("{}@{revision}", args.repo.split('@').next().unwrap_or_default()),
        None => args.repo.clone(),
    };
    let file = HubFile::parse(&name, &args.file)?;
    let path = Hub::from_env()?.get(&file)?;
    // A file that is no checkpoint of these networks is named now, not at first use.
    let loaded = load_weights_file(&path, None, &Device::flex())
        .with_context(|| format!("{} is not usable weights", file.display_name()))?;
    eprintln!(
        "fetch: {} is {} weights, {} classes, {} input",
        file.display_name(),
        loaded.meta.arch,
        loaded.meta.num_classes,
        loaded.meta.preprocess.input_size
    );
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}
