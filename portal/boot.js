// Starts the portal: applies the remembered theme before the first paint of the app, then
// loads the WebAssembly. The build replaces the {{…}} names with content-hashed files.
const theme = (() => { try { return localStorage.getItem('portal.theme'); } catch { return null; } })();
if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
import init from './{{JS}}';
init({ module_or_path: new URL('./{{WASM}}', import.meta.url) });
