//! Portal-wide presentation state: toasts, the theme toggle, and the branding (with the one
//! place that loads it), plus the browser clock.

use leptos::prelude::*;
use time::OffsetDateTime;

use super::theme::Theme;
use super::toasts::{ToastKind, ToastQueue};
use crate::branding::Branding;

const THEME_STORAGE_KEY: &str = "portal.theme";

/// Provided as context by the app.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub toasts: RwSignal<ToastQueue>,
    pub theme: RwSignal<Theme>,
    pub branding: RwSignal<Branding>,
    /// The page part of the tab's title; the product's name is added from the branding.
    page_title: RwSignal<String>,
}

impl Ui {
    /// Creates the state, provides it, and keeps the document in step with theme and branding.
    pub fn provide() -> Self {
        let stored = local_storage().and_then(|it| it.get_item(THEME_STORAGE_KEY).ok().flatten());
        let ui = Ui {
            toasts: RwSignal::new(ToastQueue::default()),
            theme: RwSignal::new(Theme::parse(stored.as_deref())),
            branding: RwSignal::new(Branding::default()),
            page_title: RwSignal::new(String::new()),
        };
        provide_context(ui);
        ui.reload_branding();
        Effect::new(move |_| apply_theme(ui.theme.get()));
        Effect::new(move |_| ui.branding.with(apply_branding));
        Effect::new(move |_| {
            let page = ui.page_title.get();
            let title = ui.branding.with(|it| it.title(&page));
            if !title.is_empty() {
                document().set_title(&title);
            }
        });
        ui
    }

    pub fn get() -> Self {
        expect_context::<Ui>()
    }

    /// A confirmation that goes away by itself.
    pub fn success(self, text: impl Into<String>) {
        self.toast(ToastKind::Success, text.into(), 6);
    }

    /// A failure; it stays longer.
    pub fn error(self, text: impl Into<String>) {
        self.toast(ToastKind::Error, text.into(), 12);
    }

    fn toast(self, kind: ToastKind, text: String, seconds: u64) {
        let mut id = 0;
        self.toasts.update(|it| id = it.push(kind, text));
        set_timeout(
            move || self.dismiss(id),
            std::time::Duration::from_secs(seconds),
        );
    }

    pub fn dismiss(self, id: u64) {
        self.toasts.update(|it| it.dismiss(id));
    }

    /// Sets the tab's title for a page: `API keys · Sluice`.
    pub fn set_title(self, page: &str) {
        self.page_title.set(page.to_owned());
    }

    /// The one place the branding comes from: the backend resolves it from the request's host.
    /// Called at start, and after a partner changed its branding (the portal may be on its
    /// domain). Without an answer the current branding stays.
    pub fn reload_branding(self) {
        let into = self.branding;
        leptos::task::spawn_local(async move {
            if let Ok(host) = crate::api::endpoints::branding().await {
                into.set(Branding::from(host));
            }
        });
    }
}

fn apply_theme(theme: Theme) {
    if let Some(root) = document().document_element() {
        // An attribute the stylesheet reads; failure only leaves the system theme.
        let _ = root.set_attribute("data-theme", theme.as_str());
    }
    if let Some(storage) = local_storage() {
        let _ = storage.set_item(THEME_STORAGE_KEY, theme.as_str());
    }
}

fn apply_branding(branding: &Branding) {
    use wasm_bindgen::JsCast;
    let Some(root) = document()
        .document_element()
        .and_then(|it| it.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return;
    };
    let set = branding.css_variables();
    for name in crate::branding::CSS_VARIABLES {
        let _ = match set.iter().find(|(it, _)| it == name) {
            Some((_, value)) => root.style().set_property(name, value),
            None => root.style().remove_property(name).map(drop),
        };
    }
    if let Some(url) = &branding.favicon_url
        && let Ok(Some(icon)) = document().query_selector("link[rel=icon]")
    {
        let _ = icon.set_attribute("href", url);
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Now, from the browser's clock (`OffsetDateTime::now_utc` has no clock on wasm32).
pub fn now() -> OffsetDateTime {
    let millis = js_sys::Date::now() as i128;
    OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The viewer's offset from UTC at `at`, as their browser knows their zone (daylight saving
/// included); UTC when it cannot say.
pub fn local_offset(at: OffsetDateTime) -> time::UtcOffset {
    let millis = (at.unix_timestamp_nanos() / 1_000_000) as f64;
    // JavaScript's offset is UTC minus local time, in minutes.
    let minutes = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis)).get_timezone_offset();
    if !minutes.is_finite() {
        return time::UtcOffset::UTC;
    }
    time::UtcOffset::from_whole_seconds(-(minutes as i32) * 60).unwrap_or(time::UtcOffset::UTC)
}

/// Milliseconds on the browser's monotonic clock (`performance.now()`), for measuring calls.
pub fn monotonic_ms() -> f64 {
    window()
        .performance()
        .map_or_else(js_sys::Date::now, |it| it.now())
}

/// This page's origin (`https://portal.example`), for code people copy.
pub fn origin() -> String {
    window().location().origin().unwrap_or_default()
}
