// suat console: the only script the pages load (the CSP allows no other). Progressive: every page works without it.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  // Copy buttons: data-copy names the field whose value is copied.
  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.addEventListener('click', async () => {
      const field = document.getElementById(button.dataset.copy);
      if (!field) return;
      field.focus();
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = 'Copied';
      } catch (e) {
        button.textContent = 'Selected: press Ctrl+C';
      }
    });
  }
  // A select marked data-autosubmit submits its form when changed (the form keeps its own submit button).
  for (const select of document.querySelectorAll('select[data-autosubmit]')) {
    select.addEventListener('change', () => {
      if (select.value) select.form.requestSubmit();
    });
  }
});
