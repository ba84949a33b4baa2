//! The paper's own networks (Inception-ResNet-v1, the paper's Inception-ResNet-v2), the
//! width multiplier and residual scaling: output shapes follow the paper's figures and the
//! options reach every block.

mod common;

use burn::prelude::*;
use common::shape_of;
use inception::model::residual::ResidualScale;
use inception::model::{ConfigError, Network, Width};
use inception::{Arch, NetworkConfig, Summary};

fn summary_of(config: NetworkConfig, size: usize) -> Summary {
    config.init(&Device::flex()).summary(size, size).unwrap()
}

#[test]
fn inception_resnet_v1_shapes_follow_figures_14_to_15() {
    let s = summary_of(NetworkConfig::new(Arch::InceptionResnetV1), 299);
    // Figure 14 (stem): 149x149x32, 147x147x32, 147x147x64, 73x73x64, 73x73x80, 71x71x192, 35x35x256.
    assert_eq!(shape_of(&s, "conv2d_1a"), (149, 149, 32));
    assert_eq!(shape_of(&s, "conv2d_2a"), (147, 147, 32));
    assert_eq!(shape_of(&s, "conv2d_2b"), (147, 147, 64));
    assert_eq!(shape_of(&s, "maxpool_3a"), (73, 73, 64));
    assert_eq!(shape_of(&s, "conv2d_3b"), (73, 73, 80));
    assert_eq!(shape_of(&s, "conv2d_4a"), (71, 71, 192));
    assert_eq!(shape_of(&s, "conv2d_4b"), (35, 35, 256));
    // Figure 15: 5 x A (Figure 10), Reduction-A (Figure 7, k=192 l=192 m=256 n=384),
    // 10 x B (Figure 11), Reduction-B (Figure 12), 5 x C (Figure 13).
    assert_eq!(shape_of(&s, "repeat"), (35, 35, 256));
    assert_eq!(shape_of(&s, "mixed_6a"), (17, 17, 896));
    assert_eq!(shape_of(&s, "repeat_1"), (17, 17, 896));
    assert_eq!(shape_of(&s, "mixed_7a"), (8, 8, 1792));
    assert_eq!(shape_of(&s, "repeat_2"), (8, 8, 1792));
    assert_eq!(s.features.channels, 1792);
    assert_eq!(shape_of(&s, "classif"), (1, 1, 1000));
}

#[test]
fn paper_inception_resnet_v2_shapes_follow_figures_3_and_16_to_19() {
    let s = summary_of(NetworkConfig::new(Arch::InceptionResnetV2Paper), 299);
    // Figure 3 (the Inception-v4 stem).
    assert_eq!(shape_of(&s, "conv2d_2b"), (147, 147, 64));
    assert_eq!(shape_of(&s, "mixed_3a"), (73, 73, 160));
    assert_eq!(shape_of(&s, "mixed_4a"), (71, 71, 192));
    assert_eq!(shape_of(&s, "mixed_5a"), (35, 35, 384));
    assert_eq!(shape_of(&s, "repeat"), (35, 35, 384));
    // Reduction-A with k=256 l=256 m=384 n=384: 384 + 384 + 384.
    assert_eq!(shape_of(&s, "mixed_6a"), (17, 17, 1152));
    assert_eq!(shape_of(&s, "repeat_1"), (17, 17, 1152));
    // Figure 18: 1152 + 384 + 288 + 320.
    assert_eq!(shape_of(&s, "mixed_7a"), (8, 8, 2144));
    assert_eq!(shape_of(&s, "repeat_2"), (8, 8, 2144));
    assert_eq!(s.features.channels, 2144);
}

#[test]
fn every_network_accepts_75_pixels_and_runs_at_a_sixteenth_width() {
    let device = Device::flex();
    for arch in Arch::ALL {
        let net = NetworkConfig::new(arch)
            .with_num_classes(5)
            .with_width(Width::new(1.0 / 16.0).unwrap())
            .init(&device);
        let features = net.check_input(75, 75).unwrap();
        let logits = net.forward(Tensor::<4>::ones([1, 3, 75, 75], &device));
        assert_eq!(logits.dims(), [1, 5], "{arch}");
        assert_eq!(net.num_features(), features.channels, "{arch}");
    }
}

#[test]
fn width_scales_every_channel_count_exactly() {
    let full = summary_of(NetworkConfig::new(Arch::InceptionResnetV2), 299);
    let quarter = summary_of(
        NetworkConfig::new(Arch::InceptionResnetV2).with_width(Width::new(0.25).unwrap()),
        299,
    );
    for (a, b) in full.layers.iter().zip(&quarter.layers) {
        if a.name == "classif" {
            continue;
        }
        assert_eq!(a.output.channels, 4 * b.output.channels, "{}", a.name);
        assert_eq!((a.output.height, a.output.width), (b.output.height, b.output.width));
    }
    // Parameters of the convolutions fall by ~16x.
    let ratio = full.params as f64 / quarter.params as f64;
    assert!((10.0..17.0).contains(&ratio), "{ratio}");
    assert!(Width::new(0.3).is_err());
    assert!(Width::new(0.0).is_err());
    assert!(Width::new(f32::NAN).is_err());
}

/// Residual scale of every A, B and C block, in order.
fn block_scales(net: &Network) -> Vec<Option<f32>> {
    macro_rules! scales {
        ($n:expr) => {
            $n.repeat
                .iter()
                .map(|b| b.scale)
                .chain($n.repeat_1.iter().map(|b| b.scale))
                .chain($n.repeat_2.iter().map(|b| b.scale))
                .collect()
        };
    }
    match net {
        Network::InceptionResnetV2(n) => scales!(n),
        Network::InceptionResnetV1(n) => scales!(n),
        Network::InceptionResnetV2Paper(n) => scales!(n),
        Network::InceptionV4(_) => vec![],
    }
}

#[test]
fn residual_scale_reaches_every_block_of_every_residual_network() {
    let device = Device::flex();
    let tiny = Width::new(1.0 / 16.0).unwrap();
    for arch in [
        Arch::InceptionResnetV2,
        Arch::InceptionResnetV1,
        Arch::InceptionResnetV2Paper,
    ] {
        let build = |scale| {
            NetworkConfig::new(arch)
                .with_width(tiny)
                .with_residual_scale(scale)
                .init(&device)
        };
        let scaled = block_scales(&build(ResidualScale::Factor(0.3)));
        assert!(scaled.iter().all(|s| *s == Some(0.3)), "{arch}: {scaled:?}");
        let unscaled = block_scales(&build(ResidualScale::Unscaled));
        assert!(unscaled.iter().all(Option::is_none), "{arch}");
        let default = block_scales(&build(ResidualScale::ArchDefault));
        assert_eq!(default.first(), Some(&Some(0.17)), "{arch}");
        assert_eq!(default.last(), Some(&Some(0.20)), "{arch}");
    }
    let v4 = NetworkConfig::new(Arch::InceptionV4).with_residual_scale(ResidualScale::Factor(0.2));
    assert_eq!(v4.validate(), Err(ConfigError::NotResidual(Arch::InceptionV4)));
    assert_eq!("none".parse::<ResidualScale>(), Ok(ResidualScale::Unscaled));
    assert_eq!("0.1".parse::<ResidualScale>(), Ok(ResidualScale::Factor(0.1)));
    assert!("1.5".parse::<ResidualScale>().is_err());
    assert!("x".parse::<ResidualScale>().is_err());
}

#[test]
fn scaling_changes_the_output_and_unscaled_differs_from_scaled() {
    // Same weights (same seed), different residual scales: the logits must differ.
    let device = Device::flex();
    let tiny = Width::new(1.0 / 16.0).unwrap();
    let x = Tensor::<4>::ones([1, 3, 75, 75], &device);
    let logits = |scale| {
        let net = NetworkConfig::new(Arch::InceptionResnetV1)
            .with_width(tiny)
            .with_residual_scale(scale)
            .init(&device);
        let net = inception::model::hashed::hashed_weights(net, 7);
        net.forward(x.clone()).into_data().try_to_vec::<f32>().unwrap()
    };
    let a = logits(ResidualScale::Factor(0.1));
    let b = logits(ResidualScale::Unscaled);
    assert_ne!(a, b);
}
