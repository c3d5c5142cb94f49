// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("click", function (event) {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const field = document.querySelector(button.getAttribute("data-copy"));
  if (!field) return;
  field.select();
  if (navigator.clipboard) { navigator.clipboard.writeText(field.value); }
  button.textContent = "Copied";
});
