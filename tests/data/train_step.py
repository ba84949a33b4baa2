#!/usr/bin/env python3
"""Training steps of timm's inception_resnet_v2 in PyTorch, the reference for the Rust
gradient and optimizer checks (crates/train/tests/torch_step.rs).

From the fixture's weights: a seeded [4, 3, 139, 139] input, labels [3, 7, 11, 500], train mode,
cross-entropy with label smoothing 0.1, and one torch.optim.RMSprop step with the paper's
recipe (lr 0.045, alpha 0.9, eps 1.0, momentum 0.9, weight decay 4e-5). Writes to OUT:
input.f32, labels.json, step.json (input shape, loss) and the state dict after the step,
computed in float32 (after.safetensors) and in float64 (after_f64.safetensors, stored as
float32): the gap between the two is PyTorch's own rounding error, the yardstick for ours.

Then, in OUT/tf, three steps on the same batch with timm's RMSpropTF (TensorFlow's RMSProp,
the paper's optimizer) and the same recipe, the learning rate halved after each step
(0.045, 0.0225, 0.01125: the Rust side's step schedule with lr_decay 0.5 every epoch of one
step), so that TensorFlow's learning rate inside the momentum shows: losses.json (the loss
of each step) and the state dicts after the third step in float32 and float64.

139 pixels and 4 images, not fewer: train-mode BatchNorm over a handful of values per
channel (a 1x1 final grid at 75 pixels, batch 2) makes this random-weight network chaotic,
and there PyTorch's own float32 loss differed from its float64 loss by 3e-4 (relative);
at 139 x 4 they agree to 3e-8.

usage: train_step.py FIXTURE_DIR OUT_DIR
"""
import json
import os
import sys

import timm
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from timm.optim import RMSpropTF

fixture, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
torch.use_deterministic_algorithms(True)

def model_and_input(dtype):
    model = timm.create_model("inception_resnet_v2", pretrained=False, num_classes=1000)
    missing, unexpected = model.load_state_dict(load_file(os.path.join(fixture, "weights.safetensors")), strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    model = model.to(dtype).train()
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(*shape, generator=generator) * 2 - 1
    return model, x


def steps(model, x, dtype, optimizer, learning_rates):
    """Runs one step per learning rate; returns the losses and the state dict after."""
    losses = []
    for lr in learning_rates:
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = F.cross_entropy(model(x.to(dtype)), labels, label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    state = {
        k: v.detach().float().contiguous()
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
    return losses, state


def train_step(dtype):
    """One torch.optim.RMSprop step in `dtype`: the input (float32), the loss and the state dict after."""
    model, x = model_and_input(dtype)
    optimizer = torch.optim.RMSprop(
        model.parameters(), lr=0.045, alpha=0.9, eps=1.0, momentum=0.9, weight_decay=4e-5
    )
    losses, state = steps(model, x, dtype, optimizer, [0.045])
    return x, losses[0], state


TF_LEARNING_RATES = [0.045, 0.0225, 0.01125]


def tf_steps(dtype):
    """Three timm RMSpropTF steps in `dtype`: the losses and the state dict after."""
    model, x = model_and_input(dtype)
    optimizer = RMSpropTF(model.parameters(), lr=0.045, alpha=0.9, eps=1.0, momentum=0.9, weight_decay=4e-5)
    return steps(model, x, dtype, optimizer, TF_LEARNING_RATES)


shape = [4, 3, 139, 139]
labels = torch.tensor([3, 7, 11, 500])
x, loss, after = train_step(torch.float32)
_, loss_f64, after_f64 = train_step(torch.float64)
x.numpy().astype("<f4").tofile(os.path.join(out, "input.f32"))
with open(os.path.join(out, "labels.json"), "w") as f:
    json.dump(labels.tolist(), f)
with open(os.path.join(out, "step.json"), "w") as f:
    json.dump({"shape": shape, "loss": loss, "loss_f64": loss_f64, "torch": torch.__version__, "timm": timm.__version__}, f)
save_file(after, os.path.join(out, "after.safetensors"))
save_file(after_f64, os.path.join(out, "after_f64.safetensors"))

tf = os.path.join(out, "tf")
os.makedirs(tf, exist_ok=True)
tf_losses, tf_after = tf_steps(torch.float32)
tf_losses_f64, tf_after_f64 = tf_steps(torch.float64)
with open(os.path.join(tf, "losses.json"), "w") as f:
    json.dump({"learning_rates": TF_LEARNING_RATES, "losses": tf_losses, "losses_f64": tf_losses_f64}, f)
save_file(tf_after, os.path.join(tf, "after.safetensors"))
save_file(tf_after_f64, os.path.join(tf, "after_f64.safetensors"))
