//! Batches made by worker threads, delivered in order. Batch `b` of epoch `e` is a pure
//! function of (seed, e, b): the sample order comes from a shuffle seeded by (seed, e),
//! each sample's augmentation from (seed, e, position), so a resumed run (or a different
//! number of workers) sees exactly the same batches.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use burn::prelude::*;
use inception::{Preprocess, decode_image};

use super::augment::train_view;
use super::folder::Sample;
use crate::config::TrainConfig;
use crate::rng::Rng;

/// Training views (augmented, shuffled, full batches only) or evaluation views (the
/// model's eval transform, in folder order, the last batch partial).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Train,
    Eval,
}

pub struct Batch {
    pub index: usize,
    /// `[n, 3, size, size]`, row-major.
    pub images: Vec<f32>,
    pub labels: Vec<i64>,
}

impl Batch {
    /// The images as a `[n, 3, size, size]` tensor on `device`, and the labels.
    pub fn into_tensor(self, size: usize, device: &Device) -> (Tensor<4>, Vec<i64>) {
        let shape = [self.labels.len(), 3, size, size];
        (
            Tensor::from_data(TensorData::new(self.images, shape), device),
            self.labels,
        )
    }
}

pub struct BatchLoader {
    receiver: Option<Receiver<Batch>>,
    pending: BTreeMap<usize, Batch>,
    next: usize,
    end: usize,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl BatchLoader {
    /// Number of batches of an epoch.
    pub fn batches(samples: usize, batch_size: usize, view: View) -> usize {
        match view {
            View::Train => samples / batch_size,
            View::Eval => samples.div_ceil(batch_size),
        }
    }

    /// The number of batches in an epoch of `samples` images.
    pub fn epoch_len(samples: usize, config: &TrainConfig, view: View) -> usize {
        let batches = Self::batches(samples, config.batch_size, view);
        match (view, config.max_steps_per_epoch) {
            (View::Train, Some(max)) => batches.min(max),
            _ => batches,
        }
    }

    /// Batches `start..` of `epoch` (`start > 0` when resuming inside an epoch).
    pub fn new(samples: Arc<Vec<Sample>>, config: &TrainConfig, view: View, epoch: usize, start: usize) -> Self {
        let batches = Self::epoch_len(samples.len(), config, view);
        let mut order: Vec<usize> = (0..samples.len()).collect();
        if view == View::Train {
            Rng::at(&[config.seed, 0x0DE7, epoch as u64]).shuffle(&mut order);
        }
        let order = Arc::new(order);
        let counter = Arc::new(AtomicUsize::new(start));
        let stop = Arc::new(AtomicBool::new(false));
        let (sender, receiver) = sync_channel(config.workers * 2);
        let config = Arc::new(config.clone());
        let eval = Preprocess::timm_eval(config.arch).with_input_size(config.image_size);
        let workers = (0..config.workers)
            .map(|_| {
                let (samples, order, counter, stop, sender, config, eval) = (
                    samples.clone(),
                    order.clone(),
                    counter.clone(),
                    stop.clone(),
                    sender.clone(),
                    config.clone(),
                    eval.clone(),
                );
                std::thread::spawn(move || {
                    loop {
                        let index = counter.fetch_add(1, Ordering::SeqCst);
                        if index >= batches || stop.load(Ordering::SeqCst) {
                            return;
                        }
                        let batch = make_batch(&samples, &order, index, &config, &eval, view, epoch);
                        if sender.send(batch).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        Self {
            receiver: Some(receiver),
            pending: BTreeMap::new(),
            next: start,
            end: batches,
            stop,
            workers,
        }
    }

    pub fn len(&self) -> usize {
        self.end
    }

    pub fn is_empty(&self) -> bool {
        self.end == 0
    }
}

impl Iterator for BatchLoader {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.next >= self.end {
            return None;
        }
        loop {
            if let Some(batch) = self.pending.remove(&self.next) {
                self.next += 1;
                return Some(batch);
            }
            let batch = self.receiver.as_ref()?.recv().ok()?;
            self.pending.insert(batch.index, batch);
        }
    }
}

impl Drop for BatchLoader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Dropping the receiver unblocks workers waiting to send.
        self.receiver.take();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn make_batch(
    samples: &[Sample],
    order: &[usize],
    index: usize,
    config: &TrainConfig,
    eval: &Preprocess,
    view: View,
    epoch: usize,
) -> Batch {
    let size = config.image_size;
    let first = index * config.batch_size;
    let last = (first + config.batch_size).min(order.len());
    let mut images = Vec::with_capacity((last - first) * 3 * size * size);
    let mut labels = Vec::with_capacity(last - first);
    for position in first..last {
        // A file that passed the folder scan but fails to decode is replaced by the next
        // readable one (deterministically).
        let mut candidate = position;
        let (img, label) = loop {
            let sample = &samples[order[candidate % order.len()]];
            match std::fs::read(&sample.path)
                .map_err(|e| e.to_string())
                .and_then(|b| decode_image(&b).map_err(|e| e.to_string()))
            {
                Ok(img) => break (Some(img), sample.label),
                Err(_) if candidate - position < order.len() => candidate += 1,
                Err(_) => break (None, sample.label),
            }
        };
        let Some(img) = img else {
            images.extend(std::iter::repeat_n(0.0, 3 * size * size));
            labels.push(label as i64);
            continue;
        };
        let pixels = match view {
            View::Train => {
                let mut rng = Rng::at(&[config.seed, 0xA06, epoch as u64, position as u64]);
                train_view(&img, size, config, eval, &mut rng)
            }
            View::Eval => eval.apply(&img),
        };
        images.extend(pixels);
        labels.push(label as i64);
    }
    Batch { index, images, labels }
}
