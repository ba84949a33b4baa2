//! How a `.bpk` stores its weights: f32 as trained, or smaller, f16 (half the size) or int8
//! with one f32 scale per output channel (a quarter). Only the convolution and classifier
//! weights (tensors of rank 2 and more, 99.7% of the parameters) are stored smaller; biases
//! and BatchNorm statistics stay f32. Loading gives f32 again: [`decode`] turns the stored
//! tensors back into f32 once, before the network sees them, on every backend.
//!
//! int8 is symmetric per channel: `q = round(w / s)` in -127..=127 with `s = max|w| / 127`
//! over the channel. The scale of tensor `NAME` is stored as the f32 tensor
//! `NAME` + [`SCALE_SUFFIX`], whose shape broadcasts against the weight: `[out, 1, 1, 1]`
//! for a convolution (burn's `[out, in, kh, kw]`), `[1, out]` for the classifier (burn's
//! Linear is `[in, out]`).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use burn::store::burn_pack::{self, Bytes};
use burn::tensor::{DType, f16};
use serde::{Deserialize, Serialize};

type PackTensor = burn_pack::Tensor;

/// Suffix of the name of an int8 tensor's scales.
pub const SCALE_SUFFIX: &str = ".int8_scale";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageDtype {
    #[default]
    F32,
    F16,
    Int8,
}

impl StorageDtype {
    pub const ALL: [StorageDtype; 3] = [StorageDtype::F32, StorageDtype::F16, StorageDtype::Int8];

    pub fn name(self) -> &'static str {
        match self {
            StorageDtype::F32 => "f32",
            StorageDtype::F16 => "f16",
            StorageDtype::Int8 => "int8",
        }
    }
}

impl fmt::Display for StorageDtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StorageDtype {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("{s:?} is not a storage dtype (f32, f16, int8)"))
    }
}

/// Whether a tensor is stored at the file's dtype (the weights of convolutions and of the
/// classifier) or always at f32.
fn stored_smaller(t: &PackTensor) -> bool {
    t.shape.len() >= 2
}

/// The tensors to write for f32 tensors `tensors` at `dtype`. f32 passes them through
/// untouched (and unread); f16 refuses a value past its range, naming the tensor.
pub fn encode(tensors: Vec<PackTensor>, dtype: StorageDtype) -> Result<Vec<PackTensor>, String> {
    if dtype == StorageDtype::F32 {
        return Ok(tensors);
    }
    let mut out = Vec::with_capacity(tensors.len() * 2);
    for t in tensors {
        if t.dtype != DType::F32 || !stored_smaller(&t) {
            out.push(t);
            continue;
        }
        let name = t.name.clone();
        let (_, _, shape, param_id, bytes) = t.into_parts().map_err(|e| format!("{name}: {e}"))?;
        let values = f32_values(&bytes);
        match dtype {
            StorageDtype::F16 => {
                if let Some(v) = values.iter().find(|v| v.abs() > f16::MAX.to_f32()) {
                    return Err(format!("{name} has the value {v}, past f16's range"));
                }
                let half: Vec<u8> = values.iter().flat_map(|v| f16::from_f32(*v).to_le_bytes()).collect();
                out.push(PackTensor::new(
                    name,
                    DType::F16,
                    shape,
                    param_id,
                    Bytes::from_bytes_vec(half),
                ));
            }
            StorageDtype::Int8 => {
                let dims = shape.as_slice().to_vec();
                let axis = channel_axis(&dims);
                let scales = channel_scales(&values, &dims, axis);
                let q: Vec<u8> = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let s = scales[channel_of(i, &dims, axis)];
                        (v / s).round().clamp(-127.0, 127.0) as i8 as u8
                    })
                    .collect();
                let mut scale_shape = vec![1; dims.len()];
                scale_shape[axis] = dims[axis];
                let scale_bytes: Vec<u8> = scales.iter().flat_map(|s| s.to_le_bytes()).collect();
                out.push(PackTensor::new(
                    format!("{name}{SCALE_SUFFIX}"),
                    DType::F32,
                    scale_shape,
                    None,
                    Bytes::from_bytes_vec(scale_bytes),
                ));
                out.push(PackTensor::new(
                    name,
                    DType::I8,
                    shape,
                    param_id,
                    Bytes::from_bytes_vec(q),
                ));
            }
            StorageDtype::F32 => unreachable!("returned above"),
        }
    }
    Ok(out)
}

/// Little-endian f32 data as values (a trailing partial value is ignored).
pub(crate) fn f32_values(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// The output-channel axis: 0 for a convolution `[out, in, kh, kw]`, 1 for burn's Linear
/// `[in, out]`.
fn channel_axis(dims: &[usize]) -> usize {
    if dims.len() == 2 { 1 } else { 0 }
}

fn channel_of(index: usize, dims: &[usize], axis: usize) -> usize {
    let inner: usize = dims[axis + 1..].iter().product();
    (index / inner) % dims[axis]
}

fn channel_scales(values: &[f32], dims: &[usize], axis: usize) -> Vec<f32> {
    let mut max = vec![0f32; dims[axis]];
    for (i, v) in values.iter().enumerate() {
        let c = channel_of(i, dims, axis);
        max[c] = max[c].max(v.abs());
    }
    // A channel of zeros keeps a scale of 1: its values stay 0.
    max.into_iter().map(|m| if m > 0.0 { m / 127.0 } else { 1.0 }).collect()
}

/// Turns int8 tensors and their scales back into f32 tensors; other tensors pass through
/// (f16 is converted with the rest by the loader). An int8 tensor without its scales, scales
/// without their tensor, and scales of the wrong shape or not finite and positive are errors
/// naming the tensor.
pub fn decode(tensors: Vec<PackTensor>) -> Result<Vec<PackTensor>, (String, String)> {
    let (scales, mut rest): (Vec<_>, Vec<_>) = tensors.into_iter().partition(|t| t.name.ends_with(SCALE_SUFFIX));
    if scales.is_empty() && rest.iter().all(|t| t.dtype != DType::I8) {
        return Ok(rest);
    }
    let mut scales: HashMap<String, PackTensor> = scales
        .into_iter()
        .map(|t| (t.name[..t.name.len() - SCALE_SUFFIX.len()].to_string(), t))
        .collect();
    for t in rest.iter_mut().filter(|t| t.dtype == DType::I8) {
        let name = t.name.clone();
        let bad = |m: String| (name.clone(), m);
        let scale = scales
            .remove(&name)
            .ok_or_else(|| bad(format!("int8 data without its scales ({name}{SCALE_SUFFIX})")))?;
        let dims = t.shape.as_slice().to_vec();
        if dims.len() < 2 {
            return Err(bad(format!("int8 data of rank {}", dims.len())));
        }
        let axis = channel_axis(&dims);
        let mut expected = vec![1; dims.len()];
        expected[axis] = dims[axis];
        if scale.dtype != DType::F32 || scale.shape.as_slice() != expected.as_slice() {
            return Err(bad(format!(
                "its scales are {:?} of shape {:?}, not F32 of shape {expected:?}",
                scale.dtype,
                scale.shape.as_slice()
            )));
        }
        let elements = dims
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| bad(format!("shape {dims:?} is too large")))?;
        if t.byte_len() != elements || scale.byte_len() != 4 * dims[axis] {
            return Err(bad(format!("{} bytes of int8 data for shape {dims:?}", t.byte_len())));
        }
        let scale_bytes = scale.into_bytes().map_err(|e| bad(e.to_string()))?;
        let s = f32_values(&scale_bytes);
        if let Some(v) = s.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
            return Err(bad(format!("a scale of {v}: scales must be finite and positive")));
        }
        let q = t.to_bytes().map_err(|e| bad(e.to_string()))?;
        // Runs of `inner` values share a channel: one scale per run, no index arithmetic per
        // value (this loop is most of the load time of an int8 file in the page).
        let inner: usize = dims[axis + 1..].iter().product();
        let mut values = Vec::with_capacity(4 * q.len());
        for (run, block) in q.chunks(inner.max(1)).enumerate() {
            let scale = s[run % dims[axis]];
            for b in block {
                values.extend_from_slice(&(*b as i8 as f32 * scale).to_le_bytes());
            }
        }
        *t = PackTensor::new(name, DType::F32, dims, t.param_id, Bytes::from_bytes_vec(values));
    }
    if let Some(orphan) = scales.into_keys().next() {
        return Err((
            format!("{orphan}{SCALE_SUFFIX}"),
            "int8 scales of no int8 tensor".into(),
        ));
    }
    Ok(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, dims: &[usize], values: &[f32]) -> PackTensor {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        PackTensor::new(
            name.into(),
            DType::F32,
            dims.to_vec(),
            None,
            Bytes::from_bytes_vec(bytes),
        )
    }

    fn values(t: &PackTensor) -> Vec<f32> {
        assert_eq!(t.dtype, DType::F32);
        f32_values(&t.to_bytes().unwrap())
    }

    #[test]
    fn int8_round_trip_is_within_half_a_step_per_channel() {
        // Two output channels of very different ranges, as a convolution and as a Linear.
        let w: Vec<f32> = (0..24)
            .map(|i| {
                if i < 12 {
                    (i as f32 - 6.0) * 0.01
                } else {
                    (i as f32 - 18.0) * 3.0
                }
            })
            .collect();
        for (dims, axis) in [(vec![2, 3, 2, 2], 0), (vec![12, 2], 1)] {
            let stored = encode(vec![tensor("w", &dims, &w)], StorageDtype::Int8).unwrap();
            assert_eq!(stored.len(), 2);
            assert!(stored.iter().any(|t| t.dtype == DType::I8 && t.name == "w"));
            let back = decode(stored).unwrap();
            assert_eq!(back.len(), 1);
            let got = values(&back[0]);
            for (i, (a, b)) in w.iter().zip(&got).enumerate() {
                let c = channel_of(i, &dims, axis);
                let max = w.iter().enumerate().filter(|(j, _)| channel_of(*j, &dims, axis) == c);
                let step = max.map(|(_, v)| v.abs()).fold(0f32, f32::max) / 127.0;
                assert!((a - b).abs() <= step / 2.0 + 1e-7, "{dims:?} [{i}]: {a} vs {b}");
            }
        }
    }

    #[test]
    fn only_weights_are_stored_smaller() {
        let stored = encode(
            vec![
                tensor("bias", &[3], &[1.0, 2.0, 3.0]),
                tensor("w", &[1, 3], &[1.0, -2.0, 0.0]),
            ],
            StorageDtype::F16,
        )
        .unwrap();
        assert_eq!(stored[0].dtype, DType::F32);
        assert_eq!(stored[1].dtype, DType::F16);
        assert!(
            encode(vec![tensor("w", &[1, 2], &[1e6, 0.0])], StorageDtype::F16)
                .unwrap_err()
                .contains("w has")
        );
    }

    #[test]
    fn broken_int8_tensors_are_refused_by_name() {
        let stored = || encode(vec![tensor("w", &[2, 2], &[1.0, -1.0, 0.5, 0.0])], StorageDtype::Int8).unwrap();
        // The scales missing, orphaned, misshaped, zero or NaN.
        let no_scale: Vec<_> = stored().into_iter().filter(|t| t.dtype == DType::I8).collect();
        assert!(decode(no_scale).unwrap_err().1.contains("without its scales"));
        let orphan: Vec<_> = stored().into_iter().filter(|t| t.dtype != DType::I8).collect();
        assert_eq!(decode(orphan).unwrap_err().0, "w.int8_scale");
        for bad in [vec![0.0f32, 1.0], vec![f32::NAN, 1.0]] {
            let mut t = stored();
            t[0] = tensor("w.int8_scale", &[1, 2], &bad);
            assert!(decode(t).unwrap_err().1.contains("finite and positive"));
        }
        let mut t = stored();
        t[0] = tensor("w.int8_scale", &[2, 1], &[1.0, 1.0]);
        assert!(decode(t).unwrap_err().1.contains("not F32 of shape [1, 2]"));
        let mut t = stored();
        t[1] = PackTensor::new(
            "w".into(),
            DType::I8,
            vec![2, 2],
            None,
            Bytes::from_bytes_vec(vec![1, 2, 3]),
        );
        assert!(decode(t).unwrap_err().1.contains("bytes of int8 data"));
    }

    #[test]
    fn an_empty_int8_tensor_is_no_panic() {
        let t = vec![
            tensor("w.int8_scale", &[2, 1, 1, 1], &[1.0, 1.0]),
            PackTensor::new(
                "w".into(),
                DType::I8,
                vec![2, 0, 3, 3],
                None,
                Bytes::from_bytes_vec(vec![]),
            ),
        ];
        let back = decode(t).unwrap();
        assert_eq!(back[0].byte_len(), 0);
    }

    #[test]
    fn dtype_names_parse() {
        for d in StorageDtype::ALL {
            assert_eq!(d.name().parse::<StorageDtype>(), Ok(d));
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{d}\""));
        }
        assert!("int4".parse::<StorageDtype>().is_err());
    }
}
