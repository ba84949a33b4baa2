//! Loading weights: timm checkpoints (`.safetensors`, and PyTorch `.pth` natively) by timm's
//! key names, and the project's own format, a burnpack (`.bpk`) whose metadata says which
//! network it is, its class names and its preprocessing (the file the web page loads).
//!
//! Every mismatch between a file and the network is collected into one
//! [`WeightsError::Mismatch`] that lists the missing, unexpected and mis-shaped tensors by
//! their names in the file.

use std::collections::HashMap;

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::store::burn_pack::{self, Bytes};
use burn::store::{ApplyError, ModuleSnapshot, ModuleStore, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::{DType, bf16, f16};
use serde::{Deserialize, Serialize};

use crate::arch::Arch;
use crate::model::inception_v4::TIMM_FEATURES;
use crate::model::{Network, NetworkConfig, ResidualScale, Width};
use crate::preprocess::Preprocess;
use crate::storage::{self, StorageDtype};

type PackTensor = burn_pack::Tensor;

/// Version of [`WeightsMeta`]'s layout in `.bpk` files.
pub const FORMAT_VERSION: u32 = 1;
/// Metadata key of the JSON-encoded [`WeightsMeta`] in a `.bpk` file.
pub const META_KEY: &str = "inception";

/// The file formats `load_weights` recognises by their first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightsFormat {
    /// timm / Hugging Face safetensors state dict.
    Safetensors,
    /// PyTorch `torch.save` file (zip or legacy pickle).
    PyTorch,
    /// This project's burnpack with [`WeightsMeta`].
    Burnpack,
}

impl WeightsFormat {
    pub fn detect(bytes: &[u8]) -> Option<Self> {
        if bytes.len() >= 4 && u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) == burn_pack::MAGIC_NUMBER {
            return Some(Self::Burnpack);
        }
        if bytes.starts_with(b"PK\x03\x04") || (bytes.len() >= 2 && bytes[0] == 0x80 && (2..=5).contains(&bytes[1])) {
            return Some(Self::PyTorch);
        }
        // An 8-byte header length then JSON. A header longer than the file is still this
        // format, truncated: the parser then says so.
        if bytes.len() > 9 && bytes[8] == b'{' && bytes[..8] != [0; 8] {
            return Some(Self::Safetensors);
        }
        None
    }
}

/// What a `.bpk` file says about itself.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WeightsMeta {
    pub format_version: u32,
    pub arch: Arch,
    pub num_classes: usize,
    /// Class names, index order. `None` means the ImageNet-1k classes.
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    pub preprocess: Preprocess,
    /// Where the weights came from (a checkpoint file name, a training run).
    #[serde(default)]
    pub source: String,
    /// Channel-width multiplier the network was built with (1 for imported checkpoints).
    #[serde(default)]
    pub width: Width,
    #[serde(default)]
    pub residual_scale: ResidualScale,
    /// How the file stores its weights (loading always gives f32).
    #[serde(default)]
    pub dtype: StorageDtype,
}

impl WeightsMeta {
    pub fn new(arch: Arch, num_classes: usize, source: impl Into<String>) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            arch,
            num_classes,
            labels: None,
            preprocess: Preprocess::timm_eval(arch),
            source: source.into(),
            width: Width::FULL,
            residual_scale: ResidualScale::ArchDefault,
            dtype: StorageDtype::F32,
        }
    }

    /// The configuration that rebuilds the network these weights belong to.
    pub fn network_config(&self) -> NetworkConfig {
        NetworkConfig::new(self.arch)
            .with_num_classes(self.num_classes)
            .with_width(self.width)
            .with_residual_scale(self.residual_scale)
    }

    /// Checks what a file says about itself before anything is built from it:
    /// `classifier_outputs` is the width of the file's own classifier tensor, when it has one.
    pub fn validate(&self, classifier_outputs: Option<usize>) -> Result<(), WeightsError> {
        let bad = |m: String| Err(WeightsError::Metadata(m));
        if self.format_version > FORMAT_VERSION {
            return bad(format!(
                "format version {} is newer than this program's {FORMAT_VERSION}",
                self.format_version
            ));
        }
        if self.num_classes == 0 {
            return bad("num_classes is 0".into());
        }
        if let Some(outputs) = classifier_outputs
            && outputs != self.num_classes
        {
            return bad(format!(
                "num_classes is {} but the classifier has {outputs} outputs",
                self.num_classes
            ));
        }
        if let Some(labels) = &self.labels
            && labels.len() != self.num_classes
        {
            return bad(format!("{} labels for {} classes", labels.len(), self.num_classes));
        }
        self.preprocess.validate().map_err(WeightsError::Metadata)?;
        self.network_config()
            .validate()
            .map_err(|e| WeightsError::Metadata(e.to_string()))
    }

    /// Class names, falling back to ImageNet-1k when the file has none.
    pub fn labels(&self) -> Vec<String> {
        match &self.labels {
            Some(l) => l.clone(),
            None if self.num_classes == crate::imagenet::NUM_CLASSES => {
                crate::imagenet::CLASSES.iter().map(|s| s.to_string()).collect()
            }
            None => (0..self.num_classes).map(|i| format!("class {i}")).collect(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the weights file is empty")]
    Empty,
    #[error("not a weights file: expected timm .safetensors, PyTorch .pth or this project's .bpk (first bytes: {0})")]
    UnknownFormat(String),
    #[error("broken or truncated {format:?} weights file: {message}")]
    Corrupt { format: WeightsFormat, message: String },
    #[error("a .bpk file without valid `{META_KEY}` metadata: {0}")]
    Metadata(String),
    #[error("{0:?} files can only be read from a path on this platform")]
    NeedsPath(WeightsFormat),
    #[error(
        "the weights do not fit {arch}{hint}: {} missing, {} unexpected, {} with the wrong shape\n{details}",
        missing.len(), unexpected.len(), mismatched.len(),
        hint = detected.map(|a| format!(" (the file looks like an {a} checkpoint)")).unwrap_or_default(),
        details = list_mismatch(missing, unexpected, mismatched)
    )]
    Mismatch {
        arch: Arch,
        detected: Option<Arch>,
        missing: Vec<String>,
        unexpected: Vec<String>,
        mismatched: Vec<String>,
    },
    #[error("the file is for {found}, but {requested} was asked for")]
    WrongArch { requested: Arch, found: Arch },
    #[error("tensor {name}: {message}")]
    BadTensor { name: String, message: String },
}

fn list_mismatch(missing: &[String], unexpected: &[String], mismatched: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut out = String::new();
    for (title, names) in [
        ("missing", missing),
        ("unexpected", unexpected),
        ("wrong shape", mismatched),
    ] {
        if names.is_empty() {
            continue;
        }
        out.push_str(&format!("  {title}:\n"));
        for n in names.iter().take(SHOWN) {
            out.push_str(&format!("    {n}\n"));
        }
        if names.len() > SHOWN {
            out.push_str(&format!("    ... and {} more\n", names.len() - SHOWN));
        }
    }
    out
}

/// Weights applied to a network, with what the file said about them.
#[derive(Debug)]
pub struct LoadedWeights {
    pub network: Network,
    pub meta: WeightsMeta,
    pub format: WeightsFormat,
}

/// timm key -> this crate's module path. IRv2 names are the checkpoint's own; Inception-v4's
/// flat `features.N` maps onto the stage names; the average-pool branches' projection
/// (`branchN.1`, after the parameterless pool at index 0) is `branchN.proj`.
pub fn timm_to_module_path(arch: Arch, key: &str) -> String {
    let key = match arch {
        Arch::InceptionResnetV2 | Arch::InceptionResnetV1 | Arch::InceptionResnetV2Paper => key.to_string(),
        Arch::InceptionV4 => match key.strip_prefix("features.").and_then(|rest| rest.split_once('.')) {
            Some((index, rest)) => match index.parse::<usize>().ok().and_then(v4_stage_of_feature) {
                Some((stage, None)) => format!("{stage}.{rest}"),
                Some((stage, Some(i))) => format!("{stage}.{i}.{rest}"),
                None => key.to_string(),
            },
            None => key.to_string(),
        },
    };
    key.replace(".branch3.1.", ".branch3.proj.")
}

/// This crate's module path -> timm key (inverse of [`timm_to_module_path`]), with burn's
/// BatchNorm names (`gamma`, `beta`) turned back into PyTorch's.
pub fn module_path_to_timm(arch: Arch, path: &str) -> String {
    let mut key = path.replace(".branch3.proj.", ".branch3.1.");
    if let Some(k) = key.strip_suffix(".bn.gamma") {
        key = format!("{k}.bn.weight");
    } else if let Some(k) = key.strip_suffix(".bn.beta") {
        key = format!("{k}.bn.bias");
    }
    if arch == Arch::InceptionV4 {
        for (first, stage, repeats) in TIMM_FEATURES {
            if let Some(rest) = key.strip_prefix(&format!("{stage}.")) {
                if repeats == 1 {
                    return format!("features.{first}.{rest}");
                }
                if let Some((i, rest)) = rest.split_once('.')
                    && let Ok(i) = i.parse::<usize>()
                {
                    return format!("features.{}.{rest}", first + i);
                }
            }
        }
    }
    key
}

fn v4_stage_of_feature(index: usize) -> Option<(&'static str, Option<usize>)> {
    TIMM_FEATURES.iter().find_map(|&(first, stage, repeats)| {
        (first..first + repeats)
            .contains(&index)
            .then(|| (stage, (repeats > 1).then_some(index - first)))
    })
}

/// Which architecture a timm state dict is, from its classifier's name.
pub fn detect_timm_arch<'a>(keys: impl IntoIterator<Item = &'a str>) -> Option<Arch> {
    keys.into_iter().find_map(|k| {
        Arch::TIMM
            .into_iter()
            .find(|a| k == format!("{}.weight", a.classifier_name()))
    })
}

/// Loads any supported weights file held in memory. `arch` is required to match a `.bpk`
/// file's own architecture; for a timm checkpoint it picks the network (detected from the
/// keys when `None`).
pub fn load_weights(
    bytes: Vec<u8>,
    arch: Option<Arch>,
    source: &str,
    device: &Device,
) -> Result<LoadedWeights, WeightsError> {
    if bytes.is_empty() {
        return Err(WeightsError::Empty);
    }
    match WeightsFormat::detect(&bytes) {
        Some(WeightsFormat::Burnpack) => load_burnpack(bytes, arch, device),
        Some(WeightsFormat::Safetensors) => {
            // The store, and with it the file's bytes, is dropped once its tensors have
            // buffers of their own, before the network is built: the file, its tensors and
            // the network are never in memory at once.
            let tensors = read_float_tensors(
                &mut SafetensorsStore::from_bytes(Some(bytes)),
                WeightsFormat::Safetensors,
            )?;
            load_timm_tensors(tensors, arch, source, WeightsFormat::Safetensors, device)
        }
        Some(WeightsFormat::PyTorch) => Err(WeightsError::NeedsPath(WeightsFormat::PyTorch)),
        None => Err(WeightsError::UnknownFormat(
            bytes
                .iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
        )),
    }
}

/// Loads a weights file from disk (native): safetensors and burnpack by content, PyTorch
/// `.pth` through burn-store's reader.
pub fn load_weights_file(
    path: &std::path::Path,
    arch: Option<Arch>,
    device: &Device,
) -> Result<LoadedWeights, WeightsError> {
    let bytes = std::fs::read(path).map_err(|source| WeightsError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let source = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    #[cfg(feature = "pytorch")]
    if WeightsFormat::detect(&bytes) == Some(WeightsFormat::PyTorch) {
        drop(bytes);
        // Keep timm's indices: burn renumbers Sequential indices contiguously by default,
        // which would turn the pool branches' `branch3.1` into `branch3.0`.
        let mut store = burn::store::PytorchStore::from_file(path).map_indices_contiguous(false);
        let tensors = read_float_tensors(&mut store, WeightsFormat::PyTorch)?;
        return load_timm_tensors(tensors, arch, &source, WeightsFormat::PyTorch, device);
    }
    load_weights(bytes, arch, &source, device)
}

/// A checkpoint's float tensors, each read into f32 data of its own and checked
/// ([`finite_f32`]), so that nothing of them still refers to the store afterwards.
fn read_float_tensors<S: ModuleStore>(store: &mut S, format: WeightsFormat) -> Result<Vec<PackTensor>, WeightsError> {
    let tensors: Vec<PackTensor> = store
        .get_all_tensors()
        .map(|all| all.values().cloned().collect())
        .map_err(|e| WeightsError::Corrupt {
            format,
            message: e.to_string(),
        })?;
    tensors
        .into_iter()
        // BatchNorm's step counter is training bookkeeping that burn does not keep.
        .filter(|t| !t.name.ends_with(".num_batches_tracked"))
        .map(finite_f32)
        .collect()
}

fn load_timm_tensors(
    tensors: Vec<PackTensor>,
    arch: Option<Arch>,
    source: &str,
    format: WeightsFormat,
    device: &Device,
) -> Result<LoadedWeights, WeightsError> {
    let detected = detect_timm_arch(tensors.iter().map(|t| t.name.as_str()));
    let arch = arch.or(detected).unwrap_or(Arch::InceptionResnetV2);

    // A TF-slim classifier has 1001 outputs, the first for "background". PyTorch keeps
    // Linear weights as [outputs, inputs]; a tensor of another rank is reported as
    // mis-shaped below.
    let classifier_key = format!("{}.weight", arch.classifier_name());
    let file_classes = tensors
        .iter()
        .find(|t| t.name == classifier_key && t.shape.len() == 2)
        .map(|t| t.shape[0]);
    if file_classes == Some(0) {
        return Err(WeightsError::BadTensor {
            name: classifier_key,
            message: "the classifier has no outputs".into(),
        });
    }
    let has_background = file_classes == Some(crate::imagenet::NUM_CLASSES + 1);
    let num_classes = file_classes.unwrap_or(crate::imagenet::NUM_CLASSES);

    let mut original_names = HashMap::new();
    let tensors = tensors
        .into_iter()
        .map(|mut t| {
            let path = timm_to_module_path(arch, &t.name);
            original_names.insert(path.clone(), t.name.clone());
            t.name = path;
            t
        })
        .collect();

    let mut network = NetworkConfig::new(arch).with_num_classes(num_classes).init(device);
    apply_checked(
        &mut network,
        tensors,
        Some(Box::new(PyTorchToBurnAdapter)),
        detected,
        |path| {
            original_names
                .get(path)
                .cloned()
                .unwrap_or_else(|| module_path_to_timm(arch, path))
        },
    )?;
    if has_background {
        let classifier = network.classifier_mut();
        *classifier = drop_first_output(classifier.clone());
    }
    let meta = WeightsMeta::new(arch, network.num_classes(), source);
    Ok(LoadedWeights { network, meta, format })
}

fn load_burnpack(bytes: Vec<u8>, arch: Option<Arch>, device: &Device) -> Result<LoadedWeights, WeightsError> {
    let bytes = Bytes::from_bytes_vec(bytes);
    let corrupt = |e: &dyn std::fmt::Display| WeightsError::Corrupt {
        format: WeightsFormat::Burnpack,
        message: e.to_string(),
    };
    // The reader takes the file's bytes, so that they go as soon as the tensors no longer
    // need them.
    let reader = burn_pack::Reader::from_bytes(bytes).map_err(|e| corrupt(&e))?;
    let meta: WeightsMeta = reader
        .metadata()
        .get(META_KEY)
        .ok_or_else(|| WeightsError::Metadata("missing".into()))
        .and_then(|json| serde_json::from_str(json).map_err(|e| WeightsError::Metadata(e.to_string())))?;
    if let Some(requested) = arch
        && requested != meta.arch
    {
        return Err(WeightsError::WrongArch {
            requested,
            found: meta.arch,
        });
    }
    let tensors = reader.into_tensors().map_err(|e| corrupt(&e))?;
    let tensors = storage::decode(tensors)
        .map_err(|(name, message)| WeightsError::BadTensor { name, message })?
        .into_iter()
        .map(finite_f32)
        .collect::<Result<Vec<_>, _>>()?;
    // burn keeps Linear weights as [inputs, outputs]. Checked before the network is built,
    // so that a file claiming a billion classes is refused instead of allocated.
    let classifier_key = format!("{}.weight", meta.arch.classifier_name());
    let outputs = tensors
        .iter()
        .find(|t| t.name == classifier_key && t.shape.len() == 2)
        .map(|t| t.shape[1]);
    meta.validate(outputs)?;
    let mut network = meta.network_config().init(device);
    let size = meta.preprocess.input_size;
    network
        .check_input(size, size)
        .map_err(|e| WeightsError::Metadata(format!("input_size {size}: {e}")))?;
    apply_checked(&mut network, tensors, None, None, |p| p.to_string())?;
    Ok(LoadedWeights {
        network,
        meta,
        format: WeightsFormat::Burnpack,
    })
}

/// A tensor as the networks hold it: f32 with finite values. Checkpoints saved in half
/// precision (f16, bf16) or in f64 are converted; integer tensors, data shorter or longer
/// than the shape says, and NaN or infinite values are errors naming the tensor.
fn finite_f32(t: PackTensor) -> Result<PackTensor, WeightsError> {
    let bad = |name: &str, message: String| WeightsError::BadTensor {
        name: name.to_string(),
        message,
    };
    let elements = t
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| bad(&t.name, format!("shape {:?} is too large", t.shape.as_slice())))?;
    // Refused on what the header says, before the data is read.
    let expected = match t.dtype {
        DType::F32 | DType::F16 | DType::BF16 | DType::F64 => elements.checked_mul(t.dtype.size()),
        other => return Err(bad(&t.name, format!("{other:?} data where floats were expected"))),
    };
    if expected != Some(t.byte_len()) {
        return Err(bad(
            &t.name,
            format!(
                "{} bytes of data for shape {:?} of {:?}",
                t.byte_len(),
                t.shape.as_slice(),
                t.dtype
            ),
        ));
    }
    let name = t.name.clone();
    // A reader's deferred data is checked against the length it declared.
    let (_, dtype, shape, param_id, bytes) = t.into_parts().map_err(|e| bad(&name, e.to_string()))?;
    // Converted values for the other dtypes; f32 data is checked where it lies.
    let converted: Option<Vec<f32>> = match dtype {
        DType::F32 => None,
        DType::F16 => Some(
            bytes
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        ),
        DType::BF16 => Some(
            bytes
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        ),
        _ => Some(
            bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32)
                .collect(),
        ),
    };
    let non_finite = match &converted {
        Some(values) => values.iter().filter(|v| !v.is_finite()).count(),
        None => bytes
            .chunks_exact(4)
            .filter(|b| !f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite())
            .count(),
    };
    if non_finite > 0 {
        let what = if dtype == DType::F64 {
            "NaN, infinite or out-of-f32-range"
        } else {
            "NaN or infinite"
        };
        return Err(bad(&name, format!("{non_finite} of its {elements} values are {what}")));
    }
    let bytes = match converted {
        None => bytes,
        Some(values) => Bytes::from_bytes_vec(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
    };
    Ok(PackTensor::new(name, DType::F32, shape, param_id, bytes))
}

/// Applies tensors and turns every miss into one error, naming tensors with `file_name`.
fn apply_checked(
    network: &mut Network,
    tensors: Vec<PackTensor>,
    adapter: Option<Box<dyn burn::store::ModuleAdapter>>,
    detected: Option<Arch>,
    file_name: impl Fn(&str) -> String,
) -> Result<(), WeightsError> {
    let arch = network.arch();
    let result = network.apply(tensors, None, adapter, false);
    let missing: Vec<String> = result.missing.iter().map(|(p, _)| file_name(p)).collect();
    let unexpected: Vec<String> = result.unused.iter().map(|p| file_name(p)).collect();
    let mismatched: Vec<String> = result
        .errors
        .iter()
        .map(|e| match e {
            ApplyError::ShapeMismatch { path, expected, found } => {
                format!(
                    "{}: expected {:?}, found {:?}",
                    file_name(path),
                    expected.as_slice(),
                    found.as_slice()
                )
            }
            ApplyError::DTypeMismatch { path, expected, found } => {
                format!("{}: expected {expected:?}, found {found:?}", file_name(path))
            }
            ApplyError::AdapterError { path, message } | ApplyError::LoadError { path, message } => {
                format!("{}: {message}", file_name(path))
            }
        })
        .collect();
    if missing.is_empty() && unexpected.is_empty() && mismatched.is_empty() {
        Ok(())
    } else {
        Err(WeightsError::Mismatch {
            arch,
            detected: detected.filter(|d| *d != arch),
            missing,
            unexpected,
            mismatched,
        })
    }
}

/// Removes output 0 of a Linear layer (TF-slim's background class).
fn drop_first_output(linear: Linear) -> Linear {
    // burn stores Linear weights as [inputs, outputs].
    let outputs = linear.weight.dims()[1];
    Linear {
        weight: Param::from_tensor(linear.weight.val().narrow(1, 1, outputs - 1)),
        bias: linear
            .bias
            .map(|b| Param::from_tensor(b.val().narrow(0, 1, outputs - 1))),
    }
}

/// Writes the project's own format, its weights stored at `meta.dtype` (atomically: a
/// temporary file renamed into place). At f32 each tensor is read back from the device only
/// when the writer reaches it.
pub fn save_burnpack(network: &Network, meta: &WeightsMeta, path: &std::path::Path) -> Result<(), String> {
    let json = serde_json::to_string(meta).map_err(|e| e.to_string())?;
    let tensors = network.collect(None, None, false);
    let mut writer = burn_pack::Writer::new(storage::encode(tensors, meta.dtype)?);
    for (key, value) in burn::store::BurnpackStore::default_metadata() {
        writer = writer.with_metadata(&key, &value);
    }
    writer
        .with_metadata(META_KEY, &json)
        .auto_extension(false)
        .overwrite(true)
        .write_to_file(path)
        .map_err(|e| e.to_string())
}
