#!/usr/bin/env python3
"""Writes the bad-input corpus: every kind of odd and hostile image and weights file that a
visitor or a user can hand the program, each with the outcome it must have.

    python tests/corpus/make_corpus.py OUT --safetensors IRV2.safetensors --v4 V4.safetensors \
        --pth IRV2.pth --bpk SMALL-INT8.bpk --marker FILE

OUT/corpus.json lists every file: {"file", "kind": "image"|"weights", "expect": "ok"|"error"|
"either", "why", "arch"?}. "either" is for damage that a decoder may survive (a flipped byte
inside compressed data): the outcome is then a result or a message, never a panic, a hang or
an out-of-memory kill. `--safetensors`/`--pth` are a 299x299 timm IRv2 checkpoint (the
fixture), `--v4` timm's Inception-v4, `--bpk` a small burnpack of this project stored at int8 (the
shipped demo weights; the cases that edit tensors work on an f32 copy made here). Malicious pickles try to create `--marker`: it must never exist afterwards.
The files are made from seeded random data, so every run writes the same corpus.
"""
import argparse
import io
import json
import os
import pickle
import random
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--safetensors", required=True)
ap.add_argument("--v4", required=True)
ap.add_argument("--pth", required=True)
ap.add_argument("--bpk", required=True)
ap.add_argument("--marker", required=True)
args = ap.parse_args()

out = Path(args.out)
(out / "images").mkdir(parents=True, exist_ok=True)
(out / "weights").mkdir(parents=True, exist_ok=True)
entries = []
rng = random.Random(1602_07261)


def add(kind, name, data, expect, why, **extra):
    path = out / ("images" if kind == "image" else "weights") / name
    path.write_bytes(data)
    entries.append({"file": str(path.relative_to(out)), "kind": kind, "expect": expect, "why": why,
                    "size": len(data), **extra})


def encoded(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def photo(w, h, seed=0):
    """A smooth colourful test picture (compresses like a photo, not like noise)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 127 + 120 * np.sin(x / (7 + seed) + y / 11)
    g = 127 + 120 * np.cos(y / (5 + seed) - x / 13)
    b = 127 + 120 * np.sin((x + y) / 17)
    return Image.fromarray(np.stack([r, g, b], -1).clip(0, 255).astype(np.uint8), "RGB")


# ---------------------------------------------------------------- images
base = photo(320, 240)
good = {
    "png": encoded(base, "PNG"), "jpg": encoded(base, "JPEG", quality=90), "webp": encoded(base, "WEBP", quality=80),
    "gif": encoded(base.convert("P"), "GIF"), "bmp": encoded(base, "BMP"), "tiff": encoded(base, "TIFF"),
}
for ext, data in good.items():
    add("image", f"good.{ext}", data, "ok", f"a plain {ext.upper()} photo")

# Truncated at many offsets: inside the signature, the header, the pixel data, one byte short.
for ext, data in good.items():
    for cut in sorted({0, 1, 4, 8, 16, 33, 64, 200, len(data) // 4, len(data) // 2, len(data) - 1}):
        if cut >= len(data):
            continue
        # Some formats decode a short file as far as it goes (a JPEG or GIF missing its last
        # bytes): a result is as good as a message there, a panic is not.
        expect = "error" if cut < 64 else "either"
        add("image", f"truncated-{cut:06d}.{ext}", data[:cut], expect, f"{ext.upper()} cut to {cut} bytes")

# Corrupted bytes: random bytes overwritten in the header and inside the data.
for ext, data in good.items():
    for n, (lo, hi) in enumerate([(0, 64), (64, len(data)), (0, len(data))]):
        damaged = bytearray(data)
        for _ in range(8):
            damaged[rng.randrange(lo, hi)] = rng.randrange(256)
        add("image", f"corrupt-{n}.{ext}", bytes(damaged), "either", f"8 random bytes of {ext.upper()} overwritten")


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png(width, height, bit_depth, color_type, rows=None, idat=None):
    """A PNG written by hand: its header may claim any size, its data be anything."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    if idat is None:
        channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
        row = b"\0" * (1 + width * channels * bit_depth // 8)
        z = zlib.compressobj(9)
        idat = b"".join(z.compress(row) for _ in range(rows if rows is not None else height)) + z.flush()
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


# Decompression bombs: tiny files that claim (and may hold) huge images.
add("image", "bomb-16384x16384-rgba16.png", png(16384, 16384, 16, 6, rows=256), "error",
    "a 2 GiB RGBA16 image claimed by a small PNG: over the decode budget")
add("image", "bomb-16384x16384-rgb8.png", png(16384, 16384, 8, 2, rows=64), "error",
    "768 MiB of pixels claimed, the data stops after 64 rows")
add("image", "claims-30000x30000.png", png(30000, 30000, 8, 2, rows=1), "error", "past 16384 pixels a side")
add("image", "claims-16385x1.png", png(16385, 1, 8, 2), "error", "one pixel past the side limit")
add("image", "claims-0x0.png", png(0, 0, 8, 2, idat=zlib.compress(b"")), "error", "no pixels")
add("image", "claims-4294967295-wide.png", png(0xFFFFFFFF, 1, 8, 2, idat=zlib.compress(b"\0" * 4)), "error",
    "a width of 2^32-1")
gif_bomb = bytearray(encoded(Image.new("P", (4, 4)), "GIF"))
struct.pack_into("<HH", gif_bomb, 6, 65535, 65535)  # the logical screen
add("image", "bomb-65535x65535.gif", bytes(gif_bomb), "either", "a GIF screen of 65535x65535 around a 4x4 frame")
gif_frame = bytearray(encoded(Image.new("P", (4, 4)), "GIF"))
at = gif_frame.index(b"\x2c")  # the image descriptor
struct.pack_into("<HH", gif_frame, at + 5, 65535, 65535)
add("image", "bomb-frame-65535x65535.gif", bytes(gif_frame), "error", "a GIF frame that claims 65535x65535")
tiff = bytearray(encoded(Image.new("RGB", (4, 4)), "TIFF"))
ifd = struct.unpack_from("<I", tiff, 4)[0]
for k in range(struct.unpack_from("<H", tiff, ifd)[0]):
    at = ifd + 2 + 12 * k
    if struct.unpack_from("<H", tiff, at)[0] in (256, 257):  # ImageWidth, ImageLength
        struct.pack_into("<HHII", tiff, at, struct.unpack_from("<H", tiff, at)[0], 4, 1, 65535)
add("image", "bomb-tiff-claims.tiff", bytes(tiff), "error", "a TIFF whose tags claim 65535x65535 over 48 bytes of strips")
jpeg_bomb = bytearray(good["jpg"])
sof = jpeg_bomb.index(b"\xff\xc0")
struct.pack_into(">HH", jpeg_bomb, sof + 5, 65500, 65500)
add("image", "bomb-65500x65500.jpg", bytes(jpeg_bomb), "error", "a JPEG frame header that claims 65500x65500")
bmp_bomb = bytearray(good["bmp"])
struct.pack_into("<ii", bmp_bomb, 18, 16384, 16384)
add("image", "bomb-16384x16384.bmp", bytes(bmp_bomb), "error", "a BMP header that claims 16384x16384 over 230 KB")
bmp_negative = bytearray(good["bmp"])
struct.pack_into("<ii", bmp_negative, 18, -320, -2147483648)
add("image", "negative-height.bmp", bytes(bmp_negative), "error", "a BMP height of -2^31")

# Extreme aspect ratios, and the smallest images: legal, so they must classify.
for w, h in [(16384, 1), (1, 16384), (2, 16000), (16000, 2), (1, 1), (2, 1), (3, 3)]:
    add("image", f"size-{w}x{h}.png", encoded(photo(w, h) if w * h > 9 else Image.new("RGB", (w, h), (200, 30, 90)), "PNG"),
        "ok", f"{w}x{h} pixels")
add("image", "size-1x1.jpg", encoded(Image.new("RGB", (1, 1), (9, 99, 199)), "JPEG"), "ok", "a 1x1 JPEG")
add("image", "size-1x1.gif", encoded(Image.new("P", (1, 1)), "GIF"), "ok", "a 1x1 GIF")
add("image", "size-8192x8192.png", encoded(Image.new("RGB", (8192, 8192), (40, 80, 120)), "PNG"), "ok",
    "192 MiB of pixels in a 200 KB file")

# Every EXIF orientation, and bogus ones.
small = photo(48, 32, seed=3)
for value in [1, 2, 3, 4, 5, 6, 7, 8]:
    exif = Image.Exif()
    exif[0x0112] = value
    add("image", f"exif-orientation-{value}.jpg", encoded(small, "JPEG", exif=exif.tobytes()), "ok", f"EXIF orientation {value}")
for value in [0, 9, 255, 65535]:
    exif = Image.Exif()
    exif[0x0112] = value
    add("image", f"exif-orientation-bogus-{value}.jpg", encoded(small, "JPEG", exif=exif.tobytes()), "ok",
        f"EXIF orientation {value}: no such orientation, the image is used as stored")
exif_junk = bytearray(encoded(small, "JPEG", exif=Image.Exif().tobytes()))
app1 = exif_junk.index(b"Exif\0\0")
exif_junk[app1 + 6:app1 + 14] = b"MM\0\x2a\xff\xff\xff\xf0"  # the first IFD past the segment
add("image", "exif-broken-ifd.jpg", bytes(exif_junk), "either", "an EXIF block whose IFD offset points outside it")

# Pixel formats.
arr16 = (np.asarray(photo(64, 48)).astype(np.uint16) * 257)
add("image", "gray16.png", png(64, 48, 16, 0, idat=zlib.compress(b"".join(b"\0" + arr16[y, :, 0].astype(">u2").tobytes() for y in range(48)))), "ok", "16-bit grayscale PNG")
rgb16 = png(64, 48, 16, 2, idat=zlib.compress(b"".join(b"\0" + arr16[y].astype(">u2").tobytes() for y in range(48))))
add("image", "rgb48.png", rgb16, "ok", "16-bit-per-channel RGB PNG")
add("image", "float32.tiff", encoded(Image.fromarray(np.asarray(photo(64, 48))[..., 1].astype(np.float32) / 255, "F"), "TIFF"),
    "either", "a 32-bit float grayscale TIFF")
add("image", "palette.png", encoded(photo(64, 48).convert("P", palette=Image.ADAPTIVE, colors=16), "PNG"), "ok", "16-colour palette PNG")
pal_t = photo(64, 48).convert("P", palette=Image.ADAPTIVE, colors=16)
add("image", "palette-transparent.png", encoded(pal_t, "PNG", transparency=0), "ok", "palette PNG with a transparent index")
add("image", "gray-alpha.png", encoded(photo(64, 48).convert("LA"), "PNG"), "ok", "grayscale + alpha")
add("image", "rgba.webp", encoded(photo(64, 48).convert("RGBA"), "WEBP", lossless=True), "ok", "lossless WebP with alpha")
add("image", "one-bit.png", encoded(photo(64, 48).convert("1"), "PNG"), "ok", "1-bit black and white")
add("image", "one-bit.tiff", encoded(photo(64, 48).convert("1"), "TIFF"), "ok", "1-bit TIFF")
add("image", "cmyk.jpg", encoded(photo(64, 48).convert("CMYK"), "JPEG"), "ok", "CMYK JPEG")
add("image", "cmyk.tiff", encoded(photo(64, 48).convert("CMYK"), "TIFF"), "either", "CMYK TIFF")
add("image", "progressive.jpg", encoded(photo(64, 48), "JPEG", progressive=True), "ok", "progressive JPEG")
add("image", "gray.jpg", encoded(photo(64, 48).convert("L"), "JPEG"), "ok", "grayscale JPEG")
add("image", "lzw.tiff", encoded(photo(64, 48), "TIFF", compression="tiff_lzw"), "ok", "LZW-compressed TIFF")
frames = [photo(40, 30, seed=s) for s in range(3)]
add("image", "animated.gif", encoded(frames[0].convert("P"), "GIF", save_all=True,
    append_images=[f.convert("P") for f in frames[1:]], duration=100, loop=0), "ok", "animated GIF: the first frame")
add("image", "animated.png", encoded(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100), "ok",
    "APNG: the first frame")
add("image", "animated.webp", encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100), "ok",
    "animated WebP: the first frame")

# Not images, or formats this program does not read, under image names.
add("image", "empty.png", b"", "error", "an empty file")
add("image", "text.jpg", b"this is not a photo\n" * 10, "error", "text")
add("image", "document.jpg", b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", "error", "a PDF named .jpg")
add("image", "drawing.png", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "error", "an SVG named .png")
add("image", "photo.heic.jpg", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(64), "error", "HEIF named .jpg")
add("image", "icon.png", encoded(photo(32, 32), "ICO"), "either", "a Windows icon named .png")
add("image", "layers.jpg", encoded(photo(32, 32), "PSD") if "PSD" in Image.SAVE else b"8BPS\0\x01" + bytes(40), "error",
    "a Photoshop file named .jpg")
add("image", "random.gif", bytes(rng.randrange(256) for _ in range(4096)), "error", "random bytes")
add("image", "png-signature-only.png", b"\x89PNG\r\n\x1a\n", "error", "a PNG signature and nothing else")

# ---------------------------------------------------------------- weights
st = Path(args.safetensors).read_bytes()
(header_len,) = struct.unpack("<Q", st[:8])
header = json.loads(st[8:8 + header_len])
data = st[8 + header_len:]
meta = header.pop("__metadata__", None)


def safetensors(hdr, body):
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + body


for cut in [1, 7, 8, 9, 64, 8 + header_len - 1, 8 + header_len, 8 + header_len + 100]:
    add("weights", f"truncated-{cut:09d}.safetensors", st[:cut], "error", f"the IRv2 checkpoint cut to {cut} bytes")
add("weights", "truncated-half.safetensors", st[:len(st) // 2], "error", "the IRv2 checkpoint cut in half")
for name, value in [("huge", 1 << 63), ("past-end", len(st)), ("zero", 0), ("odd", header_len - 3)]:
    add("weights", f"header-length-{name}.safetensors", struct.pack("<Q", value) + st[8:8 + header_len], "error",
        f"a header length of {value}")
add("weights", "header-not-json.safetensors", struct.pack("<Q", 16) + b"{not json at all", "error", "a header that is not JSON")
add("weights", "header-array.safetensors", safetensors([], b"")[:8] + b"[1,2,3]                 "[:16], "error",
    "a header that is a JSON array")
tiny = {"classif.weight": {"dtype": "F32", "shape": [10], "data_offsets": [0, 40]}}
add("weights", "offsets-past-end.safetensors", safetensors(tiny, b""), "error", "a tensor whose data is not in the file")
add("weights", "offsets-reversed.safetensors",
    safetensors({"classif.weight": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, bytes(8)), "error",
    "a tensor that ends before it starts")
add("weights", "shape-overflow.safetensors",
    safetensors({"classif.weight": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 4]}}, bytes(4)),
    "error", "a shape of 2^80 elements over 4 bytes")
add("weights", "shape-negative.safetensors",
    safetensors({"classif.weight": {"dtype": "F32", "shape": [-1, 4], "data_offsets": [0, 16]}}, bytes(16)),
    "error", "a negative dimension")
add("weights", "dtype-unknown.safetensors",
    safetensors({"classif.weight": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)), "error",
    "a dtype that does not exist")
add("weights", "classifier-i64.safetensors",
    safetensors({"classif.weight": {"dtype": "I64", "shape": [1000, 1536], "data_offsets": [0, 8 * 1536000]}},
                bytes(8 * 1536000)), "error", "an integer classifier")
add("weights", "classifier-0-classes.safetensors",
    safetensors({"classif.weight": {"dtype": "F32", "shape": [0, 1536], "data_offsets": [0, 0]},
                 "classif.bias": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}, b""), "error",
    "a classifier with no classes")
add("weights", "classifier-0-d.safetensors",
    safetensors({"classif.weight": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}, bytes(4)), "error",
    "a 0-d classifier tensor")
add("weights", "duplicate-keys.safetensors",
    b"".join([struct.pack("<Q", 120),
              b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'.ljust(120)])
    + bytes(8), "error", "the same tensor twice")
add("weights", "empty-header.safetensors", safetensors({}, b""), "error", "no tensors at all")


# The checkpoint as timm users save it in half precision: converted to f32 at load.
for np_dtype, st_dtype in [(np.float16, "F16"), (None, "BF16")]:
    body, hdr, offset = [], {}, 0
    for name, t in header.items():
        a = np.frombuffer(data[t["data_offsets"][0]:t["data_offsets"][1]], dtype=np.float32)
        # bf16 is the top half of an f32 (truncated rather than rounded: the test checks a
        # result, not its digits).
        raw = a.astype(np_dtype).tobytes() if np_dtype else (a.view(np.uint32) >> 16).astype(np.uint16).tobytes()
        hdr[name] = {"dtype": st_dtype, "shape": t["shape"], "data_offsets": [offset, offset + len(raw)]}
        body.append(raw)
        offset += len(raw)
    add("weights", f"irv2-{st_dtype.lower()}.safetensors", safetensors(hdr, b"".join(body)), "ok",
        f"the IRv2 checkpoint saved in {st_dtype.lower()}")

victim = "repeat.3.branch1.1.conv.weight" if "repeat.3.branch1.1.conv.weight" in header else sorted(header)[len(header) // 2]
for bad_value, label in [(np.nan, "nan"), (np.inf, "inf")]:
    body = bytearray(data)
    lo = header[victim]["data_offsets"][0]
    body[lo + 40:lo + 44] = np.array([bad_value], dtype=np.float32).tobytes()
    add("weights", f"irv2-{label}.safetensors", safetensors(header, bytes(body)), "error",
        f"one {label.upper()} in {victim}", names=victim)
names_sorted = sorted(header)
dropped, copied, misshaped = names_sorted[5], names_sorted[6], names_sorted[7]
wrong, body, offset = {}, [], 0
for name in [n for n in header if n != dropped] + ["extra.weight"]:
    t = header[copied if name == "extra.weight" else name]
    raw = data[t["data_offsets"][0]:t["data_offsets"][1]]
    shape = t["shape"]
    if name == misshaped:
        shape = list(reversed(shape)) if list(reversed(shape)) != shape else [1, int(np.prod(shape))]
    wrong[name] = {"dtype": t["dtype"], "shape": shape, "data_offsets": [offset, offset + len(raw)]}
    body.append(raw)
    offset += len(raw)
add("weights", "irv2-missing-extra-misshaped.safetensors", safetensors(wrong, b"".join(body)), "error",
    f"{dropped} missing, extra.weight added, {misshaped} reshaped", names=dropped)
entries.append({"file": os.path.abspath(args.v4), "kind": "weights", "expect": "error", "arch": "inception-resnet-v2",
                "why": "an Inception-v4 checkpoint given as Inception-ResNet-v2", "size": os.path.getsize(args.v4)})

# PyTorch files: broken zips, and pickles that would run code if unpickled by Python.
marker = os.path.abspath(args.marker)


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {marker}",))


add("weights", "evil-legacy.pth", pickle.dumps({"classif.weight": Evil()}, protocol=2), "error",
    "a legacy pickle whose unpickling runs os.system", evil=True)
try:
    import torch

    buf = io.BytesIO()
    torch.save({"classif.weight": Evil()}, buf)
    add("weights", "evil-zip.pth", buf.getvalue(), "error", "a torch.save zip whose data.pkl runs os.system", evil=True)
    buf = io.BytesIO()
    torch.save({"classif.weight": torch.zeros(3)}, buf, _use_new_zipfile_serialization=False)
    add("weights", "legacy-small.pth", buf.getvalue(), "error", "a legacy torch file that is no Inception")
except ImportError:
    sys.exit("make_corpus.py: torch is needed for the .pth cases (the oracle venv has it)")
pth = Path(args.pth).read_bytes()
for cut in [4, 100, 5000, len(pth) // 2, len(pth) - 22]:
    add("weights", f"truncated-{cut:09d}.pth", pth[:cut], "error", f"the IRv2 .pth cut to {cut} bytes")
add("weights", "zip-garbage.pth", b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(2000)), "error",
    "a zip signature then random bytes")

# ---------------------------------------------------------------- burnpack
bpk = Path(args.bpk).read_bytes()


def cbor_decode(b, i=0):
    ib = b[i]
    major, info = ib >> 5, ib & 31
    i += 1
    if info < 24:
        n = info
    elif info in (24, 25, 26, 27):
        size = 1 << (info - 24)
        n = int.from_bytes(b[i:i + size], "big")
        if major == 7:
            raw = b[i:i + size]
            i += size
            return {2: lambda r: float(np.frombuffer(r, ">f2")[0]), 4: lambda r: struct.unpack(">f", r)[0],
                    8: lambda r: struct.unpack(">d", r)[0]}[size](raw), i
        i += size
    else:
        raise ValueError(f"indefinite CBOR item at {i}")
    if major == 0:
        return n, i
    if major == 1:
        return -1 - n, i
    if major in (2, 3):
        raw = b[i:i + n]
        return (raw if major == 2 else raw.decode()), i + n
    if major == 4:
        items = []
        for _ in range(n):
            v, i = cbor_decode(b, i)
            items.append(v)
        return items, i
    if major == 5:
        d = {}
        for _ in range(n):
            k, i = cbor_decode(b, i)
            d[k], i = cbor_decode(b, i)
        return d, i
    if major == 7:
        return {20: False, 21: True, 22: None}[n], i
    raise ValueError(f"CBOR major type {major}")


def cbor_head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise ValueError(n)


def cbor_encode(v):
    if isinstance(v, bool) or v is None:
        return bytes([0xF4 if v is False else 0xF5 if v is True else 0xF6])
    if isinstance(v, int):
        return cbor_head(0, v) if v >= 0 else cbor_head(1, -1 - v)
    if isinstance(v, float):
        return b"\xfb" + struct.pack(">d", v)
    if isinstance(v, bytes):
        return cbor_head(2, len(v)) + v
    if isinstance(v, str):
        e = v.encode()
        return cbor_head(3, len(e)) + e
    if isinstance(v, (list, tuple)):
        return cbor_head(4, len(v)) + b"".join(cbor_encode(x) for x in v)
    if isinstance(v, dict):
        return cbor_head(5, len(v)) + b"".join(cbor_encode(k) + cbor_encode(x) for k, x in v.items())
    raise TypeError(type(v))


def split_burnpack(raw):
    size = struct.unpack("<I", raw[6:10])[0]
    meta, _ = cbor_decode(raw[10:10 + size])
    return size, meta, raw[-(-(10 + size) // 256) * 256:]


def dequantized(raw):
    """The burnpack `raw` with its int8 tensors turned into f32 (w = q * scale, the scale
    broadcast over its channel), tensors 256-byte aligned as burn-pack writes them."""
    _, meta, data = split_burnpack(raw)
    tensors = meta["tensors"]
    body, out = bytearray(), {}
    for name, t in tensors.items():
        if name.endswith(".int8_scale"):
            continue
        lo, hi = t["data_offsets"]
        values = data[lo:hi]
        if t["dtype"] == "I8":
            s = tensors[name + ".int8_scale"]
            scale = np.frombuffer(data[s["data_offsets"][0]:s["data_offsets"][1]], dtype=np.float32).reshape(s["shape"])
            values = (np.frombuffer(values, dtype=np.int8).reshape(t["shape"]).astype(np.float32) * scale).tobytes()
        body += bytes(-len(body) % 256)
        out[name] = dict(t, dtype="F32", data_offsets=[len(body), len(body) + len(values)])
        body += values
    info = dict(json.loads(meta["metadata"]["inception"]), dtype="f32")
    meta = dict(meta, tensors=out, metadata=dict(meta["metadata"], inception=json.dumps(info)))
    packed = cbor_encode(meta)
    start = -(-(10 + len(packed)) // 256) * 256
    return raw[:6] + struct.pack("<I", len(packed)) + packed + bytes(start - 10 - len(packed)) + bytes(body)


q8 = bpk
bpk = dequantized(q8)
meta_size, bmeta, bdata = split_burnpack(bpk)
data_start = len(bpk) - len(bdata)


def burnpack(m, body=None, version=None):
    raw = cbor_encode(m)
    start = -(-(10 + len(raw)) // 256) * 256
    head = bpk[:4] + (struct.pack("<H", version) if version is not None else bpk[4:6]) + struct.pack("<I", len(raw))
    return head + raw + bytes(start - 10 - len(raw)) + (bdata if body is None else body)


def with_meta(**changes):
    m = json.loads(json.dumps(bmeta))
    info = json.loads(m["metadata"]["inception"])
    for path, value in changes.items():
        target = info
        keys = path.split(".")
        for k in keys[:-1]:
            target = target[k]
        if value is KeyError:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
    m["metadata"]["inception"] = json.dumps(info)
    return burnpack(m)


add("weights", "roundtrip.bpk", burnpack(bmeta), "ok", "the demo weights stored at f32 by this script")
for cut in sorted({3, 4, 6, 10, 11, 10 + meta_size // 2, 10 + meta_size, data_start, data_start + 1000,
                   len(bpk) // 2, len(bpk) - 1}):
    add("weights", f"truncated-{cut:08d}.bpk", bpk[:cut], "error", f"the demo weights cut to {cut} bytes")
for name, value in [("zero", 0), ("huge", 0xFFFFFFFF), ("plus-one", meta_size + 1), ("minus-one", meta_size - 1),
                    ("past-end", len(bpk))]:
    # One byte more is harmless: CBOR ends by itself and the data section starts at the
    # same 256-byte boundary.
    add("weights", f"metadata-size-{name}.bpk", bpk[:6] + struct.pack("<I", value) + bpk[10:],
        "either" if name == "plus-one" else "error", f"a metadata size of {value}")
add("weights", "version-65535.bpk", burnpack(bmeta, version=0xFFFF), "error", "a burnpack format version from the future")
for n in range(4):
    damaged = bytearray(bpk)
    for _ in range(6):
        damaged[rng.randrange(10, 10 + meta_size)] = rng.randrange(256)
    add("weights", f"metadata-corrupt-{n}.bpk", bytes(damaged), "either", "6 random bytes of the CBOR metadata overwritten")
damaged = bytearray(bpk)
for _ in range(64):
    damaged[rng.randrange(data_start, len(bpk))] = rng.randrange(256)
add("weights", "data-corrupt.bpk", bytes(damaged), "either", "64 random bytes of tensor data overwritten")

for name, changes, why in [
    ("crop-pct-0", {"preprocess.crop_pct": 0.0}, "crop_pct 0"),
    ("crop-pct-negative", {"preprocess.crop_pct": -1.0}, "crop_pct -1"),
    ("input-size-100000", {"preprocess.input_size": 100000}, "input_size 100000"),
    ("input-size-0", {"preprocess.input_size": 0}, "input_size 0"),
    ("input-size-8", {"preprocess.input_size": 8}, "an input smaller than the network accepts"),
    ("std-0", {"preprocess.std": [0.0, 0.5, 0.5]}, "a zero std"),
    ("mean-huge", {"preprocess.mean": [1e39, 0.5, 0.5]}, "a mean past f32's range"),
    ("classes-1e9", {"num_classes": 1_000_000_000}, "a billion classes claimed, 10 in the classifier"),
    ("classes-0", {"num_classes": 0}, "zero classes"),
    ("labels-3", {"labels": ["a", "b", "c"]}, "3 labels for 10 classes"),
    ("arch-v4", {"arch": "inception-v4"}, "the tensors of IRv2 under Inception-v4's name"),
    ("arch-unknown", {"arch": "resnet-50"}, "an architecture that does not exist"),
    ("format-99", {"format_version": 99}, "a metadata version from the future"),
    ("width-0", {"width": 0.0}, "a width multiplier of 0"),
    ("no-arch", {"arch": KeyError}, "no arch field"),
]:
    add("weights", f"meta-{name}.bpk", with_meta(**changes), "error", why)
m = json.loads(json.dumps(bmeta))
m["metadata"]["inception"] = "{not json"
add("weights", "meta-not-json.bpk", burnpack(m), "error", "metadata that is not JSON")
m = json.loads(json.dumps(bmeta))
del m["metadata"]["inception"]
add("weights", "meta-missing.bpk", burnpack(m), "error", "a burnpack of another program (no inception metadata)")

names = sorted(bmeta["tensors"])
first = names[0]
for name, change, why in [
    ("shape-lies", lambda t: t.update(shape=[x + 1 for x in t["shape"]]), "a shape that does not match the data length"),
    ("shape-overflow", lambda t: t.update(shape=[1 << 40, 1 << 40]), "a shape of 2^80 elements"),
    ("offsets-past-end", lambda t: t.update(data_offsets=[len(bdata), len(bdata) + 4 * int(np.prod(t["shape"]))]),
     "data past the end of the file"),
    ("offsets-reversed", lambda t: t.update(data_offsets=[t["data_offsets"][1], t["data_offsets"][0]]), "an end before the start"),
    ("dtype-i32", lambda t: t.update(dtype="I32"), "integer data where floats belong"),
]:
    m = json.loads(json.dumps(bmeta))
    change(m["tensors"][first])
    # burn-pack's reader refuses some of these for the whole file, before naming a tensor.
    add("weights", f"tensor-{name}.bpk", burnpack(m), "error", f"{first}: {why}",
        **({} if name == "offsets-past-end" else {"names": first}))


def tensor_values(m, name):
    lo, hi = m["tensors"][name]["data_offsets"]
    return np.frombuffer(bdata[lo:hi], dtype=np.float32)


conv = next(n for n in names if n.endswith("conv.weight"))
for bad_value, label in [(np.nan, "nan"), (-np.inf, "inf")]:
    body = bytearray(bdata)
    lo = bmeta["tensors"][conv]["data_offsets"][0]
    body[lo:lo + 4] = np.array([bad_value], dtype=np.float32).tobytes()
    add("weights", f"tensor-{label}.bpk", burnpack(bmeta, bytes(body)), "error", f"one {label.upper()} in {conv}", names=conv)
# One tensor stored in f16 (appended to the data section): converted at load.
m = json.loads(json.dumps(bmeta))
half = tensor_values(bmeta, conv).astype(np.float16).tobytes()
pad = bytes(-len(bdata) % 256)
m["tensors"][conv] = dict(m["tensors"][conv], dtype="F16",
                          data_offsets=[len(bdata) + len(pad), len(bdata) + len(pad) + len(half)])
add("weights", "tensor-f16.bpk", burnpack(m, bdata + pad + half), "ok", f"{conv} stored in f16")
m = json.loads(json.dumps(bmeta))
del m["tensors"][first]
add("weights", "tensor-missing.bpk", burnpack(m), "error", f"{first} missing", names=first)
m = json.loads(json.dumps(bmeta))
m["tensors"]["extra.weight"] = dict(m["tensors"][first])
add("weights", "tensor-extra.bpk", burnpack(m), "error", "an extra tensor", names="extra.weight")

# int8 weights (one f32 scale tensor per int8 tensor): the file as written, and scales that
# are missing, zero or NaN.
_, q8_meta, q8_data = split_burnpack(q8)


def burnpack_q8(m, body=None):
    raw = cbor_encode(m)
    start = -(-(10 + len(raw)) // 256) * 256
    return q8[:6] + struct.pack("<I", len(raw)) + raw + bytes(start - 10 - len(raw)) + (q8_data if body is None else body)


add("weights", "int8.bpk", q8, "ok", "the demo weights stored at int8")
scale = next(n for n in sorted(q8_meta["tensors"]) if n.endswith(".int8_scale"))
quantized = scale[: -len(".int8_scale")]
m = json.loads(json.dumps(q8_meta))
del m["tensors"][scale]
add("weights", "int8-scale-missing.bpk", burnpack_q8(m), "error", f"{quantized} without its scales", names=quantized)
for label, value in [("zero", 0.0), ("nan", float("nan"))]:
    body = bytearray(q8_data)
    lo = q8_meta["tensors"][scale]["data_offsets"][0]
    body[lo:lo + 4] = np.array([value], dtype=np.float32).tobytes()
    add("weights", f"int8-scale-{label}.bpk", burnpack_q8(q8_meta, bytes(body)), "error", f"a scale of {label} in {scale}",
        names=quantized)

# Not weights at all, under weights names.
add("weights", "empty.bpk", b"", "error", "an empty file")
add("weights", "photo.bpk", good["jpg"], "error", "a JPEG named .bpk")
add("weights", "text.safetensors", b"hello\n" * 100, "error", "text named .safetensors")
add("weights", "random.bpk", bytes(rng.randrange(256) for _ in range(10000)), "error", "random bytes")

# Inputs that cargo-fuzz once found failing (tools/fuzz.sh writes them there; they are kept in
# git with the fix): each must now end with a result or a clear message.
found = Path(__file__).resolve().parent / "found"
for target, kind, suffix in [("decode_preprocess", "image", ".img"), ("weights", "weights", ".bpk"),
                             ("weights_pth", "weights", ".pth")]:
    for f in sorted((found / target).glob("*")) if (found / target).is_dir() else []:
        add(kind, f"found-{target}-{f.name}{suffix}", f.read_bytes(), "either", f"found by cargo-fuzz ({target})")

(out / "corpus.json").write_text(json.dumps(entries, indent=1))
counts = {}
for e in entries:
    counts[(e["kind"], e["expect"])] = counts.get((e["kind"], e["expect"]), 0) + 1
print(f"make_corpus.py: {len(entries)} files in {out}: " + ", ".join(f"{k[0]} {k[1]} {v}" for k, v in sorted(counts.items())),
      file=sys.stderr)
