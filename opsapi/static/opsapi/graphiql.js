// GraphiQL on /graphql/: the session's cookie authenticates, the csrftoken cookie's value goes
// in X-CSRFToken on every request, subscriptions run over graphql-transport-ws on the same path,
// and the query and variables are kept in the page's address (?q=...&variables=...), to share or
// bookmark. Not ?query=: a GET with that parameter runs the operation instead of showing GraphiQL.
(function () {
  "use strict";

  const DEFAULT_QUERY = `# OPS API. Ctrl-Enter runs the query; the Docs button (top left) lists
# every type and field, the Explorer builds a query by ticking fields.
# Subscriptions (incidentChanged, coordinationActionChanged) run here too.
query Me {
  me {
    username
    displayName
  }
}
`;

  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
  }

  // The token is read for each request: logging in again elsewhere changes it.
  function fetchWithCsrf(input, init) {
    const headers = new Headers((init && init.headers) || {});
    headers.set("X-CSRFToken", csrfToken());
    return window.fetch(input, { ...init, headers, credentials: "same-origin" });
  }

  const url = window.location.origin + window.location.pathname;
  const subscriptionUrl = url.replace(/^http/, "ws");
  const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl, fetch: fetchWithCsrf });

  const parameters = new URLSearchParams(window.location.search);
  function keepInAddress(name, value) {
    if (value) parameters.set(name, value);
    else parameters.delete(name);
    const search = parameters.toString();
    history.replaceState(null, "", search ? `?${search}` : window.location.pathname);
  }

  const explorer = GraphiQLPluginExplorer.explorerPlugin();

  function OpsGraphiQL() {
    return React.createElement(GraphiQL, {
      fetcher,
      plugins: [explorer],
      defaultQuery: DEFAULT_QUERY,
      query: parameters.get("q") || undefined,
      variables: parameters.get("variables") || undefined,
      onEditQuery: (query) => keepInAddress("q", query),
      onEditVariables: (variables) => keepInAddress("variables", variables),
      defaultEditorToolsVisibility: true,
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      // Headers (a pasted API token) stay in this page only, not in the browser's storage.
      shouldPersistHeaders: false,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(OpsGraphiQL),
  );
})();
