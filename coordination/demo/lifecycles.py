"""How incidents and coordination actions move over time: status paths and their weights, the
gaps between statuses, and what officers and partners write along the way."""

import datetime
import random

from coordination.choices import ActionKind, ActionOutcome, ActionStatus, IncidentStatus

# How far back the incidents go.
HISTORY_DAYS = 30

S = IncidentStatus
# Status paths from "reported"; the last status is where the incident stands now.
PATHS = {
    "reported": (),
    "active": (S.ACTIVE,),
    "monitoring": (S.ACTIVE, S.MONITORING),
    "watched": (S.MONITORING,),
    "escalated": (S.MONITORING, S.ACTIVE),
    "resolved": (S.ACTIVE, S.RESOLVED),
    "resolved_after_monitoring": (S.ACTIVE, S.MONITORING, S.RESOLVED),
    "closed": (S.ACTIVE, S.RESOLVED, S.CLOSED),
    "closed_after_monitoring": (S.ACTIVE, S.MONITORING, S.RESOLVED, S.CLOSED),
    "dismissed": (S.CLOSED,),
    "reopened": (S.ACTIVE, S.RESOLVED, S.ACTIVE),
    "reopened_monitoring": (S.ACTIVE, S.RESOLVED, S.ACTIVE, S.MONITORING),
    "reopened_closed": (S.ACTIVE, S.RESOLVED, S.ACTIVE, S.RESOLVED, S.CLOSED),
}
# The showcase incident gets one action in every action status (some overdue).
SHOWCASE_PATH = "active"
# Weights of the paths by the incident's age: fresh incidents have not run their course yet.
YOUNG_PATH_WEIGHTS = {"reported": 4, "active": 5, "watched": 1, "monitoring": 1}
RECENT_PATH_WEIGHTS = {
    "reported": 1, "active": 4, "monitoring": 3, "watched": 1, "escalated": 0.5, "resolved": 2,
    "resolved_after_monitoring": 1, "closed": 1, "dismissed": 1, "reopened": 0.5,
}  # fmt: skip
OLD_PATH_WEIGHTS = {
    "reported": 0.3, "active": 2, "monitoring": 2, "watched": 0.5, "escalated": 0.5,
    "resolved": 2, "resolved_after_monitoring": 1.5, "closed": 4, "closed_after_monitoring": 3,
    "dismissed": 1, "reopened": 0.7, "reopened_monitoring": 0.4, "reopened_closed": 0.4,
}  # fmt: skip
# Hours from the previous status to the next (reopening is RESOLVED -> ACTIVE).
STATUS_GAP_HOURS = {
    S.ACTIVE: (0.1, 4),
    S.MONITORING: (6, 48),
    S.RESOLVED: (12, 96),
    S.CLOSED: (24, 120),
}
REOPEN_GAP_HOURS = (6, 72)
STATUS_REASONS = {
    (S.REPORTED, S.ACTIVE): (
        "Report confirmed; coordination under way.",
        "Partners request support.",
    ),
    (S.REPORTED, S.MONITORING): ("Limited impact so far; watching for developments.",),
    (S.REPORTED, S.CLOSED): (
        "Unfounded: the report could not be corroborated.",
        "Duplicate of an incident already open.",
    ),
    (S.ACTIVE, S.MONITORING): ("Immediate response complete; monitoring recovery.",),
    (S.MONITORING, S.ACTIVE): ("Situation escalated again; coordination resumed.",),
    (S.ACTIVE, S.RESOLVED): ("Partners report the situation resolved.",),
    (S.MONITORING, S.RESOLVED): ("Recovery complete; no further impact expected.",),
    (S.RESOLVED, S.ACTIVE): (
        "Reopened: recurrence reported by local partners.",
        "Reopened: new information from the fusion center.",
    ),
    (S.RESOLVED, S.CLOSED): ("After-action review complete.", "No open items remain."),
}

A = ActionStatus
# Where actions end up: on incidents still under way, and on resolved or closed ones.
OPEN_INCIDENT_ACTION_WEIGHTS = {
    A.PENDING: 25, A.ACKNOWLEDGED: 25, A.IN_PROGRESS: 25, A.COMPLETED: 15, A.DECLINED: 5,
    A.CANCELLED: 5,
}  # fmt: skip
SETTLED_INCIDENT_ACTION_WEIGHTS = {A.COMPLETED: 60, A.DECLINED: 15, A.CANCELLED: 25}
SHOWCASE_ACTIONS = (
    (A.PENDING, True),
    (A.ACKNOWLEDGED, True),
    (A.IN_PROGRESS, False),
    (A.COMPLETED, False),
    (A.DECLINED, False),
    (A.CANCELLED, False),
)
OVERDUE_SHARE = 0.35
INSTRUCTIONS = {
    ActionKind.NOTIFICATION: "For awareness: {title}. Confirm receipt.",
    ActionKind.REQUEST_FOR_INFORMATION: (
        "Share your current assessment and any reporting received in the last 24 hours."
    ),
    ActionKind.RESOURCE_REQUEST: "Confirm what resources you can commit to {place}.",
    ActionKind.DEPLOYMENT: "Deploy a liaison officer to the joint operations center for {place}.",
    ActionKind.BRIEFING: "Brief partners on your status on the next coordination call.",
    ActionKind.ADVISORY: "Review the attached advisory and pass it to your members.",
}
RESPONSES = {
    ActionOutcome.IN_PROGRESS: (
        "Working it; first results expected within the shift.",
        "Team assigned; will report back.",
    ),
    ActionOutcome.COMPLETED: (
        "Done; details passed to the watch floor.",
        "Completed as requested.",
        "Liaison in place and reporting.",
    ),
    ActionOutcome.DECLINED: (
        "Unable to support: no resources available.",
        "Outside our jurisdiction; referred to the state.",
    ),
}
CANCEL_REASONS = ("No longer needed.", "Superseded by a state request.", "Issued in error.")


def random_hours(low: float, high: float, rng: random.Random) -> datetime.timedelta:
    """A duration of ``low`` to ``high`` hours, drawn from ``rng``."""
    return datetime.timedelta(hours=rng.uniform(low, high))
