//! Training for the networks of the `inception` crate, natively on any burn backend (wgpu
//! for a GPU, flex or ndarray on the CPU), on burn-train: every step runs through its
//! `Learner` ([`learner`]), around which this crate keeps the epochs, the data order, the
//! EMA, the evaluation and the checkpoints.
//!
//! The default recipe is the paper's (Szegedy et al., AAAI 2017, Section 4): TensorFlow's
//! RMSProp with decay 0.9 and epsilon 1.0, learning rate 0.045 decayed by 0.94 every two epochs, weight
//! decay 4e-5, label smoothing 0.1, and an exponential moving average of the weights used
//! for evaluation and export. Everything is a field of [`TrainConfig`].
//!
//! A run is a folder: `config.json`, `metrics.csv`, `curves.svg`, TensorBoard event files
//! ([`tensorboard`]), the checkpoint (written
//! atomically every epoch and on interruption) and the exported `model.bpk`, which the CLI
//! and the web page load. `--resume` continues a run exactly: weights, optimizer state,
//! EMA, schedule and data order all come from the checkpoint, and every random choice is
//! a hash of (seed, epoch, step, sample), never a generator's hidden state.

pub mod atomic_file;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod ema;
pub mod learner;
pub mod metrics;
pub mod plot;
pub mod recipe;
pub mod replicas;
pub mod rmsprop_tf;
pub mod rng;
pub mod shapes;
pub mod tensorboard;
pub mod trainer;

pub use config::TrainConfig;
pub use trainer::{Interrupt, RunSummary, Start, TrainRequest, train};
