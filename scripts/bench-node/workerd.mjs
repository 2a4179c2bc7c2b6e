// Serves the built Worker (build/worker: index.js + index_bg.wasm) on workerd through Miniflare's
// API, without `wrangler dev`: no proxy workerd in front, no inspector. Used by the bench
// (scripts/benchlib/workerd.py) to measure what wrangler dev's layers cost; not deployed.
//
//   node workerd.mjs OPTIONS.json
//
// OPTIONS.json (written by benchlib/workerd.py from wrangler.toml and the stack's state):
//   miniflare    Miniflare's package folder (installed with wrangler by scripts/setup)
//   worker_dir   folder holding index.js and index_bg.wasm
//   name, compatibility_date, kv (binding -> namespace id), durable_objects (binding -> class),
//   sqlite_classes (classes with SQLite storage), bindings (vars and secrets),
//   persist      the same v3 folder wrangler dev persists to (so stack.push()'s tenants are seen)
//   host, entry_port, http_port, cert, key (null: the entry socket speaks plain http)
// Two sockets on the one workerd: Miniflare's entry socket (TLS in workerd unless cert is null,
// then Miniflare's small entry worker, then ours) and a direct plain-http socket straight into
// our Worker. Prints one JSON line {"entry": URL, "direct": URL} once both answer.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const opts = JSON.parse(readFileSync(process.argv[2], "utf8"));
const require = createRequire(path.join(opts.miniflare, "package.json"));
const { Miniflare, convertV4MiniflareOptions, Log, LogLevel } = require(opts.miniflare);

const durableObjects = Object.fromEntries(
  Object.entries(opts.durable_objects).map(([binding, className]) => [
    binding,
    { className, useSQLite: opts.sqlite_classes.includes(className) },
  ]),
);
const kvNamespaces = Object.fromEntries(Object.entries(opts.kv).map(([binding, id]) => [binding, { id }]));

const mf = new Miniflare(
  convertV4MiniflareOptions({
    host: opts.host,
    port: opts.entry_port,
    httpsKey: opts.key ? readFileSync(opts.key, "utf8") : undefined,
    httpsCert: opts.cert ? readFileSync(opts.cert, "utf8") : undefined,
    // No inspectorPort: workerd runs without --inspector-addr (wrangler dev always sets one).
    resourcePersistencePath: opts.persist,
    // As wrangler dev: request lines off, the Worker's own console lines (audit) on.
    logRequests: false,
    log: new Log(LogLevel.WARN),
    // No network: the Request.cf placeholder instead of fetching one.
    cf: false,
    workers: [
      {
        name: opts.name,
        compatibilityDate: opts.compatibility_date,
        modulesRoot: opts.worker_dir,
        modules: [
          { type: "ESModule", path: path.join(opts.worker_dir, "index.js") },
          { type: "CompiledWasm", path: path.join(opts.worker_dir, "index_bg.wasm") },
        ],
        kvNamespaces,
        durableObjects,
        bindings: opts.bindings,
        unsafeDirectSockets: [{ host: opts.host, port: opts.http_port }],
      },
    ],
  }),
);

const url = await mf.ready;
const direct = await mf.unsafeGetDirectURL(opts.name);
console.log(JSON.stringify({ entry: url.href, direct: direct.href }));

const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
