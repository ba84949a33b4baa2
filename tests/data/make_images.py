#!/usr/bin/env python3
"""Writes the small odd images the decoding tests use (committed; rerun only to change them).
Pillow writes what the Rust `image` crate cannot: CMYK JPEG and EXIF orientation.

    python tests/data/make_images.py tests/data
"""
import sys
from PIL import Image

out = sys.argv[1]
# 60x40, left half red, right half blue.
img = Image.new("RGB", (60, 40), (0, 0, 255))
img.paste((255, 0, 0), (0, 0, 30, 40))
img.convert("CMYK").save(f"{out}/cmyk.jpg", quality=95)
exif = Image.Exif()
exif[0x0112] = 6  # Orientation: the stored pixels must be turned 90 degrees clockwise
img.save(f"{out}/exif_rotate_90cw.jpg", quality=95, exif=exif.tobytes())
