"""`flask --app wsgi cpu catalog ...`"""

from flask.cli import AppGroup

catalog = AppGroup("catalog", help="Merchant catalogs: bulk import and export.")
