// The poll panels are pushed to every phone, and to every kiosk, alike (one render per conference,
// without anyone's answer): a phone or a hall that has answered the poll keeps its thanks when the same
// poll is pushed again (a state change such as results shown on kiosks, or the push a websocket gets
// when it connects arriving after the answer).
document.addEventListener("htmx:wsBeforeMessage", function (event) {
  ["poll-panel", "kiosk-poll"].forEach(function (id) {
    var shown = document.getElementById(id);
    if (!shown || !shown.hasAttribute("data-answered")) return;
    var incoming = new DOMParser().parseFromString(event.detail.message, "text/html").getElementById(id);
    if (incoming && incoming.getAttribute("data-poll") === shown.getAttribute("data-poll")) {
      event.preventDefault();
    }
  });
});
