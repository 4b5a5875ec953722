// The memcached front on a real 3-node in-process cluster: the text protocol and the binary
// protocol (packets built by hand), through a follower so writes are forwarded.
import { strict as assert } from "node:assert";
import { after, before, describe, it } from "node:test";
import { McTestClient, startFrontCluster } from "./testdata/harness.js";
import type { FrontCluster } from "./testdata/harness.js";

const END = /END\r\n$/;

/** A binary request packet. */
function packet(opcode: number, o: { key?: string; value?: string; extras?: Buffer; opaque?: number; cas?: bigint } = {}): Buffer {
  const key = Buffer.from(o.key ?? "");
  const value = Buffer.from(o.value ?? "");
  const extras = o.extras ?? Buffer.alloc(0);
  const h = Buffer.alloc(24);
  h[0] = 0x80;
  h[1] = opcode;
  h.writeUInt16BE(key.length, 2);
  h[4] = extras.length;
  h.writeUInt32BE(extras.length + key.length + value.length, 8);
  h.writeUInt32BE(o.opaque ?? 0, 12);
  h.writeBigUInt64BE(o.cas ?? 0n, 16);
  return Buffer.concat([h, extras, key, value]);
}

interface Response {
  opcode: number;
  status: number;
  opaque: number;
  cas: bigint;
  extras: Buffer;
  key: string;
  value: Buffer;
}

function responses(b: Buffer): Response[] {
  const out: Response[] = [];
  let at = 0;
  while (at + 24 <= b.length) {
    const keyLen = b.readUInt16BE(at + 2);
    const extrasLen = b[at + 4] as number;
    const total = b.readUInt32BE(at + 8);
    if (at + 24 + total > b.length) break;
    const body = b.subarray(at + 24, at + 24 + total);
    out.push({
      opcode: b[at + 1] as number,
      status: b.readUInt16BE(at + 6),
      opaque: b.readUInt32BE(at + 12),
      cas: b.readBigUInt64BE(at + 16),
      extras: body.subarray(0, extrasLen),
      key: body.subarray(extrasLen, extrasLen + keyLen).toString(),
      value: body.subarray(extrasLen + keyLen),
    });
    at += 24 + total;
  }
  return out;
}

const complete = (n: number) => (b: Buffer) => responses(b).length >= n;
const setExtras = (flags: number, exptime: number) => {
  const e = Buffer.alloc(8);
  e.writeUInt32BE(flags, 0);
  e.writeUInt32BE(exptime, 4);
  return e;
};

describe("memcached front on a 3-node cluster", () => {
  let fc: FrontCluster;
  let port: number;
  before(async () => {
    fc = await startFrontCluster(3);
    port = fc.mcPort(fc.followerIds()[0]!);
  });
  after(async () => {
    await fc?.close();
  });

  it("answers the text storage, retrieval and counter commands", async () => {
    const c = await McTestClient.connect(port);
    try {
      assert.equal(await c.text("set s1 5 0 5\r\nhello\r\n"), "STORED\r\n");
      assert.equal(await c.text("get s1 nope\r\n", END), "VALUE s1 5 5\r\nhello\r\nEND\r\n");
      const gets = await c.text("gets s1\r\n", END);
      const cas = /^VALUE s1 5 5 (\d+)\r\n/.exec(gets)?.[1];
      assert.ok(cas !== undefined, gets);
      assert.equal(await c.text(`cas s1 0 0 2 ${BigInt(cas) + 1000n}\r\nhi\r\n`), "EXISTS\r\n");
      assert.equal(await c.text(`cas s1 7 0 2 ${cas}\r\nhi\r\n`), "STORED\r\n");
      assert.equal(await c.text("cas nope 0 0 1 1\r\nx\r\n"), "NOT_FOUND\r\n");
      assert.equal(await c.text("add s1 0 0 1\r\nx\r\n"), "NOT_STORED\r\n");
      assert.equal(await c.text("add s2 0 0 1\r\nx\r\n"), "STORED\r\n");
      assert.equal(await c.text("replace nope 0 0 1\r\nx\r\n"), "NOT_STORED\r\n");
      assert.equal(await c.text("replace s2 0 0 1\r\ny\r\n"), "STORED\r\n");
      assert.equal(await c.text("append s2 0 0 2\r\nzz\r\n"), "STORED\r\n");
      assert.equal(await c.text("prepend s2 0 0 2\r\naa\r\n"), "STORED\r\n");
      assert.equal(await c.text("get s2\r\n", END), "VALUE s2 0 5\r\naayzz\r\nEND\r\n");
      assert.equal(await c.text("set n 0 0 2\r\n10\r\n"), "STORED\r\n");
      assert.equal(await c.text("incr n 5\r\n"), "15\r\n");
      assert.equal(await c.text("decr n 100\r\n"), "0\r\n");
      assert.equal(await c.text("incr nope 1\r\n"), "NOT_FOUND\r\n");
      assert.equal(await c.text("incr s2 1\r\n"), "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
      assert.equal(await c.text("touch s2 100\r\n"), "TOUCHED\r\n");
      assert.equal(await c.text("gat 200 s2\r\n", END), "VALUE s2 0 5\r\naayzz\r\nEND\r\n");
      assert.equal(await c.text("delete s2\r\n"), "DELETED\r\n");
      assert.equal(await c.text("delete s2\r\n"), "NOT_FOUND\r\n");
      // noreply: nothing comes back; the next command's reply is the next thing read.
      assert.equal(await c.text("set q 0 0 1 noreply\r\nq\r\nget q\r\n", END), "VALUE q 0 1\r\nq\r\nEND\r\n");
      assert.match(await c.text("version\r\n"), /^VERSION \d/);
      assert.match(await c.text("stats\r\n", END), /STAT curr_items \d+/);
      assert.equal(await c.text("bogus\r\n"), "ERROR\r\n");
    } finally {
      c.close();
    }
  });

  it("applies memcached's exptime rules: relative up to 30 days, absolute above, negative expired", async () => {
    const c = await McTestClient.connect(port);
    try {
      const inAnHour = Math.floor(Date.now() / 1000) + 3600;
      assert.equal(await c.text(`set abs 0 ${inAnHour} 1\r\na\r\n`), "STORED\r\n");
      assert.equal(await c.text("set rel 0 2592000 1\r\nr\r\n"), "STORED\r\n");
      assert.equal(await c.text("set past 0 2592001 1\r\np\r\n"), "STORED\r\n"); // absolute: January 1970
      assert.equal(await c.text("set neg 0 -1 1\r\nn\r\n"), "STORED\r\n");
      assert.equal(await c.text("get abs rel past neg\r\n", END), "VALUE abs 0 1\r\na\r\nVALUE rel 0 1\r\nr\r\nEND\r\n");
      // An hour and a bit later the absolute one is gone, the 30-day one is not.
      fc.clock.offsetMs += 3700_000;
      try {
        assert.equal(await c.text("get abs rel\r\n", END), "VALUE rel 0 1\r\nr\r\nEND\r\n");
      } finally {
        fc.clock.offsetMs -= 3700_000;
      }
    } finally {
      c.close();
    }
  });

  it("refuses flush_all unless allowed, and flushes when allowed", async () => {
    const locked = await startFrontCluster(1, { memcached: { enabled: true, listen: "127.0.0.1:0", allowFlushAll: false } });
    try {
      const c = await McTestClient.connect(locked.mcPort(locked.leaderId()));
      try {
        assert.equal(await c.text("set x 0 0 1\r\nx\r\n"), "STORED\r\n");
        assert.match(await c.text("flush_all\r\n"), /^CLIENT_ERROR flush_all not allowed/);
        assert.equal(await c.text("get x\r\n", END), "VALUE x 0 1\r\nx\r\nEND\r\n");
      } finally {
        c.close();
      }
    } finally {
      await locked.close();
    }
    const c = await McTestClient.connect(port);
    try {
      assert.equal(await c.text("set f 0 0 1\r\nf\r\n"), "STORED\r\n");
      assert.equal(await c.text("flush_all\r\n"), "OK\r\n");
      assert.equal(await c.text("get f\r\n", END), "END\r\n");
    } finally {
      c.close();
    }
  });

  it("answers the binary protocol: set/get/getk, quiet gets, add, cas, incr with create, delete, noop", async () => {
    const c = await McTestClient.connect(port);
    try {
      let r = responses(await c.send(packet(0x01, { key: "bk", value: "val", extras: setExtras(9, 0), opaque: 7 }), complete(1)));
      assert.equal(r[0]?.status, 0);
      assert.equal(r[0]?.opaque, 7);
      r = responses(await c.send(packet(0x0c, { key: "bk" }), complete(1))); // GETK
      assert.equal(r[0]?.status, 0);
      assert.equal(r[0]?.key, "bk");
      assert.equal(r[0]?.value.toString(), "val");
      assert.equal(r[0]?.extras.readUInt32BE(0), 9);
      const cas = r[0]?.cas ?? 0n;
      assert.ok(cas > 0n);
      // GETQ of a miss then of a hit, then NOOP: only the hit and the noop answer.
      r = responses(await c.send(Buffer.concat([packet(0x09, { key: "nope", opaque: 1 }), packet(0x09, { key: "bk", opaque: 2 }), packet(0x0a, { opaque: 3 })]), complete(2)));
      assert.deepEqual(r.map((x) => x.opaque), [2, 3]);
      r = responses(await c.send(packet(0x02, { key: "bk", value: "x", extras: setExtras(0, 0) }), complete(1))); // ADD existing
      assert.equal(r[0]?.status, 0x02);
      r = responses(await c.send(packet(0x01, { key: "bk", value: "y", extras: setExtras(0, 0), cas: cas + 99n }), complete(1)));
      assert.equal(r[0]?.status, 0x02, "a set with a stale CAS answers exists");
      r = responses(await c.send(packet(0x01, { key: "bk", value: "y", extras: setExtras(0, 0), cas }), complete(1)));
      assert.equal(r[0]?.status, 0);
      const incr = Buffer.alloc(20);
      incr.writeBigUInt64BE(5n, 0);
      incr.writeBigUInt64BE(100n, 8);
      incr.writeUInt32BE(0, 16);
      r = responses(await c.send(packet(0x05, { key: "ctr", extras: incr }), complete(1)));
      assert.equal(r[0]?.value.readBigUInt64BE(0), 100n, "a missing counter is created with the initial value");
      r = responses(await c.send(packet(0x05, { key: "ctr", extras: incr }), complete(1)));
      assert.equal(r[0]?.value.readBigUInt64BE(0), 105n);
      r = responses(await c.send(packet(0x04, { key: "bk" }), complete(1))); // DELETE
      assert.equal(r[0]?.status, 0);
      r = responses(await c.send(packet(0x00, { key: "bk" }), complete(1)));
      assert.equal(r[0]?.status, 0x01);
      assert.equal(r[0]?.value.toString(), "Not found");
      r = responses(await c.send(packet(0x0b), complete(1))); // VERSION
      assert.match(r[0]?.value.toString() ?? "", /^\d+\.\d+/);
    } finally {
      c.close();
    }
  });

  it("answers SERVER_ERROR out of memory when the key bound is reached", async () => {
    const small = await startFrontCluster(1, { maxKeys: 3 });
    try {
      const c = await McTestClient.connect(small.mcPort(small.leaderId()));
      try {
        const replies: string[] = [];
        for (let i = 0; i < 5; i++) replies.push(await c.text(`set k${i} 0 0 1\r\nv\r\n`));
        assert.deepEqual(replies.slice(0, 3), ["STORED\r\n", "STORED\r\n", "STORED\r\n"]);
        assert.equal(replies[4], "SERVER_ERROR out of memory storing object\r\n");
      } finally {
        c.close();
      }
    } finally {
      await small.close();
    }
  });
});
