/** What the dev process and an execution environment say to each other over IPC (invocations go over the pipe of `channel.ts`). */

/** Messages an environment sends the dev process. */
export type HostMessage =
  /** The artifact is loaded: the environment takes invocations on its pipe. */
  | { type: 'ready' }
  | { type: 'fatal'; message: string };
