//! Where the network looked: class activation maps (Zhou, Khosla, Lapedriza, Oliva, Torralba,
//! "Learning Deep Features for Discriminative Localization", CVPR 2016).
//!
//! Every network here ends in global average pooling and one linear layer, so class `c`'s
//! logit is `mean over (y, x) of M_c(y, x) + b_c` with `M_c(y, x) = sum_k w[k, c] f_k(y, x)`,
//! `f` the final feature map (1536 x 8 x 8 for Inception-ResNet-v2 at 299). `M_c` is that
//! class's map: exact for this head, with no backward pass. Its mean plus the class's bias
//! is the logit, which the tests check.

use burn::prelude::*;
use image::{Rgb, RgbImage};
use serde::Serialize;

use crate::model::Network;

/// One class's map over the final feature grid, row-major `[height, width]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassMap {
    pub class: usize,
    pub height: usize,
    pub width: usize,
    pub values: Vec<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum CamError {
    #[error("class {class} does not exist: the network has {classes} classes")]
    NoSuchClass { class: usize, classes: usize },
}

/// The maps of `classes` for features `[batch, channels, h, w]` from
/// [`Network::forward_with_features`]: `[batch, classes.len(), h, w]`.
pub fn class_activation_maps(network: &Network, features: Tensor<4>, classes: &[usize]) -> Result<Tensor<4>, CamError> {
    let num_classes = network.num_classes();
    if let Some(&class) = classes.iter().find(|&&c| c >= num_classes) {
        return Err(CamError::NoSuchClass {
            class,
            classes: num_classes,
        });
    }
    let device = features.device();
    let indices: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
    let indices = Tensor::<1, Int>::from_data(TensorData::new(indices, [classes.len()]), &device);
    // burn's Linear keeps its weight as [in, out]: the columns are the classes.
    Ok(maps_of(network.classifier().weight.val().select(1, indices), features))
}

/// The maps of every class: `[batch, classes, h, w]`.
pub fn every_class_map(network: &Network, features: Tensor<4>) -> Tensor<4> {
    maps_of(network.classifier().weight.val(), features)
}

/// `columns` `[channels, n]` of the classifier applied at every position of `features`.
fn maps_of(columns: Tensor<2>, features: Tensor<4>) -> Tensor<4> {
    let [batch, channels, h, w] = features.dims();
    let n = columns.dims()[1];
    features
        .reshape([batch, channels, h * w])
        .swap_dims(1, 2)
        .reshape([batch * h * w, channels])
        .matmul(columns)
        .reshape([batch, h * w, n])
        .swap_dims(1, 2)
        .reshape([batch, n, h, w])
}

/// Splits the values of a `[classes.len(), h, w]` map tensor (one image's, read back) into
/// one [`ClassMap`] per class.
pub fn split_maps(values: &[f32], classes: &[usize], height: usize, width: usize) -> Vec<ClassMap> {
    classes
        .iter()
        .zip(values.chunks_exact(height * width))
        .map(|(&class, values)| ClassMap {
            class,
            height,
            width,
            values: values.to_vec(),
        })
        .collect()
}

/// Every class's map of one image, read back: `[classes, height, width]`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassMaps {
    pub height: usize,
    pub width: usize,
    values: Vec<f32>,
}

impl ClassMaps {
    pub fn new(values: Vec<f32>, height: usize, width: usize) -> Self {
        Self { height, width, values }
    }

    /// Class `class`'s map, if the network has that class.
    pub fn of(&self, class: usize) -> Option<ClassMap> {
        let cells = self.height * self.width;
        let values = self.values.get(class * cells..(class + 1) * cells)?;
        Some(ClassMap {
            class,
            height: self.height,
            width: self.width,
            values: values.to_vec(),
        })
    }
}

impl ClassMap {
    /// The map rescaled to [0, 1] (a constant map is all zeros).
    pub fn normalized(&self) -> Vec<f32> {
        let (lo, hi) = self
            .values
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let range = hi - lo;
        self.values
            .iter()
            .map(|&v| if range > 0.0 { (v - lo) / range } else { 0.0 })
            .collect()
    }

    /// The normalised map at pixel centre `(x, y)` of a `width x height` image, bilinear
    /// (half-pixel centres, edges clamped: what a browser's canvas scaling does).
    fn sample(&self, normalized: &[f32], x: u32, y: u32, width: u32, height: u32) -> f32 {
        let coord = |p: u32, out: u32, cells: usize| {
            let c = ((p as f32 + 0.5) * cells as f32 / out as f32 - 0.5).clamp(0.0, (cells - 1) as f32);
            let i = (c.floor() as usize).min(cells - 1);
            (i, (i + 1).min(cells - 1), c - i as f32)
        };
        let (x0, x1, fx) = coord(x, width, self.width);
        let (y0, y1, fy) = coord(y, height, self.height);
        let at = |yy: usize, xx: usize| normalized[yy * self.width + xx];
        let top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx;
        let bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    /// The map as an RGBA image of its own size (`width x height`, 4 bytes a cell), coloured
    /// as [`ClassMap::overlay`] colours it: a page scales it over the photo.
    pub fn heat_rgba(&self) -> Vec<u8> {
        self.normalized()
            .into_iter()
            .flat_map(|t| {
                let [r, g, b] = heat_colour(t).map(|c| c.round() as u8);
                [r, g, b, 255]
            })
            .collect()
    }

    /// `image` with the map drawn over it: upsampled bilinearly, coloured from blue (low) to
    /// red (high) and blended with `opacity` (0: the photo, 1: the map alone).
    pub fn overlay(&self, image: &RgbImage, opacity: f32) -> RgbImage {
        let normalized = self.normalized();
        let (width, height) = image.dimensions();
        let opacity = opacity.clamp(0.0, 1.0);
        RgbImage::from_fn(width, height, |x, y| {
            let heat = heat_colour(self.sample(&normalized, x, y, width, height));
            let photo = image.get_pixel(x, y).0;
            Rgb(std::array::from_fn(|c| {
                (photo[c] as f32 * (1.0 - opacity) + heat[c] * opacity).round() as u8
            }))
        })
    }
}

/// A blue-cyan-yellow-red ramp for `t` in [0, 1] (the usual "jet" look), as 0-255 floats.
fn heat_colour(t: f32) -> [f32; 3] {
    let channel = |centre: f32| (1.5 - (4.0 * t - centre).abs()).clamp(0.0, 1.0) * 255.0;
    [channel(3.0), channel(2.0), channel(1.0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(values: Vec<f32>, height: usize, width: usize) -> ClassMap {
        ClassMap {
            class: 0,
            height,
            width,
            values,
        }
    }

    #[test]
    fn the_overlay_puts_the_hot_cell_where_it_is() {
        // A 2x2 map hot in its bottom-right cell, over a grey 64x64 photo.
        let m = map(vec![0.0, 0.0, 0.0, 5.0], 2, 2);
        let photo = RgbImage::from_pixel(64, 64, Rgb([128, 128, 128]));
        let drawn = m.overlay(&photo, 1.0);
        assert_eq!(drawn.dimensions(), (64, 64));
        let hot = drawn.get_pixel(60, 60).0;
        let cold = drawn.get_pixel(3, 3).0;
        // The ramp ends in dark red (jet's end), and starts in dark blue.
        assert!(hot[0] > 100 && hot[1] < 50 && hot[2] < 50, "hot corner is red: {hot:?}");
        assert!(cold[2] > 100 && cold[0] < 50, "cold corner is blue: {cold:?}");
        assert_eq!(m.overlay(&photo, 0.0), photo, "opacity 0 is the photo");
    }

    #[test]
    fn normalisation_and_a_flat_map() {
        assert_eq!(
            map(vec![1.0, 3.0, 2.0, 5.0], 2, 2).normalized(),
            vec![0.0, 0.5, 0.25, 1.0]
        );
        assert_eq!(map(vec![7.0; 4], 2, 2).normalized(), vec![0.0; 4]);
        let flat = map(vec![7.0; 4], 2, 2).overlay(&RgbImage::new(4, 4), 0.5);
        assert!(flat.pixels().all(|p| p == flat.get_pixel(0, 0)));
    }

    #[test]
    fn the_rgba_heat_map_has_the_overlay_colours() {
        let m = map(vec![0.0, 1.0], 1, 2);
        let rgba = m.heat_rgba();
        assert_eq!(rgba.len(), 8);
        let drawn = m.overlay(&RgbImage::new(2, 1), 1.0);
        assert_eq!(&rgba[0..3], &drawn.get_pixel(0, 0).0);
        assert_eq!(&rgba[4..7], &drawn.get_pixel(1, 0).0);
        assert_eq!((rgba[3], rgba[7]), (255, 255));
    }

    #[test]
    fn split_maps_keeps_the_classes_in_order() {
        let maps = split_maps(&[1.0, 2.0, 3.0, 4.0], &[7, 3], 1, 2);
        assert_eq!(maps.len(), 2);
        assert_eq!((maps[0].class, maps[0].values.clone()), (7, vec![1.0, 2.0]));
        assert_eq!((maps[1].class, maps[1].values.clone()), (3, vec![3.0, 4.0]));
    }
}
