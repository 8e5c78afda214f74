/* D-Tech page script (progressive enhancement only; every page works without it): the service worker, the
   offline banner, the install button, photos made smaller before upload, and meter readings queued on the
   phone when it is offline (the service worker keeps and sends them; see service_worker.js). */
(() => {
  "use strict";
  const $ = (selector) => document.querySelector(selector);
  const banner = $("#offline-banner");
  const status = $("#pwa-status");
  const text = (name) => (status && status.dataset[name]) || "";
  // A copy the service worker served from the phone, or its offline page: not what the server says now.
  const copy = !banner || banner.hasAttribute("data-offline-copy") || !!$("[data-offline-page]");
  const user = (banner && banner.dataset.user) || "";
  const sw = navigator.serviceWorker;
  let waiting = null; // the reading this page just handed to the service worker
  let notes = []; // [words, class, link]: what happened to readings, shown while the page is open

  const post = (message) => sw && sw.ready.then((registration) => registration.active.postMessage(message));

  /* The banner, when the connection drops while a page is open (a kept copy has it filled in already). */
  const showBanner = (offline) => {
    if (copy) return;
    banner.textContent = banner.dataset.message.replace("{time}", banner.dataset.renderedAt);
    banner.hidden = !offline;
  };
  addEventListener("offline", () => showBanner(true));
  addEventListener("online", () => {
    showBanner(false);
    post({t: "flush"});
  });

  /* Install: Chrome's prompt behind our button; on iOS, where there is none, the hint. */
  const install = $("#install-app");
  let prompt = null;
  addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    prompt = event;
    if (install) install.hidden = false;
  });
  addEventListener("appinstalled", () => {
    if (install) install.hidden = true;
  });
  if (install) {
    install.addEventListener("click", () => {
      install.hidden = true;
      if (prompt) Promise.resolve(prompt.prompt()).catch(() => undefined);
      prompt = null;
    });
  }
  const ua = navigator.userAgent;
  const ios = /iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
  const hint = $("#ios-install-hint");
  if (hint && ios && !navigator.standalone && !matchMedia("(display-mode: standalone)").matches) hint.hidden = false;

  /* Photos: at most 1280 px on the longer side and about 200 KB, as JPEG; the original if anything fails. */
  const shrinking = new Map();
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (input.matches("input[type=file][data-shrink]") && input.files.length) {
      shrinking.set(input, shrink(input).catch(() => undefined).then(() => shrinking.delete(input)));
    }
  });

  async function shrink(input) {
    const file = input.files[0];
    const limit = 200 * 1024;
    if (file.size <= limit || !/^image\//.test(file.type)) return;
    const image = await decode(file);
    const scale = Math.min(1, 1280 / Math.max(image.width, image.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(image.width * scale);
    canvas.height = Math.round(image.height * scale);
    canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
    if (image.close) image.close();
    let blob = null;
    for (const quality of [0.8, 0.7, 0.6, 0.5, 0.4]) {
      blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
      if (!blob || blob.size <= limit) break;
    }
    if (!blob || blob.size >= file.size) return;
    const files = new DataTransfer();
    files.items.add(new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", {type: "image/jpeg"}));
    input.files = files.files;
  }

  function decode(file) {
    if (window.createImageBitmap) return createImageBitmap(file);
    return new Promise((resolve, reject) => {
      const image = new Image();
      image.onload = () => resolve(image);
      image.onerror = reject;
      image.src = URL.createObjectURL(file);
    });
  }

  /* Meter readings: handed to the service worker, which sends them now or when the phone is back online. */
  const freshKey = (form) => {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    form.elements.idempotency_key.value = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  };
  // A kept copy of the page carries an old key: each reading made from it needs its own.
  if (copy) document.querySelectorAll("form[data-offline-queue]").forEach((form) => form.elements.idempotency_key && freshKey(form));

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (/\/logout$/.test(form.action)) return signOut(event, form);
    const queue = form.matches("[data-offline-queue]") && sw && user;
    if (!queue && !shrinking.size) return;
    event.preventDefault();
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    await Promise.all(shrinking.values());
    // The worker, if there is one (on a first visit it may still be installing: wait for it a little).
    const registration = queue && (await sw.getRegistration()) &&
      (await Promise.race([sw.ready, new Promise((resolve) => setTimeout(resolve, 3000))]));
    if (!registration || !registration.active) return form.submit(); // no worker: the plain form
    // The day the reading was taken on this phone: it may reach us days later.
    const now = new Date();
    if (form.elements.taken_on) form.elements.taken_on.value =
      new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
    const fields = [...new FormData(form)];
    const get = (name) => (fields.find(([key]) => key === name) || [])[1] || "";
    const id = get("idempotency_key");
    const done = (queued) => {
      clearTimeout(waiting.timer);
      waiting = null;
      if (button) button.disabled = false;
      if (queued) {
        form.reset();
        freshKey(form);
      }
    };
    waiting = {id, done, form, timer: setTimeout(() => queued(id), 10000)};
    notes = [];
    registration.active.postMessage({t: "queue", item: {
      id, user, url: form.action, fields, csrf: get("csrf_token"), queued_at: Date.now(), texts: {sent: text("sent")}}});
    if (registration.sync) registration.sync.register("dtech-readings").catch(() => undefined);
  });

  // Sign-out: the server deletes the push subscription named here (the worker drops it).
  async function signOut(event, form) {
    if (sw && window.PushManager && !form.elements.push_endpoint) {
      event.preventDefault();
      const push = await sw.getRegistration().then((r) => r.pushManager.getSubscription()).catch(() => null);
      form.append(Object.assign(document.createElement("input"), {type: "hidden", name: "push_endpoint",
                                                                  value: push && push.endpoint}));
      form.submit();
    }
    if (sw && sw.controller) sw.controller.postMessage({t: "bye"});
  }

  function queued(id) {
    if (waiting && waiting.id === id) {
      waiting.done(true);
      render([{state: "pending"}]);
    }
  }

  /* What the service worker says about the queue: the reading just sent, and any others. */
  const seen = new Set();
  if (sw) {
    sw.onmessage = (event) => {
      const message = event.data || {};
      if (message.t !== "state") return;
      const items = message.items;
      const mine = waiting && items.find((item) => item.id === waiting.id);
      if (mine && mine.state === "sent") {
        waiting.done(false);
        post({t: "drop", id: mine.id});
        return location.assign(mine.url); // the result page, as after the plain form
      }
      if (mine && mine.state === "failed") {
        post({t: "drop", id: mine.id}); // the form is right here to put it right
        markFields(waiting.form, mine.fieldErrors);
        waiting.done(false);
        notes.push([mine.errors.join(" ") || text("failed"), "is-failed"]);
      } else if (mine && (message.stalled || !navigator.onLine)) {
        queued(mine.id);
      }
      for (const item of items) {
        if (item.state === "sent" && !seen.has(item.id)) {
          seen.add(item.id);
          notes.push([text("sent"), "is-sent", item.url]);
        }
      }
      render(items.filter((item) => item !== mine || (item.state === "pending" && !waiting)));
    };
    sw.register("/service_worker.js").catch(() => undefined);
    // Pages the dashboard marks to keep offline without a visit (the latest bill, the reading form).
    const keep = [...document.querySelectorAll("a[data-offline-keep]")].map((link) => link.href);
    post({t: "hello", user, live: !copy, controlled: !!sw.controller, keep});
  }

  /* The server's refusals shown at their fields, as the page without JavaScript shows them. */
  function markFields(form, fieldErrors) {
    form.querySelectorAll("ul.errors").forEach((list) => list.remove());
    form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
    form.querySelectorAll(".field-invalid").forEach((field) => field.classList.remove("field-invalid"));
    let first;
    for (const [name, messages] of Object.entries(fieldErrors || {})) {
      const input = form.elements[name];
      const field = input && input.closest && input.closest(".field");
      if (!field) continue; // a hidden field: its words are in the note above the form
      const list = field.appendChild(document.createElement("ul"));
      list.className = "errors";
      list.id = `${input.id}-errors`;
      for (const message of messages) list.appendChild(document.createElement("li")).textContent = message;
      field.classList.add("field-invalid");
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", list.id);
      first = first || input;
    }
    if (first) first.focus();
  }

  function render(items) {
    const box = $("#queue-status") || status;
    if (!box) return;
    box.textContent = "";
    let kind = "";
    const line = (words, kindOfLine) => {
      const p = box.appendChild(document.createElement("p"));
      p.textContent = words;
      kind = kindOfLine || kind;
      return p;
    };
    for (const [words, kindOfNote, href] of notes) {
      const p = line(words, kindOfNote);
      if (href) {
        const link = p.appendChild(document.createElement("a"));
        link.href = href;
        link.textContent = text("see");
      }
    }
    if (items.some((item) => item.state === "pending")) line(text("queued"));
    for (const item of items) {
      if (item.state === "sent") post({t: "drop", id: item.id}); // said once, above
      if (item.state === "failed") {
        const button = line(`${text("failed")} ${item.errors.join(" ")}`, "is-failed")
          .appendChild(document.createElement("button"));
        button.type = "button";
        button.className = "btn btn-secondary";
        button.textContent = text("remove");
        button.onclick = () => post({t: "drop", id: item.id});
      }
    }
    box.className = `queue-status ${kind}`;
    box.hidden = !box.firstChild;
  }
})();
