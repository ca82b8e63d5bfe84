//! The branding editor of the partner console, with a live preview: a mock tab, header, card
//! and button painted with the edited values as they are typed (only valid values reach the
//! preview's style; `model::branding_form` decides which).

use api_types::manage::PartnerView;
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::icons::{MARK, icon};
use crate::model::branding_form::{BrandingForm, is_color};
use crate::state::ui::Ui;

/// A colour as text (`#1f6feb`) with a colour picker beside it; both edit the same value.
#[component]
pub fn ColorField(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(optional, into)] hint: Option<String>,
    /// Whether an empty value is allowed.
    #[prop(optional)]
    optional: bool,
) -> impl IntoView {
    // The refusal is from the last save; once the value is corrected it no longer applies.
    let error = Signal::derive(move || {
        error
            .get()
            .filter(|_| value.with(|it| !(is_color(it.trim()) || optional && it.trim().is_empty())))
    });
    let picker_label = format!("{label}: picker");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = {
        let (error_id, hint_id) = (error_id.clone(), hint_id.clone());
        let has_hint = hint.is_some();
        move || {
            let mut ids = Vec::new();
            if has_hint {
                ids.push(hint_id.clone());
            }
            if error.with(Option::is_some) {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field color-field" class:invalid=move || error.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id>{hint}</p> })}
            <div class="color-row">
                <input
                    type="color"
                    aria-label=picker_label
                    prop:value=move || value.with(|it| if is_color(it) { it.to_ascii_lowercase() } else { "#000000".to_owned() })
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
                <input
                    id=id
                    type="text"
                    spellcheck="false"
                    autocomplete="off"
                    placeholder="#1f6feb"
                    aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                    aria-describedby=described
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
            </div>
            {move || error.get().map(|message| view! { <p class="field-error" id=error_id.clone()>{message}</p> })}
        </div>
    }
}

/// The branding form beside its live preview.
#[component]
pub fn BrandingEditor(partner: PartnerView) -> impl IntoView {
    let ui = Ui::get();
    let id: Uuid = partner.id;
    let start = BrandingForm::from_view(&partner.branding);
    let display_name = RwSignal::new(start.display_name);
    let logo_url = RwSignal::new(start.logo_url);
    let favicon_url = RwSignal::new(start.favicon_url);
    let primary_color = RwSignal::new(start.primary_color);
    let accent_color = RwSignal::new(start.accent_color);
    let support_url = RwSignal::new(start.support_url);
    let draft = Memo::new(move |_| BrandingForm {
        display_name: display_name.get(),
        logo_url: logo_url.get(),
        favicon_url: favicon_url.get(),
        primary_color: primary_color.get(),
        accent_color: accent_color.get(),
        support_url: support_url.get(),
    });
    let form = FormState::new();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let branding = match draft.get_untracked().to_view() {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::update_branding(id, &branding).await;
            form.finish(&result);
            if result.is_ok() {
                ui.success("Saved the branding: every page on the partner's domains shows it within a second.");
                // This page may itself be on one of the partner's domains.
                ui.reload_branding();
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="branding-title">
            <h2 id="branding-title">"Branding"</h2>
            <div class="branding-editor">
                <form on:submit=submit novalidate>
                    <FormError form=form />
                    <TextField id="branding-name" label="Product name" value=display_name required=true hint="Shown in the header, the tab's title and on the sign-in pages." error=form.field("display_name") />
                    <TextField id="branding-logo" label="Logo URL" value=logo_url placeholder="https://cdn.partner.example/logo.svg" hint="An https:// address, or an image inline as data:image/…;base64, (at most 256 KiB)." error=form.field("logo_url") />
                    <TextField id="branding-favicon" label="Favicon URL" value=favicon_url placeholder="https://cdn.partner.example/favicon.png" hint="The tab's icon; https:// or data:image/…;base64,." error=form.field("favicon_url") />
                    <div class="field-row">
                        <ColorField id="branding-primary" label="Primary colour" value=primary_color error=form.field("primary_color") hint="Buttons, links and focus rings." />
                        <ColorField id="branding-accent" label="Accent colour" value=accent_color error=form.field("accent_color") hint="Highlights; optional." optional=true />
                    </div>
                    <TextField id="branding-support" label="Support URL" value=support_url kind="url" placeholder="https://help.partner.example" hint="Optional: where customers get help, linked from the sign-in pages." error=form.field("support_url") />
                    <SubmitButton form=form label="Save branding" busy_label="Saving…" />
                </form>
                <BrandingPreview draft=draft />
            </div>
        </section>
    }
}

/// The edited branding on a mock tab, header, card and button.
#[component]
fn BrandingPreview(draft: Memo<BrandingForm>) -> impl IntoView {
    let preview = Memo::new(move |_| draft.with(BrandingForm::preview));
    let name = move || preview.with(|it| it.product_name.clone());
    let logo = move || {
        preview.with(|it| it.logo_url.clone()).map_or_else(
            || view! { <span class="brand-mark">{icon(MARK)}</span> }.into_any(),
            |url| view! { <img class="brand-logo preview-logo" src=url alt="" /> }.into_any(),
        )
    };
    let favicon = move || {
        preview
            .with(|it| it.favicon_url.clone())
            .map(|url| view! { <img class="preview-favicon" src=url alt="" /> })
    };
    view! {
        <div class="preview-column">
            <h3 id="branding-preview-title">"Live preview"</h3>
            <div
                class="brand-preview"
                role="group"
                aria-labelledby="branding-preview-title"
                style=move || draft.with(BrandingForm::preview_style)
            >
                <div class="preview-tab">{favicon} <span class="preview-tab-title">{move || format!("API keys · {}", name())}</span></div>
                <div class="preview-topbar">
                    <span class="brand">{logo} <span class="brand-name preview-name">{name}</span></span>
                </div>
                <div class="preview-body">
                    <div class="preview-card">
                        <p class="preview-heading">"API keys"</p>
                        <p class="muted">"Keys let your applications call the API."</p>
                        <p><span class="preview-accent">"Active"</span> " " <span class="preview-link">"Read the guide"</span></p>
                        <span class="button primary preview-button">"Create key"</span>
                    </div>
                </div>
            </div>
        </div>
    }
}
