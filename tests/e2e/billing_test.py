#!/usr/bin/env python3
"""End-to-end chargeback with the real `tally` binary: a simulated month, a rate card, tenants on
the offer, invoices run and finalized, usage arriving late for the finalized month, and the next
month's invoice carrying it as adjustment lines while the final invoice stays byte for byte the
same. Also the error paths of the billing commands."""

import csv
import io
import json
from decimal import Decimal

import tally_e2e as t
from tally_e2e import IP_METER, SUB_B, record, ndjson, run

OFFER = "MS-AZR-0003P"


def load(text):
    """JSON with every number as an exact Decimal (quantities carry up to 15 digits)."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def rate_card(meter_ids, currency="USD", first_price="0.01"):
    """Every meter at `first_price` per unit up to 1000 units a month, half of it above."""
    meters = [{"EffectiveDate": "2026-01-01T00:00:00Z", "IncludedQuantity": 0,
               "MeterCategory": "Test", "MeterId": m, "MeterName": "Meter " + m[:8],
               "MeterRates": {"0": "FIRST", "1000": "SECOND"}, "MeterRegion": "local",
               "MeterSubCategory": "", "MeterTags": [], "Unit": "Units"} for m in meter_ids]
    text = json.dumps({"OfferTerms": [{"Name": "Recurring Charge", "RecurringCharge": 5,
                                       "EffectiveDate": "2026-01-01T00:00:00Z"}],
                       "Meters": meters, "Currency": currency, "Locale": "en-US",
                       "IsTaxIncluded": False})
    half = str(Decimal(first_price) / 2)
    return text.replace('"FIRST"', first_price).replace('"SECOND"', half)


class Chargeback(t.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.d = self.path("data")
        run("simulate", "--data-dir", self.d, "--seed", "7", "--start", "2026-10-01", "--days",
            "31", "--tenants", "3", "--scale", "0.25", check=0)
        _, out, _ = run("meters", "list", "--data-dir", self.d, "--format", "jsonl", check=0)
        self.meters = [m["id"] for m in map(json.loads, out.splitlines())]
        card = self.path("card.json")
        with open(card, "w") as f:
            f.write(rate_card(self.meters))
        _, out, _ = run("ratecards", "import", "--data-dir", self.d, "--offer", OFFER, card,
                        check=0)
        self.assertIn("imported rate card of offer " + OFFER, out)
        _, out, _ = run("subscriptions", "list", "--data-dir", self.d, "--format", "jsonl",
                        check=0)
        self.tenants = sorted(s["id"] for s in map(json.loads, out.splitlines())
                              if s["kind"] == "tenant")
        self.assertEqual(len(self.tenants), 3)

    def show(self, sub, period, fmt="json"):
        _, out, _ = run("invoices", "show", "--data-dir", self.d, "--period", period,
                        "--subscription", sub, "--format", fmt, check=0)
        return out

    def test_late_usage_of_a_final_month_is_adjusted_next_month(self):
        # Two tenants on the offer (one with a discount), the third left without one.
        on_offer = self.tenants[:2]
        run("subscriptions", "add", "--data-dir", self.d, "--id", on_offer[0], "--offer", OFFER,
            check=0)
        run("subscriptions", "add", "--data-dir", self.d, "--id", on_offer[1], "--offer",
            OFFER.lower(), "--discount", "10", "--commitment", "100", check=0)

        code, out, err = run("invoices", "run", "--data-dir", self.d, "--period", "2026-10")
        self.assertEqual(code, 0, err)
        self.assertIn("2 drafted", out)
        self.assertIn("1 without an offer", out)
        self.assertIn(self.tenants[2], out)

        october = {}
        for sub in on_offer:
            inv = load(self.show(sub, "2026-10"))
            for key in ("subscriptionId", "period", "currency", "lines", "total"):
                self.assertIn(key, inv)
            self.assertEqual(inv["subscriptionId"], sub)
            self.assertEqual(inv["period"], "2026-10")
            self.assertEqual(inv["currency"], "USD")
            self.assertFalse(inv["hasUnpricedUsage"])
            usage = [l for l in inv["lines"] if l["kind"] == "usage"]
            self.assertTrue(usage, "the simulated month has usage")
            # The CSV's amounts add up to the JSON's total.
            rows = list(csv.DictReader(io.StringIO(self.show(sub, "2026-10", "csv"))))
            self.assertEqual(sum(Decimal(r["amount"]) for r in rows),
                             Decimal(str(inv["total"])))
            self.assertIn("<html", self.show(sub, "2026-10", "html"))
            october[sub] = inv

        code, out, err = run("invoices", "finalize", "--data-dir", self.d, "--period", "2026-10")
        self.assertEqual(code, 0, err)
        self.assertIn("2 finalized", out)
        final = {sub: {fmt: self.show(sub, "2026-10", fmt) for fmt in ("json", "csv", "html")}
                 for sub in on_offer}
        self.check_focus("2026-10", october)

        # Usage of October arrives after the finalize: twice, with a run in between.
        late_sub = on_offer[0]
        late = self.path("late.ndjson")
        with open(late, "w") as f:
            f.write(ndjson([record("late-1", "2026-10-15T10", "40", sub=late_sub),
                            record("late-2", "2026-10-31T22", "2.5", sub=late_sub)]))
        run("import", "--data-dir", self.d, late, check=0)

        code, out, err = run("invoices", "run", "--data-dir", self.d, "--period", "2026-10")
        self.assertEqual(code, 0, err)
        self.assertIn("2 already final", out)
        code, out, err = run("invoices", "run", "--data-dir", self.d, "--period", "2026-11")
        self.assertEqual(code, 0, err)

        nov = load(self.show(late_sub, "2026-11"))
        adjustments = [l for l in nov["lines"] if l["kind"] == "adjustment"]
        self.assertEqual(len(adjustments), 1, nov["lines"])
        adj = adjustments[0]
        self.assertEqual(adj["adjustedPeriod"], "2026-10")
        self.assertEqual(adj["meterId"].upper(), IP_METER)
        self.assertEqual(Decimal(str(adj["quantity"])), Decimal("42.5"))
        billed = [l for l in october[late_sub]["lines"]
                  if l["kind"] == "usage" and l["meterId"].upper() == IP_METER]
        already = (Decimal(str(billed[0]["quantity"])) - Decimal(str(billed[0]["unpricedQuantity"]))
                   if billed else Decimal(0))
        self.assertEqual(Decimal(str(adj["startPosition"])), already)
        other = load(self.show(on_offer[1], "2026-11"))
        self.assertFalse([l for l in other["lines"] if l["kind"] == "adjustment"])

        # The final invoices did not change, in any format.
        for sub in on_offer:
            for fmt in ("json", "csv", "html"):
                self.assertEqual(self.show(sub, "2026-10", fmt), final[sub][fmt], (sub, fmt))

        # November final, then more October usage: December adjusts it from where November's
        # adjustment stopped.
        run("invoices", "finalize", "--data-dir", self.d, "--period", "2026-11", check=0)
        with open(late, "w") as f:
            f.write(ndjson([record("late-3", "2026-10-20T10", "7", sub=late_sub)]))
        run("import", "--data-dir", self.d, late, check=0)
        run("invoices", "run", "--data-dir", self.d, "--period", "2026-12", check=0)
        dec = load(self.show(late_sub, "2026-12"))
        adjustments = [l for l in dec["lines"] if l["kind"] == "adjustment"]
        self.assertEqual(len(adjustments), 1, dec["lines"])
        self.assertEqual(Decimal(str(adjustments[0]["startPosition"])),
                         already + Decimal("42.5"))
        self.assertEqual(Decimal(str(adjustments[0]["quantity"])), Decimal("7"))
        for sub in on_offer:
            self.assertEqual(self.show(sub, "2026-10"), final[sub]["json"])

        _, out, _ = run("invoices", "list", "--data-dir", self.d, "--format", "jsonl", check=0)
        listed = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(sorted((i["period"], i["status"]) for i in listed
                                if i["subscriptionId"] == late_sub),
                         [("2026-10", "final"), ("2026-11", "final"), ("2026-12", "draft")])

    def check_focus(self, period, invoices):
        """The FOCUS export of `period`: the mandatory columns, and BilledCost summed per
        InvoiceId equal to each invoice's total."""
        out_file = self.path(f"focus-{period}.csv")
        run("export", "--data-dir", self.d, "--format", "focus", "--period", period,
            "--provider-name", "Contoso Private Cloud", "--billing-account-id", "acct-1",
            "--output", out_file, check=0)
        with open(out_file, newline="") as f:
            rows = list(csv.DictReader(f))
        for column in ("BilledCost", "BillingAccountId", "BillingCurrency", "BillingPeriodStart",
                       "ChargeCategory", "EffectiveCost", "ListCost", "ServiceName"):
            self.assertIn(column, rows[0])
        billed = {}
        for r in rows:
            self.assertEqual(r["BillingAccountId"], "acct-1")
            self.assertEqual(r["BillingPeriodStart"], period + "-01T00:00:00Z")
            billed[r["InvoiceId"]] = billed.get(r["InvoiceId"], Decimal(0)) + Decimal(r["BilledCost"])
        self.assertEqual(billed, {f"{sub}/{period}": inv["total"] for sub, inv in invoices.items()})

    def test_reimport_replaces_the_card(self):
        card = self.path("card2.json")
        with open(card, "w") as f:
            f.write(rate_card(self.meters, first_price="0.02"))
        _, out, _ = run("ratecards", "import", "--data-dir", self.d, "--offer", OFFER, card,
                        check=0)
        self.assertIn("replaced rate card", out)
        _, out, _ = run("ratecards", "list", "--data-dir", self.d, "--format", "jsonl", check=0)
        self.assertEqual(len(out.splitlines()), 1)
        _, out, _ = run("ratecards", "export", "--data-dir", self.d, "--offer", OFFER, check=0)
        exported = load(out)
        self.assertEqual(exported["Meters"][0]["MeterRates"],
                         {"0": Decimal("0.02"), "1000": Decimal("0.01")})

    def test_offer_with_two_regions_needs_the_choice(self):
        for region, currency in (("US", "USD"), ("DE", "EUR")):
            card = self.path(f"card-{region}.json")
            with open(card, "w") as f:
                f.write(rate_card(self.meters[:3], currency=currency))
            run("ratecards", "import", "--data-dir", self.d, "--offer", "MS-AZR-0121P",
                "--region", region, card, check=0)
        code, _, err = run("subscriptions", "add", "--data-dir", self.d, "--id",
                           self.tenants[0], "--offer", "MS-AZR-0121P")
        self.assertEqual(code, 2)
        self.assertIn("several regions or currencies", err)
        self.assertIn("--region", err)
        code, out, err = run("subscriptions", "add", "--data-dir", self.d, "--id",
                             self.tenants[0], "--offer", "MS-AZR-0121P", "--region", "DE")
        self.assertEqual(code, 0, err)
        self.assertIn("in EUR", out)
        code, _, err = run("ratecards", "export", "--data-dir", self.d, "--offer",
                           "MS-AZR-0121P")
        self.assertEqual(code, 2)
        self.assertIn("several rate cards", err)

    def test_bad_input_is_refused_with_a_clear_error(self):
        bad = self.path("bad.json")
        with open(bad, "w") as f:
            f.write('{"Meters":[{"MeterId":"x","MeterRates":{"5":1}}],"Currency":"USD"}')
        cases = [
            (("ratecards", "import", "--offer", OFFER, bad), 2, "Meters[0]"),
            (("ratecards", "import", "--offer", OFFER, self.path("missing.json")), 1,
             "cannot open"),
            (("ratecards", "export", "--offer", "MS-AZR-9999P"), 1, "has no rate card"),
            (("subscriptions", "add", "--id", SUB_B, "--discount", "10"), 2, "need --offer"),
            (("subscriptions", "add", "--id", SUB_B, "--offer", OFFER, "--discount", "-3"), 2,
             "--discount '-3'"),
            (("subscriptions", "add", "--id", SUB_B, "--offer", OFFER, "--discount", "5",
              "--markup", "5"), 2, "excludes"),
            (("subscriptions", "add", "--id", SUB_B, "--offer", "NOPE"), 1, "has no rate card"),
            (("invoices", "run", "--period", "2026-13"), 2, "--period '2026-13'"),
            (("invoices", "run", "--period", "2026-10", "--time-zone", "Mars/Olympus"), 2,
             "Mars/Olympus"),
            (("invoices", "show", "--period", "2026-10", "--subscription", "x", "--format",
              "pdf"), 2, "--format must be json, csv or html"),
            (("invoices", "show", "--period", "2026-10", "--subscription", SUB_B), 1,
             "has no invoice"),
            (("invoices", "finalize", "--period", "2026-1"), 2, "--period"),
            (("invoices", "list", "--status", "open"), 2, "--status"),
            (("export", "--format", "xml", "--period", "2026-10"), 2, "--format must be"),
            (("export", "--format", "jsonl"), 2, "either --period or both --from and --to"),
            (("export", "--format", "focus", "--period", "2026-10"), 2, "--provider-name"),
            (("export", "--format", "jsonl", "--from", "2026-10-02", "--to", "2026-10-01"), 2,
             "--to must be after --from"),
        ]
        for args, code, message in cases:
            n = 1 if args[0] == "export" else 2  # the (sub)command words
            got, _, err = run(*args[:n], "--data-dir", self.d, *args[n:])
            self.assertEqual(got, code, (args, err))
            self.assertIn(message, err, args)
            self.assertTrue(err.startswith("tally: ") or "excludes" in err, err)


class Export(t.TempDirTestCase):
    def test_usage_summary_and_jsonl_of_a_window(self):
        d = self.path("data")
        f = self.path("r.ndjson")
        with open(f, "w") as fh:
            fh.write(ndjson([record("e1", "2026-10-01T10", "1.5", reported="2026-10-01T12:00:00Z"),
                             record("e2", "2026-10-01T11", "2", reported="2026-10-01T12:00:00Z"),
                             record("e3", "2026-10-03T11", "9", reported="2026-10-05T12:00:00Z")]))
        run("import", "--data-dir", d, f, check=0)
        _, out, _ = run("export", "--data-dir", d, "--format", "usage-summary", "--from",
                        "2026-10-01", "--to", "2026-10-02", check=0)
        rows = list(csv.reader(io.StringIO(out)))
        self.assertEqual(rows[0][:4], ["UsageStartTime", "UsageEndTime", "MeterName", "Quantity"])
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[1][3], "3.5")
        self.assertEqual(rows[1][7], "ip1")
        out_file = self.path("out.jsonl")
        run("export", "--data-dir", d, "--format", "jsonl", "--period", "2026-10", "--granularity",
            "Hourly", "--output", out_file, check=0)
        with open(out_file) as fh:
            lines = [load(l) for l in fh]
        self.assertEqual(len(lines), 3)
        self.assertEqual(sum(Decimal(str(l["quantity"])) for l in lines), Decimal("12.5"))


if __name__ == "__main__":
    t.main()
