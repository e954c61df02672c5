import { describe, expect, it } from 'vitest';
import { Store } from '../store/index.js';
import { Leases } from './lease.js';

describe('conversation leases', () => {
  it('one owner at a time; an expired lease is taken over; release frees it', () => {
    const store = Store.open(':memory:');
    // Two workers on two machines (two on one machine in one process would look like a restart).
    const a = Object.assign(new Leases(store.db, 1000), { owner: 'host-a:10:aaaa' });
    const b = Object.assign(new Leases(store.db, 1000), { owner: 'host-b:10:bbbb' });
    expect(a.claim('c', 0)).toBe(true);
    expect(b.claim('c', 500)).toBe(false);
    a.renew(['c'], 900);
    expect(b.claim('c', 1500)).toBe(false);
    expect(b.claim('c', 2000)).toBe(true);
    a.release('c');
    expect(a.claim('c', 2100)).toBe(false);
    b.release('c');
    expect(a.claim('c', 2100)).toBe(true);
  });

  it('takes over at once from a dead process of this machine', () => {
    const store = Store.open(':memory:');
    const mine = new Leases(store.db, 60_000);
    store.db.run(store.db.q.insertInto('leases').values({ conversation_id: 'c', owner: `${mine.owner.split(':')[0]}:999999999:dead`, expires_at: Date.now() + 60_000 }));
    expect(mine.claim('c')).toBe(true);
  });
});
