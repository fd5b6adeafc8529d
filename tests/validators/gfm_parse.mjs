// Parses a Markdown file as GitHub-flavoured Markdown (micromark with its GFM extension:
// tables, strikethrough, task lists, autolinks, footnotes) and prints the syntax tree
// (mdast) as JSON, positions left out, so tests can check the structure GitHub will see.
// Usage: node gfm_parse.mjs <node_modules folder> FILE.md
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, file] = process.argv.slice(2);
const require = createRequire(join(modules, "noop.js"));
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);
const { fromMarkdown } = await load("mdast-util-from-markdown");
const { gfm } = await load("micromark-extension-gfm");
const { gfmFromMarkdown } = await load("mdast-util-gfm");

const tree = fromMarkdown(readFileSync(file, "utf8"), {
  extensions: [gfm()],
  mdastExtensions: [gfmFromMarkdown()],
});
console.log(JSON.stringify(tree, (key, value) => (key === "position" ? undefined : value)));
