"""CSV downloads that a spreadsheet cannot turn into formulas: a cell starting with =, +, -, @ (or a tab or a
carriage return, which some spreadsheets skip before reading one) is prefixed with ' so it stays text (OWASP's
"CSV injection")."""

import csv
import io
from collections.abc import Iterable

from flask import Response

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """The cell's text: None is empty; text a spreadsheet would read as a formula gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_response(filename: str, header: Iterable, rows: Iterable[Iterable]) -> Response:
    """A download of header and rows, every cell made safe; UTF-8 with a byte-order mark so spreadsheets read
    ₹ and Hindi right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_safe(cell) for cell in header])
    writer.writerows([csv_safe(cell) for cell in row] for row in rows)
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
