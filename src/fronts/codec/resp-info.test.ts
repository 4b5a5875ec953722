import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { infoText, keyspaceValue, selectInfoSections, type InfoSection } from "./resp-info.js";

const SECTIONS: InfoSection[] = [
  { name: "Server", fields: [["redis_version", "7.2.0"], ["redis_mode", "standalone"], ["tcp_port", 6379]] },
  { name: "Persistence", fields: [["loading", 0]] },
  { name: "Replication", fields: [["role", "master"], ["connected_slaves", 2]] },
  { name: "Keyspace", fields: [["db0", keyspaceValue(3, 1)]] },
];

describe("INFO text", () => {
  it("prints sections as Redis does: titled blocks separated by an empty line", () => {
    assert.equal(
      infoText(SECTIONS.slice(0, 2)),
      "# Server\r\nredis_version:7.2.0\r\nredis_mode:standalone\r\ntcp_port:6379\r\n\r\n# Persistence\r\nloading:0\r\n",
    );
  });

  it("selects sections by name, case-insensitively; default/all/everything or nothing means all", () => {
    assert.deepEqual(selectInfoSections(SECTIONS, ["keyspace", "SERVER"]).map((s) => s.name), ["Server", "Keyspace"]);
    assert.equal(selectInfoSections(SECTIONS, []).length, 4);
    assert.equal(selectInfoSections(SECTIONS, ["all"]).length, 4);
    assert.equal(selectInfoSections(SECTIONS, ["nosuch"]).length, 0);
  });

  it("a value cannot inject another field", () => {
    assert.equal(infoText([{ name: "X", fields: [["a", "1\r\nrole:slave"]] }]), "# X\r\na:1  role:slave\r\n");
  });

  it("keyspace lines read like Redis's", () => {
    assert.equal(keyspaceValue(10, 4), "keys=10,expires=4,avg_ttl=0");
  });
});
