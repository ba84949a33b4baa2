//! The web page's weights manifest (read by web/worker.js before it downloads weights):
//! file, architecture, classes, preprocessing, dtype, size and sha256.

use std::path::Path;

use anyhow::{Context, Result};
use inception::Arch;
use inception::weights::WeightsMeta;
use sha2::{Digest, Sha256};

#[derive(serde::Serialize)]
struct Manifest<'a> {
    file: String,
    description: String,
    arch: Arch,
    num_classes: usize,
    preprocess: &'a inception::Preprocess,
    dtype: &'static str,
    size: u64,
    sha256: String,
}

/// Writes the manifest for `weights` (which must sit beside it, or be copied there).
pub fn write_manifest(path: &Path, weights: &Path, meta: &WeightsMeta, description: Option<String>) -> Result<()> {
    let bytes = std::fs::read(weights).with_context(|| format!("cannot read {}", weights.display()))?;
    let sha256 = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let file = weights
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let manifest = Manifest {
        description: description.unwrap_or_else(|| format!("{file} ({})", meta.source)),
        file,
        arch: meta.arch,
        num_classes: meta.num_classes,
        preprocess: &meta.preprocess,
        dtype: "f32",
        size: bytes.len() as u64,
        sha256,
    };
    std::fs::write(path, serde_json::to_string_pretty(&manifest)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))
}
