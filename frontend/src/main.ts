// Placeholder page: the real voice client (livekit-client, session creation, transcripts)
// arrives with the web-client issue. This only proves the build and the nginx setup work.
import "./style.css";

function render(root: HTMLElement): void {
  const heading = document.createElement("h1");
  heading.textContent = "Voice Agent";

  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Enable Voice";
  button.disabled = true;

  const note = document.createElement("p");
  note.className = "note";
  note.textContent = "The voice client arrives with the web-client issue.";

  const status = document.createElement("p");
  status.className = "status";
  status.textContent = "Status: placeholder build, no session API calls are made.";

  root.replaceChildren(heading, button, note, status);
}

const root = document.getElementById("app");
if (root === null) {
  throw new Error("index.html must contain <main id=\"app\">");
}
render(root);
