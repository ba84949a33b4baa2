"""The PyTorch side of tools/gpu_check.sh, and its table.

  gpu_check.py weights OUT.safetensors        timm's inception_resnet_v2, seeded random weights
  gpu_check.py torch --weights W --device D --size S --batches 1,64 --train-batch 64 \
      --warmup N --runs N                     one JSON line per (variant, mode, batch)
  gpu_check.py table OURS.jsonl TORCH.jsonl   images/s side by side, with the ratios

PyTorch runs the same weights two ways: eager in float32, and channels_last under bf16
autocast (what a PyTorch user would turn on for speed). Its training step is this project's
recipe: train-mode forward with dropout 0.2 before the classifier, cross-entropy with label
smoothing 0.1, backward, and timm's RMSpropTF (lr 0.045, decay 0.9, momentum 0.9, epsilon 1.0,
weight decay 4e-5).
"""

import argparse
import json
import statistics
import sys
import time

ARCH = "inception_resnet_v2"


def make_weights(args):
    import timm
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(args.seed)
    model = timm.create_model(ARCH, pretrained=False)
    # The float tensors only, as a timm checkpoint converted to safetensors has them.
    state = {k: v.contiguous() for k, v in model.state_dict().items() if v.is_floating_point()}
    save_file(state, args.out)


def bench_torch(args):
    import timm
    import timm.optim
    import torch
    from safetensors.torch import load_file

    device = torch.device(args.device)
    weights = load_file(args.weights)
    batches = [int(b) for b in args.batches.split(",")]

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def median_seconds(step):
        for _ in range(args.warmup):
            step()
        sync()
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            step()
            sync()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    def fresh(fast):
        model = timm.create_model(ARCH, pretrained=False, drop_rate=0.2)
        model.load_state_dict(weights, strict=False)
        model = model.to(device)
        return model.to(memory_format=torch.channels_last) if fast else model

    def images(batch, fast):
        x = torch.rand(batch, 3, args.size, args.size, device=device) * 2 - 1
        return x.contiguous(memory_format=torch.channels_last) if fast else x

    for variant, fast in (("eager", False), ("channels_last+bf16", True)):
        autocast = lambda: torch.autocast(device.type, dtype=torch.bfloat16, enabled=fast)  # noqa: E731
        model = fresh(fast).eval()
        for batch in batches:
            x = images(batch, fast)

            def infer():
                with torch.inference_mode(), autocast():
                    model(x)

            emit(variant, "inference", batch, median_seconds(infer))

        model = fresh(fast).train()
        optimizer = timm.optim.RMSpropTF(
            model.parameters(), lr=0.045, alpha=0.9, eps=1.0, momentum=0.9, weight_decay=4e-5
        )
        loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        x = images(args.train_batch, fast)
        y = torch.randint(0, 1000, (args.train_batch,), device=device)

        def train():
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()

        emit(variant, "train", args.train_batch, median_seconds(train))


def emit(variant, mode, batch, seconds):
    line = {"engine": "pytorch", "variant": variant, "mode": mode, "batch": batch,
            "median_ms": seconds * 1e3, "images_per_s": batch / seconds}
    print(json.dumps(line), flush=True)


def table(args):
    def rows(path):
        with open(path) as f:
            return [json.loads(line) for line in f if line.startswith("{")]

    ours, torch = rows(args.ours), rows(args.torch)
    reference = {(r["variant"], r["mode"], r["batch"]): r["images_per_s"] for r in torch}
    print(f"{'engine':<32}{'mode':<11}{'batch':>6}{'images/s':>11}{'x eager':>9}{'x bf16':>8}")

    def ratio(r, variant):
        ref = reference.get((variant, r["mode"], r["batch"]))
        return f"{r['images_per_s'] / ref:.2f}" if ref and "images_per_s" in r else "-"

    for r in torch + ours:
        name = f"pytorch {r['variant']}" if r.get("engine") == "pytorch" else f"inception-rs {r['backend']}"
        if "error" in r:
            print(f"{name:<32}{r['mode']:<11}{r['batch']:>6}  {r['error']}")
            continue
        print(f"{name:<32}{r['mode']:<11}{r['batch']:>6}{r['images_per_s']:>11.1f}"
              f"{ratio(r, 'eager'):>9}{ratio(r, 'channels_last+bf16'):>8}")
    missing = [k for k in reference if not any((r["mode"], r["batch"]) == k[1:] for r in ours if "error" not in r)]
    if not ours or missing:
        print(f"gpu_check: no inception-rs figure for {sorted(set(k[1:] for k in missing))}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("weights")
    w.add_argument("out")
    w.add_argument("--seed", type=int, default=0)
    t = sub.add_parser("torch")
    t.add_argument("--weights", required=True)
    t.add_argument("--device", default="cuda")
    t.add_argument("--size", type=int, default=299)
    t.add_argument("--batches", default="1,64")
    t.add_argument("--train-batch", type=int, default=64)
    t.add_argument("--warmup", type=int, default=3)
    t.add_argument("--runs", type=int, default=10)
    tb = sub.add_parser("table")
    tb.add_argument("ours")
    tb.add_argument("torch")
    args = parser.parse_args()
    {"weights": make_weights, "torch": bench_torch, "table": table}[args.command](args)


if __name__ == "__main__":
    main()
