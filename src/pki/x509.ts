// The one place that loads @peculiar/x509. Its dependency injection container (tsyringe) needs the
// Reflect metadata polyfill loaded first, and it needs Node's WebCrypto as its crypto provider.
// ESM evaluates imports in order, so the polyfill runs before the library.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** The X.509 library, ready to use with Node's WebCrypto. */
export { x509 };
/** Node's WebCrypto SubtleCrypto, for key generation, import and export. */
export const subtle = webcrypto.subtle;
