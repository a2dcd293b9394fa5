// The UI accessibility smoke check, run in the page by test_browser_accessibility.py: a list
// of problems, empty when the page passes (WCAG 2.1 AA contrast, names, landmarks).
(() => {
  const problems = [];
  const name = (el) => {
    if (el.labels && el.labels.length) return el.labels[0].textContent.trim();
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
    const by = el.getAttribute('aria-labelledby');
    if (by) return by.split(' ').map(id => document.getElementById(id)?.textContent || '').join(' ').trim();
    if (el.tagName === 'BUTTON' || el.tagName === 'A') return el.textContent.trim();
    return '';
  };
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]')) {
    if (!name(el)) problems.push('no accessible name: ' + el.outerHTML.slice(0, 120));
  }
  for (const radio of document.querySelectorAll('input[type=radio]')) {
    const set = radio.closest('fieldset');
    if (!set || !set.querySelector('legend')?.textContent.trim()) problems.push('radio outside a labelled group: ' + radio.name);
  }
  for (const selector of ['header', 'nav', 'main', 'footer', 'h1']) {
    if (document.querySelectorAll(selector).length !== 1) problems.push('expected one ' + selector);
  }
  const skip = document.querySelector('a[href]');
  if (!skip || skip.getAttribute('href') !== '#main' || !document.getElementById('main')) problems.push('no skip link first');
  for (const svg of document.querySelectorAll('svg[role=img]')) {
    if (!svg.querySelector('title')?.textContent.trim()) problems.push('chart without a title');
  }
  const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const colour = rgb(getComputedStyle(node).backgroundColor);
      if (colour.length === 3 || (colour.length === 4 && colour[3] > 0)) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const el = text.parentElement;
    if (!text.textContent.trim() || !el || el.closest('svg, .visually-hidden, [hidden], .skip-link')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const fg = luminance(rgb(style.color)), bg = luminance(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const large = size >= 24 || (bold && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)} for "${text.textContent.trim().slice(0, 30)}"`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth) problems.push('horizontal scroll');
  return problems;
})
