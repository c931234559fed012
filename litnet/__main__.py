"""``python -m litnet reproduce [R1 R6 ...] [--json]``: see :mod:`litnet.cli`."""

from .cli import main

raise SystemExit(main())
