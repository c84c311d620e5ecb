"""A realistic synthetic demo data set: partners in every state, incidents of the last 30 days
with their timelines and coordination actions.

Every row is written through the services (``partners.services``, ``coordination.services``), so
it has its history like real data. The data set is a function of the seed: the same seed on an
empty database gives the same partner names, incident titles, references, statuses and counts
(times are placed relative to the moment of seeding). Places and public bodies carry real names;
companies, people, phone numbers (555-01xx, reserved for fiction) and email domains (under
example.org / example.com) are made up, and every incident is fiction.

The package: ``seeding`` runs it all (``seed_demo``); ``reference`` reads the reference data;
``partners`` plans the partner directory and ``contacts`` creates each partner with its contacts;
``assignments``, ``incidents`` and ``actions`` plan the incidents and their coordination actions,
and ``play`` plays each plan through the services in time order. The static tables are in
``places``, ``organisations``, ``scenarios`` and ``lifecycles``.
"""

from coordination.demo.errors import DemoDataError
from coordination.demo.officers import OFFICERS
from coordination.demo.seeding import (
    DEFAULT_SCALE,
    DEFAULT_SEED,
    MAX_SCALE,
    MIN_SCALE,
    seed_demo,
)
from coordination.demo.summary import DemoSummary

__all__ = [
    "DEFAULT_SCALE",
    "DEFAULT_SEED",
    "MAX_SCALE",
    "MIN_SCALE",
    "OFFICERS",
    "DemoDataError",
    "DemoSummary",
    "seed_demo",
]
