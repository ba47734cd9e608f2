// Runs a wasm32-wasip1 command module under Node's WASI, i.e. in V8, the engine Envoy runs the
// filter in: `make bench` uses it for benches/decision.rs built for wasm32-wasip1.
// The bollard lib links the proxy-wasm filter on that target; its host functions (`env.proxy_*`)
// are stubs here, which the benchmark never calls, and its `_initialize` is not run.
// Usage: node bench/wasi-run.mjs FILE.wasm [args...]
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { argv, env, exit } from "node:process";

const [file, ...args] = argv.slice(2);
const wasi = new WASI({ version: "preview1", args: [file, ...args], env, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const imports = wasi.getImportObject();
const stubs = {};
for (const i of WebAssembly.Module.imports(module)) {
  if (i.module === "env" && i.kind === "function") {
    stubs[i.name] = () => {
      throw new Error(`host function ${i.name} is not available outside Envoy`);
    };
  }
}
imports.env = stubs;
const instance = await WebAssembly.instantiate(module, imports);
// The filter's `_initialize` (proxy_wasm::main!) is exported next to the command's `_start`;
// WASI.start refuses both, and only `_start` is wanted.
const { memory, _start } = instance.exports;
exit(wasi.start({ exports: { memory, _start } }));
