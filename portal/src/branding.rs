//! The portal's look per host: product name, logo, favicon and colours. Everything the portal
//! shows as its name comes from here, and colours reach the CSS only through the variables
//! below, so a partner's branding (`GET /api/v1/branding`, resolved by the backend from the
//! request's host) changes the whole portal. `state::ui` loads it once at start; until then,
//! and if that fails, `Branding::default()` applies, which names no product: on a partner's
//! domain the platform's name must never flash by.

use api_types::manage::HostBranding;

/// Every CSS variable `Branding::css_variables` may set, so that a variable a new branding no
/// longer sets can be reset.
pub const CSS_VARIABLES: &[&str] = &[
    "--brand-custom",
    "--brand-custom-dark",
    "--brand-custom-contrast",
    "--accent-custom",
    "--accent-custom-dark",
];

/// One host's branding; the default names no product.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    /// Shown in the header, the page titles and the sign-in pages; empty until known.
    pub product_name: String,
    /// An `https:` or `data:` image; the built-in mark is used without one.
    pub logo_url: Option<String>,
    pub favicon_url: Option<String>,
    /// Buttons, links and focus rings (`#rrggbb`); `None` keeps the stylesheet's palette.
    pub primary_color: Option<String>,
    /// Highlights (`#rrggbb`).
    pub accent_color: Option<String>,
    /// Where people get help, shown on the sign-in pages.
    pub support_url: Option<String>,
    /// The prefix of keys issued on this host (the partner's, on its domains); empty until known.
    pub key_prefix: String,
}

impl From<HostBranding> for Branding {
    /// The platform's own hosts keep the stylesheet's colours (tuned for contrast in both
    /// themes); a partner's host gets its colours.
    fn from(host: HostBranding) -> Self {
        let partner = host.partner_id.is_some();
        let view = host.branding;
        Branding {
            product_name: view.display_name,
            logo_url: view.logo_url,
            favicon_url: view.favicon_url,
            primary_color: Some(view.primary_color).filter(|_| partner),
            accent_color: view.accent_color.filter(|_| partner),
            support_url: view.support_url,
            key_prefix: host.key_prefix,
        }
    }
}

impl Branding {
    /// The CSS custom properties to set on the document, for the colours that are valid. The
    /// stylesheet uses them over its defaults: the colour as given in the light theme, a
    /// lightened one in the dark theme, and black or white text on it, whichever reads.
    pub fn css_variables(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(rgb) = self.primary_color.as_deref().and_then(parse_hex) {
            out.push(("--brand-custom", hex(rgb)));
            out.push(("--brand-custom-dark", hex(mix_white(rgb, 0.45))));
            let text = if luminance(rgb) > 0.4 {
                "#000000"
            } else {
                "#ffffff"
            };
            out.push(("--brand-custom-contrast", text.to_owned()));
        }
        if let Some(rgb) = self.accent_color.as_deref().and_then(parse_hex) {
            out.push(("--accent-custom", hex(rgb)));
            out.push(("--accent-custom-dark", hex(mix_white(rgb, 0.45))));
        }
        out
    }

    /// The browser tab's title for a page.
    pub fn title(&self, page: &str) -> String {
        match (page.is_empty(), self.product_name.is_empty()) {
            (true, _) => self.product_name.clone(),
            (false, true) => page.to_owned(),
            (false, false) => format!("{page} · {}", self.product_name),
        }
    }
}

/// `#rgb` or `#rrggbb`: nothing that could smuggle other CSS into a style attribute.
pub fn is_hex_color(value: &str) -> bool {
    parse_hex(value).is_some()
}

fn parse_hex(value: &str) -> Option<[u8; 3]> {
    let digits = value.strip_prefix('#')?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |s: &str| u8::from_str_radix(s, 16).ok();
    match digits.len() {
        3 => {
            let mut out = [0; 3];
            for (i, c) in digits.chars().enumerate() {
                out[i] = channel(&format!("{c}{c}"))?;
            }
            Some(out)
        }
        6 => Some([
            channel(&digits[0..2])?,
            channel(&digits[2..4])?,
            channel(&digits[4..6])?,
        ]),
        _ => None,
    }
}

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// `rgb` moved `amount` (0 to 1) of the way to white.
fn mix_white(rgb: [u8; 3], amount: f32) -> [u8; 3] {
    rgb.map(|c| {
        let c = f32::from(c);
        // In 0..=255 by construction.
        (c + (255.0 - c) * amount).round().clamp(0.0, 255.0) as u8
    })
}

/// WCAG relative luminance, 0 (black) to 1 (white).
fn luminance(rgb: [u8; 3]) -> f32 {
    let [r, g, b] = rgb.map(|c| {
        let c = f32::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    });
    0.2126 * r + 0.7152 * g + 0.0722 * b
}

#[cfg(test)]
mod tests {
    use super::*;
    use api_types::manage::BrandingView;

    fn host(partner: bool, primary: &str) -> HostBranding {
        HostBranding {
            branding: BrandingView {
                display_name: "Acme AI".into(),
                logo_url: None,
                favicon_url: None,
                primary_color: primary.into(),
                accent_color: Some("#00aa00".into()),
                support_url: Some("https://help.acme.example".into()),
            },
            key_prefix: "sk-acme".into(),
            partner_id: partner.then(uuid::Uuid::nil),
        }
    }

    #[test]
    fn the_default_names_no_product() {
        let branding = Branding::default();
        assert_eq!(branding.product_name, "");
        assert_eq!(branding.title("API keys"), "API keys");
        assert!(branding.css_variables().is_empty());
        let platform = Branding::from(host(false, "#2563eb"));
        assert_eq!(platform.title("API keys"), "API keys · Acme AI");
        assert_eq!(platform.key_prefix, "sk-acme");
    }

    #[test]
    fn a_partners_host_gets_its_colours_in_both_themes() {
        let branding = Branding::from(host(true, "#003366"));
        assert_eq!(branding.product_name, "Acme AI");
        let vars = branding.css_variables();
        let get = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("--brand-custom"), Some("#003366"));
        assert_eq!(get("--brand-custom-dark"), Some("#738fab"));
        assert_eq!(
            get("--brand-custom-contrast"),
            Some("#ffffff"),
            "white on dark blue"
        );
        assert_eq!(get("--accent-custom"), Some("#00aa00"));
        let light = Branding::from(host(true, "#ffdd00")).css_variables();
        assert!(light.contains(&("--brand-custom-contrast", "#000000".to_owned())));
    }

    #[test]
    fn the_platforms_hosts_keep_the_tuned_palette() {
        let branding = Branding::from(host(false, "#2563eb"));
        assert_eq!(branding.primary_color, None);
        assert!(branding.css_variables().is_empty());
        assert_eq!(
            branding.support_url.as_deref(),
            Some("https://help.acme.example")
        );
    }

    #[test]
    fn only_real_colours_reach_the_css() {
        let branding = Branding {
            primary_color: Some("#0a7".into()),
            accent_color: Some("red; background: url(//evil)".into()),
            ..Branding::default()
        };
        let vars = branding.css_variables();
        assert_eq!(vars[0], ("--brand-custom", "#00aa77".to_owned()));
        assert!(vars.iter().all(|(name, _)| CSS_VARIABLES.contains(name)));
        assert!(vars.iter().all(|(name, _)| !name.starts_with("--accent")));
        assert!(is_hex_color("#A1b2C3"));
        assert!(!is_hex_color("#12345"));
        assert!(!is_hex_color("123456"));
        assert!(!is_hex_color("#12g"));
    }
}
