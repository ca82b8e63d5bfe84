//! Single sign-on providers: `[sso.providers.NAME]` tables, with the Google and GitHub presets.

use toml::Spanned;

use super::ConfigError;
use super::raw::RawSsoProvider;
use super::source::{Env, Source, secret};

/// One `[sso.providers.NAME]` table: `oidc` (by discovery), or the `google` and `github` presets.
pub(super) fn sso_settings(
    source: &Source<'_>,
    name: &str,
    raw: &RawSsoProvider,
    env: Env<'_>,
) -> Result<sso::Config, ConfigError> {
    let key = |field: &str| format!("sso.providers.{name}.{field}");
    let valid_name = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid_name {
        return Err(source.at(
            &raw.kind,
            &key("kind"),
            format!("provider name `{name}` must be lowercase letters, digits and `-`"),
        ));
    }
    let url = |value: &Option<Spanned<String>>, field: &str, default: Option<&str>| match value {
        Some(spanned)
            if spanned.get_ref().starts_with("https://")
                || spanned.get_ref().starts_with("http://") =>
        {
            Ok(spanned.get_ref().trim_end_matches('/').to_owned())
        }
        Some(spanned) => Err(source.at(spanned, &key(field), "expected an http(s) URL")),
        None => default.map(str::to_owned).ok_or_else(|| {
            source.at(
                &raw.kind,
                &key(field),
                format!("`{field}` is required for this kind"),
            )
        }),
    };
    let (kind, default_name, default_scopes): (sso::Kind, &str, &[&str]) =
        match raw.kind.get_ref().as_str() {
            "oidc" => (
                sso::Kind::Oidc {
                    issuer: url(&raw.issuer, "issuer", None)?,
                },
                name,
                &["openid", "email", "profile"],
            ),
            "google" => (
                sso::Kind::Oidc {
                    issuer: url(&raw.issuer, "issuer", Some("https://accounts.google.com"))?,
                },
                "Google",
                &["openid", "email", "profile"],
            ),
            "github" => (
                sso::Kind::Github {
                    authorize_url: url(
                        &raw.authorize_url,
                        "authorize_url",
                        Some("https://github.com/login/oauth/authorize"),
                    )?,
                    token_url: url(
                        &raw.token_url,
                        "token_url",
                        Some("https://github.com/login/oauth/access_token"),
                    )?,
                    api_url: url(&raw.api_url, "api_url", Some("https://api.github.com"))?,
                },
                "GitHub",
                &["read:user", "user:email"],
            ),
            other => {
                return Err(source.at(
                    &raw.kind,
                    &key("kind"),
                    format!("unknown kind `{other}`; expected oidc, google or github"),
                ));
            }
        };
    if raw.client_id.get_ref().trim().is_empty() {
        return Err(source.at(&raw.client_id, &key("client_id"), "must not be empty"));
    }
    Ok(sso::Config {
        name: name.to_owned(),
        display_name: raw
            .display_name
            .clone()
            .unwrap_or_else(|| default_name.to_owned()),
        kind,
        client_id: raw.client_id.get_ref().trim().to_owned(),
        client_secret: secret(source, &raw.client_secret, &key("client_secret"), env)?,
        scopes: raw
            .scopes
            .clone()
            .unwrap_or_else(|| default_scopes.iter().map(|it| (*it).to_owned()).collect()),
    })
}
