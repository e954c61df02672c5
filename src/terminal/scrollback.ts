/** A tab's recent output, bounded: what a viewer who (re)attaches is shown first. */
export class Scrollback {
  private chunks: string[] = [];
  private size = 0;

  constructor(private readonly maxChars: number) {}

  append(data: string): void {
    this.chunks.push(data);
    this.size += data.length;
    while (this.size > this.maxChars && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
    if (this.size > this.maxChars) {
      // One chunk larger than the whole buffer: keep its tail.
      this.chunks[0] = this.chunks[0]!.slice(this.size - this.maxChars);
      this.size = this.maxChars;
    }
  }

  text(): string {
    if (this.chunks.length > 1) this.chunks = [this.chunks.join('')];
    return this.chunks[0] ?? '';
  }
}
