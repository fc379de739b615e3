// Validates schemas/asyncapi.json with the official AsyncAPI parser; exits 1 on any
// error-level diagnostic. Run by the test suite (node_modules in a git-ignored folder).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createRequire } from "node:module";

const [modules, document] = process.argv.slice(2);
const require = createRequire(resolve(modules, "package.json"));
const { Parser, fromFile } = require("@asyncapi/parser");

const parser = new Parser();
const { diagnostics } = await fromFile(parser, resolve(document)).parse();
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of errors) {
  console.log(`${d.code}: ${d.message} at ${d.path.join(".")}`);
}
console.log(`${errors.length} errors, ${diagnostics.length - errors.length} other diagnostics`);
process.exit(errors.length ? 1 : 0);
