#!/usr/bin/env python3
"""Stores weights at f32, f16 and int8 (`inception import --dtype`) and compares f16 and int8
with f32 on the same images, natively on the CPU (flex):

    python3 tools/compare_dtypes.py --arch ARCH --weights FILE [--bin BIN] IMAGES...

IMAGES are files or folders (searched for .png/.jpg). Prints, per dtype: the file size and
the wall time of `classify` on one image (both as ratios to f32; the time is mostly loading
the weights), the largest |logit - f32's logit| over all images and classes, agreement with f32 on the
top-1 and on the set of the top 5 and, when an image's folder is named like a class (a `make-dataset`
folder), the top-1 accuracy.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("--arch", required=True)
ap.add_argument("--weights", required=True)
ap.add_argument("--bin", default="target/release/inception")
ap.add_argument("--timing-runs", type=int, default=5)
ap.add_argument("images", nargs="+")
args = ap.parse_args()

images = []
for p in map(Path, args.images):
    images += sorted(q for q in p.rglob("*") if q.suffix.lower() in (".png", ".jpg", ".jpeg")) if p.is_dir() else [p]
if not images:
    sys.exit("compare_dtypes.py: no images")


def run(*cmd):
    return subprocess.run([args.bin, *map(str, cmd)], check=True, capture_output=True, text=True).stdout


def classify(weights, files):
    out = run("classify", "--backend", "flex", "--weights", weights, "--json", "--logits", "--top", 5, *files)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


with tempfile.TemporaryDirectory() as tmp:
    rows = {}
    for dtype in ("f32", "f16", "int8"):
        path = Path(tmp) / f"weights-{dtype}.bpk"
        run("import", "--arch", args.arch, args.weights, "--out", path, "--dtype", dtype)
        times = []
        for _ in range(args.timing_runs):
            t = time.perf_counter()
            classify(path, images[:1])
            times.append(time.perf_counter() - t)
        rows[dtype] = {"size": path.stat().st_size, "time": statistics.median(times), "results": classify(path, images)}

base = rows["f32"]["results"]
print(f"{len(images)} images, {args.weights} ({args.arch}), classify --backend flex")
print("| dtype | file size | classify 1 image (load included) | max abs logit diff | top-1 agreement | top-5 agreement | top-1 accuracy |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for dtype, row in rows.items():
    diff = max(max(abs(a - b) for a, b in zip(r["logits"], f["logits"])) for r, f in zip(row["results"], base))
    top1 = sum(r["top5"][0]["index"] == f["top5"][0]["index"] for r, f in zip(row["results"], base))
    top5 = sum({p["index"] for p in r["top5"]} == {p["index"] for p in f["top5"]} for r, f in zip(row["results"], base))
    labelled = [(r, img.parent.name) for r, img in zip(row["results"], images)]
    correct = sum(r["top5"][0]["label"] == cls for r, cls in labelled)
    accuracy = f"{100 * correct / len(images):.1f}%" if any(r["top5"][0]["label"] == c for r, c in labelled) else "-"
    print(f"| {dtype} | {row['size'] / 1e6:.2f} MB ({row['size'] / rows['f32']['size']:.3f}x) "
          f"| {row['time'] / rows['f32']['time']:.2f}x | {diff:.3g} | {top1}/{len(images)} | {top5}/{len(images)} "
          f"| {accuracy} |")
