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
    link.classList.add('na-tip-off');  // the card is shown now: no preview left over it
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
    // Keyboard users go on from the card they jumped to.
    target.tabIndex = -1;
    target.focus({preventScroll: true});
    target.classList.remove('na-flash');
    void target.offsetWidth;
    target.classList.add('na-flash');
  }, true);
  // A marker's preview (its quote) is shown on hover or focus by CSS, fixed to the window so that
  // the chat's scrolling box cannot cut it off; this puts it next to the marker, inside the window.
  const place = (event) => {
    const link = event.target.closest ? event.target.closest('a.na-cite') : null;
    const tip = link ? link.querySelector('.na-tip') : null;
    if (!tip) return;
    const marker = link.getBoundingClientRect();
    const margin = 8;
    const width = tip.offsetWidth;
    const height = tip.offsetHeight;
    const left = Math.max(margin, Math.min(marker.left, window.innerWidth - width - margin));
    const below = marker.bottom + 4;
    const top = below + height <= window.innerHeight - margin ? below : Math.max(margin, marker.top - height - 4);
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
  };
  document.addEventListener('mouseover', place, true);
  document.addEventListener('focusin', place, true);
  document.addEventListener('mouseout', (event) => {
    const link = event.target.closest ? event.target.closest('a.na-cite') : null;
    if (link && !link.contains(event.relatedTarget)) link.classList.remove('na-tip-off');
  }, true);
}
