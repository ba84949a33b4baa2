//! The bad-input corpus (`tests/corpus/make_corpus.py`, written by `tests/run.sh` into
//! `INCEPTION_CORPUS`) through the `inception` binary: every image and every weights file
//! ends as its entry says, with a result or with a clear message, and never with a panic, a
//! signal (an abort, an out-of-memory kill), a hang or a run past a memory limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

mod common;

/// Address space allowed to one run: the 299x299 network, its checkpoint, and images up to
/// the decode budget fit; the 5.4 GB resize of a 16384x1 strip did not.
const MEMORY_LIMIT_KIB: u64 = 5 << 20;
/// Wall-clock limit of one run, in seconds (a hang fails the test instead of stalling it).
const TIME_LIMIT_S: u32 = 900;

#[derive(Deserialize)]
struct Entry {
    file: String,
    kind: String,
    expect: String,
    why: String,
    #[serde(default)]
    arch: Option<String>,
    /// A tensor the error message must name.
    #[serde(default)]
    names: Option<String>,
}

fn corpus() -> (PathBuf, Vec<Entry>) {
    let dir =
        PathBuf::from(std::env::var("INCEPTION_CORPUS").expect("INCEPTION_CORPUS: run the suite with tests/run.sh"));
    let list = std::fs::read_to_string(dir.join("corpus.json")).expect("corpus.json");
    (dir.clone(), serde_json::from_str(&list).expect("corpus.json parses"))
}

fn fixture_weights() -> String {
    let root = std::env::var("INCEPTION_FIXTURES").expect("INCEPTION_FIXTURES: run the suite with tests/run.sh");
    format!("{root}/inception_resnet_v2_s0/weights.safetensors")
}

fn workdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("inception-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `inception ARGS` under the memory and time limits, on the CPU backend.
fn run_limited(args: &[&str]) -> Output {
    let inception = common::inception_in(&workdir());
    let mut command = Command::new("sh");
    command
        .current_dir(inception.get_current_dir().unwrap())
        .arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_LIMIT_KIB} && exec timeout {TIME_LIMIT_S} \"$@\""
        ))
        .arg("sh")
        .arg(inception.get_program())
        .args(["classify", "--backend", "flex", "--json"])
        .args(args);
    command.output().expect("sh runs")
}

/// A run ended by itself: 0 (results) or 1 (a message), never a panic (101), a timeout
/// (124) or a signal.
fn ended_cleanly(out: &Output, what: &str) -> Result<(), String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0 | 1) if !stderr.contains("panicked") => Ok(()),
        Some(124) => Err(format!("{what}: ran past {TIME_LIMIT_S} s")),
        code => Err(format!("{what}: exit {code:?} ({}), stderr: {stderr}", out.status)),
    }
}

#[test]
fn every_image_of_the_corpus_gives_a_result_or_a_message() {
    let (dir, entries) = corpus();
    let images: Vec<&Entry> = entries.iter().filter(|e| e.kind == "image").collect();
    let paths: Vec<String> = images.iter().map(|e| dir.join(&e.file).display().to_string()).collect();
    let weights = fixture_weights();
    let mut args = vec!["--weights", weights.as_str()];
    args.extend(paths.iter().map(String::as_str));
    let out = run_limited(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let mut failures = Vec::new();
    if let Err(e) = ended_cleanly(&out, "classify of the image corpus") {
        failures.push(e);
    }
    assert_eq!(
        lines.len(),
        images.len(),
        "one line per image: {failures:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut results, mut messages) = (0, 0);
    for (entry, line) in images.iter().zip(&lines) {
        let outcome = match (line.get("top5"), line.get("error")) {
            (Some(_), None) => "ok",
            (None, Some(message)) => {
                let message = message.as_str().unwrap_or_default();
                if message.trim().is_empty() {
                    failures.push(format!("{}: an empty error message", entry.file));
                }
                "error"
            }
            _ => {
                failures.push(format!("{}: neither a result nor an error: {line}", entry.file));
                continue;
            }
        };
        if outcome == "ok" {
            results += 1;
        } else {
            messages += 1;
        }
        if entry.expect != "either" && entry.expect != outcome {
            failures.push(format!(
                "{} ({}): expected {}, got {outcome}: {line}",
                entry.file, entry.why, entry.expect
            ));
        }
    }
    println!(
        "image corpus: {} files, {results} results, {messages} messages",
        images.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_weights_file_of_the_corpus_loads_or_is_refused_with_a_message() {
    let (dir, entries) = corpus();
    let image = dir.join("images/good.png").display().to_string();
    let marker = dir.join("pwned");
    let mut failures = Vec::new();
    let weights: Vec<&Entry> = entries.iter().filter(|e| e.kind == "weights").collect();
    for entry in &weights {
        let path = dir.join(&entry.file);
        let path = path.display().to_string();
        let mut args = vec!["--weights", path.as_str()];
        if let Some(arch) = &entry.arch {
            args.extend(["--arch", arch.as_str()]);
        }
        args.push(image.as_str());
        let out = run_limited(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Err(e) = ended_cleanly(&out, &entry.file) {
            failures.push(e);
            continue;
        }
        // Refused at load (a message on stderr), or loaded but refused when run (weights whose
        // output is not finite: the image's JSON line says so).
        let stdout = String::from_utf8_lossy(&out.stdout);
        let refused_when_run = stdout.contains("\"error\":\"the network's output is not finite");
        let outcome = if out.status.success() { "ok" } else { "error" };
        if entry.expect != "either" && entry.expect != outcome {
            failures.push(format!(
                "{} ({}): expected {}, got {outcome}: {stderr}{stdout}",
                entry.file, entry.why, entry.expect
            ));
        }
        if outcome == "error" && !stderr.contains("cannot load weights") && !refused_when_run {
            failures.push(format!(
                "{}: the message does not say what failed: {stderr}{stdout}",
                entry.file
            ));
        }
        if let Some(name) = &entry.names
            && outcome == "error"
            && !stderr.contains(name.as_str())
        {
            failures.push(format!("{}: the message does not name {name}: {stderr}", entry.file));
        }
    }
    // The malicious pickles try to `touch` this file when unpickled by Python.
    if Path::new(&marker).exists() {
        failures.push(format!("a pickle ran code: {} exists", marker.display()));
    }
    println!("weights corpus: {} files", weights.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
