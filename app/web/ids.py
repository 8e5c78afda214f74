"""Ids in URLs: `<int:…>` matches only numbers that can be a row id, so a huge number is a 404, not an overflow."""

from werkzeug.routing import IntegerConverter

from app.db import MAX_ID


class RowIdConverter(IntegerConverter):
    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def use_row_ids(app) -> None:
    app.url_map.converters["int"] = RowIdConverter
