import { describe, expect, test } from '@jest/globals';
import { InFlightLocks } from '../../src/csi/locks.js';
import { CsiError, GrpcCode } from '../../src/csi/errors.js';

describe('InFlightLocks', () => {
  test('a second concurrent call on the same key is ABORTED without running', async () => {
    const locks = new InFlightLocks();
    let release!: () => void;
    const first = locks.run('vol-1', () => new Promise<string>((r) => (release = () => r('first'))));
    let ran = false;
    const second = locks.run('vol-1', async () => {
      ran = true;
    });
    await expect(second).rejects.toMatchObject({
      code: GrpcCode.ABORTED,
      message: 'an operation on volume vol-1 is already in progress; retry',
    });
    expect(ran).toBe(false);
    release();
    await expect(first).resolves.toBe('first');
    expect(locks.size).toBe(0);
  });

  test('other keys proceed concurrently; the label shows in messages', async () => {
    const locks = new InFlightLocks('volume name');
    let release!: () => void;
    const a = locks.run('a', () => new Promise<void>((r) => (release = r)));
    await expect(locks.run('b', async () => 'b')).resolves.toBe('b');
    await expect(locks.run('a', async () => 'x')).rejects.toThrow('an operation on volume name a is already in progress; retry');
    release();
    await a;
  });

  test('released when the operation throws, so a retry proceeds', async () => {
    const locks = new InFlightLocks();
    await expect(locks.run('v', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(locks.isHeld('v')).toBe(false);
    await expect(locks.run('v', async () => 'ok')).resolves.toBe('ok');
  });

  test('multiple keys are taken all-or-none', async () => {
    const locks = new InFlightLocks();
    let release!: () => void;
    const held = locks.run('node-1', () => new Promise<void>((r) => (release = r)));
    const err = await locks.run(['vol-9', 'node-1'], async () => 'never').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsiError);
    expect((err as CsiError).message).toContain('node-1');
    expect(locks.isHeld('vol-9')).toBe(false);
    release();
    await held;
    await expect(locks.run(['vol-9', 'node-1'], async () => 'both')).resolves.toBe('both');
    expect(locks.size).toBe(0);
  });
});
