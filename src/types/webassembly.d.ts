/**
 * The part of the WebAssembly JavaScript API lonas uses. Node provides it globally, but the
 * only standard typings for it live in TypeScript's DOM library, which a Node project leaves out.
 */
declare namespace WebAssembly {
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}
