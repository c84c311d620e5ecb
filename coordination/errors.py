"""Error codes of the coordination app (stable; clients match on them)."""

INVALID_TRANSITION = "invalid_transition"
INCIDENT_CLOSED = "incident_closed"
ACTION_CLOSED = "action_closed"
INACTIVE_PARTNER = "inactive_partner"
RESERVED_KIND = "reserved_kind"
INVALID_LEAD = "invalid_lead"
NOT_A_PARTNER_USER = "not_a_partner_user"
