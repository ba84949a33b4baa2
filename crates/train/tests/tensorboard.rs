//! The event files read back by TensorBoard itself (`tensorboard` in the oracle venv): the
//! scalars of a run, and a resumed run whose redone steps replace the interrupted ones.

use std::process::Command;

use inception_train::tensorboard::EventWriter;

#[test]
fn tensorboard_reads_the_scalars_and_the_resumed_steps_replace_the_old_ones() {
    let dir = std::env::temp_dir().join(format!("inception-tensorboard-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // The first process: steps 0 to 4, and the end of an epoch at step 4.
    let mut first = EventWriter::create(&dir, None).unwrap();
    for (step, loss) in [1.0, 0.9, 0.8, 0.7, 0.6].into_iter().enumerate() {
        first.scalars(step as u64, &[("train/loss", loss)]).unwrap();
    }
    first.scalars(4, &[("val/top1", 0.5), ("val/loss", 2.5)]).unwrap();
    drop(first);
    // Killed; the checkpoint was at step 2, so the resumed process redoes steps 2 and 3.
    let mut resumed = EventWriter::create(&dir, Some(2)).unwrap();
    resumed.scalars(2, &[("train/loss", 0.85)]).unwrap();
    resumed.scalars(3, &[("train/loss", 0.75)]).unwrap();
    drop(resumed);
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, 2, "one event file per process");

    let python =
        std::env::var("INCEPTION_ORACLE_PYTHON").expect("INCEPTION_ORACLE_PYTHON: run the suite with tests/run.sh");
    let script = r#"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1])
acc.Reload()
print(json.dumps({tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}))
"#;
    let out = Command::new(python).args(["-c", script]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let scalars: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("TensorBoard read: {scalars}");
    let loss: Vec<(u64, f64)> = serde_json::from_value(scalars["train/loss"].clone()).unwrap();
    let expected = [(0, 1.0), (1, 0.9), (2, 0.85), (3, 0.75)];
    assert_eq!(loss.len(), expected.len(), "{loss:?}");
    for ((step, value), (want_step, want)) in loss.iter().zip(expected) {
        assert_eq!(*step, want_step);
        assert!((value - want).abs() < 1e-6, "step {step}: {value} != {want}");
    }
    // The interrupted process's epoch end (step 4) came after the checkpoint: dropped.
    let val = scalars.get("val/top1").and_then(|v| v.as_array()).map_or(0, Vec::len);
    assert_eq!(val, 0, "{scalars}");
    let _ = std::fs::remove_dir_all(&dir);
}
