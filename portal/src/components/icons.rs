//! Inline SVG icons (24×24, stroked with the text colour): nothing is loaded from elsewhere.
//! Decorative, so hidden from screen readers; the text next to them carries the meaning.

use leptos::prelude::*;

pub const KEY: &str = "M8 15a4 4 0 1 1 3.46-6H21v3h-2v3h-3v-3h-4.54A4 4 0 0 1 8 15zM7 11h.01";
pub const USERS: &str = "M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21v-1a6 6 0 0 1 6-6h2a6 6 0 0 1 6 6v1M16 3.5a4 4 0 0 1 0 7.5M22 21v-1a6 6 0 0 0-4-5.6";
pub const LOCK: &str = "M5 11h14v10H5zM8 11V7a4 4 0 0 1 8 0v4";
pub const LIST: &str = "M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01";
pub const TERMINAL: &str = "M4 17l6-6-6-6M12 19h8";
pub const BOOK: &str =
    "M4 19.5A2.5 2.5 0 0 1 6.5 17H20V3H6.5A2.5 2.5 0 0 0 4 5.5zM4 19.5A2.5 2.5 0 0 0 6.5 22H20v-5";
pub const BUILDING: &str = "M3 21h18M5 21V5l7-3v19M19 21V9l-7-3M9 9h.01M9 13h.01M9 17h.01";
pub const COMPASS: &str = "M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20zM16 8l-2 6-6 2 2-6z";
pub const CHART: &str = "M3 3v18h18M7 16v-4M12 16V8M17 16v-7";
pub const BOT: &str = "M5 8h14v11H5zM12 4v4M9 13h.01M15 13h.01";
pub const HANDSHAKE: &str = "M12 2l9 5v10l-9 5-9-5V7zM12 22V12M21 7l-9 5-9-5";
pub const TAG: &str =
    "M20.6 13.4l-7.2 7.2a2 2 0 0 1-2.8 0L3 13V3h10l7.6 7.6a2 2 0 0 1 0 2.8zM7.5 7.5h.01";
pub const RECEIPT: &str = "M6 2h12v20l-3-2-3 2-3-2-3 2zM9 7h6M9 11h6M9 15h4";
pub const GAUGE: &str = "M3.3 18A10 10 0 1 1 20.7 18M12 14l4-5M12 14h.01";
pub const SHIELD: &str = "M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z";
pub const COPY: &str = "M9 9h11v11H9zM5 15H4V4h11v1";
pub const CHECK: &str = "M20 6L9 17l-5-5";
pub const SUN: &str = "M12 17a5 5 0 1 0 0-10 5 5 0 0 0 0 10zM12 1v2M12 21v2M4.2 4.2l1.4 1.4M18.4 18.4l1.4 1.4M1 12h2M21 12h2M4.2 19.8l1.4-1.4M18.4 5.6l1.4-1.4";
pub const MOON: &str = "M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z";
pub const MONITOR: &str = "M3 4h18v12H3zM8 20h8M12 16v4";
pub const MENU: &str = "M3 6h18M3 12h18M3 18h18";
pub const SIGN_OUT: &str = "M9 21H5V3h4M16 17l5-5-5-5M21 12H9";
pub const CLOSE: &str = "M18 6L6 18M6 6l12 12";
pub const PLUS: &str = "M12 5v14M5 12h14";
pub const EXTERNAL: &str = "M18 13v6H5V6h6M15 3h6v6M10 14L21 3";
/// The default product mark: a sluice gate over water.
pub const MARK: &str = "M4 3h16M7 3v12M17 3v12M7 9h10M3 19c2-1.5 4-1.5 6 0s4 1.5 6 0 4-1.5 6 0";

/// One icon.
pub fn icon(path: &'static str) -> impl IntoView {
    view! {
        <svg
            class="icon"
            viewBox="0 0 24 24"
            width="20"
            height="20"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
            stroke-linejoin="round"
            aria-hidden="true"
            focusable="false"
        >
            <path d=path></path>
        </svg>
    }
}
