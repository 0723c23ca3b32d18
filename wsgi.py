"""What gunicorn and `flask --app wsgi` load."""

from marketplace.app import create_app

app = create_app()
