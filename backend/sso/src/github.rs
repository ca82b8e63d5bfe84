//! GitHub OAuth apps: the person is whoever owns the access token; the email is their verified
//! primary address from `GET /user/emails`.

use serde::Deserialize;

use crate::{Error, SignedIn};

#[derive(Debug, Deserialize)]
struct User {
    id: u64,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Email {
    email: String,
    primary: bool,
    verified: bool,
}

async fn get<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> Result<T, Error> {
    let response = http
        .get(url)
        .bearer_auth(token)
        .header("accept", "application/vnd.github+json")
        .header("user-agent", "gateway-sso")
        .timeout(std::time::Duration::from_secs(15))
        .send()
        .await
        .map_err(|e| Error::Profile(e.to_string()))?;
    if !response.status().is_success() {
        return Err(Error::Profile(format!(
            "{url} answered {}",
            response.status()
        )));
    }
    response
        .json()
        .await
        .map_err(|e| Error::Profile(e.to_string()))
}

pub(crate) async fn signed_in(
    http: &reqwest::Client,
    api_url: &str,
    token: &str,
) -> Result<SignedIn, Error> {
    let base = api_url.trim_end_matches('/');
    let user: User = get(http, &format!("{base}/user"), token).await?;
    let emails: Vec<Email> = get(http, &format!("{base}/user/emails"), token).await?;
    let primary = emails
        .into_iter()
        .find(|it| it.primary && it.verified)
        .ok_or_else(|| Error::Profile("the GitHub account has no verified primary email".into()))?;
    Ok(SignedIn {
        subject: user.id.to_string(),
        email: primary.email,
        email_verified: true,
        name: user.name,
    })
}
