// The watch floor: a page of incidents with the actions asked of partners, as the web client
// writes it (one Relay module: its query and the fragment its rows render).
import { graphql } from "react-relay";

export const watchFloorQuery = graphql`
  query WatchFloorQuery($first: Int!, $after: String) {
    incidents(first: $first, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          ...WatchFloor_incident
        }
      }
    }
  }
`;

export const incidentFragment = graphql`
  fragment WatchFloor_incident on Incident {
    reference
    title
    severity
    status
    states {
      code
    }
    actions {
      edges {
        node {
          kind
          status
          partner {
            name
          }
        }
      }
    }
  }
`;
