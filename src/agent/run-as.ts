// Running an instance as another user. Only root may switch users, so an agent that is not root
// refuses a spec with `user` instead of starting it as itself. Numeric ids come from `id -u` and
// `id -g` (NSS-aware: local files, LDAP, whatever the node uses) rather than parsing /etc/passwd.
import { execFile } from "node:child_process";
import { SupervisorError } from "./errors.js";

export interface RunAs {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
}

/** Bound on one `id` call, so a hung name service cannot stall `apply`. */
const ID_LOOKUP_TIMEOUT_MS = 5000;

/** Looks up one number with `id <flag> NAME`. */
export type IdLookup = (flag: "-u" | "-g", user: string) => Promise<number>;

/** Resolves `user` to uid/gid; throws SupervisorError("run_as") saying what to do. */
export async function resolveRunAs(
  user: string,
  options: { agentUid?: number; lookup?: IdLookup } = {},
): Promise<RunAs> {
  const agentUid = options.agentUid ?? process.getuid?.() ?? -1;
  if (agentUid !== 0) {
    throw new SupervisorError("run_as", `Cannot run as user "${user}": the agent runs as uid ${agentUid}, and only root can switch users — run the agent as root, or remove user from the service`);
  }
  const lookup = options.lookup ?? lookupWithId;
  try {
    const [uid, gid] = await Promise.all([lookup("-u", user), lookup("-g", user)]);
    return { user, uid, gid };
  } catch (err) {
    throw new SupervisorError("run_as", `Cannot run as user "${user}": this node does not know the user (${(err as Error).message.trim()}) — create the user, or fix user in the service`, { cause: err });
  }
}

function lookupWithId(flag: "-u" | "-g", user: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // "--" so that a user name starting with '-' is not read as an option.
    execFile("id", [flag, "--", user], { timeout: ID_LOOKUP_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(stderr.trim() || err.message));
        return;
      }
      const n = Number.parseInt(stdout.trim(), 10);
      if (!Number.isInteger(n) || n < 0) reject(new Error(`id ${flag} printed "${stdout.trim()}"`));
      else resolve(n);
    });
  });
}
