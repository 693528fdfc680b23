#!/usr/bin/env python3
"""Conformance of Tally's tenant usage API with the real Azure SDK clients.

Starts `tally serve` over TLS on loopback with known usage imported, then reads it back
through three clients, each in its own process:
  - Debian's python3-azure, `azure.mgmt.commerce.UsageManagementClient(...).usage_aggregates
    .list`, run with /usr/bin/python3 (py_client.py);
  - npm @azure/arm-commerce-profile-2020-09-01-hybrid and @azure/arm-commerce, pinned in
    js/package-lock.json and installed by this test with `npm ci` (install-js-clients,
    js/clients.js).
Each client makes every call of make_cases() and of make_rate_card_cases(). Every aggregate of every page (Hourly and
Daily, tenant and operator key, several pages of 1,000) is compared with aggregates computed
here from the imported records (sum per subscription x usage hour or UTC day x meter x
instance, for the records reported in the window): quantities exactly (the client's double
must be the double nearest the exact decimal sum), instanceData parsed as the JSON string it
must be, times read with their offset (the clients run in a non-UTC time zone). Then the
documented errors, by the code each SDK surfaces (azure-core `HttpResponseError.error.code`,
`RestError.code`). Both JS clients validate `aggregationGranularity` themselves (an enum,
case-insensitive), so an unknown one is refused before it is sent; the Python client sends it.

The RateCard API (contract §7) is read with `rate_card.get(filter=...)` (Python) and
`rateCard.get(filter)` (both JS clients; each client must have the operation): two cards are
imported (`tally ratecards import`) and their subscriptions put on their offers (`tally
subscriptions add --offer`); every field of every meter and offer term the client parsed is
compared with the imported card (prices and quantities as the nearest double of the exact
decimal, thresholds as the card's keys, dates with their offset), and the errors (InvalidFilter,
RateCardNotFound, AuthorizationFailed, AuthenticationFailed) by the code each SDK surfaces.
Client quirks the test pins: the Python client reads `RecurringCharge` as an int (a fractional
charge is truncated), and the JS clients copy properties their mappers do not know
(`MeterStatus`) onto the meter as they are, PascalCase.

Python standard library only; the clients' own interpreters are /usr/bin/python3 and node.
Run: sdk_conformance_test.py --tally PATH (ctest passes the built binary)."""

import datetime
import decimal
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import tally_e2e as t  # noqa: E402

DEBIAN_PYTHON = "/usr/bin/python3"
API_VERSION = "2015-06-01-preview"
SEED = 20240301

SUB_A = "0a0a0a0a-1111-4222-8333-444444444444"  # read with its tenant key: 4 hourly pages
SUB_B = "0b0b0b0b-5555-4666-8777-888888888888"  # read with the operator key
METERS = {  # meter IDs as the catalog spells them (contract §6)
    "ip": ("F271A8A388C44D93956A063E1D2FA80B", "Microsoft.Network/publicIPAddresses"),
    "vm": ("FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5", "Microsoft.Compute/virtualMachines"),
    "blob": ("09F8879E-87E9-4305-A572-4B7BE209F857", "Microsoft.Storage/storageAccounts"),
}
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
DAY0 = datetime.datetime(2024, 3, 1, tzinfo=datetime.timezone.utc)
DAYS = range(-1, 16)  # usage days: 2024-02-29 .. 2024-03-16
# Reported-time windows [start, end). Records reported outside them (usage of 2024-02-29
# reported that day, late reports of 2024-03-16 usage) must be left out; usage reported inside
# them is bucketed by usage time, even when that is before the window.
DAILY_WINDOW = (DAY0, DAY0 + 16 * DAY)
HOURLY_WINDOW = (DAY0 + 6 * HOUR, DAY0 + 15 * DAY + 18 * HOUR)
SMALL_WINDOW = (DAY0 + 4 * DAY, DAY0 + 4 * DAY + 6 * HOUR)
EMPTY_WINDOW = (DAY0 - 60 * DAY, DAY0 - 59 * DAY)
BAD_TOKEN = "tly_000000000000_" + "A" * 43

# Rate cards (contract §7), as the JSON text imported, so that every digit is kept.
OFFER_A = "MS-AZR-0003P"  # SUB_A's offer, region US
OFFER_B = "MS-AZR-0121P"  # SUB_B's offer, region DE
OFFER_UNKNOWN = "MS-AZR-0999P"
CARD_A = r"""{
  "OfferTerms": [
    {"Credit": 50.25, "EffectiveDate": "2026-01-01T00:00:00Z",
     "ExcludedMeterIds": ["F271A8A388C44D93956A063E1D2FA80B"], "Name": "Monetary Credit"},
    {"EffectiveDate": "2026-01-01T05:30:00+05:30",
     "ExcludedMeterIds": ["F271A8A388C44D93956A063E1D2FA80B",
                          "09f8879e-87e9-4305-a572-4b7be209f857"],
     "Name": "Monetary Commitment", "TieredDiscount": {"0": 0, "500": 5, "2000": 10.5}},
    {"EffectiveDate": "2026-02-01T00:00:00Z", "Name": "Recurring Charge", "RecurringCharge": 10}
  ],
  "Meters": [
    {"EffectiveDate": "2026-01-01T00:00:00Z", "IncludedQuantity": 100,
     "MeterCategory": "Compute", "MeterId": "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5",
     "MeterName": "Base VM Size Hours", "MeterRates": {"0": 0.05, "1000": 0.04},
     "MeterRegion": "local", "MeterStatus": "Active", "MeterSubCategory": "Standard_D2_v2",
     "MeterTags": [], "Unit": "Virtual core hours"},
    {"EffectiveDate": "2026-10-16T00:00:00-07:00", "IncludedQuantity": 0.5,
     "MeterCategory": "Compute", "MeterId": "FAB6EB84-500B-4A09-A8CA-7358F8BBAEA5",
     "MeterName": "Base VM Size Hours",
     "MeterRates": {"0": 0.123456789012345, "1000": 0.045, "250000.5": 0.000000000000001},
     "MeterRegion": "local", "MeterStatus": "Active", "MeterSubCategory": "Standard_D2_v2",
     "MeterTags": [], "Unit": "Virtual core hours"},
    {"EffectiveDate": "2026-01-01T00:00:00Z", "IncludedQuantity": 0,
     "MeterCategory": "Network", "MeterId": "F271A8A388C44D93956A063E1D2FA80B",
     "MeterName": "Statische IP-Adresse \u2713 \"quoted\" \\ back",
     "MeterRates": {"0": 0.0025}, "MeterRegion": "local", "MeterSubCategory": "",
     "MeterTags": ["Third Party"], "Unit": "IP addresses"},
    {"EffectiveDate": "2025-12-31T23:59:59.5Z", "IncludedQuantity": 1024.125,
     "MeterCategory": "Storage", "MeterId": "09f8879e-87e9-4305-a572-4b7be209f857",
     "MeterName": "Blob Storage", "MeterRates": {"0": 123456789.5, "10": 0, "10.5": 7},
     "MeterRegion": "local", "MeterSubCategory": "Blob", "MeterTags": ["Preview", "Third Party"],
     "Unit": "GB"}
  ],
  "Currency": "USD",
  "Locale": "en-US",
  "IsTaxIncluded": false
}"""
CARD_B = r"""{
  "OfferTerms": [
    {"EffectiveDate": "2026-03-01T00:00:00+01:00", "Name": "Recurring Charge",
     "RecurringCharge": 7.5}
  ],
  "Meters": [
    {"EffectiveDate": "2026-03-01T00:00:00Z", "IncludedQuantity": 0,
     "MeterCategory": "Netzwerk", "MeterId": "F271A8A388C44D93956A063E1D2FA80B",
     "MeterName": "\u00d6ffentliche IP-Adresse", "MeterRates": {"0": 0.003, "100": 0.0021},
     "MeterRegion": "Deutschland", "MeterStatus": "Active", "MeterSubCategory": "",
     "MeterTags": [], "Unit": "IP-Adressen"}
  ],
  "Currency": "EUR",
  "Locale": "de-DE",
  "IsTaxIncluded": true
}"""
METER_FIELDS = {  # client name -> RateCard name
    "meterId": "MeterId", "meterName": "MeterName", "meterCategory": "MeterCategory",
    "meterSubCategory": "MeterSubCategory", "unit": "Unit", "meterTags": "MeterTags",
    "meterRegion": "MeterRegion", "meterRates": "MeterRates", "effectiveDate": "EffectiveDate",
    "includedQuantity": "IncludedQuantity"}
TERM_FIELDS = {  # Name -> (Python class, {client name -> RateCard name})
    "Monetary Credit": ("MonetaryCredit", {"credit": "Credit",
                                           "excludedMeterIds": "ExcludedMeterIds"}),
    "Monetary Commitment": ("MonetaryCommitment", {"tieredDiscount": "TieredDiscount",
                                                   "excludedMeterIds": "ExcludedMeterIds"}),
    "Recurring Charge": ("RecurringCharge", {"recurringCharge": "RecurringCharge"}),
}


def rate_card_filter(offer, currency, locale, region):
    return (f"OfferDurableId eq '{offer}' and Currency eq '{currency}' and Locale eq "
            f"'{locale}' and RegionInfo eq '{region}'")


def read_card(text):
    """The card's JSON with its numbers as exact decimals."""
    return json.loads(text, parse_float=decimal.Decimal, parse_int=decimal.Decimal)


def make_rate_card_cases(tenant_a, operator):
    """The RateCard calls every client makes: name -> (call, expectation); an expectation is
    ("ok", card JSON text) or ("error", status, code)."""
    filter_a = rate_card_filter(OFFER_A, "USD", "en-US", "US")
    filter_b = rate_card_filter(OFFER_B, "EUR", "de-DE", "DE")
    cases = {}

    def case(name, sub, token, filter_text, expect):
        cases[name] = ({"name": name, "subscription": sub, "token": token,
                        "filter": filter_text}, expect)

    case("rc-tenant", SUB_A, tenant_a, filter_a, ("ok", CARD_A))
    # Clauses in another order, the offer with the lowercase 'p' clients send (contract §7).
    case("rc-operator-reordered", SUB_A, operator,
         "RegionInfo eq 'US' and Locale eq 'en-US' and Currency eq 'USD' and "
         "OfferDurableId eq 'MS-AZR-0003p'", ("ok", CARD_A))
    case("rc-operator-other-offer", SUB_B, operator, filter_b, ("ok", CARD_B))
    case("rc-bad-filter", SUB_A, tenant_a,
         f"OfferDurableId eq '{OFFER_A}' and Currency eq 'USD'", ("error", 400, "InvalidFilter"))
    case("rc-empty-filter", SUB_B, operator, "", ("error", 400, "InvalidFilter"))
    case("rc-unknown-offer", SUB_B, operator,
         rate_card_filter(OFFER_UNKNOWN, "USD", "en-US", "US"),
         ("error", 404, "RateCardNotFound"))
    case("rc-tenant-other-offer", SUB_A, tenant_a, filter_b,
         ("error", 403, "AuthorizationFailed"))
    case("rc-tenant-other-subscription", SUB_B, tenant_a, filter_b,
         ("error", 403, "AuthorizationFailed"))
    case("rc-bad-token", SUB_A, BAD_TOKEN, filter_a, ("error", 401, "AuthenticationFailed"))
    return cases


def iso(when):
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_instances(sub, count):
    """`count` distinct instances (meter, resourceUri, location, tags, additionalInfo) of `sub`,
    plus two that share the first one's resource but differ in location or tags."""
    out = []
    for n in range(count):
        kind = ("ip", "vm", "blob")[n % 3]
        meter, provider = METERS[kind]
        tags = None if n % 4 == 0 else {"env": ("prod", "dev", "test")[n % 3],
                                        "owner": f"team-{n % 7}"}
        if n % 10 == 3:  # everything instanceData must escape inside its JSON string
            tags = {"env": "prod", "note": 'say "hi" \\ back\tslash \u00dcnic\u00f8de \u2713'}
        out.append({
            "meterId": meter,
            "resourceUri": f"/subscriptions/{sub}/resourceGroups/rg{n % 4}/providers/"
                           f"{provider}/{kind}{n // 3}",
            "location": "local" if n % 5 else "eastus-stack",
            "tags": tags,
            "additionalInfo": {"ServiceType": "Standard_D2_v2", "ImageType": "Canonical"}
                              if kind == "vm" else None,
        })
    out.append(dict(out[0], location="westus-stack"))
    out.append(dict(out[0], tags={"env": "other"}))
    return out


def make_quantity(rng):
    """A quantity's exact decimal text: integers (zero too), binary fractions, one decimal,
    15 fractional digits, tiny and large values."""
    kind = rng.randrange(6)
    if kind == 0:
        return str(rng.randrange(0, 100))
    if kind == 1:
        return str(decimal.Decimal(rng.randrange(1, 800)) / 8)
    if kind == 2:
        return f"{rng.randrange(0, 1000)}.{rng.randrange(10)}"
    if kind == 3:
        return f"{rng.randrange(0, 10000)}.{rng.randrange(10**15):015d}"
    if kind == 4:
        return f"0.{rng.randrange(1, 1000):015d}"
    return f"{rng.randrange(10**11, 10**12)}.{rng.randrange(10**6):06d}"


def make_records(sub, instance_count, rng):
    """Deterministic hourly usage of `sub`: every instance has usage in 2-4 hours of every day,
    each hour reported by 1-3 records at different (past) reported times."""
    records = []
    for inst_no, inst in enumerate(make_instances(sub, instance_count)):
        for day in DAYS:
            for hour in sorted(rng.sample(range(24), rng.randint(2, 4))):
                start = DAY0 + day * DAY + hour * HOUR
                for j in range(rng.randint(1, 3)):
                    delay = datetime.timedelta(minutes=rng.choice([0, 7, 59, 130, 600, 1300,
                                                                   2000]),
                                               seconds=rng.randrange(60))
                    r = {
                        "recordId": f"{sub[:4]}-{inst_no}-{iso(start)}-{j}",
                        "subscriptionId": sub,
                        "meterId": inst["meterId"],
                        "resourceUri": inst["resourceUri"],
                        "location": inst["location"],
                        "usageStartTime": iso(start),
                        "usageEndTime": iso(start + HOUR),
                        "quantity": make_quantity(rng),
                        "reportedTime": iso(start + HOUR + delay),
                    }
                    # Key order within tags must not matter: the same instance either way.
                    for field in ("tags", "additionalInfo"):
                        value = inst[field]
                        if value is not None and j % 2:
                            value = dict(reversed(list(value.items())))
                        r[field] = value
                    records.append(r)
    return records


def instance_key(resource_uri, location, tags, additional_info):
    """Canonical text of an instanceData object (what identifies an instance)."""
    return json.dumps({"Microsoft.Resources": {"resourceUri": resource_uri, "location": location,
                                               "tags": tags, "additionalInfo": additional_info}},
                      sort_keys=True, ensure_ascii=False)


def expected_aggregates(records, sub, window, granularity):
    """{(subscription, usage start, meter, instance key): exact decimal sum} of the records of
    `sub` reported in [start, end), bucketed by usage hour or UTC usage day."""
    sums = defaultdict(decimal.Decimal)
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        for r in records:
            reported = parse_time(r["reportedTime"])
            if r["subscriptionId"] != sub or not window[0] <= reported < window[1]:
                continue
            start = parse_time(r["usageStartTime"])
            if granularity == "Daily":
                start = start.replace(hour=0)
            key = (sub, start, r["meterId"],
                   instance_key(r["resourceUri"], r["location"], r["tags"],
                                r["additionalInfo"]))
            sums[key] += decimal.Decimal(r["quantity"])
    return dict(sums)


def parse_time(text):
    """An aware datetime from ISO text; None when the text carries no offset."""
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else None


def client_env(ca_file):
    e = t.env()
    for name in list(e):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            del e[name]
    e["NO_PROXY"] = "127.0.0.1,localhost"
    e["NODE_EXTRA_CA_CERTS"] = ca_file
    e["REQUESTS_CA_BUNDLE"] = ca_file
    # Not UTC: a time the server sent without an offset would be read as local time and show
    # up shifted.
    e["TZ"] = "Asia/Kolkata"
    return e


def make_cases(tenant_a, operator):
    """The calls every client makes: name -> (call, expectation). An expectation is
    ("ok", subscription, window, granularity, minimum pages) or ("error", status, code)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    future_midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + 2 * DAY
    cases = {}

    def case(name, sub, token, window, granularity, expect, show_details=None):
        call = {"name": name, "subscription": sub, "token": token,
                "start": iso(window[0]), "end": iso(window[1])}
        if granularity is not None:
            call["granularity"] = granularity
        if show_details is not None:
            call["showDetails"] = show_details
        cases[name] = (call, expect)

    case("tenant-hourly", SUB_A, tenant_a, HOURLY_WINDOW, "Hourly",
         ("ok", SUB_A, HOURLY_WINDOW, "Hourly", 4), show_details=True)
    case("tenant-daily", SUB_A, tenant_a, DAILY_WINDOW, "Daily",
         ("ok", SUB_A, DAILY_WINDOW, "Daily", 2))
    case("operator-hourly", SUB_B, operator, HOURLY_WINDOW, "Hourly",
         ("ok", SUB_B, HOURLY_WINDOW, "Hourly", 2), show_details=False)
    # No granularity: the client's default, Daily.
    case("operator-daily-default", SUB_B, operator, DAILY_WINDOW, None,
         ("ok", SUB_B, DAILY_WINDOW, "Daily", 1))
    case("lowercase-hourly", SUB_A, tenant_a, SMALL_WINDOW, "hourly",
         ("ok", SUB_A, SMALL_WINDOW, "Hourly", 1))
    case("empty", SUB_A, tenant_a, EMPTY_WINDOW, "Daily",
         ("ok", SUB_A, EMPTY_WINDOW, "Daily", 1))
    case("end-in-future", SUB_A, tenant_a, (DAY0, future_midnight), "Daily",
         ("error", 400, "RequestEndTimeIsInFuture"))
    case("misaligned-start", SUB_A, tenant_a,
         (DAY0 + 6 * HOUR + datetime.timedelta(minutes=30), DAY0 + DAY), "Hourly",
         ("error", 400, "InvalidProperty"))
    case("not-midnight-daily", SUB_A, tenant_a, (DAY0 + 6 * HOUR, DAY0 + 2 * DAY),
         "Daily", ("error", 400, "InvalidProperty"))
    case("end-before-start", SUB_A, tenant_a, (DAY0 + 5 * DAY, DAY0 + 2 * DAY), "Daily",
         ("error", 400, "InvalidProperty"))
    case("bad-granularity", SUB_A, tenant_a, DAILY_WINDOW, "Weekly",
         ("error", 400, "InvalidAggregationGranularity"))
    case("foreign-subscription", SUB_B, tenant_a, DAILY_WINDOW, "Daily",
         ("error", 403, "AuthorizationFailed"))
    case("bad-token", SUB_A, BAD_TOKEN, DAILY_WINDOW, "Daily",
         ("error", 401, "AuthenticationFailed"))
    return cases


class SdkConformance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(DEBIAN_PYTHON, os.X_OK) or subprocess.run(
                [DEBIAN_PYTHON, "-c", "import azure.mgmt.commerce"],
                capture_output=True).returncode != 0:
            raise AssertionError(f"{DEBIAN_PYTHON} cannot import azure.mgmt.commerce: "
                                 "install Debian's python3-azure (scripts/install-deps)")
        cls.tmp = tempfile.mkdtemp(prefix="tally-sdk-")
        cls.server = None
        try:
            cls.set_up_in(cls.tmp)
        except BaseException:
            cls.clean_up()
            raise
        cls.cases = make_cases(cls.tenant_a, cls.operator)
        cls.rate_card_cases = make_rate_card_cases(cls.tenant_a, cls.operator)

    @classmethod
    def set_up_in(cls, tmp):
        # npm ci runs while the data is made and imported.
        cls.js_dir = os.path.join(tmp, "js")
        install = subprocess.Popen([os.path.join(HERE, "install-js-clients"), cls.js_dir],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   start_new_session=True)
        try:
            cls.make_data_and_serve(tmp)
            install_log, _ = install.communicate(timeout=300)
        finally:
            if install.poll() is None:
                os.killpg(install.pid, signal.SIGKILL)
                install.communicate()
        if install.returncode != 0:
            raise AssertionError(f"install-js-clients failed ({install.returncode}):\n"
                                 f"{install_log}")

    @classmethod
    def make_data_and_serve(cls, tmp):
        """Imports the known usage into a new data directory, creates the keys and starts
        `tally serve` over TLS."""
        rng = random.Random(SEED)
        records = make_records(SUB_A, 80, rng) + make_records(SUB_B, 24, rng)
        # An exact repeat of a record is stored once.
        records += [dict(r) for r in records[:50]]
        cls.records = list({r["recordId"]: r for r in records}.values())
        usage_file = os.path.join(tmp, "usage.ndjson")
        with open(usage_file, "w", encoding="utf-8") as f:
            f.write(t.ndjson(records))

        data_dir = os.path.join(tmp, "data")
        _, out, _ = t.run("import", "--data-dir", data_dir, usage_file, check=0)
        repeats = len(records) - len(cls.records)
        want = (f"imported {len(cls.records)} records ({repeats} duplicates) from "
                f"{usage_file}")
        if out.strip() != want:
            raise AssertionError(f"tally import said {out!r}, wanted {want!r}")
        # The rate cards, and the subscriptions on their offers.
        for offer, region, text, sub, currency in ((OFFER_A, "US", CARD_A, SUB_A, "USD"),
                                                   (OFFER_B, "DE", CARD_B, SUB_B, "EUR")):
            card_file = os.path.join(tmp, f"{offer}.json")
            with open(card_file, "w", encoding="utf-8") as f:
                f.write(text)
            t.run("ratecards", "import", "--data-dir", data_dir, "--offer", offer, "--region",
                  region, card_file, check=0)
            t.run("subscriptions", "add", "--data-dir", data_dir, "--id", sub, "--offer", offer,
                  "--region", region, "--currency", currency, check=0)
        cls.tenant_a = t.create_key(data_dir, "tenant", "--subscription", SUB_A)
        cls.operator = t.create_key(data_dir, "operator")
        cls.ca_file, key_file = t.make_certificate(tmp)
        cls.server = t.Server(data_dir, tls=(cls.ca_file, key_file)).start()
        cls.base_url = cls.server.base_url

    @classmethod
    def clean_up(cls):
        """Stops the server (if it runs) and removes the files; returns its exit code and
        the end of its stderr."""
        code, log = 0, ""
        if cls.server is not None and cls.server.proc is not None:
            code = cls.server.stop()
            with open(cls.server.log_path, encoding="utf-8", errors="replace") as f:
                log = f.read()[-4000:]
        shutil.rmtree(cls.tmp, ignore_errors=True)
        return code, log

    @classmethod
    def tearDownClass(cls):
        code, log = cls.clean_up()
        if code != 0:  # e.g. a sanitizer report
            raise AssertionError(f"tally serve exited {code} on SIGTERM:\n{log}")

    def run_client(self, command, cwd):
        plan = {"baseUrl": self.base_url, "caFile": self.ca_file,
                "calls": [call for call, _ in self.cases.values()],
                "rateCardCalls": [call for call, _ in self.rate_card_cases.values()]}
        p = subprocess.run(command, input=json.dumps(plan), capture_output=True, text=True,
                           cwd=cwd, env=client_env(self.ca_file), timeout=300)
        if p.returncode != 0:
            self.fail(f"{' '.join(command)} exited {p.returncode}\nstdout: {p.stdout[-4000:]}\n"
                      f"stderr: {p.stderr[-4000:]}")
        out = json.loads(p.stdout)
        print(f"\n  client: {out['client']}", file=sys.stderr)
        return out

    def check_client(self, out, client_refuses_granularity):
        results = {c["name"]: c for c in out["calls"]}
        self.assertEqual(sorted(results), sorted(self.cases))
        for name, (call, expect) in self.cases.items():
            with self.subTest(case=name):
                result = results[name]
                if name == "bad-granularity" and client_refuses_granularity:
                    # The JS clients validate the enum themselves (case-insensitively) and
                    # never send the request.
                    self.assertIsNotNone(result["error"], result)
                    self.assertEqual(result["error"]["kind"], "client", result["error"])
                    self.assertIn("Weekly", result["error"]["message"])
                elif expect[0] == "error":
                    self.check_error(result, *expect[1:])
                else:
                    self.check_listing(call, result, *expect[1:])

    def check_error(self, result, status, code):
        error = result["error"]
        self.assertIsNotNone(error, f"wanted {status} {code}, got "
                                    f"{result.get('items', result.get('card'))}"[:2000])
        self.assertEqual((error["kind"], error.get("status"), error.get("code")),
                         ("http", status, code), error)
        # What a caller catches: azure-core's HttpResponseError (ClientAuthenticationError for
        # 401), the RestError of @azure/core-rest-pipeline or @azure/ms-rest-js.
        self.assertIn(error["exception"],
                      ("HttpResponseError", "ClientAuthenticationError", "ResourceNotFoundError",
                       "RestError"), error)
        self.assertTrue(error["message"], error)
        if "items" in result:
            self.assertEqual(result["items"], [])
        else:
            self.assertIsNone(result["card"])

    def check_rate_cards(self, out, python):
        """Every RateCard call of the client, against make_rate_card_cases()."""
        # Each client has the operation; if a package version dropped it, this says so.
        self.assertIs(out["rateCardSupported"], True, f"{out['client']} has no rateCard.get")
        results = {c["name"]: c for c in out["rateCardCalls"]}
        self.assertEqual(sorted(results), sorted(self.rate_card_cases))
        for name, (_, expect) in self.rate_card_cases.items():
            with self.subTest(case=name):
                if expect[0] == "error":
                    self.check_error(results[name], *expect[1:])
                else:
                    self.assertIsNone(results[name]["error"], results[name]["error"])
                    self.check_card(results[name]["card"], read_card(expect[1]), python)

    def check_number(self, value, type_name, want, python, path, integer=False):
        """A price or quantity: the double nearest the exact decimal (an int, truncated, where
        the Python client declares the field int)."""
        if python and integer:
            self.assertEqual(type_name, "int", path)
            self.assertEqual(value, int(want), path)
        else:
            self.assertEqual(type_name, "float" if python else "number", path)
            self.assertEqual(value, float(want), f"{path}: {value!r}, wanted {want}")

    def check_time(self, text, want, path):
        got = parse_time(text)
        self.assertIsNotNone(got, f"{path} read without an offset: {text}")
        self.assertEqual(got, parse_time(want), f"{path}: {text}, wanted {want}")

    def check_card(self, card, want, python):
        f, types = card["fields"], card["types"]
        self.assertEqual(card["class"], "ResourceRateCardInfo" if python else None)
        self.assertEqual(sorted(f), sorted(["currency", "locale", "isTaxIncluded", "offerTerms",
                                            "meters"]))
        self.assertEqual((f["currency"], f["locale"], f["isTaxIncluded"]),
                         (want["Currency"], want["Locale"], want["IsTaxIncluded"]))
        self.assertEqual(types["isTaxIncluded"], "bool" if python else "boolean")

        # Offer terms: one of each kind at most in these cards, so matched by Name.
        terms = {term["fields"]["name"]: term for term in f["offerTerms"]}
        self.assertEqual(len(terms), len(f["offerTerms"]), f["offerTerms"])
        self.assertEqual(sorted(terms), sorted(w["Name"] for w in want["OfferTerms"]))
        for w in want["OfferTerms"]:
            term = terms[w["Name"]]
            path = f"OfferTerms[{w['Name']}]"
            cls, fields = TERM_FIELDS[w["Name"]]
            self.assertEqual(term["class"], cls if python else None, path)
            self.assertEqual(sorted(term["fields"]), sorted(["name", "effectiveDate", *fields]),
                             path)
            self.check_time(term["fields"]["effectiveDate"], w["EffectiveDate"], path)
            for client_name, card_name in fields.items():
                got, got_type = term["fields"][client_name], term["types"][client_name]
                if card_name == "ExcludedMeterIds":
                    self.assertEqual(got, w[card_name], path)
                elif card_name == "TieredDiscount":
                    self.assertEqual(sorted(got), sorted(w[card_name]), path)
                    self.assertEqual(got_type, ["float"] if python else ["number"], path)
                    for level, percent in w[card_name].items():
                        self.check_number(got[level], got_type[0], percent, python,
                                          f"{path}.TieredDiscount[{level}]")
                else:
                    self.check_number(got, got_type, w[card_name], python,
                                      f"{path}.{card_name}",
                                      integer=card_name == "RecurringCharge")

        # Meters: one entry per (MeterId, EffectiveDate).
        def key(meter_id, when):
            return meter_id, parse_time(when)

        got_meters = {key(m["fields"]["meterId"], m["fields"]["effectiveDate"]): m
                      for m in f["meters"]}
        self.assertEqual(len(got_meters), len(f["meters"]))
        want_meters = {key(w["MeterId"], w["EffectiveDate"]): w for w in want["Meters"]}
        self.assertEqual(sorted(got_meters, key=str), sorted(want_meters, key=str))
        for k, w in want_meters.items():
            m, types = got_meters[k]["fields"], got_meters[k]["types"]
            path = f"Meters[{w['MeterId']} {w['EffectiveDate']}]"
            self.assertEqual(got_meters[k]["class"], "MeterInfo" if python else None, path)
            # The JS clients copy what their mappers do not know onto the model as it is.
            passthrough = {"MeterStatus"} & set(w) if not python else set()
            self.assertEqual(sorted(m), sorted([*METER_FIELDS, *passthrough]), path)
            for name in passthrough:
                self.assertEqual(m[name], w[name], path)
            for client_name in ("meterId", "meterName", "meterCategory", "meterSubCategory",
                                "unit", "meterRegion", "meterTags"):
                self.assertEqual(m[client_name], w[METER_FIELDS[client_name]],
                                 f"{path}.{client_name}")
            self.check_time(m["effectiveDate"], w["EffectiveDate"], path)
            self.assertEqual(types["effectiveDate"], "datetime" if python else "Date", path)
            self.check_number(m["includedQuantity"], types["includedQuantity"],
                              w["IncludedQuantity"], python, f"{path}.IncludedQuantity")
            self.assertEqual(sorted(m["meterRates"]), sorted(w["MeterRates"]), path)
            self.assertEqual(types["meterRates"], ["float"] if python else ["number"], path)
            for threshold, price in w["MeterRates"].items():
                self.check_number(m["meterRates"][threshold], types["meterRates"][0], price,
                                  python, f"{path}.MeterRates[{threshold}]")

    def check_listing(self, call, result, sub, window, granularity, min_pages):
        self.assertIsNone(result["error"], result["error"])
        want = expected_aggregates(self.records, sub, window, granularity)
        got = {}
        bucket = HOUR if granularity == "Hourly" else DAY
        for item in result["items"]:
            self.assertEqual(item["type"], "Microsoft.Commerce/UsageAggregate", item)
            self.assertEqual(item["name"], f"{sub}-{item['meterId']}", item)
            self.assertEqual(item["id"], f"/subscriptions/{sub}/providers/Microsoft.Commerce/"
                                         f"UsageAggregate/{sub}-{item['meterId']}", item)
            self.assertEqual(item["subscriptionId"], sub, item)
            self.assertIn(item["quantityType"], ("float", "number"), item)
            self.assertIn(item["instanceDataType"], ("str", "string"), item)
            start = parse_time(item["usageStartTime"])
            end = parse_time(item["usageEndTime"])
            self.assertIsNotNone(start, f"usageStartTime read without an offset: {item}")
            self.assertIsNotNone(end, f"usageEndTime read without an offset: {item}")
            self.assertEqual(end - start, bucket, item)
            data = json.loads(item["instanceData"])
            self.assertEqual(list(data), ["Microsoft.Resources"], item)
            fields = data["Microsoft.Resources"]
            self.assertEqual(sorted(fields), ["additionalInfo", "location", "resourceUri", "tags"],
                             item)
            key = (item["subscriptionId"], start, item["meterId"],
                   instance_key(fields["resourceUri"], fields["location"], fields["tags"],
                                fields["additionalInfo"]))
            self.assertNotIn(key, got, f"aggregate returned twice: {item}")
            got[key] = item["quantity"]

        missing = sorted(set(want) - set(got), key=str)
        extra = sorted(set(got) - set(want), key=str)
        self.assertEqual((len(missing), len(extra)), (0, 0),
                         f"{len(want)} aggregates expected, {len(got)} read; missing "
                         f"{missing[:3]}; unexpected {extra[:3]}")
        # The server writes the exact decimal and every client parses it into the nearest
        # double: so the double must be exactly the nearest double of the exact sum.
        wrong = [(k, str(want[k]), got[k]) for k in want if float(want[k]) != got[k]]
        self.assertEqual(wrong[:3], [], f"{len(wrong)} quantities differ")

        sizes, links = result["pageSizes"], result["nextLinks"]
        self.assertEqual(sum(sizes), len(want))
        self.assertEqual(len(sizes), max(1, math.ceil(len(want) / 1000)), sizes)
        self.assertTrue(all(s == 1000 for s in sizes[:-1]), sizes)
        self.assertGreaterEqual(len(sizes), min_pages,
                                "the test data no longer spans the pages this case is for")
        self.assertFalse(links[-1], "nextLink on the last page")
        prefix = (f"{self.base_url}/subscriptions/{sub}/providers/Microsoft.Commerce/"
                  "UsageAggregates?")
        for link in links[:-1]:
            self.assertTrue(link and link.startswith(prefix), link)
            self.assertIn(f"api-version={API_VERSION}", link)
            self.assertIn("continuationToken=", link)

    def test_data_covers_the_edges(self):
        """The known usage still has what the comparisons are meant to exercise."""
        for window in (DAILY_WINDOW, HOURLY_WINDOW):
            reported = [parse_time(r["reportedTime"]) for r in self.records
                        if r["subscriptionId"] == SUB_A]
            self.assertTrue(any(x < window[0] for x in reported))
            self.assertTrue(any(x >= window[1] for x in reported))
            hourly = expected_aggregates(self.records, SUB_A, window, "Hourly")
            self.assertTrue(any(k[1] < window[0] for k in hourly),
                            "no usage before the window reported inside it")
        daily = expected_aggregates(self.records, SUB_A, DAILY_WINDOW, "Daily")
        self.assertGreater(len(daily), 1000)
        self.assertTrue(any("\u2713" in k[3] for k in daily), "no tags that need escaping")
        self.assertTrue(any(r["quantity"] == "0" for r in self.records), "no zero quantity")

    def test_rate_cards_cover_the_edges(self):
        """The cards still have what the comparisons are meant to exercise."""
        a, b = read_card(CARD_A), read_card(CARD_B)
        self.assertEqual(sorted(term["Name"] for term in a["OfferTerms"]), sorted(TERM_FIELDS))
        # A fractional recurring charge: the Python client truncates it (its model says int).
        self.assertNotEqual(b["OfferTerms"][0]["RecurringCharge"] % 1, 0)
        dates = [m["EffectiveDate"] for m in a["Meters"]] + [
            term["EffectiveDate"] for term in a["OfferTerms"]]
        self.assertTrue(any(not d.endswith("Z") for d in dates), "no date with an offset")
        rates = [p for m in a["Meters"] for p in m["MeterRates"].values()]
        self.assertTrue(any(float(p) != p for p in rates), "no price that is not a double")
        self.assertTrue(any(len(m["MeterRates"]) > 2 for m in a["Meters"]))

    def test_python_azure_mgmt_commerce(self):
        out = self.run_client([DEBIAN_PYTHON, os.path.join(HERE, "py_client.py")], HERE)
        self.check_client(out, client_refuses_granularity=False)
        self.check_rate_cards(out, python=True)
        # Pinned quirk: msrest reads RecurringCharge as int(7.5) == 7.
        card_b = {c["name"]: c for c in out["rateCardCalls"]}["rc-operator-other-offer"]["card"]
        self.assertEqual(card_b["fields"]["offerTerms"][0]["fields"]["recurringCharge"], 7)

    def test_js_arm_commerce_profile_hybrid(self):
        out = self.run_client(["node", "clients.js", "hybrid"], self.js_dir)
        self.assertNotEqual(out["timezoneOffsetMinutes"], 0)
        self.check_client(out, client_refuses_granularity=True)
        self.check_rate_cards(out, python=False)

    def test_js_arm_commerce(self):
        out = self.run_client(["node", "clients.js", "arm-commerce"], self.js_dir)
        self.assertNotEqual(out["timezoneOffsetMinutes"], 0)
        self.check_client(out, client_refuses_granularity=True)
        self.check_rate_cards(out, python=False)


if __name__ == "__main__":
    t.main()
