#!/usr/bin/env python3
"""End-to-end tests of the `tally` command line: keys, subscriptions, meters, import in every
format (duplicates, conflicts, invalid records) and exact `tally usage` output."""

import json

import tally_e2e as t
from tally_e2e import SUB_A, SUB_B, IP_METER, record, ndjson, run

REPORTED = "2024-05-02T00:30:00Z"


def instance_data(resource="ip1", sub=SUB_A):
    return json.dumps({"Microsoft.Resources": {
        "resourceUri": f"/subscriptions/{sub}/resourceGroups/rg/providers/"
                       f"Microsoft.Network/publicIPAddresses/{resource}",
        "location": "local", "tags": None, "additionalInfo": None}}, separators=(",", ":"))


def usage_line(start, end, quantity, resource="ip1"):
    return ('{"subscriptionId":"%s","usageStartTime":"%s","usageEndTime":"%s",'
            '"instanceData":%s,"quantity":%s,"meterId":"%s"}'
            % (SUB_A, start, end, json.dumps(instance_data(resource)), quantity, IP_METER))


class Keys(t.TempDirTestCase):
    def test_create_list_revoke(self):
        d = self.path("data")
        code, out, err = run("keys", "create", "--data-dir", d, "--role", "operator",
                             "--label", "ops")
        self.assertEqual(code, 0, err)
        token = out.strip().splitlines()[-1]
        self.assertRegex(token, r"^tly_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$")
        key_id = token.split("_")[1]
        tenant = t.create_key(d, "tenant", "--subscription", SUB_A.upper())

        _, out, _ = run("keys", "list", "--data-dir", d, "--format", "jsonl", check=0)
        keys = {k["keyId"]: k for k in map(json.loads, out.splitlines())}
        self.assertEqual(keys[key_id]["role"], "operator")
        self.assertEqual(keys[key_id]["label"], "ops")
        self.assertIsNone(keys[key_id]["revoked"])
        self.assertEqual(keys[tenant.split("_")[1]]["subscriptions"], [SUB_A])
        self.assertNotIn(token.split("_", 2)[2], out)  # never the secret

        run("keys", "revoke", "--data-dir", d, key_id, check=0)
        _, out, _ = run("keys", "list", "--data-dir", d, "--format", "jsonl", check=0)
        keys = {k["keyId"]: k for k in map(json.loads, out.splitlines())}
        self.assertIsNotNone(keys[key_id]["revoked"])

        code, _, err = run("keys", "revoke", "--data-dir", d, "000000000000")
        self.assertEqual(code, 1)
        self.assertTrue(err.startswith("tally: "), err)

    def test_tenant_key_needs_a_subscription(self):
        code, _, err = run("keys", "create", "--data-dir", self.path("d"), "--role", "tenant")
        self.assertEqual(code, 2)
        self.assertEqual(err, "tally: a tenant key needs at least one --subscription\n")

    def test_unknown_role_is_a_usage_error(self):
        code, _, err = run("keys", "create", "--data-dir", self.path("d"), "--role", "admin")
        self.assertEqual(code, 2)
        self.assertIn("--role", err)


class Subscriptions(t.TempDirTestCase):
    def test_add_list_update(self):
        d = self.path("data")
        # An offer is priced by its rate card: the subscription can only be put on one that has
        # a card.
        card = self.path("gold.json")
        with open(card, "w") as f:
            f.write('{"Meters":[],"Currency":"USD"}')
        run("ratecards", "import", "--data-dir", d, "--offer", "gold", card, check=0)
        run("subscriptions", "add", "--data-dir", d, "--id", SUB_A.upper(), "--owner",
            "ann@example.com", "--display-name", "Ann's team", "--offer", "gold", check=0)
        _, out, _ = run("subscriptions", "list", "--data-dir", d, "--format", "jsonl", check=0)
        subs = {s["id"]: s for s in map(json.loads, out.splitlines())}
        self.assertEqual(subs[SUB_A], {"id": SUB_A, "kind": "tenant", "provider": "",
                                       "owner": "ann@example.com", "displayName": "Ann's team",
                                       "offer": "gold", "state": "active"})
        providers = [s for s in subs.values() if s["kind"] == "provider"]
        self.assertEqual(len(providers), 1)
        self.assertEqual(providers[0]["displayName"], "Default Provider Subscription")

        run("subscriptions", "add", "--data-dir", d, "--id", SUB_A, "--owner", "bob@example.com",
            check=0)
        _, out, _ = run("subscriptions", "list", "--data-dir", d, "--format", "jsonl", check=0)
        subs = {s["id"]: s for s in map(json.loads, out.splitlines())}
        self.assertEqual(subs[SUB_A]["owner"], "bob@example.com")
        self.assertEqual(subs[SUB_A]["displayName"], "Ann's team")

    def test_usage_registers_unknown_subscription_until_added(self):
        d = self.path("data")
        f = self.path("r.ndjson")
        with open(f, "w") as fh:
            fh.write(ndjson([record("u1", "2024-05-01T10", "1", sub=SUB_B, reported=REPORTED)]))
        run("import", "--data-dir", d, f, check=0)
        _, out, _ = run("subscriptions", "list", "--data-dir", d, "--format", "jsonl", check=0)
        subs = {s["id"]: s for s in map(json.loads, out.splitlines())}
        self.assertEqual(subs[SUB_B]["state"], "unregistered")
        run("subscriptions", "add", "--data-dir", d, "--id", SUB_B, check=0)
        _, out, _ = run("subscriptions", "list", "--data-dir", d, "--format", "jsonl", check=0)
        subs = {s["id"]: s for s in map(json.loads, out.splitlines())}
        self.assertEqual(subs[SUB_B]["state"], "active")

    def test_bad_guid_is_a_usage_error(self):
        code, _, err = run("subscriptions", "add", "--data-dir", self.path("d"), "--id", "nope")
        self.assertEqual(code, 2)
        self.assertEqual(err, "tally: --id 'nope' is not a GUID\n")


class Customers(t.TempDirTestCase):
    CUSTOMER = "c0000000-0000-4000-8000-00000000000c"
    OTHER = "d0000000-0000-4000-8000-00000000000d"

    def customers(self, d):
        _, out, _ = run("customers", "list", "--data-dir", d, "--format", "jsonl", check=0)
        return {c["id"]: c for c in map(json.loads, out.splitlines())}

    def test_add_update_and_one_customer_per_subscription(self):
        d = self.path("data")
        _, out, _ = run("customers", "add", "--data-dir", d, "--id", self.CUSTOMER.upper(),
                        "--name", "Contoso", "--subscription", SUB_B, "--subscription",
                        SUB_A.upper(), check=0)
        self.assertEqual(out, f"added customer {self.CUSTOMER} with 2 subscription(s)\n")
        c = self.customers(d)[self.CUSTOMER]
        self.assertEqual((c["name"], c["subscriptions"]), ("Contoso", [SUB_A, SUB_B]))

        code, _, err = run("customers", "add", "--data-dir", d, "--id", self.OTHER,
                           "--subscription", SUB_A)
        self.assertEqual(code, 2)
        self.assertIn(f"subscription {SUB_A} belongs to customer {self.CUSTOMER}", err)
        self.assertNotIn(self.OTHER, self.customers(d))

        run("customers", "add", "--data-dir", d, "--id", self.CUSTOMER, "--remove", SUB_A,
            check=0)
        run("customers", "add", "--data-dir", d, "--id", self.OTHER, "--name", "Fabrikam",
            "--subscription", SUB_A, check=0)
        all_customers = self.customers(d)
        self.assertEqual(all_customers[self.CUSTOMER]["subscriptions"], [SUB_B])
        self.assertEqual(all_customers[self.CUSTOMER]["name"], "Contoso")
        self.assertEqual(all_customers[self.OTHER]["subscriptions"], [SUB_A])

    def test_bad_ids_and_provider_subscriptions_are_usage_errors(self):
        d = self.path("data")
        code, _, err = run("customers", "add", "--data-dir", d, "--id", "contoso",
                           "--subscription", "nope")
        self.assertEqual(code, 2)
        self.assertIn("customer id 'contoso' is not a GUID", err)
        self.assertIn("subscription id 'nope' is not a GUID", err)
        run("subscriptions", "add", "--data-dir", d, "--id", SUB_B, "--kind", "provider", check=0)
        code, _, err = run("customers", "add", "--data-dir", d, "--id", self.CUSTOMER,
                           "--subscription", SUB_B)
        self.assertEqual(code, 2)
        self.assertIn("is a provider subscription", err)


class Meters(t.TempDirTestCase):
    def test_list_add_and_name_unknown(self):
        d = self.path("data")
        run("subscriptions", "add", "--data-dir", d, "--id", SUB_A, check=0)
        _, out, _ = run("meters", "list", "--data-dir", d, "--format", "jsonl", check=0)
        meters = {m["id"]: m for m in map(json.loads, out.splitlines())}
        self.assertEqual(meters[IP_METER]["name"], "Static IP Address Usage")
        self.assertEqual(meters[IP_METER]["source"], "builtin")
        _, table, _ = run("meters", "list", "--data-dir", d, check=0)
        self.assertTrue(table.startswith("ID "), table[:100])
        self.assertIn("Static IP Address Usage", table)

        run("meters", "add", "--data-dir", d, "--id", "CUSTOM-GPU-1", "--name", "GPU hours",
            "--unit", "hours", "--family", "Compute", check=0)
        _, out, _ = run("meters", "list", "--data-dir", d, "--format", "jsonl", check=0)
        meters = {m["id"]: m for m in map(json.loads, out.splitlines())}
        self.assertEqual(meters["CUSTOM-GPU-1"]["source"], "custom")
        self.assertEqual(meters["CUSTOM-GPU-1"]["unit"], "hours")

        f = self.path("r.ndjson")
        with open(f, "w") as fh:
            fh.write(ndjson([record("m1", "2024-05-01T10", "1", meter="mystery-meter",
                                    reported=REPORTED)]))
        run("import", "--data-dir", d, f, check=0)
        _, out, _ = run("meters", "list", "--data-dir", d, "--unknown", "--format", "jsonl",
                        check=0)
        self.assertEqual([m["id"] for m in map(json.loads, out.splitlines())], ["mystery-meter"])
        run("meters", "add", "--data-dir", d, "--id", "mystery-meter", "--name", "Mystery",
            "--unit", "count", check=0)
        _, out, _ = run("meters", "list", "--data-dir", d, "--unknown", "--format", "jsonl",
                        check=0)
        self.assertEqual(out, "")

    def test_read_commands_do_not_create_a_data_dir(self):
        code, _, err = run("meters", "list", "--data-dir", self.path("missing"))
        self.assertEqual(code, 1)
        self.assertTrue(err.startswith("tally: "), err)


class Import(t.TempDirTestCase):
    def write(self, name, text):
        p = self.path(name)
        with open(p, "w") as fh:
            fh.write(text)
        return p

    def records(self):
        return [record("r1", "2024-05-01T10", "0.1", reported=REPORTED),
                record("r2", "2024-05-01T10", "0.2", reported=REPORTED),
                record("r3", "2024-05-01T11", "0.5", reported=REPORTED)]

    def test_every_format_and_duplicates(self):
        d = self.path("data")
        nd = self.write("a.ndjson", ndjson(self.records()))
        js = self.write("b.json", '{"records":[' + ",".join(
            ndjson([r]).strip() for r in self.records()) + "]}")
        header = "recordId,subscriptionId,meterId,resourceUri,location,usageStartTime," \
                 "usageEndTime,quantity,reportedTime\n"
        rows = "".join(
            f'{r["recordId"]},{r["subscriptionId"]},{r["meterId"]},{r["resourceUri"]},'
            f'{r["location"]},{r["usageStartTime"]},{r["usageEndTime"]},{r["quantity"]},'
            f'{r["reportedTime"]}\n' for r in self.records())
        csv = self.write("c.csv", header + rows)

        code, out, err = run("import", "--data-dir", d, nd)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, f"imported 3 records (0 duplicates) from {nd}\n")
        code, out, err = run("import", "--data-dir", d, js, csv)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, f"imported 0 records (3 duplicates) from {js}\n"
                              f"imported 0 records (3 duplicates) from {csv}\n")
        code, out, _ = run("import", "--data-dir", d, "--format", "ndjson", "-",
                           stdin=ndjson(self.records()))
        self.assertEqual(code, 0)
        self.assertEqual(out, "imported 0 records (3 duplicates) from stdin\n")

    def test_conflict_refuses_the_batch_and_names_the_line(self):
        d = self.path("data")
        run("import", "--data-dir", d, self.write("a.ndjson", ndjson(self.records())), check=0)
        changed = self.records()
        changed[1]["quantity"] = "0.25"
        f = self.write("b.ndjson", ndjson([record("r4", "2024-05-01T12", "1",
                                                  reported=REPORTED)] + changed))
        code, out, err = run("import", "--data-dir", d, f)
        self.assertEqual(code, 1)
        self.assertEqual(err, f"{f}:3: recordId: 'r2' is already stored with different content\n")
        self.assertEqual(out, f"imported 0 records (0 duplicates) from {f}; "
                              "4 records in refused batches\n")
        # Nothing of the refused batch was stored: r4 is new on a second, clean run.
        f2 = self.write("c.ndjson", ndjson([record("r4", "2024-05-01T12", "1",
                                                   reported=REPORTED)]))
        _, out, _ = run("import", "--data-dir", d, f2, check=0)
        self.assertEqual(out, f"imported 1 record (0 duplicates) from {f2}\n")

    def test_every_invalid_record_is_reported_and_other_batches_go_in(self):
        d = self.path("data")
        good = [record(f"g{i}", "2024-05-01T10", "1", resource=f"ip{i}", reported=REPORTED)
                for i in range(4)]
        bad1 = record("b1", "2024-05-01T10", "-1", reported=REPORTED)
        bad2 = record("b2", "2024-05-01T10", "1", reported=REPORTED)
        bad2["usageEndTime"] = "2024-05-01T13:00:00Z"
        # Batches of 2: [g0 g1] [bad1 g2] [g3 bad2] -> the first goes in, the others are refused.
        f = self.write("a.ndjson", ndjson([good[0], good[1], bad1, good[2], good[3], bad2]))
        code, out, err = run("import", "--data-dir", d, "--batch-size", "2", f)
        self.assertEqual(code, 1)
        lines = err.splitlines()
        self.assertEqual(len(lines), 2, err)
        self.assertTrue(lines[0].startswith(f"{f}:3: quantity: "), lines[0])
        self.assertTrue(lines[1].startswith(f"{f}:6: usageEndTime: "), lines[1])
        self.assertEqual(out, f"imported 2 records (0 duplicates) from {f}; "
                              "4 records in refused batches\n")

    def test_unknown_extension_is_a_usage_error(self):
        code, _, err = run("import", "--data-dir", self.path("d"), self.write("x.txt", ""))
        self.assertEqual(code, 2)
        self.assertIn("--format", err)


class Usage(t.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.path("data")
        f = self.path("r.ndjson")
        with open(f, "w") as fh:
            fh.write(ndjson([
                record("r1", "2024-05-01T10", "0.1", reported=REPORTED),
                record("r2", "2024-05-01T10", "0.2", reported=REPORTED),
                record("r3", "2024-05-01T11", "0.000000000000001", reported=REPORTED),
                record("r4", "2024-05-01T11", "12345678901234567890.5", resource="ip2",
                       reported=REPORTED),
                # Reported the next day: outside the window below.
                record("r5", "2024-05-01T12", "7", reported="2024-05-03T00:00:00Z"),
            ]))
        run("import", "--data-dir", self.d, f, check=0)

    def usage(self, granularity, fmt="jsonl", frm="2024-05-02", to="2024-05-03"):
        return run("usage", "--data-dir", self.d, "--subscription", SUB_A, "--from", frm,
                   "--to", to, "--granularity", granularity, "--format", fmt)

    def test_hourly_jsonl_is_exact(self):
        code, out, err = self.usage("Hourly")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out.splitlines(), [
            usage_line("2024-05-01T10:00:00+00:00", "2024-05-01T11:00:00+00:00", "0.3"),
            usage_line("2024-05-01T11:00:00+00:00", "2024-05-01T12:00:00+00:00",
                       "0.000000000000001"),
            usage_line("2024-05-01T11:00:00+00:00", "2024-05-01T12:00:00+00:00",
                       "12345678901234567890.5", resource="ip2"),
        ])

    def test_daily_is_the_sum_of_the_days_hours(self):
        code, out, _ = self.usage("Daily")
        self.assertEqual(code, 0)
        self.assertEqual(out.splitlines(), [
            usage_line("2024-05-01T00:00:00+00:00", "2024-05-02T00:00:00+00:00",
                       "0.300000000000001"),
            usage_line("2024-05-01T00:00:00+00:00", "2024-05-02T00:00:00+00:00",
                       "12345678901234567890.5", resource="ip2"),
        ])

    def test_table_and_csv(self):
        code, out, _ = self.usage("Daily", "table")
        self.assertEqual(code, 0)
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("USAGE START"))
        self.assertIn("Static IP Address Usage", lines[1])
        self.assertIn("0.300000000000001", lines[1])
        self.assertTrue(lines[1].endswith("/publicIPAddresses/ip1"), lines[1])
        self.assertEqual(lines[1].index("0.300000000000001") + len("0.300000000000001"),
                         lines[2].index("12345678901234567890.5") + len("12345678901234567890.5"))
        code, out, _ = self.usage("Daily", "csv")
        self.assertEqual(code, 0)
        self.assertEqual(out.splitlines()[0], "subscriptionId,usageStartTime,usageEndTime,"
                                              "meterId,meterName,quantity,resourceUri")
        self.assertEqual(out.splitlines()[1],
                         f"{SUB_A},2024-05-01T00:00:00Z,2024-05-02T00:00:00Z,{IP_METER},"
                         f"Static IP Address Usage,0.300000000000001,/subscriptions/{SUB_A}/"
                         "resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/ip1")

    def test_invalid_window_is_a_usage_error(self):
        code, out, err = self.usage("Daily", frm="2024-05-02T01:00:00Z")
        self.assertEqual(code, 2)
        self.assertEqual(out, "")
        self.assertTrue(err.startswith("tally: ") and "midnight" in err, err)
        code, _, err = self.usage("Hourly", frm="2024-05-03", to="2024-05-02")
        self.assertEqual(code, 2)
        code, _, err = self.usage("Weekly")
        self.assertEqual(code, 2)


if __name__ == "__main__":
    t.main()
