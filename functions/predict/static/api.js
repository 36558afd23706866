// Talking to the Miles API, and turning its errors into sentences that name the form's own labels.
// The API's error body is {message, errors: [{field, location, message, type}]} for every 4xx/5xx
// (API Gateway's own 403/429 carry only `message`); raw field names and pydantic phrasing stay out of sight.

export const KEY_STORAGE = "miles.apiKey";

export function savedKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

export class ApiError extends Error {
  constructor(status, message, errors) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
}

// Relative URLs keep the API Gateway stage prefix (/Prod/...) the page was served under.
export async function api(path, options = {}, key = savedKey()) {
  const headers = { "x-api-key": key };
  if (options.body) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch (error) {
    throw new ApiError(0, "Could not reach the Miles API: check your connection and try again.", []);
  }
  let body = null;
  try { body = await response.json(); } catch (error) { body = null; }
  if (!response.ok) {
    const message = body && typeof body.message === "string" ? body.message : "";
    const errors = body && Array.isArray(body.errors) ? body.errors.filter((e) => e && typeof e.field === "string") : [];
    throw new ApiError(response.status, message, errors);
  }
  return body;
}

// The visible name of a form control: its label's own text, without the hint in parentheses.
export function labelOf(inputId) {
  const label = document.querySelector('label[for="' + inputId + '"]');
  const text = label && label.firstChild ? label.firstChild.textContent.trim() : "";
  return text || inputId;
}

// pydantic's stock phrasings, as the end of a sentence that starts with the field's label.
const PHRASES = [
  [/^String should have at least 1 character$/, () => "is empty: type at least one visible character"],
  [/^String should have at least (\d+) characters$/, (n) => "needs at least " + n + " characters"],
  [/^String should have at most (\d+) characters?$/, (n) => "is too long: at most " + n + " characters"],
  [/^List should have at most (\d+) items?\b.*$/, (n) => "can hold at most " + n],
  [/^Input should be greater than or equal to (\S+)$/, (n) => "must be " + n + " or more"],
  [/^Input should be less than or equal to (\S+)$/, (n) => "must be " + n + " or less"],
  [/^Input should be a valid integer\b.*$/, () => "must be a whole number"],
];

const capitalized = (text) => text.charAt(0).toUpperCase() + text.slice(1);
const sentence = (text) => capitalized(text.trim()).replace(/[.:;,]*$/, ".");
const quoted = (text) => "“" + text + "”";

// `fields` maps the API's field names to the form's input ids; `itemName(field, index)` names the
// index of a list field (e.g. "line 3") as the form shows it.
function fieldSentence(error, fields, itemName) {
  const match = /^([A-Za-z_]+)(?:\[(\d+)\])?/.exec(error.field);
  const name = match ? match[1] : error.field;
  if (!(name in fields)) return sentence(error.message);
  let subject = quoted(labelOf(fields[name]));
  if (match[2] !== undefined && itemName) subject += ", " + itemName(name, Number(match[2])) + ",";
  const message = String(error.message || "is not valid");
  for (const [pattern, phrase] of PHRASES) {
    const found = pattern.exec(message);
    if (found) return sentence(subject + " " + phrase(found[1]));
  }
  // A rule's own words: every snake_case API field name in them becomes the form's label.
  let words = message;
  for (const [field, inputId] of Object.entries(fields)) {
    if (field.includes("_")) words = words.replace(new RegExp("\\b" + field + "\\b", "g"), quoted(labelOf(inputId)));
  }
  const own = quoted(labelOf(fields[name]));
  if (words.startsWith(own + " ")) return sentence(subject + words.slice(own.length));
  return sentence(subject + ": " + words);
}

export const KEY_REFUSED = "The Miles API refused this API key: check it and save it again.";

// One paragraph for any failure of `api()`.
export function errorText(error, fields = {}, itemName = null) {
  if (!(error instanceof ApiError)) return sentence(String(error.message || error));
  if (error.status === 0) return error.message;
  if (error.status === 401 || error.status === 403) return KEY_REFUSED;
  if (error.status === 429) return "Too many requests, or today's quota is used up: try again later.";
  if (error.status === 503 && error.message) return sentence("The Miles API is not ready: " + error.message) + " Try again in a moment.";
  if (error.status >= 500) return "The Miles API failed (HTTP " + error.status + "): try again in a moment.";
  if (error.errors.length) return error.errors.map((e) => fieldSentence(e, fields, itemName)).join(" ");
  return sentence(error.message || "The request was refused (HTTP " + error.status + ")");
}

// The inputs an error names, so the form can mark them invalid and focus the first.
export function invalidInputs(error, fields) {
  if (!(error instanceof ApiError)) return [];
  const ids = error.errors.map((e) => fields[(/^[A-Za-z_]+/.exec(e.field) || [""])[0]]).filter(Boolean);
  return [...new Set(ids)];
}
