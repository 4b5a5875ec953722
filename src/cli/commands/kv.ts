// `phalanx kv get|put|del|watch|txn`, `phalanx lease grant|keepalive|revoke`, `phalanx snapshot save`.
import type { Command } from "commander";
import { readFile } from "node:fs/promises";
import type { Kv } from "../../client/client.js";
import { writeFileAtomic } from "../../fsutil/atomic-file.js";
import { runClientCommand, withConnectionOptions } from "../client-options.js";
import type { ConnectionOptions } from "../client-options.js";

type KvOptions = ConnectionOptions & { prefix?: boolean; serializable?: boolean; lease?: string; rev?: string; limit?: string };

function printKvs(kvs: readonly Kv[], json: boolean | undefined): void {
  if (json) return void process.stdout.write(`${JSON.stringify({ kvs }, null, 2)}\n`);
  for (const kv of kvs) process.stdout.write(`${kv.key}\n${kv.value}\n`);
}

/** Adds `phalanx kv`, `phalanx lease` and `phalanx snapshot`. */
export function registerKv(program: Command): void {
  const kv = program.command("kv").description("Read and write keys of the replicated store");
  withConnectionOptions(kv.command("get").argument("<key>").description("Read a key (linearizable by default)"))
    .option("--prefix", "every key starting with <key>")
    .option("--serializable", "read this node's copy without confirming with the leader (may be stale)")
    .option("--rev <revision>", "read at an older revision")
    .option("--limit <n>", "at most n keys")
    .action(async (key: string, o: KvOptions) => runClientCommand(o, async (client) => {
      const r = await client.get(key, { prefix: o.prefix === true, serializable: o.serializable === true, ...(o.rev ? { revision: Number(o.rev) } : {}), ...(o.limit ? { limit: Number(o.limit) } : {}) });
      printKvs(r.kvs, o.json);
      if (r.kvs.length === 0 && !o.prefix && !o.json) process.exitCode = 1;
    }));
  withConnectionOptions(kv.command("put").argument("<key>").argument("<value>").description("Write a key"))
    .option("--lease <id>", "attach the key to a lease (it vanishes when the lease expires)")
    .action(async (key: string, value: string, o: KvOptions) => runClientCommand(o, async (client) => {
      const h = await client.put(key, value, o.lease ? { lease: Number(o.lease) } : {});
      process.stdout.write(o.json ? `${JSON.stringify(h)}\n` : `OK revision ${h.revision}\n`);
    }));
  withConnectionOptions(kv.command("del").argument("<key>").description("Delete a key or a prefix"))
    .option("--prefix", "every key starting with <key>")
    .action(async (key: string, o: KvOptions) => runClientCommand(o, async (client) => {
      const n = await client.delete(key, { prefix: o.prefix === true });
      process.stdout.write(o.json ? `${JSON.stringify({ deleted: n })}\n` : `${n}\n`);
    }));
  withConnectionOptions(kv.command("watch").argument("<key>").description("Print changes to a key or prefix as they happen (Ctrl-C stops)"))
    .option("--prefix", "every key starting with <key>")
    .option("--rev <revision>", "start from this past revision")
    .action(async (key: string, o: KvOptions) => runClientCommand(o, async (client) => {
      await new Promise<void>((resolve) => {
        const w = client.watch(key, { prefix: o.prefix === true, fromRevision: o.rev ? Number(o.rev) : 0 }, (changes) => {
          for (const c of changes) process.stdout.write(o.json ? `${JSON.stringify(c)}\n` : `${c.type.toUpperCase()}\n${c.kv.key}\n${c.type === "put" ? `${c.kv.value}\n` : ""}`);
        }, (err) => {
          process.stderr.write(`phalanx: ${err.message}\n`);
          process.exitCode = 1;
          resolve();
        });
        process.once("SIGINT", () => { w.stop(); resolve(); });
      });
    }));
  withConnectionOptions(kv.command("txn").argument("<file>", "JSON file with {compare, success, failure} in etcd's gateway form, or - for stdin").description("Run a transaction"))
    .action(async (file: string, o: KvOptions) => runClientCommand(o, async (client) => {
      const text = file === "-" ? await readStdin() : await readFile(file, "utf8");
      const r = await client.txn(JSON.parse(text) as Record<string, unknown>);
      process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : `${r.succeeded ? "SUCCESS" : "FAILURE"}\n`);
    }));

  const lease = program.command("lease").description("Grant, keep alive and revoke leases");
  withConnectionOptions(lease.command("grant").argument("<ttl>", "time to live in seconds (decimals allowed)").description("Grant a lease"))
    .action(async (ttl: string, o: KvOptions) => runClientCommand(o, async (client) => {
      const g = await client.leaseGrant(Math.round(Number(ttl) * 1000));
      process.stdout.write(o.json ? `${JSON.stringify(g)}\n` : `lease ${g.id} granted with TTL ${g.ttlMs / 1000}s\n`);
    }));
  withConnectionOptions(lease.command("keepalive").argument("<id>").description("Keep a lease alive until Ctrl-C"))
    .action(async (id: string, o: KvOptions) => runClientCommand(o, async (client) => {
      const ttlMs = await client.leaseKeepAlive(Number(id));
      process.stdout.write(`lease ${id} kept alive with TTL ${ttlMs / 1000}s\n`);
      await new Promise<void>((resolve) => {
        const k = client.keepLeaseAlive(Number(id), ttlMs, (err) => { process.stderr.write(`phalanx: lease ${id} lost: ${err.message}\n`); process.exitCode = 1; resolve(); });
        process.once("SIGINT", () => { k.stop(); resolve(); });
      });
    }));
  withConnectionOptions(lease.command("revoke").argument("<id>").description("Revoke a lease and delete its keys"))
    .action(async (id: string, o: KvOptions) => runClientCommand(o, async (client) => {
      await client.leaseRevoke(Number(id));
      process.stdout.write(`lease ${id} revoked\n`);
    }));

  const snapshot = program.command("snapshot").description("Save the store's state");
  withConnectionOptions(snapshot.command("save").argument("<file>").description("Save a consistent snapshot of the store to a file (admin token; the cluster CA is left out)"))
    .action(async (file: string, o: KvOptions) => runClientCommand(o, async (client) => {
      const bytes = await client.snapshot();
      // The store may hold application secrets: owner-only, like the node's own files.
      await writeFileAtomic(file, bytes, { mode: 0o600 });
      process.stdout.write(`Snapshot saved to ${file} (${bytes.length} bytes)\n`);
    }, "admin"));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
