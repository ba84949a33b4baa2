//! Data parallelism ([`inception_train::replicas`]) over two devices of this machine: burn's
//! flex and ndarray CPU backends, two devices with kernels of their own. A GPU machine has
//! several of one kind; here the strategy's moves between devices, its threads, its weighting
//! and its sum are what is checked.
//!
//! A step shared by the two devices must equal, bit for bit, the same arithmetic done without
//! threads: each half of the batch on its device, each half's loss weighted by one half, the
//! gradients summed on the first device, one optimizer step. BatchNorm's running statistics
//! must end as the mean of the two halves' updates.

use burn::optim::GradientsAccumulator;
use burn::prelude::*;
use burn::train::{TrainOutput, TrainStep};
use inception::model::Width;
use inception::{Arch, Network, NetworkConfig};
use inception_test_support::network::{is_running_statistic, named_floats};
use inception_train::TrainConfig;
use inception_train::learner::{TrainBatch, Trainee, learner, schedule};
use inception_train::recipe::{to_training, to_valid};
use inception_train::replicas::{HostBatch, Replicas};
use inception_train::rng::Rng;
use inception_train::shapes::draw;

const SIZE: usize = 75;

fn host_batch(n: usize) -> HostBatch {
    let pre = inception::Preprocess::timm_eval(Arch::InceptionResnetV2).with_input_size(SIZE);
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let label = i % 2;
        let img = draw(label, SIZE as u32, &mut Rng::at(&[5, i as u64]));
        images.extend(pre.apply(&img));
        labels.push(label as i64);
    }
    HostBatch {
        images,
        size: SIZE,
        labels,
        dropout_mask: None,
        label_smoothing: 0.1,
    }
}

fn train_batch(batch: &HostBatch, rows: std::ops::Range<usize>, device: &Device) -> TrainBatch {
    let pixels = 3 * SIZE * SIZE;
    let n = rows.len();
    let images = batch.images[rows.start * pixels..rows.end * pixels].to_vec();
    TrainBatch {
        images: Tensor::from_data(TensorData::new(images, [n, 3, SIZE, SIZE]), device),
        labels: batch.labels[rows].to_vec(),
        dropout_mask: None,
        label_smoothing: batch.label_smoothing,
        share: n as f32 / batch.labels.len() as f32,
    }
}

fn small_network(device: &Device) -> Network {
    device.seed(7);
    NetworkConfig::new(Arch::InceptionResnetV2)
        .with_num_classes(2)
        .with_width(Width::new(1.0 / 16.0).unwrap())
        .init(device)
}

/// Within `tolerance` of the largest expected value (and of 1e-3 below that).
fn assert_close(name: &str, ours: &[f32], expected: &[f32], tolerance: f32) {
    let scale = expected.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    assert_within(name, ours, expected, tolerance * scale);
}

fn assert_within(name: &str, ours: &[f32], expected: &[f32], bound: f32) {
    assert_eq!(ours.len(), expected.len(), "{name}");
    let worst = ours
        .iter()
        .zip(expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= bound, "{name}: differs by {worst} (at most {bound})");
}

#[test]
fn two_devices_step_as_one_device_on_the_two_halves() {
    #[allow(deprecated)]
    let devices = [Device::flex(), Device::ndarray()];
    let config = TrainConfig {
        learning_rate: 0.01,
        ..TrainConfig::default()
    };
    let start = small_network(&devices[0]);
    // Four images a device: BatchNorm over two would make the gradients ill-conditioned
    // (a variance of two values), so that rounding alone would move them.
    let batch = host_batch(8);

    // The strategy: a replica and a thread per device.
    let replicas = Replicas::new(&devices).unwrap();
    assert_eq!(replicas.count(), 2);
    // Each learner gets a network of its own (`valid` copies the running statistics, which
    // clones would share).
    let mut shared = learner(
        to_training(start.valid(), replicas.main_device()),
        &config,
        None,
        schedule(&config, 10, 0).unwrap(),
    );
    let output = replicas.step(&mut shared, host_batch(8)).unwrap();

    // The reference, without threads: each half on its device in turn, on a copy of the
    // network of its own; the gradients summed on the first device; one optimizer step.
    let ad = devices[0].clone().autodiff();
    let mut one = learner(
        to_training(start.valid(), &ad),
        &config,
        None,
        schedule(&config, 10, 0).unwrap(),
    );
    one.lr_step();
    let model = one.model();
    let mut sum = GradientsAccumulator::new();
    let mut losses = Vec::new();
    let mut logits = Vec::new();
    let mut running = Vec::new();
    for (rows, device) in [0..4, 4..8].into_iter().zip(&devices) {
        let device = device.clone().autodiff();
        let copy = Trainee::new(to_training(model.network.valid(), &device));
        let TrainOutput { grads, item } = TrainStep::step(&copy, train_batch(&batch, rows, &device));
        sum.accumulate(&model, grads.to_device(&ad, &model));
        losses.push(item.loss.into_data().try_to_vec::<f32>().unwrap()[0]);
        logits.extend(item.output.into_data().try_to_vec::<f32>().unwrap());
        running.push(named_floats(&to_valid(&copy.network)));
    }
    one.optimizer_step(sum.grads());

    assert_close("loss", &[output.loss as f32], &[(losses[0] + losses[1]) / 2.0], 1e-4);
    assert_within("logits", &output.logits, &logits, 0.0);
    let ours = named_floats(&to_valid(&shared.model().network));
    let expected = named_floats(&to_valid(&one.model().network));
    let mut statistics = 0;
    for (i, ((name, ours), (_, expected))) in ours.iter().zip(&expected).enumerate() {
        if is_running_statistic(name) {
            let mean: Vec<f32> = running[0][i]
                .1
                .iter()
                .zip(&running[1][i].1)
                .map(|(a, b)| (a + b) / 2.0)
                .collect();
            assert_within(name, ours, &mean, 0.0);
            statistics += 1;
        } else {
            assert_within(name, ours, expected, 0.0);
        }
    }
    assert!(
        statistics > 100,
        "the network's BatchNorm statistics were compared ({statistics})"
    );
    // The step did change the weights: the comparison above is not of two untouched networks.
    let before = named_floats(&start);
    let moved = before
        .iter()
        .zip(&ours)
        .filter(|((name, a), (_, b))| !is_running_statistic(name) && a != b)
        .count();
    assert!(moved > 100, "only {moved} tensors changed in the step");
}

#[test]
fn a_batch_smaller_than_the_devices_is_refused() {
    #[allow(deprecated)]
    let devices = [Device::flex(), Device::ndarray()];
    let replicas = Replicas::new(&devices).unwrap();
    let config = TrainConfig::default();
    let mut learner = learner(
        to_training(small_network(&devices[0]), replicas.main_device()),
        &config,
        None,
        schedule(&config, 10, 0).unwrap(),
    );
    let error = replicas.step(&mut learner, host_batch(1)).err().expect("an error");
    assert!(error.to_string().contains("cannot be shared by 2 devices"), "{error}");
}

#[test]
fn a_device_listed_twice_is_refused() {
    let error = Replicas::new(&[Device::flex(), Device::flex()])
        .err()
        .expect("an error");
    assert!(error.to_string().contains("listed twice"), "{error}");
}

#[test]
fn a_replica_that_panics_fails_the_step_and_the_next_step_runs() {
    #[allow(deprecated)]
    let devices = [Device::flex(), Device::ndarray()];
    let config = TrainConfig::default();
    let start = small_network(&devices[0]);
    let run = |fail_first: bool| {
        let replicas = Replicas::new(&devices).unwrap();
        let mut learner = learner(
            to_training(start.valid(), replicas.main_device()),
            &config,
            None,
            schedule(&config, 10, 0).unwrap(),
        );
        if fail_first {
            // A label past the network's two classes: the first device's half panics in its
            // loss, while the second device's half (black images) has an answer to give.
            let mut bad = host_batch(4);
            bad.images.iter_mut().for_each(|v| *v = 0.0);
            bad.labels[0] = 7;
            let error = replicas.step(&mut learner, bad).err().expect("an error");
            let message = format!("{error:#}");
            assert!(
                message.contains("device 0") && message.contains("panicked"),
                "{message}"
            );
        }
        replicas.step(&mut learner, host_batch(4)).unwrap()
    };
    // The step after the failed one is the step a fresh run takes: no answer of the failed
    // step was left queued to stand in for the second device's.
    let (after, fresh) = (run(true), run(false));
    assert_eq!(after.logits, fresh.logits);
    assert_eq!(after.loss, fresh.loss);
}
