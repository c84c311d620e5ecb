"""The product's URLs plus the raw-SQL floor, for the benchmark only (never deployed)."""

from django.urls import path

from bench.raw import acknowledge_action_view, update_incident_view, watch_floor_view
from opsapi.urls import urlpatterns as product_urlpatterns

RAW_WATCH_FLOOR = "/bench/watch-floor/"
RAW_UPDATE_INCIDENT = "/bench/update-incident/"
RAW_ACKNOWLEDGE_ACTION = "/bench/acknowledge-action/"

urlpatterns = [
    path(RAW_WATCH_FLOOR.strip("/") + "/", watch_floor_view, name="bench-watch-floor"),
    path(RAW_UPDATE_INCIDENT.strip("/") + "/", update_incident_view, name="bench-update-incident"),
    path(
        RAW_ACKNOWLEDGE_ACTION.strip("/") + "/",
        acknowledge_action_view,
        name="bench-acknowledge-action",
    ),
    *product_urlpatterns,
]
