// `phalanx cert client NAME`: issues a client certificate from the cluster CA (on a node that holds
// ca.key), for clients that authenticate with a certificate instead of the token.
import type { Command } from "commander";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { loadClusterCa, KEY_FILE_MODE } from "../../pki/files.js";
import { issueClientCertificate } from "../../pki/issue.js";

/** Adds `phalanx cert`. */
export function registerCert(program: Command): void {
  const cert = program.command("cert").description("Issue certificates from the cluster CA");
  cert
    .command("client")
    .argument("<name>", "name of the client (goes into the certificate)")
    .description("Issue a client certificate: <name>.crt and <name>.key (use with --ca, --cert, --key)")
    .requiredOption("--pki-dir <dir>", "a node's pki directory holding ca.crt and ca.key")
    .option("--out <dir>", "where to write the files", ".")
    .action(async (name: string, o: { pkiDir: string; out: string }) => {
      try {
        const ca = await loadClusterCa(resolve(o.pkiDir));
        const creds = await issueClientCertificate(ca, { name });
        const base = join(resolve(o.out), name);
        await writeFile(`${base}.key`, creds.keyPem, { mode: KEY_FILE_MODE, flag: "wx" });
        await writeFile(`${base}.crt`, creds.certPem, { flag: "wx" });
        process.stdout.write(`Wrote ${base}.crt and ${base}.key (cluster ${ca.clusterId})\n`);
      } catch (err) {
        process.stderr.write(`phalanx: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
