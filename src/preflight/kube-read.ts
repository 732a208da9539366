/** A Kubernetes read of preflight, ended after `timeoutMs` with an error saying so (client-node takes no signal). */
export async function withDeadline<T>(read: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
  });
  return Promise.race([read, deadline]).finally(() => clearTimeout(timer));
}
