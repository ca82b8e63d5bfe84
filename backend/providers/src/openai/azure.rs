//! Azure OpenAI: deployment URLs, `api-version`, and the `api-key` header.

use url::Url;

use crate::ProviderError;

/// Azure's GA "v1" API takes the model in the body like OpenAI; every dated version takes a
/// deployment in the path.
pub(crate) const V1_API: &str = "v1";

/// The URL of `operation` (`chat/completions`, `completions`, `embeddings`) for a deployment.
///
/// # Errors
/// When the configured base URL is not a valid URL.
pub(crate) fn url(
    base: &Url,
    api_version: &str,
    deployment: &str,
    operation: &str,
) -> Result<Url, ProviderError> {
    let mut url = base.clone();
    {
        let mut segments = url
            .path_segments_mut()
            .map_err(|()| ProviderError::decode("azure base URL cannot take a path"))?;
        segments.pop_if_empty();
        if api_version == V1_API {
            segments.extend(["openai", "v1"]);
        } else {
            // `push` percent-encodes, so a deployment name cannot escape its path segment.
            segments.extend(["openai", "deployments"]).push(deployment);
        }
        segments.extend(operation.split('/'));
    }
    if api_version != V1_API {
        url.query_pairs_mut()
            .append_pair("api-version", api_version);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_urls_carry_api_version_and_encode_the_deployment() {
        let base = Url::parse("https://res.openai.azure.com/").unwrap();
        assert_eq!(
            url(&base, "2024-10-21", "gpt-4o prod", "chat/completions")
                .unwrap()
                .as_str(),
            "https://res.openai.azure.com/openai/deployments/gpt-4o%20prod/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(
            url(&base, "v1", "ignored", "embeddings").unwrap().as_str(),
            "https://res.openai.azure.com/openai/v1/embeddings"
        );
        let evil = url(&base, "2024-10-21", "../../x?y", "embeddings").unwrap();
        assert!(
            evil.path()
                .starts_with("/openai/deployments/..%2F..%2Fx%3Fy/"),
            "{evil}"
        );
    }
}
