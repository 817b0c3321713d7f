// The poll panels are pushed to every phone, and to every kiosk, alike (one render per conference,
// without anyone's answer), whenever a poll's state changes and when a websocket connects. A panel that
// already shows a poll keeps it when the same poll is pushed again: a phone or a hall that has answered
// keeps its thanks, and one whose answer is on its way keeps the form that sent it (the push a
// websocket gets when it connects can land while the answer is in flight: replacing the form then
// would drop the reply with the thanks). A push of another poll, or of none (closed), goes through.
document.addEventListener("htmx:wsBeforeMessage", function (event) {
  ["poll-panel", "kiosk-poll"].forEach(function (id) {
    var shown = document.getElementById(id);
    if (!shown || !shown.hasAttribute("data-poll")) return;
    var incoming = new DOMParser().parseFromString(event.detail.message, "text/html").getElementById(id);
    if (incoming && incoming.getAttribute("data-poll") === shown.getAttribute("data-poll")) {
      event.preventDefault();
    }
  });
});
