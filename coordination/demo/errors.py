"""The one error the demo seeding raises for a caller to report."""


class DemoDataError(Exception):
    """The demo data cannot be seeded (reference data missing, already seeded, bad argument)."""
