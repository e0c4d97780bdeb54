"""WSGI entry point (gunicorn caregrid.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caregrid.settings")
application = get_wsgi_application()
