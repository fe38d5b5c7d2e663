import { readFileSync } from "node:fs";

/** The package version, from the nearest package.json above this module (dist/ or a bench build). */
function readVersion(): string {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "ollama-coder" && pkg.version) return pkg.version;
    } catch {
      /* look further up */
    }
  }
  return "0.0.0";
}

export const VERSION: string = readVersion();
