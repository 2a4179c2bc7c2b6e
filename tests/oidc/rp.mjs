// A relying party built on openid-client (a certified RP library), driven step by step by
// tests/e2e/test_oidc.py: the Python test plays the browser, this script the RP.
// Usage: node rp.mjs '<json command>'  → prints one JSON object.
// Every command may carry client_secret (client_secret_basic) or private_jwk (private_key_jwt),
// and `metadata`: more client metadata for openid-client (e.g.
// {"id_token_signed_response_alg": "ES256"}: the id_token must then be ES256, nothing else).
// Commands: {"op":"start", issuer, client_id, client_secret?, redirect_uri, scope}
//           {"op":"callback", issuer, client_id, client_secret?, url, verifier, state, nonce}
//           {"op":"refresh", issuer, client_id, client_secret?, refresh_token}
//           {"op":"logout_url", issuer, client_id, client_secret?, id_token, post_logout_redirect_uri, state}
//           {"op":"introspect", issuer, client_id, client_secret?, token}          (RFC 7662)
//           {"op":"revoke", issuer, client_id, client_secret?, token, hint?}       (RFC 7009)
//           {"op":"client_credentials", issuer, client_id, client_secret, scope?}  (RFC 6749 §4.4)
import * as client from 'openid-client';

const cmd = JSON.parse(process.argv[2]);

// private_jwk: a private JWK (with kid) → private_key_jwt; client_secret → client_secret_basic.
async function clientAuth() {
  if (cmd.private_jwk) {
    const { kid, alg, use, ...jwk } = cmd.private_jwk;
    const params = jwk.kty === 'EC'
      ? { name: 'ECDSA', namedCurve: 'P-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = await crypto.subtle.importKey('jwk', jwk, params, false, ['sign']);
    return client.PrivateKeyJwt({ key, kid });
  }
  return cmd.client_secret ? client.ClientSecretBasic(cmd.client_secret) : client.None();
}

async function config() {
  const metadata = { ...(cmd.metadata ?? {}) };
  if (cmd.client_secret) metadata.client_secret = cmd.client_secret;
  return client.discovery(new URL(cmd.issuer), cmd.client_id, metadata, await clientAuth());
}

async function main() {
  const cfg = await config();
  switch (cmd.op) {
    case 'start': {
      const verifier = client.randomPKCECodeVerifier();
      const challenge = await client.calculatePKCECodeChallenge(verifier);
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(cfg, {
        redirect_uri: cmd.redirect_uri, scope: cmd.scope, code_challenge: challenge,
        code_challenge_method: 'S256', state, nonce,
      });
      return { url: url.href, verifier, state, nonce };
    }
    case 'callback': {
      const tokens = await client.authorizationCodeGrant(cfg, new URL(cmd.url), {
        pkceCodeVerifier: cmd.verifier, expectedState: cmd.state, expectedNonce: cmd.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      const userinfo = await client.fetchUserInfo(cfg, tokens.access_token, claims.sub);
      return { tokens, claims, userinfo };
    }
    case 'refresh': {
      const tokens = await client.refreshTokenGrant(cfg, cmd.refresh_token);
      return { tokens, claims: tokens.claims() ?? null };
    }
    case 'logout_url': {
      const url = client.buildEndSessionUrl(cfg, {
        id_token_hint: cmd.id_token, post_logout_redirect_uri: cmd.post_logout_redirect_uri,
        state: cmd.state,
      });
      return { url: url.href };
    }
    case 'client_credentials': {
      const params = cmd.scope ? { scope: cmd.scope } : {};
      return { tokens: await client.clientCredentialsGrant(cfg, params) };
    }
    case 'introspect': {
      return { introspection: await client.tokenIntrospection(cfg, cmd.token) };
    }
    case 'revoke': {
      const params = cmd.hint ? { token_type_hint: cmd.hint } : undefined;
      await client.tokenRevocation(cfg, cmd.token, params);
      return { revoked: true };
    }
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

main().then(
  (out) => { process.stdout.write(JSON.stringify(out)); },
  (err) => {
    process.stdout.write(JSON.stringify({
      error: err.name, code: err.code ?? null, message: err.message,
      oauth_error: err.error ?? null, cause: err.cause?.message ?? null,
    }));
    process.exitCode = 3;
  },
);
