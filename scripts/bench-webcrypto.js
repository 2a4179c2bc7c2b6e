// Benchmark helper for scripts/bench.py (not deployed): one WebCrypto RSA-2048 (RSASSA-PKCS1-v1_5,
// SHA-256) signature per `n` in `/sign?n=…`, with the key made once per isolate — the same work
// the IdP's Platform::sign does per signature on Workers. bench.py reads workerd's CPU time around
// these requests to get the CPU time of one signature in the same run as the SSO round trips.
let key;

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (!key) {
      key = await crypto.subtle.generateKey(
        { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
        false, ["sign"]);
    }
    const n = Number(url.searchParams.get("n") || "1");
    const msg = new TextEncoder().encode("<ds:SignedInfo>" + "x".repeat(700) + "</ds:SignedInfo>");
    for (let i = 0; i < n; i++) {
      await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, msg);
    }
    return new Response(`signed ${n}\n`);
  },
};
