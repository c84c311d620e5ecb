"""The operations the benchmark sends, as clients send them."""

# The watch floor: a page of incidents with their actions and the partners asked to act.
WATCH_FLOOR = """
query WatchFloor($first: Int!, $after: String) {
  incidents(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id
        reference
        title
        severity
        status
        states { code }
        actions {
          edges {
            node {
              kind
              status
              dueAt
              partner { name kind state { code } }
            }
          }
        }
      }
    }
  }
}
"""

UPDATE_INCIDENT = """
mutation UpdateIncident($input: UpdateIncidentInput!) {
  updateIncident(input: $input) {
    ... on Incident { id version title }
    ... on OperationInfo { messages { field code message } }
  }
}
"""

ACKNOWLEDGE_ACTION = """
mutation Acknowledge($input: AcknowledgeCoordinationActionInput!) {
  acknowledgeCoordinationAction(input: $input) {
    ... on CoordinationAction { id version status }
    ... on OperationInfo { messages { field code message } }
  }
}
"""

HISTORY_ENTRY = """
  __typename at action changeReason requestId objectId recordHash
  user { username }
  changes { field old new }
"""

# An auditor opens one incident's history.
OBJECT_HISTORY = f"""
query ObjectHistory($id: ID!) {{
  node(id: $id) {{
    ... on Incident {{
      reference
      history(first: 50) {{ edges {{ node {{ {HISTORY_ENTRY} }} }} }}
    }}
  }}
}}
"""

# An auditor reads the first page of what happened in one hour.
AUDIT_LOG_HOUR = f"""
query AuditLogHour($since: DateTime!, $until: DateTime!) {{
  auditLog(filters: {{ since: $since, until: $until }}, first: 50) {{
    pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ {HISTORY_ENTRY} }} }}
  }}
}}
"""

# What the center knew about an incident at a given moment.
AS_OF = """
query AsOf($id: ID!, $at: DateTime!) {
  asOf(id: $id, at: $at) {
    __typename at action objectId snapshot
    ... on IncidentHistoryEntry { recordHash }
  }
}
"""
