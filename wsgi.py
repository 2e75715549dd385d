"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from caretrack import create_app

app = create_app()
