//! `classify`: top-5 classes of image files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use image::RgbImage;
use inception::cam::ClassMap;
use inception::pipeline::Prediction;
use inception::pipeline::{Pending, Pipeline, Prepared};
use inception::weights::load_weights_file;
use inception::{Arch, Manifest};
use serde::Serialize;

use crate::backend::Backend;
use crate::hub::resolve_weights;

#[derive(clap::Args)]
pub struct Args {
    /// Architecture; a .bpk file names its own, a timm checkpoint's is detected.
    #[arg(long)]
    arch: Option<Arch>,
    /// timm .safetensors / .pth checkpoint, this project's .bpk, or a checkpoint on the Hub:
    /// `hub:timm/inception_resnet_v2.tf_in1k` (downloaded on first use)
    /// [default: weights/<arch>.bpk, else the file weights/manifest.json names].
    #[arg(long)]
    weights: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Backend::Wgpu)]
    backend: Backend,
    /// One JSON object per image (index, label, probability of the top 5).
    #[arg(long)]
    json: bool,
    /// With --json, add the raw logits.
    #[arg(long, requires = "json")]
    logits: bool,
    /// How many classes to print.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Images per forward pass (the time per image shown is the batch's share).
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Where the network looked: write the class activation map over the image the network
    /// saw (resized and cropped) to this PNG, or, for several images, into this folder as
    /// `<name>.cam.png`. With --json, the map's values are added too.
    #[arg(long)]
    cam: Option<PathBuf>,
    /// The class whose map to draw (default: each image's top class).
    #[arg(long, requires = "cam")]
    cam_class: Option<usize>,
    /// How opaque the map is over the photo, from 0 to 1.
    #[arg(long, default_value_t = 0.5, requires = "cam")]
    cam_opacity: f32,
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

#[derive(Serialize)]
struct ImageResult<'a> {
    image: &'a Path,
    #[serde(skip_serializing_if = "Option::is_none")]
    top5: Option<Vec<Prediction>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logits: Option<Vec<f32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cam: Option<CamResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct CamResult {
    /// The PNG written.
    path: PathBuf,
    #[serde(flatten)]
    map: ClassMap,
}

/// The weights to use when none are given: `weights/<arch>.bpk` (where `import` puts
/// ImageNet weights), else the page's default, the file that `weights/manifest.json` names
/// (checked against its size and sha256). Also says which weights they are.
pub fn default_weights(arch: Option<Arch>) -> Result<(PathBuf, String)> {
    let dir = Path::new("weights");
    let own = dir.join(format!("{}.bpk", arch.unwrap_or(Arch::InceptionResnetV2).name()));
    if own.is_file() {
        return Ok((own, "no --weights given".into()));
    }
    let manifest_path = dir.join("manifest.json");
    if manifest_path.is_file() {
        let bytes =
            std::fs::read(&manifest_path).with_context(|| format!("cannot read {}", manifest_path.display()))?;
        let manifest = Manifest::parse(&bytes).with_context(|| format!("{} is not usable", manifest_path.display()))?;
        if arch.is_none_or(|a| a == manifest.arch) {
            let path = dir.join(&manifest.file);
            let weights = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            manifest
                .check(&weights)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("the weights that {} names", manifest_path.display()))?;
            return Ok((
                path,
                format!("the default of {}: {}", manifest_path.display(), manifest.description),
            ));
        }
    }
    bail!(
        "no --weights given, and neither {} nor weights/manifest.json for it here. Import timm's \
         pretrained weights with `cargo run --release -- import --arch {} CHECKPOINT --out {}` (see README)",
        own.display(),
        arch.unwrap_or(Arch::InceptionResnetV2),
        own.display()
    )
}

pub fn run(args: Args) -> Result<ExitCode> {
    if args.batch_size == 0 {
        bail!("--batch-size must be at least 1");
    }
    // Before the weights are found (perhaps downloaded) and loaded: it needs nothing of them.
    if !(0.0..=1.0).contains(&args.cam_opacity) {
        bail!("--cam-opacity must be between 0 and 1");
    }
    let weights_path = match &args.weights {
        Some(p) => resolve_weights(p)?,
        None => {
            let (path, why) = default_weights(args.arch)?;
            eprintln!("classify: weights {} ({why})", path.display());
            path
        }
    };
    let device = args.backend.device()?;
    let weights = load_weights_file(&weights_path, args.arch, &burn::prelude::Device::flex())
        .with_context(|| format!("cannot load weights {}", weights_path.display()))?;
    let pipeline = Pipeline::new(weights, &device);
    let classes = pipeline.network().num_classes();
    let size = pipeline.meta().preprocess.input_size;
    if let Some(class) = args.cam_class
        && class >= classes
    {
        bail!("--cam-class {class}: the network has {classes} classes");
    }
    let mut cam_paths = args
        .cam
        .as_deref()
        .map(|p| CamPaths::new(p, args.images.len()))
        .transpose()?;
    let mut failures = 0;
    // Several images per forward pass: on a CPU one pass over the network's weights serves
    // the whole batch, and a GPU gets enough work to fill it.
    for paths in args.images.chunks(args.batch_size) {
        let started = Instant::now();
        let prepared: Vec<Result<Prepared>> = paths.iter().map(|p| prepare_file(&pipeline, p)).collect();
        let ready: Vec<&Prepared> = prepared.iter().filter_map(|p| p.as_ref().ok()).collect();
        let mut answers = if ready.is_empty() {
            Vec::new()
        } else {
            match pipeline.forward(&ready, cam_paths.is_some()).and_then(Pending::read) {
                Ok(outputs) => pipeline
                    .answers(outputs, args.top.max(1))
                    .into_iter()
                    .map(|a| a.map_err(anyhow::Error::from))
                    .collect(),
                // One error for the whole batch (its input size), given to each image.
                Err(e) => ready.iter().map(|_| Err(anyhow::anyhow!("{e}"))).collect::<Vec<_>>(),
            }
        }
        .into_iter();
        let ms = started.elapsed().as_secs_f64() * 1e3 / paths.len() as f64;
        for (path, prepared) in paths.iter().zip(prepared) {
            let outcome = prepared.and_then(|prepared| {
                let answer = answers.next().context("no answer for this image")??;
                let cam = match (&mut cam_paths, &answer.maps) {
                    (Some(out), Some(maps)) => {
                        let class = args.cam_class.unwrap_or(answer.top[0].index);
                        let map = maps.of(class).context("no map for this class")?;
                        Some(draw_cam(map, &prepared.crop, args.cam_opacity, out.next(path))?)
                    }
                    _ => None,
                };
                Ok((answer, cam))
            });
            let result = match outcome {
                Ok((answer, cam)) => ImageResult {
                    image: path,
                    top5: Some(answer.top.into_iter().take(args.top).collect()),
                    ms: Some(ms),
                    logits: args.logits.then_some(answer.logits),
                    cam,
                    error: None,
                },
                Err(e) => {
                    failures += 1;
                    ImageResult {
                        image: path,
                        top5: None,
                        logits: None,
                        ms: None,
                        cam: None,
                        error: Some(format!("{e:#}")),
                    }
                }
            };
            print_result(&result, args.json, size)?;
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// An image file, read and prepared for the network.
fn prepare_file(pipeline: &Pipeline, path: &Path) -> Result<Prepared> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(pipeline.prepare(&bytes)?)
}

/// Where the maps go: the file given for one image, `<folder>/<name>.cam.png` for several
/// (`<name>-2.cam.png` and so on when two images share a name).
struct CamPaths {
    target: PathBuf,
    single: bool,
    used: HashSet<PathBuf>,
}

impl CamPaths {
    fn new(target: &Path, images: usize) -> Result<Self> {
        let single = images == 1 && !target.is_dir();
        if !single {
            std::fs::create_dir_all(target)
                .with_context(|| format!("--cam {}: cannot make the folder for the maps", target.display()))?;
        }
        Ok(Self {
            target: target.to_path_buf(),
            single,
            used: HashSet::new(),
        })
    }

    fn next(&mut self, image: &Path) -> PathBuf {
        if self.single {
            return self.target.clone();
        }
        let stem = image
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut path = self.target.join(format!("{stem}.cam.png"));
        for n in 2.. {
            if self.used.insert(path.clone()) {
                break;
            }
            path = self.target.join(format!("{stem}-{n}.cam.png"));
        }
        path
    }
}

/// One image's class activation map, drawn over its crop and written as a PNG.
fn draw_cam(map: ClassMap, crop: &RgbImage, opacity: f32, path: PathBuf) -> Result<CamResult> {
    map.overlay(crop, opacity)
        .save(&path)
        .with_context(|| format!("cannot write the map to {}", path.display()))?;
    Ok(CamResult { path, map })
}

fn print_result(r: &ImageResult, json: bool, size: usize) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(r)?);
        return Ok(());
    }
    match (&r.top5, &r.error) {
        (Some(top), _) => {
            println!(
                "{} ({:.0} ms at {size}x{size})",
                r.image.display(),
                r.ms.unwrap_or_default()
            );
            for p in top {
                println!("  {:>6.2}%  {:>4}  {}", p.probability * 100.0, p.index, p.label);
            }
        }
        (None, Some(e)) => eprintln!("error: {}: {e}", r.image.display()),
        (None, None) => {}
    }
    Ok(())
}
