// A watch floor's incident list in Apollo Client: relayStylePagination, paged while incidents
// arrive.
//
//   node apollo-pages.mjs '{"httpUrl": "http://host:port/graphql/", "token": "..."}'
//
// Reads two pages of two incidents (newest first), creates three incidents over HTTP, fetches
// one more page after the second page's end cursor, and prints one JSON line: the titles of the
// list as Apollo's cache holds it. tests/clients/test_apollo_pages.py judges them.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { relayStylePagination } from "@apollo/client/utilities";

const INCIDENTS = gql`
  query Incidents($after: String) {
    incidents(first: 2, after: $after) {
      edges { cursor node { id title } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

const CREATE = gql`
  mutation Create($input: CreateIncidentInput!) {
    createIncident(input: $input) { ... on Incident { id } }
  }`;

const { httpUrl, token } = JSON.parse(process.argv[2]);
const client = new ApolloClient({
  link: new HttpLink({ uri: httpUrl, headers: { Authorization: `Bearer ${token}` } }),
  cache: new InMemoryCache({
    typePolicies: { Query: { fields: { incidents: relayStylePagination() } } },
  }),
});

const watched = client.watchQuery({ query: INCIDENTS });
let { data } = await watched.refetch();
({ data } = await watched.fetchMore({ variables: { after: data.incidents.pageInfo.endCursor } }));
const read = () => client.readQuery({ query: INCIDENTS }).incidents;
const afterTwoPages = read().pageInfo.endCursor;
for (const n of [1, 2, 3]) {
  await client.mutate({
    mutation: CREATE,
    variables: {
      input: { title: `Arrived ${n}`, category: "NATURAL_HAZARD", severity: "LOW", changeReason: "Test" },
    },
  });
}
await watched.fetchMore({ variables: { after: afterTwoPages } });
console.log(JSON.stringify({ titles: read().edges.map((edge) => edge.node.title) }));
process.exit(0);
