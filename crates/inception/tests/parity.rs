//! Parity with timm: the same weights and input give the same logits, top-5 and
//! intermediate activations as timm's `inception_resnet_v2` / `inception_v4` (fixtures
//! from ../shared/oracle/make_fixture.py), on each backend.

mod common;

use burn::prelude::*;
use common::*;
use inception::model::{inception_resnet_v2, inception_v4};
use inception::{Arch, load_weights};

/// Max abs logit difference allowed (the bound). fp32 vs fp64 in timm itself is
/// ~1e-6 (IRv2) / ~5e-6 (v4) on these fixtures.
const LOGIT_TOL: f32 = 1e-4;

/// timm tap name of each of our stage names.
fn timm_taps(arch: Arch) -> Vec<(&'static str, String)> {
    match arch {
        Arch::InceptionResnetV2 => inception_resnet_v2::TAPS.iter().map(|t| (*t, t.to_string())).collect(),
        Arch::InceptionV4 => inception_v4::TAPS
            .iter()
            .zip(["features.2", "features.3", "features.9", "features.17", "features.21"])
            .map(|(ours, timm)| (*ours, timm.to_string()))
            .collect(),
        other => panic!("timm has no {other}"),
    }
}

/// Which form of the network a parity check runs.
#[derive(Clone, Copy, Debug)]
enum Form {
    /// As loaded (what training uses).
    Loaded,
    /// BatchNorm folded into the convolutions (what `classify`, `bench` and the page run).
    Folded,
}

fn check(arch: Arch, backend: &str, form: Form) {
    let dir = fixture_dir(arch);
    let device = device(backend);
    let bytes = std::fs::read(dir.join("weights.safetensors")).unwrap();
    let loaded = load_weights(bytes, Some(arch), "fixture", &device).expect("fixture weights load");
    let network = match form {
        Form::Loaded => loaded.network,
        Form::Folded => loaded.network.for_inference(&device),
    };
    assert_eq!(network.num_classes(), 1000);

    let input = read_f32(dir.join("input.f32"));
    let x = Tensor::<4>::from_data(TensorData::new(input, [1, 3, 299, 299]), &device);
    let taps = timm_taps(arch);
    let (logits, outputs) = network.forward_with_taps(x);
    let tapped: Vec<_> = outputs
        .into_iter()
        .filter(|(name, _)| taps.iter().any(|(ours, _)| ours == name))
        .collect();
    let logits = to_vec(logits);
    let expected = read_f32(dir.join("logits.f32"));

    let diff = max_abs_diff(&logits, &expected);
    println!("{arch} on {backend} ({form:?}): max |logit - timm| = {diff:.3e}");
    assert!(
        diff <= LOGIT_TOL,
        "{arch} on {backend}: logits differ from timm by {diff}"
    );
    assert_eq!(top5(&logits), top5(&expected), "{arch} on {backend}: top-5 differs");

    assert_eq!(tapped.len(), taps.len());
    for ((name, activation), (_, timm_name)) in tapped.into_iter().zip(&taps) {
        let ours = to_vec(activation);
        let theirs = read_f32(dir.join(format!("tap_{timm_name}.f32")));
        let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = max_abs_diff(&ours, &theirs);
        println!("  tap {name:<12} max |diff| = {diff:.3e} (max |activation| {scale:.2})");
        // Activations grow to O(10-100); allow fp32 reordering error relative to that.
        assert!(
            diff <= 1e-5 * scale.max(1.0) * 10.0,
            "{arch} {backend}: tap {name} differs by {diff}"
        );
    }
}

#[test]
fn inception_resnet_v2_ndarray() {
    check(Arch::InceptionResnetV2, "ndarray", Form::Folded);
}

#[test]
fn inception_resnet_v2_flex() {
    check(Arch::InceptionResnetV2, "flex", Form::Folded);
}

#[test]
fn inception_resnet_v2_wgpu() {
    check(Arch::InceptionResnetV2, "wgpu", Form::Folded);
}

#[test]
fn inception_resnet_v2_flex_as_loaded() {
    check(Arch::InceptionResnetV2, "flex", Form::Loaded);
}

#[test]
fn inception_v4_flex_as_loaded() {
    check(Arch::InceptionV4, "flex", Form::Loaded);
}

#[test]
fn inception_v4_ndarray() {
    check(Arch::InceptionV4, "ndarray", Form::Folded);
}

#[test]
fn inception_v4_flex() {
    check(Arch::InceptionV4, "flex", Form::Folded);
}

#[test]
fn inception_v4_wgpu() {
    check(Arch::InceptionV4, "wgpu", Form::Folded);
}

/// The hash-derived synthetic network (what the browser test runs) gives the same logits on
/// every native backend, and they are not degenerate.
#[test]
fn synthetic_weights_agree_across_backends() {
    use inception::model::hashed::{hashed_input, hashed_weights};
    let run = |backend: &str| {
        let device = device(backend);
        let net = hashed_weights(inception::NetworkConfig::new(Arch::InceptionResnetV2).init(&device), 0);
        let x = Tensor::<4>::from_data(TensorData::new(hashed_input(1, 75, 0), [1, 3, 75, 75]), &device);
        to_vec(net.forward(x))
    };
    let flex = run("flex");
    let spread = flex.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(
        flex.iter().all(|v| v.is_finite()) && spread > 0.1,
        "degenerate logits: max |logit| {spread}"
    );
    for backend in ["ndarray", "wgpu"] {
        let other = run(backend);
        let diff = max_abs_diff(&flex, &other);
        println!("synthetic IRv2 75x75: flex vs {backend}: max |diff| = {diff:.3e}");
        assert!(diff <= 1e-5, "{backend}: {diff}");
        assert_eq!(top5(&flex), top5(&other));
    }
}

/// Folding keeps every network's logits (hash-derived weights with BatchNorm statistics far
/// from the identity, at a small width): the one-convolution path, the BatchNorm path on the
/// folded values (`valid()` clears the flags) and a second fold all agree with the original.
#[test]
fn folding_batch_norm_keeps_the_logits_of_every_network() {
    use inception::NetworkConfig;
    use inception::model::Width;
    use inception::model::fold::{FoldedLayers, folded_layers};
    use inception::model::hashed::{hashed_input, hashed_weights};
    let device = device("flex");
    let x = || Tensor::<4>::from_data(TensorData::new(hashed_input(1, 75, 1), [1, 3, 75, 75]), &device);
    for arch in Arch::ALL {
        let config = NetworkConfig::new(arch).with_width(Width::new(0.25).unwrap());
        let network = hashed_weights(config.init(&device), 3);
        let layers = folded_layers(&network).layers;
        assert!(layers > 20, "{arch}: {layers} BasicConv2d layers found");
        assert_eq!(folded_layers(&network), FoldedLayers { folded: 0, layers });
        let expected = to_vec(network.forward(x()));
        let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs()));

        let folded = network.fold_batch_norm();
        assert_eq!(
            folded_layers(&folded),
            FoldedLayers { folded: layers, layers },
            "{arch}"
        );
        let forms = [
            ("folded", to_vec(folded.forward(x()))),
            ("folded, BatchNorm path", to_vec(folded.valid().forward(x()))),
            ("folded twice", to_vec(folded.clone().fold_batch_norm().forward(x()))),
        ];
        for (form, logits) in forms {
            let diff = max_abs_diff(&logits, &expected);
            println!("{arch} ({form}): max |diff| = {diff:.3e} (max |logit| {scale:.2})");
            assert!(
                diff <= 1e-5 * scale.max(1.0) * 10.0,
                "{arch} {form}: logits differ by {diff}"
            );
        }
    }
}
