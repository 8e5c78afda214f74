"""CSV downloads that a spreadsheet opens safely: a text cell that a spreadsheet would run as a formula
(beginning with =, +, -, @, or a tab or carriage return that hides one) is prefixed with an apostrophe.

    return csv_response("settlement-12.csv", ["Line", "UTR", "Amount"], rows)
"""

import csv
import io
import re

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """The cell as text; text that would start a formula gets a leading ' (numbers, dates and None are kept)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


def csv_text(header: list[str], rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_safe(str(name)) for name in header])
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    return out.getvalue()


def csv_response(filename: str, header: list[str], rows) -> Response:
    """A download of `rows` under `header`, in UTF-8 with a BOM (so Excel reads ₹ and Hindi correctly)."""
    safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "export.csv"
    response = Response("\ufeff" + csv_text(header, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
