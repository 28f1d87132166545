"""A small HTTP proxy for apt whose listening socket lives in another network namespace.

The VMs of scripts/vm/host.sh sit on libvirt networks inside the namespace `--netns`, which has no way out.
This proxy binds its port inside that namespace (a socket stays in the namespace it was created in) and
makes its outbound connections from the namespace it was started in, so the VMs' apt reaches Debian's
archive without any interface, route or firewall rule being added anywhere. Only plain-HTTP GET and HEAD
requests to the `--allow`ed hosts (port 80 unless given) are forwarded, one request per connection.

    python3 apt-proxy.py --netns ovlvm --port 3142 --allow deb.debian.org
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
from urllib.parse import urlsplit

HEAD_LIMIT = 64 * 1024
HOP_BY_HOP = {"connection", "proxy-connection", "keep-alive", "proxy-authorization"}


def listen_in_netns(netns, port):
    """A listening TCP socket on port `port` of every address of the named namespace."""
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    there = os.open("/run/netns/" + netns, os.O_RDONLY)
    try:
        os.setns(there, os.CLONE_NEWNET)
        try:
            sock = socket.create_server(("0.0.0.0", port), reuse_port=False)
        finally:
            os.setns(here, os.CLONE_NEWNET)
    finally:
        os.close(here)
        os.close(there)
    return sock


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk or len(data) > HEAD_LIMIT:
            return None, b""
        data += chunk
    head, _separator, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def reply(conn, status):
    conn.sendall(("HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % status).encode())


def upstream_request(head, allow):
    """(host, port, request bytes) for an allowed absolute-URI request, or an HTTP status to refuse with.
    `allow` holds (host, port) pairs."""
    request_line, *headers = head.split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or parts[0] not in ("GET", "HEAD"):
        return "405 Method Not Allowed"
    method, target, version = parts
    url = urlsplit(target)
    if url.scheme != "http" or (url.hostname, url.port or 80) not in allow:
        return "403 Forbidden"
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    kept = [h for h in headers if h.split(":", 1)[0].strip().lower() not in HOP_BY_HOP | {"host"}]
    lines = ["%s %s %s" % (method, path, version), "Host: %s" % url.netloc, *kept, "Connection: close", "", ""]
    return url.hostname, url.port or 80, "\r\n".join(lines).encode("latin-1")


def closing(head):
    """A response head that tells the client this connection ends with the response (as it does here)."""
    status, *headers = head.split("\r\n")
    kept = [h for h in headers if h.split(":", 1)[0].strip().lower() not in HOP_BY_HOP]
    return "\r\n".join([status, *kept, "Connection: close", "", ""]).encode("latin-1")


def serve(conn, allow, log):
    with conn:
        conn.settimeout(60)
        try:
            head, _body = read_head(conn)
            if head is None:
                return
            forward = upstream_request(head, allow)
            if isinstance(forward, str):
                log("refused %s: %s" % (head.split("\r\n", 1)[0], forward))
                reply(conn, forward)
                return
            host, port, request = forward
            with socket.create_connection((host, port), timeout=60) as up:
                up.sendall(request)
                status, body = read_head(up)
                if status is None:
                    reply(conn, "502 Bad Gateway")
                    return
                conn.sendall(closing(status) + body)
                while chunk := up.recv(65536):
                    conn.sendall(chunk)
        except OSError as e:
            log("error: %s" % e)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--netns", required=True, help="namespace to listen in")
    parser.add_argument("--port", type=int, default=3142)
    parser.add_argument("--allow", action="append", required=True, help="HOST[:PORT] to forward to (repeatable)")
    args = parser.parse_args(argv)
    sock = listen_in_netns(args.netns, args.port)
    allow = {(host, int(port or 80)) for host, _colon, port in (a.partition(":") for a in args.allow)}

    def log(message):
        print("apt-proxy: " + message, file=sys.stderr, flush=True)

    log("listening on port %d in namespace %s, forwarding to %s" % (args.port, args.netns, ", ".join(args.allow)))
    while True:
        conn, _address = sock.accept()
        threading.Thread(target=serve, args=(conn, allow, log), daemon=True).start()


if __name__ == "__main__":
    main()
