"use strict";
/*
 * Handoff sandbox — a small Slack workspace in the browser.
 *
 * The page is deliberately a thin client: everything it shows comes from GET /api/state (a
 * long-poll) and every click or message is POSTed back to the server, which turns it into the
 * signed Slack request the real bot receives. Nothing here decides how the bot behaves, so what
 * you see is what the bot really did.
 *
 * Safety rule for the whole file: text from the server reaches the DOM through textContent or
 * through escapeHtml(). The only innerHTML writes are the mrkdwn renderer (which escapes every
 * piece of server text itself) and the constant icons below.
 */

/* ======================================================================== constants */

// Emoji short codes we can draw. Slack knows thousands; the bot and the picker only need these,
// and unknown codes stay as typed so nothing is silently lost.
const EMOJI = {
  raised_hand: "✋", hand: "✋", white_check_mark: "✅", eyes: "👀", "+1": "👍", thumbsup: "👍",
  "-1": "👎", tada: "🎉", heart: "❤️", pray: "🙏", hourglass_flowing_sand: "⏳", hourglass: "⌛",
  white_circle: "⚪", large_blue_circle: "🔵", warning: "⚠️", calendar: "📅", memo: "📝",
  bell: "🔔", sunny: "☀️", repeat: "🔁", no_entry: "⛔", zzz: "💤", fire: "🔥", clipboard: "📋",
  wave: "👋", handshake: "🤝", x: "❌", heavy_check_mark: "✔️", rocket: "🚀", smile: "😄",
  point_right: "👉", arrow_right: "➡️", new: "🆕", lock: "🔒", unlock: "🔓", ticket: "🎫", pushpin: "📌",
  speech_balloon: "💬", inbox_tray: "📥",
};

// The reactions offered by the picker, in order (the four the bot listens to come first).
const PICKER_EMOJI = [
  "raised_hand", "white_check_mark", "eyes", "ticket", "+1", "tada", "heart", "pray", "hourglass_flowing_sand",
];

// Slack-like avatar colours; a person always gets the same one (hashed from their id).
const AVATAR_COLOURS = [
  "#e8912d", "#2bac76", "#1264a3", "#e01e5a", "#9f6a00", "#0b7a75", "#7c3085", "#c0392b", "#36729e",
];

const MONTHS = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
];

// How close to the bottom (px) still counts as "reading the latest", so new messages scroll in.
const STICK_PX = 80;
// How long a message reached through a permalink stays highlighted.
const HIGHLIGHT_MS = 2600;
// Slack permalinks the stand-in mints; clicking one must stay inside the page.
const PERMALINK_RE = /^https:\/\/sandbox\.slack\.test\/archives\/([A-Za-z0-9]+)\/p(\d{7,})(?:\?(.*))?$/;

// Inline icons (constants written here, never server text), so the page needs no icon font.
const ICONS = {
  reaction:
    '<svg viewBox="0 0 20 20" aria-hidden="true"><circle cx="9" cy="11" r="6.25" fill="none" stroke="currentColor" stroke-width="1.5"/>' +
    '<circle cx="6.9" cy="9.8" r="1" fill="currentColor"/><circle cx="11.1" cy="9.8" r="1" fill="currentColor"/>' +
    '<path d="M6.4 12.6c1.4 1.7 3.8 1.7 5.2 0" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round"/>' +
    '<path d="M16.5 1.5v5M14 4h5" stroke="currentColor" stroke-width="1.5" stroke-linecap="round"/></svg>',
  thread:
    '<svg viewBox="0 0 20 20" aria-hidden="true"><path d="M4 3.5h12A1.5 1.5 0 0 1 17.5 5v7.5A1.5 1.5 0 0 1 16 14h-5.5L6 17.5V14H4a1.5 1.5 0 0 1-1.5-1.5V5A1.5 1.5 0 0 1 4 3.5z" ' +
    'fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round"/></svg>',
  send:
    '<svg viewBox="0 0 20 20" aria-hidden="true"><path d="M2.8 2.6 18 10 2.8 17.4l1.9-6.4L11 10l-6.3-1z" fill="currentColor"/></svg>',
};

/* ======================================================================== page state */

const query = new URLSearchParams(location.search);
let me = query.get("as") || null;            // whose eyes we look through; null until the server names people
let conversationId = query.get("c") || null; // open conversation id, or "home" for the App Home tab
let state = null;                             // the last /api/state answer
let stateUser = null;                         // whom `state` was for (switching person keeps it until the new one arrives)
let clockBase = { now: Date.now() / 1000, at: Date.now(), running: false };
let thread = null;                            // open thread: {channel, ts} of its parent
let pollController = null;                    // aborts the long-poll of the previous person
let seen = null;                              // message count per conversation when last looked at (unread marks)
let preferDm = false;                         // after switching person, land on their own DM if we were in one
let highlight = null;                         // {channel, ts, until, scroll} — a message reached by permalink
let modalShown = null;                        // what the modal overlay currently shows (see renderModal)
let openMenu = null;                          // the open overflow menu {owner, el}
let pickerTarget = null;                      // the message the emoji picker is adding to {channel, ts}
let homeOpenedFor = null;                     // whose Home tab we last told the server was opened
let lastMainKey = "";
let lastThreadKey = "";
let forceScrollMain = false;
let forceScrollThread = false;
// Whether each list is "following" its newest message; kept from scroll events rather than measured
// at render time, because opening the thread pane reflows the list without any scrolling.
const following = new WeakMap();
let uid = 0;                                  // for label/for ids in forms

/* ======================================================================== small helpers */

const $ = (selector, root = document) => root.querySelector(selector);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function isFollowing(box) {
  return following.get(box) !== false; // a list nobody scrolled yet follows the newest message
}

function scrollToEnd(box) {
  box.scrollTop = box.scrollHeight;
  following.set(box, true);
}

/** Keep a message list on its newest message while the reader is there, even when it is resized. */
function trackFollowing(box) {
  box.addEventListener("scroll", () => {
    following.set(box, box.scrollHeight - box.scrollTop - box.clientHeight < STICK_PX);
  });
  new ResizeObserver(() => {
    if (isFollowing(box)) box.scrollTop = box.scrollHeight;
  }).observe(box);
}

/** Create an element: h("div", {class: "x", text: "…", "data-a": 1}, child, …). Text is always text. */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Slack encodes &, < and > in message text; turn them back into characters (we escape again ourselves). */
function unescapeSlack(text) {
  return String(text).replace(/&(amp|lt|gt);/g, (_, name) => ({ amp: "&", lt: "<", gt: ">" })[name]);
}

function emojify(text) {
  // A skin tone suffix (":raised_hand::skin-tone-3:") only changes the colour; draw the base emoji.
  return String(text).replace(/:([a-z0-9_+-]+):(?::skin-tone-\d:)?/g, (whole, name) => EMOJI[name] || whole);
}

function emojiFor(name) {
  const base = String(name).split("::")[0];
  return EMOJI[base] || `:${base}:`;
}

/** A Block Kit text object as plain text (plain_text converts :codes: unless emoji is false). */
function plainText(obj) {
  if (obj === null || obj === undefined) return "";
  if (typeof obj === "string") return obj;
  const text = String(obj.text ?? "");
  if (obj.type === "mrkdwn") return emojify(unescapeSlack(text));
  return obj.emoji === false ? text : emojify(text);
}

/** Slack ts strings ("1764514801.000100") compared exactly; parseFloat would lose the last digits. */
function compareTs(a, b) {
  const [as, af = ""] = String(a).split(".");
  const [bs, bf = ""] = String(b).split(".");
  return Number(as) - Number(bs) || Number(af.padEnd(6, "0")) - Number(bf.padEnd(6, "0"));
}

function hashString(text) {
  let hash = 0;
  for (const ch of String(text)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash;
}

/* ======================================================================== people and places */

function users() { return (state && state.users) || {}; }
function userInfo(id) { return users()[id] || null; }
function botId() { return (state && state.bot && state.bot.id) || "UBOT"; }
function botName() { return (state && state.bot && (state.bot.real_name || state.bot.name)) || "Handoff"; }
function isBotUser(id) { return id === botId() || Boolean(userInfo(id) && userInfo(id).is_bot); }

/** The name shown on a message: real name, like Slack's default. */
function displayName(id) {
  const user = userInfo(id);
  if (id === botId() && state && state.bot) return state.bot.real_name || state.bot.name || id;
  return (user && (user.real_name || user.name)) || id || "Unknown";
}

/** The @handle used in mentions: the user's name, falling back to the id. */
function handleOf(id) {
  const user = userInfo(id);
  return (user && user.name) || id;
}

function channelName(id) {
  const channels = (state && state.channels) || {};
  if (channels[id]) return channels[id];
  const conv = conversations().find((c) => c.id === id);
  return conv ? conv.name : null;
}

function conversations() { return (state && state.conversations) || []; }
function messagesOf(id) { return (state && state.messages && state.messages[id]) || []; }
function currentConversation() { return conversations().find((c) => c.id === conversationId) || null; }
function conversationLabel(conv) {
  if (!conv) return "";
  return conv.kind === "dm" ? conv.name : `#${conv.name}`;
}

/* ======================================================================== time */

const formatters = new Map();

function formatter(locale, tz, options) {
  const key = `${locale}|${tz}|${JSON.stringify(options)}`;
  let fmt = formatters.get(key);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat(locale, { ...options, timeZone: tz });
    formatters.set(key, fmt);
  }
  return fmt;
}

function partsOf(epoch, tz, locale, options) {
  const out = {};
  for (const part of formatter(locale, tz, options).formatToParts(new Date(epoch * 1000))) out[part.type] = part.value;
  return out;
}

/** A time zone Intl accepts; unknown or empty ones fall back to UTC rather than breaking the page. */
function safeTz(tz) {
  if (!tz) return "UTC";
  try {
    formatter("en-GB", tz, { hour: "numeric" });
    return tz;
  } catch (err) {
    return "UTC";
  }
}

/** The viewer's time zone: every time on the page is shown as the chosen person would see it. */
function viewerTz() {
  const person = (state && state.people || []).find((p) => p.id === me);
  return safeTz((userInfo(me) && userInfo(me).tz) || (person && person.tz));
}

/** The sandbox clock now; it runs at real speed from the moment the server answered. */
function sandboxNow() {
  return clockBase.running ? clockBase.now + (Date.now() - clockBase.at) / 1000 : clockBase.now;
}

function hhmm(epoch, tz) {
  const p = partsOf(epoch, tz, "en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return `${p.hour}:${p.minute}`;
}

function fullDate(epoch, tz) {
  return formatter("en-GB", tz, { dateStyle: "full", timeStyle: "medium" }).format(new Date(epoch * 1000));
}

/** Days since 1970 of the calendar date `epoch` falls on in `tz` (to tell today from yesterday). */
function dayNumber(epoch, tz) {
  const p = partsOf(epoch, tz, "en-US", { year: "numeric", month: "numeric", day: "numeric" });
  return Math.round(Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day)) / 86400000);
}

function ordinal(n) {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${({ 1: "st", 2: "nd", 3: "rd" })[n % 10] || "th"}`;
}

function cityOf(tz) {
  return tz === "UTC" ? "UTC" : tz.split("/").pop().replace(/_/g, " ");
}

/** "3 hours ago" / "in 2 days", relative to the sandbox clock. */
function relative(epoch, now) {
  const diff = epoch - now;
  const abs = Math.abs(diff);
  if (abs < 45) return diff < 0 ? "a few seconds ago" : "in a few seconds";
  const units = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of units) {
    if (abs >= size) {
      const n = Math.max(1, Math.floor(abs / size));
      const words = `${n} ${unit}${n === 1 ? "" : "s"}`;
      return diff < 0 ? `${words} ago` : `in ${words}`;
    }
  }
  return diff < 0 ? "a minute ago" : "in a minute";
}

/** Slack's <!date^…> tokens, in the viewer's zone and relative to the sandbox clock. */
function slackDate(epoch, format, tz) {
  const p = partsOf(epoch, tz, "en-US", {
    weekday: "long", year: "numeric", month: "long", day: "numeric",
    hour: "numeric", minute: "2-digit", second: "2-digit", hour12: true,
  });
  const day = Number(p.day);
  const monthNumber = MONTHS.indexOf(p.month) + 1;
  const date = `${p.month} ${ordinal(day)}, ${p.year}`;
  const dateShort = `${p.month.slice(0, 3)} ${day}, ${p.year}`;
  const dateLong = `${p.weekday}, ${date}`;
  const offset = dayNumber(epoch, tz) - dayNumber(sandboxNow(), tz);
  const pretty = (fallback) => ({ "-1": "yesterday", 0: "today", 1: "tomorrow" })[offset] || fallback;
  const tokens = {
    date_num: `${p.year}-${String(monthNumber).padStart(2, "0")}-${String(day).padStart(2, "0")}`,
    date,
    date_short: dateShort,
    date_long: dateLong,
    date_pretty: pretty(date),
    date_short_pretty: pretty(dateShort),
    date_long_pretty: pretty(dateLong),
    time: `${p.hour}:${p.minute} ${p.dayPeriod}`,
    time_secs: `${p.hour}:${p.minute}:${p.second} ${p.dayPeriod}`,
    ago: relative(epoch, sandboxNow()),
  };
  return format.replace(/\{(\w+)\}/g, (whole, token) => (token in tokens ? tokens[token] : whole));
}

/* ======================================================================== mrkdwn */

function parsePermalink(url) {
  const match = PERMALINK_RE.exec(String(url));
  if (!match) return null;
  const digits = match[2];
  const params = new URLSearchParams(match[3] || "");
  return {
    channel: match[1],
    ts: `${digits.slice(0, -6)}.${digits.slice(-6)}`,
    threadTs: params.get("thread_ts"),
  };
}

/** An <a> for a URL we are willing to link to; anything else (javascript:, …) becomes plain text. */
function linkHtml(url, label) {
  const text = emojify(escapeHtml(label));
  if (!/^(https?:|mailto:)/i.test(url)) return text;
  if (parsePermalink(url)) return `<a class="permalink" href="${escapeHtml(url)}">${text}</a>`;
  return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${text}</a>`;
}

/**
 * One <…> control sequence (without the brackets) as HTML, or as plain text when `plain` (inside
 * code, where Slack shows no formatting). Labels come Slack-encoded, so they are unescaped first.
 */
function controlSequence(inner, plain) {
  const bar = inner.indexOf("|");
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? unescapeSlack(inner.slice(bar + 1)) : null;
  const span = (cls, text, attrs = "") => (plain ? escapeHtml(text) : `<span class="${cls}"${attrs}>${escapeHtml(text)}</span>`);

  if (target.startsWith("@")) {
    const id = target.slice(1);
    const name = userInfo(id) ? handleOf(id) : (label ? label.replace(/^@/, "") : id);
    return span("mention", `@${name}`, ` data-user-id="${escapeHtml(id)}"`);
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const name = channelName(id) || (label ? label.replace(/^#/, "") : id);
    return span("mention channel-mention", `#${name}`, ` data-channel-id="${escapeHtml(id)}"`);
  }
  if (target.startsWith("!")) {
    const [keyword, ...rest] = target.slice(1).split("^");
    if (keyword === "date") return dateSequence(rest, label, plain);
    if (keyword === "here" || keyword === "channel" || keyword === "everyone") return span("mention broadcast", `@${keyword}`);
    if (keyword === "subteam") return span("mention", label || "@group");
    return escapeHtml(label || `<${unescapeSlack(target)}>`);
  }
  const url = unescapeSlack(target);
  if (!/^[a-z][a-z0-9+.-]*:/i.test(url)) return escapeHtml(`<${unescapeSlack(inner)}>`); // not a link: show as typed
  return plain ? escapeHtml(label ?? url) : linkHtml(url, label ?? url);
}

/** <!date^STAMP^FORMAT[^LINK]|fallback> */
function dateSequence(rest, fallback, plain) {
  const [stamp, format = "", link] = rest;
  const epoch = Number(stamp);
  let text;
  try {
    text = Number.isFinite(epoch) && format ? slackDate(epoch, unescapeSlack(format), viewerTz()) : null;
  } catch (err) {
    text = null;
  }
  if (text === null) text = fallback || "";
  if (link && !plain) return linkHtml(unescapeSlack(link), text);
  return escapeHtml(text);
}

/** Code keeps its characters as typed: only control sequences collapse to their readable text. */
function codeHtml(raw) {
  return String(raw).split(/(<[^<>\n]*>)/).map((piece, i) => (i % 2 ? controlSequence(piece.slice(1, -1), true) : escapeHtml(unescapeSlack(piece)))).join("");
}

/**
 * Slack mrkdwn (not Markdown) to safe HTML.
 *
 * The raw string is Slack-encoded text. Code, control sequences and bare URLs are rendered first
 * and parked in numbered slots (private-use characters mark them), so the bold/italic/strike
 * rules that run afterwards can never break them apart or reach into them. All other text is
 * unescaped from Slack's encoding and escaped again as HTML.
 */
function mrkdwnHtml(raw) {
  const slots = [];
  const park = (html) => `\uE000${slots.push(html) - 1}\uE001`;
  let text = String(raw ?? "").replace(/[\uE000\uE001]/g, "");

  text = text.replace(/```([\s\S]*?)```/g, (_, body) => park(`<pre class="mrkdwn-pre">${codeHtml(body.replace(/^\n/, ""))}</pre>`));
  text = text.replace(/`([^`\n]+)`/g, (_, body) => park(`<code>${codeHtml(body)}</code>`));

  let html = text.split(/(<[^<>\n]*>)/).map((piece, i) => {
    if (i % 2) return park(controlSequence(piece.slice(1, -1), false));
    // Plain text: bare URLs become links (trailing punctuation stays outside), the rest is escaped.
    return unescapeSlack(piece).split(/(https?:\/\/[^\s<>\uE000\uE001]+)/).map((part, j) => {
      if (!(j % 2)) return emojify(escapeHtml(part));
      const [, url, tail] = /^(.*?)([.,;:!?)\]'"]*)$/.exec(part);
      return park(linkHtml(url, url)) + escapeHtml(tail);
    }).join("");
  }).join("");

  for (const [mark, tag] of [["*", "b"], ["_", "i"], ["~", "s"]]) {
    const m = `\\${mark}`;
    // Slack only formats when the markers sit at word boundaries and hug non-space text.
    const re = new RegExp(`(^|[^\\w${m}])${m}(?=[^${m}\\s])([^${m}\\n]*?[^${m}\\s])${m}(?![\\w${m}])`, "gm");
    html = html.replace(re, `$1<${tag}>$2</${tag}>`);
  }

  // Lines starting with "> " (encoded as &gt;) are quotes; consecutive ones form one block.
  const out = [];
  let quote = [];
  const flush = () => {
    if (quote.length) out.push({ block: true, html: `<blockquote>${quote.join("<br>")}</blockquote>` });
    quote = [];
  };
  for (const line of html.split("\n")) {
    const match = /^&gt;\s?(.*)$/.exec(line);
    if (match) quote.push(match[1]);
    else {
      flush();
      out.push({ block: false, html: line });
    }
  }
  flush();
  html = out.map((item, i) => {
    const previous = out[i - 1];
    const joint = i > 0 && !item.block && !previous.block ? "<br>" : "";
    return joint + item.html;
  }).join("");

  // Put the parked pieces back (twice: code parked inside a control label is theoretically possible).
  for (let round = 0; round < 2; round += 1) html = html.replace(/\uE000(\d+)\uE001/g, (_, n) => slots[Number(n)]);
  return html;
}

function mrkdwnNode(text, cls = "") {
  const node = h("div", { class: `mrkdwn ${cls}`.trim() });
  node.innerHTML = mrkdwnHtml(text); // safe: mrkdwnHtml escapes every piece of server text
  return node;
}

function textNode(obj, cls) {
  if (!obj) return null;
  if (obj.type === "mrkdwn") return mrkdwnNode(obj.text, cls);
  return h("div", { class: `${cls} plain-text`, text: plainText(obj) });
}

/* ======================================================================== server calls */

function showBanner(text) {
  $("#banner-text").textContent = text;
  $("#banner").hidden = false;
}

function showConnection(ok, detail) {
  const node = $("#connection");
  node.hidden = ok;
  node.textContent = ok ? "" : `⚠ Reconnecting to the sandbox…${detail ? ` (${detail})` : ""}`;
}

async function readError(response) {
  try {
    const data = await response.json();
    if (data && data.error) return String(data.error);
  } catch (err) {
    /* not JSON: fall through to the status line */
  }
  return `HTTP ${response.status}`;
}

/**
 * POST a user action. Every endpoint answers {ok, error?}; failures (and unreachable servers) show
 * in the red banner. The long-poll brings the resulting state, but we also ask for it at once so
 * the page feels immediate.
 */
async function post(path, body) {
  let data = null;
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    try {
      data = await response.json();
    } catch (err) {
      data = { ok: false, error: `${path} answered HTTP ${response.status}` };
    }
  } catch (err) {
    data = { ok: false, error: `Could not reach the sandbox server (${path}): ${err.message}` };
  }
  if (!data || typeof data !== "object") data = { ok: false, error: `${path} gave an empty answer` };
  if (!data.ok) showBanner(data.error || `${path} failed`);
  refreshSoon();
  return data;
}

/** Raised when the server will never accept this person: retrying cannot help. */
class NobodyError extends Error {}

async function fetchState(signal, since) {
  const params = new URLSearchParams();
  if (me) params.set("user", me);
  if (since !== null && since !== undefined) params.set("since", String(since));
  const response = await fetch(`/api/state?${params}`, { signal, cache: "no-store" });
  if (!response.ok) {
    const detail = await readError(response);
    // Refused before we ever saw the workspace: ?as= names nobody (or is missing and the server
    // picks no default). Retrying would fail the same way, so say what to do instead.
    if (response.status >= 400 && response.status < 500 && !state) {
      const who = me ? `Could not open the workspace as “${me}”: ${detail}` : detail;
      throw new NobodyError(`${who} — open the page with ?as=<USER_ID> to choose who you are.`);
    }
    throw new Error(detail);
  }
  return response.json();
}

function sinceVersion() {
  return state && stateUser === me ? state.version : null;
}

/** (Re)start the long-poll for the current person, cancelling the previous person's request. */
function startPolling() {
  if (pollController) pollController.abort();
  const controller = new AbortController();
  pollController = controller;
  pollLoop(controller);
}

async function pollLoop(controller) {
  let failures = 0;
  while (!controller.signal.aborted) {
    const since = sinceVersion();
    const started = Date.now();
    try {
      const data = await fetchState(controller.signal, since);
      if (controller.signal.aborted) return;
      failures = 0;
      showConnection(true);
      applyState(data);
      // A server answering at once with nothing new would make this loop spin; breathe a little.
      if (since !== null && data.version === since && Date.now() - started < 200) await sleep(500);
    } catch (err) {
      if (controller.signal.aborted) return;
      if (err instanceof NobodyError) {
        showBanner(err.message);
        showConnection(true);
        return; // nothing to poll for until a person is chosen (reload with ?as=)
      }
      failures += 1;
      if (failures > 1) showConnection(false, err.message);
      await sleep(1000);
    }
  }
}

let refreshTimer = null;
/** One immediate state read after an action (the long-poll would bring it too, a moment later). */
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    const forUser = me;
    try {
      const data = await fetchState(undefined, null);
      if (me === forUser) applyState(data);
    } catch (err) {
      /* the long-poll keeps trying and reports trouble */
    }
  }, 60);
}

function applyState(data) {
  if (!data || typeof data !== "object") return;
  if (!me) me = (data.people && data.people[0] && data.people[0].id) || data.me || null;
  if (data.me && data.me !== me) return; // an answer for someone else (we just switched person)
  const fresh = !state || stateUser !== me;
  if (!fresh && Number(data.version) < Number(state.version)) return; // overtaken by a newer answer
  const changed = fresh || data.version !== state.version;
  clockBase = { now: Number(data.now) || Date.now() / 1000, at: Date.now(), running: Boolean(data.clock_running) };
  state = data;
  stateUser = me;
  if (fresh) seen = null;
  if (changed) render();
  else renderClock();
}

/* ======================================================================== rendering: the frame */

function render() {
  if (!state) return;
  // A re-render replaces the message an overflow menu belonged to; forget the orphaned menu.
  if (openMenu && !openMenu.el.isConnected) openMenu = null;
  normaliseSelection();
  announceHome();
  markSeen();
  renderWorkspace();
  renderPeople();
  renderSidebar();
  renderClock();
  renderMain();
  renderThread();
  renderModal();
  applyHighlight();
  syncUrl();
}

/** Slack tells the app each time someone opens its Home tab (it may publish a fresh view then). */
function announceHome() {
  if (conversationId !== "home") {
    homeOpenedFor = null;
    return;
  }
  if (homeOpenedFor === me) return;
  homeOpenedFor = me;
  post("/api/home", { user: me });
}

/** Keep the open conversation and thread valid for what this person can see. */
function normaliseSelection() {
  const list = conversations();
  if (conversationId !== "home" && !list.some((c) => c.id === conversationId)) {
    const dm = preferDm ? list.find((c) => c.kind === "dm") : null;
    conversationId = dm ? dm.id : (list[0] ? list[0].id : "home");
    thread = null;
  }
  preferDm = false;
  if (thread && thread.channel !== conversationId) thread = null;
}

function markSeen() {
  const count = (id) => messagesOf(id).length;
  if (!seen) {
    seen = {};
    for (const conv of conversations()) seen[conv.id] = count(conv.id);
  }
  if (conversationId !== "home") seen[conversationId] = count(conversationId);
}

function syncUrl() {
  if (!me || !conversationId || !state) return;
  const params = new URLSearchParams(location.search);
  params.set("as", me);
  params.set("c", conversationId);
  const next = `${location.pathname}?${params}`;
  if (next !== location.pathname + location.search) history.replaceState(null, "", next);
  const conv = currentConversation();
  const where = conversationId === "home" ? `${botName()} · Home` : conversationLabel(conv);
  document.title = `${where} — ${(state.team && state.team.name) || "Handoff sandbox"}`;
}

function renderWorkspace() {
  $("#workspace-name").textContent = (state.team && state.team.name) || "Handoff sandbox";
}

function personLabel(person) {
  const first = String(person.real_name || person.name || person.id).split(" ")[0];
  const role = String(person.title || "").split("·")[0].trim();
  const tz = safeTz(person.tz);
  return `${first}${role ? ` — ${role}` : ""} · ${hhmm(sandboxNow(), tz)} ${cityOf(tz)}`;
}

function renderPeople() {
  const select = $("#as-user");
  const people = state.people || [];
  const ids = people.map((p) => p.id).join(",");
  if (select.dataset.ids !== ids) {
    select.replaceChildren(...people.map((p) => h("option", { value: p.id })));
    select.dataset.ids = ids;
  }
  for (const option of select.options) {
    const person = people.find((p) => p.id === option.value);
    if (person) option.textContent = personLabel(person);
  }
  select.value = me;
  const person = people.find((p) => p.id === me);
  if (person) {
    const tz = safeTz(person.tz);
    const role = String(person.title || "").split("·")[0].trim();
    $("#as-user-card").replaceChildren(avatar(me, "small"), h("div", { class: "as-user-text" },
      h("div", { class: "as-user-line" },
        h("span", { class: "as-user-name", text: person.real_name || person.name || person.id }),
        h("span", { class: "as-user-time", text: hhmm(sandboxNow(), tz) })),
      h("div", { class: "as-user-where", text: `${role ? `${role} · ` : ""}${cityOf(tz)}` })));
  }
}

function renderSidebar() {
  const entry = (conv) => {
    const unread = conv.id !== conversationId && seen && messagesOf(conv.id).length > (seen[conv.id] || 0);
    const link = h("a", {
      class: `conversation${conv.id === conversationId ? " active" : ""}${unread ? " unread" : ""}`,
      "data-conversation": conv.id,
      href: `?as=${encodeURIComponent(me)}&c=${encodeURIComponent(conv.id)}`,
    });
    if (conv.kind === "dm") {
      link.append(avatar(botId(), "tiny"), h("span", { class: "conversation-name", text: conv.name }), appBadge());
    } else {
      link.append(
        h("span", { class: "conversation-icon", "aria-hidden": "true", text: conv.is_private ? "🔒" : "#" }),
        h("span", { class: "conversation-name", text: conv.name }),
      );
    }
    return link;
  };
  $("#channel-list").replaceChildren(...conversations().filter((c) => c.kind !== "dm").map(entry));
  $("#dm-list").replaceChildren(...conversations().filter((c) => c.kind === "dm").map(entry));
  const home = $('#sidebar a[data-conversation="home"]');
  home.classList.toggle("active", conversationId === "home");
  home.setAttribute("href", `?as=${encodeURIComponent(me)}&c=home`);
}

function renderClock() {
  const tz = viewerTz();
  const p = partsOf(sandboxNow(), tz, "en-GB", {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  $("#clock").textContent = `${p.weekday} ${p.day} ${p.month}, ${p.hour}:${p.minute} · ${tz}`;
  $("#clock").title = `Sandbox time: ${fullDate(sandboxNow(), tz)}${clockBase.running ? "" : " (clock stopped)"}`;
}

function appBadge() {
  return h("span", { class: "app-badge", text: "APP" });
}

function avatar(id, size = "") {
  if (isBotUser(id)) return h("span", { class: `avatar bot ${size}`.trim(), "aria-hidden": "true", text: "🤝" });
  const name = displayName(id);
  const initial = (Array.from(String(name).trim())[0] || "?").toUpperCase();
  return h("span", {
    class: `avatar ${size}`.trim(),
    style: `background-color: ${AVATAR_COLOURS[hashString(id) % AVATAR_COLOURS.length]}`,
    "aria-hidden": "true",
    text: initial,
  });
}

/* ======================================================================== rendering: main pane */

function renderHeader(conv) {
  const header = $("#conversation-header");
  if (conversationId === "home") {
    header.replaceChildren(
      h("div", { class: "header-title" }, avatar(botId(), "small"), h("h1", { text: botName() }), appBadge()),
      h("div", { class: "header-tabs" }, h("span", { class: "header-tab active", text: "Home" })),
    );
    return;
  }
  if (!conv) {
    header.replaceChildren();
    return;
  }
  const title = conv.kind === "dm"
    ? h("div", { class: "header-title" }, avatar(botId(), "small"), h("h1", { text: conv.name }), appBadge())
    : h("div", { class: "header-title" }, h("h1", { text: `${conv.is_private ? "🔒" : "#"} ${conv.name}` }));
  header.replaceChildren(title);
}

function isTopLevel(msg) {
  return !msg.thread_ts || msg.thread_ts === msg.ts || msg.subtype === "thread_broadcast";
}

function myEphemerals(channel) {
  return ((state && state.ephemerals) || []).filter((e) => e.channel === channel);
}

function renderMain() {
  const isHome = conversationId === "home";
  const conv = currentConversation();
  $("#messages").hidden = isHome;
  $("#home-view").hidden = !isHome;
  $("#composer-box").hidden = isHome;
  renderHeader(conv);
  if (isHome) {
    renderHome();
    lastMainKey = `${me}|home`;
    return;
  }
  const box = $("#messages");
  const key = `${me}|${conversationId}`;
  const previousTop = box.scrollTop;

  const items = [
    ...messagesOf(conversationId).filter(isTopLevel).map((msg) => ({ msg, ephemeral: false })),
    ...myEphemerals(conversationId).filter((e) => !e.thread_ts).map((msg) => ({ msg, ephemeral: true })),
  ].sort((a, b) => compareTs(a.msg.ts, b.msg.ts));

  const nodes = [introFor(conv)];
  const tz = viewerTz();
  let lastDay = null;
  for (const { msg, ephemeral } of items) {
    const day = dayNumber(parseFloat(msg.ts), tz);
    if (day !== lastDay) nodes.push(dayDivider(parseFloat(msg.ts), tz));
    lastDay = day;
    nodes.push(renderMessage(msg, { channel: conversationId, ephemeral, inThread: false }));
  }
  box.replaceChildren(...nodes);

  if (key !== lastMainKey || isFollowing(box) || forceScrollMain) scrollToEnd(box);
  else box.scrollTop = previousTop;
  forceScrollMain = false;
  lastMainKey = key;

  const composer = $("#composer");
  composer.placeholder = conv ? `Message ${conversationLabel(conv)}` : "Message";
}

function introFor(conv) {
  if (!conv) return h("div", { class: "intro" });
  if (conv.kind === "dm") {
    return h("div", { class: "intro" },
      h("div", { class: "intro-title" }, avatar(botId(), "large"), h("span", { text: conv.name }), appBadge()),
      h("p", { text: `This is the very beginning of your direct message history with ${conv.name}. Try /tasks help.` }));
  }
  return h("div", { class: "intro" },
    h("div", { class: "intro-title" }, h("span", { text: `# ${conv.name}` })),
    h("p", { text: `This is the very beginning of the #${conv.name} channel.` }));
}

function dayDivider(epoch, tz) {
  const offset = dayNumber(epoch, tz) - dayNumber(sandboxNow(), tz);
  let label = ({ 0: "Today", "-1": "Yesterday", 1: "Tomorrow" })[offset];
  if (!label) {
    const p = partsOf(epoch, tz, "en-US", { weekday: "long", month: "long", day: "numeric" });
    label = `${p.weekday}, ${p.month} ${ordinal(Number(p.day))}`;
  }
  return h("div", { class: "day-divider" }, h("span", { text: label }));
}

function renderHome() {
  const box = $("#home-view");
  const home = state.home;
  if (!home) {
    box.replaceChildren(h("div", { class: "home-empty", text: `${botName()} has no Home tab yet.` }));
    return;
  }
  box.replaceChildren(h("div", { class: "home-blocks" }, renderBlocks(home.blocks, { kind: "view", viewId: home.id, inputs: [] })));
}

/* ======================================================================== rendering: one message */

/**
 * A message (or ephemeral) as Slack draws it. `opts.channel` is where it lives, `opts.ephemeral`
 * marks my ephemerals (always from the bot), `opts.inThread` is true inside the thread pane.
 */
function renderMessage(msg, opts) {
  const { channel, ephemeral, inThread } = opts;
  const sender = ephemeral ? botId() : (msg.user || (msg.bot_id ? botId() : null));
  const epoch = parseFloat(msg.ts);
  const tz = viewerTz();
  const isBroadcast = msg.subtype === "thread_broadcast";

  const node = h("div", {
    class: `message${ephemeral ? " ephemeral" : ""}${isBroadcast ? " broadcast" : ""}`,
    "data-ts": msg.ts,
    "data-channel": channel,
  });
  if (highlight && highlight.channel === channel && highlight.ts === msg.ts && Date.now() < highlight.until) {
    node.classList.add("highlight");
  }

  const body = h("div", { class: "message-body" });
  if (ephemeral) {
    const dismiss = h("a", { class: "dismiss", href: "#", role: "button", text: "Dismiss" });
    dismiss.addEventListener("click", (event) => {
      event.preventDefault();
      post("/api/dismiss", { user: me, channel, ts: msg.ts });
    });
    body.append(h("div", { class: "ephemeral-note" }, h("span", { text: "👁 Only visible to you" }), dismiss));
  }
  if (isBroadcast && !inThread) {
    const link = h("button", { type: "button", class: "broadcast-link", text: "View thread" });
    link.addEventListener("click", () => openThread(channel, msg.thread_ts));
    body.append(h("div", { class: "broadcast-note" }, h("span", { text: "replied to a thread · " }), link));
  }

  const meta = h("div", { class: "message-meta" },
    h("span", { class: "sender", text: displayName(sender) }),
    isBotUser(sender) ? appBadge() : null,
    h("span", { class: "timestamp", title: fullDate(epoch, tz), text: hhmm(epoch, tz) }),
    msg.edited ? h("span", { class: "edited", text: "(edited)" }) : null);
  body.append(meta);

  const content = Array.isArray(msg.blocks) && msg.blocks.length
    ? renderBlocks(msg.blocks, { kind: "message", channel, ts: msg.ts, ephemeral: Boolean(ephemeral) })
    : mrkdwnNode(msg.text || "", "message-text");
  content.classList.add("message-content");
  body.append(content);

  if (!ephemeral && Array.isArray(msg.reactions) && msg.reactions.length) body.append(renderReactions(msg, channel));
  if (!ephemeral && !inThread) {
    const summary = threadSummary(msg, channel);
    if (summary) body.append(summary);
  }

  node.append(avatar(sender), body);
  if (!ephemeral) node.append(messageToolbar(msg, channel, inThread));
  return node;
}

function renderReactions(msg, channel) {
  const row = h("div", { class: "reactions" });
  for (const reaction of msg.reactions) {
    const who = reaction.users || [];
    const mine = who.includes(me);
    const names = who.map((id) => (id === me ? "You" : displayName(id)));
    const count = reaction.count ?? who.length;
    const chip = h("button", {
      type: "button",
      class: `reaction${mine ? " mine" : ""}`,
      "data-name": reaction.name,
      title: `${names.join(", ") || "Nobody"} reacted with :${reaction.name}:${mine ? " (click to remove yours)" : ""}`,
      "aria-pressed": mine ? "true" : "false",
      text: `${emojiFor(reaction.name)} ${count}`,
    });
    chip.addEventListener("click", () => react(channel, msg.ts, reaction.name, mine));
    row.append(chip);
  }
  return row;
}

function threadSummary(msg, channel) {
  if (!isTopLevel(msg) || msg.subtype === "thread_broadcast") return null;
  const replies = messagesOf(channel).filter((m) => m.thread_ts === msg.ts && m.ts !== msg.ts);
  const count = Number(msg.reply_count) || replies.length;
  if (!count) return null;
  const replyUsers = msg.reply_users || [...new Set(replies.map((m) => m.user).filter(Boolean))];
  const latest = msg.latest_reply || (replies.length ? replies[replies.length - 1].ts : null);
  const tz = viewerTz();
  const summary = h("div", { class: "thread-summary" },
    h("span", { class: "reply-avatars" }, replyUsers.slice(0, 5).map((id) => avatar(id, "tiny"))),
    h("button", { type: "button", class: "thread-link", text: `${count} ${count === 1 ? "reply" : "replies"}` }),
    latest ? h("span", { class: "thread-last", title: fullDate(parseFloat(latest), tz), text: `Last reply ${hhmm(parseFloat(latest), tz)}` }) : null,
    h("span", { class: "thread-view", text: "View thread" }));
  summary.addEventListener("click", () => openThread(channel, msg.ts));
  return summary;
}

/** The hover toolbar: always in the DOM (automation can click it), shown on hover via opacity. */
function messageToolbar(msg, channel, inThread) {
  const add = h("button", { type: "button", class: "add-reaction", title: "Add reaction", "aria-label": "Add reaction" });
  add.innerHTML = ICONS.reaction; // constant icon markup
  add.addEventListener("click", (event) => {
    event.stopPropagation();
    openPicker(add, channel, msg.ts);
  });
  const reply = h("button", { type: "button", class: "reply-in-thread", title: "Reply in thread", "aria-label": "Reply in thread" });
  reply.innerHTML = ICONS.thread; // constant icon markup
  reply.addEventListener("click", () => {
    if (inThread) $("#thread-composer").focus();
    else openThread(channel, isTopLevel(msg) && msg.subtype !== "thread_broadcast" ? msg.ts : msg.thread_ts);
  });
  const more = h("button", { type: "button", class: "more-actions", title: "More actions", "aria-label": "More actions",
    "aria-haspopup": "menu", text: "⋯" });
  more.addEventListener("click", (event) => {
    event.stopPropagation();
    openShortcutMenu(more, "message", { channel, ts: msg.ts }, `${botName()} · message shortcuts`);
  });
  return h("div", { class: "message-toolbar" }, add, reply, more);
}

/** The app's shortcuts of one type ("message" in a message's ⋯, "global" behind the composer's ⚡). */
function shortcutsOf(type) {
  return ((state && state.shortcuts) || []).filter((s) => s.type === type);
}

function openShortcutMenu(button, type, target, heading) {
  const wasOpen = openMenu && openMenu.owner === button;
  closePopups();
  if (wasOpen) return;
  const items = shortcutsOf(type).map((shortcut) => {
    const item = h("button", { type: "button", role: "menuitem", "data-callback-id": shortcut.callback_id },
      shortcut.name);
    item.addEventListener("click", (ev) => {
      ev.stopPropagation();
      closePopups();
      post("/api/shortcut", { user: me, callback_id: shortcut.callback_id, ...target });
    });
    return item;
  });
  const menu = h("div", { class: "overflow-menu shortcut-menu", role: "menu" },
    h("div", { class: "menu-heading", text: heading }), items);
  document.body.append(menu);
  button.classList.add("open");
  openMenu = { owner: button, el: menu };
  placeMenu(menu, button);
}

/* ======================================================================== rendering: thread pane */

function openThread(channel, ts) {
  if (!ts) return;
  thread = { channel, ts };
  forceScrollThread = true;
  renderThread();
  $("#thread-composer").focus();
}

function closeThread() {
  thread = null;
  renderThread();
}

function renderThread() {
  const pane = $("#thread-pane");
  const open = Boolean(state && thread);
  pane.hidden = !open;
  $("#content").classList.toggle("with-thread", open);
  if (!open) {
    lastThreadKey = "";
    return;
  }
  const conv = conversations().find((c) => c.id === thread.channel);
  $("#thread-channel").textContent = conv ? `· ${conversationLabel(conv)}` : "";

  const box = $("#thread-messages");
  const key = `${me}|${thread.channel}|${thread.ts}`;
  const previousTop = box.scrollTop;

  const all = messagesOf(thread.channel);
  const parent = all.find((m) => m.ts === thread.ts);
  const replies = all.filter((m) => m.thread_ts === thread.ts && m.ts !== thread.ts);
  const items = [
    ...replies.map((msg) => ({ msg, ephemeral: false })),
    ...myEphemerals(thread.channel).filter((e) => e.thread_ts === thread.ts).map((msg) => ({ msg, ephemeral: true })),
  ].sort((a, b) => compareTs(a.msg.ts, b.msg.ts));

  const nodes = [
    parent
      ? renderMessage(parent, { channel: thread.channel, ephemeral: false, inThread: true })
      : h("div", { class: "thread-missing", text: "The original message is no longer here." }),
    h("div", { class: "replies-divider" }, h("span", { text: `${replies.length} ${replies.length === 1 ? "reply" : "replies"}` })),
    ...items.map(({ msg, ephemeral }) => renderMessage(msg, { channel: thread.channel, ephemeral, inThread: true })),
  ];
  box.replaceChildren(...nodes);
  if (key !== lastThreadKey || isFollowing(box) || forceScrollThread) scrollToEnd(box);
  else box.scrollTop = previousTop;
  forceScrollThread = false;
  lastThreadKey = key;
}

/* ======================================================================== Block Kit */

/**
 * Render blocks for a surface: {kind: "message", channel, ts, ephemeral} or {kind: "view", viewId,
 * inputs}. The surface decides where a click goes (/api/action or /api/view/action); input blocks
 * register their readers in surface.inputs for the modal's submit.
 */
function renderBlocks(blocks, surface) {
  const box = h("div", { class: "blocks" });
  for (const block of Array.isArray(blocks) ? blocks : []) {
    try {
      box.append(renderBlock(block, surface));
    } catch (err) {
      // One malformed block must not take the whole conversation down; show that something is there.
      console.warn("could not render block", block, err);
      box.append(unsupported("block", block && block.type, "could not render"));
    }
  }
  return box;
}

function unsupported(what, type, reason = "unsupported") {
  return h("div", { class: "unsupported", text: `[${reason} ${what}: ${type || "?"}]` });
}

function renderBlock(block, surface) {
  switch (block && block.type) {
    case "section": {
      const main = h("div", { class: "section-main" });
      if (block.text) main.append(textNode(block.text, "section-text"));
      if (Array.isArray(block.fields) && block.fields.length) {
        main.append(h("div", { class: "section-fields" }, block.fields.map((f) => textNode(f, "section-field"))));
      }
      const node = h("div", { class: "block section", "data-block-id": block.block_id || null }, main);
      if (block.accessory) node.append(h("div", { class: "section-accessory" }, renderElement(block.accessory, block, surface)));
      return node;
    }
    case "context":
      return h("div", { class: "block context" }, (block.elements || []).map((el) => {
        if (el.type === "image") return renderImage(el, "context-image");
        if (el.type === "mrkdwn") return mrkdwnNode(el.text, "context-item");
        return h("span", { class: "context-item", text: plainText(el) });
      }));
    case "actions":
      return h("div", { class: "block actions", "data-block-id": block.block_id || null },
        (block.elements || []).map((el) => renderElement(el, block, surface)));
    case "header":
      return h("div", { class: "block header", text: plainText(block.text) });
    case "divider":
      return h("hr", { class: "block divider" });
    case "image":
      return h("figure", { class: "block image" },
        block.title ? h("figcaption", { text: plainText(block.title) }) : null,
        renderImage(block, "block-image"));
    case "rich_text":
      return h("div", { class: "block rich-text", text: richText(block) });
    case "input":
      return renderInputBlock(block, surface);
    default:
      return unsupported("block", block && block.type);
  }
}

/** rich_text is shown as its text content (mentions and emoji resolved), which is all we need. */
function richText(node) {
  if (!node || typeof node !== "object") return "";
  switch (node.type) {
    case "text": return node.text || "";
    case "link": return node.text || node.url || "";
    case "user": return `@${handleOf(node.user_id)}`;
    case "channel": return `#${channelName(node.channel_id) || node.channel_id}`;
    case "emoji": return node.unicode ? String.fromCodePoint(...node.unicode.split("-").map((c) => parseInt(c, 16))) : emojiFor(node.name);
    case "broadcast": return `@${node.range}`;
    case "date": return node.fallback || "";
    case "rich_text_list":
      return (node.elements || []).map((item) => `• ${richText(item)}`).join("\n") + "\n";
    case "rich_text_preformatted":
    case "rich_text_quote":
      return `${(node.elements || []).map(richText).join("")}\n`;
    default:
      return (node.elements || []).map(richText).join("");
  }
}

function renderImage(element, cls) {
  const alt = String(element.alt_text || "");
  const url = String(element.image_url || "");
  const img = h("img", { class: cls, alt, title: alt || null });
  // Only web and inline images; other schemes have no business in an <img>.
  if (/^(https?:|data:image\/)/i.test(url)) img.src = url;
  img.addEventListener("error", () => img.replaceWith(h("span", { class: `${cls} image-missing`, title: alt, text: `🖼 ${alt || "image"}` })));
  return img;
}

function renderElement(element, block, surface) {
  switch (element && element.type) {
    case "button":
      return renderButton(element, block, surface);
    case "overflow":
      return renderOverflow(element, block, surface);
    case "static_select":
    case "users_select": {
      const select = buildSelect(element);
      select.classList.add("block-select");
      select.dataset.actionId = element.action_id || "";
      select.dataset.blockId = block.block_id || "";
      select.addEventListener("change", () => {
        if (select.value) sendAction(surface, block, element, select.value);
      });
      return select;
    }
    case "datepicker":
    case "timepicker": {
      const input = h("input", { type: element.type === "datepicker" ? "date" : "time", class: "block-picker" });
      input.value = element.initial_date || element.initial_time || "";
      input.addEventListener("change", () => {
        if (input.value) sendAction(surface, block, element, input.value);
      });
      return input;
    }
    case "image":
      return renderImage(element, "accessory-image");
    default:
      return unsupported("element", element && element.type);
  }
}

function renderButton(element, block, surface) {
  const style = element.style === "primary" || element.style === "danger" ? ` ${element.style}` : "";
  const button = h("button", {
    type: "button",
    class: `block-button${style}`,
    "data-action-id": element.action_id || "",
    "data-block-id": block.block_id || "",
  }, plainText(element.text));
  button.addEventListener("click", async () => {
    if (element.confirm && !window.confirm(confirmText(element.confirm))) return;
    if (element.url) openUrl(element.url); // Slack opens the link and still tells the app
    button.disabled = true;
    button.classList.add("busy");
    await sendAction(surface, block, element, undefined);
    button.disabled = false;
    button.classList.remove("busy");
  });
  return button;
}

function confirmText(confirm) {
  return [plainText(confirm.title), plainText(confirm.text)].filter(Boolean).join("\n\n");
}

function renderOverflow(element, block, surface) {
  const wrap = h("span", { class: "overflow-wrap" });
  const button = h("button", {
    type: "button",
    class: "overflow",
    "data-action-id": element.action_id || "",
    "data-block-id": block.block_id || "",
    title: "More actions",
    "aria-haspopup": "menu",
    "aria-label": "More actions",
    text: "⋯",
  });
  button.addEventListener("click", (event) => {
    event.stopPropagation(); // the document's outside-click handler would close it straight away
    const wasOpen = openMenu && openMenu.owner === button;
    closePopups();
    if (wasOpen) return;
    const menu = h("div", { class: "overflow-menu", role: "menu" }, (element.options || []).map((option) => {
      const item = h("button", { type: "button", role: "menuitem", "data-value": option.value ?? "" }, plainText(option.text));
      item.addEventListener("click", (ev) => {
        ev.stopPropagation();
        closePopups();
        if (option.url) openUrl(option.url);
        sendAction(surface, block, element, option.value);
      });
      return item;
    }));
    wrap.append(menu);
    button.classList.add("open");
    openMenu = { owner: button, el: menu };
    placeMenu(menu, button);
  });
  wrap.append(button);
  return wrap;
}

const MENU_GAP = 4;     // between the ⋯ button and its menu
const MENU_MARGIN = 8;  // kept free at the edges of the window

/**
 * Place an open overflow menu beside its button, as Slack does: below it when it fits in the part of
 * the list that is on screen (never under the message box), else above it, else wherever it stays
 * whole in the window. The menu is fixed to the window, so the scrolling list can't clip it.
 */
function placeMenu(menu, button) {
  const anchor = button.getBoundingClientRect();
  const list = button.closest("#messages, #thread-messages, #home-view, .modal-body");
  const area = list ? list.getBoundingClientRect() : { top: 0, bottom: window.innerHeight };
  const top = Math.max(area.top, MENU_MARGIN);
  const bottom = Math.min(area.bottom, window.innerHeight - MENU_MARGIN);
  const height = menu.offsetHeight;
  const width = menu.offsetWidth;
  let y;
  if (anchor.bottom + MENU_GAP + height <= bottom) y = anchor.bottom + MENU_GAP;
  else if (anchor.top - MENU_GAP - height >= top) y = anchor.top - MENU_GAP - height;
  else y = bottom - height;
  y = Math.max(MENU_MARGIN, Math.min(y, window.innerHeight - MENU_MARGIN - height));
  const x = Math.max(MENU_MARGIN, Math.min(anchor.left, window.innerWidth - MENU_MARGIN - width));
  menu.style.top = `${Math.round(y)}px`;
  menu.style.left = `${Math.round(x)}px`;
}

/** An open menu follows its button when the list scrolls or the window changes size. */
function keepMenuPlaced() {
  if (!openMenu) return;
  if (!openMenu.el.isConnected) {
    openMenu = null;
    return;
  }
  placeMenu(openMenu.el, openMenu.owner);
}

/** People who can be picked in a users_select: humans, by real name. */
function selectablePeople() {
  return Object.entries(users())
    .filter(([, u]) => !u.is_bot && !u.deleted)
    .sort(([, a], [, b]) => String(a.real_name || a.name).localeCompare(String(b.real_name || b.name)));
}

function selectOptions(element) {
  return [...(element.options || []), ...(element.option_groups || []).flatMap((g) => g.options || [])];
}

function buildSelect(element) {
  const select = h("select");
  const placeholder = plainText(element.placeholder) || (element.type === "users_select" ? "Select a person" : "Select an option");
  select.append(h("option", { value: "" }, placeholder));
  let initial = "";
  if (element.type === "users_select") {
    for (const [id, user] of selectablePeople()) select.append(h("option", { value: id }, user.real_name || user.name || id));
    initial = element.initial_user || "";
  } else if (element.type === "conversations_select") {
    // Channels the person can see; "current" is where the modal was opened, as Slack fills it in.
    for (const conv of conversations().filter((c) => c.kind === "channel")) {
      select.append(h("option", { value: conv.id }, `${conv.is_private ? "🔒" : "#"} ${conv.name}`));
    }
    const here = currentConversation();
    initial = element.initial_conversation
      || (element.default_to_current_conversation && here && here.kind === "channel" ? here.id : "");
  } else {
    const add = (parent, options) => {
      for (const option of options || []) parent.append(h("option", { value: option.value ?? "" }, plainText(option.text)));
    };
    add(select, element.options);
    for (const group of element.option_groups || []) {
      const optgroup = h("optgroup", { label: plainText(group.label) });
      add(optgroup, group.options);
      select.append(optgroup);
    }
    initial = (element.initial_option && element.initial_option.value) || "";
  }
  select.value = initial;
  if (select.value !== initial) select.value = "";
  return select;
}

/** A button/select/overflow in a message goes to /api/action, in a modal or Home to /api/view/action. */
function sendAction(surface, block, element, value) {
  const actionId = element.action_id || "";
  const blockId = block.block_id || "";
  if (surface.kind === "message") {
    const body = { user: me, channel: surface.channel, ts: surface.ts, action_id: actionId, block_id: blockId };
    if (value !== undefined) body.value = value;
    body.ephemeral = Boolean(surface.ephemeral);
    return post("/api/action", body);
  }
  const body = { user: me, view_id: surface.viewId, action_id: actionId, block_id: blockId };
  if (value !== undefined) body.value = value;
  return post("/api/view/action", body);
}

function openUrl(url) {
  if (parsePermalink(url)) goToPermalink(url);
  else if (/^(https?:|mailto:)/i.test(String(url))) window.open(url, "_blank", "noopener,noreferrer");
}

/* ======================================================================== inputs (modals) */

/** A modal input whose state is its DOM node's value: required when empty, no checks of its own. */
function valueControl(node, read) {
  return {
    node,
    getRaw: () => node.value,
    setRaw: (v) => { node.value = v; },
    isEmpty: () => !node.value,
    problem: () => null,
    read,
  };
}

/**
 * A form control for an input element, with the accessors the modal needs: getRaw/setRaw (to keep
 * what the user typed across refreshes), isEmpty (required check) and read (the submission state).
 */
function makeControl(element, id) {
  switch (element.type) {
    case "plain_text_input": {
      const node = element.multiline
        ? h("textarea", { id, rows: 4 })
        : h("input", { id, type: "text" });
      if (element.placeholder) node.placeholder = plainText(element.placeholder);
      if (element.max_length) node.maxLength = Number(element.max_length);
      node.value = element.initial_value || "";
      return {
        ...valueControl(node, () => ({ type: "plain_text_input", value: node.value === "" ? null : node.value })),
        isEmpty: () => !node.value.trim(),
        problem: () => (element.min_length && node.value.length < element.min_length
          ? `Please enter at least ${element.min_length} characters.` : null),
      };
    }
    case "users_select":
    case "conversations_select":
    case "static_select": {
      const node = buildSelect(element);
      node.id = id;
      const read = element.type === "users_select"
        ? () => ({ type: "users_select", selected_user: node.value || null })
        : element.type === "conversations_select"
          ? () => ({ type: "conversations_select", selected_conversation: node.value || null })
          : () => {
          const option = selectOptions(element).find((o) => String(o.value) === node.value);
          return { type: "static_select", selected_option: option ? { text: option.text, value: option.value } : null };
        };
      return valueControl(node, read);
    }
    case "datepicker":
    case "timepicker": {
      const isDate = element.type === "datepicker";
      const node = h("input", { id, type: isDate ? "date" : "time" });
      node.value = (isDate ? element.initial_date : element.initial_time) || "";
      return valueControl(node, () => (isDate
        ? { type: "datepicker", selected_date: node.value || null }
        : { type: "timepicker", selected_time: node.value || null }));
    }
    default:
      return null;
  }
}

function renderInputBlock(block, surface) {
  const element = block.element || {};
  const blockId = block.block_id || "";
  const actionId = element.action_id || "";
  const id = `input-${(uid += 1)}`;
  const control = makeControl(element, id);
  const error = h("div", { class: "input-error", role: "alert", hidden: true });
  const wrap = h("div", { class: "input-block", "data-block-id": blockId },
    h("label", { class: "input-label", for: id }, plainText(block.label),
      block.optional ? h("span", { class: "optional", text: " (optional)" }) : null),
    control ? control.node : unsupported("input element", element.type),
    block.hint ? h("div", { class: "input-hint", text: plainText(block.hint) }) : null,
    error);
  if (!control) return wrap;
  control.node.classList.add("input-control");
  const showError = (message) => {
    error.textContent = message || "";
    error.hidden = !message;
    wrap.classList.toggle("has-error", Boolean(message));
  };
  // Editing the field clears its complaint, as Slack does once you start fixing it.
  control.node.addEventListener("input", () => showError(""));
  control.node.addEventListener("change", () => showError(""));
  if (surface.inputs) surface.inputs.push({ blockId, actionId, optional: Boolean(block.optional), showError, ...control });
  return wrap;
}

/* ======================================================================== modal */

/**
 * Show the last open modal. It is rebuilt only when the view itself changed; while the same view
 * id and hash stay open, what the user typed is carried over to the rebuilt form.
 */
function renderModal() {
  const root = $("#modal-root");
  const views = (state && state.modals) || [];
  const view = views.length ? views[views.length - 1] : null;
  if (!view) {
    if (modalShown) {
      root.replaceChildren();
      root.hidden = true;
      modalShown = null;
    }
    return;
  }
  const json = JSON.stringify(view);
  if (modalShown && modalShown.json === json) return;

  const key = `${view.id}|${view.hash || ""}`;
  const sameView = Boolean(modalShown && modalShown.key === key);
  const draft = {};
  let focus = null;
  if (sameView) {
    for (const input of modalShown.inputs) {
      (draft[input.blockId] = draft[input.blockId] || {})[input.actionId] = input.getRaw();
      if (document.activeElement === input.node) {
        focus = { blockId: input.blockId, actionId: input.actionId, start: input.node.selectionStart, end: input.node.selectionEnd };
      }
    }
  }
  const isNew = !modalShown || modalShown.viewId !== view.id;

  const inputs = [];
  const surface = { kind: "view", viewId: view.id, inputs };
  const errors = view.errors && typeof view.errors === "object" ? view.errors : {};
  const body = h("div", { class: "modal-body" });
  const blocks = renderBlocks(view.blocks, surface);
  // Errors for blocks that are not inputs would otherwise be invisible: list them on top.
  const inputIds = new Set(inputs.map((i) => i.blockId));
  const stray = Object.entries(errors).filter(([blockId]) => !inputIds.has(blockId));
  if (stray.length) body.append(h("div", { class: "modal-error" }, stray.map(([, message]) => h("div", { text: String(message) }))));
  body.append(blocks);

  for (const input of inputs) {
    const saved = draft[input.blockId] && draft[input.blockId][input.actionId];
    if (saved !== undefined) input.setRaw(saved);
    if (errors[input.blockId]) input.showError(String(errors[input.blockId]));
  }

  const close = h("button", { type: "button", class: "modal-close", text: plainText(view.close) || "Cancel" });
  close.addEventListener("click", () => closeModal());
  const cross = h("button", { type: "button", class: "modal-x", "aria-label": "Close", text: "×" });
  cross.addEventListener("click", () => closeModal());
  let submit = null;
  if (view.submit) {
    submit = h("button", { type: "button", class: "modal-submit", text: plainText(view.submit) });
    submit.addEventListener("click", () => submitModal());
  }

  const modal = h("div", { class: "modal", "data-view-id": view.id, role: "dialog", "aria-modal": "true", "aria-label": plainText(view.title) },
    h("div", { class: "modal-header" }, h("h2", { class: "modal-title", text: plainText(view.title) }), cross),
    body,
    h("div", { class: "modal-footer" }, close, submit));
  root.replaceChildren(modal);
  root.hidden = false;
  modalShown = { key, json, viewId: view.id, inputs, submit, close };

  if (focus) {
    const again = inputs.find((i) => i.blockId === focus.blockId && i.actionId === focus.actionId);
    if (again) {
      again.node.focus();
      try { again.node.setSelectionRange(focus.start, focus.end); } catch (err) { /* selects have no caret */ }
    }
  } else if (isNew && inputs.length) {
    inputs[0].node.focus();
  }
}

async function submitModal() {
  if (!modalShown) return;
  const shown = modalShown;
  let firstBad = null;
  for (const input of shown.inputs) {
    const message = !input.optional && input.isEmpty() ? "Please complete this required field." : (input.isEmpty() ? null : input.problem());
    input.showError(message);
    if (message && !firstBad) firstBad = input;
  }
  if (firstBad) {
    firstBad.node.focus();
    return;
  }
  const values = {};
  for (const input of shown.inputs) (values[input.blockId] = values[input.blockId] || {})[input.actionId] = input.read();
  if (shown.submit) shown.submit.disabled = true;
  await post("/api/view/submit", { user: me, view_id: shown.viewId, values });
  if (shown.submit) shown.submit.disabled = false;
}

async function closeModal() {
  if (!modalShown) return;
  const shown = modalShown;
  shown.close.disabled = true;
  await post("/api/view/close", { user: me, view_id: shown.viewId });
  shown.close.disabled = false;
}

/* ======================================================================== popups */

function buildPicker() {
  const picker = $("#emoji-picker");
  const grid = h("div", { class: "emoji-grid" });
  for (const name of PICKER_EMOJI) {
    const button = h("button", { type: "button", "data-emoji": name, title: `:${name}:`, text: EMOJI[name] });
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      const target = pickerTarget;
      closePopups();
      if (!target) return;
      const msg = messagesOf(target.channel).find((m) => m.ts === target.ts);
      const existing = msg && (msg.reactions || []).find((r) => r.name === name);
      react(target.channel, target.ts, name, Boolean(existing && (existing.users || []).includes(me)));
    });
    grid.append(button);
  }
  picker.replaceChildren(h("div", { class: "picker-title", text: "Add reaction" }), grid);
}

function openPicker(anchor, channel, ts) {
  const picker = $("#emoji-picker");
  const reopen = pickerTarget && pickerTarget.channel === channel && pickerTarget.ts === ts && !picker.hidden;
  closePopups();
  if (reopen) return;
  pickerTarget = { channel, ts };
  picker.hidden = false;
  const rect = anchor.getBoundingClientRect();
  const width = picker.offsetWidth;
  const height = picker.offsetHeight;
  let left = Math.min(rect.right - width, window.innerWidth - width - 8);
  left = Math.max(8, left);
  let top = rect.bottom + 6;
  if (top + height > window.innerHeight - 8) top = Math.max(8, rect.top - height - 6);
  picker.style.left = `${left}px`;
  picker.style.top = `${top}px`;
}

function closePopups() {
  if (openMenu) {
    openMenu.el.remove();
    openMenu.owner.classList.remove("open");
    openMenu = null;
  }
  const picker = $("#emoji-picker");
  if (!picker.hidden) picker.hidden = true;
  pickerTarget = null;
}

function react(channel, ts, name, remove) {
  return post("/api/react", { user: me, channel, ts, name, remove: Boolean(remove) });
}

/* ======================================================================== navigation */

function openConversation(id) {
  if (!state) return;
  if (id !== "home" && !conversations().some((c) => c.id === id)) return;
  const changed = id !== conversationId;
  conversationId = id;
  if (changed) {
    thread = null;
    forceScrollMain = true;
  }
  closePopups();
  render(); // opening Home is announced to the server from render()
  if (id !== "home") $("#composer").focus();
}

/** Follow a Slack permalink inside the page: open the conversation (and thread) and flash the message. */
function goToPermalink(url) {
  const link = parsePermalink(url);
  if (!link || !state) return;
  if (!conversations().some((c) => c.id === link.channel)) {
    showBanner("That message is in a conversation you cannot see as this person.");
    return;
  }
  const msg = messagesOf(link.channel).find((m) => m.ts === link.ts);
  let parent = link.threadTs && link.threadTs !== link.ts ? link.threadTs : null;
  if (!parent && msg && msg.thread_ts && msg.thread_ts !== msg.ts) parent = msg.thread_ts;
  if (conversationId !== link.channel) forceScrollMain = true;
  conversationId = link.channel;
  thread = parent ? { channel: link.channel, ts: parent } : null;
  highlight = { channel: link.channel, ts: link.ts, until: Date.now() + HIGHLIGHT_MS, scroll: true };
  closePopups();
  render();
}

/** Scroll to the message a permalink pointed at (once), and drop the highlight after a moment. */
function applyHighlight() {
  if (!highlight || !highlight.scroll) return;
  highlight.scroll = false;
  const selector = `.message[data-channel="${CSS.escape(highlight.channel)}"][data-ts="${CSS.escape(highlight.ts)}"]`;
  const target = (thread && $(`#thread-messages ${selector}`)) || $(`#messages ${selector}`);
  if (target) target.scrollIntoView({ block: "center" });
  const current = highlight;
  setTimeout(() => {
    if (highlight === current) highlight = null;
    document.querySelectorAll(".message.highlight").forEach((node) => node.classList.remove("highlight"));
  }, HIGHLIGHT_MS);
}

function switchPerson(id) {
  if (!id || id === me) return;
  const conv = currentConversation();
  preferDm = Boolean(conv && conv.kind === "dm");
  me = id;
  closePopups();
  // The new person's modals start from scratch; their drafts are not ours to keep.
  if (modalShown) {
    $("#modal-root").replaceChildren();
    $("#modal-root").hidden = true;
    modalShown = null;
  }
  startPolling(); // Home, if open, is announced for the new person when their state arrives
  syncUrl();
}

/* ======================================================================== composers */

function autosize(textarea) {
  textarea.style.height = "auto";
  textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
}

/**
 * Wire a message box: Enter sends, Shift+Enter is a newline, "/" offers the slash commands.
 * `target()` says where a message goes: {channel, threadTs?} or null when nowhere.
 */
function attachComposer(textarea, sendButton, suggestions, target) {
  let active = 0;
  let queue = Promise.resolve();

  const matches = () => {
    const value = textarea.value;
    if (!state || !/^\/\S*$/.test(value)) return [];
    return (state.commands || []).filter((c) => String(c.command).startsWith(value));
  };

  const fill = (command) => {
    textarea.value = `${command.command} `;
    hide();
    textarea.focus();
    sendButton.classList.toggle("ready", true);
  };

  const hide = () => {
    suggestions.hidden = true;
    suggestions.replaceChildren();
  };

  const show = () => {
    const list = matches();
    if (!list.length) {
      hide();
      return;
    }
    active = Math.min(active, list.length - 1);
    suggestions.replaceChildren(h("div", { class: "suggestions-title", text: "Commands" }), ...list.map((command, i) => {
      const item = h("button", { type: "button", class: `command-suggestion${i === active ? " active" : ""}`, "data-command": command.command },
        h("span", { class: "command", text: command.command }),
        h("span", { class: "hint", text: command.hint || "" }));
      item.addEventListener("mousedown", (event) => event.preventDefault()); // keep the textarea focused
      item.addEventListener("click", () => fill(command));
      return item;
    }));
    suggestions.hidden = false;
  };

  const send = () => {
    const where = target();
    const text = textarea.value.trim();
    if (!where || !text) return;
    // As in Slack, the box clears at once and you can type the next message; sends keep their order.
    textarea.value = "";
    autosize(textarea);
    sendButton.classList.remove("ready");
    hide();
    const body = { user: me, channel: where.channel, text };
    if (where.threadTs) body.thread_ts = where.threadTs;
    if (where.threadTs) forceScrollThread = true;
    else forceScrollMain = true;
    queue = queue.then(async () => {
      const result = await post("/api/send", body);
      if (!result.ok && !textarea.value.trim()) {
        // Refused (an unknown command, say): give the text back to fix rather than retype.
        textarea.value = text;
        autosize(textarea);
        sendButton.classList.add("ready");
      }
    });
  };

  textarea.addEventListener("input", () => {
    autosize(textarea);
    active = 0;
    show();
    sendButton.classList.toggle("ready", Boolean(textarea.value.trim()));
  });
  textarea.addEventListener("keydown", (event) => {
    const list = suggestions.hidden ? [] : matches();
    if (list.length) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        active = (active + (event.key === "ArrowDown" ? 1 : list.length - 1)) % list.length;
        show();
        event.preventDefault();
        return;
      }
      const exact = list.some((c) => c.command === textarea.value.trim());
      if (event.key === "Tab" || (event.key === "Enter" && !event.shiftKey && !exact)) {
        fill(list[active]);
        event.preventDefault();
        return;
      }
      if (event.key === "Escape") {
        hide();
        event.stopPropagation();
        return;
      }
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  textarea.addEventListener("blur", () => setTimeout(hide, 150));
  sendButton.addEventListener("click", send);
  sendButton.innerHTML = ICONS.send; // constant icon markup
}

/* ======================================================================== clock controls */

async function advanceClock(step) {
  const buttons = document.querySelectorAll("[data-advance]");
  buttons.forEach((b) => { b.disabled = true; });
  $("#clock-status").hidden = false;
  const result = await post("/api/clock", { user: me, step });
  if (result.ok && typeof result.now === "number") {
    clockBase = { ...clockBase, now: result.now, at: Date.now() };
    renderClock();
  }
  buttons.forEach((b) => { b.disabled = false; });
  $("#clock-status").hidden = true;
}

/* ======================================================================== start */

function wire() {
  buildPicker();
  const lightning = $("#shortcuts");
  lightning.addEventListener("click", (event) => {
    event.stopPropagation();
    openShortcutMenu(lightning, "global", {}, `${botName()} · shortcuts`);
  });
  trackFollowing($("#messages"));
  trackFollowing($("#thread-messages"));
  attachComposer($("#composer"), $("#send"), $("#composer-box .command-suggestions"),
    () => (conversationId && conversationId !== "home" ? { channel: conversationId } : null));
  attachComposer($("#thread-composer"), $("#thread-send"), $("#thread-composer-box .command-suggestions"),
    () => (thread ? { channel: thread.channel, threadTs: thread.ts } : null));

  $("#as-user").addEventListener("change", (event) => switchPerson(event.target.value));
  $("#sidebar").addEventListener("click", (event) => {
    const link = event.target.closest("a.conversation");
    if (!link) return;
    event.preventDefault();
    openConversation(link.dataset.conversation);
  });
  $("#close-thread").addEventListener("click", closeThread);
  $("#banner-close").addEventListener("click", () => { $("#banner").hidden = true; });
  document.querySelectorAll("[data-advance]").forEach((button) => {
    button.addEventListener("click", () => advanceClock(button.dataset.advance));
  });

  // One listener for links inside rendered text (permalinks stay in the page) and outside clicks.
  document.addEventListener("click", (event) => {
    const anchor = event.target.closest("a.permalink");
    if (anchor) {
      event.preventDefault();
      goToPermalink(anchor.getAttribute("href"));
      return;
    }
    const channelMention = event.target.closest(".mention[data-channel-id]");
    if (channelMention && conversations().some((c) => c.id === channelMention.dataset.channelId)) {
      openConversation(channelMention.dataset.channelId);
      return;
    }
    if (!event.target.closest(".overflow-menu, #emoji-picker")) closePopups();
  });

  // Capturing: scrolls of the message lists don't bubble.
  document.addEventListener("scroll", keepMenuPlaced, true);
  window.addEventListener("resize", keepMenuPlaced);

  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (openMenu || !$("#emoji-picker").hidden) {
      closePopups();
      return;
    }
    if (modalShown) {
      event.preventDefault();
      closeModal();
    }
  });

  // The clock ticks every second; the people's local times in the picker every 30 s is plenty.
  setInterval(() => { if (state) renderClock(); }, 1000);
  setInterval(() => { if (state) renderPeople(); }, 30000);
}

wire();
startPolling();
