/** metav1.Status objects, the body of every error the real API server returns. */
import type { JsonObject } from './kube-patch.js';

export function statusObject(code: number, reason: string, message: string, details?: JsonObject): JsonObject {
  const status: JsonObject = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  if (details) status['details'] = details;
  return status;
}
