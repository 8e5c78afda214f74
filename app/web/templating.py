"""Template helpers: money and date filters, hashed static URLs, htmx-aware rendering."""

from flask import request
from flask_babel import format_datetime, get_locale
from jinja2_fragments.flask import render_block

from app.db import utcnow
from app.i18n import in_words, indian_date, indian_time, inr, month_label, quantity, rate
from app.web.charts import sparkline_points
from app.web.static_files import static_url


def is_htmx_fragment_request() -> bool:
    """htmx wants only a fragment, except when it restores history (then it needs the whole page)."""
    return "HX-Request" in request.headers and "HX-History-Restore-Request" not in request.headers


def render(template: str, fragment: str | None = None, **context) -> str:
    """Render a page, or only its block `fragment` when htmx asks for it."""
    from flask import render_template

    if fragment and is_htmx_fragment_request():
        return render_block(template, fragment, **context)
    return render_template(template, **context)


def _page_globals() -> dict:
    # When the page was made, in Indian time: the offline banner says how old a cached copy is.
    return {"rendered_at": format_datetime(utcnow(), "HH:mm, d MMM")}


def register_template_helpers(app) -> None:
    app.context_processor(_page_globals)
    app.jinja_env.filters["inr"] = inr
    app.jinja_env.filters["rate"] = rate
    app.jinja_env.filters["indian_date"] = indian_date
    app.jinja_env.filters["month_label"] = month_label
    app.jinja_env.filters["quantity"] = quantity
    app.jinja_env.filters["in_words"] = in_words
    app.jinja_env.globals["static_url"] = static_url
    app.jinja_env.globals["utility_name"] = app.config["UTILITY_NAME"]
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["indian_time"] = indian_time
    app.jinja_env.globals["sparkline_points"] = sparkline_points
