//! Loading weights: timm names, TF-slim's 1001 classes, mismatches listed in one error,
//! broken files refused, and the project's own `.bpk` round trip at f32, f16 and int8.

mod common;

use burn::prelude::*;
use burn::store::ModuleSnapshot;
use common::*;
use inception::storage::StorageDtype;
use inception::weights::{
    WeightsError, WeightsFormat, WeightsMeta, load_weights_file, module_path_to_timm, save_burnpack,
    timm_to_module_path,
};
use inception::{Arch, NetworkConfig, load_weights};

fn fixture_weights(arch: Arch) -> Vec<u8> {
    std::fs::read(fixture_dir(arch).join("weights.safetensors")).unwrap()
}

#[test]
fn timm_names_map_both_ways() {
    for arch in Arch::TIMM {
        let network = NetworkConfig::new(arch).init(&Device::flex());
        let paths: std::collections::HashSet<String> =
            network.collect(None, None, false).into_iter().map(|t| t.name).collect();
        let mut mapped = 0;
        let keys = std::fs::read_to_string(format!(
            "{}/../../../shared/oracle/{}.keys.txt",
            env!("CARGO_MANIFEST_DIR"),
            arch.timm_name().expect("a timm architecture")
        ))
        .expect("oracle key list");
        for key in keys
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split('\t').next())
        {
            // PyTorch's BatchNorm counter: burn has none, and the loader drops it.
            if key.ends_with("num_batches_tracked") {
                continue;
            }
            // BatchNorm keys too: the loader's PyTorch adapter then renames `bn.weight` and
            // `bn.bias` to burn's `bn.gamma` and `bn.beta`.
            let path = timm_to_module_path(arch, key)
                .replace(".bn.weight", ".bn.gamma")
                .replace(".bn.bias", ".bn.beta");
            assert!(
                paths.contains(&path),
                "{arch}: {key} -> {path}, which the network does not have"
            );
            assert_eq!(module_path_to_timm(arch, &path), key, "{arch}: {key} -> {path}");
            mapped += 1;
        }
        assert_eq!(
            mapped,
            paths.len(),
            "{arch}: every tensor of the network has a timm key"
        );
    }
    assert_eq!(
        timm_to_module_path(Arch::InceptionV4, "features.12.branch3.1.conv.weight"),
        "inception_b.1.branch3.proj.conv.weight"
    );
}

#[test]
fn wrong_architecture_lists_what_does_not_fit() {
    let err = load_weights(
        fixture_weights(Arch::InceptionV4),
        Some(Arch::InceptionResnetV2),
        "v4",
        &Device::flex(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, WeightsError::Mismatch { .. }), "{msg}");
    assert!(msg.contains("do not fit inception-resnet-v2"), "{msg}");
    assert!(msg.contains("looks like an inception-v4 checkpoint"), "{msg}");
    assert!(msg.contains("missing") && msg.contains("unexpected"), "{msg}");
    assert!(
        msg.contains("block8.branch0.conv.weight"),
        "names missing tensors by timm key: {msg}"
    );
    assert!(
        msg.contains("features.0.conv.weight"),
        "names unexpected tensors as in the file: {msg}"
    );
    assert!(
        msg.contains("1102 missing, 747 unexpected"),
        "counts all of them: {msg}"
    );
}

#[test]
fn truncated_and_garbage_files_are_refused() {
    let bytes = fixture_weights(Arch::InceptionResnetV2);
    let device = Device::flex();
    for cut in [bytes.len() / 2, 100, 9] {
        let err = load_weights(bytes[..cut].to_vec(), Some(Arch::InceptionResnetV2), "cut", &device).unwrap_err();
        assert!(
            matches!(err, WeightsError::Corrupt { .. } | WeightsError::UnknownFormat(_)),
            "cut at {cut}: {err}"
        );
    }
    assert!(matches!(
        load_weights(vec![], None, "", &device),
        Err(WeightsError::Empty)
    ));
    let err = load_weights(b"<html>not weights</html>".to_vec(), None, "", &device).unwrap_err();
    assert!(matches!(err, WeightsError::UnknownFormat(_)), "{err}");
}

#[test]
fn tf_slim_background_class_is_dropped() {
    // Build a 1001-class checkpoint the way TF-slim exports it: class 0 is "background".
    let device = Device::flex();
    let dir = tempdir();
    let mut net = NetworkConfig::new(Arch::InceptionV4)
        .with_num_classes(1001)
        .init(&device);
    let path = dir.join("v4_1001.safetensors");
    save_timm_safetensors(&mut net, &path);
    let loaded = load_weights_file(&path, None, &device).unwrap();
    assert_eq!(
        loaded.meta.arch,
        Arch::InceptionV4,
        "architecture detected from the keys"
    );
    assert_eq!(loaded.network.num_classes(), 1000);

    let x = Tensor::<4>::random([1, 3, 75, 75], burn::tensor::Distribution::Default, &device);
    let full = to_vec(net.forward(x.clone()));
    let dropped = to_vec(loaded.network.forward(x));
    assert!(max_abs_diff(&full[1..], &dropped) < 1e-5);
}

#[test]
fn own_format_round_trips_with_metadata() {
    let device = Device::flex();
    let loaded = load_weights(fixture_weights(Arch::InceptionV4), None, "fixture.safetensors", &device).unwrap();
    let mut meta = loaded.meta.clone();
    meta.labels = Some((0..1000).map(|i| format!("thing {i}")).collect());
    let path = tempdir().join("v4.bpk");
    save_burnpack(&loaded.network, &meta, &path).unwrap();

    let again = load_weights_file(&path, None, &device).unwrap();
    assert_eq!(again.format, WeightsFormat::Burnpack);
    assert_eq!(again.meta, meta);
    let x = Tensor::<4>::random([1, 3, 80, 80], burn::tensor::Distribution::Default, &device);
    let a = to_vec(loaded.network.forward(x.clone()));
    let b = to_vec(again.network.forward(x));
    assert_eq!(a, b, "identical weights give identical logits");

    let err = load_weights_file(&path, Some(Arch::InceptionResnetV2), &device).unwrap_err();
    assert!(matches!(err, WeightsError::WrongArch { .. }), "{err}");

    let bytes = std::fs::read(&path).unwrap();
    let err = load_weights(bytes[..bytes.len() / 3].to_vec(), None, "", &device).unwrap_err();
    assert!(matches!(err, WeightsError::Corrupt { .. }), "truncated .bpk: {err}");
    assert_eq!(WeightsMeta::new(Arch::InceptionV4, 1000, "").labels().len(), 1000);
}

#[test]
fn smaller_dtypes_keep_the_top_1_at_a_half_and_a_quarter_of_the_size() {
    let device = Device::flex();
    let loaded = load_weights(fixture_weights(Arch::InceptionResnetV2), None, "fixture", &device).unwrap();
    let input = read_f32(fixture_dir(Arch::InceptionResnetV2).join("input.f32"));
    let x = Tensor::<4>::from_data(TensorData::new(input, [1, 3, 299, 299]), &device);
    let dir = tempdir();
    let mut sizes = Vec::new();
    let mut logits = Vec::new();
    for dtype in StorageDtype::ALL {
        let meta = WeightsMeta {
            dtype,
            ..loaded.meta.clone()
        };
        let path = dir.join(format!("irv2-{dtype}.bpk"));
        save_burnpack(&loaded.network, &meta, &path).unwrap();
        sizes.push(std::fs::metadata(&path).unwrap().len() as f64);
        let again = load_weights_file(&path, None, &device).unwrap();
        assert_eq!(again.meta, meta);
        logits.push(to_vec(again.network.forward(x.clone())));
    }
    let (f16_ratio, int8_ratio) = (sizes[1] / sizes[0], sizes[2] / sizes[0]);
    assert!(f16_ratio < 0.51 && int8_ratio < 0.26, "sizes {sizes:?}");
    let range = logits[0].iter().fold(0f32, |m, v| m.max(v.abs()));
    for (dtype, l) in [(StorageDtype::F16, &logits[1]), (StorageDtype::Int8, &logits[2])] {
        let diff = max_abs_diff(l, &logits[0]);
        eprintln!(
            "{dtype}: max |logit - f32's| {diff:.2e} (largest |logit| {range:.2}), top-5 {:?}",
            top5(l)
        );
        assert_eq!(top5(l)[0], top5(&logits[0])[0], "{dtype}: the top-1 of f32");
        assert!(diff < 0.05 * range, "{dtype}: {diff} against a logit range of {range}");
    }
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "inception-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a network as a timm-named safetensors state dict (what timm's `save_file` makes).
fn save_timm_safetensors(net: &mut inception::Network, path: &std::path::Path) {
    use burn::store::{BurnToPyTorchAdapter, SafetensorsStore};
    let arch = net.arch();
    let mut store = SafetensorsStore::from_file(path).with_to_adapter(BurnToPyTorchAdapter);
    net.save_into(&mut store).unwrap();
    // Rename our module paths to timm's keys.
    let bytes = std::fs::read(path).unwrap();
    let tensors = safetensors_rename(&bytes, |k| module_path_to_timm(arch, k));
    std::fs::write(path, tensors).unwrap();
}

/// Rewrites a safetensors file's tensor names (header only; data offsets are unchanged).
fn safetensors_rename(bytes: &[u8], rename: impl Fn(&str) -> String) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let renamed: serde_json::Map<String, serde_json::Value> = header
        .into_iter()
        .map(|(k, v)| if k == "__metadata__" { (k, v) } else { (rename(&k), v) })
        .collect();
    let mut h = serde_json::to_vec(&renamed).unwrap();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&h);
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

/// A PyTorch `torch.save` state dict loads like the safetensors file it was made from.
#[test]
fn pytorch_pth_loads_like_safetensors() {
    let dir = fixture_dir(Arch::InceptionV4);
    let device = Device::flex();
    let pth = load_weights_file(&dir.join("weights.pth"), Some(Arch::InceptionV4), &device).expect(".pth loads");
    assert_eq!(pth.format, WeightsFormat::PyTorch);
    let st = load_weights(fixture_weights(Arch::InceptionV4), Some(Arch::InceptionV4), "", &device).unwrap();
    let x = Tensor::<4>::random([1, 3, 75, 75], burn::tensor::Distribution::Default, &device);
    assert_eq!(to_vec(pth.network.forward(x.clone())), to_vec(st.network.forward(x)));
}
