/** Keeps the first and last `cap` bytes of a stream and counts what it dropped. */
export class OutputCapture {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  total = 0;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.headBytes < this.cap) {
      const take = Math.min(this.cap - this.headBytes, chunk.length);
      this.head.push(chunk.subarray(0, take));
      this.headBytes += take;
      chunk = chunk.subarray(take);
      if (chunk.length === 0) return;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes - (this.tail[0]?.length ?? 0) >= this.cap) {
      this.tailBytes -= this.tail.shift()!.length;
    }
  }

  get truncated(): boolean {
    return this.total > this.headBytes + Math.min(this.tailBytes, this.cap);
  }

  text(): string {
    const head = Buffer.concat(this.head).toString("utf8");
    let tail = Buffer.concat(this.tail);
    if (tail.length > this.cap) tail = tail.subarray(tail.length - this.cap);
    if (!this.truncated) return head + tail.toString("utf8");
    const dropped = this.total - this.headBytes - tail.length;
    return `${head}\n… [output truncated: ${dropped} bytes omitted of ${this.total}] …\n${tail.toString("utf8")}`;
  }
}
