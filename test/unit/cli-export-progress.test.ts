import { describe, expect, it } from 'vitest';
import { ETA_UNKNOWN, estimateTimeLeft } from '../../cli/export-progress.js';

describe('estimateTimeLeft', () => {
  it('says it is estimating while nothing is done or planned, never "INF"', () => {
    expect(estimateTimeLeft({ done: 0, total: 10 }, 5_000)).toBe(ETA_UNKNOWN);
    expect(estimateTimeLeft({ done: 0, total: 0 }, 5_000)).toBe(ETA_UNKNOWN);
  });

  it('extrapolates from the versions done so far', () => {
    expect(estimateTimeLeft({ done: 2, total: 10 }, 4_000)).toBe('16.0 s left');
    expect(estimateTimeLeft({ done: 10, total: 10 }, 4_000)).toBe('0.0 s left');
    expect(estimateTimeLeft({ done: 1, total: 100 }, 60_000)).toBe('1 h 39 min left');
  });
});
