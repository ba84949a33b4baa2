//! Turning logits into answers: softmax and top-k with class names. Backend-free, so that
//! the CLI (synchronous readback) and the browser (asynchronous readback) share it.

use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Prediction {
    pub index: usize,
    pub label: String,
    pub probability: f32,
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = logits.iter().map(|&l| ((l - max) as f64).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|&e| (e / sum) as f32).collect()
}

/// Logits that are not numbers: broken weights (the loaders refuse non-finite tensors, so
/// this means values that overflow), never a result to show.
#[derive(Debug, thiserror::Error)]
#[error("the network's output is not finite ({count} of {total} logits are NaN or infinite): the weights are broken")]
pub struct NonFiniteLogits {
    pub count: usize,
    pub total: usize,
}

/// The `k` most probable classes, most probable first (ties by lower index).
pub fn top_k(logits: &[f32], labels: &[String], k: usize) -> Result<Vec<Prediction>, NonFiniteLogits> {
    let count = logits.iter().filter(|l| !l.is_finite()).count();
    if count > 0 {
        return Err(NonFiniteLogits {
            count,
            total: logits.len(),
        });
    }
    let probs = softmax(logits);
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    Ok(order
        .into_iter()
        .take(k)
        .map(|i| Prediction {
            index: i,
            label: labels.get(i).cloned().unwrap_or_else(|| format!("class {i}")),
            probability: probs[i],
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_and_normalises() {
        let labels: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let top = top_k(&[1.0, 3.0, 2.0, 3.0], &labels, 3).unwrap();
        assert_eq!(top.iter().map(|p| p.index).collect::<Vec<_>>(), vec![1, 3, 2]);
        let total: f32 = softmax(&[1.0, 3.0, 2.0, 3.0]).iter().sum();
        assert!((total - 1.0).abs() < 1e-6);
        assert!((top[0].probability - top[1].probability).abs() < 1e-7);
    }

    #[test]
    fn non_finite_logits_are_an_error() {
        let labels: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let err = top_k(&[1.0, bad, 2.0], &labels, 2).unwrap_err();
            assert_eq!((err.count, err.total), (1, 3));
        }
    }

    #[test]
    fn softmax_survives_huge_logits() {
        let p = softmax(&[1e30, 0.0, -1e30]);
        assert!((p[0] - 1.0).abs() < 1e-6 && p.iter().all(|x| x.is_finite()));
    }
}
