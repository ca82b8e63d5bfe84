//! Envelope encryption of stored secrets (provider credentials, signing keys): each secret is
//! sealed with its own random AES-256-GCM data key, and that data key is sealed with the
//! master key. Rotating the master key re-seals only the small data keys.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The key that seals data keys, from the environment (`SLUICE_MASTER_KEY`) or the data
/// directory. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

/// Why sealing or opening failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the master key must be 32 bytes, base64-encoded")]
    BadMasterKey,
    #[error("this secret was sealed with master key `{0}`, which is not loaded")]
    UnknownMasterKey(String),
    #[error("a sealed secret is corrupt or was tampered with")]
    Corrupt,
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self::from_bytes(rand::rng().random())
    }

    pub fn from_bytes(key: [u8; 32]) -> Self {
        let digest = Sha256::digest(key);
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        MasterKey { key, id }
    }

    /// # Errors
    /// Anything but 32 base64-encoded bytes.
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| CryptoError::BadMasterKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadMasterKey)?;
        Ok(Self::from_bytes(key))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.key)
    }

    /// A short, non-secret fingerprint, stored with every sealed secret.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The master key in use and the ones it replaced: secrets are sealed under the current one and
/// opened with whichever sealed them, so nodes keep working during a rotation.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        let mut keys = vec![current];
        for key in previous {
            if keys.iter().all(|it| it.id != key.id) {
                keys.push(key);
            }
        }
        Keyring { keys }
    }

    pub fn current(&self) -> &MasterKey {
        &self.keys[0]
    }

    /// Every loaded key, the current one first.
    pub fn all(&self) -> &[MasterKey] {
        &self.keys
    }

    /// # Errors
    /// Only if the cipher fails.
    pub fn seal(&self, secret: &[u8]) -> Result<Sealed, CryptoError> {
        seal(self.current(), secret)
    }

    /// # Errors
    /// As for [`open`].
    pub fn open(&self, sealed: &Sealed) -> Result<Vec<u8>, CryptoError> {
        open(&self.keys, sealed)
    }
}

/// A sealed secret, as stored (serialised as JSON text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// Format version.
    pub v: u8,
    /// Which master key sealed the data key.
    pub kek: String,
    /// Nonce and ciphertext of the data key, base64.
    pub dek: String,
    /// Nonce and ciphertext of the secret, base64.
    pub ct: String,
}

fn seal_with(key: &[u8; 32], plaintext: &[u8]) -> Result<String, CryptoError> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::Corrupt)?;
    let nonce: [u8; 12] = rand::rng().random();
    let ciphertext = cipher
        .encrypt(&Nonce::from(nonce), plaintext)
        .map_err(|_| CryptoError::Corrupt)?;
    let mut joined = nonce.to_vec();
    joined.extend_from_slice(&ciphertext);
    Ok(STANDARD.encode(joined))
}

fn open_with(key: &[u8; 32], sealed: &str) -> Result<Vec<u8>, CryptoError> {
    let joined = STANDARD.decode(sealed).map_err(|_| CryptoError::Corrupt)?;
    if joined.len() < 12 + 16 {
        return Err(CryptoError::Corrupt);
    }
    let (nonce, ciphertext) = joined.split_at(12);
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| CryptoError::Corrupt)?;
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Corrupt)?;
    cipher
        .decrypt(&Nonce::from(nonce), ciphertext)
        .map_err(|_| CryptoError::Corrupt)
}

/// Seals `secret` under a fresh data key, itself sealed by `master`.
///
/// # Errors
/// Only if the cipher fails.
pub fn seal(master: &MasterKey, secret: &[u8]) -> Result<Sealed, CryptoError> {
    let data_key: [u8; 32] = rand::rng().random();
    Ok(Sealed {
        v: 1,
        kek: master.id.clone(),
        dek: seal_with(&master.key, &data_key)?,
        ct: seal_with(&data_key, secret)?,
    })
}

/// Opens a sealed secret with whichever of `keys` sealed it.
///
/// # Errors
/// `UnknownMasterKey` when none of `keys` did, `Corrupt` when the ciphertext was altered.
pub fn open(keys: &[MasterKey], sealed: &Sealed) -> Result<Vec<u8>, CryptoError> {
    let master = keys
        .iter()
        .find(|it| it.id == sealed.kek)
        .ok_or_else(|| CryptoError::UnknownMasterKey(sealed.kek.clone()))?;
    let data_key: [u8; 32] = open_with(&master.key, &sealed.dek)?
        .try_into()
        .map_err(|_| CryptoError::Corrupt)?;
    open_with(&data_key, &sealed.ct)
}

/// Re-seals the data key under `new` (master-key rotation); the secret itself is untouched.
///
/// # Errors
/// As for [`open`].
pub fn reseal(old: &[MasterKey], new: &MasterKey, sealed: &Sealed) -> Result<Sealed, CryptoError> {
    if sealed.kek == new.id {
        return Ok(sealed.clone());
    }
    let master = old
        .iter()
        .find(|it| it.id == sealed.kek)
        .ok_or_else(|| CryptoError::UnknownMasterKey(sealed.kek.clone()))?;
    let data_key = open_with(&master.key, &sealed.dek)?;
    Ok(Sealed {
        v: 1,
        kek: new.id.clone(),
        dek: seal_with(&new.key, &data_key)?,
        ct: sealed.ct.clone(),
    })
}

/// How a stored secret is shown: its first and last characters around an ellipsis.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 12 {
        let tail: String = chars[chars.len().saturating_sub(2)..].iter().collect();
        return format!("…{tail}");
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_detect_tampering() {
        let master = MasterKey::generate();
        let sealed = seal(&master, b"sk-live-abc").unwrap();
        assert_eq!(
            open(std::slice::from_ref(&master), &sealed).unwrap(),
            b"sk-live-abc"
        );
        assert!(!serde_json::to_string(&sealed).unwrap().contains("sk-live"));
        let other = MasterKey::generate();
        assert!(matches!(
            open(&[other], &sealed),
            Err(CryptoError::UnknownMasterKey(_))
        ));
        let mut tampered = sealed.clone();
        tampered.ct = seal_with(&[7; 32], b"evil").unwrap();
        assert_eq!(open(&[master], &tampered), Err(CryptoError::Corrupt));
    }

    #[test]
    fn rotation_reseals_the_data_key_only() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let sealed = seal(&old, b"secret").unwrap();
        let rotated = reseal(std::slice::from_ref(&old), &new, &sealed).unwrap();
        assert_eq!(rotated.kek, new.id());
        assert_eq!(rotated.ct, sealed.ct);
        assert_eq!(
            open(std::slice::from_ref(&new), &rotated).unwrap(),
            b"secret"
        );
        assert!(open(&[old], &rotated).is_err());
        assert_eq!(
            reseal(&[], &new, &rotated).unwrap(),
            rotated,
            "already under the new key"
        );
    }

    #[test]
    fn master_keys_round_trip_as_base64_and_masks_hide_the_middle() {
        let key = MasterKey::generate();
        let back = MasterKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(back.id(), key.id());
        assert!(matches!(
            MasterKey::from_base64("c2hvcnQ="),
            Err(CryptoError::BadMasterKey)
        ));
        assert_eq!(mask("sk-proj-abcdefghijklmnop"), "sk-p…mnop");
        assert_eq!(mask("short"), "…rt");
        assert!(!format!("{key:?}").contains(&key.to_base64()));
    }
}
