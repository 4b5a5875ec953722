// The part of express-session's API the session-flow test uses (the package ships no types, and
// @types/express-session would pull in all of Express's types for one test).
declare module "express-session" {
  import type { IncomingMessage, ServerResponse } from "node:http";
  export interface SessionData {
    user?: string;
    views?: number;
    cookie: { maxAge: number | null };
    destroy(done: (err?: unknown) => void): void;
  }
  interface SessionOptions {
    secret: string;
    store: unknown;
    resave: boolean;
    saveUninitialized: boolean;
    cookie?: { maxAge?: number; secure?: boolean };
  }
  type Middleware = (req: IncomingMessage & { session?: SessionData }, res: ServerResponse, next: (err?: unknown) => void) => void;
  function session(options: SessionOptions): Middleware;
  namespace session {
    /** The base class stores extend. */
    const Store: new () => object;
  }
  export = session;
}
