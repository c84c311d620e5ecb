"""The raw-SQL floor served the way the API is: Django's ASGI handler under uvicorn, with the
project's settings and middleware, resolving URLs against :mod:`bench.urls`.

    uvicorn bench.asgi:application --workers 2
"""

import os

import django
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsapi.settings")
django.setup(set_prefix=False)


class BenchHandler(ASGIHandler):
    """Django's ASGI handler with the benchmark's URLs (the product's, plus the raw floor)."""

    def create_request(self, scope, body_file):
        request, error = super().create_request(scope, body_file)
        if request is not None:
            request.urlconf = "bench.urls"
        return request, error


application = BenchHandler()
