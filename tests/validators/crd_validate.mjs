// Checks custom resources against the schemas the `@kubernetes-models` npm packages ship,
// in two ways, both of which must pass:
//  1. the package's own compiled validator (`new Kind(doc).validate()`): required fields,
//     types, enums, patterns and ranges of the CRD's OpenAPI schema;
//  2. TypeScript's excess-property check of the document against the package's `I<Kind>`
//     interface: a misspelt or unknown field anywhere fails (the compiled validators accept
//     unknown fields, as an apiserver with pruning would silently drop them).
// Usage: node crd_validate.mjs <node_modules folder> DOCS.json
// DOCS.json is an array of {"file": …, "doc": {…}}. Prints one line per document
// (`ok <file> <Kind>/<name>` or `error …`) and exits 1 on any error, or on a document
// whose group has no package here.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, input] = process.argv.slice(2);
const require = createRequire(join(modules, "noop.js"));
const ts = require("typescript");

const packages = {
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
  "gateway.envoyproxy.io": "@kubernetes-models/envoy-gateway",
  "external-secrets.io": "@kubernetes-models/external-secrets",
  "argoproj.io": "@kubernetes-models/argo-cd",
  "source.toolkit.fluxcd.io": "@kubernetes-models/flux-cd",
  "kustomize.toolkit.fluxcd.io": "@kubernetes-models/flux-cd",
  "postgresql.cnpg.io": "@kubernetes-models/cloudnative-pg",
};

const docs = JSON.parse(readFileSync(input, "utf8"));
let failed = 0;
const lines = [];
const source = [];
for (const [i, { file, doc }] of docs.entries()) {
  const label = `${file} ${doc.kind}/${doc.metadata?.name}`;
  const [group, version] = String(doc.apiVersion).split("/");
  const pkg = packages[group];
  if (!pkg || !version) {
    failed++;
    lines.push(`error ${label}: no schema package for apiVersion ${doc.apiVersion}`);
    continue;
  }
  const module = `${pkg}/${group}/${version}/${doc.kind}`;
  try {
    const loaded = await import(pathToFileURL(join(modules, `${module}.js`)).href);
    new loaded[doc.kind](doc).validate();
    lines.push(`ok ${label}`);
  } catch (e) {
    failed++;
    lines.push(`error ${label}: ${e.message ?? e}`);
  }
  source.push(`import type { I${doc.kind} as T${i} } from "${module}";`);
  source.push(`export const d${i}: T${i} = ${JSON.stringify(doc)};`);
}

// One program for every document: the line of a diagnostic names its document.
const check = join(dirname(modules), "crd-check.mts");
writeFileSync(check, source.join("\n") + "\n");
const program = ts.createProgram([check], {
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
});
for (const d of ts.getPreEmitDiagnostics(program)) {
  failed++;
  const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
  if (d.file && d.start !== undefined) {
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const i = Number(source[line]?.match(/^export const d(\d+)/)?.[1] ?? source[line - 1]?.match(/T(\d+) }/)?.[1]);
    const doc = docs[i];
    lines.push(`error ${doc ? `${doc.file} ${doc.doc.kind}/${doc.doc.metadata?.name}` : check}: TS${d.code} ${text}`);
  } else {
    lines.push(`error: TS${d.code} ${text}`);
  }
}
console.log(lines.join("\n"));
console.log(`${docs.length} documents, ${failed} errors`);
process.exit(failed ? 1 : 0);
