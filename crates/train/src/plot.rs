//! `curves.svg`: loss and accuracy per epoch, drawn as plain SVG (no plotting library).

use std::fmt::Write;

use crate::metrics::EpochMetrics;

const W: f64 = 460.0;
const H: f64 = 300.0;
const MARGIN: f64 = 48.0;

struct Series<'a> {
    name: &'a str,
    colour: &'a str,
    values: Vec<f64>,
}

fn panel(out: &mut String, x0: f64, title: &str, series: &[Series], y_range: Option<(f64, f64)>) {
    let n = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
    let finite = || {
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .filter(|v| v.is_finite())
    };
    let (lo, hi) = y_range.unwrap_or_else(|| {
        let lo = finite().fold(f64::INFINITY, f64::min).min(0.0);
        let hi = finite().fold(f64::NEG_INFINITY, f64::max);
        (lo, if hi > lo { hi * 1.05 } else { lo + 1.0 })
    });
    let px = |i: usize| x0 + MARGIN + (W - 1.5 * MARGIN) * if n > 1 { i as f64 / (n - 1) as f64 } else { 0.5 };
    let py = |v: f64| H - MARGIN - (H - 2.0 * MARGIN) * ((v.clamp(lo, hi) - lo) / (hi - lo));
    let _ = write!(
        out,
        r##"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="none" stroke="#888"/><text x="{tx}" y="24" font-size="15" text-anchor="middle">{title}</text>"##,
        x = x0 + MARGIN,
        y = MARGIN,
        w = W - 1.5 * MARGIN,
        h = H - 2.0 * MARGIN,
        tx = x0 + W / 2.0,
    );
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" font-size="11" text-anchor="end">{v:.3}</text>"#,
            x0 + MARGIN - 4.0,
            py(v) + 4.0
        );
    }
    let _ = write!(
        out,
        r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">epoch (1..{n})</text>"#,
        x0 + W / 2.0,
        H - 12.0
    );
    for (k, s) in series.iter().enumerate() {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, v)| format!("{:.1},{:.1}", px(i), py(*v)))
            .collect();
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{c}" stroke-width="2" points="{p}"/><text x="{lx}" y="{ly}" font-size="12" fill="{c}">{name}</text>"#,
            c = s.colour,
            p = points.join(" "),
            lx = x0 + MARGIN + 8.0,
            ly = MARGIN + 16.0 + 15.0 * k as f64,
            name = s.name,
        );
    }
}

/// Two panels: train/validation loss, and train top-1 with validation top-1/top-5.
pub fn curves_svg(history: &[EpochMetrics], title: &str) -> String {
    let column = |f: fn(&EpochMetrics) -> f64| history.iter().map(f).collect::<Vec<_>>();
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="8" y="{}" font-size="11" fill="#555">{}</text>"##,
        2.0 * W,
        H + 14.0,
        H + 8.0,
        xml_escape(title)
    );
    panel(
        &mut out,
        0.0,
        "loss",
        &[
            Series {
                name: "train",
                colour: "#1f77b4",
                values: column(|m| m.train_loss),
            },
            Series {
                name: "validation",
                colour: "#d62728",
                values: column(|m| m.val_loss),
            },
        ],
        None,
    );
    panel(
        &mut out,
        W,
        "accuracy",
        &[
            Series {
                name: "train top-1",
                colour: "#1f77b4",
                values: column(|m| m.train_top1),
            },
            Series {
                name: "validation top-1",
                colour: "#d62728",
                values: column(|m| m.val_top1),
            },
            Series {
                name: "validation top-5",
                colour: "#2ca02c",
                values: column(|m| m.val_top5),
            },
        ],
        Some((0.0, 1.0)),
    );
    out.push_str("</svg>\n");
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
