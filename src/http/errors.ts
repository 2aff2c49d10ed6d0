import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ApiError } from '../protocol/errors.js';
import type { Logger } from '../log.js';

/** Every failure leaves as an OpenAI-shaped error body. */
export function toApiError(error: unknown, logger: Logger): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException) {
    return new ApiError(error.status, error.message || 'Bad request.', 'invalid_request_error');
  }
  logger.error({ err: error }, 'unhandled error');
  return new ApiError(500, 'The server had an error while processing your request.', 'server_error');
}

export function sendError(c: Context, error: ApiError) {
  return c.json(error.toJSON(), error.status as ContentfulStatusCode);
}
