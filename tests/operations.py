"""GraphQL operations the end-to-end, race and fault tests send, defined once."""

from opsapi.accounts.services import issue_token

ME = "{ me { username } }"

CREATE_INCIDENT = """
mutation ($input: CreateIncidentInput!) {
  createIncident(input: $input) {
    ... on Incident { reference }
    ... on OperationInfo { messages { field code } }
  }
}"""

UPDATE_INCIDENT = """
mutation ($input: UpdateIncidentInput!) {
  updateIncident(input: $input) {
    ... on Incident { version }
    ... on OperationInfo { messages { field code } }
  }
}"""

UNSHARE_INCIDENT = """
mutation ($input: UnshareIncidentInput!) {
  unshareIncident(input: $input) { ... on Incident { version } }
}"""

ACKNOWLEDGE = """
mutation ($input: AcknowledgeCoordinationActionInput!) {
  acknowledgeCoordinationAction(input: $input) {
    ... on CoordinationAction { status }
    ... on OperationInfo { messages { field code } }
  }
}"""


def token_for(user) -> str:
    """A fresh API token of ``user``."""
    return issue_token(user=user, name="test", actor=user)[1]
