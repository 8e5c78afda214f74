"""The WSGI entry point: gunicorn 'wsgi:app', flask --app wsgi …; the task consumer: huey_consumer wsgi.huey"""

from app import create_app
from app.extensions import huey  # noqa: F401  (configured by create_app; the consumer loads it from here)

app = create_app()
