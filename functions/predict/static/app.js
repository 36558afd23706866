// Miles creator page: the forms and what each request shows while it runs and when it ends.
import { KEY_REFUSED, KEY_STORAGE, ApiError, api, errorText, invalidInputs, savedKey } from "./api.js";
import {
  accuracyView, el, evidenceText, facts, ideaCard, inspiredCard, rankedList, scoreBlock, scoreText, sharedCoverage,
  sharedReasons,
} from "./render.js";

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The API's field names -> the inputs that hold them, so errors name the form's own labels.
const IDEA_FIELDS = { topic: "topic", vibe: "vibe" };
const SCORE_FIELDS = {
  title: "own-title", variants: "own-variants", view_count: "views", like_count: "likes",
  comment_count: "comments", published_at: "published",
};

function say(node, text, isError = false) {
  node.textContent = text;
  node.classList.toggle("error", isError);
}

// A button stays disabled (and says it is busy) while its request runs.
async function whileBusy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// Marks the inputs an error names (and focuses the first), after clearing the marks of the last try.
function markInvalid(form, error, fields) {
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const ids = invalidInputs(error, fields);
  for (const id of ids) $(id).setAttribute("aria-invalid", "true");
  if (ids.length) $(ids[0]).focus();
}

function needKey(status) {
  if (savedKey()) return false;
  say(status, "Enter your API key first.", true);
  $("api-key").focus();
  return true;
}

// The key is kept only once a cheap keyed call (GET /model) accepts it; the model card it returns
// also fills the "About the scores" section.
async function saveKey(event) {
  event.preventDefault();
  const status = $("key-status");
  const key = $("api-key").value.trim();
  if (!key) { say(status, "Type your API key first.", true); return; }
  say(status, "Checking the key with the Miles API…");
  await whileBusy($("key-button"), async () => {
    try {
      const card = await api("model", {}, key);
      sessionStorage.setItem(KEY_STORAGE, key);
      $("api-key").value = "";
      say(status, "Key checked and saved for this tab.");
      showModel(card);
      showAccuracy();
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        sessionStorage.removeItem(KEY_STORAGE);
        say(status, KEY_REFUSED, true);
      } else {
        say(status, "The key was not saved. " + errorText(error), true);
      }
      $("api-key").focus();
    }
  });
}

async function showAccuracy() {
  const status = $("accuracy-status");
  say(status, "Measuring how right Miles has been…");
  try {
    const view = accuracyView(await api("model/accuracy"));
    say(status, view.status.trim());
    $("accuracy").replaceChildren(...view.lines.map((text) => el("li", { text })));
  } catch (error) {
    say(status, errorText(error), true);
  }
}

function showModel(card) {
  const population = card && card.population;
  if (!population || !population.summary) return;
  $("model-status").textContent = "Who the model learned from:";
  $("population").textContent = population.summary;
  $("population").hidden = false;
}

// Results carry the topic they answer; a different topic in the box clears them.
let shownTopic = null;

function clearIdeas() {
  shownTopic = null;
  $("results").hidden = true;
  $("ideas").replaceChildren();
  $("ideas-coverage").replaceChildren();
  $("inspired").replaceChildren();
  $("ideas-status").textContent = "";
}

function topicChanged() {
  const topic = $("topic").value.trim().toLowerCase();
  if (shownTopic !== null && topic !== shownTopic) clearIdeas();
}

function showIdeas(body, topic, vibe) {
  const meta = body.meta || {};
  const ideas = body.ideas || [];
  const inspired = body.inspired_by || [];
  const asked = new Date(meta.generated_at || Date.now());
  $("results-heading").textContent = "Ideas for “" + topic + "” (" + vibe + "), " +
    asked.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  $("evidence").textContent = evidenceText(body.evidence, meta);
  $("evidence").className = "evidence evidence-" + ((body.evidence && body.evidence.level) || "unknown");
  const shared = sharedReasons(ideas);  // said once above the ideas, left off every card
  const note = sharedCoverage(ideas, shared);
  $("ideas-coverage").replaceChildren(...(note ? [note] : []));
  if (note) $("ideas").setAttribute("aria-describedby", note.id);
  else $("ideas").removeAttribute("aria-describedby");
  $("ideas").replaceChildren(...ideas.map((idea, index) => ideaCard(idea, index, shared)));
  $("inspired").replaceChildren(...inspired.map(inspiredCard));
  $("inspired-heading").hidden = inspired.length === 0;
  $("results").hidden = false;
  shownTopic = topic.toLowerCase();
  say($("ideas-status"), ideas.length + " ideas" + (meta.generator === "fallback" ? " from templates (no language model)" : "") + ".");
  if (meta.scrape_job_id && meta.scrape_job_id !== following) followScrape(meta.scrape_job_id, topic);
}

async function getIdeas(event) {
  event.preventDefault();
  const status = $("ideas-status");
  if (needKey(status)) return;
  const topic = $("topic").value.trim();
  const vibe = $("vibe").value;
  clearIdeas();
  say(status, "Thinking of ideas for “" + topic + "”…");
  await whileBusy($("ideas-button"), async () => {
    try {
      const body = await api("recommendations", { method: "POST", body: JSON.stringify({ topic, vibe, count: 5 }) });
      markInvalid($("ideas-form"), null, IDEA_FIELDS);
      if ($("topic").value.trim().toLowerCase() === topic.toLowerCase()) showIdeas(body, topic, vibe);
      else say(status, "");  // the topic changed while the ideas were coming: they answer another question
    } catch (error) {
      say(status, errorText(error, IDEA_FIELDS), true);
      markInvalid($("ideas-form"), error, IDEA_FIELDS);
    }
  });
}

const FINISHED = { succeeded: "done", partial: "done with some problems", failed: "failed" };
const POLL_MS = 1500;
const POLL_LIMIT_MS = 5 * 60 * 1000;

function showStage(stage) {
  const order = ["queued", "running", "finished"];
  for (const item of $("scrape-stages").children) {
    const at = order.indexOf(item.dataset.stage);
    item.classList.toggle("reached", at <= order.indexOf(stage));
    if (item.dataset.stage === stage) item.setAttribute("aria-current", "step");
    else item.removeAttribute("aria-current");
  }
}

function jobEnd(job, topic) {
  const counts = job.counts || {};
  const head = "Scrape of “" + topic + "” " + FINISHED[job.status];
  if (job.status === "failed") {
    const why = job.failure_reason || (job.errors || []).slice(-3).join("; ") || "no reason was given";
    return head + ": " + why;
  }
  return head + (job.source ? " (from " + job.source + ")" : "") + ": " + (counts.found || 0) + " videos found, " +
    (counts.new || 0) + " new, " + (counts.updated || 0) + " updated." +
    (job.status === "partial" && job.failure_reason ? " " + job.failure_reason : "") + " Ask for ideas again to use them.";
}

// Polls a scrape job until it ends, showing its stages (queued -> running -> finished) and how it ended.
// One job is followed at a time (a newer one replaces it); the Scrape button is disabled meanwhile.
let following = null;

async function pollJob(jobId, topic) {
  const status = $("scrape-status");
  const path = "scrape/jobs/" + encodeURIComponent(jobId);
  const started = Date.now();
  let job = { status: "queued" };
  while (following === jobId && (job.status === "queued" || job.status === "running")) {
    const seconds = Math.round((Date.now() - started) / 1000);
    showStage(job.status);
    say(status, job.status === "queued"
      ? "Scrape of “" + topic + "”: queued, waiting for a worker (" + seconds + " s)…"
      : "Scrape of “" + topic + "”: running, " + ((job.counts || {}).found || 0) + " videos found so far (" + seconds + " s)…");
    if (Date.now() - started > POLL_LIMIT_MS) {
      say(status, "Scrape of “" + topic + "” is still " + job.status + " after 5 minutes: check again later.", true);
      return;
    }
    await sleep(POLL_MS);
    job = await api(path);
  }
  if (following !== jobId) return;
  showStage("finished");
  say(status, jobEnd(job, topic), job.status === "failed");
}

async function followScrape(jobId, topic, posting = null) {
  const button = $("scrape-button");
  const status = $("scrape-status");
  $("scrape").hidden = false;
  showStage("");
  let mine = jobId || "posting";  // what this call follows; a later call replaces it
  following = mine;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    if (posting) {
      say(status, "Asking for a scrape of “" + topic + "”…");
      jobId = (await posting()).job_id;
      if (following !== mine) return;
      following = mine = jobId;
    }
    await pollJob(jobId, topic);
  } catch (error) {
    say(status, "Scrape of “" + topic + "”: " + errorText(error, IDEA_FIELDS), true);
    if (posting) markInvalid($("ideas-form"), error, IDEA_FIELDS);
  } finally {
    if (following === mine) {
      following = null;
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
}

function scrapeTopic() {
  const status = $("scrape-status");
  $("scrape").hidden = false;
  if (needKey(status)) return;
  const topic = $("topic").value.trim();
  if (!topic) { say(status, "Enter a topic to scrape.", true); $("topic").focus(); return; }
  followScrape(null, topic, () => api("scrape/jobs", { method: "POST", body: JSON.stringify({ topic }) }));
}

// Variants are sent without blank lines: a variant's index names the line it came from.
function variantLines() {
  const lines = $("own-variants").value.split("\n");
  return lines.map((line, index) => [line.trim(), index + 1]).filter(([line]) => line);
}

function scoreRequest() {
  const request = { title: $("own-title").value.trim(), explain: true };
  const variants = variantLines().map(([line]) => line);
  if (variants.length) request.variants = variants;
  const number = (id) => ($(id).value === "" ? undefined : Number($(id).value));
  request.view_count = number("views");
  request.like_count = number("likes");
  request.comment_count = number("comments");
  if ($("published").value) request.published_at = new Date($("published").value).toISOString();
  return request;
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
  const text = parts.length ? parts.join("; ") + "." : "no single part moves it much.";
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function predictionCard(request, result) {
  const card = el("div", { class: "card" }, el("h3", { text: request.title }), ...scoreBlock(result, result.meaning || {}));
  if (result.coverage !== "outside") {
    const velocity = "≈ " + Math.round(result.predicted_velocity_views_per_hour).toLocaleString("en-US") + " views/hour";
    card.append(facts([velocity, result.regime === "post_publish" ? "with your stats" : "as an idea (no stats)"]));
    if (result.meaning && result.meaning.predicted_velocity_views_per_hour) {
      card.append(el("p", { class: "meaning", text: result.meaning.predicted_velocity_views_per_hour }));
    }
  }
  const why = result.coverage === "outside" ? "" : contributionsText(result.contributions);
  if (why) card.append(el("p", { class: "reason why", text: "Why: " + why }));
  if (Array.isArray(result.variants) && result.variants.length) {
    const taken = new Set(result.variants.map((v) => v.rank));
    let titleRank = 1;
    while (taken.has(titleRank)) titleRank++;  // the title holds the one rank no variant has
    const rows = [[request.title, scoreText(result, false), titleRank],
      ...result.variants.map((v) => [v.title, scoreText(v), v.rank])]
      .sort((a, b) => a[2] - b[2])
      .map(([title, score]) => [title, score, title === result.best_title ? "(best)" : ""]);
    card.append(el("p", { class: "reason", text: "Your titles, ranked by the model:" }),
      rankedList("Your titles, best first", rows));
  }
  const reasons = new Set((result.coverage_reasons || []).map((reason) => reason.message));
  for (const warning of result.warnings || []) if (!reasons.has(warning)) card.append(el("p", { class: "hint", text: warning }));
  return card;
}

async function scoreTitle(event) {
  event.preventDefault();
  const out = $("score-result");
  const status = el("p", { class: "hint", text: "Scoring…" });
  out.replaceChildren(status);
  if (needKey(status)) return;
  const request = scoreRequest();
  const lines = variantLines();
  const itemName = (field, index) => "line " + (lines[index] ? lines[index][1] : index + 1);
  await whileBusy($("score-button"), async () => {
    try {
      const result = await api("predict", { method: "POST", body: JSON.stringify(request) });
      markInvalid($("score-form"), null, SCORE_FIELDS);
      out.replaceChildren(predictionCard(request, result));
    } catch (error) {
      say(status, errorText(error, SCORE_FIELDS, itemName), true);
      markInvalid($("score-form"), error, SCORE_FIELDS);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  if (savedKey()) {
    $("key-status").textContent = "Key saved for this tab.";
    api("model").then(showModel, (error) => say($("model-status"), errorText(error), true));
    showAccuracy();
  }
  $("key-form").addEventListener("submit", saveKey);
  $("ideas-form").addEventListener("submit", getIdeas);
  $("topic").addEventListener("input", topicChanged);
  $("scrape-button").addEventListener("click", scrapeTopic);
  $("score-form").addEventListener("submit", scoreTitle);
});
