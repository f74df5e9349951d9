"use strict";
// The relay's client: POST with fetch() and read the event stream from the response body
// (EventSource can only GET). One code path serves both modes: a streamed answer is many
// `delta` events, a batch answer is one `delta` with the whole text; both end in `done`.

/** A failed answer, as the relay's `error` event describes it. */
class RelayError extends Error {
  constructor(type, message, partial) {
    super(message);
    this.type = type;
    this.partial = partial || "";
  }
}

/** Yield {event, data} for every event of a text/event-stream body (WHATWG rules). */
async function* readEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let name = "";
  let data = [];
  const lineEnd = /\r\n|\r|\n/;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (;;) {
        const match = lineEnd.exec(buffer);
        // A CR at the very end may be the first half of a CRLF still on its way.
        if (!match || (match[0] === "\r" && match.index === buffer.length - 1)) break;
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === "") {
          if (data.length) yield { event: name || "message", data: data.join("\n") };
          name = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue; // a comment, such as `: ping`
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let text = colon === -1 ? "" : line.slice(colon + 1);
        if (text.startsWith(" ")) text = text.slice(1);
        if (field === "event") name = text;
        else if (field === "data") data.push(text);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** POST `payload` to a relay endpoint; call onDelta(text) per piece; resolve with `done`. */
async function relay(url, payload, { onDelta, signal }) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
    body: JSON.stringify(payload),
    signal,
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).error.message;
    } catch (_) { /* not a JSON error body */ }
    throw new RelayError("BadRequest", message, "");
  }
  let received = "";
  for await (const { event, data } of readEvents(response.body)) {
    if (event === "delta") {
      const text = JSON.parse(data).text;
      received += text;
      onDelta(text);
    } else if (event === "done") {
      return JSON.parse(data);
    } else if (event === "error") {
      const error = JSON.parse(data);
      throw new RelayError(error.type, error.message, error.partial);
    }
  }
  throw new RelayError("Interrupted", "The connection closed before the answer was complete.", received);
}

// --- the page ----------------------------------------------------------------------------

const log = document.getElementById("log");
const form = document.getElementById("ask");
const prompt = document.getElementById("prompt");
const sendButton = document.getElementById("send");
const structuredButton = document.getElementById("structured");
const stopButton = document.getElementById("stop");
const statusLine = document.getElementById("status");
const history = []; // the conversation sent with each chat message: user and assistant turns
let controller = null;

function addMessage(role, text) {
  const message = document.createElement("div");
  message.className = `message ${role}`;
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  message.append(body);
  log.append(message);
  log.scrollTop = log.scrollHeight;
  return message;
}

function addLine(message, className, text) {
  const line = document.createElement("div");
  line.className = className;
  line.textContent = text;
  message.append(line);
}

function setBusy(busy) {
  sendButton.disabled = busy;
  structuredButton.disabled = busy;
  stopButton.disabled = !busy;
  statusLine.textContent = busy ? "Answering…" : "";
}

function describe(done) {
  const parts = [done.mode, done.finish_reason || "no finish reason"];
  if (done.usage) parts.push(`${done.usage.total_tokens} tokens`);
  return parts.join(" · ");
}

async function ask(kind) {
  const text = prompt.value.trim();
  if (!text || controller) return;
  prompt.value = "";
  addMessage("user", kind === "chat" ? text : `Recipe card: ${text}`);
  const answer = addMessage("assistant", "");
  answer.dataset.kind = kind;
  answer.dataset.state = "streaming";
  const textBox = answer.querySelector(".text");
  let received = "";
  controller = new AbortController();
  setBusy(true);
  if (kind === "chat") history.push({ role: "user", content: text });
  const url = kind === "chat" ? "/api/chat" : "/api/structured";
  const payload = kind === "chat" ? { messages: history } : { prompt: text };
  try {
    const done = await relay(url, payload, {
      signal: controller.signal,
      onDelta(piece) {
        received += piece;
        textBox.textContent = received;
        log.scrollTop = log.scrollHeight;
      },
    });
    if (done.refusal && !received) {
      textBox.textContent = done.refusal; // the model declined: say so rather than show nothing
      answer.classList.add("refusal");
      if (kind === "chat") history.pop(); // the declined question is not sent again
    } else if (kind === "chat") {
      history.push({ role: "assistant", content: received });
    } else {
      renderCard(answer, textBox, received, done);
    }
    answer.dataset.state = "done";
    addLine(answer, "meta", describe(done));
  } catch (error) {
    if (kind === "chat") history.pop();
    answer.dataset.state = "error";
    if (error.name === "AbortError") {
      addLine(answer, "error", "Stopped.");
    } else {
      if (error.partial && !received) textBox.textContent = error.partial;
      addLine(answer, "error", `${error.message} (${error.type || error.name})`);
    }
  } finally {
    controller = null;
    setBusy(false);
    prompt.focus();
  }
}

/** Show a validated recipe as a card (the raw text stays if it is not the expected JSON). */
function renderCard(answer, textBox, text, done) {
  let recipe;
  try {
    recipe = JSON.parse(text);
  } catch (_) {
    return;
  }
  const card = document.createElement("div");
  card.className = "card";
  const title = document.createElement("h2");
  title.textContent = recipe.name;
  if (done.validated) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "validated";
    title.append(badge);
  }
  const time = document.createElement("div");
  time.textContent = `${recipe.minutes} minutes`;
  const list = document.createElement("ul");
  for (const item of recipe.ingredients) {
    const entry = document.createElement("li");
    entry.textContent = item;
    list.append(entry);
  }
  card.append(title, time, list);
  textBox.replaceWith(card);
  answer.dataset.recipe = JSON.stringify(recipe);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  ask("chat");
});
structuredButton.addEventListener("click", () => ask("structured"));
stopButton.addEventListener("click", () => controller && controller.abort());
prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});
