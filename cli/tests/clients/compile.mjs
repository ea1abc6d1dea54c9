// Compiles every .sol file in this folder with solc-js into OUT/<Name>.json
// ({abi, bytecode}). Usage: NODE_PATH=<clients>/node_modules node compile.mjs OUT
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) throw new Error("usage: node compile.mjs OUT_DIR");
const roots = (process.env.NODE_PATH ?? "").split(":").filter(Boolean);
let solc;
for (const r of roots) {
  try { solc = createRequire(join(r, "x.js"))("solc"); break; } catch {}
}
if (!solc) throw new Error("solc not found on NODE_PATH; run scripts/clients-setup.sh");
const sources = {};
for (const f of readdirSync(here).filter((f) => f.endsWith(".sol"))) {
  sources[f] = { content: readFileSync(join(here, f), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "prague",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const result = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (result.errors ?? []).filter((e) => e.severity === "error");
if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
mkdirSync(out, { recursive: true });
for (const [file, contracts] of Object.entries(result.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    writeFileSync(join(out, `${name}.json`), JSON.stringify({ abi: c.abi, bytecode: "0x" + c.evm.bytecode.object }));
  }
}
console.log(JSON.stringify({ solc: solc.version(), files: Object.keys(result.contracts).length }));
