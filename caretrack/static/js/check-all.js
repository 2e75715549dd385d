// Buttons with data-check-all="1" tick, "0" untick, every checkbox named by data-target (the attendance page).
document.querySelectorAll('[data-check-all]').forEach(function (button) {
  button.addEventListener('click', function () {
    document.querySelectorAll('input[name="' + button.dataset.target + '"]').forEach(function (box) {
      box.checked = button.dataset.checkAll === '1';
    });
  });
});
