# D-Tech as a container image: one image, two commands, as `make serve` runs them on a host (docs/deployment.md):
#   the web app (the default):  gunicorn --config gunicorn.conf.py wsgi:app
#   the task worker:            flask jobs worker --workers 4
# compose.yaml runs both beside PostgreSQL and Redis. tests/unit/test_container.py keeps this file honest: the
# Python version, the commands and the pinned dependencies are the ones the Makefile and pyproject.toml use.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=wsgi \
    DTECH_ENV=production \
    DTECH_BIND=0.0.0.0:8000 \
    DTECH_INSTANCE_DIR=/var/lib/dtech

WORKDIR /app

# The pinned dependencies first (pyproject.toml), so a change to the code alone reuses this layer.
COPY pyproject.toml ./
RUN pip install .

COPY . .
# Static files hashed and precompressed, and the compiled translations: built into the image, never at start.
RUN python -m app.web.static_files --quiet && pybabel -q compile -d app/translations

# Not root: the app writes only to its instance directory (uploads, the SQLite task queue, metrics files).
RUN useradd --system --uid 10001 --home-dir /var/lib/dtech dtech \
    && mkdir -p /var/lib/dtech/uploads && chown -R dtech:dtech /var/lib/dtech
USER dtech

EXPOSE 8000
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
