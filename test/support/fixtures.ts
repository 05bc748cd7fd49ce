import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageProperties } from '../../lib/broker/broker.interface';

/** Captures from real Celery 5.2.6 (copied from the team's shared fixtures), used as golden vectors. */
export const FIXTURES_DIR = join(__dirname, '..', 'fixtures', 'celery-5.2.6');

export function loadFixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, `${name}.json`), 'utf8')) as T;
}

/** A captured message as the broker layer would deliver it. */
export interface CapturedMessage {
  exchange: string;
  routing_key: string;
  properties: Record<string, any>;
  headers: Record<string, unknown>;
  body_format: 'json' | 'base64';
  body: unknown;
  body_raw?: string;
}

export function capturedBody(message: CapturedMessage): Buffer {
  if (message.body_format === 'base64') return Buffer.from(message.body as string, 'base64');
  return Buffer.from(message.body_raw ?? JSON.stringify(message.body), 'utf8');
}

export function capturedProperties(message: CapturedMessage): MessageProperties {
  const p = message.properties;
  return {
    contentType: p.content_type,
    contentEncoding: p.content_encoding,
    deliveryMode: p.delivery_mode,
    priority: p.priority,
    correlationId: p.correlation_id,
    replyTo: p.reply_to,
    expiration: p.expiration,
    headers: message.headers,
  };
}
