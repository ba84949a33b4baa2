#!/usr/bin/env python3
"""Writes the ImageNet-1k class names, in the index order of timm's 1000-class models, one
per line: `synset<TAB>lemmas`. Source: the synset list that ships inside the timm package
(timm.data.ImageNetInfo), so nothing is downloaded.

    python tools/imagenet_classes.py > crates/inception/src/imagenet_classes.tsv
"""
from timm.data import ImageNetInfo

info = ImageNetInfo()
assert info.num_classes() == 1000
for i in range(1000):
    print(f"{info.index_to_label_name(i)}\t{info.index_to_description(i)}")
