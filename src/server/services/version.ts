// The version a node registers with (/phalanx/nodes/<id> "version"); the CLI's PHALANX_VERSION mirrors it.
export const PHALANX_NODE_VERSION = "0.1.0";
