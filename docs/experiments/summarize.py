"""Tables for docs/ from the runs of docs/experiments/run.sh: per network and setting, the
mean over seeds (and the range) of the validation top-1, the training loss, and the mean
activation of the last layer before the average pooling, at a few epochs.

    python3 docs/experiments/summarize.py RUNS_DIR
"""

import csv
import pathlib
import re
import sys


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def groups(root):
    runs = {}
    for metrics in sorted(pathlib.Path(root).glob("*/metrics.csv")):
        name = metrics.parent.name
        match = re.fullmatch(r"(.*)-seed-(\d+)", name)
        key, seed = (match.group(1), int(match.group(2))) if match else (name, None)
        runs.setdefault(key, []).append((seed, read(metrics)))
    return runs


def spread(values, fmt):
    if not values:
        return "-"
    mean = sum(values) / len(values)
    if len(values) == 1:
        return fmt.format(mean)
    return f"{fmt.format(mean)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main(root):
    print("# The runs of docs/experiments/run.sh\n")
    print("Made by `python3 docs/experiments/summarize.py RUNS_DIR`: for each setting, the mean over")
    print("its seeds and, in brackets, the range. Validation with the EMA weights on 160 images.")
    for key, runs in groups(root).items():
        epochs = min(len(rows) for _, rows in runs)
        seeds = [s for s, _ in runs]
        print(f"\n### {key}: {len(runs)} run(s), seeds {seeds}, {epochs} epochs each\n")
        print("| epoch | val top-1 | train loss | last layer's mean activation | its dead channels |")
        print("| ---: | --- | --- | --- | --- |")
        shown = sorted({1, 2, 3, epochs // 3, 2 * epochs // 3, epochs} - {0})
        for e in shown:
            at = [rows[e - 1] for _, rows in runs]
            print(f"| {e} | {spread([100 * float(r['val_top1']) for r in at], '{:.1f}%')} "
                  f"| {spread([float(r['train_loss']) for r in at], '{:.3f}')} "
                  f"| {spread([float(r.get('val_feature_mean') or 'nan') for r in at], '{:.3g}')} "
                  f"| {spread([100 * float(r.get('val_dead_features') or 'nan') for r in at], '{:.1f}%')} |")


if __name__ == "__main__":
    main(sys.argv[1])
