() => {
  // Markers are plain fragment links (they work without script); this adds what fragments cannot:
  // open a collapsed turn, scroll the panel smoothly, and flash the source card. Gradio runs this
  // function once at load (launch(js=...)), so the file holds nothing else.
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a.na-cite') : null;
    if (!link) return;
    event.preventDefault();
    const target = document.getElementById((link.getAttribute('href') || '').slice(1));
    if (!target) return;
    const turn = target.closest('details');
    if (turn) turn.open = true;
    target.scrollIntoView({behavior: 'smooth', block: 'center'});
    target.classList.remove('na-flash');
    void target.offsetWidth;
    target.classList.add('na-flash');
  }, true);
}
