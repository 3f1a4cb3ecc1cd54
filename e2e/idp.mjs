// A real OpenID Connect provider (oauth2-mock-server) on loopback for the
// end-to-end tests, shaped like a Keycloak realm: access tokens carry
// `realm_access.roles`, `azp` and an audience.
//
// Usage: node idp.mjs PORT CONTROL_PORT
//
// The provider listens on 127.0.0.1:PORT (issuer http://127.0.0.1:PORT). A
// second listener on 127.0.0.1:CONTROL_PORT lets the test script rotate keys:
//   POST /rotate/add     adds a new signing key beside the current ones
//   POST /rotate/retire  keeps only the newest key (older keys leave the JWKS)
//   GET  /keys           lists the key ids the provider publishes
// Clients authenticate to /token with client_credentials; the client id picks
// the roles (see CLIENTS below).

import http from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';

const port = Number(process.argv[2] ?? 8180);
const controlPort = Number(process.argv[3] ?? 8181);
const host = '127.0.0.1';
const audience = process.env.E2E_AUDIENCE ?? 'llm-gateway';

// Client id -> realm roles and claim overrides.
const CLIENTS = {
  'admin-client': { roles: ['admin'] },
  'user-client': { roles: ['user'] },
  'readonly-client': { roles: ['readonly'] },
  'expired-client': { roles: ['admin'], expired: true },
  'wrong-audience-client': { roles: ['admin'], audience: 'another-api' },
};

let server;
let keys = [];
let keyCounter = 0;

function clientIdOf(req) {
  const header = req.headers.authorization ?? '';
  if (header.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    return decodeURIComponent(decoded.split(':')[0]);
  }
  return req.body?.client_id;
}

function shapeToken(token, req) {
  const clientId = clientIdOf(req);
  const client = CLIENTS[clientId] ?? { roles: [] };
  const now = Math.floor(Date.now() / 1000);
  token.payload.sub = `service-account-${clientId}`;
  token.payload.azp = clientId;
  token.payload.aud = client.audience ?? audience;
  token.payload.typ = 'Bearer';
  token.payload.realm_access = { roles: client.roles };
  if (client.expired) {
    token.payload.iat = now - 7200;
    token.payload.nbf = now - 7200;
    token.payload.exp = now - 3600;
  }
}

async function newKey() {
  keyCounter += 1;
  const kid = `e2e-key-${keyCounter}`;
  const provider = new OAuth2Server();
  return provider.issuer.keys.generate('RS256', { kid });
}

async function start() {
  const next = new OAuth2Server();
  for (const key of keys) {
    await next.issuer.keys.add(key);
  }
  next.service.on('beforeTokenSigning', shapeToken);
  // Without this the provider names itself http://localhost:PORT; the gateway
  // accepts plain http only for literal loopback addresses.
  next.issuer.url = `http://${host}:${port}`;
  await next.start(port, host);
  server = next;
}

async function restart() {
  if (server) {
    await server.stop();
  }
  await start();
}

keys.push(await newKey());
await start();

const control = http.createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/rotate/add') {
      keys = [...keys, await newKey()];
      await restart();
    } else if (req.method === 'POST' && req.url === '/rotate/retire') {
      keys = keys.slice(-1);
      await restart();
    } else if (req.method !== 'GET' || req.url !== '/keys') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kids: keys.map((key) => key.kid) }));
  } catch (error) {
    res.writeHead(500).end(String(error));
  }
});
control.listen(controlPort, host);

console.log(`idp: issuer http://${host}:${port} control http://${host}:${controlPort}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    control.close();
    await server.stop();
    process.exit(0);
  });
}
