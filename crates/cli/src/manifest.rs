//! Writes the web page's weights manifest ([`inception::manifest::Manifest`]) for a weights
//! file that sits beside it.

use std::path::Path;

use anyhow::{Context, Result};
use inception::manifest::Manifest;
use inception::weights::WeightsMeta;

/// Writes the manifest for `weights` (which must sit beside it, or be copied there).
pub fn write_manifest(path: &Path, weights: &Path, meta: &WeightsMeta, description: Option<String>) -> Result<()> {
    let bytes = std::fs::read(weights).with_context(|| format!("cannot read {}", weights.display()))?;
    let file = weights
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let manifest = Manifest::describe(&file, &bytes, meta, description);
    manifest
        .validate()
        .with_context(|| format!("cannot describe {} in a manifest", weights.display()))?;
    std::fs::write(path, serde_json::to_string_pretty(&manifest)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))
}
