// Errors of config loading: each issue knows its file, line, column and field path, what is wrong
// and what to do, so an operator can fix a file from one message.

/** One problem found in a config file. */
export interface ConfigIssue {
  readonly file: string;
  /** 1-based; 0 when the problem is not tied to a place (unreadable file). */
  readonly line: number;
  readonly column: number;
  /** Field path such as `frontends[0].listen`; empty for the whole document. */
  readonly path: string;
  /** What is wrong, sentence case, no final period. */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
}

/** Renders an issue as `file:line:col: path: message (hint)`, the form editors can jump to. */
export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line > 0 ? `${issue.file}:${issue.line}:${issue.column}` : issue.file;
  const field = issue.path === "" ? "" : ` ${issue.path}:`;
  const hint = issue.hint === "" ? "" : ` — ${issue.hint}`;
  return `${where}:${field} ${issue.message}${hint}`;
}

/** A config file that cannot be used; `issues` lists every problem found. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code: "config_invalid" | "config_unreadable";
  readonly issues: readonly ConfigIssue[];

  constructor(code: "config_invalid" | "config_unreadable", issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const first = issues[0];
    const head = first === undefined ? "Cannot load config" : `Cannot load config ${first.file}`;
    super(`${head}: ${issues.length} problem${issues.length === 1 ? "" : "s"}\n${issues.map(formatIssue).join("\n")}`, options);
    this.code = code;
    this.issues = issues;
  }
}
