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


# Durations are kept in days (a float); the units a person reads them in, largest first.
_UNITS = (("day", "d", 1.0), ("hour", "h", 1 / 24), ("minute", "m", 1 / 1440))


def _in_whole_units(days: float) -> tuple[str, str, int]:
    for noun, suffix, size in _UNITS:
        amount = days / size
        if abs(amount - round(amount)) < 1e-9:
            return noun, suffix, int(round(amount))
    raise ValueError(f"{days!r} days is not a whole number of minutes")


def duration(days: float) -> str:
    """A duration in the largest unit that says it whole.

    Examples
    --------
    >>> duration(7), duration(1), duration(0.25), duration(1.5), duration(1 / 48)
    ('7 days', '1 day', '6 hours', '36 hours', '30 minutes')
    """
    if days != days:
        return "an unknown time"
    noun, _, amount = _in_whole_units(days)
    return f"{number(amount)} {plural(noun, amount)}"


def duration_suffix(days: float) -> str:
    """The short form of a duration in feature names: ``7d``, ``6h``, ``30m``.

    Examples
    --------
    >>> duration_suffix(7), duration_suffix(0.25), duration_suffix(2.0)
    ('7d', '6h', '2d')
    """
    _, suffix, amount = _in_whole_units(days)
    return f"{amount}{suffix}"
