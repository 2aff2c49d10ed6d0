import type { MiddlewareHandler } from 'hono';
import { ApiError } from '../protocol/errors.js';

/** Bearer keys from PARLEY_API_KEYS; with none configured, every request is let through. */
export function bearerAuth(keys: readonly string[]): MiddlewareHandler {
  const allowed = new Set(keys);
  return async (c, next) => {
    if (allowed.size === 0) return next();
    const header = c.req.header('authorization') ?? '';
    const key = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (!allowed.has(key)) {
      throw new ApiError(
        401,
        key ? 'Incorrect API key provided.' : "You didn't provide an API key. Provide it as 'Authorization: Bearer YOUR_KEY'.",
        'invalid_request_error',
        null,
        'invalid_api_key',
      );
    }
    return next();
  };
}
