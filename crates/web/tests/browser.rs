//! In headless Chrome (wasm-bindgen-test): Inception-ResNet-v2 on WebGPU gives the native
//! build's logits, and bad input is an error, never a panic.
//!
//! The expected logits come from the native CLI (`inception synthetic --image-size 75`),
//! whose path `tests/run.sh` passes in `INCEPTION_WEB_EXPECTED` at compile time. Input
//! 75x75 (the smallest the network takes) keeps SwiftShader's software WebGPU quick.

#![cfg(target_arch = "wasm32")]

use burn::prelude::*;
use inception::model::hashed::{hashed_input, hashed_weights};
use inception::{Arch, NetworkConfig, WeightsMeta};
use inception_test_support::{f32_values, top5};
use inception_web::Classifier;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const SIZE: usize = 75;
static EXPECTED: &[u8] = include_bytes!(env!("INCEPTION_WEB_EXPECTED"));

/// Hash-derived weights that take images at the smallest input, `SIZE`.
async fn synthetic_classifier(allow_gpu: bool) -> Classifier {
    let network = hashed_weights(NetworkConfig::new(Arch::InceptionResnetV2).init(&Device::flex()), 0);
    let mut meta = WeightsMeta::new(Arch::InceptionResnetV2, 1000, "synthetic");
    meta.preprocess = meta.preprocess.with_input_size(SIZE);
    Classifier::from_network(network, meta, allow_gpu).await
}

#[wasm_bindgen_test]
async fn webgpu_logits_equal_native() {
    let expected = f32_values(EXPECTED);
    assert_eq!(expected.len(), 1000);
    let classifier = synthetic_classifier(true).await;
    assert_eq!(
        classifier.backend().kind,
        "webgpu",
        "no WebGPU: {:?}",
        classifier.backend().fallback_reason
    );
    let logits = match classifier.logits_for(hashed_input(1, SIZE, 0), SIZE).await {
        Ok(l) => l,
        Err(_) => panic!("inference failed on WebGPU"),
    };
    let diff = logits
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    web_sys::console::log_1(&format!("WebGPU vs native: max |logit diff| = {diff:.3e} at {SIZE}x{SIZE}").into());
    assert!(diff <= 1e-4, "WebGPU logits differ from native by {diff}");
    assert_eq!(top5(&logits), top5(&expected));
}

#[wasm_bindgen_test]
async fn broken_images_are_errors_not_panics() {
    let classifier = synthetic_classifier(false).await;
    for (what, bytes) in [
        ("empty", Vec::new()),
        ("text", b"definitely not a picture".to_vec()),
        (
            "truncated PNG",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00".to_vec(),
        ),
    ] {
        assert!(
            classifier.classify(bytes, None).await.is_err(),
            "{what} must be an error"
        );
    }
}

/// A camera frame's pixels give the answer their PNG file gives: the same top-3 (as asked)
/// with the same probabilities, and the same maps. Pixels that do not make the stated frame,
/// and a top-k of no class or of more classes than there are, are errors.
#[wasm_bindgen_test]
async fn rgba_frames_answer_as_their_png_does() {
    let (width, height) = (96u32, 80u32);
    let frame = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([(x * 2) as u8, (y * 3) as u8, ((x * y) % 251) as u8, 255])
    });
    let mut png = Vec::new();
    frame
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encoding a PNG in memory");
    // On the CPU: a few seconds a pass here.
    let classifier = synthetic_classifier(false).await;
    let from_file = classifier
        .classify(png.clone(), Some(3))
        .await
        .map_err(|_| "the PNG")
        .unwrap();
    let from_pixels = classifier
        .classify_rgba(frame.clone().into_raw(), width, height, Some(3))
        .await
        .map_err(|_| "the pixels")
        .unwrap();
    let field = |v: &wasm_bindgen::JsValue, name: &str| js_sys::Reflect::get(v, &name.into()).unwrap();
    for name in ["top", "maps", "crop"] {
        let json = |v: &wasm_bindgen::JsValue| String::from(js_sys::JSON::stringify(&field(v, name)).unwrap());
        assert_eq!(json(&from_pixels), json(&from_file), "{name} differs");
    }
    for name in ["top", "maps"] {
        assert_eq!(js_sys::Array::from(&field(&from_file, name)).length(), 3, "{name}");
    }
    assert!(classifier.classify(png.clone(), Some(0)).await.is_err());
    assert!(classifier.classify(png, Some(1_000_000)).await.is_err());
    let pixels = frame.into_raw();
    assert!(
        classifier
            .classify_rgba(pixels.clone(), width + 1, height, None)
            .await
            .is_err()
    );
    assert!(classifier.classify_rgba(pixels, 0, height, None).await.is_err());
}

#[wasm_bindgen_test]
async fn broken_weights_are_errors_not_panics() {
    assert!(Classifier::load(b"not weights at all".to_vec(), false).await.is_err());
    assert!(Classifier::load(Vec::new(), false).await.is_err());
}
