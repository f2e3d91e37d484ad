() => {
  // Markers are plain fragment links (they work without script); this adds what fragments cannot:
  // go to the card that is shown (the panel beside the chat, or on a narrow screen the card inside
  // the answer), open what holds it, scroll smoothly and flash it. Gradio runs this function once at
  // load (launch(js=...)), so the file holds nothing else.
  const visible = (el) => el && el.getClientRects().length > 0 && getComputedStyle(el).display !== 'none';
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a.na-cite') : null;
    if (!link) return;
    event.preventDefault();
    // The chat's sanitizer keeps href and class but drops data-* attributes: the href names the card.
    const [, turn, marker] = (link.getAttribute('href') || '').match(/^#na-src-(\d+)-(\d+)$/) || [];
    if (!turn) return;
    let target = document.getElementById(`na-src-${turn}-${marker}`);
    const side = document.getElementById('na-side');
    if (!target || !visible(side)) {
      const bubble = link.closest('.na-final');
      target = bubble ? bubble.querySelector(`#na-isrc-${turn}-${marker}`) : target;
    }
    if (!target) return;
    for (let holder = target.closest('details'); holder; holder = holder.parentElement.closest('details')) {
      holder.open = true;
    }
    target.scrollIntoView({behavior: 'smooth', block: 'center'});
    target.classList.remove('na-flash');
    void target.offsetWidth;
    target.classList.add('na-flash');
  }, true);
}
