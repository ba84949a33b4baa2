//! Training data: an image folder (`folder`), its augmentation (`augment`) and the worker
//! threads that turn it into batches (`loader`).

pub mod augment;
pub mod folder;
pub mod loader;

pub use folder::{DataError, Dataset, Sample, scan};
pub use loader::{Batch, BatchLoader, View};
