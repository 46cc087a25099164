import type { LonasEvent } from '../events';
import type { LiveSnapshot } from './live-state';

/**
 * The live protocol, JSON over WebSocket. A client may subscribe to topics (the part of an event
 * type before the dot: `train`, `eval`, `search`); it starts subscribed to all.
 *
 *   client -> server   {"type": "subscribe", "topics": ["train"]}   {"type": "unsubscribe", "topics": [...]}
 *   server -> client   {"type": "state", "state": LiveSnapshot}     first message, then
 *                      {"type": "event", "seq": n, "event": LonasEvent}
 *                      {"type": "dropped", "count": n}               messages skipped while it lagged
 *                      {"type": "error", "message": "..."}           a bad client message (ignored)
 *
 * Everything that arrives over the wire is `unknown` until validated here: the parsers return a
 * message or a one-line reason (bounded in length), and never throw.
 */
export const TOPICS = ['train', 'eval', 'search'] as const;
export type Topic = (typeof TOPICS)[number];

export type ServerMessage =
  | { type: 'state'; state: LiveSnapshot }
  | { type: 'event'; seq: number; event: LonasEvent }
  | { type: 'dropped'; count: number }
  | { type: 'error'; message: string };

export type ClientMessage = { type: 'subscribe' | 'unsubscribe'; topics: Topic[] };

/** The event types of `src/events.ts`: a recorded or streamed event of another type is not one. */
export const EVENT_TYPES: readonly string[] = [
  'train.start',
  'train.step',
  'train.stage',
  'train.epoch',
  'train.checkpoint',
  'train.done',
  'eval.result',
  'eval.progress',
  'search.candidate',
  'search.queue',
  'search.start',
  'search.generation',
  'search.done',
];

export const topicOf = (event: LonasEvent): Topic => event.type.split('.')[0] as Topic;

/** Largest client message accepted (bytes); larger ones get an error reply. */
export const MAX_CLIENT_MESSAGE = 4096;

/** Longest reason a parser returns (it may quote what it was given). */
export const MAX_REASON = 200;

/** `text`, cut to `max` characters with an ellipsis and the length it had. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** A plain JSON object (not null, not an array). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** A JSON value quoted in a reason, bounded. */
const quote = (value: unknown): string => truncate(JSON.stringify(value) ?? String(value), 80);

const CLIENT_SHAPE = 'expected {"type": "subscribe" | "unsubscribe", "topics": [...]}';

/** Validates a client's message (text of at most MAX_CLIENT_MESSAGE bytes); a string is the reason it is refused. */
export function parseClientMessage(data: string): ClientMessage | string {
  const bytes = Buffer.byteLength(data, 'utf8');
  if (bytes > MAX_CLIENT_MESSAGE) return `message of ${bytes} bytes exceeds ${MAX_CLIENT_MESSAGE}`;
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return 'message is not JSON';
  }
  if (!isRecord(message))
    return `${CLIENT_SHAPE}, got ${message === null ? 'null' : Array.isArray(message) ? 'an array' : typeof message}`;
  if (message.type !== 'subscribe' && message.type !== 'unsubscribe')
    return `${CLIENT_SHAPE}, got type ${quote(message.type)}`;
  if (!Array.isArray(message.topics)) return `${CLIENT_SHAPE}, got topics ${quote(message.topics)}`;
  const extra = Object.keys(message).filter((key) => key !== 'type' && key !== 'topics');
  if (extra.length > 0) return `${CLIENT_SHAPE}, got also ${quote(extra)}`;
  const unknown = message.topics.filter((t) => !(TOPICS as readonly unknown[]).includes(t));
  if (unknown.length > 0)
    return truncate(`unknown topics ${JSON.stringify(unknown)} (known: ${TOPICS.join(', ')})`, MAX_REASON);
  return { type: message.type, topics: [...new Set(message.topics as Topic[])] };
}

/** Whether `value` looks like a LonasEvent: an object whose `type` is one of EVENT_TYPES. */
export function isEvent(value: unknown): value is LonasEvent {
  return isRecord(value) && typeof value.type === 'string' && EVENT_TYPES.includes(value.type);
}

/** Validates a message from a live server (for `lonas watch`); a string is the reason it is refused. */
export function parseServerMessage(data: string): ServerMessage | string {
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return `not JSON: ${quote(data)}`;
  }
  if (!isRecord(message)) return `not a message object: ${quote(message)}`;
  switch (message.type) {
    case 'state':
      return isRecord(message.state)
        ? (message as ServerMessage)
        : `a state without a state object: ${quote(message.state)}`;
    case 'event':
      if (!isCount(message.seq)) return `an event without a sequence number: ${quote(message.seq)}`;
      return isEvent(message.event) ? (message as ServerMessage) : `an event of no known type: ${quote(message.event)}`;
    case 'dropped':
      return isCount(message.count)
        ? (message as ServerMessage)
        : `a dropped count that is not a count: ${quote(message.count)}`;
    case 'error':
      return typeof message.message === 'string'
        ? { type: 'error', message: truncate(message.message, MAX_REASON) }
        : `an error without a message: ${quote(message.message)}`;
    default:
      return `a message of unknown type ${quote(message.type)}`;
  }
}
