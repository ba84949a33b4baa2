//! An image folder: `root/<class>/*.{jpg,png,webp,...}`, or `root/train/<class>/...` and
//! `root/val/<class>/...`. Class names are the sorted folder names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::rng::Rng;

const IMAGE_EXTENSIONS: [&str; 8] = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"];

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub path: PathBuf,
    pub label: usize,
}

#[derive(Clone, Debug)]
pub struct Dataset {
    pub classes: Vec<String>,
    pub train: Vec<Sample>,
    pub val: Vec<Sample>,
    /// Files that are not readable images, with the reason (reported as one warning).
    pub skipped: Vec<(PathBuf, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read the data folder {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(
        "{0} has no class folders with images: expected {0}/<class>/*.jpg|png|webp (or train/ and val/ subfolders)"
    )]
    Empty(String),
    #[error("{0} has a single class (`{1}`): a classifier needs at least two class folders")]
    SingleClass(String, String),
    #[error("validation class `{0}` has no training folder")]
    UnknownValClass(String),
}

/// Lists the images under `root`, skipping (and recording) files that are not readable
/// images, and splits off `val_fraction` of every class for validation unless the folder
/// has its own `train/` and `val/`.
pub fn scan(root: &Path, val_fraction: f64, seed: u64) -> Result<Dataset, DataError> {
    let mut skipped = Vec::new();
    let (train_dir, val_dir) = (root.join("train"), root.join("val"));
    if train_dir.is_dir() && val_dir.is_dir() {
        let train = class_files(&train_dir, &mut skipped)?;
        let classes: Vec<String> = train.keys().cloned().collect();
        check_classes(root, &classes)?;
        let val = class_files(&val_dir, &mut skipped)?;
        if let Some(unknown) = val.keys().find(|c| !train.contains_key(*c)) {
            return Err(DataError::UnknownValClass(unknown.clone()));
        }
        let label = |c: &str| classes.iter().position(|k| k == c).unwrap_or(0);
        let flatten = |m: BTreeMap<String, Vec<PathBuf>>| -> Vec<Sample> {
            m.into_iter()
                .flat_map(|(c, files)| {
                    let l = label(&c);
                    files.into_iter().map(move |path| Sample { path, label: l })
                })
                .collect()
        };
        return Ok(Dataset {
            train: flatten(train),
            val: flatten(val),
            classes,
            skipped,
        });
    }
    let all = class_files(root, &mut skipped)?;
    let classes: Vec<String> = all.keys().cloned().collect();
    check_classes(root, &classes)?;
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for (label, (_, mut files)) in all.into_iter().enumerate() {
        Rng::at(&[seed, 0xDA7A, label as u64]).shuffle(&mut files);
        let held = if files.len() >= 2 && val_fraction > 0.0 {
            ((files.len() as f64 * val_fraction).round() as usize).clamp(1, files.len() - 1)
        } else {
            0
        };
        for (i, path) in files.into_iter().enumerate() {
            let sample = Sample { path, label };
            if i < held { val.push(sample) } else { train.push(sample) }
        }
    }
    Ok(Dataset {
        classes,
        train,
        val,
        skipped,
    })
}

fn check_classes(root: &Path, classes: &[String]) -> Result<(), DataError> {
    match classes {
        [] => Err(DataError::Empty(root.display().to_string())),
        [only] => Err(DataError::SingleClass(root.display().to_string(), only.clone())),
        _ => Ok(()),
    }
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let io = |source| DataError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    Ok(entries)
}

/// Class folder name -> its readable images (sorted); classes without images are left out.
fn class_files(dir: &Path, skipped: &mut Vec<(PathBuf, String)>) -> Result<BTreeMap<String, Vec<PathBuf>>, DataError> {
    let mut classes = BTreeMap::new();
    for class_dir in read_dir_sorted(dir)?.into_iter().filter(|p| p.is_dir()) {
        let name = class_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        let mut files = Vec::new();
        for path in read_dir_sorted(&class_dir)?.into_iter().filter(|p| p.is_file()) {
            match check_image(&path) {
                Ok(()) => files.push(path),
                Err(reason) => skipped.push((path, reason)),
            }
        }
        if !files.is_empty() {
            classes.insert(name, files);
        }
    }
    Ok(classes)
}

/// A cheap check (extension, then the header's format and dimensions); a file that passes
/// and still fails to decode is handled by the loader.
fn check_image(path: &Path) -> Result<(), String> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if !IMAGE_EXTENSIONS.contains(&ext.as_str()) {
        return Err("not an image file name".into());
    }
    let reader = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not an image".into());
    }
    match reader.into_dimensions() {
        Ok((w, h)) if w > 0 && h > 0 => Ok(()),
        Ok(_) => Err("the image has no pixels".into()),
        Err(e) => Err(e.to_string()),
    }
}
