import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClusterCa } from "./ca.js";
import { clusterIdOfCa } from "./ca-info.js";
import { identityFromSubjectAltName, identityUri, parseIdentityUri } from "./identity.js";
import { createNodeKeyRequest, issueClientCertificate, issueNodeCertificate, signNodeRequest } from "./issue.js";
import { loadClusterCa, loadNodeCredentials, writeClusterCa, writeNodeCredentials } from "./files.js";
import { createJoinToken, hashJoinToken, verifyJoinToken } from "./token.js";
import { verifyCertificate } from "./verify.js";

const DAY_MS = 86_400_000;

describe("cluster PKI", () => {
  it("createClusterCa() makes a self-signed CA that records its cluster id", async () => {
    const ca = await createClusterCa({ clusterId: "c1" });
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.equal(cert.checkIssued(cert), true);
    assert.equal(clusterIdOfCa(ca.certPem), "c1");
  });

  it("issueNodeCertificate() names the node in a URI SAN next to its hostnames and IPs", async () => {
    const ca = await createClusterCa({ clusterId: "c1" });
    const node = await issueNodeCertificate(ca, { nodeId: 7, hostnames: ["localhost"], ips: ["127.0.0.1", "::1"] });
    const cert = new X509Certificate(node.certPem);
    assert.match(cert.subjectAltName ?? "", /URI:spiffe:\/\/phalanx\/c1\/node\/7/);
    assert.match(cert.subjectAltName ?? "", /DNS:localhost/);
    assert.match(cert.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
    assert.equal(cert.checkHost("localhost"), "localhost");
    assert.deepEqual(identityFromSubjectAltName(cert.subjectAltName), { kind: "node", clusterId: "c1", nodeId: 7 });
    const verdict = verifyCertificate(node.certPem, ca.certPem, { clusterId: "c1", expectedNodeId: 7 });
    assert.equal(verdict.ok, true);
  });

  it("verifyCertificate() refuses another CA's certificate, an expired one and another node's", async () => {
    const ca = await createClusterCa({ clusterId: "c1" });
    const other = await createClusterCa({ clusterId: "c1" });
    const foreign = await issueNodeCertificate(other, { nodeId: 1 });
    const expired = await issueNodeCertificate(ca, { nodeId: 1, now: new Date(Date.now() - 3 * DAY_MS), validityDays: 1 });
    const node2 = await issueNodeCertificate(ca, { nodeId: 2 });
    const codeOf = (pem: string, expectedNodeId?: number): string => {
      const v = verifyCertificate(pem, ca.certPem, { clusterId: "c1", expectedNodeId });
      return v.ok ? "ok" : v.code;
    };
    assert.equal(codeOf(foreign.certPem), "not_issued_by_ca");
    assert.equal(codeOf(expired.certPem), "expired");
    assert.equal(codeOf(node2.certPem, 1), "wrong_identity");
    assert.equal(codeOf(node2.certPem, 2), "ok");
    const v = verifyCertificate(node2.certPem, ca.certPem, { clusterId: "c2" });
    assert.equal(v.ok ? "ok" : v.code, "wrong_cluster");
  });

  it("a client certificate identifies a client and never a node", async () => {
    const ca = await createClusterCa({ clusterId: "c1" });
    const client = await issueClientCertificate(ca, { name: "admin" });
    const v = verifyCertificate(client.certPem, ca.certPem, { clusterId: "c1" });
    assert.ok(v.ok);
    assert.deepEqual(v.identity, { kind: "client", clusterId: "c1", name: "admin" });
    const asNode = verifyCertificate(client.certPem, ca.certPem, { clusterId: "c1", expectedNodeId: 1 });
    assert.equal(asNode.ok ? "ok" : asNode.code, "wrong_identity");
  });

  it("signNodeRequest() certifies a joining node's own key, with names chosen by the cluster", async () => {
    const ca = await createClusterCa({ clusterId: "c1" });
    const request = await createNodeKeyRequest();
    const certPem = await signNodeRequest(ca, request.csrPem, { nodeId: 4, ips: ["127.0.0.1"] });
    const v = verifyCertificate(certPem, ca.certPem, { clusterId: "c1", expectedNodeId: 4 });
    assert.equal(v.ok, true);
    await assert.rejects(signNodeRequest(ca, "not a csr", { nodeId: 4 }), /not a PEM PKCS#10 request/);
  });

  it("identity URIs round-trip and foreign URIs are not identities", () => {
    const uri = identityUri({ kind: "node", clusterId: "prod-1", nodeId: 12 });
    assert.equal(uri, "spiffe://phalanx/prod-1/node/12");
    assert.deepEqual(parseIdentityUri(uri), { kind: "node", clusterId: "prod-1", nodeId: 12 });
    assert.equal(parseIdentityUri("spiffe://other/prod-1/node/12"), null);
    assert.equal(parseIdentityUri("spiffe://phalanx/prod-1/node/0"), null);
    assert.equal(parseIdentityUri("spiffe://phalanx/prod-1/node/1/extra"), null);
    assert.throws(() => identityUri({ kind: "node", clusterId: "a/b", nodeId: 1 }), /Invalid cluster id/);
  });

  it("join tokens verify only against their own hash", () => {
    const a = createJoinToken();
    const b = createJoinToken();
    assert.notEqual(a.token, b.token);
    assert.equal(a.hash, hashJoinToken(a.token));
    assert.equal(verifyJoinToken(a.token, a.hash), true);
    assert.equal(verifyJoinToken(b.token, a.hash), false);
    assert.equal(verifyJoinToken(a.token, "not-hex"), false);
  });

  it("PKI files are written with private keys at mode 0600 and are never silently replaced", async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "phalanx-pki-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const ca = await createClusterCa({ clusterId: "c1" });
    const node = await issueNodeCertificate(ca, { nodeId: 1 });
    await writeClusterCa(dir, ca);
    await writeNodeCredentials(dir, node);
    assert.equal((await stat(join(dir, "ca.key"))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, "node.key"))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, "node.crt"))).mode & 0o777, 0o644);
    assert.deepEqual(await loadClusterCa(dir), ca);
    const loaded = await loadNodeCredentials(dir);
    assert.equal(loaded.certPem, node.certPem);
    assert.equal(loaded.caCertPem, ca.certPem);
    await assert.rejects(writeClusterCa(dir, ca), (e: Error & { code?: string }) => e.code === "EEXIST");
    await assert.rejects(loadNodeCredentials(join(dir, "missing")), /file is missing/);
  });
});
