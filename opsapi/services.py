"""Helpers shared by the apps' service modules."""


def apply_changes(obj, changes: dict, allowed: frozenset) -> bool:
    """Set ``changes`` (field name -> value) on ``obj``, stripping text.

    Returns True if any value differs from the current one. Names outside ``allowed`` are a
    programming error, not user input, and raise TypeError.
    """
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"Cannot change {', '.join(sorted(unknown))} on {type(obj).__name__}.")
    changed = False
    for name, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def locked(obj):
    """``obj`` re-read with its row locked until the transaction ends."""
    return type(obj).objects.select_for_update().get(pk=obj.pk)
