//! A small network on one fixed batch: the loss must fall under the recipe's optimizer, on
//! the CPU (ndarray) and on wgpu (lavapipe here, a GPU elsewhere).

use burn::prelude::*;
use inception::model::Width;
use inception::{Arch, NetworkConfig};
use inception_train::TrainConfig;
use inception_train::learner::{TrainBatch, learner, schedule, train_step};
use inception_train::recipe::to_training;
use inception_train::rng::Rng;
use inception_train::shapes::draw;

fn batch(size: usize, per_class: usize) -> (Vec<f32>, Vec<i64>) {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    let pre = inception::Preprocess::timm_eval(Arch::InceptionResnetV2).with_input_size(size);
    for i in 0..per_class {
        for label in 0..2 {
            let img = draw(label, size as u32, &mut Rng::at(&[9, label as u64, i as u64]));
            images.extend(pre.apply(&img));
            labels.push(label as i64);
        }
    }
    (images, labels)
}

fn losses(device: Device, steps: usize) -> Vec<f32> {
    let size = 75;
    let config = TrainConfig {
        // Low enough that the loss falls on 4 images whatever kernels wgpu's autotuner picks
        // (at 0.01 it zigzagged on some picks). Train-mode BatchNorm over 4 images still
        // makes single steps noisy, hence 12 steps and the mean of the last 4.
        learning_rate: 0.001,
        ..TrainConfig::default()
    };
    device.seed(0);
    let ad = device.clone().autodiff();
    let net = NetworkConfig::new(Arch::InceptionResnetV2)
        .with_num_classes(2)
        .with_width(Width::new(1.0 / 16.0).unwrap())
        .init(&device);
    let mut learner = learner(
        to_training(net, &ad),
        &config,
        None,
        schedule(&config, steps, 0).unwrap(),
    );
    let (images, labels) = batch(size, 2);
    let n = labels.len();
    let mut out = Vec::new();
    for _ in 0..steps {
        let x = Tensor::<4>::from_data(TensorData::new(images.clone(), [n, 3, size, size]), &ad);
        let batch = TrainBatch {
            images: x,
            labels: labels.clone(),
            dropout_mask: None,
            label_smoothing: 0.0,
            share: 1.0,
        };
        let loss = train_step(&mut learner, batch).loss;
        out.push(loss.into_data().try_to_vec::<f32>().unwrap()[0]);
    }
    out
}

fn assert_falls(losses: &[f32]) {
    let first = losses[0];
    let last = &losses[losses.len() - 4..];
    let late = last.iter().sum::<f32>() / last.len() as f32;
    eprintln!("losses: {losses:?}");
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(late < 0.75 * first, "loss did not fall: {losses:?}");
}

#[test]
fn loss_falls_on_ndarray() {
    #[allow(deprecated)]
    let device = Device::ndarray();
    assert_falls(&losses(device, 12));
}

#[test]
fn loss_falls_on_wgpu() {
    let device = Device::wgpu_options().init().expect("a wgpu adapter (lavapipe here)");
    assert_falls(&losses(device, 12));
}
