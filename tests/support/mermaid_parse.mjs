// Parses Mermaid files with Mermaid's own parser (no browser: jsdom stands in for the DOM it
// loads with). Used by tests/graph.rs when MERMAID_NODE_MODULES names a folder where
// `npm install mermaid@11 jsdom` was run. Exit status 1 when any file does not parse.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import fs from "node:fs";

const require = createRequire(process.env.MERMAID_NODE_MODULES.replace(/\/?$/, "/"));
const { JSDOM } = require("jsdom");
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
const mermaid = (await import(pathToFileURL(require.resolve("mermaid")).href)).default;
mermaid.initialize({ startOnLoad: false });
let bad = 0;
for (const file of process.argv.slice(2)) {
  try {
    const r = await mermaid.parse(fs.readFileSync(file, "utf8"));
    console.log(`${file}: ${r.diagramType}`);
  } catch (e) {
    bad++;
    console.log(`${file}: ${String(e.message || e)}`);
  }
}
process.exit(bad ? 1 : 0);
