// The chatguard demo page: plain JavaScript, no build step, no external resources.
// It speaks the web chat protocol (docs/web-chat.md) and reads the demo-only
// vendor log (GET /demo/api/vendor-log). Every text is inserted with textContent.
"use strict";

const SIMULATED_AGENT = "An agent will be with you shortly (simulated).";

const state = { session: null, shownExchanges: 0, shownAgent: 0, busy: false };

function $(id) {
  return document.getElementById(id);
}

function append(listId, className, label, text) {
  const item = document.createElement("li");
  item.className = className;
  const caption = document.createElement("span");
  caption.className = "label";
  caption.textContent = label;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  item.append(caption, body);
  $(listId).append(item);
  item.scrollIntoView({ block: "nearest" });
  return item;
}

async function requestJson(method, url, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(payload.message || `${method} ${url}: HTTP ${response.status}`);
  }
  return payload;
}

function showQuickReplies(replies) {
  const box = $("quick-replies");
  box.replaceChildren();
  for (const reply of replies) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "quick-reply";
    button.textContent = reply;
    button.addEventListener("click", () => send(reply));
    box.append(button);
  }
}

// What reached the vendors for the last turn: the bot's exchanges and what the
// (simulated) live agents received, with the quality-sampling flag. A turn that
// reached neither the bot nor the agents as a turn was chatguard's own exchange (a
// consent answer, a withdrawal), also when it led to the hand-over.
async function showVendorLog() {
  const log = await requestJson(
    "GET", `/demo/api/vendor-log?session=${encodeURIComponent(state.session)}`);
  const agentMessages = log.agent || [];
  const newTurns = agentMessages.slice(state.shownAgent).filter((m) => m.kind === "turn");
  if (log.exchanges.length === state.shownExchanges && newTurns.length === 0) {
    append("vendor", "withheld", "Not sent to the bot or the agents",
      "chatguard handled this message itself (its consent exchange); it is in the "
      + "transcript, redacted, and no vendor received it.");
  }
  for (const exchange of log.exchanges.slice(state.shownExchanges)) {
    const received = exchange.received;
    let text = received.text;
    if (received.data && Object.keys(received.data).length > 0) {
      text += `\ndata: ${JSON.stringify(received.data)}`;
    }
    append("vendor", "received",
      `Vendor received · session ${received.session} · ${received.language}`, text);
    for (const output of exchange.answered) {
      const extras = [];
      if (output.quick_replies.length > 0) {
        extras.push(`quick replies: ${output.quick_replies.join(" | ")}`);
      }
      if (output.handover) {
        extras.push("handover: true");
      }
      const item = append("vendor", "answered", "Vendor answered (raw, with placeholders)",
        [output.text || ""].concat(extras).join("\n"));
      if (output.handover) {
        item.classList.add("handover");
      }
    }
  }
  state.shownExchanges = log.exchanges.length;
  for (const message of agentMessages.slice(state.shownAgent)) {
    const what = message.kind === "hand_over" ? "the hand-over (conversation so far)" : "a turn";
    append("vendor", "agent", `Live agents (simulated) received ${what}`,
      `${message.text}\nqualitySampling: ${message.quality_sampling}`);
    if (message.kind === "hand_over") {
      append("chat", "agent", "Agent (simulated)", SIMULATED_AGENT);
    }
  }
  state.shownAgent = agentMessages.length;
}

// chatguard's own texts (the consent question, its confirmations, the privacy
// reference) are marked "consent": no vendor wrote or received them.
function showOutputs(outputs) {
  let replies = [];
  for (const output of outputs) {
    if (output.text && output.consent) {
      append("chat", "consent", "chatguard (not sent to any vendor)", output.text);
    } else if (output.text) {
      append("chat", "bot", "Bot (restored for the user)", output.text);
    }
    replies = output.quick_replies;
  }
  showQuickReplies(replies);
}

async function send(text) {
  if (state.busy || !state.session || !text.trim()) {
    return;
  }
  state.busy = true;
  $("status").textContent = "";
  append("chat", "user", "You typed", text);
  try {
    const answer = await requestJson(
      "POST", "/chat/messages", { session: state.session, text });
    showOutputs(answer.outputs);
    await showVendorLog();
  } catch (error) {
    append("chat", "system", "Error", error.message);
  } finally {
    state.busy = false;
  }
}

async function start() {
  try {
    const created = await requestJson("POST", "/chat/sessions", {});
    state.session = created.session;
    // The token is "<pseudonym>.<check>" (docs/web-chat.md): the page shows the
    // pseudonym, which is what the vendors see; only the whole token opens the chat.
    $("session").textContent = state.session.slice(0, state.session.lastIndexOf("."));
    document.body.dataset.ready = "true";
  } catch (error) {
    $("status").textContent = `Could not start a session: ${error.message}`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("message");
    const text = input.value;
    input.value = "";
    send(text);
  });
  $("agent").addEventListener("click", () => send("Talk to an agent"));
  start();
});
