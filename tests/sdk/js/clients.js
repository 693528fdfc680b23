// Reads Tally's tenant usage API and RateCard API through the Azure SDK for JavaScript, for
// tests/sdk/sdk_conformance_test.py: `node clients.js hybrid` drives
// @azure/arm-commerce-profile-2020-09-01-hybrid (on @azure/core-client), `node clients.js
// arm-commerce` drives @azure/arm-commerce 3.0.0 (on @azure/ms-rest-js). It runs from the
// folder tests/sdk/install-js-clients installed with `npm ci`.
//
// stdin: a JSON plan {"baseUrl", "calls": [{"name", "subscription", "token", "start", "end",
// "granularity"?, "showDetails"?}], "rateCardCalls": [{"name", "subscription", "token",
// "filter"}]}; a missing "granularity" leaves the client's default. The server's certificate is
// trusted through NODE_EXTRA_CA_CERTS. stdout: {"client", "timezoneOffsetMinutes", "calls":
// [{"name", "items", "pageSizes", "nextLinks", "error"}], "rateCardSupported", "rateCardCalls":
// [{"name", "card", "error"}]}: every aggregate as the client parsed it (times as the Date's
// UTC ISO text), one entry per page, every rate card as client.rateCard.get(filter) returned it
// (modelJson), and what the client threw (null when the call succeeded). Anything outside one
// call going wrong is a crash with a stack trace and a non-zero exit.
"use strict";

const fs = require("fs");

function staticTokenCredential(token) {
  return {
    async getToken(scopes, options) {
      return { token, expiresOnTimestamp: Date.now() + 3600 * 1000 };
    },
  };
}

function timeText(value) {
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  }
  return JSON.stringify(value === undefined ? null : value);
}

function itemJson(a) {
  return {
    id: a.id,
    name: a.name,
    type: a.type,
    subscriptionId: a.subscriptionId,
    meterId: a.meterId,
    usageStartTime: timeText(a.usageStartTime),
    usageEndTime: timeText(a.usageEndTime),
    quantity: a.quantity,
    quantityType: typeof a.quantity,
    instanceData: a.instanceData,
    instanceDataType: typeof a.instanceData,
  };
}

function typeName(value) {
  if (value === null) return "null";
  if (value instanceof Date) return "Date";
  return typeof value;
}

// A model object as the client returned it: {"class": null (the JS models are plain objects),
// "fields": every own enumerable property (Dates as UTC ISO text), "types": the JS type of each
// (of each element or dictionary value: a sorted list)}. Offer terms and meters are walked.
function modelJson(model) {
  const out = { class: null, fields: {}, types: {} };
  for (const [key, value] of Object.entries(model)) {
    if (key.startsWith("_")) continue;  // @azure/ms-rest-js's _response
    if (key === "offerTerms" || key === "meters") {
      out.fields[key] = Array.isArray(value) ? value.map(modelJson) : value ?? null;
      out.types[key] = typeName(value);
      continue;
    }
    if (value instanceof Date) {
      out.fields[key] = timeText(value);
      out.types[key] = "Date";
    } else if (Array.isArray(value)) {
      out.fields[key] = value;
      out.types[key] = [...new Set(value.map(typeName))].sort();
    } else if (value !== null && typeof value === "object") {
      out.fields[key] = value;
      out.types[key] = [...new Set(Object.values(value).map(typeName))].sort();
    } else {
      out.fields[key] = value === undefined ? null : value;
      out.types[key] = typeName(value);
    }
  }
  return out;
}

function errorJson(e) {
  if (typeof e.statusCode === "number") {
    return { kind: "http", exception: e.constructor?.name ?? e.name, status: e.statusCode,
             code: e.code ?? null, message: e.message };
  }
  return { kind: "client", exception: e.constructor?.name ?? e.name, message: e.message,
           traceback: e.stack };
}

function listOptions(call) {
  const options = {};
  if ("granularity" in call) options.aggregationGranularity = call.granularity;
  if ("showDetails" in call) options.showDetails = call.showDetails;
  return options;
}

// The Azure Stack Hub profile client: pages through byPage(), which follows nextLink verbatim.
async function runHybrid(plan, call, result) {
  const sdk = require("@azure/arm-commerce-profile-2020-09-01-hybrid");
  const client = new sdk.UsageManagementClient(staticTokenCredential(call.token),
                                               call.subscription,
                                               { $host: plan.baseUrl, endpoint: plan.baseUrl });
  const pages = client.usageAggregates
      .list(new Date(call.start), new Date(call.end), listOptions(call))
      .byPage();
  for await (const page of pages) {
    for (const a of page) result.items.push(itemJson(a));
    result.pageSizes.push(page.length);
    result.nextLinks.push(sdk.getContinuationToken(page) ?? null);
  }
}

// @azure/arm-commerce 3.0.0: list() returns the first page, listNext() each further one; the
// caller loops while nextLink is set, as its README shows.
async function runArmCommerce(plan, call, result) {
  const sdk = require("@azure/arm-commerce");
  const client = new sdk.UsageManagementClient(staticTokenCredential(call.token),
                                               call.subscription, { baseUri: plan.baseUrl });
  const start = new Date(call.start);
  const end = new Date(call.end);
  const options = listOptions(call);
  let page = await client.usageAggregates.list(start, end, options);
  for (;;) {
    for (const a of page) result.items.push(itemJson(a));
    result.pageSizes.push(page.length);
    result.nextLinks.push(page.nextLink ?? null);
    if (!page.nextLink) break;
    page = await client.usageAggregates.listNext(page.nextLink, start, end, options);
  }
}

function hybridClient(plan, call) {
  const sdk = require("@azure/arm-commerce-profile-2020-09-01-hybrid");
  return new sdk.UsageManagementClient(staticTokenCredential(call.token), call.subscription,
                                       { $host: plan.baseUrl, endpoint: plan.baseUrl });
}

function armCommerceClient(plan, call) {
  const sdk = require("@azure/arm-commerce");
  return new sdk.UsageManagementClient(staticTokenCredential(call.token), call.subscription,
                                       { baseUri: plan.baseUrl });
}

const clients = {
  "hybrid": ["@azure/arm-commerce-profile-2020-09-01-hybrid", runHybrid, hybridClient],
  "arm-commerce": ["@azure/arm-commerce", runArmCommerce, armCommerceClient],
};

async function main() {
  const which = process.argv[2];
  if (!(which in clients)) {
    throw new Error(`usage: node clients.js ${Object.keys(clients).join("|")} < plan.json`);
  }
  const [pkg, run, makeClient] = clients[which];
  const version = JSON.parse(fs.readFileSync(require.resolve(`${pkg}/package.json`))).version;
  const plan = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = {
    client: `${pkg} ${version} on node ${process.version}`,
    // Nonzero when the test runs us in a time zone other than UTC, so that a time read without
    // its offset would show up shifted.
    timezoneOffsetMinutes: new Date(Date.UTC(2024, 2, 1)).getTimezoneOffset(),
    calls: [],
  };
  for (const call of plan.calls) {
    const result = { name: call.name, items: [], pageSizes: [], nextLinks: [], error: null };
    try {
      await run(plan, call, result);
    } catch (e) {
      result.error = errorJson(e);
    }
    out.calls.push(result);
  }
  // Whether the package has the operation at all: the test requires it.
  const probe = makeClient(plan, { token: "none",
                                   subscription: "00000000-0000-0000-0000-000000000000" });
  out.rateCardSupported = typeof probe.rateCard?.get === "function";
  out.rateCardCalls = [];
  for (const call of out.rateCardSupported ? plan.rateCardCalls ?? [] : []) {
    const result = { name: call.name, card: null, error: null };
    try {
      result.card = modelJson(await makeClient(plan, call).rateCard.get(call.filter));
    } catch (e) {
      result.error = errorJson(e);
    }
    out.rateCardCalls.push(result);
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
