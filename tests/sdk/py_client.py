#!/usr/bin/python3
"""Reads Tally's tenant usage API and RateCard API through Debian's python3-azure
(`azure.mgmt.commerce.UsageManagementClient(...).usage_aggregates.list` and `.rate_card.get`),
for sdk_conformance_test.py. Run it with /usr/bin/python3: the `python3` on PATH may be another
build without Debian's packages.

stdin: a JSON plan {"baseUrl", "caFile", "calls": [{"name", "subscription", "token", "start",
"end", "granularity"?, "showDetails"?}], "rateCardCalls": [{"name", "subscription", "token",
"filter"}]}, times as ISO 8601 with an offset; a missing "granularity" leaves the client's
default. stdout: {"client", "calls": [{"name", "items", "pageSizes", "nextLinks", "error"}],
"rateCardSupported", "rateCardCalls": [{"name", "card", "error"}]}: every aggregate as the
client parsed it, one entry per page read, every rate card as the client parsed it (card_json),
and what the client raised (null when the call succeeded). Anything outside one call going
wrong is a crash with a traceback and a non-zero exit."""

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


def value_json(value):
    """A parsed value as JSON: datetimes as text (naive ones visibly naive), with the Python
    type of every number kept beside it by the callers."""
    if isinstance(value, datetime.datetime):
        return time_text(value)
    return value


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def model_json(model):
    """Every attribute of an msrest model, named as the JS clients name it (camelCase), and
    the Python type of each (float, int, str, datetime, list, dict, NoneType)."""
    fields, types = {}, {}
    for attr in model._attribute_map:  # noqa: SLF001 (the model's declared attributes)
        value = getattr(model, attr)
        fields[camel(attr)] = value_json(value)
        if isinstance(value, dict):
            types[camel(attr)] = sorted({type(v).__name__ for v in value.values()})
        elif isinstance(value, list):
            types[camel(attr)] = sorted({type(v).__name__ for v in value})
        else:
            types[camel(attr)] = type(value).__name__
    return {"class": type(model).__name__, "fields": fields, "types": types}


def card_json(card):
    out = model_json(card)
    out["fields"]["offerTerms"] = [model_json(t) for t in card.offer_terms or []]
    out["fields"]["meters"] = [model_json(m) for m in card.meters or []]
    return out


def error_json(e):
    if isinstance(e, HttpResponseError):
        return {
            "kind": "http",
            "exception": type(e).__name__,
            "status": e.status_code,
            "code": e.error.code if e.error is not None else None,
            "message": e.error.message if e.error is not None else str(e),
        }
    # Reported to the test, which decides whether it was expected.
    return {"kind": "client", "exception": type(e).__name__, "message": str(e),
            "traceback": traceback.format_exc()}


def run_rate_card_call(plan, call):
    client = UsageManagementClient(StaticTokenCredential(call["token"]), call["subscription"],
                                   base_url=plan["baseUrl"], connection_verify=plan["caFile"])
    result = {"name": call["name"], "card": None, "error": None}
    try:
        result["card"] = card_json(client.rate_card.get(filter=call["filter"]))
    except Exception as e:  # noqa: BLE001
        result["error"] = error_json(e)
    finally:
        client.close()
    return result


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
    except Exception as e:  # noqa: BLE001 (reported to the test)
        result["error"] = error_json(e)
    finally:
        client.close()
    return result


def main():
    plan = json.load(sys.stdin)
    probe = UsageManagementClient(StaticTokenCredential("none"),
                                  "00000000-0000-0000-0000-000000000000",
                                  base_url=plan["baseUrl"])
    supported = callable(getattr(getattr(probe, "rate_card", None), "get", None))
    probe.close()
    out = {"client": f"azure-mgmt-commerce {azure.mgmt.commerce.VERSION}",
           "calls": [run_call(plan, call) for call in plan["calls"]],
           "rateCardSupported": supported,
           "rateCardCalls": [run_rate_card_call(plan, call)
                             for call in plan.get("rateCardCalls", [])] if supported else []}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
