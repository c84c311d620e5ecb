"""The life of a coordination action in the seeded data, as the services would live it:
issued by an officer; acknowledged, worked on and completed or declined by the partner's
user, or cancelled; or, on an incident still open, never acknowledged (overdue once past due).
By the time its incident is resolved, every action is closed."""

from functools import partial

from bench.bulk import Tracked
from bench.timeline import HOUR, MINUTE, Seeding, Timeline
from coordination.choices import (
    OPEN_ACTION_STATUSES,
    ActionKind,
    ActionPriority,
    ActionStatus,
)

INSTRUCTIONS = {
    ActionKind.NOTIFICATION: "Note the incident and inform your duty staff.",
    ActionKind.REQUEST_FOR_INFORMATION: "Report what your watch center knows, and its sources.",
    ActionKind.RESOURCE_REQUEST: "Confirm which resources you can commit, and by when.",
    ActionKind.DEPLOYMENT: "Deploy your liaison team to the incident command post.",
    ActionKind.BRIEFING: "Join the coordination call and brief your leadership afterwards.",
    ActionKind.ADVISORY: "Relay the attached advisory to the operators in your area.",
}


class ActionLife:
    """Plans one action on a timeline; its events create and change it."""

    def __init__(self, seeding: Seeding, incident: Tracked, partner: int):
        self.seeding = seeding
        self.incident = incident
        self.partner = partner
        self.responder = seeding.directory.partner_users[partner]
        self.action: Tracked | None = None

    def plan(self, timeline: Timeline, reported, end) -> None:
        """``end``: when the incident was resolved (or now, if it is still open)."""
        seeding, rng = self.seeding, self.seeding.rng
        issued = seeding.between(reported + 5 * MINUTE, end - 10 * MINUTE)
        timeline.add(issued, partial(self._issue, issued))
        steps = []
        at = issued + rng.randint(10, 240) * MINUTE
        fate = rng.random()
        open_incident = end >= seeding.now
        if fate < 0.1:
            steps.append((at, partial(self._cancel, at)))
        elif fate < 0.3 and open_incident:
            pass  # never acknowledged
        else:
            steps.append((at, partial(self._acknowledge, at)))
            for _ in range(rng.randint(0, 3)):
                at += rng.randint(1, 12) * HOUR
                steps.append((at, partial(self._respond, at, ActionStatus.IN_PROGRESS)))
            at += rng.randint(1, 24) * HOUR
            outcome = ActionStatus.DECLINED if fate < 0.2 else ActionStatus.COMPLETED
            steps.append((at, partial(self._respond, at, outcome)))
        limit = seeding.now - MINUTE if open_incident else end
        kept = [(when, apply) for when, apply in steps if when < limit]
        for when, apply in kept:
            timeline.add(when, apply)
        if not open_incident and len(kept) < len(steps):
            timeline.add(end - MINUTE, partial(self._cancel, end - MINUTE))  # closed unfinished

    def _issue(self, at):
        seeding, rng = self.seeding, self.seeding.rng
        officer = seeding.officer()
        kind = rng.choice(ActionKind.values)
        self.action = seeding.actions.new(
            {
                "incident_id": self.incident.pk,
                "partner_id": self.partner,
                "kind": kind,
                "instructions": INSTRUCTIONS[kind],
                "priority": rng.choice(ActionPriority.values),
                "due_at": at + rng.randint(2, 48) * HOUR,
                "status": ActionStatus.PENDING.value,
                "acknowledged_at": None,
                "acknowledged_by_id": None,
                "response": "",
                "responded_at": None,
                "responded_by_id": None,
                "closed_at": None,
                "escalated_at": None,
                "created_by_id": officer,
                "version": 1,
                "created_at": at,
                "updated_at": at,
            }
        )
        seeding.write(seeding.actions, self.action, "+", at, officer)
        return seeding.actions, self.action

    def _change(self, at, user, reason="", **changes) -> None:
        """Change the action if it is still open (a service refuses to change a closed one)."""
        values = self.action.values
        if values["status"] not in OPEN_ACTION_STATUSES:
            return
        values.update(changes)
        values["version"] += 1
        values["updated_at"] = at
        self.seeding.write(self.seeding.actions, self.action, "~", at, user, reason)

    def _acknowledge(self, at) -> None:
        self._change(
            at,
            self.responder,
            status=ActionStatus.ACKNOWLEDGED.value,
            acknowledged_at=at,
            acknowledged_by_id=self.responder,
        )

    def _respond(self, at, outcome) -> None:
        if outcome == ActionStatus.DECLINED:
            response = "Declined: outside our jurisdiction."
        else:
            response = f"Update at {at:%H:%M} UTC: team engaged, figures passed to the watch desk."
        self._change(
            at,
            self.responder,
            status=outcome.value,
            response=response,
            responded_at=at,
            responded_by_id=self.responder,
            closed_at=None if outcome == ActionStatus.IN_PROGRESS else at,
        )

    def _cancel(self, at) -> None:
        self._change(
            at,
            self.seeding.officer(),
            "No longer needed",
            status=ActionStatus.CANCELLED.value,
            closed_at=at,
        )
