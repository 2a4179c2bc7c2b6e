// Benchmark helper for scripts/bench.py (not deployed): `n` WebCrypto signatures per request in
// `/sign?n=…&alg=rsa|ec`: RSA-2048 (RSASSA-PKCS1-v1_5, SHA-256; the default) or ECDSA P-256
// (SHA-256), with the key made once per isolate — the same work the IdP's Platform::sign does per
// RS256 / ES256 signature on Workers. bench.py reads workerd's CPU time around these requests to
// get the CPU time of one signature in the same run as the IdP's figures.
const keys = {};
const ALGS = {
  rsa: {
    gen: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    sign: "RSASSA-PKCS1-v1_5",
  },
  ec: { gen: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } },
};

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const alg = ALGS[url.searchParams.get("alg") || "rsa"];
    if (!alg) return new Response("unknown alg\n", { status: 400 });
    const name = url.searchParams.get("alg") || "rsa";
    if (!keys[name]) {
      keys[name] = (await crypto.subtle.generateKey(alg.gen, false, ["sign"])).privateKey;
    }
    const n = Number(url.searchParams.get("n") || "1");
    const msg = new TextEncoder().encode("<ds:SignedInfo>" + "x".repeat(700) + "</ds:SignedInfo>");
    for (let i = 0; i < n; i++) {
      await crypto.subtle.sign(alg.sign, keys[name], msg);
    }
    return new Response(`signed ${n}\n`);
  },
};
