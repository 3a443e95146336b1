#!/usr/bin/env python3
"""A fake CRM/NMS vendor API for Sluice's integration tests and the namespace lab.

Serves fixture directories written from each vendor's public API documentation, over HTTP or
HTTPS, on 127.0.0.1 (or --bind) at --port (0 = an ephemeral port). The chosen port is printed
alone on the first line of stdout; logs go to stderr. Python 3 standard library only.

Vendors (each enabled by giving its fixture directory):
  --uisp DIR    UISP NMS v2.1. GET /nms/api/v2.1/sites, /devices (any query, e.g.
                ?withInterfaces=true), /data-links -> DIR/sites.json, devices.json,
                data-links.json. Header X-Auth-Token must equal --uisp-token.
  --splynx DIR  Splynx API 2.0. GET /api/2.0/<path> -> DIR/<path>.json (a JSON array for list
                endpoints). Authorization: Basic base64(--splynx-key:--splynx-secret). List
                endpoints honour the documented search parameters main_attributes[field]=value
                (equality), order[field]=ASC|DESC, limit and offset; HEAD answers with the
                X-total-count header.
  --sonar DIR   Sonar GraphQL. POST /api/graphql with {"query", "variables"} and
                Authorization: Bearer --sonar-token. The query's first field (account_statuses,
                network_sites, accounts, ...) selects DIR/<field>.json (a JSON array of entities).
                A variable holding {"page", "records_per_page"} pages the list; the answer is
                {"data": {field: {"entities": [...], "page_info": {page, records_per_page,
                total_count, total_pages}}}}. Filters applied: account_statuses(activates_account:
                true), and integer_fields {attribute, operator "EQ", search_value} found in the
                variables (e.g. account_status_id) on the top-level entities.

Failure injection (command line, or POST /_control/fail with the same names as JSON):
  --fail MODE        401 | 403 | 404 | 429 | 500 | 503 | delay | malformed | truncated | empty |
                     drop | gql-error
                     delay: sleep --delay-ms, then answer normally; malformed: "{not json";
                     truncated: Content-Length larger than the body sent, then close; empty: []
                     for list endpoints (no entities for Sonar); drop: close without answering;
                     gql-error: a GraphQL {"errors": [...]} answer with status 200.
  --fail-count N     only the first N matching requests fail (0 = every one)
  --fail-path TEXT   only requests whose path (or Sonar field) contains TEXT fail
  --delay-ms N       for --fail delay (default 5000)

Control endpoints (no authentication; loopback only):
  GET  /_control/requests         the requests seen so far: [{method, path, query, field,
                                  variables, status}]
  POST /_control/requests/clear   forget them
  POST /_control/fail             {"mode": ..., "count": N, "path": ..., "delay_ms": N}
                                  ({"mode": null} = no failure)
  PUT  /_control/fixture/<vendor>/<file>   replace a fixture file in memory (body = new text;
                                  e.g. /_control/fixture/uisp/sites.json); the files on disk are
                                  never written
  DELETE /_control/fixture/<vendor>/<file> drop the replacement (serve the disk file again)
  SIGHUP                          drop every replacement

Example:
  python3 tests/fakes/vendor_server.py --uisp tests/data/integrations/uisp/basic --port 0
  curl -X PUT --data-binary @new-sites.json http://127.0.0.1:PORT/_control/fixture/uisp/sites.json
"""

import argparse
import base64
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAIL_MODES = {"401", "403", "404", "429", "500", "503", "delay", "malformed", "truncated",
              "empty", "drop", "gql-error"}


class State:
    """Everything the handlers share, behind one lock."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.dirs = {"uisp": args.uisp, "splynx": args.splynx, "sonar": args.sonar}
        self.overrides = {}  # (vendor, relative file) -> bytes
        self.requests = []
        self.set_failure(args.fail, args.fail_count, args.fail_path, args.delay_ms)

    def set_failure(self, mode, count, path, delay_ms):
        if mode is not None and mode not in FAIL_MODES:
            raise ValueError(f"unknown failure mode {mode!r}")
        self.fail_mode = mode
        self.fail_left = count if count else None  # None = unlimited
        self.fail_path = path or ""
        self.delay_ms = delay_ms

    def take_failure(self, what):
        """The failure mode to apply to a request about `what` (path or field), or None."""
        with self.lock:
            if self.fail_mode is None or self.fail_path not in what:
                return None, 0
            if self.fail_left is not None:
                if self.fail_left <= 0:
                    return None, 0
                self.fail_left -= 1
            return self.fail_mode, self.delay_ms

    def fixture(self, vendor, relative):
        """The text of a fixture file (a replacement first), or None if absent."""
        with self.lock:
            if (vendor, relative) in self.overrides:
                return self.overrides[(vendor, relative)]
        base = self.dirs.get(vendor)
        if not base:
            return None
        path = os.path.normpath(os.path.join(base, relative))
        if not path.startswith(os.path.normpath(base) + os.sep) or not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()

    def log(self, entry):
        with self.lock:
            self.requests.append(entry)


def page_splynx(rows, query):
    """Splynx list search: main_attributes[f]=v, order[f]=ASC|DESC, offset, limit."""
    for key, values in query.items():
        m = re.fullmatch(r"main_attributes\[(\w+)\]", key)
        if m:
            field = m.group(1)
            rows = [r for r in rows if str(r.get(field)) == values[0]]
    for key, values in query.items():
        m = re.fullmatch(r"order\[(\w+)\]", key)
        if m:
            field = m.group(1)
            rows = sorted(rows, key=lambda r: _sort_key(r.get(field)),
                          reverse=values[0].upper() == "DESC")
    total = len(rows)
    offset = int(query.get("offset", ["0"])[0])
    rows = rows[offset:]
    if "limit" in query:
        rows = rows[:int(query["limit"][0])]
    return rows, total


def _sort_key(value):
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def graphql_field(query):
    """The first field of the operation's selection set: `query X($a: T) { field (...) {`."""
    m = re.search(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)", query or "")
    return m.group(1) if m else None


def find_paginator(value):
    if isinstance(value, dict):
        if "page" in value and "records_per_page" in value:
            return value
        for v in value.values():
            found = find_paginator(v)
            if found:
                return found
    elif isinstance(value, list):
        for v in value:
            found = find_paginator(v)
            if found:
                return found
    return None


def find_integer_filters(value, out):
    """Every {attribute, operator: EQ, search_value} under an integer_fields key."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "integer_fields" and isinstance(v, list):
                out.extend(f for f in v if isinstance(f, dict) and f.get("operator") == "EQ")
            else:
                find_integer_filters(v, out)
    elif isinstance(value, list):
        for v in value:
            find_integer_filters(v, out)
    return out


def filter_sonar(field, entities, query, variables):
    if field == "account_statuses" and re.search(r"activates_account\s*:\s*true", query):
        entities = [e for e in entities if e.get("activates_account")]
    wanted = {}
    for f in find_integer_filters(variables, []):
        wanted.setdefault(f["attribute"], set()).add(str(f["search_value"]))
    for attribute, values in wanted.items():
        if entities and attribute in entities[0]:
            entities = [e for e in entities if str(e.get(attribute)) in values]
    return entities


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SluiceFakeVendor/1"

    # --- plumbing -------------------------------------------------------------------------
    def log_message(self, fmt, *args):
        if self.server.state.args.verbose:
            sys.stderr.write("vendor_server: " + (fmt % args) + "\n")

    def send(self, status, body, content_type="application/json", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, value, headers=None):
        self.send(status, json.dumps(value, indent=1), headers=headers)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def apply_failure(self, what, empty_answer):
        """Applies the injected failure, if any. Returns (handled, answer_empty)."""
        mode, delay_ms = self.server.state.take_failure(what)
        if mode is None:
            return False, False
        if mode == "delay":
            time.sleep(delay_ms / 1000.0)
            return False, False
        if mode == "empty":
            return False, True
        if mode.isdigit():
            self.send_json(int(mode), {"error": {"message": f"injected {mode}",
                                                 "code": int(mode)}},
                           headers={"Retry-After": "0"} if mode == "429" else None)
        elif mode == "malformed":
            self.send(200, '{"entities": [ {"id": 1, "name": "trunc')  # well-formed HTTP, bad JSON
        elif mode == "truncated":
            payload = b'[{"id": 1, "name": "only part of the body'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload) + 4096))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif mode == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif mode == "gql-error":
            self.send_json(200, {"errors": [{"message": "injected GraphQL error"}]})
        return True, False

    # --- dispatch -------------------------------------------------------------------------
    def do_GET(self):
        self.route()

    def do_HEAD(self):
        self.route()

    def do_POST(self):
        self.route()

    def do_PUT(self):
        self.route()

    def do_DELETE(self):
        self.route()

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        try:
            if url.path.startswith("/_control/"):
                return self.control(url.path[len("/_control/"):])
            if url.path.startswith("/nms/api/v2.1/"):
                return self.uisp(url.path[len("/nms/api/v2.1/"):], query)
            if url.path.startswith("/api/2.0/"):
                return self.splynx(url.path[len("/api/2.0/"):], query)
            if url.path == "/api/graphql":
                return self.sonar()
            self.send_json(404, {"error": f"no route for {url.path}"})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout fired during an injected delay)

    def record(self, path, query=None, field=None, variables=None, status=200):
        self.server.state.log({"method": self.command, "path": path, "query": query or {},
                               "field": field, "variables": variables, "status": status})

    # --- UISP -----------------------------------------------------------------------------
    def uisp(self, resource, query):
        state = self.server.state
        if self.headers.get("X-Auth-Token") != state.args.uisp_token:
            self.record("/nms/api/v2.1/" + resource, query, status=401)
            return self.send_json(401, {"code": 401, "message": "Unauthorized"})
        self.record("/nms/api/v2.1/" + resource, query)
        handled, empty = self.apply_failure("/nms/api/v2.1/" + resource, True)
        if handled:
            return
        text = state.fixture("uisp", resource + ".json")
        if text is None:
            return self.send_json(404, {"code": 404, "message": f"no fixture {resource}"})
        self.send(200, b"[]" if empty else text)

    # --- Splynx ---------------------------------------------------------------------------
    def splynx(self, resource, query):
        state = self.server.state
        expected = "Basic " + base64.b64encode(
            f"{state.args.splynx_key}:{state.args.splynx_secret}".encode()).decode()
        path = "/api/2.0/" + resource
        if self.headers.get("Authorization") != expected:
            self.record(path, query, status=401)
            return self.send_json(401, {"error": {"message": "Unauthorized", "code": 401}})
        self.record(path, query)
        handled, empty = self.apply_failure(path, True)
        if handled:
            return
        text = state.fixture("splynx", resource + ".json")
        if text is None:
            return self.send_json(404, {"error": {"message": "Not found", "code": 404}})
        value = json.loads(text)
        if not isinstance(value, list):
            return self.send(200, text)
        rows, total = page_splynx([] if empty else value, query)
        self.send_json(200, rows, headers={"X-total-count": str(total)})

    # --- Sonar ----------------------------------------------------------------------------
    def sonar(self):
        state = self.server.state
        if self.command != "POST":
            return self.send_json(405, {"errors": [{"message": "POST only"}]})
        body = self.read_body()
        if self.headers.get("Authorization") != "Bearer " + state.args.sonar_token:
            self.record("/api/graphql", status=401)
            return self.send_json(401, {"errors": [{"message": "Unauthenticated."}]})
        try:
            request = json.loads(body)
            query, variables = request["query"], request.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            self.record("/api/graphql", status=400)
            return self.send_json(400, {"errors": [{"message": "body is not a GraphQL request"}]})
        field = graphql_field(query)
        self.record("/api/graphql", field=field, variables=variables)
        handled, empty = self.apply_failure(field or "", True)
        if handled:
            return
        text = state.fixture("sonar", f"{field}.json") if field else None
        if text is None:
            return self.send_json(200, {"errors": [{"message": f"unknown field {field}"}]})
        entities = [] if empty else filter_sonar(field, json.loads(text), query, variables)
        paginator = find_paginator(variables)
        total = len(entities)
        if paginator:
            per_page = int(paginator["records_per_page"])
            page = int(paginator["page"])
            entities = entities[(page - 1) * per_page: page * per_page]
        else:
            per_page, page = max(total, 1), 1
        page_info = {"page": page, "records_per_page": per_page, "total_count": total,
                     "total_pages": max(1, -(-total // per_page))}
        self.send_json(200, {"data": {field: {"entities": entities, "page_info": page_info}}})

    # --- control --------------------------------------------------------------------------
    def control(self, what):
        state = self.server.state
        if what == "requests" and self.command == "GET":
            with state.lock:
                return self.send_json(200, list(state.requests))
        if what == "requests/clear" and self.command == "POST":
            with state.lock:
                state.requests.clear()
            return self.send_json(200, {"ok": True})
        if what == "fail" and self.command == "POST":
            spec = json.loads(self.read_body() or b"{}")
            try:
                with state.lock:
                    state.set_failure(spec.get("mode"), spec.get("count", 0),
                                      spec.get("path", ""),
                                      spec.get("delay_ms", state.args.delay_ms))
            except ValueError as e:
                return self.send_json(400, {"error": str(e)})
            return self.send_json(200, {"ok": True})
        m = re.fullmatch(r"fixture/(uisp|splynx|sonar)/(.+)", what)
        if m and self.command in ("PUT", "DELETE"):
            key = (m.group(1), m.group(2))
            with state.lock:
                if self.command == "PUT":
                    state.overrides[key] = self.read_body()
                else:
                    state.overrides.pop(key, None)
            return self.send_json(200, {"ok": True})
        self.send_json(404, {"error": f"no control endpoint {self.command} {what}"})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # One line instead of a traceback: TLS refusals and dropped clients are expected here.
        sys.stderr.write(f"vendor_server: {client_address[0]}: {sys.exc_info()[1]!r}\n")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = ephemeral")
    p.add_argument("--port-file", help="also write the port to this file")
    p.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument("--uisp", help="UISP fixture directory")
    p.add_argument("--splynx", help="Splynx fixture directory")
    p.add_argument("--sonar", help="Sonar fixture directory")
    p.add_argument("--uisp-token", default="uisp-test-token")
    p.add_argument("--splynx-key", default="splynx-key")
    p.add_argument("--splynx-secret", default="splynx-secret")
    p.add_argument("--sonar-token", default="sonar-test-token")
    p.add_argument("--fail", choices=sorted(FAIL_MODES))
    p.add_argument("--fail-count", type=int, default=0)
    p.add_argument("--fail-path", default="")
    p.add_argument("--delay-ms", type=int, default=5000)
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    for name in ("uisp", "splynx", "sonar"):
        d = getattr(args, name)
        if d and not os.path.isdir(d):
            p.error(f"--{name} {d}: not a directory")
    return args


def main(argv):
    args = parse_args(argv)
    server = Server((args.bind, args.port), Handler)
    server.state = State(args)
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake runs in the handler's thread (first read), so a client that stalls or
        # refuses the certificate never blocks accept().
        server.socket = context.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)

    def drop_overrides(_signum, _frame):
        with server.state.lock:
            server.state.overrides.clear()

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGHUP, drop_overrides)
    signal.signal(signal.SIGTERM, stop)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(port, flush=True)
    sys.stderr.write(f"vendor_server: {'https' if args.tls_cert else 'http'}://{args.bind}:{port}"
                     f" uisp={args.uisp} splynx={args.splynx} sonar={args.sonar}"
                     f" fail={args.fail}\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
