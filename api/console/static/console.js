// hushdb console: progressive enhancement only; every page works without this file.
// Forms with a data-confirm attribute ask before they are sent.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form && form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
