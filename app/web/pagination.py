"""One page of a list (bills, payments …), the page number taken from `?page=`."""

from flask import abort, request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from app.extensions import db

# Far beyond any real history; a larger number would only make an offset the database cannot hold.
MAX_PAGE = 100_000


def page_of(query: Select, per_page: int) -> Pagination:
    """The page `?page=` asks for (1 without it). Not a whole number, below 1, above MAX_PAGE or past the last
    page (but the first): 404, never a 500."""
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        abort(404)
    if not 1 <= page <= MAX_PAGE:
        abort(404)
    return db.paginate(query, page=page, per_page=per_page, max_per_page=per_page, error_out=True)
