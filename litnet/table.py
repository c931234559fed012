"""A small table: rows of named values that print as text or Markdown.

:meth:`litnet.diagnostics.Recorder.stats`, :meth:`litnet.History.table` and the
``litnet reproduce`` command return or print one.
"""

from __future__ import annotations

import numpy as np


class Table:
    """Rows of named values that print as text or Markdown.

    Parameters
    ----------
    rows : iterable of dict
    columns : list of str, optional
        Column order; default: the keys in order of first appearance.

    Examples
    --------
    >>> t = Table([{"layer": 1, "std": 0.12345}, {"layer": 2, "std": 0.5}])
    >>> t.column("std").tolist()
    [0.12345, 0.5]
    >>> print(t)
    layer     std
        1  0.1235
        2     0.5
    >>> print(t.to_markdown())
    | layer | std |
    |---:|---:|
    | 1 | 0.1235 |
    | 2 | 0.5 |
    """

    def __init__(self, rows, columns=None):
        self.rows = [dict(r) for r in rows]
        if columns is None:
            columns = list(dict.fromkeys(k for r in self.rows for k in r))
        self.columns = list(columns)

    def column(self, name):
        """The values of one column as an array (NaN where a row has none)."""
        if name not in self.columns:
            raise KeyError(f"Table has no column {name!r}; columns: {self.columns}")
        return np.array([r.get(name, np.nan) for r in self.rows])

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, key):
        """``table[i]`` is a row (dict), ``table["name"]`` a column."""
        return self.column(key) if isinstance(key, str) else self.rows[key]

    def _cells(self, fmt):
        def cell(v):
            if v is None:
                return "-"
            if isinstance(v, (float, np.floating)):
                return fmt.format(v)
            return str(v)
        return [[cell(r.get(c)) for c in self.columns] for r in self.rows]

    def to_markdown(self, fmt="{:.4g}"):
        """A Markdown table; numbers formatted with ``fmt``."""
        lines = ["| " + " | ".join(self.columns) + " |",
                 "|" + "|".join("---:" for _ in self.columns) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self._cells(fmt)]
        return "\n".join(lines)

    def to_text(self, fmt="{:.4g}", *, left=()):
        """Aligned plain text, numbers formatted with ``fmt``; the columns named in
        ``left`` are aligned to the left, all others to the right.

        Examples
        --------
        >>> print(Table([{"claim": "R1.a", "value": 0.5}]).to_text(left=["claim"]))
        claim  value
        R1.a     0.5
        """
        cells = [list(self.columns)] + self._cells(fmt)
        widths = [max(len(row[j]) for row in cells) for j in range(len(self.columns))]
        align = [str.ljust if c in left else str.rjust for c in self.columns]
        lines = ("  ".join(a(v, w) for v, w, a in zip(row, widths, align, strict=True))
                 for row in cells)
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self):
        return self.to_text()

    __repr__ = __str__
