// Runs the add-in's functions.js under Node with Office's objects stubbed, as Excel's
// custom-functions runtime would: CustomFunctions.associate records each function,
// OfficeRuntime.storage holds the token, fetch is Node's own (real HTTPS to the server).
// Reads {"script": PATH, "token": TEXT, "calls": [[ID, ARG, ...], ...]} on stdin and
// prints one result per call: {"values": rows} (an error cell as {"error", "message"})
// or {"thrown": {"error", "message"}}.
"use strict";
const fs = require("fs");
const vm = require("vm");

class OfficeError {
  constructor(code, message) { this.code = code; this.message = message; }
}
const CODES = {invalidValue: "#VALUE!", notAvailable: "#N/A", invalidNumber: "#NUM!"};

async function main() {
  const request = JSON.parse(fs.readFileSync(0, "utf8"));
  const associated = {};
  const context = {
    CustomFunctions: {
      associate: (id, fn) => { associated[id] = fn; },
      Error: OfficeError,
      ErrorCode: {invalidValue: "invalidValue", notAvailable: "notAvailable",
                  invalidNumber: "invalidNumber"},
    },
    OfficeRuntime: {storage: {getItem: async (key) => (key === "xlhtx-token" ? request.token : null)}},
    fetch, console,
  };
  vm.createContext(context);
  vm.runInContext(fs.readFileSync(request.script, "utf8"), context, {filename: "functions.js"});
  const shown = (v) => (v instanceof OfficeError ? {error: CODES[v.code], message: v.message} : v);
  const out = [];
  for (const [id, ...args] of request.calls) {
    if (!associated[id]) { out.push({missing: id}); continue; }
    try {
      const rows = await associated[id](...args);
      out.push({values: rows.map((r) => r.map(shown))});
    } catch (e) {
      out.push({thrown: shown(e)});
    }
  }
  process.stdout.write(JSON.stringify({associated: Object.keys(associated), results: out}));
}
main().catch((e) => { process.stderr.write(String(e.stack || e)); process.exit(1); });
