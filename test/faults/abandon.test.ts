/** Unit: a caller stops waiting for shared work at its own deadline; the work itself is not cancelled. */
import { expect, test } from '@jest/globals';
import { abandonOnAbort } from '../../src/controller/abandon.js';
import { CsiError, GrpcCode } from '../../src/csi/errors.js';

const codeOf = async (p: Promise<unknown>): Promise<GrpcCode | 'ok'> => {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as CsiError).code;
  }
};

test('a deadline ends the wait with DEADLINE_EXCEEDED, a cancel with CANCELLED; the shared work still settles for others', async () => {
  let finish!: (v: string) => void;
  const work = new Promise<string>((resolve) => (finish = resolve));
  const deadline = new AbortController();
  const cancel = new AbortController();
  const waitDeadline = codeOf(abandonOnAbort(work, deadline.signal, 'CreateVolume "a"'));
  const waitCancel = codeOf(abandonOnAbort(work, cancel.signal, 'CreateVolume "a"'));
  const patient = abandonOnAbort(work, new AbortController().signal, 'CreateVolume "a"');
  deadline.abort(new DOMException('deadline exceeded', 'TimeoutError'));
  cancel.abort(new DOMException('cancelled by the client', 'AbortError'));
  expect(await waitDeadline).toBe(GrpcCode.DEADLINE_EXCEEDED);
  expect(await waitCancel).toBe(GrpcCode.CANCELLED);
  finish('vol-1');
  await expect(patient).resolves.toBe('vol-1');
});

test('already aborted: fails at once; otherwise results and errors pass through unchanged', async () => {
  const aborted = new AbortController();
  aborted.abort(new DOMException('deadline exceeded', 'TimeoutError'));
  expect(await codeOf(abandonOnAbort(new Promise(() => undefined), aborted.signal, 'x'))).toBe(GrpcCode.DEADLINE_EXCEEDED);
  const live = new AbortController().signal;
  await expect(abandonOnAbort(Promise.resolve(7), live, 'x')).resolves.toBe(7);
  const failure = new CsiError(GrpcCode.ALREADY_EXISTS, 'name: taken');
  await expect(abandonOnAbort(Promise.reject(failure), live, 'x')).rejects.toBe(failure);
});
