// What the graphql-ws client (and a raw `ws` socket) meets at the OPS API's WebSocket.
//
//   node ws-checks.mjs <check> '<json arguments>'
//
// Each check drives the server as a client application would and prints one JSON line: what it
// observed. tests/clients/test_graphql_ws.py runs the checks and judges the observations.
// Arguments: {"url": "ws://host:port/graphql/", "token": "...", ...} (see each check).
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const PROTOCOL = "graphql-transport-ws";
// A check that has not finished by then reports what it has seen and fails.
const CHECK_TIMEOUT_MS = 15000;

const INCIDENT_CHANGED = `
  subscription IncidentChanged {
    incidentChanged { change changedFields incident { reference severity } }
  }`;

const RAISE_SEVERITY = `
  mutation RaiseSeverity($input: UpdateIncidentInput!) {
    updateIncident(input: $input) { ... on Incident { version } }
  }`;

const INCIDENT = `
  query Incident($id: ID!) { node(id: $id) { ... on Incident { reference title } } }`;

// A graphql-ws client authenticating with a bearer token; `observed.closedEarly` records a
// close of its socket before the check disposes of it.
function clientOf({ url, token }, observed) {
  observed.closedEarly = null;
  let disposing = false;
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: {
      closed: (event) => {
        if (!disposing) observed.closedEarly = { code: event.code, reason: event.reason };
      },
    },
  });
  return {
    client,
    dispose: async () => {
      disposing = true;
      await client.dispose();
    },
  };
}

// The first `next` of a subscription; errors and completion are recorded as they come.
function firstEvent(client, query) {
  return new Promise((resolve) => {
    client.subscribe(
      { query },
      {
        next: (value) => resolve({ next: value }),
        error: (error) => resolve({ error: describe(error) }),
        complete: () => resolve({ complete: true }),
      },
    );
  });
}

function describe(error) {
  if (Array.isArray(error)) return error.map((e) => ({ message: e.message, extensions: e.extensions }));
  if (error && typeof error.code === "number") return { closeCode: error.code, reason: error.reason };
  return { message: String(error?.message ?? error) };
}

async function raiseSeverity({ httpUrl, token, incidentId, version, severity }) {
  const response = await fetch(`${httpUrl}/graphql/`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: RAISE_SEVERITY,
      variables: { input: { id: incidentId, version, severity } },
    }),
  });
  return { status: response.status, body: await response.json() };
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A subscription hears a change made over HTTP; a query runs over the same socket.
// Arguments: url, httpUrl, token, incidentId, version.
async function subscriptionAndQuery(args) {
  const observed = {};
  const { client, dispose } = clientOf(args, observed);
  try {
    const event = firstEvent(client, INCIDENT_CHANGED);
    await pause(1000); // the server joins the subscription to its group (no message says so)
    observed.mutation = await raiseSeverity({ ...args, severity: "CRITICAL" });
    observed.event = await event;
    const results = [];
    for await (const result of client.iterate({ query: INCIDENT, variables: { id: args.incidentId } })) {
      results.push(result);
    }
    observed.query = results;
  } finally {
    await dispose();
  }
  return observed;
}

// A subscription with a syntax error fails alone: another on the same client keeps receiving.
// Arguments: url, httpUrl, token, incidentId, version.
async function syntaxErrorFailsAlone(args) {
  const observed = {};
  const { client, dispose } = clientOf(args, observed);
  try {
    const good = firstEvent(client, INCIDENT_CHANGED);
    await pause(300); // the socket is open and the first subscription under way
    observed.broken = await firstEvent(client, "subscription { incidentChanged { change ");
    await pause(700); // as in subscriptionAndQuery
    observed.mutation = await raiseSeverity({ ...args, severity: "HIGH" });
    observed.good = await Promise.race([good, pause(5000).then(() => ({ timedOut: true }))]);
  } finally {
    await dispose();
  }
  return observed;
}

// One operation through client.iterate: the results it yields, or the error it ends with.
// Arguments: url, token, query, variables.
async function operation(args) {
  const observed = { results: [] };
  const { client, dispose } = clientOf(args, observed);
  try {
    for await (const result of client.iterate({ query: args.query, variables: args.variables })) {
      observed.results.push(result);
    }
  } catch (error) {
    observed.error = describe(error);
  } finally {
    await dispose();
  }
  return observed;
}

// The messages a raw socket receives until `count` have arrived or `ms` have passed.
function collector(socket) {
  const messages = [];
  let waiting = null;
  socket.on("message", (data) => {
    const message = JSON.parse(data.toString());
    if (message.type === "ping") return socket.send(JSON.stringify({ type: "pong" }));
    messages.push(message);
    waiting?.();
  });
  return async (count, ms = 5000) => {
    const deadline = Date.now() + ms;
    while (messages.length < count && Date.now() < deadline) {
      await new Promise((resolve) => {
        waiting = resolve;
        setTimeout(resolve, deadline - Date.now());
      });
    }
    return messages.splice(0, count);
  };
}

// A malformed subscribe ({query: 42}), sent raw, gets an answer for its id; the socket stays
// open and a well-formed query on it is answered. Arguments: url, token.
async function malformedSubscribe({ url, token }) {
  const observed = {};
  const socket = new WebSocket(url, PROTOCOL);
  socket.on("close", (code, reason) => (observed.closed = { code, reason: reason.toString() }));
  const receive = collector(socket);
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  try {
    socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } }));
    observed.init = await receive(1);
    socket.send(JSON.stringify({ id: "bad", type: "subscribe", payload: { query: 42 } }));
    observed.malformed = await receive(1);
    socket.send(JSON.stringify({ id: "good", type: "subscribe", payload: { query: "{ me { username } }" } }));
    observed.following = await receive(2);
    observed.openAfterwards = socket.readyState === WebSocket.OPEN;
  } finally {
    socket.close();
  }
  return observed;
}

// Opening a socket that asks for `protocols` only: did it open, and with which subprotocol?
// Arguments: url, protocols (a list).
async function handshake({ url, protocols }) {
  const socket = new WebSocket(url, protocols);
  return new Promise((resolve) => {
    socket.once("open", () => {
      const observed = { opened: true, protocol: socket.protocol };
      socket.once("close", (code) => resolve({ ...observed, closeCode: code }));
      setTimeout(() => resolve(observed), 1000);
      socket.close();
    });
    socket.once("unexpected-response", (request, response) => {
      resolve({ opened: false, status: response.statusCode });
      request.destroy();
    });
    socket.once("error", (error) => resolve({ opened: false, error: error.message }));
  });
}

const checks = { operation, subscriptionAndQuery, syntaxErrorFailsAlone, malformedSubscribe, handshake };

const [name, rawArguments] = process.argv.slice(2);
if (!checks[name]) {
  console.error(`unknown check ${name}; one of ${Object.keys(checks).join(", ")}`);
  process.exit(2);
}
const timer = setTimeout(() => {
  console.error(`check ${name} did not finish within ${CHECK_TIMEOUT_MS} ms`);
  process.exit(1);
}, CHECK_TIMEOUT_MS);
const observed = await checks[name](JSON.parse(rawArguments));
clearTimeout(timer);
console.log(JSON.stringify(observed));
process.exit(0);
