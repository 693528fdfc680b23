#!/usr/bin/env python3
"""End-to-end tests of `tally serve`: POST /v1/usage/records with every status it answers, the
health routes, and the tenant usage API (authorization, errors, paging by nextLink)."""

import json
import socket
import urllib.parse

import tally_e2e as t
from tally_e2e import SUB_A, SUB_B, record, ndjson, run

REPORTED = "2024-05-02T00:30:00Z"
JSON_TYPE = "application/json; charset=utf-8"
USAGE_PATH = f"/subscriptions/{SUB_A}/providers/Microsoft.Commerce/UsageAggregates"


class HttpApi(t.TempDirTestCase):
    @classmethod
    def setUpClass(cls):
        pass

    def setUp(self):
        super().setUp()
        self.d = self.path("data")
        self.operator = t.create_key(self.d, "operator")
        self.reporter = t.create_key(self.d, "reporter")
        self.tenant = t.create_key(self.d, "tenant", "--subscription", SUB_A)
        self.revoked = t.create_key(self.d, "reporter")
        run("keys", "revoke", "--data-dir", self.d, self.revoked.split("_")[1], check=0)
        self.server = self.serve(self.d)

    def post(self, body, token=None, content_type="application/x-ndjson"):
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if content_type:
            headers["Content-Type"] = content_type
        status, headers, data = self.server.request("POST", "/v1/usage/records", body, headers)
        self.assertEqual(headers.get("content-type"), JSON_TYPE)
        return status, headers, json.loads(data)

    def get(self, target, token):
        status, headers, data = self.server.request("GET", target,
                                                    headers={"Authorization": f"Bearer {token}"})
        self.assertEqual(headers.get("content-type"), JSON_TYPE)
        return status, headers, json.loads(data)

    def usage_query(self, **params):
        q = {"api-version": "2015-06-01-preview", "reportedStartTime": "2024-05-02T00:00:00Z",
             "reportedEndTime": "2024-05-03T00:00:00Z", "aggregationGranularity": "Hourly"}
        q.update(params)
        return USAGE_PATH + "?" + urllib.parse.urlencode({k: v for k, v in q.items()
                                                          if v is not None})

    def test_health(self):
        status, headers, body = self.server.request("GET", "/healthz")
        self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}))
        self.assertEqual(headers["content-type"], JSON_TYPE)
        status, _, body = self.server.request("GET", "/readyz")
        self.assertEqual((status, json.loads(body)), (200, {"status": "ready"}))

    def test_accepts_and_counts_duplicates_once(self):
        batch = [record("a1", "2024-05-01T10", "0.1"), record("a2", "2024-05-01T10", "0.2")]
        self.assertEqual(self.post(ndjson(batch), self.reporter)[::2],
                         (200, {"accepted": 2, "duplicates": 0}))
        self.assertEqual(self.post(ndjson(batch), self.reporter)[::2],
                         (200, {"accepted": 0, "duplicates": 2}))
        # Repeated within one batch: stored once.
        twice = [record("a3", "2024-05-01T11", "1")] * 2
        self.assertEqual(self.post('{"records":[' + ",".join(ndjson([r]).strip() for r in twice)
                                   + "]}", self.operator,
                                   "application/json")[::2],
                         (200, {"accepted": 1, "duplicates": 1}))

    def test_operator_history_reads_back_once(self):
        batch = [record("h1", "2024-05-01T10", "0.1", reported=REPORTED),
                 record("h2", "2024-05-01T10", "0.2", reported=REPORTED)]
        for _ in range(3):
            self.assertEqual(self.post(ndjson(batch), self.operator)[0], 200)
        status, _, body = self.get(self.usage_query(), self.tenant)
        self.assertEqual(status, 200)
        self.assertEqual([v["properties"]["quantity"] for v in body["value"]], [0.3])
        self.assertNotIn("nextLink", body)
        v = body["value"][0]
        self.assertEqual(v["name"], f"{SUB_A}-{t.IP_METER}")
        self.assertEqual(v["id"], f"/subscriptions/{SUB_A}/providers/Microsoft.Commerce/"
                                  f"UsageAggregate/{SUB_A}-{t.IP_METER}")
        self.assertEqual(v["type"], "Microsoft.Commerce/UsageAggregate")

    def test_every_bad_record_is_listed(self):
        batch = [record("v0", "2024-05-01T10", "1"),
                 record("v1", "2024-05-01T10", "-1"),
                 record("v2", "2024-05-01T10", "1", subscriptionId="not-a-guid"),
                 record("v3", "2024-05-01T10", "1"),
                 record("v4", "2024-05-01T10", "1", reported=REPORTED)]
        status, _, body = self.post(ndjson(batch), self.reporter)
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["code"], "InvalidRecords")
        details = body["error"]["details"]
        self.assertEqual(sorted({d["index"] for d in details}), [1, 2, 4])
        self.assertIn(("quantity", 1), {(d["property"], d["index"]) for d in details})
        self.assertIn(("reportedTime", 4), {(d["property"], d["index"]) for d in details})
        # All or nothing: the valid records of the refused batch were not stored.
        self.assertEqual(self.post(ndjson([batch[0], batch[3]]), self.reporter)[::2],
                         (200, {"accepted": 2, "duplicates": 0}))

    def test_malformed_body(self):
        status, _, body = self.post('{"records":[{"recordId":', self.reporter, "application/json")
        self.assertEqual(status, 400)
        self.assertEqual(body["error"]["code"], "InvalidRequestBody")
        self.assertTrue(body["error"]["message"])

    def test_authentication(self):
        batch = ndjson([record("x1", "2024-05-01T10", "1")])
        for token in (None, "tly_000000000000_" + "A" * 43, "garbage", self.revoked):
            status, headers, body = self.post(batch, token)
            self.assertEqual(status, 401, token)
            self.assertEqual(headers["www-authenticate"], 'Bearer realm="tally"')
            self.assertEqual(body["error"]["code"], "AuthenticationFailed")
        # A right key ID with a wrong secret is refused the same way.
        wrong = self.reporter[:-1] + ("A" if self.reporter[-1] != "A" else "B")
        self.assertEqual(self.post(batch, wrong)[0], 401)
        status, _, body = self.post(batch, self.tenant)
        self.assertEqual(status, 403)
        self.assertEqual(body["error"]["code"], "AuthorizationFailed")

    def test_conflict(self):
        self.assertEqual(self.post(ndjson([record("c1", "2024-05-01T10", "1")]),
                                   self.reporter)[0], 200)
        status, _, body = self.post(ndjson([record("c2", "2024-05-01T10", "1"),
                                            record("c1", "2024-05-01T10", "2")]), self.reporter)
        self.assertEqual(status, 409)
        self.assertEqual(body["error"]["code"], "RecordConflict")
        self.assertEqual(body["error"]["details"], [{"index": 1, "recordId": "c1"}])
        self.assertEqual(self.post(ndjson([record("c2", "2024-05-01T10", "1")]),
                                   self.reporter)[::2], (200, {"accepted": 1, "duplicates": 0}))

    def test_unsupported_media_type(self):
        for ctype in ("text/plain", None, "application/json; charset=latin1"):
            status, _, body = self.post("{}", self.reporter, ctype)
            self.assertEqual(status, 415, ctype)
            self.assertEqual(body["error"]["code"], "UnsupportedMediaType")

    def test_payload_too_large(self):
        # Announce a body over the 64 MiB limit: refused before it is sent.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as s:
            s.sendall(b"POST /v1/usage/records HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer " + self.reporter.encode() + b"\r\n"
                      b"Content-Type: application/x-ndjson\r\n"
                      b"Content-Length: 70000000\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 413"), head)
        self.assertEqual(json.loads(body)["error"]["code"], "PayloadTooLarge")

    def test_not_found_and_method_not_allowed(self):
        status, _, body = self.server.request("GET", "/nope")
        self.assertEqual((status, json.loads(body)["error"]["code"]), (404, "NotFound"))
        status, headers, body = self.server.request("GET", "/v1/usage/records")
        self.assertEqual((status, json.loads(body)["error"]["code"]), (405, "MethodNotAllowed"))
        self.assertEqual(headers["allow"], "POST")
        status, headers, body = self.server.request("DELETE", "/healthz")
        self.assertEqual(status, 405)

    def test_usage_api_authorization(self):
        other = USAGE_PATH.replace(SUB_A, SUB_B)
        for token in (self.tenant, self.reporter):
            status, _, body = self.get(other + "?api-version=2015-06-01-preview", token)
            self.assertEqual((status, body["error"]["code"]), (403, "AuthorizationFailed"))
        status, _, body = self.get(self.usage_query(), self.operator)
        self.assertEqual((status, body), (200, {"value": []}))
        status, headers, _ = self.server.request("GET", self.usage_query())
        self.assertEqual(status, 401)

    def test_usage_api_errors(self):
        cases = [
            ({"api-version": None}, "NoApiVersion"),
            ({"api-version": "2099-01-01"}, "InvalidApiVersionParameter"),
            ({"reportedStartTime": None}, "InvalidProperty"),
            ({"reportedEndTime": "yesterday"}, "InvalidProperty"),
            ({"reportedStartTime": "2024-05-02T00:30:00Z"}, "InvalidProperty"),
            ({"aggregationGranularity": "Weekly"}, "InvalidAggregationGranularity"),
            ({"reportedEndTime": "2099-01-01"}, "RequestEndTimeIsInFuture"),
            ({"continuationToken": "bogus"}, "InvalidProperty"),
            ({"showDetails": "maybe"}, "InvalidProperty"),
        ]
        for params, code in cases:
            status, _, body = self.get(self.usage_query(**params), self.tenant)
            self.assertEqual((status, body["error"]["code"]), (400, code), params)
        _, _, body = self.get(self.usage_query(continuationToken="bogus"), self.tenant)
        self.assertIn("continuationToken", body["error"]["message"])
        _, _, body = self.get(self.usage_query(reportedStartTime=None), self.tenant)
        self.assertIn("reportedStartTime", body["error"]["message"])

    def test_usage_api_pages_by_next_link(self):
        # 2,500 hourly aggregates: three pages of 1000, 1000 and 500.
        records = []
        for i in range(2500):
            records.append(record(f"p{i}", f"2024-04-01T{i % 20:02d}", "1",
                                  resource=f"ip{i // 20}", reported=REPORTED))
        self.assertEqual(self.post(ndjson(records), self.operator)[::2],
                         (200, {"accepted": 2500, "duplicates": 0}))
        # The caller's own spelling of a parameter name and value is kept in nextLink.
        target = (self.usage_query(reportedStartTime=None) +
                  "&reportedstartTime=2024-05-02T00%3A00%3A00.000Z")
        seen = []
        pages = 0
        while target:
            status, _, body = self.get(target, self.tenant)
            self.assertEqual(status, 200, body)
            pages += 1
            seen += [(v["properties"]["usageStartTime"], v["properties"]["instanceData"])
                     for v in body["value"]]
            link = body.get("nextLink")
            if link:
                base = f"http://127.0.0.1:{self.server.port}{USAGE_PATH}?"
                self.assertTrue(link.startswith(base), link)
                self.assertIn("reportedstartTime=2024-05-02T00%3A00%3A00.000Z", link)
                self.assertIn("api-version=2015-06-01-preview", link)
                target = link[len(f"http://127.0.0.1:{self.server.port}"):]
            else:
                target = None
        self.assertEqual(pages, 3)
        self.assertEqual(len(seen), 2500)
        self.assertEqual(len(set(seen)), 2500)
        self.assertEqual([s[0] for s in seen], sorted(s[0] for s in seen))

    def test_graceful_stop(self):
        self.assertEqual(self.server.stop(), 0)


if __name__ == "__main__":
    t.main()
