/** A min-heap of (expiry, session id); entries made stale by a later change are skipped when popped. */
export class ExpiryHeap {
  private items: { at: number; id: string }[] = [];

  get size(): number {
    return this.items.length;
  }

  push(at: number, id: string): void {
    const items = this.items;
    items.push({ at, id });
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const up = items[parent] as { at: number; id: string };
      const item = items[index] as { at: number; id: string };
      if (up.at <= item.at) break;
      items[parent] = item;
      items[index] = up;
      index = parent;
    }
  }

  peek(): { at: number; id: string } | undefined {
    return this.items[0];
  }

  pop(): { at: number; id: string } | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < items.length && (items[left] as { at: number }).at < (items[smallest] as { at: number }).at) smallest = left;
      if (right < items.length && (items[right] as { at: number }).at < (items[smallest] as { at: number }).at) smallest = right;
      if (smallest === index) break;
      const swap = items[smallest] as { at: number; id: string };
      items[smallest] = items[index] as { at: number; id: string };
      items[index] = swap;
      index = smallest;
    }
    return top;
  }

  clear(): void {
    this.items = [];
  }
}
