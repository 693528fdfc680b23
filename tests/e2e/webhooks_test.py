#!/usr/bin/env python3
"""End-to-end webhooks with the real `tally` binary and a local receiver (http.server on an
ephemeral loopback port) that answers 500 twice and then 200: an invoice finalized with the CLI
is POSTed, signed with HMAC-SHA256, retried with backoff by `tally serve` (or by `tally webhooks
deliver`) until acknowledged; the delivery log shows every attempt, and a replay sends it again.
Also the error paths of `tally webhooks`."""

import hashlib
import hmac
import http.server
import json
import threading
import time

import tally_e2e as t
from tally_e2e import IP_METER, SUB_A, ndjson, record, run

OFFER = "MS-AZR-0003P"
SECRET = "whsec_e2e_0123456789abcdef"
# Small backoff so the test takes seconds: retries 150-300 ms, then 300-600 ms later.
FAST = ["--webhook-retry-base", "300ms", "--webhook-retry-cap", "2s"]


def verify_signature(header, body, secret, tolerance=300):
    """The receiver's check of docs/webhooks.md: HMAC-SHA256 of "t.body", recent t."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    t_value = int(parts["t"])
    if abs(time.time() - t_value) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t_value}.".encode() + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Receiver:
    """Records every POST; answers with `statuses` in order, then 200."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append((self.path, dict(self.headers), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tally"

    def count(self):
        with self.lock:
            return len(self.requests)

    def wait_for(self, n, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.count() >= n:
                return
            time.sleep(0.05)
        raise AssertionError(f"the receiver got {self.count()} requests, wanted {n}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def rate_card():
    return json.dumps({
        "OfferTerms": [], "Currency": "USD", "Locale": "en-US", "IsTaxIncluded": False,
        "Meters": [{"EffectiveDate": "2026-01-01T00:00:00Z", "IncludedQuantity": 0,
                    "MeterCategory": "Networking", "MeterId": IP_METER, "MeterName": "IP",
                    "MeterRates": {"0": 0.25}, "MeterRegion": "local", "MeterSubCategory": "",
                    "MeterTags": [], "Unit": "Hours"}]})


class Webhooks(t.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.path("data")
        records = [record(f"r{i}", f"2026-10-0{i + 1}T10", "3", reported="2026-10-09T00:00:00Z")
                   for i in range(4)]
        run("import", "--data-dir", self.d, "-", stdin=ndjson(records), check=0)
        card = self.path("card.json")
        with open(card, "w") as f:
            f.write(rate_card())
        run("ratecards", "import", "--data-dir", self.d, "--offer", OFFER, card, check=0)
        run("subscriptions", "add", "--data-dir", self.d, "--id", SUB_A, "--offer", OFFER,
            check=0)
        run("invoices", "run", "--data-dir", self.d, "--period", "2026-10", check=0)
        self.receiver = Receiver([500, 500])
        self.addCleanup(self.receiver.close)

    def add_endpoint(self):
        _, out, _ = run("webhooks", "add", "--data-dir", self.d, "--url", self.receiver.url,
                        "--secret", SECRET, check=0)
        self.assertIn("added webhook endpoint 1 " + self.receiver.url, out)

    def deliveries(self, *extra):
        _, out, _ = run("webhooks", "deliveries", "--data-dir", self.d, "--format", "jsonl",
                        *extra, check=0)
        return [json.loads(line) for line in out.splitlines()]

    def check_requests(self, n):
        """Every request is the final invoice, signed, with the same delivery ID."""
        _, invoice_text, _ = run("invoices", "show", "--data-dir", self.d, "--period", "2026-10",
                                 "--subscription", SUB_A, check=0)
        invoice = json.loads(invoice_text)
        self.assertEqual(len(self.receiver.requests), n)
        ids = set()
        for i, (path, headers, body) in enumerate(self.receiver.requests):
            self.assertEqual(path, "/hooks/tally")
            self.assertEqual(headers["Content-Type"], "application/json")
            self.assertEqual(headers["Tally-Event"], "invoice.finalized")
            self.assertEqual(headers["Tally-Attempt"], str(i + 1))
            self.assertTrue(verify_signature(headers["Tally-Signature"], body, SECRET),
                            headers["Tally-Signature"])
            self.assertFalse(verify_signature(headers["Tally-Signature"], body + b" ", SECRET))
            self.assertFalse(verify_signature(headers["Tally-Signature"], body, SECRET + "x"))
            sent = json.loads(body)
            self.assertEqual(sent["subscriptionId"], SUB_A)
            self.assertEqual(sent["period"], "2026-10")
            self.assertEqual(sent["total"], invoice["total"])
            self.assertEqual(sent, invoice)
            ids.add(headers["Tally-Delivery"])
        self.assertEqual(len(ids), 1)
        return ids.pop()

    def test_delivered_by_the_server_after_failing_twice_then_replayed(self):
        self.add_endpoint()
        code, out, err = run("webhooks", "list", "--data-dir", self.d)
        self.assertEqual(code, 0, err)
        self.assertIn(self.receiver.url, out)
        self.assertNotIn(SECRET, out)
        _, out, _ = run("webhooks", "list", "--data-dir", self.d, "--format", "jsonl", check=0)
        self.assertNotIn(SECRET, out)

        # Finalizing enqueues the delivery and tries it once: the receiver answers 500.
        code, out, err = run("invoices", "finalize", "--data-dir", self.d, "--period", "2026-10",
                             *FAST)
        self.assertEqual(code, 0, err)
        self.assertIn("1 finalized", out)
        self.assertIn("webhooks: 1 attempted, 0 delivered, 1 to retry, 0 failed", out)
        [pending] = self.deliveries()
        self.assertEqual(pending["status"], "pending")
        self.assertEqual([a["statusCode"] for a in pending["attempts"]], [500])

        # The server's background worker retries with backoff until the receiver says 200.
        server = self.serve(self.d, extra_args=FAST + ["--webhook-poll", "200ms"])
        self.receiver.wait_for(3)
        self.assertEqual(server.stop(), 0)
        log = [json.loads(line) for line in server.stderr_text().splitlines()
               if line.startswith('{"webhookDelivery"')]
        self.assertEqual([(e["attempt"], e["statusCode"], e["status"]) for e in log],
                         [(2, 500, "pending"), (3, 200, "delivered")])
        self.assertNotIn(SECRET, server.stderr_text())
        delivery_id = self.check_requests(3)

        [delivered] = self.deliveries()
        self.assertEqual(str(delivered["id"]), delivery_id)
        self.assertEqual(delivered["status"], "delivered")
        self.assertEqual(delivered["subject"], SUB_A + "/2026-10")
        self.assertEqual(delivered["url"], self.receiver.url)
        attempts = delivered["attempts"]
        self.assertEqual([a["attempt"] for a in attempts], [1, 2, 3])
        self.assertEqual([a["statusCode"] for a in attempts], [500, 500, 200])
        self.assertIsNotNone(delivered["delivered"])
        self.assertIsNone(delivered["nextAttempt"])
        _, table, _ = run("webhooks", "deliveries", "--data-dir", self.d, check=0)
        self.assertIn("delivered", table)
        self.assertIn("HTTP 200", table)

        # The operator replays it: sent again at once, same delivery ID, a fourth attempt.
        code, out, err = run("webhooks", "replay", "--data-dir", self.d, delivery_id)
        self.assertEqual(code, 0, err)
        self.assertIn("webhooks: 1 attempted, 1 delivered", out)
        self.check_requests(4)
        [replayed] = self.deliveries("--status", "delivered")
        self.assertEqual([a["statusCode"] for a in replayed["attempts"]], [500, 500, 200, 200])
        self.assertEqual(self.deliveries("--status", "pending"), [])

    def test_webhooks_deliver_retries_without_a_server(self):
        self.add_endpoint()
        run("invoices", "finalize", "--data-dir", self.d, "--period", "2026-10", *FAST, check=0)
        self.assertEqual(self.receiver.count(), 1)
        code, out, err = run("webhooks", "deliver", "--data-dir", self.d, "--deadline", "30s",
                             *FAST)
        self.assertEqual(code, 0, err)
        self.assertIn("attempt 2: HTTP 500 -> pending", out)
        self.assertIn("attempt 3: HTTP 200 -> delivered", out)
        self.assertIn("webhooks: 2 attempted, 1 delivered, 1 to retry, 0 failed", out)
        self.check_requests(3)
        [d] = self.deliveries()
        self.assertEqual(d["status"], "delivered")
        self.assertEqual(len(d["attempts"]), 3)

    def test_a_delivery_fails_after_its_attempts_and_an_unreachable_endpoint_is_logged(self):
        # An endpoint nobody listens on: every attempt fails without an answer.
        dead = f"http://127.0.0.1:{t.free_port()}/gone"
        run("webhooks", "add", "--data-dir", self.d, "--url", dead, "--secret", SECRET, check=0)
        run("invoices", "finalize", "--data-dir", self.d, "--period", "2026-10", *FAST,
            "--webhook-max-attempts", "2", check=0)
        code, out, _ = run("webhooks", "deliver", "--data-dir", self.d, *FAST,
                           "--webhook-max-attempts", "2")
        self.assertEqual(code, 1, out)
        [d] = self.deliveries("--status", "failed")
        self.assertEqual(len(d["attempts"]), 2)
        for a in d["attempts"]:
            self.assertEqual(a["statusCode"], 0)
            self.assertNotEqual(a["error"], "")
        # Removing the endpoint: replaying its deliveries is refused.
        run("webhooks", "remove", "--data-dir", self.d, "1", check=0)
        code, _, err = run("webhooks", "replay", "--data-dir", self.d, str(d["id"]))
        self.assertEqual(code, 2)
        self.assertIn("endpoint was removed", err)

    def test_bad_input_is_refused_clearly(self):
        cases = [
            (["webhooks", "add", "--url", "ftp://x/", "--secret", SECRET], "http:// or https://"),
            (["webhooks", "add", "--url", "http://127.0.0.1:9/", "--secret", "short"],
             "at least 16"),
            (["webhooks", "add", "--url", "http://127.0.0.1:9/", "--secret", SECRET,
              "--events", "invoice.paid"], "unknown event"),
            (["webhooks", "replay", "nope"], "not an ID"),
            (["webhooks", "deliveries", "--status", "lost"], "pending, delivered or failed"),
            (["invoices", "finalize", "--period", "2026-10", "--webhook-retry-base", "soon"],
             "not a duration"),
        ]
        for args, message in cases:
            code, _, err = run(*args[:2], "--data-dir", self.d, *args[2:])
            self.assertEqual(code, 2, (args, err))
            self.assertIn(message, err)
        code, _, err = run("webhooks", "replay", "--data-dir", self.d, "42")
        self.assertEqual(code, 1)
        self.assertIn("there is no webhook delivery 42", err)
        # A generated secret is printed once, as the last line.
        _, out, _ = run("webhooks", "add", "--data-dir", self.d, "--url", self.receiver.url,
                        check=0)
        self.assertTrue(out.strip().splitlines()[-1].startswith("whsec_"))
        # The refused finalize finalized nothing.
        _, out, _ = run("invoices", "list", "--data-dir", self.d, "--format", "jsonl", check=0)
        self.assertIn('"draft"', out)


if __name__ == "__main__":
    t.main()
