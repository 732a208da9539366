/**
 * Reading a failed Kubernetes request, whichever client made it: client-node's
 * ApiException and our own RestError (rest-client.ts) both carry the HTTP
 * status as `code` and the raw response text (a JSON Status) as `body`.
 * Kept apart from client.ts so node mode can use it without importing
 * @kubernetes/client-node.
 */

/** HTTP status of a failed request (ApiException.code, RestError.code), if it carries one. */
export function httpStatusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The Status message inside a failed request's body, for logs and error messages. */
export function kubeErrorMessage(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === 'string') return status.message;
    } catch {
      // not JSON: fall through to the generic message
    }
  }
  const code = httpStatusOf(err);
  if (code !== undefined) return `HTTP ${code}`;
  return err instanceof Error ? err.message.split('\n')[0] ?? err.message : String(err);
}
