//! Checkpoints that survive a crash at any instant. A checkpoint is a folder
//! (`checkpoint/`: `state.json`, `model.bpk`, `ema.bpk`, `optimizer.bpk`) written in full
//! under a temporary name, flushed to disk, then swapped in by renames; the previous one
//! stays as `checkpoint.old/` until the new one is in place, and loading falls back to it.

use std::fs;
use std::path::{Path, PathBuf};

use burn::optim::OptimizerRecord;
use inception::Network;
use inception::weights::{WeightsMeta, load_weights, save_burnpack};
use serde::{Deserialize, Serialize};

use crate::atomic_file::{sync_dir, write_atomically};
use crate::config::TrainConfig;
use crate::metrics::{Accumulator, EpochMetrics};

/// Where training stands: the next batch to run and everything measured so far.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainState {
    pub config: TrainConfig,
    pub classes: Vec<String>,
    /// 0-based epoch in progress (or next to start).
    pub epoch: usize,
    /// Next batch of that epoch.
    pub batch: usize,
    pub global_step: u64,
    pub ema_updates: u64,
    /// Training loss and accuracy of the epoch in progress, so far.
    pub epoch_train: Accumulator,
    pub history: Vec<EpochMetrics>,
}

impl TrainState {
    /// The state of a run before its first step.
    pub fn new(config: &TrainConfig, classes: &[String]) -> Self {
        Self {
            config: config.clone(),
            classes: classes.to_vec(),
            epoch: 0,
            batch: 0,
            global_step: 0,
            ema_updates: 0,
            epoch_train: Accumulator::default(),
            history: Vec::new(),
        }
    }
}

pub struct Loaded {
    pub state: TrainState,
    pub model: Network,
    pub ema: Option<Network>,
    pub optimizer: OptimizerRecord,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint I/O at {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("checkpoint {path} is unreadable: {message}")]
    Corrupt { path: String, message: String },
    #[error("writing {path} failed: {message}")]
    Write { path: String, message: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn sync_file(path: &Path) -> std::io::Result<()> {
    fs::File::open(path)?.sync_all()
}

pub fn checkpoint_dir(run: &Path) -> PathBuf {
    run.join("checkpoint")
}

/// Writes a checkpoint. `optimizer` is the optimizer's state after the last step, or
/// `None` when no step has run since the newest checkpoint (whose state is then kept).
pub fn save(
    run: &Path,
    state: &TrainState,
    model: &Network,
    ema: Option<&Network>,
    optimizer: Option<OptimizerRecord>,
    meta: &WeightsMeta,
) -> Result<(), CheckpointError> {
    let final_dir = checkpoint_dir(run);
    let tmp = run.join(format!("checkpoint.tmp{}", std::process::id()));
    let old = run.join("checkpoint.old");
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_error(&tmp))?;
    }
    if let Err(e) = write_files(&tmp, run, state, model, ema, optimizer, meta) {
        // The previous checkpoint is untouched; what was written of this one (on a full
        // disk, say) is freed.
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if old.exists() {
        fs::remove_dir_all(&old).map_err(io_error(&old))?;
    }
    if final_dir.exists() {
        fs::rename(&final_dir, &old).map_err(io_error(&final_dir))?;
    }
    fs::rename(&tmp, &final_dir).map_err(io_error(&tmp))?;
    sync_dir(run);
    if old.exists() {
        fs::remove_dir_all(&old).map_err(io_error(&old))?;
    }
    Ok(())
}

/// Every file of a checkpoint, written and flushed in the folder `tmp`.
fn write_files(
    tmp: &Path,
    run: &Path,
    state: &TrainState,
    model: &Network,
    ema: Option<&Network>,
    optimizer: Option<OptimizerRecord>,
    meta: &WeightsMeta,
) -> Result<(), CheckpointError> {
    fs::create_dir_all(tmp).map_err(io_error(tmp))?;
    let failed = |path: &Path, message: String| CheckpointError::Write {
        path: path.display().to_string(),
        message,
    };
    let model_path = tmp.join("model.bpk");
    save_burnpack(model, meta, &model_path).map_err(|m| failed(&model_path, m))?;
    sync_file(&model_path).map_err(io_error(&model_path))?;
    if let Some(ema) = ema {
        let ema_path = tmp.join("ema.bpk");
        save_burnpack(ema, meta, &ema_path).map_err(|m| failed(&ema_path, m))?;
        sync_file(&ema_path).map_err(io_error(&ema_path))?;
    }
    let optim_path = tmp.join("optimizer.bpk");
    match optimizer {
        Some(record) => record
            .save(&optim_path)
            .map_err(|e| failed(&optim_path, format!("{e:?}")))?,
        None => {
            // No optimizer step since the last checkpoint: its state carries over.
            let previous = newest(run)
                .map(|dir| dir.join("optimizer.bpk"))
                .ok_or_else(|| failed(&optim_path, "no optimizer state to carry over".into()))?;
            fs::copy(&previous, &optim_path).map_err(io_error(&previous))?;
        }
    }
    sync_file(&optim_path).map_err(io_error(&optim_path))?;
    let state_path = tmp.join("state.json");
    let json = serde_json::to_vec_pretty(state).map_err(|e| failed(&state_path, e.to_string()))?;
    write_atomically(&state_path, &json).map_err(io_error(&state_path))?;
    sync_dir(tmp);

    Ok(())
}

/// The folder of the newest complete checkpoint: `checkpoint/`, or `checkpoint.old/` when a
/// crash came between the two renames of a save.
fn newest(run: &Path) -> Option<PathBuf> {
    [checkpoint_dir(run), run.join("checkpoint.old")]
        .into_iter()
        .find(|d| d.join("state.json").is_file())
}

/// The newest complete checkpoint of a run (`None` if it has none), loaded onto `device`.
pub fn load(run: &Path, device: &burn::prelude::Device) -> Result<Option<Loaded>, CheckpointError> {
    let Some(dir) = newest(run) else { return Ok(None) };
    let read = |name: &str| {
        let path = dir.join(name);
        fs::read(&path).map_err(io_error(&path))
    };
    let corrupt = |name: &str, message: String| CheckpointError::Corrupt {
        path: dir.join(name).display().to_string(),
        message,
    };
    let state: TrainState =
        serde_json::from_slice(&read("state.json")?).map_err(|e| corrupt("state.json", e.to_string()))?;
    let arch = Some(state.config.arch);
    let model = load_weights(read("model.bpk")?, arch, "checkpoint", device)
        .map_err(|e| corrupt("model.bpk", e.to_string()))?
        .network;
    let ema = if dir.join("ema.bpk").is_file() {
        Some(
            load_weights(read("ema.bpk")?, arch, "checkpoint", device)
                .map_err(|e| corrupt("ema.bpk", e.to_string()))?
                .network,
        )
    } else {
        None
    };
    let optimizer =
        OptimizerRecord::load(dir.join("optimizer.bpk")).map_err(|e| corrupt("optimizer.bpk", format!("{e:?}")))?;
    Ok(Some(Loaded {
        state,
        model,
        ema,
        optimizer,
    }))
}
