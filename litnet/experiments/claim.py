"""One reproduced claim: what the note says, what litnet measured, and whether it holds.

A claim with a numeric bound is made by :func:`at_least`, :func:`at_most` or
:func:`within`. The bound is written once: the constructor formats it into the
sentence (``{bound}`` in the template) *and* compares the measurement with it, so
the sentence a chapter prints and the test that asserts ``claim.passed`` cannot
disagree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """A claim of a study note checked by running litnet.

    Attributes
    ----------
    id : str
        ``"R<k>.<short_name>"``, matching the reproduction list.
    text : str
        The claim in one sentence (also :attr:`statement`).
    note : str
        The value or statement in the note (or the book's code), as text.
    measured : str
        What litnet measured, formatted for the page.
    holds : bool
        Whether the measurement satisfies the stated threshold (also :attr:`passed`).
    value : float or None
        The number compared with the bound, when there is one.
    bound : float or None
        The bound the sentence states.

    Examples
    --------
    >>> c = Claim("R0.demo", "two plus two", "4", str(2 + 2), 2 + 2 == 4)
    >>> c.holds, c.passed, c.reproduction
    (True, True, 'R0')
    """

    id: str
    text: str
    note: str
    measured: str
    holds: bool
    value: float | None = None
    bound: float | None = None

    @property
    def statement(self) -> str:
        """The sentence of the claim (the same as :attr:`text`)."""
        return self.text

    @property
    def passed(self) -> bool:
        """Whether the claim holds (the same as :attr:`holds`)."""
        return self.holds

    @property
    def reproduction(self) -> str:
        """The reproduction the claim belongs to: ``"R6"`` for ``"R6.sigmoid_bn"``."""
        return self.id.split(".", 1)[0]


def _make(id, statement, value, bound, holds, note, fmt):
    value = float(value)
    return Claim(id, statement.format(bound=format(bound, fmt)), note,
                 format(value, fmt), bool(holds), value, float(bound))


def at_least(id, statement, value, bound, *, note, fmt=".3g"):
    """A claim that ``value >= bound``; ``{bound}`` in ``statement`` becomes the bound.

    Examples
    --------
    >>> c = at_least("R0.acc", "accuracy at least {bound}", 0.93, 0.9, note="94 %", fmt=".0%")
    >>> c.statement, c.measured, c.passed
    ('accuracy at least 90%', '93%', True)
    """
    return _make(id, statement, value, bound, float(value) >= bound, note, fmt)


def at_most(id, statement, value, bound, *, note, fmt=".3g"):
    """A claim that ``value <= bound``; ``{bound}`` in ``statement`` becomes the bound.

    Examples
    --------
    >>> at_most("R0.err", "error at most {bound}", 0.3, 0.2, note="-", fmt=".0%").passed
    False
    """
    return _make(id, statement, value, bound, float(value) <= bound, note, fmt)


def within(id, statement, value, bound, *, note, fmt=".3g"):
    """A claim that ``abs(value) <= bound`` (``value`` a difference or an error).

    Examples
    --------
    >>> within("R0.gap", "within {bound} points", -0.02, 0.03, note="-", fmt=".0%").passed
    True
    """
    return _make(id, statement, value, bound, abs(float(value)) <= bound, note, fmt)


def also(claim, holds=True, measured=None):
    """``claim`` with a further condition that must hold, and the page's measured text.

    For a claim whose sentence states more than its one bound (the other conditions are
    exact, like "no unit is dead"), and for a ``measured`` richer than the bare value.

    Examples
    --------
    >>> c = at_least("R0.acc", "accuracy at least {bound}", 0.93, 0.9, note="-", fmt=".0%")
    >>> also(c, False, measured="93 % (train 99 %)").passed, also(c).measured
    (False, '93%')
    """
    from dataclasses import replace

    return replace(claim, holds=claim.holds and bool(holds),
                   measured=claim.measured if measured is None else measured)
