//! Password hashing with argon2id at OWASP's recommended parameters (19 MiB, 2 passes,
//! 1 lane), off the async threads: a hash takes tens of milliseconds of CPU by design.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::Error;

fn hasher() -> Result<Argon2<'static>, Error> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| Error::Internal(e.to_string().into()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The PHC string of `password` with a fresh salt.
///
/// # Errors
/// Only if the hasher itself fails.
pub(crate) async fn hash(password: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        let hashed: PasswordHash = hasher()?
            .hash_password(password.as_bytes())
            .map_err(|e| Error::Internal(e.to_string().into()))?;
        Ok::<_, Error>(hashed.to_string())
    })
    .await
    .map_err(|e| Error::Internal(Box::new(e)))?
}

/// Whether `password` matches `phc`. Without a stored hash a dummy one is checked, so that
/// unknown accounts take as long to refuse as known ones.
pub(crate) async fn verify(password: String, phc: Option<String>) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$XAWQ2R9wJ3xO5eBpPhdt3nAxBOXVgbvjTazMzcIgd4o";
    let known = phc.is_some();
    let phc = phc.unwrap_or_else(|| DUMMY.to_owned());
    let matched = tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        hasher().is_ok_and(|it| it.verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false);
    known && matched
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let phc = hash("correct horse battery staple".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery staple".into(), Some(phc.clone())).await);
        assert!(!verify("wrong horse battery staple".into(), Some(phc)).await);
        assert!(!verify("anything".into(), None).await);
    }
}
