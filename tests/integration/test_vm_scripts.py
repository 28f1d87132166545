"""The VM run's fast parts (scripts/test-vms.sh, scripts/vm/): its checks pass, and the apt proxy serves a client
inside a namespace from a server outside it without adding anything to either. The full VM run boots VMs and
takes much longer; the README says how to run it."""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
import time

import pytest
from kernel import ROOT, VENV_BIN, sh

PROXY = ROOT / "scripts" / "vm" / "apt-proxy.py"


def test_fast_checks_pass():
    result = subprocess.run(["bash", str(ROOT / "scripts" / "test-vms.sh"), "--check"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "test-vms: fast checks passed" in result.stdout


@pytest.fixture
def origin():
    """An HTTP server on the root namespace's loopback, standing in for Debian's archive."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = ("%s %s" % (self.headers["Host"], self.path)).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(netns, proxy_port, url):
    """What a client in `netns` gets for `url` through the proxy on its own loopback."""
    code = ("import urllib.request as u, urllib.error as e, sys\n"
            "o = u.build_opener(u.ProxyHandler({'http': 'http://127.0.0.1:%d'}))\n"
            "try:\n    print(o.open(sys.argv[1], timeout=10).read().decode())\n"
            "except e.HTTPError as err:\n    print(err.code)\n") % proxy_port
    return sh("python3", "-c", code, url, netns=netns).strip()


def test_apt_proxy_listens_inside_the_namespace_and_connects_from_outside(netns, origin):
    port = free_port()
    proxy = subprocess.Popen([str(VENV_BIN / "python"), str(PROXY), "--netns", netns, "--port", str(port),
                              "--allow", "127.0.0.1:%d" % origin], stderr=subprocess.PIPE, text=True)
    try:
        for _attempt in range(50):
            if ":%d " % port in sh("ss", "-ltnH", netns=netns):
                break
            time.sleep(0.1)
        assert fetch(netns, port, "http://127.0.0.1:%d/debian/dists/bookworm/Release" % origin) == (
            "127.0.0.1:%d /debian/dists/bookworm/Release" % origin)
        assert fetch(netns, port, "http://127.0.0.1:%d/x" % free_port()) == "403"
        # The listening socket is the namespace's only: nothing listens on that port in the root namespace.
        assert ":%d " % port not in sh("ss", "-ltnH")
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
