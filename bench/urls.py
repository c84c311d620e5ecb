"""The product's URLs plus the raw-SQL floor, for the benchmark only (never deployed)."""

from django.urls import path

from bench.raw import watch_floor_view
from opsapi.urls import urlpatterns as product_urlpatterns

RAW_WATCH_FLOOR = "/bench/watch-floor/"

urlpatterns = [
    path(RAW_WATCH_FLOOR.strip("/") + "/", watch_floor_view, name="bench-watch-floor"),
    *product_urlpatterns,
]
