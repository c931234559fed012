"""One reproduced claim: what the note says, what litnet measured, and whether it holds.

A claim with one numeric bound is made by :func:`at_least`, :func:`at_most` or
:func:`within`; a claim whose sentence states several is made by :func:`all_of` from
named checks (:func:`ge`, :func:`gt`, :func:`le`, :func:`lt`, :func:`near`). Each bound
is written once: the constructor formats it into the sentence (``{bound}`` or
``{name}`` in the template) *and* compares the measurement with it, so the sentence a
chapter prints and the test that asserts ``claim.passed`` cannot disagree.
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


@dataclass(frozen=True)
class Check:
    """One comparison of a measured ``value`` with a stated ``bound``.

    Formatting a check gives its bound (``fmt`` unless the template gives a spec), so a
    sentence template names the check, ``"at least {acc}"``, and never types the number.
    """

    value: float
    bound: float
    holds: bool
    fmt: str = ".3g"

    def __format__(self, spec):
        return as_text(self.bound, spec or self.fmt)


def as_text(x, fmt, digits=1):
    """``format(x, fmt)``, or :func:`power_of_ten` with ``digits`` for the format ``"x10"``."""
    return power_of_ten(x, digits) if fmt == "x10" else format(x, fmt)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten(x, digits=1):
    """``x`` written for prose as a power of ten (a check's format ``"x10"``).

    >>> power_of_ten(1e-12), power_of_ten(2e-5), power_of_ten(0.001), power_of_ten(0.0)
    ('10⁻¹²', '2 × 10⁻⁵', '10⁻³', '0')
    >>> power_of_ten(-3.14e-7, digits=2)
    '−3.1 × 10⁻⁷'
    """
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
    mantissa = mantissa.replace("-", "−")
    return power if mantissa == "1" else f"{mantissa} × {power}"


def _check(value, bound, holds, fmt):
    return Check(float(value), float(bound), bool(holds), fmt)


def ge(value, bound, fmt=".3g"):
    """``value >= bound``."""
    return _check(value, bound, float(value) >= bound, fmt)


def gt(value, bound, fmt=".3g"):
    """``value > bound``."""
    return _check(value, bound, float(value) > bound, fmt)


def le(value, bound, fmt=".3g"):
    """``value <= bound``."""
    return _check(value, bound, float(value) <= bound, fmt)


def lt(value, bound, fmt=".3g"):
    """``value < bound``."""
    return _check(value, bound, float(value) < bound, fmt)


def near(value, bound, fmt=".3g"):
    """``abs(value) <= bound``: ``value`` is a difference or an error."""
    return _check(value, bound, abs(float(value)) <= bound, fmt)


def all_of(id, statement, *, note, measured, holds=True, **checks):
    """A claim whose sentence states several bounds, each one a named :class:`Check`.

    ``{name}`` in ``statement`` becomes that check's bound, and the claim holds when
    every check (and ``holds``, for conditions with no stated number) does. The claim's
    :attr:`~Claim.value` and :attr:`~Claim.bound` are its first check's.

    Examples
    --------
    >>> c = all_of("R0.both", "mean within {mean} of 0, std at least {std}",
    ...            note="-", measured="mean 0.01, std 0.95",
    ...            mean=near(0.01, 0.05), std=ge(0.95, 0.9, ".1f"))
    >>> c.statement, c.passed, c.bound
    ('mean within 0.05 of 0, std at least 0.9', True, 0.05)
    """
    first = next(iter(checks.values()))
    return Claim(id, statement.format(**checks), note, measured,
                 bool(holds) and all(c.holds for c in checks.values()),
                 first.value, first.bound)


def _one(id, statement, check, note):
    return all_of(id, statement, note=note, measured=as_text(check.value, check.fmt, 2),
                  bound=check)


def at_least(id, statement, value, bound, *, note, fmt=".3g"):
    """A claim that ``value >= bound``; ``{bound}`` in ``statement`` becomes the bound.

    Examples
    --------
    >>> c = at_least("R0.acc", "accuracy at least {bound}", 0.93, 0.9, note="94 %", fmt=".0%")
    >>> c.statement, c.measured, c.passed
    ('accuracy at least 90%', '93%', True)
    """
    return _one(id, statement, ge(value, bound, fmt), note)


def at_most(id, statement, value, bound, *, note, fmt=".3g"):
    """A claim that ``value <= bound``; ``{bound}`` in ``statement`` becomes the bound.

    Examples
    --------
    >>> at_most("R0.err", "error at most {bound}", 0.3, 0.2, note="-", fmt=".0%").passed
    False
    """
    return _one(id, statement, le(value, bound, fmt), note)


def within(id, statement, value, bound, *, note, fmt=".3g"):
    """A claim that ``abs(value) <= bound`` (``value`` a difference or an error).

    Examples
    --------
    >>> within("R0.gap", "within {bound} points", -0.02, 0.03, note="-", fmt=".0%").passed
    True
    """
    return _one(id, statement, near(value, bound, fmt), note)


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
