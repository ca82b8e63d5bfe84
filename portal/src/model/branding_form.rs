//! A partner's branding editor: the form as typed, the server's rules checked first (field
//! names are the API's), and the live preview's look, computed from whatever is valid so far so
//! that it follows every keystroke without ever putting unchecked text into a style.

use api_types::manage::BrandingView;

use super::errors::FieldErrors;
use crate::branding::{Branding, CSS_VARIABLES, is_hex_color};

/// The largest inline (`data:`) logo or favicon the server accepts.
pub const MAX_DATA_URL_BYTES: usize = 256 * 1024;

/// The image types the server accepts inline.
const INLINE_IMAGE_TYPES: &[&str] = &["png", "svg+xml", "jpeg", "webp", "gif", "x-icon"];

/// What the editor holds, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrandingForm {
    pub display_name: String,
    pub logo_url: String,
    pub favicon_url: String,
    /// `#rrggbb`.
    pub primary_color: String,
    /// `#rrggbb` or empty.
    pub accent_color: String,
    pub support_url: String,
}

impl BrandingForm {
    /// The form filled with a saved branding.
    pub fn from_view(view: &BrandingView) -> Self {
        BrandingForm {
            display_name: view.display_name.clone(),
            logo_url: view.logo_url.clone().unwrap_or_default(),
            favicon_url: view.favicon_url.clone().unwrap_or_default(),
            primary_color: view.primary_color.clone(),
            accent_color: view.accent_color.clone().unwrap_or_default(),
            support_url: view.support_url.clone().unwrap_or_default(),
        }
    }

    /// The branding to save.
    ///
    /// # Errors
    /// A message per field that breaks a rule.
    pub fn to_view(&self) -> Result<BrandingView, FieldErrors> {
        let mut errors = FieldErrors::new();
        let display_name = self.display_name.trim();
        if display_name.is_empty() {
            errors.add("display_name", "Enter the product name your customers see.");
        } else if display_name.chars().count() > 60 || display_name.chars().any(char::is_control) {
            errors.add(
                "display_name",
                "A product name has at most 60 characters, without control characters.",
            );
        }
        let primary_color = self.primary_color.trim().to_ascii_lowercase();
        if !is_color(&primary_color) {
            errors.add("primary_color", "Choose a colour like #1f6feb.");
        }
        let accent_color = optional(&self.accent_color).map(|it| it.to_ascii_lowercase());
        if accent_color.as_deref().is_some_and(|it| !is_color(it)) {
            errors.add(
                "accent_color",
                "Choose a colour like #0f766e, or leave it empty.",
            );
        }
        let image = |field: &str, raw: &str, errors: &mut FieldErrors| {
            let url = optional(raw)?;
            if let Err(message) = check_image_url(&url) {
                errors.add(field, message);
            }
            Some(url)
        };
        let logo_url = image("logo_url", &self.logo_url, &mut errors);
        let favicon_url = image("favicon_url", &self.favicon_url, &mut errors);
        let support_url = optional(&self.support_url);
        if support_url.as_deref().is_some_and(|it| !is_https_url(it)) {
            errors.add(
                "support_url",
                "Enter an https:// address, or leave it empty.",
            );
        }
        errors.into_result(BrandingView {
            display_name: display_name.to_owned(),
            logo_url,
            favicon_url,
            primary_color,
            accent_color,
            support_url,
        })
    }

    /// How the edited branding looks, from the values that are valid so far.
    pub fn preview(&self) -> Branding {
        let display_name = self.display_name.trim();
        let valid_image = |raw: &str| optional(raw).filter(|it| check_image_url(it).is_ok());
        let valid_color = |raw: &str| {
            optional(raw)
                .map(|it| it.to_ascii_lowercase())
                .filter(|it| is_color(it))
        };
        Branding {
            product_name: if display_name.is_empty() {
                "Your product".to_owned()
            } else {
                display_name.to_owned()
            },
            logo_url: valid_image(&self.logo_url),
            favicon_url: valid_image(&self.favicon_url),
            primary_color: valid_color(&self.primary_color),
            accent_color: valid_color(&self.accent_color),
            support_url: optional(&self.support_url).filter(|it| is_https_url(it)),
            key_prefix: String::new(),
        }
    }

    /// The preview's `style` attribute: the brand's CSS variables, only ever with values
    /// `Branding::css_variables` produced from valid colours; the others are reset (`initial`)
    /// so that the page's own branding does not leak into the preview.
    pub fn preview_style(&self) -> String {
        let set = self.preview().css_variables();
        CSS_VARIABLES
            .iter()
            .map(|name| {
                let value = set
                    .iter()
                    .find(|(it, _)| it == name)
                    .map_or("initial", |(_, value)| value.as_str());
                format!("{name}: {value}")
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `#rrggbb`, as the server takes colours.
pub fn is_color(value: &str) -> bool {
    value.len() == 7 && is_hex_color(value)
}

/// An `https://` URL without characters that could break out of an attribute.
pub fn is_https_url(url: &str) -> bool {
    url.len() <= 2000
        && url.len() > "https://".len()
        && url.starts_with("https://")
        && !url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>'))
}

/// A logo or favicon: `https://…`, or an inline `data:image/…;base64,…` of at most 256 KiB.
///
/// # Errors
/// A sentence saying what is wrong.
pub fn check_image_url(url: &str) -> Result<(), String> {
    let inline = INLINE_IMAGE_TYPES
        .iter()
        .any(|kind| url.starts_with(&format!("data:image/{kind};base64,")));
    if inline {
        return if url.len() > MAX_DATA_URL_BYTES {
            Err(format!(
                "An inline image has at most {} KiB; link a larger one with https://.",
                MAX_DATA_URL_BYTES / 1024
            ))
        } else {
            Ok(())
        };
    }
    if is_https_url(url) {
        Ok(())
    } else {
        Err("Enter an https:// address or a data:image/…;base64, URL.".to_owned())
    }
}

fn optional(raw: &str) -> Option<String> {
    Some(raw.trim().to_owned()).filter(|it| !it.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved() -> BrandingView {
        BrandingView {
            display_name: "Acme AI".into(),
            logo_url: Some("data:image/svg+xml;base64,PHN2Zy8+".into()),
            favicon_url: None,
            primary_color: "#003366".into(),
            accent_color: Some("#00aa00".into()),
            support_url: Some("https://help.acme.example".into()),
        }
    }

    #[test]
    fn a_saved_branding_round_trips() {
        let form = BrandingForm::from_view(&saved());
        assert_eq!(form.to_view(), Ok(saved()));
    }

    #[test]
    fn every_broken_field_gets_its_message() {
        let form = BrandingForm {
            display_name: "x".repeat(61),
            logo_url: "javascript:alert(1)".into(),
            favicon_url: format!("data:image/png;base64,{}", "A".repeat(MAX_DATA_URL_BYTES)),
            primary_color: "#12345".into(),
            accent_color: "green".into(),
            support_url: "http://help.example".into(),
        };
        let errors = form.to_view().unwrap_err();
        for field in [
            "display_name",
            "logo_url",
            "favicon_url",
            "primary_color",
            "accent_color",
            "support_url",
        ] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        assert!(errors.get("favicon_url").unwrap().contains("256 KiB"));
    }

    #[test]
    fn colours_are_saved_lower_case_and_empty_optionals_dropped() {
        let form = BrandingForm {
            display_name: " Acme ".into(),
            primary_color: "#AABBCC".into(),
            accent_color: " ".into(),
            ..BrandingForm::default()
        };
        let view = form.to_view().unwrap();
        assert_eq!(view.display_name, "Acme");
        assert_eq!(view.primary_color, "#aabbcc");
        assert_eq!(view.accent_color, None);
        assert_eq!(view.logo_url, None);
    }

    #[test]
    fn the_preview_uses_only_valid_values() {
        let mut form = BrandingForm::from_view(&saved());
        let preview = form.preview();
        assert_eq!(preview.product_name, "Acme AI");
        assert_eq!(preview.primary_color.as_deref(), Some("#003366"));
        assert!(form.preview_style().contains("--brand-custom: #003366"));

        form.display_name = String::new();
        form.primary_color = "#00336".into();
        form.accent_color = "red; background: url(//evil)".into();
        form.logo_url = "http://plain.example/logo.png".into();
        let preview = form.preview();
        assert_eq!(preview.product_name, "Your product");
        assert_eq!(preview.primary_color, None);
        assert_eq!(preview.logo_url, None);
        assert_eq!(
            form.preview_style(),
            "--brand-custom: initial; --brand-custom-dark: initial; --brand-custom-contrast: initial; --accent-custom: initial; --accent-custom-dark: initial"
        );
    }
}
