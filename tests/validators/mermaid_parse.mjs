// Parses every ```mermaid block of the given Markdown files with the `mermaid` package's
// own parser, under Node, with jsdom providing `window` and `document`.
// Usage: node mermaid_parse.mjs <node_modules folder> FILE.md...
// Prints one line per block (`ok <file>#<n> <diagram type>`) and exits 1 on any error.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, ...files] = process.argv.slice(2);
const require = createRequire(join(modules, "noop.js"));
const { JSDOM } = require("jsdom");
const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const key of ["DOMParser", "Element", "HTMLElement", "Node", "navigator"]) {
  if (!(key in globalThis)) globalThis[key] = dom.window[key];
}
const entry = require.resolve("mermaid");
const mermaid = (await import(pathToFileURL(entry).href)).default;
mermaid.initialize({ startOnLoad: false });

let failed = 0;
let blocks = 0;
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const found = [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)];
  if (found.length === 0) {
    console.log(`error ${file}: no mermaid block`);
    failed++;
  }
  for (const [i, m] of found.entries()) {
    blocks++;
    try {
      const result = await mermaid.parse(m[1]);
      console.log(`ok ${file}#${i} ${result.diagramType}`);
    } catch (e) {
      failed++;
      console.log(`error ${file}#${i}: ${e.message ?? e}`);
    }
  }
}
console.log(`${blocks} blocks, ${failed} errors`);
process.exit(failed ? 1 : 0);
