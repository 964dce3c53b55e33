/** dynalite 4 ships no types: the part of its API the project uses. */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  export interface DynaliteOptions {
    /** Directory for a persistent LevelDB store; in memory when omitted. */
    path?: string;
    /** Milliseconds a table stays CREATING (pass 0 in tests and local runs). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    ssl?: boolean;
  }

  /** An unstarted HTTP server speaking the DynamoDB API; call `listen`. */
  export default function dynalite(options?: DynaliteOptions): Server;
}
