/* Fields for one choice only (data-shown-when="field=value", e.g. the new complaint's fields without a
   connection): hidden while another is chosen. Without this script they stay shown, with a hint that says when
   they apply. */
(() => {
  "use strict";
  for (const group of document.querySelectorAll("[data-shown-when]")) {
    const [name, value] = group.dataset.shownWhen.split("=");
    const control = group.form && group.form.elements.namedItem(name);
    if (!control) continue;
    const update = () => { group.hidden = control.value !== value; };
    control.addEventListener("change", update);
    update();
  }
})();
