//! Writes the web page's weights manifest ([`inception::manifest::Manifest`]) for a weights
//! file that sits beside it.

use std::path::Path;

use anyhow::{Context, Result, bail};
use inception::manifest::{Manifest, Variant};
use inception::weights::WeightsMeta;

/// Writes the manifest for `weights` (which must sit beside it, or be copied there).
pub fn write_manifest(path: &Path, weights: &Path, meta: &WeightsMeta, description: Option<String>) -> Result<()> {
    let (file, bytes) = read_weights(weights)?;
    let manifest = Manifest::describe(&file, &bytes, meta, description);
    manifest
        .validate()
        .with_context(|| format!("cannot describe {} in a manifest", weights.display()))?;
    save(path, &manifest)
}

/// The weights file's name (as a manifest names it) and its bytes.
fn read_weights(weights: &Path) -> Result<(String, Vec<u8>)> {
    let bytes = std::fs::read(weights).with_context(|| format!("cannot read {}", weights.display()))?;
    let file = weights
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((file, bytes))
}

fn save(path: &Path, manifest: &Manifest) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(manifest)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Lists `weights` in the existing manifest at `path` as another stored copy of its weights,
/// checking that they are the same network (arch, classes, preprocessing) and sit beside it.
pub fn add_variant(path: &Path, weights: &Path, meta: &WeightsMeta) -> Result<()> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {} to add a variant to", path.display()))?;
    let mut manifest = Manifest::parse(&text).with_context(|| format!("{} is not usable", path.display()))?;
    let folder = |p: &Path| {
        let parent = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::canonicalize(parent).with_context(|| format!("cannot find {}", parent.display()))
    };
    if folder(path)? != folder(weights)? {
        bail!(
            "{} must sit beside {} to be its variant",
            weights.display(),
            path.display()
        );
    }
    let ours = (meta.arch, meta.num_classes, &meta.preprocess);
    if ours != (manifest.arch, manifest.num_classes, &manifest.preprocess) {
        bail!(
            "{} ({}, {} classes) is not the network {} describes ({}, {} classes, or other preprocessing)",
            weights.display(),
            meta.arch,
            meta.num_classes,
            path.display(),
            manifest.arch,
            manifest.num_classes
        );
    }
    let (file, bytes) = read_weights(weights)?;
    manifest
        .add_variant(Variant::describe(&file, &bytes, meta))
        .with_context(|| format!("cannot add {} to {}", weights.display(), path.display()))?;
    save(path, &manifest)
}
