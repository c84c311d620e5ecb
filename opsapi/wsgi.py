"""WSGI entry point (plain HTTP)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsapi.settings")

application = get_wsgi_application()

from opsapi.graphql.trusted import registry  # noqa: E402

registry()  # the trusted-document manifests, loaded and checked now: a bad one stops the server
