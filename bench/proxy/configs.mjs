// Config files for the benchmark's processes, written into one temp dir. Every contender gets the
// same two backends, round robin, keep-alive to the backends, and adds X-Forwarded-For in HTTP mode
// (Phalanx always does), so they do comparable work.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The small response body: 12 bytes, as in the issue's measurements. */
export const SMALL_BODY = "hello world\n";
/** The large response: 64 KiB. */
export const LARGE_BODY_BYTES = 64 * 1024;
/** Where Debian's nginx keeps its dynamic stream module (package libnginx-mod-stream). */
export const NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

/** True when nginx can load its stream (TCP proxy) module. */
export function hasNginxStream() {
  return existsSync(NGINX_STREAM_MODULE);
}

/** Writes the config of one nginx backend (one process, no master) serving /small and /64k. */
export function writeNginxBackend(dir, name, port) {
  const www = join(dir, "www");
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, "64k"), Buffer.alloc(LARGE_BODY_BYTES, "z"));
  const prefix = join(dir, name);
  mkdirSync(prefix, { recursive: true });
  const conf = join(prefix, "nginx.conf");
  writeFileSync(conf, `
user root;
daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${tempPaths(prefix)}
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = /small { return 200 "${SMALL_BODY.replace("\n", "\\n")}"; }
    location = /64k { root ${www}; }
  }
}
`);
  return { conf, prefix };
}

/** Writes the nginx contender: one worker proxying HTTP (and TCP when the stream module exists). */
export function writeNginxProxy(dir, { httpPort, tcpPort, backendPorts }) {
  const prefix = join(dir, "nginx-proxy");
  mkdirSync(prefix, { recursive: true });
  const conf = join(prefix, "nginx.conf");
  const servers = backendPorts.map((p) => `server 127.0.0.1:${p};`).join(" ");
  const stream = tcpPort === undefined ? "" : `
stream {
  upstream tcp_backends { ${servers} }
  server { listen 127.0.0.1:${tcpPort} backlog=4096; proxy_pass tcp_backends; }
}`;
  writeFileSync(conf, `
${tcpPort === undefined ? "" : `load_module ${NGINX_STREAM_MODULE};`}
user root;
daemon off;
master_process on;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${tempPaths(prefix)}
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  upstream backends { ${servers} keepalive 128; keepalive_requests 100000000; }
  server {
    listen 127.0.0.1:${httpPort} backlog=4096;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
${stream}
`);
  return { conf, prefix };
}

function tempPaths(prefix) {
  return ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((kind) => `${kind}_temp_path ${prefix}/${kind}_temp;`)
    .join("\n  ");
}

/** Writes the HAProxy contender: one thread, an HTTP frontend and a TCP frontend. */
export function writeHaproxy(dir, { httpPort, tcpPort, backendPorts }) {
  const conf = join(dir, "haproxy.cfg");
  const servers = backendPorts.map((p, i) => `  server b${i} 127.0.0.1:${p}`).join("\n");
  writeFileSync(conf, `
global
  nbthread 1
  maxconn 4000

defaults
  timeout connect 5s
  timeout client 300s
  timeout server 300s

frontend fe_http
  mode http
  option http-keep-alive
  option forwardfor
  bind 127.0.0.1:${httpPort}
  default_backend be_http

backend be_http
  mode http
  balance roundrobin
  http-reuse always
${servers}

frontend fe_tcp
  mode tcp
  bind 127.0.0.1:${tcpPort}
  default_backend be_tcp

backend be_tcp
  mode tcp
  balance roundrobin
${servers}
`);
  return { conf };
}

/** Writes the Phalanx config: the YAML format of `phalanx proxy --config FILE`. */
export function writePhalanx(dir, { httpPort, tcpPort, backendPorts }) {
  const conf = join(dir, "phalanx.yaml");
  const backends = backendPorts.map((p, i) => `{ id: b${i}, address: 127.0.0.1:${p} }`).join(", ");
  writeFileSync(conf, `frontends:
  - { name: bench, listen: 127.0.0.1:${httpPort}, protocol: http, routes: [ { pool: backends } ] }
  - { name: bench-tcp, listen: 127.0.0.1:${tcpPort}, protocol: tcp, pool: backends }
pools:
  - name: backends
    algorithm: round-robin
    backends: [ ${backends} ]
`);
  return { conf };
}
