// Validates custom resources against their CRD schema with a `@kubernetes-models/*` model
// class (its `validate()` checks the object against the CRD's OpenAPI schema).
//
// usage: node crd_model_validate.mjs NODE_MODULES MODULE CLASS FILE.json...
//   MODULE: the model's file inside NODE_MODULES, e.g.
//           @kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject.js
//   CLASS:  the exported class, e.g. ScaledObject
// Prints `ok <file>` per valid object and `<file>: <errors>` per invalid one; exits 1 if
// any is invalid.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, module, name, ...files] = process.argv.slice(2);
const Model = (await import(pathToFileURL(join(modules, module)).href))[name];
if (typeof Model !== "function") {
  console.error(`${module} exports no class ${name}`);
  process.exit(2);
}
let failed = false;
for (const file of files) {
  try {
    new Model(JSON.parse(readFileSync(file, "utf8"))).validate();
    console.log(`ok ${file}`);
  } catch (e) {
    failed = true;
    console.log(`${file}: ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
