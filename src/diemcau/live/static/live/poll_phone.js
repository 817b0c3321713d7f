// The phone's poll panel is pushed to every phone alike (one render per conference, without anyone's
// answer): a phone that has answered the poll keeps its thanks when the same poll is pushed again
// (a state change, or the push a websocket gets when it connects arriving after the answer).
document.addEventListener("htmx:wsBeforeMessage", function (event) {
  var shown = document.getElementById("poll-panel");
  if (!shown || !shown.hasAttribute("data-answered")) return;
  var incoming = new DOMParser().parseFromString(event.detail.message, "text/html").getElementById("poll-panel");
  if (incoming && incoming.getAttribute("data-poll") === shown.getAttribute("data-poll")) {
    event.preventDefault();
  }
});
