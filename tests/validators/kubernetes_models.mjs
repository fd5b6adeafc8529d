// Validates custom resources with the validators a kubernetes-models package ships (npm
// `@kubernetes-models/<name>`, generated from the operator's Go API types: types, required
// fields, enums, patterns and ranges; unknown fields are the closed JSON Schema's to catch).
//
// usage: node kubernetes_models.mjs NODE_MODULES PACKAGE DOC.json ...
// Each document's class is PACKAGE/<group>/<version>/<Kind>.js, the packages' layout. A
// document whose class the package lacks is an error. Prints one line per document; exits 1
// if any fails.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, pkg, ...files] = process.argv.slice(2);
let failed = 0;
for (const file of files) {
  const doc = JSON.parse(readFileSync(file, "utf8"));
  const module = join(modules, pkg, doc.apiVersion, `${doc.kind}.js`);
  if (!existsSync(module)) {
    failed++;
    console.log(`${file}: ${pkg} has no ${doc.apiVersion} ${doc.kind}`);
    continue;
  }
  const Model = (await import(pathToFileURL(module).href))[doc.kind];
  try {
    new Model(doc).validate();
    console.log(`${file}: ${doc.kind}/${doc.metadata.name} ok`);
  } catch (e) {
    failed++;
    console.log(`${file}: ${doc.kind}/${doc.metadata.name}: ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
