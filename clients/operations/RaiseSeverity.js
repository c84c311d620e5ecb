// An officer raises an incident's severity from the watch floor.
import { graphql } from "react-relay";

export const raiseSeverityMutation = graphql`
  mutation RaiseSeverityMutation($input: UpdateIncidentInput!) {
    updateIncident(input: $input) {
      ... on Incident {
        reference
        severity
        version
      }
      ... on OperationInfo {
        messages {
          field
          code
        }
      }
    }
  }
`;
