import { describe, expect, test } from '@jest/globals';
import { RetryBackoff } from '../../src/cpi/retry-backoff.js';

describe('RetryBackoff', () => {
  test('delays double up to the maximum; reset starts over', () => {
    const b = new RetryBackoff({ initialMs: 100, maxMs: 350 }, () => undefined);
    try {
      expect([b.schedule('n'), b.schedule('n'), b.schedule('n'), b.schedule('n')]).toEqual([100, 200, 350, 350]);
      expect(b.attempts('n')).toBe(4);
      b.reset('n');
      expect(b.schedule('n')).toBe(100);
    } finally {
      b.clear();
    }
  });

  test('fires once per schedule, is "waiting" until then, and keys are independent', async () => {
    const fired: string[] = [];
    const b = new RetryBackoff({ initialMs: 5, maxMs: 5 }, (k) => fired.push(k));
    try {
      b.schedule('a');
      b.schedule('a'); // replaces the pending timer, does not add one
      expect(b.waiting('a')).toBe(true);
      expect(b.waiting('b')).toBe(false);
      await new Promise((r) => setTimeout(r, 50));
      expect(fired).toEqual(['a']);
      expect(b.waiting('a')).toBe(false);
      expect(b.attempts('a')).toBe(2); // history kept until reset
    } finally {
      b.clear();
    }
  });
});
