"""What gunicorn loads (`gunicorn wsgi:app`, with the settings in ./gunicorn.conf.py)."""

from marketplace.app import create_app

app = create_app()
