//! Raw f32 data as the fixtures and the CLI's `--out` write it, and how tests compare it.

use std::path::Path;

/// Little-endian f32 values (a trailing partial value is a failure: the file is cut).
pub fn f32_values(bytes: &[u8]) -> Vec<f32> {
    assert_eq!(
        bytes.len() % 4,
        0,
        "{} bytes is not a whole number of f32 values",
        bytes.len()
    );
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A raw f32 file; a missing file is a failure naming it.
pub fn read_f32(path: impl AsRef<Path>) -> Vec<f32> {
    let path = path.as_ref();
    f32_values(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The largest absolute difference of two equally long slices.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length differs");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Indices of the five largest values, largest first.
pub fn top5(values: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    idx.truncate(5);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_rank() {
        let bytes: Vec<u8> = [1.5f32, -2.0, 7.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(f32_values(&bytes), vec![1.5, -2.0, 7.0]);
        assert_eq!(top5(&[0.1, 0.9, 0.5]), vec![1, 2, 0]);
        assert_eq!(max_abs_diff(&[1.0, 2.0], &[1.5, 1.0]), 1.0);
    }
}
