/* D-Tech service worker: the installable app, offline copies of the signed-in customer's own pages, and meter
   readings queued on the phone until they can be sent. app/pwa/views.py serves this file with
   `self.DTECH_BUILD = {version, shell, slowPageMs}` in front of it (the versioned shell URLs, and how long a page
   may take). A versioned static URL has the file's content hash in its name (/static/css/app.3f2a9c1b4d5e.css,
   app/web/static_files.py).

   Caches:  dtech-shell-<version>   the shell (CSS, htmx, app.js, icons) and the signed-out offline page
            dtech-static-<version>  other versioned /static files, cache-first (the Plotly bundle, fonts)
            dtech-pages-<user key>  the pages whose response carried X-DTech-Offline, for that user only
            dtech-meta              who the pages belong to (the key from the latest online response)
   IndexedDB "dtech", store "readings": queued meter readings, keyed by their idempotency key.
   Web push: the push and notificationclick handlers below; signing out ends this browser's subscription. */
"use strict";

const BUILD = self.DTECH_BUILD || {version: "dev", shell: [], slowPageMs: 3000};
const SHELL = `dtech-shell-${BUILD.version}`;
const STATIC = `dtech-static-${BUILD.version}`;
const PAGES = "dtech-pages-";
const META = "dtech-meta";
const USER = "/__dtech/user";
const OFFLINE = "/offline";
const LANGUAGES = ["en_IN", "hi_IN"]; // the offline page is kept in each, and shown in the one last seen
const LANGUAGE = "/__dtech/language";
const TIMEOUT = BUILD.slowPageMs; // a page slower than this is shown from the phone, if it is there
const MAX_PAGES = 60; // per user: the most recently opened ones
const SYNC_TAG = "dtech-readings";
const WAIT = "wait";

let user; // the signed-in customer's key; "" for nobody; undefined until read from META
let epoch = 0; // goes up at each sign-out: a response fetched before it is never kept

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL);
    await cache.addAll(BUILD.shell);
    for (const language of LANGUAGES) {
      const url = offlinePage(language);
      const offline = await fetch(url, {credentials: "omit"}); // signed out: nobody's data in it
      if (!offline.ok) throw new Error(`${url}: ${offline.status}`);
      await cache.put(url, offline);
    }
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("dtech-") && ![SHELL, STATIC, META].includes(name) && !name.startsWith(PAGES)) {
        await caches.delete(name);
      }
    }
    if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== location.origin) return;
  if (request.method !== "GET") {
    // Signing out: this user's pages and queued readings leave the phone, whatever the network does.
    if (request.method === "POST" && url.pathname === "/logout") event.waitUntil(signOut());
    return;
  }
  if (request.mode === "navigate") event.respondWith(page(event));
  else if (url.pathname.startsWith("/static/")) event.respondWith(asset(event));
});

/* Pages: network first; after TIMEOUT (or at once when the network or the server fails) the copy kept for this
   user. */
function page(event) {
  const request = event.request;
  const start = epoch;
  let kept = Promise.resolve();
  const network = Promise.resolve(event.preloadResponse)
    .then((response) => response || fetch(request))
    .then((response) => {
      kept = learn(request.url, response.clone(), start);
      return response;
    });
  event.waitUntil(network.then(() => kept, () => undefined));
  return new Promise((resolve) => {
    let done = false;
    const finish = (response) => {
      if (!done && response) {
        done = true;
        clearTimeout(timer);
        resolve(response);
      }
    };
    const timer = setTimeout(() => keptCopy(request.url).then(finish), TIMEOUT); // none: keep waiting
    const served = async (response) => {
      // A server that is down (a 5xx from it or its proxy) is no better than no network.
      finish((response.status >= 500 && (await keptCopy(request.url))) || response);
    };
    const failed = async () => {
      finish((await keptCopy(request.url)) || (await offlineFallback()) || Response.error());
    };
    network.then(served, failed);
  });
}

function offlinePage(language) {
  return `${OFFLINE}?lang=${language}`;
}

/* The page for one never opened on this phone, in the language of the pages last seen. */
async function offlineFallback() {
  const saved = await caches.match(LANGUAGE, {cacheName: META});
  const language = saved ? await saved.text() : LANGUAGES[0];
  return caches.match(offlinePage(LANGUAGES.includes(language) ? language : LANGUAGES[0]), {cacheName: SHELL});
}

async function learn(url, response, start) {
  const language = response.headers.get("Content-Language");
  if (response.status === 200 && LANGUAGES.includes(language)) {
    await (await caches.open(META)).put(LANGUAGE, new Response(language));
  }
  const key = response.headers.get("X-DTech-Offline");
  if (key && response.status === 200 && !/no-store/.test(response.headers.get("Cache-Control") || "")) {
    if (start !== epoch) return;
    await setUser(key);
    const cache = await caches.open(PAGES + key);
    if (start !== epoch || user !== key) return;
    await cache.put(pageKey(url), response);
    const kept = await cache.keys(); // oldest first: a page put again moves to the end
    for (const old of kept.slice(0, -MAX_PAGES)) await cache.delete(old);
  } else if (response.status === 200 && new URL(response.url || url).pathname === "/login") {
    await forget(); // signed out (or the session ended): nobody's pages stay
  }
}

function pageKey(url) {
  const key = new URL(url);
  key.searchParams.delete("source"); // the home-screen start URL is the dashboard
  key.hash = "";
  return key.href;
}

async function keptCopy(url) {
  const key = await currentUser();
  if (!key || !(await caches.has(PAGES + key))) return undefined;
  const response = await caches.match(pageKey(url), {cacheName: PAGES + key, ignoreVary: true});
  return response && markCopy(response);
}

/* The copy says so: the banner gets its text ("last updated at <rendered-at>") and data-offline-copy. */
async function markCopy(response) {
  const html = (await response.text()).replace(/<div[^>]*\sid="offline-banner"[^>]*>/, (tag) => {
    const attribute = (name) => (tag.match(new RegExp(`\\s${name}="([^"]*)"`)) || [])[1] || "";
    const text = attribute("data-message").replace("{time}", attribute("data-rendered-at"));
    return `${tag.replace(/\shidden(?=[\s>])/, "").slice(0, -1)} data-offline-copy>${text}`;
  });
  const headers = new Headers(response.headers);
  headers.delete("Content-Length");
  headers.set("X-DTech-Offline-Copy", "1");
  return new Response(html, {status: response.status, statusText: response.statusText, headers});
}

/* Static files: versioned URLs never change, so the kept copy is used; offline, any version of the file. */
const VERSIONED = /\.[0-9a-f]{12}(\.[^./]+)?$/; // name.<content hash>.ext

async function asset(event) {
  const request = event.request;
  const hit = await caches.match(request, {ignoreVary: true});
  if (hit) return hit;
  try {
    const response = await fetch(request);
    if (response.ok && VERSIONED.test(new URL(request.url).pathname)) {
      const copy = response.clone();
      event.waitUntil(caches.open(STATIC).then((cache) => cache.put(request, copy)));
    }
    return response;
  } catch (error) {
    return (await anyVersion(request.url)) || Response.error();
  }
}

async function anyVersion(url) {
  const wanted = unversioned(url);
  for (const name of [SHELL, STATIC]) {
    if (!(await caches.has(name))) continue;
    const cache = await caches.open(name);
    for (const key of await cache.keys()) {
      if (unversioned(key.url) === wanted) return cache.match(key, {ignoreVary: true});
    }
  }
  return undefined;
}

function unversioned(url) {
  const {pathname} = new URL(url);
  return pathname.replace(VERSIONED, "$1");
}

/* Whose pages these are. */
async function currentUser() {
  if (user === undefined) {
    const saved = await caches.match(USER, {cacheName: META});
    user = saved ? await saved.text() : "";
  }
  return user;
}

async function setUser(key) {
  if (key === (await currentUser())) return;
  user = key;
  await (await caches.open(META)).put(USER, new Response(key));
  await dropPages(key);
  await removeItems((item) => item.user !== key); // another person's queued readings are never sent as this one
}

async function dropPages(keep) {
  for (const name of await caches.keys()) {
    if (name.startsWith(PAGES) && name !== PAGES + keep) await caches.delete(name);
  }
}

async function forget() {
  epoch += 1;
  user = "";
  await caches.delete(META);
  await dropPages();
}

async function signOut() {
  await forget();
  await removeItems(() => true);
  await endPush();
  await broadcast(false);
}

/* No push for the next person on this phone: app.js has told the server which subscription to delete before the
   sign-out was sent (and dropped it); this catches a page that could not. */
async function endPush() {
  try {
    const subscription = self.registration.pushManager && (await self.registration.pushManager.getSubscription());
    if (subscription) await subscription.unsubscribe();
  } catch (error) {
    // no push service to tell: the server deletes the subscription when it answers 404 or 410
  }
}

/* Messages from app.js. */
self.addEventListener("message", (event) => {
  event.waitUntil(onMessage(event.data || {}, event.source));
});

async function onMessage(message, client) {
  if (message.t === "bye") return signOut();
  if (message.t === "hello" && message.live) {
    if (!message.user) {
      await forget();
    } else {
      await setUser(message.user);
      // One warm-up at a time: a page opened twice quickly must not fetch the same pages twice on slow data.
      warming = warming.then(() => keepAskedPages(message, client)).catch(() => undefined);
      await warming;
    }
  }
  if (message.t === "queue" && message.item && message.item.user) {
    await putItem({...message.item, state: "pending"});
    await broadcast(false); // stored: the page may say so at once when the phone is offline
  }
  if (message.t === "drop") await store("readwrite", (readings) => readings.delete(message.id));
  await flush();
}

let warming = Promise.resolve();

async function keepAskedPages(message, client) {
  // The dashboard or a bill came before this worker controlled the page: keep it now, so it is there offline.
  // (Only these: fetching a page again must never repeat anything, such as a payment's return page.)
  if (!message.controlled && client && /^\/(bills\/\d+)?$/.test(new URL(client.url).pathname)) {
    const start = epoch;
    await fetch(client.url, {credentials: "same-origin"})
      .then((response) => learn(client.url, response, start), () => undefined);
  }
  // Pages the dashboard asks to keep, fetched once while online: only these, which change nothing.
  for (const url of (message.keep || []).slice(0, 4)) {
    if (!/^\/(bills\/\d+|readings\/new)$/.test(new URL(url).pathname) || await keptCopy(url)) continue;
    const start = epoch;
    await fetch(url, {credentials: "same-origin"}).then((response) => learn(url, response, start), () => undefined);
  }
}

/* The reading queue. */
self.addEventListener("sync", (event) => {
  if (event.tag === SYNC_TAG) {
    event.waitUntil(flush().then((waiting) => {
      if (waiting) throw new Error("still offline"); // the browser tries again later
    }));
  }
});

let flushing = null;
let again = false;

function flush() {
  if (flushing) {
    again = true;
    return flushing;
  }
  flushing = (async () => {
    let waiting;
    do {
      again = false;
      waiting = await sendAll();
    } while (again);
    return waiting;
  })().finally(() => {
    flushing = null;
  });
  return flushing;
}

async function sendAll() {
  const key = await currentUser();
  let waiting = false;
  for (const item of await allItems()) {
    if (!key || item.user !== key || item.state !== "pending") continue;
    const outcome = await send(item, false);
    if (outcome === WAIT) {
      waiting = true;
      break;
    }
    await putItem(outcome);
    if (outcome.state === "sent") await notify(outcome);
  }
  await broadcast(waiting);
  return waiting;
}

async function send(item, retried) {
  const body = new FormData();
  for (const [name, value] of item.fields) body.append(name, name === "csrf_token" ? item.csrf : value);
  let response;
  try {
    response = await fetch(item.url, {method: "POST", body, credentials: "same-origin", redirect: "manual",
                                      headers: {"Accept": "application/json", "X-CSRFToken": item.csrf}});
  } catch (error) {
    return WAIT; // no network: it stays queued
  }
  const status = response.status;
  const data = await response.json().catch(() => ({}));
  if (status === 200 || status === 201) {
    return {id: item.id, user: item.user, state: "sent", url: data.url || "/", texts: item.texts};
  }
  if (status === 400 && !retried) {
    const csrf = await freshToken(item.url); // the stored token may have outlived its session
    if (csrf) return send({...item, csrf}, true);
  }
  if (status >= 400 && status < 500 && ![401, 408, 429].includes(status)) {
    // 422 and other refusals: kept, shown as failed with the server's words, never retried by itself.
    const fieldErrors = data.errors || {}; // {field name: [messages]}: the page shows them at their fields
    const errors = Object.values(fieldErrors).flat();
    return {...item, state: "failed", errors, fieldErrors, fields: [], csrf: ""};
  }
  return WAIT; // signed out (a redirect), throttled or a server error: try again later
}

async function freshToken(url) {
  try {
    const html = await (await fetch(url, {credentials: "same-origin", redirect: "manual"})).text();
    return (html.match(/"X-CSRFToken": "([^"]+)"/) || [])[1];
  } catch (error) {
    return undefined;
  }
}

async function notify(item) {
  const windows = await self.clients.matchAll({type: "window", includeUncontrolled: true});
  if (!windows.length && self.Notification && Notification.permission === "granted" && item.texts) {
    await self.registration.showNotification(item.texts.sent, {tag: item.id, data: {url: item.url},
                                                               icon: "/static/icons/icon-192.png"});
  }
}

/* Web push (app/notifications/push.py): {title, body, url, tag} in the customer's language. A message with the tag
   of one already shown replaces it (a retried delivery never shows twice). */
self.addEventListener("push", (event) => {
  let message = {};
  try {
    message = (event.data && event.data.json()) || {};
  } catch (error) {
    message = {}; // not ours, or damaged: still shown, as a browser must show something for each push
  }
  event.waitUntil(self.registration.showNotification(String(message.title || location.host), {
    body: String(message.body || ""), tag: message.tag ? String(message.tag) : undefined,
    data: {url: appUrl(message.url)}, icon: "/static/icons/icon-192.png",
  }));
});

/* A tap on a notification (a push, or a reading sent while no page was open): a window of the app already open
   is brought forward and shows the URL; otherwise the URL opens in a new one. */
self.addEventListener("notificationclick", (event) => {
  const url = event.notification.data && event.notification.data.url;
  if (!url) return;
  event.notification.close();
  event.waitUntil(openApp(appUrl(url)));
});

// Only a page of this app: a notification never leads anywhere else (fake "pay here" links are the fraud we warn of).
function appUrl(url) {
  try {
    const target = new URL(url || "/", location.origin);
    return target.origin === location.origin ? target.href : `${location.origin}/`;
  } catch (error) {
    return `${location.origin}/`;
  }
}

async function openApp(url) {
  const windows = await self.clients.matchAll({type: "window", includeUncontrolled: true});
  const open = windows.find((client) => client.url === url) ||
    windows.find((client) => new URL(client.url).origin === location.origin);
  if (!open) return self.clients.openWindow(url);
  await open.focus().catch(() => undefined); // the page shows the URL even if the browser keeps it behind
  return open.url === url ? open : open.navigate(url).catch(() => self.clients.openWindow(url));
}

// stalled: this round stopped at a reading it could not send (no network, or the server is down).
async function broadcast(stalled) {
  const key = await currentUser();
  const items = (await allItems()).filter((item) => key && item.user === key)
    .map(({id, state, errors, fieldErrors, url}) => ({id, state, errors, fieldErrors, url}));
  for (const client of await self.clients.matchAll({type: "window", includeUncontrolled: true})) {
    client.postMessage({t: "state", items, stalled});
  }
}

function store(mode, use) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("dtech", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("readings", {keyPath: "id"});
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction("readings", mode);
      const request = use(tx.objectStore("readings"));
      tx.oncomplete = () => {
        db.close();
        resolve(request && request.result);
      };
      tx.onerror = tx.onabort = () => {
        db.close();
        reject(tx.error);
      };
    };
  });
}

const allItems = () => store("readonly", (readings) => readings.getAll());
const putItem = (item) => store("readwrite", (readings) => readings.put(item));

async function removeItems(test) {
  const doomed = (await allItems()).filter(test);
  if (doomed.length) await store("readwrite", (readings) => doomed.forEach((item) => readings.delete(item.id)));
}
