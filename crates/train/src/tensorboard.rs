//! TensorBoard event files, so that `tensorboard --logdir runs/` shows a run while it trains.
//!
//! A run folder gets one `events.out.tfevents.<seconds>.<host>.<pid>` file per process (a
//! resumed run adds one). The format is TensorFlow's: a sequence of TFRecords (length,
//! masked CRC-32C of the length, the bytes, masked CRC-32C of the bytes), each an `Event`
//! protocol buffer. Only what scalars need is written, by hand (a few fields do not justify
//! a protobuf code generator): `Event { wall_time, step, file_version | summary |
//! session_log }`, `Summary { value: [{ tag, simple_value }] }`.
//!
//! A resumed run redoes the steps after its checkpoint. Its file starts with a
//! `SessionLog { status: START }` at the first step it redoes, which tells TensorBoard to drop
//! the points the interrupted process had written from that step on (as TensorFlow's own
//! summary writers do after a restart).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The run's TensorBoard log. Writing it is never worth a run: a failure is one warning and
/// the log stops.
pub struct Board(Option<EventWriter>);

impl Board {
    /// See [`EventWriter::create`].
    pub fn open(run: &Path, resumed_from: Option<u64>) -> Self {
        match EventWriter::create(run, resumed_from) {
            Ok(writer) => Self(Some(writer)),
            Err(e) => {
                eprintln!("warning: no TensorBoard log in {}: {e}", run.display());
                Self(None)
            }
        }
    }

    pub fn log(&mut self, step: u64, values: &[(&str, f64)]) {
        if let Some(writer) = &mut self.0
            && let Err(e) = writer.scalars(step, values)
        {
            eprintln!(
                "warning: the TensorBoard log {} stops here: {e}",
                writer.path().display()
            );
            self.0 = None;
        }
    }
}

/// Tells apart the event files one process makes within one second.
static FILES: AtomicU64 = AtomicU64::new(0);

/// Appends scalar events to one event file, flushing after every event.
pub struct EventWriter {
    path: PathBuf,
    file: File,
}

impl EventWriter {
    /// A new event file in `dir`. `resumed_from`, for a resumed run: the first step this
    /// process logs; the points an earlier process logged from that step on are superseded.
    pub fn create(dir: &Path, resumed_from: Option<u64>) -> io::Result<Self> {
        let now = wall_time();
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
        let host: String = host
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let path = dir.join(format!(
            "events.out.tfevents.{}.{}.{}.{}",
            now as u64,
            if host.is_empty() { "localhost" } else { &host },
            std::process::id(),
            FILES.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new().create_new(true).append(true).open(&path)?;
        let mut writer = Self { path, file };
        let mut version = Vec::new();
        field_double(&mut version, 1, now);
        field_bytes(&mut version, 3, b"brain.Event:2");
        writer.record(&version)?;
        if let Some(step) = resumed_from {
            let mut start = Vec::new();
            field_double(&mut start, 1, now);
            field_varint(&mut start, 2, step);
            let mut log = Vec::new();
            field_varint(&mut log, 1, 1); // SessionLog.START
            field_bytes(&mut start, 7, &log); // Event.session_log
            writer.record(&start)?;
        }
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Scalars `(tag, value)` at `step`, in one event.
    pub fn scalars(&mut self, step: u64, values: &[(&str, f64)]) -> io::Result<()> {
        let mut summary = Vec::new();
        for (tag, value) in values {
            let mut v = Vec::new();
            field_bytes(&mut v, 1, tag.as_bytes());
            // simple_value: field 2, 32-bit float.
            v.push((2 << 3) | 5);
            v.extend_from_slice(&(*value as f32).to_le_bytes());
            field_bytes(&mut summary, 1, &v);
        }
        let mut event = Vec::new();
        field_double(&mut event, 1, wall_time());
        field_varint(&mut event, 2, step);
        field_bytes(&mut event, 5, &summary);
        self.record(&event)
    }

    fn record(&mut self, data: &[u8]) -> io::Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        let mut out = Vec::with_capacity(data.len() + 16);
        out.extend_from_slice(&len);
        out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
        out.extend_from_slice(data);
        out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
        self.file.write_all(&out)?;
        self.file.flush()
    }
}

fn wall_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn field_varint(out: &mut Vec<u8>, field: u64, value: u64) {
    varint(out, field << 3);
    varint(out, value);
}

fn field_double(out: &mut Vec<u8>, field: u64, value: f64) {
    varint(out, (field << 3) | 1);
    out.extend_from_slice(&value.to_le_bytes());
}

fn field_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// CRC-32C (Castagnoli), bitwise: a record is a few hundred bytes.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// TFRecord's masking of a CRC, so that a CRC of data holding CRCs stays well distributed.
fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_value() {
        // The check value of CRC-32C (RFC 3720, iSCSI): "123456789" -> 0xE3069283.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
    }

    #[test]
    fn varints_are_protobufs() {
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xAC, 0x02]);
    }
}
