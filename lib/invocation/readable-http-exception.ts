import { HttpException } from '@nestjs/common';

/**
 * What a Python caller reads of an error from Nest's pipeline is its class name and message. Nest's
 * ValidationPipe fails with a BadRequestException whose message is the generic "Bad Request
 * Exception" and whose response lists what was wrong: that list becomes the message, joined by
 * "; ". The exception is the one the pipe just made; changing its message loses nothing.
 */
export function withReadableMessage(error: unknown): unknown {
  if (!(error instanceof HttpException)) return error;
  const response = error.getResponse();
  const messages = typeof response === 'object' && response !== null ? (response as { message?: unknown }).message : undefined;
  if (Array.isArray(messages) && messages.length > 0) error.message = messages.map(String).join('; ');
  return error;
}
