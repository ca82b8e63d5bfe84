//! Portal-wide state: the session (who is signed in, their tenants, the current tenant), the
//! toasts, the theme and the branding. Plain logic lives in submodules tested on the host; the
//! reactive wiring (`session`, `ui`) exists only in the browser build.

pub mod permissions;
pub mod tenant_choice;
pub mod theme;
pub mod toasts;

#[cfg(target_arch = "wasm32")]
pub mod session;
#[cfg(target_arch = "wasm32")]
pub mod ui;
