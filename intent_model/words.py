"""Numbers and nouns as a person reads them, for every sentence the package writes."""

from __future__ import annotations


def number(value: float) -> str:
    """A count or measure for people: thousands separated, three significant figures for
    a fraction, one decimal from 1 to 100, none from 100 on.

    Examples
    --------
    >>> number(12595.62776), number(0.01331553), number(3.0), number(1234567), number(2.25)
    ('12,596', '0.0133', '3', '1,234,567', '2.2')
    """
    if value != value:
        return "unknown"
    if value in (float("inf"), float("-inf")):
        return str(value)
    if value == int(value):
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:,.1f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def plural(words: str, count: float) -> str:
    """``words`` for ``count`` of them.

    Examples
    --------
    >>> plural("demo request", 2), plural("site search", 2), plural("study", 3), plural("day", 1)
    ('demo requests', 'site searches', 'studies', 'day')
    """
    if count == 1:
        return words
    if words.endswith(("s", "x", "ch", "sh")):
        return words + "es"
    if words.endswith("y") and not words.endswith(("ay", "ey", "oy", "uy")):
        return words[:-1] + "ies"
    return words + "s"


def counted(count: float, noun: str) -> str:
    """``3 pricing page views``, ``no pricing page views``, ``1 demo request``.

    Examples
    --------
    >>> counted(0, "page view"), counted(1, "demo request"), counted(1200, "event")
    ('no page views', '1 demo request', '1,200 events')
    """
    if count == 0:
        return f"no {plural(noun, 2)}"
    return f"{number(count)} {plural(noun, count)}"
