#!/usr/bin/python3
"""Reads Tally's tenant usage API through Debian's python3-azure
(`azure.mgmt.commerce.UsageManagementClient(...).usage_aggregates.list`), for
sdk_conformance_test.py. Run it with /usr/bin/python3: the `python3` on PATH may be another
build without Debian's packages.

stdin: a JSON plan {"baseUrl", "caFile", "calls": [{"name", "subscription", "token", "start",
"end", "granularity"?, "showDetails"?}]}, times as ISO 8601 with an offset; a missing
"granularity" leaves the client's default. stdout: {"client", "calls": [{"name", "items",
"pageSizes", "nextLinks", "error"}]}: every aggregate as the client parsed it, one entry per
page read, and what the client raised (null when the call succeeded). Anything outside one
call going wrong is a crash with a traceback and a non-zero exit."""

import datetime
import json
import sys
import time
import traceback

import azure.mgmt.commerce
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.mgmt.commerce import UsageManagementClient


class StaticTokenCredential:
    """A TokenCredential that always returns one Tally token."""

    def __init__(self, token):
        self._token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self._token, int(time.time()) + 3600)


def parse_time(text):
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"plan time without an offset: {text}")
    return value


def time_text(value):
    """The client's datetime as text; a naive one (no offset received) stays visibly naive."""
    return value.isoformat() if isinstance(value, datetime.datetime) else repr(value)


def item_json(a):
    return {
        "id": a.id,
        "name": a.name,
        "type": a.type,
        "subscriptionId": a.subscription_id,
        "meterId": a.meter_id,
        "usageStartTime": time_text(a.usage_start_time),
        "usageEndTime": time_text(a.usage_end_time),
        "quantity": a.quantity,
        "quantityType": type(a.quantity).__name__,
        "instanceData": a.instance_data,
        "instanceDataType": type(a.instance_data).__name__,
    }


def run_call(plan, call):
    client = UsageManagementClient(StaticTokenCredential(call["token"]), call["subscription"],
                                   base_url=plan["baseUrl"], connection_verify=plan["caFile"])
    kwargs = {}
    if "granularity" in call:
        kwargs["aggregation_granularity"] = call["granularity"]
    if "showDetails" in call:
        kwargs["show_details"] = call["showDetails"]
    result = {"name": call["name"], "items": [], "pageSizes": [], "nextLinks": [],
              "error": None}
    try:
        pages = client.usage_aggregates.list(parse_time(call["start"]), parse_time(call["end"]),
                                             **kwargs).by_page()
        for page in pages:
            size = 0
            for a in page:
                result["items"].append(item_json(a))
                size += 1
            result["pageSizes"].append(size)
            result["nextLinks"].append(pages.continuation_token)
    except HttpResponseError as e:
        result["error"] = {
            "kind": "http",
            "exception": type(e).__name__,
            "status": e.status_code,
            "code": e.error.code if e.error is not None else None,
            "message": e.error.message if e.error is not None else str(e),
        }
    except Exception as e:  # reported to the test, which decides whether it was expected
        result["error"] = {"kind": "client", "exception": type(e).__name__, "message": str(e),
                           "traceback": traceback.format_exc()}
    finally:
        client.close()
    return result


def main():
    plan = json.load(sys.stdin)
    out = {"client": f"azure-mgmt-commerce {azure.mgmt.commerce.VERSION}",
           "calls": [run_call(plan, call) for call in plan["calls"]]}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
