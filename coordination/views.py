"""The printable daily brief: /brief/<YYYY-MM-DD>/, and /brief/ for today's.

The page a watch officer prints or shares on screen at the morning meeting. Its numbers come
from :mod:`coordination.brief`, like the ``dailyBrief`` query's, over what the signed-in user
may see: a partner user's page shows its own incidents only, someone without a role an empty
brief. Server-rendered, no scripts, nothing loaded from elsewhere.
"""

import datetime
import re

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from coordination import brief

TEMPLATE = "coordination/brief.html"

# Rows listed per table on paper; the count above each table gives the full number.
PAGE_ROWS = 50

# Bar chart geometry (SVG user units): labels, then bars, then the counts.
LABEL_WIDTH = 230
BAR_LENGTH = 260
BAR_HEIGHT = 20
BAR_GAP = 6
CHART_WIDTH = LABEL_WIDTH + BAR_LENGTH + 40

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_day(text: str, *, now) -> datetime.date:
    """A date written YYYY-MM-DD, or a :class:`brief.BriefArgumentError` saying how to write it."""
    try:
        if ISO_DATE.fullmatch(text):
            return datetime.date.fromisoformat(text)
    except ValueError:
        pass
    example = brief.today(now).isoformat()
    raise brief.BriefArgumentError(
        "date", f"'{text}' is not a date. Write it as YYYY-MM-DD, e.g. /brief/{example}/."
    )


def _bars(counts: dict) -> dict:
    """A horizontal bar chart of counts keyed by a choice: the longest bar is the largest."""
    largest = max(counts.values(), default=0)
    rows = []
    for index, (key, count) in enumerate(counts.items()):
        length = round(BAR_LENGTH * count / largest) if largest else 0
        rows.append(
            {
                "key": key.value,
                "label": key.label,
                "count": count,
                "length": length,
                "count_x": LABEL_WIDTH + length + 6,
                "y": index * (BAR_HEIGHT + BAR_GAP),
                "text_y": index * (BAR_HEIGHT + BAR_GAP) + BAR_HEIGHT - 5,
            }
        )
    return {
        "rows": rows,
        "width": CHART_WIDTH,
        "height": len(rows) * (BAR_HEIGHT + BAR_GAP),
        "label_x": LABEL_WIDTH - 8,
        "bar_x": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
    }


def _brief_context(report: brief.DailyBrief) -> dict:
    window = report.window
    zone = timezone.get_default_timezone()
    day = window.day
    open_now = report.open_now
    return {
        "day": day,
        "starts_at": window.start.astimezone(zone),
        "ends_at": window.end.astimezone(zone),
        "hours": round(window.hours),
        "time_zone": str(zone),
        "now": report.now,
        "previous_day": day - datetime.timedelta(days=1),
        "next_day": day + datetime.timedelta(days=1),
        "has_next_day": day < brief.today(report.now) + datetime.timedelta(days=1),
        "opened_count": report.opened_count,
        "opened": list(report.opened_incidents().prefetch_related("states")[:PAGE_ROWS]),
        "status_changes": report.status_changes,
        "open_now": open_now,
        "severity_chart": _bars(open_now.by_severity),
        "category_chart": _bars(open_now.by_category),
        "states": report.states(),
        "urban_areas": report.urban_areas(),
        "actions": report.action_activity,
        "overdue": list(report.overdue_actions().select_related("incident", "partner")[:PAGE_ROWS]),
        "unacknowledged": report.unacknowledged_partners(),
        "page_rows": PAGE_ROWS,
    }


@never_cache
@login_required
def daily_brief_page(request, day: str | None = None):
    """The brief for ``day`` (YYYY-MM-DD); without one, a redirect to today's."""
    now = timezone.now()
    if day is None:
        return redirect("daily-brief", day=brief.today(now).isoformat())
    try:
        date = _parse_day(day, now=now)
        brief.check_day(date, now=now)
    except brief.BriefArgumentError as error:
        return render(request, TEMPLATE, {"error": error.message}, status=404)
    report = brief.DailyBrief(user=request.user, window=brief.Window.of(date), now=now)
    return render(request, TEMPLATE, _brief_context(report))
