"""One reproduced claim: what the note says, what litnet measured, and whether it holds."""

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
        The claim in one sentence.
    note : str
        The value or statement in the note (or the book's code), as text.
    measured : str
        What litnet measured, formatted for the page.
    holds : bool
        Whether the measurement satisfies the stated threshold or tolerance.

    Examples
    --------
    >>> c = Claim("R0.demo", "two plus two", "4", str(2 + 2), 2 + 2 == 4)
    >>> c.holds
    True
    """

    id: str
    text: str
    note: str
    measured: str
    holds: bool
