// Benchmark peer for scripts/bench.py (not deployed, not a test): the `oidc-provider` npm package
// (a certified OpenID Provider) on this machine, so that the code -> token exchange of our IdP can
// be compared with it in the same run and through the same load driver.
//
//   node scripts/bench-node/oidc-provider.mjs PORT CERT.pem KEY.pem
//
// Serves https on 127.0.0.1:PORT (the same local self-signed certificate as the IdP's stack) with
// one confidential client like our demo-rp: client_secret_basic, RS256 id_token, and an RS256 JWT
// access token (through a resource indicator, as our access tokens are signed JWTs too). Codes are
// minted without the browser dance: `POST /__bench/codes?n=N` saves N grants + authorization
// codes through the provider's own models (in its memory adapter) and answers them as JSON.
// Prints "ready" on stdout once listening.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';

import Provider from 'oidc-provider';

const [port, certPath, keyPath] = process.argv.slice(2);
const issuer = `https://127.0.0.1:${port}`;
const CLIENT = {
  client_id: 'bench-rp',
  client_secret: 'bench-rp-secret',
  redirect_uris: ['https://bench-rp.localhost/callback'],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: 'RS256',
  grant_types: ['authorization_code'],
  response_types: ['code'],
};
const API = 'urn:edge-idp:bench-api';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rsa-1', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [CLIENT],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  pkce: { required: () => false },
  ttl: { AuthorizationCode: 600, Grant: 3600, AccessToken: 300, IdToken: 300 },
  claims: { openid: ['sub'], profile: ['name', 'given_name', 'family_name'], email: ['email'] },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({
      sub, name: 'John Smith', given_name: 'John', family_name: 'Smith', email: 'jsmith@example.org',
    }),
  }),
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => API,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api', audience: API, accessTokenFormat: 'jwt', accessTokenTTL: 300, jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
});
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

async function mint(n) {
  const client = await provider.Client.find(CLIENT.client_id);
  const codes = [];
  for (let i = 0; i < n; i += 1) {
    const grant = new provider.Grant({ accountId: 'jsmith', clientId: CLIENT.client_id });
    grant.addOIDCScope('openid profile email');
    grant.addResourceScope(API, 'api');
    const grantId = await grant.save();
    const code = new provider.AuthorizationCode({
      accountId: 'jsmith',
      client,
      grantId,
      redirectUri: CLIENT.redirect_uris[0],
      scope: 'openid profile email api',
      resource: API,
      authTime: Math.floor(Date.now() / 1000),
      nonce: randomBytes(8).toString('hex'),
    });
    codes.push(await code.save());
  }
  return codes;
}

const callback = provider.callback();
const server = https.createServer({ cert: readFileSync(certPath), key: readFileSync(keyPath) }, (req, res) => {
  if (req.method === 'POST' && req.url.startsWith('/__bench/codes')) {
    const n = Number(new URL(req.url, issuer).searchParams.get('n') || '1');
    mint(n).then((codes) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(codes));
    }, (err) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err && err.stack));
    });
    return;
  }
  callback(req, res);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1', () => console.log('ready'));
