'use strict';
// Prints the Serverless Framework's own configuration schema (as its ConfigSchemaHandler
// assembles it before validating a serverless.yml) as one JSON Schema document, offline.
//
// usage: node serverless_schema.js <serverless package dir> <lodash package dir>
//
// The schema handler, the core schema, the AWS provider and the httpApi event are the
// pinned `serverless` package's own code; only the modules they import for *running* a
// deployment (AWS SDK, logging, …) are replaced by inert stubs, since nothing here runs.
// The framework's custom `regexp` keyword (JavaScript regex literals) becomes `pattern`,
// case-insensitive ones spelled with character classes, so a standard validator applies it.
const Module = require('module');
const path = require('path');

const [pkg, lodashDir] = process.argv.slice(2);
const real = { lodash: require(lodashDir) };
const stub = () =>
  new Proxy(function () {}, {
    get: (t, k) => (k === Symbol.toPrimitive ? () => '' : k === 'then' ? undefined : stub()),
    apply: () => stub(),
    construct: () => stub(),
  });
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request in real) return real[request];
  if (request.startsWith('.') || path.isAbsolute(request)) return load.call(this, request, parent, isMain);
  try {
    return load.call(this, request, parent, isMain);
  } catch (e) {
    return stub();
  }
};

const Handler = require(path.join(pkg, 'lib/classes/config-schema-handler'));
const base = { service: { provider: { name: 'aws' } }, configurationInput: {}, _logDeprecation() {} };
const serverless = new Proxy(base, { get: (t, k) => (k in t ? t[k] : stub()) });
const handler = new Handler(serverless);
base.configSchemaHandler = handler;
const AwsProvider = require(path.join(pkg, 'lib/plugins/aws/provider.js'));
new AwsProvider(serverless, {});
const HttpApi = require(path.join(pkg, 'lib/plugins/aws/package/compile/events/http-api.js'));
new HttpApi(serverless, {});

function caseInsensitive(source) {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      out += source.slice(i, i + 2);
      i++;
    } else if (c === '[') {
      const end = source.indexOf(']', i + 1);
      out += source.slice(i, end + 1);
      i = end;
    } else if (/[a-z]/i.test(c)) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
    } else {
      out += c;
    }
  }
  return out;
}

function convert(node) {
  if (Array.isArray(node)) return node.forEach(convert);
  if (!node || typeof node !== 'object') return;
  if (typeof node.regexp === 'string') {
    const m = /^\/(.*)\/([a-z]*)$/s.exec(node.regexp);
    if (!m || /[^i]/.test(m[2])) throw new Error(`unsupported regexp ${node.regexp}`);
    node.pattern = m[2] === 'i' ? caseInsensitive(m[1]) : m[1];
    delete node.regexp;
  }
  Object.values(node).forEach(convert);
}

const schema = JSON.parse(JSON.stringify(handler.schema));
convert(schema);
// The framework validates with Ajv's default dialect (tuple-form `items` and all).
schema.$schema = 'http://json-schema.org/draft-07/schema#';
process.stdout.write(JSON.stringify(schema, null, 1));
