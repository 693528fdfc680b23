"""Helpers shared by the end-to-end tests: run the real `tally` binary, start and stop
`tally serve` on a free loopback port, and speak HTTP to it with the standard library only."""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

SUB_A = "11111111-2222-3333-4444-555555555555"
SUB_B = "22222222-3333-4444-5555-666666666666"
IP_METER = "F271A8A388C44D93956A063E1D2FA80B"

TALLY = None


def parse_tally_arg():
    """Takes `--tally PATH` out of sys.argv (the rest goes to unittest)."""
    global TALLY
    if "--tally" in sys.argv:
        i = sys.argv.index("--tally")
        TALLY = sys.argv[i + 1]
        del sys.argv[i:i + 2]
    else:
        TALLY = os.environ.get("TALLY_BIN", "tally")


def env():
    e = dict(os.environ)
    e.pop("TALLY_DATA_DIR", None)
    return e


def run(*args, stdin=None, check=None):
    """Runs tally; returns (exit code, stdout, stderr)."""
    p = subprocess.run([TALLY, *args], input=stdin, capture_output=True, text=True, env=env(),
                       timeout=300)
    if check is not None and p.returncode != check:
        raise AssertionError(f"tally {' '.join(args)} exited {p.returncode}, wanted {check}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p.returncode, p.stdout, p.stderr


def create_key(data_dir, role, *extra):
    _, out, _ = run("keys", "create", "--data-dir", data_dir, "--role", role, *extra, check=0)
    token = out.strip().splitlines()[-1]
    assert token.startswith("tly_"), out
    return token


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificate(directory, names=("localhost",), ips=("127.0.0.1",)):
    """A self-signed certificate and its key (PEM files) for `names` and `ips`, made with the
    openssl command; returns (cert path, key path)."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    san = ",".join([f"DNS:{n}" for n in names] + [f"IP:{i}" for i in ips])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-keyout", key,
                    "-out", cert, "-subj", f"/CN={names[0]}", "-addext",
                    f"subjectAltName={san}"], check=True, capture_output=True)
    return cert, key


class Server:
    """A `tally serve` process on a free loopback port; over https when `tls` is a
    (cert, key) pair of PEM files; `extra_args` are added to the command line."""

    def __init__(self, data_dir, tls=None, extra_args=()):
        self.data_dir = data_dir
        self.tls = tls
        self.extra_args = list(extra_args)
        self.port = None
        self.proc = None

    @property
    def base_url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self):
        scheme = "https" if self.tls else "http"
        for _ in range(5):
            self.port = free_port()
            args = [TALLY, "serve", "--data-dir", self.data_dir, "--listen",
                    f"127.0.0.1:{self.port}"]
            if self.tls:
                args += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
            args += self.extra_args
            # stderr (the access log) goes to a file: an unread pipe would fill and block the
            # server.
            self.log_path = self.data_dir.rstrip("/") + f".serve-{self.port}.log"
            self.log = open(self.log_path, "w")
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log,
                                         text=True, env=env())
            line = self.proc.stdout.readline()
            if line.startswith(f"listening on {scheme}://"):
                self.wait_healthy()
                return self
            self.proc.wait(timeout=30)
            self.log.close()
            with open(self.log_path) as f:
                err = f.read()
            if "in use" not in err and "cannot listen" not in err:
                raise AssertionError(f"tally serve did not start: {line} {err}")
        raise AssertionError("no free port found for tally serve")

    def stderr_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def wait_healthy(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                status, _, _ = self.request("GET", "/healthz")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("tally serve never became healthy")

    def connection(self, timeout=120):
        if self.tls:
            context = ssl.create_default_context(cafile=self.tls[0])
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=120):
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            conn.close()

    def stop(self):
        """Graceful stop (SIGTERM); returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        return code

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


def record(record_id, hour, quantity, sub=SUB_A, meter=IP_METER, resource="ip1",
           reported=None, **extra):
    """A usage record of `hour` (an ISO hour such as 2024-05-01T10)."""
    start = hour + ":00:00Z"
    h = int(hour[-2:])
    if h == 23:
        raise ValueError("keep test hours below 23 so the end stays on the same day")
    end = f"{hour[:-2]}{h + 1:02d}:00:00Z"
    r = {
        "recordId": record_id,
        "subscriptionId": sub,
        "meterId": meter,
        "resourceUri": f"/subscriptions/{sub}/resourceGroups/rg/providers/"
                       f"Microsoft.Network/publicIPAddresses/{resource}",
        "location": "local",
        "usageStartTime": start,
        "usageEndTime": end,
        "quantity": quantity,
    }
    if reported:
        r["reportedTime"] = reported
    r.update(extra)
    return r


def ndjson(records):
    """NDJSON text; quantities given as strings are written as raw JSON numbers."""
    lines = []
    for r in records:
        text = json.dumps({k: v for k, v in r.items()}, separators=(",", ":"))
        if isinstance(r.get("quantity"), str):
            q = r["quantity"]
            text = text.replace('"quantity":' + json.dumps(q), '"quantity":' + q, 1)
        lines.append(text)
    return "\n".join(lines) + "\n"


class TempDirTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tally-e2e-")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            if s.proc is not None and s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def serve(self, data_dir, tls=None, extra_args=()):
        s = Server(data_dir, tls, extra_args)
        self.servers.append(s)
        return s.start()


def main():
    parse_tally_arg()
    unittest.main(verbosity=2)
