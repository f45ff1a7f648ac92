"""Self-contained HTML reports: one page a person opens in a browser and can forward.

Every picture is embedded (a PNG as a ``data:`` URI), the style is inline, and
nothing is fetched from the network, so the page reads the same from a
scheduled job's output folder, an e-mail attachment or a notebook.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from intent_model.io.files import atomic_path
from intent_model.modeling.plots import png_bytes

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.8em;
border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.note { color: #555; } .partial { background: #fff3cd; border: 1px solid #e0c060;
padding: 0.6em 1em; border-radius: 4px; } .alert { background: #f8d7da; border: 1px solid
#d9868f; padding: 0.6em 1em; border-radius: 4px; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; display: block; margin: 0.8em 0; }
"""


def figure_html(figure: Figure, alt: str) -> str:
    """A matplotlib figure as an ``<img>`` whose PNG is inside the page."""
    encoded = base64.b64encode(png_bytes(figure, dpi=100)).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def table_html(frame: pd.DataFrame, digits: int = 4) -> str:
    """A table with numbers right-aligned and rounded, text escaped."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for value in values:
            if isinstance(value, float):
                shown = "" if value != value else f"{value:,.{digits}f}"
                cells.append(f'<td class="num">{shown}</td>')
            elif isinstance(value, int):
                cells.append(f'<td class="num">{value:,}</td>')
            else:
                cells.append(f"<td>{html.escape('' if value is None else str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def paragraph(text: str, kind: str = "") -> str:
    """Escaped text in a paragraph; ``kind`` ``note``, ``partial`` or ``alert`` styles it."""
    css = f' class="{kind}"' if kind else ""
    return f"<p{css}>{html.escape(text)}</p>"


def section(title: str, *blocks: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n" + "\n".join(blocks)


def page(title: str, subtitle: str, sections: Iterable[str]) -> str:
    """The whole page: its title, a line under it, and the sections in order."""
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><h1>{html.escape(title)}</h1>{paragraph(subtitle, 'note')}\n{body}\n"
        "</body></html>\n"
    )


def write_page(text: str, path: str | Path) -> Path:
    """Write the page atomically (the old page or the new one, never half of one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
