// The inspector page's DOM: the token form, the filtered session list, one session's timeline.
// The decisions (what to request, how to word and draw things) live in the pure modules beside it.

import { ApiFailure } from "../api";
import { describeFailure } from "../errors";
import { formatSeconds } from "../sessionRecord";
import { accessProblem } from "./access";
import {
  inspectSession,
  listSessions,
  NO_FILTER,
  PAGE_SIZE,
  type InspectorSessionSummary,
  type SessionFilter,
  type SessionState,
  type SessionStatus,
} from "./inspectorApi";
import { clockTime, isLive, sessionDownload, timeline, usageRows, type TimelineItem } from "./timeline";
import { barGeometry, type Waterfall } from "./waterfall";

/** How often a session that has not ended is read again (see docs/web-client.md). */
export const POLL_MS = 2000;
const TOKEN_KEY = "inspector-token";

function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) {
    throw new Error(`#${id} is missing from inspector.html`);
  }
  return found as T;
}

function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; data?: Record<string, string> } = {},
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [key, value] of Object.entries(props.data ?? {})) node.dataset[key] = value;
  return node;
}

function facts(list: HTMLElement, rows: readonly [string, string][]): void {
  list.replaceChildren(
    ...rows.flatMap(([name, value]) => [make("dt", { text: name }), make("dd", { text: value, data: { fact: name } })]),
  );
}

export class InspectorPage {
  private token = window.sessionStorage.getItem(TOKEN_KEY) ?? "";
  private filter: SessionFilter = NO_FILTER;
  private offset = 0;
  private selected: string | null = null;
  private state: SessionState | null = null;
  private pollTimer: number | undefined;

  start(): void {
    element<HTMLInputElement>("token").value = this.token;
    element<HTMLFormElement>("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.token = element<HTMLInputElement>("token").value.trim();
      window.sessionStorage.setItem(TOKEN_KEY, this.token);
      void this.loadList();
    });
    element<HTMLFormElement>("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      this.filter = {
        userId: element<HTMLInputElement>("filter-user").value,
        status: element<HTMLSelectElement>("filter-status").value as "" | SessionStatus,
        from: element<HTMLInputElement>("filter-from").value,
        to: element<HTMLInputElement>("filter-to").value,
      };
      this.offset = 0;
      void this.loadList();
    });
    element("page-prev").addEventListener("click", () => {
      this.offset = Math.max(0, this.offset - PAGE_SIZE);
      void this.loadList();
    });
    element("page-next").addEventListener("click", () => {
      this.offset += PAGE_SIZE;
      void this.loadList();
    });
    element("download").addEventListener("click", () => this.download());
    window.addEventListener("hashchange", () => this.openFromHash());
    void this.loadList().then(() => this.openFromHash());
  }

  /** Shows why the API refused; true when the failure was about access. */
  private refused(error: unknown): boolean {
    const access = element("access");
    if (!(error instanceof ApiFailure)) {
      throw error;
    }
    const problem = accessProblem(error.failure);
    if (problem === null) {
      return false;
    }
    element("access-title").textContent = problem.title;
    element("access-detail").textContent = problem.detail;
    access.dataset.code = error.failure.kind === "api" ? error.failure.code : "";
    access.hidden = false;
    element("token-form").hidden = !problem.askForToken;
    element("list").hidden = true;
    element("detail").hidden = true;
    this.stopPolling();
    return true;
  }

  private async loadList(): Promise<void> {
    let page;
    try {
      page = await listSessions(this.token, this.filter, this.offset);
    } catch (error) {
      if (!this.refused(error)) {
        this.listError(error);
      }
      return;
    }
    element("access").hidden = true;
    element("list-error").hidden = true;
    element("list").hidden = false;
    element("sessions").replaceChildren(...page.sessions.map((row) => this.row(row)));
    element("sessions-empty").hidden = page.sessions.length > 0;
    element<HTMLButtonElement>("page-prev").disabled = this.offset === 0;
    element<HTMLButtonElement>("page-next").disabled = page.next_offset === null;
    element("page-info").textContent =
      page.sessions.length > 0 ? `${this.offset + 1}–${this.offset + page.sessions.length}` : "";
  }

  private listError(error: unknown): void {
    const message = element("list-error");
    message.textContent = error instanceof ApiFailure ? describeFailure(error.failure).title : String(error);
    message.hidden = false;
  }

  private row(summary: InspectorSessionSummary): HTMLTableRowElement {
    const row = make("tr", { data: { sessionId: summary.session_id, status: summary.status } });
    const created = new Date(summary.created_at).toLocaleString([], { hour12: false });
    for (const text of [
      created,
      summary.user_id,
      summary.agent_id,
      summary.status,
      String(summary.transcript_entries),
      summary.end_reason ?? "",
    ]) {
      row.append(make("td", { text }));
    }
    row.tabIndex = 0;
    const open = (): void => {
      window.location.hash = `session=${summary.session_id}`;
    };
    row.addEventListener("click", open);
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter") open();
    });
    if (summary.session_id === this.selected) row.classList.add("selected");
    return row;
  }

  private openFromHash(): void {
    const match = /session=([0-9a-f]{32})/.exec(window.location.hash);
    if (match?.[1] && match[1] !== this.selected) {
      this.selected = match[1];
      this.state = null;
      for (const row of document.querySelectorAll<HTMLElement>("#sessions tr")) {
        row.classList.toggle("selected", row.dataset.sessionId === this.selected);
      }
      void this.loadSession();
    }
  }

  private stopPolling(): void {
    window.clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  private async loadSession(): Promise<void> {
    this.stopPolling();
    const sessionId = this.selected;
    if (sessionId === null) return;
    let state: SessionState;
    try {
      state = await inspectSession(this.token, sessionId);
    } catch (error) {
      if (!this.refused(error)) {
        this.listError(error);
      }
      return;
    }
    if (sessionId !== this.selected) return; // another session was opened meanwhile
    const wasLive = this.state !== null && isLive(this.state.status);
    this.state = state;
    this.showSession(state);
    if (isLive(state.status)) {
      // The list's row of a live session changes too (entries, status): read both again.
      this.pollTimer = window.setTimeout(() => {
        void this.loadList();
        void this.loadSession();
      }, POLL_MS);
    } else if (wasLive) {
      void this.loadList(); // its row shows the end
    }
  }

  private showSession(state: SessionState): void {
    const detail = element("detail");
    detail.hidden = false;
    detail.dataset.sessionId = state.session_id;
    detail.dataset.status = state.status;
    element("detail-id").textContent = state.session_id;
    element("detail-live").hidden = !isLive(state.status);
    facts(element("detail-facts"), [
      ["user", state.user_id],
      ["agent", state.agent_id],
      ["status", state.status],
      ["created", new Date(state.created_at).toLocaleString([], { hour12: false })],
      ["ended", state.ended_at ? new Date(state.ended_at).toLocaleString([], { hour12: false }) : "—"],
      ["end reason", state.end_reason ?? "—"],
    ]);
    const items = timeline(state.transcript);
    element("timeline").replaceChildren(...items.map((item, index) => this.timelineEntry(item, index)));
    element("timeline-empty").hidden = items.length > 0;
    const usage = usageRows(state.usage);
    facts(element("usage"), usage);
    element("usage-empty").hidden = usage.length > 0;
  }

  private timelineEntry(item: TimelineItem, index: number): HTMLLIElement {
    const entry = make("li", { className: `entry entry-${item.kind}`, data: { entryType: item.kind, index: String(index) } });
    const head = make("p", { className: "entry-head" });
    head.append(make("time", { text: clockTime(item.at) }), " ");
    switch (item.kind) {
      case "user":
      case "agent":
        head.append(make("strong", { text: item.kind === "user" ? "User" : "Agent" }));
        if (item.interrupted) head.append(make("span", { className: "tag", text: "interrupted" }));
        entry.append(head, make("p", { className: "entry-text", text: item.text }));
        if (item.waterfall) entry.append(this.waterfall(item.waterfall));
        break;
      case "tool": {
        head.append(make("strong", { text: `Tool ${item.name}` }));
        if (item.isError) head.append(make("span", { className: "tag tag-error", text: "error" }));
        const args = make("pre", { className: "tool-arguments", text: item.arguments });
        const output = make("pre", { className: "tool-output", text: item.output });
        entry.append(head, make("p", { className: "entry-text", text: item.summary }), make("h4", { text: "Arguments" }), args, make("h4", { text: "Result" }), output);
        break;
      }
      default:
        head.append(make("strong", { text: item.type }));
        entry.append(head);
    }
    const raw = make("details", { className: "raw" });
    raw.append(make("summary", { text: "Stored entry" }), make("pre", { text: JSON.stringify(item.raw, null, 2) }));
    entry.append(raw);
    return entry;
  }

  private waterfall(chart: Waterfall): HTMLElement {
    const figure = make("figure", { className: "waterfall", data: { total: String(chart.total) } });
    const caption = chart.voiceToVoice === null ? "Latency" : `Voice to voice ${formatSeconds(chart.voiceToVoice)}`;
    figure.append(make("figcaption", { text: caption }));
    for (const bar of chart.bars) {
      const { left, width } = barGeometry(bar, chart.total);
      const row = make("div", { className: "stage", data: { stage: bar.stage, seconds: String(bar.seconds) } });
      const track = make("span", { className: "stage-track" });
      const fill = make("span", { className: `stage-bar stage-${bar.stage}` });
      fill.style.left = `${left}%`;
      fill.style.width = `${Math.max(width, 0.5)}%`;
      track.append(fill);
      row.append(make("span", { className: "stage-label", text: bar.label }), track, make("span", { className: "stage-seconds", text: formatSeconds(bar.seconds) }));
      figure.append(row);
    }
    return figure;
  }

  private download(): void {
    if (this.state === null) return;
    const { name, text } = sessionDownload(this.state);
    const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    const link = make("a");
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    URL.revokeObjectURL(url);
  }
}
