//! `train` and `make-dataset` end to end: a run killed with SIGKILL resumes to exactly the
//! weights of an uninterrupted run, training exports weights that `classify` reads, and
//! bad data folders give clear errors or warnings.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use burn::prelude::*;
use inception::weights::load_weights_file;

use inception_test_support::network::weights_of;

mod common;

fn bin(dir: &Path) -> Command {
    common::inception_in(dir)
}

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("inception-train-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ok(o: Output) -> String {
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "failed: {out}\n{err}");
    format!("{out}{err}")
}

fn make_data(dir: &Path, classes: &str, per_class: &str) {
    ok(bin(dir)
        .args([
            "make-dataset",
            "data",
            "--classes",
            classes,
            "--per-class",
            per_class,
            "--size",
            "40",
        ])
        .output()
        .unwrap());
}

/// A small, quick run: 1/16 width at 75x75 on the CPU.
const RUN: [&str; 16] = [
    "train",
    "--data",
    "data",
    "--backend",
    "flex",
    "--width",
    "0.0625",
    "--image-size",
    "75",
    "--batch-size",
    "4",
    "--max-steps-per-epoch",
    "6",
    "--lr",
    "0.01",
    "--quiet",
];

/// SIGKILLs a training run as soon as its first checkpoint (`state`) is in place.
fn kill_at_first_checkpoint(child: &mut Child, state: &Path) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !state.is_file() {
        assert!(Instant::now() < deadline, "no checkpoint after 300 s");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its first checkpoint"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn sigkill_then_resume_gives_the_uninterrupted_weights() {
    let dir = workdir("resume");
    make_data(&dir, "3", "20");
    ok(bin(&dir)
        .args(RUN)
        .args(["--epochs", "4", "--out", "straight"])
        .output()
        .unwrap());

    let mut child = bin(&dir)
        .args(RUN)
        .args(["--epochs", "4", "--out", "killed"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = dir.join("killed/checkpoint/state.json");
    kill_at_first_checkpoint(&mut child, &state);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    let done = json["epoch"].as_u64().unwrap();
    assert!(done < 4, "killed after the last epoch: nothing left to resume");

    // No --epochs: the run's own 4 hold.
    let out = ok(bin(&dir)
        .args(RUN)
        .args(["--out", "killed", "--resume"])
        .output()
        .unwrap());
    assert!(out.contains("epoch 4"), "{out}");
    let (a, b) = (
        weights_of(&dir.join("straight/model.bpk")),
        weights_of(&dir.join("killed/model.bpk")),
    );
    assert_eq!(a.len(), b.len());
    let max_diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert_eq!(max_diff, 0.0, "resumed weights differ (killed after {done} epochs)");
    let csv = std::fs::read_to_string(dir.join("killed/metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "header and one row per epoch:\n{csv}");
    assert_eq!(
        std::fs::read_to_string(dir.join("straight/metrics.csv"))
            .unwrap()
            .lines()
            .count(),
        5
    );
}

fn state_of(run: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run.join("checkpoint/state.json")).unwrap()).unwrap()
}

/// With `--checkpoint-every 2`, a run killed inside an epoch resumes from its last step that
/// is a multiple of 2 (it loses at most 2 steps) and ends with the uninterrupted weights.
#[test]
fn sigkill_inside_an_epoch_loses_at_most_checkpoint_every_steps() {
    let dir = workdir("mid-epoch");
    make_data(&dir, "3", "20");
    ok(bin(&dir)
        .args(RUN)
        .args(["--epochs", "2", "--out", "straight"])
        .output()
        .unwrap());
    let mut child = bin(&dir)
        .args(RUN)
        .args(["--epochs", "2", "--checkpoint-every", "2", "--out", "killed"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = dir.join("killed/checkpoint/state.json");
    // Killed as soon as the first mid-epoch checkpoint (step 2 of 6) is in place.
    kill_at_first_checkpoint(&mut child, &state);
    let killed = state_of(&dir.join("killed"));
    let step = killed["global_step"].as_u64().unwrap();
    assert_eq!(step % 2, 0, "checkpoints fall every 2 steps: {killed}");
    assert!(
        killed["batch"].as_u64().unwrap() > 0,
        "a checkpoint inside an epoch: {killed}"
    );

    ok(bin(&dir)
        .args(RUN)
        .args(["--out", "killed", "--resume"])
        .output()
        .unwrap());
    let (a, b) = (
        weights_of(&dir.join("straight/model.bpk")),
        weights_of(&dir.join("killed/model.bpk")),
    );
    let max_diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert_eq!(max_diff, 0.0, "resumed weights differ (killed at step {step})");
}

/// A checkpoint whose writing fails (here: no file may grow past 64 KiB, as on a full
/// disk) stops the run with a message, and the previous checkpoint stays whole: the run
/// resumes from it once there is room again.
#[test]
fn a_failed_checkpoint_write_leaves_the_previous_checkpoint() {
    let dir = workdir("disk-full");
    make_data(&dir, "3", "20");
    let run = dir.join("run");
    ok(bin(&dir)
        .args(RUN)
        .args(["--epochs", "1", "--out", "run"])
        .output()
        .unwrap());
    let before = std::fs::read(run.join("checkpoint/state.json")).unwrap();
    let cli = bin(&dir);
    // SIGXFSZ ignored, so that a write past the limit fails with EFBIG instead of killing.
    let out = Command::new("sh")
        .current_dir(&dir)
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 128; exec \"$@\"")
        .arg("sh")
        .arg(cli.get_program())
        .args(RUN)
        .args(["--epochs", "2", "--checkpoint-every", "2", "--out", "run", "--resume"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a clean failure: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("writing the checkpoint at step 8 failed") && stderr.contains("is intact"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(run.join("checkpoint/state.json")).unwrap(),
        before,
        "the previous checkpoint changed"
    );
    let resumed = ok(bin(&dir)
        .args(RUN)
        .args(["--epochs", "2", "--out", "run", "--resume"])
        .output()
        .unwrap());
    assert!(resumed.contains("epoch 2"), "{resumed}");
}

#[test]
fn a_trained_model_classifies_with_its_own_class_names() {
    let dir = workdir("export");
    make_data(&dir, "2", "12");
    let out = ok(bin(&dir)
        .args(RUN)
        .args(["--epochs", "1", "--out", "run", "--manifest", "site/manifest.json"])
        .output()
        .unwrap());
    assert!(out.contains("classes: circle, square"), "{out}");
    for file in ["metrics.csv", "curves.svg", "config.json", "model.bpk"] {
        assert!(dir.join("run").join(file).is_file(), "{file}");
    }
    let svg = std::fs::read_to_string(dir.join("run/curves.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("polyline"));
    // The last layer's activity on the validation images: a mean above zero (a live
    // network) and a fraction of dead channels.
    let csv = std::fs::read_to_string(dir.join("run/metrics.csv")).unwrap();
    let mut lines = csv.lines().map(|l| l.split(',').collect::<Vec<_>>());
    let header = lines.next().unwrap();
    let row = lines.next().unwrap();
    let column = |name: &str| -> f64 {
        let at = header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no {name} in {csv}"));
        row[at].parse().unwrap()
    };
    assert!(column("val_feature_mean") > 0.0, "{csv}");
    assert!((0.0..=1.0).contains(&column("val_dead_features")), "{csv}");
    let events = std::fs::read_dir(dir.join("run"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("events.out.tfevents.")
        })
        .count();
    assert_eq!(events, 1, "one TensorBoard event file");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("site/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["num_classes"], 2);
    assert!(dir.join("site/model.bpk").is_file());
    let out = ok(bin(&dir)
        .args([
            "classify",
            "--backend",
            "flex",
            "--weights",
            "run/model.bpk",
            "--json",
            "data/circle/circle_0000.png",
        ])
        .output()
        .unwrap());
    let result: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let labels: Vec<&str> = result["top5"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels.len(), 2);
    assert!(labels.contains(&"circle") && labels.contains(&"square"), "{labels:?}");
}

fn fails_with(dir: &Path, args: &[&str], expected: &str) {
    let o = bin(dir).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    // 1 for a refused run, 2 for a flag clap refuses; 101 would be a panic.
    assert!(matches!(o.status.code(), Some(1 | 2)), "{:?}: {err}", o.status);
    assert!(err.contains(expected), "expected `{expected}` in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_data_folders() {
    let dir = workdir("bad");
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    fails_with(
        &dir,
        &["train", "--data", "empty", "--backend", "flex"],
        "has no class folders",
    );
    fails_with(
        &dir,
        &["train", "--data", "missing", "--backend", "flex"],
        "make-dataset",
    );

    make_data(&dir, "2", "6");
    std::fs::create_dir_all(dir.join("one")).unwrap();
    std::fs::rename(dir.join("data/circle"), dir.join("one/circle")).unwrap();
    fails_with(&dir, &["train", "--data", "one", "--backend", "flex"], "single class");

    // Unreadable files are skipped and counted.
    make_data(&dir, "2", "6");
    std::fs::write(dir.join("data/circle/notes.txt"), "not an image").unwrap();
    std::fs::write(dir.join("data/square/broken.png"), b"\x89PNG\r\n\x1a\nbroken").unwrap();
    let out = ok(bin(&dir)
        .args(RUN)
        .args(["--epochs", "1", "--out", "run"])
        .output()
        .unwrap());
    assert!(out.contains("skipped 2 file(s)"), "{out}");

    // A second run into the same folder must not overwrite it.
    fails_with(
        &dir,
        &["train", "--data", "data", "--backend", "flex", "--out", "run"],
        "--resume",
    );
    fails_with(
        &dir,
        &["train", "--backend", "flex", "--width", "0.3"],
        "multiple of 1/16",
    );
    fails_with(
        &dir,
        &[
            "train",
            "--data",
            "data",
            "--backend",
            "flex",
            "--arch",
            "inception-v4",
            "--residual-scale",
            "0.2",
        ],
        "no residual connections",
    );
}

#[test]
fn devices_that_cannot_share_a_step_are_refused() {
    let dir = workdir("devices");
    make_data(&dir, "2", "6");
    let train = ["train", "--data", "data", "--out", "run"];
    let with = |extra: &[&'static str]| [&train[..], extra].concat();
    fails_with(
        &dir,
        &with(&["--backend", "flex", "--devices", "2"]),
        "flex is one device that already uses every core",
    );
    fails_with(
        &dir,
        &with(&["--backend", "wgpu", "--devices", "1,1"]),
        "lists device 1 twice",
    );
    fails_with(&dir, &with(&["--devices", "0"]), "at least one device");
    fails_with(&dir, &with(&["--devices", "two"]), "not a device count");
    // lavapipe is a CPU adapter: wgpu has no discrete GPU here, and says which adapters it has.
    fails_with(
        &dir,
        &with(&["--backend", "wgpu", "--devices", "2"]),
        "no discrete GPU number 0 for wgpu",
    );
    assert!(!dir.join("run").exists(), "a refused run leaves no folder");
}

fn first_conv(network: &inception::Network) -> Vec<f32> {
    match network {
        inception::Network::InceptionResnetV2(n) => {
            n.conv2d_1a.conv.weight.val().into_data().try_to_vec::<f32>().unwrap()
        }
        other => panic!("expected inception-resnet-v2, got {}", other.arch()),
    }
}

#[test]
fn fine_tunes_a_timm_checkpoint_with_a_new_classifier() {
    let root = std::env::var("INCEPTION_FIXTURES").expect("INCEPTION_FIXTURES: run the suite with tests/run.sh");
    let checkpoint = PathBuf::from(root).join("inception_resnet_v2_s0/weights.safetensors");
    let dir = workdir("finetune");
    make_data(&dir, "2", "6");
    let out = ok(bin(&dir)
        .args([
            "train",
            "--data",
            "data",
            "--backend",
            "flex",
            "--image-size",
            "75",
            "--batch-size",
            "2",
        ])
        .args([
            "--epochs",
            "1",
            "--max-steps-per-epoch",
            "1",
            "--lr",
            "0.001",
            "--ema-decay",
            "none",
        ])
        .args(["--quiet", "--out", "run", "--init-weights"])
        .arg(&checkpoint)
        .output()
        .unwrap());
    assert!(out.contains("classes: circle, square"), "{out}");
    let tuned = load_weights_file(&dir.join("run/model.bpk"), None, &Device::flex()).unwrap();
    assert_eq!(tuned.network.num_classes(), 2, "the 1000-class classifier is replaced");
    assert_eq!(tuned.network.num_features(), 1536, "full width, as the checkpoint");
    // One small step away from timm's weights, far from a fresh initialisation.
    let timm = load_weights_file(&checkpoint, None, &Device::flex()).unwrap();
    let (a, b) = (first_conv(&tuned.network), first_conv(&timm.network));
    let moved = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(moved > 0.0 && moved < 1e-2, "first conv moved by {moved}");
    // A full-width run folder (checkpoints, exported model) is over 1 GB: not left in /tmp.
    let _ = std::fs::remove_dir_all(&dir);
}
