//! Parameter counts equal timm's, output shapes follow the paper, FLOPs match
//! torch.utils.flop_counter, and a too-small input is an error, not a panic.

mod common;

use burn::prelude::*;
use common::shape_of;
use inception::model::TrainableParams;
use inception::{Arch, NetworkConfig};

fn summary(arch: Arch, classes: usize, size: usize) -> Result<inception::Summary, inception::model::InputTooSmall> {
    NetworkConfig::new(arch)
        .with_num_classes(classes)
        .init(&Device::flex())
        .summary(size, size)
}

#[test]
fn parameter_counts_equal_timm() {
    // timm 1.0.31, ../shared/oracle/*.info.json
    let irv2 = NetworkConfig::new(Arch::InceptionResnetV2).init(&Device::flex());
    assert_eq!(irv2.trainable_params(), 55_843_464);
    let v4 = NetworkConfig::new(Arch::InceptionV4).init(&Device::flex());
    assert_eq!(v4.trainable_params(), 42_679_816);
    // The summary's total is the same count, row by row.
    assert_eq!(irv2.summary(299, 299).unwrap().params, 55_843_464);
    assert_eq!(v4.summary(299, 299).unwrap().params, 42_679_816);
}

#[test]
fn flops_equal_torch_flop_counter() {
    // flops_per_image in ../shared/oracle/*.info.json (conv + addmm, 2 per MAC)
    assert_eq!(
        summary(Arch::InceptionResnetV2, 1000, 299).unwrap().flops,
        26_311_588_032
    );
    let v4 = summary(Arch::InceptionV4, 1000, 299).unwrap().flops;
    assert!((v4 as f64 / 24.51e9 - 1.0).abs() < 1e-3, "v4 flops {v4}");
}

#[test]
fn output_shapes_at_299() {
    let s = summary(Arch::InceptionResnetV2, 1000, 299).unwrap();
    assert_eq!(shape_of(&s, "conv2d_2b"), (147, 147, 64));
    assert_eq!(shape_of(&s, "mixed_5b"), (35, 35, 320));
    assert_eq!(shape_of(&s, "repeat"), (35, 35, 320));
    assert_eq!(shape_of(&s, "mixed_6a"), (17, 17, 1088));
    assert_eq!(shape_of(&s, "mixed_7a"), (8, 8, 2080));
    assert_eq!(shape_of(&s, "conv2d_7b"), (8, 8, 1536));

    // Inception-v4, paper Figures 3, 7 and 8.
    let s = summary(Arch::InceptionV4, 1000, 299).unwrap();
    assert_eq!(shape_of(&s, "mixed_3a"), (73, 73, 160));
    assert_eq!(shape_of(&s, "mixed_4a"), (71, 71, 192));
    assert_eq!(shape_of(&s, "mixed_5a"), (35, 35, 384));
    assert_eq!(shape_of(&s, "reduction_a"), (17, 17, 1024));
    assert_eq!(shape_of(&s, "reduction_b"), (8, 8, 1536));
    assert_eq!(shape_of(&s, "inception_c"), (8, 8, 1536));
}

#[test]
fn configurable_classes_change_only_the_classifier() {
    let s = summary(Arch::InceptionResnetV2, 10, 299).unwrap();
    assert_eq!(s.params, 55_843_464 - 990 * 1537);
}

#[test]
fn smallest_inputs_and_too_small_ones() {
    for arch in Arch::ALL {
        assert!(summary(arch, 1000, 75).is_ok(), "{arch} accepts 75x75");
        let err = summary(arch, 1000, 74).unwrap_err();
        assert!(err.to_string().contains("input too small"), "{err}");
        let err = summary(arch, 1000, 8).unwrap_err();
        assert!(err.to_string().contains("layer `"), "names the layer: {err}");
    }
}

#[test]
fn forward_at_a_small_size_runs_and_has_the_right_shape() {
    let device = Device::flex();
    let net = NetworkConfig::new(Arch::InceptionResnetV2)
        .with_num_classes(7)
        .init(&device);
    let x = Tensor::<4>::zeros([2, 3, 75, 75], &device);
    assert_eq!(net.check_input(75, 75).unwrap().channels, 1536);
    assert_eq!(net.forward(x).dims(), [2, 7]);
}

/// The layer table's shapes are the forward pass's: every top-level block's output, for all
/// four networks at a small width (so a shape rule written wrong in a block's
/// `output_shape` fails here, not in a user's input check).
#[test]
fn the_layer_table_has_the_shapes_of_the_forward_pass() {
    let device = Device::flex();
    for arch in Arch::ALL {
        for size in [75, 96] {
            let net = NetworkConfig::new(arch)
                .with_num_classes(5)
                .with_width(inception::model::Width::new(0.25).unwrap())
                .init(&device);
            let table = net.summary(size, size).unwrap();
            let (logits, outputs) = net.forward_with_taps(Tensor::<4>::zeros([1, 3, size, size], &device));
            assert_eq!(
                outputs.len() + 2,
                table.layers.len(),
                "{arch}: one row per block, pool, classifier"
            );
            for ((name, output), row) in outputs.iter().zip(&table.layers) {
                let [_, c, h, w] = output.dims();
                assert_eq!(*name, row.name, "{arch}");
                assert_eq!(
                    [c, h, w],
                    [row.output.channels, row.output.height, row.output.width],
                    "{arch} at {size}: {name}"
                );
            }
            assert_eq!(logits.dims(), [1, 5], "{arch}");
        }
    }
}
