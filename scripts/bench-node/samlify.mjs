// Benchmark peer for scripts/bench (not deployed): samlify as an IdP doing what our SAML SSO does
// per request: a Redirect-binding AuthnRequest signed by the SP, parsed and its signature checked,
// answered with a signed Response (one signature: the message). Prints the CPU time of one such
// operation in this process (process.cpuUsage around `n` operations after a warm-up), and the
// operations per second on one core. Keys: the repository's SAML test keys.
//   node samlify.mjs N KEYS_DIR
import { readFileSync } from "node:fs";
import * as samlify from "samlify";

const [n, keys] = [Number(process.argv[2] || "200"), process.argv[3]];
const read = (name) => readFileSync(`${keys}/${name}`, "utf8");
// Schema validation is a separate concern (and needs a native validator); ours checks structure
// by its own parser, so neither side is charged for XSD validation.
samlify.setSchemaValidator({ validate: () => Promise.resolve("skipped") });
const { binding } = samlify.Constants.namespace;
const idp = samlify.IdentityProvider({
  entityID: "https://idp.example/metadata",
  privateKey: read("idp.key"),
  signingCert: read("idp.crt"),
  wantAuthnRequestsSigned: true,
  singleSignOnService: [{ Binding: binding.redirect, Location: "https://idp.example/sso" }],
});
const sp = samlify.ServiceProvider({
  entityID: "https://sp.example/metadata",
  privateKey: read("sp.key"),
  signingCert: read("sp.crt"),
  authnRequestsSigned: true,
  wantMessageSigned: true,
  wantAssertionsSigned: false,
  assertionConsumerService: [{ Binding: binding.post, Location: "https://sp.example/acs" }],
});

function request() {
  const { context } = sp.createLoginRequest(idp, "redirect");
  const query = new URL(context).search.slice(1);
  const params = Object.fromEntries(new URLSearchParams(query));
  return { query: params, octetString: query.split("&Signature=")[0] };
}

async function operation(req) {
  const parsed = await idp.parseLoginRequest(sp, "redirect", req);
  const { context } = await idp.createLoginResponse(sp, parsed, "post", { email: "jsmith@example.org" });
  if (!context || context.length < 1000) throw new Error("no signed Response");
}

const warm = Array.from({ length: 50 }, request);
for (const r of warm) await operation(r);
const reqs = Array.from({ length: n }, request);
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (const r of reqs) await operation(r);
const wall = Number(process.hrtime.bigint() - t0) / 1e6;
const c = process.cpuUsage(c0);
const cpuMs = (c.user + c.system) / 1000 / n;
console.log(JSON.stringify({ cpu_ms: cpuMs, wall_ms: wall / n, per_second: (1000 * n) / wall }));
