/** What the supervisor and a tenant's host process say to each other. */

/** Messages a host sends its supervisor over IPC. */
export type HostMessage =
  /** `port`: the RIE-style HTTP invocation endpoint; `channelPort`: the gateway's framed channel (`channel.ts`). */
  | { type: 'ready'; port: number; channelPort: number; dynamoPort: number | null }
  | { type: 'fatal'; message: string };

/** The Lambda Runtime Interface Emulator's invocation path, served by every tenant process. */
export const INVOKE_PATH = '/2015-03-31/functions/function/invocations';
