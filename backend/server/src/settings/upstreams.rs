//! Upstream providers: `[providers.NAME]` tables, turned into each kind's configuration
//! (OpenAI and its compatible servers, Azure, Anthropic, the mock), with timeouts, headers and
//! trusted CAs checked at start.

use std::path::Path;
use std::time::Duration;

use providers::openai::{Compat, Flavor};
use providers::{Timeouts, Trust, anthropic, mock, openai};

use super::raw::RawProvider;
use super::source::{Env, Source, millis, secret};
use super::{ConfigError, ProviderConfig, ProviderSettings};

pub(super) fn provider_settings(
    source: &Source<'_>,
    name: &str,
    raw: &RawProvider,
    env: Env<'_>,
) -> Result<ProviderSettings, ConfigError> {
    let key = |field: &str| format!("providers.{name}.{field}");
    let timeouts = {
        let defaults = Timeouts::default();
        Timeouts {
            connect: millis(raw.connect_timeout_ms, defaults.connect),
            first_byte: millis(raw.first_byte_timeout_ms, defaults.first_byte),
            idle: millis(raw.idle_timeout_ms, defaults.idle),
            total: millis(raw.total_timeout_ms, defaults.total),
        }
    };
    let api_key = raw
        .api_key
        .as_ref()
        .map(|it| secret(source, it, &key("api_key"), env))
        .transpose()?;
    let base_url = |default: Option<&str>| -> Result<String, ConfigError> {
        match (&raw.base_url, default) {
            (Some(url), _) => {
                let value = url.get_ref();
                if !(value.starts_with("http://") || value.starts_with("https://")) {
                    return Err(source.at(
                        url,
                        &key("base_url"),
                        "expected an http:// or https:// URL",
                    ));
                }
                Ok(value.clone())
            }
            (None, Some(default)) => Ok(default.to_owned()),
            (None, None) => {
                Err(source.at(&raw.kind, &key("base_url"), "is required for this kind"))
            }
        }
    };
    let trust = match &raw.ca_file {
        None => Trust::System,
        Some(file) => Trust::from_pem_file(Path::new(file.get_ref()))
            .map_err(|e| source.at(file, &key("ca_file"), e))?,
    };
    let headers: Vec<(String, String)> = raw
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let config = match raw.kind.get_ref().as_str() {
        "openai" => ProviderConfig::OpenAi(openai::Config {
            flavor: Flavor::OpenAi,
            base_url: base_url(Some("https://api.openai.com/v1"))?,
            api_key,
            headers,
            timeouts,
            trust,
        }),
        "azure_openai" | "azure" => ProviderConfig::OpenAi(openai::Config {
            flavor: Flavor::Azure {
                api_version: raw
                    .api_version
                    .clone()
                    .unwrap_or_else(|| "2024-10-21".to_owned()),
            },
            base_url: base_url(None)?,
            api_key,
            headers,
            timeouts,
            trust,
        }),
        "openai_compatible" => {
            let flavor = match &raw.flavor {
                None => Compat::Generic,
                Some(flavor) => Compat::parse(flavor.get_ref()).ok_or_else(|| {
                    source.at(
                        flavor,
                        &key("flavor"),
                        format!("expected one of: {}", Compat::NAMES.join(", ")),
                    )
                })?,
            };
            ProviderConfig::OpenAi(openai::Config {
                flavor: Flavor::Compatible(flavor),
                base_url: base_url(None)?,
                api_key,
                headers,
                timeouts,
                trust,
            })
        }
        "anthropic" => ProviderConfig::Anthropic(anthropic::Config {
            base_url: base_url(Some(anthropic::DEFAULT_BASE_URL))?,
            api_key,
            version: raw
                .version
                .clone()
                .unwrap_or_else(|| anthropic::DEFAULT_VERSION.to_owned()),
            beta: raw.beta.clone(),
            default_max_tokens: raw.default_max_tokens.unwrap_or(4096).max(1),
            headers,
            timeouts,
            trust,
        }),
        "mock" => ProviderConfig::Mock(mock::Config {
            latency: millis(raw.latency_ms, Duration::ZERO),
            chunk_delay: millis(raw.chunk_delay_ms, Duration::ZERO),
        }),
        other => {
            return Err(source.at(
                &raw.kind,
                &key("kind"),
                format!("unknown kind `{other}`; expected openai, azure_openai, openai_compatible, anthropic or mock"),
            ));
        }
    };
    Ok(ProviderSettings {
        name: name.to_owned(),
        config,
    })
}
