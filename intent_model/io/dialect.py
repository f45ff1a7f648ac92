"""How a text table is written: its delimiter, encoding and decimal mark, told from the file.

Exports come from many tools. Excel in a European locale writes semicolons,
decimal commas and Windows-1252, sometimes with a ``sep=;`` first line; its
"Unicode text" is UTF-16 with tabs; web tools write UTF-8 with or without a
byte-order mark. :func:`detect_dialect` reads the first block of the file and
tells each of these from the bytes, so that the pandas C parser can then read
the whole file at full speed. Whatever the config's ``[input]`` section sets
is taken as given and not guessed.

The delimiter is judged by the standard library's :mod:`csv` parser (quotes
and embedded delimiters handled): the candidate that splits the header into
more than one field and most rows into as many fields as the header wins.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path

from intent_model.errors import InputError

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 256 * 1024
SAMPLE_ROWS = 200
# When more than one delimiter splits the header, the winner must split at
# least this share of the sampled rows into as many fields as the header. A
# lone candidate wins whatever its rows do: a truncated or ragged row is bad
# data for validation to report with its line, not a sign of another delimiter.
CONSISTENT_SHARE = 0.8

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8 with BOM"),
    (b"\xff\xfe", "utf-16", "UTF-16 (Excel 'Unicode text')"),
    (b"\xfe\xff", "utf-16", "UTF-16 (Excel 'Unicode text')"),
)
# Tried in order when the bytes are not UTF-8: Windows-1252 is what Excel writes
# in Western locales; Latin-1 decodes any byte, so it always ends the search.
FALLBACK_ENCODINGS = ("cp1252", "latin-1")
_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")
_DECIMAL_POINT = re.compile(r"^\s*-?\d+\.\d+\s*$")
_SEP_LINE = re.compile(r"^\s*\"?sep=(.)\"?\s*$", re.IGNORECASE)

_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


@dataclass(frozen=True)
class Dialect:
    """How to read one text table, and how each part was told.

    Attributes
    ----------
    delimiter, encoding, decimal : str
        What to hand the parser.
    skip_rows : int
        1 when the file starts with Excel's ``sep=`` line, else 0.
    notes : tuple of str
        One phrase per part: what was found and whether it was detected or set.
    """

    delimiter: str
    encoding: str
    decimal: str
    skip_rows: int
    notes: tuple[str, ...]

    def describe(self) -> str:
        """One line for the run's summary.

        Examples
        --------
        >>> Dialect(";", "cp1252", ",", 1, ("delimiter ';' (from the sep= line)",)).describe()
        "read as CSV: delimiter ';' (from the sep= line)"
        """
        return "read as CSV: " + "; ".join(self.notes)


def detect_dialect(
    path: str | Path,
    delimiter: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
) -> Dialect:
    """Tell the delimiter, encoding and decimal mark of a text table.

    Parameters
    ----------
    path : str or Path
        A plain (not compressed) text table.
    delimiter, encoding, decimal : str, optional
        Set by the user (``[input]``): taken as given, not guessed.

    Returns
    -------
    Dialect

    Raises
    ------
    InputError
        When no delimiter splits the header and most rows alike; the message
        says what each candidate gave and how to set one.
    """
    path = Path(path)
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        cut = bool(handle.read(1))
    encoding, text, encoding_note = _encoding(head, encoding)
    lines = text.splitlines()
    if cut and lines:
        lines = lines[:-1]  # the block may end inside a row
    sep_line = _SEP_LINE.match(lines[0]) if lines else None
    skip_rows = 1 if sep_line else 0
    lines = lines[skip_rows:]
    if delimiter is not None:
        how = "set"
    elif sep_line:
        delimiter, how = sep_line.group(1), "sep= line"
    else:
        delimiter, how = _delimiter(lines[:SAMPLE_ROWS], path), "detected"
    notes = [f"delimiter {_NAMES.get(delimiter, repr(delimiter))} ({how})", encoding_note]
    if decimal is None:
        decimal = _decimal(lines[:SAMPLE_ROWS], delimiter)
        if decimal == ",":
            notes.append("decimal comma (detected)")
    else:
        notes.append(f"decimal {decimal!r} (set)")
    return Dialect(delimiter, encoding, decimal, skip_rows, tuple(notes))


def fallback_encoding(encoding: str) -> str | None:
    """The next encoding to try when ``encoding`` fails on a byte past the sample."""
    order = ("utf-8-sig", *FALLBACK_ENCODINGS)
    if encoding in order[:-1]:
        return order[order.index(encoding) + 1]
    return None


def _encoding(head: bytes, encoding: str | None) -> tuple[str, str, str]:
    if encoding is not None:
        return encoding, head.decode(encoding, errors="replace"), f"encoding {encoding} (set)"
    for bom, name, label in _BOMS:
        if head.startswith(bom):
            return name, head.decode(name, errors="replace"), f"encoding {label} (detected)"
    try:
        # The block may end inside a multi-byte character: ignore a cut at the very end.
        return "utf-8-sig", _decode_utf8_head(head), "encoding UTF-8 (detected)"
    except UnicodeDecodeError:
        pass
    for name in FALLBACK_ENCODINGS:
        try:
            text = head.decode(name)
        except UnicodeDecodeError:
            continue
        return name, text, f"encoding {name} (detected: the bytes are not UTF-8)"
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _decode_utf8_head(head: bytes) -> str:
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return head[: exc.start].decode("utf-8")
        raise


def _delimiter(lines: list[str], path: Path) -> str:
    if not lines:
        return ","
    tried, splitting = [], []
    for candidate in DELIMITERS:
        rows = [row for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=candidate)]
        rows = [row for row in rows if row]
        if not rows:
            continue
        n_header = len(rows[0])
        body = rows[1:]
        share = sum(len(row) == n_header for row in body) / len(body) if body else 1.0
        tried.append(f"{_NAMES[candidate]}: {n_header} header field(s), {share:.0%} of rows alike")
        if n_header > 1:
            splitting.append((share, n_header, candidate))
    if not splitting:
        return ","  # one column: the column checks say what is missing
    share, _, best = max(splitting, key=lambda found: found[:2])
    if len(splitting) == 1 or share >= CONSISTENT_SHARE:
        return best
    raise InputError(
        f"{path}: cannot tell how the columns are separated; tried "
        + "; ".join(tried)
        + '. Set it in the config: [input] delimiter = ";" (or ",", "\\t", "|")'
    )


def _decimal(lines: list[str], delimiter: str) -> str:
    """A decimal comma when numbers with a comma outnumber numbers with a point."""
    if delimiter == ",":
        return "."
    n_comma = n_point = 0
    for row in csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=delimiter):
        for value in row:
            n_comma += bool(_DECIMAL_COMMA.match(value))
            n_point += bool(_DECIMAL_POINT.match(value))
    return "," if n_comma > n_point else "."
