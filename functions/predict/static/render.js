// Turning API answers into page nodes. Everything the API returns (scraped titles, channel names) is
// untrusted: it is only ever set as textContent or as a link built from a validated video id, never as HTML.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

export function percent(value) {
  if (value > 0 && value < 0.001) return "< 0.1%";
  return (value * 100).toFixed(value < 0.1 ? 1 : 0) + "%";
}

const count = (value) => Math.round(value).toLocaleString("en-US");

// Short facts on one line, read as a list: "Dream · 2,020,393 views · 36 h old".
export function facts(parts) {
  return el("p", { class: "facts", text: parts.filter(Boolean).join(" · ") });
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

// Said under each idea's numbers (a prediction says the API's own, longer `meaning` sentences instead).
const SCORE_MEANING = "Out of 100 against real videos that reached YouTube's trending list: 50 is a typical one of them.";
// An idea has no views yet, and its breakout chance can be high where its score is not: both said on every card.
const BREAKOUT_MEANING = "Breakout: the chance that, once posted, it grows to at least 2.3× its views within a day, " +
  "whatever the channel's size. A rate of growth, not a size: it answers another question than the score, so the two can differ.";

// The score first: a 0-100 number only where the model can read the video (`coverage` not `outside`).
function scoreMeter(result) {
  if (typeof result.miles_score === "number") {
    return meter("Miles score", result.miles_score / 100, Math.round(result.miles_score) + " / 100");
  }
  return el("p", { class: "not-scored", text: "Not scored: the model cannot read this title (why below)." });
}

const COVERAGE_WORDS = {
  in_domain: "Coverage: like the videos the model learned from.",
  partial: "Coverage: partly outside what the model learned from, so the score is an extrapolation.",
  outside: "Coverage: outside what the model learned from, so it gives no score.",
};
// The same levels, on an idea card whose reasons are said above the ideas (`shared` below).
const COVERAGE_SHORT = {
  partial: (where) => "Coverage: partly outside what the model learned from, for " + where + ".",
  outside: (where) => "Coverage: outside what the model learned from, for " + where + ", so it gives no score.",
};
const LEVELS = ["in_domain", "partial", "outside"];

const reasonText = (reason) => (typeof reason === "string" ? reason : reason.message);
const above = (shared) => (shared.length === 1 ? "the reason" : "the reasons") + " above the ideas";

// `coverage` in words, then each reason's sentence (prediction reasons are objects, idea reasons strings).
// Reasons in `shared` are said once above the ideas: the card names them by that place instead.
function coverageBlock(result, shared = []) {
  const level = result.coverage || "in_domain";
  const all = (result.coverage_reasons || []).map(reasonText);
  const reasons = all.filter((text) => !shared.includes(text));
  let words = COVERAGE_WORDS[level] || "Coverage: " + level + ".";
  if (reasons.length < all.length) {
    words = reasons.length ? words + " Besides " + above(shared) + ":" : COVERAGE_SHORT[level](above(shared));
  }
  const block = el("div", { class: "coverage coverage-" + level }, el("p", { class: "coverage-level", text: words }));
  if (reasons.length) block.append(el("ul", { class: "coverage-reasons" }, ...reasons.map((text) => el("li", { text }))));
  return block;
}

// Coverage reasons every idea of one answer gives (Shorts are all `partial` for one reason): said once, not N times.
export function sharedReasons(ideas) {
  if (ideas.length < 2) return [];
  const [first, ...rest] = ideas.map((idea) => (idea.coverage_reasons || []).map(reasonText));
  return first.filter((text) => rest.every((reasons) => reasons.includes(text)));
}

const SHARED_WORDS = {
  partial: (n) => "Partly covered, all " + n + " ideas: partly outside what the model learned from, so their scores are extrapolations.",
  outside: (n) => "Not covered, all " + n + " ideas: outside what the model learned from, so it gives them no score.",
};

// The note above the ideas: the least far level of them all (what the shared reasons alone imply), then the reasons.
export function sharedCoverage(ideas, shared) {
  if (!shared.length) return null;
  const level = LEVELS[Math.min(...ideas.map((idea) => Math.max(1, LEVELS.indexOf(idea.coverage))))];
  return el("div", { class: "coverage coverage-" + level, id: "coverage-shared" },
    el("p", { class: "coverage-level", text: SHARED_WORDS[level](ideas.length) }),
    el("ul", { class: "coverage-reasons" }, ...shared.map((text) => el("li", { text }))));
}

// The score, what it means, its coverage and the breakout chance explained beside it: the order a creator reads.
export function scoreBlock(result, meaning = {}, shared = []) {
  const says = (key, fallback) => el("p", { class: "meaning", text: meaning[key] || fallback });
  const nodes = [scoreMeter(result)];
  if (typeof result.miles_score === "number") nodes.push(says("miles_score", SCORE_MEANING));
  nodes.push(coverageBlock(result, shared));
  if (result.coverage === "outside") return nodes;  // no number the model cannot stand behind
  if (typeof result.breakout_probability === "number") {
    nodes.push(meter("Breakout chance", result.breakout_probability, percent(result.breakout_probability)),
      says("breakout_probability", BREAKOUT_MEANING));
    if (meaning.agreement) nodes.push(says("agreement"));
  }
  return nodes;
}

// A wording's score for a ranked list; a wording without one says why (the item's own reasons are shown above it).
export function scoreText(result, withReasons = true) {
  if (typeof result.miles_score === "number") return Math.round(result.miles_score) + "/100";
  const why = withReasons ? (result.coverage_reasons || []).map(reasonText).join(" ") : "";
  return why ? "not scored: " + why : "not scored";
}

// Title wordings ranked by the model, best first; each [title, score, note].
export function rankedList(label, rows) {
  const list = el("ol", { class: "variants", "aria-label": label });
  for (const [title, score, note] of rows) {
    list.append(el("li", { text: title + (score ? " (" + score + ")" : "") + (note ? " " + note : "") }));
  }
  return list;
}

const hourText = (hour) => String(hour).padStart(2, "0") + ":00";

// The one posting time of an idea, in the viewer's own time zone, the UTC slot the API answered noted after it.
function bestTime(idea) {
  const best = idea.best_posting_time;
  if (!best || typeof best.hour_utc !== "number") return "";
  const utc = best.weekday.charAt(0).toUpperCase() + best.weekday.slice(1) + " " + hourText(best.hour_utc) + " UTC";
  const when = new Date(idea.planned_published_at);
  if (Number.isNaN(when.getTime())) return utc;
  const local = when.toLocaleString(undefined, { weekday: "long", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return local + " your time (" + utc + ")";
}

// One idea; `shared` are the coverage reasons said once above all the ideas (see sharedReasons).
export function ideaCard(idea, index, shared = []) {
  const card = el("li", { class: "card idea" });
  card.append(el("h4", { text: (idea.rank || index + 1) + ". " + idea.title }), ...scoreBlock(idea, {}, shared));
  const time = bestTime(idea);
  if (time) card.append(el("p", { class: "best-time", text: "Best time: " + time }));
  const timing = idea.best_posting_time && idea.best_posting_time.timing;
  if (timing) card.append(el("p", { class: "timing hint", text: timing }));
  if (idea.suggested_duration_seconds) card.append(facts(["Length: " + idea.suggested_duration_seconds + " s"]));
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

function ageText(hours) {
  if (hours < 48) return Math.round(hours) + " h old";
  return Math.round(hours / 24) + " days old";
}

// What a creator judges an inspiration by: views, age, views per hour and, with 3+ stored videos of the
// channel, how it did against the channel's usual (its multiple of the channel's median views per hour).
export function inspiredCard(video) {
  const card = el("li", { class: "card" });
  card.append(el("h4", {}, videoLink(video) || document.createTextNode(video.title)));
  const known = (value) => typeof value === "number";
  card.append(facts([
    video.channel_title,
    known(video.view_count) && count(video.view_count) + " views",
    known(video.age_hours) && ageText(video.age_hours),
    known(video.views_per_hour) && count(video.views_per_hour) + " views/hour",
  ]));
  if (typeof video.channel_multiple === "number") {
    card.append(el("p", { class: "multiple", text: video.channel_multiple.toFixed(1) + "× its channel's usual views/hour (" +
      video.channel_videos + " videos of the channel stored)" }));
  }
  return card;
}

const EVIDENCE_WORDS = {
  none: "No videos about this topic yet: these ideas are generic.",
  thin: "Thin evidence: only a few videos about this topic back these ideas.",
  good: "Good evidence: these ideas follow patterns of real videos about this topic.",
};

// How much the ideas stand on, in words: the level first, then the API's own sentence when it adds to it.
export function evidenceText(evidence, meta) {
  if (!evidence || !evidence.level) return "";
  const lead = EVIDENCE_WORDS[evidence.level] || "Evidence: " + evidence.level + ".";
  if (evidence.level === "none") {
    return lead + (meta && meta.scrape_job_id ? " A scrape of the topic was requested: ask again in a few minutes." : "");
  }
  return lead + " " + (evidence.summary || "");
}

const REGIME_WORDS = {
  pre_publish: "Before posting (title, category and timing alone)",
  post_publish: "After posting (with the video's views so far)",
};
const FEW_SCORES = 30;

function accuracyLine(group) {
  const parts = [REGIME_WORDS[group.regime] || group.regime, ": n = " + count(group.n) + " videos, " +
    count(group.positives) + " went viral."];
  if (typeof group.auroc === "number") {
    parts.push(" It ranked a video that went viral above one that did not " + percent(group.auroc) +
      " of the time (AUROC " + group.auroc.toFixed(2) + "; 50% is chance).");
  } else {
    parts.push(" Every outcome so far is the same, so its ranking cannot be measured yet.");
  }
  if (typeof group.ece === "number") {
    parts.push(" Its probabilities were off by " + (group.ece * 100).toFixed(1) + " points on average (ECE).");
  }
  if (group.n < FEW_SCORES) parts.push(" Few videos so far: read this as a rough sign.");
  return parts.join("");
}

// "How right Miles has been": the served model's own scores against the next-day outcome, with n.
export function accuracyView(report) {
  if (!report || !report.n) {
    return { status: "Not enough scored videos yet. " + ((report && report.note) || ""), lines: [] };
  }
  const groups = report.groups.filter((g) => g.cohort === null);
  const current = groups.filter((g) => g.model_version === report.current_model_version);
  const shown = current.length ? current : groups.filter((g) => g.model_version === (groups[0] || {}).model_version);
  return {
    status: "Over the last " + report.window_days + " days, " + count(report.n) + " of its scores met what happened " +
      "next (" + report.label + ")" + (current.length ? "." : ", by an earlier model version than the one serving now.") +
      (report.note ? " " + report.note : ""),
    lines: shown.map(accuracyLine),
  };
}
