//! The `inception` binary end to end: what a user types and what they see, including the
//! clear error (and non-zero exit, never a panic) for each kind of bad input.

use inception_test_support::png::png_header_only;
use inception_test_support::read_f32;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn bin() -> Command {
    common::inception_in(&tempdir())
}

fn fixture(arch: &str) -> PathBuf {
    let root = std::env::var("INCEPTION_FIXTURES").expect("INCEPTION_FIXTURES: run the suite with tests/run.sh");
    PathBuf::from(root).join(format!("{arch}_s0"))
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("inception-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Largest |logit - expected| of one `classify --json --logits` result.
fn max_logit_diff(result: &serde_json::Value, expected: &[f32]) -> f32 {
    let logits = result["logits"].as_array().expect("the result has logits");
    assert_eq!(logits.len(), expected.len(), "{result}");
    logits
        .iter()
        .zip(expected)
        .map(|(a, b)| (a.as_f64().unwrap() as f32 - b).abs())
        .fold(0.0, f32::max)
}

/// Runs `classify` and expects a clean failure whose stderr says `expected`.
fn expect_clean_failure(args: &[&str], expected: &str) {
    let out = bin().args(args).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "expected failure: {stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "panicked: {stderr}");
    assert!(
        stderr.to_lowercase().contains(&expected.to_lowercase()),
        "stderr lacks `{expected}`: {stderr}"
    );
}

fn v4_weights() -> String {
    fixture("inception_v4")
        .join("weights.safetensors")
        .display()
        .to_string()
}

fn write(name: &str, bytes: &[u8]) -> String {
    let p = tempdir().join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

#[test]
fn info_prints_the_parameter_counts() {
    for (arch, params) in [("inception-resnet-v2", 55_843_464), ("inception-v4", 42_679_816)] {
        let out = bin().args(["info", "--arch", arch]).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        assert!(stdout.contains(&format!("parameters: {params}")), "{stdout}");
        assert!(stdout.contains("flops:"), "{stdout}");
    }
    let out = bin()
        .args(["info", "--arch", "inception-resnet-v2", "--image-size", "60"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).1.contains("input too small"));
}

#[test]
fn classify_matches_timm_and_import_round_trips() {
    let dir = fixture("inception_resnet_v2");
    let png = dir.join("input.png").display().to_string();
    let weights = dir.join("weights.safetensors").display().to_string();
    let expected = read_f32(dir.join("logits_timm_eval.f32"));

    let run = |weights: &str, backend: &str| -> serde_json::Value {
        let out = bin()
            .args([
                "classify",
                "--backend",
                backend,
                "--weights",
                weights,
                "--json",
                "--logits",
                &png,
            ])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    };
    let check = |v: &serde_json::Value, what: &str| {
        let diff = max_logit_diff(v, &expected);
        println!("{what}: max |logit - timm eval| = {diff:.3e}");
        assert!(diff <= 1e-4, "{what}: {diff}");
        let mut order: Vec<usize> = (0..expected.len()).collect();
        order.sort_by(|&a, &b| expected[b].total_cmp(&expected[a]));
        let top: Vec<usize> = v["top5"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["index"].as_u64().unwrap() as usize)
            .collect();
        assert_eq!(top, order[..5].to_vec(), "{what}: top-5");
        let p0 = v["top5"][0]["probability"].as_f64().unwrap();
        assert!(p0 > 0.0 && p0 <= 1.0);
        assert!(!v["top5"][0]["label"].as_str().unwrap().is_empty());
    };
    check(&run(&weights, "flex"), "safetensors on flex");
    check(&run(&weights, "wgpu"), "safetensors on wgpu");

    let bpk = tempdir().join("irv2.bpk").display().to_string();
    let out = bin()
        .args(["import", "--arch", "inception-resnet-v2", &weights, "--out", &bpk])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("55843464 parameters"), "{stdout}");
    check(&run(&bpk, "flex"), ".bpk on flex");

    // The .bpk stored again at int8: a quarter of the size, and the same top-1.
    let int8 = tempdir().join("irv2-int8.bpk").display().to_string();
    let out = bin()
        .args([
            "import",
            "--arch",
            "inception-resnet-v2",
            &bpk,
            "--out",
            &int8,
            "--dtype",
            "int8",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("parameters at int8"), "{stdout}");
    let size = |p: &str| std::fs::metadata(p).unwrap().len() as f64;
    assert!(
        size(&int8) / size(&bpk) < 0.26,
        "{} of {} bytes",
        size(&int8),
        size(&bpk)
    );
    let top1 = |v: serde_json::Value| v["top5"][0]["index"].as_u64().unwrap();
    assert_eq!(top1(run(&int8, "flex")), top1(run(&bpk, "flex")), "int8 against f32");

    // Plain text output: a line per class with a percentage.
    let out = bin()
        .args(["classify", "--backend", "flex", "--weights", &bpk, &png])
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(stdout.lines().filter(|l| l.contains('%')).count(), 5, "{stdout}");
}

#[test]
fn a_batch_gives_each_image_its_own_answer_in_order() {
    let dir = fixture("inception_resnet_v2");
    let png = dir.join("input.png").display().to_string();
    let weights = dir.join("weights.safetensors").display().to_string();
    let expected = read_f32(dir.join("logits_timm_eval.f32"));
    let broken = write("batch-broken.png", b"not an image");
    let out = bin()
        .args([
            "classify",
            "--backend",
            "flex",
            "--weights",
            &weights,
            "--json",
            "--logits",
        ])
        .args(["--batch-size", "3", &png, &broken, &png, &png, &png])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "a broken image fails the run: {stderr}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    for (i, line) in lines.iter().enumerate() {
        if i == 1 {
            assert!(line["error"].as_str().is_some_and(|e| !e.is_empty()), "{line}");
            continue;
        }
        let diff = max_logit_diff(line, &expected);
        assert!(diff <= 1e-4, "image {i} of the batch: max |logit - timm| = {diff}");
    }
}

#[test]
fn cam_writes_the_map_over_each_image_and_reports_it() {
    let dir = fixture("inception_resnet_v2");
    let png = dir.join("input.png").display().to_string();
    let weights = dir.join("weights.safetensors").display().to_string();
    let classify = |extra: &[&str]| {
        let out = bin()
            .args(["classify", "--backend", "flex", "--weights", &weights, "--json"])
            .args(extra)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    // One image: the map goes to the file named, for the top class.
    let single = tempdir().join("one.png");
    let lines = classify(&["--cam", &single.display().to_string(), &png]);
    let cam = &lines[0]["cam"];
    assert_eq!(cam["class"], lines[0]["top5"][0]["index"], "{cam}");
    assert_eq!((cam["height"].as_u64(), cam["width"].as_u64()), (Some(8), Some(8)));
    assert_eq!(cam["values"].as_array().map(Vec::len), Some(64));
    let drawn = image::open(&single).expect("a PNG").to_rgb8();
    assert_eq!(drawn.dimensions(), (299, 299), "drawn over the crop the network saw");

    // Several images: a folder, one file each (the same name twice is kept apart), for the
    // class asked for.
    let folder = tempdir().join("maps");
    let _ = std::fs::remove_dir_all(&folder);
    let lines = classify(&["--cam", &folder.display().to_string(), "--cam-class", "7", &png, &png]);
    let paths: Vec<&str> = lines.iter().map(|l| l["cam"]["path"].as_str().unwrap()).collect();
    assert_eq!(
        lines.iter().map(|l| l["cam"]["class"].as_u64()).collect::<Vec<_>>(),
        [Some(7), Some(7)]
    );
    assert!(
        paths[0].ends_with("input.cam.png") && paths[1].ends_with("input-2.cam.png"),
        "{paths:?}"
    );
    assert!(paths.iter().all(|p| Path::new(p).is_file()));
    // Clearly refused: a class the network does not have, an opacity outside [0, 1].
    let out = single.display().to_string();
    for (flag, value, expected) in [
        ("--cam-class", "1000", "the network has 1000 classes"),
        ("--cam-opacity", "2", "between 0 and 1"),
    ] {
        expect_clean_failure(
            &[
                "classify",
                "--backend",
                "flex",
                "--weights",
                &weights,
                "--cam",
                &out,
                flag,
                value,
                &png,
            ],
            expected,
        );
    }
}

#[test]
fn bench_times_the_data_pipeline_per_worker_count() {
    let data = tempdir().join("bench-data");
    let _ = std::fs::remove_dir_all(&data);
    let data_arg = data.display().to_string();
    let made = bin()
        .args([
            "make-dataset",
            &data_arg,
            "--classes",
            "2",
            "--per-class",
            "6",
            "--size",
            "120",
        ])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", text(&made).1);
    let out = bin()
        .args([
            "bench",
            "--data",
            &data_arg,
            "--workers",
            "1,2",
            "--batch-sizes",
            "4",
            "--runs",
            "1",
        ])
        .args(["--image-size", "75"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let rows: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        rows.iter().map(|r| r["workers"].as_u64()).collect::<Vec<_>>(),
        [Some(1), Some(2)]
    );
    for r in &rows {
        assert_eq!(r["mode"], "data");
        // 12 images in full batches of 4 (the training drops a partial last batch).
        assert_eq!(r["images"], 12, "{r}");
        assert!(r["images_per_s"].as_f64().is_some_and(|v| v > 0.0), "{r}");
    }
    expect_clean_failure(
        &["bench", "--data", &data_arg, "--batch-sizes", "64", "--runs", "1"],
        "fewer images than one batch of 64",
    );
}

#[test]
fn a_non_image_file_is_a_clear_error() {
    let f = write("notes.jpg", b"these are my notes, not a photo");
    expect_clean_failure(
        &["classify", "--backend", "flex", "--weights", &v4_weights(), &f],
        "not an image",
    );
}

#[test]
fn a_truncated_jpeg_is_a_clear_error() {
    let img = image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 7]));
    let mut jpeg = Cursor::new(Vec::new());
    img.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    let jpeg = jpeg.into_inner();
    let f = write("cut.jpg", &jpeg[..jpeg.len() / 2]);
    expect_clean_failure(
        &["classify", "--backend", "flex", "--weights", &v4_weights(), &f],
        "could not be decoded",
    );
}

#[test]
fn a_png_claiming_30000_square_is_a_clear_error() {
    let png = png_header_only(30_000, 30_000);
    let f = write("huge.png", &png);
    expect_clean_failure(
        &["classify", "--backend", "flex", "--weights", &v4_weights(), &f],
        "too large",
    );
}

#[test]
fn an_empty_file_is_a_clear_error() {
    let f = write("empty.png", b"");
    expect_clean_failure(
        &["classify", "--backend", "flex", "--weights", &v4_weights(), &f],
        "empty",
    );
    let w = write("empty.safetensors", b"");
    let png = fixture("inception_v4").join("input.png").display().to_string();
    expect_clean_failure(
        &["classify", "--backend", "flex", "--weights", &w, &png],
        "weights file is empty",
    );
}

#[test]
fn weights_of_the_wrong_architecture_are_a_clear_error() {
    let png = fixture("inception_v4").join("input.png").display().to_string();
    expect_clean_failure(
        &[
            "classify",
            "--backend",
            "flex",
            "--arch",
            "inception-resnet-v2",
            "--weights",
            &v4_weights(),
            &png,
        ],
        "do not fit inception-resnet-v2",
    );
    let w = write("cut.safetensors", &std::fs::read(v4_weights()).unwrap()[..5000]);
    expect_clean_failure(&["classify", "--backend", "flex", "--weights", &w, &png], "truncated");
}

#[test]
fn import_lists_other_dtypes_as_variants_of_a_manifest() {
    let demo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../weights/inception-resnet-v2-shapes-int8.bpk"
    );
    let site = tempdir().join("variants");
    std::fs::create_dir_all(&site).unwrap();
    let path = |name: &str| site.join(name).display().to_string();
    let import = |dtype: &str, out: &str, variant: bool| {
        let mut cmd = bin();
        cmd.args(["import", "--arch", "inception-resnet-v2", demo, "--dtype", dtype]);
        cmd.args(["--out", out, "--manifest", &path("manifest.json")]);
        if variant {
            cmd.arg("--variant");
        }
        cmd.output().unwrap()
    };
    assert!(import("int8", &path("w-int8.bpk"), false).status.success());
    let out = import("f16", &path("w-f16.bpk"), true);
    assert!(out.status.success(), "{}", text(&out).1);
    let manifest = inception::Manifest::parse(&std::fs::read(path("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest.file, "w-int8.bpk");
    let files: Vec<_> = manifest
        .files()
        .iter()
        .map(|c| (c.file.clone(), c.dtype.name()))
        .collect();
    assert_eq!(
        files,
        [("w-int8.bpk".to_string(), "int8"), ("w-f16.bpk".to_string(), "f16")]
    );
    for copy in manifest.files() {
        copy.check(&std::fs::read(path(&copy.file)).unwrap()).unwrap();
    }

    // Refused, and the manifest left as it was: the default's dtype again, a file elsewhere,
    // another network.
    let before = std::fs::read(path("manifest.json")).unwrap();
    let (_, stderr) = text(&import("int8", &path("again-int8.bpk"), true));
    assert!(stderr.contains("repeats the int8 copy w-int8.bpk"), "{stderr}");
    let elsewhere = tempdir().join("elsewhere-f32.bpk").display().to_string();
    let (_, stderr) = text(&import("f32", &elsewhere, true));
    assert!(stderr.contains("must sit beside"), "{stderr}");
    let out = bin()
        .args(["import", "--arch", "inception-v4", &v4_weights(), "--dtype", "f32"])
        .args([
            "--out",
            &path("v4.bpk"),
            "--manifest",
            &path("manifest.json"),
            "--variant",
        ])
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(
        !out.status.success() && stderr.contains("is not the network"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(path("manifest.json")).unwrap(), before);
}

#[test]
fn without_weights_classify_uses_the_shipped_default_and_says_so() {
    let png = fixture("inception_v4").join("input.png").display().to_string();
    let out = bin()
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(["classify", "--backend", "flex", "--json", &png])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("weights/inception-resnet-v2-shapes-int8.bpk"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the default of weights/manifest.json: Demo weights"),
        "{stderr}"
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let label = v["top5"][0]["label"].as_str().unwrap();
    assert!(inception_train::shapes::CLASSES.contains(&label), "{stdout}");
}

#[test]
fn missing_weights_say_how_to_get_them() {
    let png = fixture("inception_v4").join("input.png").display().to_string();
    expect_clean_failure(&["classify", "--backend", "flex", &png], "import");
    expect_clean_failure(&["classify", "--arch", "resnet50", &png], "unknown architecture");
}
