// The conversation as the page shows it: one line per transcription segment, tool call or typed
// message. Pure logic, no DOM: `update` merges what arrives (interim text, final text, late
// duplicates) so every segment is exactly one line that settles once it is final.

export type Speaker = "user" | "agent" | "tool";

export interface Line {
  /** Segment id (`lk.segment_id`), or a made-up unique id for typed messages and tool calls. */
  readonly id: string;
  readonly speaker: Speaker;
  readonly text: string;
  /** Interim lines still change; a final line keeps its text. */
  readonly final: boolean;
  /**
   * When the worker started the segment or recorded the tool call (ms since the epoch, the
   * worker's clock). Lines from the browser have none and simply follow what came before.
   */
  readonly at?: number;
}

export class Transcript {
  private lines: Line[] = [];

  /**
   * Merge one update into the transcript; true when what the page shows changed.
   *
   * A new id adds a line (placed by `at` among timed lines, otherwise at the end). A known id
   * takes the new text, except that an interim update arriving after the final one is ignored,
   * so a late chunk cannot reopen a settled line. The line keeps its first position.
   */
  update(next: Line): boolean {
    const index = this.lines.findIndex((line) => line.id === next.id);
    if (index === -1) {
      if (next.text.trim() === "") {
        return false;
      }
      this.lines.splice(this.insertionIndex(next.at), 0, next);
      return true;
    }
    const current = this.lines[index] as Line;
    if (current.final && !next.final) {
      return false;
    }
    if (current.text === next.text && current.final === next.final) {
      return false;
    }
    this.lines[index] = { ...current, text: next.text, final: current.final || next.final };
    return true;
  }

  list(): readonly Line[] {
    return this.lines;
  }

  clear(): void {
    this.lines = [];
  }

  private insertionIndex(at: number | undefined): number {
    if (at === undefined) {
      return this.lines.length;
    }
    const later = this.lines.findIndex((line) => line.at !== undefined && line.at > at);
    return later === -1 ? this.lines.length : later;
  }
}
