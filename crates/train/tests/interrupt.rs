//! Ctrl-C (the interrupt flag) stops training after a step with a checkpoint, and `--resume`
//! ends with the weights of an uninterrupted run, bit for bit: stopped inside an epoch, and
//! stopped on an epoch's last step (where the resumed run takes no step before its first
//! checkpoint, so the optimizer's state is carried over from the previous one); and the same
//! on two devices sharing each step.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use burn::prelude::*;
use inception_train::shapes::{ShapesConfig, write_dataset};
use inception_train::{Start, TrainConfig, TrainRequest, train};

use inception_test_support::network::weights_of;

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("inception-interrupt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(steps_per_epoch: usize) -> TrainConfig {
    TrainConfig {
        width: 0.0625,
        image_size: 75,
        batch_size: 4,
        epochs: 2,
        max_steps_per_epoch: Some(steps_per_epoch),
        learning_rate: 0.01,
        workers: 1,
        ..TrainConfig::default()
    }
}

/// Runs (or resumes) training; `interrupted` sets the Ctrl-C flag before the first step.
fn run(data: &Path, out: &Path, config: &TrainConfig, start: Start, interrupted: bool, devices: &[Device]) -> bool {
    let summary = train(TrainRequest {
        config: config.clone(),
        data,
        run: out,
        start,
        devices: devices.to_vec(),
        interrupt: Arc::new(AtomicBool::new(interrupted)),
        progress: false,
        checkpoint_every: None,
    })
    .unwrap();
    summary.interrupted
}

fn assert_interrupt_then_resume_is_exact(steps_per_epoch: usize, devices: &[Device]) {
    let dir = workdir(&format!("{steps_per_epoch}-steps-{}-devices", devices.len()));
    let data = dir.join("data");
    write_dataset(
        &data,
        &ShapesConfig {
            classes: 2,
            per_class: 12,
            size: 75,
            seed: 3,
        },
    )
    .unwrap();
    let config = config(steps_per_epoch);

    let straight = dir.join("straight");
    assert!(!run(&data, &straight, &config, Start::Fresh, false, devices));

    let stopped = dir.join("stopped");
    assert!(
        run(&data, &stopped, &config, Start::Fresh, true, devices),
        "the flag must stop the run"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stopped.join("checkpoint/state.json")).unwrap()).unwrap();
    assert_eq!(state["global_step"], 1, "stopped after the first step: {state}");
    assert!(!run(
        &data,
        &stopped,
        &config,
        Start::Resume { epochs: None },
        false,
        devices
    ));

    let (a, b) = (
        weights_of(&straight.join("model.bpk")),
        weights_of(&stopped.join("model.bpk")),
    );
    assert_eq!(a.len(), b.len());
    let max_diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert_eq!(
        max_diff, 0.0,
        "resumed weights differ ({steps_per_epoch} steps an epoch)"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// One test, the two cases in turn: burn seeds a backend's random initialisation process-wide,
// so runs on parallel test threads would not start from the same weights.
#[test]
fn interrupted_runs_resume_exactly() {
    let flex = [Device::flex()];
    // Inside the first epoch (step 1 of 3).
    assert_interrupt_then_resume_is_exact(3, &flex);
    // On the first epoch's last step: the resumed run's first checkpoint comes before any step.
    assert_interrupt_then_resume_is_exact(1, &flex);
    // Data parallel over two devices (tests/replicas.rs says why these two): each step's
    // BatchNorm running statistics are the replicas' mean, and the checkpoint keeps them.
    #[allow(deprecated)]
    let two = [Device::flex(), Device::ndarray()];
    assert_interrupt_then_resume_is_exact(3, &two);
}
