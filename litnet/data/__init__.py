"""Data sets: the bundled 8×8 digits, an MNIST IDX reader, small synthetic sets.

Nothing here downloads anything. ``load_digits`` reads the copy of the UCI
optical digits (E. Alpaydin and C. Kaynak, CC BY 4.0) shipped in this folder;
``load_mnist`` reads IDX files the user already has.
"""

from .digits import Split, load_digits
from .mnist import load_mnist, read_idx, write_idx
from .synthetic import elongated_bowl, make_blobs, make_spiral

__all__ = ["Split", "elongated_bowl", "load_digits", "load_mnist", "make_blobs", "make_spiral",
           "read_idx", "write_idx"]
