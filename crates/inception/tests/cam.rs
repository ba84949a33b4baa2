//! Class activation maps on timm's Inception-ResNet-v2 (the seeded fixture weights): the
//! map's mean plus the class's bias is the logit, the map equals numpy's computation from
//! the same features and classifier, and it follows an object that moves.

mod common;

use std::process::Command;

use burn::prelude::*;
use common::*;
use image::{Rgb, RgbImage};
use inception::cam::{ClassMap, ClassMaps, class_activation_maps, every_class_map, split_maps};
use inception::{Arch, Network, Preprocess, load_weights};

fn network(device: &Device) -> Network {
    let bytes = std::fs::read(fixture_dir(Arch::InceptionResnetV2).join("weights.safetensors")).unwrap();
    load_weights(bytes, Some(Arch::InceptionResnetV2), "fixture", device)
        .expect("fixture weights load")
        .network
        .for_inference(device)
}

fn input(image: &RgbImage, device: &Device) -> Tensor<4> {
    let values = Preprocess::timm_eval(Arch::InceptionResnetV2).normalize(image);
    Tensor::from_data(TensorData::new(values, [1, 3, 299, 299]), device)
}

/// Logits, the feature map and the maps of `classes` for one image.
fn maps(
    network: &Network,
    image: &RgbImage,
    classes: &[usize],
    device: &Device,
) -> (Vec<f32>, Vec<f32>, Vec<ClassMap>) {
    let (logits, features) = network.forward_with_features(input(image, device));
    let [_, _, h, w] = features.dims();
    let cams = class_activation_maps(network, features.clone(), classes).unwrap();
    assert_eq!(cams.dims(), [1, classes.len(), h, w]);
    let split = split_maps(&to_vec(cams), classes, h, w);
    // The pipeline's maps of every class hold the same maps.
    let every = ClassMaps::new(to_vec(every_class_map(network, features.clone())), h, w);
    for map in &split {
        let same = every.of(map.class).unwrap();
        assert!(max_abs_diff(&same.values, &map.values) <= 1e-5, "class {}", map.class);
    }
    (to_vec(logits), to_vec(features), split)
}

/// A grey photo with a bright, striped square of `side` pixels whose top-left corner is at
/// `(x, y)`.
fn photo_with_object(x: u32, y: u32, side: u32) -> RgbImage {
    RgbImage::from_fn(299, 299, |px, py| {
        let inside = (x..x + side).contains(&px) && (y..y + side).contains(&py);
        match inside {
            true if (px + py) / 6 % 2 == 0 => Rgb([250, 230, 40]),
            true => Rgb([20, 20, 160]),
            false => Rgb([120, 120, 120]),
        }
    })
}

#[test]
fn the_map_is_exact_for_the_head_and_equals_numpy() {
    let device = device("flex");
    let network = network(&device);
    let photo = photo_with_object(40, 150, 90);
    let classes = [0, 151, 999];
    let (logits, features, cams) = maps(&network, &photo, &classes, &device);
    assert_eq!((cams[0].height, cams[0].width), (8, 8));

    // mean(M_c) + b_c = logit_c: the head is global average pooling and one linear layer.
    let bias = to_vec(
        network
            .classifier()
            .bias
            .as_ref()
            .expect("the classifier has a bias")
            .val(),
    );
    for cam in &cams {
        let mean = cam.values.iter().sum::<f32>() / cam.values.len() as f32;
        let logit = logits[cam.class];
        println!(
            "class {}: mean(map) + bias {:.6}, logit {logit:.6}",
            cam.class,
            mean + bias[cam.class]
        );
        assert!((mean + bias[cam.class] - logit).abs() < 1e-4 * logit.abs().max(1.0));
    }

    // numpy from the same features and classifier weights.
    let dir = std::env::temp_dir().join(format!("inception-cam-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, values: &[f32]| {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    write("features.f32", &features);
    write("weight.f32", &to_vec(network.classifier().weight.val()));
    let python =
        std::env::var("INCEPTION_ORACLE_PYTHON").expect("INCEPTION_ORACLE_PYTHON: run the suite with tests/run.sh");
    let script = r#"
import sys, numpy as np
d, classes = sys.argv[1], [int(c) for c in sys.argv[2].split(",")]
f = np.fromfile(d + "/features.f32", "<f4").astype(np.float64).reshape(1536, 8, 8)
w = np.fromfile(d + "/weight.f32", "<f4").astype(np.float64).reshape(1536, 1000)
np.einsum("khw,kc->chw", f, w[:, classes]).astype("<f4").tofile(d + "/cam.f32")
"#;
    let classes_arg = classes.map(|c| c.to_string()).join(",");
    let status = Command::new(python)
        .args(["-c", script])
        .arg(&dir)
        .arg(&classes_arg)
        .status()
        .unwrap();
    assert!(status.success(), "numpy failed");
    let numpy = read_f32(dir.join("cam.f32"));
    let ours: Vec<f32> = cams.iter().flat_map(|c| c.values.clone()).collect();
    let scale = numpy.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = max_abs_diff(&ours, &numpy);
    println!("max |ours - numpy| = {diff:.3e} (max |map| {scale:.3})");
    assert!(diff <= 1e-5 * scale.max(1.0), "maps differ from numpy by {diff}");
    let _ = std::fs::remove_dir_all(&dir);

    // A class the network does not have is an error, not a panic.
    let features = network.forward_features(input(&photo, &device));
    assert!(class_activation_maps(&network, features, &[1000]).is_err());
}

/// The cell (row, column) where an object changes the map the most.
fn hottest_change(with: &ClassMap, without: &ClassMap) -> (usize, usize) {
    let change: Vec<f32> = with
        .values
        .iter()
        .zip(&without.values)
        .map(|(a, b)| (a - b).abs())
        .collect();
    let i = (0..change.len())
        .max_by(|&a, &b| change[a].total_cmp(&change[b]))
        .unwrap();
    (i / with.width, i % with.width)
}

#[test]
fn the_map_follows_an_object_that_moves() {
    let device = device("flex");
    let network = network(&device);
    let background = RgbImage::from_pixel(299, 299, Rgb([120, 120, 120]));
    // The class the object at the top left raises most, followed to the bottom right.
    let top_left = photo_with_object(20, 20, 90);
    let (logits, _, _) = maps(&network, &top_left, &[0], &device);
    let (plain, _, _) = maps(&network, &background, &[0], &device);
    let class = (0..logits.len())
        .max_by(|&a, &b| (logits[a] - plain[a]).total_cmp(&(logits[b] - plain[b])))
        .unwrap();
    let (_, _, base) = maps(&network, &background, &[class], &device);
    let mut cells = Vec::new();
    for (x, y) in [(20, 20), (190, 190), (190, 20)] {
        let (_, _, cam) = maps(&network, &photo_with_object(x, y, 90), &[class], &device);
        let cell = hottest_change(&cam[0], &base[0]);
        println!("object at ({x}, {y}): the map of class {class} changes most at cell {cell:?}");
        cells.push(cell);
    }
    // An object 90 pixels wide covers about 2.4 of the 8 cells; the map's largest change
    // lies under it or beside it.
    let near = |(r, c): (usize, usize), (y, x): (u32, u32)| {
        let (r0, c0) = (y as f32 / 299.0 * 8.0, x as f32 / 299.0 * 8.0);
        (r as f32 + 0.5 - (r0 + 1.2)).abs() <= 2.5 && (c as f32 + 0.5 - (c0 + 1.2)).abs() <= 2.5
    };
    for (cell, corner) in cells.iter().zip([(20, 20), (190, 190), (20, 190)]) {
        assert!(
            near(*cell, corner),
            "object at (row, col) pixel {corner:?}: the change peaks at cell {cell:?}"
        );
    }
}
