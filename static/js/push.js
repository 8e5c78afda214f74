/* D-Tech web push: the "notifications on this phone" card of the dashboard and the profile
   (templates/notifications/_push_button.html). Progressive enhancement: the card stays hidden without JavaScript
   or where the browser cannot take push messages. The browser asks for permission only when the customer presses
   the button, never when a page loads. Signing out ends the subscription (app.js). */
(() => {
  "use strict";
  const card = document.getElementById("push-card");
  const sw = navigator.serviceWorker;
  if (!card || !sw || !window.PushManager || !window.Notification) return;
  const on = card.querySelector("[data-push-on]");
  const off = card.querySelector("[data-push-off]");
  const state = card.querySelector(".push-state");
  const csrf = (JSON.parse(document.body.getAttribute("hx-headers") || "{}"))["X-CSRFToken"] || "";

  const show = (subscribed, words) => {
    on.hidden = subscribed;
    off.hidden = !subscribed;
    state.textContent = card.dataset[words];
    card.hidden = false;
  };
  const send = async (url, method, body) => {
    const response = await fetch(url, {method, credentials: "same-origin", body: JSON.stringify(body), headers: {
      "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf}});
    if (!response.ok) throw new Error(`${method} ${url}: ${response.status}`);
    return response.status === 204 ? {} : response.json();
  };
  // The server's public key (base64url) as the bytes PushManager wants.
  const key = Uint8Array.from(atob(card.dataset.key.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const sameKey = (subscription) => {
    const used = subscription.options && subscription.options.applicationServerKey;
    return !used || new Uint8Array(used).every((byte, i) => byte === key[i]);
  };
  const browserSubscription = async () => (await sw.ready).pushManager.getSubscription();

  on.addEventListener("click", async () => {
    on.disabled = true;
    try {
      if ((await Notification.requestPermission()) !== "granted") return show(false, "blocked");
      const registration = await sw.ready;
      let subscription = await registration.pushManager.getSubscription();
      if (subscription && !sameKey(subscription)) { // made for a key the server no longer has
        await subscription.unsubscribe();
        subscription = null;
      }
      subscription = subscription ||
        (await registration.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: key}));
      await send(card.dataset.url, "POST", subscription.toJSON());
      show(true, "on");
    } catch (error) {
      show(false, "failed");
    } finally {
      on.disabled = false;
    }
  });

  off.addEventListener("click", async () => {
    off.disabled = true;
    try {
      const subscription = await browserSubscription();
      if (subscription) {
        await send(card.dataset.url, "DELETE", {endpoint: subscription.endpoint});
        await subscription.unsubscribe();
      }
      show(false, "off");
    } catch (error) {
      show(true, "failed");
    } finally {
      off.disabled = false;
    }
  });

  // On only if this browser is subscribed and the server has it for this customer: a subscription the browser
  // still holds for someone else (or one the push service ended) is never taken over without a press.
  (async () => {
    if (Notification.permission === "denied") return show(false, "blocked");
    const subscription = await browserSubscription();
    const known = subscription && (await send(card.dataset.stateUrl, "POST", {endpoint: subscription.endpoint}));
    show(!!(known && known.subscribed), known && known.subscribed ? "on" : "off");
  })().catch(() => show(false, "off"));
})();
