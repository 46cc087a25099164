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
 */
export const TOPICS = ['train', 'eval', 'search'] as const;
export type Topic = (typeof TOPICS)[number];

export type ServerMessage =
  | { type: 'state'; state: LiveSnapshot }
  | { type: 'event'; seq: number; event: LonasEvent }
  | { type: 'dropped'; count: number }
  | { type: 'error'; message: string };

export type ClientMessage = { type: 'subscribe' | 'unsubscribe'; topics: Topic[] };

export const topicOf = (event: LonasEvent): Topic => event.type.split('.')[0] as Topic;

/** Largest client message accepted (bytes); larger ones get an error reply. */
export const MAX_CLIENT_MESSAGE = 4096;

export function parseClientMessage(data: string): ClientMessage | string {
  if (data.length > MAX_CLIENT_MESSAGE) return `message of ${data.length} bytes exceeds ${MAX_CLIENT_MESSAGE}`;
  let message: unknown;
  try {
    message = JSON.parse(data);
  } catch {
    return 'message is not JSON';
  }
  const m = message as { type?: unknown; topics?: unknown };
  if ((m.type !== 'subscribe' && m.type !== 'unsubscribe') || !Array.isArray(m.topics)) {
    return 'expected {"type": "subscribe" | "unsubscribe", "topics": [...]}';
  }
  const unknown = m.topics.filter((t) => !(TOPICS as readonly unknown[]).includes(t));
  if (unknown.length > 0) return `unknown topics ${JSON.stringify(unknown)} (known: ${TOPICS.join(', ')})`;
  return { type: m.type, topics: m.topics as Topic[] };
}
