// Regenerates EscrowForger.bin and EscrowForger.abi.json from EscrowForger.sol.
// Usage (from this folder): npx --yes -p solc@0.8.37 node compile.mjs
//   or, with solc@0.8.37 installed elsewhere: NODE_PATH=/path/to/node_modules node compile.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// Find solc: NODE_PATH entries, then node_modules/.bin dirs on PATH (as npx -p sets up).
const roots = [
  ...(process.env.NODE_PATH ?? "").split(":").filter(Boolean),
  ...(process.env.PATH ?? "").split(":").filter((d) => d.endsWith("node_modules/.bin")).map((d) => dirname(d)),
];
let solc;
for (const r of roots) {
  try { solc = createRequire(join(r, "x.js"))("solc"); break; } catch {}
}
if (!solc) throw new Error("solc not found; run via: npx --yes -p solc@0.8.37 node compile.mjs");

const input = {
  language: "Solidity",
  sources: { "EscrowForger.sol": { content: readFileSync(join(here, "EscrowForger.sol"), "utf8") } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "prague",
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.methodIdentifiers"] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
for (const e of out.errors ?? []) console.error(e.formattedMessage);
if ((out.errors ?? []).some((e) => e.severity === "error")) process.exit(1);

const c = out.contracts["EscrowForger.sol"].EscrowForger;
writeFileSync(join(here, "EscrowForger.bin"), c.evm.bytecode.object.toLowerCase());
writeFileSync(join(here, "EscrowForger.abi.json"), JSON.stringify(c.abi, null, 2) + "\n");
console.log("solc", solc.version());
console.log("bytecode bytes", c.evm.bytecode.object.length / 2);
console.log(c.evm.methodIdentifiers);
