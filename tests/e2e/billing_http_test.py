#!/usr/bin/env python3
"""Invoices and billing exports over HTTP with the real `tally serve`: every invoice format and
every export format downloaded over HTTP is byte for byte what the CLI writes; exports arrive
with chunked transfer encoding in many chunks; tenants get only their own; bad requests get
ARM errors."""

import json
import socket
import unittest

import tally_e2e as t
from tally_e2e import run

from billing_test import OFFER, rate_card

PERIOD = "2026-10"
FOCUS_QUERY = "provider-name=Contoso%20Private%20Cloud&billing-account-id=acct-1"
FOCUS_FLAGS = ("--provider-name", "Contoso Private Cloud", "--billing-account-id", "acct-1")


def raw_get(port, path, token):
    """GET over a plain socket; returns (status line, headers dict, raw body bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                   "Connection: close\r\n\r\n").encode())
        data = b""
        while True:
            piece = s.recv(1 << 16)
            if not piece:
                break
            data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return lines[0], headers, body


def dechunk(body):
    """The chunks of a chunked body (the terminating zero-size chunk must be there)."""
    chunks = []
    while True:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return chunks
        chunks.append(rest[:size])
        assert rest[size:size + 2] == b"\r\n", "a chunk does not end with CRLF"
        body = rest[size + 2:]


class BillingOverHttp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.case = t.TempDirTestCase()
        cls.case.setUp()
        cls.d = d = cls.case.path("data")
        run("simulate", "--data-dir", d, "--seed", "11", "--start", "2026-10-01", "--days", "31",
            "--tenants", "3", "--scale", "0.25", check=0)
        _, out, _ = run("meters", "list", "--data-dir", d, "--format", "jsonl", check=0)
        meters = [m["id"] for m in map(json.loads, out.splitlines())]
        card = cls.case.path("card.json")
        with open(card, "w") as f:
            f.write(rate_card(meters))
        run("ratecards", "import", "--data-dir", d, "--offer", OFFER, card, check=0)
        _, out, _ = run("subscriptions", "list", "--data-dir", d, "--format", "jsonl", check=0)
        cls.tenants = sorted(s["id"] for s in map(json.loads, out.splitlines())
                             if s["kind"] == "tenant")
        for sub in cls.tenants[:2]:
            run("subscriptions", "add", "--data-dir", d, "--id", sub, "--offer", OFFER, check=0)
        run("invoices", "run", "--data-dir", d, "--period", PERIOD, check=0)
        run("invoices", "finalize", "--data-dir", d, "--period", PERIOD, check=0)

        # What the CLI writes, before the server holds the data directory.
        cls.cli = {}
        for sub in cls.tenants[:2]:
            for fmt in ("json", "csv", "html"):
                out_file = cls.case.path(f"{sub}.{fmt}")
                run("invoices", "show", "--data-dir", d, "--period", PERIOD, "--subscription", sub,
                    "--format", fmt, "--output", out_file, check=0)
                with open(out_file, "rb") as f:
                    cls.cli[(sub, fmt)] = f.read()
        for fmt, extra in (("usage-summary", ()), ("jsonl", ("--granularity", "Hourly")),
                           ("focus", FOCUS_FLAGS)):
            out_file = cls.case.path(f"export.{fmt}")
            run("export", "--data-dir", d, "--format", fmt, "--period", PERIOD, *extra,
                "--output", out_file, check=0)
            with open(out_file, "rb") as f:
                cls.cli[fmt] = f.read()

        cls.operator = t.create_key(d, "operator")
        cls.tenant = t.create_key(d, "tenant", "--subscription", cls.tenants[0])
        cls.server = t.Server(d).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.case.tearDown()

    def get(self, path, token):
        return self.server.request("GET", path, headers={"Authorization": f"Bearer {token}"})

    def test_invoices_are_listed_and_downloaded_as_the_cli_shows_them(self):
        status, _, body = self.get(f"/v1/invoices?period={PERIOD}", self.operator)
        self.assertEqual(status, 200, body)
        listed = json.loads(body)["value"]
        self.assertEqual(sorted(i["subscriptionId"] for i in listed), self.tenants[:2])
        self.assertTrue(all(i["status"] == "final" for i in listed))
        status, _, body = self.get("/v1/invoices", self.tenant)
        self.assertEqual([i["subscriptionId"] for i in json.loads(body)["value"]],
                         [self.tenants[0]])

        types = {"json": "application/json", "csv": "text/csv", "html": "text/html"}
        for sub in self.tenants[:2]:
            for fmt in ("json", "csv", "html"):
                status, headers, body = self.get(
                    f"/v1/subscriptions/{sub}/invoices/{PERIOD}?format={fmt}", self.operator)
                self.assertEqual(status, 200, body)
                self.assertEqual(body, self.cli[(sub, fmt)], (sub, fmt))
                self.assertTrue(headers["content-type"].startswith(types[fmt]))
                self.assertIn(f'filename="invoice-{sub}-{PERIOD}.{fmt}"',
                              headers["content-disposition"])

        # The tenant reads its own invoice, not the other one (the same 403 as for a
        # subscription that does not exist).
        mine = f"/v1/subscriptions/{self.tenants[0]}/invoices/{PERIOD}"
        self.assertEqual(self.get(mine, self.tenant)[0], 200)
        status, _, other = self.get(f"/v1/subscriptions/{self.tenants[1]}/invoices/{PERIOD}",
                                    self.tenant)
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(other)["error"]["code"], "AuthorizationFailed")
        _, _, unknown = self.get(f"/v1/subscriptions/{t.SUB_B}/invoices/{PERIOD}", self.tenant)
        self.assertEqual(other.replace(self.tenants[1].encode(), b"S"),
                         unknown.replace(t.SUB_B.encode(), b"S"))

    def test_exports_are_the_cli_bytes_streamed_in_chunks(self):
        for fmt, query, content_type in (
                ("usage-summary", "", "text/csv"),
                ("jsonl", "&granularity=Hourly", "application/x-ndjson"),
                ("focus", "&" + FOCUS_QUERY, "text/csv")):
            status, headers, body = self.get(f"/v1/exports/{fmt}?period={PERIOD}{query}",
                                             self.operator)
            self.assertEqual(status, 200, body[:300])
            self.assertEqual(headers.get("transfer-encoding"), "chunked", fmt)
            self.assertNotIn("content-length", headers)
            self.assertTrue(headers["content-type"].startswith(content_type))
            self.assertIn("attachment", headers["content-disposition"])
            self.assertEqual(body, self.cli[fmt], fmt)

        # On the wire: many chunks of at most 64 KiB, ended by the zero chunk.
        line, headers, raw = raw_get(self.server.port,
                                     f"/v1/exports/jsonl?period={PERIOD}&granularity=Hourly",
                                     self.operator)
        self.assertIn(" 200 ", line)
        chunks = dechunk(raw)
        self.assertGreater(len(chunks), 3, "the export was not streamed in pieces")
        self.assertTrue(all(len(c) <= 65536 for c in chunks))
        self.assertEqual(b"".join(chunks), self.cli["jsonl"])

    def test_head_and_a_client_that_leaves_mid_export(self):
        path = f"/v1/exports/jsonl?period={PERIOD}&granularity=Hourly"
        status, headers, body = self.server.request(
            "HEAD", path, headers={"Authorization": f"Bearer {self.operator}"})
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        # Read a little of the export and hang up: the server stops producing and goes on.
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=60) as s:
                s.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                           f"{self.operator}\r\n\r\n").encode())
                self.assertTrue(s.recv(1024).startswith(b"HTTP/1.1 200"))
        status, _, body = self.get(path, self.operator)
        self.assertEqual((status, body), (200, self.cli["jsonl"]))
        self.assertEqual(self.server.request("GET", "/healthz")[0], 200)

    def test_tenants_export_only_their_own_usage(self):
        status, _, body = self.get(f"/v1/exports/jsonl?period={PERIOD}", self.tenant)
        self.assertEqual(status, 200)
        subs = {json.loads(l)["subscriptionId"] for l in body.decode().splitlines()}
        self.assertEqual(subs, {self.tenants[0]})
        status, _, body = self.get(
            f"/v1/exports/jsonl?period={PERIOD}&subscriptionId={self.tenants[1]}", self.tenant)
        self.assertEqual(status, 403)

    def test_bad_requests_get_arm_errors(self):
        for path, status, code, message in (
                (f"/v1/exports/xml?period={PERIOD}", 400, "InvalidQueryParameterValue",
                 "format must be usage-summary, focus or jsonl"),
                ("/v1/exports/jsonl", 400, "InvalidQueryParameterValue",
                 "give either period or both from and to"),
                (f"/v1/exports/focus?period={PERIOD}", 400, "InvalidQueryParameterValue",
                 "needs provider-name"),
                ("/v1/invoices?period=2026-13", 400, "InvalidQueryParameterValue",
                 "period '2026-13'"),
                (f"/v1/subscriptions/{self.tenants[0]}/invoices/{PERIOD}?format=pdf", 400,
                 "InvalidQueryParameterValue", "format must be json, csv or html"),
                (f"/v1/subscriptions/{self.tenants[2]}/invoices/{PERIOD}", 404,
                 "InvoiceNotFound", "has no invoice")):
            got, headers, body = self.get(path, self.operator)
            self.assertEqual(got, status, (path, body))
            self.assertNotIn("transfer-encoding", headers)
            error = json.loads(body)["error"]
            self.assertEqual(error["code"], code, path)
            self.assertIn(message, error["message"], path)
        status, _, _ = self.server.request("GET", "/v1/invoices")
        self.assertEqual(status, 401)


if __name__ == "__main__":
    t.main()
