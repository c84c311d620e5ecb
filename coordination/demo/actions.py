"""Coordination actions in the demo: planning which partners are asked what and how each
request ends, and the moves that play it out through the services."""

import datetime
from collections.abc import Callable

from coordination.choices import (
    OPEN_ACTION_STATUSES,
    ActionKind,
    ActionOutcome,
    ActionPriority,
    ActionStatus,
    Severity,
)
from coordination.demo.lifecycles import (
    CANCEL_REASONS,
    INSTRUCTIONS,
    OPEN_INCIDENT_ACTION_WEIGHTS,
    OVERDUE_SHARE,
    RESPONSES,
    SETTLED_INCIDENT_ACTION_WEIGHTS,
    SHOWCASE_ACTIONS,
    random_hours,
)
from coordination.demo.play import Step
from coordination.demo.scenarios import ACTION_COUNTS
from coordination.services import (
    acknowledge_action,
    cancel_action,
    create_action,
    respond_to_action,
)
from partners.models import Partner


def _issue_action(number: int, partner: Partner, **details):
    """A step run: the center issues action ``number``, created at the step's time, so the
    partner's later moves (acknowledge, respond, cancel) all come after its creation."""

    def run(play, at, actor):
        play.actions[number] = create_action(
            actor=actor, incident=play.incident, partner=partner, now=at, **details
        )

    return run


def _acknowledge(number: int):
    """A step run: the partner acknowledges action ``number``."""

    def run(play, at, actor):
        action = play.actions[number]
        play.actions[number] = acknowledge_action(
            actor=actor,
            action=action,
            version=action.version,
            # Officers record what partners tell them by phone or email.
            reason="Recorded for the partner: acknowledged by phone.",
            now=at,
        )

    return run


def _respond(number: int, outcome: str, response: str):
    """A step run: the partner reports ``outcome`` on action ``number``."""

    def run(play, at, actor):
        action = play.actions[number]
        play.actions[number] = respond_to_action(
            actor=actor,
            action=action,
            version=action.version,
            outcome=outcome,
            response=response,
            reason="Recorded for the partner: response received by email.",
            now=at,
        )

    return run


def _cancel(number: int, reason: str):
    """A step run: the center withdraws action ``number``."""

    def run(play, at, actor):
        action = play.actions[number]
        play.actions[number] = cancel_action(
            actor=actor, action=action, version=action.version, reason=reason, now=at
        )

    return run


class ActionPlanning:
    """The part of the incident planner that plans coordination actions.

    Mixed into ``IncidentPlanner``, which provides the random stream (``rng``), ``now``,
    ``horizon`` and the helpers ``_between``, ``_officer`` and ``_partners``; the methods draw
    from the one random stream in the planner's order, so a seed still tells the same story.
    """

    def _plan_actions(self, plan, scenario, where, assignment, lead, end) -> None:
        rng = self.rng
        settled = end < self.horizon
        if assignment.showcase:
            outcomes = list(SHOWCASE_ACTIONS)
        else:
            weights = SETTLED_INCIDENT_ACTION_WEIGHTS if settled else OPEN_INCIDENT_ACTION_WEIGHTS
            count = rng.randint(*ACTION_COUNTS[assignment.severity])
            outcomes = [
                (status, status in OPEN_ACTION_STATUSES and rng.random() < OVERDUE_SHARE)
                for status in rng.choices(list(weights), list(weights.values()), k=count)
            ]
        partners = self._partners(scenario, where, len(outcomes))
        for number, (status, overdue) in enumerate(outcomes):
            # A small state may have fewer partners than the showcase has actions.
            partner = partners[number] if number < len(partners) else rng.choice(partners)
            self._plan_action(plan, number, partner, status, overdue, where, lead, end)

    def _plan_action(self, plan, number, partner, status, overdue, where, lead, end) -> None:
        rng = self.rng
        start = plan.reported_at + (end - plan.reported_at) * 0.02
        created = self._between(start, end, 0.0, 0.6)
        kind = rng.choice(list(ActionKind))
        details = {
            "kind": kind,
            "instructions": INSTRUCTIONS[kind].format(
                title=plan.fields["title"], place=where.place
            ),
            "priority": self._priority(plan.fields["severity"]),
            "due_at": self._due(created, status, overdue),
        }
        steps = [(created, "action", _issue_action(number, partner, **details))]
        at = created
        for kind, run in self._action_moves(number, status):
            at = self._between(at, end, 0.05, 0.5)
            steps.append((at, kind, run))
        plan.steps.extend(Step(at, self._officer(lead), kind, run) for at, kind, run in steps)

    def _priority(self, severity: str) -> str:
        weights = {
            Severity.CRITICAL: (1, 3, 6),
            Severity.HIGH: (2, 5, 2),
            Severity.MODERATE: (6, 3, 1),
            Severity.LOW: (9, 1, 0),
        }[severity]
        return self.rng.choices(list(ActionPriority), weights)[0]

    def _due(self, created, status, overdue):
        """Overdue: due after the action was issued but before now. Open: due in the future."""
        rng = self.rng
        if status in OPEN_ACTION_STATUSES:
            if overdue and self.horizon - created > datetime.timedelta(hours=1):
                return self._between(created, self.horizon, 0.2, 0.9)
            return None if rng.random() < 0.15 else self.now + random_hours(4, 168, rng)
        return created + random_hours(2, 72, rng)

    def _action_moves(self, number: int, status: str) -> list[tuple[str, Callable]]:
        """The moves that take a newly issued action to ``status``."""
        rng = self.rng
        acknowledge = ("acknowledge", _acknowledge(number))

        def respond(outcome):
            return ("respond", _respond(number, outcome, rng.choice(RESPONSES[outcome])))

        if status == ActionStatus.ACKNOWLEDGED:
            return [acknowledge]
        if status == ActionStatus.IN_PROGRESS:
            return [acknowledge, respond(ActionOutcome.IN_PROGRESS)]
        if status == ActionStatus.COMPLETED:
            progress = [respond(ActionOutcome.IN_PROGRESS)] if rng.random() < 0.5 else []
            return [acknowledge, *progress, respond(ActionOutcome.COMPLETED)]
        if status == ActionStatus.DECLINED:
            return [respond(ActionOutcome.DECLINED)]
        if status == ActionStatus.CANCELLED:
            seen = [acknowledge] if rng.random() < 0.4 else []
            return [*seen, ("cancel", _cancel(number, rng.choice(CANCEL_REASONS)))]
        return []
