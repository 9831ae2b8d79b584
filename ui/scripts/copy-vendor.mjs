// Copies the assets of the API documentation pages (/docs: Swagger UI, /redoc: ReDoc) from
// their npm packages into the Python package, so that olgraph serves them itself: no CDN.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "..", "node_modules");
const vendor = join(here, "..", "..", "src", "olgraph", "api", "static", "vendor");

const files = {
  "swagger-ui": ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"].map((f) => [
    join(modules, "swagger-ui-dist", f),
    f,
  ]),
  redoc: [[join(modules, "redoc", "bundles", "redoc.standalone.js"), "redoc.standalone.js"]],
};

rmSync(vendor, { recursive: true, force: true });
for (const [folder, list] of Object.entries(files)) {
  mkdirSync(join(vendor, folder), { recursive: true });
  for (const [source, name] of list) {
    copyFileSync(source, join(vendor, folder, name));
  }
}
// ReDoc's sidebar footer shows a logo fetched from the vendor's CDN: an empty inline image instead.
const redoc = join(vendor, "redoc", "redoc.standalone.js");
const logo = "https://cdn.redoc.ly/redoc/logo-mini.svg";
const bundle = readFileSync(redoc, "utf8");
if (!bundle.includes(logo)) throw new Error(`${redoc}: the CDN logo to replace is gone; check the new ReDoc for other CDN uses`);
writeFileSync(redoc, bundle.replaceAll(logo, "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"));

console.log(`copied the API docs' assets into ${vendor}`);
