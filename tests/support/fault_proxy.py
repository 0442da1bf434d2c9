#!/usr/bin/env python3
"""HTTP/1.1 fault-injection reverse proxy for object-store tests (stdlib only).

    fault_proxy.py --listen-port P --upstream http://127.0.0.1:Q --failure-rate 0.1
                   [--seed N] [--delay-seconds D] [--control-file F] [--faults K,K,...]

Every request is either forwarded faithfully (request line, every header byte
for byte, Host included, so S3 SigV4 and Azure SharedKey signatures stay valid;
the body by Content-Length or chunked; keep-alive; Expect: 100-continue) and
the upstream's answer relayed as it came, or, with probability
--failure-rate, it meets one fault picked uniformly among --faults:

    500                  answer 500 InternalError (an S3/Azure-style XML error)
    503                  answer 503 SlowDown (ServerBusy for Azure requests)
    reset-before-body    reset the connection (RST) after the request's header,
                         before reading its body
    reset-after-forward  forward the request, read the upstream's whole answer
                         (so the upstream did the work), then reset instead of
                         answering
    delay                wait --delay-seconds (default 3), then forward normally

At a failure rate of 1 every request fails: delays are left out then.
--listen-port 0 takes any free port. "ready <port>" goes to stdout once
listening; stderr gets one line per request: "fault_proxy #N METHOD TARGET
fault=KIND" (KIND "none" when forwarded), and "fault_proxy #N <- STATUS" once
a forwarded answer has been relayed. If --control-file exists, the number in
it replaces the failure rate from the next request on (write it atomically).
The path of --upstream is ignored: request targets are forwarded unchanged.
"""

import argparse
import os
import random
import select
import socket
import struct
import sys
import threading
import time
import urllib.parse

ALL_FAULTS = ["500", "503", "reset-before-body", "reset-after-forward", "delay"]
MAX_HEAD = 1 << 20
COPY_CHUNK = 1 << 16


class ConnectionGone(Exception):
    pass


class Reader:
    """Buffered reads from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(COPY_CHUNK)
        if not data:
            raise ConnectionGone("connection closed")
        self.buf += data

    def head(self, allow_eof=False):
        """Bytes up to and including the blank line ending a message head.
        None on a clean end of stream before any byte when allow_eof."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                out, self.buf = self.buf[: end + 4], self.buf[end + 4 :]
                return out
            if len(self.buf) > MAX_HEAD:
                raise ConnectionGone("message head too long")
            try:
                self._fill()
            except ConnectionGone:
                if allow_eof and not self.buf:
                    return None
                raise

    def line(self):
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                out, self.buf = self.buf[: end + 2], self.buf[end + 2 :]
                return out
            if len(self.buf) > MAX_HEAD:
                raise ConnectionGone("line too long")
            self._fill()

    def some(self, limit):
        """Up to `limit` bytes (at least one); b"" at end of stream."""
        if not self.buf:
            data = self.sock.recv(min(limit, COPY_CHUNK))
            return data
        out, self.buf = self.buf[:limit], self.buf[limit:]
        return out

    def pending(self):
        return bool(self.buf)


def parse_head(head):
    """(first line parts, {lowercase name: value}) of a message head."""
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if not line or ":" not in line:
            continue
        name, value = line.split(":", 1)
        name = name.strip().lower()
        value = value.strip()
        headers[name] = headers[name] + "," + value if name in headers else value
    return first, headers


def body_framing(headers):
    """("chunked", None), ("length", n) or ("none", 0) for a request body."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return ("chunked", None)
    if "content-length" in headers:
        return ("length", int(headers["content-length"].split(",")[0]))
    return ("none", 0)


def copy_body(reader, framing, sink):
    """Copies a body framed as `framing` from `reader` to `sink(bytes)`,
    framing bytes included (chunked bodies are relayed as chunked)."""
    kind, length = framing
    if kind == "none":
        return
    if kind == "length" or kind == "close":
        remaining = length
        while kind == "close" or remaining > 0:
            data = reader.some(COPY_CHUNK if kind == "close" else min(remaining, COPY_CHUNK))
            if not data:
                if kind == "close":
                    return
                raise ConnectionGone("body cut short")
            sink(data)
            if kind == "length":
                remaining -= len(data)
        return
    # chunked: size line, data, CRLF ... last chunk "0", trailers, blank line
    while True:
        size_line = reader.line()
        sink(size_line)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while True:
                trailer = reader.line()
                sink(trailer)
                if trailer == b"\r\n":
                    return
        copy_body(reader, ("length", size + 2), sink)


def keep_alive(version, headers):
    conn = headers.get("connection", "").lower()
    if version.upper() == "HTTP/1.0":
        return "keep-alive" in conn
    return "close" not in conn


def reset(sock):
    """Closes abruptly: RST instead of FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class Proxy:
    def __init__(self, args):
        url = urllib.parse.urlsplit(args.upstream)
        if url.scheme != "http" or not url.hostname:
            sys.exit("fault_proxy: --upstream must be http://HOST:PORT")
        self.upstream = (url.hostname, url.port or 80)
        self.rate = args.failure_rate
        self.delay = args.delay_seconds
        self.control_file = args.control_file
        self.faults = []
        for name in args.faults.split(","):
            name = name.strip()
            if name == "reset":
                self.faults += ["reset-before-body", "reset-after-forward"]
            elif name in ALL_FAULTS:
                self.faults.append(name)
            elif name:
                sys.exit("fault_proxy: unknown fault %r (known: %s, reset)" % (name, ", ".join(ALL_FAULTS)))
        if not self.faults:
            sys.exit("fault_proxy: --faults is empty")
        self.rng = random.Random(args.seed)
        self.lock = threading.Lock()
        self.counter = 0

    def log(self, line):
        os.write(2, ("fault_proxy %s\n" % line).encode("utf-8", "replace"))

    def current_rate(self):
        if self.control_file:
            try:
                with open(self.control_file) as f:
                    return min(1.0, max(0.0, float(f.read().strip())))
            except (OSError, ValueError):
                pass
        return self.rate

    def decide(self):
        """(request number, fault or None)."""
        rate = self.current_rate()
        with self.lock:
            self.counter += 1
            number = self.counter
            if rate <= 0 or self.rng.random() >= rate:
                return number, None
            kinds = self.faults
            if rate >= 1.0:
                kinds = [k for k in kinds if k != "delay"] or kinds
            return number, self.rng.choice(kinds)

    # ---- one client connection ------------------------------------------

    def serve(self, client):
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        creader = Reader(client)
        upstream = None
        ureader = None
        try:
            while True:
                head = creader.head(allow_eof=True)
                if head is None:
                    return
                (method, target, version, *_), headers = parse_head(head)
                method = method.upper()
                framing = body_framing(headers)
                expect_continue = "100-continue" in headers.get("expect", "").lower()
                number, fault = self.decide()
                self.log("#%d %s %s fault=%s" % (number, method, target, fault or "none"))

                if fault == "reset-before-body":
                    reset(client)
                    client = None
                    return
                if fault in ("500", "503"):
                    if expect_continue:
                        # never asked for the body: answer and close
                        self.answer_error(client, number, fault, headers, method, close=True)
                        return
                    copy_body(creader, framing, lambda _data: None)
                    close = not keep_alive(version, headers)
                    self.answer_error(client, number, fault, headers, method, close=close)
                    if close:
                        return
                    continue
                if fault == "delay":
                    time.sleep(self.delay)

                # forward
                if upstream is not None and self.stale(upstream, ureader):
                    upstream.close()
                    upstream = None
                if upstream is None:
                    try:
                        upstream = socket.create_connection(self.upstream, timeout=None)
                    except OSError as e:
                        self.log("#%d upstream %s:%d unreachable: %s" % (number, *self.upstream, e))
                        body = b"upstream unreachable\n"
                        client.sendall(
                            b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                            b"Connection: close\r\n\r\n%s" % (len(body), b"" if method == "HEAD" else body)
                        )
                        return
                    upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    ureader = Reader(upstream)

                relay = None if fault == "reset-after-forward" else client.sendall
                upstream.sendall(head)
                body_sent = False
                final = None
                if expect_continue and framing[0] != "none":
                    # wait briefly for the upstream's 100 Continue (or an early final answer)
                    readable, _, _ = select.select([upstream], [], [], 1.0)
                    if readable:
                        final = self.read_response_head(ureader, client, stop_after_interim=True)
                if final is None:
                    copy_body(creader, framing, upstream.sendall)
                    body_sent = True
                    final = self.read_response_head(ureader, client)
                status_head, status_headers, status = final
                if relay:
                    relay(status_head)
                response_framing = self.response_framing(method, status, status_headers)
                copy_body(ureader, response_framing, relay or (lambda _data: None))
                upstream_close = response_framing[0] == "close" or "close" in status_headers.get(
                    "connection", ""
                ).lower()
                if fault == "reset-after-forward":
                    self.log("#%d <- %d from upstream, reset instead" % (number, status))
                    reset(client)
                    client = None
                    return
                self.log("#%d <- %d" % (number, status))
                if upstream_close:
                    upstream.close()
                    upstream = None
                if (
                    upstream_close
                    or not keep_alive(version, headers)
                    or (not body_sent and framing[0] != "none")
                ):
                    return
        except (ConnectionGone, OSError, ValueError) as e:
            self.log("connection ended: %s" % e)
        finally:
            if upstream is not None:
                upstream.close()
            if client is not None:
                try:
                    client.close()
                except OSError:
                    pass

    def stale(self, sock, reader):
        """An idle upstream connection the upstream has closed (or sent junk on)."""
        if reader.pending():
            return True
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)

    def read_response_head(self, ureader, client, stop_after_interim=False):
        """The final response head, relaying 1xx interim answers to the client
        (None after the first one if stop_after_interim: the body comes next)."""
        while True:
            head = ureader.head()
            (version, status, *_), headers = parse_head(head)
            status = int(status)
            if 100 <= status < 200 and status != 101:
                client.sendall(head)
                if stop_after_interim:
                    return None
                continue
            return head, headers, status

    @staticmethod
    def response_framing(method, status, headers):
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return ("none", 0)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return ("chunked", None)
        if "content-length" in headers:
            return ("length", int(headers["content-length"].split(",")[0]))
        return ("close", None)

    def answer_error(self, client, number, fault, headers, method, close):
        azure = "x-ms-version" in headers
        if fault == "500":
            status, code = "500 Internal Server Error", "InternalError"
            message = "We encountered an internal error. Please try again."
        else:
            status = "503 Service Unavailable"
            code = "ServerBusy" if azure else "SlowDown"
            message = "Please reduce your request rate."
        request_id = "fault-proxy-%d" % number
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s (injected by fault_proxy)'
            "</Message><RequestId>%s</RequestId></Error>" % (code, message, request_id)
        ).encode()
        extra = "x-ms-error-code: %s\r\nx-ms-request-id: %s\r\n" % (code, request_id) if azure else ""
        head = (
            "HTTP/1.1 %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\nx-amz-request-id: %s\r\n%s"
            "Retry-After: 0\r\nConnection: %s\r\n\r\n"
            % (status, len(body), request_id, extra, "close" if close else "keep-alive")
        ).encode()
        client.sendall(head + (b"" if method == "HEAD" else body))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen-port", type=int, required=True, help="0: any free port")
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--upstream", required=True, help="http://HOST:PORT")
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--delay-seconds", type=float, default=3.0)
    parser.add_argument("--control-file", default=None)
    parser.add_argument("--faults", default=",".join(ALL_FAULTS), help="comma-separated: " + ", ".join(ALL_FAULTS))
    args = parser.parse_args()
    proxy = Proxy(args)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.listen_host, args.listen_port))
    listener.listen(128)
    print("ready %d" % listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=proxy.serve, args=(client,), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
