"""End-to-end: `tally serve` over TLS, the operator API with delegated providers, `tally usage
--server` following nextLink across pages, /metrics and the access log."""

import json
import os
import socket
import ssl
import subprocess

import tally_e2e as t
from tally_e2e import SUB_A, SUB_B, record, ndjson

SUB_C = "33333333-4444-5555-6666-777777777777"
DELEGATED = "44444444-5555-6666-7777-888888888888"
API = "api-version=2015-06-01-preview"


def many_records(sub, count, prefix):
    """`count` hourly records of distinct resources for `sub`, reported on 2024-05-03."""
    out = []
    for i in range(count):
        hour = f"2024-05-01T{i % 20:02d}"
        out.append(record(f"{prefix}-{i}", hour, f"{i % 7}.125", sub=sub,
                          resource=f"ip{i // 20}", reported="2024-05-03T00:00:00Z"))
    return out


class TlsOperatorTest(t.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.data = self.path("data")
        self.cert, self.key = t.make_certificate(self.tmp)
        # Three tenants: A and C under the Default Provider, B under a delegated provider.
        t.run("subscriptions", "add", "--data-dir", self.data, "--id", DELEGATED, "--kind",
              "provider", "--display-name", "Reseller", check=0)
        t.run("subscriptions", "add", "--data-dir", self.data, "--id", SUB_B, "--provider",
              DELEGATED, check=0)
        records = many_records(SUB_A, 1500, "a") + many_records(SUB_B, 300, "b") + \
            many_records(SUB_C, 10, "c")
        t.run("import", "--data-dir", self.data, "-", stdin=ndjson(records), check=0)
        _, out, _ = t.run("subscriptions", "list", "--data-dir", self.data, "--format", "jsonl",
                          check=0)
        subs = [json.loads(line) for line in out.splitlines()]
        self.default_provider = next(s["id"] for s in subs
                                     if s["kind"] == "provider" and s["provider"] == "")
        self.operator = t.create_key(self.data, "operator")
        self.reseller = t.create_key(self.data, "operator", "--subscription", DELEGATED)
        self.tenant_a = t.create_key(self.data, "tenant", "--subscription", SUB_A)

    def usage_cli(self, *args, data_dir=None):
        base = ["usage", "--from", "2024-05-03", "--to", "2024-05-04", "--granularity", "Hourly",
                "--format", "jsonl"]
        return t.run(*base, *args)

    def test_https_only_and_plain_http_refused_elsewhere(self):
        code, _, err = t.run("serve", "--data-dir", self.data, "--listen", "0.0.0.0:0")
        self.assertEqual(code, 2, err)
        self.assertIn("--tls-cert", err)
        code, _, err = t.run("serve", "--data-dir", self.data, "--listen", "127.0.0.1:0",
                             "--tls-cert", self.path("missing.pem"), "--tls-key", self.key)
        self.assertNotEqual(code, 0)
        self.assertIn("missing.pem", err)

        server = self.serve(self.data, tls=(self.cert, self.key))
        status, _, body = server.request("GET", "/healthz")
        self.assertEqual(status, 200, body)
        # A client that does not trust the certificate is refused by its own TLS stack.
        with self.assertRaises(ssl.SSLError):
            ctx = ssl.create_default_context()
            with socket.create_connection(("127.0.0.1", server.port)) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost"):
                    pass
        # TLS 1.1 is refused by the server.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        try:
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            ctx = None
        if ctx is not None:
            with self.assertRaises((ssl.SSLError, ConnectionResetError)):
                with socket.create_connection(("127.0.0.1", server.port)) as raw:
                    with ctx.wrap_socket(raw, server_hostname="localhost"):
                        pass
        # Plain http on the TLS port gets no HTTP answer.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                data = raw.recv(100)
            except (ConnectionResetError, socket.timeout):
                data = b""
            self.assertFalse(data.startswith(b"HTTP/1.1 200"))
        self.assertEqual(server.stop(), 0)

    def test_simulator_posts_over_https(self):
        server = self.serve(self.data, tls=(self.cert, self.key))
        reporter = t.create_key(self.path("keys"), "reporter")  # another directory's key
        code, _, err = t.run("simulate", "--server", server.base_url, "--ca-cert", self.cert,
                             "--token", reporter, "--tenants", "1", "--days", "1")
        self.assertNotEqual(code, 0)
        self.assertIn("401", err)
        server.stop()
        reporter = t.create_key(self.data, "reporter")
        server = self.serve(self.data, tls=(self.cert, self.key))
        code, out, err = t.run("simulate", "--server", server.base_url, "--ca-cert", self.cert,
                               "--token", reporter, "--tenants", "1", "--days", "1")
        self.assertEqual(code, 0, err)
        status, _, body = server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        accepted = [line for line in body.decode().splitlines()
                    if line.startswith('tally_ingest_records_total{outcome="accepted"}')]
        self.assertEqual(len(accepted), 1)
        self.assertGreater(int(accepted[0].split()[-1]), 0)
        self.assertEqual(server.stop(), 0)

    def test_operator_api_sees_direct_tenants_only(self):
        server = self.serve(self.data, tls=(self.cert, self.key))
        auth = {"Authorization": f"Bearer {self.operator}"}
        base = (f"/subscriptions/{self.default_provider}/providers/Microsoft.Commerce.Admin/"
                f"subscriberUsageAggregates?{API}&reportedStartTime=2024-05-03T00:00:00Z"
                f"&reportedEndTime=2024-05-04T00:00:00Z&aggregationGranularity=Hourly")
        seen = set()
        path = base
        pages = 0
        while path:
            status, headers, body = server.request("GET", path, headers=auth)
            self.assertEqual(status, 200, body)
            page = json.loads(body)
            pages += 1
            for a in page["value"]:
                seen.add(a["properties"]["subscriptionId"])
                self.assertEqual(a["type"], "Microsoft.Commerce.Admin/UsageAggregate")
            link = page.get("nextLink")
            if link:
                self.assertTrue(link.startswith(server.base_url + "/"), link)
                path = link[len(server.base_url):]
            else:
                path = None
        self.assertEqual(pages, 2)  # 1,500 + 10 aggregates of the Default Provider's tenants
        # The delegated provider is a direct tenant too, but has no usage; B is not direct.
        self.assertEqual(seen, {SUB_A, SUB_C})

        status, _, body = server.request("GET", base + f"&subscriberId={SUB_B}", headers=auth)
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["error"]["code"], "SubscriberIdIsNotDirectTenant")

        # The delegated provider's key reads its own tenant through its own path only.
        reseller = {"Authorization": f"Bearer {self.reseller}"}
        status, _, body = server.request("GET", base, headers=reseller)
        self.assertEqual(status, 403, body)
        own = base.replace(self.default_provider, DELEGATED)
        status, _, body = server.request("GET", own, headers=reseller)
        self.assertEqual(status, 200, body)
        subs = {a["properties"]["subscriptionId"] for a in json.loads(body)["value"]}
        self.assertEqual(subs, {SUB_B})
        # The legacy path answers the same.
        legacy = own.replace("Microsoft.Commerce.Admin", "Microsoft.Commerce")
        status, _, body2 = server.request("GET", legacy, headers=reseller)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body2)["value"], json.loads(body)["value"])

        # A tenant key gets 403 on the operator API.
        status, _, body = server.request("GET", base,
                                         headers={"Authorization": f"Bearer {self.tenant_a}"})
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body)["error"]["code"], "AuthorizationFailed")

        # /metrics counts what happened; the access log names the key, never the token.
        status, headers, body = server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/plain"))
        text = body.decode()
        self.assertIn('tally_api_errors_total{code="SubscriberIdIsNotDirectTenant"} 1', text)
        self.assertIn('status="403"', text)
        self.assertEqual(server.stop(), 0)
        log = server.stderr_text()
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        self.assertTrue(any(line.get("error") == "SubscriberIdIsNotDirectTenant"
                            for line in lines))
        self.assertNotIn(self.operator, log)
        # tly_<12 hex key ID>_<secret>; the secret may itself contain '_'.
        self.assertNotIn(self.operator[17:], log)
        self.assertIn(self.operator[4:16], log)

    def test_cli_reads_a_server_like_the_data_directory(self):
        # What the data directory says, read before the server takes it over.
        _, local_a, _ = self.usage_cli("--data-dir", self.data, "--subscription", SUB_A)
        _, local_c, _ = self.usage_cli("--data-dir", self.data, "--subscription", SUB_C)
        self.assertEqual(len(local_a.splitlines()), 1500)
        server = self.serve(self.data, tls=(self.cert, self.key))
        code, remote_a, err = self.usage_cli("--server", server.base_url, "--token",
                                             self.tenant_a, "--ca-cert", self.cert,
                                             "--subscription", SUB_A)
        self.assertEqual(code, 0, err)
        self.assertEqual(remote_a, local_a)  # two pages, followed through nextLink
        code, remote_all, err = self.usage_cli("--server", server.base_url, "--token",
                                               self.operator, "--ca-cert", self.cert,
                                               "--provider", self.default_provider)
        self.assertEqual(code, 0, err)
        self.assertEqual(sorted(remote_all.splitlines()),
                         sorted(local_a.splitlines() + local_c.splitlines()))
        # Errors of the server reach the user with their code.
        code, _, err = self.usage_cli("--server", server.base_url, "--token", self.tenant_a,
                                      "--ca-cert", self.cert, "--subscription", SUB_C)
        self.assertEqual(code, 1)
        self.assertIn("403 AuthorizationFailed", err)
        code, _, err = self.usage_cli("--server", server.base_url, "--token", self.tenant_a,
                                      "--subscription", SUB_A)
        self.assertEqual(code, 1)
        self.assertIn("certificate verify failed", err)
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    t.main()
