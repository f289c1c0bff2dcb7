// Light / dark / automatic (follows the system). The choice is remembered per browser.
type Theme = 'auto' | 'light' | 'dark';
const KEY = 'vim-webgpu-demo-theme';
const ORDER: Theme[] = ['auto', 'light', 'dark'];

function apply(theme: Theme, button: HTMLButtonElement): void {
  if (theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  button.setAttribute('aria-label', `Colour theme: ${theme === 'auto' ? 'automatic' : theme}. Press to change.`);
  button.title = `Theme: ${theme}`;
}

export function setupTheme(button: HTMLButtonElement): void {
  let theme: Theme = 'auto';
  try {
    const saved = localStorage.getItem(KEY) as Theme | null;
    if (saved && ORDER.includes(saved)) theme = saved;
  } catch { /* storage blocked: stay automatic */ }
  apply(theme, button);
  button.addEventListener('click', () => {
    theme = ORDER[(ORDER.indexOf(theme) + 1) % ORDER.length];
    apply(theme, button);
    try { localStorage.setItem(KEY, theme); } catch { /* not remembered */ }
  });
}
