"""``python -m litnet reproduce [R1 R6 ...] [--json]``: see :mod:`litnet.cli`."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
