// Miles creator page. Everything the API returns (scraped titles, channel names) is untrusted:
// it is only ever set as textContent or as a link built from a validated video id, never as HTML.
"use strict";

const KEY_STORAGE = "miles.apiKey";
const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

// Relative URLs keep the API Gateway stage prefix (/Prod/...) the page was served under.
async function api(path, options = {}) {
  const headers = { "x-api-key": apiKey() };
  if (options.body) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch (error) {
    throw new Error("Could not reach the Miles API (" + error.message + ").");
  }
  let body = null;
  try { body = await response.json(); } catch (error) { body = null; }
  if (!response.ok) {
    const message = body && typeof body.message === "string" ? body.message : "HTTP " + response.status;
    const detail = body && Array.isArray(body.errors) && body.errors[0] && body.errors[0].message;
    throw new Error(detail && detail !== message ? message + ": " + detail : message);
  }
  return body;
}

function percent(value) {
  if (value > 0 && value < 0.001) return "< 0.1%";
  return (value * 100).toFixed(value < 0.1 ? 1 : 0) + "%";
}

function meter(label, fraction, shown) {
  const width = Math.max(0, Math.min(1, fraction)) * 100;
  const bar = el("span");
  bar.style.width = width.toFixed(1) + "%";  // CSSOM, not a style attribute: allowed by the CSP
  return el("div", { class: "meter" },
    el("span", { class: "meter-label", text: label }),
    el("div", { class: "bar", role: "img", "aria-label": label + ": " + shown }, bar),
    el("span", { class: "meter-value", text: shown }));
}

function scoreMeter(result) {
  // miles_score (0-100) when the model provides it; none for a video outside what it learned from
  // (the coverage reasons below say why); else the viral probability, labelled as such.
  if (result.coverage === "outside") {
    return el("p", { class: "hint", text: "Not scored: the model cannot read this video (why below)." });
  }
  if (typeof result.miles_score === "number") {
    return meter("Miles score", result.miles_score / 100, Math.round(result.miles_score) + " / 100");
  }
  return meter("Viral probability", result.viral_probability, percent(result.viral_probability));
}

const GROUP_NAMES = {
  text: "what the title says", lexical: "choice of words", timing: "posting time",
  category: "category", channel: "channel", early_stats: "early stats",
};

// The model's per-group contributions (viral logit) as words: what lifts the score, what holds it back.
function contributionsText(contributions) {
  if (!contributions || typeof contributions !== "object") return "";
  const parts = Object.entries(contributions)
    .filter(([, value]) => typeof value === "number" && Math.abs(value) >= 0.05)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
    .slice(0, 3)
    .map(([group, value]) => (GROUP_NAMES[group] || group) + (value > 0 ? " lifts it" : " holds it back"));
  return parts.length ? parts.join("; ") + "." : "no single part moves it much.";
}

function hourText(hour) {
  return String(hour).padStart(2, "0") + ":00";
}

// The best slot in the viewer's own time zone, with the UTC slot the API answered noted after it.
function bestTime(idea) {
  const best = idea.best_posting_time;
  if (!best || typeof best.hour_utc !== "number") return "";
  const utc = best.weekday.charAt(0).toUpperCase() + best.weekday.slice(1) + " " + hourText(best.hour_utc) + " UTC";
  const when = new Date(idea.planned_published_at);
  if (Number.isNaN(when.getTime())) return utc;
  const local = when.toLocaleString(undefined, { weekday: "long", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return local + " your time (" + utc + ")";
}

function scoreText(result) {
  if (typeof result.miles_score === "number") return Math.round(result.miles_score) + "/100";
  return typeof result.viral_probability === "number" ? percent(result.viral_probability) : "";
}

// Title wordings ranked by the model, best first; each [title, score, note].
function rankedList(label, rows) {
  const list = el("ol", { class: "variants", "aria-label": label });
  for (const [title, score, note] of rows) {
    list.append(el("li", { text: title + (score ? " (" + score + ")" : "") + (note ? " " + note : "") }));
  }
  return list;
}

function ideaCard(idea, index) {
  const card = el("li", { class: "card idea" });
  card.append(el("h3", { text: (idea.rank || index + 1) + ". " + idea.title }));
  card.append(scoreMeter(idea));
  if (typeof idea.breakout_probability === "number") {
    card.append(meter("Breakout chance", idea.breakout_probability, percent(idea.breakout_probability)));
  }
  const facts = el("div", { class: "facts" });
  const time = bestTime(idea);
  if (time) facts.append(el("span", { class: "best-time", text: "Best time: " + time }));
  if (idea.suggested_duration_seconds) facts.append(el("span", { text: "Length: " + idea.suggested_duration_seconds + " s" }));
  if (typeof idea.predicted_velocity_views_per_hour === "number") {
    facts.append(el("span", { text: "≈ " + Math.round(idea.predicted_velocity_views_per_hour).toLocaleString() + " views/hour" }));
  }
  card.append(facts);
  if (idea.reason) card.append(el("p", { class: "reason why", text: "Why: " + idea.reason }));
  if (idea.hook) card.append(el("p", { class: "reason", text: "Hook: " + idea.hook }));
  if (idea.reasoning) card.append(el("p", { class: "reason hint", text: idea.reasoning }));
  if (Array.isArray(idea.title_variants) && idea.title_variants.length > 1) {
    card.append(el("p", { class: "reason", text: "Title variants, ranked by the model:" }),
      rankedList("Title variants, best first", idea.title_variants.map((variant) =>
        [variant.title, scoreText(variant), variant.original ? "(first draft)" : ""])));
  }
  return card;
}

function videoLink(video) {
  // Only a plain YouTube id becomes a link; anything else is shown as text.
  if (typeof video.video_id !== "string" || !/^[A-Za-z0-9_-]{6,20}$/.test(video.video_id)) return null;
  const url = new URL("https://www.youtube.com/watch");
  url.searchParams.set("v", video.video_id);
  return el("a", { href: url.href, rel: "noopener noreferrer", target: "_blank", text: video.title });
}

function inspiredCard(video) {
  const card = el("li", { class: "card" });
  card.append(el("h4", {}, videoLink(video) || document.createTextNode(video.title)));
  const facts = el("div", { class: "facts" });
  if (video.channel_title) facts.append(el("span", { text: video.channel_title }));
  if (typeof video.viral_probability === "number") facts.append(el("span", { text: "viral " + percent(video.viral_probability) }));
  card.append(facts);
  return card;
}

function needKey(status) {
  if (apiKey()) return false;
  status.textContent = "Enter your API key first.";
  status.className = "hint error";
  $("api-key").focus();
  return true;
}

function showError(status, error) {
  status.textContent = error.message;
  status.className = "hint error";
}

async function getIdeas(event) {
  event.preventDefault();
  const status = $("ideas-status");
  if (needKey(status)) return;
  const button = $("ideas-button");
  button.disabled = true;
  status.className = "hint";
  status.textContent = "Thinking…";
  $("ideas").replaceChildren();
  $("inspired").replaceChildren();
  $("inspired-heading").hidden = true;
  try {
    const body = await api("recommendations", {
      method: "POST",
      body: JSON.stringify({ topic: $("topic").value.trim(), vibe: $("vibe").value, count: 5 }),
    });
    const ideas = body.ideas || [];
    $("ideas").replaceChildren(...ideas.map(ideaCard));
    const inspired = body.inspired_by || [];
    $("inspired").replaceChildren(...inspired.map(inspiredCard));
    $("inspired-heading").hidden = inspired.length === 0;
    const meta = body.meta || {};
    status.textContent = ideas.length + " ideas from " + (meta.candidates_analyzed || 0) + " real videos" +
      (meta.generator ? " (" + meta.generator + ")" : "") + ".";
  } catch (error) {
    showError(status, error);
  } finally {
    button.disabled = false;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function scrapeTopic() {
  const status = $("scrape-status");
  if (needKey(status)) return;
  const topic = $("topic").value.trim();
  if (!topic) { status.textContent = "Enter a topic to scrape."; status.className = "hint error"; $("topic").focus(); return; }
  const button = $("scrape-button");
  button.disabled = true;
  status.className = "hint";
  try {
    let job = await api("scrape/jobs", { method: "POST", body: JSON.stringify({ topic }) });
    const path = "scrape/jobs/" + encodeURIComponent(job.job_id);
    for (let i = 0; i < 90 && (job.status === "queued" || job.status === "running"); i++) {
      status.textContent = "Scrape job " + job.status + "…";
      await sleep(2000);
      job = await api(path);
    }
    const counts = job.counts || {};
    status.textContent = "Scrape " + job.status + (job.source ? " from " + job.source : "") +
      ": " + (counts.found || 0) + " videos found, " + (counts.new || 0) + " new.";
    if (job.status === "failed") status.className = "hint error";
  } catch (error) {
    showError(status, error);
  } finally {
    button.disabled = false;
  }
}

async function scoreTitle(event) {
  event.preventDefault();
  const out = $("score-result");
  out.replaceChildren();
  const status = el("p", { class: "hint", text: "Scoring…" });
  out.append(status);
  if (needKey(status)) return;
  const request = { title: $("own-title").value.trim(), explain: true };
  const variants = $("own-variants").value.split("\n").map((line) => line.trim()).filter(Boolean);
  if (variants.length) request.variants = variants;
  const views = $("views").value;
  if (views !== "") {
    request.view_count = Number(views);
    if ($("likes").value !== "") request.like_count = Number($("likes").value);
    if ($("comments").value !== "") request.comment_count = Number($("comments").value);
    if ($("published").value) request.published_at = new Date($("published").value).toISOString();
  }
  try {
    const result = await api("predict", { method: "POST", body: JSON.stringify(request) });
    // Each number is followed by what it means (the API's `meaning` sentences), the score first.
    const meaning = result.meaning || {};
    const says = (key) => (meaning[key] ? [el("p", { class: "meaning", text: meaning[key] })] : []);
    const card = el("div", { class: "card" }, el("h3", { text: request.title }), scoreMeter(result),
      ...says("miles_score"));
    if (typeof result.breakout_probability === "number") {
      card.append(meter("Breakout chance", result.breakout_probability, percent(result.breakout_probability)),
        ...says("breakout_probability"), ...says("agreement"));
    }
    card.append(el("div", { class: "facts" },
      el("span", { text: "≈ " + Math.round(result.predicted_velocity_views_per_hour).toLocaleString() + " views/hour" }),
      el("span", { text: result.regime === "post_publish" ? "with your stats" : "as an idea (no stats)" })),
      ...says("predicted_velocity_views_per_hour"));
    const why = contributionsText(result.contributions);
    if (why) card.append(el("p", { class: "reason why", text: "Why: " + why.charAt(0).toUpperCase() + why.slice(1) }));
    if (Array.isArray(result.variants) && result.variants.length) {
      const taken = new Set(result.variants.map((v) => v.rank));
      let titleRank = 1;
      while (taken.has(titleRank)) titleRank++;  // the title holds the one rank no variant has
      const rows = [[request.title, scoreText(result), titleRank], ...result.variants.map((v) => [v.title, scoreText(v), v.rank])]
        .sort((a, b) => a[2] - b[2])
        .map(([title, score]) => [title, score, title === result.best_title ? "(best)" : ""]);
      card.append(el("p", { class: "reason", text: "Your titles, ranked by the model:" }),
        rankedList("Your titles, best first", rows));
    }
    for (const warning of result.warnings || []) card.append(el("p", { class: "hint", text: warning }));
    out.replaceChildren(card);
  } catch (error) {
    showError(status, error);
  }
}

function saveKey(event) {
  event.preventDefault();
  const value = $("api-key").value.trim();
  if (value) sessionStorage.setItem(KEY_STORAGE, value);
  $("api-key").value = "";
  $("key-status").textContent = value ? "Key saved for this tab." : "";
}

document.addEventListener("DOMContentLoaded", () => {
  if (apiKey()) $("key-status").textContent = "Key saved for this tab.";
  $("key-form").addEventListener("submit", saveKey);
  $("ideas-form").addEventListener("submit", getIdeas);
  $("scrape-button").addEventListener("click", scrapeTopic);
  $("score-form").addEventListener("submit", scoreTitle);
});
