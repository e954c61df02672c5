/** A tab's recent output, bounded: what a viewer who (re)attaches is shown first. */
export class Scrollback {
  private chunks: string[] = [];
  private size = 0;

  constructor(private readonly maxChars: number) {}

  /** Adds output; what goes over the size is cut from the oldest end (exactly the last `maxChars` stay). */
  append(data: string): void {
    this.chunks.push(data);
    this.size += data.length;
    while (this.size > this.maxChars) {
      const first = this.chunks[0]!;
      const over = this.size - this.maxChars;
      if (first.length <= over) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.slice(over);
        this.size -= over;
      }
    }
  }

  text(): string {
    if (this.chunks.length > 1) this.chunks = [this.chunks.join('')];
    return this.chunks[0] ?? '';
  }
}
