/* The live site board's filter: htmx's ws extension swaps the server-rendered rows; this hides those
 * that do not match the filter (after every swap, and as the user types). No inline scripts (CSP). */
(function () {
  "use strict";
  const text = document.getElementById("filter-text"), state = document.getElementById("filter-state");
  function apply() {
    const t = text.value.trim().toLowerCase(), want = state.value;
    document.querySelectorAll("#board-rows tr[data-point]").forEach((tr) => {
      const ok = (!t || tr.dataset.text.includes(t))
        && (!want || tr.dataset.state === want || (want === "degraded" && tr.dataset.degraded === "1"));
      tr.hidden = !ok;
    });
  }
  text.addEventListener("input", apply);
  state.addEventListener("change", apply);
  document.body.addEventListener("htmx:wsAfterMessage", apply);
})();
