"""The printable daily brief: /brief/<YYYY-MM-DD>/, and /brief/ for today's.

The page a watch officer prints or shares on screen at the morning meeting: a one-page
executive summary, then the detail (on Letter paper, three pages at most: the detail prints the
top rows of each long list and says how many more the screen and the API hold).
``?state=TX`` narrows it to one state, ``?urban_area=<ID or name>`` to one urban area (both
together to incidents affecting both); anything else in the query string is refused with 400
and a message naming the parameter. Its numbers come from :mod:`coordination.brief`, like the
``dailyBrief`` query's, over what the signed-in user may see: a partner user's page shows its
own incidents only, someone without a role an empty brief. Server-rendered, no scripts,
nothing loaded from elsewhere.
"""

import dataclasses
import datetime
import re

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from coordination import brief
from partners.models import State, UrbanArea

TEMPLATE = "coordination/brief.html"

# Rows listed per detail table on screen; a note below a longer list gives the full number.
PAGE_ROWS = 50
# What the detail lists print (the first rows of the screen's, in the same order): with at most
# every state, they fill the two Letter pages after the executive summary, whatever the day
# holds. A note below a longer list says how many more there are and where to find them.
PRINT_ROWS = 20
PRINT_URBAN_AREAS = 8 * 3  # 8 lines of PLACE_COLUMNS
PRINT_PARTNERS = 8 * 2  # 8 lines of 2 columns
# Rows of each list on the executive summary.
SUMMARY_ROWS = 5
# Columns of the compact state and urban-area tables.
PLACE_COLUMNS = 3

# Bar chart geometry (SVG user units, the labels' font 15 units high): labels, then bars, then
# the counts. The label column is as wide as the longest label needs (CHAR_WIDTH per character
# is an upper bound for the page's sans-serif fonts), so no label runs off the chart's left edge.
CHAR_WIDTH = 8.6
LABEL_PADDING = 12
BAR_LENGTH = 180
BAR_HEIGHT = 20
BAR_GAP = 6
COUNT_WIDTH = 40

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# The query-string parameters the page reads.
STATE_PARAMETER = "state"
URBAN_AREA_PARAMETER = "urban_area"
PARAMETERS = (STATE_PARAMETER, URBAN_AREA_PARAMETER)
PK_DIGITS = re.compile(r"[0-9]{1,18}")


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


class ScopeError(brief.BriefArgumentError):
    """A query-string parameter the page cannot use (answered with 400)."""


def _scope(request) -> brief.Scope:
    """The scope the query string asks for: ``state``, ``urban_area``, both or neither."""
    unknown = sorted(set(request.GET) - set(PARAMETERS))
    if unknown:
        raise ScopeError(
            unknown[0],
            f"The brief has no parameter '{unknown[0]}': it takes '{STATE_PARAMETER}' "
            f"(a USPS code, e.g. ?state=TX) and '{URBAN_AREA_PARAMETER}' (an urban area's ID "
            "or name).",
        )
    values = {}
    for name in PARAMETERS:
        given = request.GET.getlist(name)
        if len(given) > 1:
            raise ScopeError(name, f"Give '{name}' once: one brief covers one {name}.")
        values[name] = given[0] if given else None
    try:
        scope = brief.resolve_scope(user=request.user, state=values[STATE_PARAMETER])
    except brief.BriefArgumentError as error:
        raise ScopeError(
            STATE_PARAMETER, f"{error.message} Give a USPS code such as TX, DC or PR."
        ) from error
    if values[URBAN_AREA_PARAMETER] is None:
        return scope
    return dataclasses.replace(
        scope, urban_area=_urban_area(request.user, values[URBAN_AREA_PARAMETER])
    )


def _urban_area(user, text: str) -> UrbanArea:
    """The urban area whose primary key or name (any case) is ``text``."""
    wanted = text.strip()
    areas = UrbanArea.objects.visible_to(user)
    if PK_DIGITS.fullmatch(wanted):
        found = areas.filter(pk=int(wanted)).first()
    else:
        found = areas.filter(name__iexact=wanted).first() if wanted else None
    if found is None:
        raise ScopeError(
            URBAN_AREA_PARAMETER,
            f"No urban area has the ID or name '{text}'. Give one from the list on the page, "
            "e.g. ?urban_area=Houston Area.",
        )
    return found


def _label_width(*charts: dict) -> int:
    """The width of a label column holding the longest label of any of ``charts``."""
    longest = max((len(key.label) for counts in charts for key in counts), default=0)
    return LABEL_PADDING + round(CHAR_WIDTH * longest)


def _bars(counts: dict, *, label_width: int) -> dict:
    """A horizontal bar chart of counts keyed by a choice: the longest bar is the largest.

    Charts shown side by side get the same ``label_width``, so their text is the same size.
    """
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
                "count_x": label_width + length + 6,
                "y": index * (BAR_HEIGHT + BAR_GAP),
                "text_y": index * (BAR_HEIGHT + BAR_GAP) + BAR_HEIGHT - 5,
            }
        )
    return {
        "rows": rows,
        "width": label_width + BAR_LENGTH + COUNT_WIDTH,
        "height": len(rows) * (BAR_HEIGHT + BAR_GAP),
        "label_x": label_width - 8,
        "bar_x": label_width,
        "bar_height": BAR_HEIGHT,
    }


def _rows_in_columns(count: int, columns: int) -> int:
    """How many rows a list of ``count`` entries takes in ``columns`` columns."""
    return max(1, -(-count // columns))


def _more(count: int, printed: int) -> int:
    """How many of a list of ``count`` rows the screen shows and the paper does not."""
    return max(0, min(count, PAGE_ROWS) - printed)


def _scope_query(scope: brief.Scope) -> str:
    """The query string that asks for ``scope`` again (for the links to other days)."""
    parts = []
    if scope.state is not None:
        parts.append(f"{STATE_PARAMETER}={scope.state.code}")
    if scope.urban_area is not None:
        parts.append(f"{URBAN_AREA_PARAMETER}={scope.urban_area.pk}")
    return f"?{'&'.join(parts)}" if parts else ""


def _brief_context(report: brief.DailyBrief) -> dict:
    window = report.window
    zone = timezone.get_default_timezone()
    day = window.day
    open_now = report.open_now
    scope = report.scope
    states = report.states()
    urban_areas = report.urban_areas()
    overdue = list(report.overdue_actions().select_related("incident", "partner")[:PAGE_ROWS])
    unacknowledged = report.unacknowledged_partners()
    situation = brief.Situation(user=report.user, scope=scope, now=report.now)
    label_width = _label_width(open_now.by_severity, open_now.by_category)
    return {
        "scope": scope,
        "scope_query": _scope_query(scope),
        "state_choices": State.objects.visible_to(report.user).order_by("name"),
        "urban_area_choices": UrbanArea.objects.visible_to(report.user).order_by("name"),
        "summary_rows": SUMMARY_ROWS,
        "most_severe": list(situation.incidents().prefetch_related("states")[:SUMMARY_ROWS]),
        "state_rows": _rows_in_columns(len(states), PLACE_COLUMNS),
        "urban_area_rows": _rows_in_columns(min(len(urban_areas), PAGE_ROWS), PLACE_COLUMNS),
        "urban_area_print_rows": _rows_in_columns(
            min(len(urban_areas), PRINT_URBAN_AREAS), PLACE_COLUMNS
        ),
        "unacknowledged_rows": _rows_in_columns(min(len(unacknowledged), PAGE_ROWS), 2),
        "unacknowledged_print_rows": _rows_in_columns(min(len(unacknowledged), PRINT_PARTNERS), 2),
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
        "severity_chart": _bars(open_now.by_severity, label_width=label_width),
        "category_chart": _bars(open_now.by_category, label_width=label_width),
        "states": states,
        "urban_areas": urban_areas,
        "actions": report.action_activity,
        "overdue": overdue,
        "unacknowledged": unacknowledged,
        "page_rows": PAGE_ROWS,
        "print_rows": PRINT_ROWS,
        "print_urban_areas": PRINT_URBAN_AREAS,
        "print_partners": PRINT_PARTNERS,
        # How many more rows of each long list the screen shows than the paper.
        "more": {
            "opened": _more(report.opened_count, PRINT_ROWS),
            "overdue": _more(report.action_activity.overdue, PRINT_ROWS),
            "urban_areas": _more(len(urban_areas), PRINT_URBAN_AREAS),
            "partners": _more(len(unacknowledged), PRINT_PARTNERS),
        },
        "brief_path": reverse("daily-brief", kwargs={"day": day.isoformat()}) + _scope_query(scope),
    }


@never_cache
@login_required
def daily_brief_page(request, day: str | None = None):
    """The brief for ``day`` (YYYY-MM-DD); without one, a redirect to today's (same scope).

    A date that is not one is 404 (no such page); a parameter the page cannot use is 400.
    """
    now = timezone.now()
    if day is None:
        url = reverse("daily-brief", kwargs={"day": brief.today(now).isoformat()})
        query = request.GET.urlencode()
        return redirect(f"{url}?{query}" if query else url)
    try:
        date = _parse_day(day, now=now)
        brief.check_day(date, now=now)
    except brief.BriefArgumentError as error:
        context = {"error": error.message, "error_title": "No brief for this date"}
        return render(request, TEMPLATE, context, status=404)
    try:
        scope = _scope(request)
    except ScopeError as error:
        context = {
            "error": error.message,
            "error_argument": error.argument,
            "error_title": f"No brief for this '{error.argument}'",
        }
        return render(request, TEMPLATE, context, status=400)
    report = brief.DailyBrief(user=request.user, window=brief.Window.of(date), scope=scope, now=now)
    return render(request, TEMPLATE, _brief_context(report))
