"""Filters for the admin's history pages (opsapi/templates/simple_history/): times on the
center's clock and column headers in words."""

import datetime

from django import template
from django.utils import dateformat, timezone
from django.utils.text import capfirst

register = template.Library()

# "Dec 3, 2026, 14:05 EST": the date, the 24-hour time and the zone of settings.TIME_ZONE.
LOCAL_TIME_FORMAT = "M j, Y, H:i T"
ACRONYMS = {"id": "ID", "tlp": "TLP", "url": "URL", "ip": "IP"}


@register.filter
def local_time(value):
    """``value`` on the center's clock if it is a datetime (or an ISO 8601 datetime with an
    offset, as the stored changes hold them); anything else unchanged."""
    moment = value
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and "T" in value:
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(moment, datetime.datetime) or timezone.is_naive(moment):
        return value
    local = timezone.localtime(moment, timezone.get_default_timezone())
    return dateformat.format(local, LOCAL_TIME_FORMAT)


@register.filter
def column_label(name: str) -> str:
    """A history column's header from its attribute name: ``request_id`` is "Request ID"."""
    words = [ACRONYMS.get(word, word) for word in str(name).split("_") if word]
    return capfirst(" ".join(words))
