// The try-it page: the same calls a mobile app makes, in plain JavaScript.
//
//   POST /stylize (multipart)  ->  202 with the job and its links
//   GET  /jobs/{id}/events     ->  its live events (Server-Sent Events) until it finishes
//   GET  /jobs/{id}            ->  polled instead, if the events cannot be followed
//   GET  /jobs/{id}/preview    ->  the latest Gatys preview (a video's latest frame)
//   GET  /jobs/{id}/result     ->  the image, or the video
//   DELETE /jobs/{id}          ->  cancel
//
// The content may be a video (the API decides from its bytes): the page then offers the
// video formats and the temporal switch, and plays the result in a <video>.
// Every error body is {"error": {"code", "message", "field"}}; the page shows the message
// and marks the control of the field at fault.
"use strict";

const KEY_STORAGE = "stylize.apiKey";
const POLL_MS = 500;
const METHOD_HINTS = {
  wct: "WCT (default): the painting's colours and strokes, the photo's shapes; a fraction of a second.",
  adain: "AdaIN: a gentler, cleaner look that keeps more of the photo; under a second.",
  gatys: "Gatys: optimises the pixels (minutes on a CPU); previews appear while it runs. " +
    "Not for videos.",
};

const $ = (selector) => document.querySelector(selector);

// --- talking to the API ------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message, field = null, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

function authHeaders() {
  const key = localStorage.getItem(KEY_STORAGE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

// fetch with the API key; resolves to the response if it is OK, else throws an ApiError.
async function callApi(path, options = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...options,
      headers: { ...authHeaders(), ...(options.headers || {}) },
    });
  } catch (networkError) {
    throw new ApiError(0, "network", `Could not reach the API (${networkError.message}).`);
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

async function errorOf(response) {
  const retryAfter = response.headers.get("Retry-After");
  let detail = null;
  try {
    detail = (await response.json()).error;
  } catch {
    // Not our JSON (a proxy's error page, say): fall back to the status line.
  }
  return new ApiError(
    response.status,
    detail?.code || `http_${response.status}`,
    detail?.message || response.statusText || "request failed",
    detail?.field || null,
    retryAfter,
  );
}

// --- the form ----------------------------------------------------------------------------

function chosenMethod() {
  return document.querySelector('input[name="method"]:checked').value;
}

// What the page can tell from the file's type: the API tells animated GIFs from still ones.
function contentIsVideo() {
  return Boolean($("#content").files[0]?.type.startsWith("video/"));
}

// The multipart body of POST /stylize, with the API's own field names.
function stylizeForm() {
  const form = new FormData();
  const content = $("#content").files[0];
  const style = $("#style").files[0];
  const style2 = $("#mix").open ? $("#style2").files[0] : undefined;
  if (content) form.append("content", content);
  if (style) form.append("style", style);
  if (style2) {
    form.append("style", style2);
    const weight = Number($("#weight2").value);
    form.append("style_weights", `${round(1 - weight)},${round(weight)}`);
  }
  const method = chosenMethod();
  form.append("method", method);
  form.append("alpha", $("#alpha").value);
  form.append("preserve_color", $("#preserve-color").checked ? "true" : "false");
  form.append("size", $("#size").value);
  form.append("style_size", $("#size").value);
  if ($("#format").value) form.append("format", $("#format").value); // else the API's default
  if (contentIsVideo()) form.append("temporal", $("#temporal").checked ? "on" : "off");
  if (method === "gatys") {
    // An empty box leaves the API's default.
    const budget = {
      iterations: "#iterations",
      max_seconds: "#max-seconds",
      preview_every: "#preview-every",
    };
    for (const [name, selector] of Object.entries(budget)) {
      const value = $(selector).value.trim();
      if (value) form.append(`gatys.${name}`, value);
    }
  }
  return form;
}

// What the page can tell before asking the API: both images are there.
function missingInput() {
  if (!$("#content").files[0]) return ["content", "Choose a content photo."];
  if (!$("#style").files[0]) return ["style", "Choose a style painting."];
  if ($("#mix").open && !$("#style2").files[0]) {
    return ["style[1]", "Choose a second style, or close “Mix in a second style”."];
  }
  return null;
}

function round(x) {
  return Math.round(x * 100) / 100;
}

// A drop zone: a <label> around a file input, showing the chosen image (or video).
function setUpDropZone(zone) {
  const input = zone.querySelector("input[type=file]");
  const img = zone.querySelector("img");
  const video = zone.querySelector("video");
  const name = zone.querySelector(".drop-name");
  const show = () => {
    const file = input.files[0];
    const moving = Boolean(video && file?.type.startsWith("video/"));
    for (const element of [img, video]) {
      if (element?.src) URL.revokeObjectURL(element.src);
      element?.removeAttribute("src");
    }
    zone.classList.remove("invalid", "unreadable");
    zone.classList.toggle("filled", Boolean(file));
    name.textContent = file ? file.name : "";
    img.hidden = !file || moving;
    if (video) video.hidden = !moving;
    const shown = moving ? video : img;
    if (file) shown.src = URL.createObjectURL(file);
    if (moving) video.play().catch(() => {});
    input.dispatchEvent(new Event("shown"));
  };
  // The API decides what is an image; the page only says when it cannot show the file.
  img.addEventListener("error", () => zone.classList.add("unreadable"));
  video?.addEventListener("error", () => zone.classList.add("unreadable"));
  input.addEventListener("change", show);
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    if (event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      show();
    }
  });
}

// --- showing errors ----------------------------------------------------------------------

const ERROR_TITLES = {
  0: "The API is unreachable",
  401: "An API key is needed",
  404: "Not found",
  409: "Not possible now",
  413: "Too large",
  415: "Not an image or video",
  422: "Invalid image or setting",
  429: "The queue is full",
  503: "The service is unavailable",
};

// `title` defaults to one for the HTTP status; errors that are not a response bring theirs.
function showError(error, title = ERROR_TITLES[error.status] || "Something went wrong") {
  const status = error.status ? `${error.status} · ${error.code}` : error.code;
  let message = error.message;
  if (error.status === 401) {
    message += " — enter the key under “API key” at the top.";
    $("#key-panel").open = true;
    $("#api-key").focus();
  }
  if (error.retryAfter) {
    const sentence = /[.!?]$/.test(message) ? message : `${message}.`;
    message = `${sentence} Try again in ${error.retryAfter} s.`;
  }
  $("#error-title").textContent = `${title} (${status})`;
  $("#error-message").textContent = message;
  $("#error-field").hidden = !error.field;
  $("#error-field").textContent = error.field ? `Field: ${error.field}` : "";
  $("#error").hidden = false;
  $("#placeholder").hidden = true;
  markField(error.field);
}

function clearError() {
  $("#error").hidden = true;
  markField(null);
}

// Outline the control whose data-field lists the API's field name (e.g. "style[1]").
function markField(field) {
  for (const element of document.querySelectorAll("[data-field]")) {
    const marked = field !== null && element.dataset.field.split(" ").includes(field);
    element.classList.toggle("invalid", marked);
    if (marked) element.scrollIntoView({ block: "nearest" });
  }
}

// --- watching a job ----------------------------------------------------------------------

// Each submit starts a new watch; an older one notices it is stale and stops.
let watch = null;

async function submit(event) {
  event.preventDefault();
  clearError();
  const missing = missingInput();
  if (missing) {
    const [field, message] = missing;
    showError(new ApiError(null, "missing_input", message, field), "Missing image");
    return;
  }
  const current = startWatch();
  setStatus("Uploading…", 0);
  try {
    const response = await callApi("stylize", { method: "POST", body: stylizeForm() });
    await follow(current, await response.json());
  } catch (error) {
    if (current !== watch) return;
    showError(error);
    stopWatch(current);
    $("#watch").hidden = true; // nothing to watch: the error says why
  }
}

function startWatch() {
  if (watch) {
    stopWatch(watch);
    watch.abort?.(); // stop reading its events
  }
  const current = { job: null, started: performance.now(), previewIteration: null };
  current.timer = setInterval(() => showElapsed(current), 100);
  watch = current;
  $("#submit").disabled = true;
  $("#placeholder").hidden = true;
  $("#watch").hidden = false;
  $("#cancel").hidden = true;
  $("#job-id").hidden = true;
  $("#output").hidden = true;
  for (const id of ["#preview-img", "#result-img", "#result-video", "#download"]) {
    $(id).hidden = true;
  }
  $("#result-video").pause();
  showElapsed(current);
  return current;
}

function stopWatch(current) {
  clearInterval(current.timer);
  showElapsed(current);
  if (current === watch) $("#submit").disabled = false;
}

// Follow the job until it finishes, showing each state: by its live events where the
// browser can read a stream, else (or if the stream breaks) by polling.
async function follow(current, job) {
  if (!isFinished(job) && job.links.events && window.ReadableStream && window.TextDecoder) {
    try {
      job = await followEvents(current, job);
    } catch {
      if (current !== watch) return; // polling below picks up where the events stopped
    }
  }
  while (current === watch) {
    current.job = job;
    showJob(job);
    if (job.links.preview && job.progress.iteration !== current.previewIteration) {
      current.previewIteration = job.progress.iteration;
      showPreview(current, job.links.preview);
    }
    if (isFinished(job)) break;
    await sleep(POLL_MS);
    try {
      job = await (await callApi(job.links.self)).json();
      if (current.unreachable) clearError();
      current.unreachable = false;
    } catch (error) {
      if (current !== watch) return;
      showError(error);
      if (error.status !== 0 && error.status !== 503) return stopWatch(current);
      current.unreachable = true; // for now: keep trying
      await sleep(2000);
    }
  }
  if (current !== watch) return;
  stopWatch(current);
  if (job.result) await showResult(current, job);
  if (job.status === "failed" && job.error) {
    const { code, message, field } = job.error;
    showError(new ApiError(null, code, message, field), "The job failed");
  }
}

// Read GET /jobs/{id}/events with fetch (EventSource cannot send the API key) and show
// each event; resolves to the latest job when the stream ends.
async function followEvents(current, job) {
  const response = await callApi(job.links.events, {
    headers: { Accept: "text/event-stream" },
  });
  const reader = response.body.getReader();
  current.abort = () => reader.cancel().catch(() => {});
  const decoder = new TextDecoder();
  let buffer = "";
  while (current === watch) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (!event || current !== watch) continue;
      if (event.name === "status" || event.name === "done") {
        job = event.data;
      } else if (event.name === "progress") {
        job = { ...job, progress: event.data };
      } else if (event.name === "preview" && event.data.iteration !== current.previewIteration) {
        current.previewIteration = event.data.iteration;
        showPreview(current, event.data.url);
        continue;
      } else {
        continue;
      }
      current.job = job;
      showJob(job);
      if (event.name === "done") {
        reader.cancel().catch(() => {});
        return job;
      }
    }
  }
  return job;
}

// One server-sent event ("event: name", "data: json" lines); null for a comment.
function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
}

function isFinished(job) {
  return ["succeeded", "failed", "canceled"].includes(job.status);
}

function showJob(job) {
  const progress = job.progress;
  let text;
  if (job.status === "queued") {
    const ahead = job.queue_position;
    text = ahead ? `Queued: ${ahead} job${ahead === 1 ? "" : "s"} ahead` : "Queued";
  } else if (job.status === "running" && progress.stage === "frame") {
    text = `Running: frame ${progress.iteration ?? 0} of ${progress.total}`;
  } else if (job.status === "running") {
    text = `Running: ${progress.stage}`;
    if (progress.total) text += ` (iteration ${progress.iteration ?? 0} of ${progress.total})`;
  } else if (job.status === "succeeded") {
    text = "Done";
  } else if (job.status === "failed") {
    text = "Failed";
  } else {
    const sofar = job.video ? "the frames done so far are" : "the best image so far is";
    text = job.result ? `Canceled: ${sofar} below` : "Canceled";
  }
  if (job.cancel_requested) text += " · canceling…";
  if (job.attempts > 1) text += ` · attempt ${job.attempts}`;
  setStatus(text, progress.fraction, job.status);
  $("#job-id code").textContent = job.id;
  $("#job-id").hidden = false;
  $("#cancel").hidden = !job.links.cancel || job.cancel_requested;
}

function setStatus(text, fraction, status = "") {
  $("#status").textContent = text;
  $("#status").dataset.status = status;
  const bar = $("#progress");
  bar.setAttribute("aria-valuenow", String(fraction));
  bar.querySelector(".fill").style.width = `${Math.round(fraction * 1000) / 10}%`;
  bar.dataset.status = status;
}

function showElapsed(current) {
  const seconds = (performance.now() - current.started) / 1000;
  $("#elapsed").textContent = `${seconds.toFixed(1)} s`;
}

async function showPreview(current, path) {
  let blob;
  try {
    blob = await (await callApi(path)).blob();
  } catch {
    return; // 404 until the first preview is ready; the next poll tries again
  }
  if (current !== watch || isFinished(current.job)) return;
  replaceImage($("#preview-img"), blob);
  $("#preview-img").hidden = false;
  const { iteration, total } = current.job.progress;
  $("#output-caption").textContent = current.job.video
    ? `Frame ${iteration ?? 0} of ${total}, as it comes out`
    : `Preview at iteration ${iteration ?? 0}`;
  $("#output").hidden = false;
}

async function showResult(current, job) {
  let blob;
  try {
    blob = await (await callApi(job.links.result)).blob();
  } catch (error) {
    showError(error);
    return;
  }
  if (current !== watch) return;
  const { width, height, bytes, partial, frames, duration, content_type } = job.result;
  // An animated GIF or WebP plays in an <img>; MP4 and WebM need a <video>.
  const shown = content_type.startsWith("video/") ? $("#result-video") : $("#result-img");
  replaceImage(shown, blob);
  if (shown.decode) await shown.decode().catch(() => {});
  $("#preview-img").hidden = true;
  shown.hidden = false;
  const took = secondsBetween(job.created_at, job.finished_at);
  const length = frames ? `${frames} frames, ${duration.toFixed(1)} s, ` : "";
  $("#output-caption").textContent =
    `${partial ? "Partial result (canceled) · " : ""}${width} × ${height} px, ${length}` +
    `${(bytes / 1024).toFixed(0)} kB, ${job.method}` + (took ? `, ${took} s on the server` : "");
  const download = $("#download");
  download.href = shown.src;
  download.download = `stylized-${job.id.slice(0, 8)}.${extension(job.result.content_type)}`;
  download.hidden = false;
  $("#output").hidden = false;
}

function replaceImage(img, blob) {
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(blob);
}

async function cancel() {
  const current = watch;
  if (!current?.job?.links.cancel) return;
  $("#cancel").disabled = true;
  try {
    const response = await callApi(current.job.links.cancel, { method: "DELETE" });
    if (current === watch) showJob(await response.json()); // the poll loop takes it from here
  } catch (error) {
    if (error.code !== "job_finished") showError(error);
  } finally {
    $("#cancel").disabled = false;
  }
}

function extension(contentType) {
  const known = {
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "video/mp4": "mp4",
    "video/webm": "webm",
  };
  return known[contentType] || "png";
}

function secondsBetween(start, end) {
  if (!start || !end) return null;
  return ((Date.parse(end) - Date.parse(start)) / 1000).toFixed(1);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// --- the rest of the page ----------------------------------------------------------------

async function showHealth() {
  const pill = $("#health");
  try {
    const response = await fetch("readyz");
    const ready = await response.json();
    const workers = `${ready.workers} worker${ready.workers === 1 ? "" : "s"}`;
    const isReady = ready.status === "ready";
    pill.textContent = isReady ? `ready · ${workers}` : "no worker: jobs will wait";
    pill.dataset.state = isReady ? "ok" : "warn";
  } catch {
    pill.textContent = "API unreachable";
    pill.dataset.state = "bad";
  }
}

function showMethodSettings() {
  const method = chosenMethod();
  $("#method-hint").textContent = METHOD_HINTS[method];
  $("#gatys").hidden = method !== "gatys";
}

// A video content: its formats and the temporal switch; Gatys (a minute a frame) is off.
function showContentSettings() {
  const video = contentIsVideo();
  $("#temporal-field").hidden = !video;
  const kind = video ? "video" : "image";
  const format = $("#format");
  for (const option of format.options) {
    option.hidden = Boolean(option.dataset.kind) && option.dataset.kind !== kind;
  }
  if (format.selectedOptions[0]?.hidden) format.value = "";
  const gatys = $("#gatys-method");
  gatys.disabled = video;
  if (video && gatys.checked) {
    document.querySelector('input[name="method"][value="wct"]').checked = true;
    showMethodSettings();
  }
}

function bindRange(input, output) {
  const update = () => (output.textContent = Number(input.value).toFixed(2));
  input.addEventListener("input", update);
  update();
}

function setUp() {
  for (const zone of document.querySelectorAll(".drop")) setUpDropZone(zone);
  for (const radio of document.querySelectorAll('input[name="method"]')) {
    radio.addEventListener("change", showMethodSettings);
  }
  showMethodSettings();
  $("#content").addEventListener("shown", showContentSettings);
  showContentSettings();
  bindRange($("#alpha"), $("#alpha-out"));
  bindRange($("#weight2"), $("#weight2-out"));

  const key = $("#api-key");
  key.value = localStorage.getItem(KEY_STORAGE) || "";
  if (key.value) $("#key-panel").open = true;
  key.addEventListener("input", () => {
    const value = key.value.trim();
    if (value) localStorage.setItem(KEY_STORAGE, value);
    else localStorage.removeItem(KEY_STORAGE);
  });

  $("#form").addEventListener("submit", submit);
  $("#cancel").addEventListener("click", cancel);
  // Any change to the form clears the mark on a field the API complained about.
  $("#form").addEventListener("input", (event) => {
    event.target.closest("[data-field]")?.classList.remove("invalid");
  });
  showHealth();
}

setUp();
