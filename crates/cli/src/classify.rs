//! `classify`: top-5 classes of image files.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use image::RgbImage;
use inception::cam::{ClassMap, class_activation_maps, split_maps};
use inception::inference::{Prediction, batch_input, top_k};
use inception::weights::load_weights_file;
use inception::{Arch, LoadedWeights, Manifest, decode_image};
use serde::Serialize;

use crate::backend::{Backend, read_f32, read_logits};
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
    let LoadedWeights { network, meta, .. } =
        load_weights_file(&weights_path, args.arch, &burn::prelude::Device::flex())
            .with_context(|| format!("cannot load weights {}", weights_path.display()))?;
    let network = network.for_inference(&device);
    let labels = meta.labels();
    let size = meta.preprocess.input_size;
    if let Some(class) = args.cam_class
        && class >= meta.num_classes
    {
        bail!("--cam-class {class}: the network has {} classes", meta.num_classes);
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
        let crops: Vec<Result<RgbImage>> = paths.iter().map(|p| crop_file(p, &meta.preprocess)).collect();
        let ready: Vec<Vec<f32>> = crops
            .iter()
            .filter_map(|c| c.as_ref().ok().map(|c| meta.preprocess.normalize(c)))
            .collect();
        let forward = if ready.is_empty() {
            Ok((Vec::new(), None))
        } else {
            batch_input(&network, &ready, size, &device)
                .map_err(anyhow::Error::from)
                .and_then(|x| {
                    let (logits, features) = network.forward_with_features(x);
                    Ok((read_logits(logits)?, Some(features)))
                })
        };
        let ms = started.elapsed().as_secs_f64() * 1e3 / paths.len() as f64;
        let classes = meta.num_classes;
        let mut next = 0;
        for (path, crop) in paths.iter().zip(crops) {
            let outcome = crop.and_then(|crop| {
                let (logits, features) = forward.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
                let own = logits[next * classes..(next + 1) * classes].to_vec();
                let top = top_k(&own, &labels, args.top.max(1))?;
                let cam = match (&mut cam_paths, features) {
                    (Some(out), Some(features)) => {
                        let class = args.cam_class.unwrap_or(top[0].index);
                        let features = features.clone().narrow(0, next, 1);
                        Some(draw_cam(
                            &network,
                            features,
                            class,
                            &crop,
                            args.cam_opacity,
                            out.next(path),
                        )?)
                    }
                    _ => None,
                };
                next += 1;
                Ok((top.into_iter().take(args.top).collect(), own, cam))
            });
            let result = match outcome {
                Ok((top, own, cam)) => ImageResult {
                    image: path,
                    top5: Some(top),
                    ms: Some(ms),
                    logits: args.logits.then_some(own),
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

/// An image file resized and cropped as the network sees it (before normalisation).
fn crop_file(path: &Path, preprocess: &inception::Preprocess) -> Result<RgbImage> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let image = decode_image(&bytes)?;
    Ok(preprocess.resize_and_crop(&image))
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
fn draw_cam(
    network: &inception::Network,
    features: burn::prelude::Tensor<4>,
    class: usize,
    crop: &RgbImage,
    opacity: f32,
    path: PathBuf,
) -> Result<CamResult> {
    let [_, _, height, width] = features.dims();
    let maps = class_activation_maps(network, features, &[class])?;
    let map = split_maps(&read_f32(maps)?, &[class], height, width).remove(0);
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
