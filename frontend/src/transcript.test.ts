import { describe, expect, it } from "vitest";
import { type Line, Transcript } from "./transcript";

const texts = (transcript: Transcript): string[] =>
  transcript.list().map((line) => `${line.speaker}: ${line.text}`);

describe("Transcript", () => {
  it("updates an interim segment in place and settles it when final", () => {
    const transcript = new Transcript();
    expect(transcript.update({ id: "SG_1", speaker: "user", text: "What is", final: false, at: 1 })).toBe(
      true,
    );
    transcript.update({ id: "SG_1", speaker: "user", text: "What is the status", final: false, at: 2 });
    transcript.update({
      id: "SG_1",
      speaker: "user",
      text: "What is the status of Apollo?",
      final: true,
      at: 3,
    });

    expect(transcript.list()).toEqual([
      { id: "SG_1", speaker: "user", text: "What is the status of Apollo?", final: true, at: 1 },
    ]);
  });

  it("keeps one line per segment id when the same update arrives twice", () => {
    const transcript = new Transcript();
    const line: Line = { id: "SG_1", speaker: "agent", text: "Hello!", final: true, at: 5 };
    transcript.update(line);

    expect(transcript.update({ ...line })).toBe(false);
    expect(transcript.list()).toHaveLength(1);
  });

  it("ignores an interim update that arrives after the final one", () => {
    const transcript = new Transcript();
    transcript.update({ id: "SG_1", speaker: "user", text: "Create a task", final: true, at: 1 });

    expect(transcript.update({ id: "SG_1", speaker: "user", text: "Create a", final: false, at: 1 })).toBe(
      false,
    );
    expect(texts(transcript)).toEqual(["user: Create a task"]);
  });

  it("lets a final update correct a final line (a segment resent whole)", () => {
    const transcript = new Transcript();
    transcript.update({ id: "SG_1", speaker: "agent", text: "Here is", final: true, at: 1 });
    transcript.update({ id: "SG_1", speaker: "agent", text: "Here is the status.", final: true, at: 1 });

    expect(texts(transcript)).toEqual(["agent: Here is the status."]);
  });

  it("adds no line for empty text", () => {
    const transcript = new Transcript();

    expect(transcript.update({ id: "SG_1", speaker: "agent", text: " ", final: false, at: 1 })).toBe(false);
    expect(transcript.list()).toEqual([]);
  });

  it("places a timed line before later timed lines and untimed lines at the end", () => {
    const transcript = new Transcript();
    transcript.update({ id: "SG_user", speaker: "user", text: "Status of Apollo?", final: true, at: 100 });
    transcript.update({
      id: "SG_agent",
      speaker: "agent",
      text: "Apollo is on track.",
      final: false,
      at: 300,
    });
    // The tool call is read from the API later, but happened before the reply.
    transcript.update({
      id: "tool-1",
      speaker: "tool",
      text: "Looked up the status of Apollo",
      final: true,
      at: 200,
    });
    transcript.update({ id: "chat-1", speaker: "user", text: "Thanks", final: true });

    expect(transcript.list().map((line) => line.id)).toEqual(["SG_user", "tool-1", "SG_agent", "chat-1"]);
  });

  it("keeps a line where it first appeared when it is updated", () => {
    const transcript = new Transcript();
    transcript.update({ id: "SG_1", speaker: "user", text: "Hi", final: false, at: 100 });
    transcript.update({ id: "SG_2", speaker: "agent", text: "Hello", final: true, at: 200 });
    transcript.update({ id: "SG_1", speaker: "user", text: "Hi there", final: true, at: 300 });

    expect(texts(transcript)).toEqual(["user: Hi there", "agent: Hello"]);
  });

  it("starts empty again after clear", () => {
    const transcript = new Transcript();
    transcript.update({ id: "SG_1", speaker: "user", text: "Hi", final: true });
    transcript.clear();

    expect(transcript.list()).toEqual([]);
  });
});
